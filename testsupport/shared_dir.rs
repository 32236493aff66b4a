//! Where `../shared` (the conformance suites and fixtures) is, for tests that use it.
//!
//! Include it from a test crate or test module with
//! `#[path = ".../testsupport/shared_dir.rs"] mod shared_dir;`. Plain std only.

use std::path::{Path, PathBuf};

/// `EPR_SHARED`, else the first `shared/` beside an ancestor of `manifest_dir` (the
/// including crate's `CARGO_MANIFEST_DIR`) that holds the conformance suite.
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
