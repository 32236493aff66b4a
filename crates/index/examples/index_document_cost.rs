//! What one publish costs in the index part: read `search-index-all.json`, parse it
//! as an [`IndexDocument`], add one entry, write it again (as the parts a publisher
//! uploads, and as one buffer). Median of several runs,
//! on an index file given on the command line (scripts/bench_storage.py makes them).
//!
//! ```sh
//! cargo run --release -p epr-index --example index_document_cost -- INDEX.json [RUNS]
//! ```

use std::time::{Duration, Instant};

use epr_index::storage_index::IndexDocument;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: index_document_cost INDEX.json [RUNS]");
    let runs: usize = args.next().map_or(5, |n| n.parse().expect("RUNS"));
    let (mut read, mut parse, mut push) = (vec![], vec![], vec![]);
    let (mut parts, mut write) = (vec![], vec![]);
    for _ in 0..runs {
        let t = Instant::now();
        let bytes = bytes::Bytes::from(std::fs::read(&path).expect("read"));
        read.push(t.elapsed());
        let t = Instant::now();
        let mut doc = IndexDocument::parse(bytes.clone()).expect("parse");
        parse.push(t.elapsed());
        let t = Instant::now();
        let mut entry = doc.entries()[0].clone();
        doc.remove(entry.name(), entry.version());
        entry = entry.clone();
        doc.push(entry);
        push.push(t.elapsed());
        let t = Instant::now();
        let out = doc.to_parts();
        parts.push(t.elapsed());
        assert_eq!(out.iter().map(|p| p.len()).sum::<usize>(), bytes.len());
        drop(out);
        let t = Instant::now();
        let out = doc.to_bytes();
        write.push(t.elapsed());
        assert_eq!(out.len(), bytes.len());
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let size = std::fs::metadata(&path).expect("size").len();
    println!("{path}: {:.1} MB", size as f64 / 1e6);
    let all = [
        ("read", read),
        ("parse", parse),
        ("remove+push", push),
        ("to_parts", parts),
        ("to_bytes", write),
    ];
    for (name, v) in all {
        println!("{name:>12}: {:?}", median(v));
    }
}
