//! Packages of a Package Storage v2 index (spec/api.md §9, storage-and-publishing.md
//! §2.3): each index entry's `package_manifest` is the full package document, as
//! `GET /package/{name}/{version}/` prints it.
//!
//! The upstream decodes that object into its package struct with `encoding/json`
//! and prints the struct again, so [`from_index_manifest`] does what that decoding
//! does, and builds the same document pieces as [`crate::package::load`]:
//!
//! - keys the model does not know are dropped; the others print in struct order;
//! - keys match case-insensitively (Go's rule), the last match wins, and `null`
//!   counts as absent;
//! - a value of the wrong JSON type fails the entry;
//! - free-form values (variable `default`, index template settings and mappings)
//!   print as Go prints an `interface{}`: object keys sorted, numbers as float64;
//! - nothing is filled in (no `multiple`, `enabled`, `type`, `license` or
//!   `template_path` default), no category is dropped, no file is looked at;
//! - `version`, `format_version` (when set) and the Kibana and agent constraints are
//!   parsed strictly: a failure fails the entry, and so the whole index.
//!
//! The `/search` summaries of policy templates and data streams are derived from
//! the full ones, as the upstream does when it decodes.
//!
//! [`Package::index_manifest`] is the other direction: the manifest our publisher
//! writes for a package it loaded.

use std::fmt::Display;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::constraint::Constraints;
use crate::decode::ObjBuilder;
use crate::fs::EmptyFs;
use crate::json::Json;
use crate::open_files::Files;
use crate::package::{Doc, LoadError, Location, Package, TemplateInfo, TemplateParts};
use crate::problem::Problem;
use crate::version::Version;

impl Package {
    /// The `package_manifest` to write into an index for this package: its full
    /// document with its own `deprecated` (readers propagate deprecations
    /// themselves). A zip loaded with a `.sig` beside it has `signature_path`.
    pub fn index_manifest(&self) -> Option<Json> {
        self.full_json(self.deprecated.as_ref())
    }
}

/// Decodes one index entry's `package_manifest` text; see [`from_index_manifest`].
pub fn from_index_manifest_bytes(bytes: &[u8]) -> Result<Package, LoadError> {
    let value = serde_json::from_slice::<Value>(bytes).map_err(not_valid_json)?;
    from_index_manifest(&value)
}

/// The error of a manifest that does not parse.
pub(crate) fn not_valid_json(e: serde_json::Error) -> LoadError {
    LoadError::one(describe("", ""), format!("not valid JSON: {e}"))
}

