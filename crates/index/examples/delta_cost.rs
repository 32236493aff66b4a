//! How the cost of applying a storage index revision grows with the catalog.
//!
//! Builds storage catalogs of 10,000 and 100,000 synthetic versions (5 versions
//! per name) and times, median of several runs: a delta adding one new package,
//! one adding a deprecated version to a listed name (its 5 versions are printed
//! again), one removal, and the full rebuild for comparison. A delta must cost
//! the same at both sizes, up to log factors.
//!
//! ```sh
//! cargo run --release -p epr-index --example delta_cost [SIZE...]
//! ```

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use epr_index::search::{render_search, search};
use epr_index::{Catalog, Listed, StorageDelta};
use epr_package::Package;
use rayon::prelude::*;

const VERSIONS_PER_NAME: usize = 5;
const RUNS: usize = 31;

fn synthetic_packages(size: usize) -> Vec<Arc<Package>> {
    (0..size)
        .into_par_iter()
        .map(|i| {
            let name = format!("pkg{:06}", i / VERSIONS_PER_NAME);
            let version = format!("1.{}.0", i % VERSIONS_PER_NAME);
            common::package(&name, &version, "categories:\n  - security\n")
        })
        .collect()
}

/// The median wall time of `RUNS` calls of `f`; what `f` returns is dropped
/// outside the timed part (and kept opaque, so the work is not optimized away).
fn median<T>(mut f: impl FnMut() -> T) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let kept = std::hint::black_box(f());
            let took = start.elapsed();
            drop(kept);
            took
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

fn measure(size: usize) {
    let packages: Vec<Listed> = synthetic_packages(size)
        .into_iter()
        .map(Listed::local)
        .collect();
    let start = Instant::now();
    let catalog = Catalog::default().with_storage(packages.clone());
    let built = start.elapsed();

    let new_name = StorageDelta {
        added: vec![common::package("brand_new", "1.0.0", "").into()],
        ..StorageDelta::default()
    };
    let deprecated_version = StorageDelta {
        added: vec![
            common::package(
                "pkg000042",
                "2.0.0",
                "deprecated:\n  since: 2.0.0\n  description: use something else\n",
            )
            .into(),
        ],
        ..StorageDelta::default()
    };
    let removal = StorageDelta {
        removed: vec![("pkg000042".into(), "1.2.0".into())],
        ..StorageDelta::default()
    };
    let add_one = median(|| catalog.with_storage_delta(new_name.clone()));
    let add_deprecated = median(|| catalog.with_storage_delta(deprecated_version.clone()));
    let remove_one = median(|| catalog.with_storage_delta(removal.clone()));
    let full_sync = median(|| catalog.with_storage(packages.clone()));

    let all = epr_index::query::Filter {
        all: true,
        ..Default::default()
    };
    let search_all =
        median(|| render_search(&search(&catalog, &all, &mut |_, _| {}).unwrap()).len());
    let storage = catalog.storage().expect("a storage indexer");
    let walk_tree = median(|| {
        storage
            .entries
            .iter()
            .map(|e| e.search_text().len())
            .sum::<usize>()
    });
    // What walking the entries cost when they were a Vec, for comparison.
    let as_vec: Vec<&epr_index::Entry> = storage.entries.iter().collect();
    let walk_vec = median(|| as_vec.iter().map(|e| e.search_text().len()).sum::<usize>());

    println!(
        "n={size:>7}: add one new package {add_one:>10.1?} | add a deprecated version \
         (5 re-rendered) {add_deprecated:>10.1?} | remove one {remove_one:>10.1?} | \
         full rebuild {full_sync:>9.1?} (first build {built:.1?})"
    );
    println!(
        "           /search?all=true {search_all:.1?} | walking all entries: \
         persistent map {walk_tree:.1?}, Vec {walk_vec:.1?}"
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("sizes are numbers"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    for size in sizes {
        measure(size);
    }
}
