//! `/search`: filters, selection of versions, ordering and the empty answer.

use epr_testkit::PackageBuilder;

use crate::fixture::{examples, get, state};

fn names_versions(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}@{}",
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn default_search_hides_prereleases_and_keeps_the_newest() {
    let s = state(&[examples()]);
    let a = get(&s, "/search").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(a.all("cache-control"), ["max-age=1", "public"]);
    assert_eq!(a.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        names_versions(&a.json()),
        [
            "nginx_logs@1.0.0",
            "security_dashboards@1.0.0",
            "sql_metrics_input@0.2.0"
        ]
    );
    // Key order is the upstream's struct order.
    let first = &a.json()[0];
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
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
            "icons",
            "policy_templates",
            "conditions",
            "owner",
            "categories",
            "data_streams"
        ]
    );
}

#[tokio::test]
async fn prerelease_and_all() {
    let s = state(&[examples()]);
    let pre = get(&s, "/search?prerelease=true&package=nginx_logs")
        .await
        .json();
    assert_eq!(names_versions(&pre), ["nginx_logs@1.1.0-beta.1"]);
    let all = get(&s, "/search?prerelease=true&all=true&package=nginx_logs")
        .await
        .json();
    assert_eq!(
        names_versions(&all),
        ["nginx_logs@1.0.0", "nginx_logs@1.1.0-beta.1"]
    );
}

#[tokio::test]
async fn kibana_versions_follow_the_constraints() {
    let s = state(&[examples()]);
    let names = |q: &'static str| {
        let s = s.clone();
        async move { names_versions(&get(&s, q).await.json()) }
    };
    assert_eq!(
        names("/search?kibana.version=8.11.0").await,
        ["nginx_logs@1.0.0", "security_dashboards@1.0.0"]
    );
    assert_eq!(
        names("/search?kibana.version=8.12.1").await,
        [
            "nginx_logs@1.0.0",
            "security_dashboards@1.0.0",
            "sql_metrics_input@0.2.0"
        ]
    );
    assert_eq!(
        names("/search?kibana.version=7.17.0").await,
        ["security_dashboards@1.0.0"]
    );
    // A prerelease Kibana only matches constraints that mention a prerelease.
    assert_eq!(
        names("/search?kibana.version=9.1.0-SNAPSHOT").await,
        ["security_dashboards@1.0.0"]
    );
}

#[tokio::test]
async fn type_category_and_subcategories() {
    let s = state(&[examples()]);
    assert_eq!(
        names_versions(&get(&s, "/search?type=input").await.json()),
        ["sql_metrics_input@0.2.0"]
    );
    assert_eq!(
        names_versions(&get(&s, "/search?type=content").await.json()),
        ["security_dashboards@1.0.0"]
    );
    // `web` is a subcategory of `observability`.
    assert_eq!(
        names_versions(&get(&s, "/search?category=web").await.json()),
        ["nginx_logs@1.0.0"]
    );
    assert_eq!(
        names_versions(&get(&s, "/search?category=datastore").await.json()),
        ["sql_metrics_input@0.2.0"]
    );
}

#[tokio::test]
async fn spec_range_and_empty_answer() {
    let s = state(&[examples()]);
    assert_eq!(
        names_versions(&get(&s, "/search?spec.max=3.0").await.json()),
        ["nginx_logs@1.0.0"]
    );
    assert_eq!(
        names_versions(&get(&s, "/search?spec.min=3.1&spec.max=3.1").await.json()),
        ["sql_metrics_input@0.2.0"]
    );
    let empty = get(&s, "/search?package=nothing").await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.text(), "[]");
}

#[tokio::test]
async fn deprecation_is_shown() {
    let s = state(&[examples()]);
    let v = get(&s, "/search?package=security_dashboards").await.json();
    assert_eq!(
        v[0]["deprecated"]["replaced_by"]["package"],
        "security_detection_engine"
    );
}

