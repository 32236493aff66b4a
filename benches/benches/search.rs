//! `/search` and `/categories` over a catalog of the 185 real packages, through
//! the path the HTTP handlers take: split the query string (`parse_pairs`), parse
//! the filter (`parse_filter`), filter the catalog, render the body. These run on
//! every request Kibana makes to list integrations, so they are the registry's
//! hottest paths.
//!
//! The queries are the ones Kibana sends: the integrations list of a Kibana 8.5
//! (with a package-spec range, as newer Kibanas send, and without), one package
//! with prereleases, everything (`all=true`), and the category counts of the same
//! Kibana. Every corpus package has `format_version: 1.0.0`, so `spec.min=2.3`
//! matches none of them: that query measures the filter alone, with an empty body;
//! the one without the range lists 158 packages.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use epr_benches::{corpus_dir, corpus_zips, load_all};
use epr_index::query::{Endpoint, parse_filter, parse_pairs};
use epr_index::search::{count_categories, render_categories, render_search, search};
use epr_index::{Catalog, Indexer};

const SEARCHES: [&str; 4] = [
    "kibana.version=8.5.0&prerelease=false&spec.min=2.3&spec.max=3.5",
    "kibana.version=8.5.0&prerelease=false",
    "package=aws&prerelease=true",
    "all=true",
];
const CATEGORIES: [&str; 1] = ["kibana.version=8.5.0&prerelease=false"];

/// `handlers::search_packages` without the HTTP response.
fn search_body(catalog: &Catalog, raw_query: &str) -> String {
    let filter =
        parse_filter(&parse_pairs(raw_query), Endpoint::Search, false).expect("a valid query");
    render_search(&search(catalog, &filter, &mut |_, _| {}).expect("a search that runs"))
}

/// `handlers::list_categories` without the HTTP response.
fn categories_body(catalog: &Catalog, raw_query: &str) -> String {
    let filter =
        parse_filter(&parse_pairs(raw_query), Endpoint::Categories, false).expect("a valid query");
    render_categories(
        &count_categories(catalog, &filter, &mut |_, _| {}).expect("a count that runs"),
    )
}

fn queries(c: &mut Criterion) {
    let Some(dir) = corpus_dir() else { return };
    let catalog = Catalog::new(vec![Indexer::build("zip", load_all(&corpus_zips(&dir)))]);

    let mut group = c.benchmark_group("search");
    for query in SEARCHES {
        group.bench_with_input(BenchmarkId::from_parameter(query), query, |b, query| {
            b.iter(|| search_body(&catalog, query))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("categories");
    for query in CATEGORIES {
        group.bench_with_input(BenchmarkId::from_parameter(query), query, |b, query| {
            b.iter(|| categories_body(&catalog, query))
        });
    }
    group.finish();
}

criterion_group!(benches, queries);
criterion_main!(benches);
