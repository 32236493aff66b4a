//! Elasticsearch ingest pipelines (`elasticsearch/pipeline.spec.yml`).
//!
//! A pipeline has `description`, `processors` and `on_failure`. Each processor is an
//! object with exactly one key from a fixed list (no `reroute`, no `enrich`);
//! `foreach.processor` is a processor again.
//!
//! From 3.1.0 the spec adds a rule to both processor lists: when one processor renames
//! `message` to `event.original`, some `rename` must carry
//! `if: ctx.event?.original == null` and some `remove` must drop `message` with
//! `ignore_missing: true` and `if: ctx.event?.original != null`. The spec says this
//! with `contains`, for which gojsonschema reports the errors of the item that came
//! closest (its "score"); package-spec then rewrites those errors into
//! `rename "message" to "event.original" processor requires ...` with code JSE00001,
//! but only under `processors` (its patterns name that key): under `on_failure` the
//! plain gojsonschema messages remain. `RenameRule` reproduces this.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use epr_package::version::Version;
use epr_package::yaml::{Node, Value};

use super::before;
use crate::schema::{Schema, Type, any, array, object, string};

/// The processors the spec allows, each `{type: object}`; `foreach` and `terminate`
/// are added apart.
const PROCESSORS: &[&str] = &[
    "append",
    "attachment",
    "bytes",
    "circle",
    "community_id",
    "convert",
    "csv",
    "date",
    "date_index_name",
    "dissect",
    "dot_expander",
    "drop",
    "fail",
    "fingerprint",
    "geoip",
    "grok",
    "gsub",
    "html_strip",
    "inference",
    "join",
    "json",
    "kv",
    "lowercase",
    "network_direction",
    "pipeline",
    "redact",
    "registered_domain",
    "remove",
    "rename",
    "script",
    "set",
    "sort",
    "split",
    "trim",
    "uppercase",
    "urldecode",
    "uri_parts",
    "user_agent",
];

/// How deep `foreach.processor` nesting is described; deeper levels accept anything.
/// The spec's `$ref` recursion has no end, real pipelines nest one or two levels.
const FOREACH_DEPTH: usize = 8;

/// The code package-spec gives the rewritten rename-rule errors.
const RENAME_CODE: &str = "JSE00001";
/// The text every rewritten rename-rule error starts with.
const RENAME_PREFIX: &str = "rename \"message\" to \"event.original\" processor requires";
const RENAME_IF: &str = "ctx.event?.original == null";
const REMOVE_IF: &str = "ctx.event?.original != null";

/// The schema of one processor; `rule` hooks the rename rule's messages onto the
/// processor and its `rename` and `remove` parts (silent outside the processor
/// lists, where the rule finds nothing).
fn processor(v: &Version, rule: &RenameRule, depth: usize) -> Schema {
    let mut s = object().closed().max_properties(1);
    for name in PROCESSORS {
        s = s.prop(name, object());
    }
    s = s
        .prop(
            "rename",
            rule.reporter(object()).prop("if", rule.reporter(any())),
        )
        .prop(
            "remove",
            rule.reporter(object())
                .prop("field", rule.reporter(any()).items(rule.reporter(any())))
                .prop("ignore_missing", rule.reporter(any()))
                .prop("if", rule.reporter(any())),
        );
    if !before(v, "3.3.2") {
        s = s.prop("terminate", any().types(&[Type::Object, Type::Null]));
    }
    let nested = if depth == 0 {
        any()
    } else {
        processor(v, rule, depth - 1)
    };
    rule.reporter(s.prop("foreach", object().prop("processor", nested)))
}

/// A processor list (`processors` or `on_failure`, named by `key`).
fn processors(v: &Version, key: &'static str, rule: &RenameRule) -> Schema {
    let items = processor(v, rule, FOREACH_DEPTH);
    let list = array(items);
    if before(v, "3.1.0") {
        return list;
    }
    list.all_of(vec![rule.finder(key)])
}

