//! The dashboard rules (spec/package-format.md §6, rules 12, 18 and 19) and the part
//! of `elastic/kbncontent` they use to tell what a dashboard panel is.
//!
//! Dashboards come in two shapes: in source packages their embedded JSON
//! (`panelsJSON`, `searchSourceJSON`, `visState`) is decoded, in built packages it is
//! a JSON string. Both are read, as the Go code does.

use std::borrow::Cow;

use serde_json::Value;

use super::{field_ci, json_kind, json_path, kibana_json_files, parse_json, references};
use crate::package::Package;
use crate::problem::Problem;

// ---------------------------------------------------------------------------------
// Rule 12: ValidateVisualizationsUsedByValue.
// ---------------------------------------------------------------------------------

/// Saved object types a dashboard should embed by value rather than refer to.
const BY_VALUE_TYPES: &[&str] = &["lens", "visualization", "map"];

/// Dashboards embed their visualizations by value (SVR00004; a warning before 3.0.0).
pub(super) fn visualizations_used_by_value(pkg: &Package<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for path in kibana_json_files(pkg, Some("dashboard")) {
        // Go skips a dashboard whose references it cannot read at all.
        let Ok(doc) = parse_json(pkg, &path) else {
            continue;
        };
        let refs = match references(&doc) {
            Ok(Some(refs)) => refs,
            Ok(None) => continue,
            Err(e) => {
                problems.push(Problem::file(
                    &path,
                    format!("error getting references in file: {path}: unable to convert references: {e}"),
                ));
                continue;
            }
        };
        let by_reference: Vec<String> = refs
            .iter()
            .filter(|r| BY_VALUE_TYPES.contains(&r.kind.as_str()))
            .map(|r| format!("{} ({})", r.id, r.kind))
            .collect();
        if !by_reference.is_empty() {
            problems.push(
                Problem::file(
                    &path,
                    format!(
                        "references found in dashboard {path}: {}",
                        by_reference.join(", ")
                    ),
                )
                .with_code("SVR00004"),
            );
        }
    }
    problems
}

// ---------------------------------------------------------------------------------
// Rule 18: ValidateKibanaFilterPresent.
// ---------------------------------------------------------------------------------

/// Why a dashboard has no filter of its own.
struct DashboardFilterError {
    message: String,
    /// It has a query but no filter (SVR00001 rather than SVR00002).
    query_without_filter: bool,
}

impl DashboardFilterError {
    fn new(message: impl Into<String>) -> Self {
        DashboardFilterError {
            message: message.into(),
            query_without_filter: false,
        }
    }
}

/// Every dashboard limits what it queries: a filter of its own, or one in each of its
/// by-value panels that queries data (SVR00002, SVR00001 when it has only a query).
pub(super) fn filter_present(pkg: &Package<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for path in kibana_json_files(pkg, Some("dashboard")) {
        let doc = parse_json(pkg, &path);
        let Err(panels_error) = panels_filters(doc.as_ref()) else {
            continue;
        };
        let Err(e) = dashboard_filter(doc.as_ref()) else {
            continue;
        };
        let code = if e.query_without_filter {
            "SVR00001"
        } else {
            "SVR00002"
        };
        problems.push(
            Problem::file(
                &path,
                format!(
                    "expected filter in dashboard: {} and {panels_error}",
                    e.message
                ),
            )
            .with_code(code),
        );
    }
    problems
}

/// Each by-value panel that makes queries has a filter (or a query) of its own.
fn panels_filters(doc: Result<&Value, &String>) -> Result<(), String> {
    let doc = doc.map_err(|e| format!("unable to get dashboard document: {e}"))?;
    let panels = by_value_panels(doc)
        .map_err(|e| format!("error describing visualization saved object: {e}"))?;
    for panel in panels.iter().filter(|p| p.can_use_filter()) {
        let has = panel
            .has_filters()
            .map_err(|e| format!("error checking if visualization has filters: {e}"))?;
        if !has {
            return Err("at least one panel does not have a filter".into());
        }
    }
    Ok(())
}

