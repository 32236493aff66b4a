//! The query strings of `/search` and `/categories`: parsed into a filter or
//! refused with a message, in both modes of unknown parameters.
#![no_main]

use epr_index::query::{Endpoint, parse_filter, parse_pairs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    let pairs = parse_pairs(raw);
    for endpoint in [Endpoint::Search, Endpoint::Categories] {
        for allow_unknown in [true, false] {
            let _ = parse_filter(&pairs, endpoint, allow_unknown);
        }
    }
});
