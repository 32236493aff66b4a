//! Data streams: `data_stream/<dir>/manifest.yml`, their defaults, the ingest
//! pipeline rule (spec/api.md §4.6) and the load-time checks of §6.3.

use std::sync::Arc;

use crate::decode::{Obj, ObjBuilder, Problems};
use crate::fs::PackageFs;
use crate::json::Json;
use crate::load_cache::LoadCache;
use crate::manifest_parts::{self as parts};
use crate::package::{LoadOptions, VALID_RELEASES};
use crate::problem::Problem;
use crate::required_fields;
use crate::yaml::{self, Node, Value};

/// A loaded data stream in its two JSON forms.
#[derive(Debug, Clone)]
pub struct DataStream {
    pub base_json: Json,
    pub full_json: Json,
}

const VALID_TYPES: [&str; 4] = ["logs", "metrics", "synthetics", "traces"];

/// Loads `data_stream/<dir>`; problems go to `out` (prefixed with the file).
pub fn load(
    dir: &str,
    pkg_name: &str,
    pkg_release: &str,
    fs: &dyn PackageFs,
    opts: &LoadOptions,
    cache: &LoadCache,
    out: &mut Vec<Problem>,
) -> Option<DataStream> {
    let base = format!("data_stream/{dir}");
    let manifest_path = format!("{base}/manifest.yml");
    let mut p = Problems::new(manifest_path.clone());
    let parsed =
        cache
            .data_stream_manifests
            .of_file(fs, &manifest_path, "manifest", parse_manifest);
    let root = match parsed {
        Ok(Ok(root)) => root,
        Ok(Err(why)) => {
            out.push(Problem::file(&manifest_path, why));
            return None;
        }
        Err(e) => {
            out.push(Problem::package(e.to_string()));
            return None;
        }
    };
    let empty = Node {
        value: Value::Map(Vec::new()),
        line: 1,
    };
    let root = if root.is_null() { &empty } else { &*root };
    let m = Obj::root(root);

    let ds_type = m.required_string("type", &mut p);
    let title = m.required_string("title", &mut p);
    let dataset = m
        .string("dataset", &mut p)
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| format!("{pkg_name}.{dir}"));
    let release = m
        .string("release", &mut p)
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| pkg_release.to_string());
    if !VALID_RELEASES.contains(&release.as_str()) {
        p.push(
            m.raw("release"),
            "release",
            format!("invalid release: \"{release}\""),
        );
    }
    let mut ingest_pipeline = m.string_or_empty("ingest_pipeline", &mut p);
    let streams = parts::streams(&m, true, &mut p);

    // Elasticsearch settings and the ingest pipeline default.
    let es = m.obj("elasticsearch", "elasticsearch", &mut p);
    let template = es.and_then(|e| e.obj("index_template", "elasticsearch.index_template", &mut p));
    let settings = template.and_then(|t| t.free_map("settings", &mut p));
    let mappings = template.and_then(|t| t.free_map("mappings", &mut p));
    let mut pipeline_name = es
        .and_then(|e| e.obj("ingest_pipeline", "elasticsearch.ingest_pipeline", &mut p))
        .map(|i| i.string_or_empty("name", &mut p))
        .unwrap_or_default();
    let pipeline_dir = format!("{base}/elasticsearch/ingest_pipeline");
    let pipelines = fs.list_dir(&pipeline_dir);
    let has_default = pipelines
        .iter()
        .any(|f| f == "default.json" || f == "default.yml");
    if es.is_some() && pipeline_name.is_empty() {
        if has_default {
            pipeline_name = "default".into();
            ingest_pipeline = "default".into();
        }
    } else if ingest_pipeline.is_empty() && has_default {
        ingest_pipeline = "default".into();
    }
    if ingest_pipeline.is_empty() && !pipelines.is_empty() {
        let listed: Vec<String> = pipelines
            .iter()
            .map(|f| format!("{pipeline_dir}/{f}"))
            .collect();
        p.push(
            None,
            "ingest_pipeline",
            format!(
                "unused pipelines in the package (dataset: {dataset}): {}",
                listed.join(",")
            ),
        );
    }

    if opts.validate {
        if dataset.contains('-') {
            p.push(
                m.raw("dataset"),
                "dataset",
                format!("data stream name is not allowed to contain `-`: {dataset}"),
            );
        }
        if !VALID_TYPES.contains(&ds_type.as_str()) {
            p.push(
                m.raw("type"),
                "type",
                format!("type is not valid: {ds_type}"),
            );
        }
        if !ingest_pipeline.is_empty() {
            check_pipeline(fs, &pipeline_dir, &ingest_pipeline, cache, &mut p);
        }
        required_fields::check(fs, &base, cache, &mut p);
        for (_, input, package, stream_title) in &streams {
            if input.is_empty() && package.is_empty() {
                p.push(
                    m.raw("streams"),
                    "streams",
                    format!("stream {stream_title} must have a input or package"),
                );
            } else if !input.is_empty() && !package.is_empty() {
                p.push(
                    m.raw("streams"),
                    "streams",
                    format!("stream {stream_title} must have a input or package, but not both"),
                );
            }
        }
    }

    let es_json = es.map(|e| {
        let privileges = e
            .obj("privileges", "elasticsearch.privileges", &mut p)
            .map(|pr| {
                ObjBuilder::new()
                    .opt_list(
                        "indices",
                        pr.strings("indices", &mut p)
                            .unwrap_or_default()
                            .iter()
                            .map(Json::str)
                            .collect(),
                    )
                    .build()
            });
        ObjBuilder::new()
            .opt("index_template.settings", settings)
            .opt("index_template.mappings", mappings)
            .opt_str("ingest_pipeline.name", &pipeline_name)
            .opt("privileges", privileges)
            .build()
    });
    let agent = parts::agent_privileges(&m, &mut p);
    let deprecated = parts::deprecated(&m, &mut p);

    let full_json = ObjBuilder::new()
        .str("type", &ds_type)
        .opt_str("dataset", &dataset)
        .opt_true("hidden", m.bool("hidden", &mut p).unwrap_or(false))
        .opt_str("ilm_policy", &m.string_or_empty("ilm_policy", &mut p))
        .opt_true(
            "dataset_is_prefix",
            m.bool("dataset_is_prefix", &mut p).unwrap_or(false),
        )
        .str("title", &title)
        .opt_str("release", &release)
        .opt_str("ingest_pipeline", &ingest_pipeline)
        .opt_list("streams", streams.into_iter().map(|s| s.0).collect())
        .opt_str("package", pkg_name)
        .opt("elasticsearch", es_json)
        .opt("agent", agent)
        .opt_str("path", dir)
        .opt("deprecated", deprecated.clone())
        .build();
    let base_json = ObjBuilder::new()
        .opt_str("type", &ds_type)
        .str("dataset", &dataset)
        .str("title", &title)
        .opt("deprecated", deprecated)
        .build();

    let ok = p.items.is_empty();
    out.extend(p.items);
    ok.then_some(DataStream {
        base_json,
        full_json,
    })
}

