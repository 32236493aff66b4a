//! Files of packages that came from a Package Storage v2 index: the zip, its
//! signature and the static files live in the public part of the storage, not here
//! (spec/api.md §9, spec/storage-and-publishing.md §3.5).
//!
//! Two ways to reach them:
//! - an HTTP endpoint (`-storage-endpoint`, upstream's only way): the object is piped
//!   through, as upstream does: same method, upstream status and body relayed with
//!   Content-Length, Content-Type, Last-Modified and Date copied. Unlike upstream, the
//!   client's range and conditional headers are forwarded and the answer's
//!   Content-Range, ETag and Accept-Ranges relayed, so a `Range` gets the endpoint's
//!   206 or 416 and an `If-None-Match` or `If-Modified-Since` its 304. A request
//!   without them reaches the endpoint exactly as upstream sends it, and its answer
//!   differs from upstream's only by the endpoint's ETag and Accept-Ranges;
//! - a bucket URL (`file://`, `s3://`, `gs://`): read directly, and served like a
//!   local file (conditional and range requests work), with the bucket's ETag.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use epr_storage::bucket::Bucket;
use http::header::{
    ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, DATE, ETAG, IF_MATCH,
    IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, LAST_MODIFIED, RANGE,
};
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::file_response::{scan_etag, serve_content_tagged};
use crate::files::content_type_for;
use crate::response::{AppError, add_cache, internal_error};

/// Where the artifacts of storage packages are read from.
#[derive(Clone)]
pub enum StorageEndpoint {
    /// Piped from `{endpoint}/artifacts/...` over HTTP.
    Http {
        endpoint: String,
        client: reqwest::Client,
    },
    /// Read from the bucket.
    Bucket(Arc<Bucket>),
}

impl std::fmt::Debug for StorageEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageEndpoint::Http { endpoint, .. } => write!(f, "Http({endpoint})"),
            StorageEndpoint::Bucket(b) => write!(f, "Bucket({})", b.url()),
        }
    }
}

/// What Go's `url.URL.EscapedPath` escapes in a path: everything but letters, digits,
/// `-_.~` and `$&+,/:;=@` (`/` separates the segments of the object key).
pub(crate) const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b',')
    .remove(b'/')
    .remove(b':')
    .remove(b';')
    .remove(b'=')
    .remove(b'@');

impl StorageEndpoint {
    /// An HTTP(S) endpoint, or a bucket URL for any other scheme.
    pub fn parse(value: &str) -> Result<StorageEndpoint, String> {
        if value.starts_with("http://") || value.starts_with("https://") {
            let client = reqwest::Client::builder()
                .connect_timeout(std::time::Duration::from_secs(20))
                // The Go client asks for gzip and decompresses; we relay bytes as they are.
                .build()
                .map_err(|e| format!("storage endpoint {value}: {e}"))?;
            return Ok(StorageEndpoint::Http {
                endpoint: value.to_string(),
                client,
            });
        }
        Bucket::open(value, &Default::default())
            .map(|b| StorageEndpoint::Bucket(Arc::new(b)))
            .map_err(|e| format!("storage endpoint: {e}"))
    }

    /// The URL of object `key` under an HTTP endpoint: resolved relative to it, so
    /// the endpoint's path is kept only when it ends with `/` (as Go's ResolveReference).
    fn url_of(endpoint: &str, key: &str) -> String {
        let encoded = utf8_percent_encode(key, PATH).to_string();
        let base = match endpoint.rfind('/') {
            // Past the scheme's `//`: drop the last path segment.
            Some(i) if i > endpoint.find("//").map_or(0, |j| j + 1) => &endpoint[..=i],
            _ => return format!("{endpoint}/{encoded}"),
        };
        format!("{base}{encoded}")
    }

    /// Answers a request for object `key` (e.g. `artifacts/packages/a-1.0.0.zip`).
    pub async fn serve(&self, req: &Parts, key: &str, cache: std::time::Duration) -> Response {
        match self {
            StorageEndpoint::Http { endpoint, client } => {
                pipe(client, req, &Self::url_of(endpoint, key), cache).await
            }
            StorageEndpoint::Bucket(bucket) => from_bucket(bucket, req, key, cache).await,
        }
    }
}

/// What the client may ask of the endpoint besides the object itself.
const FORWARDED: [http::HeaderName; 6] = [
    RANGE,
    IF_RANGE,
    IF_MATCH,
    IF_NONE_MATCH,
    IF_MODIFIED_SINCE,
    IF_UNMODIFIED_SINCE,
];

/// What is copied from the endpoint's answer: upstream's four, then what range and
/// conditional answers need.
const RELAYED: [http::HeaderName; 7] = [
    CONTENT_LENGTH,
    CONTENT_TYPE,
    LAST_MODIFIED,
    DATE,
    CONTENT_RANGE,
    ETAG,
    ACCEPT_RANGES,
];

