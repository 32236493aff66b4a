//! A port of Go's `net/http.ServeContent` (Go 1.26, `net/http/fs.go`) for content held in memory.
//!
//! The Go Elastic Package Registry answers static-file requests with `http.ServeContent` and
//! no ETag. Clients and caches see its exact conditional-request and range behaviour, so this
//! module follows the Go code function by function (`serveContent`, `checkPreconditions`,
//! `parseRange`, the multipart writer, `http.ParseTime`, `DetectContentType`) rather than
//! using a generic Rust implementation, which differs in many corner cases (malformed or
//! overlapping ranges, part headers, 416 bodies, accepted date formats).
//!
//! Things that Go's HTTP server adds by itself after the handler returns are added here
//! explicitly where they are part of the answer: the `Content-Length` of error bodies and
//! the `Content-Length: 0` of a 412 to a non-HEAD request.

use std::collections::hash_map::RandomState;
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::ops::Range;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::header::{
    ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_MATCH, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, LAST_MODIFIED, RANGE, X_CONTENT_TYPE_OPTIONS,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

/// Go's `sniffLen`: `DetectContentType` looks at no more than this many bytes.
pub const SNIFF_LEN: usize = 512;

/// Answers a request for in-memory content the way Go's http.ServeContent does (no ETag support beyond what Go does with an absent ETag).
///
/// `content_type` plays the part of a `Content-Type` header set before calling Go's
/// `ServeContent`; when it is `None` the type is sniffed like Go does for a name without a
/// known extension. `last_modified` is Go's `modtime`: `None` stands for Go's zero time.
///
/// Go's `serveError` strips `Cache-Control` from error answers (here: the 416), so a caller
/// that adds `Cache-Control` should skip responses with status 416 to stay identical.
pub fn serve_content(
    method: &Method,
    request_headers: &HeaderMap,
    content_type: Option<&str>,
    last_modified: Option<SystemTime>,
    content: Bytes,
) -> Response {
    serve_content_tagged(
        method,
        request_headers,
        content_type,
        last_modified,
        None,
        content,
    )
}

/// [`serve_content`] with an `ETag` header set before the call, as Go's callers do:
/// `If-Match` and `If-Range` then compare it strongly, `If-None-Match` weakly, and a
/// 304 carries it instead of `Last-Modified`. `etag` must be a quoted entity tag.
pub fn serve_content_tagged(
    method: &Method,
    request_headers: &HeaderMap,
    content_type: Option<&str>,
    last_modified: Option<SystemTime>,
    etag: Option<&str>,
    content: Bytes,
) -> Response {
    let size = i64::try_from(content.len()).unwrap_or(i64::MAX);
    let sniff = || sniff_content_type(&content[..content.len().min(SNIFF_LEN)]);
    match plan(
        method,
        request_headers,
        content_type,
        sniff,
        last_modified,
        etag,
        size,
    ) {
        Plan::Done(response) => response,
        Plan::Send(send) => send.with_content(method, content),
    }
}

/// [`serve_content`] for a file on disk, read as it is sent: a whole file or one
/// range is streamed in 1 MiB chunks (each one trip to tokio's blocking pool), so a download holds one chunk in memory
/// however large the file (several ranges, which clients rarely ask for, read the
/// file whole). The modification time is the file's, as with Go's `http.ServeFile`.
pub async fn serve_file(
    method: &Method,
    request_headers: &HeaderMap,
    content_type: Option<&str>,
    path: &std::path::Path,
) -> std::io::Result<Response> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut file = tokio::fs::File::open(path).await?;
    let meta = file.metadata().await?;
    let size = i64::try_from(meta.len()).unwrap_or(i64::MAX);
    let mut head = Vec::new();
    if content_type.is_none() {
        (&mut file)
            .take(SNIFF_LEN as u64)
            .read_to_end(&mut head)
            .await?;
        file.rewind().await?;
    }
    let sniff = || sniff_content_type(&head);
    let modified = meta.modified().ok();
    let send = match plan(
        method,
        request_headers,
        content_type,
        sniff,
        modified,
        None,
        size,
    ) {
        Plan::Done(response) => return Ok(response),
        Plan::Send(send) => send,
    };
    let (start, length) = match send.ranges.as_slice() {
        [] => (0, meta.len()),
        [range] => (
            u64::try_from(range.start).unwrap_or(0),
            u64::try_from(range.length).unwrap_or(0),
        ),
        _ => {
            let mut content = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
            file.read_to_end(&mut content).await?;
            return Ok(send.with_content(method, Bytes::from(content)));
        }
    };
    file.seek(std::io::SeekFrom::Start(start)).await?;
    let chunks = tokio_util::io::ReaderStream::with_capacity(file.take(length), 1 << 20);
    Ok(send.with_body(method, length, Body::from_stream(chunks)))
}

/// [`serve_content`] for content read as it is sent, of `size` bytes, whose first
/// bytes (up to 512, for sniffing a type) are `head`. `body` gives the bytes from
/// `start`, `length` of them. One range is answered as Go does; several are not
/// cut into a multipart body (that would hold the content in memory): the whole
/// content is sent with 200, which RFC 9110 allows a server to do with any Range.
pub fn serve_stream(
    method: &Method,
    request_headers: &HeaderMap,
    content_type: Option<&str>,
    last_modified: Option<SystemTime>,
    size: u64,
    head: &[u8],
    body: impl FnOnce(u64, u64) -> Body,
) -> Response {
    let sniff = || sniff_content_type(&head[..head.len().min(SNIFF_LEN)]);
    let mut send = match plan(
        method,
        request_headers,
        content_type,
        sniff,
        last_modified,
        None,
        i64::try_from(size).unwrap_or(i64::MAX),
    ) {
        Plan::Done(response) => return response,
        Plan::Send(send) => send,
    };
    if send.ranges.len() > 1 {
        send.ranges.clear();
    }
    let (start, length) = match send.ranges.as_slice() {
        [range] => (
            u64::try_from(range.start).unwrap_or(0),
            u64::try_from(range.length).unwrap_or(0),
        ),
        _ => (0, size),
    };
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        body(start, length)
    };
    send.with_body(method, length, body)
}

/// What ServeContent decides from the request and the content's size, type and
/// modification time, before it reads any of the content.
enum Plan {
    /// A complete answer: 412, 304 or 416.
    Done(Response),
    Send(Send),
}

/// Content to send: the whole of it (`ranges` empty), one range, or several as a
/// multipart body. `headers` has everything but the length and the range headers.
struct Send {
    headers: HeaderMap,
    ranges: Vec<HttpRange>,
    content_type: String,
    size: i64,
}

fn plan(
    method: &Method,
    request_headers: &HeaderMap,
    content_type: Option<&str>,
    sniff: impl FnOnce() -> &'static str,
    last_modified: Option<SystemTime>,
    etag: Option<&str>,
    size: i64,
) -> Plan {
    let modtime = last_modified.map_or(GoTime::ZERO, GoTime::from_system_time);
    let mut headers = HeaderMap::new();
    let etag = etag.unwrap_or("");
    if !etag.is_empty() {
        insert_text(&mut headers, ETAG, etag);
    }

    // setLastModified
    if !modtime.is_zero_or_epoch() {
        insert_text(&mut headers, LAST_MODIFIED, &format_http_date(modtime));
    }

    let range_header = match check_preconditions(method, request_headers, modtime, etag) {
        Preconditions::Failed => {
            // Go keeps a Content-Type its caller set before ServeContent (only
            // writeNotModified removes it), and its server writes `Content-Length: 0` for
            // an empty non-HEAD answer.
            if let Some(given) = content_type.and_then(|ct| HeaderValue::from_str(ct).ok()) {
                headers.insert(CONTENT_TYPE, given);
            }
            if method != Method::HEAD {
                headers.insert(CONTENT_LENGTH, HeaderValue::from(0u64));
            }
            return Plan::Done(respond(
                method,
                StatusCode::PRECONDITION_FAILED,
                headers,
                Body::empty(),
            ));
        }
        // writeNotModified removes Content-Type, Content-Length and Content-Encoding, none
        // of which is set yet; it keeps Last-Modified only without an ETag.
        Preconditions::NotModified => {
            if !etag.is_empty() {
                headers.remove(LAST_MODIFIED);
            }
            return Plan::Done(respond(
                method,
                StatusCode::NOT_MODIFIED,
                headers,
                Body::empty(),
            ));
        }
        Preconditions::Proceed(range) => range,
    };

    let ctype = match content_type {
        Some(given) if HeaderValue::from_str(given).is_ok() => given,
        invalid_or_absent => {
            if let Some(given) = invalid_or_absent {
                tracing::warn!(
                    content_type = given,
                    "invalid Content-Type, sniffing instead"
                );
            }
            sniff()
        }
    };
    insert_text(&mut headers, CONTENT_TYPE, ctype);

    let mut ranges = match parse_range(range_header, size) {
        Ok(ranges) => ranges,
        // Some clients add a Range header to every request to limit the answer's size; for
        // an empty file Go ignores it and answers 200 rather than 416.
        Err(RangeError::NoOverlap) if size == 0 => Vec::new(),
        Err(err) => {
            if err == RangeError::NoOverlap {
                insert_text(&mut headers, CONTENT_RANGE, &format!("bytes */{size}"));
            }
            return Plan::Done(serve_error(
                method,
                headers,
                err.message(),
                StatusCode::RANGE_NOT_SATISFIABLE,
            ));
        }
    };

    // More bytes asked for than the whole file: probably an attack or a dumb client, so Go
    // ignores the Range header and sends everything.
    if sum_ranges_size(&ranges) > size {
        ranges.clear();
    }
    Plan::Send(Send {
        headers,
        ranges,
        content_type: ctype.to_string(),
        size,
    })
}

