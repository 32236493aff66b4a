//! Typed reads from a YAML tree that collect problems instead of stopping at the first.
//!
//! go-ucfg coerces scalars into string fields and fails on a collection where a
//! scalar is expected; we do the same, and record each failure with its file, key
//! path and line so that a package author sees every problem in one run.

use crate::json::{self, Json};
use crate::problem::Problem;
use crate::yaml::{self, Node, Value};

/// Problems found in one file, each with the key path and line.
#[derive(Debug, Default)]
pub struct Problems {
    pub file: String,
    pub items: Vec<Problem>,
}

impl Problems {
    pub fn new(file: impl Into<String>) -> Problems {
        Problems {
            file: file.into(),
            items: Vec::new(),
        }
    }

    /// A problem with `key` (a key path), at `node`'s line when there is one.
    pub fn push(&mut self, node: Option<&Node>, key: &str, message: impl std::fmt::Display) {
        let message = format!("{key}: {message}");
        self.items.push(match node {
            Some(n) => Problem::at(&self.file, n.line, message),
            None => Problem::file(&self.file, message),
        });
    }
}

/// A cursor on a map node, naming keys by their full path in messages.
#[derive(Clone, Copy)]
pub struct Obj<'a> {
    pub node: Option<&'a Node>,
    pub path: &'a str,
}

impl<'a> Obj<'a> {
    pub fn root(node: &'a Node) -> Obj<'a> {
        Obj {
            node: Some(node),
            path: "",
        }
    }

    pub fn raw(&self, key: &str) -> Option<&'a Node> {
        self.node?.get(key).filter(|n| !n.is_null())
    }

    /// True when the key is present with a non-null value.
    pub fn has(&self, key: &str) -> bool {
        self.raw(key).is_some()
    }

    pub fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// A string field; scalars are coerced, collections are a problem.
    pub fn string(&self, key: &str, p: &mut Problems) -> Option<String> {
        let n = self.raw(key)?;
        match yaml::scalar_to_string(&n.value) {
            Some(s) => Some(s),
            None => {
                p.push(
                    Some(n),
                    &self.key_path(key),
                    format!("expected a string, found {}", n.kind()),
                );
                None
            }
        }
    }

    /// A string field that must be present and non-empty (`validate:"required"`).
    pub fn required_string(&self, key: &str, p: &mut Problems) -> String {
        match self.string(key, p) {
            Some(s) if !s.is_empty() => s,
            Some(_) | None => {
                p.push(
                    self.node,
                    &self.key_path(key),
                    "required field is missing or empty",
                );
                String::new()
            }
        }
    }

    pub fn string_or_empty(&self, key: &str, p: &mut Problems) -> String {
        self.string(key, p).unwrap_or_default()
    }

    /// A boolean field; go-ucfg also accepts the strings it can parse as booleans.
    pub fn bool(&self, key: &str, p: &mut Problems) -> Option<bool> {
        let n = self.raw(key)?;
        match &n.value {
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.as_str() {
                "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
                "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
                _ => {
                    p.push(
                        Some(n),
                        &self.key_path(key),
                        format!("expected a boolean, found `{s}`"),
                    );
                    None
                }
            },
            _ => {
                p.push(
                    Some(n),
                    &self.key_path(key),
                    format!("expected a boolean, found {}", n.kind()),
                );
                None
            }
        }
    }

    /// A nested object; `None` when absent. A scalar or list is a problem.
    pub fn obj(&self, key: &str, path: &'a str, p: &mut Problems) -> Option<Obj<'a>> {
        let n = self.raw(key)?;
        match n.value {
            Value::Map(_) => Some(Obj {
                node: Some(n),
                path,
            }),
            _ => {
                p.push(
                    Some(n),
                    &self.key_path(key),
                    format!("expected an object, found {}", n.kind()),
                );
                None
            }
        }
    }

    /// A list of objects; `None` when absent.
    pub fn list(&self, key: &str, p: &mut Problems) -> Option<Vec<&'a Node>> {
        let n = self.raw(key)?;
        match &n.value {
            Value::Seq(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item.value {
                        Value::Map(_) => out.push(item),
                        Value::Null => {}
                        _ => p.push(
                            Some(item),
                            &format!("{}.{i}", self.key_path(key)),
                            format!("expected an object, found {}", item.kind()),
                        ),
                    }
                }
                Some(out)
            }
            // go-ucfg accepts a single object where a list is expected.
            Value::Map(_) => Some(vec![n]),
            _ => {
                p.push(
                    Some(n),
                    &self.key_path(key),
                    format!("expected a list, found {}", n.kind()),
                );
                None
            }
        }
    }

    /// A list of strings; a single scalar counts as a one-element list, as in go-ucfg.
    pub fn strings(&self, key: &str, p: &mut Problems) -> Option<Vec<String>> {
        let n = self.raw(key)?;
        let items: Vec<&Node> = match &n.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![n],
        };
        let mut out = Vec::new();
        for item in items {
            match yaml::scalar_to_string(&item.value) {
                Some(s) => out.push(s),
                None => p.push(
                    Some(item),
                    &self.key_path(key),
                    format!("expected a list of strings, found {}", item.kind()),
                ),
            }
        }
        Some(out)
    }

    /// A free-form map as JSON with sorted keys; omitted when absent or empty.
    pub fn free_map(&self, key: &str, p: &mut Problems) -> Option<Json> {
        let n = self.raw(key)?;
        match &n.value {
            Value::Map(entries) if entries.is_empty() => None,
            Value::Map(_) => Some(json::from_yaml(n)),
            _ => {
                p.push(
                    Some(n),
                    &self.key_path(key),
                    format!("expected an object, found {}", n.kind()),
                );
                None
            }
        }
    }
}

/// Builds a JSON object, skipping what Go's `omitempty` would skip.
#[derive(Default)]
pub struct ObjBuilder(pub Vec<(String, Json)>);

impl ObjBuilder {
    pub fn new() -> ObjBuilder {
        ObjBuilder(Vec::new())
    }

    pub fn always(mut self, key: &str, value: Json) -> Self {
        self.0.push((key.to_string(), value));
        self
    }

    pub fn str(self, key: &str, value: &str) -> Self {
        self.always(key, Json::str(value))
    }

    /// Omitted when empty, as `string` with `omitempty`.
    pub fn opt_str(self, key: &str, value: &str) -> Self {
        if value.is_empty() {
            self
        } else {
            self.str(key, value)
        }
    }

    pub fn opt(self, key: &str, value: Option<Json>) -> Self {
        match value {
            Some(v) => self.always(key, v),
            None => self,
        }
    }

    /// Omitted when false, as `bool` with `omitempty`.
    pub fn opt_true(self, key: &str, value: bool) -> Self {
        if value {
            self.always(key, Json::Bool(true))
        } else {
            self
        }
    }

    /// Omitted when empty, as a slice with `omitempty`.
    pub fn opt_list(self, key: &str, items: Vec<Json>) -> Self {
        if items.is_empty() {
            self
        } else {
            self.always(key, Json::Arr(items))
        }
    }

    pub fn build(self) -> Json {
        Json::Obj(self.0)
    }
}
