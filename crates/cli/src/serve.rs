//! `package-registry` with no subcommand: load the packages, then serve the API.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use epr_index::sources::load_package_paths;
use epr_index::{Catalog, Indexer};
use epr_package::LoadOptions;
use epr_server::metrics::{Metrics, StorageIndexerKind};
use epr_server::{AppState, ServerConfig};

use tokio::net::TcpListener;

use crate::config::{FileConfig, ServeArgs};
use crate::listen::{self, ListenSettings};

/// Everything the load needs, settled from flags and the config file.
#[derive(Debug, Clone)]
struct LoadSettings {
    paths: Vec<PathBuf>,
    options: LoadOptions,
    workers: usize,
}

/// The zip and folder indexers of the package paths (a span of the traces).
fn load_local(s: &LoadSettings) -> anyhow::Result<Vec<Indexer>> {
    let span = tracing::info_span!("load packages", paths = s.paths.len());
    let _in = span.enter();
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
    check_feature_flags(&args)?;
    let proxy = (args.feature_proxy_mode)
        .then(|| epr_server::proxy::ProxyConfig::new(&args.proxy_to, args.proxy_allow_insecure))
        .transpose()?;
    let listen = ListenSettings::from_args(&args)?;
    // A bad certificate fails the start before the packages are loaded.
    let tls = listen.tls.as_ref().map(listen::tls_acceptor).transpose()?;
    let file = FileConfig::load_given(args.config.as_deref())?;
    for (key, line) in &file.unknown_keys {
        tracing::warn!(
            "configuration key `{key}` (line {line}) is not a setting of this registry and is ignored"
        );
    }
    if !args.httpprof.is_empty() {
        tracing::warn!(
            address = %args.httpprof,
            "--httpprof is ignored: there is no Go pprof here; see the metrics of --metrics-address"
        );
    }
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
            bail!("{}", no_packages_hint(&settings.paths));
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
    let storage_indexer = if args.feature_sql_storage_indexer {
        StorageIndexerKind::Sql
    } else {
        StorageIndexerKind::InMemory
    };
    let metrics = listen
        .metrics_address
        .as_ref()
        .map(|_| Metrics::new(&config.service_version, &host_name(), storage_indexer));
    let state = AppState::with_metrics(config, catalog, endpoint, metrics);
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

    let api = listen::bind(&listen.address, "--address").await?;
    let metrics = match &listen.metrics_address {
        Some(address) => Some(listen::bind(address, "--metrics-address").await?),
        None => None,
    };
    serve_until_signal(state, api, tls, metrics, &listen).await
}

/// Serves the API (and the metrics) until SIGTERM or SIGINT, then lets requests in
/// flight finish within the shutdown timeout.
async fn serve_until_signal(
    state: AppState,
    api: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    metrics: Option<TcpListener>,
    listen: &ListenSettings,
) -> anyhow::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let wait_stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let metrics_task = metrics.map(|listener| {
        tracing::info!(address = %local_address(&listener), "serving metrics at /metrics");
        let router = epr_server::metrics_router(state.clone());
        let limits = listen::metrics_limits(&listen.limits);
        tokio::spawn(epr_server::listener::serve(
            listener,
            None,
            router,
            limits,
            wait_stop(stopped.clone()),
        ))
    });
    // One serving thread per CPU this process may use (cgroup quotas included).
    let threads = std::thread::available_parallelism().unwrap_or(std::num::NonZeroUsize::MIN);
    tracing::info!(
        address = %local_address(&api),
        tls = tls.is_some(),
        max_connections = listen.limits.max_connections,
        threads = threads.get(),
        "listening"
    );
    let signal = async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    };
    let served = epr_server::listener::serve_on_threads(
        api,
        threads,
        tls,
        epr_server::api(state),
        listen.limits.clone(),
        signal,
    )
    .await;
    // Dropping `signal` unsent (the threads did not start) stops the metrics too.
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    served.context("cannot start the threads serving the API")?;
    tracing::info!("Package registry stopped");
    Ok(())
}

/// The `instance` of `epr_service_info`: the host name, or `localhost` as upstream
/// when there is none.
fn host_name() -> String {
    let uname = rustix::system::uname();
    let name = uname.nodename().to_string_lossy();
    if name.is_empty() {
        "localhost".into()
    } else {
        name.into_owned()
    }
}

fn local_address(listener: &TcpListener) -> String {
    listener
        .local_addr()
        .map_or_else(|_| "?".into(), |a| a.to_string())
}

/// What to do when there is nothing to serve.
fn no_packages_hint(paths: &[PathBuf]) -> String {
    let looked = if paths.is_empty() {
        "config.yml lists no package_paths".to_string()
    } else {
        let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        format!("looked in {}", paths.join(", "))
    };
    format!(
        "No local packages found. ({looked}.) Add package folders or zips to package_paths \
         in config.yml, or serve a Package Storage bucket with --feature-storage-indexer \
         --storage-indexer-bucket-internal URL."
    )
}

/// The upstream's checks of the feature flags (spec/api.md §7.2).
fn check_feature_flags(args: &ServeArgs) -> anyhow::Result<()> {
    if args.feature_storage_indexer && args.feature_sql_storage_indexer {
        bail!(
            "both -feature-storage-indexer and -feature-sql-storage-indexer flags are enabled but are mutually exclusive"
        );
    }
    if args.feature_incremental_updates && args.feature_sql_storage_indexer {
        bail!(
            "feature-incremental-updates is not supported with feature-sql-storage-indexer; disable one of them"
        );
    }
    if args.feature_enable_search_cache && !args.feature_sql_storage_indexer {
        bail!(
            "search cache is only supported in SQL storage indexer: feature-enable-search-cache is enabled, but feature-sql-storage-indexer is not enabled"
        );
    }
    if args.feature_enable_categories_cache && !args.feature_sql_storage_indexer {
        bail!(
            "categories cache is just supported with SQL Storage indexer: feature-enable-categories-cache is enabled, but feature-sql-storage-indexer is not enabled"
        );
    }
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
/// The longest a change waits for its reload while more keep coming.
pub const WATCH_MAX_WAIT: Duration = Duration::from_secs(5);
