//! The catalog of package versions and the queries over it.
//!
//! # Layout
//!
//! - [`sources`]: finding packages under `package_paths` (folders and zips) in parallel.
//! - [`catalog`]: the immutable snapshot, grouped by indexer, with precomputed bytes;
//!   storage index revisions applied in time proportional to the change.
//! - [`query`]: `/search` and `/categories` parameters and their error texts.
//! - [`search`]: the filtering algorithms and the response bodies.
//! - [`storage_index`]: Package Storage v2 index files (`search-index-all.json`,
//!   deltas), read into packages and written by the publisher.
//! - [`index_stream`]: reading a `search-index-all.json` in blocks, items decoded in
//!   parallel, for a registry that must not hold the whole file.

pub mod catalog;
pub mod index_rewrite;
mod index_scan;
pub mod index_stream;
pub mod query;
pub mod search;
pub mod sources;
pub mod storage_index;

pub use catalog::{
    Catalog, Entry, FOLDER_INDEXER, FullDocument, Indexer, Listed, ManifestRef, ManifestSource,
    OnIndexer, STORAGE_INDEXER, StorageDelta, ZIP_INDEXER, document_from_files,
};
