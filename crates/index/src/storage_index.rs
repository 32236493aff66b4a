//! Package Storage v2 index files (storage-and-publishing.md §2.3, spec/api.md §9):
//! `search-index-all.json` and `search-index-delta.json`, read into packages for
//! the registry and written by the publisher.
//!
//! Reading is all or nothing, as upstream: one bad entry refuses the whole file,
//! and the caller keeps serving the index it had.
//!
//! The publisher reads the current full index (written by the upstream tools or by
//! us), adds or replaces one package, and writes the new index and its delta.
//! [`IndexDocument`] keeps each entry's manifest as the JSON text it was read as,
//! so that costs a pass over the bytes, not decoding 10,000 manifests into
//! packages and printing them again. Entries copied from an upstream file keep
//! their own formatting; the result is valid JSON either way.
//!
//! Files are written in the layout of the upstream fixtures: four-space
//! indentation, entries `{"package_manifest": {...}}`, one removal per line, and
//! strings escaped as Go's encoding/json does by default (`<`, `>`, `&` as
//! `\u003c`, `\u003e`, `\u0026`), as in the production-derived index.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use epr_package::index_entry::from_index_manifest_bytes;
use epr_package::index_summary::{SummaryValue, summary_from_value};
use epr_package::json::{self, Json};
use epr_package::{LoadError, Package};
use rayon::prelude::*;
use serde::de::DeserializeSeed;
use serde_json::value::RawValue;

use crate::catalog::{Listed, ManifestRef, ManifestSource, StorageDelta};
use crate::index_scan::{ScanError, Wrapped, map_packages, name_and_version};
use crate::index_stream::{self, StreamError};

pub const SEARCH_INDEX_ALL: &str = "search-index-all.json";
pub const SEARCH_INDEX_DELTA: &str = "search-index-delta.json";

/// How many bad entries an error message lists before it only counts them.
const LISTED_ENTRY_ERRORS: usize = 5;

/// An index file that cannot be used; the whole file is refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IndexError {
    /// Not JSON, or not shaped as the file should be.
    #[error("{file}: {message}")]
    Invalid { file: &'static str, message: String },
    /// Entries that do not describe valid packages, in file order.
    #[error("{file}: {}", list_entry_errors(.entries))]
    Entries {
        file: &'static str,
        entries: Vec<EntryError>,
    },
}

/// One bad entry: where it is, which package it claims to be, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError {
    /// `packages[17]`, `added[0]`, `removed[2]`.
    pub position: String,
    /// `name-version`, or what of it could be read.
    pub package: String,
    pub problems: Vec<String>,
}

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.position,
            self.package,
            self.problems.join("; ")
        )
    }
}

fn list_entry_errors(entries: &[EntryError]) -> String {
    if let [only] = entries {
        return only.to_string();
    }
    let mut out = format!("{} bad entries:", entries.len());
    for e in entries.iter().take(LISTED_ENTRY_ERRORS) {
        out.push_str(&format!("\n  {e}"));
    }
    if entries.len() > LISTED_ENTRY_ERRORS {
        out.push_str(&format!(
            "\n  and {} more",
            entries.len() - LISTED_ENTRY_ERRORS
        ));
    }
    out
}

pub(crate) fn invalid(file: &'static str, message: impl Into<String>) -> IndexError {
    IndexError::Invalid {
        file,
        message: message.into(),
    }
}

fn entry_error(position: String, e: LoadError) -> EntryError {
    EntryError {
        position,
        package: e.location,
        problems: e.problems.iter().map(ToString::to_string).collect(),
    }
}

/// Fails with every bad entry, or gives all the values in file order.
pub(crate) fn all_or_nothing<T>(
    file: &'static str,
    results: Vec<Result<T, EntryError>>,
) -> Result<Vec<T>, IndexError> {
    let mut values = Vec::with_capacity(results.len());
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(v) => values.push(v),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(IndexError::Entries {
            file,
            entries: errors,
        })
    }
}

