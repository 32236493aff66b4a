//! `package-registry sign` and `package-registry verify`, end to end through the binary.
//! Keys are generated for each test (never committed).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use epr_storage::signature::{KeyKind, generate_key, generate_protected_key};

const ZIP_BYTES: &[u8] = b"PK\x03\x04 not really a zip, but signatures do not care \x00\xff";

fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_package-registry"));
    // The tests choose when a passphrase comes from the environment.
    command.env_remove("EPR_SIGNER_PASSPHRASE");
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("run package-registry")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A key pair written as `{name}-secret.asc` / `{name}-public.asc`; returns the paths and
/// the fingerprint (read back from the public key).
struct KeyFiles {
    secret: PathBuf,
    public: PathBuf,
    fingerprint: String,
}

fn write_keys(dir: &Path, name: &str, passphrase: Option<&str>) -> KeyFiles {
    let uid = format!("{name} <{name}@example.com>");
    let (secret, public) = match passphrase {
        None => generate_key(&uid, KeyKind::Ed25519),
        Some(p) => generate_protected_key(&uid, KeyKind::Ed25519, Some(p)),
    }
    .unwrap();
    let fingerprint = epr_storage::signature::Keyring::from_armored(&public)
        .unwrap()
        .fingerprints()
        .remove(0);
    let files = KeyFiles {
        secret: dir.join(format!("{name}-secret.asc")),
        public: dir.join(format!("{name}-public.asc")),
        fingerprint,
    };
    std::fs::write(&files.secret, secret).unwrap();
    std::fs::write(&files.public, public).unwrap();
    files
}

fn write_zip(dir: &Path, name: &str) -> PathBuf {
    let zip = dir.join(name);
    std::fs::write(&zip, ZIP_BYTES).unwrap();
    zip
}

fn sign(key: &KeyFiles, zips: &[&Path]) -> Output {
    run(bin().arg("sign").arg("--key").arg(&key.secret).args(zips))
}

fn verify(keyring: &Path, zip: &Path) -> Output {
    run(bin().arg("verify").arg("--keyring").arg(keyring).arg(zip))
}

#[test]
fn sign_then_verify() {
    let dir = tempfile::tempdir().unwrap();
    let key = write_keys(dir.path(), "alice", None);
    let zip = write_zip(dir.path(), "nginx-1.2.0.zip");

    let out = sign(&key, &[&zip]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("nginx-1.2.0.zip.sig"),
        "{}",
        stdout(&out)
    );
    let signature = std::fs::read_to_string(dir.path().join("nginx-1.2.0.zip.sig")).unwrap();
    assert!(signature.starts_with("-----BEGIN PGP SIGNATURE-----"));

    let out = verify(&key.public, &zip);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim_end(),
        format!(
            "{}: good signature from {} (alice <alice@example.com>)",
            zip.display(),
            key.fingerprint
        )
    );

    // No temporary file is left behind.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "alice-public.asc",
            "alice-secret.asc",
            "nginx-1.2.0.zip",
            "nginx-1.2.0.zip.sig"
        ]
    );
}

#[test]
fn verify_with_an_explicit_signature_path_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let key = write_keys(dir.path(), "alice", None);
    let zip = write_zip(dir.path(), "pkg.zip");
    let elsewhere = dir.path().join("pkg.asc");
    let out = run(bin()
        .arg("sign")
        .arg("--key")
        .arg(&key.secret)
        .arg("--output")
        .arg(&elsewhere)
        .arg(&zip));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(elsewhere.exists() && !dir.path().join("pkg.zip.sig").exists());

    let out = run(bin()
        .arg("verify")
        .arg("--keyring")
        .arg(&key.public)
        .arg(&zip)
        .arg(&elsewhere));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn several_zips_each_get_a_signature() {
    let dir = tempfile::tempdir().unwrap();
    let key = write_keys(dir.path(), "alice", None);
    let a = write_zip(dir.path(), "a-1.0.0.zip");
    let b = write_zip(dir.path(), "b-2.0.0.zip");
    let out = sign(&key, &[&a, &b]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 2, "{}", stdout(&out));
    for zip in [&a, &b] {
        assert_eq!(verify(&key.public, zip).status.code(), Some(0));
    }

    // --output only makes sense for one zip.
    let out = run(bin()
        .arg("sign")
        .arg("--key")
        .arg(&key.secret)
        .arg("--output")
        .arg(dir.path().join("x.sig"))
        .arg(&a)
        .arg(&b));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--output"), "{}", stderr(&out));
}

