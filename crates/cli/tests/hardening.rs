//! Regressions of the defects found under attack and overload (issue 14): each
//! test reproduces one and holds the figure it must stay under.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use epr_testkit::{PackageBuilder, free_port};

/// `publish ZIP` into the `file://` bucket at `bucket`, trusting `keyring`.
fn publish_command(bucket: &Path, keyring: &Path, zip: &Path) -> Command {
    let mut command = bin();
    command
        .arg("publish")
        .arg("--storage")
        .arg(format!("file://{}", bucket.display()))
        .arg("--keyring")
        .arg(keyring)
        .arg(zip);
    command
}

/// The descriptors the process holds now.
fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// A loaded zip holds no open file: 600 zips load and are served under a limit of
/// 256 descriptors (each held its file for the life of the process before, so
/// the load failed with "Too many open files").
#[test]
fn zips_hold_no_descriptor_once_loaded() {
    const ZIPS: usize = 600;
    let tmp = tempfile::tempdir().unwrap();
    let packages = tmp.path().join("packages");
    std::fs::create_dir_all(&packages).unwrap();
    for i in 0..ZIPS {
        let name = format!("pkg_{i}");
        PackageBuilder::new(&name, "1.0.0")
            .file("docs/README.md", format!("# {name} 1.0.0\n"))
            .write_zip(&packages);
    }
    let config = write_config(tmp.path(), &[&packages]);
    let port = free_port();
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "ulimit -n 256 && exec {} \"$@\"",
            env!("CARGO_BIN_EXE_package-registry")
        ))
        .arg("package-registry")
        .args(["--config", config.to_str().unwrap()])
        .arg("--require-package-signatures=false");
    let server = start_command(command, port);
    let (status, body) = http_get(port, "/search").unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        body.matches("\"name\": \"pkg_").count(),
        ZIPS,
        "every zip served"
    );
    for i in (0..ZIPS).step_by(50) {
        let (status, readme) =
            http_get(port, &format!("/package/pkg_{i}/1.0.0/docs/README.md")).unwrap();
        assert_eq!(status, 200);
        assert_eq!(readme, format!("# pkg_{i} 1.0.0\n"));
    }
    let held = open_descriptors(server.0.id());
    assert!(held < 64, "{held} descriptors held with {ZIPS} zips loaded");
}

