//! A small JSON-schema engine over our YAML trees, with gojsonschema's wording.
//!
//! package-spec describes its YAML files with JSON schemas and validates them with
//! gojsonschema; users (and the conformance cases) know its messages: `name is
//! required`, `Additional property x is not allowed`, `Invalid type. Expected: string,
//! given: null`. The schemas themselves are written in Rust with the builder below
//! (see `crate::schemas`), one function per file, taking the package's spec version
//! where a newer spec added something.
//!
//! Semantics follow gojsonschema (draft 4/6/7 hybrid): a type mismatch stops the
//! checks of that schema; `anyOf`/`oneOf` with no matching branch report the errors of
//! the best branch (fewest errors, first on ties); `allOf` and `if`/`then`/`else`
//! report the errors of their branches; `not` reports "Must not be present" (the text
//! package-spec rewrites gojsonschema's "Must not validate the schema (not)" to). The
//! summary errors gojsonschema adds for the combinators are never produced, as
//! package-spec drops them.

use std::fmt;
use std::sync::Arc;

use epr_package::yaml::{Node, Value};
use regex::Regex;

/// A JSON type name as schemas use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl Type {
    fn name(self) -> &'static str {
        match self {
            Type::Null => "null",
            Type::Boolean => "boolean",
            Type::Integer => "integer",
            Type::Number => "number",
            Type::String => "string",
            Type::Array => "array",
            Type::Object => "object",
        }
    }
}

/// A literal value for `enum` and `const`.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
}

