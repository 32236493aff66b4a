//! The binary as the upstream's deployments run it: elastic-package's stack service
//! (TLS, metrics, proxy mode, all from `EPR_*` variables), shutdown on SIGTERM, the
//! connection limits, and clear startup errors for bad listener settings.
//!
//! Real peers: curl checks health over HTTPS as the stack's compose file does, with
//! certificates openssl makes for the test; the proxied registry is a small HTTP server
//! on a loopback port.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use epr_testkit::free_port;

/// A CA and a certificate for `localhost` and 127.0.0.1 signed by it, made with openssl.
struct Certs {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn make_certs(dir: &Path) -> Certs {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is needed (Debian: apt-get install openssl)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca-cert.pem",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "req.pem",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "req.pem",
        "-CA",
        "ca-cert.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    Certs {
        ca: dir.join("ca-cert.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    }
}

/// `curl --cacert CA -f URL`: the body on success.
fn curl(ca: &Path, url: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["--silent", "--max-time", "5", "--cacert"])
        .arg(ca)
        .args(["-f", url])
        .output()
        .expect("curl is needed (Debian: apt-get install curl)");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A registry to proxy to: answers every request with `answer(path)`, after `delay`.
struct Upstream {
    port: u16,
}

impl Upstream {
    fn start(delay: Duration, answer: fn(&str) -> (u16, String)) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || serve_one(stream, delay, answer));
            }
        });
        Upstream { port }
    }
}

fn serve_one(mut stream: TcpStream, delay: Duration, answer: fn(&str) -> (u16, String)) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
    }
    let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
    std::thread::sleep(delay);
    let (status, body) = answer(&path);
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

const PROXIED_PACKAGE: &str = r#"{"name": "proxied_pkg", "title": "Proxied", "version": "2.0.0",
  "description": "From the upstream", "type": "integration", "format_version": "3.0.0",
  "owner": {"github": "someone"}, "download": "/epr/proxied_pkg/proxied_pkg-2.0.0.zip",
  "path": "/package/proxied_pkg/2.0.0"}"#;

fn stub_registry(path: &str) -> (u16, String) {
    match path.split('?').next().unwrap_or_default() {
        "/package/proxied_pkg/2.0.0/" => (200, PROXIED_PACKAGE.into()),
        "/search" | "/categories" => (200, "[]".into()),
        _ => (404, "404 page not found\n".into()),
    }
}

/// The package-registry service of elastic-package's `stack up`
/// (`internal/stack/_static/docker-compose-stack.yml.tmpl`), with its variables.
#[test]
fn elastic_package_stack_deployment() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = make_certs(tmp.path());
    let upstream = Upstream::start(Duration::ZERO, stub_registry);
    write_config(tmp.path(), &[&examples()]);
    let (port, metrics_port) = (free_port(), free_port());
    let child = bin()
        .current_dir(tmp.path())
        .env("EPR_LOG_LEVEL", "debug")
        .env("EPR_ADDRESS", format!("127.0.0.1:{port}"))
        .env("EPR_METRICS_ADDRESS", format!("127.0.0.1:{metrics_port}"))
        .env("EPR_TLS_KEY", &certs.key)
        .env("EPR_TLS_CERT", &certs.cert)
        .env("EPR_REQUIRE_PACKAGE_SIGNATURES", "false")
        .env("EPR_DISABLE_PACKAGE_VALIDATION", "true")
        .env("EPR_FEATURE_PROXY_MODE", "true")
        .env(
            "EPR_PROXY_TO",
            format!("http://127.0.0.1:{}/", upstream.port),
        )
        .env("EPR_PROXY_ALLOW_INSECURE", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let base = format!("https://localhost:{port}");
    // The compose file's health check.
    let deadline = Instant::now() + Duration::from_secs(30);
    while curl(&certs.ca, &base).is_none() {
        assert!(Instant::now() < deadline, "the health check never passed");
        std::thread::sleep(Duration::from_millis(100));
    }
    let index = curl(&certs.ca, &format!("{base}/")).unwrap();
    assert!(index.contains("\"service.name\""), "{index}");
    // Plain HTTP on the TLS port is refused.
    assert!(http_get(port, "/health").is_none_or(|(s, _)| s != 200));
    let local = curl(&certs.ca, &format!("{base}/search?package=nginx_logs")).unwrap();
    assert!(local.contains("\"nginx_logs\""), "{local}");
    let proxied = curl(&certs.ca, &format!("{base}/package/proxied_pkg/2.0.0/")).unwrap();
    assert!(proxied.contains("\"name\": \"proxied_pkg\""), "{proxied}");

    let requests = |path: &str| {
        scrape(
            metrics_port,
            &format!("epr_http_requests_total{{code=\"200\",method=\"get\",path=\"{path}\"}}"),
        )
        .unwrap_or(0.0)
    };
    assert!(requests("/") >= 2.0, "the health checks and the index");
    assert_eq!(requests("/search"), 1.0);
    assert_eq!(
        requests("/package/{packageName:[a-z0-9_]+}/{packageVersion}/"),
        1.0
    );
    assert_eq!(
        scrape(metrics_port, "epr_number_indexed_packages"),
        Some(4.0)
    );
    assert!(scrape(metrics_port, "process_resident_memory_bytes").unwrap() > 0.0);

    let status = sigterm(&mut server);
    assert_eq!(status.code(), Some(0), "SIGTERM exits 0");
    let mut log = String::new();
    server
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        !log.contains("is not a setting"),
        "every variable known: {log}"
    );
    assert!(
        log.contains("\"message\":\"GET /search HTTP/2.0\""),
        "{log}"
    );
    assert!(log.contains("\"ecs.version\":\"1.6.0\""));
}

