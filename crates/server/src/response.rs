//! Response shapes shared by the handlers: cache headers, CORS, redirects and the
//! plain-text errors of the upstream (spec/api.md §1.4-§1.6), and JSON answers
//! with their coding, ETag and `304 Not Modified`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE,
    ETAG, IF_NONE_MATCH, LOCATION, VARY, X_CONTENT_TYPE_OPTIONS,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use crate::cache::{CachedBody, ResponseCache};
use crate::encoding;
use crate::file_response::{scan_etag, trim_ascii_space};
use crate::observe::ErrorCause;

/// An error answer. Handler errors (400/404) carry the no-cache pair; internal
/// errors and "resource not found" keep whatever cache headers were set (§1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppError {
    BadRequest(String),
    NotFound(String),
    /// The 404 of a missing file inside a package: publicly cacheable.
    ResourceNotFound,
    /// The client only sees `internal server error`; the cause is logged once, by
    /// the middleware of `observe`, from the response's [`ErrorCause`].
    Internal(String),
}

impl AppError {
    /// An internal error with its cause, for the log.
    pub fn internal(cause: impl std::fmt::Display) -> AppError {
        AppError::Internal(cause.to_string())
    }
}

impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.into_response_with(None)
    }
}

/// A 500 with the upstream's `text` and `cause` for the log (see [`AppError::Internal`]).
pub fn internal_error(text: &str, cause: impl std::fmt::Display) -> Response {
    let mut res = text_error(StatusCode::INTERNAL_SERVER_ERROR, text);
    res.extensions_mut()
        .insert(ErrorCause(cause.to_string().into()));
    res
}

impl AppError {
    pub fn into_response_with(self, cache: Option<Duration>) -> Response {
        let mut cause = None;
        let (status, text, no_cache) = match self {
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, m, true),
            AppError::NotFound(m) => (StatusCode::NOT_FOUND, m, true),
            AppError::ResourceNotFound => {
                (StatusCode::NOT_FOUND, "resource not found".into(), false)
            }
            AppError::Internal(why) => {
                cause = Some(why);
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal server error".into(),
                    false,
                )
            }
        };
        let mut res = text_error(status, &text);
        if let Some(why) = cause {
            res.extensions_mut().insert(ErrorCause(why.into()));
        }
        if no_cache {
            let h = res.headers_mut();
            h.append(CACHE_CONTROL, HeaderValue::from_static("max-age=0"));
            h.append(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
        } else if let Some(d) = cache {
            add_cache(&mut res, d);
        }
        res
    }
}

/// Go's `http.Error`: the message and one newline, as plain text.
pub fn text_error(status: StatusCode, message: &str) -> Response {
    let mut res = Response::new(Body::from(format!("{message}\n")));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}

/// `Cache-Control: max-age=N` and `Cache-Control: public` as two fields, N being
/// the seconds rounded half to even (Go's `%.0f`).
pub fn add_cache(res: &mut Response, d: Duration) {
    let h = res.headers_mut();
    h.remove(CACHE_CONTROL);
    h.append(CACHE_CONTROL, max_age(seconds_half_to_even(d)));
    h.append(CACHE_CONTROL, HeaderValue::from_static("public"));
}

