//! Publishing one candidate into a bucket (spec/storage-and-publishing.md §4; DESIGN.md
//! "Writes never overwrite and never race").
//!
//! The order of the writes is what makes publishing safe:
//!
//! 1. **Check** the candidate ([`candidate::check`]): size, signature, package spec,
//!    load. A refusal writes nothing.
//! 2. **Claim** `{name}-{version}` by creating the zip with a create-only write. If it
//!    exists with the same bytes, this is a retry or a twin: carry on (idempotent).
//!    With other bytes, the version is taken: refuse, having written nothing.
//! 3. **Store** the signature (create-only) and the static files. The static files
//!    are a function of the zip's bytes, and the zip is ours, so plain writes are safe.
//! 4. **Index** ([`crate::revision`]): a new revision folder, then `cursor.json` moved
//!    to it with a compare-and-swap; on a lost race, re-read and redo.
//!
//! Artifacts become visible only through the index. If a step after the claim fails,
//! what this attempt created is deleted again, so the bucket is as it was.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;

use crate::bucket::{Bucket, BucketError, Created};
use crate::candidate::{self, CheckOptions, Checked, Refusal};
use crate::layout;
use crate::revision::{self, Indexed};
use crate::signature::Keyring;

/// How many static files are written at once.
const PARALLEL_WRITES: usize = 16;

/// What publishing one candidate achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Newly published and visible from index revision `cursor`.
    Published {
        name: String,
        version: String,
        cursor: String,
    },
    /// Exactly these bytes were already published: nothing was written.
    AlreadyPublished { name: String, version: String },
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Published {
                name,
                version,
                cursor,
            } => write!(f, "{name}-{version}: published (index revision {cursor})"),
            Outcome::AlreadyPublished { name, version } => {
                write!(
                    f,
                    "{name}-{version}: already published with the same bytes, nothing written"
                )
            }
        }
    }
}

/// Publishing failed: the candidate was refused, or the bucket failed us.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("{0}")]
    Storage(#[from] BucketError),
    #[error("{0}")]
    Index(String),
}

impl PublishError {
    /// A refusal is final for these bytes; other failures may succeed on a retry.
    pub fn is_refusal(&self) -> bool {
        matches!(self, PublishError::Refused(_))
    }
}

/// Publishes candidates into one bucket, trusting the keys of one keyring.
#[derive(Debug, Clone)]
pub struct Publisher {
    bucket: Arc<Bucket>,
    keyring: Arc<Keyring>,
    checks: CheckOptions,
}

impl Publisher {
    pub fn new(bucket: Arc<Bucket>, keyring: Arc<Keyring>, checks: CheckOptions) -> Publisher {
        Publisher {
            bucket,
            keyring,
            checks,
        }
    }

    /// The checks every candidate goes through.
    pub fn checks(&self) -> &CheckOptions {
        &self.checks
    }

    pub fn bucket(&self) -> &Bucket {
        &self.bucket
    }

    /// Publishes the candidate `file` (its file name: `{name}-{version}.zip`).
    #[tracing::instrument(name = "publish", skip_all, fields(file = %file))]
    pub async fn publish(
        &self,
        file: &str,
        zip: Bytes,
        signature: Option<Bytes>,
    ) -> Result<Outcome, PublishError> {
        let checked = {
            let (name, keyring, checks) = (file.to_string(), self.keyring.clone(), self.checks);
            let span = tracing::info_span!("check candidate");
            tokio::task::spawn_blocking(move || {
                span.in_scope(|| candidate::check(&name, zip, signature, &keyring, &checks))
            })
            .await
            .map_err(|e| PublishError::Index(format!("the check of {file} failed: {e}")))??
        };
        tracing::info!(package = %format!("{}-{}", checked.name, checked.version), signer = %checked.signer, "candidate accepted");

        let zip_key = layout::package_zip(&checked.name, &checked.version);
        if let Some(existing) = self.bucket.get(&zip_key).await? {
            if existing != checked.zip {
                return Err(conflict(&checked, &existing).into());
            }
            if revision::is_indexed(&self.bucket, &checked.name, &checked.version).await? {
                return Ok(Outcome::AlreadyPublished {
                    name: checked.name,
                    version: checked.version,
                });
            }
            // Stored but not indexed: an earlier attempt stopped half-way, or a
            // twin is publishing right now. Finish the job; every step is idempotent.
        }

        let mut written = Written::default();
        match self.write_and_index(&checked, &mut written).await {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                self.roll_back(&written).await;
                Err(e)
            }
        }
    }

    #[tracing::instrument(name = "write artifacts and index", skip_all, fields(package.name = %c.name, package.version = %c.version))]
    async fn write_and_index(
        &self,
        c: &Checked,
        written: &mut Written,
    ) -> Result<Outcome, PublishError> {
        let zip_key = layout::package_zip(&c.name, &c.version);
        match self.bucket.create(&zip_key, c.zip.clone()).await? {
            Created::New => written.zip = Some(zip_key),
            Created::Exists(existing) if existing != c.zip => {
                return Err(conflict(c, &existing).into());
            }
            Created::Exists(_) => {}
        }
        let sig_key = layout::package_signature(&c.name, &c.version);
        if let Created::New = self.bucket.create(&sig_key, c.signature.clone()).await? {
            written.signature = Some(sig_key);
        }
        // Only a claim we made ourselves lets us delete statics on failure: a twin
        // publishing the same bytes may rely on them.
        let static_keys: Vec<String> = c
            .files
            .iter()
            .map(|(path, _)| layout::static_file(&c.name, &c.version, path))
            .collect();
        if written.zip.is_some() {
            written.statics = static_keys.clone();
        }
        let mut puts = futures_util::stream::iter(static_keys.into_iter().zip(&c.files))
            .map(|(key, (_, bytes))| {
                let bucket = self.bucket.clone();
                let bytes = bytes.clone();
                async move { bucket.put(&key, bytes).await }
            })
            .buffer_unordered(PARALLEL_WRITES);
        while let Some(result) = puts.next().await {
            result?;
        }
        drop(puts);

        match revision::add_package(&self.bucket, &c.name, &c.version, &c.manifest).await? {
            Indexed::Added { cursor } => Ok(Outcome::Published {
                name: c.name.clone(),
                version: c.version.clone(),
                cursor,
            }),
            // A twin with the same bytes indexed it first: published all the same.
            Indexed::AlreadyThere { cursor } => Ok(Outcome::Published {
                name: c.name.clone(),
                version: c.version.clone(),
                cursor,
            }),
        }
    }

    /// Deletes what this attempt created; the zip last, so a retry still sees
    /// a claim until everything else is gone. Failures are logged: a retry of the
    /// same candidate finishes or repeats the clean-up.
    #[tracing::instrument(name = "roll back", skip_all)]
    async fn roll_back(&self, written: &Written) {
        let keys = written
            .statics
            .iter()
            .chain(written.signature.iter())
            .chain(written.zip.iter());
        for key in keys {
            if let Err(e) = self.bucket.delete(key).await {
                tracing::error!(key = %key, error = %e, "could not undo a write of a failed publish");
            }
        }
    }
}

/// The keys one publish attempt created, to undo them if it fails.
#[derive(Debug, Default)]
struct Written {
    zip: Option<String>,
    signature: Option<String>,
    statics: Vec<String>,
}

fn conflict(c: &Checked, existing: &[u8]) -> Refusal {
    Refusal::Conflict {
        name: c.name.clone(),
        version: c.version.clone(),
        existing: candidate::sha256_hex(existing),
    }
}