/// Builds the package of one index entry from its `package_manifest` object.
///
/// On failure, the error's `location` is `{name}-{version}` (as far as they could be
/// read) and each problem names the field, e.g.
/// `conditions.kibana.version: invalid Kibana versions range "not a range": ...`.
pub fn from_index_manifest(manifest: &Value) -> Result<Package, LoadError> {
    let Value::Object(map) = manifest else {
        return Err(LoadError::one(
            describe("", ""),
            format!("expected an object, found {}", json_kind(manifest)),
        ));
    };
    let m = JObj::root(map);
    let mut p = Problems::default();

    let name = m.string_or_empty("name", &mut p);
    let version = m.string_or_empty("version", &mut p);
    // Upstream takes a nameless entry; a package nobody can ask for is a broken index.
    if name.is_empty() && m.get("name").is_none_or(Value::is_string) {
        p.push("name", "required field is missing or empty");
    }
    let semver = strict_version(&m, "version", "invalid package version", &mut p);
    let format_version = m.string_or_empty("format_version", &mut p);
    // Only proxy-mode packages lack `format_version`; when set it must be strict.
    let spec_version = if format_version.is_empty() {
        None
    } else {
        strict_version(&m, "format_version", "invalid format spec version", &mut p)
            .and_then(|v| Version::parse_strict(&format!("{}.{}.0", v.major(), v.minor())).ok())
    };

    let release = m.string_or_empty("release", &mut p);
    let kind = m.string_or_empty("type", &mut p);
    let conditions = conditions(&m, &mut p);
    let categories = m.strings("categories", &mut p).unwrap_or_default();
    let discovery = discovery(&m, &mut p);
    let deprecated = deprecated(&m, "deprecated", &mut p);

    let mut templates = Vec::new();
    let mut full_templates = Vec::new();
    for t in m.objects("policy_templates", &mut p).unwrap_or_default() {
        let (info, full) = policy_template(&t, &mut p);
        templates.push(info);
        full_templates.push(full);
    }
    let data_streams: Vec<(Json, Json)> = m
        .objects_no_null("data_streams", &mut p)
        .unwrap_or_default()
        .iter()
        .map(|d| data_stream(d, &mut p))
        .collect();

    let doc = Doc {
        head: ObjBuilder::new()
            .str("name", &name)
            .opt("title", m.string("title", &mut p).map(Json::Str))
            .str("version", &version)
            .opt_str("release", &release)
            .opt("source", source(&m, &mut p))
            .str("description", &m.string_or_empty("description", &mut p))
            .str("type", &kind)
            .str("download", &m.string_or_empty("download", &mut p))
            .str("path", &m.string_or_empty("path", &mut p))
            .opt_list("icons", images(&m, "icons", &mut p))
            .opt_str(
                "policy_templates_behavior",
                &m.string_or_empty("policy_templates_behavior", &mut p),
            )
            .0,
        conditions_to_signature: ObjBuilder::new()
            .opt("conditions", conditions.json)
            .opt("owner", owner(&m, &mut p))
            .opt_list("categories", categories.iter().map(Json::str).collect())
            .opt_str(
                "signature_path",
                &m.string_or_empty("signature_path", &mut p),
            )
            .0,
        discovery: discovery.json,
        base_data_streams: (!data_streams.is_empty())
            .then(|| Json::Arr(data_streams.iter().map(|d| d.0.clone()).collect())),
        tail: ObjBuilder::new()
            .opt("requires", requires(&m, &mut p))
            .opt_str("group", &m.string_or_empty("group", &mut p))
            .0,
        full_only: ObjBuilder::new()
            .str("format_version", &format_version)
            .opt("readme", m.string("readme", &mut p).map(Json::Str))
            .opt_str("license", &m.string_or_empty("license", &mut p))
            .opt_list("screenshots", images(&m, "screenshots", &mut p))
            .opt_list(
                "assets",
                m.strings("assets", &mut p)
                    .unwrap_or_default()
                    .iter()
                    .map(Json::str)
                    .collect(),
            )
            .0,
        full_templates: (!full_templates.is_empty()).then_some(Json::Arr(full_templates)),
        full_data_streams: (!data_streams.is_empty())
            .then(|| Json::Arr(data_streams.into_iter().map(|d| d.1).collect())),
        full_end: ObjBuilder::new()
            .opt_list("vars", variables(&m, "vars", &mut p))
            .opt("elasticsearch", package_elasticsearch(&m, &mut p))
            .opt("agent", agent_privileges(&m, &mut p))
            .0,
        summary_only: false,
    };

    let (Some(semver), true) = (semver, p.0.is_empty()) else {
        return Err(LoadError {
            location: describe(&name, &version),
            problems: p.0.into_iter().map(Problem::package).collect(),
        });
    };
    Ok(Package {
        location: Location::Storage {
            base_path: format!("{name}-{version}.zip"),
        },
        name,
        version,
        semver,
        release,
        kind,
        categories,
        templates,
        kibana: conditions.kibana,
        agent: conditions.agent,
        capabilities: conditions.capabilities,
        spec_version,
        discovery_fields: discovery.fields,
        discovery_datasets: discovery.datasets,
        deprecated,
        signature: None,
        files: Files::Held(Arc::new(EmptyFs)),
        search: doc.search_text(),
        doc,
    })
}

/// `name-version` for messages, saying what is missing.
fn describe(name: &str, version: &str) -> String {
    match (name.is_empty(), version.is_empty()) {
        (false, false) => format!("{name}-{version}"),
        (false, true) => format!("{name}, no version"),
        (true, false) => format!("no name, version {version}"),
        (true, true) => "no name, no version".into(),
    }
}

