//! Proxy mode (`--feature-proxy-mode`, spec/api.md §8): the packages of another
//! registry, the upstream, are offered beside the local ones.
//!
//! - `/search` and `/categories` join the local answer with the upstream's
//!   answer to the same query (`merge`).
//! - `/package/{n}/{v}/`, static files, zips and signatures of a package not
//!   found locally are looked up upstream: its document is printed again, its
//!   files are `301` redirects to the upstream.
//! - The upstream is asked with retries and a timeout (`client`); when it
//!   cannot answer, the client gets `500 internal server error` and the cause is
//!   logged here, once.
//!
//! Caching: the answers built here depend on the upstream as well as on the
//! catalog, and the upstream changes without our catalog changing, so they are
//! kept in the response cache for [`ProxyConfig::cache_ttl`] only (10 s): a
//! burst of identical requests asks the upstream and compresses the body once,
//! and a package published upstream shows within seconds. Redirects are not
//! kept: each asks the upstream whether the package exists, as upstream does.

mod client;
mod merge;

pub use client::{
    MAX_UPSTREAM_BODY, PROXY_CACHE_TTL, ProxyConfig, ProxyConfigError, RetryPolicy, UpstreamError,
};

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::StatusCode;
use http::request::Parts;
use percent_encoding::utf8_percent_encode;

use epr_index::query::{self, Endpoint, Filter};
use epr_index::search;
use epr_package::Package;
use epr_package::version::Version;

use crate::app::AppState;
use crate::cache::{CacheKey, CachedBody};
use crate::response::{self, AppError};
use crate::routes::Route;
use crate::storage_files::PATH;

use merge::SearchItem;

/// The hook of `handlers::handle`: proxy mode's answer to `route`, or `None`
/// when the route is answered locally (no proxy mode, another route, a
/// package found locally, or an invalid version, which gets the local 400).
pub async fn handle(
    state: &AppState,
    route: &Route,
    req: &Parts,
    raw_query: &str,
) -> Option<Response> {
    let proxy = state.config().proxy.as_ref()?;
    let answer = match route {
        Route::Search => search_packages(state, proxy, req, raw_query).await,
        Route::Categories => list_categories(state, proxy, req, raw_query).await,
        Route::PackageInfo { name, version } if missing(state, name, version) => {
            find_package(state, proxy, req, name, version).await
        }
        Route::StaticFile {
            name,
            version,
            file,
        } if missing(state, name, version) => {
            let found = upstream_package(proxy, name, version, "package revision not found");
            found.await.map(|p| {
                let path = format!("/package/{}/{}/{file}", p.name, p.version);
                redirect(state, proxy, req, &path)
            })
        }
        Route::Artifact { name, version } if missing(state, name, version) => {
            let found = upstream_package(proxy, name, version, "artifact not found");
            found.await.map(|p| {
                let path = format!("/epr/package/{}-{}.zip", p.name, p.version);
                redirect(state, proxy, req, &path)
            })
        }
        Route::Signature { name, version } if missing(state, name, version) => {
            let found = upstream_package(proxy, name, version, "signature file not found");
            found.await.map(|p| {
                let path = format!("/epr/package/{}-{}.zip.sig", p.name, p.version);
                redirect(state, proxy, req, &path)
            })
        }
        _ => return None,
    };
    Some(answer.unwrap_or_else(IntoResponse::into_response))
}

/// Whether a package route goes upstream: a valid version not found locally.
fn missing(state: &AppState, name: &str, version: &str) -> bool {
    Version::parse_strict(version).is_ok()
        && state.find_in(&state.catalog(), name, version).is_none()
}

/// A 500 that says why the upstream could not be used (logged once, by `observe`).
fn failed(what: &'static str) -> impl FnOnce(UpstreamError) -> AppError {
    move |error| {
        let error = client::with_causes(&error);
        AppError::internal(format_args!("proxy mode: {what} failed: {error}"))
    }
}

fn decode_failed(proxy: &ProxyConfig, path: &str, what: &'static str, reason: String) -> AppError {
    let url = proxy.shown_url(path);
    failed(what)(UpstreamError::Decode { url, reason })
}

fn parse_filter(state: &AppState, raw_query: &str, endpoint: Endpoint) -> Result<Filter, AppError> {
    let pairs = query::parse_pairs(raw_query);
    let allow_unknown = state.config().allow_unknown_query_parameters;
    query::parse_filter(&pairs, endpoint, allow_unknown).map_err(|e| AppError::BadRequest(e.0))
}

/// The path and raw query of the request, forwarded as they came.
fn with_query(path: &str, raw_query: &str) -> String {
    match raw_query {
        "" => path.to_string(),
        q => format!("{path}?{q}"),
    }
}

/// A JSON body of proxy mode, kept for `cache_ttl` (see the module documentation).
fn answer(
    state: &AppState,
    req: &Parts,
    body: &std::sync::Arc<CachedBody>,
    max_age: std::time::Duration,
) -> Response {
    let best = body.note_served();
    response::negotiated_json(
        &req.method,
        &req.headers,
        state.responses(),
        body,
        max_age,
        best,
    )
}

