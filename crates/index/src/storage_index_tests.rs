use std::path::PathBuf;

use epr_package::from_index_manifest;
use serde_json::{Value, json};

use super::*;
use bytes::Bytes;

/// `EPR_SHARED`, else the `shared/` folder beside this repository.
fn shared_dir() -> Option<PathBuf> {
    epr_testkit::shared_dir(env!("CARGO_MANIFEST_DIR"))
}

/// An upstream storage fixture, or `None` (with a note) when shared/ is absent.
fn fixture(name: &str) -> Option<Vec<u8>> {
    let Some(shared) = shared_dir() else {
        eprintln!("note: no shared folder (set EPR_SHARED): storage fixture {name} skipped");
        return None;
    };
    let path = shared.join("conformance/epr/storage/testdata").join(name);
    Some(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// No file to read manifests back from: these tests look at what is read, not served.
#[derive(Debug)]
struct Unreadable;

impl ManifestSource for Unreadable {
    fn read(
        &self,
        _: std::ops::Range<u64>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Bytes, String>> + Send>> {
        Box::pin(std::future::ready(Err("not readable".into())))
    }
}

/// The registry's reader: the file in blocks, entries as summaries.
fn read_streamed(bytes: &[u8]) -> Result<Vec<Listed>, IndexError> {
    read_search_index_all(bytes, Arc::new(Unreadable))
}

/// JSON text with key order kept, whitespace dropped: equal iff the same keys in the
/// same order with the same values.
fn canonical(value: &Value) -> String {
    serde_json::to_string(value).unwrap()
}

fn manifests(bytes: &[u8], list: &str) -> Vec<Value> {
    let v: Value = serde_json::from_slice(bytes).unwrap();
    v[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["package_manifest"].clone())
        .collect()
}

fn printed(p: &Package) -> Value {
    serde_json::from_str(&p.index_manifest().unwrap().to_document()).unwrap()
}

fn entries_of(packages: &[Package]) -> Vec<IndexEntry> {
    packages
        .iter()
        .map(|p| IndexEntry::from_package(p).unwrap())
        .collect()
}

#[test]
fn upstream_full_indexes_read_and_write_back_identically() {
    for name in [
        "search-index-all-small.json",
        "search-index-all-small-updated-fields.json",
    ] {
        let Some(bytes) = fixture(name) else { return };
        let packages = parse_search_index_all(&bytes).unwrap_or_else(|e| panic!("{e}"));
        let inputs = manifests(&bytes, "packages");
        assert_eq!(packages.len(), 2, "{name}");
        for (p, input) in packages.iter().zip(&inputs) {
            // These fixtures hold nothing the upstream drops, in struct order.
            assert_eq!(canonical(&printed(p)), canonical(input), "{name}");
        }
        // Our writer prints them exactly as the fixture has them.
        let written = write_search_index_all(&entries_of(&packages));
        assert_eq!(
            String::from_utf8(written).unwrap(),
            String::from_utf8(bytes.clone()).unwrap(),
            "{name}"
        );
        // And a read document writes back byte for byte.
        let doc = IndexDocument::parse(Bytes::copy_from_slice(&bytes)).unwrap();
        assert_eq!(doc.len(), 2);
        assert_eq!(doc.entries()[1].name(), "1password");
        assert_eq!(doc.entries()[1].version(), "0.2.0");
        assert_eq!(doc.to_bytes(), bytes, "{name}");
    }
}

#[test]
fn upstream_deprecated_index_prints_in_struct_order() {
    let Some(bytes) = fixture("search-index-all-small-deprecated.json") else {
        return;
    };
    let packages = parse_search_index_all(&bytes).unwrap();
    let [p] = packages.as_slice() else {
        panic!("one package expected")
    };
    let since_only = json!({"since": "1.0.0", "description": ""});
    assert_eq!(
        serde_json::from_str::<Value>(&p.deprecated.as_ref().unwrap().to_document()).unwrap(),
        since_only
    );
    // Same values (Deprecated.description printed empty), keys moved to struct order.
    let mut input = manifests(&bytes, "packages").remove(0);
    input["deprecated"] = since_only;
    let ours = printed(p);
    assert_eq!(ours, input);
    let keys: Vec<&String> = ours.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "name",
            "title",
            "version",
            "release",
            "description",
            "type",
            "download",
            "path",
            "categories",
            "deprecated",
            "format_version",
            "readme",
            "license"
        ]
    );
}

#[test]
fn upstream_deltas() {
    let Some(add) = fixture("search-index-delta-add.json") else {
        return;
    };
    let delta = parse_delta(&add).unwrap();
    assert_eq!(delta.added.len(), 1);
    assert!(delta.updated.is_empty() && delta.removed.is_empty());
    let p = &delta.added[0];
    assert_eq!(
        (p.name.as_str(), p.version.as_str()),
        ("1password", "0.3.0")
    );
    assert_eq!(
        p.kibana.as_ref().map(|c| c.original()),
        Some("^7.16.0 || ^8.0.0")
    );
    // Written in another key order: same values.
    assert_eq!(printed(p), manifests(&add, "added")[0]);

    let remove = fixture("search-index-delta-remove.json").unwrap();
    let delta = parse_delta(&remove).unwrap();
    assert!(delta.added.is_empty() && delta.updated.is_empty());
    assert_eq!(
        delta.removed,
        [("1password".to_string(), "0.1.1".to_string())]
    );
    assert_eq!(write_delta(&[], &[], &delta.removed), remove);
    assert_eq!(DeltaDocument::parse(&remove).unwrap().to_bytes(), remove);

    for name in [
        "search-index-delta-update.json",
        "search-index-delta-update-field-removal.json",
    ] {
        let bytes = fixture(name).unwrap();
        let delta = parse_delta(&bytes).unwrap();
        assert!(delta.added.is_empty() && delta.removed.is_empty(), "{name}");
        let [p] = delta.updated.as_slice() else {
            panic!("{name}: one update expected")
        };
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("1password", "0.2.0")
        );
        assert_eq!(printed(p), manifests(&bytes, "updated")[0], "{name}");
        assert_eq!(
            DeltaDocument::parse(&bytes).unwrap().to_bytes(),
            bytes,
            "{name}"
        );
    }

    // This one is in struct order; it differs from what we write only in that its
    // `<` and `>` are not escaped as Go escapes them (the full index fixtures are).
    let bytes = fixture("search-index-delta-update.json").unwrap();
    let delta = parse_delta(&bytes).unwrap();
    let p = &delta.updated[0];
    assert_eq!(
        canonical(&printed(p)),
        canonical(&manifests(&bytes, "updated")[0])
    );
    let written = String::from_utf8(write_delta(&[], &entries_of(&delta.updated), &[])).unwrap();
    assert!(written.contains("\\u003cuser\\u003e"));
    let unescaped = written.replace("\\u003c", "<").replace("\\u003e", ">");
    assert_eq!(unescaped, String::from_utf8(bytes).unwrap());

    let update =
        parse_delta(&fixture("search-index-delta-update-field-removal.json").unwrap()).unwrap();
    let p = &update.updated[0];
    assert!(p.categories.is_empty());
    assert!(
        p.full_json(None)
            .unwrap()
            .to_document()
            .contains("\"group\": \"observability\"")
    );
}

