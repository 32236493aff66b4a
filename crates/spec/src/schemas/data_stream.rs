//! Data stream files: `manifest.yml`, `routing_rules.yml`, `lifecycle.yml`
//! (`integration/data_stream/*.spec.yml`).
//!
//! The manifest borrows definitions from the integration manifest spec
//! (`agent`, `categories`, `deprecated`, `var_groups`, `sections`,
//! `provider_permissions`, ...); they are written here as private functions, with the
//! patches of both spec files for the package's version applied.

use epr_package::version::Version;

use super::{before, fields};
use crate::schema::{Schema, Type, any, array, boolean, integer, object, string, string_enum};

/// How deep the recursive definitions (`input_variable_value` arrays, embedded ECS
/// `mapping.fields`) are described; deeper levels accept anything. Real files nest
/// two or three levels.
const RECURSION_DEPTH: usize = 8;

/// A schema for values that are either arrays (`array_branch`) or something else
/// (`other`), as the spec's `oneOf`/`anyOf` of a typed array branch and a typed
/// scalar branch. gojsonschema reports the branch with the best score, which is
/// the one whose type matches (a type mismatch scores nothing); choosing by type
/// gives the same messages.
fn array_or(array_branch: Schema, other: Schema) -> Schema {
    any().when(any().ty(Type::Array), Some(array_branch), Some(other))
}

/// Like [`array_or`] for a string branch and another branch.
fn string_or(string_branch: Schema, other: Schema) -> Schema {
    any().when(any().ty(Type::String), Some(string_branch), Some(other))
}

/// `definitions.input_variable_value`: a scalar or null, or arrays of those.
fn input_variable_value(depth: usize) -> Schema {
    let scalar = any().types(&[Type::String, Type::Integer, Type::Boolean, Type::Null]);
    let nested = if depth == 0 {
        any()
    } else {
        input_variable_value(depth - 1)
    };
    array_or(array(nested), scalar)
}

/// `definitions.required_vars`: groups of vars that must be set together.
fn required_vars() -> Schema {
    object().closed().pattern_prop(
        "^[a-zA-Z0-9_]+$",
        array(
            object()
                .closed()
                .required(&["name"])
                .prop("name", string())
                .prop("value", input_variable_value(RECURSION_DEPTH)),
        )
        .min_items(1),
    )
}

/// `integration/manifest.spec.yml#/definitions/version`.
fn version() -> Schema {
    string().pattern(
        r"^([0-9]+)\.([0-9]+)\.([0-9]+)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+)?$",
    )
}

/// `integration/manifest.spec.yml#/definitions/deprecated` (3.6.0).
fn deprecated() -> Schema {
    let names = [
        "package",
        "input",
        "policy_template",
        "variable",
        "data_stream",
    ];
    let mut replaced_by = object().closed();
    for name in names {
        replaced_by = replaced_by.prop(name, string());
    }
    object()
        .closed()
        .required(&["since", "description"])
        .prop("since", version())
        .prop("description", string())
        .prop("replaced_by", replaced_by)
}

/// `integration/manifest.spec.yml#/definitions/agent` (2.12.0).
fn agent() -> Schema {
    object()
        .closed()
        .prop("privileges", object().closed().prop("root", boolean()))
}

