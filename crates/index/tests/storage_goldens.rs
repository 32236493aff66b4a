//! Storage packages against the upstream's storage-indexer goldens
//! (shared/conformance/epr/testdata/generated/storage-indexer).
//!
//! The index those goldens were made from is not in the suite, but each
//! `/package/{name}/{version}/` golden is the upstream's re-serialisation of its
//! index entry, and `/search?all=true` (`search-all.json`) holds every entry's
//! search form. So:
//!
//! - every package golden, read as an index manifest, must print back byte for
//!   byte, also after the catalog propagated deprecations;
//! - every element of `search-all.json`, read as an index manifest (its summaries
//!   decode as full policy templates and data streams with fewer keys), must print
//!   its search entry back byte for byte: the whole file is rebuilt and compared;
//! - for each package golden, its search entry must be the one in `search-all.json`.
//!
//! Skipped, with a note, when the shared folder is absent.

use std::collections::HashMap;
use std::future::Future;
use std::ops::Range;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use epr_index::storage_index::{IndexEntry, read_search_index_all, write_search_index_all};
use epr_index::{Entry, FullDocument, Indexer, ManifestSource};
use epr_package::{Package, from_index_manifest};
use serde_json::Value;

/// `EPR_SHARED`, else the `shared/` folder beside this repository.
fn shared_dir() -> Option<PathBuf> {
    epr_testkit::shared_dir(env!("CARGO_MANIFEST_DIR"))
}

struct Suite {
    root: PathBuf,
}

impl Suite {
    fn open(test: &str) -> Option<Suite> {
        let Some(shared) = shared_dir() else {
            eprintln!("note: no shared folder (set EPR_SHARED): {test} skipped");
            return None;
        };
        Some(Suite {
            root: shared.join("conformance/epr"),
        })
    }

    fn goldens(&self) -> PathBuf {
        self.root.join("testdata/generated/storage-indexer")
    }

    fn read(&self, file: &str) -> String {
        let path = self.goldens().join(file);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The goldens of the `storage` group's `/package/{n}/{v}/` cases, by file name.
    fn package_cases(&self) -> Vec<String> {
        let cases = std::fs::read_to_string(self.root.join("cases.tsv")).expect("cases.tsv");
        let prefix = "testdata/generated/storage-indexer/";
        let mut files: Vec<String> = cases
            .lines()
            .filter_map(|line| {
                let cols: Vec<&str> = line.split('\t').collect();
                let (group, url, golden) = (*cols.first()?, *cols.get(1)?, *cols.get(2)?);
                let is_package_info = url.starts_with("/package/") && url.ends_with('/');
                (group == "storage" && is_package_info)
                    .then(|| golden.strip_prefix(prefix).map(str::to_string))
                    .flatten()
            })
            .collect();
        files.dedup();
        files
    }

    /// Every golden that is a package document, referenced by a case or not.
    fn package_documents(&self) -> Vec<String> {
        let mut files: Vec<String> = std::fs::read_dir(self.goldens())
            .expect("storage-indexer goldens")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|f| f.ends_with(".json"))
            .filter(|f| {
                serde_json::from_str::<Value>(&self.read(f))
                    .is_ok_and(|v| v.get("download").is_some() && v.get("assets").is_some())
            })
            .collect();
        files.sort();
        files
    }
}

/// An index file in memory, read by range as a registry reads one in a bucket.
#[derive(Debug)]
struct InMemoryFile(Bytes);

impl ManifestSource for InMemoryFile {
    fn read(
        &self,
        range: Range<u64>,
    ) -> Pin<Box<dyn Future<Output = Result<Bytes, String>> + Send>> {
        let bytes = self.0.slice(range.start as usize..range.end as usize);
        Box::pin(std::future::ready(Ok(bytes)))
    }
}

