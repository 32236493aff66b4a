//! The package path watcher: on changes, reload off the request path and swap.
//!
//! Like the upstream, each package path is watched non-recursively (adding,
//! replacing or removing a package folder or zip is a change of a direct child) and
//! events are debounced for a second. Only creations, writes, renames and removals
//! count: a reload opens every zip, and counting those opens as changes made each
//! reload start the next one. A steady stream of changes still reloads within
//! [`WATCH_MAX_WAIT`] of the first. A reload that fails keeps the current catalog
//! and logs why; requests are answered from the current catalog throughout.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use anyhow::Context;
use epr_index::Catalog;
use epr_server::AppState;
use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher};

use crate::serve::{WATCH_DEBOUNCE, WATCH_MAX_WAIT};

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
        if event.is_ok_and(|e| is_change(&e.kind)) {
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
            if !settle(&rx, WATCH_DEBOUNCE, WATCH_MAX_WAIT) {
                return;
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

/// Whether an event can change what the package paths hold: a creation, a write,
/// a rename or a removal. Opening, reading and closing a file unwritten cannot,
/// nor can a change of its times or permissions.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        // A platform that cannot say what happened: take it as a change.
        EventKind::Any | EventKind::Other => true,
    }
}

/// After a first change, waits until none came for `quiet`, or until `max_wait`
/// has passed since that first change, whichever is sooner. False when the
/// watcher is gone.
fn settle(rx: &Receiver<()>, quiet: Duration, max_wait: Duration) -> bool {
    let deadline = Instant::now() + max_wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        match rx.recv_timeout(quiet.min(left)) {
            Ok(()) => continue,
            Err(RecvTimeoutError::Timeout) => return true,
            Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, MetadataKind, RemoveKind, RenameMode};

    #[test]
    fn reading_a_package_is_not_a_change() {
        for kind in [
            EventKind::Access(AccessKind::Open(AccessMode::Read)),
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Access(AccessKind::Read),
            EventKind::Access(AccessKind::Any),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)),
        ] {
            assert!(!is_change(&kind), "{kind:?}");
        }
        for kind in [
            EventKind::Create(CreateKind::File),
            EventKind::Create(CreateKind::Folder),
            EventKind::Remove(RemoveKind::File),
            EventKind::Modify(ModifyKind::Data(DataChange::Content)),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Modify(ModifyKind::Any),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Any,
        ] {
            assert!(is_change(&kind), "{kind:?}");
        }
    }

    #[test]
    fn a_steady_stream_of_changes_settles_at_the_maximum_wait() {
        let (tx, rx) = channel();
        // A change every 20 ms for 5 s, each well within the 200 ms quiet time.
        let sender = std::thread::spawn(move || {
            for _ in 0..250 {
                if tx.send(()).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let started = Instant::now();
        assert!(settle(
            &rx,
            Duration::from_millis(200),
            Duration::from_millis(500)
        ));
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_secs(3),
            "settled only after {waited:?}, with changes still coming"
        );
        drop(rx);
        sender.join().unwrap();
    }

    #[test]
    fn a_quiet_interval_settles_and_a_lost_watcher_stops() {
        let (tx, rx) = channel::<()>();
        assert!(settle(
            &rx,
            Duration::from_millis(10),
            Duration::from_secs(60)
        ));
        drop(tx);
        assert!(!settle(
            &rx,
            Duration::from_secs(60),
            Duration::from_secs(60)
        ));
    }
}
