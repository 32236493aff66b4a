//! `manifest.yml` of integration, input and content packages
//! (`{integration,input,content}/manifest.spec.yml`, spec/package-format.md §2.1–§2.3).
//!
//! Each `if before(v, ..)` below is one operation of a spec `versions` patch (§2.7).
//! The input and content schemas reference definitions of the integration schema;
//! those carry the integration schema's own patches (a `$ref` points into the patched
//! file), so the shared definitions here take `v` when a patch touches them, whichever
//! package type refers to them.

use epr_package::version::Version;

use super::before;
use super::data_stream::index_template;
use super::vars::{
    agent, categories, deprecated, dynamic_signal_types, index_mode, input_migrate_from,
    package_reference, provider_permissions, required_vars, sections, show_divider, template_path,
    template_paths, var_groups, vars, version,
};
use crate::schema::{Schema, any, array, boolean, object, string, string_enum};

/// The schema of an integration package's `manifest.yml`.
pub fn integration(v: &Version) -> Schema {
    let mut s = common(v, "integration")
        .prop("conditions", conditions(v))
        .prop("provider_permissions", provider_permissions())
        .prop("policy_templates_behavior", string())
        .prop("policy_templates", array(integration_policy_template(v)))
        .prop("vars", vars(v));
    if !before(v, "3.6.0") {
        s = s.prop("var_groups", var_groups());
    }
    s = s.prop("sections", sections());
    if !before(v, "2.12.0") {
        s = s.prop("agent", agent());
    }
    s = s.prop("elasticsearch", integration_elasticsearch());
    if !before(v, "3.6.0") {
        s = s
            .prop("requires", requires())
            .prop("deprecated", deprecated());
    }
    if before(v, "2.3.0") {
        s = s.prop("release", string_enum(&["experimental", "beta", "ga"]));
    }
    if before(v, "2.0.0") {
        s = s.prop("license", string_enum(&["basic"]));
    }
    s.all_of(vec![policy_templates_behavior()])
}

/// The schema of an input package's `manifest.yml`.
pub fn input(v: &Version) -> Schema {
    let mut s = common(v, "input")
        .prop("conditions", conditions(v))
        .prop("policy_templates", array(input_policy_template(v)))
        .prop("vars", vars(v));
    if !before(v, "3.6.0") {
        s = s.prop("var_groups", var_groups());
    }
    s = s
        .prop("sections", sections())
        .prop("provider_permissions", provider_permissions());
    if !before(v, "2.12.0") {
        s = s.prop("agent", agent());
    }
    if !before(v, "2.3.0") {
        s = s.prop("elasticsearch", input_elasticsearch(v));
    }
    if !before(v, "3.6.0") {
        s = s.prop("deprecated", deprecated());
    }
    if before(v, "2.0.0") {
        s = s.prop("license", string_enum(&["basic"]));
    }
    s
}

/// The schema of a content package's `manifest.yml`.
pub fn content(v: &Version) -> Schema {
    let conditions = object()
        .closed()
        .prop("elastic", elastic_conditions(v))
        .prop("kibana", kibana_conditions());
    let mut s = common(v, "content")
        .prop("conditions", conditions)
        .prop("discovery", discovery());
    if !before(v, "3.6.0") {
        s = s.prop("deprecated", deprecated());
    }
    s
}

/// What the three manifests share: identity, presentation and owner, with `type`
/// allowing only `kind`.
fn common(v: &Version, kind: &'static str) -> Schema {
    object()
        .closed()
        .prop("format_version", version())
        .prop("name", string().pattern("^[a-z0-9_]+$"))
        .prop("group", string().pattern("^[a-z0-9_]+$"))
        .prop("title", string())
        .prop("description", string())
        .prop("version", version())
        .prop("source", source())
        .prop("type", string_enum(&[kind]))
        .prop("categories", categories())
        .prop("icons", icons())
        .prop("screenshots", screenshots())
        .prop("owner", owner(v))
        .required(&[
            "format_version",
            "name",
            "title",
            "description",
            "version",
            "type",
            "owner",
        ])
}

