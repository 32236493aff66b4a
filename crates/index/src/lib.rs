//! The catalog of package versions and the queries over it.
//!
//! # Layout
//!
//! - [`sources`]: finding packages under `package_paths` (folders and zips) in parallel.
//! - [`catalog`]: the immutable snapshot, grouped by indexer, with precomputed bytes;
//!   storage index revisions applied in time proportional to the change.
//! - [`query`]: `/search` and `/categories` parameters and their error texts.
//! - [`search`]: the filtering algorithms and the response bodies.

pub mod catalog;
pub mod query;
pub mod search;
pub mod sources;

pub use catalog::{Catalog, Entry, Indexer, STORAGE_INDEXER, StorageDelta};
