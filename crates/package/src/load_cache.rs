//! What the loads of many packages share: the work of checks on files they have in
//! common, by the SHA-256 of the files' bytes.
//!
//! The versions of one package, and the data streams of many, hold copies of the
//! same files: the base and ECS fields, ingest pipelines. Loading 1,920 versions
//! parsed each copy again, half of the CPU time of a start. A [`LoadCache`] keeps
//! the outcome of a check per distinct file for the loads of one catalog, so each
//! copy is checked once; it holds outcomes and parsed data stream manifests, not
//! files (a few MB at most for the 185 real packages), and goes when the catalog
//! is made.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};

use crate::fs::{FsError, PackageFs};
use crate::required_fields::FileFields;
use crate::yaml::Node;

/// Shared by the loads of one catalog; safe to use from many threads.
#[derive(Debug, Default)]
pub struct LoadCache {
    /// What the required-fields check needs of a fields file.
    pub(crate) fields: ByContent<Arc<FileFields>>,
    /// Whether an ingest pipeline file parses as its extension says.
    pub(crate) pipelines: ByContent<bool>,
    /// A data stream's `manifest.yml`, parsed, or why it does not parse: the
    /// versions of a package mostly keep their data streams as they were (parsing
    /// these copies was a sixth of the CPU of a start of 1,920 versions).
    pub(crate) data_stream_manifests: ByContent<Result<Arc<Node>, String>>,
}

/// The key of `content` (bytes, or a packed file's content key) read as `tag` says.
fn key(tag: &str, kind: &str, content: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(tag.as_bytes())
        .chain_update([0])
        .chain_update(kind.as_bytes())
        .chain_update([0])
        .chain_update(content)
        .finalize()
        .into()
}

/// Outcomes of one check, by the SHA-256 of the file checked (and a tag, when one
/// check reads the same bytes two ways).
#[derive(Debug)]
pub(crate) struct ByContent<T> {
    outcomes: Mutex<HashMap<[u8; 32], T>>,
}

impl<T> Default for ByContent<T> {
    fn default() -> Self {
        ByContent {
            outcomes: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> ByContent<T> {
    /// The outcome for the file at `path` (read as `tag` says), computed by
    /// `check` from its bytes the first time its content is seen; an error when
    /// the file cannot be read. A zip's copies are known by their compressed
    /// bytes ([`PackageFs::content_key`]), without inflating them.
    pub(crate) fn of_file(
        &self,
        fs: &dyn PackageFs,
        path: &str,
        tag: &str,
        check: impl FnOnce(&[u8]) -> T,
    ) -> Result<T, FsError> {
        let Some(packed) = fs.content_key(path) else {
            let bytes = fs.read(path)?;
            return Ok(self.get_or(tag, &bytes, check));
        };
        self.remembered(key(tag, "packed", &packed), || Ok(check(&fs.read(path)?)))
    }

    /// The outcome for `bytes` (read as `tag` says), computed by `check` the first time.
    pub(crate) fn get_or(&self, tag: &str, bytes: &[u8], check: impl FnOnce(&[u8]) -> T) -> T {
        let Ok::<T, std::convert::Infallible>(outcome) =
            self.remembered(key(tag, "bytes", bytes), || Ok(check(bytes)));
        outcome
    }

    /// The outcome kept under `key`, or the one `compute` gives, then kept (a
    /// failure is not).
    fn remembered<E>(&self, key: [u8; 32], compute: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        if let Some(found) = self.lock().get(&key) {
            return Ok(found.clone());
        }
        // Computed without the lock: two threads may both check a file; both get the same.
        let outcome = compute()?;
        self.lock().insert(key, outcome.clone());
        Ok(outcome)
    }

    /// How many distinct files were checked.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], T>> {
        // Nothing panics while the lock is held, so a poisoned map is still whole.
        self.outcomes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn checks_each_distinct_content_once() {
        let cache = ByContent::<usize>::default();
        let runs = Cell::new(0);
        let check = |bytes: &[u8]| {
            runs.set(runs.get() + 1);
            bytes.len()
        };
        assert_eq!(cache.get_or("yml", b"abc", check), 3);
        assert_eq!(cache.get_or("yml", b"abc", check), 3);
        assert_eq!(runs.get(), 1);
        assert_eq!(cache.get_or("yml", b"abcd", check), 4);
        // The same bytes read another way are another check.
        assert_eq!(cache.get_or("json", b"abc", check), 3);
        assert_eq!(runs.get(), 3);
    }
}
