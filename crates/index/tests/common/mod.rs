//! Packages made in memory for catalog tests and the `delta_cost` example: a
//! manifest and a README, loaded through the ordinary package loader.

// Each user of this module (a test, the example) needs only some of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use epr_package::fs::{Entry, FsError, PackageFs};
use epr_package::{LoadOptions, Location, Package};

/// A package's files held in memory.
#[derive(Debug)]
struct MemFs {
    entries: Vec<Entry>,
    files: Vec<(String, Vec<u8>)>,
}

impl MemFs {
    fn new(files: Vec<(&str, String)>) -> MemFs {
        let mut entries = vec![Entry {
            path: "docs".into(),
            is_dir: true,
            size: 0,
            modified: None,
        }];
        let files: Vec<(String, Vec<u8>)> = files
            .into_iter()
            .map(|(path, text)| (path.to_string(), text.into_bytes()))
            .collect();
        entries.extend(files.iter().map(|(path, bytes)| Entry {
            path: path.clone(),
            is_dir: false,
            size: bytes.len() as u64,
            modified: None,
        }));
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        MemFs { entries, files }
    }
}

impl PackageFs for MemFs {
    fn entries(&self) -> &[Entry] {
        &self.entries
    }

    fn read_limited(&self, path: &str, _limit: u64) -> Result<Vec<u8>, FsError> {
        self.files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, bytes)| bytes.clone())
            .ok_or_else(|| FsError::NotFound { path: path.into() })
    }
}

/// Loads an integration package `name`-`version` whose manifest has the common
/// fields plus `extra_manifest` (YAML lines at the top level).
pub fn package(name: &str, version: &str, extra_manifest: &str) -> Arc<Package> {
    package_described(
        name,
        version,
        &format!("{name} description"),
        extra_manifest,
    )
}

/// As [`package`], with this `description`: an update that changes a field.
pub fn package_described(
    name: &str,
    version: &str,
    description: &str,
    extra_manifest: &str,
) -> Arc<Package> {
    let manifest = format!(
        "format_version: 3.0.0\nname: {name}\nversion: {version}\ntitle: {name} title\n\
         description: {description}\ntype: integration\n{extra_manifest}"
    );
    let fs = MemFs::new(vec![
        ("manifest.yml", manifest),
        ("docs/README.md", format!("# {name}\n")),
    ]);
    let location = Location::Dir(PathBuf::from(format!("/in-memory/{name}/{version}")));
    let package = epr_package::package::load(location, Arc::new(fs), &LoadOptions::default())
        .unwrap_or_else(|e| panic!("test package {name}-{version} must load: {e}"));
    Arc::new(package)
}
