//! Tests of the rules in `fields.rs` on small packages written to a temporary folder.

use std::path::Path;

use epr_package::fs::DirFs;

use super::*;
use crate::package::Mode;

const MANIFEST: &str = "format_version: 3.6.0\nname: pkg\ntitle: Pkg\nversion: 1.0.0\ntype: integration\ncategories: [security]\n";

const BASE_FIELDS: &str = "- name: data_stream.type\n  type: constant_keyword\n- name: data_stream.dataset\n  type: constant_keyword\n- name: data_stream.namespace\n  type: constant_keyword\n- name: '@timestamp'\n  type: date\n";

/// Writes `files` (path, content) into a temporary package, runs `check` on it in
/// `mode`, and returns the problems as printed.
fn run_in(
    mode: Mode,
    files: &[(&str, &str)],
    check: impl Fn(&Package<'_>) -> Vec<Problem>,
) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut all: Vec<(&str, &str)> = vec![("manifest.yml", MANIFEST)];
    all.extend_from_slice(files);
    for (path, content) in all {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap_or(Path::new("."))).unwrap();
        std::fs::write(full, content).unwrap();
    }
    let fs = DirFs::open(dir.path()).unwrap();
    let pkg = crate::open_package(&fs, Some(dir.path().to_path_buf()), mode).unwrap();
    check(&pkg).iter().map(|p| p.to_string()).collect()
}