/// A field that must be a strict semantic version (Masterminds `StrictNewVersion`).
/// A value that is not a string is reported where the field is read as a string.
fn strict_version(m: &JObj<'_>, key: &str, what: &str, p: &mut Problems) -> Option<Version> {
    let text = match m.get(key) {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return None,
        None => "",
    };
    match Version::parse_strict(text) {
        Ok(v) => Some(v),
        Err(e) => {
            p.push(key, format!("{what} \"{text}\": {e}"));
            None
        }
    }
}

/// `conditions` and what queries need from it.
struct Conditions {
    json: Option<Json>,
    kibana: Option<Constraints>,
    agent: Option<Constraints>,
    capabilities: Option<Vec<String>>,
}

fn conditions(m: &JObj<'_>, p: &mut Problems) -> Conditions {
    let Some(c) = m.obj("conditions", p) else {
        return Conditions {
            json: None,
            kibana: None,
            agent: None,
            capabilities: None,
        };
    };
    let (kibana_json, kibana) = version_condition(&c, "kibana", "Kibana", p);
    let (agent_json, agent) = version_condition(&c, "agent", "Agent", p);
    let elastic = c.obj("elastic", p);
    let capabilities = elastic.as_ref().and_then(|e| e.strings("capabilities", p));
    let elastic_json = elastic.map(|e| {
        ObjBuilder::new()
            .str("subscription", &e.string_or_empty("subscription", p))
            .opt_list(
                "capabilities",
                capabilities.iter().flatten().map(Json::str).collect(),
            )
            .build()
    });
    Conditions {
        json: Some(
            ObjBuilder::new()
                .opt("kibana", kibana_json)
                .opt("elastic", elastic_json)
                .opt("agent", agent_json)
                .build(),
        ),
        kibana,
        agent,
        capabilities,
    }
}

/// `conditions.kibana` or `conditions.agent`: `{version}`, a constraint that must parse.
fn version_condition(
    c: &JObj<'_>,
    key: &str,
    label: &str,
    p: &mut Problems,
) -> (Option<Json>, Option<Constraints>) {
    let Some(o) = c.obj(key, p) else {
        return (None, None);
    };
    let raw = o.string_or_empty("version", p);
    let parsed = match Constraints::parse(&raw) {
        Ok(constraints) => Some(constraints),
        Err(e) => {
            p.push(
                &o.key_path("version"),
                format!("invalid {label} versions range \"{raw}\": {e}"),
            );
            None
        }
    };
    (Some(ObjBuilder::new().str("version", &raw).build()), parsed)
}

struct Discovery {
    json: Option<Json>,
    fields: Vec<String>,
    datasets: Vec<String>,
}

/// `discovery`: omitted when both lists are empty (Go's `omitzero` with `IsZero`).
fn discovery(m: &JObj<'_>, p: &mut Problems) -> Discovery {
    let d = m.obj("discovery", p);
    let names = |key: &str, p: &mut Problems| -> Vec<String> {
        d.as_ref()
            .and_then(|d| d.objects(key, p))
            .unwrap_or_default()
            .iter()
            .map(|n| n.string_or_empty("name", p))
            .collect()
    };
    let fields = names("fields", p);
    let datasets = names("datasets", p);
    let named = |names: &[String]| -> Vec<Json> {
        names
            .iter()
            .map(|n| ObjBuilder::new().str("name", n).build())
            .collect()
    };
    let json = (!fields.is_empty() || !datasets.is_empty()).then(|| {
        ObjBuilder::new()
            .opt_list("fields", named(&fields))
            .opt_list("datasets", named(&datasets))
            .build()
    });
    Discovery {
        json,
        fields,
        datasets,
    }
}

fn source(m: &JObj<'_>, p: &mut Problems) -> Option<Json> {
    let s = m.obj("source", p)?;
    Some(
        ObjBuilder::new()
            .opt_str("license", &s.string_or_empty("license", p))
            .build(),
    )
}

fn owner(m: &JObj<'_>, p: &mut Problems) -> Option<Json> {
    let o = m.obj("owner", p)?;
    Some(
        ObjBuilder::new()
            .opt_str("type", &o.string_or_empty("type", p))
            .opt_str("github", &o.string_or_empty("github", p))
            .build(),
    )
}

