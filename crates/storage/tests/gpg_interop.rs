//! Interoperability of `epr_storage::signature` with GnuPG, which Elastic's signing pipeline
//! uses: signatures made by gpg verify here, and signatures made here verify with
//! `gpg --verify`, for RSA and Ed25519 keys, with and without a passphrase, and with a
//! signing subkey.
//!
//! The last tests do the same with Go's github.com/ProtonMail/go-crypto/openpgp, the library
//! under GopenPGP that elastic-package signs and verifies with, through the small program in
//! `tests/go-verify/` (built with the machine's Go; modules come from the Go module proxy).
//!
//! Each test runs gpg in its own temporary GNUPGHOME. Without `gpg` (or `go`) on PATH a test
//! prints "skipped: gpg not installed" and passes, except under CI (`CI` set), where it fails
//! so that a missing install cannot pass silently.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use epr_storage::signature::{
    KeyKind, Keyring, SecretKey, VerifyError, generate_key, sign_detached,
};

const DATA: &[u8] = b"PK\x03\x04 pretend this is nginx-1.2.0.zip \x00\x01\x02\xff\r\n";

/// A GnuPG home of its own; the agent it starts is stopped when dropped.
struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    /// A fresh gpg, or `None` (after saying so) when gpg is not installed outside CI.
    fn new(test: &str) -> Option<Gpg> {
        if !installed(test, "gpg", "--version", "apt-get install -y gnupg") {
            return None;
        }
        // Short path: the agent's socket lives in GNUPGHOME, and socket paths are limited.
        let home = tempfile::Builder::new()
            .prefix("gpg")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir_in("/tmp")
            .expect("temp GNUPGHOME");
        Some(Gpg { home })
    }

    fn dir(&self) -> &Path {
        self.home.path()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("gpg")
            .env("GNUPGHOME", self.dir())
            .args(["--batch", "--no-tty", "--pinentry-mode", "loopback"])
            .args(args)
            .output()
            .expect("run gpg")
    }

    /// Runs gpg, fails the test when it fails; returns stdout.
    fn ok(&self, args: &[&str]) -> Vec<u8> {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "gpg {args:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn text(&self, args: &[&str]) -> String {
        String::from_utf8(self.ok(args)).expect("gpg output is UTF-8")
    }

    /// `gpg --quick-gen-key UID ALGO USAGE EXPIRE` with `passphrase` ("" for none); returns
    /// the primary key's fingerprint.
    fn gen_key(&self, uid: &str, algo: &str, usage: &str, passphrase: &str) -> String {
        self.ok(&[
            "--passphrase",
            passphrase,
            "--quick-gen-key",
            uid,
            algo,
            usage,
            "never",
        ]);
        self.fingerprints(uid).remove(0)
    }

    /// Fingerprints of the primary key and subkeys matching `who`, primary first.
    fn fingerprints(&self, who: &str) -> Vec<String> {
        self.text(&["--with-colons", "--list-keys", who])
            .lines()
            .filter(|line| line.starts_with("fpr:"))
            .filter_map(|line| line.split(':').nth(9).map(str::to_string))
            .collect()
    }

    fn export_public(&self, who: &[&str]) -> String {
        let mut args = vec!["--armor", "--export"];
        args.extend(who);
        self.text(&args)
    }

    fn export_secret(&self, who: &str, passphrase: &str) -> String {
        self.text(&[
            "--passphrase",
            passphrase,
            "--armor",
            "--export-secret-keys",
            who,
        ])
    }

    /// `gpg --detach-sign --armor` over `data`; returns the signature file's bytes.
    fn detach_sign(&self, who: &str, passphrase: &str, data: &[u8]) -> Vec<u8> {
        let file = self.path("signed-by-gpg.zip");
        std::fs::write(&file, data).expect("write data");
        let sig = self.path("signed-by-gpg.zip.asc");
        let _ = std::fs::remove_file(&sig);
        self.ok(&[
            "--passphrase",
            passphrase,
            "--local-user",
            who,
            "--armor",
            "--output",
            path_str(&sig),
            "--detach-sign",
            path_str(&file),
        ]);
        std::fs::read(&sig).expect("read gpg's signature")
    }

    /// `gpg --verify SIG DATA`: whether gpg accepts, and what it said.
    fn verify(&self, signature: &str, data: &[u8]) -> (bool, String) {
        let file = self.path("to-verify.zip");
        let sig = self.path("to-verify.zip.sig");
        std::fs::write(&file, data).expect("write data");
        std::fs::write(&sig, signature).expect("write signature");
        let out = self.run(&["--verify", path_str(&sig), path_str(&file)]);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Whether `tool` runs; when it does not, fails under CI (`CI` set) and otherwise says the
/// test is skipped.
fn installed(test: &str, tool: &str, version_flag: &str, install: &str) -> bool {
    let runs = Command::new(tool)
        .arg(version_flag)
        .output()
        .is_ok_and(|o| o.status.success());
    if !runs {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is not installed, and CI is set: install it ({install})"
        );
        // Straight to stderr, past the test harness's capture, so that the skip shows.
        let _ = writeln!(std::io::stderr(), "{test}: skipped: {tool} not installed");
    }
    runs
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.dir())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