/// The packages of a `search-index-all.json`, in file order; the manifests are
/// decoded in parallel.
pub fn parse_search_index_all(bytes: &[u8]) -> Result<Vec<Package>, IndexError> {
    let results = map_entries(bytes, |i, item| {
        let position = format!("packages[{i}]");
        let manifest = item.map_err(|problem| unnamed_entry_error(&position, problem))?;
        from_index_manifest_bytes(manifest.get().as_bytes()).map_err(|e| entry_error(position, e))
    })?;
    all_or_nothing(SEARCH_INDEX_ALL, results)
}

/// The packages of a `search-index-all.json` as a registry keeps them: summaries
/// ([`epr_package::index_summary`]), each with where its manifest is in the file (in
/// `source`), for its full document to be decoded when asked for. The file is read
/// from `reader` in blocks ([`crate::index_stream`]), never held whole. All or nothing,
/// as [`parse_search_index_all`].
pub fn read_search_index_all(
    reader: impl Read + Send,
    source: Arc<dyn ManifestSource>,
) -> Result<Vec<Listed>, IndexError> {
    let file = SEARCH_INDEX_ALL;
    let results = index_stream::map_items(reader, |item| {
        let position = format!("packages[{}]", item.index);
        let fail = |problem| unnamed_entry_error(&position, problem);
        // One pass over the entry: the manifest parsed keeping only what the summary
        // needs. Its full document is decoded from the whole entry when asked for.
        let mut deserializer = serde_json::Deserializer::from_slice(item.text);
        let manifest = Wrapped(SummaryValue)
            .deserialize(&mut deserializer)
            .and_then(|m| deserializer.end().map(|()| m))
            .map_err(|e| fail(format!("not valid JSON: {e}")))?
            .map_err(fail)?;
        let yanked = Yank::of_entry(item.text).map_err(fail)?.is_some();
        let package = summary_from_value(&manifest).map_err(|e| entry_error(position, e))?;
        Ok(Listed {
            package: Arc::new(package),
            manifest: Some(ManifestRef {
                source: source.clone(),
                range: item.offset..item.offset + item.text.len() as u64,
                wrapped: true,
            }),
            yanked,
        })
    })
    .map_err(|e| match e {
        StreamError::Syntax(message) => invalid(file, format!("not a JSON object: {message}")),
        StreamError::NoPackages => invalid(file, "no \"packages\" array"),
        StreamError::PackagesNotAnArray(found) => {
            invalid(file, format!("\"packages\" is not an array: {found}"))
        }
        StreamError::Io(message) => invalid(file, format!("cannot be read: {message}")),
    })?;
    all_or_nothing(file, results)
}

/// A `search-index-delta.json` as a registry applies it: its packages decoded in full
/// (a delta is small; a bad entry refuses it), kept as summaries with where their
/// manifests are in `bytes` (the file, as `source` gives it). Gives the revision the
/// delta follows, too.
pub fn read_delta(
    bytes: Bytes,
    source: Arc<dyn ManifestSource>,
) -> Result<(Option<String>, StorageDelta), IndexError> {
    let doc = DeltaDocument::parse_bytes(bytes.clone())?;
    let listed = |key: &str, entries: &[IndexEntry]| {
        let results = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let package = e
                    .package()
                    .map_err(|err| entry_error(format!("{key}[{i}]"), err))?;
                let start = (e.manifest.as_ptr() as usize - bytes.as_ptr() as usize) as u64;
                Ok(Listed {
                    package: Arc::new(package.into_summary()),
                    manifest: Some(ManifestRef {
                        source: source.clone(),
                        range: start..start + e.manifest.len() as u64,
                        wrapped: false,
                    }),
                    yanked: e.yank.is_some(),
                })
            })
            .collect();
        all_or_nothing(SEARCH_INDEX_DELTA, results)
    };
    let delta = StorageDelta {
        added: listed("added", &doc.added)?,
        updated: listed("updated", &doc.updated)?,
        removed: doc.removed.clone(),
    };
    Ok((doc.previous, delta))
}

