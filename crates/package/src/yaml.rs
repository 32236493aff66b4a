//! A YAML document tree as the upstream registry sees it.
//!
//! The upstream reads manifests with go-ucfg on top of gopkg.in/yaml.v2, which means
//! YAML 1.1 scalars (`yes`, `on`, `0777` …) and keys containing dots expanded into
//! nested maps everywhere (`owner.github: x` is `owner: {github: x}`). The event
//! stream comes from libyaml-safer, a port of libyaml like go-yaml itself, so the
//! documents it accepts are the ones the upstream accepts (yaml-rust2 refused real
//! packages that libyaml reads). This module builds our own tree from the events,
//! so that scalar resolution, dot expansion and line numbers are ours to decide.
//!
//! Aliases are resolved by copying, with a budget on the total number of nodes so that
//! an "alias bomb" is refused instead of exhausting memory.

use std::collections::HashMap;

use libyaml_safer::{EventData, Parser, ScalarStyle};

/// How many nodes one document may expand to, aliases included.
const MAX_NODES: usize = 1_000_000;

/// How deeply collections may nest. Every walk over a tree is recursive, so a
/// document of 100,000 nested `[` must be refused before it is built; real files nest
/// a few dozen levels at most.
const MAX_DEPTH: usize = 1000;

/// A YAML value with the line (1-based) where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// Integers above `i64::MAX`, as yaml.v2 yields them.
    UInt(u64),
    Float(f64),
    /// A string; `plain` is true when it was an unquoted scalar.
    String(String),
    Seq(Vec<Node>),
    /// Keys in document order; duplicate keys keep the last value, as yaml.v2 does.
    Map(Vec<(String, Node)>),
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    #[error("yaml: {message}")]
    Syntax { line: usize, message: String },
    #[error("yaml: document expands to more than {MAX_NODES} nodes (alias bomb?)")]
    TooLarge,
    #[error("yaml: line {line}: collections nested more than {MAX_DEPTH} levels deep")]
    TooDeep { line: usize },
    #[error("yaml: line {line}: unknown anchor")]
    UnknownAnchor { line: usize },
}

/// Which YAML library's reading of plain scalars to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// gopkg.in/yaml.v2 (YAML 1.1: `yes`/`on` are booleans), what the registry uses.
    #[default]
    V2,
    /// gopkg.in/yaml.v3 (only `true`/`false` are booleans; duplicate keys are errors),
    /// what package-spec's validator uses.
    V3,
}

/// Parses the first document of `text` as yaml.v2 does. An empty document is `Null`.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    parse_with(text, Dialect::V2)
}

/// Parses the first document of `text` as yaml.v3 does, as the package-spec validator
/// reads files.
pub fn parse_v3(text: &str) -> Result<Node, YamlError> {
    parse_with(text, Dialect::V3)
}

/// The parser's next event. libyaml-safer 0.3 panics on one input libyaml
/// accepts (a tag followed by a comma in a flow collection, `[!x, y]`; found by
/// the `yaml` fuzz target): that panic is caught and told as a syntax error, so
/// a hostile file is refused instead of taking its thread down.
fn parse_event<R: std::io::BufRead>(
    parser: &mut Parser<R>,
) -> Result<libyaml_safer::Event, YamlError> {
    let at = |mark: Option<libyaml_safer::Mark>| mark.map_or(0, |m| m.line as usize + 1);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse())) {
        Ok(Ok(event)) => Ok(event),
        Ok(Err(e)) => Err(YamlError::Syntax {
            line: at(e.problem_mark()),
            message: e.to_string(),
        }),
        Err(_) => Err(YamlError::Syntax {
            line: 0,
            message: "a tag followed by a comma in a flow collection is not supported".into(),
        }),
    }
}

/// Parses the first document of `text` in the given dialect.
pub fn parse_with(text: &str, dialect: Dialect) -> Result<Node, YamlError> {
    with_final_line_break(text, |text| parse_events(text, dialect, None)).map(|node| {
        node.unwrap_or(Node {
            value: Value::Null,
            line: 1,
        })
    })
}

