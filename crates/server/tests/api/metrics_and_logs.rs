//! The metrics of `--metrics-address` and the access log: what a scrape shows after
//! requests, and the one line each request leaves.

use std::collections::HashMap;
use std::sync::Arc;

use epr_server::AppState;
use epr_server::metrics::{Metrics, StorageIndexerKind};
use epr_testkit::PackageBuilder;
use tower::ServiceExt;

use crate::fixture::*;

fn state_with_metrics() -> (AppState, Arc<Metrics>) {
    let metrics = Metrics::new("1.2.3", "test-host", StorageIndexerKind::InMemory);
    let state = AppState::with_metrics(
        config(),
        catalog(&[examples()]),
        None,
        Some(metrics.clone()),
    );
    (state, metrics)
}

/// Scrapes `/metrics` of the metrics router and parses the samples of the text:
/// `name{labels}` → value. Fails on any line that is not a comment or a sample.
async fn scrape(state: &AppState) -> (String, HashMap<String, f64>) {
    let res = epr_server::metrics_router(state.clone())
        .oneshot(
            http::Request::get("/metrics")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let answer = Answer::read(res).await;
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{:?}",
        answer.headers
    );
    let text = answer.text();
    let mut samples = HashMap::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample: {line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {line}"));
        samples.insert(series.to_string(), value);
    }
    assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    (text, samples)
}

