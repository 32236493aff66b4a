//! The upstream's answers decoded as the upstream registry decodes them, and
//! joined with the local ones (spec/api.md §8).
//!
//! Upstream `/search` entries and package documents go through the decoder of
//! storage index entries ([`epr_package::from_index_manifest`]): the Go server
//! decodes both into its package struct, so unknown keys are dropped, keys
//! match case-insensitively and the entry prints again in struct order (§4.1).

use std::collections::BTreeMap;

use epr_index::search::{CategoryCount, Hit};
use epr_package::Package;
use epr_package::categories;
use epr_package::decode::ObjBuilder;
use epr_package::index_entry::go_fold_eq;
use epr_package::json::Json;
use epr_package::version::Version;
use serde_json::Value;

/// One `/search` entry, printed, with what the merge orders it by.
#[derive(Debug, Clone)]
pub struct SearchItem {
    name: String,
    version: String,
    semver: Version,
    text: String,
}

impl SearchItem {
    /// A local result, printed as `/search` prints it (a category filter may
    /// have reduced its policy templates).
    pub fn local(hit: &Hit<'_>) -> SearchItem {
        let entry = hit.entry;
        let mut text = String::new();
        entry.package.write_search_entry(
            &mut text,
            entry.deprecated.as_ref(),
            hit.templates.as_deref(),
        );
        SearchItem::new(&entry.package, text)
    }

    /// An upstream entry, with its own fields (not filtered again).
    fn upstream(package: &Package) -> SearchItem {
        let mut text = String::new();
        package.write_search_entry(&mut text, package.deprecated.as_ref(), None);
        SearchItem::new(package, text)
    }

    fn new(package: &Package, text: String) -> SearchItem {
        SearchItem {
            name: package.name.clone(),
            version: package.version.clone(),
            semver: package.semver.clone(),
            text,
        }
    }
}

/// The first JSON value of `body`: Go's `json.Decoder.Decode` reads one value
/// and ignores what follows it.
fn first_value(body: &[u8]) -> Result<Value, String> {
    match serde_json::Deserializer::from_slice(body)
        .into_iter::<Value>()
        .next()
    {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(format!("not valid JSON: {e}")),
        None => Err("not valid JSON: empty body".into()),
    }
}

/// The items of a JSON array (`null` is an empty one, as Go decodes a slice).
fn array(value: Value) -> Result<Vec<Value>, String> {
    match value {
        Value::Array(items) => Ok(items),
        Value::Null => Ok(Vec::new()),
        other => Err(format!("expected an array, found {}", kind(&other))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A package as the upstream sends it (a `/search` entry or a package
/// document); the same problems fail it as fail the Go decoder (a strict
/// `version`, constraints that parse, well-typed fields).
fn package(value: &Value) -> Result<Package, String> {
    epr_package::from_index_manifest(value)
        .map_err(|e| format!("package {}: {}", e.location, e.joined("; ")))
}

/// An upstream `/package/{name}/{version}/` body.
pub fn decode_package(body: &[u8]) -> Result<Package, String> {
    package(&first_value(body)?)
}

/// An upstream `/search` body.
pub fn decode_search(body: &[u8]) -> Result<Vec<SearchItem>, String> {
    array(first_value(body)?)?
        .iter()
        .enumerate()
        .map(|(i, v)| package(v).map_err(|e| format!("[{i}]: {e}")))
        .map(|p| p.map(|p| SearchItem::upstream(&p)))
        .collect()
}

/// The `/search` answer of proxy mode: the local results, then the upstream
/// entries of other name+versions; unless `all`, only the newest version of each
/// name is kept (a local one when versions are equal); sorted by name, then
/// version. Printed as `/search` prints (`[]` when empty).
pub fn merge_search(local: Vec<SearchItem>, upstream: Vec<SearchItem>, all: bool) -> String {
    let mut items = local;
    let mut seen: std::collections::HashSet<(String, String)> = items
        .iter()
        .map(|i| (i.name.clone(), i.version.clone()))
        .collect();
    for item in upstream {
        if seen.insert((item.name.clone(), item.version.clone())) {
            items.push(item);
        }
    }
    if !all {
        // Stable: among equal versions (`1.0.0` and `1.0.0+b`) the first, local, wins.
        items.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| b.semver.cmp(&a.semver)));
        items.dedup_by(|later, kept| later.name == kept.name);
    }
    items.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.semver.cmp(&b.semver)));
    render_search(&items)
}

fn render_search(items: &[SearchItem]) -> String {
    if items.is_empty() {
        return "[]".into();
    }
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("\n  ");
        out.push_str(&item.text);
    }
    out.push_str("\n]\n");
    out
}

