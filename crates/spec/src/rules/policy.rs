//! Semantic rules about the package manifest, its policy templates, inputs, streams
//! and variables (spec/package-format.md §6, rules 3, 4, 14, 22–24, 26–32, 39–43
//! and 46), ported from package-spec's `code/go/internal/validator/semantic`.
//!
//! Each rule reads the manifests the way the Go rule decodes them into typed structs
//! with yaml.v3: a missing or mistyped value reads as the zero value (empty string,
//! `false`, no items). Mistyped values are the schema pass's business, so the rules
//! never report them and never fail on them. Messages are the Go messages after their
//! `file "<path>" is invalid: ` prefix; the file goes into `Problem::file`.

use epr_package::yaml::{Node, Value};
// Shared by the submodules, which quote names as Go's `%q` does.
use epr_package::go_text::go_quote;

use super::Rule;
// yaml.v3-style readers, shared by the submodules.
use super::decode::{flag, items, string_at, text};
use crate::package::{Kind, Mode, Package};

#[path = "policy_duration.rs"]
mod duration;
#[path = "policy_requires.rs"]
mod requires;
#[path = "policy_templates.rs"]
mod templates;
#[path = "policy_vars.rs"]
mod vars;
#[path = "policy_versions.rs"]
mod versions;

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;

/// The manifest and policy rules, in the order package-spec runs them.
pub const RULES: &[Rule] = &[
    Rule {
        name: "ValidatePrerelease",
        kinds: &[],
        since: None,
        until: None,
        modes: &[],
        warning_before_3: false,
        check: versions::prerelease,
    },
    Rule {
        name: "ValidateMinimumKibanaVersion",
        kinds: &[],
        since: None,
        until: None,
        modes: &[],
        warning_before_3: true,
        check: versions::minimum_kibana_version,
    },
    Rule {
        name: "ValidateProfilesNonGA",
        kinds: &[Kind::Integration],
        since: None,
        until: None,
        modes: &[],
        warning_before_3: false,
        check: versions::profiles_non_ga,
    },
    Rule {
        name: "ValidateRequiredVarGroups",
        kinds: &[],
        since: None,
        until: None,
        modes: &[],
        warning_before_3: false,
        check: vars::required_var_groups,
    },
    Rule {
        name: "ValidateVarGroups",
        kinds: &[],
        since: Some("3.6.0"),
        until: None,
        modes: &[],
        warning_before_3: false,
        check: vars::var_groups,
    },
    Rule {
        name: "ValidateSections",
        kinds: &[],
        since: None,
        until: None,
        modes: &[],
        warning_before_3: false,
        check: vars::sections,
    },
    Rule {
        name: "ValidateDeploymentModes",
        kinds: &[Kind::Integration],
        since: None,
        until: None,
        modes: &[],
        warning_before_3: false,
        check: templates::deployment_modes,
    },
    Rule {
        name: "ValidateDurationVariables",
        kinds: &[],
        since: Some("3.5.0"),
        until: None,
        modes: &[],
        warning_before_3: false,
        check: vars::duration_variables,
    },
    Rule {
        name: "ValidateInputPackagesPolicyTemplates",
        kinds: &[Kind::Input],
        since: None,
        until: None,
        modes: &[],
        warning_before_3: false,
        check: templates::input_package_policy_templates,
    },
    Rule {
        name: "ValidateInputDynamicSignalTypes",
        kinds: &[],
        since: Some("3.6.0"),
        until: None,
        modes: &[],
        warning_before_3: false,
        check: templates::dynamic_signal_types,
    },
    Rule {
        name: "ValidateFleetReservedVars",
        kinds: &[Kind::Integration, Kind::Input],
        since: Some("3.6.1"),
        until: None,
        modes: &[],
        warning_before_3: false,
        check: vars::fleet_reserved_vars,
    },
    Rule {
        name: "ValidateMinimumAgentVersion",
        kinds: &[],
        since: None,
        until: None,
        modes: &[],
        warning_before_3: false,
        check: versions::minimum_agent_version,
    },
    Rule {
        name: "ValidateIntegrationPolicyTemplates",
        kinds: &[Kind::Integration],
        since: None,
        until: None,
        modes: &[],
        warning_before_3: false,
        check: templates::integration_policy_templates,
    },
    Rule {
        name: "ValidateIntegrationInputsDeprecation",
        kinds: &[Kind::Integration],
        since: Some("3.6.0"),
        until: None,
        modes: &[],
        warning_before_3: false,
        check: templates::inputs_deprecation,
    },
    Rule {
        name: "ValidateIntegrationInputQualifier",
        kinds: &[Kind::Integration],
        since: Some("3.6.0"),
        until: None,
        // package-spec runs it in legacy and build mode, that is, in both of ours.
        modes: &[],
        warning_before_3: false,
        check: templates::input_qualifier,
    },
    Rule {
        name: "ValidateDeprecatedReplacedBy",
        kinds: &[],
        since: Some("3.6.0"),
        until: None,
        modes: &[],
        warning_before_3: false,
        check: templates::deprecated_replaced_by,
    },
    Rule {
        name: "ValidatePackageReferences",
        kinds: &[Kind::Integration],
        since: Some("3.6.0"),
        until: None,
        modes: &[],
        warning_before_3: false,
        check: requires::package_references,
    },
    Rule {
        name: "ValidateTestPackageRequirements",
        kinds: &[Kind::Integration],
        since: Some("3.6.0"),
        until: None,
        // Test configurations live in `_dev`, which only source trees have.
        modes: &[Mode::Legacy],
        warning_before_3: false,
        check: requires::test_package_requirements,
    },
    Rule {
        name: "ValidateStreamInputBundled",
        kinds: &[Kind::Integration],
        since: None,
        until: None,
        // `package:` references are resolved by `elastic-package build`; only built
        // packages must not have them any more.
        modes: &[Mode::Build],
        warning_before_3: false,
        check: templates::stream_input_bundled,
    },
];

/// The path of the root manifest, the file most of these rules report on.
const MANIFEST: &str = "manifest.yml";

/// The policy templates of the root manifest (those that are mappings; the schema
/// reports the others).
fn policy_templates<'p>(pkg: &'p Package<'_>) -> Vec<&'p Node> {
    items(&pkg.manifest, "policy_templates")
        .iter()
        .filter(|t| matches!(t.value, Value::Map(_)))
        .collect()
}

/// A data stream manifest: its path and its content.
struct DataStreamManifest {
    /// The data stream folder, `data_stream/<name>`.
    dir: String,
    /// `data_stream/<name>/manifest.yml`.
    path: String,
    doc: Node,
}

/// Every readable data stream manifest, in data stream name order. Unreadable or
/// malformed ones are skipped: the structural pass reports them.
fn data_stream_manifests(pkg: &Package<'_>) -> Vec<DataStreamManifest> {
    pkg.data_streams()
        .into_iter()
        .filter_map(|name| {
            let dir = format!("data_stream/{name}");
            let path = format!("{dir}/manifest.yml");
            let doc = pkg.read_yaml(&path).ok()?;
            Some(DataStreamManifest { dir, path, doc })
        })
        .collect()
}