fn package(manifest: Value) -> Package {
    from_index_manifest(&manifest).unwrap_or_else(|e| panic!("{e}"))
}

fn foo(version: &str, kibana: &str) -> Value {
    json!({
        "name": "foo",
        "version": version,
        "format_version": "3.0.0",
        "conditions": {"kibana": {"version": kibana}},
        "download": format!("/epr/foo/foo-{version}.zip"),
        "path": format!("/package/foo/{version}"),
    })
}

#[test]
fn documents_change_cheaply() {
    let mut doc = IndexDocument::new();
    assert_eq!(doc.to_bytes(), b"{\n    \"packages\": []\n}\n");
    let one = IndexEntry::from_package(&package(foo("1.0.0", "^8.0.0"))).unwrap();
    let two = IndexEntry::from_package(&package(foo("2.0.0", "^8.0.0"))).unwrap();
    assert_eq!(doc.push(one.clone()), None);
    assert_eq!(doc.push(two.clone()), None);
    assert!(doc.contains("foo", "1.0.0") && doc.contains("foo", "2.0.0"));
    assert!(!doc.contains("foo", "1.0"));

    // A replacement stays where the old entry was.
    let one_again = IndexEntry::from_package(&package(foo("1.0.0", "^8.1.0"))).unwrap();
    assert_eq!(doc.push(one_again.clone()), Some(one));
    assert_eq!(doc.entries(), [one_again.clone(), two.clone()]);

    let bytes = doc.to_bytes();
    assert_eq!(
        IndexDocument::parse(Bytes::copy_from_slice(&bytes)).unwrap(),
        doc
    );
    let packages = parse_search_index_all(&bytes).unwrap();
    assert_eq!(packages.len(), 2);
    assert_eq!(packages[0].kibana.as_ref().unwrap().original(), "^8.1.0");

    assert_eq!(doc.remove("foo", "1.0.0"), Some(one_again));
    assert_eq!(doc.remove("foo", "1.0.0"), None);
    assert_eq!(doc.entries(), [two]);
}

