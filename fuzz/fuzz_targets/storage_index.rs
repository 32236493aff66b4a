//! A bucket's index files as a registry reads them: `search-index-all.json`, a
//! revision's delta and one package's index manifest.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = epr_index::storage_index::parse_search_index_all(bytes);
    let _ = epr_index::storage_index::parse_delta(bytes);
    let _ = epr_package::index_entry::from_index_manifest_bytes(bytes);
});
