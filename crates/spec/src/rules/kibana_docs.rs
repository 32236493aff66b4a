//! Rule 25, ValidateDocsStructure (spec/package-format.md §6): when `validation.yml`
//! enables `docs_structure_enforced`, every `docs/*.md` has a heading for each
//! enforced section that is not skipped.

use epr_package::yaml::{Node, Value as Yaml};
use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use crate::package::Package;
use crate::problem::Problem;

/// The sections of version 1 of the enforced structure
/// (`elastic/package-spec:docs_schema/enforced_sections_v1.yml`), in its order.
const ENFORCED_SECTIONS_V1: &[&str] = &[
    "Overview",
    "What data does this integration collect?",
    "What do I need to use this integration?",
    "How do I deploy this integration?",
    "Troubleshooting",
    "Performance and scaling",
];

/// The `docs_structure_enforced` settings of `validation.yml`.
struct Enforced {
    version: i128,
    /// Titles of the sections not enforced.
    skip: Vec<String>,
}

/// Checks the headings of `docs/*.md` against the enforced sections.
pub(super) fn docs_structure(pkg: &Package<'_>) -> Vec<Problem> {
    let enforced = match enforced_config(pkg) {
        Ok(Some(enforced)) => enforced,
        Ok(None) => return Vec::new(),
        Err(e) => {
            return vec![Problem::file(
                "validation.yml",
                format!(
                    "failed to determine if documentation structure validation should be performed: {e}"
                ),
            )];
        }
    };
    let Some(sections) = sections_for(&enforced) else {
        return vec![Problem::file(
            "validation.yml",
            format!(
                "failed to read enforced documentation structure configuration: failed to load enforced sections from config: failed to read schema file: open enforced_sections_v{}.yml: file does not exist",
                enforced.version
            ),
        )];
    };
    let mut missing: Vec<String> = Vec::new();
    for name in pkg.list_dir("docs") {
        let path = format!("docs/{name}");
        if !name.ends_with(".md") || !pkg.is_file(&path) {
            continue;
        }
        match pkg.read(&path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                missing.extend(missing_sections(&text, &sections, &name));
            }
            Err(p) => missing.push(format!("failed to read file {path}: {}", p.message)),
        }
    }
    if missing.is_empty() {
        return Vec::new();
    }
    // Go joins every file's errors into one.
    vec![Problem::package(missing.join("\n"))]
}

/// The settings when the check is enabled; `None` when it is not (or there is no
/// `validation.yml`).
fn enforced_config(pkg: &Package<'_>) -> Result<Option<Enforced>, String> {
    const PATH: &str = "validation.yml";
    if !pkg.is_file(PATH) {
        return Ok(None);
    }
    let doc = pkg
        .read_yaml(PATH)
        .map_err(|p| format!("failed to unmarshal YAML from {PATH}: {}", p.message))?;
    let Some(config) = doc.get("docs_structure_enforced") else {
        return Ok(None);
    };
    let unmarshal = |what: &str| {
        format!("failed to unmarshal YAML from {PATH}: yaml: unmarshal errors: {what}")
    };
    let enabled = match config.get("enabled").map(|n| &n.value) {
        None | Some(Yaml::Null) => false,
        Some(Yaml::Bool(b)) => *b,
        Some(_) => {
            return Err(unmarshal(
                "cannot unmarshal docs_structure_enforced.enabled into bool",
            ));
        }
    };
    if !enabled {
        return Ok(None);
    }
    let version = match config.get("version").map(|n| &n.value) {
        None | Some(Yaml::Null) => 0,
        Some(Yaml::Int(i)) => i128::from(*i),
        Some(Yaml::UInt(u)) => i128::from(*u),
        Some(_) => {
            return Err(unmarshal(
                "cannot unmarshal docs_structure_enforced.version into int",
            ));
        }
    };
    let skip = skip_titles(config.get("skip")).map_err(|e| unmarshal(&e))?;
    Ok(Some(Enforced { version, skip }))
}

/// The `title` of each `skip` entry.
fn skip_titles(skip: Option<&Node>) -> Result<Vec<String>, String> {
    let items = match skip.map(|n| &n.value) {
        None | Some(Yaml::Null) => return Ok(Vec::new()),
        Some(Yaml::Seq(items)) => items,
        Some(_) => return Err("cannot unmarshal docs_structure_enforced.skip into a list".into()),
    };
    Ok(items
        .iter()
        .filter_map(|item| match item.get("title").map(|t| &t.value) {
            Some(Yaml::String(s)) => Some(s.clone()),
            _ => None,
        })
        .collect())
}

/// The enforced section names minus the skipped ones; `None` for an unknown version.
fn sections_for(enforced: &Enforced) -> Option<Vec<&'static str>> {
    let all = match enforced.version {
        1 => ENFORCED_SECTIONS_V1,
        _ => return None,
    };
    Some(
        all.iter()
            .copied()
            .filter(|s| !enforced.skip.iter().any(|t| t == s))
            .collect(),
    )
}

/// One message per section with no heading in `markdown` (heading text compared
/// case-insensitively).
fn missing_sections(markdown: &str, sections: &[&str], file_name: &str) -> Vec<String> {
    let headings: Vec<String> = heading_texts(markdown)
        .iter()
        .map(|h| h.to_lowercase())
        .collect();
    sections
        .iter()
        .filter(|s| !headings.contains(&s.to_lowercase()))
        .map(|s| format!("missing required section '{s}' in file '{file_name}'"))
        .collect()
}

/// The text of each heading: its plain text pieces that are direct children, as
/// package-spec reads goldmark's AST (emphasis, code and links are left out).
fn heading_texts(markdown: &str) -> Vec<String> {
    let mut headings = Vec::new();
    let mut current: Option<String> = None;
    // Tags opened inside the current heading.
    let mut depth = 0usize;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Heading { .. }) => {
                current = Some(String::new());
                depth = 0;
            }
            Event::End(TagEnd::Heading(_)) => {
                headings.extend(current.take());
            }
            Event::Start(_) if current.is_some() => depth += 1,
            Event::End(_) if current.is_some() => depth = depth.saturating_sub(1),
            Event::Text(text) if depth == 0 => {
                if let Some(h) = current.as_mut() {
                    h.push_str(&text);
                }
            }
            _ => {}
        }
    }
    headings
}
