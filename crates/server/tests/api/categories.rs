//! `/categories`: counts, titles and parents.

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
    crate::fixture::write_package(
        dir.path(),
        "templated",
        "1.0.0",
        "categories: [observability, security]\npolicy_templates:\n  - name: a\n    title: A\n    description: A\n    categories: [network]\n",
    );
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
