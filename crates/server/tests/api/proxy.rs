//! Proxy mode (spec/api.md §8) against a real upstream: a small axum server on a
//! loopback port that answers like a registry, and counts what it is asked.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use epr_server::proxy::{ProxyConfig, RetryPolicy};
use epr_server::{AppState, ServerConfig};
use http::{Request, StatusCode};

use crate::fixture::{self, Answer, Logs, examples, get, send};

/// Search entries as an upstream registry prints them: `nginx_logs` 1.0.0 is also
/// local (the local copy wins), 2.0.0 is newer than any local version, `aaa` is
/// upstream only and has a category we do not know, and a key we do not know.
const SEARCH: &str = r#"[
  {"name": "aaa", "title": "Upstream only", "version": "1.0.0", "description": "a",
   "type": "integration", "download": "/epr/aaa/aaa-1.0.0.zip", "path": "/package/aaa/1.0.0",
   "categories": ["not_a_category"], "unknown_key": true},
  {"name": "nginx_logs", "title": "upstream copy", "version": "1.0.0", "description": "n",
   "type": "integration", "download": "/epr/nginx_logs/nginx_logs-1.0.0.zip",
   "path": "/package/nginx_logs/1.0.0"},
  {"name": "nginx_logs", "title": "upstream newer", "version": "2.0.0", "description": "n",
   "type": "integration", "download": "/epr/nginx_logs/nginx_logs-2.0.0.zip",
   "path": "/package/nginx_logs/2.0.0"}
]
"#;

const CATEGORIES: &str = r#"[
  {"id": "custom", "title": "Custom", "count": 10},
  {"id": "custom_logs", "title": "Custom Logs", "count": 3, "parent_id": "custom", "parent_title": "Custom"},
  {"id": "web", "title": "ignored: the local title stays", "count": 2}
]"#;

/// An upstream package document, keys out of order and one unknown.
const PACKAGE: &str = r#"{
  "zz_unknown": {"a": 1},
  "format_version": "3.0.0",
  "categories": ["web"],
  "owner": {"github": "elastic/obs", "type": "elastic"},
  "version": "1.15.0",
  "name": "nginx",
  "title": "Nginx",
  "release": "ga",
  "description": "Collect logs",
  "type": "integration",
  "download": "/epr/nginx/nginx-1.15.0.zip",
  "path": "/package/nginx/1.15.0"
}"#;

/// The same document as we print it: struct order (§4.2), unknown key dropped.
const PACKAGE_PRINTED: &str = r#"{
  "name": "nginx",
  "title": "Nginx",
  "version": "1.15.0",
  "release": "ga",
  "description": "Collect logs",
  "type": "integration",
  "download": "/epr/nginx/nginx-1.15.0.zip",
  "path": "/package/nginx/1.15.0",
  "owner": {
    "type": "elastic",
    "github": "elastic/obs"
  },
  "categories": [
    "web"
  ],
  "format_version": "3.0.0"
}
"#;