/// Runs `command` to its end and gives its exit code, its output, and its peak
/// resident memory in MiB. Python measures it: `getrusage(RUSAGE_CHILDREN)` of a
/// process whose only child is the command (this crate forbids the unsafe code
/// that `wait4` would take).
fn run_measured(command: Command) -> Measured {
    const MEASURE: &str = "import resource, subprocess, sys\n\
        out = open(sys.argv[1], 'w')\n\
        code = subprocess.run(sys.argv[2:], stdout=out, stderr=out).returncode\n\
        print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n";
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new("python3")
        .args(["-c", MEASURE])
        .arg(stderr.path())
        .arg(command.get_program())
        .args(command.get_args())
        .envs(command.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .output()
        .expect("python3 runs");
    let printed = String::from_utf8(out.stdout).unwrap();
    let (code, kib) = printed
        .trim()
        .split_once(' ')
        .unwrap_or_else(|| panic!("{printed}"));
    let code: i32 = code.parse().unwrap();
    let kib: u64 = kib.parse().unwrap();
    let text = std::fs::read_to_string(stderr.path()).unwrap();
    ((code >= 0).then_some(code), text, kib / 1024)
}

/// What a measured run gave: exit code, output, peak resident memory in MiB.
type Measured = (Option<i32>, String, u64);

/// The run on the hostile zip failed naming the manifest's size, and peaked at
/// less than 100 MiB above the run on a small package.
fn compare(what: &str, baseline: Measured, attack: Measured) {
    let (code, log, base) = baseline;
    assert_eq!(code, Some(0), "{what} of a small package: {log}");
    let (code, log, peak) = attack;
    eprintln!("{what}: peak {base} MiB for a small package, {peak} MiB for the huge manifest");
    assert_ne!(code, Some(0), "{what} accepted the huge manifest: {log}");
    assert!(
        log.contains("manifest.yml") && log.contains("bigger than expected (5MB)")
            || log.contains("larger than the 5242880 bytes allowed"),
        "{what}: {log}"
    );
    assert!(
        peak < base + 100,
        "{what}: peak {peak} MiB against {base} MiB for a small package"
    );
}

/// A zip of a package whose `manifest.yml` holds `comment_mib` MiB of comment lines
/// after its fields: small compressed, huge to parse.
fn zip_with_huge_manifest(dir: &Path, comment_mib: usize) -> PathBuf {
    let path = dir.join("huge-1.0.0.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default().compression_level(Some(1));
    zip.start_file("huge-1.0.0/manifest.yml", options).unwrap();
    write!(
        zip,
        "format_version: 3.0.0\nname: huge\nversion: 1.0.0\ntitle: T\ndescription: D\ntype: integration\n"
    )
    .unwrap();
    let line = "# a comment that takes room but means nothing at all, over and over\n";
    let block = line.repeat(1024 * 1024 / line.len());
    for _ in 0..comment_mib {
        zip.write_all(block.as_bytes()).unwrap();
    }
    zip.start_file("huge-1.0.0/docs/README.md", options)
        .unwrap();
    writeln!(zip, "# huge").unwrap();
    zip.finish().unwrap();
    path
}

/// A manifest over the YAML limit is refused before it is read: validate, the
/// server's load and publish each stay under 100 MiB above what a small package
/// costs them (a 200 MB manifest took them to 1.7 GB before).
#[test]
fn a_huge_manifest_is_refused_before_it_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let hostile_dir = tmp.path().join("hostile");
    let small_dir = tmp.path().join("small");
    std::fs::create_dir_all(&hostile_dir).unwrap();
    std::fs::create_dir_all(&small_dir).unwrap();
    let hostile = zip_with_huge_manifest(&hostile_dir, 64);
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/source/hello_logs");
    let small = epr_spec::build::build(&source, &small_dir).unwrap();
    let signer = signer(tmp.path(), "Trusted");

    let validate = |zip: &Path| {
        let mut c = bin();
        c.arg("validate").arg(zip);
        run_measured(c)
    };
    let serve = |dir: &Path| {
        let config = write_config(dir, &[dir]);
        let mut c = bin();
        c.args(["--config", config.to_str().unwrap()])
            .args(["--require-package-signatures=false", "--dry-run"]);
        run_measured(c)
    };
    let publish = |zip: &Path| {
        sign_beside(&signer, zip);
        run_measured(publish_command(
            &tmp.path().join("bucket"),
            &signer.keyring,
            zip,
        ))
    };
    compare("validate", validate(&small), validate(&hostile));
    compare("serve", serve(&small_dir), serve(&hostile_dir));
    compare("publish", publish(&small), publish(&hostile));
}

/// Writes a zip package `name`-1.0.0 whose `docs/big.bin` is `mib` MiB of zeros:
/// a few hundred KiB on disk.
fn zip_with_big_file(dir: &Path, name: &str, mib: usize) -> PathBuf {
    let path = dir.join(format!("{name}-1.0.0.zip"));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default().large_file(mib >= 4096);
    zip.start_file(format!("{name}-1.0.0/manifest.yml"), options)
        .unwrap();
    write!(
        zip,
        "format_version: 3.0.0\nname: {name}\nversion: 1.0.0\ntitle: T\ndescription: D\ntype: integration\n"
    )
    .unwrap();
    zip.start_file(format!("{name}-1.0.0/docs/README.md"), options)
        .unwrap();
    writeln!(zip, "# {name}").unwrap();
    zip.start_file(format!("{name}-1.0.0/docs/big.bin"), options)
        .unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..mib {
        zip.write_all(&zeros).unwrap();
    }
    zip.finish().unwrap();
    path
}

/// The peak resident memory of a running process, in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024
}