/// Parses `text` as [`parse`] does, but keeps of every map only the entries
/// whose key is in `keep`; the rest is read and checked (syntax, size, depth)
/// without being built. What a caller of `parse` would conclude from the kept
/// entries, and every error, is the same, at a fraction of the cost when most of
/// a document is thrown away (the required-fields check reads 14 MB of field
/// definitions for three keys). A document with anchors is parsed in full, as an
/// alias may copy a part that was not kept: its tree has the other entries too.
pub fn parse_keeping(text: &str, keep: &'static [&'static str]) -> Result<Node, YamlError> {
    match with_final_line_break(text, |text| parse_events(text, Dialect::V2, Some(keep)))? {
        Some(node) => Ok(node),
        None => parse(text),
    }
}

/// Runs `parse` on `text` ending in a line break, turning a parser panic into an
/// error.
fn with_final_line_break<T>(
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, YamlError>,
) -> Result<T, YamlError> {
    // libyaml-safer 0.3 panics on a block scalar that ends the input without a line
    // break; a final line break changes nothing else, so we always supply one. Any
    // other panic in the parser becomes an error: no input may bring the server down.
    let owned;
    let text = if text.ends_with('\n') {
        text
    } else {
        owned = format!("{text}\n");
        &owned
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse(text))).unwrap_or_else(|_| {
        Err(YamlError::Syntax {
            line: 0,
            message: "the YAML parser failed on this document".into(),
        })
    })
}

/// The first document's tree; `Ok(None)` when keeping only some keys met an
/// anchor (the caller parses in full).
fn parse_events(
    text: &str,
    dialect: Dialect,
    keep: Option<&'static [&'static str]>,
) -> Result<Option<Node>, YamlError> {
    let mut builder = Builder {
        dialect,
        keep,
        ..Builder::default()
    };
    let mut input = text.as_bytes();
    let mut parser = Parser::new();
    parser.set_input_string(&mut input);
    let mut documents = 0;
    loop {
        let event = parse_event(&mut parser)?;
        let line = event.start_mark.line as usize + 1;
        match event.data {
            EventData::StreamEnd => break,
            EventData::DocumentStart { .. } => documents += 1,
            // Only the first document counts, as in go-yaml's Unmarshal.
            EventData::DocumentEnd { .. } if documents == 1 => break,
            data => builder.on_event(data, line),
        }
        if let Some(err) = builder.error.take() {
            return Err(err);
        }
        if builder.saw_anchor {
            return Ok(None);
        }
    }
    Ok(Some(builder.root.unwrap_or(Node {
        value: Value::Null,
        line: 1,
    })))
}

/// The text of a YAML file. package-spec requires UTF-8, and the lossy
/// alternative would put replacement characters in the index while the stored
/// file keeps its raw bytes. The error is to be prefixed with the file's path.
pub fn utf8_text(bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "invalid UTF-8 at byte {}: YAML files must be UTF-8",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Parses `text` and expands dotted keys everywhere, as go-ucfg with `PathSep(".")` does.
pub fn parse_config(text: &str) -> Result<Node, YamlError> {
    parse(text).map(expand_dotted_keys)
}

enum Frame {
    Seq {
        items: Vec<Node>,
        line: usize,
        anchor: Option<String>,
        /// The nodes of the items, aliases expanded.
        nodes: usize,
    },
    Map {
        entries: Vec<(String, Node)>,
        pending_key: Option<String>,
        line: usize,
        anchor: Option<String>,
        /// The nodes of the keys and values, aliases expanded.
        nodes: usize,
    },
    /// A collection that is read but not kept (see [`parse_keeping`]).
    Skip,
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    /// Anchored nodes with their node counts, so that an alias is priced before it is copied.
    anchors: HashMap<String, (Node, usize)>,
    root: Option<Node>,
    nodes: usize,
    error: Option<YamlError>,
    dialect: Dialect,
    /// The map keys to keep, when not everything is (see [`parse_keeping`]).
    keep: Option<&'static [&'static str]>,
    /// An anchor came while keeping only some keys.
    saw_anchor: bool,
}

