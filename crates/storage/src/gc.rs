//! Retention: removing the index revisions nobody needs any more
//! (`package-registry storage gc`, docs/STORAGE.md "Retention").
//!
//! Every publish writes a revision folder `v2/metadata/{cursor}/` with a full index,
//! so without retention the metadata grows with the number of publishes. A revision
//! is needed while:
//!
//! - it is current (`cursor.json` points at it): never removed;
//! - a registry may still be based on it or on a delta after it: a registry that
//!   follows deltas keeps reading the documents of its base revision's files, and the
//!   upstream's incremental reader needs the deltas after the revision it is at. Our
//!   registries reload the full index at most [`crate::reader::REBASE_AFTER`] after
//!   their base revision was superseded, and poll every minute by default; so a
//!   revision superseded less than `keep_for` ago (default 24 hours) is kept;
//! - it is one of the `keep_revisions` newest before the current one (default 10),
//!   whatever its age: a short history to look at or go back to.
//!
//! When a revision was superseded is read from the delta chain: each of our deltas
//! names the revision it follows (`"previous"`), so the chain back from the current
//! revision gives each revision's successor, and the successor's oldest file is when
//! it was written. Folders that are not on the chain never were current (a publisher
//! that lost the race for `cursor.json` or crashed before moving it; a revision of a
//! tool that records no `"previous"` is counted the same way): they are removed once
//! they are older than `keep_for` themselves, so that a publish in progress is
//! never touched.
//!
//! Only `v2/metadata/` is touched: artifacts are never removed here (an artifact that
//! no index lists is `storage check`'s and `storage repair`'s business).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use epr_index::storage_index::DeltaDocument;

use crate::bucket::{Bucket, BucketError, ObjectInfo};
use crate::cursor;
use crate::events::{self, Event};
use crate::layout;

/// How much history is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Revisions before the current one kept whatever their age.
    pub keep_revisions: usize,
    /// A revision superseded less than this long ago is kept.
    pub keep_for: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            keep_revisions: 10,
            keep_for: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// Why a revision folder goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// It was current once, and was superseded longer ago than the retention.
    Superseded,
    /// It never was current (not on the chain of revisions), and is older than the
    /// retention.
    NeverCurrent,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Superseded => "superseded",
            Reason::NeverCurrent => "never current",
        }
    }
}

/// One revision folder to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub cursor: String,
    pub reason: Reason,
    /// Its objects, the full index first.
    pub keys: Vec<String>,
    pub bytes: u64,
}

/// What [`plan`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub current: Option<String>,
    pub remove: Vec<Removal>,
    /// Revision folders kept (the current one included).
    pub kept: usize,
    /// Bytes of metadata kept.
    pub kept_bytes: u64,
}

impl Plan {
    pub fn removed_bytes(&self) -> u64 {
        self.remove.iter().map(|r| r.bytes).sum()
    }
}

/// A revision folder as listed.
#[derive(Debug, Default)]
struct Folder {
    keys: Vec<String>,
    bytes: u64,
    /// When its oldest file was written: when the revision was made.
    created: Option<SystemTime>,
}

/// What `retention` would remove from `bucket` at time `now`. Reads the listing of
/// `v2/metadata/` and the deltas of the chain; writes nothing.
pub async fn plan(
    bucket: &Bucket,
    retention: &Retention,
    now: SystemTime,
) -> Result<Plan, BucketError> {
    let folders = folders(bucket).await?;
    let current = match bucket.get(layout::CURSOR).await? {
        Some(bytes) => cursor::parse(&bytes).ok(),
        None => None,
    };
    let Some(current) = current else {
        // No index (or an unreadable cursor): nothing can be told apart, nothing goes.
        return Ok(Plan {
            current: None,
            kept: folders.len(),
            kept_bytes: folders.values().map(|f| f.bytes).sum(),
            ..Plan::default()
        });
    };
    let chain = chain(bucket, &current, &folders).await?;
    let successor: HashMap<&str, &str> = chain
        .windows(2)
        .map(|pair| (pair[1].as_str(), pair[0].as_str()))
        .collect();
    let recent = |t: Option<SystemTime>| {
        t.is_none_or(|t| now.duration_since(t).unwrap_or_default() < retention.keep_for)
    };
    let mut plan = Plan {
        current: Some(current.clone()),
        ..Plan::default()
    };
    for (cursor, folder) in &folders {
        let position = chain.iter().position(|c| c == cursor);
        let removal = match position {
            // The current revision and the newest before it.
            Some(i) if i <= retention.keep_revisions => None,
            Some(_) => {
                let next = successor.get(cursor.as_str()).and_then(|s| folders.get(*s));
                let superseded = next.and_then(|f| f.created);
                (!recent(superseded)).then_some(Reason::Superseded)
            }
            None => (!recent(folder.created)).then_some(Reason::NeverCurrent),
        };
        match removal {
            Some(reason) => plan.remove.push(Removal {
                cursor: cursor.clone(),
                reason,
                keys: full_index_first(cursor, &folder.keys),
                bytes: folder.bytes,
            }),
            None => {
                plan.kept += 1;
                plan.kept_bytes += folder.bytes;
            }
        }
    }
    Ok(plan)
}

