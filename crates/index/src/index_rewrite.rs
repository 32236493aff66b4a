//! The next revision's `search-index-all.json`, written from the current one as it is
//! read (storage-and-publishing.md §2.3, §4.1 step 11).
//!
//! The v2 layout wants a full index in every revision, so a publish into a bucket of
//! 100,000 versions writes about 1.3 GB however small its change. What it need not do
//! is hold that index: [`rewrite_search_index_all`] reads the current file in blocks
//! ([`crate::index_stream`]), copies every entry (compacted, see [`minify`]) with the
//! change applied, and hands the new file over in chunks of [`CHUNK`] bytes, so the
//! publisher's memory stays at a few blocks and chunks whatever the size of the index.
//!
//! Every entry read must still be one a registry would accept as an index entry shape
//! (an object with a `package_manifest` that has a `name` and a `version`); a file
//! with a bad entry is refused as a whole, as the registry refuses it, rather than
//! carried on into the next revision. Entries added by the change were checked when
//! they were made ([`IndexEntry::from_manifest`]).

use std::collections::{HashMap, HashSet};
use std::io::Read;

use bytes::Bytes;

use crate::index_scan::entry_name_and_version;
use crate::index_stream::{self, StreamError};
use crate::storage_index::{
    EntryError, IndexEntry, IndexError, SEARCH_INDEX_ALL, Yank, all_or_nothing, invalid,
    unnamed_entry_error,
};

/// How much of the new file is handed over at a time.
pub const CHUNK: usize = 8 << 20;

/// What a new revision changes in the full index, as its delta says it.
#[derive(Debug, Clone, Default)]
pub struct IndexChange {
    /// Appended, unless their name and version are there already.
    pub added: Vec<IndexEntry>,
    /// Replace the entries of the same name and version where they stand.
    pub updated: Vec<IndexEntry>,
    /// `(name, version)` of the entries to drop.
    pub removed: Vec<(String, String)>,
}

/// What [`rewrite_search_index_all`] did.
#[derive(Debug, Clone, Default)]
pub struct Rewritten {
    /// The entries of the change's `added` that were appended, compacted.
    pub added: Vec<IndexEntry>,
    /// `(name, version)` of the entries of `added` already in the index (left as
    /// they were).
    pub already_there: Vec<(String, String)>,
    /// `(name, version)` of the `updated` and `removed` entries that were not in the
    /// index.
    pub missing: Vec<(String, String)>,
    /// Entries in the new file.
    pub entries: usize,
    /// Bytes of the new file.
    pub bytes: u64,
}

/// Why the new file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    /// The current file is not an index a registry would load.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// `write` refused a chunk (the upload failed; the caller knows why).
    #[error("the new index could not be written")]
    Stopped,
}

