//! Advancing the index: a new revision folder, then `cursor.json` moved to it with a
//! compare-and-swap (spec/storage-and-publishing.md §2.2, §2.3, §4.2).
//!
//! A revision is written under a cursor nobody has used: its delta is created first,
//! with a create-only write, which claims the folder; then its full index is written,
//! streamed from the current one with the change applied
//! ([`epr_index::index_rewrite`]), so the publisher never holds an index, whatever its
//! size. The revision becomes visible only when `cursor.json` is replaced on the
//! condition that it still points where it pointed when we read it. Losing that race
//! means another publisher advanced the index first: delete our unused folder,
//! re-read, redo. So two publishers at once both end up in the index; neither is lost.
//!
//! A change is a batch: any number of packages added (and updated or removed) in one
//! revision, one full index written and one cursor move for all of them.
//!
//! Each delta also records the revision it follows (`"previous"`, a key upstream's
//! reader ignores), so a reader can tell a chain of deltas from a folder left behind
//! by a publisher that crashed before moving the cursor.

use std::time::Duration;

use bytes::Bytes;
use epr_index::index_rewrite::{
    IndexChange, IndexedVersion, RewriteError, Rewritten, find_entry, rewrite_search_index_all,
    versions_in,
};
use epr_index::storage_index::{DeltaDocument, IndexEntry};
use epr_index::storage_index::{IndexError, Yank};

use crate::bucket::{Bucket, BucketError, ObjectVersion};
use crate::cursor;
use crate::events::{self, Event};
use crate::layout;
use crate::publish::PublishError;

/// How often a publisher re-reads and retries after losing the cursor race before
/// giving up (each attempt is a few requests; contention is between publishers).
const MAX_ATTEMPTS: u32 = 100;

/// What [`apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The revision the index is at now: the new one, or the current one when the
    /// change changed nothing (`None`: the bucket has no index yet).
    pub cursor: Option<String>,
    /// Whether a new revision was written.
    pub new_revision: bool,
    /// `(name, version)` of the entries added by this change.
    pub added: Vec<(String, String)>,
    /// `(name, version)` of the entries to add that were there already.
    pub already_there: Vec<(String, String)>,
    /// `(name, version)` of the entries to update or remove that were not there.
    pub missing: Vec<(String, String)>,
}

/// `cursor.json`: the current revision and the version it was read at.
struct Current {
    cursor: Option<String>,
    version: Option<ObjectVersion>,
}

async fn read_current(bucket: &Bucket) -> Result<Current, PublishError> {
    let Some((bytes, version)) = bucket.get_versioned(layout::CURSOR).await? else {
        return Ok(Current {
            cursor: None,
            version: None,
        });
    };
    let cursor = cursor::parse(&bytes).map_err(|e| PublishError::Index(e.to_string()))?;
    Ok(Current {
        cursor: Some(cursor),
        version: Some(version),
    })
}

/// Which of `wanted` (`(name, version)`) the current index lists; the index is read
/// in blocks, not held.
pub async fn indexed(
    bucket: &Bucket,
    wanted: &[(String, String)],
) -> Result<Vec<(String, String)>, PublishError> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let listed: std::collections::HashSet<(String, String)> = listed(bucket)
        .await?
        .into_iter()
        .map(|v| (v.name, v.version))
        .collect();
    Ok(wanted
        .iter()
        .filter(|k| listed.contains(*k))
        .cloned()
        .collect())
}

/// Every entry of the current index, in index order.
pub async fn listed(bucket: &Bucket) -> Result<Vec<IndexedVersion>, PublishError> {
    let Some(cursor) = read_current(bucket).await?.cursor else {
        return Ok(Vec::new());
    };
    read_full_index(bucket, &cursor, versions_in).await
}

/// The full index of revision `cursor`, or the error that says it is missing.
async fn full_index_reader(
    bucket: &Bucket,
    cursor: &str,
) -> Result<Box<dyn std::io::Read + Send>, PublishError> {
    let key = layout::search_index_all(cursor);
    bucket.reader(&key).await?.ok_or_else(|| {
        PublishError::Index(format!(
            "{}: cursor.json points at revision {cursor}, but {key} is missing",
            bucket.url()
        ))
    })
}

/// `read` applied to the full index of revision `cursor`, on a blocking thread (the
/// index is read in blocks, not held).
async fn read_full_index<T: Send + 'static>(
    bucket: &Bucket,
    cursor: &str,
    read: impl FnOnce(Box<dyn std::io::Read + Send>) -> Result<T, IndexError> + Send + 'static,
) -> Result<T, PublishError> {
    let reader = full_index_reader(bucket, cursor).await?;
    let key = layout::search_index_all(cursor);
    tokio::task::spawn_blocking(move || read(reader))
        .await
        .map_err(|e| PublishError::Index(format!("{}: reading {key}: {e}", bucket.url())))?
        .map_err(|e| PublishError::Index(format!("{}: {key}: {e}", bucket.url())))
}