/// Removes what `plan` lists; gives the revisions removed. Stops at the first failure
/// (what was removed stays removed: each folder goes full index first, so a half-removed
/// folder is one without a full index, which the next run removes).
pub async fn execute(bucket: &Bucket, plan: &Plan) -> Result<usize, BucketError> {
    let mut removed = Vec::new();
    let mut result = Ok(());
    'folders: for removal in &plan.remove {
        for key in &removal.keys {
            if let Err(e) = bucket.delete(key).await {
                result = Err(e);
                break 'folders;
            }
        }
        tracing::info!(cursor = %removal.cursor, reason = removal.reason.as_str(), bytes = removal.bytes, "index revision removed");
        removed.push(removal);
    }
    if !removed.is_empty() {
        let bytes: u64 = removed.iter().map(|r| r.bytes).sum();
        let cursors: Vec<&str> = removed.iter().map(|r| r.cursor.as_str()).collect();
        let reason = format!(
            "removed {} index revision(s), {bytes} bytes: {}",
            removed.len(),
            cursors.join(", ")
        );
        events::record(bucket, &Event::now("gc", "done").reason(reason)).await;
    }
    result.map(|()| removed.len())
}

/// The revision folders of `v2/metadata/`, by cursor.
async fn folders(bucket: &Bucket) -> Result<BTreeMap<String, Folder>, BucketError> {
    let mut folders: BTreeMap<String, Folder> = BTreeMap::new();
    for (key, info) in bucket.list_info(layout::METADATA).await? {
        let Some(rest) = key.strip_prefix(layout::METADATA) else {
            continue;
        };
        let Some((cursor, _)) = rest.split_once('/') else {
            continue; // cursor.json and other files beside the folders
        };
        let folder = folders.entry(cursor.to_string()).or_default();
        add(folder, key, &info);
    }
    Ok(folders)
}

fn add(folder: &mut Folder, key: String, info: &ObjectInfo) {
    folder.keys.push(key);
    folder.bytes += info.size;
    folder.created = Some(match folder.created {
        Some(t) => t.min(info.last_modified),
        None => info.last_modified,
    });
}

/// The revisions from `current` back along the deltas' `"previous"` links, newest
/// first; it ends at a delta that names none, is missing or cannot be read.
async fn chain(
    bucket: &Bucket,
    current: &str,
    folders: &BTreeMap<String, Folder>,
) -> Result<Vec<String>, BucketError> {
    let mut chain = vec![current.to_string()];
    while chain.len() <= folders.len() {
        let at = chain.last().expect("never empty");
        let Some(bytes) = bucket.get(&layout::search_index_delta(at)).await? else {
            break;
        };
        let previous = match DeltaDocument::parse(&bytes) {
            Ok(delta) => delta.previous,
            Err(_) => None,
        };
        match previous {
            // Only backwards, and only to a folder that is there.
            Some(p) if cursor::is_before(&p, at) && folders.contains_key(&p) => chain.push(p),
            _ => break,
        }
    }
    Ok(chain)
}

