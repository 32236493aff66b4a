//! Applying storage index revisions to a catalog (storage-and-publishing.md §3.4):
//! a catalog updated delta by delta must answer exactly as one built from scratch
//! with the resulting package list.

mod common;

use std::sync::Arc;

use common::{package, package_described};
use epr_index::query::{Endpoint, parse_filter, parse_pairs};
use epr_index::search::{count_categories, render_categories, render_search, search};
use epr_index::{Catalog, Entry, FullDocument, Indexer, Listed, STORAGE_INDEXER, StorageDelta};
use epr_package::Package;
use epr_package::json::Json;

/// The full document of an entry listed with it.
fn ready_text(entry: &Entry) -> String {
    match &entry.full {
        FullDocument::Ready(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        FullDocument::Stored(_) | FullDocument::FromFiles => {
            panic!("listed with its full document")
        }
    }
}

/// Packages listed with their full documents.
fn listed(packages: &[Arc<Package>]) -> Vec<Listed> {
    packages.iter().cloned().map(Listed::local).collect()
}

const NAMES: [&str; 3] = ["alpha", "bravo", "charlie"];
/// `1.2.0+build7` equals `1.2.0` as a version: list order breaks their ties.
const VERSIONS: [&str; 6] = [
    "0.9.0",
    "1.0.0",
    "1.1.0-beta1",
    "1.2.0",
    "1.2.0+build7",
    "2.0.0",
];
const CATEGORIES: [&str; 3] = ["security", "observability", "network"];

const SEARCHES: [&str; 11] = [
    "all=true",
    "",
    "prerelease=true",
    "all=true&prerelease=true",
    "category=security",
    "category=network&prerelease=true",
    "experimental=true",
    "experimental=true&all=true",
    "kibana.version=8.12.0",
    "kibana.version=7.17.0&all=true&prerelease=true",
    "package=alpha&all=true&prerelease=true",
];
const CATEGORY_QUERIES: [&str; 3] = [
    "",
    "prerelease=true",
    "include_policy_templates=true&prerelease=true",
];

/// A small deterministic generator (splitmix64): the same seed, the same deltas.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A package whose fields vary with the generator: categories, Kibana
/// condition, deprecation, a policy template with its own category.
fn random_package(rng: &mut Rng, name: &str, version: &str, generation: usize) -> Arc<Package> {
    let mut extra = format!("categories:\n  - {}\n", rng.pick(&CATEGORIES));
    if rng.one_in(3) {
        extra.push_str(&format!(
            "conditions:\n  kibana:\n    version: \"{}\"\n",
            rng.pick(&["^7.0.0", "^8.0.0"])
        ));
    }
    if rng.one_in(3) {
        extra.push_str(&format!(
            "deprecated:\n  since: {version}\n  description: gone in generation {generation}\n"
        ));
    }
    if rng.one_in(3) {
        extra.push_str(&format!(
            "policy_templates:\n  - name: logs\n    title: Logs\n    description: Collect logs\n    categories:\n      - {}\n",
            rng.pick(&CATEGORIES)
        ));
    }
    let description = format!("{name} {version} generation {generation}");
    package_described(name, version, &description, &extra)
}

/// The upstream's list operations on a delta (§3.4), applied to a plain list:
/// the reference the catalog must agree with.
fn apply_to_list(list: &mut Vec<Arc<Package>>, delta: &StorageDelta) {
    let position = |list: &[Arc<Package>], p: &Package| {
        list.iter()
            .position(|q| q.name == p.name && q.version == p.version)
    };
    for (name, version) in &delta.removed {
        list.retain(|p| !(p.name == *name && p.version == *version));
    }
    for p in delta.updated.iter().map(|l| &l.package) {
        match position(list, p) {
            Some(i) => list[i] = p.clone(),
            None => list.push(p.clone()),
        }
    }
    for p in delta.added.iter().map(|l| &l.package) {
        if position(list, p).is_none() {
            list.push(p.clone());
        }
    }
}

fn random_delta(rng: &mut Rng, listed: &[Arc<Package>], generation: usize) -> StorageDelta {
    let mut delta = StorageDelta::default();
    for _ in 0..rng.below(3) {
        let (name, version) = pick_version(rng, listed);
        delta.removed.push((name, version));
    }
    for _ in 0..rng.below(3) {
        let (name, version) = pick_version(rng, listed);
        delta
            .updated
            .push(random_package(rng, &name, &version, generation).into());
    }
    for _ in 0..rng.below(3) {
        let (name, version) = (rng.pick(&NAMES), rng.pick(&VERSIONS));
        delta
            .added
            .push(random_package(rng, name, version, generation).into());
    }
    delta
}

/// Mostly a listed version, sometimes any (which may not be listed).
fn pick_version(rng: &mut Rng, listed: &[Arc<Package>]) -> (String, String) {
    if !listed.is_empty() && !rng.one_in(4) {
        let p = &listed[rng.below(listed.len())];
        return (p.name.clone(), p.version.clone());
    }
    (rng.pick(&NAMES).into(), rng.pick(&VERSIONS).into())
}

/// The zip and folder indexers beside storage: a zip copy of a version storage
/// may list too, and a deprecation that must stay in its own indexer.
fn file_indexers() -> Vec<Indexer> {
    let zip = Indexer::build(
        "zip",
        vec![
            package_described(
                "alpha",
                "1.0.0",
                "the zip copy",
                "categories:\n  - security\n",
            ),
            package(
                "bravo",
                "2.0.0",
                "deprecated:\n  since: 2.0.0\n  description: zip only\n",
            ),
        ],
    );
    let dir = Indexer::build(
        "dir",
        vec![
            package("charlie", "1.0.0", "categories:\n  - network\n"),
            package_described("alpha", "1.0.0", "the folder copy", ""),
            package("alpha", "0.9.0", ""),
        ],
    );
    vec![zip, dir]
}

fn from_scratch(storage: &[Arc<Package>]) -> Catalog {
    let mut indexers = vec![Indexer::build(STORAGE_INDEXER, storage.to_vec())];
    indexers.extend(file_indexers());
    Catalog::new(indexers)
}

/// Everything a client can see, labelled so a failure names the query.
fn observe(catalog: &Catalog) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    for q in SEARCHES {
        let f = parse_filter(&parse_pairs(q), Endpoint::Search, true).unwrap();
        let body = match search(catalog, &f, &mut |_, _| {}) {
            Ok(hits) => render_search(&hits),
            Err(e) => e.to_string(),
        };
        seen.push((format!("/search?{q}"), body));
    }
    for q in CATEGORY_QUERIES {
        let f = parse_filter(&parse_pairs(q), Endpoint::Categories, true).unwrap();
        let body = render_categories(&count_categories(catalog, &f, &mut |_, _| {}).unwrap());
        seen.push((format!("/categories?{q}"), body));
    }
    for name in NAMES {
        for version in VERSIONS {
            let body = catalog.find(name, version).map(|e| {
                let full = ready_text(e);
                format!("{full}\n{}", e.search_text())
            });
            seen.push((format!("/package/{name}/{version}/"), format!("{body:?}")));
        }
    }
    seen
}