/// The registry categories (`integration/manifest.spec.yml#/definitions/categories`).
const CATEGORIES: &[&str] = &[
    "advanced_analytics_ueba",
    "analytics_engine",
    "application_observability",
    "app_search",
    "asset_inventory",
    "auditd",
    "authentication",
    "aws",
    "azure",
    "big_data",
    "cdn_security",
    "cloud",
    "cloudsecurity_cdr",
    "config_management",
    "connector",
    "connector_client",
    "connector_package",
    "containers",
    "content_source",
    "crawler",
    "credential_management",
    "crm",
    "custom",
    "custom_logs",
    "database_security",
    "datastore",
    "dns_security",
    "edr_xdr",
    "elasticsearch_sdk",
    "elastic_stack",
    "email_security",
    "enterprise_search",
    "firewall_security",
    "google_cloud",
    "iam",
    "ids_ips",
    "infrastructure",
    "java_observability",
    "kubernetes",
    "language_client",
    "languages",
    "load_balancer",
    "message_queue",
    "misconfiguration_workflow",
    "monitoring",
    "native_search",
    "network",
    "network_security",
    "notification",
    "observability",
    "opentelemetry",
    "os_system",
    "process_manager",
    "productivity",
    "productivity_security",
    "proxy_security",
    "sdk_search",
    "security",
    "siem",
    "stream_processing",
    "support",
    "threat_intel",
    "ticketing",
    "version_control",
    "virtualization",
    "vpn_security",
    "vulnerability_management",
    "vulnerability_workflow",
    "web",
    "web_application_firewall",
    "websphere",
    "workplace_search",
];

/// `integration/manifest.spec.yml#/definitions/categories`.
fn categories() -> Schema {
    array(string_enum(CATEGORIES))
}

/// A lower-case identifier (`^[a-z][a-z0-9_]*$`) of sections, var groups and options.
fn identifier() -> Schema {
    string().pattern("^[a-z][a-z0-9_]*$")
}

/// `integration/manifest.spec.yml#/definitions/sections`.
fn sections() -> Schema {
    array(
        object()
            .closed()
            .required(&["name", "title"])
            .prop("name", identifier())
            .prop("title", string())
            .prop("description", string()),
    )
}

/// `integration/manifest.spec.yml#/definitions/var_groups` (3.6.0).
fn var_groups() -> Schema {
    let option = object()
        .required(&["name", "title", "vars"])
        .prop("name", identifier())
        .prop("title", string())
        .prop("description", string())
        .prop("vars", array(string()))
        .prop(
            "hide_in_deployment_modes",
            array(string_enum(&["default", "agentless"])),
        );
    array(
        object()
            .closed()
            .required(&["name", "title", "selector_title", "options"])
            .prop("name", identifier())
            .prop("title", string())
            .prop("selector_title", string())
            .prop("description", string())
            .prop("required", boolean())
            .prop("show_divider", boolean())
            .prop("options", array(option).min_items(1)),
    )
}

/// `integration/manifest.spec.yml#/definitions/provider_permissions`.
fn provider_permissions() -> Schema {
    let named = |extra: &[&str]| {
        let mut s = object().closed().required(&["name"]).prop("name", string());
        for key in extra {
            s = s.prop(key, string());
        }
        s
    };
    array(
        object()
            .closed()
            .required(&["provider"])
            .prop("provider", string())
            .prop("description", string())
            .prop("roles", array(named(&["id", "description"])))
            .prop("permissions", array(named(&["description"]))),
    )
}

/// One stream of the data stream. Before 3.6.0 a stream needs an `input` (not
/// `otelcol`) and knows no `package`, `template_paths`, `var_groups`,
/// `dynamic_signal_types` or `migrate_from`; before 3.3.2 no `required_vars`.
fn stream(v: &Version) -> Schema {
    let mut s = object()
        .closed()
        .required(&["title", "description"])
        .prop("input", string())
        .prop("package", string().pattern("^[a-z0-9_]+$"))
        .prop("title", string())
        .prop("description", string())
        .prop("template_path", string())
        .prop("template_paths", array(string()))
        .prop("required_vars", required_vars())
        // Composable streams (`package:`) carry partial var overrides; the full var
        // schema applies to streams with an `input` (below).
        .prop("vars", array(object()))
        .prop("var_groups", var_groups())
        .prop("sections", sections())
        .prop("dynamic_signal_types", boolean())
        .prop("migrate_from", string())
        .prop("enabled", boolean());
    if before(v, "3.3.2") {
        s = s.without("required_vars");
    }
    if before(v, "3.6.0") {
        s = s
            .prop("input", any().not(any().constant("otelcol")))
            .without("dynamic_signal_types")
            .without("package")
            .without("template_paths")
            .without("var_groups")
            .without("migrate_from")
            .required(&["input"]);
    } else {
        // oneOf in the spec: with both keys gojsonschema's only message is the
        // summary package-spec drops, so anyOf reports the same.
        s = s.any_of(vec![
            any().required(&["input"]),
            any().required(&["package"]),
        ]);
    }
    s.when(
        any().required(&["input"]),
        Some(any().prop("vars", super::vars::vars(v))),
        None,
    )
}

