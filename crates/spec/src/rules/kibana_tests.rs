//! Tests of the Kibana, docs and template rules on small packages written to a
//! temporary folder.

use epr_package::fs::DirFs;
use tempfile::TempDir;

use super::RULES;
use crate::package::Mode;

const MANIFEST_3: &str =
    "format_version: 3.0.0\nname: p\ntitle: P\nversion: 1.0.0\ntype: integration\n";

/// A package folder holding `files` (path, content); the manifest is `MANIFEST_3`
/// unless given.
fn package(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut all: Vec<(&str, &str)> = vec![("manifest.yml", MANIFEST_3)];
    all.extend_from_slice(files);
    for (path, content) in all {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, content).expect("write");
    }
    dir
}

/// The problems rule `name` finds in the package at `dir`, printed.
fn run(dir: &TempDir, name: &str) -> Vec<String> {
    let fs = DirFs::open(dir.path()).expect("open");
    let pkg =
        crate::open_package(&fs, Some(dir.path().to_path_buf()), Mode::Legacy).expect("package");
    let rule = RULES.iter().find(|r| r.name == name).expect("rule");
    (rule.check)(&pkg).iter().map(ToString::to_string).collect()
}

/// Whether rule `name` applies to the package at `dir`.
fn applies(dir: &TempDir, name: &str) -> bool {
    let fs = DirFs::open(dir.path()).expect("open");
    let pkg = crate::open_package(&fs, None, Mode::Legacy).expect("package");
    RULES.iter().any(|r| r.name == name && r.applies(&pkg))
}

// ---------------------------------------------------------------------------------
// Saved object ids (rule 15) and dangling references (rule 17).
// ---------------------------------------------------------------------------------

#[test]
fn object_id_must_match_file_name() {
    let dir = package(&[
        (
            "kibana/dashboard/p-good.json",
            r#"{"id": "p-good", "type": "dashboard"}"#,
        ),
        (
            "kibana/dashboard/p-bad.json",
            r#"{"id": "other", "type": "dashboard"}"#,
        ),
    ]);
    assert_eq!(
        run(&dir, "ValidateKibanaObjectIDs"),
        vec![
            "kibana/dashboard/p-bad.json: kibana object file [kibana/dashboard/p-bad.json] defines non-matching ID [other]"
        ]
    );
}

#[test]
fn security_rule_id_starts_with_rule_id_and_matches_file_name() {
    let dir = package(&[
        (
            "kibana/security_rule/r1_1.json",
            r#"{"id": "r1_1", "attributes": {"rule_id": "r1"}}"#,
        ),
        (
            "kibana/security_rule/r2.json",
            r#"{"id": "r2", "attributes": {"rule_id": "other"}}"#,
        ),
        (
            "kibana/security_rule/r3.json",
            r#"{"id": "r3x", "attributes": {"rule_id": "r3"}}"#,
        ),
    ]);
    assert_eq!(
        run(&dir, "ValidateKibanaObjectIDs"),
        vec![
            "kibana/security_rule/r2.json: kibana object ID [r2] should start with rule ID [other]",
            "kibana/security_rule/r3.json: kibana object file [kibana/security_rule/r3.json] defines non-matching ID [r3x]",
        ]
    );
}

#[test]
fn dangling_references_are_reported_except_index_patterns() {
    let dashboard = r#"{"id": "p-d", "type": "dashboard", "references": [
        {"id": "p-s", "name": "panel_0", "type": "search"},
        {"id": "p-s", "name": "panel_1", "type": "lens"},
        {"id": "p-missing", "name": "panel_2", "type": "search"},
        {"id": "logs-*", "name": "x", "type": "index-pattern"}
    ]}"#;
    let dir = package(&[
        ("kibana/dashboard/p-d.json", dashboard),
        (
            "kibana/search/p-s.json",
            r#"{"id": "p-s", "type": "search"}"#,
        ),
    ]);
    assert_eq!(
        run(&dir, "ValidateKibanaNoDanglingObjectIDs"),
        vec![
            "kibana/dashboard/p-d.json: dangling reference found: p-s (lens) (SVR00003)",
            "kibana/dashboard/p-d.json: dangling reference found: p-missing (search) (SVR00003)",
        ]
    );
}

#[test]
fn dangling_rule_applies_from_3_0_0() {
    let old = package(&[("manifest.yml", &MANIFEST_3.replace("3.0.0", "2.9.0"))]);
    assert!(!applies(&old, "ValidateKibanaNoDanglingObjectIDs"));
    assert!(applies(&package(&[]), "ValidateKibanaNoDanglingObjectIDs"));
}

