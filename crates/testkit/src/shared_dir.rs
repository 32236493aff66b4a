//! Where `../shared` (the conformance suites and fixtures) is, for tests that use it.

use std::path::{Path, PathBuf};

/// `EPR_SHARED`, else the first `shared/` beside an ancestor of `manifest_dir` (the
/// calling crate's `CARGO_MANIFEST_DIR`) that holds the conformance suite. `None`
/// when there is none: tests that need it then skip with a note.
pub fn shared_dir(manifest_dir: &str) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("EPR_SHARED") {
        let dir = PathBuf::from(dir);
        return dir.join("conformance").is_dir().then_some(dir);
    }
    Path::new(manifest_dir)
        .ancestors()
        .map(|a| a.join("shared"))
        .find(|s| s.join("conformance").is_dir())
}