/// `definitions.index_template_setting_analysis`.
pub(crate) fn setting_analysis() -> Schema {
    object().closed().prop(
        "analyzer",
        object().additional(
            object()
                .closed()
                .prop("type", string_enum(&["pattern"]))
                .prop("pattern", string()),
        ),
    )
}

/// `definitions.index_template_setting_index.properties.codec`.
pub(crate) fn setting_codec() -> Schema {
    string_enum(&["default", "best_compression"])
}

/// `definitions.index_template_setting_index.properties.mapping`.
pub(crate) fn setting_mapping() -> Schema {
    object().closed().pattern_prop(
        "^(dimension|nested|total)_fields$",
        object().closed().prop("limit", integer()),
    )
}

/// `definitions.index_template_setting_index.properties.sort`.
pub(crate) fn setting_sort() -> Schema {
    let order = || string_enum(&["asc", "desc"]);
    object()
        .closed()
        .prop("field", array_or(array(string()), string()))
        .prop("order", array_or(array(order()), order()))
}

/// `definitions.index_template_setting_number_of_shards`.
pub(crate) fn setting_number_of_shards() -> Schema {
    integer().minimum(1.0)
}

/// `definitions.index_template_setting_index`.
fn setting_index() -> Schema {
    object()
        .closed()
        .prop("codec", setting_codec())
        .prop("mapping", setting_mapping())
        .prop("sort", setting_sort())
}

/// The index template `settings`; an open object before 3.0.0.
fn settings(v: &Version) -> Schema {
    if before(v, "3.0.0") {
        return object();
    }
    object()
        .closed()
        .prop("analysis", setting_analysis())
        .prop("index", setting_index())
        .prop("number_of_shards", setting_number_of_shards())
        .prop("auto_expand_replicas", string())
        .prop("max_result_window", integer().minimum(1.0))
        .prop("refresh_interval", string())
}

/// `match_mapping_type` of a dynamic template: a boolean or a JSON type name.
fn match_mapping_type() -> Schema {
    string_or(
        string_enum(&[
            "null", "true", "false", "double", "long", "string", "object", "array",
        ]),
        boolean(),
    )
}

/// The body of an ordinary dynamic template: no `match`/`path_match` (such
/// mappings are written as fields), and a small `mapping`.
fn dynamic_template(v: &Version) -> Schema {
    object()
        .closed()
        .prop("match_mapping_type", match_mapping_type())
        .prop(
            "mapping",
            object()
                .closed()
                .prop("type", fields::field_type(v))
                .prop("scaling_factor", integer())
                .prop("metrics", any())
                .prop("default_metric", any())
                .prop("ignore_above", integer())
                .prop("index", boolean()),
        )
}

/// The `mapping` of an `_embedded_ecs*` dynamic template; `fields` recurses.
fn embedded_ecs_mapping(v: &Version, depth: usize) -> Schema {
    let nested = if depth == 0 {
        any()
    } else {
        embedded_ecs_mapping(v, depth - 1)
    };
    object()
        .closed()
        .prop("doc_values", boolean())
        .prop("fields", object().min_properties(1).additional(nested))
        .prop("ignore_malformed", boolean())
        .prop("index", boolean())
        .prop("scaling_factor", integer())
        .prop("type", fields::field_type(v))
}

