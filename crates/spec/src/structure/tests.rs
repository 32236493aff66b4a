//! Tests of the structural pass on small packages written to a temporary folder.

use std::path::Path;

use epr_package::fs::DirFs;
use epr_testkit::PackageBuilder;

use super::check;
use super::sha256::hex_digest;
use crate::package::Mode;

/// What every manifest below needs to pass its schema.
const OWNER: &str = "description: d\nowner:\n  github: o\n  type: elastic\n";
/// A changelog with one entry that passes its schema.
const CHANGELOG: &str = "- version: 1.0.0\n  changes:\n    - description: d\n      type: enhancement\n      link: https://example.com/pull/1\n";

/// The smallest valid integration package at `format_version`, plus `extra` files.
fn integration(format_version: &str, extra: &[(&str, &str)]) -> tempfile::TempDir {
    let manifest = format!(
        "format_version: {format_version}\nname: mypkg\ntitle: My package\nversion: 1.0.0\ntype: integration\n{OWNER}"
    );
    let mut files = vec![
        ("manifest.yml", manifest.as_str()),
        ("changelog.yml", CHANGELOG),
        ("docs/README.md", "# My package\n"),
    ];
    files.extend_from_slice(extra);
    write_package(&files)
}

/// `files` (path, content; a path ending in `/` is an empty folder) written into a
/// temporary folder, the package's root. Every caller gives `manifest.yml` and
/// `docs/README.md`, which replace the builder's own.
fn write_package(files: &[(&str, &str)]) -> tempfile::TempDir {
    let package = files.iter().fold(
        PackageBuilder::new("mypkg", "1.0.0"),
        |package, &(path, content)| match path.strip_suffix('/') {
            Some(folder) => package.folder(folder),
            None => package.file(path, content),
        },
    );
    let dir = tempfile::tempdir().expect("temporary folder");
    package.write_into(dir.path());
    dir
}

/// The structural problems of the package in `root`, printed as `file: message`.
fn problems(root: &Path, mode: Mode) -> Vec<String> {
    let fs = DirFs::open(root).expect("open package");
    let pkg = crate::open_package(&fs, Some(root.to_path_buf()), mode).expect("package basics");
    check(&pkg).iter().map(|p| p.to_string()).collect()
}

fn legacy(root: &Path) -> Vec<String> {
    problems(root, Mode::Legacy)
}

#[test]
fn the_minimal_package_is_valid() {
    let pkg = integration("3.0.0", &[]);
    assert_eq!(legacy(pkg.path()), Vec::<String>::new());
}

#[test]
fn unknown_items_are_rejected_where_no_additional_contents() {
    let pkg = integration(
        "3.0.0",
        &[
            ("kibana/unknown/a.json", "{}"),
            ("docs/notes.txt", "x"),
            ("extra.txt", "root allows it"),
        ],
    );
    assert_eq!(
        legacy(pkg.path()),
        vec![
            "docs/notes.txt: item [notes.txt] is not allowed in folder [docs]",
            "kibana/unknown: item [unknown] is not allowed in folder [kibana]",
        ]
    );
}

#[test]
fn unknown_folders_with_dashes_are_rejected_outside_development_folders() {
    let pkg = integration(
        "3.0.0",
        &[("bad-name/a.txt", "x"), ("_dev/shared/ok-name/a.txt", "x")],
    );
    assert_eq!(
        legacy(pkg.path()),
        vec!["bad-name: directory name inside package mypkg contains -: bad-name"]
    );
}

#[test]
fn missing_required_items_are_reported_by_name_or_pattern() {
    let pkg = integration(
        "3.0.0",
        &[
            ("data_stream/logs/manifest.yml", "title: Logs\n"),
            ("data_stream/logs/fields/", ""),
        ],
    );
    std::fs::remove_file(pkg.path().join("docs/README.md")).expect("remove README");
    assert_eq!(
        legacy(pkg.path()),
        vec![
            "data_stream/logs/fields: expecting to find file matching pattern [^[a-z0-9][a-z0-9_-]+[a-z0-9]\\.yml$] in folder [data_stream/logs/fields]",
            "docs: expecting to find [README.md] file in folder [docs]",
        ]
    );
}

