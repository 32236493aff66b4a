//! `package-registry publish` refusals: each names what was wrong and leaves the
//! bucket byte-for-byte as it was; and the queue worker keeps what it refuses with
//! the reason beside it.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use epr_testkit::free_port;

fn built_fixture(out: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/source/hello_logs");
    epr_spec::build::build(&src, out).unwrap()
}

/// Rewrites a zip entry by entry: `rename` maps names, `edit` may change contents.
fn rewrite_zip(
    from: &Path,
    to: &Path,
    rename: impl Fn(&str) -> String,
    edit: impl Fn(&str, Vec<u8>) -> Vec<u8>,
) {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
    let mut writer = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let name = rename(f.name());
        if f.is_dir() {
            writer.add_directory(name, options).unwrap();
            continue;
        }
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        let bytes = edit(&name, bytes);
        writer.start_file(name, options).unwrap();
        writer.write_all(&bytes).unwrap();
    }
    writer.finish().unwrap();
}

fn replace(bytes: Vec<u8>, from: &str, to: &str) -> Vec<u8> {
    String::from_utf8(bytes)
        .unwrap()
        .replace(from, to)
        .into_bytes()
}

/// Every file of the bucket folder with its bytes, the audit trail
/// (`v2/events/`, which every publish adds to) left out: see [`events`].
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = every_file(dir);
    files.retain(|key, _| !key.starts_with("v2/events/"));
    files
}

/// The audit trail's events, oldest first.
fn events(dir: &Path) -> Vec<serde_json::Value> {
    every_file(dir)
        .into_iter()
        .filter(|(key, _)| key.starts_with("v2/events/"))
        .map(|(_, bytes)| serde_json::from_slice(&bytes).unwrap())
        .collect()
}

