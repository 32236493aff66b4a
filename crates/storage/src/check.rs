//! Checking a bucket's consistency, and repairing it (`package-registry storage
//! check` and `storage repair`; docs/STORAGE.md "Check and repair").
//!
//! A publish writes the artifacts first and moves the index last, so a publish killed
//! half-way leaves artifacts no index lists: a zip and signature that the CI probe
//! "is it already published?" (HEAD on the public zip) takes for published, static
//! files, a revision folder whose full index never completed. [`check`] lists them,
//! and every other inconsistency that can be seen from the bucket:
//!
//! - `cursor.json` unreadable, or pointing at a revision without a full index, or a
//!   full index that does not load;
//! - an index entry whose zip, signature or static files are missing;
//! - artifacts (or the claim, `v2/claims/`) of a version that the index does not list;
//! - a revision folder other than the current one without a full index;
//! - unfinished uploads left in a `file://` bucket (hidden `{key}#{n}` files).
//!
//! Objects younger than a grace period (default 10 minutes) are left out: they may
//! belong to a publish in progress.
//!
//! [`repair`] completes a half-published version whose zip and signature pass every
//! check of `publish` against the given keyring, by publishing it again (the
//! pipeline is idempotent), and otherwise removes its leftovers; it re-extracts
//! missing static files from the zip; it removes revision folders without a full
//! index and unfinished uploads. What it cannot mend (a missing zip or signature of
//! an indexed version, a cursor pointing nowhere) it reports.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, SystemTime};

use epr_index::index_rewrite::versions_and_assets_in;

use crate::bucket::{Bucket, BucketError, ObjectInfo};
use crate::cursor;
use crate::events::{self, Event};
use crate::layout;
use crate::publish::{Candidate, PublishError, Publisher};

/// One inconsistency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// `cursor.json` cannot be read as a cursor.
    CursorUnreadable { reason: String },
    /// `cursor.json` names a revision whose full index is missing.
    CursorPointsNowhere { cursor: String },
    /// The current full index does not load.
    IndexUnreadable { cursor: String, reason: String },
    /// An indexed version's zip or signature is missing.
    MissingArtifact {
        name: String,
        version: String,
        key: String,
    },
    /// An indexed version has fewer static files than its manifest lists.
    MissingStatics {
        name: String,
        version: String,
        found: usize,
        expected: usize,
    },
    /// Artifacts of a version that the index does not list: a publish that stopped
    /// half-way.
    NotIndexed {
        name: String,
        version: String,
        claim: bool,
        zip: bool,
        signature: bool,
        statics: usize,
    },
    /// A revision folder, not the current one, without a full index.
    RevisionWithoutIndex { cursor: String, keys: Vec<String> },
    /// An unfinished upload of a `file://` bucket.
    UnfinishedUpload { path: std::path::PathBuf },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::CursorUnreadable { reason } => write!(f, "{reason}"),
            Problem::CursorPointsNowhere { cursor } => write!(
                f,
                "cursor.json points at revision {cursor}, which has no {}",
                layout::search_index_all(cursor)
            ),
            Problem::IndexUnreadable { cursor, reason } => write!(
                f,
                "{}: does not load: {reason}",
                layout::search_index_all(cursor)
            ),
            Problem::MissingArtifact { name, version, key } => {
                write!(f, "{name}-{version} is indexed, but {key} is missing")
            }
            Problem::MissingStatics {
                name,
                version,
                found,
                expected,
            } => write!(
                f,
                "{name}-{version} is indexed, but {} holds {found} of its {expected} files",
                layout::static_prefix(name, version)
            ),
            Problem::NotIndexed {
                name,
                version,
                claim,
                zip,
                signature,
                statics,
            } => {
                let mut what = Vec::new();
                if *claim {
                    what.push("its claim".to_string());
                }
                if *zip {
                    what.push("its zip".to_string());
                }
                if *signature {
                    what.push("its signature".to_string());
                }
                if *statics > 0 {
                    what.push(format!("{statics} static files"));
                }
                write!(
                    f,
                    "{name}-{version} is not in the index, but the bucket holds {} (a publish that stopped half-way)",
                    what.join(", ")
                )
            }
            Problem::RevisionWithoutIndex { cursor, keys } => write!(
                f,
                "revision folder {} has no full index ({} objects; a publish that stopped half-way)",
                format_args!("{}{cursor}/", layout::METADATA),
                keys.len()
            ),
            Problem::UnfinishedUpload { path } => {
                write!(f, "{}: an unfinished upload", path.display())
            }
        }
    }
}