impl Send {
    /// The answer with its body cut from `content`, the whole content.
    fn with_content(mut self, method: &Method, content: Bytes) -> Response {
        let body = match self.ranges.as_slice() {
            [] => content,
            [range] => content.slice(range.bytes()),
            _ => {
                let boundary = random_boundary();
                let body =
                    multipart_byteranges(&self.ranges, &self.content_type, &content, &boundary);
                insert_text(
                    &mut self.headers,
                    CONTENT_TYPE,
                    &format!("multipart/byteranges; boundary={boundary}"),
                );
                Bytes::from(body)
            }
        };
        let length = body.len() as u64;
        self.with_body(method, length, Body::from(body))
    }

    /// The answer with `body`, of `length` bytes: the content, one range of it, or
    /// the multipart body of several.
    fn with_body(mut self, method: &Method, length: u64, body: Body) -> Response {
        let status = match self.ranges.as_slice() {
            [] => StatusCode::OK,
            // RFC 7233 4.1: a single range is never sent as multipart.
            [range] => {
                let content_range = range.content_range(self.size);
                insert_text(&mut self.headers, CONTENT_RANGE, &content_range);
                StatusCode::PARTIAL_CONTENT
            }
            _ => StatusCode::PARTIAL_CONTENT,
        };
        self.headers
            .insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        self.headers
            .insert(CONTENT_LENGTH, HeaderValue::from(length));
        respond(method, status, self.headers, body)
    }
}

/// Go's DetectContentType subset described above.
///
/// This is the whole signature table of Go 1.26's `net/http/sniff.go`, in Go's order, so
/// the answer is the one the Go registry gives. Note that Go has no SVG signature: an SVG
/// without a leading `<?xml` declaration is `text/plain; charset=utf-8`.
pub fn sniff_content_type(data: &[u8]) -> &'static str {
    let data = &data[..data.len().min(SNIFF_LEN)];
    let first_non_ws = data
        .iter()
        .position(|&b| !matches!(b, b'\t' | b'\n' | 0x0C | b'\r' | b' '))
        .unwrap_or(data.len());
    SNIFF_SIGNATURES
        .iter()
        .find_map(|sig| sig.matches(data, first_non_ws))
        .unwrap_or("application/octet-stream")
}

/// Builds the response; HEAD answers carry the same headers without a body, as in Go.
fn respond(method: &Method, status: StatusCode, headers: HeaderMap, body: Body) -> Response {
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        body
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// Go's `serveError` followed by `http.Error`: drops the headers meant for the content
/// (of those this module sets only Last-Modified and ETag), then sends `text` and a newline as plain
/// text. Go's server computes the Content-Length of the buffered body, even for HEAD.
fn serve_error(
    method: &Method,
    mut headers: HeaderMap,
    text: &str,
    status: StatusCode,
) -> Response {
    headers.remove(LAST_MODIFIED);
    headers.remove(ETAG);
    headers.remove(CONTENT_LENGTH);
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let body = format!("{text}\n");
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    respond(method, status, headers, Body::from(body))
}

/// Sets a header whose value this module built itself (always visible ASCII).
fn insert_text(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    match HeaderValue::from_str(value) {
        Ok(value) => {
            headers.insert(name, value);
        }
        Err(_) => tracing::warn!(header = %name, value, "dropping invalid header value"),
    }
}

// ---------------------------------------------------------------------------------------
// Preconditions (RFC 7232 section 6, as Go's checkPreconditions evaluates them)
// ---------------------------------------------------------------------------------------

/// Go's `condResult`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cond {
    None,
    True,
    False,
}

/// What `checkPreconditions` decided: answer 412 or 304 now, or go on with the Range header
/// that is still in force (empty when absent or cancelled by If-Range).
enum Preconditions<'a> {
    Failed,
    NotModified,
    Proceed(&'a [u8]),
}

fn check_preconditions<'a>(
    method: &Method,
    headers: &'a HeaderMap,
    modtime: GoTime,
    etag: &str,
) -> Preconditions<'a> {
    let mut cond = check_if_match(headers, etag);
    if cond == Cond::None {
        cond = check_if_unmodified_since(headers, modtime);
    }
    if cond == Cond::False {
        return Preconditions::Failed;
    }
    match check_if_none_match(headers, etag) {
        Cond::False if is_get_or_head(method) => return Preconditions::NotModified,
        Cond::False => return Preconditions::Failed,
        Cond::None if check_if_modified_since(method, headers, modtime) == Cond::False => {
            return Preconditions::NotModified;
        }
        Cond::None | Cond::True => {}
    }
    let mut range = header_bytes(headers, &RANGE);
    if !range.is_empty() && check_if_range(method, headers, modtime, etag) == Cond::False {
        range = b"";
    }
    Preconditions::Proceed(range)
}

fn is_get_or_head(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// Go's `Header.Get`: the first value, or empty when absent (Go treats both alike).
fn header_bytes<'a>(headers: &'a HeaderMap, name: &HeaderName) -> &'a [u8] {
    headers.get(name).map_or(b"", HeaderValue::as_bytes)
}

/// Go's `etagStrongMatch`: equal and not weak (an absent ETag matches nothing).
fn etag_strong_match(a: &[u8], b: &str) -> bool {
    a == b.as_bytes() && a.first() == Some(&b'"')
}

/// Go's `etagWeakMatch`: equal once `W/` is dropped from both.
fn etag_weak_match(a: &[u8], b: &str) -> bool {
    let b = b.as_bytes();
    a.strip_prefix(b"W/").unwrap_or(a) == b.strip_prefix(b"W/").unwrap_or(b)
}

/// Go's `checkIfMatch`. Without an ETag only `*` can match; a list of ETags (or
/// anything unparsable) fails the precondition.
fn check_if_match(headers: &HeaderMap, etag: &str) -> Cond {
    let mut rest = header_bytes(headers, &IF_MATCH);
    if rest.is_empty() {
        return Cond::None;
    }
    loop {
        rest = trim_ascii_space(rest);
        match rest.first() {
            None => break,
            Some(b',') => rest = &rest[1..],
            Some(b'*') => return Cond::True,
            Some(_) => match scan_etag(rest) {
                Some((tag, _)) if etag_strong_match(tag, etag) => return Cond::True,
                Some((_, remain)) => rest = remain,
                None => break,
            },
        }
    }
    Cond::False
}

/// Go's `checkIfUnmodifiedSince`.
fn check_if_unmodified_since(headers: &HeaderMap, modtime: GoTime) -> Cond {
    let value = header_bytes(headers, &IF_UNMODIFIED_SINCE);
    if value.is_empty() || modtime.is_zero_or_epoch() {
        return Cond::None;
    }
    let Some(since) = parse_http_time(value) else {
        return Cond::None;
    };
    // Last-Modified has second precision, so compare the truncated modtime.
    if modtime.truncate_to_second() <= since {
        Cond::True
    } else {
        Cond::False
    }
}

/// Go's `checkIfNoneMatch`. Without an ETag only `*` matches.
fn check_if_none_match(headers: &HeaderMap, etag: &str) -> Cond {
    let mut rest = header_bytes(headers, &IF_NONE_MATCH);
    if rest.is_empty() {
        return Cond::None;
    }
    loop {
        rest = trim_ascii_space(rest);
        match rest.first() {
            None => break,
            Some(b',') => rest = &rest[1..],
            Some(b'*') => return Cond::False,
            Some(_) => match scan_etag(rest) {
                Some((tag, _)) if etag_weak_match(tag, etag) => return Cond::False,
                Some((_, remain)) => rest = remain,
                None => break,
            },
        }
    }
    Cond::True
}

/// Go's `checkIfModifiedSince`; only GET and HEAD are considered.
fn check_if_modified_since(method: &Method, headers: &HeaderMap, modtime: GoTime) -> Cond {
    if !is_get_or_head(method) {
        return Cond::None;
    }
    let value = header_bytes(headers, &IF_MODIFIED_SINCE);
    if value.is_empty() || modtime.is_zero_or_epoch() {
        return Cond::None;
    }
    let Some(since) = parse_http_time(value) else {
        return Cond::None;
    };
    if modtime.truncate_to_second() <= since {
        Cond::False
    } else {
        Cond::True
    }
}

