//! Which spec a package's `format_version` selects (spec/package-format.md §3).
//!
//! The list is every version in package-spec's `spec/changelog.yml`, newest first.
//! `format_version` must equal one of them once the entry's prerelease is ignored.

use epr_package::version::Version;

/// The spec versions package-spec knows, newest first.
pub const KNOWN: &[&str] = &[
    "3.7.0-next",
    "3.6.6",
    "3.6.5",
    "3.6.4",
    "3.6.3",
    "3.6.2",
    "3.6.1",
    "3.6.0",
    "3.5.8",
    "3.5.7",
    "3.5.6",
    "3.5.5",
    "3.5.4",
    "3.5.3",
    "3.5.2",
    "3.5.1",
    "3.5.0",
    "3.4.2",
    "3.4.1",
    "3.4.0",
    "3.3.5",
    "3.3.4",
    "3.3.3",
    "3.3.2",
    "3.3.1",
    "3.3.0",
    "3.2.3",
    "3.2.2",
    "3.2.1",
    "3.2.0",
    "3.1.5",
    "3.1.4",
    "3.1.3",
    "3.1.2",
    "3.1.1",
    "3.1.0",
    "3.0.4",
    "3.0.3",
    "3.0.2",
    "3.0.1",
    "3.0.0",
    "2.13.0",
    "2.12.0",
    "2.11.0",
    "2.10.0",
    "2.9.0",
    "2.8.1",
    "2.8.0",
    "2.7.0",
    "2.6.0",
    "2.5.1",
    "2.5.0",
    "2.4.0",
    "2.3.0",
    "2.2.0",
    "2.1.0",
    "2.0.0",
    "2.0.0-rc2",
    "2.0.0-rc1",
    "1.18.0",
    "1.17.0",
    "1.16.0",
    "1.15.0",
    "1.14.0",
    "1.13.0",
    "1.12.1",
    "1.12.0",
    "1.11.0",
    "1.10.0",
    "1.9.0",
    "1.8.1",
    "1.8.0",
    "1.7.0",
    "1.6.0",
    "1.5.0",
    "1.4.1",
    "1.4.0",
    "1.3.0",
    "1.2.0",
    "1.1",
    "1.0.0",
    "1.0.0-alpha1",
];

/// The changelog entry `format_version` selects, or `None` when the spec has no such
/// version.
pub fn lookup(format_version: &Version) -> Option<&'static str> {
    KNOWN.iter().copied().find(|entry| {
        Version::parse(entry).is_ok_and(|v| {
            v.major() == format_version.major()
                && v.minor() == format_version.minor()
                && v.patch() == format_version.patch()
                && format_version.prerelease().is_empty()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_entries_ignoring_their_prerelease() {
        let v = |s| Version::parse(s).unwrap();
        assert_eq!(lookup(&v("3.7.0")), Some("3.7.0-next"));
        assert_eq!(lookup(&v("3.0.0")), Some("3.0.0"));
        assert_eq!(lookup(&v("1.1")), Some("1.1"));
        assert_eq!(lookup(&v("2.0.0")), Some("2.0.0"));
        assert_eq!(lookup(&v("3.6.7")), None);
    }
}
