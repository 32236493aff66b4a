//! Semantic versions, ported from Go's `github.com/Masterminds/semver/v3` at v3.5.0.
//!
//! The Go Elastic Package Registry parses and orders package versions with that
//! library, and we must accept, reject and order versions exactly as it does,
//! including its quirks (leading zeros accepted by the lenient parser, prerelease
//! identifiers compared with its own numeric rules, metadata ignored). So this is a
//! line-by-line port rather than a use of a Rust semver crate, and the error texts are
//! the Go ones because they end up in API responses.
//!
//! The Go code uses regular expressions; this crate has no regex engine, so the two
//! patterns are matched by hand in `scan_version`. The patterns are simple enough
//! that their leftmost-first (greedy) match can be computed without backtracking; the
//! reasoning is written next to the scanner.

use std::cmp::Ordering;
use std::fmt;

/// Longest version string either parser accepts (Go `MaxVersionLen`), a guard against
/// huge inputs that the Go library added and that we keep so the same strings fail.
pub const MAX_VERSION_LEN: usize = 256;

/// A parsed version. Fields are private so every instance went through one of the
/// Go-compatible parsers.
#[derive(Debug, Clone)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    prerelease: String,
    metadata: String,
    original: String,
}

/// Why a version string was rejected. `Display` reproduces the Go error text exactly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// Go `ErrInvalidSemVer`: the lenient parser's pattern did not match, or the strict
    /// parser did not find three dot-separated parts.
    #[error("invalid semantic version")]
    InvalidSemVer,
    /// Go `ErrEmptyString` (strict parser only; the lenient one reports `InvalidSemVer`).
    #[error("version string empty")]
    Empty,
    /// Go `ErrInvalidCharacters` (strict parser only): a numeric part holds a non-digit.
    #[error("invalid characters in version")]
    InvalidCharacters,
    /// Go `ErrSegmentStartsZero`: a numeric part (strict parser) or a numeric
    /// prerelease identifier (both parsers) has a leading zero.
    #[error("version segment starts with 0")]
    SegmentStartsZero,
    /// Go `ErrInvalidMetadata`.
    #[error("invalid metadata string")]
    InvalidMetadata,
    /// Go `ErrInvalidPrerelease`.
    #[error("invalid prerelease string")]
    InvalidPrerelease,
    /// Go `ErrVersionTooLong`: longer than [`MAX_VERSION_LEN`] bytes.
    #[error("version string is too long (max 256 bytes)")]
    TooLong,
    /// Lenient parser: a numeric part does not fit in a `u64`. Go wraps the
    /// `strconv.ParseUint` error; the field is the offending digits.
    #[error(
        "error parsing version segment: strconv.ParseUint: parsing \"{0}\": value out of range"
    )]
    SegmentOutOfRange(String),
    /// Strict parser: a numeric part does not fit in a `u64`. Go returns the bare
    /// `strconv.ParseUint` error here, without the "error parsing version segment" prefix.
    #[error("strconv.ParseUint: parsing \"{0}\": value out of range")]
    StrictSegmentOutOfRange(String),
    /// Strict parser: an empty numeric part such as the middle of `1..3`, which Go lets
    /// through to `strconv.ParseUint("")`.
    #[error("strconv.ParseUint: parsing \"\": invalid syntax")]
    StrictSegmentEmpty,
}

impl Version {
    /// Masterminds `StrictNewVersion`: exactly MAJOR.MINOR.PATCH, no leading zeros, no
    /// `v`, optional `-prerelease` and `+metadata`.
    ///
    /// Ported step by step (split on the first two dots, then peel off `+` and `-` from
    /// the last part) because the order of the checks decides which error is returned,
    /// e.g. `1.2-beta.3` fails with "invalid characters in version".
    pub fn parse_strict(s: &str) -> Result<Version, VersionError> {
        if s.is_empty() {
            return Err(VersionError::Empty);
        }
        if s.len() > MAX_VERSION_LEN {
            return Err(VersionError::TooLong);
        }

        let parts: Vec<&str> = s.splitn(3, '.').collect();
        if parts.len() != 3 {
            return Err(VersionError::InvalidSemVer);
        }
        let mut last = parts[2];

        let mut metadata = "";
        if let Some((rest, meta)) = last.split_once('+') {
            metadata = meta;
            last = rest;
            validate_metadata(metadata)?;
        }

        let mut prerelease = "";
        if let Some((rest, pre)) = last.split_once('-') {
            prerelease = pre;
            last = rest;
            validate_prerelease(prerelease)?;
        }

        let numbers = [parts[0], parts[1], last];
        for part in numbers {
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(VersionError::InvalidCharacters);
            }
            if part.len() > 1 && part.starts_with('0') {
                return Err(VersionError::SegmentStartsZero);
            }
        }