impl Lit {
    fn matches(&self, value: &Value) -> bool {
        match (self, value) {
            (Lit::Null, Value::Null) => true,
            (Lit::Bool(a), Value::Bool(b)) => a == b,
            (Lit::Int(a), Value::Int(b)) => a == b,
            (Lit::Int(a), Value::Float(f)) => (*a as f64) == *f,
            (Lit::Str(a), Value::String(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Lit {
    /// As gojsonschema prints allowed values: JSON-encoded.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lit::Null => f.write_str("null"),
            Lit::Bool(b) => write!(f, "{b}"),
            Lit::Int(i) => write!(f, "{i}"),
            Lit::Str(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
        }
    }
}

impl From<&str> for Lit {
    fn from(s: &str) -> Lit {
        Lit::Str(s.to_string())
    }
}
impl From<bool> for Lit {
    fn from(b: bool) -> Lit {
        Lit::Bool(b)
    }
}
impl From<i64> for Lit {
    fn from(i: i64) -> Lit {
        Lit::Int(i)
    }
}

/// A `format` that needs the package to check (a path that must exist, a data stream
/// that must exist) or a plain syntactic one.
pub trait FormatChecker {
    /// `None` when `value` is fine; otherwise the message to report.
    fn check(&self, format: &str, value: &str) -> Option<String>;
}

/// Accepts every format; for tests and files without custom formats.
pub struct NoFormats;

impl FormatChecker for NoFormats {
    fn check(&self, _format: &str, _value: &str) -> Option<String> {
        None
    }
}

/// A check written in code, for the few rules JSON schema cannot say (or says with a
/// message package-spec rewrites). Returns the messages for this node.
pub type CustomCheck = Arc<dyn Fn(&Node) -> Vec<String> + Send + Sync>;

/// `if` / `then` / `else`.
type Conditional = (Schema, Option<Schema>, Option<Schema>);

#[derive(Clone, Default)]
enum Additional {
    #[default]
    Allow,
    Deny,
    Schema(Box<Schema>),
}

/// One schema (or sub-schema). Build with the methods below; every method consumes
/// and returns the schema so definitions read like the YAML they come from.
#[derive(Clone, Default)]
pub struct Schema {
    types: Vec<Type>,
    enum_values: Option<Vec<Lit>>,
    const_value: Option<Lit>,
    pattern: Option<Regex>,
    format: Option<&'static str>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    items: Option<Box<Schema>>,
    min_items: Option<usize>,
    max_items: Option<usize>,
    unique_items: bool,
    contains: Option<Box<Schema>>,
    properties: Vec<(String, Schema)>,
    pattern_properties: Vec<(Regex, Schema)>,
    additional: Additional,
    required: Vec<String>,
    min_properties: Option<usize>,
    max_properties: Option<usize>,
    property_names: Option<Box<Schema>>,
    all_of: Vec<Schema>,
    any_of: Vec<Schema>,
    one_of: Vec<Schema>,
    not: Option<Box<Schema>>,
    if_then_else: Option<Box<Conditional>>,
    /// `$ref: "#"`: the root schema of the document being validated.
    root_ref: bool,
    /// The boolean schema `false`.
    never: bool,
    custom: Vec<CustomCheck>,
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema")
            .field("types", &self.types)
            .finish_non_exhaustive()
    }
}

/// Compiles a pattern from the spec. Patterns are constants of our code, so a bad one
/// is a bug caught by the tests that build every schema.
fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("bad pattern {pattern:?} in a schema: {e}"))
}

/// Any value.
pub fn any() -> Schema {
    Schema::default()
}
/// A string.
pub fn string() -> Schema {
    any().ty(Type::String)
}
/// A boolean.
pub fn boolean() -> Schema {
    any().ty(Type::Boolean)
}
/// An integer (a float without a fractional part counts).
pub fn integer() -> Schema {
    any().ty(Type::Integer)
}
/// A number.
pub fn number() -> Schema {
    any().ty(Type::Number)
}
/// An object; add `.prop(..)`, `.required(..)`, `.closed()`.
pub fn object() -> Schema {
    any().ty(Type::Object)
}
/// An array of `items`.
pub fn array(items: Schema) -> Schema {
    let mut s = any().ty(Type::Array);
    s.items = Some(Box::new(items));
    s
}
/// An array without an item schema.
pub fn any_array() -> Schema {
    any().ty(Type::Array)
}
/// A string that must be one of `values`.
pub fn string_enum(values: &[&str]) -> Schema {
    string().one_of_values(values.iter().map(|v| Lit::from(*v)).collect())
}
/// `$ref: "#"`.
pub fn root_ref() -> Schema {
    Schema {
        root_ref: true,
        ..Schema::default()
    }
}
/// The schema `false`: nothing validates (reported as "Must not be present" when used
/// under `not`-like positions; as a property it gives `Must not be present` too).
pub fn never() -> Schema {
    Schema {
        never: true,
        ..Schema::default()
    }
}
/// `not: {}`: the property must not be there.
pub fn forbidden() -> Schema {
    any().not(any())
}

impl Schema {
    /// Adds an allowed type (several calls give `type: [a, b]`).
    pub fn ty(mut self, t: Type) -> Schema {
        self.types.push(t);
        self
    }
    /// Replaces the allowed types.
    pub fn types(mut self, ts: &[Type]) -> Schema {
        self.types = ts.to_vec();
        self
    }
    pub fn one_of_values(mut self, values: Vec<Lit>) -> Schema {
        self.enum_values = Some(values);
        self
    }
    /// `enum` of strings.
    pub fn values(self, values: &[&str]) -> Schema {
        self.one_of_values(values.iter().map(|v| Lit::from(*v)).collect())
    }
    pub fn constant(mut self, value: impl Into<Lit>) -> Schema {
        self.const_value = Some(value.into());
        self
    }
    pub fn pattern(mut self, re: &str) -> Schema {
        self.pattern = Some(compile(re));
        self
    }
    pub fn format(mut self, format: &'static str) -> Schema {
        self.format = Some(format);
        self
    }
    pub fn min_length(mut self, n: usize) -> Schema {
        self.min_length = Some(n);
        self
    }
    pub fn max_length(mut self, n: usize) -> Schema {
        self.max_length = Some(n);
        self
    }
    pub fn minimum(mut self, n: f64) -> Schema {
        self.minimum = Some(n);
        self
    }
    pub fn maximum(mut self, n: f64) -> Schema {
        self.maximum = Some(n);
        self
    }
    pub fn items(mut self, items: Schema) -> Schema {
        self.items = Some(Box::new(items));
        self
    }
    pub fn min_items(mut self, n: usize) -> Schema {
        self.min_items = Some(n);
        self
    }
    pub fn max_items(mut self, n: usize) -> Schema {
        self.max_items = Some(n);
        self
    }
    pub fn unique(mut self) -> Schema {
        self.unique_items = true;
        self
    }
    pub fn contains(mut self, s: Schema) -> Schema {
        self.contains = Some(Box::new(s));
        self
    }
    /// Adds (or replaces) a property.
    pub fn prop(mut self, name: &str, s: Schema) -> Schema {
        if let Some(slot) = self.properties.iter_mut().find(|(n, _)| n == name) {
            slot.1 = s;
        } else {
            self.properties.push((name.to_string(), s));
        }
        self
    }
    /// Removes a property (what a spec `versions` patch does for older versions).
    pub fn without(mut self, name: &str) -> Schema {
        self.properties.retain(|(n, _)| n != name);
        self.required.retain(|n| n != name);
        self
    }
    /// The schema of property `name`, to derive a variant of it.
    pub fn property(&self, name: &str) -> Option<&Schema> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
    }
    /// Changes property `name` in place, if present.
    pub fn map_prop(mut self, name: &str, f: impl FnOnce(Schema) -> Schema) -> Schema {
        if let Some(slot) = self.properties.iter_mut().find(|(n, _)| n == name) {
            let s = std::mem::take(&mut slot.1);
            slot.1 = f(s);
        }
        self
    }
    /// Changes the item schema in place, if any.
    pub fn map_items(mut self, f: impl FnOnce(Schema) -> Schema) -> Schema {
        if let Some(items) = self.items.take() {
            self.items = Some(Box::new(f(*items)));
        }
        self
    }
    pub fn pattern_prop(mut self, re: &str, s: Schema) -> Schema {
        self.pattern_properties.push((compile(re), s));
        self
    }
    /// `additionalProperties: false`.
    pub fn closed(mut self) -> Schema {
        self.additional = Additional::Deny;
        self
    }
    /// `additionalProperties: true` (the default; undoes `closed`).
    pub fn open(mut self) -> Schema {
        self.additional = Additional::Allow;
        self
    }
    /// `additionalProperties: <schema>`.
    pub fn additional(mut self, s: Schema) -> Schema {
        self.additional = Additional::Schema(Box::new(s));
        self
    }
    pub fn required(mut self, names: &[&str]) -> Schema {
        for n in names {
            if !self.required.iter().any(|r| r == n) {
                self.required.push(n.to_string());
            }
        }
        self
    }
    /// Replaces the required list.
    pub fn set_required(mut self, names: &[&str]) -> Schema {
        self.required = names.iter().map(|n| n.to_string()).collect();
        self
    }
    pub fn min_properties(mut self, n: usize) -> Schema {
        self.min_properties = Some(n);
        self
    }
    pub fn max_properties(mut self, n: usize) -> Schema {
        self.max_properties = Some(n);
        self
    }
    pub fn property_names(mut self, s: Schema) -> Schema {
        self.property_names = Some(Box::new(s));
        self
    }
    pub fn all_of(mut self, schemas: Vec<Schema>) -> Schema {
        self.all_of.extend(schemas);
        self
    }
    pub fn any_of(mut self, schemas: Vec<Schema>) -> Schema {
        self.any_of = schemas;
        self
    }
    pub fn one_of(mut self, schemas: Vec<Schema>) -> Schema {
        self.one_of = schemas;
        self
    }
    pub fn not(mut self, s: Schema) -> Schema {
        self.not = Some(Box::new(s));
        self
    }
    /// `if` / `then` / `else`; several calls are combined with `allOf`.
    pub fn when(self, cond: Schema, then: Option<Schema>, otherwise: Option<Schema>) -> Schema {
        let branch = Schema {
            if_then_else: Some(Box::new((cond, then, otherwise))),
            ..Schema::default()
        };
        if self.if_then_else.is_none() {
            let mut s = self;
            s.if_then_else = branch.if_then_else;
            s
        } else {
            self.all_of(vec![branch])
        }
    }
    /// A check in code, run when the value has the right type.
    pub fn custom(
        mut self,
        check: impl Fn(&Node) -> Vec<String> + Send + Sync + 'static,
    ) -> Schema {
        self.custom.push(Arc::new(check));
        self
    }
}

