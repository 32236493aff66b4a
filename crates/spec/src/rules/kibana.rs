//! Semantic rules about Kibana assets, docs and agent templates (spec/package-format.md
//! §6, rules 12, 15, 17, 18, 19, 21, 25, 36 and 37).
//!
//! Each rule reproduces one of package-spec's `code/go/internal/validator/semantic`
//! functions, with its wording. The dashboard rules (12, 18, 19) and the port of the
//! `elastic/kbncontent` classification they rely on live in `kibana_dashboards.rs`,
//! the docs structure rule in `kibana_docs.rs`, the Handlebars check in
//! `kibana_hbs.rs`; the saved object id, capability and tag rules are here.

use epr_package::yaml::{self, Node, Value as Yaml};
use serde_json::Value;

use super::Rule;
use crate::package::{Kind, Package};
use crate::problem::Problem;

#[path = "kibana_dashboards.rs"]
mod dashboards;
#[path = "kibana_docs.rs"]
mod docs;
#[path = "kibana_hbs.rs"]
mod hbs;

/// The Kibana, docs and template rules, in the order package-spec runs them.
pub const RULES: &[Rule] = &[
    Rule {
        name: "ValidateVisualizationsUsedByValue",
        kinds: &[Kind::Integration, Kind::Content],
        since: None,
        until: None,
        modes: &[],
        warning_before_3: true,
        check: dashboards::visualizations_used_by_value,
    },
    Rule {
        name: "ValidateKibanaObjectIDs",
        kinds: &[Kind::Integration, Kind::Content],
        since: None,
        until: None,
        modes: &[],
        warning_before_3: false,
        check: kibana_object_ids,
    },
    Rule {
        name: "ValidateKibanaNoDanglingObjectIDs",
        kinds: &[],
        since: Some("3.0.0"),
        until: None,
        modes: &[],
        warning_before_3: false,
        check: no_dangling_object_ids,
    },
    Rule {
        name: "ValidateKibanaFilterPresent",
        kinds: &[],
        since: Some("3.0.0"),
        until: None,
        modes: &[],
        warning_before_3: false,
        check: dashboards::filter_present,
    },
    Rule {
        name: "ValidateKibanaNoLegacyVisualizations",
        kinds: &[Kind::Integration, Kind::Content],
        since: Some("3.0.0"),
        until: None,
        modes: &[],
        warning_before_3: false,
        check: dashboards::no_legacy_visualizations,
    },
    Rule {
        name: "ValidateCapabilitiesRequired",
        kinds: &[],
        since: Some("2.10.0"),
        until: None,
        modes: &[],
        warning_before_3: false,
        check: capabilities_required,
    },
    Rule {
        name: "ValidateDocsStructure",
        kinds: &[],
        since: None,
        until: None,
        modes: &[],
        warning_before_3: false,
        check: docs::docs_structure,
    },
    Rule {
        name: "ValidateStaticHandlebarsFiles",
        kinds: &[Kind::Integration, Kind::Input],
        since: None,
        until: None,
        modes: &[],
        warning_before_3: false,
        check: hbs::static_handlebars_files,
    },
    Rule {
        name: "ValidateKibanaTagDuplicates",
        kinds: &[],
        since: None,
        until: None,
        modes: &[],
        warning_before_3: false,
        check: kibana_tag_duplicates,
    },
];

// ---------------------------------------------------------------------------------
// Helpers shared by the Kibana rules.
// ---------------------------------------------------------------------------------

