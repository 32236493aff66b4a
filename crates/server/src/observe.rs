//! What every request leaves behind: a `tracing` span around it, one access-log line
//! when its body has been sent (as the upstream's, except `/health`), the HTTP
//! metrics, and one error line for a 5xx with its cause.
//!
//! The access-log fields are the upstream's ECS fields (`internal/util/logging.go`),
//! plus `http.response.status_code`, ECS's name for the status, beside the upstream's
//! `http.response.code`. The line is written when the body ends (or the client goes
//! away), so `event.duration` and `http.response.body.bytes` cover the whole
//! transfer, as Go's measure of a handler that writes the body does.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, Method, Version, header};
use http_body::{Frame, SizeHint};
use tracing::Instrument;

use crate::app::AppState;
use crate::handlers;
use crate::metrics::{HttpLabels, Metrics, method_label};
use crate::routes::{self, Routed};

/// Why a request failed with a 5xx: a response extension, logged once here.
#[derive(Debug, Clone)]
pub struct ErrorCause(pub Arc<str>);

/// Serves `req` by [`handlers::dispatch`], observed (see the module's doc).
pub async fn observe(state: &AppState, mut req: Request) -> Response {
    let started = Instant::now();
    let line = AccessLine::of(&req);
    // Routed here, once: the trace is named when its span starts, and the metrics
    // need the template; `dispatch` takes the resolution from the extension.
    let resolution = routes::resolve(&line.path);
    let template = routes::template_of(&resolution);
    req.extensions_mut().insert(Routed(resolution));
    let name = transaction_name(req.method(), template);
    let span = tracing::info_span!(
        "request",
        otel.name = %name,
        otel.kind = "server",
        http.request.method = %req.method(),
        url.path = %req.uri().path(),
        http.response.status_code = tracing::field::Empty,
    );
    let metrics = state.metrics().cloned();
    let mut request_size = 0.0;
    if let Some(m) = &metrics {
        m.in_flight_requests.inc();
        // Only for the metrics: it prints the URI again.
        request_size = approximate_request_size(&req);
    }
    let mut res = handlers::dispatch(state, req)
        .instrument(span.clone())
        .await;
    let status = res.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        let cause = res.extensions().get::<ErrorCause>().map(|c| c.0.clone());
        span.in_scope(|| {
            tracing::error!(
                http.response.status_code = status.as_u16(),
                error.message = cause.as_deref().unwrap_or("(no cause recorded)"),
                "{} {} failed",
                line.method,
                line.path
            )
        });
    }
    let finish = Finish {
        line,
        status: status.as_u16(),
        started,
        request_size,
        template,
        metrics,
        span,
    };
    let body = std::mem::take(res.body_mut());
    *res.body_mut() = Body::new(Metered {
        inner: body,
        sent: 0,
        finish: Some(finish),
    });
    res
}

/// The name of a request's trace, as the upstream's APM agent names transactions:
/// the method and the route template without its regular expressions
/// (`GET /package/{packageName}/{packageVersion}/`), or `GET unknown route`.
pub fn transaction_name(method: &Method, template: Option<&str>) -> String {
    let Some(template) = template else {
        return format!("{method} unknown route");
    };
    let mut name = format!("{method} ");
    let mut in_regex = 0usize;
    let mut depth = 0usize;
    for c in template.chars() {
        match c {
            '{' => {
                depth += 1;
                if in_regex == 0 {
                    name.push(c);
                }
            }
            '}' => {
                depth -= 1;
                if depth < in_regex {
                    in_regex = 0;
                }
                if in_regex == 0 {
                    name.push(c);
                }
            }
            ':' if depth > 0 && in_regex == 0 => in_regex = depth,
            _ if in_regex == 0 => name.push(c),
            _ => {}
        }
    }
    name
}

/// What the access-log line says of the request, taken before it is handled.
#[derive(Debug)]
struct AccessLine {
    method: Method,
    path: String,
    query: Option<String>,
    version: Version,
    peer: Option<std::net::SocketAddr>,
    host: Option<String>,
    user_agent: Option<String>,
    referer: Option<String>,
}

impl AccessLine {
    fn of(req: &Request) -> AccessLine {
        let header = |name: header::HeaderName| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let path = crate::handlers::decoded_path(req.uri());
        AccessLine {
            method: req.method().clone(),
            path,
            query: req
                .uri()
                .query()
                .filter(|q| !q.is_empty())
                .map(str::to_string),
            version: req.version(),
            peer: req
                .extensions()
                .get::<ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0),
            host: header(header::HOST).or_else(|| req.uri().authority().map(|a| a.to_string())),
            user_agent: header(header::USER_AGENT),
            referer: header(header::REFERER),
        }
    }

    fn write(&self, status: u16, bytes: u64, nanos: u64) {
        // The upstream does not log `/health` without a query (RequestURI compared).
        if self.path == "/health" && self.query.is_none() {
            return;
        }
        let (domain, port) = split_host(self.host.as_deref());
        let source = self.peer.map(|p| p.ip().to_string());
        tracing::info!(
            log.logger = "http",
            source.address = source.as_deref(),
            source.ip = source.as_deref(),
            http.request.method = self.method.as_str(),
            url.path = self.path.as_str(),
            url.domain = domain,
            http.response.code = status,
            http.response.status_code = status,
            http.response.body.bytes = bytes,
            event.duration = nanos,
            http.request.referer = self.referer.as_deref(),
            user_agent.original = self.user_agent.as_deref(),
            url.query = self.query.as_deref(),
            url.port = port,
            "{} {} {:?}",
            self.method,
            self.path,
            self.version
        );
    }
}

