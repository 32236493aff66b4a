//! Package Storage v2 (spec/storage-and-publishing.md §2 to §5): the bucket, the
//! signatures, publishing into it and reading its index.
//!
//! # Layout
//!
//! - [`bucket`]: a bucket (`file://`, `s3://`, `gs://`, `memory://`) over `object_store`,
//!   with create-only writes and compare-and-swap replacement; [`gcs_upload`] writes to
//!   GCS.
//! - [`layout`]: the object keys of the v2 layout.
//! - [`signature`]: detached, ASCII-armored OpenPGP signatures (sign and verify).
//! - [`candidate`]: the checks a candidate passes before anything is written.
//! - [`check`]: `storage check` and `storage repair`.
//! - [`publish`]: publishing one candidate: claim, store, index.
//! - [`cursor`] and [`revision`]: `cursor.json` and advancing the index safely.
//! - [`events`]: the audit trail.
//! - [`gc`]: retention, removing the index revisions nobody needs any more.
//! - [`inventory`]: what a bucket holds (`storage list`).
//! - [`queue`]: the worker that publishes what is dropped into a queue.
//! - [`reader`]: the registry side: loading the index and following its revisions.

pub mod bucket;
pub mod candidate;
pub mod check;
pub mod cursor;
pub mod events;
pub mod gc;
pub mod gcs_upload;
pub mod inventory;
pub mod layout;
pub mod publish;
pub mod queue;
pub mod reader;
pub mod revision;
pub mod signature;
