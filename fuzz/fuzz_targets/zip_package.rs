//! A package zip as the registry loads it and as `validate` and `publish` check
//! it: any bytes are loaded, refused or skipped, never a panic, and every file
//! of an archive that opens is read within its limits.
#![no_main]

mod common;

use std::sync::{Arc, OnceLock};

use epr_package::fs::{MAX_FILE_SIZE, PackageFs, ZipFs};
use epr_package::{LoadOptions, Location};
use libfuzzer_sys::fuzz_target;

/// The zips are read from a file: one per fuzzing process, rewritten per input.
fn scratch() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary folder"))
        .path()
}

fuzz_target!(init: common::tolerate_the_caught_yaml_panic(), |bytes: &[u8]| {
    let path = scratch().join("p-1.0.0.zip");
    std::fs::write(&path, bytes).expect("the scratch file is writable");
    let Ok(Some(zip)) = ZipFs::open(&path) else {
        return;
    };
    if zip.expansion().refusal().is_some() {
        return;
    }
    for entry in zip.entries().iter().filter(|e| !e.is_dir) {
        let _ = zip.read_pieces(&entry.path, MAX_FILE_SIZE, 0, &mut |_| true);
    }
    let fs: Arc<dyn PackageFs> = Arc::new(zip);
    let options = LoadOptions {
        validate: true,
        require_signature: false,
    };
    let _ = epr_package::package::load(Location::Zip(path.clone()), fs, &options);
    let _ = epr_spec::validate_zip(&path);
});