/// The files matching `kibana/<dir>/*.json` (`dir` = `None` for `kibana/*/*.json`), in
/// the order Go's `fs.Glob` returns them: by folder, then by name.
fn kibana_json_files(pkg: &Package<'_>, dir: Option<&str>) -> Vec<String> {
    let mut found: Vec<(&str, &str)> = pkg
        .entries()
        .iter()
        .filter(|e| !e.is_dir)
        .filter_map(|e| {
            let mut parts = e.path.split('/');
            let (Some("kibana"), Some(folder), Some(name), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return None;
            };
            let wanted = dir.is_none_or(|d| d == folder);
            (wanted && name.ends_with(".json")).then_some((folder, name))
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
        .into_iter()
        .map(|(folder, name)| format!("kibana/{folder}/{name}"))
        .collect()
}

/// `path` parsed as JSON; the error is the reason only, for the rule to word.
fn parse_json(pkg: &Package<'_>, path: &str) -> Result<Value, String> {
    let bytes = pkg.read(path).map_err(|p| p.message)?;
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

/// The value at `keys` below `v`, as the jsonpath library package-spec uses reports a
/// missing one (`unknown key <k>`).
fn json_path<'v>(v: &'v Value, keys: &[&str]) -> Result<&'v Value, String> {
    keys.iter().try_fold(v, |cur, key| {
        cur.get(*key).ok_or_else(|| format!("unknown key {key}"))
    })
}

/// A JSON value as Go's `%s`/`%v` prints what is usually a string.
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One entry of a saved object's `references` list.
#[derive(Debug, Clone, PartialEq)]
struct Reference {
    id: String,
    kind: String,
}

/// The `references` of a saved object: `Ok(None)` when there is no such key, an error
/// when it is not a list of objects with string fields (mapstructure's decoding).
fn references(doc: &Value) -> Result<Option<Vec<Reference>>, String> {
    let Some(list) = doc.get("references") else {
        return Ok(None);
    };
    let Value::Array(items) = list else {
        return Err("conversion error to array".into());
    };
    items
        .iter()
        .map(|item| {
            let Value::Object(_) = item else {
                return Err("conversion error to reference element".to_string());
            };
            Ok(Reference {
                id: string_field(item, "id")?,
                kind: string_field(item, "type")?,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// A string field decoded as mapstructure does: absent or null is "", any other
/// non-string an error.
fn string_field(item: &Value, key: &str) -> Result<String, String> {
    match item.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!(
            "conversion error to reference element: '{key}' expected type 'string', got {}",
            json_kind(other)
        )),
    }
}

/// A short name of a JSON value's type, for error messages.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

// ---------------------------------------------------------------------------------
// Rule 15: ValidateKibanaObjectIDs.
// ---------------------------------------------------------------------------------

/// Every `kibana/*/*.json` defines the id its file name says; a security rule's id
/// starts with its `rule_id`.
fn kibana_object_ids(pkg: &Package<'_>) -> Vec<Problem> {
    kibana_json_files(pkg, None)
        .iter()
        .filter_map(|path| object_id_problem(pkg, path))
        .collect()
}

fn object_id_problem(pkg: &Package<'_>, path: &str) -> Option<Problem> {
    let fail = |msg: String| Some(Problem::file(path, msg));
    let doc = match parse_json(pkg, path) {
        Ok(doc) => doc,
        Err(e) => {
            return fail(format!(
                "unable to get Kibana object ID in file [{path}]: {e}"
            ));
        }
    };
    let id = match json_path(&doc, &["id"]) {
        Ok(id) => id,
        Err(e) => {
            return fail(format!(
                "unable to get Kibana object ID in file [{path}]: {e}"
            ));
        }
    };
    if path.starts_with("kibana/security_rule/") {
        let rule_id = match json_path(&doc, &["attributes", "rule_id"]) {
            Ok(r) => r,
            Err(e) => return fail(format!("unable to get rule ID in file [{path}]: {e}")),
        };
        let Value::String(id) = id else {
            return fail("expect object ID to be a string".into());
        };
        let Value::String(rule_id) = rule_id else {
            return fail("expect rule ID to be a string".into());
        };
        // A rule's saved object id may extend its rule id (spec 2.4.0); it must still
        // match the file name.
        if !id.starts_with(rule_id.as_str()) {
            return fail(format!(
                "kibana object ID [{id}] should start with rule ID [{rule_id}]"
            ));
        }
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    // Go removes every ".json" of the name, not only the extension.
    let file_id = name.replace(".json", "");
    if id.as_str() == Some(file_id.as_str()) {
        return None;
    }
    fail(format!(
        "kibana object file [{path}] defines non-matching ID [{}]",
        show(id)
    ))
}

// ---------------------------------------------------------------------------------
// Rule 17: ValidateKibanaNoDanglingObjectIDs.
// ---------------------------------------------------------------------------------

/// Types whose references are not checked: elastic-package strips index patterns
/// from exported objects, Kibana provides them.
const DANGLING_EXCEPTIONS: &[&str] = &["index-pattern"];

/// Every object a `kibana/*/*.json` refers to (but index patterns) is shipped in the
/// package, with the same id and type.
fn no_dangling_object_ids(pkg: &Package<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut installed: Vec<Reference> = Vec::new();
    let mut referenced: Vec<(String, Reference)> = Vec::new();
    for path in kibana_json_files(pkg, None) {
        let doc = parse_json(pkg, &path);
        match doc
            .as_ref()
            .map_err(|e| format!("unable to get ID field : {e}"))
            .and_then(own_reference)
        {
            Ok(r) => installed.push(r),
            Err(e) => problems.push(Problem::file(
                &path,
                format!("unable to create reference from file [{path}]: {e}"),
            )),
        }
        let Ok(doc) = doc else { continue };
        match references(&doc) {
            Ok(refs) => referenced.extend(
                refs.unwrap_or_default()
                    .into_iter()
                    .filter(|r| !DANGLING_EXCEPTIONS.contains(&r.kind.as_str()))
                    .map(|r| (path.clone(), r)),
            ),
            Err(e) => problems.push(Problem::file(
                &path,
                format!(
                    "unable to create referenced objects from file [{path}]: error getting references: unable to convert references: {e}"
                ),
            )),
        }
    }
    let known: std::collections::HashSet<(&str, &str)> = installed
        .iter()
        .map(|r| (r.id.as_str(), r.kind.as_str()))
        .collect();
    for (path, r) in &referenced {
        if !known.contains(&(r.id.as_str(), r.kind.as_str())) {
            problems.push(
                Problem::file(
                    path,
                    format!("dangling reference found: {} ({})", r.id, r.kind),
                )
                .with_code("SVR00003"),
            );
        }
    }
    problems
}

/// The id and type a saved object file installs.
fn own_reference(doc: &Value) -> Result<Reference, String> {
    let id = json_path(doc, &["id"]).map_err(|e| format!("unable to get ID field : {e}"))?;
    let Value::String(id) = id else {
        return Err("expect value ID to be a string".into());
    };
    let kind = json_path(doc, &["type"]).map_err(|e| format!("unable to get Type field : {e}"))?;
    let Value::String(kind) = kind else {
        return Err("expect value Type to be a string".into());
    };
    Ok(Reference {
        id: id.clone(),
        kind: kind.clone(),
    })
}

// ---------------------------------------------------------------------------------
// Rule 21: ValidateCapabilitiesRequired.
// ---------------------------------------------------------------------------------

/// A package shipping security rules requires the `security` capability.
fn capabilities_required(pkg: &Package<'_>) -> Vec<Problem> {
    if kibana_json_files(pkg, Some("security_rule")).is_empty() {
        return Vec::new();
    }
    match capabilities(&pkg.manifest) {
        Err(e) => vec![Problem::file("manifest.yml", e)],
        Ok(caps) if caps.iter().any(|c| c == "security") => Vec::new(),
        Ok(_) => vec![Problem::file(
            "manifest.yml",
            "found security rule assets in package but security capability is missing",
        )],
    }
}

/// `conditions["elastic.capabilities"]`, else `conditions.elastic.capabilities`; none
/// when neither is set.
fn capabilities(manifest: &Node) -> Result<Vec<String>, String> {
    let conditions = manifest.get("conditions");
    let list = conditions
        .and_then(|c| c.get("elastic.capabilities"))
        .or_else(|| {
            conditions
                .and_then(|c| c.get("elastic"))
                .and_then(|e| e.get("capabilities"))
        });
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    let Yaml::Seq(items) = &list.value else {
        return Err("can't convert slice entries: conversion error".into());
    };
    items
        .iter()
        .map(|n| match &n.value {
            Yaml::String(s) => Ok(s.clone()),
            _ => Err("can't convert slice entries: conversion error".to_string()),
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// Rule 37: ValidateKibanaTagDuplicates.
// ---------------------------------------------------------------------------------

const TAGS_YML: &str = "kibana/tags.yml";

/// Tag names are unique: within `kibana/tags.yml`, within `kibana/tag/*.json`, and
/// between the two.
fn kibana_tag_duplicates(pkg: &Package<'_>) -> Vec<Problem> {
    let (shared, mut problems) = shared_tags(pkg);
    problems.extend(package_tag_duplicates(pkg, &shared));
    problems
}

/// The `text` of each `kibana/tags.yml` entry, and its duplicates.
fn shared_tags(pkg: &Package<'_>) -> (Vec<String>, Vec<Problem>) {
    if !pkg.is_file(TAGS_YML) {
        return (Vec::new(), Vec::new());
    }
    let texts = match pkg
        .read_yaml(TAGS_YML)
        .map_err(|p| p.message)
        .and_then(|doc| tag_texts(&doc))
    {
        Ok(texts) => texts,
        Err(e) => {
            return (
                Vec::new(),
                vec![Problem::file(
                    TAGS_YML,
                    format!("error unmarshaling file {TAGS_YML}: {e}"),
                )],
            );
        }
    };
    let mut names: Vec<String> = Vec::new();
    let mut problems = Vec::new();
    for (text, line) in texts {
        if names.contains(&text) {
            problems.push(
                Problem::at(TAGS_YML, line, format!("duplicate tag name '{text}' found"))
                    .with_code("SVR00007"),
            );
        } else {
            names.push(text);
        }
    }
    (names, problems)
}

/// The `text` of each entry of a `tags.yml` document, with its line, as yaml.v3
/// decodes it into a list of `{text string}`.
fn tag_texts(doc: &Node) -> Result<Vec<(String, usize)>, String> {
    let items = match &doc.value {
        Yaml::Null => return Ok(Vec::new()),
        Yaml::Seq(items) => items,
        _ => {
            return Err(format!(
                "yaml: unmarshal errors: cannot unmarshal {} into a list of tags",
                doc.kind()
            ));
        }
    };
    items
        .iter()
        .map(|item| match &item.value {
            Yaml::Null => Ok((String::new(), item.line)),
            Yaml::Map(_) => match item.get("text") {
                None => Ok((String::new(), item.line)),
                Some(text) => yaml::scalar_to_string(&text.value)
                    .map(|t| (t, text.line))
                    .ok_or_else(|| {
                        format!(
                            "yaml: unmarshal errors: cannot unmarshal {} into string",
                            text.kind()
                        )
                    }),
            },
            _ => Err(format!(
                "yaml: unmarshal errors: cannot unmarshal {} into a tag",
                item.kind()
            )),
        })
        .collect()
}

/// Duplicate names among the `kibana/tag/*.json` objects of type `tag`, and names
/// already in `tags.yml`.
fn package_tag_duplicates(pkg: &Package<'_>, shared: &[String]) -> Vec<Problem> {
    let mut names: Vec<String> = Vec::new();
    let mut problems = Vec::new();
    for name in pkg.list_dir("kibana/tag") {
        let path = format!("kibana/tag/{name}");
        if !name.ends_with(".json") || !pkg.is_file(&path) {
            continue;
        }
        let tag = match parse_json(pkg, &path).and_then(|doc| tag_object(&doc)) {
            Ok(Some(tag)) => tag,
            Ok(None) => continue,
            Err(e) => {
                problems.push(Problem::file(
                    &path,
                    format!("error unmarshaling file {path}: {e}"),
                ));
                continue;
            }
        };
        let message = if names.contains(&tag) {
            format!("duplicate package tag name '{tag}' found")
        } else if shared.contains(&tag) {
            format!("tag name '{tag}' is already defined in tags.yml")
        } else {
            names.push(tag);
            continue;
        };
        problems.push(Problem::file(&path, message).with_code("SVR00007"));
    }
    problems
}

/// `attributes.name` of a tag saved object; `None` for objects of other types.
/// Decoded as Go's `encoding/json` fills `{type, attributes: {name}}`.
fn tag_object(doc: &Value) -> Result<Option<String>, String> {
    let (Value::Object(_) | Value::Null) = doc else {
        return Err(format!(
            "json: cannot unmarshal {} into a tag",
            json_kind(doc)
        ));
    };
    let kind = json_string(field_ci(doc, "type"), "type")?;
    let name = match field_ci(doc, "attributes") {
        None | Some(Value::Null) => String::new(),
        Some(attrs @ Value::Object(_)) => json_string(field_ci(attrs, "name"), "attributes.name")?,
        Some(other) => {
            return Err(format!(
                "json: cannot unmarshal {} into Go struct field .attributes",
                json_kind(other)
            ));
        }
    };
    Ok((kind == "tag").then_some(name))
}

/// A struct field as `encoding/json` finds it: the exact key, else one that differs
/// only in case.
fn field_ci<'v>(obj: &'v Value, key: &str) -> Option<&'v Value> {
    let Value::Object(map) = obj else { return None };
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// A string field decoded by `encoding/json`: null or absent is "".
fn json_string(v: Option<&Value>, field: &str) -> Result<String, String> {
    match v {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!(
            "json: cannot unmarshal {} into Go struct field .{field} of type string",
            json_kind(other)
        )),
    }
}

#[cfg(test)]
#[path = "kibana_tests.rs"]
mod tests;