fn tampered(data: &[u8]) -> Vec<u8> {
    let mut changed = data.to_vec();
    changed[10] ^= 0x20;
    changed
}

// ---------------------------------------------------------------------------------------------
// gpg signs, we verify

fn gpg_signs_we_verify(test: &str, algo: &str) {
    let Some(gpg) = Gpg::new(test) else { return };
    let uid = format!("Signer {algo} <{algo}@example.com>");
    let fingerprint = gpg.gen_key(&uid, algo, "sign", "");
    let signature = gpg.detach_sign(&fingerprint, "", DATA);
    assert!(signature.starts_with(b"-----BEGIN PGP SIGNATURE-----"));

    let keyring = Keyring::from_armored(&gpg.export_public(&[&fingerprint])).unwrap();
    let signer = keyring.verify(DATA, &signature).unwrap();
    assert_eq!(signer.fingerprint, fingerprint);
    assert_eq!(signer.user_id.as_deref(), Some(uid.as_str()));

    let err = keyring.verify(&tampered(DATA), &signature).unwrap_err();
    assert!(matches!(err, VerifyError::Mismatch { .. }), "{err:?}");
    assert!(err.to_string().contains(&fingerprint), "{err}");
}

#[test]
fn gpg_rsa_signature_verifies() {
    gpg_signs_we_verify("gpg_rsa_signature_verifies", "rsa3072");
}

#[test]
fn gpg_ed25519_signature_verifies() {
    gpg_signs_we_verify("gpg_ed25519_signature_verifies", "ed25519");
}

/// Ed25519 signatures are two 32-byte numbers that gpg writes as MPIs, dropping leading zero
/// bytes, so about one signature in 128 has a short number that must be padded back. Sign
/// until gpg makes such a signature (about 5 s; 1000 tries miss with odds of 1 in 2500).
#[test]
fn gpg_ed25519_signatures_with_short_numbers_verify() {
    let Some(gpg) = Gpg::new("gpg_ed25519_signatures_with_short_numbers_verify") else {
        return;
    };
    let fingerprint = gpg.gen_key("Many <many@example.com>", "ed25519", "sign", "");
    let keyring = Keyring::from_armored(&gpg.export_public(&[&fingerprint])).unwrap();
    for i in 0..1000 {
        // Ed25519 is deterministic: different data for a different signature.
        let data = format!("package {i}");
        let signature = gpg.detach_sign(&fingerprint, "", data.as_bytes());
        if let Err(e) = keyring.verify(data.as_bytes(), &signature) {
            panic!(
                "signature {i}: {e}\n{}",
                String::from_utf8_lossy(&signature)
            );
        }
        if has_short_number(&signature) {
            eprintln!("signature {i} has a short number, and verified");
            return;
        }
    }
    eprintln!("no gpg signature with a short number in 1000 tries; all verified");
}

fn has_short_number(armored: &[u8]) -> bool {
    use pgp::composed::{Deserializable, DetachedSignature};
    use pgp::types::SignatureBytes;
    let text = std::str::from_utf8(armored).expect("armored signature");
    let (parsed, _) = DetachedSignature::from_string(text).expect("gpg signature parses");
    match parsed.signature.signature() {
        Some(SignatureBytes::Mpis(numbers)) => numbers.iter().any(|n| n.as_ref().len() < 32),
        _ => false,
    }
}

