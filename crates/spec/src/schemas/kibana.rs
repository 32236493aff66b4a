//! `kibana/tags.yml` (`integration/kibana/tags.spec.yml`) and
//! `elasticsearch/esql_view/*.yml` (`integration/elasticsearch/view.spec.yml`).

use epr_package::version::Version;

use crate::schema::{Schema, any, array, object, string, string_enum};

/// The asset types a tag can be given to (those allowed under `kibana/`).
const TAGGABLE_ASSET_TYPES: &[&str] = &[
    "dashboard",
    "visualization",
    "search",
    "map",
    "lens",
    "index_pattern",
    "security_rule",
    "csp_rule_template",
    "alerting_rule_template",
    "slo_template",
    "ml_module",
    "osquery_pack_asset",
    "osquery_saved_query",
];

/// `kibana/tags.yml`: tags added to the package's assets, by asset type or by id.
pub fn tags(_v: &Version) -> Schema {
    array(
        object()
            .closed()
            .prop("text", string())
            .prop("asset_types", array(string_enum(TAGGABLE_ASSET_TYPES)))
            .prop("asset_ids", array(string()))
            // oneOf in the spec; with both lists gojsonschema's only message is the
            // summary package-spec drops, so anyOf reports the same.
            .any_of(vec![
                any().required(&["text", "asset_types"]),
                any().required(&["text", "asset_ids"]),
            ]),
    )
}

/// An ES|QL view: a name and its query.
pub fn esql_view(_v: &Version) -> Schema {
    object()
        .closed()
        .required(&["name", "query"])
        .prop("name", string().pattern(r"^[a-zA-Z0-9_\-]+$"))
        .prop("query", string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(schema: Schema, yaml: &str) -> Vec<String> {
        crate::schema::messages(&schema, yaml)
    }

    #[test]
    fn tags_need_text_and_a_target() {
        let v = Version::parse("3.0.0").unwrap();
        let yaml = "- text: A\n  asset_types: [dashboard, tag]\n- text: B\n  asset_ids: [x, 3]\n- asset_ids: [y]\n- text: C\n- text: D\n  asset_types: [map]\n  asset_ids: [z]\n";
        let errors = check(tags(&v), yaml);
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with(
            "field 0.asset_types.1: 0.asset_types.1 must be one of the following: \"dashboard\""
        ));
        assert_eq!(
            errors[1],
            "field 1.asset_ids.1: Invalid type. Expected: string, given: integer"
        );
        assert_eq!(errors[2], "field 2: text is required");
        assert_eq!(errors[3], "field 3: asset_types is required");
    }

    #[test]
    fn esql_views() {
        let v = Version::parse("3.6.0").unwrap();
        assert!(check(esql_view(&v), "name: my-view_1\nquery: FROM logs-*\n").is_empty());
        assert_eq!(
            check(esql_view(&v), "name: 'bad name'\nquery:\n"),
            vec![
                "field name: Does not match pattern '^[a-zA-Z0-9_\\-]+$'",
                "field query: Invalid type. Expected: string, given: null",
            ]
        );
    }
}
