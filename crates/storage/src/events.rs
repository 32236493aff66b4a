//! The bucket's audit trail (`package-registry storage events`; docs/STORAGE.md
//! "Audit trail"): every publish, refusal, yank, unyank, repair and collection of
//! old revisions leaves an event.
//!
//! Each event is an object of its own, `v2/events/{time}-{random}.json`, written with
//! a create-only write: concurrent writers never overwrite each other, and nothing
//! rewrites an event, so the trail is append-only. Keys begin with the time in
//! milliseconds, fixed width, so listing them gives the order they happened in.
//! Retention does not touch them (`storage gc` only removes index revisions).
//!
//! Recording is best effort: a failed write is logged and the operation it describes
//! stands (a publish is not undone because its event could not be written).

use std::time::SystemTime;

use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::bucket::{Bucket, BucketError};

/// Where the events are.
pub const EVENTS: &str = "v2/events/";

/// Events read at once by [`read_all`].
const PARALLEL_READS: usize = 16;

/// One event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    /// `publish`, `yank`, `unyank`, `repair` or `gc`.
    pub action: String,
    /// What came of it: `published`, `already_published`, `refused`, `failed`,
    /// `yanked`, `unyanked`, `done`.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub package: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version: Option<String>,
    /// The candidate's file, for a publish.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub file: Option<String>,
    /// Lower-case hex SHA-256 of the zip.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sha256: Option<String>,
    /// The key id the signature names.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub signer_key_id: Option<String>,
    /// The index revision the change is in.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub revision: Option<String>,
    /// Why (a refusal's message, a yank's reason, what a repair or gc did).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
}

impl Event {
    /// An event of `action` with `outcome`, now.
    pub fn now(action: &str, outcome: &str) -> Event {
        Event {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            action: action.into(),
            outcome: outcome.into(),
            ..Event::default()
        }
    }

    pub fn package(mut self, name: &str, version: &str) -> Event {
        self.package = Some(name.into());
        self.version = Some(version.into());
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Event {
        self.reason = Some(reason.into());
        self
    }
}

/// Appends `event` to the trail; a failure is logged, not returned.
pub async fn record(bucket: &Bucket, event: &Event) {
    if let Err(e) = try_record(bucket, event).await {
        tracing::error!(error = %e, action = %event.action, "cannot write the audit event");
    }
}

async fn try_record(bucket: &Bucket, event: &Event) -> Result<(), BucketError> {
    let body = Bytes::from(serde_json::to_vec(event).expect("an event always serialises"));
    // Keyed by the event's own time, so that the listing's order is the times' order.
    let at = humantime::parse_rfc3339(&event.time).unwrap_or_else(|_| SystemTime::now());
    loop {
        if bucket
            .create_if_absent(&event_key(at), vec![body.clone()])
            .await?
        {
            return Ok(());
        }
        // Another writer took the same key (same millisecond, same random): again.
    }
}

/// `v2/events/{milliseconds, 20 digits}-{64 random bits, hex}.json`.
fn event_key(at: SystemTime) -> String {
    let millis = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{EVENTS}{millis:020}-{:016x}.json", rand::random::<u64>())
}

/// Every event of the trail, oldest first. An object that is not an event is
/// reported as an event with outcome `unreadable`.
pub async fn read_all(bucket: &Bucket) -> Result<Vec<Event>, BucketError> {
    let keys = bucket.list(EVENTS).await?;
    let events = futures_util::stream::iter(keys)
        .map(|key| async move {
            let bytes = bucket.get(&key).await?;
            Ok::<_, BucketError>(bytes.map(|b| {
                serde_json::from_slice::<Event>(&b).unwrap_or_else(|e| Event {
                    outcome: "unreadable".into(),
                    reason: Some(format!("{key}: {e}")),
                    ..Event::default()
                })
            }))
        })
        .buffered(PARALLEL_READS)
        .collect::<Vec<_>>()
        .await;
    let mut out = Vec::new();
    for event in events {
        if let Some(event) = event? {
            out.push(event);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_lose_nothing_and_order_holds() {
        let bucket = Bucket::open("memory://", &Default::default()).unwrap();
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let bucket = bucket.clone();
                tokio::spawn(async move {
                    for i in 0..25 {
                        let event = Event::now("publish", "published")
                            .package(&format!("p{w}"), &format!("1.0.{i}"));
                        record(&bucket, &event).await;
                    }
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }
        let events = read_all(&bucket).await.unwrap();
        assert_eq!(events.len(), 200);
        // None lost.
        for w in 0..8 {
            let mine: Vec<&str> = events
                .iter()
                .filter(|e| e.package.as_deref() == Some(&format!("p{w}")))
                .map(|e| e.version.as_deref().unwrap())
                .collect();
            let expected: Vec<String> = (0..25).map(|i| format!("1.0.{i}")).collect();
            let mut sorted = mine.clone();
            sorted.sort_by_key(|v| v.rsplit('.').next().unwrap().parse::<u32>().unwrap());
            assert_eq!(sorted, expected);
        }
        let times: Vec<&str> = events.iter().map(|e| e.time.as_str()).collect();
        let mut sorted = times.clone();
        sorted.sort();
        assert_eq!(times, sorted, "listed in time order");
    }
}