impl Builder {
    /// Adds `node`, which counts `size` nodes, to the collection being built (or
    /// makes it the root). `new` is how many of those nodes are new to the
    /// document's count: 1 for a scalar or a finished collection (its children
    /// were counted as they came), `size` for an alias's copy.
    fn push_value(&mut self, node: Node, size: usize, new: usize, anchor: Option<String>) {
        if self.error.is_some() {
            return;
        }
        self.nodes += new;
        if self.nodes > MAX_NODES {
            self.error = Some(YamlError::TooLarge);
            return;
        }
        if let Some(anchor) = anchor {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { items, nodes, .. }) => {
                *nodes += size;
                items.push(node);
            }
            // Values inside a skipped collection go to `skip_value`, never here.
            Some(Frame::Skip) => {}
            Some(Frame::Map {
                entries,
                pending_key,
                nodes,
                ..
            }) => {
                *nodes += size;
                match pending_key.take() {
                    None => *pending_key = Some(key_string(&node)),
                    Some(key) => {
                        // yaml.v2 keeps the last of duplicate keys; yaml.v3 refuses them.
                        if let Some(slot) = entries.iter_mut().find(|(k, _)| *k == key) {
                            if self.dialect == Dialect::V3 {
                                self.error = Some(YamlError::Syntax {
                                    line: node.line,
                                    message: format!(
                                        "yaml: line {}: mapping key \"{key}\" already defined at line {}",
                                        node.line, slot.1.line
                                    ),
                                });
                                return;
                            }
                            slot.1 = node;
                        } else {
                            entries.push((key, node));
                        }
                    }
                }
            }
        }
    }
}

impl Builder {
    /// Whether the next value is read without being kept: it is inside a skipped
    /// collection, or the value of a map key that is not kept.
    fn skips_next(&self) -> bool {
        let Some(keep) = self.keep else {
            return false;
        };
        match self.stack.last() {
            Some(Frame::Skip) => true,
            Some(Frame::Map {
                pending_key: Some(key),
                ..
            }) => !keep.contains(&key.as_str()),
            _ => false,
        }
    }

    /// Counts a value that is not kept and, in a map, ends its entry.
    fn skip_value(&mut self) {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            self.error = Some(YamlError::TooLarge);
        }
        if let Some(Frame::Map { pending_key, .. }) = self.stack.last_mut() {
            *pending_key = None;
        }
    }
}

/// Map keys are strings for us, whatever their YAML type (`1: x`, `true: y`).
fn key_string(node: &Node) -> String {
    match &node.value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => scalar_to_string(other).unwrap_or_default(),
    }
}

impl Builder {
    fn on_event(&mut self, event: EventData, line: usize) {
        if self.error.is_some() {
            return;
        }
        if matches!(
            event,
            EventData::SequenceStart { .. } | EventData::MappingStart { .. }
        ) && self.stack.len() >= MAX_DEPTH
        {
            self.error = Some(YamlError::TooDeep { line });
            return;
        }
        if self.keep.is_some() {
            if let EventData::SequenceStart {
                anchor: Some(_), ..
            }
            | EventData::MappingStart {
                anchor: Some(_), ..
            }
            | EventData::Scalar {
                anchor: Some(_), ..
            } = &event
            {
                self.saw_anchor = true;
                return;
            }
            // The end of a collection pops its frame below, skipped or not.
            let ends = matches!(event, EventData::SequenceEnd | EventData::MappingEnd);
            if !ends && self.skips_next() {
                match event {
                    EventData::SequenceStart { .. } | EventData::MappingStart { .. } => {
                        self.stack.push(Frame::Skip);
                    }
                    EventData::Scalar { .. } => self.skip_value(),
                    // An alias before any anchor: the error a full parse gives.
                    EventData::Alias { .. } => {
                        self.error = Some(YamlError::UnknownAnchor { line });
                    }
                    _ => {}
                }
                return;
            }
        }
        match event {
            EventData::SequenceStart { anchor, .. } => self.stack.push(Frame::Seq {
                items: Vec::new(),
                line,
                anchor,
                nodes: 0,
            }),
            EventData::MappingStart { anchor, .. } => self.stack.push(Frame::Map {
                entries: Vec::new(),
                pending_key: None,
                line,
                anchor,
                nodes: 0,
            }),
            EventData::SequenceEnd | EventData::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq {
                    items,
                    line,
                    anchor,
                    nodes,
                }) => self.push_value(
                    Node {
                        value: Value::Seq(items),
                        line,
                    },
                    1 + nodes,
                    1,
                    anchor,
                ),
                Some(Frame::Map {
                    entries,
                    line,
                    anchor,
                    nodes,
                    ..
                }) => self.push_value(
                    Node {
                        value: Value::Map(entries),
                        line,
                    },
                    1 + nodes,
                    1,
                    anchor,
                ),
                Some(Frame::Skip) => self.skip_value(),
                None => {}
            },
            EventData::Scalar {
                anchor,
                tag,
                value,
                style,
                ..
            } => {
                let value = if style == ScalarStyle::Plain && tag.is_none() {
                    resolve_plain(&value, self.dialect)
                } else {
                    Value::String(value)
                };
                self.push_value(Node { value, line }, 1, 1, anchor)
            }
            EventData::Alias { anchor } => match self.anchors.get(&anchor) {
                Some((_, size)) if self.nodes + size > MAX_NODES => {
                    self.error = Some(YamlError::TooLarge)
                }
                Some((node, size)) => {
                    let (node, size) = (node.clone(), *size);
                    self.push_value(node, size, size, None)
                }
                None => self.error = Some(YamlError::UnknownAnchor { line }),
            },
            _ => {}
        }
    }
}

