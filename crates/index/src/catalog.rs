//! The catalog: every package version, grouped by indexer, with its response
//! bytes computed once when the version enters the catalog.
//!
//! The upstream evaluates filters separately per indexer (storage, zip, folder)
//! and merges afterwards (spec/api.md §5.3); keeping the indexers apart here keeps
//! its answers identical in the rare cases where that order shows.
//!
//! A catalog is an immutable snapshot built from persistent collections
//! (`imbl`): a new revision of the storage index gives a new catalog that
//! shares every untouched entry with the old one, so applying a delta costs
//! O(changed versions × log n + versions of the names they touch), never
//! O(all packages), and the old catalog keeps serving until it is swapped out.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use epr_package::index_entry::from_index_manifest_bytes;
use epr_package::json::Json;
use epr_package::{LoadOptions, Package};
use rayon::prelude::*;

use crate::index_scan::WrappedManifest;

/// The name of the indexer fed by a Package Storage v2 index; it takes
/// precedence over the zip and folder indexers (storage-and-publishing.md §3.7).
pub const STORAGE_INDEXER: &str = "storage";
/// The name of the indexer of zip packages under the package paths.
pub const ZIP_INDEXER: &str = "zip";
/// The name of the indexer of folder packages under the package paths.
pub const FOLDER_INDEXER: &str = "dir";

/// Told how long each indexer took to answer one query, for the upstream's
/// `epr_indexer_get_duration_seconds` (it times each indexer's `Get`); a query
/// that needs no timing passes `&mut |_, _| {}`.
pub type OnIndexer<'t> = &'t mut dyn FnMut(&str, Duration);

/// Where the text of index manifests can be read again: the index file a catalog's
/// storage packages were read from (see [`FullDocument::Stored`]).
pub trait ManifestSource: fmt::Debug + Send + Sync {
    /// The bytes at `range` of the file, or what went wrong, for the log.
    fn read(
        &self,
        range: Range<u64>,
    ) -> Pin<Box<dyn Future<Output = Result<Bytes, String>> + Send>>;
}

/// Where one manifest's text is.
#[derive(Debug, Clone)]
pub struct ManifestRef {
    pub source: Arc<dyn ManifestSource>,
    pub range: Range<u64>,
    /// The range holds the index entry around the manifest,
    /// `{"package_manifest": {...}}` (an entry of a full index, where the scan finds
    /// entries, not manifests), rather than the manifest itself.
    pub wrapped: bool,
}

/// A package version entering the catalog, with where its full document comes from.
#[derive(Debug, Clone)]
pub struct Listed {
    pub package: Arc<Package>,
    /// Set for storage packages, which are kept as summaries
    /// ([`epr_package::index_summary`]); `None` for packages that keep their full
    /// document.
    pub manifest: Option<ManifestRef>,
    /// Yanked (`storage yank`): served, but left out of `/search` and `/categories`.
    pub yanked: bool,
}

impl Listed {
    /// A package with its full document (folders, zips).
    pub fn local(package: Arc<Package>) -> Listed {
        Listed {
            package,
            manifest: None,
            yanked: false,
        }
    }
}

impl From<Arc<Package>> for Listed {
    fn from(package: Arc<Package>) -> Listed {
        Listed::local(package)
    }
}

/// The `/package/{name}/{version}/` body of an entry.
#[derive(Debug, Clone)]
pub enum FullDocument {
    /// Printed when the entry was made: local packages, a few hundred.
    Ready(Bytes),
    /// Decoded from the manifest's text when asked for: storage packages, whose full
    /// documents (28 KB each) would make most of the registry's memory at 10,000
    /// versions. See [`Entry::full_from_manifest`].
    Stored(ManifestRef),
    /// Printed from the package's files when asked for: folders and zips served
    /// (see `epr_package::open_files`), whose full documents would otherwise be
    /// most of the memory of a large package path. See [`document_from_files`].
    FromFiles,
}

/// The `/package/{name}/{version}/` body of a [`FullDocument::FromFiles`] entry
/// (`package`, shown with `deprecated`): the package loaded again from its files,
/// without the checks it passed when first loaded. Blocks on the files.
/// Fails when they are gone, or are now another package's.
pub fn document_from_files(package: &Package, deprecated: Option<&Json>) -> Result<Bytes, String> {
    let fs = package.open_files().map_err(|e| e.to_string())?;
    let opts = LoadOptions {
        validate: false,
        require_signature: false,
    };
    let loaded = epr_package::package::load(package.location.clone(), fs, &opts)
        .map_err(|e| e.joined("; "))?;
    same_package(package, &loaded)?;
    let document = loaded
        .full_json(deprecated)
        .ok_or("the package loaded without its full document")?;
    Ok(Bytes::from(document.to_document()))
}