#[test]
fn parts_make_the_same_file_and_share_the_bytes_read() {
    let mut doc = IndexDocument::new();
    doc.push(IndexEntry::from_package(&package(foo("1.0.0", "^8.0.0"))).unwrap());
    doc.push(IndexEntry::from_package(&package(foo("2.0.0", "^8.0.0"))).unwrap());
    let read = Bytes::from(doc.to_bytes());
    let doc = IndexDocument::parse(read.clone()).unwrap();
    let parts = doc.to_parts();
    assert_eq!(parts.concat(), read);
    // The manifests are the very bytes that were read, not copies.
    let range = read.as_ptr_range();
    let shared = parts
        .iter()
        .filter(|part| range.contains(&part.as_ptr()))
        .count();
    assert_eq!(shared, 2);
    assert_eq!(
        IndexDocument::new().to_parts().concat(),
        b"{\n    \"packages\": []\n}\n"
    );
}

#[test]
fn keys_are_matched_as_upstream_matches_them() {
    let manifest = foo("1.0.0", "^8.0.0").to_string();
    // The entry's key and the manifest's name and version as Go's encoding/json
    // matches struct fields: any ASCII case, the last one winning.
    let file =
        r#"{"packages": [{"Package_Manifest": {"NAME": "x", "name": "foo", "Version": "1.0.0"}}]}"#;
    let doc = IndexDocument::parse(file).unwrap();
    assert!(doc.contains("foo", "1.0.0"), "{doc:?}");
    // `packages` itself is the token upstream's reader looks for: exact.
    let file = format!(r#"{{"Packages": [{{"package_manifest": {manifest}}}]}}"#);
    let e = IndexDocument::parse(file).unwrap_err().to_string();
    assert_eq!(e, "search-index-all.json: no \"packages\" array");
    // A syntax error anywhere refuses the file, naming where.
    let file = format!(r#"{{"packages": [{{"package_manifest": {manifest}}}"#);
    let e = parse_search_index_all(file.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "search-index-all.json: not a JSON object: EOF while parsing a list at line 1"
        ),
        "{e}"
    );
}

#[test]
fn entries_copied_from_other_writers_stay_valid() {
    // Compact, other key order, unknown keys: kept as they are.
    let upstream = br#"{"cursor": "x", "packages": [{"package_manifest": {"version": "0.1.0", "name": "bar", "extra": [1, 2]}}]}"#;
    let mut doc = IndexDocument::parse(Bytes::copy_from_slice(upstream)).unwrap();
    doc.push(IndexEntry::from_package(&package(foo("1.0.0", "^8.0.0"))).unwrap());
    let bytes = doc.to_bytes();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.contains(
            r#""package_manifest": {"version": "0.1.0", "name": "bar", "extra": [1, 2]}"#
        )
    );
    let names: Vec<String> = parse_search_index_all(&bytes)
        .unwrap()
        .iter()
        .map(|p| format!("{}-{}", p.name, p.version))
        .collect();
    assert_eq!(names, ["bar-0.1.0", "foo-1.0.0"]);
}

