//! Loading a package from its files, in three steps, each testable alone (the shape
//! of crates.io's `process_tarball` then `validate_manifest`):
//!
//! 1. **decode** (`Manifest::decode`): `manifest.yml` read into typed fields, with
//!    the defaults and derived values of the upstream (spec/api.md §4, §6.3). A value
//!    of the wrong type, a version or range that does not parse, an unknown release
//!    are problems here; the policy templates and data streams are decoded by their
//!    modules ([`crate::manifest_parts`], [`crate::data_stream`]).
//! 2. **check** (`check`): the load-time checks on the decoded package and its
//!    files: the ones `-disable-package-validation` turns off, then the README and
//!    the signature, which it does not.
//! 3. **render** (`render`): the [`Package`] with its documents, from a package
//!    that had no problem.
//!
//! Every problem of the three is collected ([`Problem`]: file, line, message), so one
//! failed load names all of them.

use std::path::PathBuf;
use std::sync::Arc;

use crate::categories;
use crate::constraint::Constraints;
use crate::data_stream::{self, DataStream};
use crate::decode::{Obj, ObjBuilder, Problems};
use crate::fs::PackageFs;
use crate::json::Json;
use crate::load_cache::LoadCache;
use crate::manifest_parts::{self as parts, url_path};
use crate::open_files::Files;
use crate::package::{
    Doc, LoadError, LoadOptions, Location, Package, TemplateInfo, VALID_RELEASES,
};
use crate::problem::Problem;
use crate::version::Version;
use crate::yaml;

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
    let fail = |problems: Vec<Problem>| LoadError {
        location: location.path().display().to_string(),
        problems,
    };
    let root = read_manifest(fs.as_ref()).map_err(|problem| fail(vec![problem]))?;
    let m = Obj::root(&root);
    let mut p = Problems::new("manifest.yml");
    let manifest = Manifest::decode(&m, fs.as_ref(), opts, &mut p);
    let data_streams = decode_data_streams(&manifest, fs.as_ref(), opts, cache, &mut p);
    let expected_signature = signature_beside(&location);
    let signature = expected_signature.clone().filter(|f| f.is_file());
    check(&manifest, &m, &location, fs.as_ref(), opts, &mut p);
    let signature_found = signature.is_some();
    check_files(
        &manifest,
        fs.as_ref(),
        opts,
        &expected_signature,
        signature_found,
        &mut p,
    );
    let assets = parts::assets(fs.as_ref(), &manifest.url_base, &mut p);
    if !p.items.is_empty() {
        return Err(fail(p.items));
    }
    let found = Found {
        data_streams,
        assets,
        signature,
    };
    Ok(render(manifest, found, location, fs))
}

/// `manifest.yml` as a YAML object, or the one problem that stops the load.
fn read_manifest(fs: &dyn PackageFs) -> Result<yaml::Node, Problem> {
    const FILE: &str = "manifest.yml";
    let bytes = fs.read(FILE).map_err(|e| Problem::package(e.to_string()))?;
    let text = yaml::utf8_text(bytes).map_err(|e| Problem::file(FILE, e))?;
    let root = yaml::parse_config(&text).map_err(|e| Problem::file(FILE, e.to_string()))?;
    if !matches!(root.value, yaml::Value::Map(_)) {
        let found = format!("expected an object, found {}", root.kind());
        return Err(Problem::file(FILE, found));
    }
    Ok(root)
}

/// A version range of `conditions` as printed and as parsed.
#[derive(Debug, Default)]
struct Range {
    printed: Option<Json>,
    parsed: Option<Constraints>,
}

