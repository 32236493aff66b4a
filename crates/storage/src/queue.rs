//! The publishing worker: candidates dropped into a queue location are published
//! until the worker is stopped (spec/storage-and-publishing.md §2.4, §4.1).
//!
//! The queue is a bucket (or a folder of one). A candidate is `{anything}/{name}-{version}.zip`
//! with `{name}-{version}.zip.sig` beside it. The worker
//!
//! - publishes the pairs ready in one look at the queue in one index revision (see
//!   [`Publisher::publish_batch`]), and deletes each once published (or already
//!   published);
//! - on a refusal keeps the pair and writes `{zip}.refused.txt` beside it with the
//!   reason; the worker skips it from then on (delete that file to retry);
//! - on a storage failure keeps the pair untouched and retries on its next round;
//! - refuses a zip still without its signature after a grace period (an upload in
//!   progress gets that long to finish).
//!
//! Nothing is lost silently: every candidate is either published, or still in the
//! queue with a reason, or still in the queue waiting for a retry.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;

use crate::bucket::{Bucket, BucketError};
use crate::candidate::Refusal;
use crate::gc::{self, Retention};
use crate::layout::REFUSAL_SUFFIX;
use crate::publish::{Candidate, Outcome, PublishError, Publisher};

/// How the worker runs.
#[derive(Debug, Clone, Copy)]
pub struct WorkerOptions {
    /// The pause between two looks at the queue.
    pub interval: Duration,
    /// How long a zip may wait for its signature before it is refused.
    pub signature_grace: Duration,
    /// Retention applied after each round that published something
    /// ([`crate::gc`]); `None`: the revisions are left alone.
    pub gc: Option<Retention>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            interval: Duration::from_secs(10),
            signature_grace: Duration::from_secs(300),
            gc: None,
        }
    }
}

/// What one look at the queue did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    pub published: Vec<String>,
    pub refused: Vec<String>,
    /// Candidates left for a later round (storage failure, signature not there yet).
    pub deferred: Vec<String>,
}

/// What became of one candidate, for [`QueueObserver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateOutcome {
    Published,
    /// The same bytes were published already; removed from the queue.
    AlreadyPublished,
    /// Refused for good (a `.refused.txt` says why).
    Refused,
    /// The bucket failed; retried on the next round.
    Failed,
}

impl CandidateOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateOutcome::Published => "published",
            CandidateOutcome::AlreadyPublished => "already_published",
            CandidateOutcome::Refused => "refused",
            CandidateOutcome::Failed => "failed",
        }
    }
}

/// Told what the worker does, for its metrics. The storage crate knows no metrics
/// library: the CLI gives an observer that records them, `&()` ignores it.
pub trait QueueObserver: Send + Sync {
    /// One candidate was processed, taking `took`.
    fn candidate(&self, _outcome: CandidateOutcome, _took: Duration) {}
    /// One look at the queue ended: what it did, or why the queue could not be read.
    fn round(&self, _result: Result<&Round, &BucketError>) {}
}

impl QueueObserver for () {}

/// Processes every candidate in `queue` once.
pub async fn run_once(
    publisher: &Publisher,
    queue: &Bucket,
    options: &WorkerOptions,
    observer: &dyn QueueObserver,
) -> Result<Round, BucketError> {
    let result = look_at_queue(publisher, queue, options, observer).await;
    observer.round(result.as_ref());
    if let (Ok(round), Some(retention)) = (&result, &options.gc)
        && !round.published.is_empty()
    {
        collect_garbage(publisher.bucket(), retention).await;
    }
    result
}

async fn look_at_queue(
    publisher: &Publisher,
    queue: &Bucket,
    options: &WorkerOptions,
    observer: &dyn QueueObserver,
) -> Result<Round, BucketError> {
    let keys: BTreeSet<String> = queue.list("").await?.into_iter().collect();
    let mut round = Round::default();
    let mut ready = Vec::new();
    for zip_key in keys.iter().filter(|k| k.ends_with(".zip")) {
        if keys.contains(&format!("{zip_key}{REFUSAL_SUFFIX}")) {
            continue;
        }
        let sig_key = format!("{zip_key}.sig");
        if !keys.contains(&sig_key) {
            if waited_too_long(queue, zip_key, options.signature_grace).await? {
                refuse(
                    queue,
                    zip_key,
                    &format!(
                        "{zip_key}: no signature: {sig_key} did not arrive within {}s",
                        options.signature_grace.as_secs()
                    ),
                )
                .await?;
                observer.candidate(CandidateOutcome::Refused, Duration::ZERO);
                round.refused.push(zip_key.clone());
            } else {
                round.deferred.push(zip_key.clone());
            }
            continue;
        }
        ready.push((zip_key.clone(), sig_key));
    }
    // Everything ready is published in one revision (batches of at most
    // MAX_BATCH_BYTES of zips, which are in memory together).
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    for (zip_key, sig_key) in ready {
        let started = Instant::now();
        match fetch(publisher, queue, &zip_key, &sig_key).await {
            Ok(candidate) => {
                if batch_bytes + candidate.zip.len() > MAX_BATCH_BYTES && !batch.is_empty() {
                    let full = std::mem::take(&mut batch);
                    publish(publisher, queue, full, observer, &mut round).await?;
                    batch_bytes = 0;
                }
                batch_bytes += candidate.zip.len();
                batch.push((zip_key, sig_key, candidate));
            }
            Err(e) => {
                settle(
                    queue,
                    &zip_key,
                    &sig_key,
                    Err(e),
                    started,
                    observer,
                    &mut round,
                )
                .await?
            }
        }
    }
    if !batch.is_empty() {
        publish(publisher, queue, batch, observer, &mut round).await?;
    }
    Ok(round)
}

