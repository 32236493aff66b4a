//! `/search` and `/categories` over a catalog (spec/api.md §5).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use epr_package::Package;
use epr_package::categories::{self, has_category};
use epr_package::constraint::Constraints;
use epr_package::package::TemplateInfo;

use crate::catalog::{Catalog, Entry, OnIndexer};
use crate::query::{Discovery, Filter};

/// A search result: an entry, and the policy templates left when a category
/// filter matched through templates only (§5.5).
pub struct Hit<'a> {
    pub entry: &'a Entry,
    pub templates: Option<Vec<&'a TemplateInfo>>,
}

/// The filter could not be evaluated (only a package without `format_version`,
/// loaded with validation disabled, and a `spec.*` filter can cause this).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fetching package failed: {0}")]
pub struct SearchError(pub String);

struct SpecRange(Option<Constraints>);

impl SpecRange {
    /// The upstream builds `>=min,<=max` and checks the package's MAJOR.MINOR.0.
    fn new(f: &Filter) -> SpecRange {
        let mut parts = Vec::new();
        if let Some(min) = &f.spec_min {
            parts.push(format!(">={min}"));
        }
        if let Some(max) = &f.spec_max {
            parts.push(format!("<={max}"));
        }
        SpecRange(
            (!parts.is_empty())
                .then(|| Constraints::parse(&parts.join(",")).ok())
                .flatten(),
        )
    }

    fn check(&self, p: &Package, f: &Filter) -> Result<bool, SearchError> {
        let Some(c) = &self.0 else { return Ok(true) };
        match &p.spec_version {
            Some(v) => Ok(c.check(v)),
            None => {
                let show = |v: &Option<epr_package::version::Version>| {
                    v.as_ref().map_or("<nil>".to_string(), |v| v.to_string())
                };
                Err(SearchError(format!(
                    "can't compare spec version for {} ({}-{}): package spec version is not set",
                    p.name,
                    show(&f.spec_min),
                    show(&f.spec_max)
                )))
            }
        }
    }
}

fn passes_common(p: &Package, f: &Filter) -> bool {
    if let (Some(v), Some(c)) = (&f.kibana, &p.kibana)
        && !c.check(v)
    {
        return false;
    }
    if f.package.as_ref().is_some_and(|n| *n != p.name) {
        return false;
    }
    if f.kind.as_ref().is_some_and(|t| *t != p.kind) {
        return false;
    }
    true
}

fn passes_normal(p: &Package, f: &Filter, spec: &SpecRange) -> Result<bool, SearchError> {
    if !f.prerelease && (p.is_experimental() || p.is_prerelease()) {
        return Ok(false);
    }
    if !passes_common(p, f) {
        return Ok(false);
    }
    if let (Some(v), Some(c)) = (&f.agent, &p.agent)
        && !c.check(v)
    {
        return Ok(false);
    }
    if let (Some(wanted), Some(required)) = (&f.capabilities, &p.capabilities)
        && !required.iter().all(|c| wanted.contains(c))
    {
        return Ok(false);
    }
    for d in &f.discovery {
        let ok = match d {
            Discovery::Fields(names) => {
                !p.discovery_fields.is_empty()
                    && p.discovery_fields.iter().all(|n| names.contains(n))
            }
            Discovery::Datasets(names) => p.discovery_datasets.iter().any(|n| names.contains(n)),
        };
        if !ok {
            return Ok(false);
        }
    }
    spec.check(p, f)
}

/// Keeps the newest version per name; a later one replaces the kept one only
/// when strictly newer. Order: first appearance of each name. Used per indexer on
/// entries and across indexers on hits.
fn newest_per_name<'a, T>(items: Vec<T>, entry: impl Fn(&T) -> &'a Entry) -> Vec<T> {
    let mut index: HashMap<&'a str, usize> = HashMap::new();
    let mut out: Vec<T> = Vec::new();
    for item in items {
        let p = &entry(&item).package;
        match index.get(p.name.as_str()) {
            Some(&i) => {
                if p.semver > entry(&out[i]).package.semver {
                    out[i] = item;
                }
            }
            None => {
                index.insert(&p.name, out.len());
                out.push(item);
            }
        }
    }
    out
}

/// The legacy `experimental=true` selection (§5.4 steps 2-3).
fn legacy_select(entries: Vec<&Entry>, all: bool) -> Vec<&Entry> {
    let legacy_prerelease = |e: &Entry| e.package.is_prerelease() || e.package.semver.major() == 0;
    if all {
        let stable_names: std::collections::HashSet<&str> = entries
            .iter()
            .filter(|e| !legacy_prerelease(e))
            .map(|e| e.package.name.as_str())
            .collect();
        return entries
            .into_iter()
            .filter(|e| !(stable_names.contains(e.package.name.as_str()) && legacy_prerelease(e)))
            .collect();
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<&Entry> = Vec::new();
    for e in entries {
        match index.get(e.package.name.as_str()) {
            Some(&i) => {
                let kept = out[i];
                let better = match (e.package.is_prerelease(), kept.package.is_prerelease()) {
                    (false, true) => true,
                    (true, false) => false,
                    _ => e.package.semver > kept.package.semver,
                };
                if better {
                    out[i] = e;
                }
            }
            None => {
                index.insert(&e.package.name, out.len());
                out.push(e);
            }
        }
    }
    out
}

/// The category filter (§5.5), applied after version selection.
fn by_category<'a>(entry: &'a Entry, category: &str) -> Option<Hit<'a>> {
    let p = &entry.package;
    if has_category(&p.categories, category) {
        return Some(Hit {
            entry,
            templates: None,
        });
    }
    let matches_template = p.templates.iter().any(|t| {
        t.categories
            .as_deref()
            .is_some_and(|c| has_category(c, category))
    });
    if !matches_template {
        return None;
    }
    let exact: Vec<&TemplateInfo> = p
        .templates
        .iter()
        .filter(|t| {
            t.categories
                .as_deref()
                .is_some_and(|c| c.iter().any(|x| x == category))
        })
        .collect();
    Some(Hit {
        entry,
        templates: Some(exact),
    })
}

