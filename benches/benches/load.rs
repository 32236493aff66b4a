//! Loading one package, from a zip and from a folder: reading the manifests, the
//! load-time checks, and printing the package's two JSON documents. The server
//! does this for every package under `package_paths` at startup and on every
//! reload, so startup grows with it.
//!
//! Two real packages: the corpus zip of median size and `aws` (the largest: 585
//! files, 7.8 MB unpacked). The folder is that zip unpacked once, in setup; after
//! the first iteration its files are in the page cache, so this measures the
//! work, not the disk.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use epr_benches::{
    corpus_dir, corpus_zips, file_name, load_dir, load_zip, median_zip, unpack, zip_of,
};

fn load(c: &mut Criterion) {
    let Some(dir) = corpus_dir() else { return };
    let zips = corpus_zips(&dir);
    let unpacked = tempfile::tempdir().expect("a temporary folder");
    let mut group = c.benchmark_group("load");
    for zip in [Some(median_zip(&zips)), zip_of(&zips, "aws")]
        .into_iter()
        .flatten()
    {
        let id = file_name(&zip);
        let folder = unpack(&zip, unpacked.path());
        // The server keeps what it loads: dropping it is not part of loading.
        group.bench_function(BenchmarkId::new("zip", &id), |b| {
            b.iter_with_large_drop(|| load_zip(&zip))
        });
        group.bench_function(BenchmarkId::new("folder", &id), |b| {
            b.iter_with_large_drop(|| load_dir(&folder))
        });
    }
    group.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