/// The zips of one revision hold at most this much.
const MAX_BATCH_BYTES: usize = 512 << 20;

/// Publishes a batch in one revision and settles each of its candidates.
async fn publish(
    publisher: &Publisher,
    queue: &Bucket,
    batch: Vec<(String, String, Candidate)>,
    observer: &dyn QueueObserver,
    round: &mut Round,
) -> Result<(), BucketError> {
    let started = Instant::now();
    let (keys, candidates): (Vec<_>, Vec<_>) = batch
        .into_iter()
        .map(|(zip_key, sig_key, candidate)| ((zip_key, sig_key), candidate))
        .unzip();
    let outcomes = publisher.publish_batch(candidates).await;
    for ((zip_key, sig_key), outcome) in keys.iter().zip(outcomes) {
        settle(queue, zip_key, sig_key, outcome, started, observer, round).await?;
    }
    Ok(())
}

/// What becomes of a candidate in the queue once its outcome is known.
async fn settle(
    queue: &Bucket,
    zip_key: &str,
    sig_key: &str,
    outcome: Result<Outcome, PublishError>,
    started: Instant,
    observer: &dyn QueueObserver,
    round: &mut Round,
) -> Result<(), BucketError> {
    match outcome {
        Ok(outcome) => {
            tracing::info!(candidate = %zip_key, "{outcome}");
            // The zip goes first: a lone signature is never mistaken for work.
            queue.delete(zip_key).await?;
            queue.delete(sig_key).await?;
            let outcome = match outcome {
                Outcome::Published { .. } => CandidateOutcome::Published,
                Outcome::AlreadyPublished { .. } => CandidateOutcome::AlreadyPublished,
            };
            observer.candidate(outcome, started.elapsed());
            round.published.push(zip_key.to_string());
        }
        Err(e) if e.is_refusal() => {
            tracing::warn!(candidate = %zip_key, reason = %e, "candidate refused");
            refuse(queue, zip_key, &e.to_string()).await?;
            observer.candidate(CandidateOutcome::Refused, started.elapsed());
            round.refused.push(zip_key.to_string());
        }
        Err(e) => {
            tracing::error!(candidate = %zip_key, error = %e, "publishing failed; will retry");
            observer.candidate(CandidateOutcome::Failed, started.elapsed());
            round.deferred.push(zip_key.to_string());
        }
    }
    Ok(())
}

/// The candidate at `zip_key` with its signature, refused from its size before it is
/// fetched (a huge candidate costs no memory).
async fn fetch(
    publisher: &Publisher,
    queue: &Bucket,
    zip_key: &str,
    sig_key: &str,
) -> Result<Candidate, PublishError> {
    let file = zip_key.rsplit('/').next().unwrap_or(zip_key);
    let max = publisher.checks().max_zip_bytes;
    if let Some(info) = queue.head(zip_key).await?
        && info.size > max
    {
        return Err(Refusal::TooLarge {
            file: file.to_string(),
            size: info.size,
            max,
        }
        .into());
    }
    let (Some(zip), signature) = (queue.get(zip_key).await?, queue.get(sig_key).await?) else {
        // Deleted between listing and reading: someone else took it.
        return Err(PublishError::Index(format!(
            "{zip_key}: vanished from the queue"
        )));
    };
    Ok(Candidate {
        file: file.to_string(),
        zip,
        signature,
    })
}

/// Applies the retention; a failure is logged (the next round tries again).
async fn collect_garbage(bucket: &Bucket, retention: &Retention) {
    let plan = match gc::plan(bucket, retention, SystemTime::now()).await {
        Ok(plan) => plan,
        Err(e) => {
            tracing::error!(error = %e, "retention: cannot list the index revisions");
            return;
        }
    };
    match gc::execute(bucket, &plan).await {
        Ok(0) => {}
        Ok(removed) => tracing::info!(
            removed,
            bytes = plan.removed_bytes(),
            kept = plan.kept,
            "retention: old index revisions removed"
        ),
        Err(e) => tracing::error!(error = %e, "retention: cannot remove an index revision"),
    }
}

async fn waited_too_long(queue: &Bucket, key: &str, grace: Duration) -> Result<bool, BucketError> {
    let Some(info) = queue.head(key).await? else {
        return Ok(false);
    };
    let age = SystemTime::now()
        .duration_since(info.last_modified)
        .unwrap_or_default();
    Ok(age > grace)
}

async fn refuse(queue: &Bucket, zip_key: &str, reason: &str) -> Result<(), BucketError> {
    let text = format!(
        "refused at {}\n{reason}\n\nFix the candidate and upload it again, or delete this file to retry as it is.\n",
        httpdate::fmt_http_date(SystemTime::now())
    );
    queue
        .put(&format!("{zip_key}{REFUSAL_SUFFIX}"), Bytes::from(text))
        .await
}

/// Runs rounds until `stop` resolves. A failed look at the queue (bucket
/// unreachable) is logged and retried after the interval.
pub async fn run(
    publisher: &Publisher,
    queue: &Bucket,
    options: &WorkerOptions,
    observer: &dyn QueueObserver,
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    loop {
        match run_once(publisher, queue, options, observer).await {
            Ok(round) if round != Round::default() => tracing::info!(
                published = round.published.len(),
                refused = round.refused.len(),
                deferred = round.deferred.len(),
                "queue round done"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "cannot read the queue; will retry"),
        }
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(options.interval) => {}
        }
    }
}
