//! What every check sees: the package's files, its manifest, its type and the spec
//! version it declares, plus helpers to read files the way package-spec does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use epr_package::fs::{Entry, PackageFs};
use epr_package::version::Version;
use epr_package::yaml::{self, Node};

use crate::problem::Problem;

/// The package types package-spec knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Integration,
    Input,
    Content,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Integration => "integration",
            Kind::Input => "input",
            Kind::Content => "content",
        }
    }
}

/// How the package is validated (spec/package-format.md §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A source folder, as package-spec's default ("legacy") mode sees it: `_dev` and
    /// `.link` files are allowed, source-only and build-only rules all run.
    Legacy,
    /// A built package (a zip, or what `build` produced): no `_dev`, no `.link`, no
    /// `external` fields, no `package:` references.
    Build,
}

/// A package under validation.
pub struct Package<'a> {
    pub fs: &'a dyn PackageFs,
    /// The folder on disk when validating a folder, to follow `.link` files that point
    /// outside the package; `None` for zips.
    pub root: Option<PathBuf>,
    pub mode: Mode,
    pub kind: Kind,
    /// `name` from the manifest (may be empty if missing; the schema reports that).
    pub name: String,
    /// `version` from the manifest, as written.
    pub version: String,
    /// The package's `format_version`, parsed leniently.
    pub format_version: Version,
    /// The spec changelog entry it selects (e.g. `3.7.0-next` for `3.7.0`).
    pub spec_version: &'static str,
    /// `manifest.yml` as yaml.v3 reads it (dotted keys not expanded).
    pub manifest: Node,
    /// Parsed YAML files by path: the schema pass and several rules read the same
    /// files (fields above all), and parsing is most of a validation's cost.
    pub yaml_cache: YamlCache,
}

/// Parsed YAML documents by path, with the text they were parsed from (a `.link`
/// and its target can be read under one path with different content).
#[derive(Default)]
pub struct YamlCache(Mutex<HashMap<String, ParsedYaml>>);

/// A document's text and what parsing it gave.
type ParsedYaml = (String, Result<Node, Problem>);

