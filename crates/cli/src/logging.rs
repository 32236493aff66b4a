//! The log of `package-registry`, on stderr as upstream: `--log-type ecs` writes one
//! ECS JSON object per line, `dev` a line for people (coloured only on a terminal).
//!
//! The ECS line follows the upstream's (go.elastic.co/ecszap): `log.level`,
//! `@timestamp` (UTC, milliseconds), `log.logger` when the event names one (the access
//! log's is `http`), `log.origin` otherwise, `message`, the `service.*` fields, the
//! event's own fields, and `ecs.version` last. Values keep their JSON types; text is
//! never Rust-debug quoted. The fields of enclosing spans are not copied into lines
//! (as upstream): formatting them for every request span halved the throughput of
//! small answers (docs/PERFORMANCE.md, "Access log").
//! No maintained crate writes the upstream's layout, and it is a few dozen lines.

use std::fmt::{self, Write as _};
use std::io::IsTerminal;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::filter::{FilterExt, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::Filter;
use tracing_subscriber::registry::LookupSpan;

/// The ECS version the upstream's lines declare.
const ECS_VERSION: &str = "1.6.0";

/// The `service.*` fields of every line.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub version: String,
    pub environment: Option<String>,
}

impl Service {
    /// From the upstream's variables: `ELASTIC_APM_SERVICE_NAME` (default
    /// `package-registry`) and `ELASTIC_APM_ENVIRONMENT`.
    pub fn from_env() -> Service {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Service {
            name: var("ELASTIC_APM_SERVICE_NAME").unwrap_or_else(|| "package-registry".into()),
            version: env!("CARGO_PKG_VERSION").into(),
            environment: var("ELASTIC_APM_ENVIRONMENT"),
        }
    }
}

/// The filter of `--log-level`: the upstream's zap levels (those above `error` have no
/// tracing equivalent), or any `RUST_LOG`-style directive; `RUST_LOG` wins.
///
/// Levels by target (`info`, `warn,epr_server=debug`) are a static filter; only
/// directives on spans or fields (`[request{path}]=debug`) need `EnvFilter`, which
/// follows every span entered and exited: a tenth of the access log's cost.
pub fn filter<S>(level: &str) -> Box<dyn Filter<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let level = match level {
        "dpanic" | "panic" | "fatal" => "error",
        other => other,
    };
    if let Some(directives) = std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty()) {
        if let Some(targets) = levels_by_target(&directives) {
            return targets.boxed();
        }
        // An unparsable RUST_LOG is passed over, as it always was.
        if let Ok(filter) = EnvFilter::try_from_default_env() {
            return filter.boxed();
        }
    }
    match levels_by_target(level) {
        Some(targets) => targets.boxed(),
        None => EnvFilter::new(level).boxed(),
    }
}

/// `filter` for events only: the ECS lines never print a span, and a span that no
/// layer takes is not created at all (the request span cost a tenth of a small
/// answer's time when only the log was there to take it).
fn events_only<S>(filter: Box<dyn Filter<S> + Send + Sync>) -> impl Filter<S> + Send + Sync
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    filter.and(tracing_subscriber::filter::filter_fn(|meta| {
        meta.is_event()
    }))
}

/// `directives` as a static filter when they are only levels, each for all targets
/// or for one (`warn,epr_server=debug`).
fn levels_by_target(directives: &str) -> Option<Targets> {
    let plain = directives.split(',').all(|directive| {
        let (target, level) = directive.rsplit_once('=').unwrap_or(("", directive));
        let target_ok = target
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_:-.".contains(c));
        target_ok
            && level
                .trim()
                .parse::<tracing::level_filters::LevelFilter>()
                .is_ok()
    });
    if plain { directives.parse().ok() } else { None }
}

/// Formats events as ECS JSON lines.
#[derive(Debug, Clone)]
pub struct EcsFormat {
    /// `,"service.name":…` and the other service fields, written once.
    service_fields: String,
}

impl<S, N> FormatEvent<S, N> for EcsFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // Written straight into the layer's buffer, with the fields gathered in one
        // buffer per thread: the access log formats a line per request, and a map of
        // JSON values per line cost a fifth of a small answer's time, fresh buffers
        // and a copy of the line another twentieth.
        FIELDS.with(|cell| {
            let mut fields = cell.borrow_mut();
            fields.clear();
            event.record(&mut *fields);
            self.write_line(&mut writer, event.metadata(), &fields)
        })
    }
}

