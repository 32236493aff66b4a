//! The folder tree of `integration` packages (`spec/integration/**/spec.yml`), and the
//! folders input and content packages borrow from it (docs, agent, fields).
//!
//! Each function is one `spec.yml`; a `versions` patch of that file is a
//! `before(v, "X")` condition where the patch removes or changes something.

use epr_package::version::Version;

use super::dev;
use super::spec::{Item, Limits, MB, file, files, folder, folders, spec};
use crate::schemas::{FileSchema, before};

/// The limits of a package root, which differ by type only in the total size, the
/// size of one file and the fields per data stream.
pub fn root_limits(total_size: u64, size: u64, fields_per_data_stream: Option<usize>) -> Limits {
    Limits {
        total_contents: Some(65535),
        total_size: Some(total_size),
        size: Some(size),
        configuration_size: Some(5 * MB),
        relative_path_size: Some(3 * MB),
        fields_per_data_stream,
    }
}

/// A `manifest.yml` (of a package root or a data stream): required, at most 5 MB,
/// checked against `schema`.
pub fn manifest_file(schema: FileSchema) -> Item {
    file("manifest.yml")
        .yaml()
        .size_limit(5 * MB)
        .required()
        .schema(schema)
}

/// The root `changelog.yml` of every package type.
pub fn changelog_file() -> Item {
    file("changelog.yml")
        .yaml()
        .required()
        .schema(FileSchema::Changelog)
}

/// `integration/spec.yml`: the package root.
pub fn root(v: &Version) -> Item {
    spec()
        .additional_contents()
        .limits(root_limits(250 * MB, 150 * MB, Some(2048)))
        .child(manifest_file(FileSchema::IntegrationManifest))
        .child(changelog_file())
        .child(file("NOTICE.txt").plain_text())
        .child(file("LICENSE.txt").plain_text())
        .child(folder("data_stream").with_spec(data_streams(v)))
        .child(folder("docs").required().with_spec(docs()))
        .child(folder("agent").with_spec(agent()))
        .child(folder("kibana").with_spec(kibana(v)))
        .child(folder("_dev").source_only().with_spec(dev::integration()))
        .child(folder("elasticsearch").with_spec(elasticsearch(v)))
        .child(file("validation.yml").yaml().schema(FileSchema::Validation))
        // Declared since 3.2.2; before, the root's additional contents let it in.
        .child_if(!before(v, "3.2.2"), folder("img").with_spec(img()))
}

/// `integration/docs/spec.yml`, shared by every package type.
pub fn docs() -> Item {
    spec()
        .child(file("README.md").markdown().required())
        .child(files(r"^.+\.md").markdown())
        .child(folder("knowledge_base").child(files(r"^.+\.md$").markdown()))
}

/// `integration/img/spec.yml`: anything goes.
pub fn img() -> Item {
    spec().additional_contents()
}

/// `integration/agent/spec.yml`: the policy-template input templates.
pub fn agent() -> Item {
    spec().child(folder("input").required().child(hbs_templates()))
}

/// The Handlebars templates of `agent/input` and `data_stream/*/agent/stream`.
fn hbs_templates() -> Item {
    files(r"^.+\.yml\.hbs$")
        .size_limit(2 * MB)
        .required()
        .allow_link()
}

/// `integration/data_stream/fields/spec.yml`: field definition files.
pub fn fields() -> Item {
    spec().child(
        files(r"^[a-z0-9][a-z0-9_-]+[a-z0-9]\.yml$")
            .required()
            .yaml()
            .allow_link()
            .schema(FileSchema::Fields),
    )
}

/// `integration/data_stream/spec.yml`: the `data_stream` folder.
fn data_streams(v: &Version) -> Item {
    spec().total_contents_limit(500).child(
        folders(r"^([a-z0-9]{2}|[a-z0-9][a-z0-9_]+[a-z0-9])$")
            // Fleet names the integration-level pipeline after it (package-spec#699).
            .forbid(r"^integration$")
            .required()
            .child(manifest_file(FileSchema::DataStreamManifest))
            .child(folder("fields").required().with_spec(fields()))
            .child(folder("agent").with_spec(stream_agent()))
            .child(data_stream_elasticsearch(v))
            .child(files(r"^sample_event(_[a-z0-9]+)?.json$").json())
            .child(folder("test"))
            .child(folder("_dev").source_only().with_spec(dev::data_stream()))
            .child_if(
                !before(v, "2.9.0"),
                file("routing_rules.yml")
                    .yaml()
                    .schema(FileSchema::RoutingRules),
            )
            .child_if(
                !before(v, "2.10.0"),
                file("lifecycle.yml").yaml().schema(FileSchema::Lifecycle),
            ),
    )
}

/// `integration/data_stream/agent/spec.yml`: the stream templates.
fn stream_agent() -> Item {
    spec().child(folder("stream").required().child(hbs_templates()))
}

