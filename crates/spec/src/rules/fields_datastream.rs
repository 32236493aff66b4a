//! Rules on data stream manifests: ILM policies (`validate_ilmpolicypresent.go`),
//! routing rules (`validate_routing_rules.go`), categories against policy templates
//! and the registry's category tree (`validate_policy_template_datastream_categories.go`,
//! `validate_datastream_package_categories.go`) and `_embedded_ecs` dynamic templates
//! (`validate_no_embedded_ecs.go`).

use std::collections::BTreeMap;

use epr_package::categories;
use epr_package::yaml::{Node, Value};

use crate::package::Package;
use crate::problem::Problem;
use crate::rules::decode::{strings_at, text};

fn manifest_path(ds: &str) -> String {
    format!("data_stream/{ds}/manifest.yml")
}

/// Each data stream with its parsed manifest; data streams whose manifest cannot be
/// read are left out (the structural pass reports them).
fn data_stream_manifests(pkg: &Package<'_>) -> Vec<(String, Node)> {
    pkg.data_streams()
        .into_iter()
        .filter_map(|ds| {
            let manifest = pkg.read_yaml(&manifest_path(&ds)).ok()?;
            Some((ds, manifest))
        })
        .collect()
}

/// Rule 13, `ValidateILMPolicyPresent`: a data stream's `ilm_policy` is
/// `<type>-<package>.<data stream>-<name>` and `elasticsearch/ilm/<name>.json` exists
/// in that data stream.
pub fn ilm_policy_present(pkg: &Package<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (ds, manifest) in data_stream_manifests(pkg) {
        let policy = text(&manifest, "ilm_policy");
        if policy.is_empty() {
            continue;
        }
        let path = manifest_path(&ds);
        let line = manifest.get("ilm_policy").map_or(0, |n| n.line);
        let prefix = format!("{}-{}.{}-", text(&manifest, "type"), pkg.name, ds);
        let Some(name) = policy.strip_prefix(&prefix) else {
            problems.push(Problem::at(
                &path,
                line,
                format!("field ilm_policy must start with {prefix:?}, found \"{policy}\""),
            ));
            continue;
        };
        let ilm_file = format!("data_stream/{ds}/elasticsearch/ilm/{name}.json");
        if !pkg.exists(&ilm_file) && !pkg.exists(&format!("{ilm_file}.link")) {
            problems.push(Problem::at(
                &path,
                line,
                format!(
                    "field ilm_policy: ILM policy {policy:?} not found in package, expected definition in \"{ilm_file}\""
                ),
            ));
        }
    }
    problems
}

/// Rule 16, `ValidateRoutingRulesAndDataset`: a data stream with routing rules sets
/// `dataset` in its manifest.
pub fn routing_rules_and_dataset(pkg: &Package<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (ds, manifest) in data_stream_manifests(pkg) {
        let rules_path = format!("data_stream/{ds}/routing_rules.yml");
        if !has_routing_rules(pkg, &rules_path) || !text(&manifest, "dataset").is_empty() {
            continue;
        }
        problems.push(Problem::file(
            rules_path,
            format!(
                "routing rules defined in data stream {ds:?} but dataset field is missing: dataset field is required in manifest for data stream {ds:?}"
            ),
        ));
    }
    problems
}

/// Whether `routing_rules.yml` holds at least one entry (Go reads `$[*]`).
fn has_routing_rules(pkg: &Package<'_>, path: &str) -> bool {
    let Some(doc) = super::model::read_yaml_following_link(pkg, path)
        .or_else(|| super::model::read_yaml_following_link(pkg, &format!("{path}.link")))
    else {
        return false;
    };
    match &doc.value {
        Value::Seq(items) => !items.is_empty(),
        Value::Map(entries) => !entries.is_empty(),
        _ => false,
    }
}

/// Data streams whose manifest lists categories, by name (sorted, for a stable
/// order where Go walks a map).
fn data_stream_categories(pkg: &Package<'_>) -> BTreeMap<String, Vec<String>> {
    data_stream_manifests(pkg)
        .into_iter()
        .filter_map(|(ds, manifest)| {
            let cats = strings_at(&manifest, "categories")?;
            (!cats.is_empty()).then_some((ds, cats))
        })
        .collect()
}

