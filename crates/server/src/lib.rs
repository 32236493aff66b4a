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

/// The whole API as one service: every request goes through [`observe::observe`]
/// (span, access log, metrics) and [`handlers::dispatch`], which holds the route
/// table of the upstream.
pub fn api(state: AppState) -> Api {
    Api { state }
}

/// The service of [`api`]. Not an axum `Router`: the API routes by itself
/// ([`routes`]), and the router's layers around one fallback handler (boxed
/// services, a middleware future, a oneshot) cost a tenth of the CPU of a small
/// answer (docs/PERFORMANCE.md, "Kibana's `/search` against nginx").
#[derive(Clone)]
pub struct Api {
    state: AppState,
}

impl Api {
    /// The answer to `req`, finished as axum's router finished it
    /// (`axum::routing::route::RouteFuture`): a Content-Length from the body's exact
    /// size when none is set, and for HEAD the GET's head without the body.
    pub async fn answer(self, req: axum::extract::Request) -> axum::response::Response {
        let head = req.method() == http::Method::HEAD;
        let mut res = observe::observe(&self.state, req).await;
        if !res.headers().contains_key(http::header::CONTENT_LENGTH)
            && let Some(size) = http_body::Body::size_hint(res.body()).exact()
        {
            res.headers_mut()
                .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(size));
        }
        if head {
            *res.body_mut() = axum::body::Body::empty();
        }
        res
    }
}

impl tower::Service<axum::extract::Request> for Api {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: axum::extract::Request) -> Self::Future {
        let api = self.clone();
        Box::pin(async move { Ok(api.answer(req).await) })
    }
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
