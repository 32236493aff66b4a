//! The package path watcher: on changes, reload off the request path and swap.
//!
//! Like the upstream, each package path is watched non-recursively (adding,
//! replacing or removing a package folder or zip is a change of a direct child) and
//! events are debounced for a second. A reload that fails keeps the current catalog
//! and logs why; requests are answered from the current catalog throughout.

use std::sync::Arc;
use std::sync::mpsc::{RecvTimeoutError, channel};

use anyhow::Context;
use epr_index::Catalog;
use epr_server::AppState;
use notify::{RecursiveMode, Watcher};

use crate::serve::WATCH_DEBOUNCE;

/// Builds the next catalog from the current one.
pub type Reloader = Arc<dyn Fn(&Catalog) -> anyhow::Result<Catalog> + Send + Sync>;

/// Starts watching; dropping the returned watcher stops it.
pub fn start(
    state: AppState,
    paths: &[std::path::PathBuf],
    reload: Reloader,
) -> anyhow::Result<notify::RecommendedWatcher> {
    let (tx, rx) = channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            let _ = tx.send(());
        }
    })
    .context("cannot start the package path watcher")?;
    for path in paths {
        if let Err(e) = watcher.watch(path, RecursiveMode::NonRecursive) {
            tracing::warn!(path = %path.display(), error = %e, "cannot watch package path");
        }
    }
    std::thread::spawn(move || {
        while rx.recv().is_ok() {
            // Debounce: wait until no event came for a whole interval.
            loop {
                match rx.recv_timeout(WATCH_DEBOUNCE) {
                    Ok(()) => continue,
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            match state.update_catalog(|current| reload(current)) {
                Ok(catalog) => {
                    tracing::info!(
                        packages = catalog.len(),
                        "package paths changed; catalog reloaded"
                    );
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "reloading packages failed; keeping the previous packages")
                }
            }
        }
    });
    Ok(watcher)
}