/// Fails unless `found` has the name and version of `expected`.
fn same_package(expected: &Package, found: &Package) -> Result<(), String> {
    if (found.name.as_str(), found.version.as_str())
        != (expected.name.as_str(), expected.version.as_str())
    {
        return Err(format!(
            "expected {}-{}, found {}-{}",
            expected.name, expected.version, found.name, found.version
        ));
    }
    Ok(())
}

/// One package version in the catalog, with its deprecation after propagation; its
/// `/search` entry is printed in pieces in the package ([`Package::write_search_entry`]).
#[derive(Debug)]
pub struct Entry {
    pub package: Arc<Package>,
    /// The deprecation shown for this version, after propagation (§5.11).
    pub deprecated: Option<Json>,
    pub full: FullDocument,
    /// Left out of `/search` and `/categories`, still served (see [`Listed`]).
    pub yanked: bool,
}

impl Entry {
    /// Prints the documents of `listed` with the propagated `deprecated`.
    fn render(listed: Listed, deprecated: Option<Json>) -> Entry {
        let Listed {
            package,
            manifest,
            yanked,
        } = listed;
        let full = match manifest {
            Some(manifest) => FullDocument::Stored(manifest),
            None => match package.full_json(deprecated.as_ref()) {
                Some(document) => FullDocument::Ready(Bytes::from(document.to_document())),
                None => FullDocument::FromFiles,
            },
        };
        Entry {
            package,
            deprecated,
            full,
            yanked,
        }
    }

    /// The `/search` entry as a response prints it (at array-item indentation,
    /// without the indentation of its first line).
    pub fn search_text(&self) -> String {
        let mut out = String::new();
        self.package
            .write_search_entry(&mut out, self.deprecated.as_ref(), None);
        out
    }

    fn listed(&self) -> Listed {
        Listed {
            package: self.package.clone(),
            manifest: match &self.full {
                FullDocument::Stored(m) => Some(m.clone()),
                FullDocument::Ready(_) | FullDocument::FromFiles => None,
            },
            yanked: self.yanked,
        }
    }

    /// The `/package/{name}/{version}/` body of a [`FullDocument::Stored`] entry, from
    /// the text at its [`ManifestRef`]: decoded in full and printed with this entry's
    /// deprecation.
    /// Fails when the text does not decode, or is another package's.
    pub fn full_from_manifest(&self, text: &[u8]) -> Result<Bytes, String> {
        let wrapped = matches!(&self.full, FullDocument::Stored(m) if m.wrapped);
        let manifest = if wrapped {
            let entry: WrappedManifest<'_> =
                serde_json::from_slice(text).map_err(|e| format!("not an index entry: {e}"))?;
            entry.0?.get().as_bytes()
        } else {
            text
        };
        let package = from_index_manifest_bytes(manifest)
            .map_err(|e| format!("{}: {}", e.location, e.joined("; ")))?;
        same_package(&self.package, &package).map_err(|e| format!("not the manifest: {e}"))?;
        let document = package
            .full_json(self.deprecated.as_ref())
            .ok_or("the manifest decoded without its full document")?;
        Ok(Bytes::from(document.to_document()))
    }
}

/// The entries of one indexer in list order (the order the upstream keeps its
/// package list in), keyed by a sequence number given when a version is first
/// listed: an update keeps its number, hence its place.
#[derive(Debug, Clone, Default)]
pub struct Entries(imbl::OrdMap<u64, Arc<Entry>>);

impl Entries {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> EntriesIter<'_> {
        EntriesIter(self.0.values())
    }
}

/// Iterates the entries of an indexer in list order.
pub struct EntriesIter<'a>(
    imbl::ordmap::Values<'a, u64, Arc<Entry>, imbl::shared_ptr::DefaultSharedPtr>,
);

impl<'a> Iterator for EntriesIter<'a> {
    type Item = &'a Entry;

    fn next(&mut self) -> Option<&'a Entry> {
        self.0.next().map(|e| &**e)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<'a> IntoIterator for &'a Entries {
    type Item = &'a Entry;
    type IntoIter = EntriesIter<'a>;

    fn into_iter(self) -> EntriesIter<'a> {
        self.iter()
    }
}

/// The changes of one storage index revision (storage-and-publishing.md §3.4).
#[derive(Debug, Clone, Default)]
pub struct StorageDelta {
    /// `(name, version)` of the versions that left the index.
    pub removed: Vec<(String, String)>,
    /// New documents of listed versions; they keep their place in the list.
    pub updated: Vec<Listed>,
    /// Versions new to the index, appended unless already listed.
    pub added: Vec<Listed>,
}

