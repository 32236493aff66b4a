//! `changelog.yml` and `validation.yml` (`integration/changelog.spec.yml`,
//! `integration/validation.spec.yml`).

use epr_package::version::Version;

use super::before;
use crate::schema::{Schema, array, boolean, integer, object, string, string_enum};

/// A package version (`integration/manifest.spec.yml#/definitions/version`): semver
/// with optional prerelease and build parts.
fn version() -> Schema {
    string().pattern(
        r"^([0-9]+)\.([0-9]+)\.([0-9]+)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+)?$",
    )
}

/// `changelog.yml`: the versions, newest first, each with its changes. The
/// `deprecation` change type came with 3.6.0.
pub fn changelog(v: &Version) -> Schema {
    let mut change_types = vec!["breaking-change", "bugfix", "enhancement", "deprecation"];
    if before(v, "3.6.0") {
        change_types.retain(|t| *t != "deprecation");
    }
    let change = object()
        .closed()
        .required(&["description", "type", "link"])
        .prop("description", string())
        .prop("type", string_enum(&change_types))
        .prop("link", string());
    array(
        object()
            .closed()
            .required(&["version", "changes"])
            .prop("version", version())
            .prop("changes", array(change)),
    )
}

/// `validation.yml`: error codes to exclude and the enforced docs structure.
pub fn validation(_v: &Version) -> Schema {
    let skip = object().prop("title", string()).prop("reason", string());
    object()
        .closed()
        .prop(
            "errors",
            object().closed().prop("exclude_checks", array(string())),
        )
        .prop(
            "docs_structure_enforced",
            object()
                .closed()
                .prop("enabled", boolean())
                .prop("version", integer())
                .prop("skip", array(skip)),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(schema: Schema, yaml: &str) -> Vec<String> {
        crate::schema::messages(&schema, yaml)
    }

    #[test]
    fn changelog_entries() {
        let v = Version::parse("3.6.0").unwrap();
        let good = "- version: 1.0.0-beta.1\n  changes:\n    - description: x\n      type: deprecation\n      link: https://example.com/1\n";
        assert!(check(changelog(&v), good).is_empty());
        let bad =
            "- version: '1.0'\n  changes:\n    - description: x\n      type: feature\n  extra: 1\n";
        assert_eq!(
            check(changelog(&v), bad),
            vec![
                "field 0.version: Does not match pattern '^([0-9]+)\\.([0-9]+)\\.([0-9]+)(?:-([0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*))?(?:\\+[0-9A-Za-z-]+)?$'",
                "field 0.changes.0: link is required",
                "field 0.changes.0.type: 0.changes.0.type must be one of the following: \"breaking-change\", \"bugfix\", \"enhancement\", \"deprecation\"",
                "field 0: Additional property extra is not allowed",
            ]
        );
    }

    #[test]
    fn deprecation_change_type_from_3_6_0() {
        let v = Version::parse("3.5.0").unwrap();
        let yaml = "- version: 1.0.0\n  changes:\n    - description: x\n      type: deprecation\n      link: l\n";
        assert_eq!(
            check(changelog(&v), yaml),
            vec![
                "field 0.changes.0.type: 0.changes.0.type must be one of the following: \"breaking-change\", \"bugfix\", \"enhancement\""
            ]
        );
    }

    #[test]
    fn validation_file() {
        let v = Version::parse("3.0.0").unwrap();
        let good = "errors:\n  exclude_checks: [SVR00001]\ndocs_structure_enforced:\n  enabled: true\n  version: 1\n  skip:\n    - title: Overview\n      reason: none\n";
        assert!(check(validation(&v), good).is_empty());
        assert_eq!(
            check(validation(&v), "errors:\n  exclude: []\nother: 1\n"),
            vec![
                "field errors: Additional property exclude is not allowed",
                "field (root): Additional property other is not allowed",
            ]
        );
    }
}