/// What the upstream answers to a path and query: status, Content-Type, body.
type Answers = fn(&str) -> (u16, &'static str, String);

/// A registry-like upstream; `seen` lists every path and query it was asked.
struct Upstream {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Upstream {
    async fn start(answers: Answers) -> Upstream {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |req: Request<Body>| {
            let log = log.clone();
            async move {
                let asked = req.uri().to_string();
                log.lock().unwrap().push(asked.clone());
                let (status, content_type, body) = answers(&asked);
                Response::builder()
                    .status(status)
                    .header("Content-Type", content_type)
                    .body(Body::from(body))
                    .unwrap()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Upstream { port, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A registry with `search`, `categories` and one package, `nginx` 1.15.0.
fn registry(asked: &str) -> (u16, &'static str, String) {
    let json = "application/json";
    match asked.split('?').next().unwrap_or_default() {
        "/search" => (200, json, SEARCH.into()),
        "/categories" => (200, json, CATEGORIES.into()),
        "/package/nginx/1.15.0/" => (200, json, PACKAGE.into()),
        _ => (
            404,
            "text/plain; charset=utf-8",
            "404 page not found\n".into(),
        ),
    }
}

/// Proxy settings for `to` that retry without waiting long.
fn proxy_to(to: &str) -> ProxyConfig {
    let mut proxy = ProxyConfig::new(to, true).unwrap();
    proxy.retry = RetryPolicy {
        max_retries: 4,
        wait_min: Duration::from_millis(1),
        wait_max: Duration::from_millis(4),
    };
    proxy.timeout = Duration::from_secs(5);
    proxy
}

fn state_with(proxy: ProxyConfig) -> AppState {
    let config = ServerConfig {
        proxy: Some(proxy),
        ..fixture::config()
    };
    AppState::new(config, fixture::catalog(&[examples()]))
}

fn names(answer: &Answer) -> Vec<(String, String, String)> {
    answer
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_string();
            (s("name"), s("version"), s("title"))
        })
        .collect()
}

fn entry(name: &str, version: &str, title: &str) -> (String, String, String) {
    (name.into(), version.into(), title.into())
}

#[tokio::test]
async fn search_joins_the_upstream_entries() {
    let upstream = Upstream::start(registry).await;
    let state = state_with(proxy_to(&upstream.url()));

    let latest = get(&state, "/search").await;
    assert_eq!(latest.status, StatusCode::OK);
    assert_eq!(latest.all("cache-control"), ["max-age=1", "public"]);
    assert_eq!(
        names(&latest),
        [
            entry("aaa", "1.0.0", "Upstream only"),
            entry("nginx_logs", "2.0.0", "upstream newer"),
            entry(
                "security_dashboards",
                "1.0.0",
                "Security Dashboards (example)"
            ),
            entry("sql_metrics_input", "0.2.0", "SQL Metrics Input (example)"),
        ]
    );
    // Upstream entries keep their own fields, unknown categories included, minus unknown keys.
    let aaa = &latest.json()[0];
    assert_eq!(aaa["categories"], serde_json::json!(["not_a_category"]));
    assert!(aaa.get("unknown_key").is_none());

    let all = get(&state, "/search?all=true").await;
    let listed = names(&all);
    assert!(
        listed.contains(&entry("nginx_logs", "1.0.0", "Nginx Logs (example)")),
        "{listed:?}"
    );
    assert!(listed.contains(&entry("nginx_logs", "2.0.0", "upstream newer")));
    assert!(!listed.iter().any(|e| e.2 == "upstream copy"), "local wins");
    assert_eq!(upstream.seen(), ["/search", "/search?all=true"]);
}

#[tokio::test]
async fn upstream_entries_are_not_filtered_again() {
    let upstream = Upstream::start(registry).await;
    let state = state_with(proxy_to(&upstream.url()));
    // No local package matches; the upstream's answer is taken as it is.
    let answer = get(&state, "/search?package=aaa").await;
    assert_eq!(
        names(&answer),
        [
            entry("aaa", "1.0.0", "Upstream only"),
            entry("nginx_logs", "2.0.0", "upstream newer"),
        ]
    );
    assert_eq!(upstream.seen(), ["/search?package=aaa"]);
}

#[tokio::test]
async fn categories_sum_the_counts_and_add_upstream_ids() {
    let upstream = Upstream::start(registry).await;
    let state = state_with(proxy_to(&upstream.url()));
    let answer = get(&state, "/categories").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.all("cache-control"), ["max-age=1", "public"]);
    let lines: Vec<String> = answer
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or("-").to_string();
            format!(
                "{} {} {} {}",
                s("id"),
                s("title"),
                c["count"],
                s("parent_id")
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            "custom Custom 11 -",
            "custom_logs Custom Logs 3 custom",
            "datastore Database 1 -",
            "observability Observability 1 -",
            "security Security 1 -",
            "web Web Server 3 observability",
        ]
    );
    assert!(answer.text().ends_with("}\n]\n"));
}

#[tokio::test]
async fn a_package_found_upstream_is_printed_again() {
    let upstream = Upstream::start(registry).await;
    let state = state_with(proxy_to(&upstream.url()));
    let answer = get(&state, "/package/nginx/1.15.0/").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.all("cache-control"), ["max-age=1", "public"]);
    assert_eq!(answer.text(), PACKAGE_PRINTED);
    assert_eq!(upstream.seen(), ["/package/nginx/1.15.0/"]);
}

#[tokio::test]
async fn local_packages_and_bad_versions_never_go_upstream() {
    let upstream = Upstream::start(registry).await;
    let state = state_with(proxy_to(&upstream.url()));
    assert_eq!(
        get(&state, "/package/nginx_logs/1.0.0/").await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(&state, "/epr/nginx_logs/nginx_logs-1.0.0.zip")
            .await
            .status,
        StatusCode::OK
    );
    let bad = get(&state, "/package/nginx/1.0/").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.text(), "invalid package version\n");
    assert!(upstream.seen().is_empty(), "{:?}", upstream.seen());
}

#[tokio::test]
async fn files_of_upstream_packages_redirect_there() {
    let upstream = Upstream::start(registry).await;
    let state = state_with(proxy_to(&format!("{}/some/prefix/", upstream.url())));
    let base = upstream.url();
    for (path, location) in [
        (
            "/package/nginx/1.15.0/img/logo%20nginx.svg",
            format!("{base}/package/nginx/1.15.0/img/logo%20nginx.svg"),
        ),
        (
            "/epr/nginx/nginx-1.15.0.zip",
            format!("{base}/epr/package/nginx-1.15.0.zip"),
        ),
        (
            "/epr/anything/nginx-1.15.0.zip.sig",
            format!("{base}/epr/package/nginx-1.15.0.zip.sig"),
        ),
    ] {
        let answer = get(&state, path).await;
        assert_eq!(answer.status, StatusCode::MOVED_PERMANENTLY, "{path}");
        assert_eq!(answer.header("location"), Some(location.as_str()));
        assert_eq!(answer.all("cache-control"), ["max-age=1", "public"]);
        assert_eq!(
            answer.text(),
            format!("<a href=\"{location}\">Moved Permanently</a>.\n\n")
        );
    }
    // HEAD: the same headers, no body.
    let head = send(&state, "HEAD", "/epr/nginx/nginx-1.15.0.zip", &[]).await;
    assert_eq!(head.status, StatusCode::MOVED_PERMANENTLY);
    assert!(head.body.is_empty());
    // Each asked the upstream for the package, without the prefix of --proxy-to.
    assert!(
        upstream
            .seen()
            .iter()
            .all(|p| p == "/package/nginx/1.15.0/"),
        "{:?}",
        upstream.seen()
    );
}

#[tokio::test]
async fn an_upstream_404_is_the_local_404() {
    let upstream = Upstream::start(registry).await;
    let state = state_with(proxy_to(&upstream.url()));
    for (path, text) in [
        ("/package/nope/1.0.0/", "package revision not found\n"),
        (
            "/package/nope/1.0.0/docs/README.md",
            "package revision not found\n",
        ),
        ("/epr/nope/nope-1.0.0.zip", "artifact not found\n"),
        ("/epr/nope/nope-1.0.0.zip.sig", "signature file not found\n"),
    ] {
        let answer = get(&state, path).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.text(), text);
        assert_eq!(
            answer.all("cache-control"),
            ["max-age=0", "private, no-store"]
        );
    }
    // Not found is an answer, not a failure: asked once each.
    assert_eq!(upstream.seen().len(), 4);
}

