//! Traces over OTLP/HTTP: the spans of requests, catalog loads, storage index updates
//! and publish steps, exported when an endpoint is configured.
//!
//! The upstream traces with the Elastic APM agent when `ELASTIC_APM_SERVER_URL` is
//! set. APM Server takes OTLP natively (at `<url>/v1/traces`, with the same API key or
//! secret token), so the same variables turn on OTLP here:
//!
//! - `ELASTIC_APM_SERVER_URL`, with `ELASTIC_APM_API_KEY` (`Authorization: ApiKey`) or
//!   `ELASTIC_APM_SECRET_TOKEN` (`Authorization: Bearer`), and
//!   `ELASTIC_APM_TRANSACTION_SAMPLE_RATE` (0 to 1);
//! - or the standard `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
//!   (and `OTEL_EXPORTER_OTLP_HEADERS`), read by the exporter itself; they win.
//!
//! `ELASTIC_APM_SERVICE_NAME` (or `OTEL_SERVICE_NAME`) names the service, and
//! `ELASTIC_APM_ENVIRONMENT` becomes `deployment.environment`. Spans are sent in
//! batches from a thread of the SDK; [`Tracing::shutdown`] sends what is left at exit.

use std::collections::HashMap;

use anyhow::Context;
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

/// Where and how spans are exported, read from the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSettings {
    /// `None`: the exporter reads the `OTEL_EXPORTER_OTLP_*` variables itself.
    pub endpoint: Option<String>,
    pub headers: HashMap<String, String>,
    pub sample_rate: Option<f64>,
    pub service_name: String,
    pub environment: Option<String>,
}

impl TraceSettings {
    /// The settings of `var` (the environment), or `None` when tracing is off.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Option<Self>> {
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        let otel = var("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
            || var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some();
        let apm = var("ELASTIC_APM_SERVER_URL");
        if !otel && apm.is_none() {
            return Ok(None);
        }
        let mut headers = HashMap::new();
        let endpoint = match (otel, apm) {
            (false, Some(url)) => {
                if let Some(key) = var("ELASTIC_APM_API_KEY") {
                    headers.insert("Authorization".into(), format!("ApiKey {key}"));
                } else if let Some(token) = var("ELASTIC_APM_SECRET_TOKEN") {
                    headers.insert("Authorization".into(), format!("Bearer {token}"));
                }
                Some(format!("{}/v1/traces", url.trim_end_matches('/')))
            }
            _ => None,
        };
        let sample_rate = match var("ELASTIC_APM_TRANSACTION_SAMPLE_RATE") {
            None => None,
            Some(text) => {
                let rate: f64 = text.parse().ok().filter(|r| (0.0..=1.0).contains(r)).with_context(
                    || format!("ELASTIC_APM_TRANSACTION_SAMPLE_RATE: `{text}` is not a number from 0 to 1"),
                )?;
                Some(rate)
            }
        };
        Ok(Some(TraceSettings {
            endpoint,
            headers,
            sample_rate,
            service_name: var("ELASTIC_APM_SERVICE_NAME")
                .or_else(|| var("OTEL_SERVICE_NAME"))
                .unwrap_or_else(|| "package-registry".into()),
            environment: var("ELASTIC_APM_ENVIRONMENT"),
        }))
    }
}

/// The exporting tracer provider; shut it down at exit to send the last batch.
pub struct Tracing {
    provider: SdkTracerProvider,
}

impl Tracing {
    /// Starts the exporter; the layer turns `tracing` spans into OpenTelemetry spans.
    pub fn start<S>(
        settings: &TraceSettings,
    ) -> anyhow::Result<(Tracing, impl tracing_subscriber::Layer<S>)>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        let mut builder = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint.clone());
        }
        if !settings.headers.is_empty() {
            builder = builder.with_headers(settings.headers.clone());
        }
        let exporter = builder.build().context("cannot set up the OTLP exporter")?;
        let mut attributes = vec![KeyValue::new("service.version", env!("CARGO_PKG_VERSION"))];
        if let Some(env) = &settings.environment {
            attributes.push(KeyValue::new("deployment.environment", env.clone()));
        }
        let resource = Resource::builder()
            .with_service_name(settings.service_name.clone())
            .with_attributes(attributes)
            .build();
        let sampler = match settings.sample_rate {
            Some(rate) => Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(rate))),
            None => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        };
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .with_sampler(sampler)
            .build();
        let tracer = provider.tracer("package-registry");
        let layer = tracing_opentelemetry::layer().with_tracer(tracer);
        Ok((Tracing { provider }, layer))
    }

    /// Sends the spans not exported yet; called once, at exit.
    pub fn shutdown(&self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("warning: the last traces may not have been sent: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> anyhow::Result<Option<TraceSettings>> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TraceSettings::from_vars(|name| vars.get(name).cloned())
    }

    #[test]
    fn off_without_an_endpoint() {
        assert_eq!(settings(&[]).unwrap(), None);
        assert_eq!(settings(&[("ELASTIC_APM_SERVER_URL", "")]).unwrap(), None);
    }

    #[test]
    fn the_upstream_apm_variables_turn_on_otlp() {
        let s = settings(&[
            ("ELASTIC_APM_SERVER_URL", "http://apm:8200/"),
            ("ELASTIC_APM_API_KEY", "k1"),
            ("ELASTIC_APM_SECRET_TOKEN", "ignored when a key is set"),
            ("ELASTIC_APM_SERVICE_NAME", "epr-eu"),
            ("ELASTIC_APM_ENVIRONMENT", "prod"),
            ("ELASTIC_APM_TRANSACTION_SAMPLE_RATE", "0.25"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(s.endpoint.as_deref(), Some("http://apm:8200/v1/traces"));
        assert_eq!(s.headers["Authorization"], "ApiKey k1");
        assert_eq!(s.service_name, "epr-eu");
        assert_eq!(s.environment.as_deref(), Some("prod"));
        assert_eq!(s.sample_rate, Some(0.25));
        let token = settings(&[
            ("ELASTIC_APM_SERVER_URL", "http://apm:8200"),
            ("ELASTIC_APM_SECRET_TOKEN", "t"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(token.headers["Authorization"], "Bearer t");
    }

    #[test]
    fn otel_variables_win_and_are_left_to_the_exporter() {
        let s = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("ELASTIC_APM_SERVER_URL", "http://apm:8200"),
            ("ELASTIC_APM_API_KEY", "k"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(s.endpoint, None);
        assert!(s.headers.is_empty());
        assert_eq!(s.service_name, "package-registry");
    }

    #[test]
    fn a_bad_sample_rate_is_named() {
        let err = settings(&[
            ("ELASTIC_APM_SERVER_URL", "http://apm:8200"),
            ("ELASTIC_APM_TRANSACTION_SAMPLE_RATE", "half"),
        ])
        .unwrap_err();
        assert!(format!("{err:#}").contains("ELASTIC_APM_TRANSACTION_SAMPLE_RATE"));
    }
}
