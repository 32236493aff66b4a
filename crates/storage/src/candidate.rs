//! Checking a package candidate before anything is written: size, signature,
//! package spec, the registry's own load checks (spec/storage-and-publishing.md §4.1
//! steps 6 and 7).
//!
//! The signature is verified first, over the bytes as received: only zips signed by
//! a trusted key are ever unpacked. A refusal names what was wrong; it is the
//! candidate's fault, never the bucket's.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use epr_package::fs::{MAX_FILE_SIZE, PackageFs, ZipFs};
use epr_package::json::Json;
use epr_package::{LoadOptions, Location};

use crate::signature::Keyring;

/// What a candidate must pass.
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions {
    /// The largest zip accepted, in bytes.
    pub max_zip_bytes: u64,
    /// A package synced from the old storage: the package spec is not checked, as
    /// upstream's publishing job skips it for `legacy_package: true` ("some older
    /// packages will not be able to pass current spec requirements"). Everything else
    /// still is: the signature, the zip's bounds and root folder, the registry's load.
    pub legacy_package: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        // The largest real package is about 6 MB; leave ample room.
        CheckOptions {
            max_zip_bytes: 100 * 1024 * 1024,
            legacy_package: false,
        }
    }
}

/// Why a candidate was refused. Each message names the candidate and the reason.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("{file}: no signature: {file}.sig is required beside it")]
    MissingSignature { file: String },
    #[error("{file}: {size} bytes, more than the {max} bytes a candidate may have")]
    TooLarge { file: String, size: u64, max: u64 },
    #[error("{file}: signature refused: {reason}")]
    Signature { file: String, reason: String },
    #[error("{file}: not a readable package zip: {reason}")]
    Unreadable { file: String, reason: String },
    #[error("{file}: invalid package:\n  - {}", problems.join("\n  - "))]
    Invalid { file: String, problems: Vec<String> },
    #[error("{file}: the package inside is {package}, so the file must be named {package}.zip")]
    FileName { file: String, package: String },
    #[error(
        "{name}-{version} is already published with other bytes (sha256 {existing}); a published version never changes, publish a new version"
    )]
    Conflict {
        name: String,
        version: String,
        existing: String,
    },
}

/// A candidate that passed every check, ready to be written.
#[derive(Debug)]
pub struct Checked {
    pub name: String,
    pub version: String,
    pub zip: Bytes,
    pub signature: Bytes,
    /// Who signed it (fingerprint and user id), for the log.
    pub signer: String,
    /// The `package_manifest` for the index.
    pub manifest: Json,
    /// Every file of the package, package-relative, for `artifacts/static/`.
    pub files: Vec<(String, Bytes)>,
}

/// Checks candidate `file` (its name, for messages and the name check) with bytes
/// `zip` and detached signature `signature`. CPU and disk bound: run it off the
/// async executor.
pub fn check(
    file: &str,
    zip: Bytes,
    signature: Option<Bytes>,
    keyring: &Keyring,
    options: &CheckOptions,
) -> Result<Checked, Refusal> {
    let file = file.to_string();
    let size = zip.len() as u64;
    if size > options.max_zip_bytes {
        return Err(Refusal::TooLarge {
            file,
            size,
            max: options.max_zip_bytes,
        });
    }
    let Some(signature) = signature else {
        return Err(Refusal::MissingSignature { file });
    };
    let signer = keyring
        .verify(&zip, &signature)
        .map_err(|e| Refusal::Signature {
            file: file.clone(),
            reason: e.to_string(),
        })?;
    let signer = match &signer.user_id {
        Some(uid) => format!("{} ({uid})", signer.fingerprint),
        None => signer.fingerprint.clone(),
    };

    // The validator and the loader read files: give them a private copy on disk,
    // with the signature beside the zip so the manifest gets its `signature_path`.
    let unreadable = |reason: String| Refusal::Unreadable {
        file: file.clone(),
        reason,
    };
    let dir = tempfile::tempdir().map_err(|e| unreadable(format!("temporary folder: {e}")))?;
    let zip_path = dir.path().join("candidate.zip");
    std::fs::write(&zip_path, &zip).map_err(|e| unreadable(e.to_string()))?;
    std::fs::write(dir.path().join("candidate.zip.sig"), &signature)
        .map_err(|e| unreadable(e.to_string()))?;

    if !options.legacy_package {
        validate(&file, &zip_path)?;
    }
    let (package, fs) = load(&file, &zip_path, options.legacy_package)?;
    let package_id = format!("{}-{}", package.name, package.version);
    let expected = format!("{package_id}.zip");
    if Path::new(&file).file_name().and_then(|n| n.to_str()) != Some(expected.as_str()) {
        return Err(Refusal::FileName {
            file,
            package: package_id,
        });
    }
    let files = static_files(&file, fs.as_ref())?;
    Ok(Checked {
        name: package.name.clone(),
        version: package.version.clone(),
        // A package loaded from its zip always has its full document.
        manifest: package
            .index_manifest()
            .ok_or_else(|| unreadable("the package loaded without its full document".into()))?,
        zip,
        signature,
        signer,
        files,
    })
}