/// `f` applied to each entry of a `search-index-all.json` (its manifest, or what is
/// wrong with it) as the file is scanned, in one pass ([`crate::index_scan`]).
fn map_entries<'a, T: Send>(
    bytes: &'a [u8],
    f: impl Fn(usize, Result<&'a RawValue, String>) -> T + Sync + Send,
) -> Result<Vec<T>, IndexError> {
    let file = SEARCH_INDEX_ALL;
    map_packages(bytes, f).map_err(|e| match e {
        ScanError::NotAnObject(e) => invalid(file, format!("not a JSON object: {e}")),
        ScanError::NoPackages => invalid(file, "no \"packages\" array"),
        ScanError::PackagesNotAnArray(found) => {
            invalid(file, format!("\"packages\" is not an array: {found}"))
        }
    })
}

pub(crate) fn unnamed_entry_error(position: &str, problem: String) -> EntryError {
    EntryError {
        position: position.to_string(),
        package: "no name, no version".into(),
        problems: vec![problem],
    }
}

/// A `search-index-delta.json` read into packages.
#[derive(Debug, Default)]
pub struct Delta {
    pub added: Vec<Package>,
    /// Full replacements of the manifests with the same name and version.
    pub updated: Vec<Package>,
    /// `(name, version)` of the versions to drop.
    pub removed: Vec<(String, String)>,
}

/// The packages of a `search-index-delta.json`.
pub fn parse_delta(bytes: &[u8]) -> Result<Delta, IndexError> {
    DeltaDocument::parse(bytes)?.packages()
}

/// One index entry: a package's name, version and manifest, the manifest kept as
/// JSON text (as read, or as we print it at its place in the file). Entries read from
/// a file share its bytes: the text is not copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    name: String,
    version: String,
    /// UTF-8 JSON text: a slice of a file we read, or the text we printed.
    manifest: Bytes,
    /// Set when the version is yanked: `"yanked"` beside `"package_manifest"`.
    yank: Option<Yank>,
}

/// Why and when a version was taken out of `/search` and `/categories`
/// (`storage yank`): written in its index entry beside the manifest,
/// `{"package_manifest": {...}, "yanked": {"reason": "...", "time": "..."}}`, a key
/// upstream's reader ignores (its registries keep listing the version).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Yank {
    pub reason: String,
    /// RFC 3339, UTC.
    pub time: String,
}

impl Yank {
    /// The `"yanked"` value of an entry's text, if it has one. The text is searched
    /// first, so an entry without one costs a scan, not a parse.
    pub fn of_entry(entry: &[u8]) -> Result<Option<Yank>, String> {
        if memchr::memmem::find(entry, b"\"yanked\"").is_none() {
            return Ok(None);
        }
        #[derive(serde::Deserialize)]
        struct Wrapper {
            yanked: Option<Yank>,
        }
        serde_json::from_slice::<Wrapper>(entry)
            .map(|w| w.yanked)
            .map_err(|e| format!("yanked: {e}"))
    }

    /// `,"yanked":{...}` as written after the manifest.
    fn write(&self, out: &mut String, layout: Layout) {
        out.push(',');
        layout.newline(out, 3);
        out.push_str("\"yanked\"");
        out.push_str(layout.colon());
        out.push_str("{\"reason\"");
        out.push_str(layout.colon());
        write_string(out, &self.reason);
        out.push(',');
        out.push_str("\"time\"");
        out.push_str(layout.colon());
        write_string(out, &self.time);
        out.push('}');
    }
}

impl IndexEntry {
    /// The entry of a package we loaded, from its [`Package::index_manifest`].
    pub fn from_package(package: &Package) -> Result<IndexEntry, LoadError> {
        let manifest = package.index_manifest().ok_or_else(|| {
            LoadError::one(
                format!("{}-{}", package.name, package.version),
                "a summary of an index entry has no manifest to write",
            )
        })?;
        IndexEntry::from_manifest(&manifest)
    }

