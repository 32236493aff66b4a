//! A loaded package: the fields queries filter on, and its two JSON documents.
//!
//! Loading follows the upstream registry (spec/api.md §4 and §6.3): the manifest
//! and data stream manifests are decoded, defaults and derived fields filled in, and
//! the load-time checks run. Every problem found is collected, so one failed load
//! names all of them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::categories;
use crate::constraint::Constraints;
use crate::data_stream::{self, DataStream};
use crate::decode::{Obj, ObjBuilder, Problems};
use crate::fs::{FsError, PackageFs};
use crate::json::Json;
use crate::load_cache::LoadCache;
use crate::manifest_parts::{self as parts, url_path};
use crate::open_files::{Files, OpenPackages};
use crate::search_text::{SearchText, template_text};
use crate::version::Version;
use crate::yaml;

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
#[error("package {location} is invalid:\n  - {}", problems.join("\n  - "))]
pub struct LoadError {
    pub location: String,
    pub problems: Vec<String>,
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

/// Loads the package whose files `fs` gives, found at `location`.
pub fn load(
    location: Location,
    fs: Arc<dyn PackageFs>,
    opts: &LoadOptions,
) -> Result<Package, LoadError> {
    load_sharing(location, fs, opts, &LoadCache::default())
}

/// [`load`], for one of many packages loaded together: the checks' work on files that
/// the packages have in common is shared through `cache`.
pub fn load_sharing(
    location: Location,
    fs: Arc<dyn PackageFs>,
    opts: &LoadOptions,
    cache: &LoadCache,
) -> Result<Package, LoadError> {
    let mut p = Problems::new("manifest.yml");
    let fail = |problems: Vec<String>| LoadError {
        location: location.path().display().to_string(),
        problems,
    };

    let text = match fs.read("manifest.yml") {
        Ok(bytes) => {
            yaml::utf8_text(bytes).map_err(|e| fail(vec![format!("manifest.yml: {e}")]))?
        }
        Err(e) => return Err(fail(vec![e.to_string()])),
    };
    let root = match yaml::parse_config(&text) {
        Ok(node) => node,
        Err(e) => return Err(fail(vec![format!("manifest.yml: {e}")])),
    };
    if !matches!(root.value, yaml::Value::Map(_)) {
        return Err(fail(vec![format!(
            "manifest.yml: expected an object, found {}",
            root.kind()
        )]));
    }
    let m = Obj::root(&root);

    let name = m.required_string("name", &mut p);
    let version = m.string_or_empty("version", &mut p);
    let semver = match Version::parse_strict(&version) {
        Ok(v) => Some(v),
        Err(e) => {
            p.push(
                m.raw("version"),
                "version",
                format!("invalid package version `{version}`: {e}"),
            );
            None
        }
    };
    let title = m.string("title", &mut p);
    let description = m.string_or_empty("description", &mut p);
    let kind = m
        .string("type", &mut p)
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "integration".into());
    let format_version = m.string_or_empty("format_version", &mut p);
    let spec_version = if format_version.is_empty() {
        None
    } else {
        match Version::parse_strict(&format_version) {
            Ok(v) => Version::parse_strict(&format!("{}.{}.0", v.major(), v.minor())).ok(),
            Err(e) => {
                p.push(
                    m.raw("format_version"),
                    "format_version",
                    format!("invalid format spec version `{format_version}`: {e}"),
                );
                None
            }
        }
    };
    let release = match m.string("release", &mut p).filter(|r| !r.is_empty()) {
        Some(r) => r,
        None => match &semver {
            Some(v) if !v.prerelease().is_empty() || v.major() == 0 => "beta".into(),
            _ => "ga".into(),
        },
    };
    if !VALID_RELEASES.contains(&release.as_str()) {
        p.push(
            m.raw("release"),
            "release",
            format!("invalid release: \"{release}\""),
        );
    }

    if opts.validate {
        if format_version.is_empty() {
            p.push(None, "format_version", "no format_version set");
        }
        if title.as_deref().unwrap_or("").is_empty() {
            p.push(
                m.raw("title"),
                "title",
                format!("no title set for package: {name}"),
            );
        }
        if description.is_empty() {
            p.push(m.raw("description"), "description", "no description set");
        }
        if let (Location::Dir(dir), Some(v)) = (&location, &semver) {
            let dir_name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Ok(dir_version) = Version::parse(&dir_name)
                && dir_version != *v
            {
                p.push(m.raw("version"), "version", format!("version in manifest file is not consistent with path: inconsistent versions (path: {dir_version}, manifest: {v})"));
            }
        }
    }

