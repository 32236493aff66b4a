//! Kibana version constraints (`conditions.kibana.version`), parsed and matched.
//! Every package's constraint is parsed once when it is loaded; matching runs for
//! every package on every `/search` and `/categories` with a `kibana.version`
//! (and `spec.min`/`spec.max` build one more constraint per query), so matching
//! is on the request path and parsing on the load path.
//!
//! The constraints are real: the two most common shapes in the corpus and the
//! ones Kibana 8.5-era packages carry. The versions are checked all four at once,
//! covering an accepted, a rejected and a prerelease version.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use epr_package::constraint::Constraints;
use epr_package::version::Version;

const CONSTRAINTS: [&str; 4] = [
    "^8.0.0",
    "^7.16.0 || ^8.0.0",
    "^8.5.0 || ^9.0.0",
    ">=7.16.0 <8.0.0",
];
const VERSIONS: [&str; 4] = ["7.17.3", "8.5.0", "8.6.0-SNAPSHOT", "9.1.0"];

fn constraints(c: &mut Criterion) {
    let mut group = c.benchmark_group("constraint/parse");
    for text in CONSTRAINTS {
        group.bench_with_input(BenchmarkId::from_parameter(text), text, |b, text| {
            b.iter(|| Constraints::parse(black_box(text)).expect("a valid constraint"))
        });
    }
    group.finish();

    let versions: Vec<Version> = VERSIONS
        .iter()
        .map(|v| Version::parse(v).expect("a valid version"))
        .collect();
    let mut group = c.benchmark_group("constraint/check_4_versions");
    for text in CONSTRAINTS {
        let constraint = Constraints::parse(text).expect("a valid constraint");
        group.bench_with_input(
            BenchmarkId::from_parameter(text),
            &constraint,
            |b, constraint| {
                b.iter(|| {
                    black_box(&versions)
                        .iter()
                        .filter(|v| constraint.check(v))
                        .count()
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, constraints);
criterion_main!(benches);