/// `manifest.yml`, decoded: the fields with their defaults and derived values.
#[derive(Debug)]
pub(crate) struct Manifest {
    pub(crate) name: String,
    pub(crate) version: String,
    /// `None` when `version` does not parse (a problem was reported).
    pub(crate) semver: Option<Version>,
    pub(crate) title: Option<String>,
    pub(crate) description: String,
    /// `type`, `integration` when unset.
    pub(crate) kind: String,
    pub(crate) format_version: String,
    /// `format_version` reduced to MAJOR.MINOR.0.
    pub(crate) spec_version: Option<Version>,
    /// `release`, or `beta` for a prerelease or 0.x version, else `ga`.
    pub(crate) release: String,
    pub(crate) url_base: String,
    /// `conditions` is present.
    has_conditions: bool,
    kibana: Range,
    agent: Range,
    /// `conditions.elastic` is present.
    has_elastic: bool,
    subscription: String,
    capabilities: Option<Vec<String>>,
    /// Known categories only (unknown ones are dropped, with a warning).
    pub(crate) categories: Vec<String>,
    icons: Vec<Json>,
    screenshots: Vec<Json>,
    templates: Vec<TemplateInfo>,
    full_templates: Vec<Json>,
    discovery_fields: Vec<String>,
    discovery_datasets: Vec<String>,
    deprecated: Option<Json>,
    /// `license`, else the subscription, else `basic`.
    license: String,
    requires: Option<Json>,
    source: Option<Json>,
    owner: Option<Json>,
    elasticsearch: Option<Json>,
    agent_privileges: Option<Json>,
    vars: Vec<Json>,
    policy_templates_behavior: String,
    group: String,
}

impl Manifest {
    /// Decodes the manifest `m`; its policy templates read their files in `fs`.
    pub(crate) fn decode(
        m: &Obj<'_>,
        fs: &dyn PackageFs,
        opts: &LoadOptions,
        p: &mut Problems,
    ) -> Manifest {
        let name = m.required_string("name", p);
        let version = m.string_or_empty("version", p);
        let semver = match Version::parse_strict(&version) {
            Ok(v) => Some(v),
            Err(e) => {
                let message = format!("invalid package version `{version}`: {e}");
                p.push(m.raw("version"), "version", message);
                None
            }
        };
        let kind = m
            .string("type", p)
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "integration".into());
        let format_version = m.string_or_empty("format_version", p);
        let spec_version = spec_version(m, &format_version, p);
        let release = release(m, semver.as_ref(), p);
        let url_base = url_path(&name, &version);
        let conditions = m.obj("conditions", "conditions", p);
        let kibana = range(conditions, "kibana", "Kibana", p);
        let agent = range(conditions, "agent", "Agent", p);
        let elastic = conditions.and_then(|c| c.obj("elastic", "conditions.elastic", p));
        let subscription = elastic
            .map(|e| e.string_or_empty("subscription", p))
            .unwrap_or_default();
        let capabilities = elastic.and_then(|e| e.strings("capabilities", p));
        let categories = known_categories(m, &name, &version, p);
        let icons = parts::images(m, "icons", &url_base, p);
        let screenshots = parts::images(m, "screenshots", &url_base, p);
        let (templates, full_templates) = m
            .list("policy_templates", p)
            .unwrap_or_default()
            .into_iter()
            .map(|node| parts::policy_template(node, &name, &version, &kind, fs, opts, p))
            .unzip();
        let discovery = m.obj("discovery", "discovery", p);
        let discovery_fields = discovery_names(discovery, "fields", p);
        let discovery_datasets = discovery_names(discovery, "datasets", p);
        let license = m
            .string("license", p)
            .filter(|l| !l.is_empty())
            .or_else(|| (!subscription.is_empty()).then(|| subscription.clone()))
            .unwrap_or_else(|| "basic".into());
        Manifest {
            title: m.string("title", p),
            description: m.string_or_empty("description", p),
            deprecated: parts::deprecated(m, p),
            requires: requires(m, p),
            source: m.obj("source", "source", p).map(|s| {
                ObjBuilder::new()
                    .opt_str("license", &s.string_or_empty("license", p))
                    .build()
            }),
            owner: m.obj("owner", "owner", p).map(|o| {
                ObjBuilder::new()
                    .opt_str("type", &o.string_or_empty("type", p))
                    .opt_str("github", &o.string_or_empty("github", p))
                    .build()
            }),
            elasticsearch: elasticsearch(m, p),
            agent_privileges: parts::agent_privileges(m, p),
            vars: parts::variables(m, "vars", p),
            policy_templates_behavior: m.string_or_empty("policy_templates_behavior", p),
            group: m.string_or_empty("group", p),
            name,
            version,
            semver,
            kind,
            format_version,
            spec_version,
            release,
            url_base,
            has_conditions: conditions.is_some(),
            kibana,
            agent,
            has_elastic: elastic.is_some(),
            subscription,
            capabilities,
            categories,
            icons,
            screenshots,
            templates,
            full_templates,
            discovery_fields,
            discovery_datasets,
            license,
        }
    }
}