#[test]
fn one_bad_entry_refuses_the_file_and_is_named() {
    let bad = format!(
        r#"{{"packages": [{{"package_manifest": {}}}, {{"package_manifest": {}}}]}}"#,
        foo("1.0.0", "^8.0.0"),
        foo("1.1.0", "not a range")
    );
    let e = parse_search_index_all(bad.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "search-index-all.json: packages[1] (foo-1.1.0): conditions.kibana.version: invalid Kibana versions range \"not a range\": "
        ),
        "{e}"
    );
    assert_eq!(read_streamed(bad.as_bytes()).unwrap_err().to_string(), e);
    // The publisher's reader only names entries; decoding them finds the same.
    let doc = IndexDocument::parse(bad.clone()).unwrap();
    assert_eq!(doc.packages().unwrap_err().to_string(), e);

    let many: Vec<String> = (0..8)
        .map(|i| {
            format!(
                r#"{{"package_manifest": {}}}"#,
                foo(&format!("1.{i}"), "^8.0.0")
            )
        })
        .collect();
    let many = format!(r#"{{"packages": [{}]}}"#, many.join(","));
    let e = parse_search_index_all(many.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("search-index-all.json: 8 bad entries:\n  packages[0] (foo-1.0): version: invalid package version \"1.0\""), "{e}");
    assert!(e.ends_with("\n  and 3 more"), "{e}");
    assert_eq!(read_streamed(many.as_bytes()).unwrap_err().to_string(), e);
}

#[test]
fn misshapen_files_are_refused() {
    let cases: [(&[u8], &str); 7] = [
        (b"", "search-index-all.json: not a JSON object: "),
        (b"[]", "search-index-all.json: not a JSON object: "),
        (b"{}", "search-index-all.json: no \"packages\" array"),
        (
            b"{\"packages\": null}",
            "search-index-all.json: \"packages\" is not an array: ",
        ),
        (
            b"{\"packages\": {}}",
            "search-index-all.json: \"packages\" is not an array: ",
        ),
        (
            b"{\"packages\": [{}]}",
            "search-index-all.json: packages[0] (no name, no version): no package_manifest",
        ),
        (
            b"{\"packages\": [3]}",
            "search-index-all.json: packages[0] (no name, no version): not an object: ",
        ),
    ];
    for (bytes, wanted) in cases {
        let e = parse_search_index_all(bytes).unwrap_err().to_string();
        assert!(e.starts_with(wanted), "{e}");
        let e = read_streamed(bytes).unwrap_err().to_string();
        assert!(e.starts_with(wanted), "{e}");
        let e = IndexDocument::parse(Bytes::copy_from_slice(bytes))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with(wanted), "{e}");
    }
    assert!(
        parse_search_index_all(b"{\"packages\": [], \"other\": 1}")
            .unwrap()
            .is_empty()
    );
    assert!(
        read_streamed(b"{\"packages\": [], \"other\": 1}")
            .unwrap()
            .is_empty()
    );

    let e = IndexDocument::parse(Bytes::from_static(
        br#"{"packages": [{"package_manifest": {"name": "x"}}]}"#,
    ))
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "search-index-all.json: packages[0] (no name, no version): package_manifest: no version"
    );

    let delta = parse_delta(b"{\"added\": null, \"previous\": \"1\"}").unwrap();
    assert!(delta.added.is_empty() && delta.updated.is_empty() && delta.removed.is_empty());
    let e = parse_delta(br#"{"removed": [{"name": "foo"}]}"#)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "search-index-delta.json: removed[0] (foo-): name and version must be non-empty strings"
    );
    let e = parse_delta(br#"{"updated": [{"package_manifest": {"name": "foo", "version": "x"}}]}"#)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("search-index-delta.json: updated[0] (foo-x): version: "),
        "{e}"
    );
}

#[test]
fn unreadable_manifests_are_not_written() {
    let p = package(foo("1.0.0", "^8.0.0"));
    let mut manifest = p.index_manifest().unwrap();
    if let Json::Obj(entries) = &mut manifest {
        entries.retain(|(k, _)| k != "version");
    }
    let e = IndexEntry::from_manifest(&manifest).unwrap_err();
    assert_eq!(
        e.joined("; "),
        "version: invalid package version \"\": version string empty"
    );
}
