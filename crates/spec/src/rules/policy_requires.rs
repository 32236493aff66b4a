//! Rules about package dependencies (`requires`, spec 3.6.0): composable inputs and
//! streams only reference required input packages, with exact versions (rule 42),
//! and test configurations only require what the manifest requires (rule 43).

use std::path::Path;

use epr_package::constraint::Constraints;
use epr_package::version::Version;
use epr_package::yaml::{Node, Value};

use super::{MANIFEST, data_stream_manifests, go_quote, items, string_at};
use crate::package::{Package, normalize};
use crate::problem::Problem;

/// One entry of `requires.input` or `requires.content`.
struct Required<'n> {
    package: &'n str,
    /// The version or constraint; empty when missing or not a string.
    version: &'n str,
}

/// The entries of `requires.<kind>` that name a package.
fn required<'n>(manifest: &'n Node, kind: &str) -> Vec<Required<'n>> {
    let Some(list) = manifest.get("requires").and_then(|r| r.get(kind)) else {
        return Vec::new();
    };
    let Value::Seq(list) = &list.value else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|entry| {
            Some(Required {
                package: string_at(entry, "package")?,
                version: string_at(entry, "version").unwrap_or(""),
            })
        })
        .collect()
}

/// Rule 42 (ValidatePackageReferences): the `package:` of a policy template input
/// or a stream is listed in `requires.input` (content packages cannot provide
/// inputs), and required input packages have exact versions, since their templates
/// are bundled at build time.
pub(super) fn package_references(pkg: &Package<'_>) -> Vec<Problem> {
    let inputs = required(&pkg.manifest, "input");
    let contents = required(&pkg.manifest, "content");
    let mut problems = Vec::new();
    // Positions count every policy template, as package-spec's do.
    for (t, template) in items(&pkg.manifest, "policy_templates").iter().enumerate() {
        for (i, input) in items(template, "inputs").iter().enumerate() {
            let Some(package) = string_at(input, "package").filter(|p| !p.is_empty()) else {
                continue;
            };
            let Some(reason) = reference_problem(package, &inputs, &contents, "requires section")
            else {
                continue;
            };
            problems.push(Problem::at(
                MANIFEST,
                input.line,
                format!(
                    "policy_templates[{t}].inputs[{i}] references package {} {reason}",
                    go_quote(package)
                ),
            ));
        }
    }
    for ds in data_stream_manifests(pkg) {
        for (i, stream) in items(&ds.doc, "streams").iter().enumerate() {
            let Some(package) = string_at(stream, "package").filter(|p| !p.is_empty()) else {
                continue;
            };
            let Some(reason) =
                reference_problem(package, &inputs, &contents, "manifest requires section")
            else {
                continue;
            };
            problems.push(Problem::at(
                &ds.path,
                stream.line,
                format!(
                    "streams[{i}] references package {} {reason}",
                    go_quote(package)
                ),
            ));
        }
    }
    for (i, input) in inputs.iter().enumerate() {
        // A missing version is the schema's to report.
        if input.version.is_empty() || Version::parse(input.version).is_ok() {
            continue;
        }
        problems.push(Problem::file(
            MANIFEST,
            format!(
                "field requires.input.{i}.version: version {} for package {} must be a valid semantic version, constraints are not allowed",
                go_quote(input.version),
                go_quote(input.package)
            ),
        ));
    }
    problems
}

