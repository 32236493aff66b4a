//! The storage indexer of `package-registry` serving: packages from a Package
//! Storage v2 index in a bucket (spec/storage-and-publishing.md §3; spec/api.md §9).
//!
//! The index of the current revision is loaded at start (a failure is fatal, as
//! upstream; a bucket nobody published into yet is an empty index). A background task
//! then polls `cursor.json` every `--storage-indexer-watch-interval` and applies what
//! changed: the deltas when their chain can be followed, else the full index. Each
//! change builds a new catalog off the request path and swaps it in; a failed poll
//! is logged and the current catalog keeps serving.
//!
//! A catalog built from deltas reads its packages' documents from the files of the
//! revision it started from and of the deltas since. Retention removes superseded
//! revisions (`storage gc`), so once that base revision has been superseded for
//! `--storage-indexer-rebase-after` (default [`REBASE_AFTER`], an hour), the next
//! poll loads the full index of the current revision instead: the revisions a
//! registry reads are never older than that.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use epr_index::{Catalog, Listed, StorageDelta};
use epr_server::AppState;
use epr_storage::bucket::{Bucket, BucketOptions};
#[cfg(doc)]
use epr_storage::reader::REBASE_AFTER;
use epr_storage::reader::{Change, IndexReader};

use crate::config::ServeArgs;

/// The index being followed and the revision the catalog holds.
pub struct StorageSource {
    reader: IndexReader,
    cursor: Option<String>,
    /// When the first delta after the last full load was applied.
    following_since: Option<Instant>,
    /// `--storage-indexer-rebase-after`.
    rebase_after: Duration,
}

/// Opens the storage index if a storage indexer is enabled, and loads its current
/// revision.
pub async fn open(args: &ServeArgs) -> anyhow::Result<Option<(StorageSource, Vec<Listed>)>> {
    if !(args.feature_storage_indexer || args.feature_sql_storage_indexer) {
        return Ok(None);
    }
    let url = &args.storage_indexer_bucket_internal;
    if url.is_empty() {
        bail!(
            "the storage indexer needs --storage-indexer-bucket-internal (gs://, s3:// or file:// URL)"
        );
    }
    let bucket = Bucket::open(url, &BucketOptions::default())
        .with_context(|| "storage-indexer-bucket-internal".to_string())?;
    let reader = IndexReader::new(bucket);
    let (cursor, packages) = match reader
        .poll(None)
        .await
        .context("cannot load the storage index")?
    {
        Change::Full { cursor, packages } => (Some(cursor), packages),
        _ => {
            tracing::warn!(bucket = %url, "the bucket has no cursor.json yet: serving no storage packages until something is published");
            (None, Vec::new())
        }
    };
    tracing::info!(bucket = %url, cursor = ?cursor, packages = packages.len(), "storage index loaded");
    let source = StorageSource {
        reader,
        cursor,
        following_since: None,
        rebase_after: args.storage_indexer_rebase_after,
    };
    Ok(Some((source, packages)))
}

/// Polls every `interval` (never when zero) until the process ends.
pub fn spawn_poller(state: AppState, mut source: StorageSource, interval: Duration) {
    if interval.is_zero() {
        return;
    }
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let started = std::time::Instant::now();
            let result = source.poll_once(&state).await;
            if let Some(m) = state.metrics() {
                m.storage_update_duration
                    .observe(started.elapsed().as_secs_f64());
                match &result {
                    Ok(()) => m.storage_update_success.inc(),
                    Err(_) => m.storage_update_error.inc(),
                };
            }
            if let Err(e) = result {
                tracing::error!(error = %format!("{e:#}"), "storage index update failed; keeping the current packages");
            }
        }
    });
}

impl StorageSource {
    /// Looks at `cursor.json` once and applies what changed.
    #[tracing::instrument(name = "update storage index", skip_all)]
    pub async fn poll_once(&mut self, state: &AppState) -> anyhow::Result<()> {
        let rebase = self
            .following_since
            .is_some_and(|t| t.elapsed() >= self.rebase_after);
        let change = if rebase {
            tracing::info!("the base revision was superseded long ago; loading the full index");
            self.reader.reload().await?
        } else {
            self.reader.poll(self.cursor.as_deref()).await?
        };
        let (cursor, update) = match change {
            Change::Unchanged => return Ok(()),
            Change::Backwards { cursor } => {
                tracing::warn!(have = ?self.cursor, found = %cursor, "cursor.json moved backwards; ignored");
                return Ok(());
            }
            Change::CursorGone => anyhow::bail!(
                "cursor.json is gone from the bucket (was it emptied or removed?); serving revision {} until it is back",
                self.cursor.as_deref().unwrap_or("(none)")
            ),
            Change::Full { cursor, packages } => (cursor, Update::Full(packages)),
            Change::Deltas { cursor, deltas } => (cursor, Update::Deltas(deltas)),
        };
        let applied = update.describe();
        let update_kind = match update {
            Update::Full(_) => UpdateKind::Full,
            Update::Deltas(_) => UpdateKind::Deltas,
        };
        let started = std::time::Instant::now();
        let state = state.clone();
        let catalog = tokio::task::spawn_blocking(move || {
            state.update_catalog(|c| Ok::<_, std::convert::Infallible>(update.apply(c)))
        })
        .await?
        .unwrap_or_else(|never| match never {});
        tracing::info!(
            cursor = %cursor,
            applied = %applied,
            packages = catalog.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "storage index updated"
        );
        self.following_since = match update_kind {
            UpdateKind::Full => None,
            UpdateKind::Deltas => self.following_since.or(Some(Instant::now())),
        };
        self.cursor = Some(cursor);
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum UpdateKind {
    Full,
    Deltas,
}

/// What a new revision does to the storage packages of the catalog.
enum Update {
    /// Replace them all (the full index of the revision).
    Full(Vec<Listed>),
    /// Apply these changes, oldest first.
    Deltas(Vec<StorageDelta>),
}

impl Update {
    /// For the log: a fall-back to the full index shows there.
    fn describe(&self) -> String {
        match self {
            Update::Full(_) => "full index".into(),
            Update::Deltas(deltas) => format!("{} delta(s)", deltas.len()),
        }
    }

    fn apply(self, catalog: &Catalog) -> Catalog {
        match self {
            Update::Full(packages) => catalog.with_storage(packages),
            Update::Deltas(deltas) => deltas
                .into_iter()
                .fold(catalog.clone(), |c, delta| c.with_storage_delta(delta)),
        }
    }
}
