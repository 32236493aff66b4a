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
//! - [`proxy`]: proxy mode, the packages of an upstream registry beside ours.
//! - [`app`]: shared state and the atomically swapped catalog.

pub mod app;
pub mod cache;
pub mod encoding;
pub mod file_response;
pub mod files;
pub mod handlers;
pub mod proxy;
pub mod response;
pub mod routes;
pub mod storage_files;

pub use app::{AppState, ServerConfig};

/// The whole API as one router; every request goes through [`handlers::dispatch`],
/// which holds the route table of the upstream.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .fallback(handlers::dispatch)
        .with_state(state)
}