fn requires(m: &JObj<'_>, p: &mut Problems) -> Option<Json> {
    let r = m.obj("requires", p)?;
    let refs = |key: &str, p: &mut Problems| -> Vec<Json> {
        r.objects(key, p)
            .unwrap_or_default()
            .iter()
            .map(|o| {
                ObjBuilder::new()
                    .str("package", &o.string_or_empty("package", p))
                    .str("version", &o.string_or_empty("version", p))
                    .build()
            })
            .collect()
    };
    Some(
        ObjBuilder::new()
            .opt_list("input", refs("input", p))
            .opt_list("content", refs("content", p))
            .build(),
    )
}

/// Package `elasticsearch`: `{privileges?: {cluster?}}`.
fn package_elasticsearch(m: &JObj<'_>, p: &mut Problems) -> Option<Json> {
    let e = m.obj("elasticsearch", p)?;
    let privileges = e.obj("privileges", p).map(|pr| {
        ObjBuilder::new()
            .opt_list("cluster", string_list(&pr, "cluster", p))
            .build()
    });
    Some(ObjBuilder::new().opt("privileges", privileges).build())
}

/// `agent: {privileges?: {root?}}`, for packages and data streams.
fn agent_privileges(o: &JObj<'_>, p: &mut Problems) -> Option<Json> {
    let a = o.obj("agent", p)?;
    let privileges = a.obj("privileges", p).map(|pr| {
        ObjBuilder::new()
            .opt_true("root", pr.bool("root", p).unwrap_or(false))
            .build()
    });
    Some(ObjBuilder::new().opt("privileges", privileges).build())
}

/// Image lists: `src` and `path` always printed, as given.
fn images(o: &JObj<'_>, key: &str, p: &mut Problems) -> Vec<Json> {
    o.objects(key, p)
        .unwrap_or_default()
        .iter()
        .map(|i| {
            ObjBuilder::new()
                .str("src", &i.string_or_empty("src", p))
                .str("path", &i.string_or_empty("path", p))
                .opt_str("title", &i.string_or_empty("title", p))
                .opt_str("size", &i.string_or_empty("size", p))
                .opt_str("type", &i.string_or_empty("type", p))
                .build()
        })
        .collect()
}

/// A `deprecated` object: `since` and `description` always printed.
fn deprecated(o: &JObj<'_>, key: &str, p: &mut Problems) -> Option<Json> {
    let d = o.obj(key, p)?;
    let replaced_by = d.obj("replaced_by", p).map(|r| {
        ObjBuilder::new()
            .opt_str("package", &r.string_or_empty("package", p))
            .opt_str("policy_template", &r.string_or_empty("policy_template", p))
            .opt_str("input", &r.string_or_empty("input", p))
            .opt_str("data_stream", &r.string_or_empty("data_stream", p))
            .opt_str("variable", &r.string_or_empty("variable", p))
            .build()
    });
    Some(
        ObjBuilder::new()
            .str("since", &d.string_or_empty("since", p))
            .str("description", &d.string_or_empty("description", p))
            .opt("replaced_by", replaced_by)
            .build(),
    )
}

/// Variables: `name`, `type` and the three booleans always printed; `default`
/// whenever it is not null.
fn variables(o: &JObj<'_>, key: &str, p: &mut Problems) -> Vec<Json> {
    o.objects(key, p)
        .unwrap_or_default()
        .iter()
        .map(|v| {
            ObjBuilder::new()
                .str("name", &v.string_or_empty("name", p))
                .str("type", &v.string_or_empty("type", p))
                .opt_str("title", &v.string_or_empty("title", p))
                .opt_str("description", &v.string_or_empty("description", p))
                .always("multi", Json::Bool(v.bool("multi", p).unwrap_or(false)))
                .always(
                    "required",
                    Json::Bool(v.bool("required", p).unwrap_or(false)),
                )
                .always(
                    "show_user",
                    Json::Bool(v.bool("show_user", p).unwrap_or(false)),
                )
                .opt("default", v.get("default").map(go_interface))
                .opt("deprecated", deprecated(v, "deprecated", p))
                .build()
        })
        .collect()
}

