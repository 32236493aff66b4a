//! The catalog: every package version, grouped by indexer, with its response
//! bytes computed once when the catalog is built.
//!
//! The upstream evaluates filters separately per indexer (storage, zip, folder)
//! and merges afterwards (spec/api.md §5.3); keeping the indexers apart here keeps
//! its answers identical in the rare cases where that order shows.

use std::collections::HashMap;
use std::sync::Arc;

use epr_package::Package;
use epr_package::json::Json;

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

/// The packages of one source kind, in precedence order.
#[derive(Debug, Default)]
pub struct Indexer {
    pub name: String,
    pub entries: Vec<Entry>,
}

impl Indexer {
    /// Builds an indexer from packages in walk order; later duplicates of a
    /// name+version are dropped (the first path wins).
    pub fn build(name: impl Into<String>, packages: Vec<Arc<Package>>) -> Indexer {
        let mut seen = std::collections::HashSet::new();
        let packages: Vec<Arc<Package>> = packages
            .into_iter()
            .filter(|p| {
                let fresh = seen.insert((p.name.clone(), p.version.clone()));
                if !fresh {
                    tracing::debug!(package.name = %p.name, package.version = %p.version, "duplicate package ignored");
                }
                fresh
            })
            .collect();
        let deprecations = propagate_deprecations(&packages);
        let entries = packages
            .into_iter()
            .map(|package| {
                let deprecated = deprecations.get(package.name.as_str()).cloned().flatten();
                let mut search_bytes = String::new();
                package
                    .search_entry(deprecated.as_ref(), None)
                    .write_indented(&mut search_bytes, 1);
                let full_bytes =
                    bytes::Bytes::from(package.full_json(deprecated.as_ref()).to_document());
                Entry {
                    package,
                    deprecated,
                    search_bytes,
                    full_bytes,
                }
            })
            .collect();
        Indexer {
            name: name.into(),
            entries,
        }
    }
}

/// For each name, the `deprecated` object of its highest version that has one.
fn propagate_deprecations(packages: &[Arc<Package>]) -> HashMap<String, Option<Json>> {
    let mut best: HashMap<&str, &Package> = HashMap::new();
    for p in packages.iter().filter(|p| p.deprecated.is_some()) {
        match best.get(p.name.as_str()) {
            Some(b) if b.semver >= p.semver => {}
            _ => {
                best.insert(&p.name, p);
            }
        }
    }
    best.into_iter()
        .map(|(name, p)| (name.to_string(), p.deprecated.clone()))
        .collect()
}

/// An immutable snapshot of all packages; swapped whole on reload.
#[derive(Debug, Default)]
pub struct Catalog {
    /// In precedence order: storage, zip, folder.
    pub indexers: Vec<Indexer>,
    /// name -> version -> (indexer, entry) of the version that wins lookups.
    by_name: HashMap<String, HashMap<String, (usize, usize)>>,
}

impl Catalog {
    pub fn new(indexers: Vec<Indexer>) -> Catalog {
        let mut by_name: HashMap<String, HashMap<String, (usize, usize)>> = HashMap::new();
        for (i, indexer) in indexers.iter().enumerate() {
            for (j, e) in indexer.entries.iter().enumerate() {
                by_name
                    .entry(e.package.name.clone())
                    .or_default()
                    .entry(e.package.version.clone())
                    .or_insert((i, j));
            }
        }
        Catalog { indexers, by_name }
    }

    pub fn len(&self) -> usize {
        self.indexers.iter().map(|i| i.entries.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The package with exactly this name and version string (§5.12): the first
    /// indexer that has it wins.
    pub fn find(&self, name: &str, version: &str) -> Option<&Entry> {
        let (i, j) = *self.by_name.get(name)?.get(version)?;
        Some(&self.indexers[i].entries[j])
    }
}
