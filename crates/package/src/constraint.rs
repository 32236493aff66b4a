//! Version constraints such as `^8.0.0 || >=7.17.0 <8.0.0`, ported from Go's
//! `github.com/Masterminds/semver/v3` at v3.5.0 (`constraints.go`).
//!
//! Package manifests carry Kibana and Elastic Stack compatibility ranges in this syntax,
//! and the Go registry decides which packages to list with it. Any difference, in what
//! parses or in what matches, would show or hide packages differently from the Go
//! server, so this follows the Go code closely, quirks included: hyphen ranges are
//! rewritten textually before anything else, a bare version like `1.2` means `~1.2`,
//! `>7` means `>=8.0.0`, and a prerelease version only matches an OR group that
//! mentions a prerelease itself.
//!
//! Go drives parsing with four regular expressions. Without a regex engine in this
//! crate they are matched by hand below; each function names the expression it stands
//! for and says why its greedy, non-backtracking scan finds the same match.

use std::cmp::Ordering;
use std::fmt;

use crate::version::{Version, compare_prerelease, run, scan_version};

/// Longest constraint string accepted (Go `MaxConstraintLen`).
pub const MAX_CONSTRAINT_LEN: usize = 512;

/// Most `||` groups accepted (Go `MaxConstraintGroups`), counted after hyphen ranges
/// are rewritten.
pub const MAX_CONSTRAINT_GROUPS: usize = 32;

/// The operators in the order Go's alternation `=||!=|>|<|>=|=>|<=|=<|~|~>|\^` tries
/// them. The order matters for the unanchored search in [`find_constraint_at`]; the
/// empty operator means "equal, or tilde when the version has wildcards".
const OPERATORS: [&str; 12] = [
    "=", "", "!=", ">", "<", ">=", "=>", "<=", "=<", "~", "~>", "^",
];

/// One or more OR groups of AND-ed constraints, as parsed by Masterminds
/// `NewConstraint`.
#[derive(Debug, Clone)]
pub struct Constraints {
    groups: Vec<Vec<Constraint>>,
    /// Per group: does any constraint in it carry a prerelease? Only such groups can
    /// match prerelease versions (Go `containsPre`).
    contains_prerelease: Vec<bool>,
    original: String,
}

/// Why a constraint string was rejected. `Display` reproduces the Go error text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConstraintError {
    /// Go `ErrConstraintTooLong`: longer than [`MAX_CONSTRAINT_LEN`] bytes.
    #[error("constraint string is too long (max 512 bytes)")]
    TooLong,
    /// Go `ErrTooManyConstraintGroups`: more than [`MAX_CONSTRAINT_GROUPS`] OR groups.
    #[error("too many constraint groups (max 32)")]
    TooManyGroups,
    /// An OR group (after hyphen ranges were rewritten) that is not a list of
    /// constraints. The field holds the group unquoted; `Display` quotes it like Go's
    /// `%q`, e.g. `improper constraint: "^8.0.0 ~"`.
    #[error("improper constraint: {}", crate::go_text::go_quote(.0))]
    Improper(String),
    /// The constraint looked right but its version did not parse (e.g. `1.2.3-01`,
    /// `1x`, or a number overflowing `u64`). Go hides the detail behind this text.
    #[error("constraint parser error")]
    Parser,
}

impl Constraints {
    /// Masterminds `NewConstraint`: `||` separates OR groups; inside a group,
    /// constraints are separated by whitespace and/or one comma; `A - B` is a hyphen
    /// range; operators none, `=`, `!=`, `>`, `<`, `>=`, `=>`, `<=`, `=<`, `~`, `~>`,
    /// `^`; versions may be partial, use `x`/`X`/`*` wildcards and a `v` prefix.
    pub fn parse(s: &str) -> Result<Constraints, ConstraintError> {
        if s.len() > MAX_CONSTRAINT_LEN {
            return Err(ConstraintError::TooLong);
        }
        let rewritten = rewrite_ranges(s);
        let ors: Vec<&str> = rewritten.split("||").collect();
        if ors.len() > MAX_CONSTRAINT_GROUPS {
            return Err(ConstraintError::TooManyGroups);
        }

        let mut groups = Vec::with_capacity(ors.len());
        let mut contains_prerelease = Vec::with_capacity(ors.len());
        for group_text in ors {
            if !is_valid_group(group_text) {
                return Err(ConstraintError::Improper(group_text.to_string()));
            }
            let mut pieces = find_constraints(group_text);
            if pieces.is_empty() {
                // Unreachable after validation, kept because Go has it.
                pieces.push(group_text);
            }
            let mut group = Vec::with_capacity(pieces.len());
            let mut has_pre = false;
            for piece in pieces {
                let constraint = parse_constraint(piece)?;
                has_pre |= !constraint.version.prerelease().is_empty();
                group.push(constraint);
            }
            groups.push(group);
            contains_prerelease.push(has_pre);
        }

        Ok(Constraints {
            groups,
            contains_prerelease,
            original: s.to_string(),
        })
    }

    /// Masterminds `Constraints.Check` (with `IncludePrerelease` left false): true if
    /// every constraint of at least one OR group accepts `v`. A version with a
    /// prerelease is only considered by groups where some constraint has a prerelease,
    /// so `>=8.0.0` does not match `8.1.0-SNAPSHOT` but `>=8.0.0-0` does.
    pub fn check(&self, v: &Version) -> bool {
        self.groups
            .iter()
            .zip(&self.contains_prerelease)
            .any(|(group, &include_pre)| group.iter().all(|c| c.check(v, include_pre)))
    }

    /// The string given to [`Constraints::parse`], before any rewriting.
    pub fn original(&self) -> &str {
        &self.original
    }
}

