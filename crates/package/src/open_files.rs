//! The files of served folder and zip packages, opened again when asked for.
//!
//! A folder's listing, or a zip's central directory with our listing beside it,
//! costs more memory than the rest of a package's summary: about 40 KB per real
//! package, 75 MB of the 1,920 versions `scripts/bench_load.py` serves. A served
//! package therefore keeps only where its files are ([`Files::Reopened`]); a
//! request that needs them opens the package again, and the packages opened last
//! stay open, at most [`OPEN_PACKAGES`] of them. An open zip holds no descriptor
//! (see [`crate::fs::ZipFs`]), so neither does this cache.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use crate::fs::{DirFs, EmptyFs, FsError, PackageFs, ZipFs};
use crate::package::Location;

/// How many opened packages [`OpenPackages`] keeps at most.
pub const OPEN_PACKAGES: usize = 256;
/// How many entries (files and folders) the kept packages may have in all: an
/// open zip costs about 400 bytes per entry, so at most about 20 MB. Real packages
/// have 5 to 2,000 entries, 150 on average.
pub const OPEN_ENTRIES: usize = 50_000;

/// What a file was when a package was loaded from it: its length and
/// modification time. A zip that no longer matches was replaced on disk, and its
/// central directory may no longer describe it.
pub type FileIdentity = (u64, Option<SystemTime>);

/// Where a package's files are read from.
#[derive(Debug, Clone)]
pub enum Files {
    /// Open for the package's life: a package loaded to be checked or published,
    /// one held in memory, and storage packages (no files: they are in the bucket).
    Held(Arc<dyn PackageFs>),
    /// Opened again from the package's location when asked for, through `open`.
    /// `zip` is the identity of the zip the package was loaded from.
    Reopened {
        open: Arc<OpenPackages>,
        zip: Option<FileIdentity>,
    },
}

/// The packages opened last, kept open for the next request: at most
/// [`OPEN_PACKAGES`] with [`OPEN_ENTRIES`] entries in all (the last one opened is
/// kept even when it alone has more). One per loaded set of package paths, so
/// that a reload starts with nothing stale.
#[derive(Debug, Default)]
pub struct OpenPackages {
    /// Most recently used last.
    recent: Mutex<Vec<(PathBuf, Arc<dyn PackageFs>)>>,
}

impl OpenPackages {
    /// The files of the package at `location`, opened again unless one of the
    /// last packages opened. `zip` is the identity the zip had when loaded.
    pub fn open(
        &self,
        location: &Location,
        zip: Option<FileIdentity>,
    ) -> Result<Arc<dyn PackageFs>, FsError> {
        let path = location.path();
        if let Some(found) = self.if_open(path) {
            return Ok(found);
        }
        // Opened without the lock: two requests may both open a package; one is kept.
        let fs: Arc<dyn PackageFs> = match location {
            Location::Dir(dir) => Arc::new(DirFs::open(dir)?),
            Location::Zip(file) => Arc::new(open_zip(file, zip)?),
            Location::Storage { .. } => Arc::new(EmptyFs),
        };
        Ok(self.keep(path, fs))
    }

    /// The files of the package at `path` if they are open, without touching the disk.
    pub fn if_open(&self, path: &Path) -> Option<Arc<dyn PackageFs>> {
        let mut recent = self.lock();
        let pos = recent.iter().rposition(|(p, _)| p == path)?;
        // Made the most recent; a package asked for again and again stays put.
        if pos + 1 != recent.len() {
            let found = recent.remove(pos);
            recent.push(found);
        }
        recent.last().map(|(_, fs)| fs.clone())
    }