/// The packages of one source kind, in list order.
#[derive(Debug, Clone, Default)]
pub struct Indexer {
    pub name: String,
    pub entries: Entries,
    /// name -> version -> sequence number of its entry.
    versions: imbl::HashMap<String, imbl::OrdMap<String, u64>>,
    /// The number the next listed version gets; numbers are never reused, so
    /// appended versions always sort last.
    next_seq: u64,
}

/// Versions staged into an indexer but not yet rendered: rendering waits until
/// every change is in, because a change can alter the deprecation that the
/// other versions of its name show.
#[derive(Default)]
struct Staged {
    /// Sequence number -> the package to render there.
    packages: HashMap<u64, Listed>,
    /// Names whose versions changed: their deprecation is recomputed.
    names: HashSet<String>,
}

impl Indexer {
    /// Builds an indexer from packages in walk order; later duplicates of a
    /// name+version are dropped (the first path wins).
    pub fn build(name: impl Into<String>, packages: Vec<Arc<Package>>) -> Indexer {
        Indexer::build_listed(name, packages.into_iter().map(Listed::local).collect())
    }

    /// [`Indexer::build`] for packages that may be summaries.
    pub fn build_listed(name: impl Into<String>, packages: Vec<Listed>) -> Indexer {
        let mut indexer = Indexer {
            name: name.into(),
            ..Indexer::default()
        };
        let mut staged = Staged::default();
        for listed in packages {
            let (name, version) = (listed.package.name.clone(), listed.package.version.clone());
            if !indexer.stage_append(listed, &mut staged) {
                tracing::debug!(package.name = %name, package.version = %version, "duplicate package ignored");
            }
        }
        indexer.settle(staged);
        indexer
    }

    /// The storage indexer with these packages, in index order.
    pub fn storage(packages: Vec<Listed>) -> Indexer {
        Indexer::build_listed(STORAGE_INDEXER, packages)
    }

    /// The entry with exactly this name and version string.
    pub fn get(&self, name: &str, version: &str) -> Option<&Entry> {
        let seq = self.seq_of(name, version)?;
        self.entries.0.get(&seq).map(|e| &**e)
    }

    /// Applies one index revision as the upstream does (§3.4): removals by
    /// name-version, then updates in place, then additions appended unless
    /// already listed. An update of a version that is not listed adds it: the
    /// revision says it exists.
    pub fn apply(&mut self, delta: StorageDelta) {
        let mut staged = Staged::default();
        for (name, version) in &delta.removed {
            self.remove(name, version, &mut staged);
        }
        for listed in delta.updated {
            self.stage_replace(listed, &mut staged);
        }
        for listed in delta.added {
            self.stage_append(listed, &mut staged);
        }
        self.settle(staged);
    }

    fn seq_of(&self, name: &str, version: &str) -> Option<u64> {
        self.versions.get(name)?.get(version).copied()
    }

