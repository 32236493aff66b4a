//! Applying one storage index revision to the catalog of a registry that serves a
//! Package Storage v2 bucket (`Catalog::with_storage_delta`): a new package, and a
//! removal. The registry does this on every revision it polls; it must cost the
//! same at 10,000 and 100,000 versions (the catalog is persistent maps, only the
//! changed paths are copied), where a full rebuild grows with the catalog.
//!
//! The catalogs are synthetic, as in `crates/index/examples/delta_cost.rs`:
//! 5 versions per name, minimal manifests (building the 100,000 takes a few
//! seconds of setup).

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use epr_benches::{memory, storage_catalog};
use epr_index::StorageDelta;

const SIZES: [usize; 2] = [10_000, 100_000];

fn deltas(c: &mut Criterion) {
    let new_package = StorageDelta {
        added: vec![memory::package("brand_new", "1.0.0", "").into()],
        ..StorageDelta::default()
    };
    // A listed version: pkg000042 has 1.0.0 to 1.4.0.
    let removal = StorageDelta {
        removed: vec![("pkg000042".into(), "1.2.0".into())],
        ..StorageDelta::default()
    };
    let mut group = c.benchmark_group("delta");
    for size in SIZES {
        let catalog = storage_catalog(size);
        for (what, delta) in [("add_new_package", &new_package), ("remove_one", &removal)] {
            // The delta is cloned and the old catalog's copy dropped outside the timing.
            group.bench_with_input(BenchmarkId::new(what, size), delta, |b, delta| {
                b.iter_batched(
                    || delta.clone(),
                    |delta| catalog.with_storage_delta(delta),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    group.finish();
}

criterion_group!(benches, deltas);
criterion_main!(benches);
