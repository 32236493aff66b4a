//! `package-registry publish`: publish package zips into a Package Storage v2 bucket,
//! given on the command line or, with `--worker`, dropped into a queue.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use epr_server::listener::ConnectionLimits;
use epr_server::publish_metrics::PublishMetrics;
use epr_storage::bucket::{Bucket, BucketOptions};
use epr_storage::candidate::{CheckOptions, Refusal};
use epr_storage::publish::{Candidate, PublishError, Publisher};
use epr_storage::queue::{self, QueueObserver, WorkerOptions};
use epr_storage::signature::Keyring;

use crate::config::parse_go_duration;

#[derive(Debug, Clone, Args)]
pub struct PublishArgs {
    /// The bucket to publish into: file:///path, s3://bucket[/prefix] or
    /// gs://bucket[/prefix] (S3 and GCS are configured the usual way: AWS_* variables,
    /// AWS_ENDPOINT_URL for S3-compatible servers, STORAGE_EMULATOR_HOST for a GCS emulator).
    #[arg(long, env = "EPR_PUBLISH_STORAGE")]
    pub storage: String,

    /// The public keys trusted to sign packages (ASCII-armored; several keys may be
    /// concatenated).
    #[arg(long, env = "EPR_PUBLISH_KEYRING")]
    pub keyring: PathBuf,

    /// The package zips, each with its detached signature `<zip>.sig` beside it. They
    /// are published in one index revision (batches of at most 512 MiB of zips).
    #[arg(required_unless_present = "worker", conflicts_with = "worker")]
    pub zips: Vec<PathBuf>,

    /// Run until stopped, publishing the candidates dropped into the queue.
    #[arg(long)]
    pub worker: bool,

    /// The queue the worker reads (a bucket URL); default: the `queue` folder of the
    /// storage bucket.
    #[arg(long, requires = "worker")]
    pub queue: Option<String>,

    /// How often the worker looks at the queue (Go duration, e.g. 10s).
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub interval: Duration,

    /// How long a queued zip may wait for its signature before it is refused.
    #[arg(long, default_value = "5m", value_parser = duration)]
    pub signature_grace: Duration,

    /// The largest candidate zip accepted, in bytes.
    #[arg(long, default_value_t = CheckOptions::default().max_zip_bytes)]
    pub max_zip_bytes: u64,

    /// The zips are legacy packages (synced from the old storage): skip the package
    /// spec check, as upstream's publishing job does for `legacy_package: true`. The
    /// signature, the zip's bounds and root folder and the registry's own load checks
    /// still apply. Not with --worker: it is a decision about the given zips.
    #[arg(long, conflicts_with = "worker")]
    pub legacy_package: bool,

    /// After each round that published something, remove old index revisions
    /// (`storage gc` with --keep-revisions and --keep-for).
    #[arg(long, requires = "worker")]
    pub gc: bool,

    #[command(flatten)]
    pub retention: crate::storage_cmd::RetentionArgs,

    /// Process the queue once and exit (with --worker; for scripts and tests).
    #[arg(long, requires = "worker")]
    pub once: bool,

    /// Serve the worker's Prometheus metrics at /metrics on this address (plain
    /// HTTP), e.g. 0.0.0.0:9000: candidates by outcome, publish durations, rounds.
    #[arg(
        long,
        env = "EPR_PUBLISH_METRICS_ADDRESS",
        requires = "worker",
        conflicts_with = "once"
    )]
    pub metrics_address: Option<String>,
}

fn duration(s: &str) -> Result<Duration, String> {
    parse_go_duration(s).map_err(|e| e.to_string())
}