impl Package<'_> {
    /// `format_version >= v`, the `since` gate of package-spec's rules.
    pub fn spec_at_least(&self, v: &str) -> bool {
        Version::parse(v).is_ok_and(|v| self.format_version >= v)
    }

    /// The package version is GA: no prerelease and at least 1.0.0.
    pub fn is_ga(&self) -> bool {
        Version::parse(&self.version).is_ok_and(|v| v.prerelease().is_empty() && v.major() >= 1)
    }

    /// All files and folders, paths relative to the package root.
    pub fn entries(&self) -> &[Entry] {
        self.fs.entries()
    }

    /// Whether `path` exists (file or folder).
    pub fn exists(&self, path: &str) -> bool {
        self.fs.stat(path).is_some()
    }

    /// Whether `path` is a file.
    pub fn is_file(&self, path: &str) -> bool {
        self.fs.stat(path).is_some_and(|e| !e.is_dir)
    }

    /// Names of the direct children of `dir` ("" for the root), sorted.
    pub fn list_dir(&self, dir: &str) -> Vec<String> {
        self.fs.list_dir(dir)
    }

    /// Names of the folders directly under `dir`, sorted.
    pub fn sub_folders(&self, dir: &str) -> Vec<String> {
        self.list_dir(dir)
            .into_iter()
            .filter(|n| {
                self.fs
                    .stat(&format!("{dir}/{n}"))
                    .is_some_and(|e| e.is_dir)
            })
            .collect()
    }

    /// Names of the data streams (folders under `data_stream/`), sorted.
    pub fn data_streams(&self) -> Vec<String> {
        self.sub_folders("data_stream")
    }

    /// The bytes of `path`; a problem naming the file when it cannot be read.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, Problem> {
        self.fs.read(path).map_err(|e| unreadable(path, e))
    }

    /// The text of `path` (UTF-8, lossy).
    pub fn read_text(&self, path: &str) -> Result<String, Problem> {
        self.read(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// `path` parsed as yaml.v3 does, dotted keys as written.
    pub fn read_yaml(&self, path: &str) -> Result<Node, Problem> {
        let bytes = self.read(path)?;
        let text = epr_package::yaml::utf8_text(bytes).map_err(|e| Problem::file(path, e))?;
        self.parse_yaml(path, &text)
    }

    /// `text`, the content of `path`, parsed as yaml.v3 does; parsed once per
    /// package and reused.
    pub fn parse_yaml(&self, path: &str, text: &str) -> Result<Node, Problem> {
        let mut cache = self.yaml_cache.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cached_text, result)) = cache.get(path)
            && cached_text == text
        {
            return result.clone();
        }
        let result = parse_yaml(path, text);
        cache.insert(path.to_string(), (text.to_string(), result.clone()));
        result
    }

    /// `path` parsed as JSON.
    pub fn read_json(&self, path: &str) -> Result<serde_json::Value, Problem> {
        let bytes = self.read(path)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Problem::at(path, e.line(), format!("invalid JSON: {e}")))
    }

    /// The bytes of `path`, or, when only `path.link` exists, of the file it links to
    /// (spec/package-format.md §1.4). Returns the bytes and the path actually read,
    /// relative to the package root (it may start with `../` for a link).
    pub fn read_resolved(&self, path: &str) -> Result<(Vec<u8>, String), Problem> {
        if self.is_file(path) {
            return self.read(path).map(|b| (b, path.to_string()));
        }
        let link = format!("{path}.link");
        let target = self.link_target(&link)?;
        let bytes = self.read_link_target(&link, &target)?;
        Ok((bytes, target))
    }

    /// The target path of a `.link` file, relative to the package root.
    pub fn link_target(&self, link: &str) -> Result<String, Problem> {
        let text = self.read_text(link)?;
        let first = text.lines().next().unwrap_or("").trim();
        let rel = first.split_whitespace().next().unwrap_or("");
        if rel.is_empty() {
            return Err(Problem::file(link, "linked file is empty"));
        }
        let dir = Path::new(link).parent().unwrap_or(Path::new(""));
        Ok(normalize(&dir.join(rel)))
    }

    /// Reads the target of `link` (`target` relative to the package root, possibly
    /// outside it). Only folders on disk can follow links out of the package.
    pub fn read_link_target(&self, link: &str, target: &str) -> Result<Vec<u8>, Problem> {
        if !target.starts_with("../") {
            return self.read(target);
        }
        let Some(root) = &self.root else {
            return Err(Problem::file(
                link,
                format!("linked file {target} is outside the package"),
            ));
        };
        let full = root.join(target);
        let meta = std::fs::metadata(&full)
            .map_err(|e| Problem::file(link, format!("linked file {target} not found: {e}")))?;
        if meta.len() > epr_package::fs::MAX_FILE_SIZE {
            return Err(Problem::file(
                link,
                format!("linked file {target} is too large"),
            ));
        }
        std::fs::read(&full)
            .map_err(|e| Problem::file(link, format!("could not read linked file {target}: {e}")))
    }
}

/// Parses YAML text as package-spec reads it (yaml.v3), errors naming the file.
pub fn parse_yaml(path: &str, text: &str) -> Result<Node, Problem> {
    yaml::parse_v3(text).map_err(|e| match e {
        yaml::YamlError::Syntax { line, .. } => Problem::at(path, line, e.to_string()),
        other => Problem::file(path, other.to_string()),
    })
}

/// Collapses `a/./b/../c` into `a/c`, keeping leading `..`.
pub fn normalize(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if parts.last().is_some_and(|p| p != "..") {
                    parts.pop();
                } else {
                    parts.push("..".into());
                }
            }
            other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    parts.join("/")
}

/// The problem of a file that could not be read. One refused for its size before
/// reading is told as package-spec tells a file over its limit.
pub fn unreadable(path: &str, error: epr_package::fs::FsError) -> Problem {
    match error {
        epr_package::fs::FsError::TooLarge { size, limit, .. } => {
            crate::structure::too_big(path, size, limit)
        }
        e => Problem::file(path, format!("could not read the file: {e}")),
    }
}