/// The folder's keys with its full index first: a folder whose removal stopped half
/// way then has no full index, and no reader will load it.
fn full_index_first(cursor: &str, keys: &[String]) -> Vec<String> {
    let full = layout::search_index_all(cursor);
    let mut ordered: Vec<String> = keys.iter().filter(|k| **k == full).cloned().collect();
    ordered.extend(keys.iter().filter(|k| **k != full).cloned());
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    /// A bucket with revisions `cursors` (oldest first), each made `age` ago, with a
    /// delta naming the one before it when `linked`.
    async fn bucket_with(revisions: &[(&str, bool)]) -> Bucket {
        let bucket = Bucket::open("memory://", &Default::default()).unwrap();
        let mut previous: Option<&str> = None;
        for (cursor, linked) in revisions {
            let delta = DeltaDocument {
                previous: previous.filter(|_| *linked).map(str::to_string),
                ..DeltaDocument::default()
            };
            let full = Bytes::from_static(b"{\"packages\":[]}\n");
            bucket
                .put(&layout::search_index_all(cursor), full)
                .await
                .unwrap();
            let delta = Bytes::from(delta.to_compact_bytes());
            bucket
                .put(&layout::search_index_delta(cursor), delta)
                .await
                .unwrap();
            previous = Some(cursor);
        }
        bucket
    }

    async fn point_at(bucket: &Bucket, cursor: &str) {
        let pointer = Bytes::from(cursor::render(cursor));
        bucket.put(layout::CURSOR, pointer).await.unwrap();
    }

    fn removed(plan: &Plan) -> Vec<(&str, Reason)> {
        plan.remove
            .iter()
            .map(|r| (r.cursor.as_str(), r.reason))
            .collect()
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[tokio::test]
    async fn keeps_the_current_the_newest_and_the_recent() {
        let cursors = ["01", "02", "03", "04", "05"];
        let bucket = bucket_with(&cursors.map(|c| (c, true))).await;
        point_at(&bucket, "05").await;
        let retention = Retention {
            keep_revisions: 2,
            keep_for: HOUR,
        };
        // Just written: everything is recent.
        let plan = plan(&bucket, &retention, SystemTime::now()).await.unwrap();
        assert_eq!(removed(&plan), []);
        assert_eq!(plan.kept, 5);
        // Two hours later: 01 and 02 were superseded long ago; 03 and 04 are the two
        // newest before the current one.
        let later = SystemTime::now() + 2 * HOUR;
        let plan = super::plan(&bucket, &retention, later).await.unwrap();
        assert_eq!(
            removed(&plan),
            [("01", Reason::Superseded), ("02", Reason::Superseded)]
        );
        assert_eq!(plan.remove[0].keys[0], layout::search_index_all("01"));
        assert_eq!(plan.kept, 3);
        assert_eq!(execute(&bucket, &plan).await.unwrap(), 2);
        let left = bucket.list(layout::METADATA).await.unwrap();
        assert!(
            left.iter()
                .all(|k| !k.contains("/01/") && !k.contains("/02/")),
            "{left:?}"
        );
        assert!(bucket.get(layout::CURSOR).await.unwrap().is_some());
        // Nothing more to do.
        assert_eq!(
            super::plan(&bucket, &retention, later)
                .await
                .unwrap()
                .remove,
            []
        );
    }

    #[tokio::test]
    async fn folders_off_the_chain_go_by_their_own_age_and_later_ones_wait() {
        // 03 lost the race (not linked from 04); 06 is a publish in progress.
        let bucket = bucket_with(&[
            ("01", true),
            ("02", true),
            ("03", true),
            ("04", true),
            ("05", true),
            ("06", true),
        ])
        .await;
        let delta = DeltaDocument {
            previous: Some("02".into()),
            ..DeltaDocument::default()
        };
        let delta = Bytes::from(delta.to_compact_bytes());
        bucket
            .put(&layout::search_index_delta("04"), delta)
            .await
            .unwrap();
        point_at(&bucket, "05").await;
        let retention = Retention {
            keep_revisions: 0,
            keep_for: HOUR,
        };
        let plan = plan(&bucket, &retention, SystemTime::now()).await.unwrap();
        assert_eq!(removed(&plan), []);
        let later = SystemTime::now() + 2 * HOUR;
        let plan = super::plan(&bucket, &retention, later).await.unwrap();
        assert_eq!(
            removed(&plan),
            [
                ("01", Reason::Superseded),
                ("02", Reason::Superseded),
                ("03", Reason::NeverCurrent),
                ("04", Reason::Superseded),
                ("06", Reason::NeverCurrent),
            ]
        );
    }

    #[tokio::test]
    async fn no_cursor_no_removal() {
        let bucket = bucket_with(&[("01", true)]).await;
        let later = SystemTime::now() + 1000 * HOUR;
        let plan = plan(&bucket, &Retention::default(), later).await.unwrap();
        assert_eq!(plan.remove, []);
        assert_eq!(plan.kept, 1);
    }
}