#[tokio::test]
async fn a_scrape_shows_the_upstream_metrics_with_route_templates() {
    let (state, _) = state_with_metrics();
    for uri in [
        "/search?package=nginx_logs",
        "/search",
        "/search/",
        "/package/nginx_logs/1.0.0/",
        "/package/nginx_logs/1.0.0/manifest.yml",
        "/nothing-here",
    ] {
        get(&state, uri).await;
    }
    send(&state, "HEAD", "/categories", &[]).await;
    let (text, samples) = scrape(&state).await;
    let count = |labels: &str| {
        samples
            .get(&format!("epr_http_requests_total{{{labels}}}"))
            .copied()
    };
    assert_eq!(
        count(r#"code="200",method="get",path="/search""#),
        Some(2.0),
        "{text}"
    );
    // The strict-slash redirect counts under the route it leads to, as upstream.
    assert_eq!(
        count(r#"code="301",method="get",path="/search""#),
        Some(1.0)
    );
    assert_eq!(
        count(
            r#"code="200",method="get",path="/package/{packageName:[a-z0-9_]+}/{packageVersion}/""#
        ),
        Some(1.0)
    );
    assert_eq!(
        count(
            r#"code="200",method="get",path="/package/{packageName}/{packageVersion}/{name:.*}""#
        ),
        Some(1.0)
    );
    assert_eq!(
        count(r#"code="200",method="head",path="/categories""#),
        Some(1.0)
    );
    // Unmatched paths are not counted, as upstream.
    assert!(!text.contains("nothing-here"));
    assert!(
        !text.contains(r#"code="404""#),
        "a 404 of no route is not counted"
    );
    assert_eq!(
        samples[r#"epr_service_info{version="1.2.3",instance="test-host"}"#],
        1.0
    );
    assert_eq!(samples["epr_number_indexed_packages"], 4.0);
    assert_eq!(samples["epr_in_flight_requests"], 0.0);
    let search_count =
        r#"epr_http_request_duration_seconds_count{code="200",method="get",path="/search"}"#;
    assert_eq!(samples[search_count], 2.0);
    let bucket = r#"epr_http_response_size_bytes_bucket{le="262144.0",code="200",method="get",path="/search"}"#;
    assert_eq!(samples[bucket], 2.0, "{text}");
    assert!(text.contains("# TYPE epr_http_request_size_bytes histogram"));
    assert!(
        text.contains("# HELP epr_http_requests A counter for requests to the http server.\n"),
        "the upstream's help, ending in one period: {text}"
    );
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
    ] {
        assert!(samples[name] > 0.0, "{name}: {text}");
    }
    // Ours: the two searches and the package were computed once each; the
    // categories too.
    assert_eq!(samples["epr_response_cache_misses_total"], 4.0, "{text}");
    get(&state, "/search").await;
    let (_, samples) = scrape(&state).await;
    assert_eq!(samples["epr_response_cache_hits_total"], 1.0);
}

#[tokio::test]
async fn each_indexer_a_query_asks_is_timed_under_the_upstream_name() {
    let (state, _) = state_with_metrics();
    get(&state, "/search").await;
    get(&state, "/search").await; // from the response cache: no indexer asked
    get(&state, "/categories").await;
    let (text, samples) = scrape(&state).await;
    // The examples hold zips and folders: both indexers answer each query, as the
    // upstream's zip and folder indexers both answer each `Get`.
    for indexer in ["ZipFileSystemIndexer", "FileSystemIndexer"] {
        let count = format!(r#"epr_indexer_get_duration_seconds_count{{indexer="{indexer}"}}"#);
        assert_eq!(samples.get(&count), Some(&2.0), "{text}");
    }
    assert!(!text.contains("StorageIndexer"), "{text}");
}

#[tokio::test]
async fn response_sizes_count_the_bytes_sent() {
    let (state, _) = state_with_metrics();
    let body = get(&state, "/search?package=nginx_logs").await.body.len();
    let (_, samples) = scrape(&state).await;
    let sum = r#"epr_http_response_size_bytes_sum{code="200",method="get",path="/search"}"#;
    assert_eq!(samples[sum], body as f64);
}

#[tokio::test]
async fn a_catalog_swap_is_counted_and_the_package_count_follows() {
    let (state, _) = state_with_metrics();
    state.swap_catalog(catalog(&[]));
    let (_, samples) = scrape(&state).await;
    assert_eq!(samples["epr_catalog_swaps_total"], 1.0);
    assert_eq!(samples["epr_number_indexed_packages"], 0.0);
}

fn json_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (logs, guard)
}

fn lines(logs: &Logs) -> Vec<serde_json::Value> {
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test]
async fn one_access_line_per_request_but_health() {
    let state = state(&[examples()]);
    let (logs, _guard) = json_logs();
    let answer = send(
        &state,
        "GET",
        "/search?package=nginx_logs",
        &[("user-agent", "Kibana/9.0"), ("host", "epr.example:8443")],
    )
    .await;
    get(&state, "/health").await;
    get(&state, "/health?ready=1").await;
    let access: Vec<serde_json::Value> = lines(&logs)
        .into_iter()
        .filter(|l| l["log.logger"] == "http")
        .collect();
    assert_eq!(access.len(), 2, "{access:?}");
    let line = &access[0];
    assert_eq!(line["message"], "GET /search HTTP/1.1");
    assert_eq!(line["http.request.method"], "GET");
    assert_eq!(line["url.path"], "/search");
    assert_eq!(line["url.query"], "package=nginx_logs");
    assert_eq!(line["url.domain"], "epr.example");
    assert_eq!(line["url.port"], 8443);
    assert_eq!(line["http.response.code"], 200);
    assert_eq!(line["http.response.status_code"], 200);
    assert_eq!(line["http.response.body.bytes"], answer.body.len() as u64);
    assert_eq!(line["user_agent.original"], "Kibana/9.0");
    assert!(line["event.duration"].as_u64().unwrap() > 0);
    // /health is not logged; with a query it is, as upstream.
    assert_eq!(access[1]["url.path"], "/health");
    assert_eq!(access[1]["url.query"], "ready=1");
}

#[tokio::test]
async fn a_5xx_is_logged_once_with_its_cause() {
    // A zip package whose file is overwritten after the load cannot be read: 500.
    let tmp = tempfile::tempdir().unwrap();
    let zips = tmp.path().join("zips");
    let zip = PackageBuilder::new("broken", "1.0.0").write_zip(&zips);
    let state = state(&[zips]);
    std::fs::write(&zip, b"no longer a zip").unwrap();
    let (logs, _guard) = json_logs();
    let answer = get(&state, "/package/broken/1.0.0/docs/README.md").await;
    assert_eq!(answer.status, 500);
    assert_eq!(answer.text(), "internal server error\n");
    let errors: Vec<serde_json::Value> = lines(&logs)
        .into_iter()
        .filter(|l| l["level"] == "ERROR")
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let cause = errors[0]["error.message"].as_str().unwrap();
    assert!(cause.contains("broken-1.0.0"), "{cause}");
    assert_eq!(errors[0]["http.response.status_code"], 500);
}