#[test]
fn keyring_from_one_gpg_export_of_several_keys() {
    let Some(gpg) = Gpg::new("keyring_from_one_gpg_export_of_several_keys") else {
        return;
    };
    let first = gpg.gen_key("First <first@example.com>", "ed25519", "sign", "");
    let second = gpg.gen_key("Second <second@example.com>", "rsa2048", "sign", "");
    // One armored block holding both keys.
    let export = gpg.export_public(&[&first, &second]);
    assert_eq!(
        export
            .matches("-----BEGIN PGP PUBLIC KEY BLOCK-----")
            .count(),
        1
    );
    let keyring = Keyring::from_armored(&export).unwrap();
    assert_eq!(keyring.fingerprints(), vec![first.clone(), second.clone()]);
    for fingerprint in [&first, &second] {
        let signature = gpg.detach_sign(fingerprint, "", DATA);
        assert_eq!(
            &keyring.verify(DATA, &signature).unwrap().fingerprint,
            fingerprint
        );
    }
    // Binary export works as well.
    let binary = gpg.ok(&["--export", &first, &second]);
    assert_eq!(
        Keyring::from_bytes(&binary).unwrap().fingerprints().len(),
        2
    );
}

// ---------------------------------------------------------------------------------------------
// We sign, gpg verifies

fn we_sign_gpg_verifies(test: &str, algo: &str, passphrase: &str) {
    let Some(gpg) = Gpg::new(test) else { return };
    let fingerprint = gpg.gen_key(
        &format!("Ours <{algo}@example.com>"),
        algo,
        "sign",
        passphrase,
    );
    let exported = gpg.export_secret(&fingerprint, passphrase);
    assert!(exported.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));

    let passphrase = (!passphrase.is_empty()).then_some(passphrase);
    let key = SecretKey::from_armored(&exported, passphrase).unwrap();
    assert_eq!(key.fingerprint(), fingerprint);
    let signature = sign_detached(&key, DATA).unwrap();

    let (good, said) = gpg.verify(&signature, DATA);
    assert!(good, "gpg refused our signature:\n{said}");
    assert!(said.contains("Good signature"), "{said}");
    assert!(
        said.contains(&fingerprint),
        "gpg should name the signer:\n{said}"
    );

    let (good, said) = gpg.verify(&signature, &tampered(DATA));
    assert!(!good, "gpg accepted a signature over changed data:\n{said}");
    assert!(said.contains("BAD signature"), "{said}");
}

#[test]
fn our_rsa_signature_verifies_with_gpg() {
    we_sign_gpg_verifies("our_rsa_signature_verifies_with_gpg", "rsa3072", "");
}

#[test]
fn our_ed25519_signature_verifies_with_gpg() {
    we_sign_gpg_verifies("our_ed25519_signature_verifies_with_gpg", "ed25519", "");
}

#[test]
fn our_signature_with_a_passphrase_protected_rsa_key() {
    we_sign_gpg_verifies(
        "our_signature_with_a_passphrase_protected_rsa_key",
        "rsa2048",
        "correct horse",
    );
}

#[test]
fn our_signature_with_a_passphrase_protected_ed25519_key() {
    we_sign_gpg_verifies(
        "our_signature_with_a_passphrase_protected_ed25519_key",
        "ed25519",
        "correct horse",
    );
}

#[test]
fn passphrase_errors_with_a_gpg_key() {
    let Some(gpg) = Gpg::new("passphrase_errors_with_a_gpg_key") else {
        return;
    };
    let fingerprint = gpg.gen_key("Locked <locked@example.com>", "ed25519", "sign", "pw");
    let exported = gpg.export_secret(&fingerprint, "pw");
    let missing = SecretKey::from_armored(&exported, None).unwrap_err();
    assert!(
        missing.to_string().contains("protected by a passphrase"),
        "{missing}"
    );
    assert!(missing.to_string().contains(&fingerprint), "{missing}");
    let wrong = SecretKey::from_armored(&exported, Some("nope")).unwrap_err();
    assert!(wrong.to_string().contains("does not unlock"), "{wrong}");
}

// ---------------------------------------------------------------------------------------------
// Keys made here, used by gpg