/// `format_version` reduced to MAJOR.MINOR.0; `None` when unset or invalid.
fn spec_version(m: &Obj<'_>, format_version: &str, p: &mut Problems) -> Option<Version> {
    if format_version.is_empty() {
        return None;
    }
    match Version::parse_strict(format_version) {
        Ok(v) => Version::parse_strict(&format!("{}.{}.0", v.major(), v.minor())).ok(),
        Err(e) => {
            let message = format!("invalid format spec version `{format_version}`: {e}");
            p.push(m.raw("format_version"), "format_version", message);
            None
        }
    }
}

/// `release`, or its default for `version`; an unknown one is a problem.
fn release(m: &Obj<'_>, version: Option<&Version>, p: &mut Problems) -> String {
    let release = match m.string("release", p).filter(|r| !r.is_empty()) {
        Some(r) => r,
        None => match version {
            Some(v) if !v.prerelease().is_empty() || v.major() == 0 => "beta".into(),
            _ => "ga".into(),
        },
    };
    if !VALID_RELEASES.contains(&release.as_str()) {
        let message = format!("invalid release: \"{release}\"");
        p.push(m.raw("release"), "release", message);
    }
    release
}

/// `conditions.{key}.version`, printed as given and parsed.
fn range(conditions: Option<Obj<'_>>, key: &str, label: &str, p: &mut Problems) -> Range {
    let Some(c) = conditions.and_then(|c| c.obj(key, "", p)) else {
        return Range::default();
    };
    let raw = c.string_or_empty("version", p);
    let parsed = match Constraints::parse(&raw) {
        Ok(c) => Some(c),
        Err(e) => {
            let message = format!("invalid {label} versions range {raw}: {e}");
            let at = c.raw("version").or(c.node);
            p.push(at, &format!("conditions.{key}.version"), message);
            None
        }
    };
    Range {
        printed: Some(ObjBuilder::new().str("version", &raw).build()),
        parsed,
    }
}

/// The package's categories: unknown ones are dropped (kept in policy templates),
/// as upstream does, with a warning.
fn known_categories(m: &Obj<'_>, name: &str, version: &str, p: &mut Problems) -> Vec<String> {
    let mut categories = m.strings("categories", p).unwrap_or_default();
    categories.retain(|c| {
        let known = categories::category(c).is_some();
        if !known {
            tracing::warn!(package.name = %name, package.version = %version, category = %c, "package uses an unknown category, will be ignored");
        }
        known
    });
    categories
}

/// The `name`s of `discovery.{key}`.
fn discovery_names(discovery: Option<Obj<'_>>, key: &str, p: &mut Problems) -> Vec<String> {
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
}

/// `requires`: the input and content packages this one needs.
fn requires(m: &Obj<'_>, p: &mut Problems) -> Option<Json> {
    let r = m.obj("requires", "requires", p)?;
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
    Some(
        ObjBuilder::new()
            .opt_list("input", refs("input", p))
            .opt_list("content", refs("content", p))
            .build(),
    )
}