fn assert_internal_error(answer: &Answer) {
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer.text(), "internal server error\n");
    assert!(answer.all("cache-control").is_empty());
}

#[tokio::test]
async fn an_upstream_500_is_retried_then_a_500() {
    let upstream = Upstream::start(|_| (500, "text/plain", "boom".into())).await;
    let state = state_with(proxy_to(&upstream.url()));
    assert_internal_error(&get(&state, "/search").await);
    // The first attempt and four retries.
    assert_eq!(upstream.seen(), vec!["/search".to_string(); 5]);
    assert_internal_error(&get(&state, "/package/nope/1.0.0/").await);
    assert_internal_error(&get(&state, "/epr/nope/nope-1.0.0.zip").await);
}

#[tokio::test]
async fn a_501_or_a_non_json_answer_is_not_retried_for_ever() {
    let upstream = Upstream::start(|asked| match asked {
        "/search" => (200, "text/html", "<html>a captive portal</html>".into()),
        _ => (501, "text/plain", "no".into()),
    })
    .await;
    let state = state_with(proxy_to(&upstream.url()));
    // A 2xx that is not JSON is retried, then given up.
    assert_internal_error(&get(&state, "/search").await);
    assert_eq!(upstream.seen().len(), 5);
    // A 501 is final: one request, then a 500 for the client.
    assert_internal_error(&get(&state, "/package/nope/1.0.0/").await);
    assert_eq!(upstream.seen().len(), 6);
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_500() {
    // A port that was free a moment ago: connections are refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let state = state_with(proxy_to(&format!("http://127.0.0.1:{port}")));
    assert_internal_error(&get(&state, "/search").await);
    assert_internal_error(&get(&state, "/categories").await);
    assert_internal_error(&get(&state, "/epr/nope/nope-1.0.0.zip.sig").await);
}

/// What this thread logs from now until the guard is dropped. (The test runtime
/// runs on the test's thread, so the handlers log here.)
fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}

