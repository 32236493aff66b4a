//! `fields/*.yml`: field definitions (`data_stream/fields/fields.spec.yml`).
//!
//! A fields file is an array of field objects; `fields` and `multi_fields` recurse
//! through the document root (`$ref: "#"`). The `allOf` rules tie the conditional keys
//! (`default_metric`, `metrics`, `runtime`, `object_type`, `subobjects`,
//! `inference_id`, child `fields`) to the field types that accept them. Each rule
//! carries the version its spec patch gives it.

use epr_package::version::Version;

use super::before;
use crate::schema::{
    Lit, Schema, Type, any, array, boolean, integer, number, object, root_ref, string, string_enum,
};

/// The field types, in the spec's order, as the patches for `v` leave them (the order
/// shows in enum error messages).
fn field_types(v: &Version) -> Vec<&'static str> {
    let mut types = vec![
        "aggregate_metric_double",
        "alias",
        "histogram",
        "constant_keyword",
        "text",
        "match_only_text",
        "keyword",
        "long",
        "integer",
        "short",
        "byte",
        "double",
        "float",
        "half_float",
        "scaled_float",
        "date",
        "date_nanos",
        "boolean",
        "binary",
        "integer_range",
        "float_range",
        "long_range",
        "double_range",
        "date_range",
        "ip_range",
        "group",
        "geo_point",
        "object",
        "ip",
        "nested",
        "flattened",
        "wildcard",
        "version",
        "unsigned_long",
        "counted_keyword",
        "semantic_text",
        "geo_shape",
    ];
    if before(v, "3.7.0") {
        types.retain(|t| *t != "semantic_text");
    }
    if before(v, "3.1.0") {
        types.retain(|t| *t != "counted_keyword");
    }
    if before(v, "2.7.0") {
        types.retain(|t| *t != "aggregate_metric_double");
    }
    if before(v, "2.0.0") {
        // The patch inserts `array` at index 29 of the list left by the patches
        // above: right after `nested`.
        let at = types
            .iter()
            .position(|t| *t == "nested")
            .map_or(types.len(), |i| i + 1);
        types.insert(at, "array");
    }
    types
}

/// `items.properties.type`: the field type enum. The data stream manifest's dynamic
/// templates use it too (`fields.spec.yml#/items/properties/type`).
pub fn field_type(v: &Version) -> Schema {
    string_enum(&field_types(v))
}

/// `definitions.metric_aggregation`.
fn metric_aggregation() -> Schema {
    string_enum(&["min", "max", "sum", "value_count", "avg"])
}

/// The `object_type`s an object field with a `metric_type` may have.
const NUMERIC_TYPES: &[&str] = &[
    "histogram",
    "long",
    "integer",
    "short",
    "byte",
    "double",
    "float",
    "half_float",
    "scaled_float",
    "unsigned_long",
];

/// The types a `metric_type` may go with (outside objects with `object_type`).
const METRIC_TYPE_TYPES: &[&str] = &[
    "histogram",
    "aggregate_metric_double",
    "long",
    "integer",
    "short",
    "byte",
    "double",
    "float",
    "half_float",
    "scaled_float",
    "unsigned_long",
];

/// `example`: a scalar, null, an array of scalars or an object.
fn example() -> Schema {
    any().any_of(vec![
        string(),
        number(),
        boolean(),
        any().ty(Type::Null),
        array(any().any_of(vec![string(), number(), boolean()])),
        object(),
    ])
}

