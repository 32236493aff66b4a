//! Reading YAML values as yaml.v3 decodes them into the Go types package-spec's
//! rules unmarshal into, shared by the rule groups. Wrong types are not errors here:
//! the schema pass reports them, and rules just see "absent".

use epr_package::yaml::{self, Node, Value};

/// A scalar decoded into a Go string: its text (null is empty); collections fail.
pub fn go_string(node: &Node) -> Option<String> {
    yaml::scalar_to_string(&node.value)
}

/// A value decoded into a Go bool by yaml.v3, which also takes the YAML 1.1 words.
pub fn go_bool(node: &Node) -> Option<bool> {
    match &node.value {
        Value::Null => Some(false),
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.as_str() {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The value at `key` as yaml.v3 decodes it into a Go `string` field: the text of a
/// scalar, empty for null, a missing key or a collection.
pub fn text(node: &Node, key: &str) -> String {
    node.get(key).and_then(go_string).unwrap_or_default()
}

/// The value at `key` as yaml.v3 decodes it into a Go `bool` field; false when
/// missing or not a boolean.
pub fn flag(node: &Node, key: &str) -> bool {
    node.get(key).and_then(go_bool).unwrap_or(false)
}

/// The items of the sequence at `key`; none when it is missing or not a sequence.
pub fn items<'n>(node: &'n Node, key: &str) -> &'n [Node] {
    match node.get(key).map(|n| &n.value) {
        Some(Value::Seq(items)) => items,
        _ => &[],
    }
}

/// The string at `key` when it is one (Go's `.(string)` assertion on a decoded value).
pub fn string_at<'n>(node: &'n Node, key: &str) -> Option<&'n str> {
    match node.get(key).map(|n| &n.value) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// The strings of a list of strings at `key`; `None` when absent, not a list, or
/// holding anything but strings.
pub fn strings_at(node: &Node, key: &str) -> Option<Vec<String>> {
    match &node.get(key)?.value {
        Value::Seq(items) => items
            .iter()
            .map(|item| match &item.value {
                Value::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}