/// The package spec, in build mode (one `{name}-{version}/` root, zip bombs refused
/// from the headers). Warnings do not refuse.
fn validate(file: &str, zip_path: &Path) -> Result<(), Refusal> {
    let report = epr_spec::validate_zip(zip_path).map_err(|e| Refusal::Unreadable {
        file: file.to_string(),
        reason: e.to_string().replace(&zip_path.display().to_string(), file),
    })?;
    if report.is_valid() {
        return Ok(());
    }
    Err(Refusal::Invalid {
        file: file.to_string(),
        problems: report.problems.iter().map(|p| p.to_string()).collect(),
    })
}

/// The registry's load: what a registry serving this package will compute. For a
/// legacy package, which skipped the validator, the zip's bounds (no zip bomb) and its
/// root folder are checked here instead.
fn load(
    file: &str,
    zip_path: &Path,
    legacy_package: bool,
) -> Result<(epr_package::Package, Arc<dyn PackageFs>), Refusal> {
    let unreadable = |reason: String| Refusal::Unreadable {
        file: file.to_string(),
        reason: reason.replace(&zip_path.display().to_string(), file),
    };
    let invalid = |problems: Vec<String>| Refusal::Invalid {
        file: file.to_string(),
        problems,
    };
    let zip = match ZipFs::open(zip_path) {
        Ok(Some(zip)) => zip,
        Ok(None) => return Err(unreadable("no <folder>/manifest.yml in the zip".into())),
        Err(e) => return Err(unreadable(e.to_string())),
    };
    if legacy_package && let Some(problem) = epr_spec::zip_bomb(&zip) {
        return Err(invalid(vec![problem.to_string()]));
    }
    let (top_level, root) = (zip.top_level_names().len(), zip.root_dir().to_string());
    let fs: Arc<dyn PackageFs> = Arc::new(zip);
    let options = LoadOptions {
        validate: true,
        require_signature: true,
    };
    let package =
        epr_package::package::load(Location::Zip(zip_path.to_path_buf()), fs.clone(), &options)
            .map_err(|e| invalid(e.problems.iter().map(ToString::to_string).collect()))?;
    let expected = format!("{}-{}", package.name, package.version);
    if legacy_package && (top_level != 1 || root != expected) {
        return Err(invalid(vec![format!(
            "the zip's root folder is {root}, a built package has exactly one: {expected}"
        )]));
    }
    Ok((package, fs))
}

/// Every file of the package: the whole tree is extracted, so any asset URL works
/// for a storage package exactly as for a local one (§2.1, ours).
fn static_files(file: &str, fs: &dyn PackageFs) -> Result<Vec<(String, Bytes)>, Refusal> {
    let mut files = Vec::new();
    for entry in fs.entries().iter().filter(|e| !e.is_dir) {
        let bytes =
            fs.read_limited(&entry.path, MAX_FILE_SIZE)
                .map_err(|e| Refusal::Unreadable {
                    file: file.to_string(),
                    reason: e.to_string(),
                })?;
        files.push((entry.path.clone(), Bytes::from(bytes)));
    }
    Ok(files)
}

/// Lower-case hex SHA-256 of `bytes`, to name artifacts in messages.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