/// `host[:port]` of the Host header; an IPv6 host keeps its brackets, as upstream.
fn split_host(host: Option<&str>) -> (Option<&str>, Option<u16>) {
    let Some(host) = host else {
        return (None, None);
    };
    match host.rsplit_once(':') {
        Some((name, port)) if !name.is_empty() && (!name.contains(':') || name.ends_with(']')) => {
            (Some(name), port.parse().ok().filter(|p| *p != 0))
        }
        _ => (Some(host), None),
    }
}

/// client_golang's `computeApproximateRequestSize`: URL, method, protocol, headers,
/// host and the declared body length.
fn approximate_request_size(req: &Request) -> f64 {
    let headers: usize = header_bytes(req.headers());
    let proto = match req.version() {
        Version::HTTP_2 => "HTTP/2.0".len(),
        _ => "HTTP/1.1".len(),
    };
    let body = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .unwrap_or(0);
    let host = req
        .headers()
        .get(header::HOST)
        .map_or(0, |h| h.as_bytes().len());
    (req.uri().to_string().len() + req.method().as_str().len() + proto + headers + host + body)
        as f64
}

fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.as_bytes().len())
        .sum()
}

/// Recorded once the body is done.
struct Finish {
    line: AccessLine,
    status: u16,
    started: Instant,
    request_size: f64,
    template: Option<&'static str>,
    metrics: Option<Arc<Metrics>>,
    span: tracing::Span,
}

impl Finish {
    fn record(self, sent: u64) {
        let elapsed = self.started.elapsed();
        self.span.in_scope(|| {
            self.line
                .write(self.status, sent, elapsed.as_nanos() as u64)
        });
        let Some(m) = self.metrics else {
            return;
        };
        m.in_flight_requests.dec();
        // As upstream, requests that matched no route are not counted.
        let Some(path) = self.template else {
            return;
        };
        let labels = HttpLabels {
            code: self.status,
            method: method_label(&self.line.method),
            path,
        };
        m.http_requests.get_or_create(&labels).inc();
        m.http_request_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        m.http_request_size
            .get_or_create(&labels)
            .observe(self.request_size);
        m.http_response_size
            .get_or_create(&labels)
            .observe(sent as f64);
    }
}

/// A response body that counts what it sends and records [`Finish`] at its end, or
/// when dropped early (the client went away).
struct Metered {
    inner: Body,
    sent: u64,
    finish: Option<Finish>,
}

impl Metered {
    fn done(&mut self) {
        if let Some(finish) = self.finish.take() {
            finish.record(self.sent);
        }
    }
}

impl Drop for Metered {
    fn drop(&mut self) {
        self.done();
    }
}

impl http_body::Body for Metered {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.sent += data.len() as u64;
                }
                if self.inner.is_end_stream() {
                    self.done();
                }
            }
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => self.done(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactions_are_named_like_the_upstream_apm_agent() {
        use crate::routes::resolve;
        let name = |path: &str| match resolve(path) {
            crate::routes::Resolution::Serve(r) => {
                transaction_name(&Method::GET, Some(r.template()))
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(name("/search"), "GET /search");
        assert_eq!(
            name("/package/a/1.0.0/"),
            "GET /package/{packageName}/{packageVersion}/"
        );
        assert_eq!(
            name("/epr/a/a-1.0.0.zip"),
            "GET /epr/{packageName}/{packageName}-{packageVersion}.zip"
        );
        assert_eq!(
            name("/package/a/1.0.0/docs/README.md"),
            "GET /package/{packageName}/{packageVersion}/{name}"
        );
        assert_eq!(transaction_name(&Method::HEAD, None), "HEAD unknown route");
    }

    #[test]
    fn splits_hosts_like_upstream() {
        assert_eq!(
            split_host(Some("localhost:8080")),
            (Some("localhost"), Some(8080))
        );
        assert_eq!(split_host(Some("example.com")), (Some("example.com"), None));
        assert_eq!(
            split_host(Some("[2001:db8::10]:80")),
            (Some("[2001:db8::10]"), Some(80))
        );
        assert_eq!(
            split_host(Some("[2001:db8::10]")),
            (Some("[2001:db8::10]"), None)
        );
        assert_eq!(split_host(Some("h:0")), (Some("h"), None));
        assert_eq!(split_host(None), (None, None));
    }
}
