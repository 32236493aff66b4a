//! Prometheus metrics, served at `/metrics` on the listener of `--metrics-address`.
//!
//! The `epr_*` names, help texts, labels and buckets are the upstream's
//! (`metrics/metrics.go` of elastic/package-registry 1.40.1), so its dashboards and
//! alerts work unchanged; `process_*` are those of Go's process collector. Ours, for
//! what the upstream does not have, are marked below. As upstream, nothing is
//! recorded unless `--metrics-address` is set (the state then holds no [`Metrics`]).
//!
//! Served in the OpenMetrics text format, which Prometheus negotiates and prefers.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::process_metrics::ProcessCollector;

/// client_golang's `prometheus.DefBuckets`, which the upstream's histograms use.
const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// The upstream's buckets of request and response sizes.
const SIZE_BUCKETS: [f64; 9] = [
    16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 65536.0, 262144.0,
];

/// Labels of the HTTP metrics: status, lowercase method, route template.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub code: u16,
    pub method: &'static str,
    pub path: &'static str,
}

/// Labels of `epr_storage_requests_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StorageLabels {
    /// `local` (served from here) or `remote` (piped from a storage endpoint or
    /// redirected to the proxied registry).
    pub location: &'static str,
    /// `artifacts`, `statics` or `signatures`.
    pub component: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceInfo {
    version: String,
    instance: String,
}

/// The label of `epr_indexer_get_duration_seconds`: the upstream's name of the
/// indexer (see [`Metrics::observe_indexer_get`]).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IndexerLabel {
    pub indexer: &'static str,
}

/// Which storage indexer the upstream would run, for its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageIndexerKind {
    /// `--feature-storage-indexer`: `StorageIndexer`.
    InMemory,
    /// `--feature-sql-storage-indexer`: `SQLStorageIndexer`.
    Sql,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(DEFAULT_BUCKETS)
}

fn size_histogram() -> Histogram {
    Histogram::new(SIZE_BUCKETS)
}

/// Every metric, and the registry that prints them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_request_duration: HistogramFamily<HttpLabels>,
    pub http_request_size: HistogramFamily<HttpLabels>,
    pub http_response_size: HistogramFamily<HttpLabels>,
    pub in_flight_requests: Gauge,
    pub indexed_packages: Gauge,
    pub storage_requests: Family<StorageLabels, Counter>,
    pub indexer_get_duration: HistogramFamily<IndexerLabel>,
    storage_indexer: StorageIndexerKind,
    pub storage_update_success: Counter,
    pub storage_update_error: Counter,
    pub storage_update_duration: Histogram,
    /// Ours: catalogs swapped in (reloads, storage index revisions).
    pub catalog_swaps: Counter,
    /// Ours: JSON answers found in the response cache, and computed.
    pub response_cache_hits: Counter,
    pub response_cache_misses: Counter,
}

