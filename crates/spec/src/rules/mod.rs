//! The semantic rules (spec/package-format.md §6): checks across files that a schema
//! cannot express. Each rule says which packages it applies to, as package-spec
//! selects them by type, spec version and mode.

use crate::package::{Kind, Mode, Package};
use crate::problem::Problem;

mod decode;
pub mod fields;
pub mod kibana;
pub mod policy;

/// One semantic rule.
pub struct Rule {
    /// package-spec's name for it (e.g. `ValidateVersionIntegrity`), for docs and logs.
    pub name: &'static str,
    /// Package types it applies to; empty means all.
    pub kinds: &'static [Kind],
    /// First `format_version` it applies to (inclusive).
    pub since: Option<&'static str>,
    /// `format_version` from which it no longer applies (exclusive).
    pub until: Option<&'static str>,
    /// Modes it runs in; empty means all.
    pub modes: &'static [Mode],
    /// Before spec 3.0.0 its coded problems are warnings, not errors.
    pub warning_before_3: bool,
    pub check: fn(&Package<'_>) -> Vec<Problem>,
}

impl Rule {
    /// Whether the rule runs for `pkg`.
    pub fn applies(&self, pkg: &Package<'_>) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&pkg.kind))
            && (self.modes.is_empty() || self.modes.contains(&pkg.mode))
            && self.since.is_none_or(|v| pkg.spec_at_least(v))
            && self.until.is_none_or(|v| !pkg.spec_at_least(v))
    }
}

/// Every rule, in the order package-spec runs them.
pub fn all() -> impl Iterator<Item = &'static Rule> {
    policy::RULES
        .iter()
        .chain(fields::RULES.iter())
        .chain(kibana::RULES.iter())
}
