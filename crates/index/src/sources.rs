//! Finding and loading the packages under the configured `package_paths`
//! (spec/api.md §6.1, §6.2): `<path>/<name>/<version>/` folders, and `.zip` files at
//! any depth. Packages load in parallel; the result keeps walk order, so it is the
//! same as loading one by one.

use std::fs::FileType;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use epr_package::fs::{DirFs, Expansion, PackageFs, ZipFs};
use epr_package::load_cache::LoadCache;
use epr_package::open_files::OpenPackages;
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
        for (name_dir, kind) in sorted_children(root) {
            if !kind.is_dir() {
                continue;
            }
            for (version_dir, kind) in sorted_children(&name_dir) {
                if !kind.is_dir() {
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

/// Lists every `.zip` file under `paths`, at any depth. Folders are listed in
/// parallel (a folder package path holds tens of thousands of files, each looked
/// at); the result keeps walk order.
fn find_zips(paths: &[PathBuf]) -> Vec<Candidate> {
    fn walk(dir: &Path) -> Vec<Candidate> {
        sorted_children(dir)
            .into_par_iter()
            .flat_map_iter(|(child, kind)| {
                if kind.is_dir() {
                    walk(&child)
                } else if kind.is_file() && child.as_os_str().as_encoded_bytes().ends_with(b".zip")
                {
                    vec![Candidate::Zip(child)]
                } else {
                    Vec::new()
                }
            })
            .collect()
    }
    let mut out = Vec::new();
    for root in paths {
        if std::fs::symlink_metadata(root)
            .map(|m| m.is_dir())
            .unwrap_or(false)
        {
            out.extend(walk(root));
        }
    }
    out
}

/// The entries of `dir` sorted by name, with their types, symlinks not followed:
/// the types come from the listing itself where the file system gives them, which
/// saves a `stat` per file.
fn sorted_children(dir: &Path) -> Vec<(PathBuf, FileType)> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut children: Vec<(PathBuf, FileType)> = read
        .filter_map(|entry| {
            let entry = entry.ok()?;
            Some((entry.path(), entry.file_type().ok()?))
        })
        .collect();
    children.sort_by(|a, b| a.0.file_name().cmp(&b.0.file_name()));
    children
}

fn load_candidate(
    c: &Candidate,
    opts: &LoadOptions,
    cache: &LoadCache,
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
    // Versions and data streams share many files; each is checked once.
    let cache = LoadCache::default();
    // What is kept of each package: its summary, its files opened again through
    // `open` when a request needs them (epr_package::open_files).
    let open = Arc::new(OpenPackages::default());
    // Finding the candidates walks every folder under the paths: in the pool too.
    let load_all = |find: fn(&[PathBuf]) -> Vec<Candidate>| {
        let work = || {
            find(paths)
                .par_iter()
                .filter_map(|c| load_candidate(c, opts, &cache))
                .map(|loaded| loaded.map(|p| p.into_served(&open)))
                .collect::<Vec<_>>()
        };
        match &pool {
            Ok(pool) => pool.install(work),
            Err(_) => work(),
        }
    };
    let mut errors = Vec::new();
    let mut indexers = Vec::new();
    for (name, find) in [
        (ZIP_INDEXER, find_zips as fn(&[PathBuf]) -> Vec<Candidate>),
        (FOLDER_INDEXER, find_dirs),
    ] {
        let mut packages = Vec::new();
        for result in load_all(find) {
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