/// Streams of an input or a data stream; `enabled` printed iff set (no default).
fn streams(o: &JObj<'_>, p: &mut Problems) -> Vec<Json> {
    o.objects("streams", p)
        .unwrap_or_default()
        .iter()
        .map(|s| {
            ObjBuilder::new()
                .opt_str("input", &s.string_or_empty("input", p))
                .opt_str("package", &s.string_or_empty("package", p))
                .opt_list("vars", variables(s, "vars", p))
                .opt_str("data_stream", &s.string_or_empty("data_stream", p))
                .opt_str("template_path", &s.string_or_empty("template_path", p))
                .opt_str("title", &s.string_or_empty("title", p))
                .opt_str("description", &s.string_or_empty("description", p))
                .opt("enabled", s.bool("enabled", p).map(Json::Bool))
                .opt_str(
                    "ingestion_method",
                    &s.string_or_empty("ingestion_method", p),
                )
                .build()
        })
        .collect()
}

fn input(i: &JObj<'_>, p: &mut Problems) -> Json {
    ObjBuilder::new()
        .opt_str("type", &i.string_or_empty("type", p))
        .opt_str("package", &i.string_or_empty("package", p))
        .opt_list("vars", variables(i, "vars", p))
        .opt_str("title", &i.string_or_empty("title", p))
        .opt_str("description", &i.string_or_empty("description", p))
        .opt_list("streams", streams(i, p))
        .opt_str("template_path", &i.string_or_empty("template_path", p))
        .opt_str("input_group", &i.string_or_empty("input_group", p))
        .opt_list("deployment_modes", string_list(i, "deployment_modes", p))
        .opt("deprecated", deprecated(i, "deprecated", p))
        .build()
}

/// `deployment_modes`: `default?{enabled}`, `agentless?{enabled, is_default?, release?}`.
fn deployment_modes(t: &JObj<'_>, p: &mut Problems) -> Option<Json> {
    let d = t.obj("deployment_modes", p)?;
    let enabled =
        |m: &JObj<'_>, p: &mut Problems| Json::Bool(m.bool("enabled", p).unwrap_or(false));
    let default = d
        .obj("default", p)
        .map(|m| ObjBuilder::new().always("enabled", enabled(&m, p)).build());
    let agentless = d.obj("agentless", p).map(|m| {
        ObjBuilder::new()
            .always("enabled", enabled(&m, p))
            .opt("is_default", m.bool("is_default", p).map(Json::Bool))
            .opt_str("release", &m.string_or_empty("release", p))
            .build()
    });
    Some(
        ObjBuilder::new()
            .opt("default", default)
            .opt("agentless", agentless)
            .build(),
    )
}

/// One policy template: the summary queries need, and its full form. `multiple`
/// and `readme` are printed iff set.
fn policy_template(t: &JObj<'_>, p: &mut Problems) -> (TemplateInfo, Json) {
    // A struct literal evaluates its fields in the order written: problems are
    // reported in this order.
    TemplateParts {
        name: t.string_or_empty("name", p),
        title: t.string_or_empty("title", p),
        description: t.string_or_empty("description", p),
        data_streams: string_list(t, "data_streams", p),
        inputs: t
            .objects("inputs", p)
            .unwrap_or_default()
            .iter()
            .map(|i| input(i, p))
            .collect(),
        multiple: t.bool("multiple", p),
        icons: images(t, "icons", p),
        categories: t.strings("categories", p),
        deployment_modes: deployment_modes(t, p),
        deprecated: deprecated(t, "deprecated", p),
        screenshots: images(t, "screenshots", p),
        readme: t.string("readme", p),
        kind: t.string_or_empty("type", p),
        input: t.string_or_empty("input", p),
        ingestion_method: t.string_or_empty("ingestion_method", p),
        template_path: t.string_or_empty("template_path", p),
    }
    .into_documents()
}

