//! Versions and constraints (`kibana.version: "^8.12.0 || ^9.0.0"`): parsed or
//! refused, and a parsed constraint checks any parsed version.
#![no_main]

use epr_package::constraint::Constraints;
use epr_package::version::Version;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str)| {
    let (constraint, version) = input;
    let strict = Version::parse_strict(version);
    let loose = Version::parse(version);
    if let Ok(c) = Constraints::parse(constraint) {
        let _ = c.to_string();
        for v in [strict, loose].into_iter().flatten() {
            let _ = c.check(&v);
        }
    }
});