        let strict_number = |part: &str| {
            if part.is_empty() {
                return Err(VersionError::StrictSegmentEmpty);
            }
            parse_u64(part).ok_or_else(|| VersionError::StrictSegmentOutOfRange(part.to_string()))
        };
        Ok(Version {
            major: strict_number(numbers[0])?,
            minor: strict_number(numbers[1])?,
            patch: strict_number(numbers[2])?,
            prerelease: prerelease.to_string(),
            metadata: metadata.to_string(),
            original: s.to_string(),
        })
    }

    /// Masterminds `NewVersion` with its default settings (`CoerceNewVersion = true`):
    /// optional `v`, one to three numeric parts (missing ones are 0, leading zeros
    /// allowed), optional prerelease and metadata.
    ///
    /// This is the parser the registry uses for package and Kibana versions, so `7.x`,
    /// `8.1.0.1` and `V1.0.0` must fail here just as they do in Go.
    pub fn parse(s: &str) -> Result<Version, VersionError> {
        if s.len() > MAX_VERSION_LEN {
            return Err(VersionError::TooLong);
        }
        // Go matches `^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-(ident(\.ident)*))?(\+(ident(\.ident)*))?$`.
        let scan = match scan_version(s, 0, is_digit) {
            Some(scan) if scan.end == s.len() => scan,
            _ => return Err(VersionError::InvalidSemVer),
        };

        let number = |part: &str| {
            parse_u64(part).ok_or_else(|| VersionError::SegmentOutOfRange(part.to_string()))
        };
        let major = number(scan.major)?;
        let minor = match scan.minor {
            Some(part) => number(part)?,
            None => 0,
        };
        let patch = match scan.patch {
            Some(part) => number(part)?,
            None => 0,
        };
        let prerelease = scan.prerelease.unwrap_or("");
        let metadata = scan.metadata.unwrap_or("");
        if !prerelease.is_empty() {
            validate_prerelease(prerelease)?;
        }
        if !metadata.is_empty() {
            validate_metadata(metadata)?;
        }

        Ok(Version {
            major,
            minor,
            patch,
            prerelease: prerelease.to_string(),
            metadata: metadata.to_string(),
            original: s.to_string(),
        })
    }

    pub fn major(&self) -> u64 {
        self.major
    }

    pub fn minor(&self) -> u64 {
        self.minor
    }

    pub fn patch(&self) -> u64 {
        self.patch
    }

    /// The prerelease without its leading `-`; empty when there is none.
    pub fn prerelease(&self) -> &str {
        &self.prerelease
    }

    /// The build metadata without its leading `+`; empty when there is none.
    pub fn metadata(&self) -> &str {
        &self.metadata
    }

    /// The string as given to the parser. Kept because the registry echoes package
    /// versions back as written (e.g. `v1.0` stays `v1.0`, while `Display` gives `1.0.0`).
    pub fn original(&self) -> &str {
        &self.original
    }

    /// Masterminds `Compare`: SemVer precedence with metadata ignored, and prerelease
    /// identifiers compared by `compare_prerelease`.
    pub fn compare(&self, other: &Version) -> Ordering {
        self.major
            .cmp(&other.major)
            .then(self.minor.cmp(&other.minor))
            .then(self.patch.cmp(&other.patch))
            .then_with(
                || match (self.prerelease.is_empty(), other.prerelease.is_empty()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    (false, false) => compare_prerelease(&self.prerelease, &other.prerelease),
                },
            )
    }
}

/// Masterminds `String()`: the normalised form, without the `v` prefix and with missing
/// parts filled in.
impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.prerelease.is_empty() {
            write!(f, "-{}", self.prerelease)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

/// Equality follows `compare`, so `1.0.0+a == 1.0.0+b`, as Go's `Equal` has it.
impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.compare(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.compare(other)
    }
}