/// Resolves an unquoted scalar the way yaml.v2 (YAML 1.1) or yaml.v3 does.
fn resolve_plain(text: &str, dialect: Dialect) -> Value {
    if dialect == Dialect::V3 {
        match text {
            "true" | "True" | "TRUE" => return Value::Bool(true),
            "false" | "False" | "FALSE" => return Value::Bool(false),
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "n" | "N" | "no" | "No"
            | "NO" | "off" | "Off" | "OFF" => return Value::String(text.to_string()),
            _ => {}
        }
        if let Some(octal) = text.strip_prefix("0o")
            && let Ok(v) = i64::from_str_radix(octal, 8)
        {
            return Value::Int(v);
        }
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return Value::String(text.to_string());
    }
    if let Some(v) = parse_int(text) {
        return v;
    }
    if is_yaml11_float(text)
        && let Ok(f) = text.replace('_', "").parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::String(text.to_string())
}

fn parse_int(text: &str) -> Option<Value> {
    let plain = text.replace('_', "");
    let (neg, digits) = match plain.as_bytes().first()? {
        b'-' => (true, &plain[1..]),
        b'+' => (false, &plain[1..]),
        _ => (false, &plain[..]),
    };
    if digits.is_empty() {
        return None;
    }
    let (radix, body) = if let Some(b) = digits.strip_prefix("0b") {
        (2, b)
    } else if let Some(h) = digits.strip_prefix("0x") {
        (16, h)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(body, radix).ok()?;
    if neg {
        if magnitude <= i64::MAX as u64 + 1 {
            return Some(Value::Int((magnitude as i128).wrapping_neg() as i64));
        }
        return None;
    }
    if magnitude <= i64::MAX as u64 {
        Some(Value::Int(magnitude as i64))
    } else {
        Some(Value::UInt(magnitude))
    }
}

/// YAML 1.1 float syntax: `[-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?`; yaml.v2 also
/// accepts plain exponents such as `1e3` through strconv.
fn is_yaml11_float(text: &str) -> bool {
    let t = text.trim_start_matches(['-', '+']);
    let mut seen_digit = false;
    let mut seen_dot_or_exp = false;
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '0'..='9' | '_' => seen_digit |= c != '_',
            '.' => seen_dot_or_exp = true,
            'e' | 'E' => {
                seen_dot_or_exp = true;
                if matches!(chars.peek(), Some('-') | Some('+')) {
                    chars.next();
                }
            }
            _ => return false,
        }
    }
    seen_digit && seen_dot_or_exp
}

/// The string go-ucfg gives a scalar unpacked into a string field; `None` for
/// collections.
pub fn scalar_to_string(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => crate::json::format_float(*f),
        Value::String(s) => s.clone(),
        Value::Seq(_) | Value::Map(_) => return None,
    })
}