/// A package whose file is larger than a package file may be (150 MiB) is
/// refused when loading, as validate and publish refuse it (the server loaded a
/// 247 KB zip holding a 240 MiB file before).
#[test]
fn the_server_refuses_what_validate_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    zip_with_big_file(tmp.path(), "bomb", 240);
    let config = write_config(tmp.path(), &[tmp.path()]);
    let out = bin()
        .args(["--config", config.to_str().unwrap()])
        .args(["--require-package-signatures=false", "--dry-run"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains(
            "docs/big.bin is 251658240 bytes, more than the 157286400 bytes a package file may hold"
        ),
        "{log}"
    );
}

/// A large file inside a zip is inflated as it is sent: six clients downloading
/// a 100 MiB file at once cost the server less than 100 MiB (each inflated it
/// whole before: 1.49 GB for six).
#[test]
fn large_files_are_streamed_not_inflated_whole() {
    const MIB: usize = 100;
    let tmp = tempfile::tempdir().unwrap();
    zip_with_big_file(tmp.path(), "large", MIB);
    let config = write_config(tmp.path(), &[tmp.path()]);
    let port = free_port();
    let server = start(&config, port, &[]);
    let before = peak_rss_mib(server.0.id());
    let downloads: Vec<_> = (0..6)
        .map(|_| {
            std::thread::spawn(move || {
                http_download(port, "/package/large/1.0.0/docs/big.bin").map(|b| b.len())
            })
        })
        .collect();
    for d in downloads {
        assert_eq!(d.join().unwrap(), Some(MIB << 20), "a whole download");
    }
    let peak = peak_rss_mib(server.0.id());
    eprintln!("peak {peak} MiB after six downloads of {MIB} MiB, {before} MiB before");
    assert!(peak < before + 100, "peak {peak} MiB, {before} MiB before");
}

/// `publish` refuses a candidate over `--max-zip-bytes` from its size, before
/// reading it (a 300 MB zip took it to 306 MB before the refusal).
#[test]
fn publish_refuses_a_huge_candidate_before_reading_it() {
    let tmp = tempfile::tempdir().unwrap();
    let signer = signer(tmp.path(), "Trusted");
    let zip = tmp.path().join("huge-1.0.0.zip");
    // Sparse: 300 MiB that take no disk.
    std::fs::File::create(&zip)
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    let command = publish_command(&tmp.path().join("bucket"), &signer.keyring, &zip);
    let (code, log, peak) = run_measured(command);
    eprintln!("publish of a 300 MiB candidate: peak {peak} MiB");
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("314572800 bytes, more than the 104857600 bytes a candidate may have"),
        "{log}"
    );
    assert!(peak < 100, "peak {peak} MiB");
}

/// CONNECT over a real connection gets an answer (it got none before: hyper
/// takes a 2xx to CONNECT for an opened tunnel and sends no body).
#[test]
fn connect_gets_an_answer_on_the_wire() {
    use std::io::Read;
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), &[&examples()]);
    let port = free_port();
    let _server = start(&config, port, &[]);
    for target in ["/search", "example.com:443"] {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        write!(s, "CONNECT {target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut answer = vec![0u8; 512];
        let n = s.read(&mut answer).unwrap_or(0);
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(
            answer.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
            "CONNECT {target}: {answer:?}"
        );
    }
}