#[test]
fn a_required_file_that_is_a_folder_is_missing() {
    let pkg = write_package(&[
        (
            "manifest.yml",
            &format!(
                "format_version: 3.0.0\nname: mypkg\ntitle: t\nversion: 1.0.0\ntype: integration\n{OWNER}"
            ),
        ),
        ("changelog.yml/x", "a folder"),
        ("docs/README.md", "# x\n"),
    ]);
    assert_eq!(
        legacy(pkg.path()),
        vec![
            "changelog.yml: [changelog.yml] is a folder but is expected to be a file",
            "expecting to find [changelog.yml] file in folder [.]",
        ]
    );
}

#[test]
fn asset_names_follow_the_package_name() {
    let pkg = integration(
        "3.0.0",
        &[
            ("kibana/dashboard/mypkg-overview.json", "{}"),
            ("kibana/dashboard/other-overview.json", "{}"),
            ("kibana/dashboard/mypkg-overview-ecs.json", "{}"),
            ("elasticsearch/ml_model/mypkg_model.json", "{}"),
        ],
    );
    assert_eq!(
        legacy(pkg.path()),
        vec![
            "kibana/dashboard/mypkg-overview-ecs.json: item [mypkg-overview-ecs.json] is not allowed in folder [kibana/dashboard]",
            "kibana/dashboard/other-overview.json: item [other-overview.json] is not allowed in folder [kibana/dashboard]",
        ]
    );
}

#[test]
fn yaml_pipelines_need_document_dashes_and_files_with_a_media_type_content() {
    let pkg = integration(
        "3.0.0",
        &[
            ("data_stream/logs/manifest.yml", "title: Logs\n"),
            ("data_stream/logs/fields/base.yml", "- name: a\n"),
            (
                "data_stream/logs/elasticsearch/ingest_pipeline/default.yml",
                "processors: []\n",
            ),
            (
                "data_stream/logs/elasticsearch/ingest_pipeline/other.yml",
                "---\nprocessors: []\n",
            ),
            ("NOTICE.txt", ""),
        ],
    );
    assert_eq!(
        legacy(pkg.path()),
        vec![
            "NOTICE.txt: file is empty, but media type is defined",
            "data_stream/logs/elasticsearch/ingest_pipeline/default.yml: document dashes are required (start the document with '---')",
        ]
    );
}

#[test]
fn files_are_checked_against_their_schema() {
    let pkg = integration("3.0.0", &[("validation.yml", "errors: [unclosed\n")]);
    let found = legacy(pkg.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("validation.yml:"), "{found:?}");
}

/// A package whose data stream `logs` links its fields to `_dev/shared/base.yml`.
fn linked(checksum_of: &str) -> tempfile::TempDir {
    let target = "- name: a\n  type: keyword\n";
    let link = format!(
        "../../../_dev/shared/base.yml {}\n",
        hex_digest(checksum_of.as_bytes())
    );
    let files = [
        ("data_stream/logs/manifest.yml", "title: Logs\n"),
        ("_dev/shared/base.yml", target),
        ("data_stream/logs/fields/base.yml.link", link.as_str()),
    ];
    integration("3.0.0", &files)
}

#[test]
fn links_resolve_in_legacy_mode_when_up_to_date() {
    let pkg = linked("- name: a\n  type: keyword\n");
    assert_eq!(legacy(pkg.path()), Vec::<String>::new());
}

#[test]
fn outdated_links_are_rejected() {
    let pkg = linked("an older version of the target");
    assert_eq!(
        legacy(pkg.path()),
        vec![
            "data_stream/logs/fields/base.yml.link: linked file data_stream/logs/fields/base.yml.link is not up to date"
        ]
    );
}

