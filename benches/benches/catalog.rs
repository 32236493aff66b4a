//! Building the catalog from the 185 real packages, loaded once in setup: what
//! the server does after loading its `package_paths` (`sources::load_package_paths`
//! then `Catalog::new`), at startup and on every reload. `Indexer::build` drops
//! duplicates, propagates deprecations and prints every search entry and package
//! document once, so that requests only copy bytes.
//!
//! And reading a storage index of the same 185 packages as a registry does at startup
//! and on a full reload (`storage_index::read_search_index_all`: the file scanned in
//! blocks, each entry parsed into its summary), then building the storage indexer.

use criterion::{Criterion, criterion_group, criterion_main};
use epr_benches::{corpus_dir, corpus_zips, load_all};
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use epr_index::storage_index::{IndexEntry, read_search_index_all, write_search_index_all};
use epr_index::{Catalog, Indexer, ManifestSource};

fn build(c: &mut Criterion) {
    let Some(dir) = corpus_dir() else { return };
    let packages = load_all(&corpus_zips(&dir));
    let mut group = c.benchmark_group("catalog");
    group.bench_function(format!("build/{}_zips", packages.len()), |b| {
        // Zips, then folders (none here): the indexers `load_package_paths` makes.
        b.iter_with_large_drop(|| {
            Catalog::new(vec![
                Indexer::build("zip", packages.clone()),
                Indexer::build("dir", Vec::new()),
            ])
        })
    });
    group.finish();
}

/// Reading never asks for a full document; nothing to read back.
#[derive(Debug)]
struct NoFile;

impl ManifestSource for NoFile {
    fn read(&self, _: Range<u64>) -> Pin<Box<dyn Future<Output = Result<Bytes, String>> + Send>> {
        Box::pin(std::future::ready(Err("not read in this benchmark".into())))
    }
}

fn read_storage_index(c: &mut Criterion) {
    let Some(dir) = corpus_dir() else { return };
    let packages = load_all(&corpus_zips(&dir));
    let entries: Vec<IndexEntry> = packages
        .iter()
        .filter_map(|p| IndexEntry::from_package(p).ok())
        .collect();
    let file = write_search_index_all(&entries);
    let mut group = c.benchmark_group("catalog");
    let name = format!(
        "read_storage_index/{}_entries_{}_kb",
        entries.len(),
        file.len() >> 10
    );
    group.bench_function(name, |b| {
        b.iter_with_large_drop(|| {
            let listed = read_search_index_all(&file[..], Arc::new(NoFile)).expect("index");
            Indexer::storage(listed)
        })
    });
    group.finish();
}

criterion_group!(benches, build, read_storage_index);
criterion_main!(benches);