    let url_base = url_path(&name, &version);
    let conditions = m.obj("conditions", "conditions", &mut p);
    let parse_constraint =
        |key: &str, label: &str, p: &mut Problems| -> (Option<Json>, Option<Constraints>) {
            let Some(c) = conditions.and_then(|c| c.obj(key, "", p)) else {
                return (None, None);
            };
            let raw = c.string_or_empty("version", p);
            let parsed = match Constraints::parse(&raw) {
                Ok(c) => Some(c),
                Err(e) => {
                    p.push(
                        c.raw("version").or(c.node),
                        &format!("conditions.{key}.version"),
                        format!("invalid {label} versions range {raw}: {e}"),
                    );
                    None
                }
            };
            (Some(ObjBuilder::new().str("version", &raw).build()), parsed)
        };
    let (kibana_json, kibana) = parse_constraint("kibana", "Kibana", &mut p);
    let (agent_json, agent) = parse_constraint("agent", "Agent", &mut p);
    let elastic = conditions.and_then(|c| c.obj("elastic", "conditions.elastic", &mut p));
    let subscription = elastic
        .map(|e| e.string_or_empty("subscription", &mut p))
        .unwrap_or_default();
    let capabilities = elastic.and_then(|e| e.strings("capabilities", &mut p));
    let conditions_json = conditions.map(|_| {
        ObjBuilder::new()
            .opt("kibana", kibana_json)
            .opt(
                "elastic",
                elastic.map(|_| {
                    ObjBuilder::new()
                        .str("subscription", &subscription)
                        .opt_list(
                            "capabilities",
                            capabilities
                                .clone()
                                .unwrap_or_default()
                                .iter()
                                .map(Json::str)
                                .collect(),
                        )
                        .build()
                }),
            )
            .opt("agent", agent_json)
            .build()
    });

    // Categories: unknown ones are dropped from the package (kept in policy templates).
    let mut categories = m.strings("categories", &mut p).unwrap_or_default();
    categories.retain(|c| {
        let known = categories::category(c).is_some();
        if !known {
            tracing::warn!(package.name = %name, package.version = %version, category = %c, "package uses an unknown category, will be ignored");
        }
        known
    });

    let icons = parts::images(&m, "icons", &url_base, &mut p);
    let screenshots = parts::images(&m, "screenshots", &url_base, &mut p);
    if opts.validate {
        for (key, list) in [("icons", &icons), ("screenshots", &screenshots)] {
            for img in list.iter() {
                if let Some(Json::Str(src)) = obj_field(img, "src")
                    && fs.stat(src).is_none()
                {
                    p.push(
                        m.raw(key),
                        key,
                        format!("{src}: file does not exist in the package"),
                    );
                }
            }
        }
    }

    // Policy templates.
    let mut templates = Vec::new();
    let mut full_templates = Vec::new();
    for node in m.list("policy_templates", &mut p).unwrap_or_default() {
        let (info, full) =
            parts::policy_template(node, &name, &version, &kind, fs.as_ref(), opts, &mut p);
        templates.push(info);
        full_templates.push(full);
    }

    let discovery = m.obj("discovery", "discovery", &mut p);
    let names_of = |key: &str, p: &mut Problems| -> Vec<String> {
        discovery
            .and_then(|d| d.list(key, p))
            .unwrap_or_default()
            .into_iter()
            .map(|n| {
                Obj {
                    node: Some(n),
                    path: "discovery",
                }
                .required_string("name", p)
            })
            .collect()
    };
    let discovery_fields = names_of("fields", &mut p);
    let discovery_datasets = names_of("datasets", &mut p);
    let discovery_json =
        (!discovery_fields.is_empty() || !discovery_datasets.is_empty()).then(|| {
            let named = |names: &[String]| {
                names
                    .iter()
                    .map(|n| ObjBuilder::new().str("name", n).build())
                    .collect()
            };
            ObjBuilder::new()
                .opt_list("fields", named(&discovery_fields))
                .opt_list("datasets", named(&discovery_datasets))
                .build()
        });

    let deprecated = parts::deprecated(&m, &mut p);

    // Files: README, assets, signature.
    match fs.stat("docs/README.md") {
        Some(e) if !e.is_dir => {}
        Some(_) => p.push(None, "docs/README.md", "README.md is a directory"),
        None => p.push(
            None,
            "docs/README.md",
            "no readme file found, README.md is required",
        ),
    }
    let assets = parts::assets(fs.as_ref(), &url_base, &mut p);
    let signature_file = match &location {
        Location::Dir(path) | Location::Zip(path) => {
            Some(PathBuf::from(format!("{}.sig", path.display())))
        }
        // Storage packages come from index entries, not from `load`.
        Location::Storage { .. } => None,
    };
    let signature = signature_file.clone().filter(|f| f.is_file());
    if opts.require_signature && signature.is_none() {
        // The full path, whatever the working directory, as that is where the operator
        // will look; and the way out, as signatures are required by default.
        let missing = match &signature_file {
            Some(file) => {
                let file = std::path::absolute(file).unwrap_or_else(|_| file.clone());
                format!("signature file {}", file.display())
            }
            None => "a signature file".to_string(),
        };
        p.push(
            None,
            "signature",
            format!(
                "package {name}-{version} is missing {missing} (serving unsigned packages needs --require-package-signatures=false)"
            ),
        );
    }