/// A data stream's `elasticsearch` folder: ILM policies and ingest pipelines.
fn data_stream_elasticsearch(v: &Version) -> Item {
    let pipelines_checked = !before(v, "3.0.0");
    folder("elasticsearch")
        .child(
            folder("ilm")
                .child(files(r"^.+\.yml$").yaml_with_dashes())
                .child(files(r"^.+\.json$").json()),
        )
        .child(
            folder("ingest_pipeline")
                .child(
                    files(r"^.+\.yml$")
                        .yaml_with_dashes()
                        .allow_link()
                        .schema_if(pipelines_checked, FileSchema::IngestPipeline),
                )
                .child(
                    files(r"^.+\.json$")
                        .json()
                        .allow_link()
                        .schema_if(pipelines_checked, FileSchema::IngestPipeline),
                ),
        )
}

/// `integration/elasticsearch/spec.yml`: package-level Elasticsearch assets.
fn elasticsearch(v: &Version) -> Item {
    let pipelines_checked = !before(v, "3.0.0");
    spec()
        .child(folder("ml_model").child(files(r"^{PACKAGE_NAME}_.+\.json$").json()))
        .child(
            folder("ingest_pipeline")
                .additional_contents()
                .child(
                    files(r"^.+\.yml$")
                        .size_limit(3 * MB)
                        .yaml_with_dashes()
                        .allow_link()
                        .schema_if(pipelines_checked, FileSchema::IngestPipeline),
                )
                .child(
                    files(r"^.+\.json$")
                        .size_limit(3 * MB)
                        .json()
                        .allow_link()
                        .schema_if(pipelines_checked, FileSchema::IngestPipeline),
                ),
        )
        .child(folder("transform").with_spec(transforms()))
        .child_if(!before(v, "3.6.0"), esql_views())
}

/// `elasticsearch/esql_view`: ES|QL view definitions (integration and content).
pub fn esql_views() -> Item {
    folder("esql_view").child(files(r"^.+\.yml$").yaml().schema(FileSchema::EsqlView))
}

/// `integration/elasticsearch/transform/spec.yml`: one folder per transform.
fn transforms() -> Item {
    spec().child(
        folders(r"^[a-z0-9_]+$")
            .child(
                file("transform.yml")
                    .required()
                    .yaml()
                    .schema(FileSchema::Transform),
            )
            .child(
                file("manifest.yml")
                    .yaml()
                    .size_limit(5 * MB)
                    .schema(FileSchema::TransformManifest),
            )
            .child(folder("fields").with_spec(fields())),
    )
}

/// Saved objects named after the package (`<package>-<id>.json`).
const NAMED_ASSET: &str = r"^{PACKAGE_NAME}-.+\.json$";
/// Saved objects with any name.
const ANY_ASSET: &str = r"^.+\.json$";
/// The `-ecs.json` suffix is kept for ECS variants of old assets, and forbidden.
const ECS_SUFFIX: &str = r"^.+-(ecs|ECS)\.json$";

/// A `kibana/<type>` folder of JSON saved objects matching `pattern`.
pub fn assets(name: &'static str, pattern: &'static str) -> Item {
    folder(name).child(files(pattern).json())
}

/// A `kibana/<type>` folder of package-named saved objects without the ECS suffix.
pub fn named_assets_without_ecs(name: &'static str) -> Item {
    folder(name).child(files(NAMED_ASSET).json().forbid(ECS_SUFFIX))
}

/// A `kibana/<type>` folder of package-named saved objects.
pub fn named_assets(name: &'static str) -> Item {
    assets(name, NAMED_ASSET)
}

/// A `kibana/<type>` folder of saved objects with any name.
pub fn any_assets(name: &'static str) -> Item {
    assets(name, ANY_ASSET)
}

/// `kibana/tags.yml`.
pub fn tags_file() -> Item {
    file("tags.yml").yaml().schema(FileSchema::KibanaTags)
}

/// `integration/kibana/spec.yml`.
fn kibana(v: &Version) -> Item {
    spec()
        .child(named_assets_without_ecs("dashboard"))
        .child(named_assets_without_ecs("visualization"))
        .child(named_assets_without_ecs("search"))
        .child(named_assets_without_ecs("map"))
        .child(named_assets_without_ecs("lens"))
        .child(any_assets("index_pattern"))
        .child(any_assets("security_rule"))
        .child(any_assets("csp_rule_template"))
        .child(named_assets("ml_module"))
        .child(named_assets("tag"))
        .child(named_assets("osquery_pack_asset"))
        .child(named_assets("osquery_saved_query"))
        .child_if(!before(v, "2.10.0"), tags_file())
        .child_if(!before(v, "3.4.0"), any_assets("alerting_rule_template"))
        .child_if(!before(v, "3.4.0"), any_assets("slo_template"))
}
