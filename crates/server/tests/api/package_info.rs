//! `/package/{name}/{version}/`: the full document.

use epr_testkit::PackageBuilder;

use crate::fixture::{examples, get, state};

#[tokio::test]
async fn full_document() {
    let s = state(&[examples()]);
    let a = get(&s, "/package/nginx_logs/1.0.0/").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.all("cache-control"), ["max-age=1", "public"]);
    let v = a.json();
    assert_eq!(v["format_version"], "3.0.0");
    assert_eq!(v["readme"], "/package/nginx_logs/1.0.0/docs/README.md");
    assert_eq!(v["license"], "basic");
    let assets: Vec<&str> = v["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        assets[..3],
        [
            "/package/nginx_logs/1.0.0/manifest.yml",
            "/package/nginx_logs/1.0.0/docs/README.md",
            "/package/nginx_logs/1.0.0/img/logo.svg"
        ]
    );
    let ds = &v["data_streams"][0];
    assert_eq!(ds["dataset"], "nginx_logs.access");
    assert_eq!(ds["ingest_pipeline"], "default");
    assert_eq!(ds["streams"][0]["template_path"], "stream.yml.hbs");
    assert_eq!(ds["streams"][0]["enabled"], true);
    assert_eq!(ds["streams"][0]["ingestion_method"], "File");
    assert_eq!(v["policy_templates"][0]["multiple"], true);
    assert_eq!(
        v["policy_templates"][0]["inputs"][0]["vars"][0]["default"][0],
        "/var/log/nginx/access.log*"
    );
    assert!(a.text().ends_with("}\n"));
}

#[tokio::test]
async fn input_packages_get_their_ingestion_method() {
    let s = state(&[examples()]);
    let v = get(&s, "/package/sql_metrics_input/0.2.0/").await.json();
    assert_eq!(v["policy_templates"][0]["ingestion_method"], "Database");
    // 0.x is `beta` but not a prerelease.
    assert_eq!(v["release"], "beta");
}

#[tokio::test]
async fn errors() {
    let s = state(&[examples()]);
    let bad = get(&s, "/package/nginx_logs/1.0/").await;
    assert_eq!(
        (bad.status.as_u16(), bad.text().as_str()),
        (400, "invalid package version\n")
    );
    assert_eq!(bad.all("cache-control"), ["max-age=0", "private, no-store"]);
    assert_eq!(bad.header("x-content-type-options"), Some("nosniff"));
    let missing = get(&s, "/package/nginx_logs/9.9.9/").await;
    assert_eq!(
        (missing.status.as_u16(), missing.text().as_str()),
        (404, "package revision not found\n")
    );
}

#[tokio::test]
async fn without_the_slash_redirects() {
    let s = state(&[examples()]);
    let a = get(&s, "/package/nginx_logs/1.0.0?x=1").await;
    assert_eq!(a.status, 301);
    assert_eq!(a.header("location"), Some("/package/nginx_logs/1.0.0/?x=1"));
    assert_eq!(
        a.text(),
        "<a href=\"/package/nginx_logs/1.0.0/?x=1\">Moved Permanently</a>.\n\n"
    );
    assert_eq!(a.header("access-control-allow-origin"), Some("*"));
}

/// `data_streams[].streams[].ingestion_method` comes from the upstream's table by
/// the stream's input: `azure/metrics` is "API" (it was missing, so azure_metrics,
/// azure_billing and azure_application_insights showed none). A mapped input
/// replaces what the manifest says; an unmapped one keeps it, as upstream.
#[tokio::test]
async fn streams_get_the_ingestion_method_of_their_input() {
    let dir = tempfile::tempdir().unwrap();
    let root = PackageBuilder::new("azure_like", "1.0.0").write_folder(dir.path());
    let ds = root.join("data_stream/monitor");
    std::fs::create_dir_all(&ds).unwrap();
    std::fs::write(
        ds.join("manifest.yml"),
        "title: Monitor\ntype: metrics\nstreams:\n  - input: azure/metrics\n    title: A\n    description: A\n  - input: azure/metrics\n    title: B\n    description: B\n    ingestion_method: Other\n  - input: nope/metrics\n    title: C\n    description: C\n    ingestion_method: Custom\n  - input: nope/metrics\n    title: D\n    description: D\n",
    )
    .unwrap();
    std::fs::create_dir(ds.join("fields")).unwrap();
    std::fs::copy(
        crate::fixture::examples()
            .join("nginx_logs/1.0.0/data_stream/access/fields/base-fields.yml"),
        ds.join("fields/base-fields.yml"),
    )
    .unwrap();
    let s = state(&[dir.path().to_path_buf()]);
    let a = get(&s, "/package/azure_like/1.0.0/").await;
    assert_eq!(a.status, 200, "{}", a.text());
    let streams = &a.json()["data_streams"][0]["streams"];
    let methods: Vec<Option<&str>> = streams
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.get("ingestion_method").map(|m| m.as_str().unwrap()))
        .collect();
    assert_eq!(methods, [Some("API"), Some("API"), Some("Custom"), None]);
}
