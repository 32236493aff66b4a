//! The registry side: reading the index of a bucket (spec/storage-and-publishing.md
//! §3.2 to §3.4).
//!
//! At start the full index of the current revision is loaded. Afterwards each poll
//! reads `cursor.json`; when it moved forward, the reader follows the `"previous"`
//! links of the new revisions' deltas back to the revision it has, and returns those
//! deltas in order, so the catalog applies only what changed. When the chain is
//! broken (a delta missing or unreadable, a revision written by a tool that does not
//! record `"previous"`), it falls back to the full index of the new revision.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use epr_index::storage_index;
use epr_index::{Listed, ManifestSource, StorageDelta};

use crate::bucket::{Bucket, BucketError};
use crate::cursor;
use crate::layout;

/// How many deltas a poll follows before it prefers the full index.
const MAX_CHAIN: usize = 1000;

/// How long a registry keeps following deltas after its base revision (the one whose
/// full index it loaded) was superseded, before it loads the full index of the
/// current revision again: a registry reads the documents of its packages from the
/// files of its base revision and of the deltas since, so this bounds how long a
/// superseded revision stays in use, and what retention must keep
/// ([`crate::gc::Retention::keep_for`], 24 hours by default).
pub const REBASE_AFTER: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// What a poll found.
#[derive(Debug)]
pub enum Change {
    /// `cursor.json` still points at the revision we have.
    Unchanged,
    /// `cursor.json` points at an older revision than ours: ignored (writers only
    /// move it forward; upstream's incremental reader ignores it too).
    Backwards { cursor: String },
    /// `cursor.json` is gone though we read it before: the bucket was emptied,
    /// removed or is not the one it was (a `file://` folder deleted, say).
    CursorGone,
    /// The deltas from our revision to `cursor`, oldest first.
    Deltas {
        cursor: String,
        deltas: Vec<StorageDelta>,
    },
    /// The full index of `cursor`.
    Full {
        cursor: String,
        packages: Vec<Listed>,
    },
}

/// Reading the index failed; the registry keeps what it has.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Bucket(#[from] BucketError),
    #[error("{bucket}: {message}")]
    Index { bucket: String, message: String },
}

/// Reads the index part of one bucket.
#[derive(Debug)]
pub struct IndexReader {
    bucket: Bucket,
}

impl IndexReader {
    pub fn new(bucket: Bucket) -> IndexReader {
        IndexReader { bucket }
    }

    pub fn bucket(&self) -> &Bucket {
        &self.bucket
    }

    fn error(&self, message: impl Into<String>) -> ReadError {
        ReadError::Index {
            bucket: self.bucket.url().to_string(),
            message: message.into(),
        }
    }

    /// The revision `cursor.json` points at; `None` for a bucket nobody published
    /// into yet.
    pub async fn cursor(&self) -> Result<Option<String>, ReadError> {
        match self.bucket.get(layout::CURSOR).await? {
            None => Ok(None),
            Some(bytes) => cursor::parse(&bytes)
                .map(Some)
                .map_err(|e| self.error(e.to_string())),
        }
    }

    /// The full index of revision `cursor`: every entry or an error (one bad entry
    /// fails the whole index, as upstream). Read in blocks, never held whole; the
    /// packages are summaries whose full documents are read from the file when asked
    /// for ([`epr_index::FullDocument::Stored`]).
    pub async fn full(&self, cursor: &str) -> Result<Vec<Listed>, ReadError> {
        let key = layout::search_index_all(cursor);
        let Some(reader) = self.bucket.reader(&key).await? else {
            return Err(self.error(format!(
                "cursor.json points at revision {cursor}, but {key} is missing"
            )));
        };
        let source = BucketFile::source(&self.bucket, &key);
        tokio::task::spawn_blocking(move || storage_index::read_search_index_all(reader, source))
            .await
            .map_err(|e| self.error(format!("{key}: {e}")))?
            .map_err(|e| self.error(format!("{key}: {e}")))
    }

