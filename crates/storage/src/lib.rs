//! Package Storage v2 (spec/storage-and-publishing.md §2 to §5).
//!
//! # Layout
//!
//! - [`signature`]: detached, ASCII-armored OpenPGP signatures (sign and verify).
//! - [`bucket`]: a bucket (`file://`, `s3://`, `gs://`, `memory://`) over `object_store`,
//!   with create-only writes and compare-and-swap replacement.

pub mod bucket;
pub mod signature;