    /// Lists `package` at the end unless its name+version is listed already.
    fn stage_append(&mut self, listed: Listed, staged: &mut Staged) -> bool {
        let package = &listed.package;
        if self.seq_of(&package.name, &package.version).is_some() {
            return false;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.versions
            .entry(package.name.clone())
            .or_default()
            .insert(package.version.clone(), seq);
        staged.stage(seq, listed);
        true
    }

    /// Puts `package` in the place of its listed name+version, or at the end.
    fn stage_replace(&mut self, listed: Listed, staged: &mut Staged) {
        match self.seq_of(&listed.package.name, &listed.package.version) {
            Some(seq) => staged.stage(seq, listed),
            None => {
                self.stage_append(listed, staged);
            }
        }
    }

    fn remove(&mut self, name: &str, version: &str, staged: &mut Staged) {
        let Some(versions) = self.versions.get_mut(name) else {
            return;
        };
        let Some(seq) = versions.remove(version) else {
            return;
        };
        if versions.is_empty() {
            self.versions.remove(name);
        }
        self.entries.0.remove(&seq);
        staged.packages.remove(&seq);
        staged.names.insert(name.to_string());
    }

    /// Renders the staged versions, and re-renders the listed versions of the
    /// touched names whose propagated deprecation changed. Untouched names keep
    /// their entries, shared with the previous catalog.
    fn settle(&mut self, mut staged: Staged) {
        let mut jobs = Vec::new();
        for name in std::mem::take(&mut staged.names) {
            let Some(versions) = self.versions.get(&name) else {
                continue; // every version of the name was removed
            };
            let mut seqs: Vec<u64> = versions.values().copied().collect();
            seqs.sort_unstable(); // list order, which breaks deprecation ties
            let listed: Vec<(u64, Listed)> = seqs
                .into_iter()
                .filter_map(|seq| self.listed_at(seq, &staged).map(|l| (seq, l)))
                .collect();
            let deprecated = latest_deprecation(listed.iter().map(|(_, l)| &*l.package));
            for (seq, listed) in listed {
                if self.needs_render(seq, &deprecated, &staged) {
                    jobs.push((seq, listed, deprecated.clone()));
                }
            }
        }
        // Printing the entries is most of the work of a full build: on every core.
        let rendered: Vec<(u64, Arc<Entry>)> = jobs
            .into_par_iter()
            .map(|(seq, listed, deprecated)| (seq, Arc::new(Entry::render(listed, deprecated))))
            .collect();
        for (seq, entry) in rendered {
            self.entries.0.insert(seq, entry);
        }
    }

    /// The package listed at `seq`, staged or already rendered.
    fn listed_at(&self, seq: u64, staged: &Staged) -> Option<Listed> {
        match staged.packages.get(&seq) {
            Some(l) => Some(l.clone()),
            None => self.entries.0.get(&seq).map(|e| e.listed()),
        }
    }

    fn needs_render(&self, seq: u64, deprecated: &Option<Json>, staged: &Staged) -> bool {
        staged.packages.contains_key(&seq)
            || self
                .entries
                .0
                .get(&seq)
                .is_none_or(|e| e.deprecated != *deprecated)
    }
}

impl Staged {
    fn stage(&mut self, seq: u64, listed: Listed) {
        self.names.insert(listed.package.name.clone());
        self.packages.insert(seq, listed);
    }
}

/// The `deprecated` object of the highest version that has one (§5.11); among
/// equal versions the first listed wins.
fn latest_deprecation<'a>(versions: impl Iterator<Item = &'a Package>) -> Option<Json> {
    let mut best: Option<&Package> = None;
    for p in versions.filter(|p| p.deprecated.is_some()) {
        if best.is_none_or(|b| p.semver > b.semver) {
            best = Some(p);
        }
    }
    best.and_then(|p| p.deprecated.clone())
}

/// An immutable snapshot of all packages; a reload or a new index revision
/// builds another one and swaps it in whole.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// In precedence order: storage, zip, folder.
    pub indexers: Vec<Indexer>,
}

impl Catalog {
    pub fn new(indexers: Vec<Indexer>) -> Catalog {
        Catalog { indexers }
    }

    pub fn len(&self) -> usize {
        self.indexers.iter().map(|i| i.entries.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The package with exactly this name and version string (§5.12): the first
    /// indexer that has it wins, so a version removed from storage falls back to
    /// a zip or folder copy of it.
    pub fn find(&self, name: &str, version: &str) -> Option<&Entry> {
        self.indexers.iter().find_map(|i| i.get(name, version))
    }

    /// [`Catalog::find`] that tells `on_indexer` how long each indexer it asked took.
    pub fn find_timed(
        &self,
        name: &str,
        version: &str,
        on_indexer: OnIndexer<'_>,
    ) -> Option<&Entry> {
        self.indexers.iter().find_map(|i| {
            let started = Instant::now();
            let found = i.get(name, version);
            on_indexer(&i.name, started.elapsed());
            found
        })
    }

    /// The storage indexer, when the catalog has one.
    pub fn storage(&self) -> Option<&Indexer> {
        self.indexers.iter().find(|i| i.name == STORAGE_INDEXER)
    }

    /// This catalog with its storage indexer replaced by `packages` (a full sync,
    /// §3.3); the other indexers are shared, not rebuilt.
    pub fn with_storage(&self, packages: Vec<Listed>) -> Catalog {
        self.with_storage_indexer(Indexer::storage(packages))
    }

    /// This catalog with one storage index revision applied (an incremental
    /// sync, §3.4). The cost grows with the delta, not with the catalog.
    pub fn with_storage_delta(&self, delta: StorageDelta) -> Catalog {
        let mut storage = self
            .storage()
            .cloned()
            .unwrap_or_else(|| Indexer::storage(Vec::new()));
        storage.apply(delta);
        self.with_storage_indexer(storage)
    }

    /// Replaces the zip and folder indexers (a reload of the package paths) and
    /// keeps the storage one.
    pub fn with_local(&self, local: Vec<Indexer>) -> Catalog {
        Catalog {
            indexers: self.storage().cloned().into_iter().chain(local).collect(),
        }
    }

    /// Cloning an indexer copies a few pointers: the collections are persistent.
    fn with_storage_indexer(&self, storage: Indexer) -> Catalog {
        let others = self
            .indexers
            .iter()
            .filter(|i| i.name != STORAGE_INDEXER)
            .cloned();
        Catalog {
            indexers: std::iter::once(storage).chain(others).collect(),
        }
    }
}