/// Masterminds `Constraints.String()`: each constraint as operator plus version text as
/// written, AND-ed ones joined by a space and groups by ` || `. Hyphen ranges show in
/// their rewritten form (`>=1 <=2`).
impl fmt::Display for Constraints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, group) in self.groups.iter().enumerate() {
            if i > 0 {
                f.write_str(" || ")?;
            }
            for (j, c) in group.iter().enumerate() {
                if j > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{}{}", c.operator_text, c.version_text)?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    TildeOrEqual,
    NotEqual,
    GreaterThan,
    LessThan,
    GreaterThanEqual,
    LessThanEqual,
    Tilde,
    Caret,
}

impl Operator {
    fn from_text(text: &str) -> Option<Operator> {
        Some(match text {
            "" | "=" => Operator::TildeOrEqual,
            "!=" => Operator::NotEqual,
            ">" => Operator::GreaterThan,
            "<" => Operator::LessThan,
            ">=" | "=>" => Operator::GreaterThanEqual,
            "<=" | "=<" => Operator::LessThanEqual,
            "~" | "~>" => Operator::Tilde,
            "^" => Operator::Caret,
            _ => return None,
        })
    }
}

/// One constraint (Go `constraint`). Wildcard or missing parts become zeros in
/// `version` and are remembered in the dirty flags, which the operators interpret.
#[derive(Debug, Clone)]
struct Constraint {
    operator: Operator,
    /// The version with wildcards and missing parts zeroed (Go `con`).
    version: Version,
    /// The operator as written (Go `origfunc`).
    operator_text: String,
    /// The version as written, e.g. `4.x` (Go `orig`).
    version_text: String,
    /// Some part is a wildcard or missing (`*`, `1`, `1.x`, `1.2`).
    dirty: bool,
    /// The minor part (and so the patch) is a wildcard or missing (`1`, `1.x`).
    minor_dirty: bool,
    /// Only the patch part is a wildcard or missing (`1.2`, `1.2.x`).
    patch_dirty: bool,
}

impl Constraint {
    /// Go `constraint.check` without the reason messages.
    fn check(&self, v: &Version, include_pre: bool) -> bool {
        // Every Go operator function starts by refusing prereleases unless the group
        // asked for them.
        if !v.prerelease().is_empty() && !include_pre {
            return false;
        }
        match self.operator {
            Operator::TildeOrEqual => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    *v == self.version
                }
            }
            Operator::NotEqual => self.not_equal(v),
            Operator::GreaterThan => self.greater_than(v),
            Operator::LessThan => *v < self.version,
            Operator::GreaterThanEqual => *v >= self.version,
            Operator::LessThanEqual => self.less_than_equal(v),
            Operator::Tilde => self.tilde(v),
            Operator::Caret => self.caret(v),
        }
    }

    /// Go `constraintNotEqual`: with wildcards, `!=4.x` rejects all of 4.
    fn not_equal(&self, v: &Version) -> bool {
        let c = &self.version;
        if self.dirty {
            if c.major() != v.major() {
                return true;
            }
            if c.minor() != v.minor() && !self.minor_dirty {
                return true;
            } else if self.minor_dirty {
                return false;
            } else if c.patch() != v.patch() && !self.patch_dirty {
                return true;
            } else if self.patch_dirty {
                if !v.prerelease().is_empty() || !c.prerelease().is_empty() {
                    return compare_prerelease(v.prerelease(), c.prerelease()) != Ordering::Equal;
                }
                return false;
            }
        }
        *v != *c
    }

    /// Go `constraintGreaterThan`: a wildcard means "above the whole range", so `>7`
    /// is `>=8.0.0` and `>7.1` is `>=7.2.0`.
    fn greater_than(&self, v: &Version) -> bool {
        let c = &self.version;
        if !self.dirty {
            return *v > *c;
        }
        if v.major() > c.major() {
            true
        } else if v.major() < c.major() || self.minor_dirty {
            false
        } else if self.patch_dirty {
            v.minor() > c.minor()
        } else {
            *v > *c
        }
    }

    /// Go `constraintLessThanEqual`: a wildcard means "up to the end of the range",
    /// so `<=7.1` is `<7.2.0`.
    fn less_than_equal(&self, v: &Version) -> bool {
        let c = &self.version;
        if !self.dirty {
            return *v <= *c;
        }
        if v.major() > c.major() {
            return false;
        }
        !(v.major() == c.major() && v.minor() > c.minor() && !self.minor_dirty)
    }

    /// Go `constraintTilde`: `~1.2.3` is `>=1.2.3 <1.3.0`, `~1` and `~1.x` are
    /// `>=1.0.0 <2.0.0`, and `~0.0.0` (also reached by `*`) accepts everything.
    fn tilde(&self, v: &Version) -> bool {
        let c = &self.version;
        if *v < *c {
            return false;
        }
        if c.major() == 0
            && c.minor() == 0
            && c.patch() == 0
            && !self.minor_dirty
            && !self.patch_dirty
        {
            return true;
        }
        if v.major() != c.major() {
            return false;
        }
        v.minor() == c.minor() || self.minor_dirty
    }

    /// Go `constraintCaret`: same major for `^1.2.3`; below 1.0.0 the first non-zero
    /// part is pinned, so `^0.2.3` is `>=0.2.3 <0.3.0` and `^0.0.3` is `=0.0.3`.
    fn caret(&self, v: &Version) -> bool {
        let c = &self.version;
        if *v < *c {
            return false;
        }
        if c.major() > 0 || self.minor_dirty {
            return v.major() == c.major();
        }
        if v.major() > 0 {
            return false;
        }
        if c.minor() > 0 || self.patch_dirty {
            return v.minor() == c.minor();
        }
        if v.minor() > 0 {
            return false;
        }
        c.patch() == v.patch()
    }
}