async fn pipe(
    client: &reqwest::Client,
    req: &Parts,
    url: &str,
    cache: std::time::Duration,
) -> Response {
    let method = if req.method == Method::HEAD {
        reqwest::Method::HEAD
    } else {
        reqwest::Method::GET
    };
    let mut request = client.request(method, url);
    for name in FORWARDED {
        for value in req.headers.get_all(&name) {
            request = request.header(name.clone(), value.clone());
        }
    }
    let upstream = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            return internal_error(
                "error from package-storage server",
                format_args!("package storage request {url} failed: {e}"),
            );
        }
    };
    let status = StatusCode::from_u16(upstream.status().as_u16())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = http::HeaderMap::new();
    for name in RELAYED {
        if let Some(v) = upstream.headers().get(name.as_str())
            && let Ok(v) = HeaderValue::from_bytes(v.as_bytes())
        {
            headers.insert(name, v);
        }
    }
    let body = Body::from_stream(upstream.bytes_stream());
    let mut res = Response::new(body);
    *res.status_mut() = status;
    if status.is_server_error() {
        let cause = format!("package storage answered {status} for {url}");
        res.extensions_mut()
            .insert(crate::observe::ErrorCause(cause.into()));
    }
    add_cache(&mut res, cache);
    for (name, value) in headers {
        if let Some(name) = name {
            res.headers_mut().entry(name).or_insert(value);
        }
    }
    res
}

async fn from_bucket(
    bucket: &Bucket,
    req: &Parts,
    key: &str,
    cache: std::time::Duration,
) -> Response {
    match bucket.get_with_info(key).await {
        Ok(Some((bytes, info))) => {
            let etag = info.e_tag.as_deref().and_then(entity_tag);
            let mut res = serve_content_tagged(
                &req.method,
                &req.headers,
                content_type_for(key),
                Some(info.last_modified),
                etag.as_deref(),
                bytes,
            );
            if res.status() != StatusCode::RANGE_NOT_SATISFIABLE {
                add_cache(&mut res, cache);
            }
            res
        }
        Ok(None) => AppError::ResourceNotFound.into_response_with(Some(cache)),
        Err(e) => internal_error(
            "error from package-storage server",
            format_args!(
                "reading {key} from the package storage {} failed: {e}",
                bucket.url()
            ),
        ),
    }
}

/// A bucket's e-tag as an HTTP entity tag: S3 and GCS give it quoted, a local
/// folder as a bare token, quoted here; anything else is not used.
fn entity_tag(raw: &str) -> Option<String> {
    if raw.starts_with('"') || raw.starts_with("W/") {
        return match scan_etag(raw.as_bytes()) {
            Some((_, [])) => Some(raw.to_string()),
            _ => None,
        };
    }
    let plain = |b: u8| b == 0x21 || (0x23..=0x7E).contains(&b);
    (!raw.is_empty() && raw.bytes().all(plain)).then(|| format!("\"{raw}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_etags_become_entity_tags() {
        assert_eq!(entity_tag("\"d41d8\"").as_deref(), Some("\"d41d8\""));
        assert_eq!(entity_tag("W/\"x\"").as_deref(), Some("W/\"x\""));
        assert_eq!(entity_tag("2b1-5f3-14").as_deref(), Some("\"2b1-5f3-14\""));
        assert_eq!(entity_tag(""), None);
        assert_eq!(entity_tag("a b"), None);
        assert_eq!(entity_tag("\"open"), None);
        assert_eq!(entity_tag("\"a\" trailing"), None);
    }

    #[test]
    fn urls_resolve_like_go() {
        let key = "artifacts/static/cassandra-1.1.0/img/[Logs Cassandra] System Logs.jpg";
        assert_eq!(
            StorageEndpoint::url_of("https://package-storage.elastic.co/", key),
            "https://package-storage.elastic.co/artifacts/static/cassandra-1.1.0/img/%5BLogs%20Cassandra%5D%20System%20Logs.jpg"
        );
        assert_eq!(
            StorageEndpoint::url_of("http://127.0.0.1:9000", "artifacts/packages/a-1.0.0.zip"),
            "http://127.0.0.1:9000/artifacts/packages/a-1.0.0.zip"
        );
        assert_eq!(
            StorageEndpoint::url_of("http://host/base/path", "artifacts/x"),
            "http://host/base/artifacts/x"
        );
        assert_eq!(
            StorageEndpoint::url_of("http://host/base/", "artifacts/x"),
            "http://host/base/artifacts/x"
        );
        // As Go escapes a path: `!()*'` and non-ASCII are escaped, `$&+,:;=@` are not.
        assert_eq!(
            StorageEndpoint::url_of("http://h/", "a/b(1)!*'é$&+,:;=@~.zip"),
            "http://h/a/b%281%29%21%2A%27%C3%A9$&+,:;=@~.zip"
        );
    }
}