/// `elasticsearch.privileges.cluster`.
fn elasticsearch(m: &Obj<'_>, p: &mut Problems) -> Option<Json> {
    let e = m.obj("elasticsearch", "elasticsearch", p)?;
    let privileges = e
        .obj("privileges", "elasticsearch.privileges", p)
        .map(|pr| {
            let cluster = pr.strings("cluster", p).unwrap_or_default();
            ObjBuilder::new()
                .opt_list("cluster", cluster.iter().map(Json::str).collect())
                .build()
        });
    Some(ObjBuilder::new().opt("privileges", privileges).build())
}

/// The data streams under `data_stream/`, each decoded and checked by
/// [`data_stream::load`]; a folder without a manifest is not one.
fn decode_data_streams(
    manifest: &Manifest,
    fs: &dyn PackageFs,
    opts: &LoadOptions,
    cache: &LoadCache,
    p: &mut Problems,
) -> Vec<DataStream> {
    let mut data_streams = Vec::new();
    for dir in fs.list_dir("data_stream") {
        if fs
            .stat(&format!("data_stream/{dir}/manifest.yml"))
            .is_none_or(|e| e.is_dir)
        {
            continue;
        }
        let loaded = data_stream::load(
            &dir,
            &manifest.name,
            &manifest.release,
            fs,
            opts,
            cache,
            &mut p.items,
        );
        data_streams.extend(loaded);
    }
    data_streams
}