    /// The full index of the current revision, as a [`Change::Full`] (or
    /// [`Change::CursorGone`] when there is none any more).
    pub async fn reload(&self) -> Result<Change, ReadError> {
        let Some(latest) = self.cursor().await? else {
            return Ok(Change::CursorGone);
        };
        let packages = self.full(&latest).await?;
        Ok(Change::Full {
            cursor: latest,
            packages,
        })
    }

    /// What changed since revision `have` (`None`: nothing loaded yet).
    pub async fn poll(&self, have: Option<&str>) -> Result<Change, ReadError> {
        let Some(latest) = self.cursor().await? else {
            return Ok(match have {
                None => Change::Unchanged,
                Some(_) => Change::CursorGone,
            });
        };
        let Some(have) = have else {
            let packages = self.full(&latest).await?;
            return Ok(Change::Full {
                cursor: latest,
                packages,
            });
        };
        if latest == have {
            return Ok(Change::Unchanged);
        }
        if is_older(&latest, have) {
            return Ok(Change::Backwards { cursor: latest });
        }
        match self.delta_chain(have, &latest).await? {
            Some(deltas) => Ok(Change::Deltas {
                cursor: latest,
                deltas,
            }),
            None => {
                let packages = self.full(&latest).await?;
                Ok(Change::Full {
                    cursor: latest,
                    packages,
                })
            }
        }
    }

    /// The deltas leading from `have` to `latest`, oldest first, or `None` when the
    /// chain cannot be followed.
    async fn delta_chain(
        &self,
        have: &str,
        latest: &str,
    ) -> Result<Option<Vec<StorageDelta>>, ReadError> {
        let mut chain = Vec::new();
        let mut at = latest.to_string();
        while chain.len() < MAX_CHAIN {
            let key = layout::search_index_delta(&at);
            let Some(bytes) = self.bucket.get(&key).await? else {
                tracing::info!(key = %key, "no delta; loading the full index");
                return Ok(None);
            };
            let source = BucketFile::source(&self.bucket, &key);
            let parsed =
                tokio::task::spawn_blocking(move || storage_index::read_delta(bytes, source))
                    .await
                    .map_err(|e| self.error(format!("{key}: {e}")))?;
            let (previous, delta) = match parsed {
                Ok(ok) => ok,
                Err(e) => {
                    tracing::warn!(key = %key, error = %e, "unreadable delta; loading the full index");
                    return Ok(None);
                }
            };
            chain.push(delta);
            match previous {
                Some(p) if p == have => {
                    chain.reverse();
                    return Ok(Some(chain));
                }
                Some(p) if !is_older(&p, have) => at = p,
                _ => return Ok(None),
            }
        }
        Ok(None)
    }
}

/// One object of a bucket, read by range: where the full documents of the packages
/// read from an index file come from. Revisions are never rewritten, so the ranges
/// stay valid as long as the revision's folder is there.
#[derive(Debug)]
struct BucketFile {
    bucket: Bucket,
    key: String,
}

impl BucketFile {
    fn source(bucket: &Bucket, key: &str) -> Arc<dyn ManifestSource> {
        Arc::new(BucketFile {
            bucket: bucket.clone(),
            key: key.to_string(),
        })
    }
}

impl ManifestSource for BucketFile {
    fn read(
        &self,
        range: Range<u64>,
    ) -> Pin<Box<dyn Future<Output = Result<Bytes, String>> + Send>> {
        let (bucket, key) = (self.bucket.clone(), self.key.clone());
        Box::pin(async move {
            bucket
                .get_range(&key, range.clone())
                .await
                .map_err(|e| format!("{key} bytes {}..{}: {e}", range.start, range.end))
        })
    }
}

fn is_older(a: &str, b: &str) -> bool {
    cursor::is_before(a, b)
}