/// What [`set_yank`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum YankOutcome {
    /// The index says so from revision `cursor` on.
    Changed { cursor: String },
    /// It said so already.
    Unchanged,
    /// The index does not list the version.
    NotListed,
}

/// Yanks `name`-`version` (`yank` set) or unyanks it (`None`) in a new revision: its
/// entry is replaced by the same manifest with or without the `"yanked"` mark.
/// Nothing else changes; nothing is deleted.
pub async fn set_yank(
    bucket: &Bucket,
    name: &str,
    version: &str,
    yank: Option<Yank>,
) -> Result<YankOutcome, PublishError> {
    let Some(cursor) = read_current(bucket).await?.cursor else {
        return Ok(YankOutcome::NotListed);
    };
    let (n, v) = (name.to_string(), version.to_string());
    let entry = read_full_index(bucket, &cursor, move |r| find_entry(r, &n, &v)).await?;
    let Some(entry) = entry else {
        return Ok(YankOutcome::NotListed);
    };
    if entry.yank().is_some() == yank.is_some() {
        return Ok(YankOutcome::Unchanged);
    }
    let reason = yank.as_ref().map(|y| y.reason.clone());
    let change = IndexChange {
        updated: vec![entry.with_yank(yank)],
        ..IndexChange::default()
    };
    let applied = apply(bucket, change).await?;
    match (applied.new_revision, applied.cursor) {
        (true, Some(cursor)) => {
            let action = if reason.is_some() { "yank" } else { "unyank" };
            let mut event = Event::now(action, &format!("{action}ed")).package(name, version);
            event.reason = reason;
            event.revision = Some(cursor.clone());
            events::record(bucket, &event).await;
            Ok(YankOutcome::Changed { cursor })
        }
        // Removed meanwhile by another writer.
        _ => Ok(YankOutcome::NotListed),
    }
}

/// Adds packages (their `package_manifest`s) to the index in one new revision; those
/// there already are left as they are.
pub async fn add_packages(
    bucket: &Bucket,
    entries: Vec<IndexEntry>,
) -> Result<Applied, PublishError> {
    apply(
        bucket,
        IndexChange {
            added: entries,
            ..IndexChange::default()
        },
    )
    .await
}

/// Applies `change` to the index in one new revision, unless it changes nothing.
pub async fn apply(bucket: &Bucket, change: IndexChange) -> Result<Applied, PublishError> {
    if change.added.is_empty() && change.updated.is_empty() && change.removed.is_empty() {
        let current = read_current(bucket).await?;
        return Ok(Applied {
            cursor: current.cursor,
            ..Applied::default()
        });
    }
    for attempt in 0..MAX_ATTEMPTS {
        let current = read_current(bucket).await?;
        let intended = delta_of(current.cursor.clone(), &change);
        let new_cursor =
            claim_revision(bucket, current.cursor.as_deref(), intended.clone()).await?;
        let rewritten =
            match write_full_index(bucket, current.cursor.as_deref(), &new_cursor, &change).await {
                Ok(rewritten) => rewritten,
                Err(e) => {
                    discard_revision(bucket, &new_cursor).await;
                    return Err(e);
                }
            };
        let mut applied = Applied {
            cursor: current.cursor.clone(),
            new_revision: false,
            added: keys(&rewritten.added),
            already_there: rewritten.already_there.clone(),
            missing: rewritten.missing.clone(),
        };
        let exact = exact_change(&change, &rewritten);
        if exact.added.is_empty() && exact.updated.is_empty() && exact.removed.is_empty() {
            discard_revision(bucket, &new_cursor).await;
            return Ok(applied);
        }
        let delta = delta_of(current.cursor.clone(), &exact);
        if delta != intended {
            let key = layout::search_index_delta(&new_cursor);
            if let Err(e) = bucket.put(&key, delta).await {
                discard_revision(bucket, &new_cursor).await;
                return Err(e.into());
            }
        }
        let pointer = Bytes::from(cursor::render(&new_cursor));
        match bucket
            .replace(layout::CURSOR, pointer, current.version.as_ref())
            .await
        {
            Ok(()) => {
                applied.cursor = Some(new_cursor);
                applied.new_revision = true;
                return Ok(applied);
            }
            Err(BucketError::Conflict { .. }) => {
                tracing::debug!(
                    attempt,
                    "another publisher advanced the index first; retrying"
                );
                discard_revision(bucket, &new_cursor).await;
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(e) => {
                discard_revision(bucket, &new_cursor).await;
                return Err(e.into());
            }
        }
    }
    Err(PublishError::Index(format!(
        "{}: could not advance the index after {MAX_ATTEMPTS} attempts; too many publishers at once?",
        bucket.url()
    )))
}

fn keys(entries: &[IndexEntry]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|e| (e.name().to_string(), e.version().to_string()))
        .collect()
}

