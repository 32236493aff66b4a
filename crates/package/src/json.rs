//! JSON written byte for byte as the upstream registry writes it.
//!
//! The upstream marshals Go structs with `json.MarshalIndent(v, "", "  ")` and HTML
//! escaping off. Clients and the golden files compare bytes, so key order (struct
//! order, not alphabetical), float formatting and escaping all matter. We build an
//! ordered [`Json`] tree and print it here; serde_json would need overrides for
//! floats and escaping anyway.

use crate::yaml::{Node, Value};

/// An ordered JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Arr(Vec<Json>),
    /// Keys in output order.
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }

    pub fn strings<S: AsRef<str>>(items: &[S]) -> Json {
        Json::Arr(items.iter().map(|s| Json::str(s.as_ref())).collect())
    }

    /// Pretty prints with two-space indentation, starting at `level` (so that a
    /// value can be printed once and spliced into an enclosing array later).
    pub fn write_indented(&self, out: &mut String, level: usize) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(i) => out.push_str(&i.to_string()),
            Json::UInt(u) => out.push_str(&u.to_string()),
            Json::Float(f) => out.push_str(&format_float(*f)),
            Json::Str(s) => write_string(out, s),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Obj(entries) if entries.is_empty() => out.push_str("{}"),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, level + 1);
                    item.write_indented(out, level + 1);
                }
                newline(out, level);
                out.push(']');
            }
            Json::Obj(entries) => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, level + 1);
                    write_string(out, key);
                    out.push_str(": ");
                    value.write_indented(out, level + 1);
                }
                newline(out, level);
                out.push('}');
            }
        }
    }

    /// The document as the upstream sends it: pretty printed, then one newline.
    pub fn to_document(&self) -> String {
        let mut out = String::new();
        self.write_indented(&mut out, 0);
        out.push('\n');
        out
    }
}

fn newline(out: &mut String, level: usize) {
    out.push('\n');
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// Go's encoding/json string escaping with `SetEscapeHTML(false)`.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    // Runs of characters that need no escape are copied whole: this prints every
    // `/search` entry at load, and most strings have nothing to escape.
    let mut run = 0;
    for (at, c) in s.char_indices() {
        let escaped = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            '\u{2028}' => "\\u2028",
            '\u{2029}' => "\\u2029",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[run..at]);
        if escaped.is_empty() {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push_str(escaped);
        }
        run = at + c.len_utf8();
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// Go's float64 JSON formatting: shortest round-trip digits, no trailing `.0`,
/// exponent form only below 1e-6 or from 1e21 on (`1e-7`, `1e+21`).
pub fn format_float(f: f64) -> String {
    if !f.is_finite() {
        // Go refuses to marshal these; a manifest default of .inf is better shown than lost.
        return if f.is_nan() {
            "NaN".into()
        } else if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        return format!("{mantissa}e{sign}{digits:0>1}");
    }
    let s = format!("{f}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// A YAML value as JSON, the way Go marshals what go-ucfg unpacked into an
/// `interface{}`: maps become objects with sorted keys.
pub fn from_yaml(node: &Node) -> Json {
    match &node.value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::Int(*i),
        Value::UInt(u) => Json::UInt(*u),
        Value::Float(f) => Json::Float(*f),
        Value::String(s) => Json::Str(s.clone()),
        Value::Seq(items) => Json::Arr(items.iter().map(from_yaml).collect()),
        Value::Map(entries) => {
            let mut sorted: Vec<(String, Json)> = entries
                .iter()
                .map(|(k, v)| (k.clone(), from_yaml(v)))
                .collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Obj(sorted)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_go() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(0.5), "0.5");
        assert_eq!(format_float(1e-7), "1e-7");
        assert_eq!(format_float(1e21), "1e+21");
        assert_eq!(format_float(123456789.0), "123456789");
        assert_eq!(format_float(-2.5e-7), "-2.5e-7");
    }

    #[test]
    fn pretty_prints_like_marshal_indent() {
        let v = Json::Obj(vec![
            ("a".into(), Json::Arr(vec![])),
            ("b".into(), Json::Obj(vec![])),
            ("c".into(), Json::Arr(vec![Json::Int(1), Json::str("<&>")])),
        ]);
        assert_eq!(
            v.to_document(),
            "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    \"<&>\"\n  ]\n}\n"
        );
    }

    #[test]
    fn escapes_like_go() {
        let mut out = String::new();
        write_string(&mut out, "a\"\\\n\u{1}\u{2028}/");
        assert_eq!(out, "\"a\\\"\\\\\\n\\u0001\\u2028/\"");
    }
}
