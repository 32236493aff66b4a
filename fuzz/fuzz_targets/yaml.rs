//! The YAML loader of manifests, data streams and fields files, in each of its
//! dialects: any text is parsed or refused, never a panic, within its bounds.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: common::tolerate_the_caught_yaml_panic(), |text: &str| {
    let _ = epr_package::yaml::parse_config(text);
    let _ = epr_package::yaml::parse_v3(text);
    if let Ok(node) = epr_package::yaml::parse_keeping(text, &["name", "type", "fields"]) {
        let _ = epr_package::yaml::expand_dotted_keys(node);
    }
});