/// Go's `checkIfRange`: an ETag must strongly match the response's; a date must equal
/// the modtime to the second. Note Go tests only `IsZero` here, not the Unix epoch.
fn check_if_range(method: &Method, headers: &HeaderMap, modtime: GoTime, etag: &str) -> Cond {
    if !is_get_or_head(method) {
        return Cond::None;
    }
    let value = header_bytes(headers, &IF_RANGE);
    if value.is_empty() {
        return Cond::None;
    }
    if let Some((tag, _)) = scan_etag(value) {
        return if etag_strong_match(tag, etag) {
            Cond::True
        } else {
            Cond::False
        };
    }
    if modtime.is_zero() {
        return Cond::False;
    }
    match parse_http_time(value) {
        Some(t) if t.secs == modtime.secs => Cond::True,
        _ => Cond::False,
    }
}

/// Go's `scanETag`: a syntactically valid `"..."` or `W/"..."` at the start of `s`
/// (after trimming), with the text that follows it.
pub(crate) fn scan_etag(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let s = trim_ascii_space(s);
    let start = if s.starts_with(b"W/") { 2 } else { 0 };
    if s.len() - start < 2 || s[start] != b'"' {
        return None;
    }
    for (i, &c) in s.iter().enumerate().skip(start + 1) {
        match c {
            0x21 | 0x23..=0x7E | 0x80..=0xFF => {}
            b'"' => return Some((&s[..=i], &s[i + 1..])),
            _ => return None,
        }
    }
    None
}

/// Go's `textproto.TrimString`: strips ASCII space, tab, CR and LF at both ends.
pub(crate) fn trim_ascii_space(mut s: &[u8]) -> &[u8] {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    while s.first().is_some_and(is_space) {
        s = &s[1..];
    }
    while s.last().is_some_and(is_space) {
        s = &s[..s.len() - 1];
    }
    s
}

// ---------------------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------------------

/// Go's `httpRange`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HttpRange {
    start: i64,
    length: i64,
}

impl HttpRange {
    /// Go's `contentRange`. Keeps Go's arithmetic, so an empty range prints an end before
    /// its start (for example `bytes 10-9/10` for `bytes=-0`), exactly like Go.
    fn content_range(&self, size: i64) -> String {
        format!(
            "bytes {}-{}/{}",
            self.start,
            self.start + self.length - 1,
            size
        )
    }

    /// The byte positions of this range; parse_range keeps them within the content.
    fn bytes(&self) -> Range<usize> {
        let start = usize::try_from(self.start).unwrap_or(0);
        let length = usize::try_from(self.length).unwrap_or(0);
        start..start + length
    }
}

/// The two errors of Go's `parseRange`, with Go's texts (sent as the 416 body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeError {
    Invalid,
    NoOverlap,
}

impl RangeError {
    fn message(self) -> &'static str {
        match self {
            RangeError::Invalid => "invalid range",
            RangeError::NoOverlap => "invalid range: failed to overlap",
        }
    }
}

/// Go's `parseRange` (RFC 7233): an empty header means no ranges; anything not starting
/// with `bytes=` or with a malformed element is invalid (416, not ignored); elements that
/// start past the end are dropped, and if nothing is left that is `NoOverlap`.
fn parse_range(s: &[u8], size: i64) -> Result<Vec<HttpRange>, RangeError> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let Some(specs) = s.strip_prefix(b"bytes=") else {
        return Err(RangeError::Invalid);
    };
    let mut ranges = Vec::new();
    let mut no_overlap = false;
    for spec in specs.split(|&b| b == b',') {
        let spec = trim_ascii_space(spec);
        if spec.is_empty() {
            continue;
        }
        let Some(dash) = spec.iter().position(|&b| b == b'-') else {
            return Err(RangeError::Invalid);
        };
        let start = trim_ascii_space(&spec[..dash]);
        let end = trim_ascii_space(&spec[dash + 1..]);
        let range = if start.is_empty() {
            // A suffix length: the last `end` bytes; it must be a non-negative integer.
            if end.is_empty() || end[0] == b'-' {
                return Err(RangeError::Invalid);
            }
            let suffix = parse_int(end)
                .filter(|&i| i >= 0)
                .ok_or(RangeError::Invalid)?
                .min(size);
            HttpRange {
                start: size - suffix,
                length: suffix,
            }
        } else {
            let first = parse_int(start)
                .filter(|&i| i >= 0)
                .ok_or(RangeError::Invalid)?;
            if first >= size {
                // Begins after the end of the content: does not overlap.
                no_overlap = true;
                continue;
            }
            if end.is_empty() {
                HttpRange {
                    start: first,
                    length: size - first,
                }
            } else {
                let last = parse_int(end)
                    .filter(|&i| first <= i)
                    .ok_or(RangeError::Invalid)?
                    .min(size - 1);
                HttpRange {
                    start: first,
                    length: last - first + 1,
                }
            }
        };
        ranges.push(range);
    }
    if no_overlap && ranges.is_empty() {
        return Err(RangeError::NoOverlap);
    }
    Ok(ranges)
}

/// Go's `strconv.ParseInt(s, 10, 64)`: optional sign, ASCII digits only, no overflow.
fn parse_int(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut magnitude: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(c - b'0'))?;
    }
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's `sumRangesSize`.
fn sum_ranges_size(ranges: &[HttpRange]) -> i64 {
    ranges
        .iter()
        .fold(0i64, |sum, range| sum.saturating_add(range.length))
}

/// The body Go's `mime/multipart.Writer` produces for several ranges: each part starts
/// with a boundary line and the part headers in sorted order (Content-Range, then
/// Content-Type), and the closing boundary ends the body.
fn multipart_byteranges(
    ranges: &[HttpRange],
    content_type: &str,
    content: &[u8],
    boundary: &str,
) -> Vec<u8> {
    let size = content.len();
    let mut body = Vec::with_capacity(ranges.len() * 128 + size);
    for (i, range) in ranges.iter().enumerate() {
        let separator = if i == 0 { "" } else { "\r\n" };
        let head = format!(
            "{separator}--{boundary}\r\nContent-Range: {}\r\nContent-Type: {content_type}\r\n\r\n",
            range.content_range(i64::try_from(size).unwrap_or(i64::MAX))
        );
        body.extend_from_slice(head.as_bytes());
        body.extend_from_slice(&content[range.bytes()]);
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

/// A boundary shaped like Go's (60 hex digits from 30 random bytes). It only has to be
/// unlikely to occur in the content, so std's randomly keyed hasher is enough here.
fn random_boundary() -> String {
    let state = RandomState::new();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut boundary = String::with_capacity(64);
    for i in 0..4u64 {
        let mut hasher = state.build_hasher();
        hasher.write_u64(i);
        hasher.write_u128(nanos);
        let _ = write!(boundary, "{:016x}", hasher.finish());
    }
    boundary.truncate(60);
    boundary
}

// ---------------------------------------------------------------------------------------
// Time: Go's time.Time reduced to an instant, http.TimeFormat and http.ParseTime
// ---------------------------------------------------------------------------------------

/// An instant as Go sees it: whole seconds since the Unix epoch (floored) plus nanoseconds.
/// The derived order compares instants, like Go's `Time.Compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct GoTime {
    secs: i64,
    nanos: u32,
}

impl GoTime {
    /// Go's zero `time.Time` (January 1, year 1, UTC), which `None` stands for.
    const ZERO: GoTime = GoTime {
        secs: -62_135_596_800,
        nanos: 0,
    };

    fn from_system_time(t: SystemTime) -> GoTime {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => GoTime {
                secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                nanos: d.subsec_nanos(),
            },
            Err(before) => {
                let d = before.duration();
                let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                if d.subsec_nanos() == 0 {
                    GoTime {
                        secs: -secs,
                        nanos: 0,
                    }
                } else {
                    GoTime {
                        secs: -secs - 1,
                        nanos: 1_000_000_000 - d.subsec_nanos(),
                    }
                }
            }
        }
    }

    /// Go's `Time.IsZero`.
    fn is_zero(self) -> bool {
        self == GoTime::ZERO
    }

    /// Go's `isZeroTime`: zero or exactly the Unix epoch means "modtime unknown".
    fn is_zero_or_epoch(self) -> bool {
        self.is_zero() || self == GoTime { secs: 0, nanos: 0 }
    }

    /// Go's `Truncate(time.Second)`.
    fn truncate_to_second(self) -> GoTime {
        GoTime {
            secs: self.secs,
            nanos: 0,
        }
    }
}