thread_local! {
    /// The fields of the line being formatted on this thread, kept between lines.
    static FIELDS: std::cell::RefCell<JsonFieldWriter> =
        std::cell::RefCell::new(JsonFieldWriter::new());
}

impl EcsFormat {
    /// The line of an event whose fields are in `fields`.
    fn write_line(
        &self,
        out: &mut Writer<'_>,
        meta: &tracing::Metadata<'_>,
        fields: &JsonFieldWriter,
    ) -> fmt::Result {
        out.write_str("{\"log.level\":\"")?;
        out.write_str(level_name(meta.level()))?;
        out.write_str("\",\"@timestamp\":\"")?;
        write!(
            out,
            "{}",
            humantime::format_rfc3339_millis(std::time::SystemTime::now())
        )?;
        out.write_char('"')?;
        match &fields.logger {
            Some(logger) => {
                out.write_str(",\"log.logger\":")?;
                push_json_str(out, logger)?;
            }
            None => {
                out.write_str(",\"log.origin\":{\"function\":")?;
                push_json_str(out, meta.target())?;
                if let Some(file) = meta.file() {
                    out.write_str(",\"file.name\":")?;
                    push_json_str(out, file)?;
                }
                if let Some(n) = meta.line() {
                    write!(out, ",\"file.line\":{n}")?;
                }
                out.write_char('}')?;
            }
        }
        out.write_str(",\"message\":")?;
        push_json_str(out, &fields.message)?;
        out.write_str(&self.service_fields)?;
        out.write_str(&fields.rest)?;
        out.write_str(",\"ecs.version\":\"")?;
        out.write_str(ECS_VERSION)?;
        out.write_str("\"}\n")
    }

    pub fn new(service: Service) -> EcsFormat {
        let mut fields = String::from(",\"service.name\":");
        let _ = push_json_str(&mut fields, &service.name);
        fields.push_str(",\"service.version\":");
        let _ = push_json_str(&mut fields, &service.version);
        if let Some(env) = &service.environment {
            fields.push_str(",\"service.environment\":");
            let _ = push_json_str(&mut fields, env);
        }
        EcsFormat {
            service_fields: fields,
        }
    }
}

fn level_name(level: &tracing::Level) -> &'static str {
    match *level {
        tracing::Level::ERROR => "error",
        tracing::Level::WARN => "warn",
        tracing::Level::INFO => "info",
        tracing::Level::DEBUG => "debug",
        tracing::Level::TRACE => "trace",
    }
}

/// `text` as a JSON string (RFC 8259 escapes), appended to `out`.
fn push_json_str(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    out.write_char('"')?;
    push_json_str_body(out, text)?;
    out.write_char('"')
}

/// `text` with JSON's string escapes, without the quotes.
fn push_json_str_body(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    // Most text needs no escape: one pass without branches (it vectorises) finds out.
    let needs_escape = text.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !needs_escape {
        return out.write_str(text);
    }
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.write_str(&text[start..i])?;
        if escape.is_empty() {
            write!(out, "\\u{b:04x}")?;
        } else {
            out.write_str(escape)?;
        }
        start = i + 1;
    }
    out.write_str(&text[start..])
}

/// Span fields are not written (see the module's doc), so none are formatted.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSpanFields;

impl<'writer> FormatFields<'writer> for NoSpanFields {
    fn format_fields<R: RecordFields>(&self, _writer: Writer<'writer>, _fields: R) -> fmt::Result {
        Ok(())
    }
}

/// An event's fields as JSON members of their own types: `message` and `log.logger`
/// kept apart (they have their places in the line), the rest as `,"key":value`.
/// One per thread, cleared for each line.
struct JsonFieldWriter {
    message: String,
    logger: Option<String>,
    rest: String,
}

/// A buffer that grew past this for one line is not kept for the next.
const KEPT_FIELD_BYTES: usize = 64 * 1024;

