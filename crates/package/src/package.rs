//! A loaded package: the fields queries filter on, and its two JSON documents.
//!
//! Loading follows the upstream registry (spec/api.md §4 and §6.3): the manifest
//! and data stream manifests are decoded, defaults and derived fields filled in, and
//! the load-time checks run. Every problem found is collected, so one failed load
//! names all of them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::constraint::Constraints;
use crate::decode::ObjBuilder;
use crate::fs::{FsError, PackageFs};
use crate::json::Json;
use crate::open_files::{Files, OpenPackages};
use crate::problem::Problem;
use crate::search_text::{SearchText, template_text};
use crate::version::Version;

/// Where a package was loaded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An unpacked package: `<package_path>/<name>/<version>/`.
    Dir(PathBuf),
    /// A package zip file.
    Zip(PathBuf),
    /// An entry of a Package Storage v2 index: the files are in the bucket, under
    /// `base_path` (`{name}-{version}.zip`, as the upstream sets it).
    Storage { base_path: String },
}

impl Location {
    /// The local path, or for storage packages the bucket-relative `base_path`.
    pub fn path(&self) -> &Path {
        match self {
            Location::Dir(p) | Location::Zip(p) => p,
            Location::Storage { base_path } => Path::new(base_path),
        }
    }

    pub fn is_storage(&self) -> bool {
        matches!(self, Location::Storage { .. })
    }
}

/// Switches of the load-time checks (spec/api.md §6.3).
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// The checks that `-disable-package-validation` turns off.
    pub validate: bool,
    /// Every package needs `<path>.sig` beside it.
    pub require_signature: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            validate: true,
            require_signature: false,
        }
    }
}

/// A package failed to load; `problems` lists every reason found.
#[derive(Debug, Clone, thiserror::Error)]
#[error("package {location} is invalid:{}", list(problems))]
pub struct LoadError {
    pub location: String,
    pub problems: Vec<Problem>,
}

impl LoadError {
    /// A package that failed for one reason about the whole of it.
    pub fn one(location: impl Into<String>, message: impl Into<String>) -> LoadError {
        LoadError {
            location: location.into(),
            problems: vec![Problem::package(message)],
        }
    }

    /// The problems, printed, joined by `separator`.
    pub fn joined(&self, separator: &str) -> String {
        let printed: Vec<String> = self.problems.iter().map(Problem::to_string).collect();
        printed.join(separator)
    }
}

/// Problems as an indented list, one per line.
fn list(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("\n  - {p}")).collect()
}

/// One policy template as queries see it.
#[derive(Debug, Clone)]
pub struct TemplateInfo {
    /// `None` when the template has no `categories` key.
    pub categories: Option<Vec<String>>,
    /// The search-entry form of the template (§4.1 item 12), printed where a
    /// `/search` entry has it (`crate::search_text`).
    pub search_text: String,
}

/// The fields of a policy template, decoded from a manifest or from an index entry,
/// and its two documents printed from them in the one key order of the contract
/// (spec/api.md §4.1 item 12, §4.2).
#[derive(Debug, Default)]
pub struct TemplateParts {
    pub name: String,
    pub title: String,
    pub description: String,
    pub data_streams: Vec<Json>,
    pub inputs: Vec<Json>,
    /// Printed when set (a manifest's defaults to true; an index entry's is as given).
    pub multiple: Option<bool>,
    pub icons: Vec<Json>,
    /// `None` when the template has no `categories` key.
    pub categories: Option<Vec<String>>,
    pub screenshots: Vec<Json>,
    pub readme: Option<String>,
    pub deployment_modes: Option<Json>,
    pub kind: String,
    pub input: String,
    pub ingestion_method: String,
    pub template_path: String,
    pub deprecated: Option<Json>,
}

