//! The log of `package-registry`, on stderr as upstream: `--log-type ecs` writes one
//! ECS JSON object per line, `dev` a line for people (coloured only on a terminal).
//!
//! The ECS line follows the upstream's (go.elastic.co/ecszap): `log.level`,
//! `@timestamp` (UTC, milliseconds), `log.logger` when the event names one (the access
//! log's is `http`), `log.origin` otherwise, `message`, the `service.*` fields, the
//! fields of the spans the event is in (outermost first), the event's own fields, and
//! `ecs.version` last. Values keep their JSON types; text is never Rust-debug quoted.
//! No maintained crate writes the upstream's layout, and it is a few dozen lines.

use std::fmt;
use std::io::IsTerminal;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
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
pub fn filter(level: &str) -> EnvFilter {
    let level = match level {
        "dpanic" | "panic" | "fatal" => "error",
        other => other,
    };
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level))
}

/// Formats events as ECS JSON lines.
#[derive(Debug, Clone)]
pub struct EcsFormat {
    pub service: Service,
}

impl<S, N> FormatEvent<S, N> for EcsFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = JsonVisitor::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert(
            "log.level".into(),
            meta.level().as_str().to_ascii_lowercase().into(),
        );
        line.insert("@timestamp".into(), timestamp().into());
        match fields.0.remove("log.logger") {
            Some(logger) => {
                line.insert("log.logger".into(), logger);
            }
            None => {
                let mut origin = Map::new();
                origin.insert("function".into(), meta.target().into());
                if let Some(file) = meta.file() {
                    origin.insert("file.name".into(), file.into());
                }
                if let Some(n) = meta.line() {
                    origin.insert("file.line".into(), n.into());
                }
                line.insert("log.origin".into(), origin.into());
            }
        }
        let message = fields.0.remove("message").unwrap_or(Value::from(""));
        line.insert("message".into(), message);
        line.insert("service.name".into(), self.service.name.clone().into());
        line.insert(
            "service.version".into(),
            self.service.version.clone().into(),
        );
        if let Some(env) = &self.service.environment {
            line.insert("service.environment".into(), env.clone().into());
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let ext = span.extensions();
                let Some(stored) = ext.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(span_fields)) = serde_json::from_str(stored) {
                    for (k, v) in span_fields {
                        if !k.starts_with("otel.") {
                            line.insert(k, v);
                        }
                    }
                }
            }
        }
        line.extend(fields.0);
        line.insert("ecs.version".into(), ECS_VERSION.into());
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// `2026-01-15T10:20:30.123Z`.
fn timestamp() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// An event's fields as JSON values of their own types.
#[derive(Default)]
struct JsonVisitor(Map<String, Value>);

impl Visit for JsonVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // ecszap writes errors as `error.message`.
        let key = if field.name() == "error" {
            "error.message".to_string()
        } else {
            field.name().to_string()
        };
        self.0.insert(key, value.to_string().into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%value` arrives here as Display; only `?value` would be Rust's Debug.
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

/// Installs the subscriber of `--log-type` and `--log-level` on stderr, plus the
/// OTLP exporter of [`crate::telemetry`] when tracing is configured (its spans are
/// taken at `info` whatever the log level). The returned guard sends the last spans
/// when shut down.
pub fn init(level: &str, kind: &str) -> anyhow::Result<Option<crate::telemetry::Tracing>> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    type Boxed = Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync>;
    let log: Boxed = if kind == "dev" {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_filter(filter(level))
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(EcsFormat {
                service: Service::from_env(),
            })
            .with_filter(filter(level))
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
    if let Some(s) = &settings {
        tracing::info!(
            endpoint = s.endpoint.as_deref().unwrap_or("(OTEL_EXPORTER_OTLP_* variables)"),
            service.name = %s.service_name,
            "exporting traces over OTLP/HTTP"
        );
    }
    Ok(traces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

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
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(EcsFormat {
                service: Service {
                    name: "package-registry".into(),
                    version: "9.9.9".into(),
                    environment: Some("test".into()),
                },
            });
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
            keys[..8],
            [
                "log.level",
                "@timestamp",
                "log.origin",
                "message",
                "service.name",
                "service.version",
                "service.environment",
                "url.path",
            ]
        );
        let mut own = keys[8..keys.len() - 1].to_vec();
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
    fn escapes_text() {
        let lines = lines_of(|| tracing::error!(detail = "a \"quoted\"\nline", "bad"));
        assert_eq!(lines[0]["detail"], "a \"quoted\"\nline");
    }
}