    /// The entry of a full package document. It is refused unless a registry
    /// would accept it, so that no index we write fails to load.
    pub fn from_manifest(manifest: &Json) -> Result<IndexEntry, LoadError> {
        let mut text = String::new();
        write_json(manifest, &mut text, MANIFEST_LEVEL);
        let package = from_index_manifest_bytes(text.as_bytes())?;
        Ok(IndexEntry {
            name: package.name,
            version: package.version,
            manifest: Bytes::from(text),
            yank: None,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// The manifest's JSON text (UTF-8).
    pub fn manifest_json(&self) -> &[u8] {
        &self.manifest
    }

    /// The same entry with its manifest's text in the compact layout
    /// ([`crate::index_rewrite::minify`]); no copy when it is compact already.
    pub fn compact(&self) -> IndexEntry {
        let mut text = Vec::new();
        let manifest = if crate::index_rewrite::minify(&self.manifest, &mut text) {
            Bytes::from(text)
        } else {
            self.manifest.clone()
        };
        IndexEntry {
            name: self.name.clone(),
            version: self.version.clone(),
            manifest,
            yank: self.yank.clone(),
        }
    }

    /// The entry of one item of a file's list, `{"package_manifest": {...}, ...}`
    /// (its text copied).
    pub fn from_item(text: &[u8], position: &str) -> Result<IndexEntry, EntryError> {
        let fail = |problem: String| unnamed_entry_error(position, problem);
        let raw: &RawValue =
            serde_json::from_slice(text).map_err(|e| fail(format!("not valid JSON: {e}")))?;
        let manifest = wrapped_manifest(raw, position)?;
        let (name, version) = name_and_version(manifest).map_err(fail)?;
        Ok(IndexEntry {
            name,
            version,
            manifest: Bytes::copy_from_slice(manifest.get().as_bytes()),
            yank: Yank::of_entry(text).map_err(fail)?,
        })
    }

    /// Whether and why the version is yanked.
    pub fn yank(&self) -> Option<&Yank> {
        self.yank.as_ref()
    }

    /// The same entry, yanked for `yank` (`None`: not yanked).
    pub fn with_yank(&self, yank: Option<Yank>) -> IndexEntry {
        IndexEntry {
            yank,
            ..self.clone()
        }
    }

    /// The entry `{"package_manifest": ..., ...}` as an item of a file's list,
    /// compact: the manifest's text must be compact ([`IndexEntry::compact`]).
    pub fn compact_item(&self) -> Vec<u8> {
        let mut tail = String::new();
        if let Some(yank) = &self.yank {
            yank.write(&mut tail, Layout::Compact);
        }
        let mut out = Vec::with_capacity(self.manifest.len() + tail.len() + 24);
        out.extend_from_slice(b"{\"package_manifest\":");
        out.extend_from_slice(&self.manifest);
        out.extend_from_slice(tail.as_bytes());
        out.push(b'}');
        out
    }

    /// The manifest's JSON text, shared.
    pub fn manifest_bytes(&self) -> Bytes {
        self.manifest.clone()
    }

    /// The package this entry describes.
    pub fn package(&self) -> Result<Package, LoadError> {
        from_index_manifest_bytes(&self.manifest)
    }

    fn is(&self, name: &str, version: &str) -> bool {
        self.name == name && self.version == version
    }

    /// An entry as read from a file (its manifest is in `source`, the bytes the
    /// file was read into): only its name and version are decoded.
    fn read(
        source: &Bytes,
        item: Result<&RawValue, String>,
        position: &str,
    ) -> Result<IndexEntry, EntryError> {
        let fail = |problem| unnamed_entry_error(position, problem);
        let manifest = item.map_err(fail)?;
        let (name, version) = name_and_version(manifest).map_err(fail)?;
        Ok(IndexEntry {
            name,
            version,
            manifest: source.slice_ref(manifest.get().as_bytes()),
            yank: None,
        })
    }
}

/// A `search-index-all.json` as entries, for the publisher: cheap to read, change
/// and write again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexDocument {
    entries: Vec<IndexEntry>,
}

impl IndexDocument {
    pub fn new() -> IndexDocument {
        IndexDocument::default()
    }

    /// A document of these entries, in this order.
    pub fn from_entries(entries: Vec<IndexEntry>) -> IndexDocument {
        IndexDocument { entries }
    }

    /// Reads the entries and their names and versions; the manifests are not
    /// decoded (see [`IndexDocument::packages`]), nor copied: the entries keep
    /// slices of `bytes`.
    pub fn parse(bytes: impl Into<Bytes>) -> Result<IndexDocument, IndexError> {
        let bytes: Bytes = bytes.into();
        let results = map_entries(&bytes, |i, item| {
            IndexEntry::read(&bytes, item, &format!("packages[{i}]"))
        })?;
        Ok(IndexDocument {
            entries: all_or_nothing(SEARCH_INDEX_ALL, results)?,
        })
    }

    pub fn entries(&self) -> &[IndexEntry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where the entry with exactly this name and version string is.
    pub fn position(&self, name: &str, version: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.is(name, version))
    }

    pub fn contains(&self, name: &str, version: &str) -> bool {
        self.position(name, version).is_some()
    }

    /// Adds the entry at the end, or, if its name and version are there already,
    /// replaces that entry where it stands and returns it (as a delta's `updated`
    /// is applied).
    pub fn push(&mut self, entry: IndexEntry) -> Option<IndexEntry> {
        match self.position(&entry.name, &entry.version) {
            Some(i) => Some(std::mem::replace(&mut self.entries[i], entry)),
            None => {
                self.entries.push(entry);
                None
            }
        }
    }

    pub fn remove(&mut self, name: &str, version: &str) -> Option<IndexEntry> {
        let i = self.position(name, version)?;
        Some(self.entries.remove(i))
    }

    /// The file: as [`IndexDocument::to_parts`], in one buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        write_search_index_all(&self.entries)
    }

    /// The file as a list of parts to write one after the other: the manifests are
    /// the entries' own bytes (slices of the file read), between the few bytes of
    /// layout around them, so writing a 300 MB index costs no 300 MB copy.
    pub fn to_parts(&self) -> Vec<Bytes> {
        write_top_level(
            &[("packages", Section::Entries(&self.entries))],
            Layout::Indented,
        )
        .into_parts()
    }

    /// Every entry decoded as a registry decodes it, in parallel; all or nothing.
    pub fn packages(&self) -> Result<Vec<Package>, IndexError> {
        let results = self
            .entries
            .par_iter()
            .enumerate()
            .map(|(i, e)| {
                e.package()
                    .map_err(|err| entry_error(format!("packages[{i}]"), err))
            })
            .collect();
        all_or_nothing(SEARCH_INDEX_ALL, results)
    }
}

/// A `search-index-delta.json` as entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeltaDocument {
    /// The revision this delta follows. Our publisher records it (a key upstream's
    /// reader ignores) so that a reader can tell a chain of revisions from a folder
    /// a crashed publisher left behind; deltas of other tools have none.
    pub previous: Option<String>,
    pub added: Vec<IndexEntry>,
    pub updated: Vec<IndexEntry>,
    /// `(name, version)` of the versions to drop.
    pub removed: Vec<(String, String)>,
}

