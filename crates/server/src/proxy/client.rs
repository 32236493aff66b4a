//! The upstream registry of proxy mode and the HTTP client that asks it, with
//! the upstream's retry policy (go-retryablehttp's default policy, extended by
//! the registry with a check of the Content-Type).

use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};
use http::{HeaderMap, StatusCode};
use reqwest::Url;

/// `-proxy-to` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProxyConfigError {
    #[error("-proxy-to must use HTTPS (got {0:?}); use -proxy-allow-insecure to allow HTTP")]
    Insecure(String),
    #[error("invalid -proxy-to URL: {0}")]
    InvalidUrl(String),
    #[error("cannot create the HTTP client of proxy mode: {0}")]
    Client(#[source] reqwest::Error),
}

/// Asking the upstream failed; the client sees `500 internal server error`.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Its message is in `source`: see `with_causes`.
    #[error("GET {url}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("GET {url}: giving up after {attempts} attempts: {last}")]
    GaveUp {
        url: String,
        attempts: u32,
        last: String,
    },
    #[error("GET {url}: unexpected status code {status}")]
    Status { url: String, status: StatusCode },
    #[error("GET {url}: cannot decode the answer: {reason}")]
    Decode { url: String, reason: String },
    #[error("GET {url}: the answer is larger than {limit} bytes, the most proxy mode reads")]
    TooLarge { url: String, limit: usize },
}

/// When and how long to wait before asking again: go-retryablehttp's
/// exponential backoff, `wait_min * 2^attempt` capped at `wait_max`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (the upstream's `RetryMax`).
    pub max_retries: u32,
    pub wait_min: Duration,
    pub wait_max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            wait_min: Duration::from_secs(1),
            wait_max: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0 for the first retry). A
    /// `Retry-After` of a 429 or 503 is honoured, as go-retryablehttp does,
    /// but never beyond `wait_max` (upstream has no cap).
    pub fn backoff(&self, attempt: u32, headers: Option<(StatusCode, &HeaderMap)>) -> Duration {
        if let Some((status, headers)) = headers
            && (status == StatusCode::TOO_MANY_REQUESTS
                || status == StatusCode::SERVICE_UNAVAILABLE)
            && let Some(wait) = retry_after(headers)
        {
            return wait.min(self.wait_max);
        }
        let factor = 2u32.checked_pow(attempt).unwrap_or(u32::MAX);
        self.wait_min
            .checked_mul(factor)
            .map_or(self.wait_max, |d| d.min(self.wait_max))
    }
}

/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// Why an answer is worth asking again for, if it is: 429, a 5xx but 501,
/// and a 2xx that is not JSON without a `Location` (a proxy in between that
/// answered for the upstream; a `Location` means another registry down a
/// chain of proxies, to be followed, not retried).
pub fn retry_reason(status: StatusCode, headers: &HeaderMap) -> Option<String> {
    if status == StatusCode::TOO_MANY_REQUESTS
        || (status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED)
    {
        return Some(format!("status {status}"));
    }
    if headers.contains_key(LOCATION) || !status.is_success() {
        return None;
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    (!content_type.starts_with("application/json"))
        .then(|| format!("unexpected content type: {content_type}"))
}

/// Whether a failed request is worth repeating: transport failures (refused,
/// reset, timed out) are; a URL or redirect loop that will fail again is not.
fn retryable(e: &reqwest::Error) -> bool {
    !(e.is_builder() || e.is_redirect())
}

/// `e` and its causes on one line: reqwest's own message rarely says what failed.
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Proxy mode's settings and client: where the upstream is and how it is asked.
#[derive(Clone)]
pub struct ProxyConfig {
    /// Scheme, credentials, host and port of `-proxy-to`, without a path: the
    /// upstream drops any path of `-proxy-to` (spec/api.md §8).
    origin: String,
    /// `origin` with its password replaced by `xxxxx` (Go's `URL.Redacted`), for logs.
    redacted: String,
    /// Each attempt's limit, connection and body included.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// How long a merged `/search` or `/categories`, or an upstream package
    /// document, is served from the response cache before the upstream is asked
    /// again (see `crate::proxy`). Zero: never kept.
    pub cache_ttl: Duration,
    /// The most an upstream answer may hold ([`MAX_UPSTREAM_BODY`]).
    pub max_body: usize,
    client: reqwest::Client,
}

impl std::fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("upstream", &self.redacted)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("cache_ttl", &self.cache_ttl)
            .finish_non_exhaustive()
    }
}