/// What is in `artifacts/` for one `{name}-{version}`.
#[derive(Debug, Default)]
struct Artifacts {
    /// `v2/claims/{name}-{version}`.
    claim: bool,
    zip: Option<ObjectInfo>,
    signature: Option<ObjectInfo>,
    statics: usize,
    /// The newest of its objects: a version still being published is left alone.
    newest: Option<SystemTime>,
}

impl Artifacts {
    fn saw(&mut self, info: &ObjectInfo) {
        self.newest = Some(
            self.newest
                .map_or(info.last_modified, |t| t.max(info.last_modified)),
        );
    }
}

/// Lists the inconsistencies of `bucket`, leaving out objects younger than `grace`.
pub async fn check(bucket: &Bucket, grace: Duration) -> Result<Vec<Problem>, BucketError> {
    let now = SystemTime::now();
    let settled = |t: Option<SystemTime>| {
        t.is_none_or(|t| now.duration_since(t).unwrap_or_default() >= grace)
    };
    let mut problems = Vec::new();

    // The index: which versions it lists, and how many files each should have.
    let current = match bucket.get(layout::CURSOR).await? {
        None => None,
        Some(bytes) => match cursor::parse(&bytes) {
            Ok(c) => Some(c),
            Err(e) => {
                problems.push(Problem::CursorUnreadable {
                    reason: e.to_string(),
                });
                // Without an index nothing else can be told apart.
                return Ok(problems);
            }
        },
    };
    let mut indexed: Vec<(String, String, usize)> = Vec::new();
    if let Some(cursor) = &current {
        let key = layout::search_index_all(cursor);
        match bucket.reader(&key).await? {
            None => {
                problems.push(Problem::CursorPointsNowhere {
                    cursor: cursor.clone(),
                });
                return Ok(problems);
            }
            Some(reader) => {
                let read = tokio::task::spawn_blocking(move || versions_and_assets_in(reader))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r.map_err(|e| e.to_string()));
                match read {
                    Ok(entries) => indexed = entries,
                    Err(reason) => {
                        problems.push(Problem::IndexUnreadable {
                            cursor: cursor.clone(),
                            reason,
                        });
                        return Ok(problems);
                    }
                }
            }
        }
    }

    // The artifacts, in one listing, counted per version.
    let mut artifacts: BTreeMap<String, Artifacts> = BTreeMap::new();
    bucket
        .for_each_object("artifacts", |key, info| {
            if let Some(file) = key.strip_prefix("artifacts/packages/") {
                if let Some(stem) = file.strip_suffix(".zip.sig") {
                    let a = artifacts.entry(stem.to_string()).or_default();
                    a.saw(&info);
                    a.signature = Some(info);
                } else if let Some(stem) = file.strip_suffix(".zip") {
                    let a = artifacts.entry(stem.to_string()).or_default();
                    a.saw(&info);
                    a.zip = Some(info);
                }
            } else if let Some(rest) = key.strip_prefix("artifacts/static/")
                && let Some((stem, _)) = rest.split_once('/')
            {
                let a = artifacts.entry(stem.to_string()).or_default();
                a.saw(&info);
                a.statics += 1;
            }
        })
        .await?;
    bucket
        .for_each_object(layout::CLAIMS, |key, info| {
            if let Some(stem) = key.strip_prefix(layout::CLAIMS) {
                let a = artifacts.entry(stem.to_string()).or_default();
                a.saw(&info);
                a.claim = true;
            }
        })
        .await?;

    let listed: HashSet<String> = indexed.iter().map(|(n, v, _)| format!("{n}-{v}")).collect();
    for (name, version, assets) in &indexed {
        let stem = format!("{name}-{version}");
        let found = artifacts.get(&stem);
        if found.is_none_or(|a| a.zip.is_none()) {
            problems.push(Problem::MissingArtifact {
                name: name.clone(),
                version: version.clone(),
                key: layout::package_zip(name, version),
            });
        }
        if found.is_none_or(|a| a.signature.is_none()) {
            problems.push(Problem::MissingArtifact {
                name: name.clone(),
                version: version.clone(),
                key: layout::package_signature(name, version),
            });
        }
        let statics = found.map_or(0, |a| a.statics);
        if statics < *assets {
            problems.push(Problem::MissingStatics {
                name: name.clone(),
                version: version.clone(),
                found: statics,
                expected: *assets,
            });
        }
    }
    for (stem, a) in &artifacts {
        if listed.contains(stem) || !settled(a.newest) {
            continue;
        }
        let (name, version) = stem.split_once('-').unwrap_or((stem.as_str(), ""));
        problems.push(Problem::NotIndexed {
            name: name.to_string(),
            version: version.to_string(),
            claim: a.claim,
            zip: a.zip.is_some(),
            signature: a.signature.is_some(),
            statics: a.statics,
        });
    }

    // Revision folders without a full index.
    let mut folders: BTreeMap<String, (Vec<String>, Option<SystemTime>, bool)> = BTreeMap::new();
    for (key, info) in bucket.list_info(layout::METADATA).await? {
        let Some((cursor, file)) = key
            .strip_prefix(layout::METADATA)
            .and_then(|rest| rest.split_once('/'))
        else {
            continue;
        };
        let folder = folders.entry(cursor.to_string()).or_default();
        folder.2 |= file == epr_index::storage_index::SEARCH_INDEX_ALL;
        folder.1 = Some(
            folder
                .1
                .map_or(info.last_modified, |t| t.max(info.last_modified)),
        );
        folder.0.push(key);
    }
    for (cursor, (keys, newest, has_index)) in folders {
        if !has_index && Some(&cursor) != current.as_ref() && settled(newest) {
            problems.push(Problem::RevisionWithoutIndex { cursor, keys });
        }
    }

    problems.extend(unfinished_uploads(bucket, grace, now));
    Ok(problems)
}

