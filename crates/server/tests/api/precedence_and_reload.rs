//! Which copy of a package wins, swapping catalogs, and packages that fail to load.

use crate::fixture::{catalog, get, state};
use epr_package::LoadOptions;
use epr_testkit::PackageBuilder;

/// Loads `paths`, expects a failure, and returns the text of the first error.
fn load_error(paths: &[std::path::PathBuf], opts: &LoadOptions) -> String {
    let errors =
        epr_index::sources::load_package_paths(paths, opts, 1).expect_err("the load should fail");
    errors[0].to_string()
}

#[tokio::test]
async fn zip_beats_folder_and_first_path_wins() {
    let tmp = tempfile::tempdir().unwrap();
    let (first, second, zips) = (
        tmp.path().join("first"),
        tmp.path().join("second"),
        tmp.path().join("zips"),
    );
    PackageBuilder::new("dup", "1.0.0")
        .append_manifest("owner:\n  github: first\n")
        .write_folder(&first);
    PackageBuilder::new("dup", "1.0.0")
        .append_manifest("owner:\n  github: second\n")
        .write_folder(&second);
    PackageBuilder::new("dup", "2.0.0")
        .append_manifest("owner:\n  github: zip\n")
        .write_zip(&zips);
    PackageBuilder::new("dup", "2.0.0")
        .append_manifest("owner:\n  github: folder\n")
        .write_folder(&second);
    // The zip path comes last but still wins over the folder.
    let s = state(&[first, second, zips]);
    assert_eq!(
        get(&s, "/package/dup/1.0.0/").await.json()["owner"]["github"],
        "first"
    );
    assert_eq!(
        get(&s, "/package/dup/2.0.0/").await.json()["owner"]["github"],
        "zip"
    );
    let all = get(&s, "/search?all=true").await.json();
    assert_eq!(all.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_new_catalog_is_served_after_a_swap() {
    let tmp = tempfile::tempdir().unwrap();
    PackageBuilder::new("one", "1.0.0").write_folder(tmp.path());
    let s = state(&[tmp.path().to_path_buf()]);
    assert_eq!(get(&s, "/package/two/1.0.0/").await.status, 404);
    PackageBuilder::new("two", "1.0.0").write_folder(tmp.path());
    s.swap_catalog(catalog(&[tmp.path().to_path_buf()]));
    assert_eq!(get(&s, "/package/two/1.0.0/").await.status, 200);
}

#[test]
fn every_problem_of_a_package_is_reported_with_its_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = PackageBuilder::new("broken", "1.0.0")
        .append_manifest("release: stable\nconditions:\n  kibana:\n    version: \"^8.0.0 ||\"\n")
        .write_folder(tmp.path());
    std::fs::create_dir_all(dir.join("data_stream/logs")).unwrap();
    std::fs::write(
        dir.join("data_stream/logs/manifest.yml"),
        "title: [unclosed\n",
    )
    .unwrap();
    std::fs::remove_file(dir.join("docs/README.md")).unwrap();
    let text = load_error(&[tmp.path().to_path_buf()], &LoadOptions::default());
    assert!(text.contains("broken/1.0.0"), "{text}");
    for expected in [
        "invalid release: \"stable\"",
        "invalid Kibana versions range ^8.0.0 ||",
        "README.md is required",
        "data_stream/logs/manifest.yml: yaml:",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
}

#[test]
fn hostile_and_broken_zips() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    // Not a zip at all: skipped with a warning, as upstream.
    std::fs::write(tmp.path().join("garbage-1.0.0.zip"), b"not a zip").unwrap();
    assert!(
        epr_index::sources::load_package_paths(
            &[tmp.path().to_path_buf()],
            &LoadOptions::default(),
            1
        )
        .is_ok()
    );
    // An entry that escapes the root: refused, naming the entry.
    let mut w =
        zip::ZipWriter::new(std::fs::File::create(tmp.path().join("evil-1.0.0.zip")).unwrap());
    let o = zip::write::SimpleFileOptions::default();
    w.start_file("evil-1.0.0/manifest.yml", o).unwrap();
    w.write_all(b"name: evil\n").unwrap();
    w.start_file("evil-1.0.0/../../etc/passwd", o).unwrap();
    w.write_all(b"x").unwrap();
    w.finish().unwrap();
    let text = load_error(&[tmp.path().to_path_buf()], &LoadOptions::default());
    assert!(
        text.contains("evil-1.0.0.zip") && text.contains("escapes the package root"),
        "{text}"
    );
}

/// The error names the `.sig` file looked for, beside the folder or the zip, and the
/// flag that serves unsigned packages.
#[test]
fn signatures_are_required_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = PackageBuilder::new("unsigned", "1.0.0").write_folder(&tmp.path().join("folders"));
    let zips = tmp.path().join("zips");
    let zip = PackageBuilder::new("zipped", "2.0.0").write_zip(&zips);
    let opts = LoadOptions {
        require_signature: true,
        ..LoadOptions::default()
    };
    let flag = "(serving unsigned packages needs --require-package-signatures=false)";
    let text = load_error(&[tmp.path().join("folders")], &opts);
    let want = format!(
        "package unsigned-1.0.0 is missing signature file {}.sig {flag}",
        folder.display()
    );
    assert!(text.contains(&want), "{text}");
    assert!(folder.is_absolute());
    let text = load_error(&[zips], &opts);
    let want = format!(
        "package zipped-2.0.0 is missing signature file {}.sig {flag}",
        zip.display()
    );
    assert!(text.contains(&want), "{text}");
    // With the file there, the package loads.
    std::fs::write(format!("{}.sig", folder.display()), "sig").unwrap();
    epr_index::sources::load_package_paths(&[tmp.path().join("folders")], &opts, 1).unwrap();
}