/// One schema violation: where (`field` as gojsonschema names it) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// The dotted path of the value, `(root)` for the document itself.
    pub field: String,
    /// The line of the value in its file (0 for JSON documents).
    pub line: usize,
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field {}: {}", self.field, self.message)
    }
}

/// Validates `doc` against `root`, returning every violation.
pub fn validate(root: &Schema, doc: &Node, formats: &dyn FormatChecker) -> Vec<SchemaError> {
    let v = Validator { root, formats };
    let mut errors = Vec::new();
    v.check(root, doc, &mut Vec::new(), &mut errors);
    errors
}

struct Validator<'a> {
    root: &'a Schema,
    formats: &'a dyn FormatChecker,
}

fn field_name(path: &[String]) -> String {
    if path.is_empty() {
        "(root)".to_string()
    } else {
        path.join(".")
    }
}

fn given_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Int(_) | Value::UInt(_) => "integer",
        Value::Float(f) if f.fract() == 0.0 && f.is_finite() => "integer",
        Value::Float(_) => "number",
        Value::String(_) => "string",
        Value::Seq(_) => "array",
        Value::Map(_) => "object",
    }
}

fn type_matches(t: Type, value: &Value) -> bool {
    match t {
        Type::Null => matches!(value, Value::Null),
        Type::Boolean => matches!(value, Value::Bool(_)),
        Type::Integer => match value {
            Value::Int(_) | Value::UInt(_) => true,
            Value::Float(f) => f.fract() == 0.0 && f.is_finite(),
            _ => false,
        },
        Type::Number => matches!(value, Value::Int(_) | Value::UInt(_) | Value::Float(_)),
        Type::String => matches!(value, Value::String(_)),
        Type::Array => matches!(value, Value::Seq(_)),
        Type::Object => matches!(value, Value::Map(_)),
    }
}

fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(i) => Some(*i as f64),
        Value::UInt(u) => Some(*u as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// A canonical text of a value, for `uniqueItems`.
fn canonical(node: &Node) -> String {
    match &node.value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) if f.fract() == 0.0 && f.is_finite() => format!("{}", *f as i64),
        Value::Float(f) => f.to_string(),
        Value::String(s) => serde_json::Value::String(s.clone()).to_string(),
        Value::Seq(items) => format!(
            "[{}]",
            items.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        Value::Map(entries) => {
            let mut parts: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{:?}:{}", k, canonical(v)))
                .collect();
            parts.sort();
            format!("{{{}}}", parts.join(","))
        }
    }
}

impl Validator<'_> {
    fn error(&self, path: &[String], node: &Node, message: String, out: &mut Vec<SchemaError>) {
        out.push(SchemaError {
            field: field_name(path),
            line: node.line,
            message,
        });
    }

    fn check(&self, s: &Schema, node: &Node, path: &mut Vec<String>, out: &mut Vec<SchemaError>) {
        if s.root_ref {
            return self.check(self.root, node, path, out);
        }
        if s.never {
            self.error(path, node, "Must not be present".into(), out);
            return;
        }
        let value = &node.value;
        if !s.types.is_empty() && !s.types.iter().any(|t| type_matches(*t, value)) {
            let expected: Vec<&str> = s.types.iter().map(|t| t.name()).collect();
            self.error(
                path,
                node,
                format!(
                    "Invalid type. Expected: {}, given: {}",
                    // gojsonschema prints several types as a list: `[null,object]`.
                    if expected.len() == 1 {
                        expected[0].to_string()
                    } else {
                        format!("[{}]", expected.join(","))
                    },
                    given_type(value)
                ),
                out,
            );
            return;
        }
        self.check_combinators(s, node, path, out);
        self.check_common(s, node, path, out);
        match value {
            Value::String(text) => self.check_string(s, node, text, path, out),
            Value::Seq(items) => self.check_array(s, node, items, path, out),
            Value::Map(entries) => self.check_object(s, node, entries, path, out),
            _ => {
                if let (Some(n), Some(min)) = (as_number(value), s.minimum)
                    && n < min
                {
                    self.error(
                        path,
                        node,
                        format!("Must be greater than or equal to {}", fmt_num(min)),
                        out,
                    );
                }
                if let (Some(n), Some(max)) = (as_number(value), s.maximum)
                    && n > max
                {
                    self.error(
                        path,
                        node,
                        format!("Must be less than or equal to {}", fmt_num(max)),
                        out,
                    );
                }
            }
        }
        for check in &s.custom {
            for message in check(node) {
                self.error(path, node, message, out);
            }
        }
    }

    fn branch(&self, s: &Schema, node: &Node, path: &mut Vec<String>) -> Vec<SchemaError> {
        let mut errors = Vec::new();
        self.check(s, node, path, &mut errors);
        errors
    }

    fn check_combinators(
        &self,
        s: &Schema,
        node: &Node,
        path: &mut Vec<String>,
        out: &mut Vec<SchemaError>,
    ) {
        if !s.any_of.is_empty() {
            let mut best: Option<Vec<SchemaError>> = None;
            for branch in &s.any_of {
                let errors = self.branch(branch, node, path);
                if errors.is_empty() {
                    best = None;
                    break;
                }
                if best.as_ref().is_none_or(|b| errors.len() < b.len()) {
                    best = Some(errors);
                }
            }
            if let Some(errors) = best {
                out.extend(errors);
            }
        }
        if !s.one_of.is_empty() {
            let results: Vec<Vec<SchemaError>> = s
                .one_of
                .iter()
                .map(|b| self.branch(b, node, path))
                .collect();
            let valid = results.iter().filter(|e| e.is_empty()).count();
            if valid == 0
                && let Some(best) = results.into_iter().min_by_key(|e| e.len())
            {
                out.extend(best);
            }
            // Several matching branches: gojsonschema's only error is the summary
            // "Must validate one and only one schema (oneOf)", which package-spec drops.
        }
        for branch in &s.all_of {
            self.check(branch, node, path, out);
        }
        if let Some(not) = &s.not
            && self.branch(not, node, path).is_empty()
        {
            self.error(path, node, "Must not be present".into(), out);
        }
        if let Some(ite) = &s.if_then_else {
            let (cond, then, otherwise) = &**ite;
            let chosen = if self.branch(cond, node, path).is_empty() {
                then
            } else {
                otherwise
            };
            if let Some(chosen) = chosen {
                self.check(chosen, node, path, out);
            }
        }
    }

    fn check_common(&self, s: &Schema, node: &Node, path: &[String], out: &mut Vec<SchemaError>) {
        if let Some(c) = &s.const_value
            && !c.matches(&node.value)
        {
            self.error(
                path,
                node,
                format!("{} does not match: {c}", field_name(path)),
                out,
            );
        }
        if let Some(values) = &s.enum_values
            && !values.iter().any(|v| v.matches(&node.value))
        {
            let allowed: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            self.error(
                path,
                node,
                format!(
                    "{} must be one of the following: {}",
                    field_name(path),
                    allowed.join(", ")
                ),
                out,
            );
        }
    }

    fn check_string(
        &self,
        s: &Schema,
        node: &Node,
        text: &str,
        path: &[String],
        out: &mut Vec<SchemaError>,
    ) {
        let chars = text.chars().count();
        if let Some(min) = s.min_length
            && chars < min
        {
            self.error(
                path,
                node,
                format!("String length must be greater than or equal to {min}"),
                out,
            );
        }
        if let Some(max) = s.max_length
            && chars > max
        {
            self.error(
                path,
                node,
                format!("String length must be less than or equal to {max}"),
                out,
            );
        }
        if let Some(re) = &s.pattern
            && !re.is_match(text)
        {
            self.error(
                path,
                node,
                format!("Does not match pattern '{}'", re.as_str()),
                out,
            );
        }
        if let Some(format) = s.format
            && let Some(message) = self.formats.check(format, text)
        {
            self.error(path, node, message, out);
        }
    }

    fn check_array(
        &self,
        s: &Schema,
        node: &Node,
        items: &[Node],
        path: &mut Vec<String>,
        out: &mut Vec<SchemaError>,
    ) {
        if let Some(min) = s.min_items
            && items.len() < min
        {
            self.error(
                path,
                node,
                format!("Array must have at least {min} items"),
                out,
            );
        }
        if let Some(max) = s.max_items
            && items.len() > max
        {
            self.error(
                path,
                node,
                format!("Array must have at most {max} items"),
                out,
            );
        }
        if s.unique_items {
            let texts: Vec<String> = items.iter().map(canonical).collect();
            'outer: for j in 1..texts.len() {
                for i in 0..j {
                    if texts[i] == texts[j] {
                        self.error(
                            path,
                            node,
                            format!("array items[{i},{j}] must be unique"),
                            out,
                        );
                        break 'outer;
                    }
                }
            }
        }
        if let Some(contains) = &s.contains
            && !items
                .iter()
                .any(|item| self.branch(contains, item, path).is_empty())
        {
            // package-spec drops gojsonschema's summary ("At least one of the items
            // must match"); only leaf errors of items would remain, and there are none.
        }
        if let Some(item_schema) = &s.items {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                self.check(item_schema, item, path, out);
                path.pop();
            }
        }
    }

    fn check_object(
        &self,
        s: &Schema,
        node: &Node,
        entries: &[(String, Node)],
        path: &mut Vec<String>,
        out: &mut Vec<SchemaError>,
    ) {
        if let Some(min) = s.min_properties
            && entries.len() < min
        {
            self.error(
                path,
                node,
                format!("Must have at least {min} properties"),
                out,
            );
        }
        if let Some(max) = s.max_properties
            && entries.len() > max
        {
            self.error(
                path,
                node,
                format!("Must have at most {max} properties"),
                out,
            );
        }
        for name in &s.required {
            if !entries.iter().any(|(k, _)| k == name) {
                self.error(path, node, format!("{name} is required"), out);
            }
        }
        for (key, child) in entries {
            if let Some(names) = &s.property_names {
                let key_node = Node {
                    value: Value::String(key.clone()),
                    line: child.line,
                };
                self.check(names, &key_node, path, out);
            }
            let mut matched = false;
            if let Some((_, prop)) = s.properties.iter().find(|(n, _)| n == key) {
                matched = true;
                path.push(key.clone());
                self.check(prop, child, path, out);
                path.pop();
            }
            for (re, prop) in &s.pattern_properties {
                if re.is_match(key) {
                    matched = true;
                    path.push(key.clone());
                    self.check(prop, child, path, out);
                    path.pop();
                }
            }
            if !matched {
                match &s.additional {
                    Additional::Allow => {}
                    Additional::Deny => {
                        self.error(
                            path,
                            node,
                            format!("Additional property {key} is not allowed"),
                            out,
                        );
                    }
                    Additional::Schema(extra) => {
                        path.push(key.clone());
                        self.check(extra, child, path, out);
                        path.pop();
                    }
                }
            }
        }
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// Converts a JSON document to our tree (line 0: JSON files carry no line numbers for
/// us), so JSON files are checked by the same schemas as YAML ones.
pub fn node_from_json(value: &serde_json::Value) -> Node {
    let value = match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::UInt(u)
            } else {
                Value::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(items) => Value::Seq(items.iter().map(node_from_json).collect()),
        serde_json::Value::Object(map) => Value::Map(
            map.iter()
                .map(|(k, v)| (k.clone(), node_from_json(v)))
                .collect(),
        ),
    };
    Node { value, line: 0 }
}