/// The dashboard's own `searchSourceJSON` has a filter.
fn dashboard_filter(doc: Result<&Value, &String>) -> Result<(), DashboardFilterError> {
    let doc = doc
        .map_err(|e| DashboardFilterError::new(format!("unable to find search definition: {e}")))?;
    let search = json_path(
        doc,
        &["attributes", "kibanaSavedObjectMeta", "searchSourceJSON"],
    )
    .map_err(|e| DashboardFilterError::new(format!("unable to find search definition: {e}")))?;
    let (filters, query) = match search {
        Value::Object(_) => decode_search(search).map_err(|e| {
            DashboardFilterError::new(format!("unable to decode search definition: {e}"))
        })?,
        Value::String(s) => serde_json::from_str::<Value>(s)
            .map_err(|e| e.to_string())
            .and_then(|v| decode_search(&v))
            .map_err(|e| {
                DashboardFilterError::new(format!(
                    "unable to decode embedded search definition: {e}"
                ))
            })?,
        other => {
            return Err(DashboardFilterError::new(format!(
                "unexpected type for search source JSON: {}",
                go_type(other)
            )));
        }
    };
    if filters > 0 {
        return Ok(());
    }
    if !query.is_empty() {
        return Err(DashboardFilterError {
            message: "saved query found, but no filter".into(),
            query_without_filter: true,
        });
    }
    Err(DashboardFilterError::new("no filter found"))
}

/// The number of filters and the query text of a search source, decoded into
/// `{filter []any; query {query string}}` as mapstructure and `encoding/json` do:
/// absent or null fields are empty, fields of another type are errors.
fn decode_search(search: &Value) -> Result<(usize, String), String> {
    match search {
        Value::Null => return Ok((0, String::new())),
        Value::Object(_) => {}
        other => return Err(format!("expected a map, got '{}'", json_kind(other))),
    }
    let filters = match field_ci(search, "filter") {
        None | Some(Value::Null) => 0,
        Some(Value::Array(items)) => items.len(),
        Some(other) => {
            return Err(format!(
                "'filter': source data must be an array or slice, got {}",
                json_kind(other)
            ));
        }
    };
    let query = match field_ci(search, "query") {
        None | Some(Value::Null) => String::new(),
        Some(q @ Value::Object(_)) => match field_ci(q, "query") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(format!(
                    "'query.query' expected type 'string', got unconvertible type '{}'",
                    go_type(other)
                ));
            }
        },
        Some(other) => {
            return Err(format!(
                "'query' expected a map, got '{}'",
                json_kind(other)
            ));
        }
    };
    Ok((filters, query))
}

// ---------------------------------------------------------------------------------
// Rule 19: ValidateKibanaNoLegacyVisualizations.
// ---------------------------------------------------------------------------------

/// No legacy visualizations (TSVB, aggregation-based, Timelion), neither as
/// `kibana/visualization` objects nor as by-value dashboard panels.
pub(super) fn no_legacy_visualizations(pkg: &Package<'_>) -> Vec<Problem> {
    let mut problems: Vec<Problem> = kibana_json_files(pkg, Some("visualization"))
        .iter()
        .filter_map(|path| legacy_visualization_object(pkg, path))
        .collect();
    for path in kibana_json_files(pkg, Some("dashboard")) {
        problems.extend(legacy_dashboard_panels(pkg, &path));
    }
    problems
}

/// The problem with one `kibana/visualization/*.json`, if it is legacy or unreadable.
fn legacy_visualization_object(pkg: &Package<'_>, path: &str) -> Option<Problem> {
    let doc = match parse_json(pkg, path) {
        Ok(doc) => doc,
        Err(e) => return Some(Problem::file(path, format!("error getting JSON: {e}"))),
    };
    if !doc.is_object() {
        return Some(Problem::file(
            path,
            format!("JSON of unexpected type {}", go_type(&doc)),
        ));
    }
    let vis = match describe_saved_object(&doc) {
        Ok(vis) => vis,
        Err(e) => {
            return Some(Problem::file(
                path,
                format!("error describing visualization saved object: {e}"),
            ));
        }
    };
    vis.is_legacy().then(|| {
        Problem::file(
            path,
            format!(
                "found legacy visualization \"{}\" ({}, {})",
                vis.title(),
                vis.semantic_type(),
                vis.editor().unwrap_or_default()
            ),
        )
    })
}

