//! Helpers shared by the binary's end-to-end tests: running the binary, a started
//! server that stops on drop, and plain HTTP/1.1 requests.
#![allow(dead_code)] // each test crate uses its own subset

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use epr_testkit::PackageBuilder;

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_package-registry"))
}

pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/packages")
        .canonicalize()
        .unwrap()
}

pub fn write_config(dir: &Path, paths: &[&Path]) -> PathBuf {
    let mut text = String::from("package_paths:\n");
    for p in paths {
        text.push_str(&format!("  - {}\n", p.display()));
    }
    let path = dir.join("config.yml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Writes the folder `<root>/<name>/<version>/` of a package the server loads but
/// `validate` and `build` refuse: its manifest has no `type`.
pub fn write_package(root: &Path, name: &str, version: &str) {
    PackageBuilder::new(name, version)
        .manifest(format!(
            "format_version: 3.0.0\nname: {name}\nversion: {version}\ntitle: T\ndescription: D\n"
        ))
        .file("docs/README.md", "# r\n")
        .write_folder(root);
}

pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.get(9..12)?.parse().ok()?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

/// GET `path` and return the body bytes when the status is 200.
pub fn http_download(port: u16, path: &str) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let end = out.windows(4).position(|w| w == b"\r\n\r\n")?;
    out.starts_with(b"HTTP/1.1 200")
        .then(|| out[end + 4..].to_vec())
}

pub struct Server(pub Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start(config: &Path, port: u16, extra: &[&str]) -> Server {
    let mut command = bin();
    command
        .args(["--config", config.to_str().unwrap()])
        .args(["--require-package-signatures=false"])
        .args(extra);
    start_command(command, port)
}

/// Starts `command` (a registry) listening on `port` and waits until it is ready.
pub fn start_command(mut command: Command, port: u16) -> Server {
    let child = command
        .args(["--address", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    assert!(
        wait_for_status(port, "/health", 200),
        "server did not become ready"
    );
    server
}

/// Scrapes plain-HTTP `/metrics` and gives the value of `series`.
pub fn scrape(port: u16, series: &str) -> Option<f64> {
    let (status, body) = http_get(port, "/metrics")?;
    assert_eq!(status, 200);
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Polls `path` until it answers `status`, for up to 20 seconds.
pub fn wait_for_status(port: u16, path: &str, status: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if http_get(port, path).is_some_and(|(s, _)| s == status) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A signing key made for the test, and its public keyring file.
pub struct Signer {
    pub secret: epr_storage::signature::SecretKey,
    pub keyring: PathBuf,
}

pub fn signer(dir: &Path, uid: &str) -> Signer {
    use epr_storage::signature::{KeyKind, SecretKey, generate_key};
    let (secret, public) = generate_key(uid, KeyKind::Ed25519).unwrap();
    let keyring = dir.join(format!("{}.asc", uid.replace(' ', "_")));
    std::fs::write(&keyring, public).unwrap();
    Signer {
        secret: SecretKey::from_armored(&secret, None).unwrap(),
        keyring,
    }
}

/// Sends SIGTERM to the server and waits (up to 20 s) for it to exit.
pub fn sigterm(server: &mut Server) -> std::process::ExitStatus {
    let pid = server.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn source_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/source/hello_logs")
}

/// Writes a source package `name`-`version` from the fixture; `flavour` changes
/// the README so that two builds of one version can differ.
pub fn write_source(root: &Path, name: &str, version: &str, flavour: &str) -> PathBuf {
    let dir = root.join(format!("{name}-{version}-{flavour}"));
    copy_tree(&source_fixture(), &dir);
    let manifest = std::fs::read_to_string(dir.join("manifest.yml"))
        .unwrap()
        .replace("name: hello_logs", &format!("name: {name}"))
        .replace("version: 1.0.0", &format!("version: {version}"));
    std::fs::write(dir.join("manifest.yml"), manifest).unwrap();
    let changelog = std::fs::read_to_string(dir.join("changelog.yml"))
        .unwrap()
        .replace("\"1.0.0\"", &format!("\"{version}\""));
    std::fs::write(dir.join("changelog.yml"), changelog).unwrap();
    std::fs::write(
        dir.join("docs/README.md"),
        format!("# {name} {version}\n\n{flavour}\n"),
    )
    .unwrap();
    dir
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Builds and signs `name`-`version` into `out`; returns the zip path.
pub fn candidate(
    tmp: &Path,
    out: &Path,
    signer: &Signer,
    name: &str,
    version: &str,
    flavour: &str,
) -> PathBuf {
    let src = write_source(&tmp.join("src"), name, version, flavour);
    let zip = epr_spec::build::build(&src, out).unwrap();
    sign_beside(signer, &zip);
    zip
}

/// Signs `zip` with `signer`: its detached signature `<zip>.sig` beside it.
pub fn sign_beside(signer: &Signer, zip: &Path) {
    let sig = epr_storage::signature::sign_detached(&signer.secret, &std::fs::read(zip).unwrap())
        .unwrap();
    std::fs::write(format!("{}.sig", zip.display()), sig).unwrap();
}