/// The plain properties of a field, without the conditional ones.
fn properties(v: &Version, s: Schema) -> Schema {
    let mut s = s
        .prop(
            "name",
            string().pattern(r"^[\-*_\/@A-Za-z0-9]+(\.[\-*_\/@A-Za-z0-9]+)*$"),
        )
        .prop("type", field_type(v))
        .prop("description", string())
        .prop("expected_values", array(string()))
        .prop("value", string())
        .prop("example", example())
        .prop("metric_type", string_enum(&["counter", "gauge"]))
        .prop(
            "unit",
            string_enum(&[
                "byte", "percent", "d", "h", "m", "s", "ms", "micros", "nanos",
            ]),
        )
        .prop("date_format", string())
        .prop("dimension", boolean())
        .prop("pattern", string())
        .prop("external", string_enum(&["ecs"]))
        .prop("fields", root_ref())
        .prop("doc_values", boolean())
        .prop("index", boolean())
        .prop("store", boolean())
        .prop("copy_to", string())
        .prop("enabled", boolean())
        .prop(
            "dynamic",
            any().one_of_values(vec![
                Lit::Bool(true),
                Lit::Bool(false),
                Lit::from("strict"),
                Lit::from("runtime"),
            ]),
        )
        .prop("scaling_factor", integer())
        .prop("analyzer", string())
        .prop("search_analyzer", string())
        .prop("multi_fields", root_ref())
        .prop("null_value", any())
        .prop("ignore_malformed", boolean())
        .prop("ignore_above", integer())
        .prop(
            "object_type",
            string_enum(&[
                "boolean",
                "byte",
                "double",
                "float",
                "histogram",
                "keyword",
                "long",
                "object",
                "short",
                "text",
                "integer",
                "half_float",
                "scaled_float",
                "unsigned_long",
            ]),
        )
        .prop(
            "object_type_mapping_type",
            string_enum(&[
                "*", "array", "double", "false", "long", "null", "object", "string", "true",
            ]),
        )
        .prop("path", string())
        .prop("normalize", array(string_enum(&["array"])))
        .prop("normalizer", string())
        .prop("include_in_parent", boolean())
        .prop("include_in_root", boolean())
        .prop("subobjects", boolean())
        .prop("inference_id", string())
        // Checked by the conditional rules below.
        .prop("default_metric", any())
        .prop("metrics", any())
        .prop("runtime", any());
    if before(v, "3.7.0") {
        s = s.without("inference_id");
    }
    if before(v, "3.2.0") {
        s = s.without("store");
    }
    if before(v, "3.1.0") {
        s = s.without("subobjects");
    }
    if before(v, "2.8.0") {
        s = s.without("runtime");
    }
    s
}

/// `if: {properties: {type: {const: t}}, required: [type]}`.
fn type_is(t: &str) -> Schema {
    any().prop("type", any().constant(t)).required(&["type"])
}

/// `not: {required: [name]}`: the key must be absent ("Must not be present").
fn absent(name: &str) -> Schema {
    any().not(any().required(&[name]))
}

/// `then: {properties: {type: {enum: types}}, required: [type]}`.
fn type_in(types: &[&str]) -> Schema {
    any().prop("type", any().values(types)).required(&["type"])
}

/// The `allOf` rules of a field, each with the version its patch gives it.
fn rules(v: &Version) -> Vec<Schema> {
    let mut rules = vec![
        // aggregate_metric_double needs default_metric and metrics; other types
        // must not have them.
        any().when(
            type_is("aggregate_metric_double"),
            Some(
                any()
                    .required(&["default_metric"])
                    .prop("default_metric", metric_aggregation()),
            ),
            Some(absent("default_metric")),
        ),
        any().when(
            type_is("aggregate_metric_double"),
            Some(
                any()
                    .required(&["metrics"])
                    .prop("metrics", array(metric_aggregation())),
            ),
            Some(absent("metrics")),
        ),
    ];
    if !before(v, "2.8.0") {
        rules.push(
            any().when(
                any()
                    .prop(
                        "type",
                        any().values(&[
                            "boolean",
                            "date",
                            "double",
                            "geo_point",
                            "ip",
                            "keyword",
                            "long",
                        ]),
                    )
                    .required(&["type"]),
                Some(any().prop("runtime", any().any_of(vec![string(), boolean()]))),
                Some(absent("runtime")),
            ),
        );
    }
    // A metric_type (outside objects with object_type) needs a numeric type or an
    // external definition. The spec says oneOf; package-spec drops the only message
    // gojsonschema gives when both match, so it behaves as anyOf.
    rules.push(
        any().when(
            any()
                .required(&["metric_type"])
                .not(any().required(&["object_type"])),
            Some(any().any_of(vec![
            any()
                .prop("type", any().values(METRIC_TYPE_TYPES))
                .required(&["type"]),
            any().required(&["external"]),
        ])),
            None,
        ),
    );
    if !before(v, "2.0.0") {
        rules.push(any().when(
            any().required(&["object_type"]),
            Some(type_in(&["object"])),
            None,
        ));
    }
    if !before(v, "2.10.0") {
        rules.push(
            any().when(
                any()
                    .prop("type", any().constant("object"))
                    .required(&["metric_type", "object_type"]),
                Some(
                    any()
                        .prop("type", any().values(&["object"]))
                        .prop("object_type", any().values(NUMERIC_TYPES))
                        .required(&["type", "object_type"]),
                ),
                None,
            ),
        );
    }
    if !before(v, "3.0.0") {
        rules.push(any().when(type_is("object"), Some(object_needs(v)), None));
        // `minContent: 1` in the spec is not a keyword: any `fields` key counts.
        rules.push(any().when(
            any().required(&["fields"]),
            Some(any().prop("type", any().values(&["group", "nested"]))),
            None,
        ));
    }
    if !before(v, "3.1.0") {
        rules.push(any().when(
            any().required(&["subobjects"]),
            Some(type_in(&["object"])),
            None,
        ));
    }
    if !before(v, "3.7.0") {
        rules.push(any().when(
            any().required(&["inference_id"]),
            Some(type_in(&["semantic_text"])),
            None,
        ));
    }
    rules
}