/// `definitions/source`: the package's license.
fn source() -> Schema {
    object()
        .closed()
        .prop("license", string_enum(&["Apache-2.0", "Elastic-2.0"]))
}

/// `definitions/owner`: `type` is required from 3.0.0.
fn owner(v: &Version) -> Schema {
    let s = object()
        .closed()
        .prop(
            "github",
            string().pattern(r"^(([a-zA-Z0-9-_]+)|([a-zA-Z0-9-_]+\/[a-zA-Z0-9-_]+))$"),
        )
        .prop("type", string_enum(&["elastic", "partner", "community"]));
    if before(v, "3.0.0") {
        s.required(&["github"])
    } else {
        s.required(&["github", "type"])
    }
}

/// `definitions/icons`: `src` must be a file of the package.
fn icons() -> Schema {
    array(
        object()
            .closed()
            .prop("src", string().format("relative-path"))
            .prop("title", string())
            .prop("size", string())
            .prop("type", string())
            .prop("dark_mode", boolean())
            .required(&["src"]),
    )
}

/// `definitions/screenshots`: `src` must be a file of the package.
fn screenshots() -> Schema {
    array(
        object()
            .closed()
            .prop("src", string().format("relative-path"))
            .prop("title", string())
            .prop("size", string())
            .prop("type", string())
            .required(&["src", "title"]),
    )
}

/// `definitions/conditions` (integration and input packages).
fn conditions(v: &Version) -> Schema {
    object()
        .closed()
        .prop("elastic", elastic_conditions(v))
        .prop("kibana", kibana_conditions())
        .prop("agent", object().closed().prop("version", string()))
}

/// `definitions/conditions/properties/elastic`: `capabilities` from 2.10.0.
fn elastic_conditions(v: &Version) -> Schema {
    let s = object().closed().prop(
        "subscription",
        string_enum(&["basic", "gold", "platinum", "enterprise"]),
    );
    if before(v, "2.10.0") {
        return s;
    }
    s.prop(
        "capabilities",
        array(string_enum(&[
            "apm",
            "enterprise_search",
            "observability",
            "security",
            "serverless_search",
            "uptime",
        ]))
        .unique(),
    )
}

fn kibana_conditions() -> Schema {
    object().closed().prop("version", string())
}

/// The allowed `policy_templates_behavior` depends on how many templates there are.
fn policy_templates_behavior() -> Schema {
    any().when(
        any().prop("policy_templates", any().max_items(1)),
        Some(any().prop("policy_templates_behavior", string_enum(&["all"]))),
        Some(any().prop(
            "policy_templates_behavior",
            string_enum(&["combined_policy", "individual_policies", "all"]),
        )),
    )
}

/// `elasticsearch` of an integration manifest: the cluster privileges it needs.
fn integration_elasticsearch() -> Schema {
    object().closed().prop(
        "privileges",
        object().closed().prop("cluster", array(string())),
    )
}

/// `elasticsearch` of an input manifest: the index template of its data stream
/// (2.3.0; `index_mode` from 3.6.0).
fn input_elasticsearch(v: &Version) -> Schema {
    let mut s = object().closed();
    if !before(v, "3.6.0") {
        s = s.prop("index_mode", index_mode());
    }
    s.prop("index_template", index_template(v))
}

/// `definitions/requires`: input and content packages this package depends on (3.6.0).
fn requires() -> Schema {
    let dependency = object()
        .closed()
        .prop("package", string().pattern("^[a-z0-9_]+$"))
        .prop("version", string())
        .required(&["package", "version"]);
    object()
        .closed()
        .prop("input", array(dependency.clone()))
        .prop("content", array(dependency))
}