/// How long proxied bodies are kept: see [`ProxyConfig::cache_ttl`].
pub const PROXY_CACHE_TTL: Duration = Duration::from_secs(10);

/// The most an upstream answer may hold: each one is read whole before it is
/// merged, so this bounds what one proxied request can make the registry hold.
/// The largest real answer, epr.elastic.co's `/search?all=true&prerelease=true`,
/// is a few MB; more is refused (proxy mode's 500) instead of read.
pub const MAX_UPSTREAM_BODY: usize = 64 * 1024 * 1024;

impl ProxyConfig {
    /// Settings for `-proxy-to`, checked as upstream checks it: HTTPS unless
    /// `allow_insecure`. Beyond upstream, a URL that cannot be asked (no host,
    /// another scheme, empty) fails here rather than on every request.
    pub fn new(proxy_to: &str, allow_insecure: bool) -> Result<ProxyConfig, ProxyConfigError> {
        let mut url = match Url::parse(proxy_to) {
            Ok(url) => url,
            // Go parses a URL without a scheme as a path, then finds it is not HTTPS.
            Err(_) if !allow_insecure && !proxy_to.contains("://") => {
                return Err(ProxyConfigError::Insecure(proxy_to.to_string()));
            }
            Err(e) => return Err(ProxyConfigError::InvalidUrl(e.to_string())),
        };
        if !allow_insecure && url.scheme() != "https" {
            return Err(ProxyConfigError::Insecure(proxy_to.to_string()));
        }
        if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
            return Err(ProxyConfigError::InvalidUrl(format!(
                "{proxy_to:?} is not an http(s) URL with a host"
            )));
        }
        url.set_path("");
        url.set_query(None);
        url.set_fragment(None);
        let origin = url.as_str().trim_end_matches('/').to_string();
        if url.password().is_some() {
            // Cannot fail: the URL has a host, hence room for credentials.
            let _ = url.set_password(Some("xxxxx"));
        }
        let redacted = url.as_str().trim_end_matches('/').to_string();
        let client = reqwest::Client::builder()
            .build()
            .map_err(ProxyConfigError::Client)?;
        Ok(ProxyConfig {
            origin,
            redacted,
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            cache_ttl: PROXY_CACHE_TTL,
            max_body: MAX_UPSTREAM_BODY,
            client,
        })
    }

    /// The upstream URL of `path_and_query` (already escaped).
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.origin)
    }

    /// [`Self::url`] without the password, for logs and errors.
    pub fn shown_url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.redacted)
    }

    /// GETs `path_and_query` from the upstream, retrying as the upstream does,
    /// and reads the body of the answer it keeps.
    pub async fn get(&self, path_and_query: &str) -> Result<(StatusCode, Bytes), UpstreamError> {
        let target = self.url(path_and_query);
        let url = self.shown_url(path_and_query);
        let mut attempt = 0;
        let response = loop {
            let sent = self.client.get(&target).timeout(self.timeout).send().await;
            let (reason, headers) = match sent {
                Ok(res) => match retry_reason(res.status(), res.headers()) {
                    None => break res,
                    Some(reason) => (reason, Some((res.status(), res.headers().clone()))),
                },
                Err(e) if retryable(&e) => (with_causes(&e), None),
                Err(source) => return Err(UpstreamError::Request { url, source }),
            };
            if attempt == self.retry.max_retries {
                return Err(UpstreamError::GaveUp {
                    url,
                    attempts: attempt + 1,
                    last: reason,
                });
            }
            let wait = self
                .retry
                .backoff(attempt, headers.as_ref().map(|(s, h)| (*s, h)));
            tracing::debug!(%url, %reason, wait_ms = wait.as_millis() as u64, "proxy mode: retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        };
        let status = response.status();
        let body = read_body(response, &url, self.max_body).await?;
        Ok((status, body))
    }
}

/// The body of `response`, refused as soon as it is known to be over `limit`: by
/// its Content-Length, or as its chunks arrive.
async fn read_body(
    mut response: reqwest::Response,
    url: &str,
    limit: usize,
) -> Result<Bytes, UpstreamError> {
    let too_large = || UpstreamError::TooLarge {
        url: url.to_string(),
        limit,
    };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = bytes::BytesMut::new();
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|source| UpstreamError::Request {
                url: url.to_string(),
                source,
            })?;
        let Some(chunk) = chunk else {
            return Ok(body.freeze());
        };
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(http::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retries_429_and_5xx_but_501() {
        let json = headers(&[(CONTENT_TYPE, "application/json")]);
        for code in [429, 500, 502, 503, 504, 599] {
            let status = StatusCode::from_u16(code).unwrap();
            assert!(retry_reason(status, &json).is_some(), "{code}");
        }
        for code in [200, 301, 400, 404, 501] {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(retry_reason(status, &json), None, "{code}");
        }
    }

    #[test]
    fn retries_a_2xx_that_is_not_json_unless_it_redirects() {
        let html = headers(&[(CONTENT_TYPE, "text/html")]);
        assert_eq!(
            retry_reason(StatusCode::OK, &html).as_deref(),
            Some("unexpected content type: text/html")
        );
        assert!(retry_reason(StatusCode::OK, &HeaderMap::new()).is_some());
        let charset = headers(&[(CONTENT_TYPE, "application/json; charset=utf-8")]);
        assert_eq!(retry_reason(StatusCode::OK, &charset), None);
        let located = headers(&[(CONTENT_TYPE, "text/html"), (LOCATION, "/x")]);
        assert_eq!(retry_reason(StatusCode::OK, &located), None);
        // Only success statuses must be JSON: a text 404 is kept.
        let text = headers(&[(CONTENT_TYPE, "text/plain")]);
        assert_eq!(retry_reason(StatusCode::NOT_FOUND, &text), None);
    }

    #[test]
    fn backoff_doubles_from_the_minimum_up_to_the_maximum() {
        let p = RetryPolicy::default();
        let waits: Vec<u64> = (0..6).map(|i| p.backoff(i, None).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 15, 15]);
        assert_eq!(p.backoff(40, None), p.wait_max);
        let fast = RetryPolicy {
            wait_min: Duration::from_millis(1),
            wait_max: Duration::from_millis(3),
            ..RetryPolicy::default()
        };
        assert_eq!(fast.backoff(1, None), Duration::from_millis(2));
        assert_eq!(fast.backoff(2, None), Duration::from_millis(3));
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_maximum() {
        let p = RetryPolicy::default();
        let h = headers(&[(RETRY_AFTER, "3")]);
        assert_eq!(
            p.backoff(0, Some((StatusCode::TOO_MANY_REQUESTS, &h))),
            Duration::from_secs(3)
        );
        let long = headers(&[(RETRY_AFTER, "3600")]);
        assert_eq!(
            p.backoff(0, Some((StatusCode::SERVICE_UNAVAILABLE, &long))),
            p.wait_max
        );
        // Other statuses back off as usual.
        assert_eq!(
            p.backoff(2, Some((StatusCode::INTERNAL_SERVER_ERROR, &h))),
            Duration::from_secs(4)
        );
    }

    #[test]
    fn proxy_to_must_be_https_unless_allowed() {
        let e = ProxyConfig::new("http://epr.example", false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "-proxy-to must use HTTPS (got \"http://epr.example\"); use -proxy-allow-insecure to allow HTTP"
        );
        let e = ProxyConfig::new("epr.example", false).unwrap_err();
        assert!(matches!(e, ProxyConfigError::Insecure(_)), "{e}");
        let e = ProxyConfig::new("http://[::1", true).unwrap_err();
        assert!(e.to_string().starts_with("invalid -proxy-to URL: "), "{e}");
        assert!(ProxyConfig::new("ftp://epr.example", true).is_err());
        assert!(ProxyConfig::new("http://epr.example", true).is_ok());
    }

    #[test]
    fn the_path_of_proxy_to_is_dropped() {
        let c = ProxyConfig::new("https://user:pw@EPR.example:8443/prefix/?q=1#f", false).unwrap();
        assert_eq!(
            c.url("/search?all=true"),
            "https://user:pw@epr.example:8443/search?all=true"
        );
        // The password stays out of logs.
        assert_eq!(
            c.shown_url("/search"),
            "https://user:xxxxx@epr.example:8443/search"
        );
        assert!(!format!("{c:?}").contains("pw"));
        let c = ProxyConfig::new("https://epr.elastic.co/", false).unwrap();
        assert_eq!(c.url("/categories"), "https://epr.elastic.co/categories");
    }
}