// ---------------------------------------------------------------------------------
// Dashboards: by value (rule 12), filters (rule 18), legacy visualizations (rule 19).
// ---------------------------------------------------------------------------------

#[test]
fn visualizations_by_reference_are_listed() {
    let dashboard = r#"{"id": "p-d", "type": "dashboard", "references": [
        {"id": "p-v", "name": "panel_0", "type": "visualization"},
        {"id": "p-s", "name": "panel_1", "type": "search"},
        {"id": "p-l", "name": "panel_2", "type": "lens"},
        {"id": "p-m", "name": "panel_3", "type": "map"}
    ]}"#;
    let dir = package(&[
        ("kibana/dashboard/p-d.json", dashboard),
        (
            "kibana/dashboard/p-e.json",
            r#"{"id": "p-e", "type": "dashboard"}"#,
        ),
    ]);
    assert_eq!(
        run(&dir, "ValidateVisualizationsUsedByValue"),
        vec![
            "kibana/dashboard/p-d.json: references found in dashboard kibana/dashboard/p-d.json: p-v (visualization), p-l (lens), p-m (map) (SVR00004)"
        ]
    );
    let rule = RULES
        .iter()
        .find(|r| r.name == "ValidateVisualizationsUsedByValue")
        .expect("rule");
    assert!(rule.warning_before_3);
}

/// A dashboard with `search` as its `searchSourceJSON` and `panels` as `panelsJSON`.
fn dashboard(search: &str, panels: &str) -> String {
    format!(
        r#"{{"id": "p-d", "type": "dashboard", "attributes": {{"title": "D",
            "kibanaSavedObjectMeta": {{"searchSourceJSON": {search}}},
            "panelsJSON": {panels}}}}}"#
    )
}

const FILTER: &str = r#"{"filter": [{"query": {"match_phrase": {"data_stream.dataset": "p.x"}}}], "query": {"query": "", "language": "kuery"}}"#;
const NO_FILTER: &str = r#"{"filter": [], "query": {"query": "", "language": "kuery"}}"#;
const QUERY_ONLY: &str =
    r#"{"filter": [], "query": {"query": "data_stream.dataset: p.x", "language": "kuery"}}"#;
const LENS_NO_FILTER: &str = r#"[{"type": "lens", "embeddableConfig": {"attributes": {"state": {"filters": [], "query": {"query": ""}}}}}]"#;
const LENS_FILTER: &str = r#"[{"type": "lens", "embeddableConfig": {"attributes": {"state": {"filters": [{"meta": {}}], "query": {"query": ""}}}}}]"#;
const MARKDOWN: &str = r#"[{"type": "visualization", "embeddableConfig": {"savedVis": {"type": "markdown", "title": "Notes"}}}]"#;

fn filter_problems(search: &str, panels: &str) -> Vec<String> {
    let dir = package(&[("kibana/dashboard/p-d.json", &dashboard(search, panels))]);
    run(&dir, "ValidateKibanaFilterPresent")
}

/// JSON text as a JSON string, as built packages store embedded objects.
fn encoded(json: &str) -> String {
    serde_json::Value::String(json.to_string()).to_string()
}

#[test]
fn dashboard_filter_or_panel_filters_are_required() {
    assert!(filter_problems(FILTER, LENS_NO_FILTER).is_empty());
    assert!(filter_problems(NO_FILTER, LENS_FILTER).is_empty());
    // Panels that make no queries need no filter.
    assert!(filter_problems(NO_FILTER, MARKDOWN).is_empty());
    assert_eq!(
        filter_problems(NO_FILTER, LENS_NO_FILTER),
        vec![
            "kibana/dashboard/p-d.json: expected filter in dashboard: no filter found and at least one panel does not have a filter (SVR00002)"
        ]
    );
    assert_eq!(
        filter_problems(QUERY_ONLY, LENS_NO_FILTER),
        vec![
            "kibana/dashboard/p-d.json: expected filter in dashboard: saved query found, but no filter and at least one panel does not have a filter (SVR00001)"
        ]
    );
}

#[test]
fn encoded_dashboards_are_read_like_decoded_ones() {
    assert!(filter_problems(&encoded(FILTER), &encoded(LENS_NO_FILTER)).is_empty());
    assert!(filter_problems(&encoded(NO_FILTER), &encoded(LENS_FILTER)).is_empty());
    assert_eq!(
        filter_problems(&encoded(NO_FILTER), &encoded(LENS_NO_FILTER)).len(),
        1
    );
    assert!(filter_problems(&encoded(QUERY_ONLY), LENS_NO_FILTER)[0].contains("(SVR00001)"));
}

