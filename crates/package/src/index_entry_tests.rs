use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::fs::{DirFs, PackageFs, ZipFs};
use crate::package::{LoadOptions, load};

/// `EPR_SHARED`, else the `shared/` folder beside this repository.
fn shared_dir() -> Option<PathBuf> {
    epr_testkit::shared_dir(env!("CARGO_MANIFEST_DIR"))
}

/// Every folder package `<root>/<name>/<version>/` and every zip directly in `root`.
fn package_locations(root: &Path) -> Vec<Location> {
    let mut out = Vec::new();
    let children = |dir: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    for child in children(root) {
        if child.is_dir() {
            for version in children(&child) {
                if version.join("manifest.yml").is_file() {
                    out.push(Location::Dir(version));
                }
            }
        } else if child.extension().is_some_and(|e| e == "zip") {
            out.push(Location::Zip(child));
        }
    }
    out
}

fn load_at(location: &Location) -> Option<Package> {
    let fs: Arc<dyn PackageFs> = match location {
        Location::Dir(path) => Arc::new(DirFs::open(path).ok()?),
        Location::Zip(path) => Arc::new(ZipFs::open(path).ok()??),
        Location::Storage { .. } => return None,
    };
    load(location.clone(), fs, &LoadOptions::default()).ok()
}

fn parse(doc: &str) -> Package {
    let value: Value = serde_json::from_str(doc).expect("index manifests are JSON");
    from_index_manifest(&value).unwrap_or_else(|e| panic!("{e}"))
}

fn search_text(p: &Package, deprecated: Option<&Json>) -> String {
    let mut out = String::new();
    p.write_search_entry(&mut out, deprecated, None);
    out
}

/// load() → index_manifest() → from_index_manifest() gives the same documents and
/// the same query fields.
fn assert_round_trip(original: &Package) {
    let manifest = original.index_manifest().unwrap().to_document();
    let copy = parse(&manifest);
    let label = format!("{}-{}", original.name, original.version);
    // What a registry keeps of the entry is the same decoding, less the full document.
    let summary = crate::index_summary::summary_from_index_manifest(&manifest).unwrap();
    assert_eq!(
        format!("{summary:?}"),
        format!("{:?}", parse(&manifest).into_summary()),
        "{label}: summary"
    );
    let own = original.deprecated.as_ref();
    assert_eq!(
        copy.full_json(own).unwrap().to_document(),
        manifest,
        "{label}: full"
    );
    assert_eq!(
        search_text(&copy, own),
        search_text(original, own),
        "{label}: search entry"
    );
    assert_eq!(copy.name, original.name, "{label}");
    assert_eq!(copy.version, original.version, "{label}");
    assert_eq!(copy.semver, original.semver, "{label}");
    assert_eq!(copy.release, original.release, "{label}");
    assert_eq!(copy.kind, original.kind, "{label}");
    assert_eq!(copy.categories, original.categories, "{label}");
    assert_eq!(copy.capabilities, original.capabilities, "{label}");
    assert_eq!(copy.spec_version, original.spec_version, "{label}");
    assert_eq!(copy.discovery_fields, original.discovery_fields, "{label}");
    assert_eq!(
        copy.discovery_datasets, original.discovery_datasets,
        "{label}"
    );
    assert_eq!(copy.deprecated, original.deprecated, "{label}");
    assert_eq!(
        copy.kibana.as_ref().map(|c| c.original().to_string()),
        original.kibana.as_ref().map(|c| c.original().to_string()),
        "{label}"
    );
    assert_eq!(
        copy.agent.as_ref().map(|c| c.original().to_string()),
        original.agent.as_ref().map(|c| c.original().to_string()),
        "{label}"
    );
    assert_eq!(copy.templates.len(), original.templates.len(), "{label}");
    for (a, b) in copy.templates.iter().zip(&original.templates) {
        // An empty YAML list prints as nothing, so it comes back as no list.
        let wanted = b.categories.clone().filter(|c| !c.is_empty());
        assert_eq!(a.categories, wanted, "{label}");
        assert_eq!(a.search_text, b.search_text, "{label}");
    }
    assert_eq!(copy.signature_path(), original.signature_path(), "{label}");
    assert_eq!(
        copy.location,
        Location::Storage {
            base_path: format!("{label}.zip")
        }
    );
    assert!(copy.open_files().unwrap().entries().is_empty());
}

#[test]
fn repository_examples_round_trip() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/packages");
    let locations = package_locations(&root);
    assert!(
        !locations.is_empty(),
        "no examples under {}",
        root.display()
    );
    for location in &locations {
        let package = load_at(location)
            .unwrap_or_else(|| panic!("example {} loads", location.path().display()));
        assert_round_trip(&package);
    }
}