fn storage_order(catalog: &Catalog) -> Vec<(String, String)> {
    let storage = catalog.storage().expect("a storage indexer");
    storage
        .entries
        .iter()
        .map(|e| (e.package.name.clone(), e.package.version.clone()))
        .collect()
}

/// §5.11 restated on the plain list: the notice of the highest deprecated
/// version of `name`, the first listed among equal versions.
fn expected_notice<'a>(list: &'a [Arc<Package>], name: &str) -> Option<&'a Json> {
    let mut best: Option<&Package> = None;
    for p in list
        .iter()
        .filter(|p| p.name == name && p.deprecated.is_some())
    {
        if best.is_none_or(|b| p.semver > b.semver) {
            best = Some(p);
        }
    }
    best.and_then(|p| p.deprecated.as_ref())
}

fn assert_same_answers(updated: &Catalog, list: &[Arc<Package>], step: usize) {
    let listed: Vec<(String, String)> = list
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert_eq!(
        storage_order(updated),
        listed,
        "list order after step {step}"
    );
    for e in &updated.storage().unwrap().entries {
        let (name, version) = (&e.package.name, &e.package.version);
        let want = expected_notice(list, name);
        assert_eq!(
            e.deprecated.as_ref(),
            want,
            "notice of {name}-{version} after step {step}"
        );
    }
    let expected = from_scratch(list);
    for ((what, got), (_, want)) in observe(updated).into_iter().zip(observe(&expected)) {
        assert_eq!(got, want, "{what} after step {step}");
    }
    assert_eq!(updated.len(), expected.len(), "size after step {step}");
}

fn run_random_deltas(seed: u64, start_with_storage: bool) {
    let mut rng = Rng(seed);
    let mut list: Vec<Arc<Package>> = Vec::new();
    let mut catalog = Catalog::new(file_indexers());
    if start_with_storage {
        for _ in 0..6 {
            let (name, version) = (rng.pick(&NAMES), rng.pick(&VERSIONS));
            apply_to_list(
                &mut list,
                &StorageDelta {
                    added: vec![random_package(&mut rng, name, version, 0).into()],
                    ..StorageDelta::default()
                },
            );
        }
        catalog = catalog.with_storage(listed(&list));
    }
    for step in 1..=120 {
        let delta = random_delta(&mut rng, &list, step);
        apply_to_list(&mut list, &delta);
        catalog = catalog.with_storage_delta(delta);
        assert_same_answers(&catalog, &list, step);
    }
}