/// SIGTERM stops accepting, lets a request in flight finish, then exits 0.
#[test]
fn sigterm_drains_requests_in_flight() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), &[&examples()]);
    // A slow upstream keeps a proxied /search in flight for 2 s.
    let upstream = Upstream::start(Duration::from_secs(2), stub_registry);
    let port = free_port();
    let mut command = bin();
    command.args([
        "--config",
        config.to_str().unwrap(),
        "--require-package-signatures=false",
        "--feature-proxy-mode",
        "--proxy-allow-insecure",
        "--proxy-to",
        &format!("http://127.0.0.1:{}/", upstream.port),
    ]);
    let mut server = start_command(command, port);
    let in_flight = std::thread::spawn(move || http_get(port, "/search?package=x"));
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let status = sigterm(&mut server);
    assert_eq!(status.code(), Some(0));
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "exited before the request in flight finished"
    );
    let (code, body) = in_flight.join().unwrap().expect("an answer");
    assert_eq!(code, 200, "{body}");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "still accepting"
    );
}

/// Reads from `stream` until the server closes it; how long that took.
fn time_to_close(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some(started.elapsed());
            }
            Err(_) => return None,
        }
    }
}

#[test]
fn idle_and_slow_connections_are_closed() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), &[&examples()]);
    let port = free_port();
    let _server = start(
        &config,
        port,
        &["--idle-timeout", "2s", "--read-header-timeout", "1s"],
    );
    // A connection that sends nothing: closed after the idle timeout.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let closed = time_to_close(&mut idle, Duration::from_secs(10)).expect("idle connection closed");
    assert!(closed >= Duration::from_millis(1500), "{closed:?}");

    // A slowloris client: one header byte every 200 ms never finishes its head.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let started = Instant::now();
    let mut closed = false;
    for byte in b"GET / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
        if slow.write_all(&[*byte]).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        if started.elapsed() > Duration::from_secs(8) {
            break;
        }
    }
    if !closed {
        closed = time_to_close(&mut slow, Duration::from_secs(1)).is_some();
    }
    assert!(closed, "a slow request head was never cut off");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );

    // A keep-alive connection stays open between requests, then idles out.
    let mut keep = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(keep, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut buf = [0u8; 512];
    keep.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let n = keep.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let closed = time_to_close(&mut keep, Duration::from_secs(10)).expect("closed when idle");
    assert!(closed >= Duration::from_millis(1500), "{closed:?}");
}

