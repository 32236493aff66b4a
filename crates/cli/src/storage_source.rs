//! The storage indexer of `package-registry` serving: packages from a Package
//! Storage v2 index in a bucket (spec/storage-and-publishing.md §3; spec/api.md §9).
//!
//! The index of the current revision is loaded at start (a failure is fatal, as
//! upstream; a bucket nobody published into yet is an empty index). A background task
//! then polls `cursor.json` every `--storage-indexer-watch-interval` and applies what
//! changed: the deltas when their chain can be followed, else the full index. Each
//! change builds a new catalog off the request path and swaps it in; a failed poll
//! is logged and the current catalog keeps serving.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use epr_index::Catalog;
use epr_index::catalog::StorageDelta;
use epr_package::Package;
use epr_server::AppState;
use epr_storage::bucket::{Bucket, BucketOptions};
use epr_storage::reader::{Change, IndexReader};

use crate::config::ServeArgs;

/// The index being followed and the revision the catalog holds.
pub struct StorageSource {
    reader: IndexReader,
    cursor: Option<String>,
}

/// Opens the storage index if a storage indexer is enabled, and loads its current
/// revision.
pub async fn open(args: &ServeArgs) -> anyhow::Result<Option<(StorageSource, Vec<Arc<Package>>)>> {
    if args.feature_storage_indexer && args.feature_sql_storage_indexer {
        bail!("storage indexer and SQL storage indexer are mutually exclusive, enable only one");
    }
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
    let packages = packages.into_iter().map(Arc::new).collect();
    Ok(Some((StorageSource { reader, cursor }, packages)))
}

/// Polls every `interval` (never when zero) until the process ends.
pub fn spawn_poller(state: AppState, mut source: StorageSource, interval: Duration) {
    if interval.is_zero() {
        return;
    }
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            if let Err(e) = source.poll_once(&state).await {
                tracing::error!(error = %format!("{e:#}"), "storage index update failed; keeping the current packages");
            }
        }
    });
}

impl StorageSource {
    /// Looks at `cursor.json` once and applies what changed.
    pub async fn poll_once(&mut self, state: &AppState) -> anyhow::Result<()> {
        let change = self.reader.poll(self.cursor.as_deref()).await?;
        let (cursor, apply): (String, Box<dyn FnOnce(&Catalog) -> Catalog + Send>) = match change {
            Change::Unchanged => return Ok(()),
            Change::Backwards { cursor } => {
                tracing::warn!(have = ?self.cursor, found = %cursor, "cursor.json moved backwards; ignored");
                return Ok(());
            }
            Change::Full { cursor, packages } => {
                let packages: Vec<Arc<Package>> = packages.into_iter().map(Arc::new).collect();
                (
                    cursor,
                    Box::new(move |c: &Catalog| c.with_storage(packages)),
                )
            }
            Change::Deltas { cursor, deltas } => {
                let deltas: Vec<StorageDelta> = deltas
                    .into_iter()
                    .map(|d| StorageDelta {
                        removed: d.removed,
                        updated: d.updated.into_iter().map(Arc::new).collect(),
                        added: d.added.into_iter().map(Arc::new).collect(),
                    })
                    .collect();
                (
                    cursor,
                    Box::new(move |c: &Catalog| {
                        let mut next: Option<Catalog> = None;
                        for delta in deltas {
                            next = Some(next.as_ref().unwrap_or(c).with_storage_delta(delta));
                        }
                        next.unwrap_or_else(|| c.with_storage_delta(StorageDelta::default()))
                    }),
                )
            }
        };
        let started = std::time::Instant::now();
        let state = state.clone();
        let catalog = tokio::task::spawn_blocking(move || {
            state.update_catalog(|c| Ok::<_, std::convert::Infallible>(apply(c)))
        })
        .await?
        .unwrap_or_else(|never| match never {});
        tracing::info!(
            cursor = %cursor,
            packages = catalog.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "storage index updated"
        );
        self.cursor = Some(cursor);
        Ok(())
    }
}
