//! Reading Elastic integration packages from folders and zips.
//!
//! # Layout
//!
//! - [`fs`]: one view of a package's files, folder or zip.
//! - [`open_files`]: served packages' files, opened again when asked for.
//! - [`yaml`]: YAML 1.1 documents with dotted keys expanded, as the upstream reads them.
//! - [`decode`]: typed reads from YAML that collect every problem.
//! - [`problem`]: a problem with its file, line and code, the loader's and the
//!   validator's.
//! - [`package`]: a loaded package, its derived fields and its JSON documents.
//! - [`load`]: loading one from its files: decode, check, render.
//! - [`index_entry`]: a package from a Package Storage v2 index entry, and the
//!   entry our publisher writes for a package.
//! - [`index_summary`]: the part of an index entry that queries need, without the rest.
//! - [`manifest_parts`], [`data_stream`]: the pieces of manifests.
//! - [`json`]: JSON printed byte for byte as the upstream prints it; `search_text`:
//!   the `/search` entry printed once, in pieces.
//! - [`version`], [`constraint`]: Masterminds-compatible versions and constraints.
//! - [`categories`]: the embedded category list and ingestion methods.

pub mod categories;
pub mod constraint;
pub mod data_stream;
pub mod decode;
pub mod fs;
pub mod go_text;
pub mod index_entry;
pub mod index_summary;
pub mod json;
pub mod load;
pub mod load_cache;
pub mod manifest_parts;
pub mod open_files;
pub mod package;
pub mod problem;
pub mod required_fields;
mod search_text;
pub mod version;
pub mod yaml;

pub use index_entry::from_index_manifest;
pub use package::{LoadError, LoadOptions, Location, Package};