/// `definitions/deployment_modes`: `default` from 3.2.0; agentless `is_default` and
/// `resources` from 3.3.2; agentless teams are required once it is enabled (or when
/// `enabled` is absent: the spec's `if` only looks at `enabled` when it is there).
fn deployment_modes(v: &Version) -> Schema {
    let mut agentless = object().closed().prop("enabled", boolean());
    if !before(v, "3.3.2") {
        agentless = agentless.prop("is_default", boolean());
    }
    agentless = agentless
        .prop("organization", string())
        .prop("division", string())
        .prop("team", string())
        .prop("release", string_enum(&["beta", "ga"]));
    if !before(v, "3.3.2") {
        let requests = object()
            .closed()
            .prop("memory", string())
            .prop("cpu", string());
        agentless = agentless.prop("resources", object().closed().prop("requests", requests));
    }
    agentless = agentless.all_of(vec![any().when(
        any().prop("enabled", any().constant(true)),
        Some(any().required(&["organization", "division", "team"])),
        None,
    )]);
    let mut s = object().closed();
    if !before(v, "3.2.0") {
        // Not closed in the spec.
        s = s.prop("default", object().prop("enabled", boolean()));
    }
    s.prop("agentless", agentless)
}

/// `definitions/configuration_links`: links shown with a policy template.
fn configuration_links() -> Schema {
    array(
        object()
            .closed()
            .prop("title", string())
            .prop("url", string().pattern("^(http(s)?://|kbn:/)"))
            .prop("type", string_enum(&["action", "next_step"]))
            .prop("content", string())
            .required(&["title", "url", "type"]),
    )
    .min_items(1)
}

/// One of an integration's `policy_templates`.
fn integration_policy_template(v: &Version) -> Schema {
    let mut s = object()
        .closed()
        .prop("name", string())
        .prop("title", string())
        .prop("categories", categories())
        .prop("description", string())
        .prop("data_streams", array(string().format("data-stream-name")));
    if !before(v, "3.1.4") {
        s = s.prop("deployment_modes", deployment_modes(v));
    }
    if !before(v, "3.3.1") {
        s = s.prop("configuration_links", configuration_links());
    }
    s = s
        .prop("fips_compatible", boolean())
        .prop("inputs", array(integration_input(v)))
        .prop("multiple", boolean())
        .prop("icons", icons())
        .prop("screenshots", screenshots())
        .prop("vars", vars(v));
    if !before(v, "3.6.0") {
        s = s.prop("var_groups", var_groups());
    }
    s = s.prop("sections", sections());
    if !before(v, "3.6.0") {
        s = s.prop("deprecated", deprecated());
    }
    s.prop("provider_permissions", provider_permissions())
        .required(&["name", "title", "description"])
}

/// One input of an integration policy template. From 3.6.0 it names either an agent
/// input `type` or an input `package`; before, `type` is required and not `otelcol`.
fn integration_input(v: &Version) -> Schema {
    let new = !before(v, "3.6.0");
    let mut s = object().closed();
    if new {
        s = s.prop("name", string()).prop("type", string());
    } else {
        // The patch replaces the property, so the value is not even checked to be a
        // string any more.
        s = s.prop("type", any().not(any().constant("otelcol")));
    }
    if new {
        s = s.prop("package", package_reference());
    }
    s = s
        .prop("title", string())
        .prop("description", string())
        .prop("template_path", template_path());
    if new {
        s = s.prop("template_paths", template_paths());
    }
    s = s
        .prop("input_group", string_enum(&["logs", "metrics"]))
        .prop("multi", boolean())
        .prop(
            "deployment_modes",
            array(string_enum(&["default", "agentless"]))
                .min_items(1)
                .unique(),
        );
    if new {
        s = s.prop("migrate_from", input_migrate_from());
    }
    if !before(v, "3.3.2") {
        s = s.prop("required_vars", required_vars());
    }
    // Composable inputs (`package:`) carry partial variable overrides; only inputs with
    // a `type` get the full variable schema (the `if` below).
    s = s.prop("vars", array(object()));
    if new {
        s = s.prop("var_groups", var_groups());
    }
    s = s
        .prop("sections", sections())
        .prop("show_divider", show_divider());
    if new {
        s = s
            .prop("dynamic_signal_types", dynamic_signal_types())
            .prop("deprecated", deprecated())
            .prop(
                "hide_in_var_group_options",
                object().additional(array(string())),
            );
    }
    s = s
        .prop("provider_permissions", provider_permissions())
        .required(&["title", "description"]);
    s = if new {
        s.one_of(vec![
            any().required(&["type"]),
            any().required(&["package"]),
        ])
    } else {
        s.required(&["type"])
    };
    s.when(
        any().required(&["type"]),
        Some(any().prop("vars", vars(v))),
        None,
    )
}

