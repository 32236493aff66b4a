//! Regressions of the defects found under attack and overload (issue 14): each
//! test reproduces one and holds the figure it must stay under.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use common::*;

/// Writes the zip of a minimal package `name`-`version` into `dir`.
fn write_zip_package(dir: &Path, name: &str, version: &str) {
    let path = dir.join(format!("{name}-{version}.zip"));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    let root = format!("{name}-{version}");
    zip.start_file(format!("{root}/manifest.yml"), options)
        .unwrap();
    write!(
        zip,
        "format_version: 3.0.0\nname: {name}\nversion: {version}\ntitle: T\ndescription: D\ntype: integration\n"
    )
    .unwrap();
    zip.start_file(format!("{root}/docs/README.md"), options)
        .unwrap();
    writeln!(zip, "# {name} {version}").unwrap();
    zip.finish().unwrap();
}

/// The descriptors the process holds now.
fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// A loaded zip holds no open file: 600 zips load and are served under a limit of
/// 256 descriptors (each held its file for the life of the process before, so
/// the load failed with "Too many open files").
#[test]
fn zips_hold_no_descriptor_once_loaded() {
    const ZIPS: usize = 600;
    let tmp = tempfile::tempdir().unwrap();
    let packages = tmp.path().join("packages");
    std::fs::create_dir_all(&packages).unwrap();
    for i in 0..ZIPS {
        write_zip_package(&packages, &format!("pkg_{i}"), "1.0.0");
    }
    let config = write_config(tmp.path(), &[&packages]);
    let port = free_port();
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "ulimit -n 256 && exec {} \"$@\"",
            env!("CARGO_BIN_EXE_package-registry")
        ))
        .arg("package-registry")
        .args(["--config", config.to_str().unwrap()])
        .arg("--require-package-signatures=false");
    let server = start_command(command, port);
    let (status, body) = http_get(port, "/search").unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        body.matches("\"name\": \"pkg_").count(),
        ZIPS,
        "every zip served"
    );
    for i in (0..ZIPS).step_by(50) {
        let (status, readme) =
            http_get(port, &format!("/package/pkg_{i}/1.0.0/docs/README.md")).unwrap();
        assert_eq!(status, 200);
        assert_eq!(readme, format!("# pkg_{i} 1.0.0\n"));
    }
    let held = open_descriptors(server.0.id());
    assert!(held < 64, "{held} descriptors held with {ZIPS} zips loaded");
}
