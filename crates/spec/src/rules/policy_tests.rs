//! Tests of the manifest and policy rules on small packages written to a tempdir.

use std::path::Path;

use epr_package::fs::DirFs;

use super::{RULES, requires, templates, vars, versions};
use crate::package::{Mode, Package};
use crate::problem::Problem;

/// A package folder with the given files, removed when dropped.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(files: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, text) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().expect("a parent")).expect("mkdir");
            std::fs::write(full, text).expect("write");
        }
        Fixture { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Runs `rule` on the package in `fixture` (legacy mode) and returns its messages.
fn run(fixture: &Fixture, rule: fn(&Package<'_>) -> Vec<Problem>) -> Vec<String> {
    run_in(fixture, Mode::Legacy, rule)
}

/// Runs `rule` on the package in `fixture` validated in `mode`.
fn run_in(fixture: &Fixture, mode: Mode, rule: fn(&Package<'_>) -> Vec<Problem>) -> Vec<String> {
    let fs = DirFs::open(fixture.path()).expect("open");
    let pkg = crate::open_package(&fs, Some(fixture.path().to_path_buf()), mode).expect("package");
    rule(&pkg).into_iter().map(|p| p.to_string()).collect()
}

/// An integration manifest header for `format_version` and `version`.
fn integration(format_version: &str, version: &str, rest: &str) -> String {
    format!(
        "format_version: {format_version}\nname: test\ntitle: Test\ndescription: Test\nversion: {version}\ntype: integration\n{rest}"
    )
}

/// An input package manifest header for `format_version` and `version`.
fn input_package(format_version: &str, version: &str, rest: &str) -> String {
    format!(
        "format_version: {format_version}\nname: test\ntitle: Test\ndescription: Test\nversion: {version}\ntype: input\n{rest}"
    )
}

#[test]
fn every_rule_is_named_once() {
    let mut names: Vec<&str> = RULES.iter().map(|r| r.name).collect();
    names.sort_unstable();
    let count = names.len();
    names.dedup();
    assert_eq!(names.len(), count);
    assert_eq!(count, 19);
}

#[test]
fn prerelease_tags() {
    let check = |version: &str| {
        let f = Fixture::new(&[("manifest.yml", &integration("3.0.0", version, ""))]);
        run(&f, versions::prerelease)
    };
    assert!(check("1.0.0").is_empty());
    assert!(check("1.0.0-beta2").is_empty());
    assert!(check("1.0.0-rc.1").is_empty());
    assert!(check("1.0.0-next").is_empty());
    assert!(check("1.0.0-preview-1").is_empty());
    assert_eq!(
        check("0.1.0-beta1"),
        [
            "manifest.yml: versions below 1.0.0 are considered technical previews, please remove prerelease tag (version: 0.1.0-beta1)"
        ]
    );
    assert_eq!(
        check("1.0.0-alpha1"),
        [
            "manifest.yml: prerelease tag (alpha1) should be one of [next, SNAPSHOT], or one of [beta, rc, preview] followed by numbers"
        ]
    );
    // A numbering must end with an alphanumeric.
    assert_eq!(
        check("1.0.0-beta.").len(),
        0,
        "a trailing dot is not semver, the schema reports it"
    );
    assert_eq!(check("1.0.0-beta-").len(), 1);
}

#[test]
fn minimum_kibana_version_for_input_packages() {
    let with = |version: &str, kibana: &str| {
        let rest = format!("conditions:\n  kibana:\n    version: \"{kibana}\"\n");
        let f = Fixture::new(&[("manifest.yml", &input_package("3.0.0", version, &rest))]);
        run(&f, versions::minimum_kibana_version)
    };
    let message = "manifest.yml: conditions.kibana.version must be ^8.8.0 or greater for non experimental input packages (version > 1.0.0)";
    assert_eq!(with("1.0.0", "^8.7.0"), [message]);
    assert_eq!(with("1.0.0", "^8.8.0 || ^7.17.0"), [message]);
    assert!(with("1.0.0", "^8.8.0").is_empty());
    assert!(with("1.0.0", "^8.9.0 || ^9.0.0").is_empty());
    assert!(
        with("0.9.0", "^8.0.0").is_empty(),
        "experimental packages are exempt"
    );
    // No condition at all allows every Kibana.
    let f = Fixture::new(&[("manifest.yml", &input_package("3.0.0", "1.2.0", ""))]);
    assert_eq!(run(&f, versions::minimum_kibana_version), [message]);
}

#[test]
fn minimum_kibana_version_for_runtime_fields_and_tags() {
    let manifest = integration(
        "2.10.0",
        "1.0.0",
        "conditions:\n  kibana.version: \"^8.8.0\"\n",
    );
    let fields = "- name: a\n  type: group\n  fields:\n    - name: b\n      type: keyword\n      runtime: true\n";
    let f = Fixture::new(&[
        ("manifest.yml", &manifest),
        ("data_stream/logs/fields/fields.yml", fields),
        ("kibana/tags.yml", "- text: x\n  asset_types: [dashboard]\n"),
    ]);
    let fs = DirFs::open(f.path()).expect("open");
    let pkg = crate::open_package(&fs, None, Mode::Legacy).expect("package");
    let problems = versions::minimum_kibana_version(&pkg);
    assert_eq!(problems.len(), 2);
    assert_eq!(
        problems[0].message,
        "conditions.kibana.version must be ^8.10.0 or greater to include runtime fields"
    );
    assert_eq!(problems[0].code, None);
    assert_eq!(problems[1].code, Some("SVR00005"));

    // `runtime: false` is no runtime field; a high enough condition allows tags.
    let manifest = integration(
        "2.10.0",
        "1.0.0",
        "conditions:\n  kibana.version: \"^8.10.0\"\n",
    );
    let f = Fixture::new(&[
        ("manifest.yml", &manifest),
        (
            "data_stream/logs/fields/fields.yml",
            "- name: b\n  type: keyword\n  runtime: false\n",
        ),
        ("kibana/tags.yml", "- text: x\n  asset_types: [dashboard]\n"),
    ]);
    assert!(run(&f, versions::minimum_kibana_version).is_empty());
}

#[test]
fn agent_version_condition() {
    let with = |condition: &str| {
        let rest = format!("conditions:\n  agent:\n    version: \"{condition}\"\n");
        let f = Fixture::new(&[("manifest.yml", &integration("3.6.0", "1.0.0", &rest))]);
        run(&f, versions::minimum_agent_version)
    };
    assert!(with("^8.13.0").is_empty());
    let problems = with("version");
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("manifest.yml: invalid agent.version condition: "));
}

#[test]
fn profiles_only_in_prerelease_packages() {
    let files = |version: &str| {
        Fixture::new(&[
            ("manifest.yml", &integration("3.0.0", version, "")),
            (
                "data_stream/prof/manifest.yml",
                "title: P\ntype: profiles\n",
            ),
            ("data_stream/logs/manifest.yml", "title: L\ntype: logs\n"),
        ])
    };
    assert_eq!(
        run(&files("1.0.0"), versions::profiles_non_ga),
        ["data_stream/prof/manifest.yml:2: profiles data type cannot be used in GA packages"]
    );
    assert!(run(&files("1.0.0-beta1"), versions::profiles_non_ga).is_empty());
    assert!(run(&files("0.3.0"), versions::profiles_non_ga).is_empty());
}

#[test]
fn required_var_groups() {
    let manifest = integration(
        "3.3.2",
        "1.0.0",
        r#"vars:
  - name: root_token
    type: text
policy_templates:
  - name: t
    inputs:
      - type: logfile
        required_vars:
          auth:
            - name: api_key
            - name: password
            - name: root_token
            - value: no_name
        vars:
          - name: api_key
            type: text
            required: true
"#,
    );
    let stream = r#"title: S
streams:
  - input: logfile
    required_vars:
      auth:
        - name: root_token
        - name: missing
    vars:
      - name: other
        type: text
"#;
    let f = Fixture::new(&[
        ("manifest.yml", &manifest),
        ("data_stream/s/manifest.yml", stream),
    ]);
    assert_eq!(
        run(&f, vars::required_var_groups),
        [
            "manifest.yml:16: required var \"api_key\" in optional group is defined as always required",
            "manifest.yml:17: required var \"password\" in optional group is not defined",
            "data_stream/s/manifest.yml:7: required var \"missing\" in optional group is not defined",
        ]
    );
}

#[test]
fn var_groups() {
    let manifest = integration(
        "3.6.0",
        "1.0.0",
        r#"vars:
  - name: key_id
    type: text
    required: true
  - name: role
    type: text
var_groups:
  - name: credentials
    required: true
    options:
      - name: keys
        vars: [key_id, nowhere]
      - name: keys
        vars: [role]
  - name: credentials
    options: []
"#,
    );
    let f = Fixture::new(&[("manifest.yml", &manifest)]);
    let problems = run(&f, vars::var_groups);
    assert_eq!(
        problems,
        [
            "manifest.yml:18: var \"key_id\" in required var_group \"credentials\" should not have required: true (requirement is inferred from var_group)",
            "manifest.yml:18: var \"nowhere\" referenced in var_group \"credentials\" option \"keys\" is not defined",
            "manifest.yml:19: duplicate option name \"keys\" in var_group \"credentials\"",
            "manifest.yml:21: duplicate var_group name \"credentials\"",
        ]
    );
}

#[test]
fn var_groups_in_streams_name_the_stream() {
    let stream = r#"title: S
streams:
  - input: logfile
    title: Logs
    var_groups:
      - name: g
        options:
          - name: o
            vars: [v]
    vars:
      - name: v
        type: text
        required: true
"#;
    let f = Fixture::new(&[
        ("manifest.yml", &integration("3.6.0", "1.0.0", "")),
        ("data_stream/s/manifest.yml", stream),
    ]);
    assert_eq!(
        run(&f, vars::var_groups),
        [
            "data_stream/s/manifest.yml:9: var \"v\" in non-required var_group \"g\" should not have required: true (var_group is optional) (stream: Logs)"
        ]
    );
}

#[test]
fn sections_are_scoped() {
    let manifest = integration(
        "3.6.1",
        "1.0.0",
        r#"sections:
  - name: auth
    title: Auth
  - name: auth
    title: Again
vars:
  - name: user
    section: auth
policy_templates:
  - name: t
    vars:
      - name: pass
        section: auth
"#,
    );
    let f = Fixture::new(&[("manifest.yml", &manifest)]);
    assert_eq!(
        run(&f, vars::sections),
        [
            "manifest.yml:10: duplicate section name \"auth\" in package root",
            "manifest.yml:18: var \"pass\" references undefined section \"auth\" in policy template",
        ]
    );
}

#[test]
fn duration_variables() {
    let manifest = integration(
        "3.5.0",
        "1.0.0",
        r#"vars:
  - name: ok
    type: duration
    min_duration: 10s
    max_duration: 1h
    default: 1m
  - name: inverted
    type: duration
    min_duration: 2h
    max_duration: 1h
    default: 30m
  - name: bad_default
    type: duration
    default: 5
  - name: not_a_duration
    type: text
    default: 5
"#,
    );
    let f = Fixture::new(&[("manifest.yml", &manifest)]);
    assert_eq!(
        run(&f, vars::duration_variables),
        [
            "manifest.yml:13: error in variable \"inverted\": min_duration \"2h\" greater than default \"30m\"\nmin_duration \"2h\" greater than max_duration \"1h\"",
            "manifest.yml:18: error in variable \"bad_default\": invalid default value type int: expected a string",
        ]
    );
}

#[test]
fn fleet_reserved_vars_in_integrations() {
    let manifest = integration(
        "3.6.1",
        "1.0.0",
        r#"policy_templates:
  - name: t
    vars:
      - name: use_apm
        type: bool
"#,
    );
    let stream = r#"title: S
type: traces
streams:
  - input: otelcol
    vars:
      - name: use_apm
        type: bool
      - name: data_stream.dataset
        type: text
  - input: logfile
    vars:
      - name: use_apm
        type: bool
"#;
    let f = Fixture::new(&[
        ("manifest.yml", &manifest),
        ("data_stream/s/manifest.yml", stream),
    ]);
    assert_eq!(
        run(&f, vars::fleet_reserved_vars),
        [
            "manifest.yml:10: policy template \"t\" vars: variable \"use_apm\" must only be declared at stream level",
            "data_stream/s/manifest.yml:12: stream with input type \"logfile\": variable \"use_apm\" must be \"otelcol\" input, got \"logfile\"",
        ]
    );
}

#[test]
fn deployment_modes() {
    let manifest = integration(
        "3.4.1",
        "1.0.0",
        r#"policy_templates:
  - name: t
    deployment_modes:
      default:
        enabled: false
      agentless:
        enabled: true
        release: beta
    inputs:
      - type: a
        deployment_modes: [default]
"#,
    );
    let f = Fixture::new(&[("manifest.yml", &manifest)]);
    assert_eq!(
        run(&f, templates::deployment_modes),
        [
            "manifest.yml:8: policy template \"t\" sets agentless.release but agentless is the only deployment mode; use the package version to indicate maturity instead",
            "manifest.yml:8: policy template \"t\" enables deployment mode \"agentless\" but no input supports this mode",
            "manifest.yml:16: input \"a\" in policy template \"t\" specifies unsupported deployment mode \"default\"",
        ]
    );
}

#[test]
fn input_package_templates() {
    let manifest = |template: &str| {
        input_package(
            "3.6.0",
            "0.1.0",
            &format!("policy_templates:\n  - name: t\n    input: logfile\n{template}"),
        )
    };
    let run_with = |template: &str| {
        let f = Fixture::new(&[
            ("manifest.yml", &manifest(template)),
            ("agent/input/input.yml.hbs", "x: 1\n"),
            ("agent/input/extra.yml.hbs.link", "../x.yml.hbs 00\n"),
        ]);
        run(&f, templates::input_package_policy_templates)
    };
    assert!(run_with("    template_path: input.yml.hbs\n").is_empty());
    assert!(run_with("    template_paths: [input.yml.hbs, extra.yml.hbs]\n").is_empty());
    assert_eq!(
        run_with(""),
        [
            "manifest.yml:8: policy template \"t\" references template_path \"\": template_path is required for input type packages"
        ]
    );
    assert_eq!(
        run_with("    template_path: input.yml.hbs\n    template_paths: [missing.yml.hbs]\n"),
        [
            "manifest.yml:8: policy template \"t\" references template_path \"input.yml.hbs\": template file not found"
        ]
    );
}

#[test]
fn integration_templates() {
    let manifest = integration(
        "3.6.0",
        "1.0.0",
        r#"policy_templates:
  - name: t
    inputs:
      - type: logfile
        template_path: found.yml.hbs
      - type: udp
        template_path: lost.yml.hbs
"#,
    );
    let f = Fixture::new(&[
        ("manifest.yml", &manifest),
        ("agent/input/found.yml.hbs", "x: 1\n"),
        (
            "data_stream/a/manifest.yml",
            "title: A\nstreams:\n  - input: logfile\n",
        ),
        ("data_stream/a/agent/stream/log.yml.hbs", "x: 1\n"),
        (
            "data_stream/b/manifest.yml",
            "title: B\nstreams:\n  - input: tcp\n    template_path: tcp.yml.hbs\n",
        ),
        ("data_stream/b/agent/stream/tcp.yml.hbs", "x: 1\n"),
    ]);
    assert_eq!(
        run(&f, templates::integration_policy_templates),
        [
            "data_stream/a/manifest.yml:3: data stream \"data_stream/a\" stream input \"logfile\": template file not found",
            "manifest.yml:12: policy template \"t\": failed validation for policy input \"udp\": template file not found",
        ]
    );
}

#[test]
fn dynamic_signal_types() {
    let manifest = input_package(
        "3.6.0",
        "0.1.0",
        r#"policy_templates:
  - name: a
    input: otelcol
    type: logs
    dynamic_signal_types: true
  - name: b
    input: logfile
    dynamic_signal_types: true
  - name: c
    input: otelcol
    dynamic_signal_types: true
"#,
    );
    let f = Fixture::new(&[("manifest.yml", &manifest)]);
    assert_eq!(
        run(&f, templates::dynamic_signal_types),
        [
            "manifest.yml:8: policy template \"a\": type field must not be set when dynamic_signal_types is true",
            "manifest.yml:12: policy template \"b\": dynamic_signal_types is only allowed when input is 'otelcol', got 'logfile'",
        ]
    );
}

#[test]
fn deprecation_rules() {
    let manifest = integration(
        "3.6.0",
        "1.0.0",
        r#"policy_templates:
  - name: t
    deprecated:
      since: 1.0.0
      description: old
      replaced_by:
        package: other
    inputs:
      - type: a
        deprecated:
          since: 1.0.0
          description: old
"#,
    );
    let f = Fixture::new(&[("manifest.yml", &manifest)]);
    assert_eq!(
        run(&f, templates::inputs_deprecation),
        [
            "manifest.yml: all inputs are deprecated but the integration package is not marked as deprecated"
        ]
    );
    assert_eq!(
        run(&f, templates::deprecated_replaced_by),
        [
            "manifest.yml:13: policy_template deprecated.replaced_by.policy_template must be specified when deprecated.replaced_by is used"
        ]
    );
}

#[test]
fn input_qualifier() {
    let manifest = integration(
        "3.6.0",
        "1.0.0",
        r#"policy_templates:
  - name: t
    inputs:
      - type: otelcol
        name: one
      - type: otelcol
      - type: otelcol
      - type: logfile
"#,
    );
    let f = Fixture::new(&[("manifest.yml", &manifest)]);
    assert_eq!(
        run(&f, templates::input_qualifier),
        [
            "manifest.yml:12: policy template \"t\": input with type \"otelcol\" must have a name when multiple inputs of the same type are present (SVR00010)"
        ]
    );
}

#[test]
fn package_references_and_bundling() {
    let manifest = integration(
        "3.6.0",
        "1.0.0",
        r#"requires:
  input:
    - package: sql_input
      version: "^1.0.0"
    - package: log_input
      version: 2.0.0
  content:
    - package: dashboards
      version: "^1.0.0"
policy_templates:
  - name: t
    inputs:
      - package: sql_input
      - package: dashboards
      - package: nowhere
"#,
    );
    let stream = "title: S\nstreams:\n  - package: log_input\n  - package: other\n";
    let f = Fixture::new(&[
        ("manifest.yml", &manifest),
        ("data_stream/s/manifest.yml", stream),
    ]);
    assert_eq!(
        run(&f, requires::package_references),
        [
            "manifest.yml:20: policy_templates[0].inputs[1] references package \"dashboards\" which is a content package, only input packages allowed",
            "manifest.yml:21: policy_templates[0].inputs[2] references package \"nowhere\" which is not listed in requires section",
            "data_stream/s/manifest.yml:4: streams[1] references package \"other\" which is not listed in manifest requires section",
            "manifest.yml: field requires.input.0.version: version \"^1.0.0\" for package \"sql_input\" must be a valid semantic version, constraints are not allowed",
        ]
    );
    assert_eq!(
        run_in(&f, Mode::Build, templates::stream_input_bundled).len(),
        5
    );
}

#[test]
fn test_package_requirements() {
    let manifest = integration(
        "3.6.0",
        "1.0.0",
        "requires:\n  input:\n    - package: sql_input\n      version: 1.0.0\n",
    );
    let config = r#"system:
  requires:
    - package: sql_input
      version: 1.0.0
    - package: sql_input
      version: 1.1.0
    - source: ../does_not_exist_anywhere
policy:
  requires:
    - package: other
      version: 1.0.0
"#;
    let ds_config = "requires:\n  - source: /abs\n";
    let f = Fixture::new(&[
        ("manifest.yml", &manifest),
        ("_dev/test/config.yml", config),
        ("data_stream/s/manifest.yml", "title: S\n"),
        (
            "data_stream/s/_dev/test/system/test-default-config.yml",
            ds_config,
        ),
    ]);
    assert_eq!(
        run(&f, requires::test_package_requirements),
        [
            "_dev/test/config.yml:5: system.requires[1] package \"sql_input\" version \"1.1.0\" does not satisfy constraint \"1.0.0\"",
            "_dev/test/config.yml:7: source path to required package \"../does_not_exist_anywhere\" does not exist",
            "_dev/test/config.yml:10: policy.requires[0] references package \"other\" which is not listed in manifest requires section",
            "data_stream/s/_dev/test/system/test-default-config.yml:2: source path to required package \"/abs\" must be relative",
        ]
    );
}

#[test]
fn rules_survive_mistyped_manifests() {
    // Every value has the wrong type: the schema reports that; the rules must not
    // panic nor invent problems.
    let manifest = integration(
        "3.6.1",
        "1.0.0",
        r#"vars: 3
var_groups: {a: 1}
sections: "x"
conditions: [1]
requires: {input: "x", content: [1, {package: 2}]}
policy_templates:
  - 1
  - name: [a]
    inputs: {a: b}
    deployment_modes: [1]
    vars: [1, {name: {a: 1}, type: duration, default: [1]}]
"#,
    );
    let f = Fixture::new(&[
        ("manifest.yml", &manifest),
        ("data_stream/s/manifest.yml", "streams: {a: 1}\n"),
        ("data_stream/t/manifest.yml", "- 1\n"),
        ("data_stream/u/manifest.yml", ": : :\n"),
        ("_dev/test/config.yml", "system: [1]\n"),
    ]);
    let fs = DirFs::open(f.path()).expect("open");
    let pkg = crate::open_package(&fs, None, Mode::Legacy).expect("package");
    let problems: Vec<Problem> = RULES
        .iter()
        .filter(|r| r.applies(&pkg))
        .flat_map(|r| (r.check)(&pkg))
        .collect();
    // Only the mistyped duration default is a problem of these rules.
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0]
            .message
            .contains("invalid default value type []interface {}")
    );
}
