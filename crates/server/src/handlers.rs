//! Thin handlers: extract, ask the catalog, map the answer (spec/api.md §3).
//! The JSON endpoints compute their body through the response cache, once per
//! catalog and query.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::StatusCode;
use http::request::Parts;

use epr_index::query::{self, Endpoint};
use epr_index::search;
use epr_index::{Catalog, FullDocument, document_from_files};
use epr_package::version::Version;

use crate::app::AppState;
use crate::cache::{CacheKey, CachedBody};
use crate::encoding;
use crate::files;
use crate::response::{self, AppError};
use crate::routes::{self, Resolution, Route, Routed};

static FAVICON: &[u8] = include_bytes!("../assets/favicon.ico");

/// Every request comes here: route it, then call the matching handler.
pub async fn dispatch(state: &AppState, mut req: Request) -> Response {
    if req.method() == http::Method::CONNECT {
        return refuse_connect();
    }
    let resolution = match req.extensions_mut().remove::<Routed>() {
        Some(Routed(resolution)) => resolution,
        None => routes::resolve(&decoded_path(req.uri())),
    };
    let query = req.uri().query().map(str::to_string);
    let with_query = |p: String| match &query {
        Some(q) => format!("{p}?{q}"),
        None => p,
    };
    let route = match resolution {
        Resolution::Serve(route) => route,
        Resolution::Clean(to) => return response::bare_redirect(&with_query(to)),
        Resolution::StrictSlash(to) => {
            let mut res = response::redirect(req.method(), &with_query(to));
            response::add_cors(&mut res);
            return res;
        }
        Resolution::NotFound => {
            return response::text_error(StatusCode::NOT_FOUND, "404 page not found");
        }
    };
    // Only the head is needed, and `Parts` (unlike the body) can be shared across awaits.
    let (parts, _body) = req.into_parts();
    let mut res = handle(state, route, &parts, query.as_deref().unwrap_or("")).await;
    response::add_cors(&mut res);
    // HEAD gets the GET's answer with its body: `Api` sets Content-Length from the
    // body's exact size (none for a streamed body, e.g. a folder's zip) and then drops
    // the body for HEAD. Emptying it here, before that, made every HEAD without an
    // explicit Content-Length say `Content-Length: 0`.
    res
}

/// The upstream answers any method like GET, CONNECT too. But a 2xx to CONNECT
/// opens a tunnel (RFC 9110 §9.3.6): hyper then sends no body, and the client got
/// nothing at all. This registry is no proxy, so CONNECT is refused plainly.
fn refuse_connect() -> Response {
    let mut res = response::text_error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    res.headers_mut().insert(
        http::header::ALLOW,
        http::HeaderValue::from_static("GET, HEAD"),
    );
    res
}

/// The percent-decoded path the route table matches on, as gorilla/mux does.
pub fn decoded_path(uri: &http::Uri) -> String {
    percent_encoding::percent_decode_str(uri.path())
        .decode_utf8_lossy()
        .into_owned()
}

/// The answer of `route`. The futures of the routes that read files or ask the
/// proxy's upstream are boxed: they are large (over a kilobyte each), and an
/// unboxed one would make every request's future as large, copied at each of its
/// levels as it starts (a twentieth of a cached answer's CPU).
async fn handle(state: &AppState, route: Route, req: &Parts, raw_query: &str) -> Response {
    if state.config().proxy.is_some()
        && let Some(res) = Box::pin(crate::proxy::handle(state, &route, req, raw_query)).await
    {
        return res;
    }
    let config = state.config();
    match route {
        Route::Index => index_document(state, req).await,
        Route::Health => Response::new(Body::empty()),
        Route::Favicon => {
            let mut res = Response::new(Body::from(FAVICON));
            res.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("image/x-icon"),
            );
            response::add_cache(&mut res, config.cache_catch_all);
            res
        }
        Route::Search => query_answer(state, req, raw_query, Endpoint::Search)
            .await
            .unwrap_or_else(IntoResponse::into_response),
        Route::Categories => query_answer(state, req, raw_query, Endpoint::Categories)
            .await
            .unwrap_or_else(IntoResponse::into_response),
        Route::PackageInfo { name, version } => find_package(state, req, &name, &version)
            .await
            .unwrap_or_else(IntoResponse::into_response),
        Route::StaticFile {
            name,
            version,
            file,
        } => Box::pin(files::get_package_file(state, req, &name, &version, &file)).await,
        Route::Artifact { name, version } => {
            Box::pin(files::download_package(state, req, &name, &version)).await
        }
        Route::Signature { name, version } => {
            Box::pin(files::get_signature(state, req, &name, &version)).await
        }
    }
}