#[test]
fn connections_beyond_the_cap_wait() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), &[&examples()]);
    let port = free_port();
    let _server = start(&config, port, &["--max-connections", "2"]);
    // `start` polled /health with connections that are closed by now; let the
    // server see them go.
    std::thread::sleep(Duration::from_millis(300));
    let first = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _second = TcpStream::connect(("127.0.0.1", port)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut third = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(third, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(1000)))
        .unwrap();
    let mut buf = [0u8; 512];
    assert!(third.read(&mut buf).is_err(), "answered beyond the cap");
    drop(first);
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let n = third
        .read(&mut buf)
        .expect("answered once a connection closed");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
}

/// Starts the binary with `args` and expects a startup failure naming `wanted`.
fn fails_naming(dir: &Path, args: &[&str], wanted: &[&str]) {
    let out = bin()
        .current_dir(dir)
        .args(["--require-package-signatures=false"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for w in wanted {
        assert!(stderr.contains(w), "{args:?}: wanted `{w}` in {stderr}");
    }
}

#[test]
fn bad_listener_settings_fail_naming_the_option() {
    let tmp = tempfile::tempdir().unwrap();
    write_config(tmp.path(), &[&examples()]);
    let certs = make_certs(tmp.path());
    let (cert, key) = (certs.cert.to_str().unwrap(), certs.key.to_str().unwrap());
    fails_naming(
        tmp.path(),
        &["--tls-cert", "/nonexistent/cert.pem", "--tls-key", key],
        &["--tls-cert /nonexistent/cert.pem", "No such file"],
    );
    fails_naming(
        tmp.path(),
        &["--tls-cert", cert, "--tls-key", cert],
        &["--tls-key", "no usable private key"],
    );
    fails_naming(
        tmp.path(),
        &[
            "--tls-cert",
            cert,
            "--tls-key",
            key,
            "--tls-min-version",
            "1.1",
        ],
        &["--tls-min-version", "TLS 1.1 is not supported"],
    );
    fails_naming(
        tmp.path(),
        &[
            "--tls-cert",
            cert,
            "--tls-key",
            key,
            "--tls-min-version",
            "tls2",
        ],
        &["unsupported TLS version: tls2"],
    );
    fails_naming(tmp.path(), &["--tls-cert", cert], &["--tls-key is not"]);
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = busy.local_addr().unwrap().to_string();
    let address = format!("127.0.0.1:{}", free_port());
    fails_naming(
        tmp.path(),
        &["--address", &address, "--metrics-address", &busy],
        &[&format!("--metrics-address {busy}: cannot listen")],
    );
    fails_naming(
        tmp.path(),
        &["--address", &busy],
        &[&format!("--address {busy}: cannot listen")],
    );
}

/// A certificate replaced on disk is served without a restart.
#[test]
fn a_renewed_certificate_is_served_without_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), &[&examples()]);
    let first = make_certs(&tmp.path().join("a").tap_mkdir());
    let second = make_certs(&tmp.path().join("b").tap_mkdir());
    let live = tmp.path().join("live");
    std::fs::create_dir(&live).unwrap();
    std::fs::copy(&first.cert, live.join("cert.pem")).unwrap();
    std::fs::copy(&first.key, live.join("key.pem")).unwrap();
    let port = free_port();
    let child = bin()
        .args(["--config", config.to_str().unwrap()])
        .args(["--require-package-signatures=false"])
        .args(["--address", &format!("127.0.0.1:{port}")])
        .arg("--tls-cert")
        .arg(live.join("cert.pem"))
        .arg("--tls-key")
        .arg(live.join("key.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    let url = format!("https://localhost:{port}/health");
    let deadline = Instant::now() + Duration::from_secs(20);
    while curl(&first.ca, &url).is_none() {
        assert!(
            Instant::now() < deadline,
            "never served the first certificate"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        curl(&second.ca, &url).is_none(),
        "the second CA is not trusted yet"
    );
    std::fs::copy(&second.cert, live.join("cert.pem")).unwrap();
    std::fs::copy(&second.key, live.join("key.pem")).unwrap();
    // Polled every 10 s.
    let deadline = Instant::now() + Duration::from_secs(25);
    while curl(&second.ca, &url).is_none() {
        assert!(
            Instant::now() < deadline,
            "the renewed certificate was never served"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}