impl DeltaDocument {
    /// Reads a delta. Absent or `null` lists are empty; other keys are ignored.
    pub fn parse(bytes: &[u8]) -> Result<DeltaDocument, IndexError> {
        // One copy of a small file, for the entries to keep slices of.
        DeltaDocument::parse_bytes(Bytes::copy_from_slice(bytes))
    }

    /// [`DeltaDocument::parse`] with entries that are slices of `source`.
    pub fn parse_bytes(source: Bytes) -> Result<DeltaDocument, IndexError> {
        let file = SEARCH_INDEX_DELTA;
        let top = top_level(&source, file)?;
        let list = |key: &str| -> Result<Vec<&RawValue>, IndexError> {
            match go_field(&top, key) {
                None => Ok(Vec::new()),
                Some(raw) => array_items(raw, file, key),
            }
        };
        let read_entries = |key: &str| -> Result<Vec<IndexEntry>, IndexError> {
            let results = list(key)?
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    let position = format!("{key}[{i}]");
                    let manifest = wrapped_manifest(item, &position)?;
                    let yank = Yank::of_entry(item.get().as_bytes())
                        .map_err(|problem| unnamed_entry_error(&position, problem))?;
                    let entry = IndexEntry::read(&source, Ok(manifest), &position)?;
                    Ok(IndexEntry { yank, ..entry })
                })
                .collect();
            all_or_nothing(file, results)
        };
        let removed = list("removed")?
            .into_iter()
            .enumerate()
            .map(|(i, item)| removed_ref(item, format!("removed[{i}]")))
            .collect();
        let previous = match go_field(&top, "previous") {
            None => None,
            Some(raw) => match serde_json::from_str::<Option<String>>(raw.get()) {
                Ok(p) => p,
                Err(e) => return Err(invalid(file, format!("previous: {e}"))),
            },
        };
        Ok(DeltaDocument {
            previous,
            added: read_entries("added")?,
            updated: read_entries("updated")?,
            removed: all_or_nothing(file, removed)?,
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.write(Layout::Indented)
    }

    /// The file in the publisher's layout; the entries must be compact
    /// ([`IndexEntry::compact`]).
    pub fn to_compact_bytes(&self) -> Vec<u8> {
        self.write(Layout::Compact)
    }

    fn write(&self, layout: Layout) -> Vec<u8> {
        let mut sections = vec![
            ("added", Section::Entries(&self.added)),
            ("updated", Section::Entries(&self.updated)),
            (
                "removed",
                Section::Text(removed_list(&self.removed, layout)),
            ),
        ];
        if let Some(previous) = &self.previous {
            let mut value = String::new();
            write_string(&mut value, previous);
            sections.push(("previous", Section::Text(value)));
        }
        write_top_level(&sections, layout).concat()
    }

    /// The added and updated manifests decoded as a registry decodes them.
    pub fn packages(&self) -> Result<Delta, IndexError> {
        let decode = |key: &str, entries: &[IndexEntry]| {
            let results = entries
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    e.package()
                        .map_err(|err| entry_error(format!("{key}[{i}]"), err))
                })
                .collect();
            all_or_nothing(SEARCH_INDEX_DELTA, results)
        };
        Ok(Delta {
            added: decode("added", &self.added)?,
            updated: decode("updated", &self.updated)?,
            removed: self.removed.clone(),
        })
    }
}