/// One line of `/categories`, as the upstream's `Category` struct holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryLine {
    pub id: String,
    pub title: String,
    /// Go's `int`: an upstream may send anything that fits.
    pub count: i64,
    pub parent_id: String,
    pub parent_title: String,
}

impl From<&CategoryCount> for CategoryLine {
    fn from(c: &CategoryCount) -> CategoryLine {
        let (parent_id, parent_title) = c.parent.clone().unwrap_or_default();
        CategoryLine {
            id: c.id.clone(),
            title: c.title.clone(),
            count: i64::try_from(c.count).unwrap_or(i64::MAX),
            parent_id,
            parent_title,
        }
    }
}

/// An upstream `/categories` body, decoded as Go's encoding/json fills its
/// `[]Category`: keys matched case-insensitively, the last one wins, `null`
/// changes nothing, a value of another type fails the body.
pub fn decode_categories(body: &[u8]) -> Result<Vec<CategoryLine>, String> {
    let mut lines = Vec::new();
    for (i, item) in array(first_value(body)?)?.iter().enumerate() {
        let mut line = CategoryLine::default();
        let map = match item {
            Value::Object(map) => map,
            // A null item is the zero struct.
            Value::Null => {
                lines.push(line);
                continue;
            }
            other => return Err(format!("[{i}]: expected an object, found {}", kind(other))),
        };
        for (key, value) in map {
            if value.is_null() {
                continue;
            }
            let text = |slot: &mut String| match value {
                Value::String(s) => {
                    slot.clone_from(s);
                    Ok(())
                }
                other => Err(format!(
                    "[{i}].{key}: expected a string, found {}",
                    kind(other)
                )),
            };
            if go_fold_eq(key, "id") {
                text(&mut line.id)?;
            } else if go_fold_eq(key, "title") {
                text(&mut line.title)?;
            } else if go_fold_eq(key, "parent_id") {
                text(&mut line.parent_id)?;
            } else if go_fold_eq(key, "parent_title") {
                text(&mut line.parent_title)?;
            } else if go_fold_eq(key, "count") {
                line.count = value
                    .as_i64()
                    .ok_or_else(|| format!("[{i}].{key}: expected an integer, found {value}"))?;
            }
        }
        lines.push(line);
    }
    Ok(lines)
}

