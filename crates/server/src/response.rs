//! Response shapes shared by the handlers: cache headers, CORS, redirects and the
//! plain-text errors of the upstream (spec/api.md §1.4-§1.6).

use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_TYPE, LOCATION, X_CONTENT_TYPE_OPTIONS,
};
use http::{HeaderValue, Method, StatusCode};

/// An error answer. Handler errors (400/404) carry the no-cache pair; internal
/// errors and "resource not found" keep whatever cache headers were set (§1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppError {
    BadRequest(String),
    NotFound(String),
    /// The 404 of a missing file inside a package: publicly cacheable.
    ResourceNotFound,
    /// Logged once where it happens; the client only sees `internal server error`.
    Internal,
}

impl AppError {
    pub fn into_response_with(self, cache: Option<Duration>) -> Response {
        let (status, text, no_cache) = match self {
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, m, true),
            AppError::NotFound(m) => (StatusCode::NOT_FOUND, m, true),
            AppError::ResourceNotFound => {
                (StatusCode::NOT_FOUND, "resource not found".into(), false)
            }
            AppError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal server error".into(),
                false,
            ),
        };
        let mut res = text_error(status, &text);
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
    let max_age = format!("max-age={:.0}", d.as_secs_f64());
    let h = res.headers_mut();
    h.remove(CACHE_CONTROL);
    h.append(
        CACHE_CONTROL,
        HeaderValue::from_str(&max_age).expect("digits are a valid header value"),
    );
    h.append(CACHE_CONTROL, HeaderValue::from_static("public"));
}

pub fn add_cors(res: &mut Response) {
    res.headers_mut()
        .insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
}

/// A JSON body with the public cache headers.
pub fn json(body: impl Into<Body>, cache: Duration) -> Response {
    let mut res = Response::new(body.into());
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    add_cache(&mut res, cache);
    res
}

/// Go's `http.Redirect` with 301: a small HTML body for GET, headers only for HEAD,
/// neither for other methods.
pub fn redirect(method: &Method, location: &str) -> Response {
    let location = encode_path(location);
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::MOVED_PERMANENTLY;
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(LOCATION, v);
    }
    if method == Method::GET || method == Method::HEAD {
        res.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        if method == Method::GET {
            *res.body_mut() = Body::from(format!(
                "<a href=\"{}\">Moved Permanently</a>.\n\n",
                html_escape(&location)
            ));
        }
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
