//! Rules about versions and version conditions: the prerelease tag of the package
//! version (rule 3), the minimum Kibana version some features need (rule 4), the
//! agent version condition (rule 31), and the technical-preview `profiles` data
//! stream type that GA packages must not use (rule 14).

use std::sync::LazyLock;

use epr_package::constraint::Constraints;
use epr_package::version::Version;
use epr_package::yaml::{Node, Value};
use regex::Regex;

use super::{MANIFEST, data_stream_manifests, text};
use crate::package::{Kind, Package};
use crate::problem::Problem;

/// Prerelease tags allowed as they are ("next" and "SNAPSHOT" were recommended once).
const LITERAL_PRERELEASES: &[&str] = &["next", "SNAPSHOT"];

/// Prerelease tags allowed alone or followed by numbering (`beta1`, `rc.2`).
const NUMBERED_PRERELEASES: &[&str] = &["beta", "rc", "preview"];

/// What may follow a numbered prerelease tag: it starts with a digit, or `.`/`-` and
/// an alphanumeric, and ends with an alphanumeric.
static NUMBERED_PRERELEASE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(beta|rc|preview)(([0-9]|[.-][0-9A-Za-z])([0-9A-Za-z-.]*[0-9A-Za-z])?)?$")
        .expect("valid regex")
});

/// Rule 3 (ValidatePrerelease): a 0.x version is a technical preview and needs no
/// prerelease tag; other tags must be one of the known ones.
pub(super) fn prerelease(pkg: &Package<'_>) -> Vec<Problem> {
    // An unparsable version is reported by the manifest schema.
    let Ok(version) = Version::parse(&pkg.version) else {
        return Vec::new();
    };
    let tag = version.prerelease();
    if version.major() == 0 && !tag.is_empty() {
        return vec![Problem::file(
            MANIFEST,
            format!(
                "versions below 1.0.0 are considered technical previews, please remove prerelease tag (version: {})",
                pkg.version
            ),
        )];
    }
    if tag.is_empty() || LITERAL_PRERELEASES.contains(&tag) || NUMBERED_PRERELEASE.is_match(tag) {
        return Vec::new();
    }
    vec![Problem::file(
        MANIFEST,
        format!(
            "prerelease tag ({tag}) should be one of [{}], or one of [{}] followed by numbers",
            LITERAL_PRERELEASES.join(", "),
            NUMBERED_PRERELEASES.join(", ")
        ),
    )]
}