/// One data stream: its `/search` summary and its full form.
fn data_stream(d: &JObj<'_>, p: &mut Problems) -> (Json, Json) {
    let ds_type = d.string_or_empty("type", p);
    let dataset = d.string_or_empty("dataset", p);
    let title = d.string_or_empty("title", p);
    let ds_deprecated = deprecated(d, "deprecated", p);
    let base_json = ObjBuilder::new()
        .opt_str("type", &ds_type)
        .str("dataset", &dataset)
        .str("title", &title)
        .opt("deprecated", ds_deprecated.clone())
        .build();
    let full_json = ObjBuilder::new()
        .str("type", &ds_type)
        .opt_str("dataset", &dataset)
        .opt_true("hidden", d.bool("hidden", p).unwrap_or(false))
        .opt_str("ilm_policy", &d.string_or_empty("ilm_policy", p))
        .opt_true(
            "dataset_is_prefix",
            d.bool("dataset_is_prefix", p).unwrap_or(false),
        )
        .str("title", &title)
        .opt_str("release", &d.string_or_empty("release", p))
        .opt_str("ingest_pipeline", &d.string_or_empty("ingest_pipeline", p))
        .opt_list("streams", streams(d, p))
        .opt_str("package", &d.string_or_empty("package", p))
        .opt("elasticsearch", data_stream_elasticsearch(d, p))
        .opt("agent", agent_privileges(d, p))
        .opt_str("path", &d.string_or_empty("path", p))
        .opt("deprecated", ds_deprecated)
        .build();
    (base_json, full_json)
}

/// Data stream `elasticsearch`; note the literal dots in its keys.
fn data_stream_elasticsearch(d: &JObj<'_>, p: &mut Problems) -> Option<Json> {
    let e = d.obj("elasticsearch", p)?;
    let privileges = e.obj("privileges", p).map(|pr| {
        ObjBuilder::new()
            .opt_list("indices", string_list(&pr, "indices", p))
            .build()
    });
    Some(
        ObjBuilder::new()
            .opt(
                "index_template.settings",
                e.free_map("index_template.settings", p),
            )
            .opt(
                "index_template.mappings",
                e.free_map("index_template.mappings", p),
            )
            .opt_str(
                "ingest_pipeline.name",
                &e.string_or_empty("ingest_pipeline.name", p),
            )
            .opt("privileges", privileges)
            .build(),
    )
}

fn string_list(o: &JObj<'_>, key: &str, p: &mut Problems) -> Vec<Json> {
    o.strings(key, p)
        .unwrap_or_default()
        .iter()
        .map(Json::str)
        .collect()
}

/// A value decoded into Go's `interface{}` and printed again: objects become maps
/// (printed with sorted keys), every number a float64.
fn go_interface(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => Json::Float(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => Json::Str(s.clone()),
        Value::Array(items) => Json::Arr(items.iter().map(go_interface).collect()),
        Value::Object(map) => {
            let mut entries: Vec<(String, Json)> = map
                .iter()
                .map(|(k, v)| (k.clone(), go_interface(v)))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Obj(entries)
        }
    }
}

/// Problems found in one manifest, each `path: message`.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn push(&mut self, path: &str, message: impl Display) {
        self.0.push(format!("{path}: {message}"));
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A JSON object being decoded into a Go struct, named by its path for messages.
/// `map` is `None` for the zero value a `null` list item decodes to.
#[derive(Clone)]
struct JObj<'a> {
    map: Option<&'a Map<String, Value>>,
    path: String,
}

impl<'a> JObj<'a> {
    fn root(map: &'a Map<String, Value>) -> JObj<'a> {
        JObj {
            map: Some(map),
            path: String::new(),
        }
    }

    fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The value of struct field `key` as encoding/json finds it: the last key equal
    /// to it, or equal under Go's case folding; `null` is as if absent.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map?
            .iter()
            .filter(|(k, _)| go_fold_eq(k, key))
            .map(|(_, v)| v)
            .next_back()
            .filter(|v| !v.is_null())
    }

    fn mismatch(&self, key: &str, expected: &str, found: &Value, p: &mut Problems) {
        p.push(
            &self.key_path(key),
            format!("expected {expected}, found {}", json_kind(found)),
        );
    }

