//! `package-registry sign` and `package-registry verify`: detached OpenPGP signatures of
//! package zips, the `{name}-{version}.zip.sig` files that Kibana and elastic-package check
//! (crate `epr-storage`, module `signature`).
//!
//! - `sign --key secret.asc [--passphrase-file F] [--output PATH] pkg.zip...` writes
//!   `pkg.zip.sig` beside each zip. Exit status: 0 all signed, 1 the key cannot be used
//!   (not a secret key, passphrase missing or wrong), 2 a file could not be read or written.
//! - `verify --keyring public.asc pkg.zip [pkg.zip.sig]`. Exit status: 0 good signature,
//!   1 bad or untrusted signature, 2 a file could not be read.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use epr_storage::signature::{Keyring, SecretKey, sign_detached};

/// The environment variable that holds the signing key's passphrase.
pub const PASSPHRASE_ENV: &str = "EPR_SIGNER_PASSPHRASE";

/// Arguments of `package-registry sign`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
The passphrase of a protected key is read from --passphrase-file (its first line), or else \
from the environment variable EPR_SIGNER_PASSPHRASE. It is never taken on the command line.

Exit status: 0 all zips signed, 1 the key cannot be used, 2 a file could not be read or written.")]
pub struct SignArgs {
    /// The ASCII-armored secret key (`gpg --export-secret-keys --armor KEYID > secret.asc`).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// A file whose first line is the key's passphrase (else EPR_SIGNER_PASSPHRASE is used).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Where to write the signature, instead of `<zip>.sig` (only with a single zip).
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// The package zips to sign.
    #[arg(required = true, value_name = "ZIP")]
    pub zips: Vec<PathBuf>,
}

/// Arguments of `package-registry verify`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Exit status: 0 good signature, 1 bad signature or signed by a key not in the keyring, \
2 a file could not be read.")]
pub struct VerifyArgs {
    /// The trusted public keys: one or several ASCII-armored key blocks
    /// (`gpg --export --armor KEYID... > public.asc`).
    #[arg(long, value_name = "FILE")]
    pub keyring: PathBuf,
    /// The package zip.
    #[arg(value_name = "ZIP")]
    pub zip: PathBuf,
    /// The detached signature [default: the zip's path with `.sig` appended].
    #[arg(value_name = "SIGNATURE")]
    pub signature: Option<PathBuf>,
}

/// Exit status when the key cannot be used or a signature is bad.
const REFUSED: u8 = 1;
/// Exit status when a file cannot be read or written.
const IO_FAILED: u8 = 2;

/// `<zip>.sig`, keeping non-UTF-8 names intact.
fn default_signature_path(zip: &Path) -> PathBuf {
    let mut name = OsString::from(zip.as_os_str());
    name.push(".sig");
    PathBuf::from(name)
}

pub fn run_sign(args: &SignArgs) -> ExitCode {
    if args.output.is_some() && args.zips.len() > 1 {
        eprintln!(
            "error: --output names one signature file, but {} zips were given",
            args.zips.len()
        );
        return ExitCode::from(IO_FAILED);
    }
    let key = match load_secret_key(args) {
        Ok(key) => key,
        Err((status, message)) => {
            eprintln!("error: {message}");
            return ExitCode::from(status);
        }
    };
    let mut status = 0;
    for zip in &args.zips {
        let target = args
            .output
            .clone()
            .unwrap_or_else(|| default_signature_path(zip));
        match sign_file(&key, zip, &target) {
            Ok(()) => println!(
                "{}: signed by {}, wrote {}",
                zip.display(),
                describe(key.fingerprint(), key.user_id()),
                target.display()
            ),
            Err((code, message)) => {
                eprintln!("{}: {message}", zip.display());
                status = status.max(code);
            }
        }
    }
    ExitCode::from(status)
}

fn describe(fingerprint: &str, user_id: Option<&str>) -> String {
    match user_id {
        Some(uid) => format!("{fingerprint} ({uid})"),
        None => fingerprint.to_string(),
    }
}

/// Reads the key and unlocks it; on failure, the exit status and what went wrong.
fn load_secret_key(args: &SignArgs) -> Result<SecretKey, (u8, String)> {
    let text = std::fs::read_to_string(&args.key).map_err(|e| {
        (
            IO_FAILED,
            format!("cannot read the key {}: {e}", args.key.display()),
        )
    })?;
    let passphrase = passphrase(args)?;
    SecretKey::from_armored(&text, passphrase.as_deref())
        .map_err(|e| (REFUSED, format!("{}: {e}", args.key.display())))
}

/// The passphrase from --passphrase-file (first line), else from the environment.
fn passphrase(args: &SignArgs) -> Result<Option<String>, (u8, String)> {
    if let Some(file) = &args.passphrase_file {
        let text = std::fs::read_to_string(file).map_err(|e| {
            (
                IO_FAILED,
                format!("cannot read the passphrase file {}: {e}", file.display()),
            )
        })?;
        let first_line = text.lines().next().unwrap_or_default();
        return Ok(Some(first_line.to_string()));
    }
    Ok(std::env::var(PASSPHRASE_ENV).ok())
}

fn sign_file(key: &SecretKey, zip: &Path, target: &Path) -> Result<(), (u8, String)> {
    let data = std::fs::read(zip).map_err(|e| (IO_FAILED, format!("cannot read it: {e}")))?;
    let signature = sign_detached(key, &data).map_err(|e| (REFUSED, e.to_string()))?;
    write_atomically(target, signature.as_bytes()).map_err(|e| {
        (
            IO_FAILED,
            format!("cannot write the signature {}: {e}", target.display()),
        )
    })
}

/// Writes through a temporary file in the same directory and renames it into place, so
/// that a reader (or a crash) never sees a half-written signature.
fn write_atomically(target: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".sig-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    temp.write_all(contents)?;
    temp.as_file().sync_all()?;
    temp.persist(target).map_err(|e| e.error)?;
    Ok(())
}

pub fn run_verify(args: &VerifyArgs) -> ExitCode {
    match verify(args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err((status, message)) => {
            eprintln!("{}: {message}", args.zip.display());
            ExitCode::from(status)
        }
    }
}

fn verify(args: &VerifyArgs) -> Result<String, (u8, String)> {
    let keyring_bytes = std::fs::read(&args.keyring).map_err(|e| {
        (
            IO_FAILED,
            format!("cannot read the keyring {}: {e}", args.keyring.display()),
        )
    })?;
    let keyring = Keyring::from_bytes(&keyring_bytes).map_err(|e| {
        (
            IO_FAILED,
            format!("keyring {}: {e}", args.keyring.display()),
        )
    })?;
    let signature_path = args
        .signature
        .clone()
        .unwrap_or_else(|| default_signature_path(&args.zip));
    let data = std::fs::read(&args.zip).map_err(|e| (IO_FAILED, format!("cannot read it: {e}")))?;
    let signature = std::fs::read(&signature_path).map_err(|e| {
        (
            IO_FAILED,
            format!(
                "cannot read the signature {}: {e}",
                signature_path.display()
            ),
        )
    })?;
    let signer = keyring
        .verify(&data, &signature)
        .map_err(|e| (REFUSED, e.to_string()))?;
    let by_subkey = signer
        .subkey_fingerprint
        .as_deref()
        .map(|subkey| format!(", using subkey {subkey}"))
        .unwrap_or_default();
    Ok(format!(
        "{}: good signature from {signer}{by_subkey}",
        args.zip.display()
    ))
}
