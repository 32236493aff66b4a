//! Finding and loading the packages under the configured `package_paths`
//! (spec/api.md §6.1, §6.2): `<path>/<name>/<version>/` folders, and `.zip` files at
//! any depth. Packages load in parallel; the result keeps walk order, so it is the
//! same as loading one by one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use epr_package::fs::{DirFs, Expansion, PackageFs, ZipFs};
use epr_package::open_files::OpenPackages;
use epr_package::required_fields::FieldsCache;
use epr_package::version::Version;
use epr_package::{LoadError, LoadOptions, Location, Package};
use rayon::prelude::*;

use crate::catalog::{FOLDER_INDEXER, Indexer, ZIP_INDEXER};

/// Where one candidate package lives.
#[derive(Debug, Clone)]
enum Candidate {
    Dir(PathBuf),
    Zip(PathBuf),
}

/// Lists the package folders under `paths`, in configuration then walk order.
fn find_dirs(paths: &[PathBuf]) -> Vec<Candidate> {
    let mut out = Vec::new();
    for root in paths {
        if std::fs::symlink_metadata(root)
            .map(|m| !m.is_dir())
            .unwrap_or(true)
        {
            continue; // missing or symlinked roots are skipped, as upstream does
        }
        for name_dir in sorted_children(root) {
            let Ok(meta) = std::fs::symlink_metadata(&name_dir) else {
                continue;
            };
            if !meta.is_dir() {
                continue;
            }
            for version_dir in sorted_children(&name_dir) {
                let Ok(meta) = std::fs::symlink_metadata(&version_dir) else {
                    continue;
                };
                if !meta.is_dir() {
                    tracing::warn!(path = %version_dir.display(), "ignoring unexpected file");
                    continue;
                }
                let dir_name = version_dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if Version::parse_strict(&dir_name).is_err() {
                    tracing::warn!(path = %version_dir.display(), "ignoring unexpected directory");
                    continue;
                }
                out.push(Candidate::Dir(version_dir));
            }
        }
    }
    out
}

/// Lists every `.zip` file under `paths`, at any depth.
fn find_zips(paths: &[PathBuf]) -> Vec<Candidate> {
    fn walk(dir: &Path, out: &mut Vec<Candidate>) {
        for child in sorted_children(dir) {
            let Ok(meta) = std::fs::symlink_metadata(&child) else {
                continue;
            };
            if meta.is_dir() {
                walk(&child, out);
            } else if meta.is_file() && child.to_string_lossy().ends_with(".zip") {
                out.push(Candidate::Zip(child));
            }
        }
    }
    let mut out = Vec::new();
    for root in paths {
        if std::fs::symlink_metadata(root)
            .map(|m| m.is_dir())
            .unwrap_or(false)
        {
            walk(root, &mut out);
        }
    }
    out
}

fn sorted_children(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut children: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    children
}

fn load_candidate(
    c: &Candidate,
    opts: &LoadOptions,
    cache: &FieldsCache,
) -> Option<Result<Package, LoadError>> {
    let fail = |path: &Path, message: String| LoadError {
        location: path.display().to_string(),
        problems: vec![message],
    };
    // The same size bounds as validating and publishing, checked before any file
    // is read, with or without validation: a package that breaks them would cost
    // the server its memory.
    match c {
        Candidate::Dir(path) => Some(match DirFs::open(path) {
            Ok(fs) => match Expansion::of_entries(fs.entries()).refusal() {
                Some(refusal) => Err(fail(path, refusal)),
                None => epr_package::package::load_sharing(
                    Location::Dir(path.clone()),
                    Arc::new(fs) as Arc<dyn PackageFs>,
                    opts,
                    cache,
                ),
            },
            Err(e) => Err(fail(path, e.to_string())),
        }),
        Candidate::Zip(path) => match ZipFs::open(path) {
            Ok(Some(fs)) => Some(match fs.expansion().refusal() {
                Some(refusal) => Err(fail(path, refusal)),
                None => epr_package::package::load_sharing(
                    Location::Zip(path.clone()),
                    Arc::new(fs),
                    opts,
                    cache,
                ),
            }),
            Ok(None) => Some(Err(fail(
                path,
                "no <folder>/manifest.yml found in the zip".into(),
            ))),
            // Not a zip at all: skipped, as upstream. Unsafe archives fail the load.
            Err(epr_package::fs::FsError::Zip { message, .. }) => {
                tracing::warn!(path = %path.display(), error = %message, "ignoring invalid zip file");
                None
            }
            Err(e) => Some(Err(fail(path, e.to_string()))),
        },
    }
}

/// The packages found under `paths`: the zip indexer, then the folder indexer.
/// Every package that fails to load is reported; any failure fails the whole load.
pub fn load_package_paths(
    paths: &[PathBuf],
    opts: &LoadOptions,
    workers: usize,
) -> Result<Vec<Indexer>, Vec<LoadError>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers.max(1))
        .build();
    // Data streams share many fields files; each is checked once.
    let cache = FieldsCache::default();
    // What is kept of each package: its summary, its files opened again through
    // `open` when a request needs them (epr_package::open_files).
    let open = Arc::new(OpenPackages::default());
    let load_all = |candidates: Vec<Candidate>| -> Vec<Result<Package, LoadError>> {
        let run = || {
            candidates
                .par_iter()
                .filter_map(|c| load_candidate(c, opts, &cache))
                .map(|loaded| loaded.map(|p| p.into_served(&open)))
                .collect::<Vec<_>>()
        };
        match &pool {
            Ok(pool) => pool.install(run),
            Err(_) => run(),
        }
    };
    let mut errors = Vec::new();
    let mut indexers = Vec::new();
    for (name, candidates) in [
        (ZIP_INDEXER, find_zips(paths)),
        (FOLDER_INDEXER, find_dirs(paths)),
    ] {
        let mut packages = Vec::new();
        for result in load_all(candidates) {
            match result {
                Ok(p) => packages.push(Arc::new(p)),
                Err(e) => errors.push(e),
            }
        }
        indexers.push(Indexer::build(name, packages));
    }
    if errors.is_empty() {
        Ok(indexers)
    } else {
        Err(errors)
    }
}