fn every_file(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(read) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in read {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let key = path.strip_prefix(root).unwrap().display().to_string();
                out.insert(key, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn publish(bucket: &Path, keyring: &Path, zip: &Path) -> Output {
    bin()
        .args(["publish", "--storage"])
        .arg(format!("file://{}", bucket.display()))
        .arg("--keyring")
        .arg(keyring)
        .arg(zip)
        .output()
        .unwrap()
}

/// Publishes `zip` expecting a refusal whose message contains `reason`, and checks
/// that the bucket did not change.
fn assert_refused(bucket: &Path, keyring: &Path, zip: &Path, reason: &str) {
    let before = snapshot(bucket);
    let trail = events(bucket).len();
    let o = publish(bucket, keyring, zip);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{}: {stderr}", zip.display());
    assert!(stderr.contains(reason), "expected {reason:?} in: {stderr}");
    assert!(
        snapshot(bucket) == before,
        "{}: the refusal changed the bucket",
        zip.display()
    );
    // One event says so.
    let events = events(bucket);
    assert_eq!(events.len(), trail + 1, "{}", zip.display());
    let event = &events[trail];
    assert_eq!(
        (event["action"].as_str(), event["outcome"].as_str()),
        (Some("publish"), Some("refused"))
    );
    assert!(
        event["reason"].as_str().unwrap().contains(reason),
        "{event}"
    );
    assert!(
        event["sha256"].as_str().is_some_and(|h| h.len() == 64),
        "{event}"
    );
}

#[test]
fn refusals_name_the_reason_and_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let bucket = tmp.path().join("bucket");
    let trusted = signer(tmp.path(), "Trusted");
    let stranger = signer(tmp.path(), "Stranger");

    // Something published first, so that "unchanged" covers a real index.
    let good = built_fixture(&tmp.path().join("good"));
    sign_beside(&trusted, &good);
    let o = publish(&bucket, &trusted.keyring, &good);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(snapshot(&bucket).contains_key("v2/metadata/cursor.json"));

    // The fixture at version 1.0.1, so that it does not conflict with the published one.
    let valid = tmp.path().join("hello_logs-1.0.1.zip");
    rewrite_zip(
        &good,
        &valid,
        |n| n.replace("hello_logs-1.0.0/", "hello_logs-1.0.1/"),
        |n, b| match n {
            "hello_logs-1.0.1/manifest.yml" => replace(b, "version: 1.0.0", "version: 1.0.1"),
            "hello_logs-1.0.1/changelog.yml" => replace(b, "\"1.0.0\"", "\"1.0.1\""),
            _ => b,
        },
    );
    // A fresh folder per case, holding `hello_logs-1.0.1.zip`.
    let case = |name: &str| {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("hello_logs-1.0.1.zip")
    };
    let copy_of_valid = |name: &str| {
        let zip = case(name);
        std::fs::copy(&valid, &zip).unwrap();
        zip
    };

    // A signature of other bytes.
    let zip = copy_of_valid("wrong_signature");
    std::fs::copy(
        format!("{}.sig", good.display()),
        format!("{}.sig", zip.display()),
    )
    .unwrap();
    assert_refused(&bucket, &trusted.keyring, &zip, "signature refused");

    // A key not in the keyring.
    let zip = copy_of_valid("stranger");
    sign_beside(&stranger, &zip);
    assert_refused(&bucket, &trusted.keyring, &zip, "signature refused");

    // No signature at all.
    let zip = copy_of_valid("unsigned");
    assert_refused(&bucket, &trusted.keyring, &zip, "no signature");

    // A truncated upload, signed as it is.
    let zip = case("corrupt");
    let bytes = std::fs::read(&valid).unwrap();
    std::fs::write(&zip, &bytes[..bytes.len() / 2]).unwrap();
    sign_beside(&trusted, &zip);
    assert_refused(
        &bucket,
        &trusted.keyring,
        &zip,
        "not a readable package zip",
    );

    // A package the spec refuses: no title.
    let zip = case("invalid");
    rewrite_zip(&valid, &zip, str::to_string, |n, b| match n {
        "hello_logs-1.0.1/manifest.yml" => replace(b, "title: Hello Logs\n", ""),
        _ => b,
    });
    sign_beside(&trusted, &zip);
    assert_refused(&bucket, &trusted.keyring, &zip, "invalid package");

    // A root folder that is not {name}-{version}.
    let zip = case("root");
    rewrite_zip(
        &valid,
        &zip,
        |n| n.replace("hello_logs-1.0.1/", "hello-1.0.1/"),
        |_, b| b,
    );
    sign_beside(&trusted, &zip);
    assert_refused(&bucket, &trusted.keyring, &zip, "root folder");

    // The published version again, with other bytes.
    let dir = tmp.path().join("conflict");
    std::fs::create_dir_all(&dir).unwrap();
    let zip = dir.join("hello_logs-1.0.0.zip");
    rewrite_zip(&good, &zip, str::to_string, |n, b| {
        if n.ends_with("docs/README.md") {
            [b, b"\nchanged\n".to_vec()].concat()
        } else {
            b
        }
    });
    sign_beside(&trusted, &zip);
    assert_refused(
        &bucket,
        &trusted.keyring,
        &zip,
        "already published with other bytes",
    );

    // The published version again with the same bytes: success, nothing written.
    let before = snapshot(&bucket);
    let o = publish(&bucket, &trusted.keyring, &good);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("already published with the same bytes"));
    assert!(snapshot(&bucket) == before);
    let trail = events(&bucket);
    let last = trail.last().unwrap();
    assert_eq!(last["outcome"], "already_published");
    assert_eq!(
        (last["package"].as_str(), last["version"].as_str()),
        (Some("hello_logs"), Some("1.0.0"))
    );
    let published = trail.iter().find(|e| e["outcome"] == "published").unwrap();
    assert!(
        published["revision"].is_string() && published["signer_key_id"].is_string(),
        "{published}"
    );
}

/// A folder `id` of the bucket's queue, made as a CI job would make it.
fn submission(bucket: &Path, id: &str) -> PathBuf {
    let dir = bucket.join("queue").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Two candidates in the queue of `bucket`: `ci/build-1` signed by `trusted`, and
/// `ci/build-2` signed by a key made in `keys` that the worker does not trust.
fn good_and_bad(bucket: &Path, keys: &Path, trusted: &Signer) -> (PathBuf, PathBuf) {
    let stranger = signer(keys, "Stranger");
    let good = built_fixture(&submission(bucket, "ci/build-1"));
    sign_beside(trusted, &good);
    let bad = built_fixture(&submission(bucket, "ci/build-2"));
    sign_beside(&stranger, &bad);
    (good, bad)
}

#[test]
fn the_worker_publishes_the_queue_and_keeps_refusals_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let bucket = tmp.path().join("bucket");
    let trusted = signer(tmp.path(), "Trusted");
    let (good, bad) = good_and_bad(&bucket, tmp.path(), &trusted);
    let lone = built_fixture(&submission(&bucket, "ci/build-3"));
    // Sparse, 300 MiB: refused from its size, never fetched.
    let huge = submission(&bucket, "ci/build-4").join("huge-1.0.0.zip");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    std::fs::write(format!("{}.sig", huge.display()), "not read").unwrap();

    let o = bin()
        .args([
            "publish",
            "--worker",
            "--once",
            "--signature-grace",
            "0s",
            "--storage",
        ])
        .arg(format!("file://{}", bucket.display()))
        .arg("--keyring")
        .arg(&trusted.keyring)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let files = snapshot(&bucket);
    assert!(files.contains_key("artifacts/packages/hello_logs-1.0.0.zip"));
    assert!(!good.exists(), "a published candidate leaves the queue");
    assert!(bad.exists(), "a refused candidate stays");
    let reason = std::fs::read_to_string(format!("{}.refused.txt", bad.display())).unwrap();
    assert!(reason.contains("signature refused"), "{reason}");
    let reason = std::fs::read_to_string(format!("{}.refused.txt", lone.display())).unwrap();
    assert!(reason.contains("no signature"), "{reason}");
    let reason = std::fs::read_to_string(format!("{}.refused.txt", huge.display())).unwrap();
    assert!(
        reason.contains("huge-1.0.0.zip: 314572800 bytes, more than the 104857600 bytes"),
        "{reason}"
    );
}

/// The worker's `--metrics-address`: each candidate counted under its outcome, its
/// time in the histogram, and the rounds; SIGTERM stops both.
#[test]
fn the_worker_metrics_count_candidates_by_outcome() {
    let tmp = tempfile::tempdir().unwrap();
    let bucket = tmp.path().join("bucket");
    let trusted = signer(tmp.path(), "Trusted");
    // One candidate the worker publishes, one it refuses.
    good_and_bad(&bucket, tmp.path(), &trusted);

    let metrics_port = free_port();
    let child = bin()
        .args(["publish", "--worker", "--interval", "100ms", "--storage"])
        .arg(format!("file://{}", bucket.display()))
        .arg("--keyring")
        .arg(&trusted.keyring)
        .env(
            "EPR_PUBLISH_METRICS_ADDRESS",
            format!("127.0.0.1:{metrics_port}"),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut worker = Server(child);
    let candidates = |outcome: &str| {
        scrape(
            metrics_port,
            &format!("epr_publish_candidates_total{{outcome=\"{outcome}\"}}"),
        )
    };
    let wait_for = |outcome: &str, count: f64| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while candidates(outcome) != Some(count) {
            assert!(
                std::time::Instant::now() < deadline,
                "{outcome} never reached {count}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    wait_for("published", 1.0);
    wait_for("refused", 1.0);
    // The same bytes again: already published, and removed from the queue.
    let again = built_fixture(&submission(&bucket, "ci/build-3"));
    sign_beside(&trusted, &again);
    wait_for("already_published", 1.0);
    assert_eq!(candidates("failed"), Some(0.0));
    assert!(!again.exists());

    let series = |s: &str| scrape(metrics_port, s).unwrap_or_else(|| panic!("no {s}"));
    let timed = |outcome: &str| {
        series(&format!(
            "epr_publish_duration_seconds_count{{outcome=\"{outcome}\"}}"
        ))
    };
    assert_eq!(timed("published"), 1.0);
    assert_eq!(timed("refused"), 1.0);
    assert!(series("epr_publish_duration_seconds_sum{outcome=\"published\"}") > 0.0);
    assert!(series("epr_publish_queue_rounds_total{result=\"ok\"}") >= 2.0);
    assert_eq!(series("epr_publish_queue_waiting"), 0.0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as f64;
    assert!((now - series("epr_publish_queue_last_round_timestamp_seconds")).abs() < 60.0);
    assert!(series("process_resident_memory_bytes") > 0.0);

    assert_eq!(sigterm(&mut worker).code(), Some(0));
    assert!(
        http_get(metrics_port, "/metrics").is_none(),
        "the listener stopped too"
    );
}

/// A bucket that fails after the zip was stored (here the index folder cannot be
/// created: `v2/metadata` is a file) reports the failure (exit 2) and removes what the
/// attempt wrote: the bucket is as it was, and a retry after the repair succeeds.
#[test]
fn a_failure_after_the_claim_leaves_nothing_half_written() {
    let tmp = tempfile::tempdir().unwrap();
    let bucket = tmp.path().join("bucket");
    std::fs::create_dir_all(bucket.join("v2")).unwrap();
    std::fs::write(bucket.join("v2/metadata"), "in the way").unwrap();
    let trusted = signer(tmp.path(), "Trusted");
    let zip = built_fixture(&tmp.path().join("zips"));
    sign_beside(&trusted, &zip);

    let before = snapshot(&bucket);
    let o = publish(&bucket, &trusted.keyring, &zip);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nothing was published"), "{stderr}");
    let after: BTreeMap<String, Vec<u8>> = snapshot(&bucket)
        .into_iter()
        .filter(|(k, _)| !k.starts_with(".bucket-writes.lock"))
        .collect();
    assert!(
        after == before,
        "left behind: {:?}",
        after.keys().collect::<Vec<_>>()
    );

    std::fs::remove_file(bucket.join("v2/metadata")).unwrap();
    let o = publish(&bucket, &trusted.keyring, &zip);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `--legacy-package` skips only the package spec, as upstream's `legacy_package: true`:
/// a package the spec refuses but a registry loads is published; a wrong root folder
/// is still refused.
#[test]
fn legacy_packages_skip_only_the_spec_check() {
    let tmp = tempfile::tempdir().unwrap();
    let bucket = tmp.path().join("bucket");
    let trusted = signer(tmp.path(), "Trusted");
    let good = built_fixture(&tmp.path().join("good"));
    let legacy_publish = |zip: &Path| {
        bin()
            .args(["publish", "--legacy-package", "--storage"])
            .arg(format!("file://{}", bucket.display()))
            .arg("--keyring")
            .arg(&trusted.keyring)
            .arg(zip)
            .output()
            .unwrap()
    };

    // No changelog.yml (its name changed): the spec requires one, a registry does not.
    let dir = tmp.path().join("legacy");
    std::fs::create_dir_all(&dir).unwrap();
    let zip = dir.join("hello_logs-1.0.0.zip");
    rewrite_zip(
        &good,
        &zip,
        |n| n.replace("/changelog.yml", "/old-changelog.yml"),
        |_, b| b,
    );
    sign_beside(&trusted, &zip);
    std::fs::create_dir_all(&bucket).unwrap();
    assert_refused(&bucket, &trusted.keyring, &zip, "invalid package");
    let o = legacy_publish(&zip);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stored = snapshot(&bucket);
    assert_eq!(
        stored.get("artifacts/packages/hello_logs-1.0.0.zip"),
        Some(&std::fs::read(&zip).unwrap())
    );
    assert!(stored.contains_key("artifacts/static/hello_logs-1.0.0/old-changelog.yml"));

    // The root folder is still checked.
    let dir = tmp.path().join("legacy-root");
    std::fs::create_dir_all(&dir).unwrap();
    let zip = dir.join("hello_logs-1.0.1.zip");
    rewrite_zip(
        &good,
        &zip,
        |n| n.replace("hello_logs-1.0.0/", "hello-1.0.1/"),
        |n, b| match n {
            "hello-1.0.1/manifest.yml" => replace(b, "version: 1.0.0", "version: 1.0.1"),
            "hello-1.0.1/changelog.yml" => replace(b, "\"1.0.0\"", "\"1.0.1\""),
            _ => b,
        },
    );
    sign_beside(&trusted, &zip);
    let before = snapshot(&bucket);
    let o = legacy_publish(&zip);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("root folder is hello-1.0.1"), "{stderr}");
    assert!(snapshot(&bucket) == before);
}