/// The legacy by-value panels of one dashboard, or why it could not be read.
fn legacy_dashboard_panels(pkg: &Package<'_>, path: &str) -> Vec<Problem> {
    let fail = |msg: String| vec![Problem::file(path, msg)];
    let doc = match parse_json(pkg, path) {
        Ok(doc) => doc,
        Err(e) => return fail(format!("error getting dashboard JSON: {e}")),
    };
    if !doc.is_object() {
        return fail(format!(
            "error fetching dashboard title: dashboard of unexpected type: {}. Expected map[string]interface{{}}",
            go_type(&doc)
        ));
    }
    let title = at(&doc, "attributes.title")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let panels = match by_value_panels(&doc) {
        Ok(panels) => panels,
        Err(e) => return fail(format!("error describing dashboard panels: {e}")),
    };
    panels
        .iter()
        .filter(|p| p.is_legacy())
        .map(|p| {
            Problem::file(
                path,
                format!(
                    "\"{title}\" contains legacy visualization: \"{}\" ({}, {})",
                    p.title(),
                    p.semantic_type(),
                    p.editor().unwrap_or_default()
                ),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// The port of elastic/kbncontent.
// ---------------------------------------------------------------------------------

/// Something a dashboard can show (a saved visualization, Lens, map or search, or a
/// by-value panel), described as kbncontent's `VisualizationDescriptor` does.
struct Visualization<'a> {
    doc: Cow<'a, Value>,
    /// `visualization`, `lens`, `map`, `search`, ...
    saved_object_type: String,
}

/// Fields of saved objects that Kibana stores as JSON text.
const EMBEDDED_JSON: &[&str] = &[
    "attributes.uiStateJSON",
    "attributes.visState",
    "attributes.kibanaSavedObjectMeta.searchSourceJSON",
];

impl Visualization<'_> {
    /// The first of `paths` that holds a string; "" when none does.
    fn find_str(&self, paths: &[&str]) -> &str {
        paths
            .iter()
            .find_map(|p| at(&self.doc, p).and_then(Value::as_str))
            .unwrap_or_default()
    }

    /// The legacy visualization type (`metrics`, `table`, `markdown`, ...); "" for
    /// anything but a legacy-editor `visualization`.
    fn vis_type(&self) -> &str {
        if self.saved_object_type != "visualization" {
            return "";
        }
        self.find_str(&[
            "attributes.type",
            "attributes.visState.type",
            "embeddableConfig.savedVis.type",
        ])
    }

    fn is_tsvb(&self) -> bool {
        self.vis_type() == "metrics"
    }

    /// The TSVB sub-type (`timeseries`, `gauge`, `markdown`, ...).
    fn tsvb_type(&self) -> &str {
        if !self.is_tsvb() {
            return "";
        }
        self.find_str(&[
            "attributes.visState.params.type",
            "embeddableConfig.savedVis.params.type",
        ])
    }

    /// The editor that made it; `None` for unknown saved object types.
    fn editor(&self) -> Option<&'static str> {
        Some(match self.saved_object_type.as_str() {
            "lens" => "Lens",
            "map" => "Maps",
            "search" => "Discover",
            "visualization" => match self.vis_type() {
                "metrics" => "TSVB",
                "vega" => "Vega",
                "timelion" => "Timelion",
                _ => "Aggs-based",
            },
            _ => return None,
        })
    }

    /// Legacy visualizations will be removed from Kibana. Markdown (also TSVB
    /// markdown, which has no replacement yet), Vega and input controls are not.
    fn is_legacy(&self) -> bool {
        if self.saved_object_type != "visualization" {
            return false;
        }
        if self.is_tsvb() {
            return self.tsvb_type() != "markdown";
        }
        !matches!(self.vis_type(), "markdown" | "vega" | "input_control_vis")
    }

    /// What kind of chart it is, whatever the editor.
    fn semantic_type(&self) -> &str {
        if self.is_tsvb() {
            self.tsvb_type()
        } else {
            self.vis_type()
        }
    }

    /// Whether it makes queries (and so should be filtered).
    fn can_use_filter(&self) -> bool {
        match self.saved_object_type.as_str() {
            "search" => false,
            "visualization" => self.vis_type() != "markdown",
            _ => true,
        }
    }

    /// Whether it has a query or a filter of its own.
    fn has_filters(&self) -> Result<bool, String> {
        let doc = deserialize_sub_paths(&self.doc)?;
        let has_query = [
            "attributes.kibanaSavedObjectMeta.searchSourceJSON.query.query",
            "attributes.state.query.query",
            "embeddableConfig.attributes.state.query.query",
            "embeddableConfig.savedVis.data.searchSource.query.query",
        ]
        .iter()
        .any(|p| {
            at(&doc, p)
                .and_then(Value::as_str)
                .is_some_and(|q| !q.is_empty())
        });
        let has_filter = [
            "attributes.state.filters",
            "embeddableConfig.attributes.state.filters",
            "embeddableConfig.savedVis.data.searchSource.filter",
            "attributes.kibanaSavedObjectMeta.searchSourceJSON.filter",
        ]
        .iter()
        .any(|p| is_object_list(at(&doc, p)).is_some_and(|n| n > 0));
        Ok(has_query || has_filter)
    }

    /// The title; "" for anything but a `visualization`.
    fn title(&self) -> &str {
        if self.saved_object_type != "visualization" {
            return "";
        }
        self.find_str(&[
            "attributes.title",
            "title",
            "embeddableConfig.savedVis.title",
        ])
    }
}

/// Describes a saved object file (`DescribeVisualizationSavedObject`).
fn describe_saved_object(doc: &Value) -> Result<Visualization<'_>, String> {
    let doc = deserialize_sub_paths(doc)
        .map_err(|e| format!("failed to deserialize embedded JSON objects: {e}"))?;
    let Some(Value::String(kind)) = doc.get("type") else {
        return Err("`type` in visualization is not present or is not a string".into());
    };
    Ok(Visualization {
        saved_object_type: kind.clone(),
        doc,
    })
}

