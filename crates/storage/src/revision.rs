//! Advancing the index: a new revision folder, then `cursor.json` moved to it with a
//! compare-and-swap (spec/storage-and-publishing.md §2.2, §2.3, §4.2).
//!
//! A revision is written under a cursor nobody has used (create-only writes), and
//! becomes visible only when `cursor.json` is replaced on the condition that it still
//! points where it pointed when we read it. Losing that race means another publisher
//! advanced the index first: delete our unused folder, re-read, redo. So two
//! publishers at once both end up in the index; neither is lost.
//!
//! Each delta also records the revision it follows (`"previous"`, a key upstream's
//! reader ignores), so a reader can tell a chain of deltas from a folder left behind
//! by a publisher that crashed before moving the cursor.

use std::time::Duration;

use bytes::Bytes;
use epr_index::storage_index::{DeltaDocument, IndexDocument, IndexEntry};
use epr_package::json::Json;

use crate::bucket::{Bucket, BucketError};
use crate::cursor;
use crate::layout;
use crate::publish::PublishError;

/// How often a publisher re-reads and retries after losing the cursor race before
/// giving up (each attempt is a few requests; contention is between publishers).
const MAX_ATTEMPTS: u32 = 100;

/// Where a package stands in the index after [`add_package`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Indexed {
    /// Added by us in revision `cursor`.
    Added { cursor: String },
    /// Someone else had added it already; `cursor` is the current revision.
    AlreadyThere { cursor: String },
}

/// The current revision: its cursor, the version of `cursor.json` it was read at,
/// and its full index.
struct Current {
    cursor: Option<String>,
    version: Option<crate::bucket::ObjectVersion>,
    index: IndexDocument,
}

async fn read_current(bucket: &Bucket) -> Result<Current, PublishError> {
    let Some((bytes, version)) = bucket.get_versioned(layout::CURSOR).await? else {
        return Ok(Current {
            cursor: None,
            version: None,
            index: IndexDocument::new(),
        });
    };
    let cursor = cursor::parse(&bytes).map_err(|e| PublishError::Index(e.to_string()))?;
    let key = layout::search_index_all(&cursor);
    let Some(index) = bucket.get(&key).await? else {
        return Err(PublishError::Index(format!(
            "{}: cursor.json points at revision {cursor}, but {key} is missing",
            bucket.url()
        )));
    };
    let index = IndexDocument::parse(index)
        .map_err(|e| PublishError::Index(format!("{}: {key}: {e}", bucket.url())))?;
    Ok(Current {
        cursor: Some(cursor),
        version: Some(version),
        index,
    })
}

/// Is `name`-`version` in the current index?
pub async fn is_indexed(bucket: &Bucket, name: &str, version: &str) -> Result<bool, PublishError> {
    Ok(read_current(bucket).await?.index.contains(name, version))
}

/// Adds one package (its `package_manifest`) to the index in a new revision.
pub async fn add_package(
    bucket: &Bucket,
    name: &str,
    version: &str,
    manifest: &Json,
) -> Result<Indexed, PublishError> {
    // Checked once: an entry we write must load in every registry (§2.3).
    let entry = IndexEntry::from_manifest(manifest).map_err(|e| {
        PublishError::Index(format!(
            "{name}-{version}: the index entry would not load: {e}"
        ))
    })?;
    for attempt in 0..MAX_ATTEMPTS {
        let mut current = read_current(bucket).await?;
        if current.index.contains(name, version) {
            return Ok(Indexed::AlreadyThere {
                cursor: current.cursor.unwrap_or_default(),
            });
        }
        current.index.push(entry.clone());
        let full = current.index.to_parts();
        let delta = DeltaDocument {
            previous: current.cursor.clone(),
            added: vec![entry.clone()],
            ..DeltaDocument::default()
        };
        let delta = Bytes::from(delta.to_bytes());
        let new_cursor = write_revision(bucket, current.cursor.as_deref(), full, delta).await?;
        let pointer = Bytes::from(cursor::render(&new_cursor));
        match bucket
            .replace(layout::CURSOR, pointer, current.version.as_ref())
            .await
        {
            Ok(()) => return Ok(Indexed::Added { cursor: new_cursor }),
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

/// Writes a revision under the first unused cursor after `previous`; returns it.
async fn write_revision(
    bucket: &Bucket,
    previous: Option<&str>,
    full: Vec<Bytes>,
    delta: Bytes,
) -> Result<String, PublishError> {
    let mut candidate = cursor::next(previous, cursor::now_millis());
    for _ in 0..MAX_ATTEMPTS {
        let key = layout::search_index_all(&candidate);
        if bucket.create_if_absent(&key, full.clone()).await? {
            bucket
                .put(&layout::search_index_delta(&candidate), delta)
                .await?;
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