/// Go `parseConstraint`: matches `^\s*(ops)\s*(cv)\s*$` and turns the version into a
/// [`Version`] with wildcards zeroed.
///
/// The operator is the whole run of operator characters: a version never starts with
/// one, so no shorter operator can be followed by a version.
fn parse_constraint(text: &str) -> Result<Constraint, ConstraintError> {
    if text.is_empty() {
        // Go treats an empty constraint as `*`. `Constraints::parse` never gets here
        // (an empty group fails validation), but Go's own tests do.
        return Ok(Constraint {
            operator: Operator::TildeOrEqual,
            version: Version::parse_strict("0.0.0").map_err(|_| ConstraintError::Parser)?,
            operator_text: String::new(),
            version_text: String::new(),
            dirty: true,
            minor_dirty: false,
            patch_dirty: false,
        });
    }

    let improper = || ConstraintError::Improper(text.to_string());
    let bytes = text.as_bytes();
    let op_start = skip_space(bytes, 0);
    let op_end = run(bytes, op_start, is_operator_char);
    let operator_text = &text[op_start..op_end];
    let operator = Operator::from_text(operator_text).ok_or_else(improper)?;
    let scan =
        scan_version(text, skip_space(bytes, op_end), is_constraint_number).ok_or_else(improper)?;
    if skip_space(bytes, scan.end) != bytes.len() {
        return Err(improper());
    }

    // Go rebuilds the version from the regex groups when a part is a wildcard or
    // missing; note that this drops any metadata, and keeps the prerelease.
    let pre = scan.prerelease.map(|p| format!("-{p}")).unwrap_or_default();
    let mut dirty = false;
    let mut minor_dirty = false;
    let mut patch_dirty = false;
    let normalised = if is_wildcard(scan.major) {
        dirty = true;
        format!("0.0.0{pre}")
    } else if scan.minor.is_none_or(is_wildcard) {
        dirty = true;
        minor_dirty = true;
        format!("{}.0.0{pre}", scan.major)
    } else if scan.patch.is_none_or(is_wildcard) {
        dirty = true;
        patch_dirty = true;
        format!("{}.{}.0{pre}", scan.major, scan.minor.unwrap_or_default())
    } else {
        scan.text(text).to_string()
    };
    // Whatever the scan let through but the version parser refuses (`1x`, `1.2.3-01`,
    // a `|` inside a number, overflow) ends up here, as in Go.
    let version = Version::parse(&normalised).map_err(|_| ConstraintError::Parser)?;

    Ok(Constraint {
        operator,
        version,
        operator_text: operator_text.to_string(),
        version_text: scan.text(text).to_string(),
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

/// Go `validConstraintRegex`, anchored:
/// `^(\s*(ops)\s*(cv)\s*)((?:\s+|,\s*)(ops)\s*(cv)\s*)*$`.
///
/// Versions contain neither whitespace nor commas, and operators are a run of
/// operator characters that a version cannot start with, so the string splits one way
/// only: optional whitespace, then repeatedly operator, optional whitespace, version,
/// and a separator of whitespace and/or a single comma, with no comma at either end.
fn is_valid_group(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = skip_space(bytes, 0);
    loop {
        let op_end = run(bytes, i, is_operator_char);
        if Operator::from_text(&s[i..op_end]).is_none() {
            return false;
        }
        let Some(scan) = scan_version(s, skip_space(bytes, op_end), is_constraint_number) else {
            return false;
        };
        let after_space = skip_space(bytes, scan.end);
        if after_space == bytes.len() {
            return true;
        }
        if bytes[after_space] == b',' {
            i = skip_space(bytes, after_space + 1);
        } else if after_space > scan.end {
            i = after_space;
        } else {
            // The version is followed by something that is neither a separator nor
            // the end; no shorter version match can help, it would end on a
            // version character.
            return false;
        }
    }
}

/// Go `findConstraintRegex.FindAllString(s, -1)`: the non-overlapping leftmost
/// matches of `(ops)\s*(cv)`. A match may begin with whitespace (empty operator), which
/// [`parse_constraint`] skips.
fn find_constraints(s: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < s.len() {
        match find_constraint_at(s, i) {
            Some(end) => {
                found.push(&s[i..end]);
                i = end;
            }
            None => i += 1,
        }
    }
    found
}

/// Where a match of `(ops)\s*(cv)` starting exactly at `start` ends, if there is one.
/// Operators are tried in Go's alternation order; for each, the version is the greedy
/// scan after the whitespace, since nothing follows it in the pattern.
fn find_constraint_at(s: &str, start: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    OPERATORS.iter().find_map(|op| {
        if !bytes[start..].starts_with(op.as_bytes()) {
            return None;
        }
        let scan = scan_version(s, skip_space(bytes, start + op.len()), is_constraint_number)?;
        Some(scan.end)
    })
}

/// Go `rewriteRange`: every match of `\s*(cv)\s+-\s+(cv)\s*` becomes
/// `>= A, <= B ` by replacing the first occurrence of the matched text, one match at a
/// time, exactly as Go's `strings.Replace(o, match, t, 1)` does (even when that first
/// occurrence is not where the match was found).
fn rewrite_ranges(s: &str) -> String {
    let mut rewritten = s.to_string();
    let mut i = 0;
    while i < s.len() {
        match range_at(s, i) {
            Some((end, from, to)) => {
                let replacement = format!(">= {from}, <= {to} ");
                rewritten = rewritten.replacen(&s[i..end], &replacement, 1);
                i = end;
            }
            None => i += 1,
        }
    }
    rewritten
}

/// A match of `\s*(cv)\s+-\s+(cv)\s*` starting exactly at `start`: its end and the two
/// versions. The first version must end right before whitespace; a version contains no
/// whitespace, so only the greedy scan can end there, and backtracking into it or into
/// the whitespace runs could never produce another match.
fn range_at(s: &str, start: usize) -> Option<(usize, &str, &str)> {
    let bytes = s.as_bytes();
    let from = scan_version(s, skip_space(bytes, start), is_constraint_number)?;
    let dash = skip_space(bytes, from.end);
    if dash == from.end || bytes.get(dash) != Some(&b'-') {
        return None;
    }
    let to_start = skip_space(bytes, dash + 1);
    if to_start == dash + 1 {
        return None;
    }
    let to = scan_version(s, to_start, is_constraint_number)?;
    Some((skip_space(bytes, to.end), from.text(s), to.text(s)))
}

/// Go regexp `\s`, which is `[\t\n\f\r ]` (no vertical tab, no Unicode spaces) and so
/// the same set as `u8::is_ascii_whitespace`.
fn skip_space(bytes: &[u8], i: usize) -> usize {
    run(bytes, i, |b| b.is_ascii_whitespace())
}

fn is_operator_char(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'<' | b'>' | b'~' | b'^')
}

/// Go's `[0-9|x|X|\*]`. The `|` is a mistake in the Go pattern, but it makes strings
/// like `1|2` pass the syntax check and fail later as a parser error, so it stays.
fn is_constraint_number(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b'|' | b'x' | b'X' | b'*')
}

/// Go `isX`.
fn is_wildcard(part: &str) -> bool {
    matches!(part, "x" | "X" | "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(s: &str) -> Version {
        Version::parse(s).unwrap_or_else(|e| panic!("version {s:?}: {e}"))
    }

    fn check(constraint: &str, v: &str) -> bool {
        Constraints::parse(constraint)
            .unwrap_or_else(|e| panic!("constraint {constraint:?}: {e}"))
            .check(&version(v))
    }

    // Go TestParseConstraint.
    #[test]
    fn parse_single_constraint() {
        let cases = [
            (">= 1.2", Some((Operator::GreaterThanEqual, "1.2.0"))),
            ("1.0", Some((Operator::TildeOrEqual, "1.0.0"))),
            ("foo", None),
            ("<= 1.2", Some((Operator::LessThanEqual, "1.2.0"))),
            ("=< 1.2", Some((Operator::LessThanEqual, "1.2.0"))),
            ("=> 1.2", Some((Operator::GreaterThanEqual, "1.2.0"))),
            ("v1.2", Some((Operator::TildeOrEqual, "1.2.0"))),
            ("=1.5", Some((Operator::TildeOrEqual, "1.5.0"))),
            ("> 1.3", Some((Operator::GreaterThan, "1.3.0"))),
            ("< 1.4.1", Some((Operator::LessThan, "1.4.1"))),
            ("< 40.50.10", Some((Operator::LessThan, "40.50.10"))),
        ];
        for (input, want) in cases {
            let got = parse_constraint(input);
            match want {
                None => assert!(got.is_err(), "{input:?}"),
                Some((operator, v)) => {
                    let c = got.unwrap();
                    assert_eq!(c.operator, operator, "{input:?}");
                    assert_eq!(c.version.to_string(), v, "{input:?}");
                }
            }
        }
    }

    // Go TestConstraintCheck: single constraints, prereleases allowed exactly when the
    // constraint has one.
    #[test]
    fn single_constraint_check() {
        let cases: &[(&str, &str, bool)] = &[
            ("=2.0.0", "1.2.3", false),
            ("=2.0.0", "2.0.0", true),
            ("=2.0", "1.2.3", false),
            ("=2.0", "2.0.0", true),
            ("=2.0", "2.0.1", true),
            ("4.1", "4.1.0", true),
            ("!=4.1.0", "4.1.0", false),
            ("!=4.1.0", "4.1.1", true),
            ("!=4.1", "4.1.0", false),
            ("!=4.1", "4.1.1", false),
            ("!=4.1", "5.1.0-alpha.1", false),
            ("!=4.1.0", "5.1.0-alpha.1", false),
            ("!=4.1-alpha", "4.1.0", true),
            ("!=4.1", "5.1.0", true),
            ("<11", "0.1.0", true),
            ("<11", "11.1.0", false),
            ("<1.1", "0.1.0", true),
            ("<1.1", "1.1.0", false),
            ("<1.1", "1.1.1", false),
            ("<=11", "1.2.3", true),
            ("<=11", "12.2.3", false),
            ("<=11", "11.2.3", true),
            ("<=1.1", "1.2.3", false),
            ("<=1.1", "0.1.0", true),
            ("<=1.1", "1.1.0", true),
            ("<=1.1", "1.1.1", true),
            (">1.1", "4.1.0", true),
            (">1.1", "1.1.0", false),
            (">0", "0", false),
            (">0", "1", true),
            (">0", "0.0.1-alpha", false),
            (">0.0", "0.0.1-alpha", false),
            (">0-0", "0.0.1-alpha", false),
            (">0.0-0", "0.0.1-alpha", false),
            (">0", "0.0.0-alpha", false),
            (">0-0", "0.0.0-alpha", false),
            (">0.0.0-0", "0.0.0-alpha", true),
            (">1.2.3-alpha.1", "1.2.3-alpha.2", true),
            (">1.2.3-alpha.1", "1.3.3-alpha.2", true),
            (">11", "11.1.0", false),
            (">11.1", "11.1.0", false),
            (">11.1", "11.1.1", false),
            (">11.1", "11.2.1", true),
            (">=11", "11.1.2", true),
            (">=11.1", "11.1.2", true),
            (">=11.1", "11.0.2", false),
            (">=1.1", "4.1.0", true),
            (">=1.1", "1.1.0", true),
            (">=1.1", "0.0.9", false),
            (">=0", "0.0.1-alpha", false),
            (">=0.0", "0.0.1-alpha", false),
            (">=0-0", "0.0.1-alpha", true),
            (">=0.0-0", "0.0.1-alpha", true),
            (">=0", "0.0.0-alpha", false),
            (">=0-0", "0.0.0-alpha", true),
            (">=0.0.0-0", "0.0.0-alpha", true),
            (">=0.0.0-0", "1.2.3", true),
            (">=0.0.0-0", "3.4.5-beta.1", true),
            ("<0", "0.0.0-alpha", false),
            ("<0-z", "0.0.0-alpha", true),
            (">=0", "0", true),
            ("=0", "1", false),
            ("*", "1", true),
            ("*", "4.5.6", true),
            ("*", "1.2.3-alpha.1", false),
            ("*-0", "1.2.3-alpha.1", true),
            ("2.*", "1", false),
            ("2.*", "3.4.5", false),
            ("2.*", "2.1.1", true),
            ("2.1.*", "2.1.1", true),
            ("2.1.*", "2.2.1", false),
            ("", "1", true),
            ("", "4.5.6", true),
            ("", "1.2.3-alpha.1", false),
            ("2", "1", false),
            ("2", "3.4.5", false),
            ("2", "2.1.1", true),
            ("2.1", "2.1.1", true),
            ("2.1", "2.2.1", false),
            ("~1.2.3", "1.2.4", true),
            ("~1.2.3", "1.3.4", false),
            ("~1.2", "1.2.4", true),
            ("~1.2", "1.3.4", false),
            ("~1", "1.2.4", true),
            ("~1", "2.3.4", false),
            ("~0.2.3", "0.2.5", true),
            ("~0.2.3", "0.3.5", false),
            ("~1.2.3-beta.2", "1.2.3-beta.4", true),
            ("~1.2.3-beta.2", "1.2.4-beta.2", true),
            ("~1.2.3-beta.2", "1.3.4-beta.2", false),
            ("^1.2.3", "1.8.9", true),
            ("^1.2.3", "2.8.9", false),
            ("^1.2.3", "1.2.1", false),
            ("^1.1.0", "2.1.0", false),
            ("^1.2.0", "2.2.1", false),
            ("^1.2.0", "1.2.1-alpha.1", false),
            ("^1.2.0-alpha.0", "1.2.1-alpha.1", true),
            ("^1.2.0-alpha.0", "1.2.1-alpha.0", true),
            ("^1.2.0-alpha.2", "1.2.0-alpha.1", false),
            ("^1.2", "1.8.9", true),
            ("^1.2", "2.8.9", false),
            ("^1", "1.8.9", true),
            ("^1", "2.8.9", false),
            ("^0.2.3", "0.2.5", true),
            ("^0.2.3", "0.5.6", false),
            ("^0.2", "0.2.5", true),
            ("^0.2", "0.5.6", false),
            ("^0.0.3", "0.0.3", true),
            ("^0.0.3", "0.0.4", false),
            ("^0.0", "0.0.3", true),
            ("^0.0", "0.1.4", false),
            ("^0.0", "1.0.4", false),
            ("^0", "0.2.3", true),
            ("^0", "1.1.4", false),
            ("^0.2.3-beta.2", "0.2.3-beta.4", true),
            ("^0.2.3-beta.2", "0.2.4-beta.2", true),
            ("^0.2.3-beta.2", "0.3.4-beta.2", false),
            ("^0.2.3-beta.2", "0.2.3-beta.2", true),
        ];
        for (constraint, v, want) in cases {
            let c = parse_constraint(constraint).unwrap_or_else(|e| panic!("{constraint:?}: {e}"));
            let include_pre = !c.version.prerelease().is_empty();
            assert_eq!(
                c.check(&version(v), include_pre),
                *want,
                "{constraint:?} with {v:?}"
            );
        }
    }

    // Go TestNewConstraint: (input, OR groups, constraints in the first group) or error.
    #[test]
    fn new_constraint() {
        let cases: &[(&str, Option<(usize, usize)>)] = &[
            (">= 1.1", Some((1, 1))),
            (">40.50.60, < 50.70", Some((1, 2))),
            ("2.0", Some((1, 1))),
            ("v2.3.5-20161202202307-sha.e8fc5e5", Some((1, 1))),
            ("v1.2.3-0abc", Some((1, 1))),
            ("v1.2.3-beta.01", None),
            (">= bar", None),
            ("BAR >= 1.2.3", None),
            (">= 1.2.3 < 2.0", Some((1, 2))),
            (">= 1.2.3 < 2.0 || => 3.0 < 4", Some((2, 2))),
            (">= 1.2.3, < 2.0", Some((1, 2))),
            (">= 1.2.3, < 2.0 || => 3.0, < 4", Some((2, 2))),
            ("3 - 4 || => 3.0, < 4", Some((2, 2))),
            ("12.3.4.1234", None),
            ("12.23.4.1234", None),
            ("12.3.34.1234", None),
            ("12.3.34 ~1.2.3", Some((1, 2))),
            ("12.3.34~ 1.2.3", None),
            ("1.0.0 - 2.0.0, <=2.0.0", Some((1, 3))),
            // From our API contract and other edge cases.
            (">6.7.0  <7.6.0", Some((1, 2))),
            ("", None),
            ("^8.0.0 ||", None),
            ("|| ^8.0.0", None),
            ("^8.0.0 || ^7.17.0", Some((2, 1))),
            ("1.2,", None),
            (",1.2", None),
            ("1.2,,1.3", None),
            ("1.2 , 1.3", Some((1, 2))),
            ("1.2\t,\n1.3", Some((1, 2))),
            (">=1.2<2", None),
            ("~>1.2", Some((1, 1))),
            ("> = 1.2", None),
            ("==1.2", None),
            ("1x", None),
            ("1|2", None),
            ("V1.2", None),
        ];
        for (input, want) in cases {
            let got = Constraints::parse(input);
            match want {
                None => assert!(got.is_err(), "{input:?} parsed"),
                Some((ors, count)) => {
                    let c = got.unwrap_or_else(|e| panic!("{input:?}: {e}"));
                    assert_eq!(c.groups.len(), *ors, "{input:?}");
                    assert_eq!(c.groups[0].len(), *count, "{input:?}");
                    assert_eq!(c.original(), *input);
                }
            }
        }
    }

    #[test]
    fn error_texts() {
        let cases = [
            ("", "improper constraint: \"\""),
            ("^8.0.0 ||", "improper constraint: \"\""),
            ("foo", "improper constraint: \"foo\""),
            (">= bar", "improper constraint: \">= bar\""),
            ("^1 || ^2 ~", "improper constraint: \" ^2 ~\""),
            (
                "\"a\\b\"\t\u{7}\u{1}\u{7f}",
                "improper constraint: \"\\\"a\\\\b\\\"\\t\\a\\x01\\x7f\"",
            ),
            (
                "caf\u{e9}\u{a0}\u{200b}",
                "improper constraint: \"caf\u{e9}\\u00a0\\u200b\"",
            ),
            ("1.2.3-01", "constraint parser error"),
            ("1x", "constraint parser error"),
            ("1|2", "constraint parser error"),
            ("99999999999999999999", "constraint parser error"),
        ];
        for (input, want) in cases {
            assert_eq!(
                Constraints::parse(input).unwrap_err().to_string(),
                want,
                "{input:?}"
            );
        }
    }

    // Go TestNewConstraintTooLong and TestNewConstraintTooManyGroups.
    #[test]
    fn limits() {
        let long = ">= 1.0.0 || ".repeat(100);
        assert_eq!(
            Constraints::parse(&long).unwrap_err(),
            ConstraintError::TooLong
        );
        assert_eq!(
            ConstraintError::TooLong.to_string(),
            "constraint string is too long (max 512 bytes)"
        );
        let many = vec![">= 1.0.0"; MAX_CONSTRAINT_GROUPS + 1].join(" || ");
        assert_eq!(
            Constraints::parse(&many).unwrap_err(),
            ConstraintError::TooManyGroups
        );
        assert_eq!(
            ConstraintError::TooManyGroups.to_string(),
            "too many constraint groups (max 32)"
        );
        let enough = vec![">= 1.0.0"; MAX_CONSTRAINT_GROUPS].join(" || ");
        assert!(Constraints::parse(&enough).is_ok());
    }

    // Go TestConstraintsCheck.
    #[test]
    fn constraints_check() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "1.2.3", true),
            ("~0.0.0", "1.2.3", true),
            ("0.x.x", "1.2.3", false),
            ("0.0.x", "1.2.3", false),
            ("0.0.0", "1.2.3", false),
            ("*", "1.2.3", true),
            ("^0.0.0", "1.2.3", false),
            ("= 2.0", "1.2.3", false),
            ("= 2.0", "2.0.0", true),
            ("4.1", "4.1.0", true),
            ("4.1.x", "4.1.3", true),
            ("1.x", "1.4", true),
            ("!=4.1", "4.1.0", false),
            ("!=4.1-alpha", "4.1.0-alpha", false),
            ("!=4.1-alpha", "4.1.1-alpha", false),
            ("!=4.1-alpha", "4.1.0", true),
            ("!=4.1", "5.1.0", true),
            ("!=4.x", "5.1.0", true),
            ("!=4.x", "4.1.0", false),
            ("!=4.1.x", "4.2.0", true),
            ("!=4.2.x", "4.2.3", false),
            (">1.1", "4.1.0", true),
            (">1.1", "1.1.0", false),
            ("<1.1", "0.1.0", true),
            ("<1.1", "1.1.0", false),
            ("<1.1", "1.1.1", false),
            ("<1.x", "1.1.1", false),
            ("<1.x", "0.1.1", true),
            ("<1.x", "2.0.0", false),
            ("<1.1.x", "1.2.1", false),
            ("<1.1.x", "1.1.500", false),
            ("<1.1.x", "1.0.500", true),
            ("<1.2.x", "1.1.1", true),
            (">=1.1", "4.1.0", true),
            (">=1.1", "4.1.0-beta", false),
            (">=1.1", "1.1.0", true),
            (">=1.1", "0.0.9", false),
            ("<=1.1", "0.1.0", true),
            ("<=1.1", "0.1.0-alpha", false),
            ("<=1.1-a", "0.1.0-alpha", true),
            ("<=1.1", "1.1.0", true),
            ("<=1.x", "1.1.0", true),
            ("<=2.x", "3.0.0", false),
            ("<=1.1", "1.1.1", true),
            ("<=1.1.x", "1.2.500", false),
            ("<=4.5", "3.4.0", true),
            ("<=4.5", "3.7.0", true),
            ("<=4.5", "4.6.3", false),
            (">1.1, <2", "1.1.1", false),
            (">1.1, <2", "1.2.1", true),
            (">1.1, <3", "4.3.2", false),
            (">=1.1, <2, !=1.2.3", "1.2.3", false),
            (">1.1 <2", "1.1.1", false),
            (">1.1 <2", "1.2.1", true),
            (">1.1    <3", "4.3.2", false),
            (">=1.1    <2    !=1.2.3", "1.2.3", false),
            (">=1.1, <2, !=1.2.3 || > 3", "4.1.2", true),
            (">=1.1, <2, !=1.2.3 || > 3", "3.1.2", false),
            (">=1.1, <2, !=1.2.3 || >= 3", "3.0.0", true),
            (">=1.1, <2, !=1.2.3 || > 3", "3.0.0", false),
            (">=1.1, <2, !=1.2.3 || > 3", "1.2.3", false),
            (">=1.1 <2 !=1.2.3", "1.2.3", false),
            (">=1.1 <2 !=1.2.3 || > 3", "4.1.2", true),
            (">=1.1 <2 !=1.2.3 || > 3", "3.1.2", false),
            (">=1.1 <2 !=1.2.3 || >= 3", "3.0.0", true),
            (">=1.1 <2 !=1.2.3 || > 3", "3.0.0", false),
            (">=1.1 <2 !=1.2.3 || > 3", "1.2.3", false),
            ("> 1.1, <     2", "1.1.1", false),
            (">   1.1, <2", "1.2.1", true),
            (">1.1, <  3", "4.3.2", false),
            (">= 1.1, <     2, !=1.2.3", "1.2.3", false),
            ("> 1.1 < 2", "1.1.1", false),
            (">1.1 < 2", "1.2.1", true),
            ("> 1.1    <3", "4.3.2", false),
            (">=1.1    < 2    != 1.2.3", "1.2.3", false),
            (">= 1.1, <2, !=1.2.3 || > 3", "4.1.2", true),
            (">= 1.1, <2, != 1.2.3 || > 3", "3.1.2", false),
            (">= 1.1, <2, != 1.2.3 || >= 3", "3.0.0", true),
            (">= 1.1, <2, !=1.2.3 || > 3", "3.0.0", false),
            (">= 1.1, <2, !=1.2.3 || > 3", "1.2.3", false),
            (">= 1.1 <2 != 1.2.3", "1.2.3", false),
            (">= 1.1 <2 != 1.2.3 || > 3", "4.1.2", true),
            (">= 1.1 <2 != 1.2.3 || > 3", "3.1.2", false),
            (">= 1.1 <2 != 1.2.3 || >= 3", "3.0.0", true),
            (">= 1.1 < 2 !=1.2.3 || > 3", "3.0.0", false),
            (">=1.1 < 2 !=1.2.3 || > 3", "1.2.3", false),
            (">= 1.0.0  <= 2.0.0-beta", "1.0.1-beta", true),
            (">= 1.0.0  <= 2.0.0-beta", "1.0.1", true),
            (">= 1.0.0  <= 2.0.0-beta", "3.0.0", false),
            (">= 1.0.0  <= 2.0.0-beta || > 3", "1.0.1-beta", true),
            (">= 1.0.0  <= 2.0.0-beta || > 3", "3.0.1-beta", false),
            (
                ">= 1.0.0  <= 2.0.0-beta != 1.0.1 || > 3",
                "1.0.1-beta",
                true,
            ),
            (
                ">= 1.0.0  <= 2.0.0-beta != 1.0.1-beta || > 3",
                "1.0.1-beta",
                false,
            ),
            (">= 1.0.0-0  <= 2.0.0", "1.0.1-beta", true),
            ("1.1 - 2", "1.1.1", true),
            ("1.5.0 - 4.5", "3.7.0", true),
            ("1.1-3", "4.3.2", false),
            ("^1.1", "1.1.1", true),
            ("^1.1", "4.3.2", false),
            ("^1.x", "1.1.1", true),
            ("^2.x", "1.1.1", false),
            ("^1.x", "2.1.1", false),
            ("^1.x", "1.1.1-beta1", false),
            ("^1.1.2-alpha", "1.2.1-beta1", true),
            ("^1.2.x-alpha", "1.1.1-beta1", false),
            ("^0.0.1", "0.0.1", true),
            ("^0.0.1", "0.3.1", false),
            ("~*", "2.1.1", true),
            ("~1", "2.1.1", false),
            ("~1", "1.3.5", true),
            ("~1", "1.4", true),
            ("~1.x", "2.1.1", false),
            ("~1.x", "1.3.5", true),
            ("~1.x", "1.4", true),
            ("~1.1", "1.1.1", true),
            ("~1.1", "1.1.1-alpha", false),
            ("~1.1-alpha", "1.1.1-beta", true),
            ("~1.1.1-beta", "1.1.1-alpha", false),
            ("~1.1.1-beta", "1.1.1", true),
            ("~1.2.3", "1.2.5", true),
            ("~1.2.3", "1.2.2", false),
            ("~1.2.3", "1.3.2", false),
            ("~1.1", "1.2.3", false),
            ("~1.3", "2.4.5", false),
            ("1.0.0 - 2.0.0 <=2.0.0", "1.5.0", true),
            ("1.0.0 - 2.0.0, <=2.0.0", "1.5.0", true),
        ];
        for (constraint, v, want) in cases {
            assert_eq!(check(constraint, v), *want, "{constraint:?} with {v:?}");
        }
    }

    // Go TestConstraintsValidate, the pass/fail part (Validate and Check agree).
    #[test]
    fn constraints_validate_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("<2.x", "1.1.1", true),
            ("<1.x", "2.1.1", false),
            ("<=2.x", "3.1.0", false),
            ("^1.1", "1.1.1-alpha", false),
            ("^1.1.1-alpha", "1.1.1-beta", true),
            ("^1.1.1-beta", "1.1.1-alpha", false),
            ("^0.0.1", "0.1.3", false),
            ("~1", "1.3.5-beta", false),
            ("~1.x", "1.3.5-beta", false),
            ("~1.3.6-alpha", "1.3.5-beta", false),
            ("~1.3.5-alpha", "1.3.5-beta", true),
            ("~1.3.5-beta", "1.3.5-alpha", false),
            ("!= 1.2.5, ^2, <= 1.1.x", "1.2.3", false),
            ("2.x", "1.2.3", false),
            ("1.1 - 3", "4.3.2", false),
            ("^1.12.7", "1.6.6", false),
            ("^0.2", "0.3.0", false),
            ("^0.2", "0.1.1", false),
            ("^0.0.3", "0.1.1", false),
            ("^0.0.3", "0.0.2", false),
            ("> 1.2.3", "1.2.3-beta.1", false),
        ];
        for (constraint, v, want) in cases {
            assert_eq!(check(constraint, v), *want, "{constraint:?} with {v:?}");
        }
    }

    // The examples of our API contract (spec/api.md §5.1).
    #[test]
    fn contract_examples() {
        let cases: &[(&str, &str, bool)] = &[
            (">6.7.0  <7.6.0", "7.0.0", true),
            (">6.7.0  <7.6.0", "7.6.0", false),
            ("~1.2.3", "1.2.3", true),
            ("~1.2.3", "1.2.99", true),
            ("~1.2.3", "1.3.0", false),
            ("~1", "1.99.0", true),
            ("~1", "2.0.0", false),
            ("~1.x", "1.5.0", true),
            ("~1.x", "2.0.0", false),
            ("~7.x.x", "7.17.0", true),
            ("~7.x.x", "8.0.0", false),
            ("~7.x.x", "6.8.0", false),
            ("^0.2.3", "0.2.3", true),
            ("^0.2.3", "0.2.9", true),
            ("^0.2.3", "0.3.0", false),
            ("^0.0.3", "0.0.3", true),
            ("^0.0.3", "0.0.4", false),
            (">7", "7.99.0", false),
            (">7", "8.0.0", true),
            ("<=7.1", "7.1.99", true),
            ("<=7.1", "7.2.0", false),
            ("7.x", "7.0.0", true),
            ("7.x", "7.17.5", true),
            ("7.x", "8.0.0", false),
            ("7.x", "6.9.0", false),
            ("^7.14.0 || ^8.0.0", "8.5.1", true),
            ("^7.14.0 || ^8.0.0", "7.13.0", false),
            ("^8.0.0", "8.1.0-SNAPSHOT", false),
            ("^8.0.0-0", "8.1.0-SNAPSHOT", true),
            ("^8.0.0 || ^9.0.0-0", "8.1.0-SNAPSHOT", false),
            ("^8.0.0 || ^9.0.0-0", "9.0.0-beta1", true),
            ("v1.2.3", "1.2.3", true),
            ("=1.2.3+build", "1.2.3+other", true),
        ];
        for (constraint, v, want) in cases {
            assert_eq!(check(constraint, v), *want, "{constraint:?} with {v:?}");
        }
    }

    // Go TestRewriteRange, plus quirks found by comparing with the Go code.
    #[test]
    fn rewrite_range() {
        let cases = [
            ("2 - 3", ">= 2, <= 3 "),
            ("2 - 3, 2 - 3", ">= 2, <= 3 ,>= 2, <= 3 "),
            ("2 - 3, 4.0.0 - 5.1", ">= 2, <= 3 ,>= 4.0.0, <= 5.1 "),
            ("2 - 3 4.0.0 - 5.1", ">= 2, <= 3 >= 4.0.0, <= 5.1 "),
            ("1.0.0 - 2.0.0 <=2.0.0", ">= 1.0.0, <= 2.0.0 <=2.0.0"),
            ("a  1 - 2", "a>= 1, <= 2 "),
            ("1 - 2||3 - 4", ">= 1, <= 2||3 - 4"),
            ("1.2 - 3 - 4", ">= 1.2, <= 3 - 4"),
            ("1-2", "1-2"),
        ];
        for (input, want) in cases {
            assert_eq!(rewrite_ranges(input), want, "{input:?}");
        }
    }

    // Go TestIsX.
    #[test]
    fn wildcards() {
        assert!(!is_wildcard("A"));
        assert!(!is_wildcard("%"));
        assert!(is_wildcard("X"));
        assert!(is_wildcard("x"));
        assert!(is_wildcard("*"));
    }

    // Go TestConstraintString, TestTextMarshalConstraints, TestTextUnmarshalConstraints.
    #[test]
    fn display() {
        let cases = [
            ("*", "*"),
            (">=1.2.3", ">=1.2.3"),
            (">= 1.2.3", ">=1.2.3"),
            (
                "2.x,   >=1.2.3 || >4.5.6, < 5.7",
                "2.x >=1.2.3 || >4.5.6 <5.7",
            ),
            (
                "2.x,   >=1.2.3 || >4.5.6, < 5.7 || >40.50.60, < 50.70",
                "2.x >=1.2.3 || >4.5.6 <5.7 || >40.50.60 <50.70",
            ),
            ("1.2", "1.2"),
            ("1.2.3", "1.2.3"),
            ("<=1.2.3", "<=1.2.3"),
            ("1 <=1.2.3", "1 <=1.2.3"),
            ("1, <=1.2.3", "1 <=1.2.3"),
            (">1, <=1.2.3", ">1 <=1.2.3"),
            ("> 1 , <=1.2.3", ">1 <=1.2.3"),
            (">1 <=1.2.3", ">1 <=1.2.3"),
            ("> 1 <=1.2.3", ">1 <=1.2.3"),
            ("1 - 2", ">=1 <=2"),
        ];
        for (input, want) in cases {
            let c = Constraints::parse(input).unwrap();
            assert_eq!(c.to_string(), want, "{input:?}");
            assert!(Constraints::parse(&c.to_string()).is_ok());
        }
    }
}