/// The `/categories` answer of proxy mode: the local counts plus the upstream's,
/// summed per id; an id only upstream keeps the upstream's title and parent,
/// unless its title is the id of a known category, whose title and parent then
/// replace them (the upstream re-maps every title through its list, which only
/// changes local ones, titled by their id until then). Sorted by id.
pub fn merge_categories(local: &[CategoryCount], upstream: Vec<CategoryLine>) -> String {
    let mut merged: BTreeMap<String, CategoryLine> = local
        .iter()
        .map(|c| (c.id.clone(), CategoryLine::from(c)))
        .collect();
    for mut line in upstream {
        if let Some(kept) = merged.get_mut(&line.id) {
            // Go's int wraps; so does this rather than panic.
            kept.count = kept.count.wrapping_add(line.count);
            continue;
        }
        if let Some(known) = categories::category(&line.title) {
            line.title.clone_from(&known.title);
            if let Some((id, title)) = &known.parent {
                line.parent_id.clone_from(id);
                line.parent_title.clone_from(title);
            }
        }
        merged.insert(line.id.clone(), line);
    }
    let items = merged
        .values()
        .map(|c| {
            ObjBuilder::new()
                .str("id", &c.id)
                .str("title", &c.title)
                .always("count", Json::Int(c.count))
                .opt_str("parent_id", &c.parent_id)
                .opt_str("parent_title", &c.parent_title)
                .build()
        })
        .collect();
    Json::Arr(items).to_document()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `/search` entry as an upstream registry prints it.
    fn entry(name: &str, version: &str) -> String {
        format!(
            r#"{{"name": "{name}", "title": "T", "version": "{version}", "description": "d",
               "type": "integration", "download": "/epr/{name}/{name}-{version}.zip",
               "path": "/package/{name}/{version}", "unknown_key": 1}}"#
        )
    }

    fn items(entries: &[(&str, &str)]) -> Vec<SearchItem> {
        let body: Vec<String> = entries.iter().map(|(n, v)| entry(n, v)).collect();
        decode_search(format!("[{}]", body.join(",")).as_bytes()).unwrap()
    }

    /// Marks items as local by giving them another title.
    fn local(entries: &[(&str, &str)]) -> Vec<SearchItem> {
        items(entries)
            .into_iter()
            .map(|mut i| {
                i.text = i.text.replace("\"title\": \"T\"", "\"title\": \"local\"");
                i
            })
            .collect()
    }

    fn listed(body: &str) -> Vec<(String, String, String)> {
        let v: Value = serde_json::from_str(body).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap().to_string();
                (s("name"), s("version"), s("title"))
            })
            .collect()
    }

    fn triple(n: &str, v: &str, t: &str) -> (String, String, String) {
        (n.into(), v.into(), t.into())
    }

    #[test]
    fn upstream_entries_print_in_struct_order_without_unknown_keys() {
        let item = &items(&[("a", "1.0.0")])[0];
        assert_eq!(
            item.text,
            "{\n    \"name\": \"a\",\n    \"title\": \"T\",\n    \"version\": \"1.0.0\",\n    \
             \"description\": \"d\",\n    \"type\": \"integration\",\n    \
             \"download\": \"/epr/a/a-1.0.0.zip\",\n    \"path\": \"/package/a/1.0.0\"\n  }"
        );
    }

    #[test]
    fn local_wins_for_the_same_name_and_version() {
        let body = merge_search(
            local(&[("a", "1.0.0")]),
            items(&[("a", "1.0.0"), ("b", "2.0.0")]),
            true,
        );
        assert_eq!(
            listed(&body),
            [triple("a", "1.0.0", "local"), triple("b", "2.0.0", "T")]
        );
    }

    #[test]
    fn newest_per_name_over_the_union_unless_all() {
        let up = || items(&[("b", "1.0.0"), ("a", "1.10.0"), ("c", "0.1.0")]);
        let loc = || local(&[("a", "1.9.0"), ("b", "1.2.0"), ("b", "1.0.0")]);
        assert_eq!(
            listed(&merge_search(loc(), up(), false)),
            [
                triple("a", "1.10.0", "T"),
                triple("b", "1.2.0", "local"),
                triple("c", "0.1.0", "T"),
            ]
        );
        assert_eq!(
            listed(&merge_search(loc(), up(), true)),
            [
                triple("a", "1.9.0", "local"),
                triple("a", "1.10.0", "T"),
                triple("b", "1.0.0", "local"),
                triple("b", "1.2.0", "local"),
                triple("c", "0.1.0", "T"),
            ]
        );
        // Equal precedence, other build metadata: the local one is kept.
        let body = merge_search(local(&[("a", "1.0.0")]), items(&[("a", "1.0.0+b")]), false);
        assert_eq!(listed(&body), [triple("a", "1.0.0", "local")]);
    }

    #[test]
    fn empty_and_null_answers() {
        assert_eq!(merge_search(Vec::new(), Vec::new(), false), "[]");
        assert!(decode_search(b"null").unwrap().is_empty());
        assert!(decode_search(b"[] trailing bytes are ignored, as Go's decoder does").is_ok());
    }

    #[test]
    fn bad_upstream_entries_fail_the_answer() {
        for body in [
            &b""[..],
            b"<html>",
            b"{}",
            b"[1]",
            b"[{\"name\": \"a\", \"version\": \"not-a-version\"}]",
            b"[{\"name\": \"a\", \"version\": \"1.0.0\", \"categories\": \"web\"}]",
        ] {
            assert!(
                decode_search(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    fn count(id: &str, n: u64) -> CategoryCount {
        let known = categories::category(id);
        CategoryCount {
            id: id.into(),
            title: known.map_or_else(|| id.to_string(), |c| c.title.clone()),
            count: n,
            parent: known.and_then(|c| c.parent.clone()),
        }
    }

    #[test]
    fn category_counts_are_summed_and_upstream_ids_added() {
        let upstream = decode_categories(
            br#"[{"id": "custom", "title": "Custom", "count": 10},
                {"ID": "zzz", "Title": "Zzz", "count": 3, "parent_id": "p", "parent_title": "P",
                 "title": null},
                {"id": "aaa", "title": "web", "count": 2}]"#,
        )
        .unwrap();
        let body = merge_categories(&[count("custom", 1), count("web", 1)], upstream);
        let v: Value = serde_json::from_str(&body).unwrap();
        let lines: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{} {} {} {}",
                    c["id"].as_str().unwrap(),
                    c["title"].as_str().unwrap(),
                    c["count"],
                    c["parent_id"].as_str().unwrap_or("-")
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                // An upstream title that is a known id takes that category's title and parent.
                "aaa Web Server 2 observability",
                "custom Custom 11 -",
                "web Web Server 1 observability",
                "zzz Zzz 3 p",
            ]
        );
    }

    #[test]
    fn bad_category_lines_fail_the_answer() {
        for body in [
            &b"{}"[..],
            b"[{\"id\": 1}]",
            b"[{\"id\": \"a\", \"count\": 1.5}]",
            b"[{\"id\": \"a\", \"count\": \"1\"}]",
            b"[\"a\"]",
        ] {
            assert!(
                decode_categories(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(merge_categories(&[], Vec::new()), "[]\n");
    }
}