/// A manifest that is not UTF-8 is refused by validate, the server and publish
/// alike (it was accepted and published with `�` in the index before, while the
/// stored manifest kept the raw bytes).
#[test]
fn a_manifest_that_is_not_utf8_is_refused_everywhere() {
    use std::io::Read;
    let tmp = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/source/hello_logs");
    let built = epr_spec::build::build(&source, &tmp.path().join("built")).unwrap();
    let dir = tmp.path().join("packages");
    std::fs::create_dir_all(&dir).unwrap();
    let zip_path = dir.join(built.file_name().unwrap());
    let mut from = zip::ZipArchive::new(std::fs::File::open(&built).unwrap()).unwrap();
    let mut to = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    for i in 0..from.len() {
        let mut entry = from.by_index(i).unwrap();
        let name = entry.name().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if name.ends_with("-1.0.0/manifest.yml") {
            // "Café" in Latin-1: not UTF-8.
            let text = String::from_utf8(bytes).unwrap();
            let (before, after) = text.split_once("title: ").unwrap();
            bytes = [before.as_bytes(), b"title: Caf\xe9 ", after.as_bytes()].concat();
        }
        to.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        to.write_all(&bytes).unwrap();
    }
    to.finish().unwrap();
    let signer = signer(tmp.path(), "Trusted");
    sign_beside(&signer, &zip_path);
    let config = write_config(tmp.path(), &[&dir]);

    let validate = bin().arg("validate").arg(&zip_path).output().unwrap();
    let serve = bin()
        .args(["--config", config.to_str().unwrap()])
        .args(["--require-package-signatures=false", "--dry-run"])
        .output()
        .unwrap();
    let publish = publish_command(&tmp.path().join("bucket"), &signer.keyring, &zip_path)
        .output()
        .unwrap();
    for (what, out) in [
        ("validate", validate),
        ("serve", serve),
        ("publish", publish),
    ] {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{what} accepted it: {text}");
        assert!(
            text.contains("manifest.yml") && text.contains("invalid UTF-8 at byte"),
            "{what}: {text}"
        );
    }
    // Nothing published: no index, no artifact (the refusal's audit event aside).
    let bucket = tmp.path().join("bucket");
    assert!(!bucket.join("v2/metadata").exists(), "nothing published");
    assert!(!bucket.join("artifacts").exists(), "nothing published");
    assert!(
        bucket.join("v2/events").exists(),
        "the refusal is in the audit trail"
    );
}

/// Rewrites the uncompressed size that the local and central headers of entry
/// `name` declare.
fn declare_entry_size(bytes: &mut [u8], name: &str, size: u32) {
    let mut patched = 0;
    for i in 0..bytes.len().saturating_sub(46) {
        let sig = &bytes[i..i + 4];
        let (size_at, name_len_at, name_at) = if sig == [0x50, 0x4b, 0x03, 0x04] {
            (22, 26, 30)
        } else if sig == [0x50, 0x4b, 0x01, 0x02] {
            (24, 28, 46)
        } else {
            continue;
        };
        let len = u16::from_le_bytes([bytes[i + name_len_at], bytes[i + name_len_at + 1]]) as usize;
        if bytes.get(i + name_at..i + name_at + len) == Some(name.as_bytes()) {
            bytes[i + size_at..i + size_at + 4].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "the local and the central header of {name}");
}

/// A zip whose entry lies about its size gets one verdict: `validate` refuses it
/// as `publish` does (validate said valid before).
#[test]
fn validate_and_publish_agree_on_a_lying_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/source/hello_logs");
    let zip = epr_spec::build::build(&source, &tmp.path().join("built")).unwrap();
    let readme = "hello_logs-1.0.0/docs/README.md";
    let actual = {
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
        archive.by_name(readme).unwrap().size() as u32
    };
    let mut bytes = std::fs::read(&zip).unwrap();
    declare_entry_size(&mut bytes, readme, actual + 1);
    std::fs::write(&zip, &bytes).unwrap();
    let signer = signer(tmp.path(), "Trusted");
    sign_beside(&signer, &zip);

    let validate = bin().arg("validate").arg(&zip).output().unwrap();
    let publish = publish_command(&tmp.path().join("bucket"), &signer.keyring, &zip)
        .output()
        .unwrap();
    for (what, out) in [("validate", validate), ("publish", publish)] {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "{what}: {text}");
        assert!(
            text.contains("docs/README.md") && text.contains("does not match its declared size"),
            "{what}: {text}"
        );
    }
}