/// Answers with the body of `key` for `catalog`: from the response cache, or
/// computed by `build` and kept (errors are answered, not kept).
async fn cached_json(
    state: &AppState,
    req: &Parts,
    catalog: &Arc<Catalog>,
    key: CacheKey,
    max_age: Duration,
    build: impl FnOnce() -> Result<Bytes, AppError>,
) -> Result<Response, AppError> {
    let mut computed = false;
    let counted_build = || {
        computed = true;
        build()
    };
    let body = state
        .responses()
        .get_or_insert_with(catalog, key, counted_build)?;
    count_cache_lookup(state, !computed);
    Ok(answer_json(state, req, body, max_age).await)
}

/// Ours: response cache hits and misses, when metrics are on.
fn count_cache_lookup(state: &AppState, hit: bool) {
    if let Some(m) = state.metrics() {
        if hit {
            m.response_cache_hits.inc();
        } else {
            m.response_cache_misses.inc();
        }
    }
}

/// Bodies at least this long are compressed off the serving thread (brotli takes
/// about a millisecond per 16 KiB at its quality here).
const COMPRESS_OFF_THREAD: usize = 16 * 1024;

/// A cached body in the coding the request asks for, or 304. A large body not
/// yet compressed in that coding is compressed on the heavy pool first.
async fn answer_json(
    state: &AppState,
    req: &Parts,
    body: Arc<CachedBody>,
    max_age: Duration,
) -> Response {
    let wanted = encoding::negotiate(&req.headers);
    let best = body.note_served();
    if body.identity().len() >= COMPRESS_OFF_THREAD && !body.is_encoded(wanted, best) {
        let (st, b) = (state.clone(), body.clone());
        // Should it fail, the request compresses the body itself below. (Boxed, as
        // in `handle`: most answers are encoded already.)
        let _ = Box::pin(state.run_heavy(move || {
            st.responses().encoded(&b, wanted, best);
        }))
        .await;
    }
    response::negotiated_json(
        &req.method,
        &req.headers,
        state.responses(),
        &body,
        max_age,
        best,
    )
}

async fn index_document(state: &AppState, req: &Parts) -> Response {
    use epr_package::decode::ObjBuilder;
    let c = state.config();
    let build = || -> Result<Bytes, AppError> {
        let body = ObjBuilder::new()
            .str("service.name", &c.service_name)
            .str("service.version", &c.service_version)
            .build();
        Ok(Bytes::from(body.to_document()))
    };
    cached_json(
        state,
        req,
        &state.catalog(),
        CacheKey::Index,
        c.cache_index,
        build,
    )
    .await
    .unwrap_or_else(IntoResponse::into_response)
}

/// A `/search` or `/categories` answer. A raw query seen before is an alias of
/// its parsed form; a new one is parsed, and a filter not seen before is
/// computed on the heavy pool and kept under both. Busting the cache with
/// parameters the search ignores or in another order costs a parse, not a search.
async fn query_answer(
    state: &AppState,
    req: &Parts,
    raw_query: &str,
    endpoint: Endpoint,
) -> Result<Response, AppError> {
    let c = state.config();
    let (raw_key, max_age) = match endpoint {
        Endpoint::Search => (CacheKey::Search(raw_query.to_string()), c.cache_search),
        Endpoint::Categories => (
            CacheKey::Categories(raw_query.to_string()),
            c.cache_categories,
        ),
    };
    let catalog = state.catalog();
    let cache = state.responses();
    if let Some(body) = cache.get(&catalog, &raw_key) {
        count_cache_lookup(state, true);
        return Ok(answer_json(state, req, body, max_age).await);
    }
    // Boxed: the first sight of a query is rare, and its future large.
    let body = Box::pin(compute_query(state, &catalog, raw_query, endpoint)).await?;
    cache.alias(&catalog, raw_key, &body);
    Ok(answer_json(state, req, body, max_age).await)
}

