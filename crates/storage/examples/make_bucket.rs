//! Writes a large Package Storage v2 bucket index for benchmarks
//! (scripts/bench_storage.py, docs/PERFORMANCE.md).
//!
//! ```sh
//! cargo run --release -p epr-storage --example make_bucket -- \
//!     CORPUS_DIR OUT_DIR N [--exclude NAME[,NAME...]]
//! ```
//!
//! Every `*.zip` of `CORPUS_DIR` is loaded as the registry loads a zip (validation off),
//! and its index manifest ([`epr_package::Package::index_manifest`]) is the template of
//! about `N / templates` synthetic versions: the template `{name}` at version
//! `M.m.p[-pre]` gives versions `M.m.(p+1+k)[-pre]`, k = 0, 1, ..., so no synthetic
//! version is the real one (the real package can still be published into the bucket).
//! The version is rewritten in the `version` field and in every `{name}/{version}`
//! and `{name}-{version}` of the text (`download`, `path`, icons, screenshots,
//! readme, `signature_path`, which is added as the publisher's manifests have it).
//! Each synthetic entry is decoded again as a registry decodes it, so the index
//! loads. Packages named by `--exclude` are left out: publishing them into the
//! bucket adds a new package rather than a new version.
//!
//! Written to `OUT_DIR` (a `file://` bucket root): `v2/metadata/cursor.json` and
//! `v2/metadata/{cursor}/search-index-all.json`, with the crate's own writers. No
//! artifacts (zips, signatures, static files) are written: a registry reads only
//! the index to build its catalog, and a publisher only the index to add to it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use epr_index::storage_index::{IndexEntry, write_search_index_all};
use epr_package::fs::{PackageFs, ZipFs};
use epr_package::index_entry::from_index_manifest_bytes;
use epr_package::{LoadOptions, Location, Package};
use epr_storage::{cursor, layout};
use rayon::prelude::*;
use serde_json::Value;

const USAGE: &str = "usage: make_bucket CORPUS_DIR OUT_DIR N [--exclude NAME[,NAME...]]";

struct Args {
    corpus: PathBuf,
    out: PathBuf,
    versions: usize,
    exclude: Vec<String>,
}

fn args() -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut exclude = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--exclude" => {
                let v = it.next().ok_or("--exclude needs a value")?;
                exclude.extend(v.split(',').filter(|s| !s.is_empty()).map(String::from));
            }
            "-h" | "--help" => return Err(USAGE.into()),
            _ => positional.push(a),
        }
    }
    let [corpus, out, n] = <[String; 3]>::try_from(positional).map_err(|_| USAGE.to_string())?;
    let versions = n
        .parse()
        .map_err(|_| format!("N must be a number, found {n:?}"))?;
    Ok(Args {
        corpus: corpus.into(),
        out: out.into(),
        versions,
        exclude,
    })
}

/// A corpus package as the template of synthetic versions.
struct Template {
    name: String,
    version: String,
    /// The index manifest's JSON text.
    text: String,
}

fn load_template(zip: &Path) -> Result<Template, String> {
    let fs: Arc<dyn PackageFs> = match ZipFs::open(zip) {
        Ok(Some(fs)) => Arc::new(fs),
        Ok(None) => return Err("no manifest.yml".into()),
        Err(e) => return Err(e.to_string()),
    };
    let options = LoadOptions {
        validate: false,
        require_signature: false,
    };
    let package = epr_package::package::load(Location::Zip(zip.to_path_buf()), fs, &options)
        .map_err(|e| e.to_string())?;
    let entry = IndexEntry::from_package(&package).map_err(|e| e.to_string())?;
    Ok(Template {
        name: package.name,
        version: package.version,
        text: String::from_utf8_lossy(entry.manifest_json()).into_owned(),
    })
}

/// The `k`-th synthetic version after `version` (`M.m.p[-pre][+build]`).
fn synthetic_version(version: &str, k: usize) -> Option<String> {
    let cut = version.find(['-', '+']).unwrap_or(version.len());
    let (core, suffix) = version.split_at(cut);
    let mut parts = core.split('.');
    let (major, minor, patch) = (parts.next()?, parts.next()?, parts.next()?);
    let patch: u64 = patch.parse().ok()?;
    Some(format!("{major}.{minor}.{}{suffix}", patch + 1 + k as u64))
}

/// The template's manifest at version `version`, decoded as a registry decodes it.
fn synthetic_entry(t: &Template, version: &str) -> Result<IndexEntry, String> {
    let text = t
        .text
        .replace(
            &format!("{}/{}", t.name, t.version),
            &format!("{}/{version}", t.name),
        )
        .replace(
            &format!("{}-{}", t.name, t.version),
            &format!("{}-{version}", t.name),
        );
    let mut value: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let Value::Object(map) = &mut value else {
        return Err("the manifest is not an object".into());
    };
    map.insert("version".into(), Value::String(version.into()));
    map.insert(
        "signature_path".into(),
        Value::String(format!("/epr/{0}/{0}-{version}.zip.sig", t.name)),
    );
    let bytes = serde_json::to_vec(&value).map_err(|e| e.to_string())?;
    let package: Package = from_index_manifest_bytes(&bytes).map_err(|e| e.to_string())?;
    if package.version != version {
        return Err(format!("version {} after rewriting", package.version));
    }
    IndexEntry::from_package(&package).map_err(|e| e.to_string())
}

fn main() {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let mut zips: Vec<PathBuf> = match std::fs::read_dir(&args.corpus) {
        Ok(dir) => dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "zip"))
            .collect(),
        Err(e) => {
            eprintln!("{}: {e}", args.corpus.display());
            std::process::exit(2);
        }
    };
    zips.sort();
    let loaded: Vec<(PathBuf, Result<Template, String>)> = zips
        .par_iter()
        .map(|z| (z.clone(), load_template(z)))
        .collect();
    let mut templates = Vec::new();
    for (zip, result) in loaded {
        match result {
            Ok(t) if args.exclude.contains(&t.name) => {}
            Ok(t) if synthetic_version(&t.version, 0).is_none() => {
                eprintln!("{}: version {:?} skipped", zip.display(), t.version);
            }
            Ok(t) => templates.push(t),
            Err(e) => eprintln!("{}: skipped: {e}", zip.display()),
        }
    }
    if templates.is_empty() {
        eprintln!("no usable package in {}", args.corpus.display());
        std::process::exit(1);
    }

    // Version i is copy i / T of template i % T: names interleave as in a real index.
    let count = templates.len();
    let entries: Result<Vec<IndexEntry>, String> = (0..args.versions)
        .into_par_iter()
        .map(|i| {
            let t = &templates[i % count];
            let version = synthetic_version(&t.version, i / count).expect("checked above");
            synthetic_entry(t, &version).map_err(|e| format!("{}-{version}: {e}", t.name))
        })
        .collect();
    let entries = match entries {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };

    let cursor = cursor::next(None, cursor::now_millis());
    let index = write_search_index_all(&entries);
    let write = |key: &str, bytes: &[u8]| {
        let path = args.out.join(key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the bucket folders");
        }
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    };
    write(&layout::search_index_all(&cursor), &index);
    write(layout::CURSOR, &cursor::render(&cursor));
    println!(
        "{}: {} versions of {count} packages, revision {cursor}, search-index-all.json {} bytes ({:.1?})",
        args.out.display(),
        entries.len(),
        index.len(),
        started.elapsed()
    );
}
