//! Data stream files: `manifest.yml`, `routing_rules.yml`, `lifecycle.yml`
//! (`integration/data_stream/*.spec.yml`).
//!
//! The manifest borrows definitions from the integration manifest spec (`agent`,
//! `categories`, `deprecated`, `var_groups`, `sections`, `provider_permissions`, ...)
//! and its own `vars`, `required_vars` and `input_variable_value`: those come from
//! [`super::vars`], shared with the root manifests. The index template
//! (`definitions.elasticsearch_index_template` and its `index_template_setting_*`
//! parts) is defined here, as in the spec, and used by the input package manifest
//! (`manifest.rs`) and the transform manifest (`transform.rs`) too.

use epr_package::version::Version;

use super::vars::{
    agent, array_or, categories, deprecated, dynamic_signal_types, index_mode, input_migrate_from,
    package_reference, provider_permissions, required_vars, sections, string_or, template_path,
    template_paths, var_groups,
};
use super::{before, fields};
use crate::schema::{Schema, Type, any, array, boolean, integer, object, string, string_enum};

/// How deep the embedded ECS `mapping.fields` are described; deeper levels accept
/// anything. Real files nest two or three levels.
const RECURSION_DEPTH: usize = 8;

/// One stream of the data stream. Before 3.6.0 a stream needs an `input` (not
/// `otelcol`) and knows no `package`, `template_paths`, `var_groups`,
/// `dynamic_signal_types` or `migrate_from`; before 3.3.2 no `required_vars`.
fn stream(v: &Version) -> Schema {
    let mut s = object()
        .closed()
        .required(&["title", "description"])
        .prop("input", string())
        .prop("package", package_reference())
        .prop("title", string())
        .prop("description", string())
        .prop("template_path", template_path())
        .prop("template_paths", template_paths())
        .prop("required_vars", required_vars())
        // Composable streams (`package:`) carry partial var overrides; the full var
        // schema applies to streams with an `input` (below).
        .prop("vars", array(object()))
        .prop("var_groups", var_groups())
        .prop("sections", sections())
        .prop("dynamic_signal_types", dynamic_signal_types())
        .prop("migrate_from", input_migrate_from())
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

/// `definitions.elasticsearch_index_template`, with the patches of this file: `settings`
/// and `mappings` are open objects before 3.0.0, `mappings.subobjects` comes with
/// 3.2.0. The data stream manifest's `elasticsearch.index_template`, and the input
/// package manifest's (`input/manifest.spec.yml` refers to this definition).
pub fn index_template(v: &Version) -> Schema {
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
        .prop("index_mode", index_mode())
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

    fn check(schema: fn(&Version) -> Schema, version: &str, yaml: &str) -> Vec<String> {
        let v = Version::parse(version).unwrap();
        crate::schema::messages(&schema(&v), yaml)
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
