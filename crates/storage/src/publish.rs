//! Publishing candidates into a bucket (spec/storage-and-publishing.md §4; DESIGN.md
//! "Writes never overwrite and never race"), one at a time or as a batch.
//!
//! The order of the writes is what makes publishing safe:
//!
//! 1. **Check** each candidate ([`candidate::check`]): size, signature, package spec,
//!    load. A refusal writes nothing (but its audit event, [`crate::events`]).
//! 2. **Claim** `{name}-{version}` by creating `v2/claims/{name}-{version}`, holding
//!    the zip's SHA-256, with a create-only write. If it exists with the same digest,
//!    this is a retry or a twin: carry on (idempotent). With another, the version is
//!    taken: refuse, having written nothing.
//! 3. **Store** the signature (create-only), the static files (a function of the
//!    zip's bytes, which the claim made ours, so plain writes are safe), and then the
//!    public zip (create-only; a zip published before claims existed, with other
//!    bytes, is a conflict too). The zip comes last so that the CI probe "already
//!    published?" (a HEAD on it) says yes only once everything else is stored.
//! 4. **Index** ([`crate::revision`]) every candidate stored, in one revision: a new
//!    revision folder, then `cursor.json` moved to it with a compare-and-swap; on a
//!    lost race, re-read and redo.
//!
//! Each candidate of a batch is refused on its own: a refused one does not stop the
//! others, and the revision holds exactly those accepted. Artifacts become visible
//! only through the index. If a step after the claim fails, what this attempt created
//! is deleted again, so the bucket is as it was.

use std::sync::Arc;

use bytes::Bytes;
use epr_index::storage_index::IndexEntry;
use futures_util::StreamExt;

use crate::bucket::{Bucket, BucketError, Created};
use crate::candidate::{self, CheckOptions, Checked, Refusal};
use crate::events::{self, Event};
use crate::layout;
use crate::revision::{self, Applied};
use crate::signature::Keyring;

/// How many static files are written at once.
const PARALLEL_WRITES: usize = 16;