/// A data stream's `manifest.yml` parsed, or why it is not YAML text.
fn parse_manifest(bytes: &[u8]) -> Result<Arc<Node>, String> {
    let text = yaml::utf8_text(bytes.to_vec())?;
    yaml::parse_config(&text)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// A declared ingest pipeline must exist as `.json` or `.yml` and parse.
/// Pipelines are often copies from version to version: `cache` checks each once.
fn check_pipeline(fs: &dyn PackageFs, dir: &str, name: &str, cache: &LoadCache, p: &mut Problems) {
    let mut found = false;
    for ext in ["json", "yml"] {
        let path = format!("{dir}/{name}.{ext}");
        let parsed_ok = cache.pipelines.of_file(fs, &path, ext, |bytes| {
            let text = String::from_utf8_lossy(bytes);
            if ext == "json" {
                json_is_object(&text)
            } else {
                yaml::parse_keeping(&text, &[]).is_ok()
            }
        });
        let Ok(parsed_ok) = parsed_ok else { continue };
        found = true;
        if !parsed_ok {
            p.push(
                None,
                "ingest_pipeline",
                format!("validating ingest pipeline file failed (path: {path})"),
            );
        }
    }
    if !found {
        p.push(
            None,
            "ingest_pipeline",
            format!("defined ingest_pipeline does not exist: {dir}/{name}"),
        );
    }
}

/// JSON is a subset of YAML; an ingest pipeline must be a JSON object.
fn json_is_object(text: &str) -> bool {
    let trimmed = text.trim_start();
    trimmed.starts_with('{')
        && yaml::parse_keeping(text, &[]).is_ok_and(|n| matches!(n.value, Value::Map(_)))
}