/// Expands `a.b.c: v` into `a: {b: {c: v}}`, merging with siblings, in every map of
/// the tree.
pub fn expand_dotted_keys(node: Node) -> Node {
    let line = node.line;
    let value = match node.value {
        Value::Seq(items) => Value::Seq(items.into_iter().map(expand_dotted_keys).collect()),
        Value::Map(entries) => {
            let mut out: Vec<(String, Node)> = Vec::new();
            for (key, child) in entries {
                let child = expand_dotted_keys(child);
                let parts: Vec<&str> = key.split('.').collect();
                insert_path(&mut out, &parts, child);
            }
            Value::Map(out)
        }
        other => other,
    };
    Node { value, line }
}

fn insert_path(map: &mut Vec<(String, Node)>, path: &[&str], value: Node) {
    let (head, rest) = (path[0], &path[1..]);
    let existing = map.iter().position(|(k, _)| k == head);
    if rest.is_empty() {
        match existing {
            Some(i) => merge_into(&mut map[i].1, value),
            None => map.push((head.to_string(), value)),
        }
        return;
    }
    let line = value.line;
    let idx = match existing {
        Some(i) if matches!(map[i].1.value, Value::Map(_)) => i,
        Some(i) => {
            map[i].1 = Node {
                value: Value::Map(Vec::new()),
                line,
            };
            i
        }
        None => {
            map.push((
                head.to_string(),
                Node {
                    value: Value::Map(Vec::new()),
                    line,
                },
            ));
            map.len() - 1
        }
    };
    if let Value::Map(inner) = &mut map[idx].1.value {
        insert_path(inner, rest, value);
    }
}

/// Two definitions of the same key: maps merge, anything else is replaced.
fn merge_into(target: &mut Node, value: Node) {
    match (&mut target.value, value.value) {
        (Value::Map(existing), Value::Map(new)) => {
            for (k, v) in new {
                insert_path(existing, &[k.as_str()], v);
            }
        }
        (_, other) => {
            *target = Node {
                value: other,
                line: value.line,
            };
        }
    }
}

impl Node {
    /// The child at `key` of a map; `None` for anything else.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// A short name of the node's type for error messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::UInt(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Seq(_) => "array",
            Value::Map(_) => "object",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `yaml` fuzz target: libyaml-safer panicked on a tag followed
    /// by a comma in a flow collection. Refused now, in every dialect.
    #[test]
    fn a_tag_before_a_comma_in_a_flow_is_refused_not_a_panic() {
        for text in ["[!x, y]\n", "a: {b: !t, c: d}\n"] {
            let error = parse_config(text).unwrap_err().to_string();
            assert!(error.contains("tag followed by a comma"), "{text}: {error}");
            assert!(parse_v3(text).is_err());
        }
    }