/// One candidate: its file name (`{name}-{version}.zip`), its bytes and its detached
/// signature.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub file: String,
    pub zip: Bytes,
    pub signature: Option<Bytes>,
}

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
    pub async fn publish(
        &self,
        file: &str,
        zip: Bytes,
        signature: Option<Bytes>,
    ) -> Result<Outcome, PublishError> {
        let candidate = Candidate {
            file: file.to_string(),
            zip,
            signature,
        };
        let mut outcomes = self.publish_batch(vec![candidate]).await;
        outcomes.pop().expect("one outcome per candidate")
    }

    /// Publishes the candidates in one index revision; the outcome of each, in order.
    #[tracing::instrument(name = "publish", skip_all, fields(candidates = candidates.len()))]
    pub async fn publish_batch(
        &self,
        candidates: Vec<Candidate>,
    ) -> Vec<Result<Outcome, PublishError>> {
        let about: Vec<Event> = candidates.iter().map(Candidate::event).collect();
        let outcomes = self.publish_checked(candidates).await;
        let events = about
            .into_iter()
            .zip(&outcomes)
            .map(|(e, o)| e.outcome_of(o));
        futures_util::stream::iter(events)
            .for_each_concurrent(PARALLEL_WRITES, |event| async move {
                events::record(&self.bucket, &event).await
            })
            .await;
        outcomes
    }

    async fn publish_checked(
        &self,
        candidates: Vec<Candidate>,
    ) -> Vec<Result<Outcome, PublishError>> {
        let checked = self.check_all(candidates).await;
        let published = match self.published_already(&checked).await {
            Ok(published) => published,
            Err(e) => {
                let message = e.to_string();
                return checked
                    .into_iter()
                    .map(|c| c.and(Err(PublishError::Index(message.clone()))))
                    .collect();
            }
        };
        let mut outcomes = Vec::with_capacity(checked.len());
        let mut stored = Vec::new();
        for result in checked {
            match result {
                Err(e) => outcomes.push(Some(Err(e))),
                Ok(c) if published.contains(&(c.name.clone(), c.version.clone())) => {
                    outcomes.push(Some(Ok(Outcome::AlreadyPublished {
                        name: c.name,
                        version: c.version,
                    })));
                }
                Ok(c) => match self.store(&c).await {
                    Ok(s) => {
                        stored.push((outcomes.len(), s));
                        outcomes.push(None);
                    }
                    Err(e) => outcomes.push(Some(Err(e))),
                },
            }
        }
        if stored.is_empty() {
            // Nothing to index: the index is not even read.
            return outcomes.into_iter().flatten().collect();
        }
        let entries = stored.iter().map(|(_, s)| s.entry.clone()).collect();
        match revision::add_packages(&self.bucket, entries).await {
            Ok(applied) => {
                for (i, s) in &stored {
                    outcomes[*i] = Some(Ok(outcome_of(s, &applied)));
                }
            }
            Err(e) => {
                for (i, s) in &stored {
                    self.roll_back(&s.written).await;
                    outcomes[*i] = Some(Err(PublishError::Index(e.to_string())));
                }
            }
        }
        outcomes
            .into_iter()
            .map(|o| o.expect("every candidate has an outcome"))
            .collect()
    }

    /// Writes the static files of the candidate again (it must pass the checks of a
    /// publish): for a published version whose static files went missing. Gives how
    /// many were written.
    pub async fn restore_statics(&self, candidate: Candidate) -> Result<usize, PublishError> {
        let checked = self.check(candidate).await?;
        let mut puts = futures_util::stream::iter(&checked.files)
            .map(|(path, bytes)| {
                let key = layout::static_file(&checked.name, &checked.version, path);
                let (bucket, bytes) = (self.bucket.clone(), bytes.clone());
                async move { bucket.put(&key, bytes).await }
            })
            .buffer_unordered(PARALLEL_WRITES);
        while let Some(result) = puts.next().await {
            result?;
        }
        Ok(checked.files.len())
    }

    /// The candidates published already with the same bytes (their zip is there and
    /// the index lists them): nothing is written for them. A zip there with other
    /// bytes is refused later, when the claim finds it. The index is read only when
    /// some zip is there.
    async fn published_already(
        &self,
        checked: &[Result<Checked, PublishError>],
    ) -> Result<Vec<(String, String)>, PublishError> {
        let mut stored = Vec::new();
        for c in checked.iter().flatten() {
            let key = layout::package_zip(&c.name, &c.version);
            if self.bucket.get(&key).await?.is_some_and(|zip| zip == c.zip) {
                stored.push((c.name.clone(), c.version.clone()));
            }
        }
        if stored.is_empty() {
            return Ok(stored);
        }
        revision::indexed(&self.bucket, &stored).await
    }

    /// Checks the candidates on the blocking threads, a few at a time.
    async fn check_all(&self, candidates: Vec<Candidate>) -> Vec<Result<Checked, PublishError>> {
        let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
        futures_util::stream::iter(candidates)
            .map(|c| self.check(c))
            .buffered(parallel)
            .collect()
            .await
    }

    async fn check(&self, c: Candidate) -> Result<Checked, PublishError> {
        let Candidate {
            file,
            zip,
            signature,
        } = c;
        let (name, keyring, checks) = (file.clone(), self.keyring.clone(), self.checks);
        let span = tracing::info_span!("check candidate", file = %file);
        let checked = tokio::task::spawn_blocking(move || {
            span.in_scope(|| candidate::check(&name, zip, signature, &keyring, &checks))
        })
        .await
        .map_err(|e| PublishError::Index(format!("the check of {file} failed: {e}")))??;
        tracing::info!(package = %format!("{}-{}", checked.name, checked.version), signer = %checked.signer, "candidate accepted");
        Ok(checked)
    }

    /// Claims and stores one checked candidate's artifacts, undone on failure.
    #[tracing::instrument(name = "write artifacts", skip_all, fields(package.name = %c.name, package.version = %c.version))]
    async fn store(&self, c: &Checked) -> Result<Stored, PublishError> {
        // Checked once: an entry we write must load in every registry (§2.3).
        let entry = IndexEntry::from_manifest(&c.manifest).map_err(|e| {
            PublishError::Index(format!(
                "{}-{}: the index entry would not load: {e}",
                c.name, c.version
            ))
        })?;
        let mut written = Written::default();
        match self.write_artifacts(c, &mut written).await {
            Ok(()) => Ok(Stored {
                name: c.name.clone(),
                version: c.version.clone(),
                entry,
                claimed: written.claim.is_some() || written.zip.is_some(),
                written,
            }),
            Err(e) => {
                self.roll_back(&written).await;
                Err(e)
            }
        }
    }

    async fn write_artifacts(
        &self,
        c: &Checked,
        written: &mut Written,
    ) -> Result<(), PublishError> {
        // The claim: the zip's SHA-256 in the index part, create-only. The public
        // zip is written last, so that it appears (and the CI probe "already
        // published?" says yes) only just before the index moves.
        let digest = candidate::sha256_hex(&c.zip);
        let claim_key = layout::claim(&c.name, &c.version);
        match self
            .bucket
            .create(&claim_key, Bytes::from(digest.clone()))
            .await?
        {
            Created::New => written.claim = Some(claim_key),
            Created::Exists(existing) if existing != digest.as_bytes() => {
                return Err(Refusal::Conflict {
                    name: c.name.clone(),
                    version: c.version.clone(),
                    existing: String::from_utf8_lossy(&existing).into_owned(),
                }
                .into());
            }
            // Claimed already with these bytes: an earlier attempt stopped half-way,
            // a twin is publishing right now, or it is published. Every step is
            // idempotent.
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
        if written.claim.is_some() {
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
        let zip_key = layout::package_zip(&c.name, &c.version);
        match self.bucket.create(&zip_key, c.zip.clone()).await? {
            Created::New => written.zip = Some(zip_key),
            // Published before claims existed, with other bytes.
            Created::Exists(existing) if existing != c.zip => {
                return Err(conflict(c, &existing).into());
            }
            Created::Exists(_) => {}
        }
        Ok(())
    }

    /// Deletes what this attempt created: the public zip first, the claim last, so
    /// a retry still sees the claim until everything else is gone. Failures are logged: a retry of the
    /// same candidate finishes or repeats the clean-up.
    #[tracing::instrument(name = "roll back", skip_all)]
    async fn roll_back(&self, written: &Written) {
        let keys = written
            .zip
            .iter()
            .chain(written.statics.iter())
            .chain(written.signature.iter())
            .chain(written.claim.iter());
        for key in keys {
            if let Err(e) = self.bucket.delete(key).await {
                tracing::error!(key = %key, error = %e, "could not undo a write of a failed publish");
            }
        }
    }
}

impl Candidate {
    /// The audit event of publishing it, before the outcome is known.
    fn event(&self) -> Event {
        let mut event = Event::now("publish", "");
        event.file = Some(self.file.clone());
        event.sha256 = Some(candidate::sha256_hex(&self.zip));
        event.signer_key_id = self
            .signature
            .as_ref()
            .and_then(|s| crate::signature::signer_key_id(s).ok());
        event
    }
}

impl Event {
    /// This publish event with what came of it.
    fn outcome_of(mut self, outcome: &Result<Outcome, PublishError>) -> Event {
        match outcome {
            Ok(Outcome::Published {
                name,
                version,
                cursor,
            }) => {
                self.outcome = "published".into();
                self.revision = Some(cursor.clone());
                self.package(name, version)
            }
            Ok(Outcome::AlreadyPublished { name, version }) => {
                self.outcome = "already_published".into();
                self.package(name, version)
            }
            Err(e) => {
                self.outcome = if e.is_refusal() { "refused" } else { "failed" }.into();
                self.reason(e.to_string())
            }
        }
    }
}

/// A candidate whose artifacts are stored, waiting for the index.
#[derive(Debug)]
struct Stored {
    name: String,
    version: String,
    entry: IndexEntry,
    /// Whether this attempt created the zip (else it was there with the same bytes).
    claimed: bool,
    written: Written,
}

/// The outcome of a stored candidate once the revision is written.
fn outcome_of(s: &Stored, applied: &Applied) -> Outcome {
    let key = (s.name.clone(), s.version.clone());
    let already = applied.already_there.contains(&key) && !applied.added.contains(&key);
    if already && !s.claimed {
        Outcome::AlreadyPublished {
            name: s.name.clone(),
            version: s.version.clone(),
        }
    } else {
        // Added by this revision, or by a twin with the same bytes first: published
        // all the same.
        Outcome::Published {
            name: s.name.clone(),
            version: s.version.clone(),
            cursor: applied.cursor.clone().unwrap_or_default(),
        }
    }
}

/// The keys one publish attempt created, to undo them if it fails.
#[derive(Debug, Default)]
struct Written {
    claim: Option<String>,
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