#[test]
fn dashboard_without_panels_json_needs_its_own_filter() {
    let dir = package(&[(
        "kibana/dashboard/p-d.json",
        r#"{"id": "p-d", "type": "dashboard", "attributes": {}}"#,
    )]);
    assert_eq!(
        run(&dir, "ValidateKibanaFilterPresent"),
        vec![
            "kibana/dashboard/p-d.json: expected filter in dashboard: unable to find search definition: unknown key kibanaSavedObjectMeta and error describing visualization saved object: panelsJSON is of unexpected type <nil>. Expected string or map[string]interface{} (SVR00002)"
        ]
    );
}

#[test]
fn legacy_by_value_panels_are_reported() {
    let panels = r#"[
        {"type": "visualization", "title": "T1", "embeddableConfig": {"savedVis": {"type": "metrics", "params": {"type": "timeseries"}}}},
        {"type": "visualization", "embeddableConfig": {"savedVis": {"type": "metrics", "title": "md", "params": {"type": "markdown"}}}},
        {"type": "visualization", "embeddableConfig": {"savedVis": {"type": "pie", "title": "Pie"}}},
        {"type": "visualization", "embeddableConfig": {"savedVis": {"type": "vega", "title": "V"}}},
        {"type": "visualization", "embeddableConfig": {"savedVis": {"type": "timelion", "title": "TL"}}},
        {"type": "lens", "embeddableConfig": {"attributes": {"title": "L"}}},
        {"type": "visualization", "panelRefName": "panel_7"}
    ]"#;
    let dir = package(&[(
        "kibana/dashboard/p-d.json",
        &dashboard(FILTER, &encoded(panels)),
    )]);
    assert_eq!(
        run(&dir, "ValidateKibanaNoLegacyVisualizations"),
        vec![
            r#"kibana/dashboard/p-d.json: "D" contains legacy visualization: "T1" (timeseries, TSVB)"#,
            r#"kibana/dashboard/p-d.json: "D" contains legacy visualization: "Pie" (pie, Aggs-based)"#,
            r#"kibana/dashboard/p-d.json: "D" contains legacy visualization: "TL" (timelion, Timelion)"#,
        ]
    );
}

#[test]
fn legacy_visualization_objects_are_reported() {
    let pie = r#"{"id": "p-pie", "type": "visualization", "attributes": {"title": "Pie",
        "visState": "{\"type\": \"pie\", \"params\": {}}", "uiStateJSON": "{}"}}"#;
    let vega = r#"{"id": "p-vega", "type": "visualization", "attributes": {"title": "Vega",
        "visState": {"type": "vega"}}}"#;
    let broken =
        r#"{"id": "p-x", "type": "visualization", "attributes": {"visState": "{not json"}}"#;
    let dir = package(&[
        ("kibana/visualization/p-pie.json", pie),
        ("kibana/visualization/p-vega.json", vega),
        ("kibana/visualization/p-x.json", broken),
    ]);
    let problems = run(&dir, "ValidateKibanaNoLegacyVisualizations");
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(
        problems[0],
        r#"kibana/visualization/p-pie.json: found legacy visualization "Pie" (pie, Aggs-based)"#
    );
    assert!(problems[1].starts_with(
        r#"kibana/visualization/p-x.json: error describing visualization saved object: failed to deserialize embedded JSON objects: failed to decode embedded json in "attributes.visState""#
    ));
}

#[test]
fn malformed_kibana_files_give_problems_not_panics() {
    let files: Vec<(String, &str)> = [
        "not json",
        "[]",
        "null",
        r#"{"id": 3, "type": []}"#,
        r#"{"id": "p-d", "references": "nope"}"#,
        r#"{"id": "p-d", "references": [1, {"id": 2}]}"#,
        r#"{"attributes": {"panelsJSON": "[1]", "kibanaSavedObjectMeta": {"searchSourceJSON": "{\"filter\": 3}"}}}"#,
        r#"{"attributes": {"panelsJSON": [{"type": 1}, null], "kibanaSavedObjectMeta": {"searchSourceJSON": 7}}}"#,
        r#"{"attributes": {"panelsJSON": [{"type": "lens", "embeddableConfig": {"attributes": "x"}}], "kibanaSavedObjectMeta": {"searchSourceJSON": {"query": "x"}}}}"#,
    ]
    .iter()
    .enumerate()
    .flat_map(|(i, json)| {
        [
            (format!("kibana/dashboard/p-{i}.json"), *json),
            (format!("kibana/visualization/p-{i}.json"), *json),
            (format!("kibana/tag/p-{i}.json"), *json),
            (format!("kibana/security_rule/p-{i}.json"), *json),
        ]
    })
    .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), *c)).collect();
    let dir = package(&refs);
    for rule in RULES {
        // Every file is wrong in some way; what matters is that each rule returns.
        let _ = run(&dir, rule.name);
    }
    assert!(!run(&dir, "ValidateKibanaFilterPresent").is_empty());
    assert!(!run(&dir, "ValidateKibanaObjectIDs").is_empty());
}

