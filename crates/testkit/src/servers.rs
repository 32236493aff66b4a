//! External servers for tests: moto (S3), fake-gcs-server (GCS) and an OpenTelemetry
//! Collector (OTLP), started on a free
//! loopback port and killed when the last handle is dropped.
//!
//! When a server binary is missing, tests are skipped with a note on stderr, except under
//! CI (env `CI` set), where a missing server fails the test: CI must run
//! `scripts/ci-install-test-servers.sh` first.

use std::ffi::OsStr;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use crate::free_port;

/// How long a server may take to start answering (moto imports a lot of Python).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Credentials moto accepts (it checks none, but requests must be signed).
pub const S3_ACCESS_KEY_ID: &str = "testing";
pub const S3_SECRET_ACCESS_KEY: &str = "testing";
pub const S3_REGION: &str = "us-east-1";

/// A server process on `127.0.0.1:port`, killed on drop.
#[derive(Debug)]
pub struct TestServer {
    child: Child,
    name: String,
    pub port: u16,
}

impl TestServer {
    /// `http://127.0.0.1:PORT`, the endpoint to give clients.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One HTTP/1.1 request without a client library; returns the status and the body.
    pub fn request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        http_request(self.port, method, target, headers, body)
            .unwrap_or_else(|e| panic!("{} request {method} {target} failed: {e}", self.name))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A moto S3 server shared by the tests of this process that run at the same time.
/// Each test should create its own bucket with [`create_s3_bucket`].
///
/// We run moto's own WSGI app (what `moto_server` runs) but single-threaded: `moto_server`
/// serves each request on its own thread and checks `If-Match` / `If-None-Match` before
/// storing without a lock, so two concurrent conditional PUTs can both pass (seen here as
/// 199 instead of 200 in the counter test, moto 5.2.1). Real S3 checks atomically; one
/// request at a time gives the emulator the same guarantee.
pub fn moto() -> Option<Arc<TestServer>> {
    static RUNNING: Mutex<Weak<TestServer>> = Mutex::new(Weak::new());
    let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(server) = running.upgrade() {
        return Some(server);
    }
    let python = python();
    let installed = Command::new(&python)
        .args(["-c", "import moto.server, werkzeug.serving"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !installed {
        return missing("moto_server", MOTO_INSTALL);
    }
    let server = Arc::new(start(&python, MOTO_INSTALL, |port| {
        vec!["-c".into(), MOTO_SINGLE_THREADED.into(), port.to_string()]
    })?);
    *running = Arc::downgrade(&server);
    Some(server)
}

const MOTO_INSTALL: &str =
    "bash scripts/ci-install-test-servers.sh (moto[server]==5.2.1 into target/ci-venv)";

/// The Python of `target/ci-venv`, where scripts/ci-install-test-servers.sh installs
/// moto (Debian's system pip refuses to); `python3` when there is none.
fn python() -> std::path::PathBuf {
    let venv =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ci-venv/bin/python3");
    if venv.exists() {
        venv
    } else {
        "python3".into()
    }
}

/// `moto.server.main` without `threaded=True` (see [`moto`]).
const MOTO_SINGLE_THREADED: &str = "\
import sys
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
app = DomainDispatcherApplication(create_backend_app)
run_simple('127.0.0.1', int(sys.argv[1]), app, threaded=False)
";

/// Creates an S3 bucket on moto. moto accepts an unsigned `PUT /bucket`.
pub fn create_s3_bucket(server: &TestServer, bucket: &str) {
    let (status, body) = server.request("PUT", &format!("/{bucket}"), &[], b"");
    assert_eq!(
        status, 200,
        "moto refused to create bucket {bucket}: {body}"
    );
}

/// A fake-gcs-server shared by the tests of this process that run at the same time.
/// `-public-host` makes it answer XML-API style `/{bucket}/{object}` reads on our address.
pub fn fake_gcs() -> Option<Arc<TestServer>> {
    static RUNNING: Mutex<Weak<TestServer>> = Mutex::new(Weak::new());
    let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(server) = running.upgrade() {
        return Some(server);
    }
    let install = "go install github.com/fsouza/fake-gcs-server@v1.56.1";
    let Some(binary) = find_go_binary("fake-gcs-server") else {
        return missing("fake-gcs-server", install);
    };
    let server = Arc::new(start(binary, install, |port| {
        let flags = format!(
            "-scheme http -host 127.0.0.1 -port {port} -backend memory \
             -public-host 127.0.0.1:{port} -log-level error"
        );
        flags.split_whitespace().map(String::from).collect()
    })?);
    *running = Arc::downgrade(&server);
    Some(server)
}

/// A real OTLP receiver: the OpenTelemetry Collector built from
/// `crates/testkit/otelcol/manifest.yaml`, listening for OTLP/HTTP on its port and
/// writing every span it receives to `spans` as OTLP/JSON lines. One per test.
pub fn otel_collector(spans: &std::path::Path) -> Option<TestServer> {
    let install = "scripts/ci-install-test-servers.sh (builds otelcol-epr)";
    let Some(binary) = find_go_binary("otelcol-epr") else {
        return missing("otelcol-epr", install);
    };
    let config = spans.with_extension("collector.yaml");
    let spans = spans.to_path_buf();
    start(binary, install, move |port| {
        let text = [
            "receivers:".to_string(),
            "  otlp:".into(),
            "    protocols:".into(),
            "      http:".into(),
            format!("        endpoint: 127.0.0.1:{port}"),
            "exporters:".into(),
            "  file:".into(),
            format!("    path: {}", spans.display()),
            "    format: json".into(),
            "    flush_interval: 100ms".into(),
            "service:".into(),
            "  telemetry:".into(),
            "    metrics:".into(),
            "      level: none".into(),
            "  pipelines:".into(),
            "    traces:".into(),
            "      receivers: [otlp]".into(),
            "      exporters: [file]".into(),
        ]
        .join("\n");
        std::fs::write(&config, text).expect("the collector's configuration is written");
        vec!["--config".into(), config.display().to_string()]
    })
}

/// `go install` puts binaries in `$GOBIN` or `$GOPATH/bin` (default `~/go/bin`), which
/// are often not on `PATH`.
fn find_go_binary(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let go_dirs = [
        std::env::var_os("GOBIN").map(PathBuf::from),
        std::env::var_os("GOPATH").map(|gopath| PathBuf::from(gopath).join("bin")),
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join("go/bin")),
    ];
    on_path
        .into_iter()
        .chain(go_dirs.into_iter().flatten())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A server that is not installed: skip the test, or fail it under CI.
fn missing<T>(binary: &str, install: &str) -> Option<T> {
    if std::env::var_os("CI").is_some() {
        panic!("{binary} is not installed: run scripts/ci-install-test-servers.sh ({install})");
    }
    // Straight to stderr: the test harness captures `eprintln!`, and a skip should show.
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {binary} not installed ({install})"
    );
    None
}

/// Creates a GCS bucket through the JSON API.
pub fn create_gcs_bucket(server: &TestServer, bucket: &str) {
    let body = format!(r#"{{"name":"{bucket}"}}"#);
    let headers = [("Content-Type", "application/json")];
    let (status, answer) = server.request(
        "POST",
        "/storage/v1/b?project=test",
        &headers,
        body.as_bytes(),
    );
    assert_eq!(
        status, 200,
        "fake-gcs-server refused to create bucket {bucket}: {answer}"
    );
}

/// Uploads an object through the JSON API (`uploadType=media`), which fake-gcs-server
/// implements, unlike XML-API uploads.
pub fn upload_gcs_object(server: &TestServer, bucket: &str, name: &str, data: &[u8]) {
    let target = format!(
        "/upload/storage/v1/b/{bucket}/o?uploadType=media&name={}",
        percent_encode(name)
    );
    let headers = [("Content-Type", "application/octet-stream")];
    let (status, answer) = server.request("POST", &target, &headers, data);
    assert_eq!(
        status, 200,
        "fake-gcs-server refused to store {name}: {answer}"
    );
}

/// Starts `binary` with the arguments for a free port and waits until it accepts
/// connections. `None` (skip) when the binary is missing outside CI.
fn start(
    binary: impl AsRef<OsStr>,
    install: &str,
    args: impl FnOnce(u16) -> Vec<String>,
) -> Option<TestServer> {
    let name = binary.as_ref().to_string_lossy().into_owned();
    let port = free_port();
    let spawned = Command::new(&binary)
        .args(args(port))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == ErrorKind::NotFound => return missing(&name, install),
        Err(e) => panic!("cannot start {name}: {e}"),
    };
    let mut server = TestServer { child, name, port };
    wait_until_listening(&mut server);
    Some(server)
}

fn wait_until_listening(server: &mut TestServer) {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port));
    let started = Instant::now();
    loop {
        if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("{} exited during start-up: {status}", server.name);
        }
        if started.elapsed() > START_TIMEOUT {
            panic!(
                "{} did not listen on port {} within {START_TIMEOUT:?}",
                server.name, server.port
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn http_request(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {response:?}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or("");
    Ok((status, body.to_string()))
}

/// Percent-encodes everything but unreserved characters, for query values.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