/// One of an input package's `policy_templates`.
fn input_policy_template(v: &Version) -> Schema {
    let new = !before(v, "3.6.0");
    let mut types = vec!["metrics", "logs", "synthetics", "traces"];
    if new {
        types.push("profiles");
    }
    let mut s = object()
        .closed()
        .prop("name", string())
        .prop("type", string_enum(&types))
        .prop("title", string())
        .prop("description", string())
        .prop("deployment_modes", deployment_modes(v))
        .prop("configuration_links", configuration_links())
        .prop("fips_compatible", boolean())
        .prop("icons", icons())
        .prop("screenshots", screenshots())
        .prop("vars", vars(v));
    if new {
        s = s.prop("var_groups", var_groups());
    }
    s = s
        .prop("sections", sections())
        .prop("provider_permissions", provider_permissions());
    s = if before(v, "3.5.0") {
        s.prop("input", any().not(any().constant("otelcol")))
    } else {
        s.prop("input", string())
    };
    s = s.prop("template_path", template_path());
    if !new {
        return s.required(&[
            "name",
            "title",
            "description",
            "type",
            "input",
            "template_path",
        ]);
    }
    s.prop("template_paths", template_paths())
        .prop("dynamic_signal_types", dynamic_signal_types())
        .prop("deprecated", deprecated())
        .all_of(vec![one_template_source(), type_or_dynamic_signal_types()])
        .required(&["name", "title", "description", "input"])
}

/// Exactly one of `template_path` and `template_paths` (3.6.0).
fn one_template_source() -> Schema {
    any().one_of(vec![
        any()
            .required(&["template_path"])
            .not(any().required(&["template_paths"])),
        any()
            .required(&["template_paths"])
            .not(any().required(&["template_path"])),
    ])
}

/// A signal `type` (`profiles` only with the `otelcol` input), or
/// `dynamic_signal_types: true` (3.6.0).
fn type_or_dynamic_signal_types() -> Schema {
    any().one_of(vec![
        any().all_of(vec![
            any().required(&["type"]),
            any().when(
                any().prop("type", any().constant("profiles")),
                Some(any().prop("input", any().values(&["otelcol"]))),
                None,
            ),
        ]),
        any()
            .required(&["dynamic_signal_types"])
            .prop("dynamic_signal_types", any().constant(true)),
    ])
}

