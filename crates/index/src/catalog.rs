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
use std::sync::Arc;

use epr_package::Package;
use epr_package::json::Json;

/// The name of the indexer fed by a Package Storage v2 index; it takes
/// precedence over the zip and folder indexers (storage-and-publishing.md §3.7).
pub const STORAGE_INDEXER: &str = "storage";

/// One package version in the catalog with its precomputed documents.
#[derive(Debug)]
pub struct Entry {
    pub package: Arc<Package>,
    /// The deprecation shown for this version, after propagation (§5.11).
    pub deprecated: Option<Json>,
    /// The `/search` entry printed at array-item indentation, without the
    /// leading indentation of its first line.
    pub search_bytes: String,
    /// The complete `/package/{name}/{version}/` body.
    pub full_bytes: bytes::Bytes,
}

impl Entry {
    /// Prints both documents of `package` with the propagated `deprecated`.
    fn render(package: Arc<Package>, deprecated: Option<Json>) -> Entry {
        let mut search_bytes = String::new();
        package
            .search_entry(deprecated.as_ref(), None)
            .write_indented(&mut search_bytes, 1);
        let full_bytes = bytes::Bytes::from(package.full_json(deprecated.as_ref()).to_document());
        Entry {
            package,
            deprecated,
            search_bytes,
            full_bytes,
        }
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
    pub updated: Vec<Arc<Package>>,
    /// Versions new to the index, appended unless already listed.
    pub added: Vec<Arc<Package>>,
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
    packages: HashMap<u64, Arc<Package>>,
    /// Names whose versions changed: their deprecation is recomputed.
    names: HashSet<String>,
}

impl Indexer {
    /// Builds an indexer from packages in walk order; later duplicates of a
    /// name+version are dropped (the first path wins).
    pub fn build(name: impl Into<String>, packages: Vec<Arc<Package>>) -> Indexer {
        let mut indexer = Indexer {
            name: name.into(),
            ..Indexer::default()
        };
        let mut staged = Staged::default();
        for package in packages {
            if !indexer.stage_append(package.clone(), &mut staged) {
                tracing::debug!(package.name = %package.name, package.version = %package.version, "duplicate package ignored");
            }
        }
        indexer.settle(staged);
        indexer
    }

    /// The storage indexer with these packages, in index order.
    pub fn storage(packages: Vec<Arc<Package>>) -> Indexer {
        Indexer::build(STORAGE_INDEXER, packages)
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
        for package in delta.updated {
            self.stage_replace(package, &mut staged);
        }
        for package in delta.added {
            self.stage_append(package, &mut staged);
        }
        self.settle(staged);
    }

    fn seq_of(&self, name: &str, version: &str) -> Option<u64> {
        self.versions.get(name)?.get(version).copied()
    }

    /// Lists `package` at the end unless its name+version is listed already.
    fn stage_append(&mut self, package: Arc<Package>, staged: &mut Staged) -> bool {
        if self.seq_of(&package.name, &package.version).is_some() {
            return false;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.versions
            .entry(package.name.clone())
            .or_default()
            .insert(package.version.clone(), seq);
        staged.stage(seq, package);
        true
    }

    /// Puts `package` in the place of its listed name+version, or at the end.
    fn stage_replace(&mut self, package: Arc<Package>, staged: &mut Staged) {
        match self.seq_of(&package.name, &package.version) {
            Some(seq) => staged.stage(seq, package),
            None => {
                self.stage_append(package, staged);
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
        for name in std::mem::take(&mut staged.names) {
            let Some(versions) = self.versions.get(&name) else {
                continue; // every version of the name was removed
            };
            let mut seqs: Vec<u64> = versions.values().copied().collect();
            seqs.sort_unstable(); // list order, which breaks deprecation ties
            let packages: Vec<(u64, Arc<Package>)> = seqs
                .into_iter()
                .filter_map(|seq| self.package_at(seq, &staged).map(|p| (seq, p)))
                .collect();
            let deprecated = latest_deprecation(packages.iter().map(|(_, p)| &**p));
            for (seq, package) in packages {
                if self.needs_render(seq, &deprecated, &staged) {
                    let entry = Entry::render(package, deprecated.clone());
                    self.entries.0.insert(seq, Arc::new(entry));
                }
            }
        }
    }

    /// The package listed at `seq`, staged or already rendered.
    fn package_at(&self, seq: u64, staged: &Staged) -> Option<Arc<Package>> {
        match staged.packages.get(&seq) {
            Some(p) => Some(p.clone()),
            None => self.entries.0.get(&seq).map(|e| e.package.clone()),
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
    fn stage(&mut self, seq: u64, package: Arc<Package>) {
        self.names.insert(package.name.clone());
        self.packages.insert(seq, package);
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

    /// The storage indexer, when the catalog has one.
    pub fn storage(&self) -> Option<&Indexer> {
        self.indexers.iter().find(|i| i.name == STORAGE_INDEXER)
    }

    /// This catalog with its storage indexer replaced by `packages` (a full sync,
    /// §3.3); the other indexers are shared, not rebuilt.
    pub fn with_storage(&self, packages: Vec<Arc<Package>>) -> Catalog {
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
