//! `/categories`: counts, titles and parents.

use epr_testkit::PackageBuilder;

use crate::fixture::{examples, get, state};

#[tokio::test]
async fn counts_the_newest_versions() {
    let s = state(&[examples()]);
    let a = get(&s, "/categories").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.all("cache-control"), ["max-age=1", "public"]);
    let v = a.json();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["custom", "datastore", "observability", "security", "web"]
    );
    let web = &v[4];
    assert_eq!(web["title"], "Web Server");
    assert_eq!(web["count"], 1);
    assert_eq!(web["parent_id"], "observability");
    assert_eq!(web["parent_title"], "Observability");
    assert!(a.text().ends_with("]\n"));
}

#[tokio::test]
async fn include_policy_templates_counts_template_categories() {
    let dir = tempfile::tempdir().unwrap();
    PackageBuilder::new("templated", "1.0.0")
        .append_manifest(
            "categories: [observability, security]\npolicy_templates:\n  - name: a\n    title: A\n    description: A\n    categories: [network]\n",
        )
        .write_folder(dir.path());
    let s = state(&[dir.path().to_path_buf()]);
    let v = get(&s, "/categories?include_policy_templates=true")
        .await
        .json();
    let counts: Vec<(String, i64)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["count"].as_i64().unwrap(),
            )
        })
        .collect();
    // The upstream's unit-test example: 2 each.
    assert_eq!(
        counts,
        [
            ("network".to_string(), 2),
            ("observability".to_string(), 2),
            ("security".to_string(), 2)
        ]
    );
}

#[tokio::test]
async fn empty_answer_has_a_newline() {
    let s = state(&[examples()]);
    assert_eq!(
        get(&s, "/categories?kibana.version=1.0.0&capabilities=none")
            .await
            .text(),
        "[\n  {\n    \"id\": \"security\",\n    \"title\": \"Security\",\n    \"count\": 1\n  }\n]\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let empty = state(&[dir.path().to_path_buf()]);
    assert_eq!(get(&empty, "/categories").await.text(), "[]\n");
}

/// A category as `categories.yml` defines it: id, title, and for a subcategory its
/// parent's id and title.
#[derive(Debug, Clone, PartialEq)]
struct Defined {
    id: String,
    title: String,
    parent: Option<(String, String)>,
}

/// Reads a `categories.yml` with a few lines of its own (not the registry's YAML
/// reader, which is under test): two spaces per level, `id:` keys at levels 1
/// (top) and 3 (subcategories), `title:` under each. In file order.
fn read_category_file(path: &std::path::Path) -> Vec<Defined> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out: Vec<Defined> = Vec::new();
    let mut top: Option<usize> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let (key, value) = trimmed.split_once(':').unwrap();
        let value = value.trim().trim_matches('"');
        match (indent, key) {
            (0, "categories") | (4, "subcategories") => {}
            (2, id) => {
                top = Some(out.len());
                out.push(Defined {
                    id: id.to_string(),
                    title: String::new(),
                    parent: None,
                });
            }
            (6, id) => {
                let parent = &out[top.unwrap()];
                let parent = Some((parent.id.clone(), parent.title.clone()));
                out.push(Defined {
                    id: id.to_string(),
                    title: String::new(),
                    parent,
                });
            }
            (4 | 8, "title") => out.last_mut().unwrap().title = value.to_string(),
            _ => panic!("unexpected line in {}: {line:?}", path.display()),
        }
    }
    out
}

/// Our copy of the upstream's list.
fn our_category_file() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../package/data/categories.yml")
}

/// One package per category id, `p_<id>`, listing only that id; and `templated`,
/// with no package categories and one policy template listing every id.
fn one_package_per_category(root: &std::path::Path, defined: &[Defined]) {
    for c in defined {
        let name = format!("p_{}", c.id);
        let categories = format!("categories: [{}]\n", c.id);
        PackageBuilder::new(&name, "1.0.0")
            .append_manifest(&categories)
            .write_folder(root);
    }
    let all: Vec<&str> = defined.iter().map(|c| c.id.as_str()).collect();
    let template = format!(
        "policy_templates:\n  - name: a\n    title: A\n    description: A\n    categories: [{}]\n",
        all.join(", ")
    );
    PackageBuilder::new("templated", "1.0.0")
        .append_manifest(&template)
        .write_folder(root);
}