    /// `node` with only the `keep` entries of every map, as `parse_keeping` builds it.
    fn pruned(node: Node, keep: &[&str]) -> Node {
        let value = match node.value {
            Value::Seq(items) => Value::Seq(items.into_iter().map(|n| pruned(n, keep)).collect()),
            Value::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .filter(|(k, _)| keep.contains(&k.as_str()))
                    .map(|(k, v)| (k, pruned(v, keep)))
                    .collect(),
            ),
            other => other,
        };
        Node { value, ..node }
    }

    #[test]
    fn keeping_some_keys_is_a_full_parse_pruned() {
        const KEEP: &[&str] = &["name", "type", "fields"];
        let bomb = {
            let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
            for i in 1..8 {
                doc.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n", p = i - 1));
            }
            doc
        };
        let deep = format!("- name: x\n  description: {}\n", "[".repeat(2000));
        let mut docs = vec![
            "".to_string(),
            "~".to_string(),
            "- name: a\n  type: keyword\n  description: text\n".to_string(),
            "- name: group\n  type: group\n  fields:\n    - name: inner\n      type: date\n      example: {a: [1, 2, {b: c}]}\n".to_string(),
            "- name: a\n  name: b\n  type: 3\n  fields: [{name: c, type: yes, x: [1, [2]]}]\n".to_string(),
            "- {name: a, description: \"quoted\", type: 'long'}\n- name: b\n  other:\n    name: hidden\n".to_string(),
            "name: not a list\nfields: []\nextra: {a: b}\n".to_string(),
            "- name: a\n  description: >\n    folded\n    text\n  type: text".to_string(),
            "- name: a\n  anchored: &x {name: y}\n  fields: [*x]\n".to_string(),
            "- name: a\n  fields: *missing\n".to_string(),
            "- name: a\n  description: *missing\n".to_string(),
            "- name: a\n   type: bad indent\n".to_string(),
            "- name: [unclosed\n".to_string(),
            "- name: a\n---\n- name: second document\n".to_string(),
            "? [complex, key]\n: value\nname: x\n".to_string(),
            bomb,
            deep,
        ];
        let real =
            "/../../testdata/packages/nginx_logs/1.0.0/data_stream/access/fields/base-fields.yml";
        docs.push(
            std::fs::read_to_string(format!("{}{real}", env!("CARGO_MANIFEST_DIR"))).unwrap(),
        );
        for doc in &docs {
            for keep in [KEEP, &[]] {
                let full = parse(doc).map(|n| pruned(n, keep));
                let kept = parse_keeping(doc, keep).map(|n| pruned(n, keep));
                assert_eq!(kept, full, "{doc}");
            }
        }
        // Without anchors nothing else is built.
        let doc = "- name: a\n  description: text\n  fields: [{name: b, x: {y: z}}]\n";
        assert_eq!(
            parse_keeping(doc, KEEP),
            parse(doc).map(|n| pruned(n, KEEP))
        );
    }

    fn v(text: &str) -> Value {
        parse(text).unwrap().value
    }

    #[test]
    fn resolves_yaml11_scalars() {
        assert_eq!(v("yes"), Value::Bool(true));
        assert_eq!(v("off"), Value::Bool(false));
        assert_eq!(v("'yes'"), Value::String("yes".into()));
        assert_eq!(v("0777"), Value::Int(511));
        assert_eq!(v("0x1F"), Value::Int(31));
        assert_eq!(v("1.5"), Value::Float(1.5));
        assert_eq!(v("1.0.0"), Value::String("1.0.0".into()));
        assert_eq!(v("~"), Value::Null);
        assert_eq!(v("18446744073709551615"), Value::UInt(u64::MAX));
    }

    #[test]
    fn expands_dotted_keys_and_merges() {
        let n = parse_config("owner.github: a\nowner:\n  type: elastic\n").unwrap();
        let owner = n.get("owner").unwrap();
        assert_eq!(
            owner.get("github").unwrap().value,
            Value::String("a".into())
        );
        assert_eq!(
            owner.get("type").unwrap().value,
            Value::String("elastic".into())
        );
    }

    #[test]
    fn keeps_lines() {
        let n = parse("a: 1\nb:\n  - x\n").unwrap();
        assert_eq!(n.get("b").unwrap().line, 3);
    }

    #[test]
    fn refuses_alias_bombs() {
        let mut doc = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for c in 'b'..='j' {
            let refs = vec![format!("*{prev}"); 10].join(", ");
            doc.push_str(&format!("{c}: &{c} [{refs}]\n"));
            prev = c;
        }
        assert_eq!(parse(&doc), Err(YamlError::TooLarge));
    }

    #[test]
    fn refuses_deep_nesting() {
        let doc = "[".repeat(100_000);
        assert!(matches!(parse(&doc), Err(YamlError::TooDeep { .. })));
        let ok = format!("{}{}", "[".repeat(50), "]".repeat(50));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn v3_dialect_reads_yes_as_text_and_refuses_duplicate_keys() {
        assert_eq!(parse_v3("yes").unwrap().value, Value::String("yes".into()));
        assert_eq!(parse_v3("true").unwrap().value, Value::Bool(true));
        assert_eq!(parse_v3("0o17").unwrap().value, Value::Int(15));
        assert!(parse_v3("a: 1\na: 2\n").is_err());
        assert!(parse("a: 1\na: 2\n").is_ok());
    }

    #[test]
    fn block_scalar_at_the_end_without_newline() {
        // Regression: libyaml-safer panicked on this (a real package has it).
        let n = parse("- name: x\n  description: >\n    Event timestamp.").unwrap();
        assert!(matches!(n.value, Value::Seq(_)));
    }

    #[test]
    fn reports_syntax_errors_with_line() {
        let err = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(matches!(err, YamlError::Syntax { .. }), "{err:?}");
    }
}