/// The part of `change` that did change the index.
fn exact_change(change: &IndexChange, rewritten: &Rewritten) -> IndexChange {
    let found = |name: &str, version: &str| {
        !rewritten
            .missing
            .iter()
            .any(|(n, v)| n == name && v == version)
    };
    IndexChange {
        added: rewritten.added.clone(),
        updated: change
            .updated
            .iter()
            .filter(|e| found(e.name(), e.version()))
            .cloned()
            .collect(),
        removed: change
            .removed
            .iter()
            .filter(|(n, v)| found(n, v))
            .cloned()
            .collect(),
    }
}

/// The delta file of `change` following revision `previous`, compact.
fn delta_of(previous: Option<String>, change: &IndexChange) -> Bytes {
    let compact = |entries: &[IndexEntry]| entries.iter().map(IndexEntry::compact).collect();
    let delta = DeltaDocument {
        previous,
        added: compact(&change.added),
        updated: compact(&change.updated),
        removed: change.removed.clone(),
    };
    Bytes::from(delta.to_compact_bytes())
}

/// Claims the first unused revision folder after `previous` by creating its delta
/// there (create-only); returns its cursor.
async fn claim_revision(
    bucket: &Bucket,
    previous: Option<&str>,
    delta: Bytes,
) -> Result<String, PublishError> {
    let mut candidate = cursor::next(previous, cursor::now_millis());
    for _ in 0..MAX_ATTEMPTS {
        let key = layout::search_index_delta(&candidate);
        if bucket.create_if_absent(&key, vec![delta.clone()]).await? {
            return Ok(candidate);
        }
        // Another publisher is writing a revision under this cursor right now.
        candidate = cursor::next(Some(&candidate), 0);
    }
    Err(PublishError::Index(format!(
        "{}: no free revision folder after {previous:?}",
        bucket.url()
    )))
}

/// Writes the full index of revision `new` in a claimed folder: the full index of
/// `current` (none: an empty index) with `change` applied, streamed through.
async fn write_full_index(
    bucket: &Bucket,
    current: Option<&str>,
    new: &str,
    change: &IndexChange,
) -> Result<Rewritten, PublishError> {
    let reader = match current {
        None => None,
        Some(cursor) => Some(full_index_reader(bucket, cursor).await?),
    };
    let key = layout::search_index_all(new);
    let mut upload = bucket.upload(&key).await?;
    // Two chunks in the channel, one being uploaded and one being written: the
    // publisher's memory does not grow with the index.
    let (chunks, mut to_upload) = tokio::sync::mpsc::channel::<Bytes>(2);
    let change = change.clone();
    let rewriting = tokio::task::spawn_blocking(move || {
        rewrite_search_index_all(reader, &change, |chunk| chunks.blocking_send(chunk).is_ok())
    });
    let mut failed = None;
    while let Some(chunk) = to_upload.recv().await {
        if let Err(e) = upload.write(chunk).await {
            failed = Some(e);
            break;
        }
    }
    // Stops the rewriting if the upload failed.
    drop(to_upload);
    let rewritten = rewriting
        .await
        .map_err(|e| PublishError::Index(format!("{}: writing {key}: {e}", bucket.url())));
    let outcome = match (failed, rewritten) {
        (Some(e), _) => Err(e.into()),
        (None, Err(e)) => Err(e),
        (None, Ok(Err(RewriteError::Index(e)))) => {
            let old = layout::search_index_all(current.unwrap_or_default());
            Err(PublishError::Index(format!("{}: {old}: {e}", bucket.url())))
        }
        (None, Ok(Err(RewriteError::Stopped))) => Err(PublishError::Index(format!(
            "{}: writing {key} stopped",
            bucket.url()
        ))),
        (None, Ok(Ok(rewritten))) => Ok(rewritten),
    };
    match outcome {
        Ok(rewritten) => {
            upload.finish().await?;
            Ok(rewritten)
        }
        Err(e) => {
            upload.abort().await;
            Err(e)
        }
    }
}

/// Removes a revision that lost the race for `cursor.json` (best effort: a folder
/// left behind is never pointed at, and readers that follow `"previous"` skip it).
async fn discard_revision(bucket: &Bucket, cursor: &str) {
    for key in [
        layout::search_index_delta(cursor),
        layout::search_index_all(cursor),
    ] {
        if let Err(e) = bucket.delete(&key).await {
            tracing::warn!(key = %key, error = %e, "could not remove an unused index revision");
        }
    }
}

/// Randomised, growing pauses so that publishers that collided do not collide again.
fn backoff(attempt: u32) -> Duration {
    let base = 10u64 << attempt.min(6);
    let jitter = u64::from(std::process::id()).wrapping_mul(31)
        ^ cursor::now_millis().wrapping_mul(2654435761);
    Duration::from_millis(base + jitter % base.max(1))
}