/// The by-value panels of a dashboard that are visualizations, Lens or maps
/// (`DescribeByValueDashboardPanels`).
fn by_value_panels(dashboard: &Value) -> Result<Vec<Visualization<'_>>, String> {
    if !dashboard.is_object() {
        return Err(format!(
            "dashboard of unexpected type {}",
            go_type(dashboard)
        ));
    }
    let panels: Vec<Cow<'_, Value>> = match at(dashboard, "attributes.panelsJSON") {
        Some(Value::String(text)) => parse_panels(text)
            .map_err(|e| format!("failed to parse panels JSON: {e}"))?
            .into_iter()
            .map(Cow::Owned)
            .collect(),
        Some(list) if is_object_list(Some(list)).is_some() => list
            .as_array()
            .into_iter()
            .flatten()
            .map(Cow::Borrowed)
            .collect(),
        _ => {
            return Err(
                "panelsJSON is of unexpected type <nil>. Expected string or map[string]interface{}"
                    .into(),
            );
        }
    };
    Ok(panels.into_iter().filter_map(by_value_panel).collect())
}

/// A panel described, if it is a by-value visualization, Lens or map. Panels without
/// a `type` are by reference.
fn by_value_panel(panel: Cow<'_, Value>) -> Option<Visualization<'_>> {
    let kind = panel.get("type")?.as_str()?.to_string();
    let has = |path: &str| at(&panel, path).is_some_and(|v| !v.is_null());
    let by_value = (kind == "visualization" && has("embeddableConfig.savedVis"))
        || ((kind == "lens" || kind == "map") && has("embeddableConfig.attributes"));
    by_value.then_some(Visualization {
        doc: panel,
        saved_object_type: kind,
    })
}

/// `panelsJSON` text: a list of objects (or nulls), as `objx.FromJSONSlice` reads it.
fn parse_panels(text: &str) -> Result<Vec<Value>, String> {
    match serde_json::from_str::<Value>(text).map_err(|e| e.to_string())? {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => {
            if let Some(bad) = items.iter().find(|v| !(v.is_object() || v.is_null())) {
                return Err(format!(
                    "json: cannot unmarshal {} into Go value of type objx.Map",
                    json_kind(bad)
                ));
            }
            Ok(items)
        }
        other => Err(format!(
            "json: cannot unmarshal {} into Go value of type []objx.Map",
            json_kind(&other)
        )),
    }
}

/// `doc` with its JSON-text fields decoded (objects only, as `objx.FromJSON` reads
/// them); borrowed when there is nothing to decode.
fn deserialize_sub_paths(doc: &Value) -> Result<Cow<'_, Value>, String> {
    let mut owned: Option<Value> = None;
    for path in EMBEDDED_JSON {
        let current = owned.as_ref().unwrap_or(doc);
        let Some(Value::String(text)) = at(current, path) else {
            continue;
        };
        let parsed = parse_object(text)
            .map_err(|e| format!("failed to decode embedded json in {path:?}: {e}"))?;
        let target = owned.get_or_insert_with(|| doc.clone());
        if let Some(slot) = at_mut(target, path) {
            *slot = parsed;
        }
    }
    Ok(owned.map_or(Cow::Borrowed(doc), Cow::Owned))
}

/// JSON text that must hold an object (or null).
fn parse_object(text: &str) -> Result<Value, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if v.is_object() || v.is_null() {
        Ok(v)
    } else {
        Err(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(&v)
        ))
    }
}

/// The value at a dotted `path` (objx's selector syntax, without indexes).
fn at<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.')
        .try_fold(v, |cur, key| cur.as_object()?.get(key))
}

fn at_mut<'v>(v: &'v mut Value, path: &str) -> Option<&'v mut Value> {
    path.split('.')
        .try_fold(v, |cur, key| cur.as_object_mut()?.get_mut(key))
}

/// The length of a list whose items are all objects (objx's `IsObjxMapSlice`).
fn is_object_list(v: Option<&Value>) -> Option<usize> {
    match v? {
        Value::Array(items) if items.iter().all(Value::is_object) => Some(items.len()),
        _ => None,
    }
}

/// The Go type (`%T`) a decoded JSON value has.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}