async fn search_packages(
    state: &AppState,
    proxy: &ProxyConfig,
    req: &Parts,
    raw_query: &str,
) -> Result<Response, AppError> {
    let max_age = state.config().cache_search;
    let catalog = state.catalog();
    let key = CacheKey::Search(raw_query.to_string());
    if let Some(body) = state.responses().get(&catalog, &key) {
        return Ok(answer(state, req, &body, max_age));
    }
    // As upstream: the query is checked and the local search run before the upstream is asked.
    let filter = parse_filter(state, raw_query, Endpoint::Search)?;
    let local: Vec<SearchItem> = search::search(&catalog, &filter, &mut state.indexer_timer())
        .map_err(|e| AppError::NotFound(e.to_string()))?
        .iter()
        .map(SearchItem::local)
        .collect();
    let path = with_query("/search", raw_query);
    // Upstream decodes whatever the final status: a 404 that is not JSON fails to decode.
    let (_, bytes) = proxy.get(&path).await.map_err(failed("search"))?;
    let upstream =
        merge::decode_search(&bytes).map_err(|e| decode_failed(proxy, &path, "search", e))?;
    let merged = merge::merge_search(local, upstream, filter.all);
    let body = state
        .responses()
        .insert_for(&catalog, key, Bytes::from(merged), proxy.cache_ttl);
    Ok(answer(state, req, &body, max_age))
}

async fn list_categories(
    state: &AppState,
    proxy: &ProxyConfig,
    req: &Parts,
    raw_query: &str,
) -> Result<Response, AppError> {
    let max_age = state.config().cache_categories;
    let catalog = state.catalog();
    let key = CacheKey::Categories(raw_query.to_string());
    if let Some(body) = state.responses().get(&catalog, &key) {
        return Ok(answer(state, req, &body, max_age));
    }
    let filter = parse_filter(state, raw_query, Endpoint::Categories)?;
    let local = search::count_categories(&catalog, &filter, &mut state.indexer_timer())
        .map_err(|e| AppError::NotFound(e.to_string()))?;
    let path = with_query("/categories", raw_query);
    let (_, bytes) = proxy.get(&path).await.map_err(failed("categories"))?;
    let upstream = merge::decode_categories(&bytes)
        .map_err(|e| decode_failed(proxy, &path, "categories", e))?;
    let merged = merge::merge_categories(&local, upstream);
    let body = state
        .responses()
        .insert_for(&catalog, key, Bytes::from(merged), proxy.cache_ttl);
    Ok(answer(state, req, &body, max_age))
}

/// `/package/{name}/{version}/` of an upstream package: its document printed again.
async fn find_package(
    state: &AppState,
    proxy: &ProxyConfig,
    req: &Parts,
    name: &str,
    version: &str,
) -> Result<Response, AppError> {
    let max_age = state.config().cache_index;
    let catalog = state.catalog();
    let key = CacheKey::Package {
        name: name.to_string(),
        version: version.to_string(),
    };
    if let Some(body) = state.responses().get(&catalog, &key) {
        return Ok(answer(state, req, &body, max_age));
    }
    let package = upstream_package(proxy, name, version, "package revision not found").await?;
    // A decoded package always has its full document; be safe anyway.
    let document = package
        .full_json(package.deprecated.as_ref())
        .ok_or_else(|| {
            let reason = "the package has no full document".to_string();
            decode_failed(proxy, &package_path(name, version), "package", reason)
        })?;
    let body = state.responses().insert_for(
        &catalog,
        key,
        Bytes::from(document.to_document()),
        proxy.cache_ttl,
    );
    Ok(answer(state, req, &body, max_age))
}

fn package_path(name: &str, version: &str) -> String {
    let escape = |s| utf8_percent_encode(s, PATH).to_string();
    format!("/package/{}/{}/", escape(name), escape(version))
}

/// The upstream's package `name` `version`: a 404 there is the local 404
/// `missing`, any other status but 200 a 500.
async fn upstream_package(
    proxy: &ProxyConfig,
    name: &str,
    version: &str,
    missing: &str,
) -> Result<Package, AppError> {
    let path = package_path(name, version);
    let (status, bytes) = proxy.get(&path).await.map_err(failed("package"))?;
    match status {
        StatusCode::OK => {
            merge::decode_package(&bytes).map_err(|e| decode_failed(proxy, &path, "package", e))
        }
        StatusCode::NOT_FOUND => Err(AppError::NotFound(missing.into())),
        status => {
            let url = proxy.shown_url(&path);
            Err(failed("package")(UpstreamError::Status { url, status }))
        }
    }
}

/// A `301` to `path` (unescaped) at the upstream, with the public cache headers
/// the upstream sets before redirecting.
fn redirect(state: &AppState, proxy: &ProxyConfig, req: &Parts, path: &str) -> Response {
    let url = proxy.url(&utf8_percent_encode(path, PATH).to_string());
    let mut res = response::redirect_url(&req.method, &url);
    response::add_cache(&mut res, state.config().cache_catch_all);
    res
}