/// A condition of the manifest's `conditions`, written either as a dotted key
/// (`kibana.version: ...`) or nested (`kibana: {version: ...}`); the dotted form wins,
/// as in package-spec. `None` when absent or not a string.
fn condition<'n>(manifest: &'n Node, target: &str, field: &str) -> Option<&'n str> {
    let conditions = manifest.get("conditions")?;
    let value = conditions
        .get(&format!("{target}.{field}"))
        .or_else(|| conditions.get(target).and_then(|t| t.get(field)))?;
    match &value.value {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// Whether every `x.y.z` version named in a Kibana condition is at least `minimum`
/// (package-spec's textual approximation of "the condition excludes older Kibanas").
/// An empty condition allows any Kibana, so it fails.
fn kibana_condition_at_least(condition: &str, minimum: &str) -> bool {
    static VERSION: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\d+\.\d+\.\d+").expect("valid regex"));
    if condition.is_empty() {
        return false;
    }
    if condition == format!("^{minimum}") {
        return true;
    }
    let Ok(minimum) = Version::parse(minimum) else {
        return false;
    };
    VERSION
        .find_iter(condition)
        .all(|m| Version::parse(m.as_str()).is_ok_and(|v| v >= minimum))
}

/// Rule 4 (ValidateMinimumKibanaVersion): GA input packages need Kibana 8.8.0, runtime
/// fields and `kibana/tags.yml` need Kibana 8.10.0. Only the tags problem carries a
/// code (SVR00005), so only it is a warning before spec 3.0.0.
pub(super) fn minimum_kibana_version(pkg: &Package<'_>) -> Vec<Problem> {
    // package-spec reports a non-string condition and stops; the schema reports it too.
    let kibana = condition(&pkg.manifest, "kibana", "version").unwrap_or("");
    let mut problems = Vec::new();
    let version = Version::parse(&pkg.version).ok();
    let ga_input = pkg.kind == Kind::Input
        && version
            .as_ref()
            .zip(Version::parse("1.0.0").ok())
            .is_some_and(|(v, one)| *v >= one);
    if ga_input && !kibana_condition_at_least(kibana, "8.8.0") {
        problems.push(Problem::file(
            MANIFEST,
            "conditions.kibana.version must be ^8.8.0 or greater for non experimental input packages (version > 1.0.0)",
        ));
    }
    if has_runtime_fields(pkg) && !kibana_condition_at_least(kibana, "8.10.0") {
        problems.push(Problem::file(
            MANIFEST,
            "conditions.kibana.version must be ^8.10.0 or greater to include runtime fields",
        ));
    }
    if pkg.kind != Kind::Input
        && pkg.exists("kibana/tags.yml")
        && !kibana_condition_at_least(kibana, "8.10.0")
    {
        problems.push(
            Problem::file(
                MANIFEST,
                "conditions.kibana.version must be ^8.10.0 or greater to include saved object tags file: kibana/tags.yml",
            )
            .with_code("SVR00005"),
        );
    }
    problems
}

/// The field files package-spec's field rules read: data stream fields, the fields
/// of an input package and those of transforms.
fn field_files(pkg: &Package<'_>) -> Vec<String> {
    let mut dirs: Vec<String> = pkg
        .data_streams()
        .into_iter()
        .map(|ds| format!("data_stream/{ds}/fields"))
        .collect();
    dirs.push("fields".to_string());
    dirs.extend(
        pkg.list_dir("elasticsearch/transform")
            .into_iter()
            .map(|t| format!("elasticsearch/transform/{t}/fields")),
    );
    dirs.iter()
        .flat_map(|dir| {
            pkg.list_dir(dir)
                .into_iter()
                .map(move |name| format!("{dir}/{name}"))
        })
        .collect()
}

/// Whether any field definition, at any depth, has `runtime` enabled.
fn has_runtime_fields(pkg: &Package<'_>) -> bool {
    field_files(pkg).iter().any(|path| {
        // A `.link` stands for the file it points to.
        let path = path.strip_suffix(".link").unwrap_or(path);
        let Ok((bytes, _)) = pkg.read_resolved(path) else {
            return false;
        };
        pkg.parse_yaml(path, &String::from_utf8_lossy(&bytes))
            .is_ok_and(|doc| fields_have_runtime(&doc))
    })
}

/// Whether a list of field definitions (or their nested `fields`) enables `runtime`.
fn fields_have_runtime(fields: &Node) -> bool {
    let Value::Seq(fields) = &fields.value else {
        return false;
    };
    fields.iter().any(|field| {
        field.get("runtime").is_some_and(runtime_enabled)
            || field.get("fields").is_some_and(fields_have_runtime)
    })
}

/// How package-spec reads `runtime`: a boolean (Go `strconv.ParseBool` of the scalar
/// text), or else a script, which enables it. Null leaves it disabled.
fn runtime_enabled(runtime: &Node) -> bool {
    let text = match &runtime.value {
        Value::Null => return false,
        Value::Bool(b) => return *b,
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::String(s) => s.clone(),
        // Floats and collections never parse as booleans: a script.
        Value::Float(_) | Value::Seq(_) | Value::Map(_) => return true,
    };
    match text.as_str() {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
        "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
        _ => true,
    }
}

/// Rule 31 (ValidateMinimumAgentVersion): `conditions.agent.version`, when set, is a
/// semver constraint.
pub(super) fn minimum_agent_version(pkg: &Package<'_>) -> Vec<Problem> {
    let Some(agent) = condition(&pkg.manifest, "agent", "version") else {
        return Vec::new();
    };
    if agent.is_empty() {
        return Vec::new();
    }
    match Constraints::parse(agent) {
        Ok(_) => Vec::new(),
        Err(e) => vec![Problem::file(
            MANIFEST,
            format!("invalid agent.version condition: {e}"),
        )],
    }
}

/// Rule 14 (ValidateProfilingNonGA): the `profiles` data stream type is a technical
/// preview that may go away, so GA packages must not use it.
pub(super) fn profiles_non_ga(pkg: &Package<'_>) -> Vec<Problem> {
    if !pkg.is_ga() {
        return Vec::new();
    }
    data_stream_manifests(pkg)
        .into_iter()
        .filter(|ds| text(&ds.doc, "type") == "profiles")
        .map(|ds| {
            let line = ds.doc.get("type").map_or(0, |n| n.line);
            Problem::at(
                ds.path,
                line,
                "profiles data type cannot be used in GA packages",
            )
        })
        .collect()
}