/// Writes the full index that follows `old` (`None`: there is none yet) with `change`
/// applied, in the compact layout, handing it to `write` in chunks of about [`CHUNK`]
/// bytes; `write` returns `false` to stop. The entries keep their order; added ones
/// come last. Blocks on `old`: run it off the async executor.
pub fn rewrite_search_index_all(
    old: Option<impl Read + Send>,
    change: &IndexChange,
    write: impl FnMut(Bytes) -> bool,
) -> Result<Rewritten, RewriteError> {
    let updated: HashMap<(&str, &str), &IndexEntry> = change
        .updated
        .iter()
        .map(|e| ((e.name(), e.version()), e))
        .collect();
    let removed: HashSet<(&str, &str)> = change
        .removed
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let mut out = Output::new(write);
    out.text(b"{\"packages\":[");
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut errors = Vec::new();
    if let Some(reader) = old {
        let copied = index_stream::for_each_block(reader, compact_entry, |block| {
            for result in block {
                match result {
                    Err(e) => errors.push(Err(e)),
                    // After a bad entry nothing more is written: the file is refused.
                    Ok(_) if !errors.is_empty() => {}
                    Ok((name, version, manifest)) => {
                        let key = (name.as_str(), version.as_str());
                        if !removed.contains(&key) {
                            match updated.get(&key) {
                                Some(entry) => out.item(&entry.compact().compact_item()),
                                None => out.item(&manifest),
                            }
                        }
                        seen.insert((name, version));
                    }
                }
            }
            !out.stopped
        });
        copied.map_err(stream_error)?;
        all_or_nothing::<()>(SEARCH_INDEX_ALL, errors)?;
    }
    let mut done = Rewritten::default();
    for entry in &change.added {
        let key = (entry.name().to_string(), entry.version().to_string());
        if seen.contains(&key) {
            done.already_there.push(key);
            continue;
        }
        let entry = entry.compact();
        out.item(&entry.compact_item());
        seen.insert(key);
        done.added.push(entry);
    }
    done.missing = change
        .updated
        .iter()
        .map(|e| (e.name().to_string(), e.version().to_string()))
        .chain(change.removed.iter().cloned())
        .filter(|key| !seen.contains(key))
        .collect();
    out.text(b"]}\n");
    out.flush();
    if out.stopped {
        return Err(RewriteError::Stopped);
    }
    done.entries = out.entries;
    done.bytes = out.bytes;
    Ok(done)
}

/// One version of an index, as [`versions_in`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedVersion {
    pub name: String,
    pub version: String,
    pub yank: Option<Yank>,
}

/// Every entry of the full index `reader` gives, in file order, read in blocks (never
/// held whole); all or nothing, as a registry reads it.
pub fn versions_in(reader: impl Read + Send) -> Result<Vec<IndexedVersion>, IndexError> {
    let results = index_stream::map_items(reader, |item| {
        let position = format!("packages[{}]", item.index);
        let fail = |problem: String| unnamed_entry_error(&position, problem);
        let text = std::str::from_utf8(item.text).map_err(|e| fail(format!("not UTF-8: {e}")))?;
        let (name, version) = entry_name_and_version(text).map_err(fail)?;
        let yank = Yank::of_entry(item.text).map_err(fail)?;
        Ok(IndexedVersion {
            name,
            version,
            yank,
        })
    })
    .map_err(|e| match stream_error(e) {
        RewriteError::Index(e) => e,
        RewriteError::Stopped => unreachable!("map_items never stops early"),
    })?;
    all_or_nothing(SEARCH_INDEX_ALL, results)
}

/// The entry of `name`-`version` in the full index `reader` gives (its text copied),
/// or `None`; the index is read in blocks. Every entry is checked, as
/// [`versions_in`] does.
pub fn find_entry(
    reader: impl Read + Send,
    name: &str,
    version: &str,
) -> Result<Option<IndexEntry>, IndexError> {
    let mut found = None;
    let mut errors = Vec::new();
    let read = index_stream::for_each_block(
        reader,
        |item| {
            let position = format!("packages[{}]", item.index);
            let fail = |problem: String| unnamed_entry_error(&position, problem);
            let text =
                std::str::from_utf8(item.text).map_err(|e| fail(format!("not UTF-8: {e}")))?;
            let (n, v) = entry_name_and_version(text).map_err(fail)?;
            if n == name && v == version {
                IndexEntry::from_item(item.text, &position).map(Some)
            } else {
                Ok(None)
            }
        },
        |block| {
            for result in block {
                match result {
                    Ok(Some(entry)) => found = Some(entry),
                    Ok(None) => {}
                    Err(e) => errors.push(Err(e)),
                }
            }
            true
        },
    );
    read.map_err(|e| match stream_error(e) {
        RewriteError::Index(e) => e,
        RewriteError::Stopped => unreachable!("the sink never stops"),
    })?;
    all_or_nothing::<()>(SEARCH_INDEX_ALL, errors)?;
    Ok(found)
}

