//! Routing, redirects, the index document and the query-parameter errors.

use crate::fixture::{config, examples, get, send, state};
use epr_server::AppState;

#[tokio::test]
async fn index_health_and_favicon() {
    let s = state(&[examples()]);
    for path in ["/", "/index.json"] {
        let v = get(&s, path).await.json();
        assert_eq!(v["service.name"], "package-registry");
        assert!(v["service.version"].is_string());
    }
    let h = get(&s, "/health").await;
    assert_eq!((h.status.as_u16(), h.body.len()), (200, 0));
    assert_eq!(h.header("content-type"), None);
    assert_eq!(h.header("cache-control"), None);
    let f = get(&s, "/favicon.ico").await;
    assert_eq!(f.header("content-type"), Some("image/x-icon"));
    assert!(!f.body.is_empty());
}

#[tokio::test]
async fn unknown_paths_and_cleaning() {
    let s = state(&[examples()]);
    let nf = get(&s, "/nope").await;
    assert_eq!(
        (nf.status.as_u16(), nf.text().as_str()),
        (404, "404 page not found\n")
    );
    assert_eq!(nf.header("access-control-allow-origin"), None);
    let clean = get(&s, "//search?x=1").await;
    assert_eq!(clean.status, 301);
    assert_eq!(clean.header("location"), Some("/search?x=1"));
    assert_eq!(clean.header("access-control-allow-origin"), None);
    let slash = get(&s, "/search/").await;
    assert_eq!(
        (slash.status.as_u16(), slash.header("location")),
        (301, Some("/search"))
    );
    let post = send(&s, "POST", "/search/", &[]).await;
    assert_eq!((post.status.as_u16(), post.body.len()), (301, 0));
    // Any method is served like GET.
    assert_eq!(send(&s, "POST", "/search", &[]).await.status, 200);
}

#[tokio::test]
async fn bad_parameters_get_the_upstream_messages() {
    let s = state(&[examples()]);
    for (query, message) in [
        (
            "/search?kibana.version=7.x",
            "invalid Kibana version '7.x': invalid semantic version",
        ),
        (
            "/search?agent.version=1.2.3.4",
            "invalid agent version '1.2.3.4': invalid semantic version",
        ),
        ("/search?all=maybe", "invalid 'all' query param: 'maybe'"),
        (
            "/search?prerelease=foo",
            "invalid 'prerelease' query param: 'foo'",
        ),
        (
            "/search?experimental=foo",
            "invalid 'experimental' query param: 'foo'",
        ),
        (
            "/search?spec.min=3",
            "invalid 'spec.min' version: invalid version '3': it should be <major.version>",
        ),
        (
            "/search?spec.max=3.x",
            "invalid 'spec.max' version: invalid spec version '3.x': invalid semantic version",
        ),
        (
            "/search?discovery=fields",
            "invalid 'discovery' query param: 'fields': could not parse filter \"fields\"",
        ),
        (
            "/search?discovery=things:a",
            "invalid 'discovery' query param: 'things:a': unknown discovery filter \"things\"",
        ),
        (
            "/categories?include_policy_templates=foo",
            "invalid 'include_policy_templates' query param: 'foo'",
        ),
    ] {
        let a = get(&s, query).await;
        assert_eq!(a.status, 400, "{query}");
        assert_eq!(a.text(), format!("{message}\n"), "{query}");
        assert_eq!(a.all("cache-control"), ["max-age=0", "private, no-store"]);
        assert_eq!(a.header("access-control-allow-origin"), Some("*"));
    }
}

#[tokio::test]
async fn strict_mode_rejects_unknown_parameters() {
    let mut cfg = config();
    cfg.allow_unknown_query_parameters = false;
    let s = AppState::new(cfg, crate::fixture::catalog(&[examples()]));
    let a = get(&s, "/search?package=nginx_logs&unknown=true").await;
    assert_eq!(
        (a.status.as_u16(), a.text().as_str()),
        (400, "unknown query parameter: \"unknown\"\n")
    );
    let c = get(&s, "/categories?category=web").await;
    assert_eq!(
        (c.status.as_u16(), c.text().as_str()),
        (400, "unknown query parameter: \"category\"\n")
    );
    assert_eq!(get(&s, "/search?package=nginx_logs").await.status, 200);
}

/// CONNECT gets an answer: 405 (a 2xx would open a tunnel, so hyper sent nothing).
#[tokio::test]
async fn connect_is_refused_with_an_answer() {
    let s = state(&[examples()]);
    for uri in ["/search", "/package/nginx_logs/1.0.0/"] {
        let answer = send(&s, "CONNECT", uri, &[]).await;
        assert_eq!(answer.status, 405, "{uri}");
        assert_eq!(answer.header("allow"), Some("GET, HEAD"));
        assert_eq!(answer.text(), "method not allowed\n");
    }
}
