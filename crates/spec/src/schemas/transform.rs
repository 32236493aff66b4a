//! Elasticsearch transforms: the transform `manifest.yml`
//! (`elasticsearch/transform/manifest.spec.yml`) and `transform.yml`
//! (`elasticsearch/transform/transform.spec.yml`).

use epr_package::version::Version;

use super::{before, data_stream};
use crate::schema::{
    Schema, Type, any, any_array, array, boolean, integer, number, object, string, string_enum,
};

/// The transform's `manifest.yml`: its destination index template and whether it
/// starts on installation. The index `mode` (lookup indices) came with 3.4.0.
pub fn manifest(v: &Version) -> Schema {
    let mut index = object()
        .closed()
        .prop("codec", data_stream::setting_codec())
        .prop("mapping", data_stream::setting_mapping())
        .prop("mode", string_enum(&["lookup"]))
        .prop("refresh_interval", string())
        .prop("sort", data_stream::setting_sort())
        .prop("number_of_shards", data_stream::setting_number_of_shards())
        .prop(
            "number_of_routing_shards",
            data_stream::setting_number_of_shards(),
        )
        .prop("hidden", boolean());
    if before(v, "3.4.0") {
        index = index.without("mode");
    }
    let settings = object()
        .closed()
        .prop("analysis", data_stream::setting_analysis())
        .prop("index", index);
    object()
        .closed()
        .prop(
            "destination_index_template",
            object()
                .closed()
                .prop("settings", settings)
                .prop("mappings", data_stream::mappings(v))
                .prop("ingest_pipeline", data_stream::ingest_pipeline())
                .prop("data_stream", data_stream::template_data_stream()),
        )
        .prop("start", boolean())
}

/// A string on one line: the spec's `pattern: "^.*$"` (`.` does not match a newline).
fn line() -> Schema {
    string().pattern("^.*$")
}

/// `source`: the indices to read (a name or a list) and an optional query.
fn source() -> Schema {
    // oneOf [array of strings, string] with a sibling pattern for the string case;
    // gojsonschema reports the branch whose type matches.
    let index = any()
        .when(any().ty(Type::Array), Some(array(string())), Some(string()))
        .pattern("^.*$");
    object()
        .closed()
        .required(&["index"])
        .prop("index", index)
        .prop("query", object())
        .prop("runtime_mappings", object())
}

/// `pivot`: group_by plus aggregations (under either name).
fn pivot() -> Schema {
    object()
        .closed()
        .required(&["group_by"])
        // oneOf in the spec; see `transform` for why anyOf.
        .any_of(vec![
            any().required(&["aggregations"]),
            any().required(&["aggs"]),
        ])
        .prop("group_by", object())
        .prop("aggregations", object())
        .prop("aggs", object())
}

/// `dest`: the destination index, pipeline and (2.10.0) aliases.
fn dest(v: &Version) -> Schema {
    let alias = object()
        .closed()
        .required(&["alias"])
        .prop("alias", string())
        .prop("move_on_creation", boolean());
    let s = object()
        .closed()
        .required(&["index"])
        .prop("index", line())
        .prop("pipeline", line())
        .prop("aliases", array(alias));
    if before(v, "2.10.0") {
        s.without("aliases")
    } else {
        s
    }
}

/// `settings` of the transform.
fn settings() -> Schema {
    object()
        .closed()
        .prop("dates_as_epoch_millis", boolean())
        .prop("docs_per_second", number())
        .prop("align_checkpoints", boolean())
        .prop("max_page_search_size", integer())
        .prop("use_point_in_time", boolean())
        .prop("deduce_mappings", boolean())
        .prop(
            "num_failure_retries",
            integer().minimum(-1.0).maximum(100.0),
        )
        .prop("unattended", boolean())
}

/// `retention_policy`: the spec's `oneOf` has one branch (`time` required). It gives
/// no type.
fn retention_policy() -> Schema {
    let time = object()
        .closed()
        .required(&["field", "max_age"])
        .prop("field", string())
        .prop("max_age", string());
    any().closed().required(&["time"]).prop("time", time)
}

/// `sync.time`: the time field and delay of continuous transforms.
fn sync() -> Schema {
    object().closed().prop(
        "time",
        object()
            .closed()
            .required(&["field"])
            .prop("field", line())
            .prop("delay", line()),
    )
}

/// `transform.yml`: an Elasticsearch transform (pivot or latest) with its source and
/// destination.
pub fn transform(v: &Version) -> Schema {
    object()
        .closed()
        .required(&["source", "dest"])
        // oneOf in the spec: with both keys gojsonschema's only message is the
        // summary package-spec drops, so anyOf reports the same.
        .any_of(vec![
            any().required(&["pivot"]),
            any().required(&["latest"]),
        ])
        .prop("source", source())
        .prop("pivot", pivot())
        .prop(
            "latest",
            object()
                .closed()
                .required(&["sort", "unique_key"])
                .prop("sort", string())
                .prop("unique_key", any_array()),
        )
        .prop("description", line())
        .prop("dest", dest(v))
        .prop("frequency", line())
        .prop("id", line())
        .prop("settings", settings())
        .prop("_meta", object())
        .prop("retention_policy", retention_policy())
        .prop("sync", sync())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(schema: fn(&Version) -> Schema, version: &str, yaml: &str) -> Vec<String> {
        let v = Version::parse(version).unwrap();
        crate::schema::messages(&schema(&v), yaml)
    }

    const PIVOT: &str = "source:\n  index: [logs-*]\ndest:\n  index: out\n  aliases:\n    - alias: latest\npivot:\n  group_by: {}\n  aggs: {}\nsettings:\n  num_failure_retries: 10\nretention_policy:\n  time:\n    field: '@timestamp'\n    max_age: 7d\nsync:\n  time:\n    field: '@timestamp'\n    delay: 60s\n";

    #[test]
    fn pivot_and_latest_transforms() {
        assert!(check(transform, "2.10.0", PIVOT).is_empty());
        assert_eq!(
            check(transform, "2.9.0", PIVOT),
            vec!["field dest: Additional property aliases is not allowed"]
        );
        let neither = "source:\n  index: logs-*\ndest:\n  index: out\n";
        assert_eq!(
            check(transform, "3.0.0", neither),
            vec!["field (root): pivot is required"]
        );
        let latest = "source:\n  index: 3\ndest: {}\nlatest:\n  sort: '@timestamp'\npivot:\n  group_by: {}\nsettings:\n  num_failure_retries: 101\n";
        assert_eq!(
            check(transform, "3.0.0", latest),
            vec![
                "field source.index: Invalid type. Expected: string, given: integer",
                "field dest: index is required",
                "field latest: unique_key is required",
                "field pivot: aggregations is required",
                "field settings.num_failure_retries: Must be less than or equal to 100",
            ]
        );
    }

    #[test]
    fn transform_manifest_index_mode_from_3_4_0() {
        let yaml = "start: true\ndestination_index_template:\n  settings:\n    index:\n      mode: lookup\n      hidden: true\n  mappings:\n    dynamic: false\n";
        assert!(check(manifest, "3.4.0", yaml).is_empty());
        assert_eq!(
            check(manifest, "3.3.0", yaml),
            vec![
                "field destination_index_template.settings.index: Additional property mode is not allowed"
            ]
        );
        assert_eq!(
            check(
                manifest,
                "3.4.0",
                "destination_index_template:\n  mappings:\n    foo: 1\n"
            ),
            vec![
                "field destination_index_template.mappings: Additional property foo is not allowed"
            ]
        );
    }
}