/// `{"name": ..., "version": ...}` of a removal; both must be set.
fn removed_ref(item: &RawValue, position: String) -> Result<(String, String), EntryError> {
    let fail = |package: String, problem: String| EntryError {
        position: position.clone(),
        package,
        problems: vec![problem],
    };
    let fields: HashMap<String, &RawValue> = serde_json::from_str(item.get())
        .map_err(|e| fail("no name, no version".into(), format!("not an object: {e}")))?;
    let text = |key: &str| -> String {
        go_field(&fields, key)
            .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
            .unwrap_or_default()
    };
    let (name, version) = (text("name"), text("version"));
    if name.is_empty() || version.is_empty() {
        return Err(fail(
            format!("{name}-{version}"),
            "name and version must be non-empty strings".into(),
        ));
    }
    Ok((name, version))
}

/// The top-level object of a file, its values unread.
fn top_level<'a>(
    bytes: &'a [u8],
    file: &'static str,
) -> Result<HashMap<String, &'a RawValue>, IndexError> {
    serde_json::from_slice(bytes).map_err(|e| invalid(file, format!("not a JSON object: {e}")))
}

/// The items of a delta's list `key`; `null` is an empty list.
fn array_items<'a>(
    raw: &'a RawValue,
    file: &'static str,
    key: &str,
) -> Result<Vec<&'a RawValue>, IndexError> {
    if raw.get() == "null" {
        return Ok(Vec::new());
    }
    serde_json::from_str(raw.get())
        .map_err(|e| invalid(file, format!("\"{key}\" is not an array: {e}")))
}

