//! `package-registry storage ...`: looking after a Package Storage v2 bucket.
//!
//! - `list`: every version the index lists ([`epr_storage::inventory`]).
//! - `yank` and `unyank`: a version out of (and back into) `/search` and
//!   `/categories`, through the index ([`epr_storage::revision::set_yank`]).
//! - `check` and `repair`: inconsistencies, and mending them ([`epr_storage::check`],
//!   docs/STORAGE.md "Check and repair").
//! - `events`: the audit trail ([`epr_storage::events`]).
//! - `gc`: retention, removing the index revisions nobody needs any more
//!   ([`epr_storage::gc`], docs/STORAGE.md "Retention").
//!
//! Exit status: 0 done (consistent), 1 inconsistencies found (or left), 2 the bucket
//! could not be read or written.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
use epr_index::storage_index::Yank;
use epr_storage::bucket::{Bucket, BucketOptions};
use epr_storage::check;
use epr_storage::gc::{self, Retention};
use epr_storage::revision::{self, YankOutcome};

use crate::config::parse_go_duration;

#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    #[command(subcommand)]
    pub command: StorageCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum StorageCommand {
    /// List every version the index holds: name, version, size, published time and
    /// the key id of its signature.
    List(ListArgs),
    /// List every inconsistency: half-published versions, indexed versions with
    /// missing files, revision folders without an index, unfinished uploads, a
    /// cursor pointing nowhere. Exit 0 consistent, 1 inconsistencies, 2 could not read.
    Check(CheckArgs),
    /// Take a version out of /search and /categories (all=true included) in every
    /// registry on the bucket, while its /package/ document, zip, signature and static
    /// files stay served; nothing is deleted.
    Yank(YankArgs),
    /// Undo a yank.
    Unyank(UnyankArgs),
    /// Print the audit trail: every publish, refusal, yank, unyank, repair and
    /// collection, oldest first.
    Events(ListArgs),
    /// Mend what `check` finds: publish a half-published version again when its zip
    /// and signature pass publishing's checks, else remove its leftovers; extract
    /// missing static files again; remove revision folders without an index and
    /// unfinished uploads. Exit 0 consistent afterwards, 1 something is left.
    Repair(RepairArgs),
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
pub struct ListArgs {
    #[command(flatten)]
    pub bucket: BucketArg,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ListFormat {
    /// One version per line, columns separated by tabs.
    Text,
    /// A JSON array of objects.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub bucket: BucketArg,
    /// Objects younger than this are left out: they may belong to a publish in
    /// progress (Go duration).
    #[arg(long, default_value = "10m", value_parser = duration)]
    pub grace: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct RepairArgs {
    #[command(flatten)]
    pub check: CheckArgs,
    /// The public keys trusted to sign packages, as for `publish`.
    #[arg(long, env = "EPR_PUBLISH_KEYRING")]
    pub keyring: std::path::PathBuf,
    /// Say what would be done, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Args)]
pub struct YankArgs {
    #[command(flatten)]
    pub bucket: BucketArg,
    /// The package's name.
    pub name: String,
    /// The version to yank.
    pub version: String,
    /// Why: kept in the index entry and shown by `storage list`.
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Clone, Args)]
pub struct UnyankArgs {
    #[command(flatten)]
    pub bucket: BucketArg,
    pub name: String,
    pub version: String,
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
        StorageCommand::List(args) => list_command(&args).await,
        StorageCommand::Check(args) => check_command(&args).await,
        StorageCommand::Repair(args) => repair_command(&args).await,
        StorageCommand::Yank(args) => {
            let yank = Yank {
                reason: args.reason.clone(),
                time: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            };
            yank_command(&args.bucket, &args.name, &args.version, Some(yank)).await
        }
        StorageCommand::Unyank(args) => {
            yank_command(&args.bucket, &args.name, &args.version, None).await
        }
        StorageCommand::Events(args) => events_command(&args).await,
        StorageCommand::Gc(args) => gc_command(&args).await,
    }
}

async fn events_command(args: &ListArgs) -> ExitCode {
    let bucket = match open(&args.bucket) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let events = match epr_storage::events::read_all(&bucket).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match args.format {
        ListFormat::Json => {
            println!(
                "{}",
                serde_json::to_string(&events).expect("events serialise")
            );
        }
        ListFormat::Text => {
            for e in &events {
                let mut line = format!("{}\t{}\t{}", e.time, e.action, e.outcome);
                if let (Some(n), Some(v)) = (&e.package, &e.version) {
                    line.push_str(&format!("\t{n}-{v}"));
                } else if let Some(file) = &e.file {
                    line.push_str(&format!("\t{file}"));
                }
                for (key, value) in [
                    ("sha256", &e.sha256),
                    ("signer", &e.signer_key_id),
                    ("revision", &e.revision),
                    ("reason", &e.reason),
                ] {
                    if let Some(value) = value {
                        line.push_str(&format!("\t{key}={value}"));
                    }
                }
                println!("{line}");
            }
        }
    }
    ExitCode::SUCCESS
}

/// Exit 0 done (or nothing to do), 1 the index does not list the version, 2 failed.
async fn yank_command(arg: &BucketArg, name: &str, version: &str, yank: Option<Yank>) -> ExitCode {
    let bucket = match open(arg) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let verb = if yank.is_some() { "yanked" } else { "unyanked" };
    match revision::set_yank(&bucket, name, version, yank).await {
        Ok(YankOutcome::Changed { cursor }) => {
            println!("{name}-{version}: {verb} (index revision {cursor})");
            ExitCode::SUCCESS
        }
        Ok(YankOutcome::Unchanged) => {
            println!("{name}-{version}: {verb} already, nothing written");
            ExitCode::SUCCESS
        }
        Ok(YankOutcome::NotListed) => {
            eprintln!("{name}-{version}: the index does not list it");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn list_command(args: &ListArgs) -> ExitCode {
    let bucket = match open(&args.bucket) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let versions = match epr_storage::inventory::list(&bucket).await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let time = |t: Option<SystemTime>| t.map(|t| humantime::format_rfc3339_seconds(t).to_string());
    match args.format {
        ListFormat::Text => {
            println!("name\tversion\tsize\tpublished\tsigner_key_id\tyanked");
            for v in &versions {
                let or_dash = |s: Option<String>| s.unwrap_or_else(|| "-".into());
                let yanked = v
                    .yank
                    .as_ref()
                    .map(|y| format!("{} ({})", y.time, y.reason));
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    v.name,
                    v.version,
                    or_dash(v.size.map(|s| s.to_string())),
                    or_dash(time(v.published)),
                    or_dash(v.signer_key_id.clone()),
                    or_dash(yanked)
                );
            }
        }
        ListFormat::Json => {
            let items: Vec<serde_json::Value> = versions
                .iter()
                .map(|v| {
                    serde_json::json!({
                        "name": v.name,
                        "version": v.version,
                        "size": v.size,
                        "published": time(v.published),
                        "signer_key_id": v.signer_key_id,
                        "yanked": v.yank,
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(items));
        }
    }
    ExitCode::SUCCESS
}

async fn check_command(args: &CheckArgs) -> ExitCode {
    let bucket = match open(&args.bucket) {
        Ok(b) => b,
        Err(code) => return code,
    };
    match check::check(&bucket, args.grace).await {
        Ok(problems) if problems.is_empty() => {
            println!("consistent");
            ExitCode::SUCCESS
        }
        Ok(problems) => {
            for p in &problems {
                println!("{p}");
            }
            println!("{} inconsistencies", problems.len());
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn repair_command(args: &RepairArgs) -> ExitCode {
    let checks = epr_storage::candidate::CheckOptions::default();
    let storage = &args.check.bucket.storage;
    let publisher = match crate::publish::open_publisher(storage, &args.keyring, checks) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let bucket = publisher.bucket().clone();
    let problems = match check::check(&bucket, args.check.grace).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if problems.is_empty() {
        println!("consistent");
        return ExitCode::SUCCESS;
    }
    let repaired = match check::repair(&publisher, problems, args.dry_run).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let verb = if args.dry_run { "would " } else { "" };
    for line in &repaired.done {
        println!("{verb}{line}");
    }
    for p in &repaired.left {
        println!("cannot repair: {p}");
    }
    if args.dry_run {
        return ExitCode::from(1);
    }
    match check::check(&bucket, args.check.grace).await {
        Ok(left) if left.is_empty() => {
            println!("consistent");
            ExitCode::SUCCESS
        }
        Ok(left) => {
            for p in &left {
                println!("left: {p}");
            }
            println!("{} inconsistencies left", left.len());
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
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