/// All that was logged, and its ERROR lines.
fn error_lines(logs: &Logs) -> (String, Vec<String>) {
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let errors = text
        .lines()
        .filter(|l| l.contains("ERROR"))
        .map(str::to_string)
        .collect();
    (text, errors)
}

#[tokio::test]
async fn invalid_upstream_json_is_a_500_logged_once_with_its_cause() {
    let upstream = Upstream::start(|asked| match asked {
        "/categories" => (200, "application/json", "[{\"id\": 1}]".into()),
        _ => (200, "application/json", "{not json".into()),
    })
    .await;
    let state = state_with(proxy_to(&upstream.url()));
    let (logs, _guard) = capture_logs();

    assert_internal_error(&get(&state, "/search").await);
    assert_internal_error(&get(&state, "/package/x/1.0.0/").await);
    assert_internal_error(&get(&state, "/categories").await);
    // Bad data is not retried.
    assert_eq!(upstream.seen().len(), 3);

    let (text, errors) = error_lines(&logs);
    assert_eq!(errors.len(), 3, "{text}");
    assert!(errors[0].contains("proxy mode: search failed"), "{text}");
    assert!(errors[0].contains("not valid JSON"), "{text}");
    assert!(errors[1].contains("proxy mode: package failed"), "{text}");
    assert!(errors[2].contains("[0].id: expected a string"), "{text}");
}

/// An upstream that answers every request with `body` in HTTP/1.1 chunks of 64
/// bytes, without a Content-Length, then closes.
async fn chunked_upstream(body: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut head = [0u8; 4096];
            let _ = conn.read(&mut head).await;
            let mut out = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                            Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                .to_vec();
            for chunk in body.as_bytes().chunks(64) {
                out.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.extend(chunk);
                out.extend(b"\r\n");
            }
            out.extend(b"0\r\n\r\n");
            let _ = conn.write_all(&out).await;
        }
    });
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn upstream_answers_over_the_limit_are_refused_and_logged() {
    let (logs, _guard) = capture_logs();
    let limited = |url: &str, max_body: usize| {
        let mut proxy = proxy_to(url);
        proxy.max_body = max_body;
        state_with(proxy)
    };
    // SEARCH is about 700 bytes, declared by its Content-Length.
    let declared = Upstream::start(registry).await;
    assert_internal_error(&get(&limited(&declared.url(), 500), "/search").await);
    // Under the limit, the same answer is merged as ever.
    let answer = get(&limited(&declared.url(), SEARCH.len()), "/search").await;
    assert_eq!(answer.status, StatusCode::OK);
    // In chunks, without a length: refused once the chunks pass the limit.
    let chunked = chunked_upstream(SEARCH).await;
    assert_internal_error(&get(&limited(&chunked, 500), "/search").await);
    let answer = get(&limited(&chunked, SEARCH.len()), "/search").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(names(&answer).contains(&entry("aaa", "1.0.0", "Upstream only")));

    let (text, errors) = error_lines(&logs);
    assert_eq!(errors.len(), 2, "{text}");
    for error in errors {
        assert!(
            error.contains("the answer is larger than 500 bytes, the most proxy mode reads"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn merged_answers_are_kept_briefly() {
    let upstream = Upstream::start(registry).await;
    let state = state_with(proxy_to(&upstream.url()));
    let first = get(&state, "/search").await;
    let again = get(&state, "/search").await;
    assert_eq!(first.body, again.body);
    assert_eq!(first.header("etag"), again.header("etag"));
    // Within the lifetime, the upstream was asked once.
    assert_eq!(upstream.seen().len(), 1);
    // An ETag revalidates without a body.
    let etag = first.header("etag").unwrap();
    let not_modified = send(&state, "GET", "/search", &[("if-none-match", etag)]).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);

    // With no lifetime, every request asks the upstream.
    let mut proxy = proxy_to(&upstream.url());
    proxy.cache_ttl = Duration::ZERO;
    let uncached = state_with(proxy);
    get(&uncached, "/categories").await;
    get(&uncached, "/categories").await;
    assert_eq!(upstream.seen().len(), 3);
}