#[test]
fn our_generated_keys_work_in_gpg() {
    let Some(gpg) = Gpg::new("our_generated_keys_work_in_gpg") else {
        return;
    };
    for kind in [KeyKind::Ed25519, KeyKind::Rsa2048] {
        let (secret, public) =
            generate_key(&format!("Made here {kind:?} <x@example.com>"), kind).unwrap();
        let public_file = gpg.path("ours.asc");
        std::fs::write(&public_file, &public).expect("write public key");
        gpg.ok(&["--import", path_str(&public_file)]);

        let key = SecretKey::from_armored(&secret, None).unwrap();
        let signature = sign_detached(&key, DATA).unwrap();
        let (good, said) = gpg.verify(&signature, DATA);
        assert!(good, "{kind:?}: gpg refused:\n{said}");
        assert!(said.contains(key.fingerprint()), "{said}");
        let (good, _) = gpg.verify(&signature, &tampered(DATA));
        assert!(!good, "{kind:?}: gpg accepted changed data");

        // And gpg takes our secret key too, and signs with it.
        let secret_file = gpg.path("ours-secret.asc");
        std::fs::write(&secret_file, &secret).expect("write secret key");
        gpg.ok(&["--import", path_str(&secret_file)]);
        let by_gpg = gpg.detach_sign(key.fingerprint(), "", DATA);
        let keyring = Keyring::from_armored(&public).unwrap();
        assert_eq!(
            keyring.verify(DATA, &by_gpg).unwrap().fingerprint,
            key.fingerprint()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Signing subkeys, revoked and expired keys

#[test]
fn signing_subkey_both_ways() {
    let Some(gpg) = Gpg::new("signing_subkey_both_ways") else {
        return;
    };
    // A certify-only primary key with a signing subkey, as careful key owners set up.
    let primary = gpg.gen_key("Sub <sub@example.com>", "ed25519", "cert", "");
    gpg.ok(&[
        "--passphrase",
        "",
        "--quick-add-key",
        &primary,
        "ed25519",
        "sign",
        "never",
    ]);
    let subkey = gpg.fingerprints(&primary).remove(1);
    let keyring = Keyring::from_armored(&gpg.export_public(&[&primary])).unwrap();

    // gpg signs with the subkey.
    let signature = gpg.detach_sign(&primary, "", DATA);
    let signer = keyring.verify(DATA, &signature).unwrap();
    assert_eq!(signer.fingerprint, primary);
    assert_eq!(signer.subkey_fingerprint.as_deref(), Some(subkey.as_str()));

    // We sign with the subkey, from a full export and from `--export-secret-subkeys` (where
    // the primary's secret is left out).
    for export in ["--export-secret-keys", "--export-secret-subkeys"] {
        let exported = gpg.text(&["--passphrase", "", "--armor", export, &primary]);
        let key =
            SecretKey::from_armored(&exported, None).unwrap_or_else(|e| panic!("{export}: {e}"));
        let ours = sign_detached(&key, DATA).unwrap();
        let (good, said) = gpg.verify(&ours, DATA);
        assert!(good, "{export}: gpg refused:\n{said}");
        let signer = keyring.verify(DATA, ours.as_bytes()).unwrap();
        assert_eq!(signer.subkey_fingerprint.as_deref(), Some(subkey.as_str()));
    }
}

#[test]
fn revoked_key_is_refused() {
    let Some(gpg) = Gpg::new("revoked_key_is_refused") else {
        return;
    };
    let fingerprint = gpg.gen_key("Revoked <revoked@example.com>", "ed25519", "sign", "");
    let signature = gpg.detach_sign(&fingerprint, "", DATA);
    // gpg leaves a revocation certificate, its armor line escaped with ':' against accidents.
    let certificate = gpg
        .dir()
        .join("openpgp-revocs.d")
        .join(format!("{fingerprint}.rev"));
    let text = std::fs::read_to_string(&certificate).expect("gpg's revocation certificate");
    let unescaped = text.replace(":-----BEGIN PGP", "-----BEGIN PGP");
    let revocation = gpg.path("revocation.asc");
    std::fs::write(&revocation, unescaped).expect("write revocation");
    gpg.ok(&["--import", path_str(&revocation)]);

    let keyring = Keyring::from_armored(&gpg.export_public(&[&fingerprint])).unwrap();
    let err = keyring.verify(DATA, &signature).unwrap_err();
    assert!(matches!(err, VerifyError::KeyRevoked { .. }), "{err:?}");
    assert!(err.to_string().contains("revoked"), "{err}");
}

#[test]
fn signature_made_after_the_key_expired_is_refused() {
    let Some(gpg) = Gpg::new("signature_made_after_the_key_expired_is_refused") else {
        return;
    };
    // A key made in 2020 that expired a day later; we sign with it today.
    gpg.ok(&[
        "--faked-system-time",
        "20200101T000000",
        "--passphrase",
        "",
        "--quick-gen-key",
        "Expired <expired@example.com>",
        "ed25519",
        "sign",
        "1d",
    ]);
    let fingerprint = gpg.fingerprints("expired@example.com").remove(0);
    let key = SecretKey::from_armored(&gpg.export_secret(&fingerprint, ""), None).unwrap();
    let signature = sign_detached(&key, DATA).unwrap();

    let keyring = Keyring::from_armored(&gpg.export_public(&[&fingerprint])).unwrap();
    let err = keyring.verify(DATA, signature.as_bytes()).unwrap_err();
    assert!(matches!(err, VerifyError::KeyExpired { .. }), "{err:?}");
    assert!(err.to_string().contains("2020-01-02"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Go's openpgp (GopenPGP, elastic-package)

/// Builds `tests/go-verify` into `dir`; `None` (after saying so) when Go is not installed
/// outside CI.
fn build_go_verify(test: &str, dir: &Path) -> Option<PathBuf> {
    if !installed(test, "go", "version", "install Go") {
        return None;
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go-verify");
    let binary = dir.join("go-verify");
    let out = Command::new("go")
        .current_dir(&source)
        .args(["build", "-buildvcs=false", "-o"])
        .arg(&binary)
        .arg(".")
        .output()
        .expect("run go build");
    assert!(
        out.status.success(),
        "go build of {} failed:\n{}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(binary)
}

fn go_verify(binary: &Path, keyring: &Path, data: &Path, signature: &Path) -> Output {
    Command::new(binary)
        .arg("verify")
        .args([keyring, data, signature])
        .output()
        .expect("run go-verify")
}

#[test]
fn go_openpgp_interop() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(go_verify_bin) = build_go_verify("go_openpgp_interop", dir.path()) else {
        return;
    };
    let path = |name: &str| dir.path().join(name);
    for kind in [KeyKind::Ed25519, KeyKind::Rsa2048] {
        let (secret, public) = generate_key("Go interop <go@example.com>", kind).unwrap();
        let key = SecretKey::from_armored(&secret, None).unwrap();
        std::fs::write(path("public.asc"), &public).unwrap();
        std::fs::write(path("secret.asc"), &secret).unwrap();
        std::fs::write(path("pkg.zip"), DATA).unwrap();
        std::fs::write(path("changed.zip"), tampered(DATA)).unwrap();

        // We sign, Go verifies.
        std::fs::write(path("pkg.zip.sig"), sign_detached(&key, DATA).unwrap()).unwrap();
        let out = go_verify(
            &go_verify_bin,
            &path("public.asc"),
            &path("pkg.zip"),
            &path("pkg.zip.sig"),
        );
        assert!(
            out.status.success(),
            "{kind:?}: Go refused our signature: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            key.fingerprint()
        );
        let out = go_verify(
            &go_verify_bin,
            &path("public.asc"),
            &path("changed.zip"),
            &path("pkg.zip.sig"),
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{kind:?}: Go accepted changed data"
        );

        // Go signs, we verify.
        let out = Command::new(&go_verify_bin)
            .arg("sign")
            .args([path("secret.asc"), path("pkg.zip")])
            .output()
            .expect("run go-verify sign");
        assert!(
            out.status.success(),
            "{kind:?}: Go could not sign with our key: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let keyring = Keyring::from_armored(&public).unwrap();
        let signer = keyring.verify(DATA, &out.stdout).unwrap();
        assert_eq!(signer.fingerprint, key.fingerprint());
        assert!(matches!(
            keyring.verify(&tampered(DATA), &out.stdout),
            Err(VerifyError::Mismatch { .. })
        ));
    }
}
