//! What the criterion benchmarks in `benches/` share: where the real packages are,
//! loading them as the server does, and synthetic storage catalogs.
//!
//! `cargo bench -p epr-benches` runs them all; docs/PERFORMANCE.md says what each
//! measures and what it took.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use epr_index::Catalog;
use epr_package::fs::{DirFs, ZipFs};
use epr_package::{LoadOptions, Location, Package};
use rayon::prelude::*;

/// Packages made in memory (a manifest and a README), the same ones the catalog
/// tests and the `delta_cost` example use.
#[path = "../../crates/index/tests/common/mod.rs"]
pub mod memory;

/// Versions per name in the synthetic catalogs, as in `delta_cost`.
const VERSIONS_PER_NAME: usize = 5;

/// `../shared/corpus/production-latest` (the newest version of each of 185 real
/// integrations), or `None`, with a note on stderr, when it is not there.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = epr_testkit::shared_dir(env!("CARGO_MANIFEST_DIR"))
        .map(|shared| shared.join("corpus/production-latest"))
        .filter(|dir| dir.is_dir());
    if dir.is_none() {
        eprintln!(
            "note: no ../shared/corpus/production-latest (or $EPR_SHARED); \
             the benchmarks on real packages are skipped"
        );
    }
    dir
}

/// The zips in `dir`, sorted by file name (the order the server walks them in).
pub fn corpus_zips(dir: &Path) -> Vec<PathBuf> {
    let mut zips: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "zip"))
        .collect();
    zips.sort();
    zips
}

/// The zip of median file size (the lower middle one for an even count).
pub fn median_zip(zips: &[PathBuf]) -> PathBuf {
    let mut by_size: Vec<(u64, &PathBuf)> = zips
        .iter()
        .map(|zip| (std::fs::metadata(zip).map_or(0, |m| m.len()), zip))
        .collect();
    by_size.sort();
    by_size[(by_size.len() - 1) / 2].1.clone()
}

/// The zip whose file name starts with `{name}-`.
pub fn zip_of(zips: &[PathBuf], name: &str) -> Option<PathBuf> {
    let prefix = format!("{name}-");
    zips.iter()
        .find(|zip| file_name(zip).starts_with(&prefix))
        .cloned()
}

/// The file name without `.zip`: `aws-1.24.5`, for benchmark ids.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".zip").to_string())
        .unwrap_or_default()
}

/// The options the server loads with by default, less the signature requirement
/// (the corpus has no `.sig` files; checking one is a `stat`).
pub fn load_options() -> LoadOptions {
    LoadOptions {
        validate: true,
        require_signature: false,
    }
}

/// Loads a package zip as `sources::load_package_paths` does.
pub fn load_zip(path: &Path) -> Package {
    let fs = ZipFs::open(path)
        .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()))
        .unwrap_or_else(|| panic!("{} has no <folder>/manifest.yml", path.display()));
    epr_package::package::load(Location::Zip(path.into()), Arc::new(fs), &load_options())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Loads a package folder as `sources::load_package_paths` does.
pub fn load_dir(path: &Path) -> Package {
    let fs = DirFs::open(path).unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    epr_package::package::load(Location::Dir(path.into()), Arc::new(fs), &load_options())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Loads every zip, in parallel, keeping their order.
pub fn load_all(zips: &[PathBuf]) -> Vec<Arc<Package>> {
    zips.par_iter().map(|zip| Arc::new(load_zip(zip))).collect()
}

/// Unpacks `zip` into `into/{name}/{version}/`, where a package folder lives under
/// `package_paths`, and returns that folder.
pub fn unpack(zip: &Path, into: &Path) -> PathBuf {
    let fail = |what: &str, e: &dyn std::fmt::Display| -> ! {
        panic!("unpacking {}: {what}: {e}", zip.display())
    };
    let package = load_zip(zip);
    let root = ZipFs::open(zip)
        .ok()
        .flatten()
        .map(|fs| fs.root_dir().to_string())
        .unwrap_or_else(|| fail("root folder", &"not found"));
    let file = std::fs::File::open(zip).unwrap_or_else(|e| fail("open", &e));
    let mut archive = zip::ZipArchive::new(file).unwrap_or_else(|e| fail("read", &e));
    let staging = into.join(".unpacking");
    archive
        .extract(&staging)
        .unwrap_or_else(|e| fail("extract", &e));
    let folder = into.join(&package.name).join(&package.version);
    std::fs::create_dir_all(into.join(&package.name)).unwrap_or_else(|e| fail("mkdir", &e));
    std::fs::rename(staging.join(root), &folder).unwrap_or_else(|e| fail("rename", &e));
    std::fs::remove_dir_all(&staging).unwrap_or_else(|e| fail("clean up", &e));
    folder
}

/// `size` synthetic versions, 5 per name (`pkg000000` 1.0.0 to 1.4.0, ...), with
/// minimal manifests, made in parallel.
pub fn synthetic_packages(size: usize) -> Vec<Arc<Package>> {
    (0..size)
        .into_par_iter()
        .map(|i| {
            let name = format!("pkg{:06}", i / VERSIONS_PER_NAME);
            let version = format!("1.{}.0", i % VERSIONS_PER_NAME);
            memory::package(&name, &version, "categories:\n  - security\n")
        })
        .collect()
}

/// A catalog whose storage indexer holds [`synthetic_packages`]`(size)`, as the
/// registry holds a bucket's index.
pub fn storage_catalog(size: usize) -> Catalog {
    let listed = synthetic_packages(size)
        .into_iter()
        .map(epr_index::Listed::local)
        .collect();
    Catalog::default().with_storage(listed)
}