/// Under `ulimit -n 256`, 400 connections that never send a request neither
/// exhaust the descriptors nor keep `/health` waiting past the timeouts, and the
/// full house is logged (before: /health timed out for as long as they were held,
/// with nothing logged).
#[test]
fn idle_connections_cannot_starve_health_checks() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), &[&examples()]);
    let port = free_port();
    let log = tmp.path().join("log");
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "ulimit -n 256 && exec {} \"$@\" 2>{}",
            env!("CARGO_BIN_EXE_package-registry"),
            log.display()
        ))
        .arg("package-registry")
        .args(["--config", config.to_str().unwrap()])
        .arg("--require-package-signatures=false")
        .args(["--read-header-timeout", "1s", "--idle-timeout", "2s"]);
    let _server = start_command(command, port);
    let idle: Vec<_> = (0..400)
        .filter_map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    assert!(idle.len() > 300, "{} connections opened", idle.len());
    let started = std::time::Instant::now();
    assert!(
        wait_for_status(port, "/health", 200),
        "/health never answered"
    );
    let waited = started.elapsed();
    assert!(
        waited < std::time::Duration::from_secs(10),
        "/health waited {waited:?}"
    );
    drop(idle);
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("--max-connections lowered to fit the open-files limit"),
        "{log}"
    );
    assert!(log.contains("every connection slot is in use"), "{log}");
    assert!(!log.contains("Too many open files"), "{log}");
}

/// Writes a zip of package `name`-`version` with `files` more files under
/// `docs/`, and a folder package `<name>_dir` of the same version with a tenth
/// of them.
fn write_package_with_files(dir: &Path, name: &str, version: &str, files: usize) {
    let doc = |i: usize| format!("docs/a-file-with-a-name-of-a-usual-length-{i:04}.md");
    let package = |name: &str, files: usize| {
        let readme = format!("# {name} {version}\n");
        (0..files).fold(
            PackageBuilder::new(name, version).file("docs/README.md", readme),
            |package, i| package.file(doc(i), ""),
        )
    };
    package(name, files).write_zip(&dir.join("zips"));
    // The folder is another package: the zip's would hide it.
    package(&format!("{name}_dir"), files / 10).write_folder(&dir.join("folders"));
}

/// A served folder or zip package costs its summary, not its file list: 300
/// versions as zips of 502 files (150,600 zip entries) and 300 as folders of 52
/// files take the server less than 16 MiB above one version of each: 3 MiB in
/// the release build (141 MiB before, when each zip kept its central directory
/// and file list, and each package its full document). Their files and documents
/// are still served.
#[test]
fn served_packages_keep_no_file_list() {
    const VERSIONS: usize = 300;
    const FILES: usize = 500;
    let tmp = tempfile::tempdir().unwrap();
    let (one, many) = (tmp.path().join("one"), tmp.path().join("many"));
    for dir in [&one, &many] {
        std::fs::create_dir_all(dir.join("zips")).unwrap();
        std::fs::create_dir_all(dir.join("folders")).unwrap();
    }
    write_package_with_files(&one, "big", "1.0.0", FILES);
    for i in 0..VERSIONS {
        write_package_with_files(&many, "big", &format!("1.0.{i}"), FILES);
    }
    let peak_at_ready = |dir: &Path| {
        let config = write_config(dir, &[&dir.join("zips"), &dir.join("folders")]);
        let port = free_port();
        let server = start(&config, port, &[]);
        (peak_rss_mib(server.0.id()), server, port)
    };
    let (baseline, _one, _) = peak_at_ready(&one);
    let (peak, _many, port) = peak_at_ready(&many);
    eprintln!("peak at ready {peak} MiB with {VERSIONS} versions, {baseline} MiB with one");
    assert!(
        peak < baseline + 16,
        "peak {peak} MiB with {VERSIONS} versions, {baseline} MiB with one"
    );
    let (status, body) = http_get(port, "/search?all=true").unwrap();
    assert_eq!(status, 200);
    for name in ["big", "big_dir"] {
        assert_eq!(
            body.matches(&format!("\"name\": \"{name}\"")).count(),
            VERSIONS
        );
        for version in ["1.0.0", "1.0.150", "1.0.299"] {
            let path = format!("/package/{name}/{version}/");
            let (status, readme) = http_get(port, &format!("{path}docs/README.md")).unwrap();
            assert_eq!((status, readme), (200, format!("# {name} {version}\n")));
            let (status, document) = http_get(port, &path).unwrap();
            assert_eq!(status, 200, "{document}");
            assert!(
                document.contains(&format!("\"version\": \"{version}\"")),
                "{document}"
            );
            assert!(
                document.contains(&format!("\"name\": \"{name}\"")),
                "{document}"
            );
        }
    }
}