impl TemplateParts {
    /// What queries need (with the search-entry form), and the full form.
    pub fn into_documents(self) -> (TemplateInfo, Json) {
        let categories: Vec<Json> = self.categories.iter().flatten().map(Json::str).collect();
        let base_json = ObjBuilder::new()
            .str("name", &self.name)
            .str("title", &self.title)
            .str("description", &self.description)
            .opt_list("icons", self.icons.clone())
            .opt_list("categories", categories.clone())
            .opt("deployment_modes", self.deployment_modes.clone())
            .opt_list("data_streams", self.data_streams.clone())
            .opt("deprecated", self.deprecated.clone())
            .build();
        let full_json = ObjBuilder::new()
            .str("name", &self.name)
            .str("title", &self.title)
            .str("description", &self.description)
            .opt_list("data_streams", self.data_streams)
            .opt_list("inputs", self.inputs)
            .opt("multiple", self.multiple.map(Json::Bool))
            .opt_list("icons", self.icons)
            .opt_list("categories", categories)
            .opt_list("screenshots", self.screenshots)
            .opt("readme", self.readme.map(Json::Str))
            .opt("deployment_modes", self.deployment_modes)
            .opt_str("type", &self.kind)
            .opt_str("input", &self.input)
            .opt_str("ingestion_method", &self.ingestion_method)
            .opt_str("template_path", &self.template_path)
            .opt("deprecated", self.deprecated)
            .build();
        let info = TemplateInfo {
            categories: self.categories,
            search_text: template_text(&base_json),
        };
        (info, full_json)
    }
}

/// A package version ready to be queried.
#[derive(Debug)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub semver: Version,
    pub release: String,
    pub kind: String,
    /// Local packages: known categories only (unknown ones are dropped at load, as
    /// upstream does). Storage packages: as the index gives them, unknown ones
    /// included (spec/api.md §9), so category queries and counts see them too.
    pub categories: Vec<String>,
    pub templates: Vec<TemplateInfo>,
    pub kibana: Option<Constraints>,
    pub agent: Option<Constraints>,
    pub capabilities: Option<Vec<String>>,
    /// `format_version` reduced to MAJOR.MINOR.0.
    pub spec_version: Option<Version>,
    pub discovery_fields: Vec<String>,
    pub discovery_datasets: Vec<String>,
    /// The package's own `deprecated` object, before propagation across versions.
    pub deprecated: Option<Json>,
    pub location: Location,
    /// The local `.sig` file; `None` for storage packages, whose signature is in the
    /// bucket (their `signature_path` is printed as the index gives it).
    pub signature: Option<PathBuf>,
    /// The package's files (none for storage packages); see [`Package::open_files`].
    pub files: Files,
    /// The `/search` entry, printed in pieces.
    pub(crate) search: SearchText,
    pub(crate) doc: Doc,
}

/// The JSON pieces of the two documents, in output order (spec/api.md §4.1, §4.2).
/// Built by [`load`] for local packages and by
/// [`crate::index_entry::from_index_manifest`] for storage packages.
#[derive(Debug, Default)]
pub(crate) struct Doc {
    // The `/search` entry: `head`, policy templates, `conditions_to_signature`,
    // `discovery`, `base_data_streams`, deprecation, `tail`.
    pub(crate) head: Vec<(String, Json)>,
    pub(crate) conditions_to_signature: Vec<(String, Json)>,
    pub(crate) discovery: Option<Json>,
    pub(crate) base_data_streams: Option<Json>,
    pub(crate) tail: Vec<(String, Json)>,
    pub(crate) full_only: Vec<(String, Json)>,
    pub(crate) full_templates: Option<Json>,
    pub(crate) full_data_streams: Option<Json>,
    pub(crate) full_end: Vec<(String, Json)>,
    /// The full-only parts above were dropped ([`Package::into_summary`]).
    pub(crate) summary_only: bool,
}

impl Doc {
    /// The `/search` entry's pieces, printed.
    pub(crate) fn search_text(&self) -> SearchText {
        let mut middle = self.conditions_to_signature.clone();
        if let Some(d) = &self.discovery {
            middle.push(("discovery".into(), d.clone()));
        }
        if let Some(d) = &self.base_data_streams {
            middle.push(("data_streams".into(), d.clone()));
        }
        SearchText::new(&self.head, &middle, &self.tail)
    }
}

impl Package {
    pub fn is_prerelease(&self) -> bool {
        !self.semver.prerelease().is_empty()
    }