/// `pipeline.spec.yml`. Pipelines get a schema from format 3.0.0 only (the folder
/// spec gives them none before); the empty schema keeps older ones unchecked.
pub fn pipeline(v: &Version) -> Schema {
    if before(v, "3.0.0") {
        return any();
    }
    let rule = RenameRule::default();
    object()
        .closed()
        .prop("description", string())
        .prop("processors", processors(v, "processors", &rule))
        .prop("on_failure", processors(v, "on_failure", &rule))
}

/// The rename/remove rule of 3.1.0. The list-level check (`finder`) runs before the
/// items are checked and works out which messages belong to which node; the checks
/// hooked onto the processors (`reporter`) then report them, so that each message
/// names the field gojsonschema names (`processors.1.rename`), which a check on the
/// list itself could not. Nodes are told apart by address: they all live in the one
/// document being validated.
#[derive(Clone, Default)]
struct RenameRule {
    found: Arc<Mutex<HashMap<usize, Vec<String>>>>,
}

fn address(node: &Node) -> usize {
    std::ptr::from_ref(node) as usize
}

impl RenameRule {
    /// A schema for the list that evaluates the rule over its items.
    fn finder(&self, key: &'static str) -> Schema {
        let found = Arc::clone(&self.found);
        any().custom(move |list| {
            let Value::Seq(items) = &list.value else {
                return Vec::new();
            };
            let mut map = found.lock().unwrap_or_else(|e| e.into_inner());
            map.clear();
            for (node, message) in rename_rule(items, key) {
                map.entry(address(node)).or_default().push(message);
            }
            Vec::new()
        })
    }

    /// `s` plus a check reporting what the rule found for its node.
    fn reporter(&self, s: Schema) -> Schema {
        let found = Arc::clone(&self.found);
        s.custom(move |node| {
            let map = found.lock().unwrap_or_else(|e| e.into_inner());
            map.get(&address(node)).cloned().unwrap_or_default()
        })
    }
}

/// A message for one node of the document.
type Finding<'a> = (&'a Node, String);

/// The rule over the items of the list named `key`: nothing unless some item renames
/// `message` to `event.original`; then the errors of the closest item for each of
/// the two `contains` the rule needs and no item satisfies.
fn rename_rule<'a>(items: &'a [Node], key: &str) -> Vec<Finding<'a>> {
    if !items.iter().any(renames_message) {
        return Vec::new();
    }
    let texts = Texts { key };
    let mut found = Vec::new();
    if !items.iter().any(|item| guarded_rename(item).is_none()) {
        found.extend(
            closest(items, guarded_rename)
                .into_iter()
                .flat_map(|(i, errors)| texts.rename(i, errors)),
        );
    }
    if !items.iter().any(|item| message_remove(item).is_none()) {
        found.extend(
            closest(items, message_remove)
                .into_iter()
                .flat_map(|(i, errors)| texts.remove(i, errors)),
        );
    }
    found
}

/// The first item with the highest score, with its index and errors (gojsonschema's
/// choice for a `contains` no item satisfies).
fn closest<'a>(
    items: &'a [Node],
    check: impl Fn(&'a Node) -> Option<Failure<'a>>,
) -> Option<(usize, Failure<'a>)> {
    let mut best: Option<(usize, Failure<'a>)> = None;
    for (i, item) in items.iter().enumerate() {
        if let Some(failure) = check(item)
            && best.as_ref().is_none_or(|(_, b)| failure.score > b.score)
        {
            best = Some((i, failure));
        }
    }
    best
}

/// Why an item fails one of the rule's `contains` schemas, and how close it came.
struct Failure<'a> {
    /// gojsonschema's score of the item against the schema: higher is closer.
    score: u32,
    errors: Vec<RuleError<'a>>,
}

/// One leaf error of the rule, before package-spec's rewriting.
enum RuleError<'a> {
    /// `<key> is required` on `node` (the item, its `rename` or its `remove`).
    Required(&'a Node, &'static str),
    /// `<path> does not match: <expected>` on `node`, at `path` below the item.
    Const(&'a Node, String, String),
}

/// gojsonschema's score of a value against a schema without keywords of its own
/// type: one for each validation step run (`validateSchema`, `validateCommon`, the
/// final step, and the step of the value's kind, which null and booleans lack).
fn base_score(node: &Node) -> u32 {
    match node.value {
        Value::Null | Value::Bool(_) => 3,
        _ => 4,
    }
}