fn run(files: &[(&str, &str)], check: impl Fn(&Package<'_>) -> Vec<Problem>) -> Vec<String> {
    run_in(Mode::Legacy, files, check)
}

/// A field-definition check as a check of the package.
fn on_fields(check: FieldCheck) -> impl Fn(&Package<'_>) -> Vec<Problem> {
    move |pkg| check(pkg, &fields_files(pkg))
}

#[test]
fn groups_cannot_have_units_or_metric_types() {
    let fields = "- name: aaa\n  type: group\n  fields:\n    - name: bbb\n      type: group\n      unit: ms\n      fields:\n        - name: ccc\n          type: integer\n- name: fff\n  type: group\n  metric_type: counter\n  fields:\n    - name: world\n      type: integer\n      metric_type: gauge\n";
    let problems = run(
        &[("data_stream/foo/fields/a.yml", fields)],
        on_fields(field_groups),
    );
    assert_eq!(
        problems,
        vec![
            "data_stream/foo/fields/a.yml:4: field \"aaa.bbb\" can't have unit property'",
            "data_stream/foo/fields/a.yml:10: field \"fff\" can't have metric type property'",
        ]
    );
}

#[test]
fn duplicated_leaf_fields_are_reported_per_data_stream_and_transform() {
    let problems = run(
        &[
            ("data_stream/good/fields/base.yml", BASE_FIELDS),
            ("data_stream/wrong/fields/base.yml", BASE_FIELDS),
            (
                "data_stream/wrong/fields/ecs.yml",
                "- name: event\n  type: group\n  fields:\n    - name: dataset\n      type: keyword\n",
            ),
            (
                "data_stream/wrong/fields/more.yml",
                "- name: event.dataset\n  type: keyword\n",
            ),
            (
                "elasticsearch/transform/t1/fields/a.yml",
                "- name: field1\n  type: keyword\n",
            ),
            (
                "elasticsearch/transform/t1/fields/b.yml",
                "- name: field1\n  type: keyword\n",
            ),
        ],
        on_fields(unique_fields),
    );
    assert_eq!(
        problems,
        vec![
            "field \"event.dataset\" is defined multiple times for data stream \"wrong\", found in: data_stream/wrong/fields/ecs.yml, data_stream/wrong/fields/more.yml",
            "field \"field1\" is defined multiple times for transform \"t1\", found in: elasticsearch/transform/t1/fields/a.yml, elasticsearch/transform/t1/fields/b.yml",
        ]
    );
}

#[test]
fn required_fields_need_their_types() {
    let fields = "- name: data_stream.dataset\n  type: keyword\n- name: data_stream.namespace\n  type: constant_keyword\n- name: '@timestamp'\n  external: ecs\n";
    let problems = run(
        &[("data_stream/foo/fields/base.yml", fields)],
        on_fields(required_fields),
    );
    assert_eq!(
        problems,
        vec![
            "data_stream/foo/fields/base.yml:1: expected type \"constant_keyword\" for required field \"data_stream.dataset\", found \"keyword\" in \"data_stream/foo/fields/base.yml\"",
            "expected field \"data_stream.type\" with type \"constant_keyword\" not found in datastream \"foo\"",
        ]
    );
    assert!(
        run(
            &[("data_stream/foo/fields/base.yml", BASE_FIELDS)],
            on_fields(required_fields)
        )
        .is_empty()
    );
}

#[test]
fn required_fields_of_input_packages_name_no_data_stream() {
    let problems = run(
        &[(
            "fields/base.yml",
            "- name: data_stream\n  type: group\n  fields:\n    - name: dataset\n      type: constant_keyword\n    - name: namespace\n      type: constant_keyword\n- name: '@timestamp'\n  type: date\n",
        )],
        on_fields(required_fields),
    );
    assert_eq!(
        problems,
        vec!["expected field \"data_stream.type\" with type \"constant_keyword\" not found"]
    );
}

#[test]
fn fields_files_can_be_links() {
    let problems = run(
        &[
            (
                "shared/fields.yml",
                "- name: x\n  type: group\n  unit: ms\n",
            ),
            (
                "data_stream/foo/fields/x.yml.link",
                "../../../shared/fields.yml 0123\n",
            ),
        ],
        on_fields(field_groups),
    );
    assert_eq!(
        problems,
        vec!["data_stream/foo/fields/x.yml.link:1: field \"x\" can't have unit property'"]
    );
}

#[test]
fn dimensions_and_date_formats_only_on_allowed_types() {
    let fields = "- name: a\n  type: text\n  dimension: true\n- name: b\n  type: keyword\n  dimension: true\n- name: c\n  external: ecs\n  dimension: true\n- name: d\n  type: keyword\n  date_format: yyyy\n- name: e\n  type: date\n  date_format: yyyy\n";
    let files = [("data_stream/foo/fields/a.yml", fields)];
    let dims = run(&files, on_fields(dimension_fields));
    assert_eq!(dims.len(), 1, "{dims:?}");
    assert!(
        dims[0].contains("field \"a\" of type text can't be a dimension"),
        "{dims:?}"
    );
    let dates = run(&files, on_fields(date_fields));
    assert_eq!(
        dates,
        vec![
            "data_stream/foo/fields/a.yml:10: field \"d\" of type keyword can't set date_format. date_format is allowed for date field type only"
        ]
    );
}

#[test]
fn external_fields_need_a_build_dependency() {
    let fields = [(
        "data_stream/foo/fields/ecs.yml",
        "- name: container.id\n  external: ecs\n",
    )];
    assert_eq!(
        run(&fields, on_fields(external_fields_with_dev_folder)),
        vec![
            "data_stream/foo/fields/ecs.yml:1: field container.id with external key defined (\"ecs\") but no _dev/build/build.yml found"
        ]
    );
    let with_build = [
        fields[0],
        (
            "_dev/build/build.yml",
            "dependencies:\n  ecs:\n    reference: git@v8.0.0\n",
        ),
    ];
    assert!(run(&with_build, on_fields(external_fields_with_dev_folder)).is_empty());
    assert_eq!(
        run_in(Mode::Build, &fields, on_fields(no_external_fields)),
        vec![
            "data_stream/foo/fields/ecs.yml:1: field container.id has external: ecs reference; external fields must be materialized before packaging"
        ]
    );
}

#[test]
fn time_series_data_streams_need_a_dimension() {
    let manifest = "title: Foo\ntype: metrics\nelasticsearch:\n  index_mode: time_series\n";
    let problems = run(
        &[
            ("data_stream/foo/manifest.yml", manifest),
            ("data_stream/foo/fields/base.yml", BASE_FIELDS),
        ],
        on_fields(dimensions_present),
    );
    assert_eq!(
        problems,
        vec!["data_stream/foo/manifest.yml: time series mode enabled but no dimensions configured"]
    );
    let with_dimension = format!("{BASE_FIELDS}- name: host\n  type: keyword\n  dimension: true\n");
    assert!(
        run(
            &[
                ("data_stream/foo/manifest.yml", manifest),
                ("data_stream/foo/fields/base.yml", &with_dimension)
            ],
            on_fields(dimensions_present)
        )
        .is_empty()
    );
}

#[test]
fn fields_limit_counts_leaves_per_data_stream() {
    let mut many = String::new();
    for i in 0..=FIELDS_PER_DATA_STREAM_LIMIT {
        many.push_str(&format!("- name: f{i}\n  type: keyword\n"));
    }
    let problems = run(
        &[("data_stream/foo/fields/many.yml", &many)],
        on_fields(fields_limits),
    );
    assert_eq!(
        problems,
        vec!["data stream foo has more than 2048 fields (2049)"]
    );
}

#[test]
fn changelog_rules_read_the_changelog() {
    let changelog = "- version: 1.0.0\n  changes:\n    - description: x\n      type: enhancement\n      link: https://github.com/elastic/integrations/pull/0\n- version: 1.0.0\n  changes: []\n";
    assert_eq!(
        run(
            &[("changelog.yml", changelog)],
            changelog::version_integrity
        ),
        vec![
            "changelog.yml: versions in changelog must be unique, found at least two same versions (1.0.0)"
        ]
    );
    assert_eq!(
        run(&[("changelog.yml", changelog)], changelog::changelog_links),
        vec![
            "changelog.yml:5: https://github.com/elastic/integrations/pull/0: issue number in changelog link should be a positive number"
        ]
    );
}

#[test]
fn ilm_policy_must_exist() {
    let manifest = "title: Test\ntype: logs\nilm_policy: logs-pkg.test-notexists\n";
    let problems = run(
        &[
            ("data_stream/test/manifest.yml", manifest),
            ("data_stream/test/elasticsearch/ilm/diagnostics.json", "{}"),
        ],
        datastream::ilm_policy_present,
    );
    assert_eq!(
        problems,
        vec![
            "data_stream/test/manifest.yml:3: field ilm_policy: ILM policy \"logs-pkg.test-notexists\" not found in package, expected definition in \"data_stream/test/elasticsearch/ilm/notexists.json\""
        ]
    );
    let good = "title: Test\ntype: logs\nilm_policy: logs-pkg.test-diagnostics\n";
    assert!(
        run(
            &[
                ("data_stream/test/manifest.yml", good),
                ("data_stream/test/elasticsearch/ilm/diagnostics.json", "{}"),
            ],
            datastream::ilm_policy_present,
        )
        .is_empty()
    );
}

#[test]
fn routing_rules_need_a_dataset() {
    let rules = "- source_dataset: x\n  rules: []\n";
    let problems = run(
        &[
            (
                "data_stream/rules/manifest.yml",
                "title: Rules\ntype: logs\n",
            ),
            ("data_stream/rules/routing_rules.yml", rules),
        ],
        datastream::routing_rules_and_dataset,
    );
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].contains(
            "routing rules defined in data stream \"rules\" but dataset field is missing"
        )
    );
    assert!(
        run(
            &[
                (
                    "data_stream/rules/manifest.yml",
                    "title: Rules\ntype: logs\ndataset: rules\n"
                ),
                ("data_stream/rules/routing_rules.yml", rules),
            ],
            datastream::routing_rules_and_dataset,
        )
        .is_empty()
    );
}