#[test]
fn random_deltas_answer_as_a_catalog_built_from_scratch() {
    for seed in [1, 2, 3, 4, 5] {
        run_random_deltas(seed, true);
    }
}

#[test]
fn random_deltas_on_a_catalog_without_storage() {
    for seed in [11, 12] {
        run_random_deltas(seed, false);
    }
}

#[test]
fn storage_wins_over_zip_while_it_lists_the_version() {
    let catalog = Catalog::new(file_indexers());
    let description = |c: &Catalog| {
        let full = ready_text(c.find("alpha", "1.0.0").unwrap());
        ["the storage copy", "the zip copy", "the folder copy"]
            .into_iter()
            .find(|d| full.contains(d))
            .unwrap()
    };
    assert_eq!(description(&catalog), "the zip copy");

    let with_storage = catalog.with_storage_delta(StorageDelta {
        added: vec![package_described("alpha", "1.0.0", "the storage copy", "").into()],
        ..StorageDelta::default()
    });
    assert_eq!(with_storage.indexers[0].name, STORAGE_INDEXER);
    assert_eq!(description(&with_storage), "the storage copy");
    assert_eq!(
        description(&catalog),
        "the zip copy",
        "the old catalog is untouched"
    );

    let removed = with_storage.with_storage_delta(StorageDelta {
        removed: vec![("alpha".into(), "1.0.0".into())],
        ..StorageDelta::default()
    });
    assert_eq!(description(&removed), "the zip copy");
    assert_eq!(description(&with_storage), "the storage copy");
}

#[test]
fn an_update_keeps_its_place_and_other_names_keep_their_entries() {
    let catalog = Catalog::default().with_storage(listed(&[
        package("alpha", "1.0.0", ""),
        package("bravo", "1.0.0", ""),
        package("alpha", "2.0.0", ""),
    ]));
    let updated = catalog.with_storage_delta(StorageDelta {
        updated: vec![package_described("alpha", "1.0.0", "new words", "").into()],
        added: vec![package("charlie", "1.0.0", "").into()],
        ..StorageDelta::default()
    });
    let order: Vec<String> = storage_order(&updated)
        .into_iter()
        .map(|(n, v)| format!("{n}-{v}"))
        .collect();
    assert_eq!(
        order,
        ["alpha-1.0.0", "bravo-1.0.0", "alpha-2.0.0", "charlie-1.0.0"]
    );
    let full = ready_text(updated.find("alpha", "1.0.0").unwrap());
    assert!(full.contains("new words"));
    for (name, version) in [("bravo", "1.0.0"), ("alpha", "2.0.0")] {
        assert!(
            std::ptr::eq(
                catalog.find(name, version).unwrap(),
                updated.find(name, version).unwrap()
            ),
            "{name}-{version} was not rendered again"
        );
    }
}

#[test]
fn deprecation_follows_the_highest_deprecated_version_listed() {
    let deprecated =
        |since: &str| format!("deprecated:\n  since: {since}\n  description: use gamma\n");
    let notice = |c: &Catalog, version: &str| {
        c.find("alpha", version)
            .unwrap()
            .deprecated
            .as_ref()
            .map(|d| d.to_document())
    };
    let catalog = Catalog::default().with_storage(listed(&[
        package("alpha", "1.0.0", ""),
        package("alpha", "2.0.0", &deprecated("2.0.0")),
    ]));
    assert!(notice(&catalog, "1.0.0").unwrap().contains("2.0.0"));

    let older = catalog.with_storage_delta(StorageDelta {
        added: vec![package("alpha", "0.9.0", &deprecated("0.9.0")).into()],
        ..StorageDelta::default()
    });
    assert!(
        notice(&older, "0.9.0").unwrap().contains("2.0.0"),
        "the highest wins"
    );

    let removed = older.with_storage_delta(StorageDelta {
        removed: vec![("alpha".into(), "2.0.0".into())],
        ..StorageDelta::default()
    });
    assert!(notice(&removed, "1.0.0").unwrap().contains("0.9.0"));

    let none = removed.with_storage_delta(StorageDelta {
        updated: vec![package("alpha", "0.9.0", "").into()],
        ..StorageDelta::default()
    });
    assert_eq!(notice(&none, "1.0.0"), None);
    assert_eq!(notice(&none, "0.9.0"), None);
}
