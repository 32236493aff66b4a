//! Traces reach a real OTLP receiver: an OpenTelemetry Collector (built by
//! scripts/ci-install-test-servers.sh) that writes every span it receives to a file.
//! The registry is configured the upstream's way (`ELASTIC_APM_SERVER_URL`, as for APM
//! Server, which takes OTLP) and the standard way (`OTEL_EXPORTER_OTLP_ENDPOINT`).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use epr_testkit::{free_port, servers};
use serde_json::Value;

/// A span the collector wrote: its name, service and string attributes.
#[derive(Debug)]
struct Span {
    name: String,
    service: String,
    attributes: Vec<(String, String)>,
}

/// Every span in the collector's file (one OTLP/JSON export request per line).
fn spans(file: &Path) -> Vec<Span> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let doc: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        for rs in doc["resourceSpans"].as_array().into_iter().flatten() {
            let service = strings(&rs["resource"]["attributes"])
                .into_iter()
                .find(|(k, _)| k == "service.name")
                .map(|(_, v)| v)
                .unwrap_or_default();
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for span in ss["spans"].as_array().into_iter().flatten() {
                    out.push(Span {
                        name: span["name"].as_str().unwrap_or_default().to_string(),
                        service: service.clone(),
                        attributes: strings(&span["attributes"]),
                    });
                }
            }
        }
    }
    out
}

fn strings(attributes: &Value) -> Vec<(String, String)> {
    attributes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let value = &a["value"];
            let text = value["stringValue"]
                .as_str()
                .map(str::to_string)
                .or_else(|| value["intValue"].as_str().map(str::to_string))
                .or_else(|| value["intValue"].as_i64().map(|n| n.to_string()))?;
            Some((a["key"].as_str()?.to_string(), text))
        })
        .collect()
}

/// Waits until spans named `names` are all in the file (the exporter sends batches).
fn wait_for(file: &Path, names: &[&str]) -> Vec<Span> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = spans(file);
        if names.iter().all(|n| got.iter().any(|s| s.name == *n)) {
            return got;
        }
        if Instant::now() > deadline {
            let seen: Vec<&str> = got.iter().map(|s| s.name.as_str()).collect();
            panic!("spans {names:?} not all received; got {seen:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn requests_and_the_load_are_traced_with_the_apm_variables() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("spans.jsonl");
    let Some(collector) = servers::otel_collector(&file) else {
        return;
    };
    let config = write_config(tmp.path(), &[&examples()]);
    let port = free_port();
    let mut command = bin();
    command
        .env("ELASTIC_APM_SERVER_URL", collector.endpoint())
        .env("ELASTIC_APM_SECRET_TOKEN", "test-token")
        .env("ELASTIC_APM_SERVICE_NAME", "epr-traced")
        .args(["--config", config.to_str().unwrap()])
        .arg("--require-package-signatures=false");
    let mut server = start_command(command, port);
    assert_eq!(http_get(port, "/search?package=nginx_logs").unwrap().0, 200);
    assert_eq!(http_get(port, "/package/nginx_logs/1.0.0/").unwrap().0, 200);
    assert_eq!(http_get(port, "/nothing").unwrap().0, 404);
    // SIGTERM sends what is left of the batch.
    assert_eq!(sigterm(&mut server).code(), Some(0));
    let got = wait_for(
        &file,
        &[
            "load packages",
            "GET /search",
            "GET /package/{packageName}/{packageVersion}/",
            "GET unknown route",
        ],
    );
    assert!(got.iter().all(|s| s.service == "epr-traced"), "{got:?}");
    let search = got.iter().find(|s| s.name == "GET /search").unwrap();
    let attr = |k: &str| {
        search
            .attributes
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(attr("url.path"), Some("/search"), "{search:?}");
    assert_eq!(attr("http.response.status_code"), Some("200"), "{search:?}");
}

#[test]
fn publish_steps_and_index_updates_are_traced_with_the_otel_variables() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("spans.jsonl");
    let Some(collector) = servers::otel_collector(&file) else {
        return;
    };
    let signer = signer(tmp.path(), "Tracing Test <t@example.com>");
    let bucket = tmp.path().join("bucket");
    std::fs::create_dir(&bucket).unwrap();
    let url = format!("file://{}", bucket.display());
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let first = candidate(tmp.path(), &out, &signer, "hello_logs", "1.0.0", "a");
    let otel = |c: &mut Command| {
        c.env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint())
            .env("OTEL_SERVICE_NAME", "epr-otel");
    };
    let publish = |zip: &Path| {
        let mut c = bin();
        otel(&mut c);
        let out = c
            .args(["publish", "--storage", &url, "--keyring"])
            .arg(&signer.keyring)
            .arg(zip)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    publish(&first);

    let port = free_port();
    let config = write_config(tmp.path(), &[]);
    let mut command = bin();
    otel(&mut command);
    command
        .args(["--config", config.to_str().unwrap()])
        .args([
            "--feature-storage-indexer",
            "--storage-indexer-bucket-internal",
            &url,
        ])
        .args([
            "--storage-endpoint",
            &url,
            "--storage-indexer-watch-interval",
            "200ms",
        ]);
    let mut server = start_command(command, port);
    publish(&candidate(
        tmp.path(),
        &out,
        &signer,
        "hello_logs",
        "1.0.1",
        "a",
    ));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !http_get(port, "/search?all=true").is_some_and(|(_, body)| body.contains("\"1.0.1\"")) {
        assert!(Instant::now() < deadline, "1.0.1 never served");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(sigterm(&mut server).code(), Some(0));
    let got = wait_for(
        &file,
        &[
            "publish",
            "check candidate",
            "write artifacts",
            "update storage index",
        ],
    );
    assert!(got.iter().all(|s| s.service == "epr-otel"), "{got:?}");
    let write = got.iter().find(|s| s.name == "write artifacts").unwrap();
    assert!(
        write
            .attributes
            .contains(&("package.name".into(), "hello_logs".into())),
        "{write:?}"
    );
}