#[test]
fn data_stream_categories_follow_templates_and_package() {
    // The package manifest lists `security`; the template asks for `observability`.
    let ds = [(
        "data_stream/mylogs/manifest.yml",
        "title: Logs\ntype: logs\ncategories: [web]\n",
    )];
    let problems = run(&ds, datastream::data_stream_package_categories);
    assert_eq!(
        problems,
        vec![
            "manifest.yml: package manifest categories [security] are missing parent categories [observability] from data stream \"mylogs\" (defined in \"data_stream/mylogs/manifest.yml\")"
        ]
    );
    let unknown = [(
        "data_stream/mylogs/manifest.yml",
        "title: Logs\ntype: logs\ncategories: [nope]\n",
    )];
    let problems = run(&unknown, datastream::data_stream_package_categories);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].contains("has unrecognized category \"nope\""));
}

#[test]
fn built_packages_may_embed_ecs_templates_but_sources_may_not() {
    let manifest = "title: Foo\ntype: logs\nelasticsearch:\n  index_template:\n    mappings:\n      dynamic_templates:\n        - _embedded_ecs-x:\n            match: x\n";
    let problems = run(
        &[("data_stream/foo/manifest.yml", manifest)],
        datastream::no_embedded_ecs_in_dynamic_templates,
    );
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].contains("dynamic template \"_embedded_ecs-x\" starts with \"_embedded_ecs\"")
    );
}

#[test]
fn malformed_fields_files_are_skipped() {
    let files = [
        ("data_stream/foo/fields/map.yml", "name: x\n"),
        ("data_stream/foo/fields/scalar.yml", "just text\n"),
        (
            "data_stream/foo/fields/bad.yml",
            "- name: [x]\n  type: group\n  unit: ms\n",
        ),
        (
            "data_stream/foo/fields/broken.yml",
            "- name: x\n  type: [\n",
        ),
    ];
    for check in [
        on_fields(field_groups),
        on_fields(fields_limits),
        on_fields(unique_fields),
        on_fields(dimension_fields),
        on_fields(date_fields),
        on_fields(required_fields),
        on_fields(dimensions_present),
    ] {
        assert!(run(&files, check).is_empty());
    }
}

#[test]
fn field_definition_rules_are_selected_by_mode() {
    let files = [
        ("data_stream/foo/fields/base.yml", BASE_FIELDS),
        (
            "data_stream/foo/fields/ecs.yml",
            "- name: container.id\n  external: ecs\n",
        ),
    ];
    let legacy = run(&files, field_definitions);
    assert_eq!(legacy.len(), 1, "{legacy:?}");
    assert!(
        legacy[0].contains("but no _dev/build/build.yml found"),
        "{legacy:?}"
    );
    let build = run_in(Mode::Build, &files, field_definitions);
    assert_eq!(build.len(), 1, "{build:?}");
    assert!(
        build[0].contains("has external: ecs reference"),
        "{build:?}"
    );
}