#[test]
fn wrong_types_and_truncated_zips_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    PackageBuilder::new("typed", "1.0.0")
        .append_manifest("categories:\n  nested: map\nowner: just-a-string\n")
        .write_folder(tmp.path());
    let text = load_error(&[tmp.path().to_path_buf()], &LoadOptions::default());
    assert!(
        text.contains("manifest.yml:9: owner: expected an object, found string"),
        "{text}"
    );
    assert!(
        text.contains("categories: expected a list of strings, found object"),
        "{text}"
    );

    // A zip cut in half is not a zip any more: skipped with a warning, as upstream.
    let z = tempfile::tempdir().unwrap();
    let zips = z.path().join("zips");
    let zip = PackageBuilder::new("cut", "1.0.0").write_zip(&zips);
    let bytes = std::fs::read(&zip).unwrap();
    std::fs::write(&zip, &bytes[..bytes.len() / 2]).unwrap();
    let indexers =
        epr_index::sources::load_package_paths(&[zips], &LoadOptions::default(), 1).unwrap();
    assert!(indexers.iter().all(|i| i.entries.is_empty()));
}

#[test]
fn disabling_validation_skips_the_optional_checks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = PackageBuilder::new("loose", "1.0.0")
        .append_manifest("icons:\n  - src: /img/missing.png\n")
        .write_folder(tmp.path());
    let manifest = std::fs::read_to_string(dir.join("manifest.yml"))
        .unwrap()
        .replace("title: loose title\n", "");
    std::fs::write(dir.join("manifest.yml"), manifest).unwrap();
    let paths = [tmp.path().to_path_buf()];
    let text = load_error(&paths, &LoadOptions::default());
    assert!(
        text.contains("no title set") && text.contains("/img/missing.png"),
        "{text}"
    );
    let opts = LoadOptions {
        validate: false,
        ..LoadOptions::default()
    };
    assert!(epr_index::sources::load_package_paths(&paths, &opts, 1).is_ok());
}