/// `(name, version, number of assets)` of every entry of the full index `reader`
/// gives, in file order, read in blocks; all or nothing. The assets are the files a
/// registry serves from `artifacts/static/` (the manifest's `assets`).
pub fn versions_and_assets_in(
    reader: impl Read + Send,
) -> Result<Vec<(String, String, usize)>, IndexError> {
    #[derive(serde::Deserialize)]
    struct Entry {
        package_manifest: Assets,
    }
    #[derive(serde::Deserialize)]
    struct Assets {
        #[serde(default)]
        assets: Option<Vec<serde::de::IgnoredAny>>,
    }
    let results = index_stream::map_items(reader, |item| {
        let position = format!("packages[{}]", item.index);
        let fail = |problem: String| unnamed_entry_error(&position, problem);
        let text = std::str::from_utf8(item.text).map_err(|e| fail(format!("not UTF-8: {e}")))?;
        let (name, version) = entry_name_and_version(text).map_err(fail)?;
        let assets = serde_json::from_str::<Entry>(text)
            .map(|e| e.package_manifest.assets.map_or(0, |a| a.len()))
            .map_err(|e| fail(format!("assets: {e}")))?;
        Ok((name, version, assets))
    })
    .map_err(|e| match stream_error(e) {
        RewriteError::Index(e) => e,
        RewriteError::Stopped => unreachable!("map_items never stops early"),
    })?;
    all_or_nothing(SEARCH_INDEX_ALL, results)
}

/// The name, version and compacted text of one item of `packages` (the whole entry,
/// `{"package_manifest": {...}}`, as it is: one pass checks it and finds the name and
/// version, one drops its spaces).
fn compact_entry(item: index_stream::Item<'_>) -> Result<(String, String, Vec<u8>), EntryError> {
    let position = format!("packages[{}]", item.index);
    let fail = |problem: String| unnamed_entry_error(&position, problem);
    let text = std::str::from_utf8(item.text).map_err(|e| fail(format!("not UTF-8: {e}")))?;
    let (name, version) = entry_name_and_version(text).map_err(fail)?;
    let mut compact = Vec::with_capacity(item.text.len());
    if !minify(item.text, &mut compact) {
        compact.extend_from_slice(item.text);
    }
    Ok((name, version, compact))
}

fn stream_error(e: StreamError) -> RewriteError {
    let file = SEARCH_INDEX_ALL;
    RewriteError::Index(match e {
        StreamError::Syntax(message) => invalid(file, format!("not a JSON object: {message}")),
        StreamError::NoPackages => invalid(file, "no \"packages\" array"),
        StreamError::PackagesNotAnArray(found) => {
            invalid(file, format!("\"packages\" is not an array: {found}"))
        }
        StreamError::Io(message) => invalid(file, format!("cannot be read: {message}")),
    })
}

/// Appends valid JSON `text` to `out` without the whitespace between its tokens;
/// says whether there was any (when not, nothing is appended and the text can be
/// used as it is). Strings are copied byte for byte, escapes included, so the values
/// do not change. Written here because the JSON crates re-encode what they
/// minify (numbers and escapes may change); this only drops bytes.
pub fn minify(text: &[u8], out: &mut Vec<u8>) -> bool {
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let mut any = false;
    let mut copied = 0;
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if b == b'"' {
            i = string_end(text, i + 1);
        } else if is_space(b) {
            if !any {
                out.reserve(text.len());
                any = true;
            }
            out.extend_from_slice(&text[copied..i]);
            while i < text.len() && is_space(text[i]) {
                i += 1;
            }
            copied = i;
        } else {
            i += 1;
        }
    }
    if any {
        out.extend_from_slice(&text[copied..]);
    }
    any
}

/// Where the string whose text starts at `from` ends (after its closing quote).
fn string_end(text: &[u8], mut from: usize) -> usize {
    while let Some(k) = memchr::memchr2(b'"', b'\\', &text[from..]) {
        let at = from + k;
        if text[at] == b'"' {
            return at + 1;
        }
        from = at + 2; // an escape: skip the escaped byte
        if from >= text.len() {
            break;
        }
    }
    text.len()
}