const SHORT_DAY_NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const LONG_DAY_NAMES: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const SHORT_MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `t.UTC().Format(http.TimeFormat)`, i.e. `Mon, 02 Jan 2006 15:04:05 GMT`.
fn format_http_date(t: GoTime) -> String {
    let days = t.secs.div_euclid(86_400);
    let secs_of_day = t.secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday (index 4 with Sunday = 0).
    let weekday = usize::try_from((days + 4).rem_euclid(7)).unwrap_or(0);
    let month_name = SHORT_MONTH_NAMES[usize::try_from(month - 1).unwrap_or(0)];
    // Go pads the year to four digits after the sign.
    let year = if year < 0 {
        format!("-{:04}", -year)
    } else {
        format!("{year:04}")
    };
    format!(
        "{}, {day:02} {month_name} {year} {:02}:{:02}:{:02} GMT",
        SHORT_DAY_NAMES[weekday],
        secs_of_day / 3600,
        secs_of_day % 3600 / 60,
        secs_of_day % 60
    )
}

/// Days since 1970-01-01 to proleptic Gregorian (year, month, day); H. Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The inverse of `civil_from_days`.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Go's `daysIn`.
fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The elements of the three layouts `http.ParseTime` tries, named after Go's `std*`
/// constants; `Lit` is the text between them.
#[derive(Debug, Clone, Copy)]
enum Field {
    Lit(&'static [u8]),
    WeekDay,
    LongWeekDay,
    ZeroDay,
    UnderDay,
    Month,
    LongYear,
    Year,
    Hour,
    ZeroMinute,
    ZeroSecond,
    Zone,
}

/// `http.TimeFormat`: `Mon, 02 Jan 2006 15:04:05 GMT`.
const LAYOUT_HTTP: &[Field] = &[
    Field::WeekDay,
    Field::Lit(b", "),
    Field::ZeroDay,
    Field::Lit(b" "),
    Field::Month,
    Field::Lit(b" "),
    Field::LongYear,
    Field::Lit(b" "),
    Field::Hour,
    Field::Lit(b":"),
    Field::ZeroMinute,
    Field::Lit(b":"),
    Field::ZeroSecond,
    Field::Lit(b" GMT"),
];

/// `time.RFC850`: `Monday, 02-Jan-06 15:04:05 MST`.
const LAYOUT_RFC850: &[Field] = &[
    Field::LongWeekDay,
    Field::Lit(b", "),
    Field::ZeroDay,
    Field::Lit(b"-"),
    Field::Month,
    Field::Lit(b"-"),
    Field::Year,
    Field::Lit(b" "),
    Field::Hour,
    Field::Lit(b":"),
    Field::ZeroMinute,
    Field::Lit(b":"),
    Field::ZeroSecond,
    Field::Lit(b" "),
    Field::Zone,
];

/// `time.ANSIC`: `Mon Jan _2 15:04:05 2006`.
const LAYOUT_ANSIC: &[Field] = &[
    Field::WeekDay,
    Field::Lit(b" "),
    Field::Month,
    Field::Lit(b" "),
    Field::UnderDay,
    Field::Lit(b" "),
    Field::Hour,
    Field::Lit(b":"),
    Field::ZeroMinute,
    Field::Lit(b":"),
    Field::ZeroSecond,
    Field::Lit(b" "),
    Field::LongYear,
];

/// Go's `http.ParseTime`: the first of the three layouts that `time.Parse` accepts.
fn parse_http_time(value: &[u8]) -> Option<GoTime> {
    [LAYOUT_HTTP, LAYOUT_RFC850, LAYOUT_ANSIC]
        .into_iter()
        .find_map(|layout| parse_layout(layout, value))
}

/// Go's `time.Parse` restricted to the fields the three layouts use, with Go's leniencies:
/// runs of spaces match one layout space, names match case-insensitively, the weekday is
/// checked only for syntax, the hour may have one digit, and a fractional second may
/// follow the seconds.
///
/// A zone abbreviation (RFC 850 only) is accepted when Go accepts it but does not move the
/// instant: with Go's `Local` being UTC, as in the registry's container, `time.Parse` keeps
/// the wall clock as UTC for every name other than a zone of `Local`.
fn parse_layout(layout: &[Field], mut v: &[u8]) -> Option<GoTime> {
    let (mut year, mut month, mut day) = (0i64, 1i64, 1i64);
    let (mut hour, mut minute, mut second, mut nanos) = (0i64, 0i64, 0i64, 0u32);
    for &field in layout {
        match field {
            Field::Lit(text) => v = skip(v, text)?,
            Field::WeekDay => (_, v) = lookup(&SHORT_DAY_NAMES, v)?,
            Field::LongWeekDay => (_, v) = lookup(&LONG_DAY_NAMES, v)?,
            Field::Month => {
                let (index, rest) = lookup(&SHORT_MONTH_NAMES, v)?;
                month = i64::try_from(index).ok()? + 1;
                v = rest;
            }
            Field::ZeroDay => (day, v) = getnum(v, true)?,
            Field::UnderDay => {
                if v.first() == Some(&b' ') {
                    v = &v[1..];
                }
                (day, v) = getnum(v, false)?;
            }
            Field::LongYear => {
                if v.len() < 4 || !v[0].is_ascii_digit() {
                    return None;
                }
                year = time_atoi(&v[..4])?;
                v = &v[4..];
            }
            Field::Year => {
                if v.len() < 2 {
                    return None;
                }
                let yy = time_atoi(&v[..2])?;
                year = if yy >= 69 { yy + 1900 } else { yy + 2000 };
                v = &v[2..];
            }
            Field::Hour => {
                (hour, v) = getnum(v, false)?;
                if hour >= 24 {
                    return None;
                }
            }
            Field::ZeroMinute => {
                (minute, v) = getnum(v, true)?;
                if minute >= 60 {
                    return None;
                }
            }
            Field::ZeroSecond => {
                (second, v) = getnum(v, true)?;
                if second >= 60 {
                    return None;
                }
                if v.len() >= 2 && matches!(v[0], b'.' | b',') && v[1].is_ascii_digit() {
                    let n = 2 + v[2..].iter().take_while(|c| c.is_ascii_digit()).count();
                    nanos = parse_nanoseconds(&v[..n]);
                    v = &v[n..];
                }
            }
            Field::Zone => {
                if v.starts_with(b"UTC") {
                    v = &v[3..];
                } else {
                    v = &v[parse_time_zone(v)?..];
                }
            }
        }
    }
    if !v.is_empty() || day < 1 || day > days_in(month, year) {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(GoTime { secs, nanos })
}

/// Go's `skip`: matches layout text, where a space matches any run of spaces.
fn skip<'a>(mut value: &'a [u8], mut prefix: &[u8]) -> Option<&'a [u8]> {
    fn cut_spaces(mut s: &[u8]) -> &[u8] {
        while s.first() == Some(&b' ') {
            s = &s[1..];
        }
        s
    }
    while let Some(&p) = prefix.first() {
        if p == b' ' {
            if value.first().is_some_and(|&c| c != b' ') {
                return None;
            }
            prefix = cut_spaces(prefix);
            value = cut_spaces(value);
            continue;
        }
        if value.first() != Some(&p) {
            return None;
        }
        prefix = &prefix[1..];
        value = &value[1..];
    }
    Some(value)
}

/// Go's `lookup`: the first name in `table` that prefixes `value`, ignoring ASCII case.
fn lookup<'a>(table: &[&str], value: &'a [u8]) -> Option<(usize, &'a [u8])> {
    table.iter().enumerate().find_map(|(index, name)| {
        let name = name.as_bytes();
        let candidate = value.get(..name.len())?;
        let same = candidate.iter().zip(name).all(|(&a, &b)| {
            a == b || ((a | 0x20) == (b | 0x20) && (a | 0x20).is_ascii_lowercase())
        });
        same.then(|| (index, &value[name.len()..]))
    })
}

/// Go's `getnum`: one or two digits (`fixed` requires two).
fn getnum(s: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    let digit = |i: usize| {
        s.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|&c| i64::from(c - b'0'))
    };
    let first = digit(0)?;
    match digit(1) {
        Some(second) => Some((first * 10 + second, &s[2..])),
        None if fixed => None,
        None => Some((first, &s[1..])),
    }
}

/// Go's `time.atoi`: optional sign, then only digits (an empty digit run is 0).
fn time_atoi(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (x, rest) = leading_int(digits)?;
    if !rest.is_empty() {
        return None;
    }
    let x = i64::try_from(x).ok()?;
    Some(if negative { -x } else { x })
}

/// Go's `time.leadingInt`: the leading run of digits, failing on overflow past 2^63.
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let len = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut x: u64 = 0;
    for &c in &s[..len] {
        x = x.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        if x > 1 << 63 {
            return None;
        }
    }
    Some((x, &s[len..]))
}

/// Go's `parseNanoseconds` for a separator followed by digits: at most nine digits count.
fn parse_nanoseconds(fraction: &[u8]) -> u32 {
    let digits = &fraction[1..fraction.len().min(10)];
    let mut nanos = digits
        .iter()
        .fold(0u32, |n, &c| n * 10 + u32::from(c - b'0'));
    for _ in digits.len()..9 {
        nanos *= 10;
    }
    nanos
}