/// What a `type: object` field needs: from 3.0.3 an `object_type` (with `enabled`
/// not false) or `enabled: false` (without `object_type`); before, just an
/// `object_type`.
fn object_needs(v: &Version) -> Schema {
    if before(v, "3.0.3") {
        return any().required(&["object_type"]);
    }
    // oneOf in the spec; the branches exclude each other, so anyOf reports the same.
    any().any_of(vec![
        any()
            .required(&["object_type"])
            .prop("enabled", any().constant(true)),
        any()
            .prop("enabled", any().constant(false))
            .required(&["enabled"])
            .not(any().required(&["object_type"])),
    ])
}

/// One field definition.
fn field(v: &Version) -> Schema {
    let mut s = properties(v, object().required(&["name"]));
    if before(v, "2.0.0") {
        // Unknown keys were allowed, and `example` was not described.
        s = s.open().without("example");
    } else {
        s = s
            .closed()
            // Soft validation of keys that may be present but are not used yet.
            .pattern_prop("^(level|group)$", any().any_of(vec![string(), integer()]))
            .pattern_prop("^(footnote|format|title)$", string())
            .pattern_prop("^(default_field|norms)$", boolean());
    }
    s.all_of(rules(v))
}

/// `fields.spec.yml`: an array of field definitions.
pub fn fields(v: &Version) -> Schema {
    array(field(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(version: &str, yaml: &str) -> Vec<String> {
        let v = Version::parse(version).unwrap();
        crate::schema::messages(&fields(&v), yaml)
    }

    #[test]
    fn names_types_and_unknown_keys() {
        let yaml = "- name: a b\n  type: keyword\n- name: x\n  type: array\n  foo: 1\n";
        let errors = check("3.0.0", yaml);
        assert_eq!(
            errors[0],
            "field 0.name: Does not match pattern '^[\\-*_\\/@A-Za-z0-9]+(\\.[\\-*_\\/@A-Za-z0-9]+)*$'"
        );
        assert!(errors[1].starts_with("field 1.type: 1.type must be one of the following: \"aggregate_metric_double\", \"alias\""));
        assert_eq!(errors[2], "field 1: Additional property foo is not allowed");
        assert_eq!(errors.len(), 3);
        // Before 2.0.0, `array` is a type and unknown keys are fine.
        assert!(check("1.0.0", "- name: x\n  type: array\n  foo: 1\n").is_empty());
        // Soft-validated keys.
        assert!(
            check(
                "3.0.0",
                "- name: x\n  type: keyword\n  level: core\n  title: T\n  norms: false\n"
            )
            .is_empty()
        );
        assert_eq!(
            check("3.0.0", "- name: x\n  norms: 1\n"),
            vec!["field 0.norms: Invalid type. Expected: boolean, given: integer"]
        );
    }

    #[test]
    fn array_is_listed_after_nested_before_2_0_0() {
        let errors = check("1.0.0", "- name: x\n  type: bad\n");
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("\"nested\", \"array\", \"flattened\""),
            "{}",
            errors[0]
        );
        assert!(!errors[0].contains("aggregate_metric_double"));
    }

    #[test]
    fn version_gated_types_and_keys() {
        assert_eq!(
            check("3.0.0", "- name: x\n  type: counted_keyword\n").len(),
            1
        );
        assert!(check("3.1.0", "- name: x\n  type: counted_keyword\n").is_empty());
        assert_eq!(
            check("3.6.0", "- name: x\n  type: semantic_text\n").len(),
            1
        );
        assert!(
            check(
                "3.7.0",
                "- name: x\n  type: semantic_text\n  inference_id: e5\n"
            )
            .is_empty()
        );
        assert_eq!(
            check("3.7.0", "- name: x\n  type: text\n  inference_id: e5\n"),
            vec!["field 0.type: 0.type must be one of the following: \"semantic_text\""]
        );
        assert_eq!(
            check("3.1.0", "- name: x\n  type: keyword\n  store: true\n"),
            vec!["field 0: Additional property store is not allowed"]
        );
        assert!(check("3.2.0", "- name: x\n  type: keyword\n  store: true\n").is_empty());
    }

    #[test]
    fn aggregate_metric_double_needs_its_metrics() {
        assert_eq!(
            check("3.0.0", "- name: x\n  type: aggregate_metric_double\n"),
            vec![
                "field 0: default_metric is required",
                "field 0: metrics is required"
            ]
        );
        assert!(check("3.0.0", "- name: x\n  type: aggregate_metric_double\n  default_metric: max\n  metrics: [min, max]\n").is_empty());
        assert_eq!(
            check("3.0.0", "- name: x\n  type: long\n  metrics: [min]\n"),
            vec!["field 0: Must not be present"]
        );
    }

    #[test]
    fn runtime_only_on_some_types_from_2_8_0() {
        assert!(check("3.0.0", "- name: x\n  type: keyword\n  runtime: true\n").is_empty());
        assert_eq!(
            check("3.0.0", "- name: x\n  type: text\n  runtime: true\n"),
            vec!["field 0: Must not be present"]
        );
        assert_eq!(
            check("2.7.0", "- name: x\n  type: keyword\n  runtime: true\n"),
            vec!["field 0: Additional property runtime is not allowed"]
        );
    }

    #[test]
    fn metric_type_needs_a_numeric_type_or_external() {
        assert!(check("3.0.0", "- name: x\n  type: long\n  metric_type: gauge\n").is_empty());
        assert!(
            check(
                "3.0.0",
                "- name: x\n  external: ecs\n  metric_type: gauge\n"
            )
            .is_empty()
        );
        // Both branches of the spec's oneOf match: package-spec shows nothing.
        assert!(
            check(
                "3.0.0",
                "- name: x\n  type: long\n  external: ecs\n  metric_type: gauge\n"
            )
            .is_empty()
        );
        let errors = check(
            "3.0.0",
            "- name: x\n  type: keyword\n  metric_type: gauge\n",
        );
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("field 0.type: 0.type must be one of the following: \"histogram\", \"aggregate_metric_double\", \"long\""));
    }

    #[test]
    fn object_rules_by_version() {
        let object = "- name: x\n  type: object\n";
        assert!(check("2.12.0", object).is_empty());
        assert_eq!(
            check("3.0.0", object),
            vec!["field 0: object_type is required"]
        );
        assert_eq!(
            check("3.0.3", object),
            vec!["field 0: object_type is required"]
        );
        assert!(check("3.0.3", "- name: x\n  type: object\n  enabled: false\n").is_empty());
        assert_eq!(
            check("3.0.0", "- name: x\n  type: object\n  enabled: false\n"),
            vec!["field 0: object_type is required"]
        );
        assert_eq!(
            check(
                "3.0.3",
                "- name: x\n  type: object\n  object_type: keyword\n  enabled: false\n"
            ),
            vec!["field 0.enabled: 0.enabled does not match: true"]
        );
        assert_eq!(
            check("3.0.3", "- name: x\n  object_type: keyword\n"),
            vec!["field 0: type is required"]
        );
        assert!(check("1.0.0", "- name: x\n  object_type: keyword\n").is_empty());
        assert_eq!(
            check(
                "3.0.3",
                "- name: x\n  type: object\n  object_type: keyword\n  metric_type: gauge\n"
            ),
            vec![
                "field 0.object_type: 0.object_type must be one of the following: \"histogram\", \"long\", \"integer\", \"short\", \"byte\", \"double\", \"float\", \"half_float\", \"scaled_float\", \"unsigned_long\""
            ]
        );
    }

    #[test]
    fn sub_fields_recurse_and_need_a_group() {
        let yaml = "- name: a\n  type: keyword\n  fields:\n    - name: b\n      type: bad\n";
        let errors = check("3.0.0", yaml);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(
            errors[0],
            "field 0.type: 0.type must be one of the following: \"group\", \"nested\""
        );
        assert!(errors[1].starts_with("field 0.fields.0.type: 0.fields.0.type must be one of"));
        assert_eq!(
            check("2.12.0", "- name: a\n  type: keyword\n  fields: []\n"),
            Vec::<String>::new()
        );
        assert!(
            check(
                "3.0.0",
                "- name: a\n  type: group\n  fields:\n    - name: b\n      type: keyword\n"
            )
            .is_empty()
        );
    }

    #[test]
    fn subobjects_need_an_object_from_3_1_0() {
        assert_eq!(
            check("3.1.0", "- name: a\n  type: keyword\n  subobjects: false\n"),
            vec!["field 0.type: 0.type must be one of the following: \"object\""]
        );
        assert_eq!(
            check(
                "3.0.3",
                "- name: a\n  type: object\n  object_type: keyword\n  subobjects: false\n"
            ),
            vec!["field 0: Additional property subobjects is not allowed"]
        );
    }
}