// ---------------------------------------------------------------------------------
// Capabilities (rule 21).
// ---------------------------------------------------------------------------------

const RULE_FILE: (&str, &str) = (
    "kibana/security_rule/r1.json",
    r#"{"id": "r1", "attributes": {"rule_id": "r1"}}"#,
);

#[test]
fn security_rules_need_the_security_capability() {
    let missing = package(&[RULE_FILE]);
    assert_eq!(
        run(&missing, "ValidateCapabilitiesRequired"),
        vec![
            "manifest.yml: found security rule assets in package but security capability is missing"
        ]
    );
    let dotted =
        format!("{MANIFEST_3}conditions:\n  elastic.capabilities: [observability, security]\n");
    assert!(
        run(
            &package(&[RULE_FILE, ("manifest.yml", &dotted)]),
            "ValidateCapabilitiesRequired"
        )
        .is_empty()
    );
    let nested = format!("{MANIFEST_3}conditions:\n  elastic:\n    capabilities: [security]\n");
    assert!(
        run(
            &package(&[RULE_FILE, ("manifest.yml", &nested)]),
            "ValidateCapabilitiesRequired"
        )
        .is_empty()
    );
    let other = format!("{MANIFEST_3}conditions:\n  elastic:\n    capabilities: [observability]\n");
    assert_eq!(
        run(
            &package(&[RULE_FILE, ("manifest.yml", &other)]),
            "ValidateCapabilitiesRequired"
        )
        .len(),
        1
    );
    assert!(run(&package(&[]), "ValidateCapabilitiesRequired").is_empty());
}

// ---------------------------------------------------------------------------------
// Docs structure (rule 25).
// ---------------------------------------------------------------------------------

const ENFORCED: &str = "docs_structure_enforced:\n  enabled: true\n  version: 1\n  skip:\n    - title: Troubleshooting\n      reason: none\n";

const FULL_README: &str = "# P\n\n## Overview\n\ntext\n\n## what data does this integration collect?\n\n## What do I need to use this integration?\n\n## How do I deploy this integration?\n\nHow do I deploy this integration?\n---------------------------------\n\n### Performance and scaling\n";

#[test]
fn enforced_sections_are_required_in_every_doc() {
    let partial = "## Overview\n\n## *What data does this integration collect?*\n";
    let dir = package(&[
        ("validation.yml", ENFORCED),
        ("docs/README.md", FULL_README),
        ("docs/b.md", partial),
        ("docs/notes.txt", "ignored"),
    ]);
    assert_eq!(
        run(&dir, "ValidateDocsStructure"),
        vec![
            "missing required section 'What data does this integration collect?' in file 'b.md'\n\
             missing required section 'What do I need to use this integration?' in file 'b.md'\n\
             missing required section 'How do I deploy this integration?' in file 'b.md'\n\
             missing required section 'Performance and scaling' in file 'b.md'"
        ]
    );
}

#[test]
fn docs_structure_is_checked_only_when_enabled() {
    let disabled = ENFORCED.replace("enabled: true", "enabled: false");
    let dir = package(&[
        ("validation.yml", &disabled),
        ("docs/README.md", "# Nothing\n"),
    ]);
    assert!(run(&dir, "ValidateDocsStructure").is_empty());
    let dir = package(&[("docs/README.md", "# Nothing\n")]);
    assert!(run(&dir, "ValidateDocsStructure").is_empty());
    let v2 = ENFORCED.replace("version: 1", "version: 2");
    let dir = package(&[("validation.yml", &v2), ("docs/README.md", FULL_README)]);
    assert_eq!(
        run(&dir, "ValidateDocsStructure"),
        vec![
            "validation.yml: failed to read enforced documentation structure configuration: failed to load enforced sections from config: failed to read schema file: open enforced_sections_v2.yml: file does not exist"
        ]
    );
}

// ---------------------------------------------------------------------------------
// Handlebars templates (rule 36).
// ---------------------------------------------------------------------------------

