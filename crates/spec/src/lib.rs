//! Validating Elastic packages against the package spec (spec/package-format.md).
//!
//! The publishing pipeline and `package-registry validate` call [`validate_path`] or
//! [`validate_fs`]. A validation runs, as package-spec does:
//!
//! 1. the manifest basics: type, version and `format_version` (which picks the spec
//!    version, [`spec_version`]);
//! 2. the structural pass ([`structure`]): the files and folders the package type
//!    allows, each file checked against its schema ([`schemas`], run by [`schema`]);
//! 3. the semantic rules ([`rules`]);
//! 4. the `validation.yml` filter (`errors.exclude_checks`) and the pre-3.0.0
//!    warnings.
//!
//! Every problem found is reported, each with its file and line.

use std::path::{Path, PathBuf};

use epr_package::fs::{DirFs, FsError, PackageFs, ZipFs};
use epr_package::version::Version;
use epr_package::yaml::{Node, Value};

pub mod build;
pub mod files;
pub mod package;
pub mod problem;
pub mod rules;
pub mod schema;
pub mod schemas;
pub mod spec_version;
pub mod structure;

pub use package::{Kind, Mode, Package};
pub use problem::Problem;

/// The outcome of a validation.
#[derive(Debug, Default)]
pub struct Report {
    /// What makes the package invalid; empty when it is valid.
    pub problems: Vec<Problem>,
    /// What package-spec only logs (coded problems of rules that are warnings before
    /// spec 3.0.0, problems excluded by `validation.yml`).
    pub warnings: Vec<Problem>,
}

impl Report {
    /// A verdict given before any check could run (no manifest, a zip bomb).
    pub fn refused(problem: Problem) -> Report {
        Report {
            problems: vec![problem],
            warnings: Vec::new(),
        }
    }

    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The input could not be read at all (not a verdict on a package).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}: no such file or folder")]
    NotFound(String),
    #[error(transparent)]
    Fs(#[from] FsError),
}

/// Validates a package folder (legacy mode: a source tree) or a zip (build mode).
pub fn validate_path(path: &Path) -> Result<Report, OpenError> {
    if path.is_dir() {
        let fs = DirFs::open(path)?;
        Ok(validate_fs(&fs, Some(path.to_path_buf()), Mode::Legacy))
    } else if path.is_file() {
        validate_zip(path)
    } else {
        Err(OpenError::NotFound(path.display().to_string()))
    }
}

/// Validates a built package zip: one root folder `{name}-{version}/` (§7).
pub fn validate_zip(path: &Path) -> Result<Report, OpenError> {
    let Some(fs) = ZipFs::open(path)? else {
        return Ok(Report::refused(Problem::package(format!(
            "no package manifest file found at {}: a built package has `<name>-<version>/manifest.yml`",
            path.display()
        ))));
    };
    if let Some(problem) = zip_bomb(&fs) {
        return Ok(Report::refused(problem));
    }
    let damaged = zip_integrity(&fs);
    if !damaged.is_empty() {
        return Ok(Report {
            problems: damaged,
            warnings: Vec::new(),
        });
    }
    // package-spec does not look at the root folder's name; the registry and Package
    // Storage find packages by it, so a built package must use `{name}-{version}`.
    let (mut report, expected_root) = match open_package(&fs, None, Mode::Build) {
        Ok(pkg) => (
            check_package(&pkg),
            Some(format!("{}-{}", pkg.name, pkg.version)),
        ),
        Err(problem) => (Report::refused(problem), None),
    };
    let top = fs.top_level_names();
    let layout = if top.len() != 1 {
        Some(format!(
            "a single directory is expected in zip file, {} found",
            top.len()
        ))
    } else {
        expected_root
            .filter(|expected| fs.root_dir() != expected)
            .map(|expected| {
                format!(
                    "the zip's root folder is {}, a built package's is {expected}",
                    fs.root_dir()
                )
            })
    };
    if let Some(message) = layout {
        report.problems.insert(0, Problem::package(message));
    }
    Ok(report)
}

pub use epr_package::fs::MAX_PACKAGE_SIZE;

/// Refuses, from the headers alone, a zip that would expand beyond what a package may
/// hold, so that a zip bomb costs neither memory nor time.
pub fn zip_bomb(fs: &ZipFs) -> Option<Problem> {
    fs.expansion().refusal().map(Problem::package)
}

/// Inflates every file of the zip, without keeping it, and tells those that do not
/// match their headers (a size or checksum that lies): `publish` reads every file
/// and would refuse them, so `validate` must too.
pub fn zip_integrity(fs: &ZipFs) -> Vec<Problem> {
    fs.entries()
        .iter()
        .filter(|e| !e.is_dir)
        .filter_map(|e| {
            fs.read_pieces(&e.path, epr_package::fs::MAX_FILE_SIZE, 0, &mut |_| true)
                .err()
                .map(|error| Problem::file(&e.path, format!("damaged zip entry: {error}")))
        })
        .collect()
}