/// The dynamic templates elastic-package imports from ECS (`_embedded_ecs*`).
fn embedded_ecs_template(v: &Version) -> Schema {
    object()
        .closed()
        .prop("path_match", string())
        .prop("path_unmatch", string())
        .prop("match", string())
        .prop("match_mapping_type", match_mapping_type())
        .prop("mapping", embedded_ecs_mapping(v, RECURSION_DEPTH))
}

/// `definitions.elasticsearch_index_template.properties.mappings`: an open object
/// before 3.0.0; `subobjects` from 3.2.0.
pub(crate) fn mappings(v: &Version) -> Schema {
    if before(v, "3.0.0") {
        return object();
    }
    let dynamic = any().when(
        any().ty(Type::String),
        Some(string_enum(&["runtime", "strict"])),
        Some(boolean()),
    );
    let mut s = object()
        .closed()
        .prop("date_detection", boolean())
        .prop("dynamic", dynamic)
        .prop("dynamic_date_formats", array(string()))
        .prop(
            "dynamic_templates",
            array(
                object()
                    .max_properties(1)
                    .additional(dynamic_template(v))
                    .pattern_prop("^_embedded_ecs", embedded_ecs_template(v)),
            ),
        )
        .prop("subobjects", boolean());
    if before(v, "3.2.0") {
        s = s.without("subobjects");
    }
    s
}

/// `definitions.elasticsearch_index_template.properties.ingest_pipeline`.
pub(crate) fn ingest_pipeline() -> Schema {
    object().closed().required(&["name"]).prop("name", string())
}

/// `definitions.elasticsearch_index_template.properties.data_stream`.
pub(crate) fn template_data_stream() -> Schema {
    object().closed().prop("hidden", boolean())
}

/// `definitions.elasticsearch_index_template`.
fn index_template(v: &Version) -> Schema {
    object()
        .closed()
        .prop("settings", settings(v))
        .prop("mappings", mappings(v))
        .prop("ingest_pipeline", ingest_pipeline())
        .prop("data_stream", template_data_stream())
}

/// The manifest's `elasticsearch` section.
fn elasticsearch(v: &Version) -> Schema {
    object()
        .closed()
        .prop("index_mode", string_enum(&["time_series"]))
        .prop("index_template", index_template(v))
        .prop(
            "privileges",
            object().closed().prop("indices", array(string())),
        )
        .prop("source_mode", string_enum(&["default", "synthetic"]))
        .prop("dynamic_dataset", boolean())
        .prop("dynamic_namespace", boolean())
}

/// `data_stream/manifest.spec.yml`.
pub fn manifest(v: &Version) -> Schema {
    let mut types = vec!["metrics", "logs", "synthetics", "traces", "profiles"];
    if before(v, "2.7.0") {
        types.retain(|t| *t != "profiles");
    }
    let mut s = object()
        .closed()
        .required(&["title"])
        .prop("dataset", string())
        .prop("title", string())
        .prop("release", string_enum(&["experimental", "beta"]))
        .prop("ilm_policy", string())
        .prop("dataset_is_prefix", boolean())
        .prop("type", string_enum(&types))
        .prop("hidden", boolean())
        .prop("streams", array(stream(v)))
        .prop("agent", agent())
        .prop("elasticsearch", elasticsearch(v))
        .prop("categories", categories())
        .prop("deprecated", deprecated())
        .prop("provider_permissions", provider_permissions());
    if before(v, "3.6.0") {
        s = s.without("deprecated");
    }
    if before(v, "2.12.0") {
        s = s.without("agent");
    }
    s
}

