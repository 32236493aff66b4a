//! Broken and hostile input gives a verdict or a clear error, never a panic, within
//! bounded memory: alias bombs, deep nesting, zip bombs, path traversal, truncated and
//! non-zip files.

use std::io::Write;
use std::path::Path;

use epr_spec::{OpenError, validate_path};
use zip::write::SimpleFileOptions;

const MANIFEST: &str =
    "format_version: 3.0.0\nname: p\ntitle: P\nversion: 1.0.0\ntype: integration\n";

fn write_zip(path: &Path, files: &[(&str, &[u8])]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in files {
        zip.start_file(*name, SimpleFileOptions::default()).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

fn messages(path: &Path) -> String {
    let report = validate_path(path).expect("a verdict");
    assert!(!report.is_valid(), "expected invalid");
    report
        .problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn alias_bomb_in_a_manifest_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = String::from(MANIFEST);
    doc.push_str("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut prev = 'a';
    for c in 'b'..='j' {
        doc.push_str(&format!(
            "{c}: &{c} [{}]\n",
            vec![format!("*{prev}"); 10].join(", ")
        ));
        prev = c;
    }
    std::fs::write(dir.path().join("manifest.yml"), doc).unwrap();
    let text = messages(dir.path());
    assert!(
        text.contains("manifest.yml") && text.contains("alias bomb"),
        "{text}"
    );
}

#[test]
fn deeply_nested_yaml_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let doc = format!("{MANIFEST}x: {}\n", "[".repeat(200_000));
    std::fs::write(dir.path().join("manifest.yml"), doc).unwrap();
    let text = messages(dir.path());
    assert!(text.contains("nested more than"), "{text}");
}

/// Rewrites the declared uncompressed size of every entry (local and central headers)
/// to `size`, as a zip bomb's headers would read.
fn declare_size(bytes: &mut [u8], size: u32) {
    let mut i = 0;
    while i + 4 <= bytes.len() {
        let sig = &bytes[i..i + 4];
        if sig == [0x50, 0x4b, 0x03, 0x04] && i + 26 <= bytes.len() {
            bytes[i + 22..i + 26].copy_from_slice(&size.to_le_bytes());
        } else if sig == [0x50, 0x4b, 0x01, 0x02] && i + 28 <= bytes.len() {
            bytes[i + 24..i + 28].copy_from_slice(&size.to_le_bytes());
        }
        i += 1;
    }
}

#[test]
fn zip_bomb_headers_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p-1.0.0.zip");
    write_zip(
        &path,
        &[
            ("p-1.0.0/manifest.yml", MANIFEST.as_bytes()),
            ("p-1.0.0/docs/README.md", &[b'a'; 4096]),
        ],
    );
    let mut bytes = std::fs::read(&path).unwrap();
    declare_size(&mut bytes, 4_000_000_000);
    std::fs::write(&path, bytes).unwrap();
    let text = messages(&path);
    assert!(text.contains("zip bomb"), "{text}");
}

#[test]
fn high_compression_ratio_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p-1.0.0.zip");
    write_zip(&path, &[("p-1.0.0/manifest.yml", MANIFEST.as_bytes())]);
    let mut bytes = std::fs::read(&path).unwrap();
    // 100 MB declared for a few dozen compressed bytes: under the size cap, far over
    // what deflate can do.
    declare_size(&mut bytes, 100_000_000);
    std::fs::write(&path, bytes).unwrap();
    let text = messages(&path);
    assert!(text.contains("compression ratio"), "{text}");
}

#[test]
fn path_traversal_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p-1.0.0.zip");
    write_zip(
        &path,
        &[
            ("p-1.0.0/manifest.yml", MANIFEST.as_bytes()),
            ("p-1.0.0/../../evil.txt", b"x"),
        ],
    );
    let err = validate_path(&path).expect_err("unreadable");
    assert!(matches!(err, OpenError::Fs(_)));
    assert!(
        err.to_string().contains("escapes the package root"),
        "{err}"
    );
}

#[test]
fn truncated_and_non_zip_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p-1.0.0.zip");
    write_zip(&path, &[("p-1.0.0/manifest.yml", MANIFEST.as_bytes())]);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = validate_path(&path).expect_err("unreadable");
    assert!(err.to_string().contains("p-1.0.0.zip"), "{err}");

    let junk = dir.path().join("junk.zip");
    std::fs::write(&junk, b"this is not a zip").unwrap();
    let err = validate_path(&junk).expect_err("unreadable");
    assert!(err.to_string().contains("junk.zip"), "{err}");
}

#[test]
fn a_zip_with_two_roots_is_not_a_built_package() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p-1.0.0.zip");
    write_zip(
        &path,
        &[
            ("p-1.0.0/manifest.yml", MANIFEST.as_bytes()),
            ("other/readme.txt", b"x"),
        ],
    );
    let text = messages(&path);
    assert!(
        text.contains("a single directory is expected in zip file, 2 found"),
        "{text}"
    );
}

#[test]
fn manifest_basics_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let text = messages(dir.path());
    assert!(text.contains("no package manifest file found at"), "{text}");
    std::fs::write(
        dir.path().join("manifest.yml"),
        "name: p\nversion: 1.0.0\ntype: integration\n",
    )
    .unwrap();
    assert!(messages(dir.path()).contains("could not read specification version"));
    std::fs::write(
        dir.path().join("manifest.yml"),
        "format_version: 3.0.0\nname: p\nversion: 1.0.0\n",
    )
    .unwrap();
    assert!(messages(dir.path()).contains("package type undefined in the package manifest file"));
    std::fs::write(
        dir.path().join("manifest.yml"),
        "format_version: 3.0.0\nname: p\ntype: input\n",
    )
    .unwrap();
    assert!(
        messages(dir.path()).contains("package version undefined in the package manifest file")
    );
    std::fs::write(
        dir.path().join("manifest.yml"),
        "format_version: 3.6.7\nname: p\nversion: 1.0.0\ntype: input\n",
    )
    .unwrap();
    assert!(messages(dir.path()).contains("spec version not found"));
    std::fs::write(
        dir.path().join("manifest.yml"),
        "format_version: 3.0.0\nname: p\nversion: 1.0.0\ntype: plugin\n",
    )
    .unwrap();
    assert!(messages(dir.path()).contains("package type \"plugin\" not supported"));
}

#[test]
fn the_root_folder_must_be_name_dash_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p-1.0.0.zip");
    write_zip(&path, &[("package/manifest.yml", MANIFEST.as_bytes())]);
    let text = messages(&path);
    assert!(
        text.contains("the zip's root folder is package, a built package's is p-1.0.0"),
        "{text}"
    );
}