/// `max-age={seconds}`, made once per thread for the few ages the configuration
/// has (a new string per answer was a fiftieth of a small answer's time).
fn max_age(seconds: u64) -> HeaderValue {
    /// Ages kept per thread; more distinct ones are made each time.
    const KEPT: usize = 16;
    thread_local! {
        static MADE: std::cell::RefCell<Vec<(u64, HeaderValue)>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    MADE.with(|made| {
        let mut made = made.borrow_mut();
        if let Some((_, value)) = made.iter().find(|(s, _)| *s == seconds) {
            return value.clone();
        }
        let value = HeaderValue::from_str(&format!("max-age={seconds}"))
            .expect("digits are a valid header value");
        if made.len() < KEPT {
            made.push((seconds, value.clone()));
        }
        value
    })
}

/// Go's `%.0f` of the seconds, in integers: formatting the float cost 1% of the
/// time of a small answer.
fn seconds_half_to_even(d: Duration) -> u64 {
    const HALF: u32 = 500_000_000;
    let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
    let up = nanos > HALF || (nanos == HALF && secs % 2 == 1);
    secs + u64::from(up)
}

pub fn add_cors(res: &mut Response) {
    res.headers_mut()
        .insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
}

/// A cached JSON body as this request wants it: in the coding `Accept-Encoding`
/// prefers (at the best quality when `best`, see [`CachedBody::note_served`]), with its ETag, `Vary: Accept-Encoding` and the public cache headers;
/// `304 Not Modified` (no body) when `If-None-Match` names that ETag. Without
/// `Accept-Encoding` the body is the upstream's bytes.
pub fn negotiated_json(
    method: &Method,
    request: &HeaderMap,
    cache: &ResponseCache,
    body: &Arc<CachedBody>,
    max_age: Duration,
    best: bool,
) -> Response {
    let (coding, bytes, best) = cache.encoded(body, encoding::negotiate(request), best);
    let etag = body.etag(coding, best);
    // The other methods act like GET here (spec/api.md §1.1) but a 304 is only
    // an answer to GET and HEAD (RFC 9110 §13.1.2); they get the body.
    let not_modified =
        (method == Method::GET || method == Method::HEAD) && none_match(request, etag.as_bytes());
    let mut res = Response::new(Body::empty());
    // The headers below and CORS: one allocation instead of a growing map.
    *res.headers_mut() = HeaderMap::with_capacity(8);
    if not_modified {
        *res.status_mut() = StatusCode::NOT_MODIFIED;
    } else {
        let h = res.headers_mut();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(token) = coding.token() {
            h.insert(CONTENT_ENCODING, HeaderValue::from_static(token));
        }
        h.insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        *res.body_mut() = Body::from(bytes);
    }
    add_cache(&mut res, max_age);
    let h = res.headers_mut();
    h.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(ETAG, etag.clone());
    res
}

/// Whether `If-None-Match` holds `*` or an entity tag that weakly matches `etag`
/// (RFC 9110 §13.1.2: equal opaque tags, `W/` ignored). Every field is read; an
/// unparsable list stops at the first malformed tag.
fn none_match(request: &HeaderMap, ours: &[u8]) -> bool {
    request.get_all(IF_NONE_MATCH).iter().any(|field| {
        let mut rest = field.as_bytes();
        loop {
            rest = trim_ascii_space(rest);
            match rest.first() {
                None => return false,
                Some(b',') => rest = &rest[1..],
                Some(b'*') => return true,
                Some(_) => match scan_etag(rest) {
                    Some((tag, remain)) => {
                        if tag.strip_prefix(b"W/").unwrap_or(tag) == ours {
                            return true;
                        }
                        rest = remain;
                    }
                    None => return false,
                },
            }
        }
    })
}

/// Go's `http.Redirect` with 301: a small HTML body for GET, neither for other
/// methods. HEAD gets the body too, dropped on the way out with its length kept
/// (`handlers::dispatch`): Go sends no Content-Length there, a made-up 0 would be
/// wrong, and the GET's is right.
pub fn redirect(method: &Method, location: &str) -> Response {
    redirect_url(method, &encode_path(location))
}

/// [`redirect`] to a URL that is already escaped, kept as it is.
pub fn redirect_url(method: &Method, location: &str) -> Response {
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::MOVED_PERMANENTLY;
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(LOCATION, v);
    }
    if method == Method::GET || method == Method::HEAD {
        res.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        // The body for HEAD too: axum drops it and keeps its length, as the GET's.
        *res.body_mut() = Body::from(format!(
            "<a href=\"{}\">Moved Permanently</a>.\n\n",
            html_escape(location)
        ));
    }
    res
}

/// The path cleaning redirect of gorilla/mux: status and Location only.
pub fn bare_redirect(location: &str) -> Response {
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::MOVED_PERMANENTLY;
    if let Ok(v) = HeaderValue::from_str(&encode_path(location)) {
        res.headers_mut().insert(LOCATION, v);
    }
    res
}

/// Percent-encodes what may not stand in a URL path (the query, kept after `?`,
/// is passed through).
fn encode_path(location: &str) -> String {
    const PATH: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'<')
        .add(b'>')
        .add(b'`')
        .add(b'{')
        .add(b'}')
        .add(b'%');
    let (path, query) = match location.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (location, None),
    };
    let mut out = percent_encoding::utf8_percent_encode(path, PATH).to_string();
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly() {
        let matches = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append(IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
            }
            none_match(&h, b"\"abc-gz\"")
        };
        assert!(matches(&["\"abc-gz\""]));
        assert!(matches(&["W/\"abc-gz\""]));
        assert!(matches(&["\"x\", \"abc-gz\""]));
        assert!(matches(&[" \"x\" ,W/\"abc-gz\" "]));
        assert!(matches(&["\"x\"", "\"abc-gz\""]));
        assert!(matches(&["*"]));
        assert!(!matches(&[]));
        assert!(!matches(&["\"abc\""]));
        assert!(!matches(&["abc-gz"]));
        assert!(!matches(&["\"abc-gz"]));
        // Parsing stops at a malformed tag.
        assert!(!matches(&["bad, \"abc-gz\""]));
    }

    #[test]
    fn max_age_rounds_half_to_even() {
        let mut res = Response::new(Body::empty());
        add_cache(&mut res, Duration::from_millis(1500));
        let values: Vec<_> = res
            .headers()
            .get_all(CACHE_CONTROL)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        assert_eq!(values, ["max-age=2", "public"]);
        add_cache(&mut res, Duration::from_millis(500));
        assert_eq!(res.headers().get(CACHE_CONTROL).unwrap(), "max-age=0");
    }
}
