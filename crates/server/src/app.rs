//! Shared state: settings and the current catalog, swapped atomically on reload.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use epr_index::Catalog;

use crate::cache::ResponseCache;
use crate::metrics::Metrics;

/// The settings the HTTP layer needs, read once at startup.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub cache_index: Duration,
    pub cache_search: Duration,
    pub cache_categories: Duration,
    pub cache_catch_all: Duration,
    pub allow_unknown_query_parameters: bool,
    /// `service.name` of the index document (`ELASTIC_APM_SERVICE_NAME` or `package-registry`).
    pub service_name: String,
    pub service_version: String,
    /// Bytes the JSON response cache may hold (bodies and their compressed forms);
    /// past it the oldest entries are dropped. Not a setting of the upstream.
    pub response_cache_bytes: usize,
    /// Proxy mode: the upstream registry whose packages are offered too; `None`
    /// serves the local packages only.
    pub proxy: Option<crate::proxy::ProxyConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            cache_index: Duration::from_secs(10),
            cache_search: Duration::from_secs(600),
            cache_categories: Duration::from_secs(600),
            cache_catch_all: Duration::from_secs(600),
            allow_unknown_query_parameters: true,
            service_name: "package-registry".into(),
            service_version: env!("CARGO_PKG_VERSION").into(),
            response_cache_bytes: 64 << 20,
            proxy: None,
        }
    }
}

/// How many large package files are read for their clients at once. Each holds a
/// blocking thread and about 300 KiB (four 64 KiB pieces queued, the inflater) for
/// as long as its client reads; more requests wait their turn.
pub const STREAMED_FILES: usize = 64;

/// How many heavy tasks ([`AppState::run_heavy`]) run at once: one CPU is left
/// to the serving threads (one task on a machine of one or two CPUs).
fn heavy_tasks() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    cpus.saturating_sub(1).max(1)
}

/// Everything a handler needs; cloning is one atomic increment.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

pub struct App {
    pub config: ServerConfig,
    /// Readers load the current snapshot; a reload stores a new one and never waits for them.
    pub catalog: ArcSwap<Catalog>,
    /// Serialises the writers (the package path watcher, the storage poller), so
    /// that each derives its new catalog from the latest one and no change is lost.
    /// Readers never take it.
    writer: std::sync::Mutex<()>,
    /// Where the files of storage packages are read; `None` without a storage indexer.
    pub storage: Option<crate::storage_files::StorageEndpoint>,
    /// The JSON bodies of the current catalog; every swap resets it.
    pub responses: ResponseCache,
    /// Folder packages being zipped for download: one per core at a time.
    zip_permits: tokio::sync::Semaphore,
    /// Large package files being streamed: [`STREAMED_FILES`] at a time.
    stream_permits: Arc<tokio::sync::Semaphore>,
    /// Work too heavy for a serving thread: see [`AppState::run_heavy`].
    heavy_permits: Arc<tokio::sync::Semaphore>,
    /// Set when `--metrics-address` is: nothing is recorded otherwise, as upstream.
    metrics: Option<Arc<Metrics>>,
}

impl AppState {
    pub fn new(config: ServerConfig, catalog: Catalog) -> AppState {
        Self::with_storage(config, catalog, None)
    }

    /// A state whose storage packages' files are read from `storage`.
    pub fn with_storage(
        config: ServerConfig,
        catalog: Catalog,
        storage: Option<crate::storage_files::StorageEndpoint>,
    ) -> AppState {
        Self::with_metrics(config, catalog, storage, None)
    }

    /// A state that records its metrics in `metrics`.
    pub fn with_metrics(
        config: ServerConfig,
        catalog: Catalog,
        storage: Option<crate::storage_files::StorageEndpoint>,
        metrics: Option<Arc<Metrics>>,
    ) -> AppState {
        if let Some(m) = &metrics {
            m.indexed_packages.set(catalog.len() as i64);
        }
        let catalog = Arc::new(catalog);
        AppState(Arc::new(App {
            responses: ResponseCache::new(config.response_cache_bytes, &catalog),
            config,
            catalog: ArcSwap::new(catalog),
            writer: std::sync::Mutex::new(()),
            storage,
            zip_permits: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
            stream_permits: Arc::new(tokio::sync::Semaphore::new(STREAMED_FILES)),
            heavy_permits: Arc::new(tokio::sync::Semaphore::new(heavy_tasks())),
            metrics,
        }))
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        self.0.catalog.load_full()
    }