#[test]
fn verify_with_another_keyring_names_the_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let alice = write_keys(dir.path(), "alice", None);
    let bob = write_keys(dir.path(), "bob", None);
    let zip = write_zip(dir.path(), "pkg.zip");
    assert!(sign(&alice, &[&zip]).status.success());

    let out = verify(&bob.public, &zip);
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(
        message.starts_with(&format!("{}: ", zip.display())),
        "{message}"
    );
    assert!(message.contains(&alice.fingerprint), "{message}");
    assert!(message.contains("not in the keyring"), "{message}");
}

#[test]
fn verify_a_changed_zip_fails() {
    let dir = tempfile::tempdir().unwrap();
    let key = write_keys(dir.path(), "alice", None);
    let zip = write_zip(dir.path(), "pkg.zip");
    assert!(sign(&key, &[&zip]).status.success());
    std::fs::write(&zip, b"PK\x03\x04 changed").unwrap();

    let out = verify(&key.public, &zip);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("BAD signature"), "{}", stderr(&out));
}

#[test]
fn missing_files_exit_2_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let key = write_keys(dir.path(), "alice", None);
    let zip = write_zip(dir.path(), "pkg.zip");

    let out = verify(&key.public, &zip);
    assert_eq!(out.status.code(), Some(2));
    let expected = dir.path().join("pkg.zip.sig");
    assert!(
        stderr(&out).contains(&expected.display().to_string()),
        "{}",
        stderr(&out)
    );

    let out = verify(&dir.path().join("nope.asc"), &zip);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope.asc"), "{}", stderr(&out));

    let out = sign(&key, &[&dir.path().join("missing.zip")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing.zip"), "{}", stderr(&out));
}

#[test]
fn garbage_signature_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = write_keys(dir.path(), "alice", None);
    let zip = write_zip(dir.path(), "pkg.zip");
    std::fs::write(dir.path().join("pkg.zip.sig"), "placeholder signature").unwrap();
    let out = verify(&key.public, &zip);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a valid OpenPGP signature"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn passphrase_from_file_or_environment() {
    let dir = tempfile::tempdir().unwrap();
    let key = write_keys(dir.path(), "carol", Some("hunter2"));
    let zip = write_zip(dir.path(), "pkg.zip");

    let out = sign(&key, &[&zip]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("passphrase"), "{}", stderr(&out));
    assert!(!dir.path().join("pkg.zip.sig").exists());

    let out = run(bin()
        .env("EPR_SIGNER_PASSPHRASE", "wrong")
        .arg("sign")
        .arg("--key")
        .arg(&key.secret)
        .arg(&zip));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not unlock"), "{}", stderr(&out));

    let out = run(bin()
        .env("EPR_SIGNER_PASSPHRASE", "hunter2")
        .arg("sign")
        .arg("--key")
        .arg(&key.secret)
        .arg(&zip));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(verify(&key.public, &zip).status.code(), Some(0));

    let passphrase_file = dir.path().join("passphrase");
    std::fs::write(&passphrase_file, "hunter2\n").unwrap();
    std::fs::remove_file(dir.path().join("pkg.zip.sig")).unwrap();
    let out = run(bin()
        .arg("sign")
        .arg("--key")
        .arg(&key.secret)
        .arg("--passphrase-file")
        .arg(&passphrase_file)
        .arg(&zip));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(verify(&key.public, &zip).status.code(), Some(0));
}

#[test]
fn help_documents_the_passphrase_variable() {
    let out = run(bin().args(["sign", "--help"]));
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("EPR_SIGNER_PASSPHRASE"),
        "{}",
        stdout(&out)
    );
}