    // Data streams.
    let mut data_streams: Vec<DataStream> = Vec::new();
    for dir in fs.list_dir("data_stream") {
        if fs
            .stat(&format!("data_stream/{dir}/manifest.yml"))
            .is_none_or(|e| e.is_dir)
        {
            continue;
        }
        if let Some(ds) = data_stream::load(
            &dir,
            &name,
            &release,
            fs.as_ref(),
            opts,
            cache,
            &mut p.items,
        ) {
            data_streams.push(ds);
        }
    }

    let license = m
        .string("license", &mut p)
        .filter(|l| !l.is_empty())
        .or_else(|| (!subscription.is_empty()).then(|| subscription.clone()))
        .unwrap_or_else(|| "basic".into());

    let requires = m.obj("requires", "requires", &mut p).map(|r| {
        let refs = |key: &str, p: &mut Problems| -> Vec<Json> {
            r.list(key, p)
                .unwrap_or_default()
                .into_iter()
                .map(|n| {
                    let o = Obj {
                        node: Some(n),
                        path: "requires",
                    };
                    ObjBuilder::new()
                        .str("package", &o.required_string("package", p))
                        .str("version", &o.required_string("version", p))
                        .build()
                })
                .collect()
        };
        ObjBuilder::new()
            .opt_list("input", refs("input", &mut p))
            .opt_list("content", refs("content", &mut p))
            .build()
    });

    let source = m.obj("source", "source", &mut p).map(|s| {
        ObjBuilder::new()
            .opt_str("license", &s.string_or_empty("license", &mut p))
            .build()
    });
    let owner = m.obj("owner", "owner", &mut p).map(|o| {
        ObjBuilder::new()
            .opt_str("type", &o.string_or_empty("type", &mut p))
            .opt_str("github", &o.string_or_empty("github", &mut p))
            .build()
    });

    let es = m.obj("elasticsearch", "elasticsearch", &mut p).map(|e| {
        let privileges = e
            .obj("privileges", "elasticsearch.privileges", &mut p)
            .map(|pr| {
                ObjBuilder::new()
                    .opt_list(
                        "cluster",
                        pr.strings("cluster", &mut p)
                            .unwrap_or_default()
                            .iter()
                            .map(Json::str)
                            .collect(),
                    )
                    .build()
            });
        ObjBuilder::new().opt("privileges", privileges).build()
    });
    let agent_json = parts::agent_privileges(&m, &mut p);
    let vars = parts::variables(&m, "vars", &mut p);
    let policy_templates_behavior = m.string_or_empty("policy_templates_behavior", &mut p);
    let group = m.string_or_empty("group", &mut p);

    if !p.items.is_empty() {
        return Err(fail(p.items));
    }
    let semver = semver.expect("a version error was reported above");

    let doc = Doc {
        head: ObjBuilder::new()
            .str("name", &name)
            .opt("title", title.as_deref().map(Json::str))
            .str("version", &version)
            .opt_str("release", &release)
            .opt("source", source)
            .str("description", &description)
            .str("type", &kind)
            .str("download", &format!("/epr/{name}/{name}-{version}.zip"))
            .str("path", &url_base)
            .opt_list("icons", icons)
            .opt_str("policy_templates_behavior", &policy_templates_behavior)
            .0,
        conditions_to_signature: ObjBuilder::new()
            .opt("conditions", conditions_json)
            .opt("owner", owner)
            .opt_list("categories", categories.iter().map(Json::str).collect())
            .opt(
                "signature_path",
                signature
                    .as_ref()
                    .map(|_| Json::str(format!("/epr/{name}/{name}-{version}.zip.sig"))),
            )
            .0,
        discovery: discovery_json,
        base_data_streams: (!data_streams.is_empty())
            .then(|| Json::Arr(data_streams.iter().map(|d| d.base_json.clone()).collect())),
        tail: ObjBuilder::new()
            .opt("requires", requires)
            .opt_str("group", &group)
            .0,
        full_only: ObjBuilder::new()
            .str("format_version", &format_version)
            .str("readme", &format!("{url_base}/docs/README.md"))
            .opt_str("license", &license)
            .opt_list("screenshots", screenshots)
            .opt_list("assets", assets.iter().map(Json::str).collect())
            .0,
        full_templates: (!full_templates.is_empty()).then_some(Json::Arr(full_templates)),
        full_data_streams: (!data_streams.is_empty())
            .then(|| Json::Arr(data_streams.iter().map(|d| d.full_json.clone()).collect())),
        full_end: ObjBuilder::new()
            .opt_list("vars", vars)
            .opt("elasticsearch", es)
            .opt("agent", agent_json)
            .0,
        summary_only: false,
    };

    Ok(Package {
        name,
        version,
        semver,
        release,
        kind,
        categories,
        templates,
        kibana,
        agent,
        capabilities,
        spec_version,
        discovery_fields,
        discovery_datasets,
        deprecated,
        location,
        signature,
        files: Files::Held(fs),
        search: doc.search_text(),
        doc,
    })
}

fn obj_field<'a>(json: &'a Json, key: &str) -> Option<&'a Json> {
    match json {
        Json::Obj(entries) => obj_entry(entries, key),
        _ => None,
    }
}

fn obj_entry<'a>(entries: &'a [(String, Json)], key: &str) -> Option<&'a Json> {
    entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}