/// Go's `%v` of a string slice: `[a b]`.
fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// Rule 33, `ValidatePolicyTemplateDatastreamCategories`: a data stream that lists
/// categories includes all categories of every policy template that names it.
pub fn policy_template_data_stream_categories(pkg: &Package<'_>) -> Vec<Problem> {
    let Some(Value::Seq(templates)) = pkg.manifest.get("policy_templates").map(|n| &n.value) else {
        return Vec::new();
    };
    let ds_categories = data_stream_categories(pkg);
    let mut problems = Vec::new();
    for template in templates {
        let categories = strings_at(template, "categories").unwrap_or_default();
        let data_streams = strings_at(template, "data_streams").unwrap_or_default();
        if categories.is_empty() || data_streams.is_empty() {
            continue;
        }
        let name = text(template, "name");
        for ds in &data_streams {
            let Some(ds_cats) = ds_categories.get(ds) else {
                continue;
            };
            let mut missing: Vec<String> = categories
                .iter()
                .filter(|c| !ds_cats.contains(c))
                .cloned()
                .collect();
            if missing.is_empty() {
                continue;
            }
            missing.sort();
            problems.push(Problem::file(
                "manifest.yml",
                format!(
                    "data stream {ds:?} manifest categories {} are missing policy template {name:?} categories {} (defined in \"{}\")",
                    go_list(ds_cats),
                    go_list(&missing),
                    manifest_path(ds)
                ),
            ));
        }
    }
    problems
}

/// Rule 34, `ValidateDatastreamPackageCategories`: data stream categories are known
/// to the registry, and the package's `categories` include their parent categories
/// (a top-level category is its own parent). Go downloads the registry's
/// `categories.yml`; we use the copy the registry crate embeds.
pub fn data_stream_package_categories(pkg: &Package<'_>) -> Vec<Problem> {
    let ds_categories = data_stream_categories(pkg);
    if ds_categories.is_empty() {
        return Vec::new();
    }
    let package_categories = strings_at(&pkg.manifest, "categories").unwrap_or_default();
    let mut problems = Vec::new();
    for (ds, cats) in &ds_categories {
        let mut missing: Vec<String> = Vec::new();
        for cat in cats {
            // Go also files an unknown category under an empty parent and then reports
            // that empty parent as missing; the "unrecognized" problem says it better.
            let Some(parent) = parent_category(cat) else {
                problems.push(Problem::file(
                    "manifest.yml",
                    format!(
                        "data stream {ds:?} has unrecognized category {cat:?} (defined in \"{}\")",
                        manifest_path(ds)
                    ),
                ));
                continue;
            };
            if !package_categories.contains(&parent) && !missing.contains(&parent) {
                missing.push(parent);
            }
        }
        if missing.is_empty() {
            continue;
        }
        missing.sort();
        problems.push(Problem::file(
            "manifest.yml",
            format!(
                "package manifest categories {} are missing parent categories {} from data stream {ds:?} (defined in \"{}\")",
                go_list(&package_categories),
                go_list(&missing),
                manifest_path(ds)
            ),
        ));
    }
    problems
}

/// The top-level category of `id` (itself for a top-level one); `None` if unknown.
fn parent_category(id: &str) -> Option<String> {
    let cat = categories::category(id)?;
    Some(
        cat.parent
            .as_ref()
            .map_or_else(|| cat.id.clone(), |(parent, _)| parent.clone()),
    )
}

/// Rule 44, `ValidateNoEmbeddedEcsInDynamicTemplates` (source mode only): no
/// `elasticsearch.index_template.mappings.dynamic_templates` entry whose key starts
/// with `_embedded_ecs`; elastic-package adds those at build time.
pub fn no_embedded_ecs_in_dynamic_templates(pkg: &Package<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (ds, manifest) in data_stream_manifests(pkg) {
        let templates = manifest
            .get("elasticsearch")
            .and_then(|n| n.get("index_template"))
            .and_then(|n| n.get("mappings"))
            .and_then(|n| n.get("dynamic_templates"));
        let Some(Value::Seq(entries)) = templates.map(|n| &n.value) else {
            continue;
        };
        for entry in entries {
            let Value::Map(keys) = &entry.value else {
                continue;
            };
            for (key, node) in keys {
                if key.starts_with("_embedded_ecs") {
                    problems.push(Problem::at(
                        manifest_path(&ds),
                        node.line,
                        format!(
                            "dynamic template {key:?} starts with \"_embedded_ecs\"; this key is auto-injected at build time and must not appear in source packages"
                        ),
                    ));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_of_categories() {
        assert_eq!(parent_category("security").as_deref(), Some("security"));
        assert_eq!(parent_category("web").as_deref(), Some("observability"));
        assert_eq!(parent_category("no_such_category"), None);
    }

    #[test]
    fn go_list_format() {
        assert_eq!(go_list(&["a".into(), "b".into()]), "[a b]");
        assert_eq!(go_list(&[]), "[]");
    }
}
