//! `package-registry storage ...`: looking after a Package Storage v2 bucket.
//!
//! - `gc`: retention, removing the index revisions nobody needs any more
//!   ([`epr_storage::gc`], docs/STORAGE.md "Retention").
//!
//! Exit status: 0 done, 2 the bucket could not be read or written.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
use epr_storage::bucket::{Bucket, BucketOptions};
use epr_storage::gc::{self, Retention};

use crate::config::parse_go_duration;

#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    #[command(subcommand)]
    pub command: StorageCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum StorageCommand {
    /// Remove old index revisions: never the current one, never one superseded less
    /// than --keep-for ago, never the --keep-revisions newest; artifacts are never
    /// touched.
    Gc(GcArgs),
}

/// The bucket a command works on.
#[derive(Debug, Clone, Args)]
pub struct BucketArg {
    /// The bucket: file:///path, s3://bucket[/prefix] or gs://bucket[/prefix] (S3 and
    /// GCS are configured as for `publish`).
    #[arg(long, env = "EPR_PUBLISH_STORAGE")]
    pub storage: String,
}

#[derive(Debug, Clone, Args)]
pub struct GcArgs {
    #[command(flatten)]
    pub bucket: BucketArg,
    #[command(flatten)]
    pub retention: RetentionArgs,
    /// Say what would be removed, remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// How much index history is kept (docs/STORAGE.md, "Retention").
#[derive(Debug, Clone, Copy, Args)]
pub struct RetentionArgs {
    /// Revisions before the current one kept whatever their age.
    #[arg(long, default_value_t = Retention::default().keep_revisions)]
    pub keep_revisions: usize,
    /// A revision superseded less than this long ago is kept (Go duration, e.g. 24h):
    /// longer than any registry on the bucket may go without polling.
    #[arg(long, default_value = "24h", value_parser = duration)]
    pub keep_for: Duration,
}

impl RetentionArgs {
    pub fn retention(&self) -> Retention {
        Retention {
            keep_revisions: self.keep_revisions,
            keep_for: self.keep_for,
        }
    }
}

fn duration(s: &str) -> Result<Duration, String> {
    parse_go_duration(s).map_err(|e| e.to_string())
}

pub async fn run(args: StorageArgs) -> ExitCode {
    match args.command {
        StorageCommand::Gc(args) => gc_command(&args).await,
    }
}

fn open(arg: &BucketArg) -> Result<Bucket, ExitCode> {
    Bucket::open(&arg.storage, &BucketOptions::default()).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

async fn gc_command(args: &GcArgs) -> ExitCode {
    let bucket = match open(&args.bucket) {
        Ok(b) => b,
        Err(code) => return code,
    };
    match collect(&bucket, &args.retention.retention(), args.dry_run).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Plans and (unless `dry_run`) carries out a collection, saying what it does on
/// stdout; also what the publishing worker runs after each round with `--gc`.
pub async fn collect(
    bucket: &Bucket,
    retention: &Retention,
    dry_run: bool,
) -> Result<(), epr_storage::bucket::BucketError> {
    let plan = gc::plan(bucket, retention, SystemTime::now()).await?;
    let verb = if dry_run { "would remove" } else { "removing" };
    for r in &plan.remove {
        println!(
            "{verb} revision {} ({}, {} objects, {} bytes)",
            r.cursor,
            r.reason.as_str(),
            r.keys.len(),
            r.bytes
        );
    }
    if !dry_run {
        gc::execute(bucket, &plan).await?;
    }
    println!(
        "{} revision(s) {}, {} bytes; {} kept, {} bytes (current: {})",
        plan.remove.len(),
        if dry_run { "to remove" } else { "removed" },
        plan.removed_bytes(),
        plan.kept,
        plan.kept_bytes,
        plan.current.as_deref().unwrap_or("none")
    );
    Ok(())
}
