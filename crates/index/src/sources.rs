//! Finding and loading the packages under the configured `package_paths`
//! (spec/api.md §6.1, §6.2): `<path>/<name>/<version>/` folders, and `.zip` files at
//! any depth. Packages load in parallel; the result keeps walk order, so it is the
//! same as loading one by one. Folder packages load first: the listing made to
//! open one also gives the zips inside it, so no folder is listed twice.

use std::collections::HashMap;
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

/// Lists the package folders under `paths`, in configuration then walk order.
fn find_dirs(paths: &[PathBuf]) -> Vec<PathBuf> {
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
                out.push(version_dir);
            }
        }
    }
    out
}

/// Lists every `.zip` file under `paths`, at any depth, in walk order. Folders are
/// listed in parallel (a folder package path holds tens of thousands of files); a
/// folder in `listed` is not listed again: its zips are given (the package folders,
/// listed when they were opened; listing each twice was a fifth of a start).
fn find_zips(paths: &[PathBuf], listed: &HashMap<PathBuf, Vec<PathBuf>>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for root in paths {
        if std::fs::symlink_metadata(root)
            .map(|m| m.is_dir())
            .unwrap_or(false)
        {
            out.extend(walk_zips(root, listed));
        }
    }
    out
}

fn walk_zips(dir: &Path, listed: &HashMap<PathBuf, Vec<PathBuf>>) -> Vec<PathBuf> {
    if let Some(zips) = listed.get(dir) {
        return zips.clone();
    }
    sorted_children(dir)
        .into_par_iter()
        .flat_map_iter(|(child, kind)| {
            if kind.is_dir() {
                walk_zips(&child, listed)
            } else if kind.is_file() && is_zip_name(&child) {
                vec![child]
            } else {
                Vec::new()
            }
        })
        .collect()
}

fn is_zip_name(path: &Path) -> bool {
    path.as_os_str().as_encoded_bytes().ends_with(b".zip")
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

fn fail(path: &Path, message: String) -> LoadError {
    LoadError::one(path.display().to_string(), message)
}

/// Loads the folder package at `path`; with the zip files it holds, in walk
/// order, when it could be listed.
///
/// The same size bounds as validating and publishing are checked before any file
/// is read, with or without validation: a package that breaks them would cost the
/// server its memory. So for zips.
fn load_dir(
    path: &Path,
    opts: &LoadOptions,
    cache: &LoadCache,
) -> (Result<Package, LoadError>, Option<Vec<PathBuf>>) {
    let fs = match DirFs::open(path) {
        Ok(fs) => fs,
        Err(e) => return (Err(fail(path, e.to_string())), None),
    };
    // Regular files only, as the walk takes them (the listing skips symlinks).
    let zips = fs
        .entries()
        .iter()
        .filter(|e| !e.is_dir && is_zip_name(Path::new(&e.path)))
        .map(|e| path.join(&e.path))
        .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file()))
        .collect();
    let loaded = match Expansion::of_entries(fs.entries()).refusal() {
        Some(refusal) => Err(fail(path, refusal)),
        None => epr_package::package::load_sharing(
            Location::Dir(path.to_path_buf()),
            Arc::new(fs) as Arc<dyn PackageFs>,
            opts,
            cache,
        ),
    };
    (loaded, Some(zips))
}

/// Loads the zip package at `path`; `None` for a file that is not a zip at all
/// (skipped, as upstream skips it).
fn load_zip(
    path: &Path,
    opts: &LoadOptions,
    cache: &LoadCache,
) -> Option<Result<Package, LoadError>> {
    match ZipFs::open(path) {
        Ok(Some(fs)) => Some(match fs.expansion().refusal() {
            Some(refusal) => Err(fail(path, refusal)),
            None => epr_package::package::load_sharing(
                Location::Zip(path.to_path_buf()),
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
    }
}

/// Runs `work` in `pool`, or here when the pool could not be made.
fn in_pool<T: Send>(
    pool: &Result<rayon::ThreadPool, rayon::ThreadPoolBuildError>,
    work: impl FnOnce() -> T + Send,
) -> T {
    match pool {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
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
    // Folder packages load first: opening one lists its files, zips among them,
    // so the walk for zips does not list that folder again.
    let folder_loads: Vec<_> = in_pool(&pool, || {
        find_dirs(paths)
            .into_par_iter()
            .map(|dir| {
                let (loaded, zips) = load_dir(&dir, opts, &cache);
                (loaded.map(|p| p.into_served(&open)), zips.map(|z| (dir, z)))
            })
            .collect()
    });
    let mut folders = Vec::new();
    let mut listed = HashMap::new();
    for (loaded, zips) in folder_loads {
        folders.push(loaded);
        listed.extend(zips);
    }
    let zips: Vec<_> = in_pool(&pool, || {
        find_zips(paths, &listed)
            .par_iter()
            .filter_map(|zip| load_zip(zip, opts, &cache))
            .map(|loaded| loaded.map(|p| p.into_served(&open)))
            .collect()
    });
    let mut errors = Vec::new();
    let mut indexers = Vec::new();
    for (name, loads) in [(ZIP_INDEXER, zips), (FOLDER_INDEXER, folders)] {
        let mut packages = Vec::new();
        for result in loads {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The zips inside package folders, taken from the folders' listings, come in
    /// the order a walk of every folder finds them.
    #[test]
    fn zips_in_package_folders_keep_walk_order() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        for file in [
            "a/1.0.0/manifest.yml",
            "a/1.0.0/b.zip",
            "a/1.0.0/inner/z-1.0.0.zip",
            "a/1.0.0/inner.zip",
            "a/0.9.zip",
            "a-1.0.0.zip",
            "c/2.0.0/x.zip",
            "c/2.0.0/x.zip.txt",
            "c/notaversion/y.zip",
            "d.zip",
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        let paths = [root.clone()];
        let dirs = find_dirs(&paths);
        assert_eq!(dirs, [root.join("a/1.0.0"), root.join("c/2.0.0")]);
        let listed: HashMap<PathBuf, Vec<PathBuf>> = dirs
            .iter()
            .map(|dir| {
                let (_, zips) = load_dir(dir, &LoadOptions::default(), &LoadCache::default());
                (dir.clone(), zips.unwrap())
            })
            .collect();
        let walked = find_zips(&paths, &HashMap::new());
        let relative: Vec<_> = walked
            .iter()
            .map(|p| p.strip_prefix(&root).unwrap())
            .collect();
        assert_eq!(
            relative,
            [
                "a/0.9.zip",
                "a/1.0.0/b.zip",
                "a/1.0.0/inner/z-1.0.0.zip",
                "a/1.0.0/inner.zip",
                "a-1.0.0.zip",
                "c/2.0.0/x.zip",
                "c/notaversion/y.zip",
                "d.zip",
            ]
            .map(Path::new)
        );
        assert_eq!(find_zips(&paths, &listed), walked);
    }
}
