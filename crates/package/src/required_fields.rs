//! The load-time check that a data stream defines the fields every data stream must
//! have (spec/api.md §6.3), and what the loads of many packages share of it.
//!
//! The check parses every `fields/*.yml` of the data stream: 14 MB of YAML in the 185
//! packages of the corpus, read at about 30 MB/s by any of the YAML parsers at hand,
//! half of the CPU time of a start from them. Most of those files are copies (the base
//! and ECS fields, from data stream to data stream): 40% of their bytes. A
//! [`LoadCache`] keeps what the check needs of a file by the SHA-256 of its bytes,
//! so that each copy is parsed once per load.

use std::sync::Arc;

use crate::decode::Problems;
use crate::fs::PackageFs;
use crate::load_cache::LoadCache;
use crate::yaml::{self, Node, Value};

/// The fields every data stream must define, with their types.
const REQUIRED: [(&str, &str); 4] = [
    ("data_stream.type", "constant_keyword"),
    ("data_stream.dataset", "constant_keyword"),
    ("data_stream.namespace", "constant_keyword"),
    ("@timestamp", "date"),
];

/// What the check needs of one fields file.
#[derive(Debug)]
pub(crate) enum FileFields {
    /// The top-level definitions a required field can be found in (named after it, or
    /// after the group it is in), in file order; the others cannot change the outcome.
    Definitions(Vec<Node>),
    /// An empty document.
    Empty,
    NotAList,
    /// Not YAML; says why.
    Invalid(String),
}

impl FileFields {
    fn parse(bytes: &[u8]) -> FileFields {
        // Only what find_field reads is built.
        match yaml::parse_keeping(&String::from_utf8_lossy(bytes), &["name", "type", "fields"]) {
            Ok(Node {
                value: Value::Seq(items),
                ..
            }) => FileFields::Definitions(items.into_iter().filter(may_hold_required).collect()),
            Ok(n) if n.is_null() => FileFields::Empty,
            Ok(_) => FileFields::NotAList,
            Err(e) => FileFields::Invalid(e.to_string()),
        }
    }
}

/// Whether a top-level definition can be where [`find_field`] finds a required field:
/// one with the field's whole name, or the group its first name component names.
fn may_hold_required(definition: &Node) -> bool {
    let name = field_str(definition, "name");
    REQUIRED.iter().any(|(field, _)| {
        name == *field
            || field
                .split_once('.')
                .is_some_and(|(group, _)| name == group)
    })
}

/// Checks that the data stream at `base` defines the required fields, in dotted or
/// nested definitions across its `fields/*.yml`.
pub(crate) fn check(fs: &dyn PackageFs, base: &str, cache: &LoadCache, p: &mut Problems) {
    let fields_dir = format!("{base}/fields");
    let mut all: Vec<Node> = Vec::new();
    for file in fs.list_dir(&fields_dir) {
        let path = format!("{fields_dir}/{file}");
        let parsed = cache.fields.of_file(fs, &path, "fields", |bytes| {
            Arc::new(FileFields::parse(bytes))
        });
        let Ok(parsed) = parsed else { continue };
        match &*parsed {
            FileFields::Definitions(definitions) => all.extend(definitions.iter().cloned()),
            FileFields::Empty => {}
            FileFields::NotAList => p.push(
                None,
                &path,
                "unmarshaling file failed: expected a list of fields",
            ),
            FileFields::Invalid(e) => p.push(None, &path, format!("unmarshaling file failed: {e}")),
        }
    }
    for (field, wanted) in REQUIRED {
        match find_field(&all, field) {
            None => {
                p.push(None, &fields_dir, format!("validating required fields failed: finding field failed (searchedName: {field}): field '{field}' not found"));
                return;
            }
            Some(t) if t != wanted => {
                p.push(None, &fields_dir, format!("validating required fields failed: wrong field type for '{field}' (expected: {wanted}, got: {t})"));
                return;
            }
            Some(_) => {}
        }
    }
}

fn field_str(n: &Node, key: &str) -> String {
    n.get(key)
        .and_then(|v| yaml::scalar_to_string(&v.value))
        .unwrap_or_default()
}