/// The `package_manifest` of an entry `{"package_manifest": {...}}`.
fn wrapped_manifest<'a>(item: &'a RawValue, position: &str) -> Result<&'a RawValue, EntryError> {
    let fail = |problem: String| EntryError {
        position: position.to_string(),
        package: "no name, no version".into(),
        problems: vec![problem],
    };
    let wrapper: HashMap<String, &RawValue> =
        serde_json::from_str(item.get()).map_err(|e| fail(format!("not an object: {e}")))?;
    match go_field(&wrapper, "package_manifest") {
        Some(raw) if raw.get() != "null" => Ok(raw),
        _ => Err(fail("no package_manifest".into())),
    }
}

/// A struct field as encoding/json finds it: the exact key, else one equal to it
/// ignoring ASCII case.
fn go_field<'a>(fields: &HashMap<String, &'a RawValue>, key: &str) -> Option<&'a RawValue> {
    fields.get(key).copied().or_else(|| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| *v)
    })
}

// ---- Writing -------------------------------------------------------------

const INDENT: &str = "    ";
/// The nesting level of a manifest in `{"packages": [{"package_manifest": ...}]}`
/// (and in a delta's lists): its keys are indented four levels.
const MANIFEST_LEVEL: usize = 3;

/// How a file we write is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The upstream fixtures' four-space indentation.
    Indented,
    /// No whitespace between tokens: what the publisher writes (docs/STORAGE.md,
    /// "The cost of a revision": less than half the bytes of the indented layout).
    Compact,
}

/// A `search-index-all.json` holding these entries, in this order.
pub fn write_search_index_all(entries: &[IndexEntry]) -> Vec<u8> {
    write_top_level(&[("packages", Section::Entries(entries))], Layout::Indented).concat()
}

/// A `search-index-delta.json` in upstream's form (see [`DeltaDocument::to_bytes`]
/// for ours, which also records the previous revision).
pub fn write_delta(
    added: &[IndexEntry],
    updated: &[IndexEntry],
    removed: &[(String, String)],
) -> Vec<u8> {
    write_top_level(
        &[
            ("added", Section::Entries(added)),
            ("updated", Section::Entries(updated)),
            (
                "removed",
                Section::Text(removed_list(removed, Layout::Indented)),
            ),
        ],
        Layout::Indented,
    )
    .concat()
}

/// The value of one top-level key.
enum Section<'a> {
    /// `[{"package_manifest": ...}, ...]`
    Entries(&'a [IndexEntry]),
    /// Printed already.
    Text(String),
}

/// A file being written: the text we print, with the manifests passed through as
/// they are (slices of the file they were read from) instead of copied into it.
#[derive(Default)]
struct Parts {
    parts: Vec<Bytes>,
    text: String,
}

impl Parts {
    fn manifest(&mut self, manifest: &Bytes) {
        self.parts.push(Bytes::from(std::mem::take(&mut self.text)));
        self.parts.push(manifest.clone());
    }

    fn into_parts(mut self) -> Vec<Bytes> {
        self.parts.push(Bytes::from(self.text));
        self.parts
    }

