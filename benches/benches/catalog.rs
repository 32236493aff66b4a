//! Building the catalog from the 185 real packages, loaded once in setup: what
//! the server does after loading its `package_paths` (`sources::load_package_paths`
//! then `Catalog::new`), at startup and on every reload. `Indexer::build` drops
//! duplicates, propagates deprecations and prints every search entry and package
//! document once, so that requests only copy bytes.

use criterion::{Criterion, criterion_group, criterion_main};
use epr_benches::{corpus_dir, corpus_zips, load_all};
use epr_index::{Catalog, Indexer};

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

criterion_group!(benches, build);
criterion_main!(benches);