const GOOD_HBS: &str = "paths:\n{{#each paths as |path i|}}\n  - {{path}}\n{{/each}}\n{{#if x}}a{{else if y}}b{{else}}c{{/if}}\n{{!-- a }} comment --}}\n\\{{escaped}}\n{{#contains \"forwarded\" tags}}\nx: {{{raw}}}\n{{/contains}}\n";
const BAD_HBS: &str = "paths:\n{{#each paths as |path i|}}\n  - {{path}}\n";

#[test]
fn templates_must_parse() {
    let dir = package(&[
        ("data_stream/a/agent/stream/stream.yml.hbs", GOOD_HBS),
        ("data_stream/a/agent/stream/notes.txt", "{{#if"),
        ("data_stream/b/agent/stream/log.yml.hbs", BAD_HBS),
        ("agent/input/input.yml.hbs", GOOD_HBS),
    ]);
    let problems = run(&dir, "ValidateStaticHandlebarsFiles");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with(
        "data_stream/b/agent/stream/log.yml.hbs:4: invalid handlebars template: error validating data_stream/b/agent/stream/log.yml.hbs: "
    ));
}

#[test]
fn linked_templates_are_checked_at_their_target() {
    let root = tempfile::tempdir().expect("tempdir");
    let shared = root.path().join("shared/log.yml.hbs");
    std::fs::create_dir_all(shared.parent().expect("parent")).expect("mkdir");
    std::fs::write(&shared, BAD_HBS).expect("write");
    let pkg_dir = root.path().join("pkg");
    let link = pkg_dir.join("data_stream/a/agent/stream/log.yml.hbs.link");
    std::fs::create_dir_all(link.parent().expect("parent")).expect("mkdir");
    std::fs::write(pkg_dir.join("manifest.yml"), MANIFEST_3).expect("write");
    std::fs::write(&link, "../../../../../shared/log.yml.hbs 0000\n").expect("write");
    let fs = DirFs::open(&pkg_dir).expect("open");
    let pkg = crate::open_package(&fs, Some(pkg_dir.clone()), Mode::Legacy).expect("package");
    let problems = super::hbs::static_handlebars_files(&pkg);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0]
            .message
            .starts_with("invalid handlebars template: error validating ../shared/log.yml.hbs: ")
    );
}

#[test]
fn large_templates_keep_their_verdict_and_error_line() {
    let filler = "      - script: var x = { a: 1 }; // {not a tag}\n".repeat(1000);
    let good = format!("{GOOD_HBS}{filler}{{{{#if a}}}}\n{filler}{{{{/if}}}}\n");
    assert!(good.len() > 32 * 1024);
    let bad = format!("{filler}{{{{#if a}}}}\n{filler}{{{{/each}}}}\n{filler}");
    let dir = package(&[
        ("agent/input/good.yml.hbs", &good),
        ("agent/input/bad.yml.hbs", &bad),
    ]);
    let problems = run(&dir, "ValidateStaticHandlebarsFiles");
    assert_eq!(problems.len(), 1, "{problems:?}");
    let full = handlebars::Template::compile(&bad).expect_err("invalid");
    let line = full.pos().expect("position").0;
    assert!(
        problems[0].starts_with(&format!("agent/input/bad.yml.hbs:{line}: ")),
        "{problems:?} (line {line})"
    );
}

// ---------------------------------------------------------------------------------
// Tags (rule 37).
// ---------------------------------------------------------------------------------

#[test]
fn tag_names_are_unique() {
    let tags_yml = "- text: One\n  asset_types: [dashboard]\n- text: Two\n  asset_types: [dashboard]\n- text: One\n  asset_ids: [x]\n";
    let tag =
        |name: &str| format!(r#"{{"id": "x", "type": "tag", "attributes": {{"name": "{name}"}}}}"#);
    let dir = package(&[
        ("kibana/tags.yml", tags_yml),
        ("kibana/tag/p-a.json", &tag("Three")),
        ("kibana/tag/p-b.json", &tag("Three")),
        ("kibana/tag/p-c.json", &tag("Two")),
        (
            "kibana/tag/p-d.json",
            r#"{"id": "x", "type": "dashboard", "attributes": {"name": "Two"}}"#,
        ),
    ]);
    assert_eq!(
        run(&dir, "ValidateKibanaTagDuplicates"),
        vec![
            "kibana/tags.yml:5: duplicate tag name 'One' found (SVR00007)",
            "kibana/tag/p-b.json: duplicate package tag name 'Three' found (SVR00007)",
            "kibana/tag/p-c.json: tag name 'Two' is already defined in tags.yml (SVR00007)",
        ]
    );
}