/// Runs a search; results are sorted by name, then version. `on_indexer` is told
/// how long each indexer's part took.
pub fn search<'a>(
    catalog: &'a Catalog,
    f: &Filter,
    on_indexer: OnIndexer<'_>,
) -> Result<Vec<Hit<'a>>, SearchError> {
    let spec = SpecRange::new(f);
    let mut merged: Vec<Hit<'a>> = Vec::new();
    let mut seen: std::collections::HashSet<(&str, &str)> = std::collections::HashSet::new();
    for indexer in &catalog.indexers {
        let started = Instant::now();
        let mut selected: Vec<&Entry> = Vec::new();
        for e in &indexer.entries {
            if e.yanked {
                continue;
            }
            let ok = if f.experimental {
                passes_common(&e.package, f)
            } else {
                passes_normal(&e.package, f, &spec)?
            };
            if ok {
                selected.push(e);
            }
        }
        let selected = if f.experimental {
            legacy_select(selected, f.all)
        } else if f.all {
            selected
        } else {
            newest_per_name(selected, |e| *e)
        };
        for e in selected {
            let hit = match &f.category {
                Some(c) => by_category(e, c),
                None => Some(Hit {
                    entry: e,
                    templates: None,
                }),
            };
            if let Some(hit) = hit
                && seen.insert((&e.package.name, &e.package.version))
            {
                merged.push(hit);
            }
        }
        on_indexer(&indexer.name, started.elapsed());
    }
    if !f.all {
        merged = newest_per_name(merged, |h| h.entry);
    }
    merged.sort_by(|a, b| {
        let (pa, pb) = (&a.entry.package, &b.entry.package);
        pa.name
            .cmp(&pb.name)
            .then_with(|| pa.semver.cmp(&pb.semver))
    });
    Ok(merged)
}

/// Writes a `/search` body: `[]` (no newline) when empty, else the pretty array.
pub fn render_search(hits: &[Hit<'_>]) -> String {
    if hits.is_empty() {
        return "[]".into();
    }
    let mut out = String::from("[");
    for (i, hit) in hits.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("\n  ");
        let entry = hit.entry;
        let templates = hit.templates.as_deref();
        entry
            .package
            .write_search_entry(&mut out, entry.deprecated.as_ref(), templates);
    }
    out.push_str("\n]\n");
    out
}

/// One line of `/categories`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryCount {
    pub id: String,
    pub title: String,
    pub count: u64,
    pub parent: Option<(String, String)>,
}

/// Counts packages per category (§5.10); `on_indexer` as for [`search`].
pub fn count_categories(
    catalog: &Catalog,
    f: &Filter,
    on_indexer: OnIndexer<'_>,
) -> Result<Vec<CategoryCount>, SearchError> {
    let f = Filter {
        category: None,
        package: None,
        kind: None,
        all: false,
        ..f.clone()
    };
    let hits = search(catalog, &f, on_indexer)?;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for hit in &hits {
        let p = &hit.entry.package;
        for c in &p.categories {
            *counts.entry(c.clone()).or_default() += 1;
        }
        if !f.include_policy_templates {
            continue;
        }
        let mut seen_in_templates: Vec<&str> = Vec::new();
        for t in &p.templates {
            if t.categories.is_none() && p.templates.len() == 1 {
                break;
            }
            for c in &p.categories {
                *counts.entry(c.clone()).or_default() += 1;
            }
            for c in t.categories.as_deref().unwrap_or_default() {
                let count = counts.entry(c.clone()).or_default();
                if !has_category(&p.categories, c) && !seen_in_templates.contains(&c.as_str()) {
                    *count += 1;
                }
                *count += 1;
                seen_in_templates.push(c);
            }
        }
    }
    Ok(counts
        .into_iter()
        .map(|(id, count)| {
            let known = categories::category(&id);
            CategoryCount {
                title: known.map_or_else(|| id.clone(), |c| c.title.clone()),
                parent: known.and_then(|c| c.parent.clone()),
                id,
                count,
            }
        })
        .collect())
}

/// Writes a `/categories` body (`[]\n` when empty).
pub fn render_categories(counts: &[CategoryCount]) -> String {
    use epr_package::decode::ObjBuilder;
    use epr_package::json::Json;
    let items = counts
        .iter()
        .map(|c| {
            ObjBuilder::new()
                .str("id", &c.id)
                .str("title", &c.title)
                .always("count", Json::UInt(c.count))
                .opt("parent_id", c.parent.as_ref().map(|p| Json::str(&p.0)))
                .opt("parent_title", c.parent.as_ref().map(|p| Json::str(&p.1)))
                .build()
        })
        .collect();
    Json::Arr(items).to_document()
}
