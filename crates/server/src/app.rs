//! Shared state: settings and the current catalog, swapped atomically on reload.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use epr_index::Catalog;

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
        }
    }
}

/// Everything a handler needs; cloning is one atomic increment.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

pub struct App {
    pub config: ServerConfig,
    /// Readers load the current snapshot; a reload stores a new one and never waits for them.
    pub catalog: ArcSwap<Catalog>,
}

impl AppState {
    pub fn new(config: ServerConfig, catalog: Catalog) -> AppState {
        AppState(Arc::new(App {
            config,
            catalog: ArcSwap::from_pointee(catalog),
        }))
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        self.0.catalog.load_full()
    }

    /// Replaces the catalog; requests in flight finish on the one they started with.
    pub fn swap_catalog(&self, catalog: Catalog) {
        self.0.catalog.store(Arc::new(catalog));
    }

    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }
}