/// Go `comparePrerelease`: compare dot-separated identifiers pairwise, a missing
/// identifier sorting before a present one. Shared with the constraint code, whose `!=`
/// operator calls it directly, possibly with an empty side.
pub(crate) fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let a_parts: Vec<&str> = a.split('.').collect();
    let b_parts: Vec<&str> = b.split('.').collect();
    let len = a_parts.len().max(b_parts.len());
    for i in 0..len {
        let a_part = a_parts.get(i).copied().unwrap_or("");
        let b_part = b_parts.get(i).copied().unwrap_or("");
        let ordering = compare_prerelease_part(a_part, b_part);
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// Go `comparePrePart`. An identifier counts as numeric only if it parses as a `u64`,
/// so `-2` and an overflowing run of digits are compared as strings, and numbers sort
/// before strings. Two different numeric spellings of one value (only possible with
/// leading zeros, which both parsers reject) compare as `Less` both ways, as in Go.
fn compare_prerelease_part(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    if a.is_empty() {
        return Ordering::Less;
    }
    if b.is_empty() {
        return Ordering::Greater;
    }
    match (parse_u64(a), parse_u64(b)) {
        (None, None) => {
            if a > b {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(a_num), Some(b_num)) => {
            if a_num > b_num {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

/// Go `strconv.ParseUint(s, 10, 64)` reduced to success or failure: only ASCII digits
/// (Rust's `u64::from_str` would also take a leading `+`), at least one, fitting in a
/// `u64`. Leading zeros are fine, as in Go.
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Characters allowed in prerelease and metadata identifiers: `[0-9A-Za-z-]`.
pub(crate) fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

fn is_digit(b: u8) -> bool {
    b.is_ascii_digit()
}

/// Go `validatePrerelease`.
fn validate_prerelease(pre: &str) -> Result<(), VersionError> {
    for part in pre.split('.') {
        if part.is_empty() {
            return Err(VersionError::InvalidPrerelease);
        } else if part.bytes().all(|b| b.is_ascii_digit()) {
            if part.len() > 1 && part.starts_with('0') {
                return Err(VersionError::SegmentStartsZero);
            }
        } else if !part.bytes().all(is_ident_char) {
            return Err(VersionError::InvalidPrerelease);
        }
    }
    Ok(())
}

/// Go `validateMetadata`.
fn validate_metadata(meta: &str) -> Result<(), VersionError> {
    for part in meta.split('.') {
        if part.is_empty() || !part.bytes().all(is_ident_char) {
            return Err(VersionError::InvalidMetadata);
        }
    }
    Ok(())
}

/// The pieces of a version-like token found by [`scan_version`]. Numeric parts are
/// given without their leading `.`, prerelease and metadata without `-` / `+`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VersionScan<'a> {
    /// Byte offset where the token starts (at the `v`, if any).
    pub start: usize,
    /// Byte offset just past the token.
    pub end: usize,
    pub major: &'a str,
    pub minor: Option<&'a str>,
    pub patch: Option<&'a str>,
    pub prerelease: Option<&'a str>,
    pub metadata: Option<&'a str>,
}

impl<'a> VersionScan<'a> {
    /// The whole token, `v` prefix and metadata included.
    pub fn text(&self, s: &'a str) -> &'a str {
        &s[self.start..self.end]
    }
}

/// Matches, at byte offset `start` of `s`, the pattern both Go files build on:
///
/// `v?(N+)(\.N+)?(\.N+)?(-(I+(\.I+)*))?(\+(I+(\.I+)*))?`
///
/// where `N` is `[0-9]` for versions (`looseSemVerRegex`) and `[0-9|x|X|\*]` for
/// constraints (`cvRegex`, whose class really does contain `|`), and `I` is
/// `[0-9A-Za-z-]`. Returns the leftmost-first match, which is the greedy one: every
/// part after the major is optional, so taking each part whenever it can be taken never
/// fails. No backtracking is needed either, because the characters that open a part
/// (`.`, `-`, `+`) are never in the class of the part before, so the greedy match is
/// also the only way to match any longer token. An anchored match therefore exists
/// exactly when the greedy match reaches the end of the token.
pub(crate) fn scan_version(
    s: &str,
    start: usize,
    is_num: fn(u8) -> bool,
) -> Option<VersionScan<'_>> {
    let bytes = s.as_bytes();
    let mut i = start;
    // `v?` is greedy, and `v` is never a number character, so if the number does not
    // follow the `v` there is no match at all.
    if bytes.get(i) == Some(&b'v') {
        i += 1;
    }
    let major_start = i;
    i = run(bytes, i, is_num);
    if i == major_start {
        return None;
    }
    let major = &s[major_start..i];

    let numeric_part = |i: &mut usize| {
        if bytes.get(*i) == Some(&b'.') && bytes.get(*i + 1).copied().is_some_and(is_num) {
            let part_start = *i + 1;
            *i = run(bytes, part_start, is_num);
            Some(&s[part_start..*i])
        } else {
            None
        }
    };
    let minor = numeric_part(&mut i);
    let patch = if minor.is_some() {
        numeric_part(&mut i)
    } else {
        None
    };

    let dotted_idents = |i: &mut usize, opener: u8| {
        if bytes.get(*i) != Some(&opener) || !bytes.get(*i + 1).copied().is_some_and(is_ident_char)
        {
            return None;
        }
        let part_start = *i + 1;
        let mut j = run(bytes, part_start, is_ident_char);
        while bytes.get(j) == Some(&b'.') && bytes.get(j + 1).copied().is_some_and(is_ident_char) {
            j = run(bytes, j + 1, is_ident_char);
        }
        *i = j;
        Some(&s[part_start..j])
    };
    let prerelease = dotted_idents(&mut i, b'-');
    let metadata = dotted_idents(&mut i, b'+');

    Some(VersionScan {
        start,
        end: i,
        major,
        minor,
        patch,
        prerelease,
        metadata,
    })
}

/// End of the run of bytes matching `class` that starts at `i`.
pub(crate) fn run(bytes: &[u8], mut i: usize, class: fn(u8) -> bool) -> usize {
    while bytes.get(i).copied().is_some_and(class) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    // Go TestStrictNewVersion.
    #[test]
    fn strict_new_version() {
        let cases: &[(&str, bool)] = &[
            ("1.2.3", false),
            ("1.2.3-alpha.01", true),
            ("1.2.3+test.01", false),
            ("1.2.3-alpha.-1", false),
            ("v1.2.3", true),
            ("1.0", true),
            ("v1.0", true),
            ("1", true),
            ("v1", true),
            ("1.2", true),
            ("1.2.beta", true),
            ("v1.2.beta", true),
            ("foo", true),
            ("1.2-5", true),
            ("v1.2-5", true),
            ("1.2-beta.5", true),
            ("v1.2-beta.5", true),
            ("\n1.2", true),
            ("\nv1.2", true),
            ("1.2.0-x.Y.0+metadata", false),
            ("v1.2.0-x.Y.0+metadata", true),
            ("1.2.0-x.Y.0+metadata-width-hypen", false),
            ("v1.2.0-x.Y.0+metadata-width-hypen", true),
            ("1.2.3-rc1-with-hypen", false),
            ("1.2.3-0abc123", false),
            ("1.2.3-beta.01", true),
            ("v1.2.3-rc1-with-hypen", true),
            ("1.2.3.4", true),
            ("v1.2.3.4", true),
            ("1.2.2147483648", false),
            ("1.2147483648.3", false),
            ("2147483648.3.0", false),
            ("20221209-update-renovatejson-v4", true),
            ("1.1.2+.123", true),
            ("1.0.0-alpha_beta", true),
            ("1.0.0-alpha..", true),
            ("1.0.0-alpha..1", true),
            ("01.1.1", true),
            ("1.01.1", true),
            ("1.1.01", true),
            ("9.8.7+meta+meta", true),
            ("1.2.31----RC-SNAPSHOT.12.09.1--.12+788", true),
            ("1.2.3-0123", true),
            ("1.2.3-0123.0123", true),
            ("+invalid", true),
            ("-invalid", true),
            ("-invalid.01", true),
            ("alpha+beta", true),
            ("1.2.3-alpha_beta+foo", true),
            ("1.0.0-alpha..1", true),
        ];
        for (input, want_err) in cases {
            let got = Version::parse_strict(input);
            assert_eq!(got.is_err(), *want_err, "{input:?}: {got:?}");
        }
    }

    // Go TestNewVersion, "With loose NewVersion" (the default mode).
    #[test]
    fn new_version() {
        let cases: &[(&str, bool)] = &[
            ("1.2.3", false),
            ("1.2.3-alpha.01", true),
            ("1.2.3+test.01", false),
            ("1.2.3-alpha.-1", false),
            ("v1.2.3", false),
            ("1.0", false),
            ("v1.0", false),
            ("1", false),
            ("v1", false),
            ("1.2.beta", true),
            ("v1.2.beta", true),
            ("foo", true),
            ("1.2-5", false),
            ("v1.2-5", false),
            ("1.2-beta.5", false),
            ("v1.2-beta.5", false),
            ("\n1.2", true),
            ("\nv1.2", true),
            ("1.2.0-x.Y.0+metadata", false),
            ("v1.2.0-x.Y.0+metadata", false),
            ("1.2.0-x.Y.0+metadata-width-hypen", false),
            ("v1.2.0-x.Y.0+metadata-width-hypen", false),
            ("1.2.3-rc1-with-hypen", false),
            ("v1.2.3-rc1-with-hypen", false),
            ("1.2.3-0abc123", false),
            ("1.2.3-beta.01", true),
            ("1.2.3.4", true),
            ("v1.2.3.4", true),
            ("1.2.2147483648", false),
            ("1.2147483648.3", false),
            ("2147483648.3.0", false),
            ("12.3.4.1234", true),
            ("12.23.4.1234", true),
            ("12.3.34.1234", true),
            ("20221209-update-renovatejson-v4", false),
            ("1.1.2+.123", true),
            ("1.0.0-alpha_beta", true),
            ("1.0.0-alpha..", true),
            ("1.0.0-alpha..1", true),
            ("9.8.7+meta+meta", true),
            ("1.2.31----RC-SNAPSHOT.12.09.1--.12+788", true),
            ("01.1.1", false),
            ("1.01.1", false),
            ("1.1.01", false),
            // From our API contract.
            ("8.1.0.1", true),
            ("7.x", true),
            ("V1.2.3", true),
            ("", true),
        ];
        for (input, want_err) in cases {
            let got = Version::parse(input);
            assert_eq!(got.is_err(), *want_err, "{input:?}: {got:?}");
        }
    }

    #[test]
    fn error_texts() {
        let cases: &[(&str, bool, &str)] = &[
            ("", false, "invalid semantic version"),
            ("", true, "version string empty"),
            ("1.2", true, "invalid semantic version"),
            ("1.2-beta.3", true, "invalid characters in version"),
            ("v1.2.3", true, "invalid characters in version"),
            ("01.2.3", true, "version segment starts with 0"),
            ("1.2.3-01", true, "version segment starts with 0"),
            ("1.2.3-01", false, "version segment starts with 0"),
            ("1.2.3-a..b", true, "invalid prerelease string"),
            ("1.2.3-", true, "invalid prerelease string"),
            ("1.2.3+", true, "invalid metadata string"),
            ("1.2.3+a_b", true, "invalid metadata string"),
            ("1.2.3-a_b", false, "invalid semantic version"),
            (
                "1..3",
                true,
                "strconv.ParseUint: parsing \"\": invalid syntax",
            ),
            (
                "18446744073709551616.0.0",
                true,
                "strconv.ParseUint: parsing \"18446744073709551616\": value out of range",
            ),
            (
                "1.18446744073709551616",
                false,
                "error parsing version segment: strconv.ParseUint: parsing \"18446744073709551616\": value out of range",
            ),
        ];
        for (input, strict, want) in cases {
            let got = if *strict {
                Version::parse_strict(input)
            } else {
                Version::parse(input)
            };
            assert_eq!(
                got.unwrap_err().to_string(),
                *want,
                "{input:?} strict={strict}"
            );
        }
        assert_eq!(
            Version::parse("18446744073709551615").unwrap().major(),
            u64::MAX
        );
    }

    // Go TestNewVersionTooLong.
    #[test]
    fn too_long() {
        let long = format!("1.0.0-{}", "a".repeat(MAX_VERSION_LEN));
        assert_eq!(Version::parse(&long).unwrap_err(), VersionError::TooLong);
        assert_eq!(
            Version::parse_strict(&long).unwrap_err(),
            VersionError::TooLong
        );
        assert_eq!(
            VersionError::TooLong.to_string(),
            "version string is too long (max 256 bytes)"
        );
        let just_fits = format!("1.0.0-{}", "a".repeat(MAX_VERSION_LEN - 6));
        assert!(Version::parse(&just_fits).is_ok());
    }

    // Go TestOriginal.
    #[test]
    fn original() {
        for input in [
            "1.2.3",
            "v1.2.3",
            "1.0",
            "v1.0",
            "1",
            "v1",
            "1.2-5",
            "v1.2-5",
            "1.2-beta.5",
            "v1.2-beta.5",
            "1.2.0-x.Y.0+metadata",
            "v1.2.0-x.Y.0+metadata",
            "1.2.0-x.Y.0+metadata-width-hypen",
            "v1.2.0-x.Y.0+metadata-width-hypen",
            "1.2.3-rc1-with-hypen",
            "v1.2.3-rc1-with-hypen",
        ] {
            assert_eq!(Version::parse(input).unwrap().original(), input);
        }
    }

    // Go TestParts.
    #[test]
    fn parts() {
        let v = Version::parse("1.2.3-beta.1+build.123").unwrap();
        assert_eq!(v.major(), 1);
        assert_eq!(v.minor(), 2);
        assert_eq!(v.patch(), 3);
        assert_eq!(v.prerelease(), "beta.1");
        assert_eq!(v.metadata(), "build.123");
        let strict = Version::parse_strict("1.2.3-beta.1+build.123").unwrap();
        assert_eq!(strict.prerelease(), "beta.1");
        assert_eq!(strict.metadata(), "build.123");
        let meta_hyphen = Version::parse_strict("1.2.3+meta-data").unwrap();
        assert_eq!(meta_hyphen.prerelease(), "");
        assert_eq!(meta_hyphen.metadata(), "meta-data");
    }

    // Go TestCoerceString.
    #[test]
    fn display() {
        let cases = [
            ("1.2.3", "1.2.3"),
            ("v1.2.3", "1.2.3"),
            ("1.0", "1.0.0"),
            ("v1.0", "1.0.0"),
            ("1", "1.0.0"),
            ("v1", "1.0.0"),
            ("1.2-5", "1.2.0-5"),
            ("v1.2-5", "1.2.0-5"),
            ("1.2-beta.5", "1.2.0-beta.5"),
            ("v1.2-beta.5", "1.2.0-beta.5"),
            ("1.2.0-x.Y.0+metadata", "1.2.0-x.Y.0+metadata"),
            ("v1.2.0-x.Y.0+metadata", "1.2.0-x.Y.0+metadata"),
            (
                "1.2.0-x.Y.0+metadata-width-hypen",
                "1.2.0-x.Y.0+metadata-width-hypen",
            ),
            (
                "v1.2.0-x.Y.0+metadata-width-hypen",
                "1.2.0-x.Y.0+metadata-width-hypen",
            ),
            ("1.2.3-rc1-with-hypen", "1.2.3-rc1-with-hypen"),
            ("v1.2.3-rc1-with-hypen", "1.2.3-rc1-with-hypen"),
            ("01.002.0003", "1.2.3"),
        ];
        for (input, want) in cases {
            assert_eq!(
                Version::parse(input).unwrap().to_string(),
                want,
                "{input:?}"
            );
        }
    }

    fn cmp(a: &str, b: &str) -> Ordering {
        Version::parse(a)
            .unwrap()
            .compare(&Version::parse(b).unwrap())
    }

    // Go TestCompare.
    #[test]
    fn compare() {
        use Ordering::{Equal, Greater, Less};
        let cases = [
            ("1.2.3", "1.5.1", Less),
            ("2.2.3", "1.5.1", Greater),
            ("2.2.3", "2.2.2", Greater),
            ("3.2-beta", "3.2-beta", Equal),
            ("1.3", "1.1.4", Greater),
            ("4.2", "4.2-beta", Greater),
            ("4.2-beta", "4.2", Less),
            ("4.2-alpha", "4.2-beta", Less),
            ("4.2-alpha", "4.2-alpha", Equal),
            ("4.2-beta.2", "4.2-beta.1", Greater),
            ("4.2-beta2", "4.2-beta1", Greater),
            ("4.2-beta", "4.2-beta.2", Less),
            ("4.2-beta", "4.2-beta.foo", Less),
            ("4.2-beta.2", "4.2-beta", Greater),
            ("4.2-beta.foo", "4.2-beta", Greater),
            ("1.2+bar", "1.2+baz", Equal),
            ("1.0.0-beta.4", "1.0.0-beta.-2", Less),
            ("1.0.0-beta.-2", "1.0.0-beta.-3", Less),
            ("1.0.0-beta.-3", "1.0.0-beta.5", Greater),
            // Overflowing numeric identifiers are compared as strings, after numbers.
            ("1.0.0-99999999999999999999", "1.0.0-5", Greater),
            ("1.0.0-SNAPSHOT", "1.0.0-99999999999999999999", Greater),
        ];
        for (a, b, want) in cases {
            assert_eq!(cmp(a, b), want, "{a} vs {b}");
        }
    }

    // Go TestLessThan, TestLessThanEqual, TestGreaterThan, TestGreaterThanEqual, TestEqual.
    #[test]
    fn comparison_operators() {
        let v = |s: &str| Version::parse(s).unwrap();
        let less = [
            ("1.2.3", "1.5.1", true),
            ("2.2.3", "1.5.1", false),
            ("3.2-beta", "3.2-beta", false),
        ];
        for (a, b, want) in less {
            assert_eq!(v(a) < v(b), want, "{a} < {b}");
        }
        let less_equal = [
            ("1.2.3", "1.5.1", true),
            ("2.2.3", "1.5.1", false),
            ("1.5.1", "1.5.1", true),
        ];
        for (a, b, want) in less_equal {
            assert_eq!(v(a) <= v(b), want, "{a} <= {b}");
        }
        let greater = [
            ("1.2.3", "1.5.1", false),
            ("2.2.3", "1.5.1", true),
            ("3.2-beta", "3.2-beta", false),
            ("3.2.0-beta.1", "3.2.0-beta.5", false),
            ("3.2-beta.4", "3.2-beta.2", true),
            ("7.43.0-SNAPSHOT.99", "7.43.0-SNAPSHOT.103", false),
            ("7.43.0-SNAPSHOT.FOO", "7.43.0-SNAPSHOT.103", true),
            ("7.43.0-SNAPSHOT.99", "7.43.0-SNAPSHOT.BAR", false),
        ];
        for (a, b, want) in greater {
            assert_eq!(v(a) > v(b), want, "{a} > {b}");
        }
        let greater_equal = [
            ("1.2.3", "1.5.1", false),
            ("2.2.3", "1.5.1", true),
            ("1.5.1", "1.5.1", true),
        ];
        for (a, b, want) in greater_equal {
            assert_eq!(v(a) >= v(b), want, "{a} >= {b}");
        }
        assert_ne!(v("1.2.3"), v("1.5.1"));
        assert_eq!(v("3.2-beta"), v("3.2-beta"));
        assert_eq!(v("3.2-beta+foo"), v("3.2-beta+bar"));

        let mut sorted = [
            v("1.0.0"),
            v("1.0.0-rc.1"),
            v("0.9.10"),
            v("1.0.0-beta"),
            v("0.9.9"),
        ];
        sorted.sort();
        let texts: Vec<String> = sorted.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            ["0.9.9", "0.9.10", "1.0.0-beta", "1.0.0-rc.1", "1.0.0"]
        );
    }

    // Go TestValidatePrerelease and TestValidateMetadata.
    #[test]
    fn validate_identifiers() {
        assert_eq!(validate_prerelease("foo"), Ok(()));
        assert_eq!(validate_prerelease("alpha.1"), Ok(()));
        assert_eq!(
            validate_prerelease("alpha.01"),
            Err(VersionError::SegmentStartsZero)
        );
        assert_eq!(
            validate_prerelease("foo\u{2603}\u{fe0e}"),
            Err(VersionError::InvalidPrerelease)
        );
        assert_eq!(validate_prerelease("alpha.0-1"), Ok(()));
        assert_eq!(validate_metadata("foo"), Ok(()));
        assert_eq!(validate_metadata("alpha.1"), Ok(()));
        assert_eq!(validate_metadata("alpha.01"), Ok(()));
        assert_eq!(
            validate_metadata("foo\u{2603}\u{fe0e}"),
            Err(VersionError::InvalidMetadata)
        );
        assert_eq!(validate_metadata("alpha.0-1"), Ok(()));
        assert_eq!(
            validate_metadata(
                "al-pha.1Phe70CgWe050H9K1mJwRUqTNQXZRERwLOEg37wpXUb4JgzgaD5YkL52ABnoyiE"
            ),
            Ok(())
        );
    }
}