#[test]
fn upstream_test_packages_round_trip() {
    let Some(shared) = shared_dir() else {
        eprintln!("note: no shared folder (set EPR_SHARED): upstream test packages skipped");
        return;
    };
    let testdata = shared.join("conformance/epr/testdata");
    let mut count = 0;
    for root in ["package", "second_package_path", "local-storage"] {
        for location in package_locations(&testdata.join(root)) {
            // Some upstream test packages are invalid on purpose.
            if let Some(package) = load_at(&location) {
                assert_round_trip(&package);
                count += 1;
            }
        }
    }
    eprintln!("{count} upstream test packages round-tripped");
    assert!(count > 20, "only {count} upstream test packages loaded");
}

/// A failed load, its problems printed.
#[derive(Debug)]
struct Failed {
    location: String,
    problems: Vec<String>,
}

fn error_of(manifest: Value) -> Failed {
    match from_index_manifest(&manifest) {
        Ok(p) => panic!("{}-{} should have failed", p.name, p.version),
        Err(e) => Failed {
            problems: e.problems.iter().map(ToString::to_string).collect(),
            location: e.location,
        },
    }
}

fn minimal() -> Value {
    json!({
        "name": "foo",
        "version": "1.0.0",
        "format_version": "3.0.0",
        "conditions": {"kibana": {"version": "^8.0.0"}, "agent": {"version": "^8.1.0"}}
    })
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

#[test]
fn strict_fields_fail_the_entry_with_their_name() {
    let e = error_of(with(minimal(), "version", json!("1.0")));
    assert_eq!(e.location, "foo-1.0");
    assert_eq!(
        e.problems,
        ["version: invalid package version \"1.0\": invalid semantic version"]
    );

    let e = error_of(with(minimal(), "format_version", json!("v3.0.0")));
    assert_eq!(e.problems.len(), 1);
    assert!(
        e.problems[0].starts_with("format_version: invalid format spec version \"v3.0.0\": "),
        "{e:?}"
    );

    let bad_kibana = json!({"kibana": {"version": "not a range"}});
    let e = error_of(with(minimal(), "conditions", bad_kibana));
    assert_eq!(e.problems.len(), 1);
    assert!(
        e.problems[0].starts_with(
            "conditions.kibana.version: invalid Kibana versions range \"not a range\": "
        ),
        "{e:?}"
    );

    let bad_agent = json!({"agent": {"version": "~>>1"}});
    let e = error_of(with(minimal(), "conditions", bad_agent));
    assert!(
        e.problems[0].starts_with("conditions.agent.version: invalid Agent versions range "),
        "{e:?}"
    );

    let mut no_name = minimal();
    no_name.as_object_mut().unwrap().remove("name");
    let e = error_of(no_name);
    assert_eq!(e.location, "no name, version 1.0.0");
    assert_eq!(e.problems, ["name: required field is missing or empty"]);

    let mut no_version = minimal();
    no_version.as_object_mut().unwrap().remove("version");
    let e = error_of(no_version);
    assert_eq!(e.location, "foo, no version");
    assert_eq!(
        e.problems,
        ["version: invalid package version \"\": version string empty"]
    );
}

#[test]
fn wrong_types_are_named_by_path() {
    let e = error_of(with(minimal(), "version", json!(1)));
    assert_eq!(e.problems, ["version: expected a string, found number"]);

    let e = error_of(with(minimal(), "categories", json!("security")));
    assert_eq!(e.problems, ["categories: expected an array, found string"]);

    let templates =
        json!([{"name": "t", "inputs": [{"type": "x", "vars": [{"name": "v", "multi": "yes"}]}]}]);
    let e = error_of(with(minimal(), "policy_templates", templates));
    assert_eq!(
        e.problems,
        ["policy_templates[0].inputs[0].vars[0].multi: expected a boolean, found string"]
    );

    let e = error_of(with(minimal(), "data_streams", json!([null])));
    assert_eq!(
        e.problems,
        ["data_streams[0]: expected an object, found null"]
    );

    let e = error_of(with(minimal(), "owner", json!(["a"])));
    assert_eq!(e.problems, ["owner: expected an object, found array"]);

    let e = error_of(json!(["not", "an", "object"]));
    assert_eq!(e.problems, ["expected an object, found array"]);

    // Several problems are all reported.
    let e = error_of(json!({"name": 3, "version": "x", "title": false}));
    assert_eq!(e.problems.len(), 3, "{e:?}");
}

#[test]
fn hostile_values_never_panic() {
    let long = "9".repeat(100_000);
    for v in [
        json!(null),
        json!({}),
        json!({"name": "a", "version": long}),
        json!({"name": "a", "version": "1.0.0", "conditions": {"kibana": {"version": "||||"}}}),
        json!({"name": "a", "version": "1.0.0", "conditions": null, "policy_templates": [null, {}]}),
        json!({"name": "a", "version": "1.0.0", "data_streams": [{"streams": [null, {"vars": [null]}]}]}),
        json!({"name": "a", "version": "1.0.0", "data_streams": [{"elasticsearch": {"index_template.settings": 1}}]}),
    ] {
        let _ = from_index_manifest(&v);
    }
    let err = from_index_manifest_bytes(b"{\"name\": ")
        .map(|_| ())
        .unwrap_err();
    assert!(
        err.problems[0].message.starts_with("not valid JSON: "),
        "{err}"
    );
}

#[test]
fn decodes_like_go_encoding_json() {
    let manifest = json!({
        "NAME": "foo",
        "Version": "1.0.0",
        "unknown": {"dropped": true},
        "title": null,
        "type": "integration",
        "categories": ["security", "not_a_category"],
        "signature_path": "/epr/foo/foo-1.0.0.zip.sig",
        "deprecated": {"since": "1.0.0"},
        "discovery": {},
        "policy_templates": [{"name": "t", "title": "T", "description": "D",
            "inputs": [{"type": "logfile", "vars": [{"name": "v", "type": "text", "default": {"b": 1.0, "a": [2e0, 1e21]}}]}]}],
        "data_streams": [{"type": "logs", "dataset": "foo.x", "title": "X",
            "streams": [{"input": "logfile"}],
            "elasticsearch": {"index_template.settings": {"z": 1, "index": {"b": 2, "a": 3}}, "index_template.mappings": {}}}],
        "format_version": "3.1.4"
    });
    let p = from_index_manifest(&manifest).unwrap();
    assert_eq!((p.name.as_str(), p.version.as_str()), ("foo", "1.0.0"));
    // Unknown categories stay (no category removal for storage packages).
    assert_eq!(p.categories, ["security", "not_a_category"]);
    assert_eq!(
        p.spec_version.as_ref().map(|v| v.to_string()),
        Some("3.1.0".to_string())
    );
    assert_eq!(p.signature_path(), Some("/epr/foo/foo-1.0.0.zip.sig"));
    let full = p.full_json(p.deprecated.as_ref()).unwrap().to_document();
    let expected = r#"{
  "name": "foo",
  "version": "1.0.0",
  "description": "",
  "type": "integration",
  "download": "",
  "path": "",
  "categories": [
    "security",
    "not_a_category"
  ],
  "signature_path": "/epr/foo/foo-1.0.0.zip.sig",
  "deprecated": {
    "since": "1.0.0",
    "description": ""
  },
  "format_version": "3.1.4",
  "policy_templates": [
    {
      "name": "t",
      "title": "T",
      "description": "D",
      "inputs": [
        {
          "type": "logfile",
          "vars": [
            {
              "name": "v",
              "type": "text",
              "multi": false,
              "required": false,
              "show_user": false,
              "default": {
                "a": [
                  2,
                  1e+21
                ],
                "b": 1
              }
            }
          ]
        }
      ]
    }
  ],
  "data_streams": [
    {
      "type": "logs",
      "dataset": "foo.x",
      "title": "X",
      "streams": [
        {
          "input": "logfile"
        }
      ],
      "elasticsearch": {
        "index_template.settings": {
          "index": {
            "a": 3,
            "b": 2
          },
          "z": 1
        }
      }
    }
  ]
}
"#;
    assert_eq!(full, expected);
    let mut search = String::new();
    p.write_search_entry(&mut search, None, None);
    assert!(search.contains("\"policy_templates\": [\n      {\n        \"name\": \"t\",\n        \"title\": \"T\",\n        \"description\": \"D\"\n      }\n    ],\n    \"categories\""), "{search}");
    assert!(search.contains("\"data_streams\": [\n      {\n        \"type\": \"logs\",\n        \"dataset\": \"foo.x\",\n        \"title\": \"X\"\n      }\n    ]\n  }"), "{search}");
}

#[test]
fn go_case_folding() {
    assert!(go_fold_eq("name", "name"));
    assert!(go_fold_eq("NaMe", "name"));
    assert!(go_fold_eq("\u{17F}ince", "since"));
    assert!(go_fold_eq("\u{212A}ibana", "kibana"));
    assert!(!go_fold_eq("names", "name"));
    assert!(!go_fold_eq("nam", "name"));
    assert!(!go_fold_eq("n\u{e4}me", "name"));
}