/// The type of field `name`: a definition with that exact name, or found by walking
/// group `fields` one name component at a time.
fn find_field(fields: &[Node], name: &str) -> Option<String> {
    if let Some(f) = fields.iter().find(|f| field_str(f, "name") == name) {
        return Some(field_str(f, "type"));
    }
    let (head, rest) = name.split_once('.')?;
    let group = fields.iter().find(|f| field_str(f, "name") == head)?;
    match &group.get("fields")?.value {
        Value::Seq(children) => find_field(children, rest),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::DirFs;

    /// The problems of checking data stream `ds` whose fields files are `files`.
    fn problems(files: &[(&str, &str)], cache: &LoadCache) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let fields = dir.path().join("data_stream/ds/fields");
        std::fs::create_dir_all(&fields).unwrap();
        for (name, text) in files {
            std::fs::write(fields.join(name), text).unwrap();
        }
        let fs = DirFs::open(dir.path()).unwrap();
        let mut p = Problems::new("data_stream/ds/manifest.yml");
        check(&fs, "data_stream/ds", cache, &mut p);
        p.items.iter().map(ToString::to_string).collect()
    }

    const BASE: &str = "
- name: data_stream.type
  type: constant_keyword
- name: data_stream.dataset
  type: constant_keyword
- name: data_stream.namespace
  type: constant_keyword
- name: '@timestamp'
  type: date
";

    const NESTED: &str = "
- name: other
  type: keyword
- name: data_stream
  type: group
  fields:
    - name: type
      type: constant_keyword
    - name: dataset
      type: constant_keyword
    - name: namespace
      type: constant_keyword
- name: '@timestamp'
  type: date
";

    /// Each case with a fresh cache, then all of them again through one cache shared
    /// with the others (so every file has been seen before): the same problems.
    #[test]
    fn a_shared_cache_changes_no_outcome() {
        // (fields files, problems)
        type Case = (Vec<(&'static str, &'static str)>, Vec<&'static str>);
        let cases: Vec<Case> = vec![
            (vec![("base-fields.yml", BASE)], vec![]),
            (vec![("base-fields.yml", NESTED)], vec![]),
            // Split across files, the group first.
            (
                vec![
                    (
                        "a.yml",
                        "- name: data_stream\n  type: group\n  fields:\n    - name: type\n      type: constant_keyword\n",
                    ),
                    (
                        "b.yml",
                        "- name: data_stream.dataset\n  type: constant_keyword\n- name: data_stream.namespace\n  type: constant_keyword\n- name: '@timestamp'\n  type: date\n",
                    ),
                ],
                vec![],
            ),
            // The first definition with the name wins, also over a later group.
            (
                vec![(
                    "f.yml",
                    "- name: data_stream.type\n  type: keyword\n- name: data_stream\n  type: group\n  fields:\n    - name: type\n      type: constant_keyword\n",
                )],
                vec![
                    "data_stream/ds/manifest.yml: data_stream/ds/fields: validating required fields failed: wrong field type for 'data_stream.type' (expected: constant_keyword, got: keyword)",
                ],
            ),
            (
                vec![("f.yml", "- name: message\n  type: text\n")],
                vec![
                    "data_stream/ds/manifest.yml: data_stream/ds/fields: validating required fields failed: finding field failed (searchedName: data_stream.type): field 'data_stream.type' not found",
                ],
            ),
            (
                vec![("base-fields.yml", BASE), ("bad.yml", "- name: [\n")],
                vec![
                    "data_stream/ds/manifest.yml: data_stream/ds/fields/bad.yml: unmarshaling file failed: yaml: Parser error: line 2 column 1: did not find expected node content while parsing a flow node (line 2 column 1)",
                ],
            ),
            (
                vec![
                    ("base-fields.yml", BASE),
                    ("map.yml", "name: x\n"),
                    ("empty.yml", ""),
                ],
                vec![
                    "data_stream/ds/manifest.yml: data_stream/ds/fields/map.yml: unmarshaling file failed: expected a list of fields",
                ],
            ),
        ];
        let shared = LoadCache::default();
        for round in ["fresh", "shared, first", "shared, again"] {
            for (files, want) in &cases {
                let got = match round {
                    "fresh" => problems(files, &LoadCache::default()),
                    _ => problems(files, &shared),
                };
                assert_eq!(&got, want, "{round}: {files:?}");
            }
        }
        // Each distinct file was parsed once: BASE, NESTED, a, b, two f.yml, bad, map, empty.
        assert_eq!(shared.fields.len(), 9);
    }
}