/// Go's `parseTimeZone`: the length of a zone name at the start of `v`, if it looks like one.
fn parse_time_zone(v: &[u8]) -> Option<usize> {
    if v.len() < 3 {
        return None;
    }
    if v.starts_with(b"ChST") || v.starts_with(b"MeST") {
        return Some(4);
    }
    if v.starts_with(b"GMT") {
        // Go's parseGMT: GMT, optionally followed by a signed hour offset.
        return Some(if v.len() == 3 {
            3
        } else {
            3 + parse_signed_offset(&v[3..])
        });
    }
    if v[0] == b'+' || v[0] == b'-' {
        let n = parse_signed_offset(v);
        return (n > 0).then_some(n);
    }
    let upper = v
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    match upper {
        3 => Some(3),
        4 if v[3] == b'T' || v.starts_with(b"WITA") => Some(4),
        5 if v[4] == b'T' => Some(5),
        _ => None,
    }
}

/// Go's `parseSignedOffset`: the length of a sign and an hour from 0 to 23, or 0.
fn parse_signed_offset(v: &[u8]) -> usize {
    if !matches!(v.first(), Some(b'+' | b'-')) {
        return 0;
    }
    match leading_int(&v[1..]) {
        Some((hours, rest)) if rest.len() < v.len() - 1 && hours <= 23 => v.len() - rest.len(),
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------
// Content sniffing: Go's DetectContentType (net/http/sniff.go)
// ---------------------------------------------------------------------------------------

/// One entry of Go's `sniffSignatures`.
enum Sig {
    /// `htmlSig`: case-insensitive tag after leading whitespace, then a space or `>`.
    Html(&'static [u8]),
    /// `maskedSig`.
    Masked {
        mask: &'static [u8],
        pat: &'static [u8],
        skip_ws: bool,
        ct: &'static str,
    },
    /// `exactSig`: a prefix of the data.
    Exact(&'static [u8], &'static str),
    /// `mp4Sig`.
    Mp4,
    /// `textSig`, which must come last.
    Text,
}

impl Sig {
    fn matches(&self, data: &[u8], first_non_ws: usize) -> Option<&'static str> {
        match *self {
            Sig::Html(tag) => {
                let data = &data[first_non_ws..];
                if data.len() < tag.len() + 1 {
                    return None;
                }
                let same = tag.iter().zip(data).all(|(&t, &d)| {
                    let d = if t.is_ascii_uppercase() { d & 0xDF } else { d };
                    t == d
                });
                (same && matches!(data[tag.len()], b' ' | b'>'))
                    .then_some("text/html; charset=utf-8")
            }
            Sig::Masked {
                mask,
                pat,
                skip_ws,
                ct,
            } => {
                let data = if skip_ws { &data[first_non_ws..] } else { data };
                if mask.len() != pat.len() || data.len() < mask.len() {
                    return None;
                }
                let same = mask
                    .iter()
                    .zip(pat)
                    .zip(data)
                    .all(|((&m, &p), &d)| d & m == p);
                same.then_some(ct)
            }
            Sig::Exact(sig, ct) => data.starts_with(sig).then_some(ct),
            Sig::Mp4 => mp4_matches(data).then_some("video/mp4"),
            Sig::Text => {
                let binary = data[first_non_ws..]
                    .iter()
                    .any(|&b| matches!(b, 0x00..=0x08 | 0x0B | 0x0E..=0x1A | 0x1C..=0x1F));
                (!binary).then_some("text/plain; charset=utf-8")
            }
        }
    }
}

/// Go's `mp4Sig.match` (mimesniff 6.2.1): an `ftyp` box naming an `mp4` brand.
fn mp4_matches(data: &[u8]) -> bool {
    if data.len() < 12 {
        return false;
    }
    let box_size = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
    let Ok(box_size) = usize::try_from(box_size) else {
        return false;
    };
    if box_size % 4 != 0 || data.len() < box_size || &data[4..8] != b"ftyp" {
        return false;
    }
    (8..box_size)
        .step_by(4)
        .filter(|&st| st != 12) // the minor version number
        .any(|st| &data[st..st + 3] == b"mp4")
}

/// 34 ignored bytes, then `LP`: the Embedded OpenType signature.
const EOT_MASK: [u8; 36] = {
    let mut mask = [0u8; 36];
    mask[34] = 0xFF;
    mask[35] = 0xFF;
    mask
};
const EOT_PAT: [u8; 36] = {
    let mut pat = [0u8; 36];
    pat[34] = b'L';
    pat[35] = b'P';
    pat
};

/// Go 1.26's `sniffSignatures`, in Go's order (the first match wins).
const SNIFF_SIGNATURES: &[Sig] = &[
    Sig::Html(b"<!DOCTYPE HTML"),
    Sig::Html(b"<HTML"),
    Sig::Html(b"<HEAD"),
    Sig::Html(b"<SCRIPT"),
    Sig::Html(b"<IFRAME"),
    Sig::Html(b"<H1"),
    Sig::Html(b"<DIV"),
    Sig::Html(b"<FONT"),
    Sig::Html(b"<TABLE"),
    Sig::Html(b"<A"),
    Sig::Html(b"<STYLE"),
    Sig::Html(b"<TITLE"),
    Sig::Html(b"<B"),
    Sig::Html(b"<BODY"),
    Sig::Html(b"<BR"),
    Sig::Html(b"<P"),
    Sig::Html(b"<!--"),
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF",
        pat: b"<?xml",
        skip_ws: true,
        ct: "text/xml; charset=utf-8",
    },
    Sig::Exact(b"%PDF-", "application/pdf"),
    Sig::Exact(b"%!PS-Adobe-", "application/postscript"),
    // UTF byte order marks.
    Sig::Masked {
        mask: b"\xFF\xFF\x00\x00",
        pat: b"\xFE\xFF\x00\x00",
        skip_ws: false,
        ct: "text/plain; charset=utf-16be",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\x00\x00",
        pat: b"\xFF\xFE\x00\x00",
        skip_ws: false,
        ct: "text/plain; charset=utf-16le",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\x00",
        pat: b"\xEF\xBB\xBF\x00",
        skip_ws: false,
        ct: "text/plain; charset=utf-8",
    },
    // Images.
    Sig::Exact(b"\x00\x00\x01\x00", "image/x-icon"),
    Sig::Exact(b"\x00\x00\x02\x00", "image/x-icon"),
    Sig::Exact(b"BM", "image/bmp"),
    Sig::Exact(b"GIF87a", "image/gif"),
    Sig::Exact(b"GIF89a", "image/gif"),
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF\xFF\xFF",
        pat: b"RIFF\x00\x00\x00\x00WEBPVP",
        skip_ws: false,
        ct: "image/webp",
    },
    Sig::Exact(b"\x89PNG\x0D\x0A\x1A\x0A", "image/png"),
    Sig::Exact(b"\xFF\xD8\xFF", "image/jpeg"),
    // Audio and video.
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF",
        pat: b"FORM\x00\x00\x00\x00AIFF",
        skip_ws: false,
        ct: "audio/aiff",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\xFF",
        pat: b"ID3",
        skip_ws: false,
        ct: "audio/mpeg",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF",
        pat: b"OggS\x00",
        skip_ws: false,
        ct: "application/ogg",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF",
        pat: b"MThd\x00\x00\x00\x06",
        skip_ws: false,
        ct: "audio/midi",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF",
        pat: b"RIFF\x00\x00\x00\x00AVI ",
        skip_ws: false,
        ct: "video/avi",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF",
        pat: b"RIFF\x00\x00\x00\x00WAVE",
        skip_ws: false,
        ct: "audio/wave",
    },
    Sig::Mp4,
    Sig::Exact(b"\x1A\x45\xDF\xA3", "video/webm"),
    // Fonts.
    Sig::Masked {
        mask: &EOT_MASK,
        pat: &EOT_PAT,
        skip_ws: false,
        ct: "application/vnd.ms-fontobject",
    },
    Sig::Exact(b"\x00\x01\x00\x00", "font/ttf"),
    Sig::Exact(b"OTTO", "font/otf"),
    Sig::Exact(b"ttcf", "font/collection"),
    Sig::Exact(b"wOFF", "font/woff"),
    Sig::Exact(b"wOF2", "font/woff2"),
    // Archives.
    Sig::Exact(b"\x1F\x8B\x08", "application/x-gzip"),
    Sig::Exact(b"PK\x03\x04", "application/zip"),
    Sig::Exact(b"Rar!\x1A\x07\x00", "application/x-rar-compressed"),
    Sig::Exact(b"Rar!\x1A\x07\x01\x00", "application/x-rar-compressed"),
    Sig::Exact(b"\x00\x61\x73\x6D", "application/wasm"),
    Sig::Text,
];

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::time::Duration;

    /// Sun, 06 Nov 1994 08:49:37 GMT (the RFC 7231 example date).
    const MODTIME_SECS: u64 = 784_111_777;
    const MODTIME_HTTP: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    const CONTENT: &[u8] = b"0123456789abcdefghij";

    fn modtime() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(MODTIME_SECS)
    }

    struct Answer {
        status: StatusCode,
        headers: HeaderMap,
        body: Vec<u8>,
    }

    impl Answer {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers.get(name).map(|v| v.to_str().unwrap())
        }
    }

    async fn serve(
        method: Method,
        request: &[(&str, &str)],
        content_type: Option<&str>,
        last_modified: Option<SystemTime>,
        content: &'static [u8],
    ) -> Answer {
        serve_tagged(method, request, content_type, last_modified, None, content).await
    }

    async fn serve_tagged(
        method: Method,
        request: &[(&str, &str)],
        content_type: Option<&str>,
        last_modified: Option<SystemTime>,
        etag: Option<&str>,
        content: &'static [u8],
    ) -> Answer {
        let response = serve_content_tagged(
            &method,
            &request_headers(request),
            content_type,
            last_modified,
            etag,
            Bytes::from_static(content),
        );
        answer(response).await
    }

    /// The request headers `request` lists, in order.
    fn request_headers(request: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in request {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    /// GET of a text file with a modtime.
    async fn get(request: &[(&str, &str)]) -> Answer {
        serve(
            Method::GET,
            request,
            Some("text/plain"),
            Some(modtime()),
            CONTENT,
        )
        .await
    }

    fn assert_full(answer: &Answer) {
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body, CONTENT);
        assert_eq!(answer.header("content-length"), Some("20"));
        assert_eq!(answer.header("content-range"), None);
    }

    #[tokio::test]
    async fn full_get_has_go_headers() {
        let answer = get(&[]).await;
        assert_full(&answer);
        assert_eq!(answer.header("content-type"), Some("text/plain"));
        assert_eq!(answer.header("accept-ranges"), Some("bytes"));
        assert_eq!(answer.header("last-modified"), Some(MODTIME_HTTP));
        assert_eq!(answer.headers.len(), 4);
    }

    #[tokio::test]
    async fn last_modified_has_second_precision() {
        let t = modtime() + Duration::from_millis(999);
        let answer = serve(Method::GET, &[], None, Some(t), CONTENT).await;
        assert_eq!(answer.header("last-modified"), Some(MODTIME_HTTP));
    }

    #[tokio::test]
    async fn no_last_modified_for_unknown_or_epoch_modtime() {
        for last_modified in [None, Some(UNIX_EPOCH)] {
            let answer = serve(Method::GET, &[], None, last_modified, CONTENT).await;
            assert_full(&answer);
            assert_eq!(answer.header("last-modified"), None);
        }
    }

    #[tokio::test]
    async fn head_has_headers_without_body() {
        let answer = serve(Method::HEAD, &[], None, Some(modtime()), CONTENT).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.body.is_empty());
        assert_eq!(answer.header("content-length"), Some("20"));
        assert_eq!(
            answer.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(answer.header("last-modified"), Some(MODTIME_HTTP));
    }

    #[tokio::test]
    async fn content_type_is_sniffed_when_not_given() {
        const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        let answer = serve(Method::GET, &[], None, None, PNG).await;
        assert_eq!(answer.header("content-type"), Some("image/png"));
        let answer = serve(Method::GET, &[], None, None, b"\x00\x01binary").await;
        assert_eq!(
            answer.header("content-type"),
            Some("application/octet-stream")
        );
    }

    #[test]
    fn sniffs_go_signatures() {
        let cases: &[(&[u8], &str)] = &[
            (b"\x89PNG\x0D\x0A\x1A\x0A....", "image/png"),
            (b"\xFF\xD8\xFF\xE0", "image/jpeg"),
            (b"GIF89a...", "image/gif"),
            (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
            (b"%PDF-1.7", "application/pdf"),
            (b"PK\x03\x04\x14\x00", "application/zip"),
            (b"\x1F\x8B\x08\x00", "application/x-gzip"),
            (b"wOF2....", "font/woff2"),
            (b"\x00asm\x01", "application/wasm"),
            (
                b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
                "video/mp4",
            ),
            (
                b"  <?xml version=\"1.0\"?><svg/>",
                "text/xml; charset=utf-8",
            ),
            (b"\n<!doctype html>", "text/html; charset=utf-8"),
            (b"<p>hi</p>", "text/html; charset=utf-8"),
            (b"<a href=x>", "text/html; charset=utf-8"),
            (b"<!-- c -->", "text/html; charset=utf-8"),
            // Go has no SVG signature: this is text, as in the Go registry.
            (
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
                "text/plain; charset=utf-8",
            ),
            (
                b"name: nginx\nversion: 1.0.0\n",
                "text/plain; charset=utf-8",
            ),
            (b"{\"a\": 1}\t\x0c\x1b", "text/plain; charset=utf-8"),
            (b"\xEF\xBB\xBFhello", "text/plain; charset=utf-8"),
            (b"", "text/plain; charset=utf-8"),
            (b"abc\x0b", "application/octet-stream"),
            (b"abc\x1f", "application/octet-stream"),
            (b"\x00", "application/octet-stream"),
        ];
        for (data, expected) in cases {
            assert_eq!(sniff_content_type(data), *expected, "{data:?}");
        }
    }

    #[test]
    fn sniffing_looks_at_512_bytes_only() {
        let mut data = vec![b'a'; 512];
        data.push(0);
        assert_eq!(sniff_content_type(&data), "text/plain; charset=utf-8");
    }

    #[tokio::test]
    async fn if_modified_since_not_modified_gives_304() {
        for since in [
            MODTIME_HTTP,
            "Sun, 06 Nov 1994 08:49:38 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            let answer = get(&[("if-modified-since", since)]).await;
            assert_eq!(answer.status, StatusCode::NOT_MODIFIED, "{since}");
            assert!(answer.body.is_empty());
            assert_eq!(answer.header("last-modified"), Some(MODTIME_HTTP));
            assert_eq!(answer.header("content-type"), None);
            assert_eq!(answer.header("content-length"), None);
            assert_eq!(answer.headers.len(), 1);
        }
    }

    #[tokio::test]
    async fn if_modified_since_modified_or_unusable_gives_200() {
        for since in [
            "Sun, 06 Nov 1994 08:49:36 GMT",
            "yesterday",
            "Sun, 06 Nov 1994 08:49:37 UTC",
        ] {
            assert_full(&get(&[("if-modified-since", since)]).await);
        }
    }

    #[tokio::test]
    async fn if_modified_since_ignores_subsecond_modtime() {
        let t = modtime() + Duration::from_millis(500);
        let request = [("if-modified-since", MODTIME_HTTP)];
        let answer = serve(Method::GET, &request, None, Some(t), CONTENT).await;
        assert_eq!(answer.status, StatusCode::NOT_MODIFIED);
    }

    #[tokio::test]
    async fn if_modified_since_ignored_without_modtime_or_for_post() {
        let request = [("if-modified-since", MODTIME_HTTP)];
        for last_modified in [None, Some(UNIX_EPOCH)] {
            let answer = serve(Method::GET, &request, None, last_modified, CONTENT).await;
            assert_full(&answer);
        }
        let answer = serve(Method::POST, &request, None, Some(modtime()), CONTENT).await;
        assert_full(&answer);
    }

    #[tokio::test]
    async fn if_modified_since_ignored_when_if_none_match_present() {
        let answer = get(&[
            ("if-none-match", "\"some-etag\""),
            ("if-modified-since", MODTIME_HTTP),
        ])
        .await;
        assert_full(&answer);
    }

    #[tokio::test]
    async fn if_none_match_star() {
        let request = [("if-none-match", "*")];
        let answer = get(&request).await;
        assert_eq!(answer.status, StatusCode::NOT_MODIFIED);
        assert_eq!(answer.header("last-modified"), Some(MODTIME_HTTP));
        assert!(answer.body.is_empty());

        let answer = serve(Method::HEAD, &request, None, Some(modtime()), CONTENT).await;
        assert_eq!(answer.status, StatusCode::NOT_MODIFIED);

        let answer = serve(Method::PUT, &request, None, Some(modtime()), CONTENT).await;
        assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(answer.header("content-length"), Some("0"));
        assert!(answer.body.is_empty());
    }

    #[tokio::test]
    async fn if_none_match_with_etags_never_matches() {
        for value in [
            "\"abc\"",
            "W/\"abc\", \"def\"",
            "garbage",
            "\"a\" garbage *",
        ] {
            assert_full(&get(&[("if-none-match", value)]).await);
        }
        // `*` after a list still counts when every element before it parses.
        for value in ["\"a\", *", ", \"a\" *"] {
            let answer = get(&[("if-none-match", value)]).await;
            assert_eq!(answer.status, StatusCode::NOT_MODIFIED, "{value}");
        }
    }

    /// GET of the text file with ETag `"v1"`.
    async fn get_tagged(method: Method, request: &[(&str, &str)]) -> Answer {
        let etag = Some("\"v1\"");
        serve_tagged(
            method,
            request,
            Some("text/plain"),
            Some(modtime()),
            etag,
            CONTENT,
        )
        .await
    }

    #[tokio::test]
    async fn with_an_etag_conditionals_compare_it() {
        let plain = get_tagged(Method::GET, &[]).await;
        assert_full(&plain);
        assert_eq!(plain.header("etag"), Some("\"v1\""));

        for value in ["\"v1\"", "W/\"v1\"", "\"v0\", \"v1\""] {
            let answer = get_tagged(Method::GET, &[("if-none-match", value)]).await;
            assert_eq!(answer.status, StatusCode::NOT_MODIFIED, "{value}");
            assert_eq!(answer.header("etag"), Some("\"v1\""));
            assert_eq!(answer.header("last-modified"), None);
            assert!(answer.body.is_empty());
        }
        let answer = get_tagged(Method::PUT, &[("if-none-match", "\"v1\"")]).await;
        assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED);
        // A stale tag: the content, and If-Modified-Since is not looked at.
        let answer = get_tagged(
            Method::GET,
            &[
                ("if-none-match", "\"v0\""),
                ("if-modified-since", MODTIME_HTTP),
            ],
        )
        .await;
        assert_full(&answer);

        assert_full(&get_tagged(Method::GET, &[("if-match", "\"v1\"")]).await);
        for value in ["W/\"v1\"", "\"v0\""] {
            let answer = get_tagged(Method::GET, &[("if-match", value)]).await;
            assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED, "{value}");
        }

        let range = ("range", "bytes=0-3");
        let answer = get_tagged(Method::GET, &[range, ("if-range", "\"v1\"")]).await;
        assert_eq!(answer.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(answer.body, b"0123");
        for value in ["\"v0\"", "W/\"v1\""] {
            assert_full(&get_tagged(Method::GET, &[range, ("if-range", value)]).await);
        }
        // Go's serveError drops the ETag with the other content headers.
        let answer = get_tagged(Method::GET, &[("range", "bytes=50-")]).await;
        assert_eq!(answer.status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(answer.header("etag"), None);
    }

    #[tokio::test]
    async fn if_match() {
        assert_full(&get(&[("if-match", "*")]).await);
        assert_full(&get(&[("if-match", " , *")]).await);
        for value in ["\"abc\"", "W/\"abc\"", "nonsense", "\"a\" x *"] {
            let answer = get(&[("if-match", value)]).await;
            assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED, "{value}");
            assert_eq!(answer.header("last-modified"), Some(MODTIME_HTTP));
            // Like a Content-Type set before Go's ServeContent, the given type stays.
            assert_eq!(answer.header("content-type"), Some("text/plain"));
            assert_eq!(answer.header("content-length"), Some("0"));
            assert!(answer.body.is_empty());
        }
        let request = [("if-match", "\"abc\"")];
        let answer = serve(Method::GET, &request, None, Some(modtime()), CONTENT).await;
        assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(answer.header("content-type"), None);
        // If-Match wins over If-Unmodified-Since.
        let answer = get(&[
            ("if-match", "*"),
            ("if-unmodified-since", "Sun, 06 Nov 1994 08:49:36 GMT"),
        ])
        .await;
        assert_full(&answer);
    }

    #[tokio::test]
    async fn if_unmodified_since() {
        for since in [MODTIME_HTTP, "Mon, 07 Nov 1994 00:00:00 GMT", "bad date"] {
            assert_full(&get(&[("if-unmodified-since", since)]).await);
        }
        let answer = get(&[("if-unmodified-since", "Sun, 06 Nov 1994 08:49:36 GMT")]).await;
        assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED);
        let request = [("if-unmodified-since", "Sun, 06 Nov 1994 08:49:36 GMT")];
        let answer = serve(Method::HEAD, &request, None, Some(modtime()), CONTENT).await;
        assert_eq!(answer.status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(answer.header("content-length"), None);
        // Unknown modtime: the condition is ignored.
        let answer = serve(Method::GET, &request, None, None, CONTENT).await;
        assert_full(&answer);
    }

    #[tokio::test]
    async fn single_ranges() {
        let cases = [
            ("bytes=0-4", "bytes 0-4/20", &CONTENT[0..5]),
            ("bytes=5-", "bytes 5-19/20", &CONTENT[5..]),
            ("bytes=-3", "bytes 17-19/20", &CONTENT[17..]),
            ("bytes=15-100", "bytes 15-19/20", &CONTENT[15..]),
            ("bytes=-100", "bytes 0-19/20", CONTENT),
            ("bytes= 2 - 3 ,", "bytes 2-3/20", &CONTENT[2..4]),
            ("bytes=+1-+2", "bytes 1-2/20", &CONTENT[1..3]),
            ("bytes=-0", "bytes 20-19/20", &CONTENT[20..]),
            ("bytes=50-60,1-1", "bytes 1-1/20", &CONTENT[1..2]),
        ];
        for (range, content_range, body) in cases {
            let answer = get(&[("range", range)]).await;
            assert_eq!(answer.status, StatusCode::PARTIAL_CONTENT, "{range}");
            assert_eq!(answer.header("content-range"), Some(content_range));
            assert_eq!(answer.body, body, "{range}");
            let length = body.len().to_string();
            assert_eq!(answer.header("content-length"), Some(length.as_str()));
            assert_eq!(answer.header("content-type"), Some("text/plain"));
            assert_eq!(answer.header("accept-ranges"), Some("bytes"));
            assert_eq!(answer.header("last-modified"), Some(MODTIME_HTTP));
        }
    }

    #[tokio::test]
    async fn single_range_head_has_no_body() {
        let request = [("range", "bytes=0-4")];
        let answer = serve(Method::HEAD, &request, None, Some(modtime()), CONTENT).await;
        assert_eq!(answer.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(answer.header("content-length"), Some("5"));
        assert!(answer.body.is_empty());
    }

    #[tokio::test]
    async fn multiple_ranges_give_go_multipart() {
        let answer = get(&[("range", "bytes=0-1, 5-6,-2")]).await;
        assert_eq!(answer.status, StatusCode::PARTIAL_CONTENT);
        let content_type = answer.header("content-type").unwrap();
        let boundary = content_type
            .strip_prefix("multipart/byteranges; boundary=")
            .unwrap();
        assert_eq!(boundary.len(), 60);
        assert!(boundary.bytes().all(|b| b.is_ascii_hexdigit()));
        let expected = format!(
            "--{b}\r\nContent-Range: bytes 0-1/20\r\nContent-Type: text/plain\r\n\r\n01\
             \r\n--{b}\r\nContent-Range: bytes 5-6/20\r\nContent-Type: text/plain\r\n\r\n56\
             \r\n--{b}\r\nContent-Range: bytes 18-19/20\r\nContent-Type: text/plain\r\n\r\nij\
             \r\n--{b}--\r\n",
            b = boundary
        );
        assert_eq!(String::from_utf8(answer.body.clone()).unwrap(), expected);
        let length = expected.len().to_string();
        assert_eq!(answer.header("content-length"), Some(length.as_str()));
        assert_eq!(answer.header("content-range"), None);
        assert_eq!(answer.header("accept-ranges"), Some("bytes"));
    }

    #[tokio::test]
    async fn multipart_uses_sniffed_type_in_parts() {
        let request = [("range", "bytes=0-0,2-2")];
        let answer = serve(Method::GET, &request, None, None, CONTENT).await;
        let body = String::from_utf8(answer.body).unwrap();
        assert_eq!(
            body.matches("\r\nContent-Type: text/plain; charset=utf-8\r\n")
                .count(),
            2
        );
    }

    #[tokio::test]
    async fn unsatisfiable_range_gives_416() {
        for range in ["bytes=20-", "bytes=100-200, 30-"] {
            let answer = get(&[("range", range)]).await;
            assert_eq!(answer.status, StatusCode::RANGE_NOT_SATISFIABLE);
            assert_eq!(answer.header("content-range"), Some("bytes */20"));
            assert_eq!(answer.body, b"invalid range: failed to overlap\n");
            assert_eq!(answer.header("content-length"), Some("33"));
            assert_eq!(
                answer.header("content-type"),
                Some("text/plain; charset=utf-8")
            );
            assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
            // Go's serveError drops Last-Modified; Accept-Ranges is never set.
            assert_eq!(answer.header("last-modified"), None);
            assert_eq!(answer.header("accept-ranges"), None);
            assert_eq!(answer.headers.len(), 4);
        }
    }

    #[tokio::test]
    async fn malformed_range_gives_416_without_content_range() {
        for range in [
            "items=0-1",
            "bytes=abc",
            "bytes=5-1",
            "bytes=--1",
            "bytes=-",
            "bytes=1-2-3",
            "bytes=0-1,x",
            "Bytes=0-1",
            "bytes=-1-",
        ] {
            let answer = get(&[("range", range)]).await;
            assert_eq!(answer.status, StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
            assert_eq!(answer.body, b"invalid range\n");
            assert_eq!(answer.header("content-length"), Some("14"));
            assert_eq!(answer.header("content-range"), None);
            assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
        }
    }

    #[tokio::test]
    async fn error_for_head_keeps_content_length_without_body() {
        let request = [("range", "bytes=99-")];
        let answer = serve(Method::HEAD, &request, None, None, CONTENT).await;
        assert_eq!(answer.status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(answer.header("content-length"), Some("33"));
        assert!(answer.body.is_empty());
    }

    #[tokio::test]
    async fn ranges_ignored_when_not_useful() {
        // Empty content: a non-overlapping range is ignored.
        let answer = serve(Method::GET, &[("range", "bytes=0-10")], None, None, b"").await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header("content-length"), Some("0"));
        // More bytes asked for than the file has: full answer.
        assert_full(&get(&[("range", "bytes=0-15,5-19")]).await);
        // An empty Range header or only empty elements.
        assert_full(&get(&[("range", "")]).await);
        assert_full(&get(&[("range", "bytes=")]).await);
        assert_full(&get(&[("range", "bytes= , ,")]).await);
    }

    #[tokio::test]
    async fn if_range() {
        let range = ("range", "bytes=0-4");
        let answer = get(&[range, ("if-range", MODTIME_HTTP)]).await;
        assert_eq!(answer.status, StatusCode::PARTIAL_CONTENT);
        for if_range in ["Sun, 06 Nov 1994 08:49:38 GMT", "\"etag\"", "junk"] {
            assert_full(&get(&[range, ("if-range", if_range)]).await);
        }
        // If-Range is only considered for GET and HEAD.
        let request = [range, ("if-range", "\"etag\"")];
        let answer = serve(Method::POST, &request, None, Some(modtime()), CONTENT).await;
        assert_eq!(answer.status, StatusCode::PARTIAL_CONTENT);
        // A date never matches an unknown modtime, but does match the epoch.
        let request = [range, ("if-range", "Thu, 01 Jan 1970 00:00:00 GMT")];
        let answer = serve(Method::GET, &request, None, None, CONTENT).await;
        assert_eq!(answer.status, StatusCode::OK);
        let answer = serve(Method::GET, &request, None, Some(UNIX_EPOCH), CONTENT).await;
        assert_eq!(answer.status, StatusCode::PARTIAL_CONTENT);
    }

    #[tokio::test]
    async fn invalid_given_content_type_falls_back_to_sniffing() {
        let answer = serve(Method::GET, &[], Some("text/\nplain"), None, CONTENT).await;
        assert_eq!(
            answer.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
    }

    /// Reads a response the way the tests compare them.
    async fn answer(response: Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: body.to_vec(),
        }
    }

    /// A file streamed from disk is answered exactly like the same bytes in memory:
    /// same status, headers and body, for whole files, ranges, conditionals and
    /// errors. Multipart boundaries are random, so those bodies are compared with
    /// the boundary taken out.
    #[tokio::test]
    async fn a_file_on_disk_is_served_like_the_same_bytes_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        // Larger than one 1 MiB chunk, so a range can span chunks.
        let content: Vec<u8> = (0..2_500_000u32).map(|i| (i % 251) as u8).collect();
        let path = dir.path().join("package.zip");
        std::fs::write(&path, &content).unwrap();
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        let http_date = format_http_date(GoTime::from_system_time(modified));
        let requests: Vec<(Method, Vec<(&str, &str)>)> = vec![
            (Method::GET, vec![]),
            (Method::HEAD, vec![]),
            (Method::GET, vec![("range", "bytes=0-99")]),
            (Method::GET, vec![("range", "bytes=1048570-2097160")]),
            (Method::GET, vec![("range", "bytes=-10")]),
            (Method::HEAD, vec![("range", "bytes=5-")]),
            (Method::GET, vec![("range", "bytes=0-1,100-199,-3")]),
            (Method::GET, vec![("range", "bytes=3000000-")]),
            (Method::GET, vec![("range", "items=1-2")]),
            (Method::GET, vec![("if-modified-since", http_date.as_str())]),
            (
                Method::GET,
                vec![("if-unmodified-since", "Sun, 06 Nov 1994 08:49:37 GMT")],
            ),
            (Method::GET, vec![("if-none-match", "*")]),
            (
                Method::GET,
                vec![("range", "bytes=0-9"), ("if-range", http_date.as_str())],
            ),
            (
                Method::GET,
                vec![("range", "bytes=0-9"), ("if-range", "\"x\"")],
            ),
        ];
        for content_type in [Some("application/zip"), None] {
            for (method, request) in &requests {
                let headers = request_headers(request);
                let from_disk = serve_file(method, &headers, content_type, &path)
                    .await
                    .unwrap();
                let in_memory = serve_content(
                    method,
                    &headers,
                    content_type,
                    Some(modified),
                    Bytes::from(content.clone()),
                );
                let (disk, memory) = (answer(from_disk).await, answer(in_memory).await);
                let case = format!("{method} {request:?} {content_type:?}");
                assert_eq!(disk.status, memory.status, "{case}");
                let boundary = |a: &Answer| {
                    a.header("content-type")
                        .and_then(|t| t.strip_prefix("multipart/byteranges; boundary="))
                        .map(str::to_string)
                };
                match (boundary(&disk), boundary(&memory)) {
                    (Some(d), Some(m)) => {
                        let body = String::from_utf8_lossy(&disk.body).replace(&d, "B");
                        assert_eq!(body, String::from_utf8_lossy(&memory.body).replace(&m, "B"));
                        assert_eq!(
                            disk.header("content-length"),
                            memory.header("content-length")
                        );
                    }
                    _ => {
                        assert_eq!(disk.headers, memory.headers, "{case}");
                        assert_eq!(disk.body, memory.body, "{case}");
                    }
                }
            }
        }
    }

    #[test]
    fn formats_http_dates() {
        let date = |secs: i64| format_http_date(GoTime { secs, nanos: 0 });
        assert_eq!(date(784_111_777), MODTIME_HTTP);
        assert_eq!(date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(date(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
        assert_eq!(date(253_402_300_799), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(date(GoTime::ZERO.secs), "Mon, 01 Jan 0001 00:00:00 GMT");
    }

    #[test]
    fn converts_system_times_before_the_epoch() {
        let t = UNIX_EPOCH - Duration::from_millis(1500);
        let go = GoTime::from_system_time(t);
        assert_eq!((go.secs, go.nanos), (-2, 500_000_000));
    }

    #[test]
    fn parses_http_times_like_go() {
        let at = |s: &str| parse_http_time(s.as_bytes()).map(|t| (t.secs, t.nanos));
        let expected = Some((784_111_777, 0));
        assert_eq!(at(MODTIME_HTTP), expected);
        assert_eq!(at("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
        assert_eq!(at("Sun Nov  6 08:49:37 1994"), expected);
        // Go's leniencies: weekday unchecked, names in any case, space runs, 1-digit hour.
        assert_eq!(at("Fri, 06 Nov 1994 08:49:37 GMT"), expected);
        assert_eq!(at("sun, 06 nov 1994 08:49:37 GMT"), expected);
        assert_eq!(at("Sun,   06 Nov 1994 08:49:37   GMT"), expected);
        assert_eq!(at("Sun, 06 Nov 1994 8:49:37 GMT"), expected);
        assert_eq!(at("Sun Nov 6 08:49:37 1994"), expected);
        assert_eq!(at("Sunday, 06-Nov-94 08:49:37 PST"), expected);
        assert_eq!(at("Sunday, 06-Nov-94 08:49:37 GMT+5"), expected);
        assert_eq!(at("Sunday, 06-Nov-94 08:49:37 UTC"), expected);
        assert_eq!(at("Thursday, 01-Jan-70 00:00:00 GMT"), Some((0, 0)));
        assert_eq!(
            at("Tuesday, 01-Jan-68 00:00:00 GMT"),
            Some((3_092_601_600, 0))
        );
        // A fractional second is accepted and kept.
        assert_eq!(
            at("Sun, 06 Nov 1994 08:49:37.25 GMT"),
            Some((784_111_777, 250_000_000))
        );
        assert_eq!(
            at("Sun, 06 Nov 1994 08:49:37,1234567891 GMT"),
            Some((784_111_777, 123_456_789))
        );
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT ",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 29 Feb 1900 08:49:37 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT+24",
            "Sunday, 06-Nov-94 08:49:37 Pst",
            "Sun Nov  6 08:49:37 1994 ",
            "1994-11-06T08:49:37Z",
        ] {
            assert_eq!(at(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parses_ranges_like_go() {
        let r = |start, length| HttpRange { start, length };
        assert_eq!(parse_range(b"", 10), Ok(vec![]));
        assert_eq!(parse_range(b"bytes=0-0,-2", 10), Ok(vec![r(0, 1), r(8, 2)]));
        assert_eq!(parse_range(b"bytes=-5", 0), Ok(vec![r(0, 0)]));
        assert_eq!(parse_range(b"bytes=0-", 0), Err(RangeError::NoOverlap));
        assert_eq!(
            parse_range(b"bytes=99999999999999999999-", 10),
            Err(RangeError::Invalid)
        );
        assert_eq!(parse_range(b"bytes=1", 10), Err(RangeError::Invalid));
    }
}
