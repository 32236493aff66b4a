//! `package-registry` with no subcommand: load the packages, then serve the API.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use epr_index::sources::load_package_paths;
use epr_index::{Catalog, Indexer};
use epr_package::LoadOptions;
use epr_server::{AppState, ServerConfig};

use crate::config::{FileConfig, ServeArgs};

/// Everything the load needs, settled from flags and the config file.
#[derive(Debug, Clone)]
struct LoadSettings {
    paths: Vec<PathBuf>,
    options: LoadOptions,
    workers: usize,
}

/// The zip and folder indexers of the package paths.
fn load_local(s: &LoadSettings) -> anyhow::Result<Vec<Indexer>> {
    match load_package_paths(&s.paths, &s.options, s.workers) {
        Ok(indexers) => Ok(indexers),
        Err(errors) => {
            let details: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            bail!(
                "{} package(s) failed to load:\n{}",
                errors.len(),
                details.join("\n")
            )
        }
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let workers = match args.package_paths_workers {
        Some(n) if n <= 0 => bail!("package-paths-workers must be greater than 0"),
        Some(n) => n as usize,
        None => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    };
    let proxy = (args.feature_proxy_mode)
        .then(|| epr_server::proxy::ProxyConfig::new(&args.proxy_to, args.proxy_allow_insecure))
        .transpose()?;
    let file = FileConfig::load(&args.config)?;
    let settings = LoadSettings {
        paths: file.package_paths.clone(),
        options: LoadOptions {
            validate: !args.disable_package_validation,
            require_signature: args.require_package_signatures,
        },
        workers,
    };
    if args.package_paths_enable_watcher && settings.paths.is_empty() {
        bail!("the package path watcher needs at least one package path in the configuration");
    }

    let started = std::time::Instant::now();
    let local = {
        let s = settings.clone();
        tokio::task::spawn_blocking(move || load_local(&s)).await??
    };
    let mut storage = crate::storage_source::open(&args).await?;
    let mut catalog = Catalog::new(local);
    if let Some((_, packages)) = &mut storage {
        // Moved, not cloned: `storage` lives as long as the server, so a copy left in
        // it would keep the first revision's packages alive after a full reload.
        catalog = catalog.with_storage(std::mem::take(packages));
    }
    tracing::info!(
        packages = catalog.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "packages loaded"
    );
    if args.dry_run {
        return Ok(());
    }
    if catalog.is_empty() && storage.is_none() {
        if proxy.is_some() {
            tracing::info!("no local packages found, but the proxy mode can access remote ones");
        } else if args.package_paths_enable_watcher {
            tracing::warn!("no local packages found; waiting for the watcher to find some");
        } else {
            bail!("No local packages found.");
        }
    }

    let config = ServerConfig {
        cache_index: file.cache_index,
        cache_search: file.cache_search,
        cache_categories: file.cache_categories,
        cache_catch_all: file.cache_catch_all,
        allow_unknown_query_parameters: args.allow_unknown_query_parameters,
        service_name: std::env::var("ELASTIC_APM_SERVICE_NAME")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "package-registry".into()),
        proxy,
        ..ServerConfig::default()
    };
    let endpoint = match &storage {
        Some(_) => Some(
            epr_server::storage_files::StorageEndpoint::parse(&args.storage_endpoint)
                .map_err(anyhow::Error::msg)?,
        ),
        None => None,
    };
    if config.proxy.is_some() {
        tracing::info!(
            "technical preview: proxy mode is an experimental feature and may be unstable"
        );
    }
    let state = AppState::with_storage(config, catalog, endpoint);
    if let Some((source, _)) = storage {
        crate::storage_source::spawn_poller(
            state.clone(),
            source,
            args.storage_indexer_watch_interval,
        );
    }
    let _watcher = if args.package_paths_enable_watcher {
        let paths = settings.paths.clone();
        // The storage packages stay as they are: only the local indexers reload.
        let reload: crate::watch::Reloader =
            Arc::new(move |current: &Catalog| Ok(current.with_local(load_local(&settings)?)));
        Some(crate::watch::start(state.clone(), &paths, reload)?)
    } else {
        None
    };

    let listener = tokio::net::TcpListener::bind(&args.address)
        .await
        .with_context(|| format!("cannot listen on {}", args.address))?;
    tracing::info!(address = %args.address, "listening");
    axum::serve(listener, epr_server::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

/// How long the watcher waits for a burst of changes to settle.
pub const WATCH_DEBOUNCE: Duration = Duration::from_secs(1);