/// The new file, gathered into chunks for `write`.
struct Output<W> {
    buf: Vec<u8>,
    write: W,
    entries: usize,
    bytes: u64,
    stopped: bool,
}

impl<W: FnMut(Bytes) -> bool> Output<W> {
    fn new(write: W) -> Output<W> {
        Output {
            buf: Vec::with_capacity(CHUNK),
            write,
            entries: 0,
            bytes: 0,
            stopped: false,
        }
    }

    fn text(&mut self, text: &[u8]) {
        self.buf.extend_from_slice(text);
    }

    /// One item of the list, compact.
    fn item(&mut self, item: &[u8]) {
        if self.entries > 0 {
            self.buf.push(b',');
        }
        self.buf.extend_from_slice(item);
        self.entries += 1;
        if self.buf.len() >= CHUNK {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.buf.is_empty() || self.stopped {
            return;
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.bytes += chunk.len() as u64;
        if !(self.write)(Bytes::from(chunk)) {
            self.stopped = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage_index::{IndexDocument, parse_search_index_all};
    use epr_package::index_entry::from_index_manifest;

    fn minified(text: &str) -> String {
        let mut out = Vec::new();
        if minify(text.as_bytes(), &mut out) {
            String::from_utf8(out).unwrap()
        } else {
            text.to_string()
        }
    }

    #[test]
    fn minify_drops_only_the_space_between_tokens() {
        assert_eq!(
            minified("{\n  \"a b\": [1, 2.50, \"x\\\" y\"],\t\"c\": {\"d\\\\\": \" \"}\r\n}"),
            "{\"a b\":[1,2.50,\"x\\\" y\"],\"c\":{\"d\\\\\":\" \"}}"
        );
        let mut out = Vec::new();
        assert!(!minify(b"{\"a\":\"b c\"}", &mut out));
        assert!(out.is_empty());
    }

    fn entry(name: &str, version: &str, title: &str) -> IndexEntry {
        let package = from_index_manifest(&serde_json::json!({
            "name": name,
            "title": title,
            "version": version,
            "format_version": "3.0.0",
            "download": format!("/epr/{name}/{name}-{version}.zip"),
            "path": format!("/package/{name}/{version}"),
        }))
        .unwrap();
        IndexEntry::from_package(&package).unwrap()
    }

    /// The new file, written in chunks of any size, as one string.
    fn rewrite(old: Option<&[u8]>, change: &IndexChange) -> (Rewritten, String) {
        let mut written = Vec::new();
        let done = rewrite_search_index_all(old, change, |chunk| {
            written.extend_from_slice(&chunk);
            true
        })
        .unwrap();
        assert_eq!(done.bytes, written.len() as u64);
        (done, String::from_utf8(written).unwrap())
    }

    #[test]
    fn a_change_is_applied_in_place_and_the_file_is_compact() {
        let old = IndexDocument::from_entries(vec![
            entry("a", "1.0.0", "A"),
            entry("b", "1.0.0", "B"),
            entry("c", "1.0.0", "C"),
        ])
        .to_bytes();
        assert!(old.contains(&b'\n'), "the old file is indented");
        let change = IndexChange {
            added: vec![entry("a", "1.0.0", "A again"), entry("d", "2.0.0", "D")],
            updated: vec![entry("b", "1.0.0", "B2"), entry("x", "9.9.9", "X")],
            removed: vec![("c".into(), "1.0.0".into()), ("y".into(), "1.0.0".into())],
        };
        let (done, text) = rewrite(Some(&old), &change);
        assert!(!text.trim_end().contains('\n'), "{text}");
        assert_eq!(parse_search_index_all(text.as_bytes()).unwrap().len(), 3);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let got: Vec<(&str, &str, &str)> = value["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["package_manifest"])
            .map(|m| {
                let field = |k: &str| m[k].as_str().unwrap();
                (field("name"), field("version"), field("title"))
            })
            .collect();
        assert_eq!(
            got,
            [
                ("a", "1.0.0", "A"),
                ("b", "1.0.0", "B2"),
                ("d", "2.0.0", "D")
            ]
        );
        assert_eq!(done.entries, 3);
        assert_eq!(done.already_there, [("a".to_string(), "1.0.0".to_string())]);
        assert_eq!(done.added.len(), 1);
        assert_eq!(done.added[0].name(), "d");
        assert_eq!(
            done.missing,
            [
                ("x".to_string(), "9.9.9".to_string()),
                ("y".into(), "1.0.0".into())
            ]
        );
    }

    #[test]
    fn a_yank_is_an_update_that_keeps_the_manifest() {
        let old = IndexDocument::from_entries(vec![entry("a", "1.0.0", "A")]).to_bytes();
        let yank = Yank {
            reason: "broken \"pipeline\"".into(),
            time: "2026-12-08T04:00:00Z".into(),
        };
        let yanked = entry("a", "1.0.0", "A").with_yank(Some(yank.clone()));
        let change = IndexChange {
            updated: vec![yanked.clone()],
            ..IndexChange::default()
        };
        let (_, text) = rewrite(Some(&old), &change);
        let versions = versions_in(text.as_bytes()).unwrap();
        assert_eq!(versions[0].yank.as_ref(), Some(&yank));
        let found = find_entry(text.as_bytes(), "a", "1.0.0").unwrap().unwrap();
        assert_eq!(found.yank(), Some(&yank));
        assert_eq!(found.manifest_json(), yanked.compact().manifest_json());
        // Carried on as it is by the next rewrite, and undone by an update without it.
        let (_, again) = rewrite(Some(text.as_bytes()), &IndexChange::default());
        assert_eq!(again, text);
        let change = IndexChange {
            updated: vec![found.with_yank(None)],
            ..IndexChange::default()
        };
        let (_, unyanked) = rewrite(Some(text.as_bytes()), &change);
        assert!(!unyanked.contains("yanked"), "{unyanked}");
        // In a delta too.
        let delta = crate::storage_index::DeltaDocument {
            updated: vec![yanked.compact()],
            ..Default::default()
        };
        let parsed = crate::storage_index::DeltaDocument::parse(&delta.to_compact_bytes()).unwrap();
        assert_eq!(parsed.updated[0].yank(), Some(&yank));
    }

    #[test]
    fn no_index_yet_gives_the_added_entries() {
        let change = IndexChange {
            added: vec![entry("a", "1.0.0", "A")],
            ..IndexChange::default()
        };
        let (done, text) = rewrite(None::<&[u8]>, &change);
        assert_eq!(done.entries, 1);
        assert!(text.starts_with("{\"packages\":[{\"package_manifest\":{\"name\":\"a\""));
        assert!(text.ends_with("}]}\n"));
    }

    #[test]
    fn a_bad_entry_refuses_the_file_and_a_stopped_writer_stops() {
        let bad = br#"{"packages": [{"package_manifest": {"name": "a", "version": "1.0.0"}}, {"nope": 1}]}"#;
        let e = rewrite_search_index_all(Some(&bad[..]), &IndexChange::default(), |_| true)
            .unwrap_err();
        assert!(e.to_string().contains("packages[1]"), "{e}");

        let many: Vec<IndexEntry> = (0..400)
            .map(|i| entry("a", &format!("1.0.{i}"), &"t".repeat(30_000)))
            .collect();
        let old = IndexDocument::from_entries(many).to_bytes();
        let mut chunks = 0;
        let e = rewrite_search_index_all(Some(&old[..]), &IndexChange::default(), |_| {
            chunks += 1;
            false
        })
        .unwrap_err();
        assert!(matches!(e, RewriteError::Stopped));
        assert_eq!(chunks, 1);
    }
}
