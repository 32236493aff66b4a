//! The HTTP layer of the registry: routing, thin handlers and response shapes.
//! Domain logic lives in `epr-package`, `epr-index` and `epr-storage`.
//!
//! # Layout
//!
//! - [`routes`]: the route table, path cleaning and strict-slash redirects.
//! - [`handlers`]: one function per endpoint, and [`handlers::dispatch`] in front.
//! - [`files`]: static files, package zips and signatures.
//! - [`storage_files`]: the same for packages of a storage index, read from the
//!   storage endpoint or bucket.
//! - [`file_response`]: Go's `http.ServeContent` semantics (ranges, conditionals).
//! - [`response`]: cache headers, CORS, redirects and error bodies, and JSON
//!   answers with their coding, ETag and 304.
//! - [`cache`]: the JSON bodies of the current catalog, with ETags and
//!   compressed forms made once.
//! - [`encoding`]: `Accept-Encoding` negotiation, gzip and brotli.
//! - [`observe`]: the request span, access log, metrics and 5xx log of every request.
//! - [`metrics`]: the Prometheus metrics of `--metrics-address`.
//! - [`publish_metrics`]: those of the publishing worker, served the same way.
//! - [`proxy`]: proxy mode, the packages of an upstream registry beside ours.
//! - [`app`]: shared state and the atomically swapped catalog.
//! - [`listener`]: serving on a socket: connection limits, timeouts, graceful
//!   shutdown, HTTPS.
//! - [`tls`]: the certificate and key, reloaded when their files change.

pub mod app;
pub mod cache;
pub mod encoding;
pub mod file_response;
pub mod files;
pub mod handlers;
pub mod listener;
pub mod metrics;
pub mod observe;
mod process_metrics;
pub mod proxy;
pub mod publish_metrics;
pub mod response;
pub mod routes;
pub mod storage_files;
pub mod tls;

pub use app::{AppState, ServerConfig};

/// The whole API as one router; every request goes through [`observe::observe`]
/// (span, access log, metrics) and [`handlers::dispatch`], which holds the route
/// table of the upstream.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .fallback(handlers::dispatch)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .with_state(state)
}

/// The router of `--metrics-address`: `/metrics` only, as upstream.
pub fn metrics_router(state: AppState) -> axum::Router {
    openmetrics_router(move || state.metrics().map(|m| m.render()).unwrap_or_default())
}

/// The router of the publishing worker's `--metrics-address`.
pub fn publish_metrics_router(
    metrics: std::sync::Arc<publish_metrics::PublishMetrics>,
) -> axum::Router {
    openmetrics_router(move || metrics.render())
}

/// `/metrics` answering with the OpenMetrics text that `render` prints.
fn openmetrics_router(render: impl Fn() -> String + Clone + Send + Sync + 'static) -> axum::Router {
    let scrape = move || async move {
        (
            [(
                http::header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            render(),
        )
    };
    axum::Router::new().route("/metrics", axum::routing::get(scrape))
}