/// The messages `schema` gives for the YAML document `yaml`, as the schema modules'
/// tests compare them.
#[cfg(test)]
pub(crate) fn messages(schema: &Schema, yaml: &str) -> Vec<String> {
    validate(
        schema,
        &epr_package::yaml::parse_v3(yaml).expect("test YAML parses"),
        &NoFormats,
    )
    .into_iter()
    .map(|e| e.to_string())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::messages as errors;

    #[test]
    fn gojsonschema_wording() {
        let s = object()
            .closed()
            .required(&["name", "owner"])
            .prop("name", string().pattern("^[a-z]+$"))
            .prop(
                "owner",
                object().prop("type", string_enum(&["elastic", "partner"])),
            )
            .prop("tags", array(string()).min_items(1).unique())
            .prop("description", string());
        assert_eq!(
            errors(
                &s,
                "name: Bad\nowner:\n  type: x\ntags: [a, a]\ndescription: null\nextra: 1\n"
            ),
            vec![
                "field name: Does not match pattern '^[a-z]+$'",
                "field owner.type: owner.type must be one of the following: \"elastic\", \"partner\"",
                "field tags: array items[0,1] must be unique",
                "field description: Invalid type. Expected: string, given: null",
                "field (root): Additional property extra is not allowed",
            ]
        );
        assert_eq!(
            errors(&s, "tags: []\n"),
            vec![
                "field (root): name is required",
                "field (root): owner is required",
                "field tags: Array must have at least 1 items",
            ]
        );
    }

    #[test]
    fn combinators_report_leaf_errors_only() {
        let s = object().prop(
            "v",
            any().one_of(vec![
                object().required(&["a"]),
                object().required(&["b", "c"]),
            ]),
        );
        assert_eq!(errors(&s, "v: {}\n"), vec!["field v: a is required"]);
        assert!(errors(&s, "v: {a: 1}\n").is_empty());
        let forbid = object().prop("x", forbidden());
        assert_eq!(
            errors(&forbid, "x: 1\n"),
            vec!["field x: Must not be present"]
        );
        let cond = object().when(
            object()
                .prop("type", any().constant("select"))
                .required(&["type"]),
            Some(object().required(&["options"])),
            Some(object().prop("options", forbidden())),
        );
        assert_eq!(
            errors(&cond, "type: select\n"),
            vec!["field (root): options is required"]
        );
        assert_eq!(
            errors(&cond, "type: text\noptions: []\n"),
            vec!["field options: Must not be present"]
        );
    }

    #[test]
    fn recursion_through_root_ref() {
        let s = array(object().required(&["name"]).prop("fields", root_ref()));
        assert_eq!(
            errors(&s, "- name: a\n  fields:\n    - type: x\n"),
            vec!["field 0.fields.0: name is required"]
        );
    }
}