fn is_string(node: Option<&Node>, expected: &str) -> bool {
    matches!(node.map(|n| &n.value), Some(Value::String(s)) if s == expected)
}

/// `if`: an item with a `rename` whose `field` (if any) is `message` and whose
/// `target_field` (if any) is `event.original`. Items that are not objects match any
/// schema made of `required` and `properties`.
fn renames_message(item: &Node) -> bool {
    let Value::Map(_) = item.value else {
        return true;
    };
    let Some(rename) = item.get("rename") else {
        return false;
    };
    let Value::Map(_) = rename.value else {
        return true;
    };
    let const_or_absent = |key: &str, expected: &str| {
        rename.get(key).is_none() || is_string(rename.get(key), expected)
    };
    const_or_absent("field", "message") && const_or_absent("target_field", "event.original")
}

/// The first `contains`: a `rename` with `if: ctx.event?.original == null`. `None`
/// when `item` satisfies it.
fn guarded_rename(item: &Node) -> Option<Failure<'_>> {
    let Value::Map(_) = item.value else {
        return None;
    };
    let Some(rename) = item.get("rename") else {
        return Some(Failure {
            score: 4,
            errors: vec![RuleError::Required(item, "rename")],
        });
    };
    let Value::Map(_) = rename.value else {
        return None;
    };
    let (score, error) = match rename.get("if") {
        None => (4, RuleError::Required(rename, "if")),
        Some(cond) if is_string(Some(cond), RENAME_IF) => return None,
        Some(cond) => (
            4 + 1 + base_score(cond),
            const_error(cond, "rename.if", &json_string(RENAME_IF)),
        ),
    };
    Some(Failure {
        score: 4 + 1 + score,
        errors: vec![error],
    })
}

/// The second `contains`: a `remove` of `message` (alone or in a list) with
/// `ignore_missing: true` and `if: ctx.event?.original != null`. `None` when `item`
/// satisfies it.
fn message_remove(item: &Node) -> Option<Failure<'_>> {
    let Value::Map(_) = item.value else {
        return None;
    };
    let Some(remove) = item.get("remove") else {
        return Some(Failure {
            score: 4,
            errors: vec![RuleError::Required(item, "remove")],
        });
    };
    let Value::Map(_) = remove.value else {
        return None;
    };
    // The item's own 4 steps, 1 for having `remove`, 4 for the steps on `remove`.
    let mut score = 4 + 1 + 4;
    let mut errors = Vec::new();
    for key in ["field", "ignore_missing", "if"] {
        if remove.get(key).is_some() {
            score += 1;
        } else {
            errors.push(RuleError::Required(remove, key));
        }
    }
    if let Some(field) = remove.get("field") {
        let (field_score, field_errors) = removed_field(field);
        score += field_score;
        errors.extend(field_errors);
    }
    if let Some(ignore) = remove.get("ignore_missing") {
        score += base_score(ignore);
        if !matches!(ignore.value, Value::Bool(true)) {
            errors.push(const_error(ignore, "remove.ignore_missing", "true"));
        }
    }
    if let Some(cond) = remove.get("if") {
        score += base_score(cond);
        if !is_string(Some(cond), REMOVE_IF) {
            errors.push(const_error(cond, "remove.if", &json_string(REMOVE_IF)));
        }
    }
    (!errors.is_empty()).then_some(Failure { score, errors })
}

/// `remove.field` against `oneOf: [const message, array with at least one item
/// containing message]`: its score and errors. With no branch matching, gojsonschema
/// keeps the closer branch: the array one for a non-empty array (its `contains`
/// reports the closest element), else the `const` one.
fn removed_field(field: &Node) -> (u32, Vec<RuleError<'_>>) {
    let base = base_score(field);
    if is_string(Some(field), "message") {
        return (base, Vec::new());
    }
    let message = json_string("message");
    match &field.value {
        Value::Seq(values) if values.iter().any(|v| is_string(Some(v), "message")) => {
            (base, Vec::new())
        }
        Value::Seq(values) => {
            let closest_value =
                values
                    .iter()
                    .enumerate()
                    .fold(None::<(usize, &Node)>, |best, (i, v)| match best {
                        Some((_, b)) if base_score(v) <= base_score(b) => best,
                        _ => Some((i, v)),
                    });
            match closest_value {
                // The array branch: 4 steps plus the closest element's score, which
                // beats the const branch's 4.
                Some((i, value)) => (
                    base + 4 + base_score(value),
                    vec![const_error(value, &format!("remove.field.{i}"), &message)],
                ),
                // An empty array: both branches score 4; the first (const) wins.
                None => (base + 4, vec![const_error(field, "remove.field", &message)]),
            }
        }
        _ => (
            base + base,
            vec![const_error(field, "remove.field", &message)],
        ),
    }
}