    pub fn is_experimental(&self) -> bool {
        self.release == "experimental"
    }

    /// The `signature_path` the documents print, if any.
    pub fn signature_path(&self) -> Option<&str> {
        match obj_entry(&self.doc.conditions_to_signature, "signature_path") {
            Some(Json::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// Appends the `/search` entry, printed as an item of the response's array.
    /// `deprecated` is the propagated deprecation (§5.11); `templates` replaces the
    /// policy templates when a category filter reduced them.
    pub fn write_search_entry(
        &self,
        out: &mut String,
        deprecated: Option<&Json>,
        templates: Option<&[&TemplateInfo]>,
    ) {
        let texts: Vec<&str> = match templates {
            Some(ts) => ts.iter().map(|t| t.search_text.as_str()).collect(),
            None => self
                .templates
                .iter()
                .map(|t| t.search_text.as_str())
                .collect(),
        };
        self.search.write(out, &texts, deprecated);
    }

    /// This package without the parts that only its `/package/{name}/{version}/`
    /// document prints: what a catalog keeps of a package whose document it can read
    /// again from elsewhere (see [`crate::index_summary`]).
    /// The `/search` entry stays, printed (`crate::search_text`); the JSON trees
    /// of both documents go.
    pub fn into_summary(mut self) -> Package {
        self.doc = Doc {
            summary_only: true,
            ..Doc::default()
        };
        self
    }

    /// This package as a server keeps it (see [`crate::open_files`]): a summary
    /// whose files are opened again through `open` when asked for. Its full
    /// document is printed again from them (a catalog's `FullDocument::FromFiles`).
    pub fn into_served(self, open: &Arc<OpenPackages>) -> Package {
        let zip = match &self.files {
            Files::Held(fs) => fs.zip_identity(),
            Files::Reopened { zip, .. } => *zip,
        };
        Package {
            files: Files::Reopened {
                open: open.clone(),
                zip,
            },
            ..self.into_summary()
        }
    }

    /// The package's files: held, or opened again (which fails when they are gone
    /// or a zip changed since it was loaded).
    pub fn open_files(&self) -> Result<Arc<dyn PackageFs>, FsError> {
        match &self.files {
            Files::Held(fs) => Ok(fs.clone()),
            Files::Reopened { open, zip } => open.open(&self.location, *zip),
        }
    }

    /// [`Package::open_files`] when that touches no disk: the files are held or open.
    pub fn files_if_open(&self) -> Option<Arc<dyn PackageFs>> {
        match &self.files {
            Files::Held(fs) => Some(fs.clone()),
            Files::Reopened { open, .. } => open.if_open(self.location.path()),
        }
    }

    /// Whether the package still has its full document (see [`Package::into_summary`]).
    pub fn has_full_document(&self) -> bool {
        !self.doc.summary_only
    }

    /// The `/package/{name}/{version}/` document; `None` for a summary.
    pub fn full_json(&self, deprecated: Option<&Json>) -> Option<Json> {
        let d = &self.doc;
        if d.summary_only {
            return None;
        }
        let mut out = d.head.clone();
        out.extend(d.conditions_to_signature.iter().cloned());
        push_opt(&mut out, "discovery", d.discovery.clone());
        push_opt(&mut out, "deprecated", deprecated.cloned());
        out.extend(d.tail.iter().cloned());
        out.extend(d.full_only.iter().cloned());
        push_opt(&mut out, "policy_templates", d.full_templates.clone());
        push_opt(&mut out, "data_streams", d.full_data_streams.clone());
        out.extend(d.full_end.iter().cloned());
        Some(Json::Obj(out))
    }
}

fn push_opt(out: &mut Vec<(String, Json)>, key: &str, value: Option<Json>) {
    if let Some(v) = value {
        out.push((key.to_string(), v));
    }
}

/// The release levels a package or data stream may declare.
pub const VALID_RELEASES: [&str; 3] = ["experimental", "beta", "ga"];

pub use crate::load::{load, load_sharing};

fn obj_entry<'a>(entries: &'a [(String, Json)], key: &str) -> Option<&'a Json> {
    entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}