    /// How many packages are open.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn keep(&self, path: &Path, fs: Arc<dyn PackageFs>) -> Arc<dyn PackageFs> {
        let mut recent = self.lock();
        recent.retain(|(p, _)| p != path);
        recent.push((path.to_path_buf(), fs.clone()));
        let mut entries: usize = recent.iter().map(|(_, fs)| fs.entries().len()).sum();
        while recent.len() > 1 && (recent.len() > OPEN_PACKAGES || entries > OPEN_ENTRIES) {
            entries -= recent.remove(0).1.entries().len();
        }
        fs
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(PathBuf, Arc<dyn PackageFs>)>> {
        // Nothing panics while the lock is held, so a poisoned list is still whole.
        self.recent.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn open_zip(file: &Path, loaded: Option<FileIdentity>) -> Result<ZipFs, FsError> {
    let changed = || FsError::Zip {
        path: file.display().to_string(),
        message: "the zip changed on disk since the package was loaded; reload the packages".into(),
    };
    let fs = ZipFs::open(file)?.ok_or_else(changed)?;
    if loaded.is_some_and(|identity| identity != fs.identity()) {
        return Err(changed());
    }
    Ok(fs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use epr_testkit::PackageBuilder;

    /// The zip of package p-1.0.0 with this manifest, at `path`.
    fn write_zip(path: &Path, manifest: &str) {
        let package = PackageBuilder::new("p", "1.0.0").manifest(manifest);
        std::fs::write(path, package.zip_bytes()).unwrap();
    }

    #[test]
    fn keeps_the_last_packages_opened_and_no_more() {
        let dir = tempfile::tempdir().unwrap();
        let open = OpenPackages::default();
        let mut first = None;
        for i in 0..OPEN_PACKAGES + 3 {
            let folder = dir.path().join(format!("p{i}"));
            std::fs::create_dir(&folder).unwrap();
            std::fs::write(folder.join("manifest.yml"), "name: p").unwrap();
            let fs = open.open(&Location::Dir(folder), None).unwrap();
            first.get_or_insert(fs);
            assert!(open.len() <= OPEN_PACKAGES);
        }
        assert_eq!(open.len(), OPEN_PACKAGES);
        // The first package was dropped from the cache: opening it again reads
        // the folder again, and sees a file added since.
        let folder = dir.path().join("p0");
        std::fs::write(folder.join("added.txt"), "x").unwrap();
        let again = open.open(&Location::Dir(folder), None).unwrap();
        assert!(again.stat("added.txt").is_some());
        assert!(first.unwrap().stat("added.txt").is_none());
    }

    #[test]
    fn keeps_no_more_entries_than_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let open = OpenPackages::default();
        // Packages of 10,000 files each: five fit, the sixth pushes out the first.
        for i in 0..6 {
            let folder = dir.path().join(format!("p{i}"));
            std::fs::create_dir(&folder).unwrap();
            for f in 0..OPEN_ENTRIES / 5 {
                std::fs::write(folder.join(format!("{f}")), "").unwrap();
            }
            open.open(&Location::Dir(folder), None).unwrap();
        }
        assert_eq!(open.len(), 5);
        assert!(open.if_open(&dir.path().join("p0")).is_none());
        assert!(open.if_open(&dir.path().join("p5")).is_some());
    }

    #[test]
    fn a_recent_package_is_not_opened_again() {
        let dir = tempfile::tempdir().unwrap();
        let open = OpenPackages::default();
        let location = Location::Dir(dir.path().to_path_buf());
        let a = open.open(&location, None).unwrap();
        let b = open.open(&location, None).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(open.len(), 1);
    }

    #[test]
    fn a_zip_replaced_since_loading_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p-1.0.0.zip");
        write_zip(&path, "name: p");
        let loaded = ZipFs::open(&path).unwrap().unwrap().identity();
        write_zip(&path, "name: p\nversion: 2.0.0\n");
        let error = OpenPackages::default()
            .open(&Location::Zip(path.clone()), Some(loaded))
            .unwrap_err();
        assert!(error.to_string().contains("changed on disk"), "{error}");
        // Unchanged, it opens.
        let now = ZipFs::open(&path).unwrap().unwrap().identity();
        OpenPackages::default()
            .open(&Location::Zip(path), Some(now))
            .unwrap();
    }
}