/// Validates the package in `fs`. `root` is its folder on disk, if any (to follow
/// `.link` files out of the package).
pub fn validate_fs(fs: &dyn PackageFs, root: Option<PathBuf>, mode: Mode) -> Report {
    match open_package(fs, root, mode) {
        Ok(pkg) => check_package(&pkg),
        Err(problem) => Report::refused(problem),
    }
}

/// Runs every check on an opened package: structure and schemas, semantic rules,
/// then the `validation.yml` filter and the pre-3.0.0 warnings.
pub fn check_package(pkg: &Package<'_>) -> Report {
    let mut problems = Vec::new();
    if let Some(p) = unreleased_spec(pkg) {
        problems.push(p);
    }
    problems.extend(structure::check(pkg));
    let mut warnings = Vec::new();
    for rule in rules::all().filter(|r| r.applies(pkg)) {
        for p in (rule.check)(pkg) {
            if rule.warning_before_3 && p.code.is_some() && !pkg.spec_at_least("3.0.0") {
                warnings.push(p);
            } else {
                problems.push(p);
            }
        }
    }
    let excluded = excluded_codes(pkg);
    let (kept, dropped): (Vec<Problem>, Vec<Problem>) = problems
        .into_iter()
        .partition(|p| p.code.is_none_or(|c| !excluded.iter().any(|e| e == c)));
    warnings.extend(dropped);
    Report {
        problems: kept,
        warnings,
    }
}

fn text_of<'n>(manifest: &'n Node, key: &str) -> Option<&'n str> {
    match manifest.get(key).map(|n| &n.value) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// Reads what selects the spec: type, version, format_version (§3 step 1), giving
/// the context every check runs with.
pub fn open_package(
    fs: &dyn PackageFs,
    root: Option<PathBuf>,
    mode: Mode,
) -> Result<Package<'_>, Problem> {
    let manifest_path = "manifest.yml";
    if fs.stat(manifest_path).is_none_or(|e| e.is_dir) {
        let at = root
            .as_ref()
            .map(|r| r.join(manifest_path).display().to_string())
            .unwrap_or_else(|| manifest_path.to_string());
        return Err(Problem::package(format!(
            "no package manifest file found at {at}"
        )));
    }
    let text = fs
        .read(manifest_path)
        .map_err(|e| package::unreadable(manifest_path, e))?;
    let text = epr_package::yaml::utf8_text(text).map_err(|e| Problem::file(manifest_path, e))?;
    let manifest = package::parse_yaml(manifest_path, &text)?;
    let format_version = text_of(&manifest, "format_version")
        .and_then(|v| Version::parse(v).ok())
        .ok_or_else(|| {
            Problem::file(
                manifest_path,
                "could not read specification version: format_version is missing or not a version",
            )
        })?;
    let kind = match text_of(&manifest, "type") {
        None => {
            return Err(Problem::file(
                manifest_path,
                "package type undefined in the package manifest file",
            ));
        }
        Some("integration") => Kind::Integration,
        Some("input") => Kind::Input,
        Some("content") => Kind::Content,
        Some(other) => {
            return Err(Problem::file(
                manifest_path,
                format!("package type \"{other}\" not supported"),
            ));
        }
    };
    let version = text_of(&manifest, "version")
        .ok_or_else(|| {
            Problem::file(
                manifest_path,
                "package version undefined in the package manifest file",
            )
        })?
        .to_string();
    let spec_version = spec_version::lookup(&format_version).ok_or_else(|| {
        Problem::file(
            manifest_path,
            format!("could not load specification for version [{format_version}]: spec version not found"),
        )
    })?;
    Ok(Package {
        fs,
        root,
        mode,
        kind,
        name: text_of(&manifest, "name").unwrap_or_default().to_string(),
        version,
        format_version,
        spec_version,
        manifest,
        yaml_cache: Default::default(),
    })
}

/// PSR00001: a GA package on an unreleased spec version (§3 step 5).
fn unreleased_spec(pkg: &Package<'_>) -> Option<Problem> {
    let entry = Version::parse(pkg.spec_version).ok()?;
    if entry.prerelease().is_empty() || !pkg.is_ga() || !pkg.spec_at_least("3.0.1") {
        return None;
    }
    Some(
        Problem::file(
            "manifest.yml",
            format!(
                "package with GA version ({}) is using an unreleased version of the spec ({})",
                pkg.version, pkg.spec_version
            ),
        )
        .with_code("PSR00001"),
    )
}

/// `errors.exclude_checks` of `validation.yml`.
fn excluded_codes(pkg: &Package<'_>) -> Vec<String> {
    let Ok(doc) = pkg.read_yaml("validation.yml") else {
        return Vec::new();
    };
    let Some(Value::Seq(items)) = doc
        .get("errors")
        .and_then(|e| e.get("exclude_checks"))
        .map(|n| &n.value)
    else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|n| match &n.value {
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}