/// The storage indexer a registry builds from an index of `packages`: the file our
/// writer prints, read back in blocks as summaries with their manifests' places.
fn through_index_file(packages: &[Arc<Package>]) -> Indexer {
    let entries: Vec<IndexEntry> = packages
        .iter()
        .map(|p| IndexEntry::from_package(p).unwrap_or_else(|e| panic!("{e:?}")))
        .collect();
    let file = Bytes::from(write_search_index_all(&entries));
    let source = Arc::new(InMemoryFile(file.clone()));
    Indexer::storage(read_search_index_all(&file[..], source).unwrap_or_else(|e| panic!("{e}")))
}

/// An entry's `/package/` body; a stored one read back from its file and decoded.
fn full_body(entry: &Entry) -> String {
    let bytes = match &entry.full {
        FullDocument::Ready(bytes) => bytes.clone(),
        FullDocument::Stored(manifest) => {
            let mut read = manifest.source.read(manifest.range.clone());
            let Poll::Ready(text) = read.as_mut().poll(&mut Context::from_waker(Waker::noop()))
            else {
                panic!("an in-memory read is ready at once");
            };
            entry
                .full_from_manifest(&text.unwrap())
                .unwrap_or_else(|e| panic!("{e}"))
        }
        FullDocument::FromFiles => {
            epr_index::document_from_files(&entry.package, entry.deprecated.as_ref())
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn parse_package(text: &str, what: &str) -> Package {
    let value: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: {e}"));
    from_index_manifest(&value).unwrap_or_else(|e| panic!("{what}: {e}"))
}

#[test]
fn package_goldens_print_back_byte_for_byte() {
    let Some(suite) = Suite::open("package goldens") else {
        return;
    };
    let files = suite.package_documents();
    assert!(files.len() >= 7, "package goldens: {files:?}");
    for file in &files {
        let golden = suite.read(file);
        let p = parse_package(&golden, file);
        assert_eq!(
            p.full_json(p.deprecated.as_ref()).unwrap().to_document(),
            golden,
            "{file}"
        );
        assert_eq!(p.index_manifest().unwrap().to_document(), golden, "{file}");
    }
    eprintln!("{} package goldens matched: {files:?}", files.len());
}

/// The catalog of the package cases gives each its golden body, also when the
/// deprecation only reaches an older version by propagation (sql 0.4.0 from 0.5.0).
#[test]
fn package_goldens_through_the_catalog() {
    let Some(suite) = Suite::open("package goldens through the catalog") else {
        return;
    };
    let files = suite.package_cases();
    assert_eq!(files.len(), 7, "storage package cases: {files:?}");
    let goldens: Vec<(String, String)> = files.iter().map(|f| (f.clone(), suite.read(f))).collect();
    let as_given: Vec<Arc<Package>> = goldens
        .iter()
        .map(|(f, text)| Arc::new(parse_package(text, f)))
        .collect();
    // Printed when listed (as local packages are), and read back from an index file
    // (as a registry keeps storage packages).
    let check = |packages: &[Arc<Package>], how: &str| {
        let built = Indexer::build("storage", packages.to_vec());
        let read = through_index_file(packages);
        assert_eq!(read.entries.len(), goldens.len());
        for (((file, golden), entry), read) in goldens.iter().zip(&built.entries).zip(&read.entries)
        {
            assert!(matches!(entry.full, FullDocument::Ready(_)));
            assert!(matches!(read.full, FullDocument::Stored(_)));
            assert_eq!(full_body(entry), *golden, "{file} ({how})");
            assert_eq!(
                full_body(read),
                *golden,
                "{file} ({how}, from an index file)"
            );
            assert_eq!(read.search_text(), entry.search_text(), "{file} ({how})");
        }
    };
    check(&as_given, "as given");

    // The index need not repeat a deprecation on older versions: drop `deprecated`
    // from every version below the highest deprecated one of its name.
    let mut newest_deprecated: HashMap<&str, &Package> = HashMap::new();
    for p in as_given.iter().filter(|p| p.deprecated.is_some()) {
        let best = newest_deprecated.entry(&p.name).or_insert(p);
        if p.semver > best.semver {
            *best = p;
        }
    }
    let mut stripped_any = false;
    let stripped: Vec<Arc<Package>> = goldens
        .iter()
        .zip(&as_given)
        .map(
            |((file, text), p)| match newest_deprecated.get(p.name.as_str()) {
                Some(best) if best.semver > p.semver => {
                    stripped_any = true;
                    let mut v: Value = serde_json::from_str(text).unwrap();
                    v.as_object_mut().unwrap().remove("deprecated");
                    Arc::new(from_index_manifest(&v).unwrap_or_else(|e| panic!("{file}: {e}")))
                }
                _ => p.clone(),
            },
        )
        .collect();
    assert!(
        stripped_any,
        "expected an older deprecated version (sql 0.4.0)"
    );
    check(&stripped, "propagated");
}

/// `search-all.json` rebuilt from its own elements, each read as an index manifest.
#[test]
fn search_all_rebuilt_from_its_entries() {
    let Some(suite) = Suite::open("search-all rebuild") else {
        return;
    };
    let golden = suite.read("search-all.json");
    let elements: Vec<Value> = serde_json::from_str(&golden).expect("search-all.json");
    let packages: Vec<Arc<Package>> = elements
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let what = format!("search-all.json[{i}]");
            Arc::new(from_index_manifest(v).unwrap_or_else(|e| panic!("{what}: {e}")))
        })
        .collect();
    for (how, indexer) in [
        ("listed", Indexer::build("storage", packages.clone())),
        ("read from an index file", through_index_file(&packages)),
    ] {
        assert_eq!(
            indexer.entries.len(),
            elements.len(),
            "no duplicates expected"
        );
        assert_rebuilt(&indexer, &golden, how);
    }
    eprintln!(
        "search-all.json rebuilt from its {} entries",
        elements.len()
    );
}

fn assert_rebuilt(indexer: &Indexer, golden: &str, how: &str) {
    let mut rebuilt = String::from("[");
    for (i, entry) in indexer.entries.iter().enumerate() {
        rebuilt.push_str(if i == 0 { "\n  " } else { ",\n  " });
        rebuilt.push_str(&entry.search_text());
    }
    rebuilt.push_str("\n]\n");
    if rebuilt != golden {
        let first_diff = rebuilt
            .lines()
            .zip(golden.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "search-all.json ({how}) differs from line {}: ours {:?}, golden {:?}",
            first_diff + 1,
            rebuilt.lines().nth(first_diff),
            golden.lines().nth(first_diff)
        );
    }
}

/// Each package golden's search entry, with the catalog's deprecation, is exactly
/// the element of `search-all.json` for that version: the summaries of policy
/// templates and data streams derived from the full ones match the upstream's.
#[test]
fn package_goldens_search_entries_are_in_search_all() {
    let Some(suite) = Suite::open("search entries of package goldens") else {
        return;
    };
    let search_all = suite.read("search-all.json");
    let listed: Vec<(String, String)> = serde_json::from_str::<Vec<Value>>(&search_all)
        .expect("search-all.json")
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap_or("").into(),
                v["version"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    let files = suite.package_cases();
    let packages: Vec<Arc<Package>> = files
        .iter()
        .map(|f| Arc::new(parse_package(&suite.read(f), f)))
        .collect();
    let indexer = Indexer::build("storage", packages);
    let mut checked = Vec::new();
    for (file, entry) in files.iter().zip(&indexer.entries) {
        let p = &entry.package;
        // `?all=true` leaves out experimental and prerelease versions.
        if !listed.contains(&(p.name.clone(), p.version.clone())) {
            eprintln!(
                "note: {file}: {}-{} is not in search-all.json",
                p.name, p.version
            );
            continue;
        }
        let element = format!("\n  {}", entry.search_text());
        assert!(
            search_all.contains(&element),
            "{file}: search entry not in search-all.json:\n{element}"
        );
        checked.push(file.as_str());
    }
    assert!(
        checked.len() >= 5,
        "too few goldens in search-all.json: {checked:?}"
    );
    eprintln!("search entries found in search-all.json: {checked:?}");
}