    fn concat(self) -> Vec<u8> {
        let parts = self.into_parts();
        let mut out = Vec::with_capacity(parts.iter().map(Bytes::len).sum());
        for part in &parts {
            out.extend_from_slice(part);
        }
        out
    }
}

/// `{` + one `"key": value` per section + `}` and a newline. With
/// [`Layout::Compact`] the entries' manifests must be compact already
/// ([`IndexEntry::compact`]).
fn write_top_level(sections: &[(&str, Section<'_>)], layout: Layout) -> Parts {
    let mut out = Parts::default();
    out.text.push('{');
    for (i, (key, value)) in sections.iter().enumerate() {
        if i > 0 {
            out.text.push(',');
        }
        layout.newline(&mut out.text, 1);
        write_string(&mut out.text, key);
        out.text.push_str(layout.colon());
        match value {
            Section::Entries(entries) => write_entries(&mut out, entries, layout),
            Section::Text(text) => out.text.push_str(text),
        }
    }
    layout.newline(&mut out.text, 0);
    out.text.push_str("}\n");
    out
}

/// `[{"package_manifest": ...}, ...]` at level 1.
fn write_entries(out: &mut Parts, entries: &[IndexEntry], layout: Layout) {
    out.text.push('[');
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            out.text.push(',');
        }
        layout.newline(&mut out.text, 2);
        out.text.push('{');
        layout.newline(&mut out.text, 3);
        out.text.push_str("\"package_manifest\"");
        out.text.push_str(layout.colon());
        out.manifest(&entry.manifest);
        if let Some(yank) = &entry.yank {
            yank.write(&mut out.text, layout);
        }
        layout.newline(&mut out.text, 2);
        out.text.push('}');
    }
    if !entries.is_empty() {
        layout.newline(&mut out.text, 1);
    }
    out.text.push(']');
}

/// `[{"name": ..., "version": ...}, ...]` at level 1, one removal per line.
fn removed_list(removed: &[(String, String)], layout: Layout) -> String {
    let mut out = String::from("[");
    for (i, (name, version)) in removed.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        layout.newline(&mut out, 2);
        out.push_str("{\"name\"");
        out.push_str(layout.colon());
        write_string(&mut out, name);
        out.push_str(if layout == Layout::Compact {
            ",\"version\""
        } else {
            ", \"version\""
        });
        out.push_str(layout.colon());
        write_string(&mut out, version);
        out.push('}');
    }
    if !removed.is_empty() {
        layout.newline(&mut out, 1);
    }
    out.push(']');
    out
}

impl Layout {
    fn newline(self, out: &mut String, level: usize) {
        if self == Layout::Indented {
            newline(out, level);
        }
    }

    fn colon(self) -> &'static str {
        match self {
            Layout::Indented => ": ",
            Layout::Compact => ":",
        }
    }
}

fn newline(out: &mut String, level: usize) {
    out.push('\n');
    for _ in 0..level {
        out.push_str(INDENT);
    }
}

/// Pretty prints as [`Json::write_indented`] does, with four-space indentation.
fn write_json(value: &Json, out: &mut String, level: usize) {
    match value {
        Json::Arr(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, level + 1);
                write_json(item, out, level + 1);
            }
            newline(out, level);
            out.push(']');
        }
        Json::Obj(entries) if !entries.is_empty() => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, level + 1);
                write_string(out, key);
                out.push_str(": ");
                write_json(item, out, level + 1);
            }
            newline(out, level);
            out.push('}');
        }
        Json::Str(s) => write_string(out, s),
        // Other scalars and empty collections print the same at any indentation.
        other => other.write_indented(out, level),
    }
}

/// Go's default string escaping: as [`json::write_string`], plus `<`, `>`, `&`.
fn write_string(out: &mut String, s: &str) {
    if !s.contains(['<', '>', '&']) {
        return json::write_string(out, s);
    }
    let mut plain = String::new();
    json::write_string(&mut plain, s);
    for c in plain.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
#[path = "storage_index_tests.rs"]
mod tests;