impl Metrics {
    /// All metrics at zero; `instance` is the `epr_service_info` label (the host name).
    pub fn new(version: &str, instance: &str, storage_indexer: StorageIndexerKind) -> Arc<Metrics> {
        let mut m = Metrics {
            storage_indexer,
            http_requests: Family::default(),
            http_request_duration: Family::new_with_constructor(latency_histogram),
            http_request_size: Family::new_with_constructor(size_histogram),
            http_response_size: Family::new_with_constructor(size_histogram),
            in_flight_requests: Gauge::default(),
            indexed_packages: Gauge::default(),
            storage_requests: Family::default(),
            indexer_get_duration: Family::new_with_constructor(latency_histogram),
            storage_update_success: Counter::default(),
            storage_update_error: Counter::default(),
            storage_update_duration: latency_histogram(),
            catalog_swaps: Counter::default(),
            response_cache_hits: Counter::default(),
            response_cache_misses: Counter::default(),
            registry: Registry::default(),
        };
        let info = Family::<ServiceInfo, Gauge>::default();
        info.get_or_create(&ServiceInfo {
            version: version.to_string(),
            instance: instance.to_string(),
        })
        .set(1);
        // The handles above are registered in the registry they sit beside. The
        // help texts are the upstream's without their final period, which
        // prometheus-client adds.
        let r = &mut m.registry;
        r.register(
            "epr_service_info",
            "Version information about this binary",
            info,
        );
        r.register(
            "epr_number_indexed_packages",
            "A gauge for number of indexed packages",
            m.indexed_packages.clone(),
        );
        r.register(
            "epr_storage_requests",
            "A counter for requests performed to the storage",
            m.storage_requests.clone(),
        );
        r.register(
            "epr_storage_indexer_update_index_success",
            "A counter for all the updates index of the cursor that finished successfully in the storage indexer",
            m.storage_update_success.clone(),
        );
        r.register(
            "epr_storage_indexer_update_index_error",
            "A counter for all the update index of the cursor that finished with error in the storage indexer",
            m.storage_update_error.clone(),
        );
        r.register(
            "epr_storage_indexer_update_index_duration_seconds",
            "A histogram of latencies for update index processes run by the storage indexer",
            m.storage_update_duration.clone(),
        );
        r.register(
            "epr_indexer_get_duration_seconds",
            "A histogram of latencies for get processes run by the indexer",
            m.indexer_get_duration.clone(),
        );
        r.register(
            "epr_in_flight_requests",
            "A gauge of requests currently being served by the http server",
            m.in_flight_requests.clone(),
        );
        r.register(
            "epr_http_requests",
            "A counter for requests to the http server",
            m.http_requests.clone(),
        );
        r.register(
            "epr_http_request_duration_seconds",
            "A histogram of latencies for requests to the http server",
            m.http_request_duration.clone(),
        );
        r.register(
            "epr_http_request_size_bytes",
            "A histogram of sizes of requests to the http server",
            m.http_request_size.clone(),
        );
        r.register(
            "epr_http_response_size_bytes",
            "A histogram of response sizes for requests to the http server",
            m.http_response_size.clone(),
        );
        r.register(
            "epr_catalog_swaps",
            "Catalogs swapped in: package path reloads and storage index revisions applied",
            m.catalog_swaps.clone(),
        );
        r.register(
            "epr_response_cache_hits",
            "JSON answers served from the response cache",
            m.response_cache_hits.clone(),
        );
        r.register(
            "epr_response_cache_misses",
            "JSON answers computed because the response cache did not hold them",
            m.response_cache_misses.clone(),
        );
        // Unprefixed, as Go's process collector names them.
        r.register_collector(Box::new(ProcessCollector::new()));
        Arc::new(m)
    }

    /// Records how long one indexer took to answer a query. The labels are the
    /// upstream's names of its indexers: package paths have a zip and a folder
    /// indexer there too, and the storage one is named after its feature flag.
    pub fn observe_indexer_get(&self, indexer: &str, took: Duration) {
        let indexer = match indexer {
            epr_index::ZIP_INDEXER => "ZipFileSystemIndexer",
            epr_index::FOLDER_INDEXER => "FileSystemIndexer",
            epr_index::STORAGE_INDEXER => match self.storage_indexer {
                StorageIndexerKind::InMemory => "StorageIndexer",
                StorageIndexerKind::Sql => "SQLStorageIndexer",
            },
            _ => "unknown",
        };
        self.indexer_get_duration
            .get_or_create(&IndexerLabel { indexer })
            .observe(took.as_secs_f64());
    }

    /// The OpenMetrics text of every metric.
    pub fn render(&self) -> String {
        render(&self.registry)
    }
}

/// The OpenMetrics text of every metric of `registry`.
pub(crate) fn render(registry: &Registry) -> String {
    let mut out = String::with_capacity(16 * 1024);
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, registry);
    out
}

/// The upstream's `method` label: lowercase for the methods client_golang knows,
/// `unknown` for any other.
pub fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "get",
        http::Method::HEAD => "head",
        http::Method::POST => "post",
        http::Method::PUT => "put",
        http::Method::DELETE => "delete",
        http::Method::CONNECT => "connect",
        http::Method::OPTIONS => "options",
        http::Method::TRACE => "trace",
        http::Method::PATCH => "patch",
        _ if method.as_str().eq_ignore_ascii_case("notify") => "notify",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indexer_counts(m: &Metrics) -> Vec<String> {
        m.render()
            .lines()
            .filter(|l| l.starts_with("epr_indexer_get_duration_seconds_count"))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_storage_indexer_is_named_after_its_feature_flag() {
        let took = Duration::from_micros(30);
        let m = Metrics::new("1", "h", StorageIndexerKind::InMemory);
        m.observe_indexer_get(epr_index::STORAGE_INDEXER, took);
        assert_eq!(
            indexer_counts(&m),
            [r#"epr_indexer_get_duration_seconds_count{indexer="StorageIndexer"} 1"#]
        );
        let m = Metrics::new("1", "h", StorageIndexerKind::Sql);
        m.observe_indexer_get(epr_index::STORAGE_INDEXER, took);
        m.observe_indexer_get(epr_index::STORAGE_INDEXER, took);
        assert_eq!(
            indexer_counts(&m),
            [r#"epr_indexer_get_duration_seconds_count{indexer="SQLStorageIndexer"} 2"#]
        );
    }
}