impl JsonFieldWriter {
    fn new() -> JsonFieldWriter {
        JsonFieldWriter {
            message: String::with_capacity(64),
            logger: None,
            // An access line's fields: growing the string cost more than its bytes.
            rest: String::with_capacity(512),
        }
    }

    fn clear(&mut self) {
        if self.message.capacity() > KEPT_FIELD_BYTES || self.rest.capacity() > KEPT_FIELD_BYTES {
            *self = JsonFieldWriter::new();
            return;
        }
        self.message.clear();
        self.logger = None;
        self.rest.clear();
    }

    fn key(&mut self, key: &str) {
        self.rest.push(',');
        let _ = push_json_str(&mut self.rest, key);
        self.rest.push(':');
    }

    fn text(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message.push_str(value),
            "log.logger" => self.logger = Some(value.to_string()),
            name => {
                self.key(name);
                let _ = push_json_str(&mut self.rest, value);
            }
        }
    }

    /// [`Self::text`] of a `Display` value, formatted in place rather than into a
    /// string of its own (the access line has several).
    fn display(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => {
                let _ = write!(self.message, "{value:?}");
            }
            "log.logger" => self.logger = Some(format!("{value:?}")),
            name => {
                self.key(name);
                self.rest.push('"');
                let _ = write!(JsonEscaped(&mut self.rest), "{value:?}");
                self.rest.push('"');
            }
        }
    }
}

/// Appends what is written to it with JSON's string escapes (no quotes).
struct JsonEscaped<'a>(&'a mut String);

impl fmt::Write for JsonEscaped<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        push_json_str_body(self.0, text)
    }
}