    fn string(&self, key: &str, p: &mut Problems) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            other => {
                self.mismatch(key, "a string", other, p);
                None
            }
        }
    }

    fn string_or_empty(&self, key: &str, p: &mut Problems) -> String {
        self.string(key, p).unwrap_or_default()
    }

    fn bool(&self, key: &str, p: &mut Problems) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.mismatch(key, "a boolean", other, p);
                None
            }
        }
    }

    /// A nested struct (Go pointer): `None` when absent or null.
    fn obj(&self, key: &str, p: &mut Problems) -> Option<JObj<'a>> {
        match self.get(key)? {
            Value::Object(map) => Some(JObj {
                map: Some(map),
                path: self.key_path(key),
            }),
            other => {
                self.mismatch(key, "an object", other, p);
                None
            }
        }
    }

    fn array(&self, key: &str, p: &mut Problems) -> Option<&'a Vec<Value>> {
        match self.get(key)? {
            Value::Array(items) => Some(items),
            other => {
                self.mismatch(key, "an array", other, p);
                None
            }
        }
    }

    /// A list of structs; a `null` item is the zero struct, as Go decodes it.
    fn objects(&self, key: &str, p: &mut Problems) -> Option<Vec<JObj<'a>>> {
        self.object_items(key, true, p)
    }

    /// A list of struct pointers that the upstream dereferences: a `null` item
    /// would crash it, so it is a problem here.
    fn objects_no_null(&self, key: &str, p: &mut Problems) -> Option<Vec<JObj<'a>>> {
        self.object_items(key, false, p)
    }

    fn object_items(&self, key: &str, null_ok: bool, p: &mut Problems) -> Option<Vec<JObj<'a>>> {
        let items = self.array(key, p)?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("{}[{i}]", self.key_path(key));
            match item {
                Value::Object(map) => out.push(JObj {
                    map: Some(map),
                    path,
                }),
                Value::Null if null_ok => out.push(JObj { map: None, path }),
                other => p.push(
                    &path,
                    format!("expected an object, found {}", json_kind(other)),
                ),
            }
        }
        Some(out)
    }

    /// A list of strings; a `null` item is `""`, as Go decodes it.
    fn strings(&self, key: &str, p: &mut Problems) -> Option<Vec<String>> {
        let items = self.array(key, p)?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(s) => out.push(s.clone()),
                Value::Null => out.push(String::new()),
                other => p.push(
                    &format!("{}[{i}]", self.key_path(key)),
                    format!("expected a string, found {}", json_kind(other)),
                ),
            }
        }
        Some(out)
    }

    /// A free-form map (`map[string]interface{}`); omitted when absent or empty.
    fn free_map(&self, key: &str, p: &mut Problems) -> Option<Json> {
        match self.get(key)? {
            Value::Object(map) if map.is_empty() => None,
            v @ Value::Object(_) => Some(go_interface(v)),
            other => {
                self.mismatch(key, "an object", other, p);
                None
            }
        }
    }
}

/// Go encoding/json's case-insensitive key match, for a struct field name (ours
/// are ASCII). Besides ASCII letters, a few other characters fold onto ASCII ones
/// under Go's `ToUpper(ToLower(r))`: the long s, the Kelvin sign and the dotted
/// and dotless i.
pub fn go_fold_eq(key: &str, field: &str) -> bool {
    // Each character of the key folds onto one byte of the field, and takes at least
    // one byte: a shorter key cannot match. Most keys compared are of another length.
    if key.len() < field.len() {
        return false;
    }
    // The usual case, and the fold cannot make an ASCII key match otherwise.
    if key.is_ascii() {
        return key.eq_ignore_ascii_case(field);
    }
    let mut chars = key.chars();
    for f in field.bytes() {
        let Some(c) = chars.next() else {
            return false;
        };
        let folded = match c {
            '\u{17F}' => 'S',
            '\u{212A}' => 'K',
            '\u{130}' | '\u{131}' => 'I',
            c => c.to_ascii_uppercase(),
        };
        if folded != char::from(f.to_ascii_uppercase()) {
            return false;
        }
    }
    chars.next().is_none()
}

#[cfg(test)]
#[path = "index_entry_tests.rs"]
mod tests;