/// The body of a query not seen in this form: from the cache under its parsed
/// form, or computed on the heavy pool and kept.
async fn compute_query(
    state: &AppState,
    catalog: &Arc<Catalog>,
    raw_query: &str,
    endpoint: Endpoint,
) -> Result<Arc<CachedBody>, AppError> {
    let c = state.config();
    let cache = state.responses();
    let pairs = query::parse_pairs(raw_query);
    let filter = query::parse_filter(&pairs, endpoint, c.allow_unknown_query_parameters)
        .map_err(|e| AppError::BadRequest(e.0))?;
    // The parse is the whole of what the answer depends on: its debug form
    // names every field.
    let parsed = format!("{filter:?}");
    let key = match endpoint {
        Endpoint::Search => CacheKey::SearchFilter(parsed),
        Endpoint::Categories => CacheKey::CategoriesFilter(parsed),
    };
    if let Some(body) = cache.get(catalog, &key) {
        count_cache_lookup(state, true);
        return Ok(body);
    }
    count_cache_lookup(state, false);
    let (st, computed_from) = (state.clone(), catalog.clone());
    let bytes = state
        .run_heavy(move || render_query(&st, &computed_from, &filter, endpoint))
        .await??;
    cache.get_or_insert_with(catalog, key, || Ok::<_, AppError>(bytes))
}

/// The body of `/search` or `/categories` for `filter`.
fn render_query(
    state: &AppState,
    catalog: &Catalog,
    filter: &query::Filter,
    endpoint: Endpoint,
) -> Result<Bytes, AppError> {
    let not_found = |e: search::SearchError| AppError::NotFound(e.to_string());
    let body = match endpoint {
        Endpoint::Search => {
            let hits =
                search::search(catalog, filter, &mut state.indexer_timer()).map_err(not_found)?;
            search::render_search(&hits)
        }
        Endpoint::Categories => {
            let counts = search::count_categories(catalog, filter, &mut state.indexer_timer())
                .map_err(not_found)?;
            search::render_categories(&counts)
        }
    };
    Ok(Bytes::from(body))
}

async fn find_package(
    state: &AppState,
    req: &Parts,
    name: &str,
    version: &str,
) -> Result<Response, AppError> {
    let catalog = state.catalog();
    let key = CacheKey::Package {
        name: name.to_string(),
        version: version.to_string(),
    };
    // Not `cached_json`: a storage package's body is read asynchronously.
    let cache = state.responses();
    let cached = cache.get(&catalog, &key);
    count_cache_lookup(state, cached.is_some());
    let body = match cached {
        Some(body) => body,
        None => {
            let bytes = full_document(state, &catalog, name, version).await?;
            cache.insert(&catalog, key, bytes)
        }
    };
    Ok(answer_json(state, req, body, state.config().cache_index).await)
}

/// The `/package/{name}/{version}/` body. A storage package's manifest is read from
/// the index file it came from and decoded now; a folder or zip package is loaded
/// again from its files (catalog.rs says why neither document is kept).
async fn full_document(
    state: &AppState,
    catalog: &Catalog,
    name: &str,
    version: &str,
) -> Result<Bytes, AppError> {
    Version::parse_strict(version)
        .map_err(|_| AppError::BadRequest("invalid package version".into()))?;
    let entry = state
        .find_in(catalog, name, version)
        .ok_or_else(|| AppError::NotFound("package revision not found".into()))?;
    match &entry.full {
        FullDocument::Ready(bytes) => Ok(bytes.clone()),
        FullDocument::Stored(manifest) => {
            let text = manifest.source.read(manifest.range.clone()).await;
            text.and_then(|text| entry.full_from_manifest(&text))
                .map_err(|error| {
                    AppError::internal(format_args!(
                        "cannot read the manifest of {name}-{version} from the storage index: {error}"
                    ))
                })
        }
        FullDocument::FromFiles => {
            let (package, deprecated) = (entry.package.clone(), entry.deprecated.clone());
            state
                .run_heavy(move || document_from_files(&package, deprecated.as_ref()))
                .await?
                .map_err(|error| {
                    AppError::internal(format_args!(
                        "cannot print the document of {name}-{version} from its files: {error}"
                    ))
                })
        }
    }
}