#[test]
fn linked_content_is_checked_and_reported_on_the_link() {
    let target = "- name: [unclosed\n";
    let link = format!(
        "../../../_dev/shared/base.yml {}\n",
        hex_digest(target.as_bytes())
    );
    let pkg = integration(
        "3.0.0",
        &[
            ("data_stream/logs/manifest.yml", "title: Logs\n"),
            ("_dev/shared/base.yml", target),
            ("data_stream/logs/fields/base.yml.link", link.as_str()),
        ],
    );
    let found = legacy(pkg.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("data_stream/logs/fields/base.yml.link:"),
        "{found:?}"
    );
}

#[test]
fn links_are_only_allowed_where_the_spec_allows_them() {
    let pkg = integration("3.0.0", &[("docs/other.md.link", "../README.md x\n")]);
    assert_eq!(
        legacy(pkg.path()),
        vec![
            "docs/other.md.link: item [other.md.link] is a .link file, but links are not allowed for this item"
        ]
    );
}

#[test]
fn build_mode_rejects_links_and_development_folders() {
    let pkg = linked("- name: a\n  type: keyword\n");
    assert_eq!(
        problems(pkg.path(), Mode::Build),
        vec![
            "_dev: source-only folder is not allowed in build packages",
            "data_stream/logs/fields/base.yml.link: .link files are not allowed in built packages",
        ]
    );
}

#[test]
fn data_stream_development_folders_are_rejected_in_build_mode() {
    let pkg = integration(
        "3.0.0",
        &[
            ("data_stream/logs/manifest.yml", "title: Logs\n"),
            ("data_stream/logs/fields/base.yml", "- name: a\n"),
            ("data_stream/logs/_dev/test/pipeline/test-a.log", "line\n"),
        ],
    );
    assert_eq!(legacy(pkg.path()), Vec::<String>::new());
    assert_eq!(
        problems(pkg.path(), Mode::Build),
        vec!["data_stream/logs/_dev: source-only folder is not allowed in build packages"]
    );
}

#[test]
fn esql_views_exist_since_3_6_0() {
    let view = [("elasticsearch/esql_view/v.yml", "name: v\nquery: FROM x\n")];
    assert_eq!(
        legacy(integration("3.6.0", &view).path()),
        Vec::<String>::new()
    );
    assert_eq!(
        legacy(integration("3.5.0", &view).path()),
        vec!["elasticsearch/esql_view: item [esql_view] is not allowed in folder [elasticsearch]"]
    );
}

#[test]
fn input_fields_are_required_before_3_5_0() {
    let input = |format_version: &str| {
        let manifest = format!(
            "format_version: {format_version}\nname: myinput\ntitle: t\nversion: 1.0.0\ntype: input\n{OWNER}"
        );
        write_package(&[
            ("manifest.yml", manifest.as_str()),
            ("changelog.yml", CHANGELOG),
            ("docs/README.md", "# x\n"),
            ("agent/input/input.yml.hbs", "paths: []\n"),
        ])
    };
    assert_eq!(legacy(input("3.5.0").path()), Vec::<String>::new());
    assert_eq!(
        legacy(input("3.4.0").path()),
        vec!["expecting to find [fields] folder in folder [.]"]
    );
}

#[test]
fn content_packages_are_beta_before_3_3_1() {
    let content = |format_version: &str, version: &str| {
        let manifest = format!(
            "format_version: {format_version}\nname: c\ntitle: t\nversion: {version}\ntype: content\n{OWNER}"
        );
        write_package(&[
            ("manifest.yml", manifest.as_str()),
            ("changelog.yml", CHANGELOG),
            ("docs/README.md", "# x\n"),
        ])
    };
    assert_eq!(
        legacy(content("3.3.1", "1.0.0").path()),
        Vec::<String>::new()
    );
    assert_eq!(
        legacy(content("3.3.0", "1.0.0").path()),
        vec![
            "spec for [.] defines beta features which can't be enabled for packages with a stable semantic version"
        ]
    );
    assert_eq!(
        legacy(content("3.3.0", "0.1.0").path()),
        vec![
            "package with non-stable semantic version and active beta features (enabled in [.]) can't be released as stable version. (PSR00002)"
        ]
    );
}