/// `routing_rules.yml`: rules of the reroute processors, by source dataset.
pub fn routing_rules(_v: &Version) -> Schema {
    let names = || array_or(array(string()), string());
    let rule = object()
        .required(&["target_dataset", "if"])
        .prop("target_dataset", names())
        .prop("if", string())
        .prop("namespace", names());
    array(
        object()
            .closed()
            .required(&["source_dataset", "rules"])
            .prop("source_dataset", string())
            .prop("rules", array(rule)),
    )
}

/// `lifecycle.yml`: the data retention of the data stream. The spec gives no type.
pub fn lifecycle(_v: &Version) -> Schema {
    any()
        .closed()
        .required(&["data_retention"])
        .prop("data_retention", string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{NoFormats, validate};
    use epr_package::yaml::parse_v3;

    fn check(schema: fn(&Version) -> Schema, version: &str, yaml: &str) -> Vec<String> {
        let v = Version::parse(version).unwrap();
        validate(&schema(&v), &parse_v3(yaml).unwrap(), &NoFormats)
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    const PACKAGE_STREAM: &str =
        "title: T\nstreams:\n  - package: sql_input\n    title: S\n    description: D\n";

    #[test]
    fn streams_need_an_input_or_from_3_6_0_a_package() {
        assert!(check(manifest, "3.6.0", PACKAGE_STREAM).is_empty());
        assert_eq!(
            check(manifest, "3.5.0", PACKAGE_STREAM),
            vec![
                "field streams.0: input is required",
                "field streams.0: Additional property package is not allowed",
            ]
        );
        assert_eq!(
            check(
                manifest,
                "3.6.0",
                "title: T\nstreams:\n  - title: S\n    description: D\n"
            ),
            vec!["field streams.0: input is required"]
        );
        let otel = "title: T\nstreams:\n  - input: otelcol\n    title: S\n    description: D\n";
        assert_eq!(
            check(manifest, "3.5.0", otel),
            vec!["field streams.0.input: Must not be present"]
        );
        assert!(check(manifest, "3.6.0", otel).is_empty());
    }

    #[test]
    fn stream_required_vars_from_3_3_2() {
        let yaml = "title: T\nstreams:\n  - input: logfile\n    title: S\n    description: D\n    required_vars:\n      group:\n        - value: [1, [x, true]]\n";
        assert_eq!(
            check(manifest, "3.3.2", yaml),
            vec!["field streams.0.required_vars.group.0: name is required"]
        );
        assert_eq!(
            check(manifest, "3.3.1", yaml),
            vec!["field streams.0: Additional property required_vars is not allowed"]
        );
        let bad_value = "title: T\nstreams:\n  - input: logfile\n    title: S\n    description: D\n    required_vars:\n      group:\n        - name: a\n          value: [{x: 1}]\n";
        assert_eq!(
            check(manifest, "3.3.2", bad_value),
            vec![
                "field streams.0.required_vars.group.0.value.0: Invalid type. Expected: [string,integer,boolean,null], given: object"
            ]
        );
    }

    #[test]
    fn top_level_keys_by_version() {
        let yaml = "title: T\ntype: profiles\nagent:\n  privileges:\n    root: true\ndeprecated:\n  since: 1.0.0\n  description: old\n";
        assert!(check(manifest, "3.6.0", yaml).is_empty());
        assert_eq!(
            check(manifest, "3.5.0", yaml),
            vec!["field (root): Additional property deprecated is not allowed"]
        );
        let errors = check(manifest, "2.6.0", yaml);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert_eq!(
            errors[0],
            "field type: type must be one of the following: \"metrics\", \"logs\", \"synthetics\", \"traces\""
        );
        assert_eq!(
            check(manifest, "3.0.0", "type: logs\n"),
            vec!["field (root): title is required"]
        );
    }

    #[test]
    fn index_template_settings_and_mappings_close_at_3_0_0() {
        let yaml = "title: T\nelasticsearch:\n  index_template:\n    settings:\n      foo: 1\n    mappings:\n      subobjects: false\n";
        assert!(check(manifest, "2.12.0", yaml).is_empty());
        assert_eq!(
            check(manifest, "3.1.0", yaml),
            vec![
                "field elasticsearch.index_template.settings: Additional property foo is not allowed",
                "field elasticsearch.index_template.mappings: Additional property subobjects is not allowed",
            ]
        );
        assert_eq!(
            check(manifest, "3.2.0", yaml),
            vec![
                "field elasticsearch.index_template.settings: Additional property foo is not allowed"
            ]
        );
    }

    #[test]
    fn index_settings() {
        let yaml = "title: T\nelasticsearch:\n  index_template:\n    settings:\n      number_of_shards: 0\n      index:\n        codec: best_compression\n        mapping:\n          total_fields:\n            limit: 5000\n        sort:\n          field: [a, 1]\n          order: up\n";
        assert_eq!(
            check(manifest, "3.0.0", yaml),
            vec![
                "field elasticsearch.index_template.settings.number_of_shards: Must be greater than or equal to 1",
                "field elasticsearch.index_template.settings.index.sort.field.1: Invalid type. Expected: string, given: integer",
                "field elasticsearch.index_template.settings.index.sort.order: elasticsearch.index_template.settings.index.sort.order must be one of the following: \"asc\", \"desc\"",
            ]
        );
    }

    #[test]
    fn dynamic_mappings() {
        let base = "title: T\nelasticsearch:\n  index_template:\n    mappings:\n";
        let with = |s: &str| format!("{base}{s}");
        assert!(check(manifest, "3.0.0", &with("      dynamic: false\n")).is_empty());
        assert!(check(manifest, "3.0.0", &with("      dynamic: strict\n")).is_empty());
        assert_eq!(
            check(manifest, "3.0.0", &with("      dynamic: sometimes\n")),
            vec![
                "field elasticsearch.index_template.mappings.dynamic: elasticsearch.index_template.mappings.dynamic must be one of the following: \"runtime\", \"strict\""
            ]
        );
        assert_eq!(
            check(manifest, "3.0.0", &with("      dynamic: 1\n")),
            vec![
                "field elasticsearch.index_template.mappings.dynamic: Invalid type. Expected: boolean, given: integer"
            ]
        );
        let templates = "      dynamic_templates:\n        - strings:\n            match_mapping_type: string\n            mapping:\n              type: keyword\n        - paths:\n            path_match: a.*\n            mapping:\n              type: keyword\n        - _embedded_ecs-x:\n            path_match: a.*\n            mapping:\n              type: keyword\n              fields:\n                text:\n                  type: match_only_text\n";
        assert_eq!(
            check(manifest, "3.0.0", &with(templates)),
            vec![
                "field elasticsearch.index_template.mappings.dynamic_templates.1.paths: Additional property path_match is not allowed"
            ]
        );
    }

    #[test]
    fn routing_rules_file() {
        let good = "- source_dataset: a\n  rules:\n    - target_dataset: [a.b, '{{x}}']\n      if: ctx.x != null\n      namespace: default\n";
        assert!(check(routing_rules, "2.9.0", good).is_empty());
        let bad = "- source_dataset: a\n  rules:\n    - namespace: [1]\n  other: 1\n";
        assert_eq!(
            check(routing_rules, "2.9.0", bad),
            vec![
                "field 0.rules.0: target_dataset is required",
                "field 0.rules.0: if is required",
                "field 0.rules.0.namespace.0: Invalid type. Expected: string, given: integer",
                "field 0: Additional property other is not allowed",
            ]
        );
    }

    #[test]
    fn lifecycle_file() {
        assert!(check(lifecycle, "2.10.0", "data_retention: 7d\n").is_empty());
        assert_eq!(
            check(lifecycle, "2.10.0", "max_age: 7d\n"),
            vec![
                "field (root): data_retention is required",
                "field (root): Additional property max_age is not allowed",
            ]
        );
    }
}