    /// Replaces the catalog; requests in flight finish on the one they started with.
    pub fn swap_catalog(&self, catalog: Catalog) {
        let _writer = self.lock_writer();
        let catalog = Arc::new(catalog);
        self.0.catalog.store(catalog.clone());
        self.0.responses.reset(&catalog);
        self.count_swap(&catalog);
    }

    /// Derives a new catalog from the current one and swaps it in. Writers run one
    /// at a time; `change` gets the latest catalog, and an error keeps it.
    pub fn update_catalog<E>(
        &self,
        change: impl FnOnce(&Catalog) -> Result<Catalog, E>,
    ) -> Result<Arc<Catalog>, E> {
        let _writer = self.lock_writer();
        let next = Arc::new(change(&self.0.catalog.load())?);
        self.0.catalog.store(next.clone());
        self.0.responses.reset(&next);
        self.count_swap(&next);
        Ok(next)
    }

    fn count_swap(&self, catalog: &Catalog) {
        if let Some(m) = &self.0.metrics {
            m.catalog_swaps.inc();
            m.indexed_packages.set(catalog.len() as i64);
        }
    }

    pub fn metrics(&self) -> Option<&Arc<Metrics>> {
        self.0.metrics.as_ref()
    }

    /// Records the time each indexer takes to answer a query in
    /// `epr_indexer_get_duration_seconds`, when metrics are on.
    /// `catalog`'s entry of `name` `version`; each indexer asked is timed only
    /// when there are metrics to tell it to (two clock reads per indexer).
    pub fn find_in<'c>(
        &self,
        catalog: &'c Catalog,
        name: &str,
        version: &str,
    ) -> Option<&'c epr_index::Entry> {
        match self.metrics() {
            Some(_) => catalog.find_timed(name, version, &mut self.indexer_timer()),
            None => catalog.find(name, version),
        }
    }

    pub fn indexer_timer(&self) -> impl FnMut(&str, Duration) + '_ {
        let metrics = self.metrics();
        move |indexer, took| {
            if let Some(m) = metrics {
                m.observe_indexer_get(indexer, took);
            }
        }
    }

    fn lock_writer(&self) -> std::sync::MutexGuard<'_, ()> {
        // A writer that panicked left no half-made state behind (the swap is one
        // store), so the lock stays usable.
        self.0.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    pub fn responses(&self) -> &ResponseCache {
        &self.0.responses
    }

    pub fn zip_permits(&self) -> &tokio::sync::Semaphore {
        &self.0.zip_permits
    }

    pub fn stream_permits(&self) -> Arc<tokio::sync::Semaphore> {
        self.0.stream_permits.clone()
    }

    /// Runs `work` (a search computed on a cache miss, a large body compressed)
    /// on the blocking pool, a CPU less than the machine has at a time, so that
    /// the serving threads keep answering cached requests and health checks
    /// however many clients ask for answers that are not cached yet.
    pub async fn run_heavy<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, crate::response::AppError> {
        let permit = self
            .0
            .heavy_permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        // The permit goes with the work: a client that leaves does not free its
        // slot while its work still runs (a client leaving at once could
        // otherwise start work without bound).
        let held = move || {
            let _permit = permit;
            work()
        };
        tokio::task::spawn_blocking(held).await.map_err(|e| {
            crate::response::AppError::internal(format_args!("heavy work failed: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Condvar, Mutex};

    /// A client that leaves while its heavy work runs must not free the work's
    /// slot: otherwise clients leaving at once could start work without bound.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn heavy_work_keeps_its_slot_after_its_client_leaves() {
        let state = AppState::new(ServerConfig::default(), Catalog::default());
        let slots = heavy_tasks();
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        // Opened however the test ends: the runtime waits for blocked work.
        struct Opens(Arc<(Mutex<bool>, Condvar)>);
        impl Drop for Opens {
            fn drop(&mut self) {
                *self.0.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
                self.0.1.notify_all();
            }
        }
        let opens = Opens(gate.clone());
        let clients: Vec<_> = (0..slots)
            .map(|_| {
                let (state, gate) = (state.clone(), gate.clone());
                tokio::spawn(async move {
                    state
                        .run_heavy(move || {
                            let (open, opened) = &*gate;
                            let mut open = open.lock().unwrap();
                            while !*open {
                                open = opened.wait(open).unwrap();
                            }
                        })
                        .await
                })
            })
            .collect();
        let permits = || state.0.heavy_permits.available_permits();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while permits() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the work never held its slots"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        for client in &clients {
            client.abort();
        }
        for client in clients {
            let _ = client.await;
        }
        assert_eq!(permits(), 0, "the work still runs, so its slots stay taken");
        drop(opens);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while permits() < slots {
            assert!(std::time::Instant::now() < deadline, "slots never freed");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