#[tokio::test]
async fn capabilities_and_discovery() {
    let dir = tempfile::tempdir().unwrap();
    PackageBuilder::new("needs_security", "1.0.0")
        .append_manifest("conditions:\n  elastic:\n    capabilities: [security]\n")
        .write_folder(dir.path());
    PackageBuilder::new("plain", "1.0.0")
        .append_manifest("discovery:\n  fields:\n    - name: process.pid\n")
        .write_folder(dir.path());
    let s = state(&[dir.path().to_path_buf()]);
    assert_eq!(
        names_versions(&get(&s, "/search?capabilities=observability").await.json()),
        ["plain@1.0.0"]
    );
    assert_eq!(
        names_versions(
            &get(&s, "/search?capabilities=security,observability")
                .await
                .json()
        ),
        ["needs_security@1.0.0", "plain@1.0.0"]
    );
    assert_eq!(
        names_versions(
            &get(&s, "/search?discovery=fields:process.pid,host.name")
                .await
                .json()
        ),
        ["plain@1.0.0"]
    );
    assert_eq!(
        get(&s, "/search?discovery=fields:host.name").await.text(),
        "[]"
    );
}

#[tokio::test]
async fn agent_version_and_ignored_parameters() {
    let dir = tempfile::tempdir().unwrap();
    PackageBuilder::new("agent_bound", "1.0.0")
        .append_manifest("conditions:\n  agent:\n    version: \"^9.2.0\"\n")
        .write_folder(dir.path());
    let s = state(&[dir.path().to_path_buf()]);
    assert_eq!(
        names_versions(&get(&s, "/search?agent.version=9.2.1").await.json()),
        ["agent_bound@1.0.0"]
    );
    assert_eq!(get(&s, "/search?agent.version=9.1.0").await.text(), "[]");
    // `internal` is accepted and ignored; unknown keys are ignored by default.
    assert_eq!(
        names_versions(&get(&s, "/search?internal=true&whatever=1").await.json()),
        ["agent_bound@1.0.0"]
    );
}

#[tokio::test]
async fn experimental_uses_the_legacy_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    PackageBuilder::new("legacy", "1.0.0").write_folder(dir.path());
    PackageBuilder::new("legacy", "2.0.0-rc1").write_folder(dir.path());
    PackageBuilder::new("labs", "1.0.0")
        .append_manifest("release: experimental\n")
        .write_folder(dir.path());
    let s = state(&[dir.path().to_path_buf()]);
    // Normal: experimental packages and prereleases are hidden.
    assert_eq!(
        names_versions(&get(&s, "/search").await.json()),
        ["legacy@1.0.0"]
    );
    // Legacy: experimental packages shown, a release preferred to a newer prerelease,
    // and `prerelease` ignored.
    assert_eq!(
        names_versions(
            &get(&s, "/search?experimental=true&prerelease=false")
                .await
                .json()
        ),
        ["labs@1.0.0", "legacy@1.0.0"]
    );
    assert_eq!(
        names_versions(&get(&s, "/search?experimental=true&all=true").await.json()),
        ["labs@1.0.0", "legacy@1.0.0"]
    );
}

#[tokio::test]
async fn categories_of_policy_templates_reduce_the_templates() {
    let dir = tempfile::tempdir().unwrap();
    PackageBuilder::new("multi", "1.0.0")
        .append_manifest(
            "categories: [custom]\npolicy_templates:\n  - name: db\n    title: DB\n    description: D\n    categories: [datastore]\n  - name: web\n    title: W\n    description: W\n    categories: [web]\n",
        )
        .write_folder(dir.path());
    let s = state(&[dir.path().to_path_buf()]);
    let v = get(&s, "/search?category=datastore").await.json();
    let templates: Vec<&str> = v[0]["policy_templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(templates, ["db"]);
    // Through a subcategory (web is under observability) the package matches, but no
    // template has the category exactly, so none is shown.
    let v = get(&s, "/search?category=observability").await.json();
    assert_eq!(v[0]["name"], "multi");
    assert!(v[0].get("policy_templates").is_none());
    // Matching on the package's own categories keeps every template.
    let v = get(&s, "/search?category=custom").await.json();
    assert_eq!(v[0]["policy_templates"].as_array().unwrap().len(), 2);
}