/// Every id of the upstream's list, top-level and subcategory, comes back from
/// `/categories` with the file's title and parent, with and without the policy
/// templates' categories; and `/search?category=<parent>` finds the packages of
/// its subcategories.
#[tokio::test]
async fn every_listed_category_has_the_upstream_title_and_parent() {
    let defined = read_category_file(&our_category_file());
    // The upstream's list at 1.40.1: 23 top-level categories and 49 subcategories.
    assert_eq!(defined.len(), 72);
    assert_eq!(defined.iter().filter(|c| c.parent.is_none()).count(), 23);
    let dir = tempfile::tempdir().unwrap();
    one_package_per_category(dir.path(), &defined);
    let s = state(&[dir.path().to_path_buf()]);

    // Without the templates each id is counted once (its own package); with them,
    // `templated` adds 2 per id (the template, and the package for a category it
    // does not list itself).
    for (url, count) in [
        ("/categories", 1),
        ("/categories?include_policy_templates=true", 3),
    ] {
        let v = get(&s, url).await.json();
        let answered = v.as_array().unwrap();
        let mut expected = defined.clone();
        expected.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(answered.len(), expected.len(), "{url}");
        for (got, want) in answered.iter().zip(&expected) {
            assert_eq!(got["id"], want.id.as_str(), "{url}");
            assert_eq!(got["title"], want.title.as_str(), "{url}: {}", want.id);
            assert_eq!(got["count"], count, "{url}: {}", want.id);
            match &want.parent {
                Some((id, title)) => {
                    assert_eq!(got["parent_id"], id.as_str(), "{url}: {}", want.id);
                    assert_eq!(got["parent_title"], title.as_str(), "{url}: {}", want.id);
                }
                None => {
                    let keys: Vec<&String> = got.as_object().unwrap().keys().collect();
                    assert_eq!(keys, ["id", "title", "count"], "{url}: {}", want.id);
                }
            }
        }
    }

    // A parent finds its own package and those of its subcategories; a subcategory
    // only its own (`templated` is left out: its template lists every id).
    for c in defined.iter().filter(|c| c.parent.is_none()) {
        let v = get(&s, &format!("/search?category={}", c.id)).await.json();
        let mut found: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .filter(|n| *n != "templated")
            .collect();
        found.sort();
        let mut want: Vec<String> = defined
            .iter()
            .filter(|d| d.id == c.id || d.parent.as_ref().is_some_and(|(p, _)| *p == c.id))
            .map(|d| format!("p_{}", d.id))
            .collect();
        want.sort();
        assert_eq!(found, want, "/search?category={}", c.id);
    }
    let v = get(&s, "/search?category=kubernetes").await.json();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["p_kubernetes", "templated"]);
}

/// Our data file says the same as the upstream's own, when the shared conformance
/// files are there (`../shared`, as in CI); otherwise there is nothing to compare.
#[test]
fn data_file_is_the_upstream_list() {
    let upstream = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/epr/categories.yml");
    if !upstream.exists() {
        eprintln!("{} is not there: skipped", upstream.display());
        return;
    }
    let ours = read_category_file(&our_category_file());
    let theirs = read_category_file(&upstream);
    let differ: Vec<(Option<&Defined>, Option<&Defined>)> = theirs
        .iter()
        .map(|t| (ours.iter().find(|o| o.id == t.id), Some(t)))
        .chain(
            ours.iter()
                .filter(|o| !theirs.iter().any(|t| t.id == o.id))
                .map(|o| (Some(o), None)),
        )
        .filter(|(o, t)| o != t)
        .collect();
    assert!(differ.is_empty(), "ours, upstream's: {differ:#?}");
}
