//! Rules on `changelog.yml`: the manifest version has an entry, versions are unique
//! and the newest is on top (`validate_version_integrity.go`), and GitHub links point
//! at an issue or pull request number (`validate_changelog_links.go`).

use epr_package::version::Version;
use epr_package::yaml::{Node, Value};

use crate::package::Package;
use crate::problem::Problem;

const CHANGELOG: &str = "changelog.yml";

/// Rule 1, `ValidateVersionIntegrity`. Go stops at the first failed check, so at most
/// one problem is reported.
pub fn version_integrity(pkg: &Package<'_>) -> Vec<Problem> {
    let Some(changelog) = pkg.read_yaml(CHANGELOG).ok() else {
        return Vec::new();
    };
    // Entries without a string `version` are the schema's to report.
    let Some(versions) = changelog_versions(&changelog) else {
        return Vec::new();
    };
    check_versions(&pkg.version, &versions)
        .err()
        .map(|message| Problem::file(CHANGELOG, message))
        .into_iter()
        .collect()
}

/// The checks of rule 1 in Go's order; the message of the first that fails.
fn check_versions(manifest_version: &str, versions: &[String]) -> Result<(), String> {
    ensure_unique(versions)?;
    ensure_manifest_version_listed(manifest_version, versions)?;
    ensure_first_is_greatest(versions)
}