/// The `{key}#{n}` files object_store leaves when an upload to a `file://` bucket
/// stops before its rename (our lock files, `.bucket-writes.lock#{n}`, excepted).
fn unfinished_uploads(bucket: &Bucket, grace: Duration, now: SystemTime) -> Vec<Problem> {
    let Some(root) = bucket.local_dir() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let staged = name
                .rsplit_once('#')
                .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            let old = meta
                .modified()
                .map(|t| now.duration_since(t).unwrap_or_default() >= grace)
                .unwrap_or(true);
            if staged && !name.starts_with(".bucket-writes.lock#") && old {
                found.push(Problem::UnfinishedUpload { path });
            }
        }
    }
    found.sort_by_key(|a| a.to_string());
    found
}

/// What [`repair`] did.
#[derive(Debug, Default)]
pub struct Repaired {
    /// Lines saying what was done, one per action.
    pub done: Vec<String>,
    /// What could not be mended.
    pub left: Vec<Problem>,
}

/// Mends what [`check`] found (see the module's doc); with `dry_run`, only says what
/// it would do.
pub async fn repair(
    publisher: &Publisher,
    problems: Vec<Problem>,
    dry_run: bool,
) -> Result<Repaired, PublishError> {
    let bucket = publisher.bucket();
    let mut repaired = Repaired::default();
    let mut republish: Vec<(String, String)> = Vec::new();
    let mut restore: Vec<(String, String)> = Vec::new();
    let mut remove: Vec<(String, String)> = Vec::new();
    for problem in problems {
        match &problem {
            Problem::NotIndexed {
                name,
                version,
                zip: true,
                signature: true,
                ..
            } => republish.push((name.clone(), version.clone())),
            Problem::NotIndexed { name, version, .. } => {
                remove.push((name.clone(), version.clone()));
            }
            Problem::MissingStatics { name, version, .. } => {
                restore.push((name.clone(), version.clone()));
            }
            Problem::RevisionWithoutIndex { cursor, keys } => {
                if !dry_run {
                    for key in keys {
                        bucket.delete(key).await?;
                    }
                }
                let folder = format!("{}{cursor}/", layout::METADATA);
                repaired
                    .done
                    .push(format!("remove revision folder {folder} (no full index)"));
            }
            Problem::UnfinishedUpload { path } => {
                if !dry_run
                    && let Err(e) = std::fs::remove_file(path)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    repaired.left.push(problem.clone());
                    continue;
                }
                repaired
                    .done
                    .push(format!("remove unfinished upload {}", path.display()));
            }
            _ => repaired.left.push(problem),
        }
    }
    for (name, version) in republish {
        let Some(candidate) = candidate_of(bucket, &name, &version).await? else {
            continue; // gone meanwhile
        };
        if dry_run {
            repaired.done.push(format!(
                "publish {name}-{version} again from its zip and signature (or remove them if refused)"
            ));
            continue;
        }
        let outcome = publisher
            .publish_batch(vec![candidate])
            .await
            .pop()
            .expect("one outcome per candidate");
        match outcome {
            Ok(outcome) => repaired.done.push(format!("{outcome} (repaired)")),
            Err(e) if e.is_refusal() => {
                repaired.done.push(format!(
                    "{name}-{version}: publishing it again was refused: {e}"
                ));
                remove.push((name, version));
            }
            Err(e) => {
                repaired
                    .done
                    .push(format!("{name}-{version}: publishing it again failed: {e}"));
                repaired.left.push(Problem::NotIndexed {
                    name,
                    version,
                    claim: true,
                    zip: true,
                    signature: true,
                    statics: 0,
                });
            }
        }
    }
    for (name, version) in restore {
        let Some(candidate) = candidate_of(bucket, &name, &version).await? else {
            continue; // reported already as a missing zip
        };
        if dry_run {
            repaired.done.push(format!(
                "extract the static files of {name}-{version} again"
            ));
            continue;
        }
        match publisher.restore_statics(candidate).await {
            Ok(n) => repaired.done.push(format!(
                "{name}-{version}: {n} static files extracted again"
            )),
            Err(e) => repaired.done.push(format!(
                "{name}-{version}: cannot extract the static files: {e}"
            )),
        }
    }
    // Only versions that no index lists now: a publisher may have finished one since.
    let still_unlisted: Vec<(String, String)> = {
        let listed = crate::revision::indexed(bucket, &remove).await?;
        remove.into_iter().filter(|k| !listed.contains(k)).collect()
    };
    for (name, version) in still_unlisted {
        if !dry_run {
            remove_version(bucket, &name, &version).await?;
        }
        repaired
            .done
            .push(format!("remove the leftovers of {name}-{version}"));
    }
    if !dry_run {
        for line in &repaired.done {
            events::record(bucket, &Event::now("repair", "done").reason(line.clone())).await;
        }
    }
    Ok(repaired)
}

/// The zip and signature of a version as a candidate; `None` without a zip.
async fn candidate_of(
    bucket: &Bucket,
    name: &str,
    version: &str,
) -> Result<Option<Candidate>, BucketError> {
    let Some(zip) = bucket.get(&layout::package_zip(name, version)).await? else {
        return Ok(None);
    };
    let signature = bucket
        .get(&layout::package_signature(name, version))
        .await?;
    Ok(Some(Candidate {
        file: format!("{name}-{version}.zip"),
        zip,
        signature,
    }))
}

/// Deletes every artifact of a version no index lists: the public zip first, the
/// claim last, as a failed publish undoes its writes.
async fn remove_version(bucket: &Bucket, name: &str, version: &str) -> Result<(), BucketError> {
    bucket.delete(&layout::package_zip(name, version)).await?;
    for key in bucket.list(&layout::static_prefix(name, version)).await? {
        bucket.delete(&key).await?;
    }
    bucket
        .delete(&layout::package_signature(name, version))
        .await?;
    bucket.delete(&layout::claim(name, version)).await
}