/// `definitions/discovery` of the content manifest: the data a content package fits.
fn discovery() -> Schema {
    let named = || array(object().closed().prop("name", string()).required(&["name"]));
    object()
        .closed()
        .prop("datasets", named())
        .prop("fields", named())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ver(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    use crate::schema::messages as errors;

    const HEAD: &str = "name: pkg\ntitle: Pkg\ndescription: A package.\nversion: 1.0.0\nowner:\n  github: elastic/team\n  type: elastic\n";

    fn manifest(format_version: &str, kind: &str, rest: &str) -> String {
        format!("format_version: {format_version}\ntype: {kind}\n{HEAD}{rest}")
    }

    fn integration_errors(format_version: &str, rest: &str) -> Vec<String> {
        errors(
            &integration(&ver(format_version)),
            &manifest(format_version, "integration", rest),
        )
    }

    fn input_errors(format_version: &str, rest: &str) -> Vec<String> {
        errors(
            &input(&ver(format_version)),
            &manifest(format_version, "input", rest),
        )
    }

    const INTEGRATION_TEMPLATE: &str = "policy_templates:\n  - name: t\n    title: T\n    description: D\n    inputs:\n      - type: logfile\n        title: Logs\n        description: Collect logs\n        vars:\n          - name: paths\n            type: text\n            multi: true\n";

    #[test]
    fn minimal_manifests_are_valid() {
        for v in ["1.0.0", "2.0.0", "3.0.0", "3.6.0", "3.7.0"] {
            assert_eq!(
                integration_errors(v, INTEGRATION_TEMPLATE),
                Vec::<String>::new(),
                "{v}"
            );
            assert_eq!(
                errors(&content(&ver(v)), &manifest(v, "content", "")),
                Vec::<String>::new()
            );
        }
    }

    #[test]
    fn type_is_required_and_per_kind() {
        assert_eq!(
            errors(&content(&ver("3.0.0")), &manifest("3.0.0", "input", "")),
            vec!["field type: type must be one of the following: \"content\""]
        );
        let no_type = "format_version: 3.0.0\nname: x\ntitle: x\ndescription: x\nversion: 1.0.0\nowner: {github: a, type: elastic}\n";
        assert_eq!(
            errors(&input(&ver("3.0.0")), no_type),
            vec!["field (root): type is required"]
        );
    }

    #[test]
    fn owner_type_required_from_3_0_0() {
        let yaml = "format_version: 2.12.0\ntype: content\nname: x\ntitle: x\ndescription: x\nversion: 1.0.0\nowner:\n  github: elastic/team\n";
        assert!(errors(&content(&ver("2.12.0")), yaml).is_empty());
        assert_eq!(
            errors(&content(&ver("3.0.0")), yaml),
            vec!["field owner: type is required"]
        );
    }

    #[test]
    fn release_and_license_only_in_old_versions() {
        assert!(integration_errors("1.0.0", "release: beta\nlicense: basic\n").is_empty());
        assert_eq!(
            integration_errors("2.0.0", "release: beta\nlicense: basic\n"),
            vec!["field (root): Additional property license is not allowed"]
        );
        assert_eq!(
            integration_errors("2.3.0", "release: beta\n"),
            vec!["field (root): Additional property release is not allowed"]
        );
    }

    #[test]
    fn agent_and_capabilities_gates() {
        let yaml = "agent:\n  privileges:\n    root: true\nconditions:\n  elastic:\n    capabilities: [security]\n";
        assert!(integration_errors("2.12.0", yaml).is_empty());
        assert_eq!(
            integration_errors("2.11.0", yaml),
            vec!["field (root): Additional property agent is not allowed"]
        );
        assert_eq!(
            integration_errors("2.9.0", yaml),
            vec![
                "field (root): Additional property agent is not allowed",
                "field conditions.elastic: Additional property capabilities is not allowed",
            ]
        );
    }

    #[test]
    fn deployment_modes_gates() {
        let tpl = |modes: &str| {
            format!(
                "policy_templates:\n  - name: t\n    title: T\n    description: D\n    deployment_modes:\n{modes}"
            )
        };
        let with_default = tpl(
            "      default:\n        enabled: false\n      agentless:\n        enabled: false\n",
        );
        assert!(integration_errors("3.2.0", &with_default).is_empty());
        assert_eq!(
            integration_errors("3.1.4", &with_default),
            vec![
                "field policy_templates.0.deployment_modes: Additional property default is not allowed"
            ]
        );
        assert_eq!(
            integration_errors("3.1.3", &with_default),
            vec!["field policy_templates.0: Additional property deployment_modes is not allowed"]
        );
        let resources = tpl(
            "      agentless:\n        enabled: true\n        is_default: true\n        organization: o\n        division: d\n        team: t\n        resources:\n          requests:\n            cpu: '1'\n",
        );
        assert!(integration_errors("3.3.2", &resources).is_empty());
        assert_eq!(integration_errors("3.3.1", &resources).len(), 2);
        // Teams are required when agentless is enabled, and when `enabled` is absent.
        for agentless in [
            "      agentless:\n        enabled: true\n",
            "      agentless:\n        release: ga\n",
        ] {
            assert_eq!(
                integration_errors("3.3.2", &tpl(agentless)),
                vec![
                    "field policy_templates.0.deployment_modes.agentless: organization is required",
                    "field policy_templates.0.deployment_modes.agentless: division is required",
                    "field policy_templates.0.deployment_modes.agentless: team is required",
                ]
            );
        }
    }

    #[test]
    fn configuration_links_from_3_3_1() {
        let yaml = "policy_templates:\n  - name: t\n    title: T\n    description: D\n    configuration_links:\n      - title: L\n        url: ftp://x\n        type: action\n";
        assert_eq!(
            integration_errors("3.3.1", yaml),
            vec![
                "field policy_templates.0.configuration_links.0.url: Does not match pattern '^(http(s)?://|kbn:/)'"
            ]
        );
        assert_eq!(
            integration_errors("3.3.0", yaml),
            vec![
                "field policy_templates.0: Additional property configuration_links is not allowed"
            ]
        );
    }

    #[test]
    fn integration_inputs_before_and_after_3_6_0() {
        let otel = "policy_templates:\n  - name: t\n    title: T\n    description: D\n    inputs:\n      - type: otelcol\n        name: one\n        title: I\n        description: D\n";
        assert!(integration_errors("3.6.0", otel).is_empty());
        assert_eq!(
            integration_errors("3.5.0", otel),
            vec![
                "field policy_templates.0.inputs.0.type: Must not be present",
                "field policy_templates.0.inputs.0: Additional property name is not allowed",
            ]
        );
        let composable = "requires:\n  input:\n    - package: filelog_otel\n      version: 1.0.0\npolicy_templates:\n  - name: t\n    title: T\n    description: D\n    inputs:\n      - package: filelog_otel\n        title: I\n        description: D\n        vars:\n          - name: paths\n            default: [/x]\n";
        assert!(integration_errors("3.6.0", composable).is_empty());
        let old = integration_errors("3.5.0", composable);
        assert!(
            old.contains(&"field (root): Additional property requires is not allowed".to_string())
        );
        assert!(old.contains(&"field policy_templates.0.inputs.0: type is required".to_string()));
        assert!(
            old.contains(
                &"field policy_templates.0.inputs.0: Additional property package is not allowed"
                    .to_string()
            )
        );
        let neither = "policy_templates:\n  - name: t\n    title: T\n    description: D\n    inputs:\n      - title: I\n        description: D\n";
        assert_eq!(
            integration_errors("3.6.0", neither),
            vec!["field policy_templates.0.inputs.0: type is required"]
        );
        // Full variable checks apply to inputs with a type.
        let bad_var = INTEGRATION_TEMPLATE.replace("type: text", "type: texts");
        assert_eq!(integration_errors("3.6.0", &bad_var).len(), 1);
    }

    #[test]
    fn required_vars_on_inputs_from_3_3_2() {
        let yaml = "policy_templates:\n  - name: t\n    title: T\n    description: D\n    inputs:\n      - type: logfile\n        title: I\n        description: D\n        required_vars:\n          creds:\n            - value: x\n";
        assert_eq!(
            integration_errors("3.3.2", yaml),
            vec!["field policy_templates.0.inputs.0.required_vars.creds.0: name is required"]
        );
        assert_eq!(
            integration_errors("3.3.1", yaml),
            vec![
                "field policy_templates.0.inputs.0: Additional property required_vars is not allowed"
            ]
        );
    }

    #[test]
    fn policy_templates_behavior_depends_on_template_count() {
        let one = "policy_templates_behavior: combined_policy\npolicy_templates:\n  - name: a\n    title: A\n    description: A\n";
        assert_eq!(
            integration_errors("3.3.1", one),
            vec![
                "field policy_templates_behavior: policy_templates_behavior must be one of the following: \"all\""
            ]
        );
        let two = format!("{one}  - name: b\n    title: B\n    description: B\n");
        assert!(integration_errors("3.3.1", &two).is_empty());
    }

    #[test]
    fn input_templates_before_3_6_0() {
        let yaml = "policy_templates:\n  - name: t\n    title: T\n    description: D\n    input: otelcol\n    type: logs\n";
        assert_eq!(
            input_errors("3.4.0", yaml),
            vec![
                "field policy_templates.0: template_path is required",
                "field policy_templates.0.input: Must not be present",
            ]
        );
        assert_eq!(
            input_errors("3.5.0", yaml),
            vec!["field policy_templates.0: template_path is required"]
        );
        let dst = "policy_templates:\n  - name: t\n    title: T\n    description: D\n    input: otelcol\n    dynamic_signal_types: true\n    template_path: a.yml.hbs\n";
        assert!(input_errors("3.6.0", dst).is_empty());
        assert_eq!(
            input_errors("3.5.0", dst),
            vec![
                "field policy_templates.0: type is required",
                "field policy_templates.0: Additional property dynamic_signal_types is not allowed",
            ]
        );
    }

    #[test]
    fn input_templates_from_3_6_0() {
        let both = "policy_templates:\n  - name: t\n    title: T\n    description: D\n    input: logfile\n    type: logs\n    template_path: a.yml.hbs\n    template_paths: [b.yml.hbs]\n";
        assert_eq!(
            input_errors("3.6.0", both),
            vec!["field policy_templates.0: Must not be present"]
        );
        let profiles = "policy_templates:\n  - name: t\n    title: T\n    description: D\n    input: logs\n    type: profiles\n    template_path: a.yml.hbs\n";
        assert_eq!(
            input_errors("3.6.0", profiles),
            vec![
                "field policy_templates.0.input: policy_templates.0.input must be one of the following: \"otelcol\""
            ]
        );
        assert_eq!(
            input_errors("3.6.0", &profiles.replace("input: logs", "input: otelcol")),
            Vec::<String>::new()
        );
        assert_eq!(
            input_errors("3.5.0", &profiles.replace("input: logs", "input: otelcol")),
            vec![
                "field policy_templates.0.type: policy_templates.0.type must be one of the following: \"metrics\", \"logs\", \"synthetics\", \"traces\""
            ]
        );
    }

    #[test]
    fn input_elasticsearch_gates() {
        let yaml = "elasticsearch:\n  index_mode: time_series\n  index_template:\n    mappings:\n      dynamic: strict\n";
        assert!(input_errors("3.6.0", yaml).is_empty());
        assert_eq!(
            input_errors("3.5.0", yaml),
            vec!["field elasticsearch: Additional property index_mode is not allowed"]
        );
        assert_eq!(
            input_errors("2.2.0", yaml),
            vec!["field (root): Additional property elasticsearch is not allowed"]
        );
    }

    #[test]
    fn deprecated_from_3_6_0() {
        let yaml = "deprecated:\n  description: gone\n";
        assert_eq!(
            errors(&content(&ver("3.6.0")), &manifest("3.6.0", "content", yaml)),
            vec!["field deprecated: since is required"]
        );
        assert_eq!(
            errors(&content(&ver("3.5.0")), &manifest("3.5.0", "content", yaml)),
            vec!["field (root): Additional property deprecated is not allowed"]
        );
    }

    #[test]
    fn content_conditions_and_discovery() {
        let yaml = "conditions:\n  agent:\n    version: ^9.0.0\ndiscovery:\n  fields:\n    - name: 1\n    - value: x\n";
        assert_eq!(
            errors(&content(&ver("3.4.1")), &manifest("3.4.1", "content", yaml)),
            vec![
                "field conditions: Additional property agent is not allowed",
                "field discovery.fields.0.name: Invalid type. Expected: string, given: integer",
                "field discovery.fields.1: name is required",
                "field discovery.fields.1: Additional property value is not allowed",
            ]
        );
    }

    #[test]
    fn every_version_builds() {
        for entry in crate::spec_version::KNOWN {
            let v = ver(entry);
            let _ = (integration(&v), input(&v), content(&v));
        }
    }
}