impl Visit for JsonFieldWriter {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field.name());
        let _ = write!(self.rest, "{value}");
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field.name());
        let _ = write!(self.rest, "{value}");
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field.name());
        if value.is_finite() {
            let _ = write!(self.rest, "{value}");
        } else {
            self.rest.push_str("null");
        }
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field.name());
        self.rest.push_str(if value { "true" } else { "false" });
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // ecszap writes errors as `error.message`.
        let key = if field.name() == "error" {
            "error.message"
        } else {
            field.name()
        };
        self.key(key);
        let _ = push_json_str(&mut self.rest, &value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%value` arrives here as Display; only `?value` would be Rust's Debug.
        self.display(field, value);
    }
}

/// What must live until exit: the log's writer thread (dropping it flushes the
/// lines still queued) and the trace exporter.
pub struct Guards {
    _log: crate::log_writer::WriterGuard,
    traces: Option<crate::telemetry::Tracing>,
}

impl Guards {
    /// Sends the spans not exported yet.
    pub fn shutdown_traces(&self) {
        if let Some(traces) = &self.traces {
            traces.shutdown();
        }
    }
}

/// Installs the subscriber of `--log-type` and `--log-level` on stderr, plus the
/// OTLP exporter of [`crate::telemetry`] when tracing is configured (its spans are
/// taken at `info` whatever the log level).
///
/// Lines are written to stderr by a thread of their own ([`crate::log_writer`]): a
/// request only formats its access line and queues it. Writing from the request's
/// thread cost a third of the throughput of small answers (docs/PERFORMANCE.md,
/// "Access log").
pub fn init(level: &str, kind: &str) -> anyhow::Result<Guards> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    type Boxed = Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync>;
    let (writer, log_guard) = crate::log_writer::spawn(std::io::stderr())?;
    let log: Boxed = if kind == "dev" {
        tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(std::io::stderr().is_terminal())
            .with_filter(filter(level))
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .fmt_fields(NoSpanFields)
            .event_format(EcsFormat::new(Service::from_env()))
            .with_filter(events_only(filter(level)))
            .boxed()
    };
    let settings = crate::telemetry::TraceSettings::from_vars(|name| std::env::var(name).ok())?;
    let mut layers: Vec<Boxed> = vec![log];
    let mut traces = None;
    if let Some(settings) = &settings {
        let (tracing, layer) = crate::telemetry::Tracing::start(settings)?;
        layers.push(
            layer
                .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
                .boxed(),
        );
        traces = Some(tracing);
    }
    tracing_subscriber::registry().with(layers).init();
    // A panic (a bug, ours or a dependency's; the YAML parser's is caught and
    // refused) is logged like everything else, not as raw text on stderr.
    std::panic::set_hook(Box::new(|info| {
        tracing::error!(error.message = %info, "a thread panicked");
    }));
    if let Some(s) = &settings {
        tracing::info!(
            endpoint = s.endpoint.as_deref().unwrap_or("(OTEL_EXPORTER_OTLP_* variables)"),
            service.name = %s.service_name,
            "exporting traces over OTLP/HTTP"
        );
    }
    Ok(Guards {
        _log: log_guard,
        traces,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value};
    use std::sync::{Arc, Mutex};

    #[test]
    fn plain_levels_make_a_static_filter_and_the_rest_needs_env_filter() {
        assert!(levels_by_target("info").is_some());
        assert!(levels_by_target("warn,epr_server=debug,hyper=off").is_some());
        assert!(levels_by_target("[request]=debug").is_none());
        assert!(levels_by_target("epr_server[request{path}]=debug").is_none());
        assert!(levels_by_target("bogus[[").is_none());
        assert!(levels_by_target("loud").is_none());
    }

    /// Captures what the formatter writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines_of(f: impl FnOnce()) -> Vec<Map<String, Value>> {
        use tracing_subscriber::layer::SubscriberExt;
        let out = Captured::default();
        let sink = out.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(move || sink.clone())
            .fmt_fields(NoSpanFields)
            .event_format(EcsFormat::new(Service {
                name: "package-registry".into(),
                version: "9.9.9".into(),
                environment: Some("test".into()),
            }));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| match serde_json::from_str(l) {
                Ok(Value::Object(m)) => m,
                other => panic!("not a JSON object: {l}: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn writes_ecs_lines_in_the_upstream_order() {
        let lines = lines_of(|| {
            let span = tracing::info_span!("request", url.path = "/search");
            let _in = span.enter();
            let name = "nginx";
            tracing::info!(
                package.name = %name,
                count = 3_u64,
                ok = true,
                "loaded {} packages",
                3
            );
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        let keys: Vec<&str> = line.keys().map(String::as_str).collect();
        assert_eq!(
            keys[..7],
            [
                "log.level",
                "@timestamp",
                "log.origin",
                "message",
                "service.name",
                "service.version",
                "service.environment",
            ]
        );
        // The span's `url.path` is not copied (see the module's doc).
        let mut own = keys[7..keys.len() - 1].to_vec();
        own.sort();
        assert_eq!(own, ["count", "ok", "package.name"]);
        assert_eq!(keys.last(), Some(&"ecs.version"));
        assert_eq!(line["log.level"], "info");
        assert_eq!(line["message"], "loaded 3 packages");
        assert_eq!(line["package.name"], "nginx", "Display, not Debug-quoted");
        assert_eq!(line["count"], 3);
        assert_eq!(line["ok"], true);
        assert_eq!(line["ecs.version"], "1.6.0");
        let ts = line["@timestamp"].as_str().unwrap();
        assert_eq!(ts.len(), "2026-01-15T10:20:30.123Z".len(), "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T', "{ts}");
    }

    #[test]
    fn a_named_logger_replaces_the_origin() {
        let lines = lines_of(|| {
            tracing::warn!(
                log.logger = "http",
                http.response.code = 200_u64,
                "GET / HTTP/1.1"
            )
        });
        let line = &lines[0];
        assert_eq!(line["log.level"], "warn");
        assert_eq!(line["log.logger"], "http");
        assert!(!line.contains_key("log.origin"));
        assert_eq!(line["http.response.code"], 200);
    }

    #[test]
    fn json_strings_escape_what_rfc_8259_requires() {
        let mut out = String::new();
        push_json_str(&mut out, "a\"b\\c\nd\u{1}é").unwrap();
        assert_eq!(out, r#""a\"b\\c\nd\u0001é""#);
        assert_eq!(
            serde_json::from_str::<String>(&out).unwrap(),
            "a\"b\\c\nd\u{1}é"
        );
    }

    #[test]
    fn escapes_text() {
        let lines = lines_of(|| tracing::error!(detail = "a \"quoted\"\nline", "bad"));
        assert_eq!(lines[0]["detail"], "a \"quoted\"\nline");
    }
}