/// Exit status: 0 every candidate published (or already was), 1 one was refused,
/// 2 publishing failed for another reason (bucket unreachable, unreadable file).
pub async fn run(args: PublishArgs) -> ExitCode {
    let publisher = match publisher(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    if args.worker {
        return run_worker(&args, &publisher).await;
    }
    let mut worst = 0u8;
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    for zip in &args.zips {
        let candidate = match read_candidate(&publisher, zip).await {
            Ok(c) => c,
            Err(status) => {
                worst = worst.max(status);
                continue;
            }
        };
        if batch_bytes + candidate.zip.len() > MAX_BATCH_BYTES && !batch.is_empty() {
            worst = worst.max(publish_batch(&publisher, std::mem::take(&mut batch)).await);
            batch_bytes = 0;
        }
        batch_bytes += candidate.zip.len();
        batch.push(candidate);
    }
    if !batch.is_empty() {
        worst = worst.max(publish_batch(&publisher, batch).await);
    }
    ExitCode::from(worst)
}

/// The zips published in one revision hold at most this much: the candidates of a
/// batch are in memory together.
const MAX_BATCH_BYTES: usize = 512 << 20;

fn publisher(args: &PublishArgs) -> anyhow::Result<Publisher> {
    let checks = CheckOptions {
        max_zip_bytes: args.max_zip_bytes,
        legacy_package: args.legacy_package,
    };
    open_publisher(&args.storage, &args.keyring, checks)
}

/// A publisher into the bucket at `storage` trusting the keys of `keyring`.
pub fn open_publisher(
    storage: &str,
    keyring: &Path,
    checks: CheckOptions,
) -> anyhow::Result<Publisher> {
    use anyhow::Context;
    let text = std::fs::read_to_string(keyring)
        .with_context(|| format!("cannot read the keyring {}", keyring.display()))?;
    let keyring =
        Keyring::from_armored(&text).with_context(|| format!("keyring {}", keyring.display()))?;
    let bucket = Bucket::open(storage, &BucketOptions::default())?;
    Ok(Publisher::new(Arc::new(bucket), Arc::new(keyring), checks))
}

/// The candidate `zip` with its signature, or the exit status of why not (said).
async fn read_candidate(publisher: &Publisher, zip: &Path) -> Result<Candidate, u8> {
    let max = publisher.checks().max_zip_bytes;
    let zip_bytes = match read_at_most(zip, max).await {
        Ok(Ok(b)) => b,
        Ok(Err(size)) => {
            let refusal = Refusal::TooLarge {
                file: zip.display().to_string(),
                size,
                max,
            };
            eprintln!("refused: {refusal}");
            return Err(1);
        }
        Err(e) => {
            eprintln!("{}: cannot read: {e}", zip.display());
            return Err(2);
        }
    };
    let sig_path = PathBuf::from(format!("{}.sig", zip.display()));
    let signature = match tokio::fs::read(&sig_path).await {
        Ok(b) => Some(Bytes::from(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            eprintln!("{}: cannot read: {e}", sig_path.display());
            return Err(2);
        }
    };
    Ok(Candidate {
        file: zip.display().to_string(),
        zip: zip_bytes,
        signature,
    })
}

/// Publishes `batch` in one revision and says what became of each; gives the worst
/// exit status.
async fn publish_batch(publisher: &Publisher, batch: Vec<Candidate>) -> u8 {
    let files: Vec<String> = batch.iter().map(|c| c.file.clone()).collect();
    let outcomes = publisher.publish_batch(batch).await;
    let mut worst = 0;
    for (file, outcome) in files.iter().zip(outcomes) {
        let status = match outcome {
            Ok(outcome) => {
                println!("{outcome}");
                0
            }
            Err(e @ PublishError::Refused(_)) => {
                eprintln!("refused: {e}");
                1
            }
            Err(e) => {
                eprintln!("{file}: publishing failed, nothing was published: {e}");
                2
            }
        };
        worst = worst.max(status);
    }
    worst
}

/// The bytes of `path`, or `Err(size)` when it holds more than `max`: its size is
/// checked before reading, and the read stops one byte past `max` (a file that
/// grows meanwhile), so a huge candidate costs no memory.
async fn read_at_most(path: &Path, max: u64) -> std::io::Result<Result<Bytes, u64>> {
    use tokio::io::AsyncReadExt;
    let file = tokio::fs::File::open(path).await?;
    let size = file.metadata().await?.len();
    if size > max {
        return Ok(Err(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(max + 1).read_to_end(&mut bytes).await?;
    if bytes.len() as u64 > max {
        return Ok(Err(bytes.len() as u64));
    }
    Ok(Ok(Bytes::from(bytes)))
}

async fn run_worker(args: &PublishArgs, publisher: &Publisher) -> ExitCode {
    let queue_url = args
        .queue
        .clone()
        .unwrap_or_else(|| default_queue(&args.storage));
    let queue = match Bucket::open(&queue_url, &BucketOptions::default()) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("error: queue: {e}");
            return ExitCode::from(2);
        }
    };
    let options = WorkerOptions {
        interval: args.interval,
        signature_grace: args.signature_grace,
        gc: args.gc.then(|| args.retention.retention()),
    };
    if args.once {
        return match queue::run_once(publisher, &queue, &options, &()).await {
            Ok(round) => {
                for c in &round.published {
                    println!("{c}: published");
                }
                for c in &round.refused {
                    println!("{c}: refused (see {c}.refused.txt)");
                }
                for c in &round.deferred {
                    println!("{c}: left for a later round");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        };
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let metrics = match &args.metrics_address {
        Some(address) => match serve_metrics(address, stopped).await {
            Ok(served) => Some(served),
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let observer: &dyn QueueObserver = match &metrics {
        Some((m, _)) => m.as_ref(),
        None => &(),
    };
    tracing::info!(queue = %queue_url, storage = %args.storage, "publishing worker started");
    queue::run(
        publisher,
        &queue,
        &options,
        observer,
        crate::serve::shutdown_signal(),
    )
    .await;
    let _ = stop.send(true);
    if let Some((_, task)) = metrics {
        let _ = task.await;
    }
    ExitCode::SUCCESS
}

/// Starts the worker's metrics listener; it stops when `stopped` turns true.
async fn serve_metrics(
    address: &str,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<(Arc<PublishMetrics>, tokio::task::JoinHandle<()>)> {
    let listener = crate::listen::bind(address, "--metrics-address").await?;
    let metrics = PublishMetrics::new();
    let router = epr_server::publish_metrics_router(metrics.clone());
    let limits = crate::listen::metrics_limits(&ConnectionLimits::default());
    if let Ok(local) = listener.local_addr() {
        tracing::info!(address = %local, "serving the worker's metrics at /metrics");
    }
    let stop = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let task = tokio::spawn(epr_server::listener::serve(
        listener, None, router, limits, stop,
    ));
    Ok((metrics, task))
}

/// The `queue` folder of the storage bucket.
fn default_queue(storage: &str) -> String {
    format!(
        "{}/{}",
        storage.trim_end_matches('/'),
        epr_storage::layout::DEFAULT_QUEUE_FOLDER
    )
}
