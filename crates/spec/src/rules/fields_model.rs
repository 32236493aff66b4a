//! The field definitions of a package as package-spec's semantic rules read them
//! (`semantic/types.go`): every file in `data_stream/*/fields/`, in the input package's
//! `fields/` and in `elasticsearch/transform/*/fields/`, decoded into the few keys the
//! rules look at. Nested definitions (`fields:` children) get their parent's name as a
//! dotted prefix, as Go's `validateNestedFields` does.

use epr_package::yaml::{Node, Value};

use crate::package::Package;
use crate::rules::decode::{go_bool, go_string};

/// What a fields file describes fields for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owner {
    /// `data_stream/<name>/fields/`.
    DataStream(String),
    /// The root `fields/` of an input package (Go's empty data stream name).
    Package,
    /// `elasticsearch/transform/<name>/fields/`.
    Transform(String),
}

impl Owner {
    /// The data stream name Go files the field under: empty for the package and for
    /// transforms (Go's `metadata.dataStream`).
    pub fn data_stream(&self) -> &str {
        match self {
            Owner::DataStream(name) => name,
            Owner::Package | Owner::Transform(_) => "",
        }
    }
}

/// One field definition, with the keys the rules use. Missing keys are empty, as the
/// zero values of Go's `field` struct.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldDef {
    /// `name` as written (not yet prefixed with the parents' names).
    pub name: String,
    pub ty: String,
    pub unit: String,
    pub date_format: String,
    pub metric_type: String,
    pub dimension: bool,
    pub external: String,
    /// Line of the definition in its file.
    pub line: usize,
    /// `fields:` children.
    pub fields: Vec<FieldDef>,
}

/// A decoded fields file.
#[derive(Debug, Clone)]
pub struct FieldsFile {
    /// Path relative to the package root, as listed (a `.link` keeps its suffix).
    pub path: String,
    pub owner: Owner,
    pub fields: Vec<FieldDef>,
}

/// A field as a rule sees it: its full dotted name and its definition.
pub struct Field<'a> {
    pub name: String,
    pub def: &'a FieldDef,
}

impl Field<'_> {
    /// Go counts as a leaf whatever has no `fields:` children.
    pub fn is_leaf(&self) -> bool {
        self.def.fields.is_empty()
    }
}

/// Every fields file of the package, in Go's order: data streams, then the package's
/// own `fields/`, then transforms. Files that cannot be read or decoded are left out:
/// the structural and schema passes report them.
pub fn fields_files(pkg: &Package<'_>) -> Vec<FieldsFile> {
    let mut folders: Vec<(String, Owner)> = pkg
        .data_streams()
        .into_iter()
        .map(|ds| (format!("data_stream/{ds}/fields"), Owner::DataStream(ds)))
        .collect();
    folders.push(("fields".to_string(), Owner::Package));
    for transform in pkg.sub_folders("elasticsearch/transform") {
        folders.push((
            format!("elasticsearch/transform/{transform}/fields"),
            Owner::Transform(transform),
        ));
    }
    let mut files = Vec::new();
    for (dir, owner) in folders {
        for name in pkg.list_dir(&dir) {
            let path = format!("{dir}/{name}");
            if !pkg.is_file(&path) {
                continue;
            }
            if let Some(fields) =
                read_yaml_following_link(pkg, &path).and_then(|n| decode_fields(&n))
            {
                files.push(FieldsFile {
                    path,
                    owner: owner.clone(),
                    fields,
                });
            }
        }
    }
    files
}

/// Calls `visit` for every field of `files`, parents before children, with full names.
pub fn walk_fields<'a>(files: &'a [FieldsFile], mut visit: impl FnMut(&'a FieldsFile, &Field<'a>)) {
    for file in files {
        walk_nested(file, "", &file.fields, &mut visit);
    }
}

fn walk_nested<'a>(
    file: &'a FieldsFile,
    parent: &str,
    defs: &'a [FieldDef],
    visit: &mut impl FnMut(&'a FieldsFile, &Field<'a>),
) {
    for def in defs {
        let name = if parent.is_empty() {
            def.name.clone()
        } else {
            format!("{parent}.{}", def.name)
        };
        let field = Field { name, def };
        visit(file, &field);
        if !def.fields.is_empty() {
            walk_nested(file, &field.name, &def.fields, visit);
        }
    }
}

/// Parses `path` as YAML; a `*.link` file is replaced by its target. `None` when it
/// cannot be read or parsed (other passes report that).
pub fn read_yaml_following_link(pkg: &Package<'_>, path: &str) -> Option<Node> {
    let bytes = if path.ends_with(".link") {
        let target = pkg.link_target(path).ok()?;
        pkg.read_link_target(path, &target).ok()?
    } else {
        pkg.read(path).ok()?
    };
    pkg.parse_yaml(path, &String::from_utf8_lossy(&bytes)).ok()
}

/// Decodes a fields file as yaml.v3 unmarshals it into Go's `[]field`: `None` where Go
/// fails (the document is not a list of maps, or a key has a collection where a
/// scalar is expected).
pub fn decode_fields(node: &Node) -> Option<Vec<FieldDef>> {
    match &node.value {
        Value::Null => Some(Vec::new()),
        Value::Seq(items) => items.iter().map(decode_field).collect(),
        _ => None,
    }
}

fn decode_field(node: &Node) -> Option<FieldDef> {
    let entries = match &node.value {
        Value::Null => {
            return Some(FieldDef {
                line: node.line,
                ..FieldDef::default()
            });
        }
        Value::Map(entries) => entries,
        _ => return None,
    };
    let mut def = FieldDef {
        line: node.line,
        ..FieldDef::default()
    };
    for (key, value) in entries {
        match key.as_str() {
            "name" => def.name = go_string(value)?,
            "type" => def.ty = go_string(value)?,
            "unit" => def.unit = go_string(value)?,
            "date_format" => def.date_format = go_string(value)?,
            "metric_type" => def.metric_type = go_string(value)?,
            "external" => def.external = go_string(value)?,
            "dimension" => def.dimension = go_bool(value)?,
            "fields" => def.fields = decode_fields(value)?,
            _ => {}
        }
    }
    Some(def)
}