fn const_error<'a>(node: &'a Node, path: &str, expected: &str) -> RuleError<'a> {
    RuleError::Const(node, path.to_string(), expected.to_string())
}

/// A string as JSON, as gojsonschema prints a `const`.
fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The messages of the rule's errors in the list named `key`, rewritten as
/// package-spec rewrites them when `key` is `processors`.
struct Texts<'k> {
    key: &'k str,
}

impl Texts<'_> {
    fn rewrites(&self) -> bool {
        self.key == "processors"
    }

    fn coded(text: &str) -> String {
        format!("{RENAME_PREFIX} {text} ({RENAME_CODE})")
    }

    /// The messages of the first `contains` (a guarded rename) for item `i`.
    fn rename<'a>(&self, i: usize, failure: Failure<'a>) -> Vec<Finding<'a>> {
        failure
            .errors
            .into_iter()
            .map(|e| match e {
                RuleError::Required(node, "if") if self.rewrites() => {
                    (node, Self::coded(&format!("if: '{RENAME_IF}'")))
                }
                other => self.plain(i, other),
            })
            .collect()
    }

    /// The messages of the second `contains` (a guarded remove) for item `i`.
    fn remove<'a>(&self, i: usize, failure: Failure<'a>) -> Vec<Finding<'a>> {
        let with_if = format!("remove \"message\" processor with if: '{REMOVE_IF}'");
        failure
            .errors
            .into_iter()
            .map(|e| match e {
                _ if !self.rewrites() => self.plain(i, e),
                RuleError::Required(node, "remove") => {
                    (node, Self::coded("remove \"message\" processor"))
                }
                RuleError::Required(node, "ignore_missing" | "if") => (node, Self::coded(&with_if)),
                RuleError::Const(node, path, _) if path.starts_with("remove.field") => {
                    (node, Self::coded("remove \"message\" processor"))
                }
                RuleError::Const(node, path, _) if path == "remove.if" => {
                    (node, Self::coded(&with_if))
                }
                other => self.plain(i, other),
            })
            .collect()
    }

    /// gojsonschema's own wording.
    fn plain<'a>(&self, i: usize, e: RuleError<'a>) -> Finding<'a> {
        match e {
            RuleError::Required(node, key) => (node, format!("{key} is required")),
            RuleError::Const(node, path, expected) => (
                node,
                format!("{}.{i}.{path} does not match: {expected}", self.key),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(version: &str, yaml: &str) -> Vec<String> {
        let v = Version::parse(version).unwrap();
        crate::schema::messages(&pipeline(&v), yaml)
    }

    fn coded(field: &str, text: &str) -> String {
        format!("field {field}: {RENAME_PREFIX} {text} ({RENAME_CODE})")
    }

    const UNGUARDED: &str = "processors:\n- set:\n    field: a\n- rename:\n    field: message\n    target_field: event.original\n";

    #[test]
    fn one_known_processor_per_item() {
        let yaml = "description: d\nprocessors:\n- set: {}\n  rename: {}\n- reroute: {}\n- foreach:\n    field: x\n    processor:\n      paint: {}\nother: 1\n";
        assert_eq!(
            check("3.0.0", yaml),
            vec![
                "field processors.0: Must have at most 1 properties",
                "field processors.1: Additional property reroute is not allowed",
                "field processors.2.foreach.processor: Additional property paint is not allowed",
                "field (root): Additional property other is not allowed",
            ]
        );
        assert_eq!(
            check("3.0.0", "processors:\n- set: 1\n"),
            vec!["field processors.0.set: Invalid type. Expected: object, given: integer"]
        );
    }

    #[test]
    fn terminate_from_3_3_2_and_no_schema_before_3_0_0() {
        let yaml = "processors:\n- terminate:\n";
        assert_eq!(
            check("3.3.1", yaml),
            vec!["field processors.0: Additional property terminate is not allowed"]
        );
        assert!(check("3.3.2", yaml).is_empty());
        assert!(check("2.12.0", "processors:\n- reroute: {}\nextra: 1\n").is_empty());
    }

    #[test]
    fn unguarded_rename_of_message() {
        assert_eq!(
            check("3.1.0", UNGUARDED),
            vec![
                coded("processors.0", "remove \"message\" processor"),
                coded("processors.1.rename", "if: 'ctx.event?.original == null'"),
            ]
        );
        // The rule came with 3.1.0.
        assert!(check("3.0.3", UNGUARDED).is_empty());
    }

    #[test]
    fn wrong_remove_is_the_closest_item() {
        let yaml = "processors:\n- set: {}\n- rename:\n    field: message\n    target_field: event.original\n    if: ctx.event?.original == null\n- remove:\n    field: event.original\n    if: ctx?.tags == null\n    ignore_missing: true\n";
        assert_eq!(
            check("3.1.0", yaml),
            vec![
                coded("processors.2.remove.field", "remove \"message\" processor"),
                coded(
                    "processors.2.remove.if",
                    "remove \"message\" processor with if: 'ctx.event?.original != null'"
                ),
            ]
        );
        let missing = "processors:\n- rename:\n    field: message\n    target_field: event.original\n    if: ctx.event?.original == null\n- remove:\n    field: message\n    ignore_missing: false\n";
        assert_eq!(
            check("3.1.0", missing),
            vec![
                "field processors.1.remove.ignore_missing: processors.1.remove.ignore_missing does not match: true".to_string(),
                coded("processors.1.remove", "remove \"message\" processor with if: 'ctx.event?.original != null'"),
            ]
        );
    }

    #[test]
    fn removed_field_lists() {
        let guarded = "processors:\n- rename:\n    field: message\n    target_field: event.original\n    if: ctx.event?.original == null\n";
        let with = |field: &str| {
            format!(
                "{guarded}- remove:\n    field: {field}\n    ignore_missing: true\n    if: ctx.event?.original != null\n"
            )
        };
        assert!(check("3.1.0", &with("[json, message]")).is_empty());
        assert!(check("3.1.0", &with("message")).is_empty());
        assert_eq!(
            check("3.1.0", &with("[json, other]")),
            vec![coded(
                "processors.1.remove.field.0",
                "remove \"message\" processor"
            )]
        );
        assert_eq!(
            check("3.1.0", &with("[]")),
            vec![coded(
                "processors.1.remove.field",
                "remove \"message\" processor"
            )]
        );
    }

    #[test]
    fn guarded_pipeline_and_other_renames_pass() {
        let yaml = "processors:\n- rename:\n    field: message\n    target_field: event.original\n    ignore_missing: true\n    if: ctx.event?.original == null\n- remove:\n    field: message\n    ignore_missing: true\n    if: ctx.event?.original != null\n";
        assert!(check("3.1.0", yaml).is_empty());
        assert!(
            check(
                "3.1.0",
                "processors:\n- rename:\n    field: a\n    target_field: b\n"
            )
            .is_empty()
        );
    }

    #[test]
    fn on_failure_keeps_gojsonschema_wording() {
        let yaml = UNGUARDED.replace("processors:", "on_failure:");
        assert_eq!(
            check("3.1.0", &yaml),
            vec![
                "field on_failure.0: remove is required",
                "field on_failure.1.rename: if is required"
            ]
        );
        let wrong_if = "on_failure:\n- rename:\n    field: message\n    target_field: event.original\n    if: 'true'\n- remove:\n    field: message\n    ignore_missing: true\n    if: ctx.event?.original != null\n";
        assert_eq!(
            check("3.1.0", wrong_if),
            vec![
                "field on_failure.0.rename.if: on_failure.0.rename.if does not match: \"ctx.event?.original == null\""
            ]
        );
    }
}