/// Why a `package:` reference is wrong, if it is. `section` is how the message names
/// the `requires` section (package-spec words it differently for streams).
fn reference_problem(
    package: &str,
    inputs: &[Required<'_>],
    contents: &[Required<'_>],
    section: &str,
) -> Option<String> {
    if contents.iter().any(|r| r.package == package) {
        return Some("which is a content package, only input packages allowed".to_string());
    }
    if inputs.iter().any(|r| r.package == package) {
        return None;
    }
    Some(format!("which is not listed in {section}"))
}

/// The test types whose `_dev/test/config.yml` section may have `requires`.
const TEST_TYPES: &[&str] = &["system", "policy", "pipeline", "static", "asset"];

/// Rule 43 (ValidateTestPackageRequirements): packages that test configurations
/// require are required by the manifest, in a version its constraint accepts; local
/// `source` paths are relative and exist.
pub(super) fn test_package_requirements(pkg: &Package<'_>) -> Vec<Problem> {
    // The manifest's requirements by name (content after input, as package-spec
    // fills its map).
    let manifest_requires: Vec<Required<'_>> = required(&pkg.manifest, "input")
        .into_iter()
        .chain(required(&pkg.manifest, "content"))
        // Entries without a version are skipped, as package-spec does.
        .filter(|r| !r.version.is_empty())
        .collect();
    let constraint_of = |package: &str| {
        manifest_requires
            .iter()
            .rev()
            .find(|r| r.package == package)
            .map(|r| r.version)
    };
    let mut problems = Vec::new();
    let package_config = "_dev/test/config.yml";
    if let Ok(config) = pkg.read_yaml(package_config) {
        for test_type in TEST_TYPES {
            if let Some(section) = config.get(test_type) {
                let location = format!("{test_type}.");
                problems.extend(check_test_requires(
                    pkg,
                    package_config,
                    &location,
                    section,
                    &constraint_of,
                ));
            }
        }
    }
    for config_path in data_stream_test_configs(pkg) {
        if let Ok(config) = pkg.read_yaml(&config_path) {
            problems.extend(check_test_requires(
                pkg,
                &config_path,
                "",
                &config,
                &constraint_of,
            ));
        }
    }
    problems
}

/// The data stream test configurations that may have `requires`.
fn data_stream_test_configs(pkg: &Package<'_>) -> Vec<String> {
    let mut configs = Vec::new();
    for ds in pkg.data_streams() {
        let base = format!("data_stream/{ds}/_dev/test");
        let kinds: [(&str, &str); 3] = [
            ("system", "-config.yml"),
            ("policy", ".yml"),
            ("static", "-config.yml"),
        ];
        for (kind, suffix) in kinds {
            let dir = format!("{base}/{kind}");
            for name in pkg.list_dir(&dir) {
                let path = format!("{dir}/{name}");
                if matches_test_glob(&name, suffix) && pkg.is_file(&path) {
                    configs.push(path);
                }
            }
        }
    }
    configs
}

/// Whether `name` matches the glob `test-*<suffix>`.
fn matches_test_glob(name: &str, suffix: &str) -> bool {
    name.len() >= "test-".len() + suffix.len()
        && name.starts_with("test-")
        && name.ends_with(suffix)
        && !name.contains('/')
}

/// Checks the `requires` list of one test configuration (or of one test type's
/// section of the package test configuration). `location` prefixes `requires[i]`.
fn check_test_requires<'m>(
    pkg: &Package<'_>,
    config_path: &str,
    location: &str,
    section: &Node,
    constraint_of: &dyn Fn(&str) -> Option<&'m str>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (idx, requirement) in items(section, "requires").iter().enumerate() {
        let package = string_at(requirement, "package").unwrap_or("");
        let version = string_at(requirement, "version").unwrap_or("");
        let at = format!("{location}requires[{idx}]");
        let message = if !package.is_empty() && !version.is_empty() {
            version_problem(&at, package, version, constraint_of(package))
        } else if let Some(source) = string_at(requirement, "source").filter(|s| !s.is_empty()) {
            source_problem(pkg, source)
        } else {
            None
        };
        if let Some(message) = message {
            problems.push(Problem::at(config_path, requirement.line, message));
        }
    }
    problems
}

/// A required package version the manifest does not allow.
fn version_problem(
    at: &str,
    package: &str,
    version: &str,
    constraint: Option<&str>,
) -> Option<String> {
    let quoted = go_quote(package);
    let Some(constraint) = constraint else {
        return Some(format!(
            "{at} references package {quoted} which is not listed in manifest requires section"
        ));
    };
    let tested = match Version::parse(version) {
        Ok(v) => v,
        Err(e) => {
            return Some(format!(
                "{at} has invalid version {}: {e}",
                go_quote(version)
            ));
        }
    };
    let allowed = match Constraints::parse(constraint) {
        Ok(c) => c,
        Err(e) => {
            return Some(format!(
                "{at} package {quoted} has invalid constraint in manifest: {e}"
            ));
        }
    };
    (!allowed.check(&tested)).then(|| {
        format!(
            "{at} package {quoted} version {} does not satisfy constraint {}",
            go_quote(version),
            go_quote(constraint)
        )
    })
}

/// A `source` that is absolute or points at nothing. It is relative to the package
/// root (package-spec's own `good_requires` names `../good_input`, a sibling package)
/// and so usually leaves the package: it is looked up on disk when the package is a
/// folder.
fn source_problem(pkg: &Package<'_>, source: &str) -> Option<String> {
    let quoted = go_quote(source);
    if source.starts_with('/') {
        return Some(format!(
            "source path to required package {quoted} must be relative"
        ));
    }
    let exists = match &pkg.root {
        Some(root) => root.join(source).exists(),
        None => {
            let target = normalize(Path::new(source));
            // Outside a folder on disk, what lies outside the package is unknown.
            target.starts_with("..") || pkg.exists(&target)
        }
    };
    (!exists).then(|| format!("source path to required package {quoted} does not exist"))
}