/// `$[*].version` as strings; `None` when the changelog is not a list of entries with
/// a string version.
fn changelog_versions(changelog: &Node) -> Option<Vec<String>> {
    let Value::Seq(entries) = &changelog.value else {
        return None;
    };
    entries
        .iter()
        .map(|entry| match &entry.get("version")?.value {
            Value::String(v) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

fn ensure_unique(versions: &[String]) -> Result<(), String> {
    for (i, v) in versions.iter().enumerate() {
        if versions[..i].contains(v) {
            return Err(format!(
                "versions in changelog must be unique, found at least two same versions ({v})"
            ));
        }
    }
    Ok(())
}

/// The manifest version is the first entry, or any entry when the first one is a
/// `-next` entry for changes not released yet.
fn ensure_manifest_version_listed(
    manifest_version: &str,
    versions: &[String],
) -> Result<(), String> {
    let Some(first) = versions.first() else {
        return Err("no versions found in changelog".to_string());
    };
    if first == manifest_version
        || (first.ends_with("-next") && versions.iter().any(|v| v == manifest_version))
    {
        return Ok(());
    }
    Err("current manifest version doesn't have changelog entry".to_string())
}

fn ensure_first_is_greatest(versions: &[String]) -> Result<(), String> {
    let Some((first, rest)) = versions.split_first() else {
        return Err("no versions found in changelog".to_string());
    };
    let parse = |v: &str| {
        Version::parse(v).map_err(|e| format!("could not read package manifest version [{v}]: {e}"))
    };
    let latest = parse(first)?;
    for v in rest {
        let version = parse(v)?;
        if version >= latest {
            return Err(format!(
                "changelog entry {version} is greater than or equal to first changelog entry: {latest}"
            ));
        }
    }
    Ok(())
}

/// Rule 2, `ValidateChangelogLinks`: a link whose host contains `github.com` must end
/// in a positive number.
pub fn changelog_links(pkg: &Package<'_>) -> Vec<Problem> {
    let Some(changelog) = pkg.read_yaml(CHANGELOG).ok() else {
        return Vec::new();
    };
    changelog_link_nodes(&changelog)
        .into_iter()
        .filter_map(|(link, line)| link_problem(link).map(|m| Problem::at(CHANGELOG, line, m)))
        .collect()
}

/// What is wrong with a changelog link, if anything.
fn link_problem(link: &str) -> Option<String> {
    // Go's `url.Parse` refuses ASCII control characters (a link ending in a line break
    // from a folded YAML scalar, typically).
    if link.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Some(format!(
            "invalid URL parse {link:?}: net/url: invalid control character in URL"
        ));
    }
    (!github_link_is_valid(link))
        .then(|| format!("{link}: issue number in changelog link should be a positive number"))
}

/// `$[*].changes[*].link` that are strings, with their lines.
fn changelog_link_nodes(changelog: &Node) -> Vec<(&str, usize)> {
    let Value::Seq(entries) = &changelog.value else {
        return Vec::new();
    };
    let mut links = Vec::new();
    for entry in entries {
        let Some(Value::Seq(changes)) = entry.get("changes").map(|c| &c.value) else {
            continue;
        };
        for change in changes {
            if let Some(Node {
                value: Value::String(link),
                line,
            }) = change.get("link")
            {
                links.push((link.as_str(), *line));
            }
        }
    }
    links
}

/// True unless the link is on a github.com host and the last path segment is not a
/// positive number (Go: `strconv.Atoi(path.Base(u.Path))`).
fn github_link_is_valid(link: &str) -> bool {
    let Some((host, path)) = url_host_and_path(link) else {
        return true;
    };
    if !host.contains("github.com") {
        return true;
    }
    let base = path_base(path);
    go_atoi(base).is_some_and(|n| n > 0)
}

/// The host (with port) and path of a URL as Go's `url.Parse` splits them; `None`
/// when there is no `//` authority, so no host.
fn url_host_and_path(link: &str) -> Option<(&str, &str)> {
    let link = link.split('#').next().unwrap_or("");
    let link = link.split('?').next().unwrap_or("");
    let rest = match scheme_end(link) {
        Some(end) => &link[end + 1..],
        None => link,
    };
    let rest = rest.strip_prefix("//")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = authority.rsplit('@').next().unwrap_or(authority);
    Some((host, path))
}

/// The index of the `:` ending a URL scheme (`[A-Za-z][A-Za-z0-9+.-]*:`), if any.
fn scheme_end(link: &str) -> Option<usize> {
    let colon = link.find(':')?;
    let scheme = &link[..colon];
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (first_ok && rest_ok).then_some(colon)
}

/// Go's `path.Base`: the last element after trailing slashes are removed; `.` for an
/// empty path, `/` for a path of slashes.
fn path_base(path: &str) -> &str {
    if path.is_empty() {
        return ".";
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// Go's `strconv.Atoi` on a 64-bit platform: optional sign, decimal digits only.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn manifest_version_must_be_first_unless_next() {
        assert!(check_versions("1.0.0", &strings(&["1.0.0", "0.9.0"])).is_ok());
        assert_eq!(
            check_versions("0.0.1", &strings(&["0.0.3", "0.0.2"])).unwrap_err(),
            "current manifest version doesn't have changelog entry"
        );
        assert!(check_versions("0.0.1", &strings(&["0.0.2-next", "0.0.1"])).is_ok());
    }

    #[test]
    fn versions_are_unique_and_decreasing() {
        assert_eq!(
            check_versions("0.0.3", &strings(&["0.0.3", "0.0.2", "0.0.2"])).unwrap_err(),
            "versions in changelog must be unique, found at least two same versions (0.0.2)"
        );
        assert_eq!(
            check_versions("1.0.0", &strings(&["1.0.0", "1.1"])).unwrap_err(),
            "changelog entry 1.1.0 is greater than or equal to first changelog entry: 1.0.0"
        );
    }

    #[test]
    fn github_links_need_a_positive_number() {
        assert!(github_link_is_valid(
            "https://github.com/elastic/integrations/pull/193"
        ));
        assert!(github_link_is_valid(
            "https://github.com/elastic/integrations/pull/193/"
        ));
        assert!(!github_link_is_valid(
            "https://github.com/elastic/integrations/pull/0"
        ));
        assert!(!github_link_is_valid(
            "https://github.com/elastic/integrations/pull/abc"
        ));
        assert!(!github_link_is_valid("https://github.com"));
        assert!(github_link_is_valid("https://example.com/pull/0"));
        // No authority: Go sees no host at all.
        assert!(github_link_is_valid(
            "github.com/elastic/integrations/pull/0"
        ));
        assert!(github_link_is_valid(
            "https://github.com/e/i/pull/12#issuecomment-1"
        ));
    }

    #[test]
    fn links_with_control_characters_are_invalid_urls() {
        assert_eq!(
            link_problem("https://github.com/elastic/integrations/pull/2012\n").unwrap(),
            "invalid URL parse \"https://github.com/elastic/integrations/pull/2012\\n\": net/url: invalid control character in URL"
        );
        assert_eq!(
            link_problem("https://github.com/elastic/integrations/pull/2012"),
            None
        );
    }
}
