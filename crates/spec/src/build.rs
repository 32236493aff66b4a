//! `build`: a package folder into `{name}-{version}.zip`, laid out as elastic-package
//! lays it out (spec/package-format.md §7), byte for byte reproducible.
//!
//! What is copied: every file except development material (`_dev`, `build` and `.git`
//! folders at any depth, `.DS_Store`, editor swap files `.*.swp`); a `.link` file is
//! replaced by the file it points to. The zip has one root folder `{name}-{version}/`,
//! an entry per folder (name ending in `/`) and per file, in byte order of the paths,
//! Deflate-compressed, with a fixed time (1980-01-01 00:00, the zip epoch) and fixed
//! modes (0644 files, 0755 folders), so the same folder always gives the same bytes.
//!
//! What elastic-package also does and we do not: resolving `external: ecs` fields
//! (that needs the ECS repository over the network; a package with such fields is
//! refused by the build-mode validation instead), re-encoding dashboards, rendering
//! `docs/` from `_dev/build/docs`, adding a repository-wide `LICENSE.txt`, bundling
//! required input packages.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use epr_package::fs::{DirFs, MAX_FILE_SIZE, PackageFs};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::{Mode, Report, check_package, open_package, validate_zip};

/// Why a build did not produce a zip.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}: not a package folder")]
    NotAFolder(String),
    #[error("the package is invalid ({} problem(s))", .0.problems.len())]
    Invalid(Report),
    #[error("the built zip is invalid ({} problem(s))", .0.problems.len())]
    InvalidBuild(Report),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> BuildError {
    BuildError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Files left out of a built package: anything inside a `_dev`, `build` or `.git`
/// folder (at any depth), and editor litter (`.DS_Store`, `.*.swp`).
fn is_excluded(path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('/').collect();
    let name = parts.pop().unwrap_or(path);
    parts
        .iter()
        .any(|dir| matches!(*dir, "_dev" | "build" | ".git"))
        || name == ".DS_Store"
        || (name.starts_with('.') && name.ends_with(".swp"))
}

/// Builds the package in folder `src` into `out_dir/{name}-{version}.zip` and returns
/// the zip's path. The folder is validated first and the zip afterwards (as a built
/// package); either failing leaves no zip behind.
pub fn build(src: &Path, out_dir: &Path) -> Result<PathBuf, BuildError> {
    if !src.is_dir() {
        return Err(BuildError::NotAFolder(src.display().to_string()));
    }
    let fs = DirFs::open(src).map_err(|e| io_error(src, e))?;
    let pkg = open_package(&fs, Some(src.to_path_buf()), Mode::Legacy)
        .map_err(|p| BuildError::Invalid(Report::refused(p)))?;
    let report = check_package(&pkg);
    if !report.is_valid() {
        return Err(BuildError::Invalid(report));
    }
    let root = format!("{}-{}", pkg.name, pkg.version);

    // Collect (path in package, bytes), links resolved, in byte order.
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in fs.entries() {
        if entry.is_dir || is_excluded(&entry.path) {
            continue;
        }
        if let Some(linked) = entry.path.strip_suffix(".link") {
            let target = pkg.link_target(&entry.path).map_err(|p| io_error(src, p))?;
            let bytes = pkg
                .read_link_target(&entry.path, &target)
                .map_err(|p| io_error(src, p))?;
            files.push((linked.to_string(), bytes));
        } else {
            let bytes = fs
                .read_limited(&entry.path, MAX_FILE_SIZE)
                .map_err(|e| io_error(src, e))?;
            files.push((entry.path.clone(), bytes));
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let dirs: BTreeSet<String> = files
        .iter()
        .flat_map(|(path, _)| {
            let parts: Vec<&str> = path.split('/').collect();
            (1..parts.len()).map(move |n| parts[..n].join("/"))
        })
        .collect();

    std::fs::create_dir_all(out_dir).map_err(|e| io_error(out_dir, e))?;
    let final_path = out_dir.join(format!("{root}.zip"));
    let tmp_path = out_dir.join(format!(".{root}.zip.partial"));
    let written = write_zip(&tmp_path, &root, &dirs, &files);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp_path);
        return Err(e);
    }
    let report = match validate_zip(&tmp_path) {
        Ok(report) => report,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp_path);
            return Err(io_error(&tmp_path, e));
        }
    };
    if !report.is_valid() {
        let _ = std::fs::remove_file(&tmp_path);
        return Err(BuildError::InvalidBuild(report));
    }
    std::fs::rename(&tmp_path, &final_path).map_err(|e| io_error(&final_path, e))?;
    Ok(final_path)
}

/// Writes the zip: folder entries and file entries merged in path order.
fn write_zip(
    path: &Path,
    root: &str,
    dirs: &BTreeSet<String>,
    files: &[(String, Vec<u8>)],
) -> Result<(), BuildError> {
    let file = std::fs::File::create(path).map_err(|e| io_error(path, e))?;
    let mut zip = ZipWriter::new(std::io::BufWriter::new(file));
    let base = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default());
    let mut entries: Vec<(String, Option<&[u8]>)> = dirs
        .iter()
        .map(|d| (format!("{root}/{d}/"), None))
        .chain(
            files
                .iter()
                .map(|(p, b)| (format!("{root}/{p}"), Some(b.as_slice()))),
        )
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let zip_err = |e: zip::result::ZipError| io_error(path, e);
    for (name, content) in entries {
        match content {
            None => zip
                .add_directory(name, base.unix_permissions(0o755))
                .map_err(zip_err)?,
            Some(bytes) => {
                zip.start_file(name, base.unix_permissions(0o644))
                    .map_err(zip_err)?;
                zip.write_all(bytes).map_err(|e| io_error(path, e))?;
            }
        }
    }
    let mut out = zip.finish().map_err(zip_err)?;
    out.flush().map_err(|e| io_error(path, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excludes_development_material_at_any_depth() {
        assert!(is_excluded("_dev/build/build.yml"));
        assert!(is_excluded("data_stream/x/_dev/test/a.yml"));
        assert!(is_excluded(".git/config"));
        assert!(is_excluded("docs/.DS_Store"));
        assert!(is_excluded("kibana/.a.json.swp"));
        assert!(!is_excluded("docs/README.md"));
        assert!(!is_excluded("docs/build.md"));
    }
}
