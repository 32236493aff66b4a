//! The structural pass (spec/package-format.md §1, §4, §5.2): which files and folders
//! may or must exist, their names, media types and sizes, and which schema each file
//! is checked against.

use crate::package::Package;
use crate::problem::Problem;

/// Walks the package with the folder spec of its type and version.
pub fn check(_pkg: &Package<'_>) -> Vec<Problem> {
    Vec::new()
}
