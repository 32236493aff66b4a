//! The binary end to end: configuration, startup failures, one real socket,
//! and the package path watcher.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use epr_testkit::free_port;

#[test]
fn serves_on_a_real_socket() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), &[&examples()]);
    let port = free_port();
    let _server = start(&config, port, &[]);
    let (status, body) = http_get(port, "/search?package=nginx_logs").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("\"name\": \"nginx_logs\""), "{body}");
}

#[test]
fn dry_run_and_go_style_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), &[&examples()]);
    let out = bin()
        .args([
            "-config",
            config.to_str().unwrap(),
            "-dry-run",
            "-require-package-signatures=false",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let version = bin().arg("-version").output().unwrap();
    assert!(
        String::from_utf8_lossy(&version.stdout).starts_with("Elastic Package Registry version")
    );
}

#[test]
fn environment_variables_configure_like_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), &[&examples()]);
    let out = bin()
        .env("EPR_CONFIG", &config)
        .env("EPR_DRY_RUN", "true")
        .env("EPR_REQUIRE_PACKAGE_SIGNATURES", "false")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = bin()
        .env("EPR_CONFIG", &config)
        .env("EPR_DRY_RUN", "maybe")
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[test]
fn startup_failures_name_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = bin()
        .args(["--config", tmp.path().join("nope.yml").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("Configuration file is not available")
    );

    // Signatures are required by default, as upstream.
    let config = write_config(tmp.path(), &[&examples()]);
    let unsigned = bin()
        .args(["--config", config.to_str().unwrap(), "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(unsigned.status.code(), Some(1));
    // The error names the file it looked for and the flag that serves unsigned packages.
    let stderr = String::from_utf8_lossy(&unsigned.stderr);
    let want = format!(
        "package nginx_logs-1.0.0 is missing signature file {}/nginx_logs/1.0.0.sig (serving unsigned packages needs --require-package-signatures=false)",
        examples().display()
    );
    assert!(stderr.contains(&want), "{stderr}");

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let config = write_config(tmp.path(), &[&empty]);
    let none = bin()
        .args([
            "--config",
            config.to_str().unwrap(),
            "--address",
            "127.0.0.1:0",
            "--require-package-signatures=false",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&none.stderr).contains("No local packages found."));

    let bad = bin()
        .args([
            "--package-paths-workers",
            "0",
            "--config",
            config.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("package-paths-workers must be greater than 0")
    );
}

#[test]
fn the_watcher_picks_up_new_and_removed_packages() {
    let tmp = tempfile::tempdir().unwrap();
    let packages = tmp.path().join("packages");
    write_package(&packages, "first", "1.0.0");
    let config = write_config(tmp.path(), &[&packages]);
    let port = free_port();
    let _server = start(&config, port, &["--package-paths-enable-watcher"]);
    assert_eq!(http_get(port, "/package/second/1.0.0/").unwrap().0, 404);

    write_package(&packages, "second", "1.0.0");
    assert!(
        wait_for_status(port, "/package/second/1.0.0/", 200),
        "new package not picked up"
    );
    // A broken package keeps the previous catalog.
    std::fs::create_dir_all(packages.join("third/1.0.0")).unwrap();
    std::fs::write(packages.join("third/1.0.0/manifest.yml"), "name: [").unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(http_get(port, "/package/second/1.0.0/").unwrap().0, 200);
    std::fs::remove_dir_all(packages.join("third")).unwrap();
    std::fs::remove_dir_all(packages.join("first")).unwrap();
    assert!(
        wait_for_status(port, "/package/first/1.0.0/", 404),
        "removed package still served"
    );
}

/// One change makes one reload: the reload opens every package, and those opens
/// once counted as changes, so the registry reloaded every second for ever.
#[test]
fn one_change_makes_one_reload() {
    let tmp = tempfile::tempdir().unwrap();
    let packages = tmp.path().join("packages");
    write_package(&packages, "first", "1.0.0");
    epr_spec::build::build(&source_fixture(), &packages).unwrap();
    let config = write_config(tmp.path(), &[&packages]);
    let (port, metrics_port) = (free_port(), free_port());
    let metrics_address = format!("127.0.0.1:{metrics_port}");
    let _server = start(
        &config,
        port,
        &[
            "--package-paths-enable-watcher",
            "--metrics-address",
            &metrics_address,
        ],
    );
    let swaps = || scrape(metrics_port, "epr_catalog_swaps_total");
    assert_eq!(swaps(), Some(0.0));
    std::fs::write(packages.join("x"), "").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while swaps() != Some(1.0) {
        assert!(
            std::time::Instant::now() < deadline,
            "no reload after a change"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // A reload a second (the debounce) would have happened three times by now.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(swaps(), Some(1.0), "reloads without a change");
    assert_eq!(http_get(port, "/package/hello_logs/1.0.0/").unwrap().0, 200);
}

fn source_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/source/hello_logs")
        .canonicalize()
        .unwrap()
}

#[test]
fn validate_reports_a_verdict_and_exit_status() {
    let ok = bin()
        .args(["validate", source_fixture().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    let tmp = tempfile::tempdir().unwrap();
    write_package(tmp.path(), "broken", "1.0.0");
    let dir = tmp.path().join("broken/1.0.0");
    std::fs::write(
        dir.join("manifest.yml"),
        "format_version: 3.0.0\nname: broken\nversion: 1.0.0\ntitle: T\ntype: integration\nowner:\n  github: a\n",
    )
    .unwrap();
    let bad = bin()
        .args(["validate", dir.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let out = String::from_utf8_lossy(&bad.stdout);
    assert!(
        out.contains("\"valid\": false")
            && out.contains("\"file\": \"manifest.yml\"")
            && out.contains("description is required"),
        "{out}"
    );

    let missing = bin()
        .args(["validate", tmp.path().join("nothing").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

/// `build` twice gives the same bytes; the zip is a valid built package without the
/// development files; the registry serves it.
#[test]
fn build_then_validate_then_serve() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let built = |dir: &Path| {
        let o = bin()
            .args(["build", source_fixture().to_str().unwrap(), "--output"])
            .arg(dir)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::read(dir.join("hello_logs-1.0.0.zip")).unwrap()
    };
    let first = built(&out);
    let second = built(&tmp.path().join("again"));
    assert_eq!(first, second, "the same folder must give the same bytes");
    let zip_path = out.join("hello_logs-1.0.0.zip");

    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let names: Vec<String> = (0..archive.len())
        .map(|i| archive.by_index(i).unwrap().name().to_string())
        .collect();
    assert!(
        names.iter().all(|n| n.starts_with("hello_logs-1.0.0/")),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n == "hello_logs-1.0.0/data_stream/log/fields/base-fields.yml")
    );
    assert!(!names.iter().any(|n| n.contains("_dev")), "{names:?}");
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries are in path order");

    let v = bin().arg("validate").arg(&zip_path).output().unwrap();
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );

    let config = write_config(tmp.path(), &[&out]);
    let port = free_port();
    let _server = start(&config, port, &[]);
    let (status, body) = http_get(port, "/package/hello_logs/1.0.0/").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"name\": \"hello_logs\""), "{body}");
    let downloaded = http_download(port, "/epr/hello_logs/hello_logs-1.0.0.zip");
    assert_eq!(
        downloaded.as_deref(),
        Some(first.as_slice()),
        "the served zip is the built one"
    );
}

#[test]
fn build_refuses_an_invalid_package() {
    let tmp = tempfile::tempdir().unwrap();
    write_package(tmp.path(), "broken", "1.0.0");
    let out = tmp.path().join("out");
    let o = bin()
        .arg("build")
        .arg(tmp.path().join("broken/1.0.0"))
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("nothing was built") && err.contains("manifest.yml"),
        "{err}"
    );
    assert!(!out.join("broken-1.0.0.zip").exists());
}

#[test]
fn proxy_mode_checks_its_upstream_and_needs_no_local_packages() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let config = write_config(tmp.path(), &[&empty]);
    let run = |args: &[&str]| {
        bin()
            .args(["-config", config.to_str().unwrap(), "-dry-run"])
            .args(args)
            .output()
            .unwrap()
    };

    let http = run(&["-feature-proxy-mode", "-proxy-to=http://127.0.0.1:1"]);
    assert_eq!(http.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&http.stderr).contains(
            "-proxy-to must use HTTPS (got \"http://127.0.0.1:1\"); use -proxy-allow-insecure to allow HTTP"
        ),
        "{}",
        String::from_utf8_lossy(&http.stderr)
    );
    let invalid = bin()
        .args(["-config", config.to_str().unwrap(), "-dry-run"])
        .env("EPR_FEATURE_PROXY_MODE", "true")
        .env("EPR_PROXY_TO", "http://[::1")
        .env("EPR_PROXY_ALLOW_INSECURE", "true")
        .output()
        .unwrap();
    assert_eq!(invalid.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("invalid -proxy-to URL: "));
    // Without proxy mode, -proxy-to is not looked at.
    assert!(run(&["-proxy-to=http://127.0.0.1:1"]).status.success());

    // No local package is fine when the upstream has some.
    let port = free_port();
    let _server = start(
        &config,
        port,
        &[
            "-feature-proxy-mode",
            "-proxy-to=http://127.0.0.1:1",
            "-proxy-allow-insecure",
        ],
    );
    assert_eq!(http_get(port, "/health").unwrap().0, 200);
}