/// The checks that `-disable-package-validation` turns off (spec/api.md §6.3).
pub(crate) fn check(
    manifest: &Manifest,
    m: &Obj<'_>,
    location: &Location,
    fs: &dyn PackageFs,
    opts: &LoadOptions,
    p: &mut Problems,
) {
    if !opts.validate {
        return;
    }
    if manifest.format_version.is_empty() {
        p.push(None, "format_version", "no format_version set");
    }
    if manifest.title.as_deref().unwrap_or("").is_empty() {
        let message = format!("no title set for package: {}", manifest.name);
        p.push(m.raw("title"), "title", message);
    }
    if manifest.description.is_empty() {
        p.push(m.raw("description"), "description", "no description set");
    }
    if let (Location::Dir(dir), Some(v)) = (location, &manifest.semver) {
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
    for (key, list) in [
        ("icons", &manifest.icons),
        ("screenshots", &manifest.screenshots),
    ] {
        for img in list {
            if let Some(Json::Str(src)) = field(img, "src")
                && fs.stat(src).is_none()
            {
                let message = format!("{src}: file does not exist in the package");
                p.push(m.raw(key), key, message);
            }
        }
    }
}

/// The member `key` of the JSON object `json`.
fn field<'a>(json: &'a Json, key: &str) -> Option<&'a Json> {
    match json {
        Json::Obj(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

/// The checks on files that hold whatever the options: a README, and the signature
/// when signatures are required (`signature` is where it belongs; `found`, whether
/// it is there).
fn check_files(
    manifest: &Manifest,
    fs: &dyn PackageFs,
    opts: &LoadOptions,
    signature: &Option<PathBuf>,
    found: bool,
    p: &mut Problems,
) {
    match fs.stat("docs/README.md") {
        Some(e) if !e.is_dir => {}
        Some(_) => p.push(None, "docs/README.md", "README.md is a directory"),
        None => p.push(
            None,
            "docs/README.md",
            "no readme file found, README.md is required",
        ),
    }
    if !opts.require_signature || found {
        return;
    }
    // The full path, whatever the working directory, as that is where the operator
    // will look; and the way out, as signatures are required by default.
    let missing = match signature {
        Some(file) => {
            let file = std::path::absolute(file).unwrap_or_else(|_| file.clone());
            format!("signature file {}", file.display())
        }
        None => "a signature file".to_string(),
    };
    let (name, version) = (&manifest.name, &manifest.version);
    p.push(
        None,
        "signature",
        format!(
            "package {name}-{version} is missing {missing} (serving unsigned packages needs --require-package-signatures=false)"
        ),
    );
}

/// Where a local package's signature belongs: `<path>.sig`. (Storage packages come
/// from index entries, not from `load`.)
fn signature_beside(location: &Location) -> Option<PathBuf> {
    match location {
        Location::Dir(path) | Location::Zip(path) => {
            Some(PathBuf::from(format!("{}.sig", path.display())))
        }
        Location::Storage { .. } => None,
    }
}

/// What the checks found beside the manifest, for [`render`].
pub(crate) struct Found {
    data_streams: Vec<DataStream>,
    /// The asset paths the full document lists.
    assets: Vec<String>,
    /// The signature file, when it exists.
    signature: Option<PathBuf>,
}

/// The package, with its documents, from a manifest decoded without problems.
pub(crate) fn render(
    manifest: Manifest,
    found: Found,
    location: Location,
    fs: Arc<dyn PackageFs>,
) -> Package {
    let Manifest {
        name,
        version,
        url_base,
        ..
    } = &manifest;
    let semver = manifest
        .semver
        .clone()
        .expect("a package with an invalid version has a problem and is not rendered");
    let Found {
        data_streams,
        assets,
        signature,
    } = found;
    let categories: Vec<Json> = manifest.categories.iter().map(Json::str).collect();
    let doc = Doc {
        head: ObjBuilder::new()
            .str("name", name)
            .opt("title", manifest.title.as_deref().map(Json::str))
            .str("version", version)
            .opt_str("release", &manifest.release)
            .opt("source", manifest.source.clone())
            .str("description", &manifest.description)
            .str("type", &manifest.kind)
            .str("download", &format!("/epr/{name}/{name}-{version}.zip"))
            .str("path", url_base)
            .opt_list("icons", manifest.icons.clone())
            .opt_str(
                "policy_templates_behavior",
                &manifest.policy_templates_behavior,
            )
            .0,
        conditions_to_signature: ObjBuilder::new()
            .opt("conditions", conditions_json(&manifest))
            .opt("owner", manifest.owner.clone())
            .opt_list("categories", categories)
            .opt(
                "signature_path",
                signature
                    .as_ref()
                    .map(|_| Json::str(format!("/epr/{name}/{name}-{version}.zip.sig"))),
            )
            .0,
        discovery: discovery_json(&manifest),
        base_data_streams: (!data_streams.is_empty())
            .then(|| Json::Arr(data_streams.iter().map(|d| d.base_json.clone()).collect())),
        tail: ObjBuilder::new()
            .opt("requires", manifest.requires.clone())
            .opt_str("group", &manifest.group)
            .0,
        full_only: ObjBuilder::new()
            .str("format_version", &manifest.format_version)
            .str("readme", &format!("{url_base}/docs/README.md"))
            .opt_str("license", &manifest.license)
            .opt_list("screenshots", manifest.screenshots.clone())
            .opt_list("assets", assets.iter().map(Json::str).collect())
            .0,
        full_templates: (!manifest.full_templates.is_empty())
            .then(|| Json::Arr(manifest.full_templates.clone())),
        full_data_streams: (!data_streams.is_empty())
            .then(|| Json::Arr(data_streams.iter().map(|d| d.full_json.clone()).collect())),
        full_end: ObjBuilder::new()
            .opt_list("vars", manifest.vars.clone())
            .opt("elasticsearch", manifest.elasticsearch.clone())
            .opt("agent", manifest.agent_privileges.clone())
            .0,
        summary_only: false,
    };
    Package {
        search: doc.search_text(),
        doc,
        semver,
        kibana: manifest.kibana.parsed,
        agent: manifest.agent.parsed,
        name: manifest.name,
        version: manifest.version,
        release: manifest.release,
        kind: manifest.kind,
        categories: manifest.categories,
        templates: manifest.templates,
        capabilities: manifest.capabilities,
        spec_version: manifest.spec_version,
        discovery_fields: manifest.discovery_fields,
        discovery_datasets: manifest.discovery_datasets,
        deprecated: manifest.deprecated,
        location,
        signature,
        files: Files::Held(fs),
    }
}

/// The `conditions` object, as the upstream prints it back.
fn conditions_json(manifest: &Manifest) -> Option<Json> {
    if !manifest.has_conditions {
        return None;
    }
    let capabilities: Vec<Json> = manifest
        .capabilities
        .iter()
        .flatten()
        .map(Json::str)
        .collect();
    let elastic = manifest.has_elastic.then(|| {
        ObjBuilder::new()
            .str("subscription", &manifest.subscription)
            .opt_list("capabilities", capabilities)
            .build()
    });
    Some(
        ObjBuilder::new()
            .opt("kibana", manifest.kibana.printed.clone())
            .opt("elastic", elastic)
            .opt("agent", manifest.agent.printed.clone())
            .build(),
    )
}

/// The `discovery` object, when it names fields or datasets.
fn discovery_json(manifest: &Manifest) -> Option<Json> {
    let (fields, datasets) = (&manifest.discovery_fields, &manifest.discovery_datasets);
    if fields.is_empty() && datasets.is_empty() {
        return None;
    }
    let named = |names: &[String]| {
        names
            .iter()
            .map(|n| ObjBuilder::new().str("name", n).build())
            .collect()
    };
    Some(
        ObjBuilder::new()
            .opt_list("fields", named(fields))
            .opt_list("datasets", named(datasets))
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::EmptyFs;

    /// `text` decoded as a manifest: the manifest and the problems, printed.
    fn decoded(text: &str, opts: &LoadOptions) -> (Manifest, Vec<String>) {
        let root = yaml::parse_config(text).unwrap();
        let mut p = Problems::new("manifest.yml");
        let manifest = Manifest::decode(&Obj::root(&root), &EmptyFs, opts, &mut p);
        (manifest, printed(p))
    }

    fn printed(p: Problems) -> Vec<String> {
        p.items.iter().map(ToString::to_string).collect()
    }

    const MINIMAL: &str = "\
format_version: 3.1.2
name: foo
title: Foo
version: 0.3.0
description: The foo.
conditions:
  kibana:
    version: ^8.5.0
  elastic:
    subscription: platinum
";

    #[test]
    fn decode_fills_in_the_upstream_defaults() {
        let (m, problems) = decoded(MINIMAL, &LoadOptions::default());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(m.kind, "integration");
        assert_eq!(m.release, "beta", "a 0.x version is beta");
        assert_eq!(m.license, "platinum", "the subscription, with no license");
        assert_eq!(m.spec_version.unwrap().to_string(), "3.1.0");
        assert_eq!(m.url_base, "/package/foo/0.3.0");
        assert!(m.kibana.parsed.is_some() && m.agent.parsed.is_none());
    }

    #[test]
    fn decode_names_each_bad_value_with_its_line() {
        let text = MINIMAL
            .replace("version: 0.3.0", "version: one")
            .replace("^8.5.0", "not a range")
            + "release: gamma\n";
        let (m, problems) = decoded(&text, &LoadOptions::default());
        assert!(m.semver.is_none());
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].starts_with("manifest.yml:4: version: invalid package version `one`"),
            "{problems:?}"
        );
        assert!(problems[1].starts_with("manifest.yml:11: release: invalid release: \"gamma\""));
        assert!(problems[2].starts_with(
            "manifest.yml:8: conditions.kibana.version: invalid Kibana versions range not a range"
        ));
    }

    #[test]
    fn check_runs_only_when_validating() {
        let text = MINIMAL
            .replace("title: Foo\n", "")
            .replace("The foo.", "''");
        let (m, problems) = decoded(&text, &LoadOptions::default());
        assert!(problems.is_empty(), "{problems:?}");
        let root = yaml::parse_config(&text).unwrap();
        let location = Location::Dir(PathBuf::from("/packages/foo/0.4.0"));
        let checked = |opts: &LoadOptions| {
            let mut p = Problems::new("manifest.yml");
            check(&m, &Obj::root(&root), &location, &EmptyFs, opts, &mut p);
            printed(p)
        };
        assert_eq!(
            checked(&LoadOptions::default()),
            [
                "manifest.yml: title: no title set for package: foo",
                "manifest.yml:4: description: no description set",
                "manifest.yml:3: version: version in manifest file is not consistent with path: \
                 inconsistent versions (path: 0.4.0, manifest: 0.3.0)",
            ]
        );
        let lenient = LoadOptions {
            validate: false,
            ..LoadOptions::default()
        };
        assert!(checked(&lenient).is_empty());
    }

    /// Versions whose data stream manifests are copies parse them once, and each
    /// version still gets its own data stream documents (with its own problems).
    #[test]
    fn copies_of_a_data_stream_manifest_are_parsed_once() {
        use epr_testkit::PackageBuilder;
        let tmp = tempfile::tempdir().unwrap();
        let ds = "title: Logs\ntype: logs\n";
        let cache = LoadCache::default();
        let opts = LoadOptions {
            validate: false,
            ..LoadOptions::default()
        };
        let load_version = |version: &str, manifest: &str| {
            let dir = PackageBuilder::new("foo", version)
                .file("data_stream/logs/manifest.yml", manifest)
                .write_folder(tmp.path());
            let fs = Arc::new(crate::fs::DirFs::open(&dir).unwrap());
            load_sharing(Location::Dir(dir), fs, &opts, &cache)
        };
        for version in ["1.0.0", "1.0.1", "1.1.0"] {
            let package = load_version(version, ds).unwrap();
            let mut entry = String::new();
            package.write_search_entry(&mut entry, None, None);
            assert!(entry.contains("\"dataset\": \"foo.logs\""), "{entry}");
        }
        assert_eq!(cache.data_stream_manifests.len(), 1);
        let error = load_version("1.2.0", "title: [unclosed\n").unwrap_err();
        assert!(
            error
                .joined("; ")
                .starts_with("data_stream/logs/manifest.yml: "),
            "{error}"
        );
        assert_eq!(cache.data_stream_manifests.len(), 2);
    }

    #[test]
    fn render_prints_the_documents_from_the_decoded_manifest() {
        let (m, _) = decoded(MINIMAL, &LoadOptions::default());
        let found = Found {
            data_streams: Vec::new(),
            assets: vec!["/package/foo/0.3.0/manifest.yml".into()],
            signature: None,
        };
        let location = Location::Zip(PathBuf::from("foo-0.3.0.zip"));
        let package = render(m, found, location, Arc::new(EmptyFs));
        assert_eq!(
            (package.name.as_str(), package.version.as_str()),
            ("foo", "0.3.0")
        );
        let mut entry = String::new();
        package.write_search_entry(&mut entry, None, None);
        let entry: serde_json::Value = serde_json::from_str(&entry).unwrap();
        assert_eq!(entry["conditions"]["kibana"]["version"], "^8.5.0");
        assert_eq!(entry["conditions"]["elastic"]["subscription"], "platinum");
        assert_eq!(entry["download"], "/epr/foo/foo-0.3.0.zip");
        assert!(entry.get("signature_path").is_none());
        let full = package.full_json(None).unwrap().to_document();
        let full: serde_json::Value = serde_json::from_str(&full).unwrap();
        assert_eq!(full["license"], "platinum");
        assert_eq!(full["assets"][0], "/package/foo/0.3.0/manifest.yml");
        assert_eq!(full["readme"], "/package/foo/0.3.0/docs/README.md");
    }
}
