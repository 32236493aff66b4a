//! The folder-spec language of package-spec (spec/package-format.md §4) as Rust data:
//! one [`Item`] per file or folder the spec describes, built with small constructors
//! ([`file()`], [`files`], [`folder`], [`folders`]) and chained setters, so that the
//! trees in the sibling modules read like the `spec.yml` files they come from.
//!
//! A tree is built for one package (its type and `format_version`), then
//! [`Item::prepare`] does what package-spec's loader does after reading the YAML:
//! children inherit the limits they do not set and the development flag, and name
//! patterns get `{PACKAGE_NAME}` substituted and are compiled once.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use regex::Regex;

use crate::schemas::FileSchema;

/// Sizes in the spec are written with a unit; `KB` and `MB` are powers of 1024.
pub const KB: u64 = 1024;
/// A megabyte as the spec counts it.
pub const MB: u64 = 1024 * KB;

/// Whether an item is a file or a folder (`type:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Folder,
}

impl Kind {
    /// The word package-spec uses in messages.
    pub fn word(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Folder => "folder",
        }
    }
}

/// `contentMediaType`: what the file must contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/x-yaml`; `require_dashes` is the `require-document-dashes=true`
    /// parameter: the first line must be `---`.
    Yaml {
        require_dashes: bool,
    },
    Json,
    Markdown,
    PlainText,
    Csv,
}

/// How an item is matched against a folder entry's name.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// `name:` an exact name.
    Name(&'static str),
    /// `pattern:` a regular expression (unanchored unless it says so), possibly with
    /// `{PACKAGE_NAME}` in it.
    Pattern(&'static str),
}

/// The limits of §5.2. `None` means "inherit from the parent" until [`Item::prepare`]
/// has run, and "no limit" after.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Most direct entries in a folder (`totalContentsLimit`).
    pub total_contents: Option<usize>,
    /// Most bytes of files under a folder, development folders excluded (`totalSizeLimit`).
    pub total_size: Option<u64>,
    /// Largest single file (`sizeLimit`).
    pub size: Option<u64>,
    /// Largest YAML file (`configurationSizeLimit`).
    pub configuration_size: Option<u64>,
    /// Largest file a `relative-path` value may point at (`relativePathSizeLimit`).
    pub relative_path_size: Option<u64>,
    /// Most fields one data stream may define (`fieldsPerDataStreamLimit`).
    pub fields_per_data_stream: Option<usize>,
}

impl Limits {
    /// Fills what `self` leaves unset from `parent`, as package-spec's
    /// `propagateContentLimits` does.
    fn inherit(&mut self, parent: &Limits) {
        self.total_contents = self.total_contents.or(parent.total_contents);
        self.total_size = self.total_size.or(parent.total_size);
        self.size = self.size.or(parent.size);
        self.configuration_size = self.configuration_size.or(parent.configuration_size);
        self.relative_path_size = self.relative_path_size.or(parent.relative_path_size);
        self.fields_per_data_stream = self
            .fields_per_data_stream
            .or(parent.fields_per_data_stream);
    }
}

/// One file or folder of a folder spec.
#[derive(Debug, Clone)]
pub struct Item {
    /// `type:` file or folder.
    pub kind: Kind,
    /// `name:` or `pattern:`.
    pub matcher: Matcher,
    /// `forbiddenPatterns`: a name matching one of them does not match this item.
    pub forbidden: Vec<&'static str>,
    /// `required:` the folder must contain a matching entry of this kind.
    pub required: bool,
    /// `contentMediaType:` checked before the schema.
    pub media_type: Option<MediaType>,
    /// The schema the file's content is checked against (the item's `$ref`).
    pub schema: Option<FileSchema>,
    /// The child items of a folder.
    pub contents: Vec<Item>,
    /// `additionalContents`: entries no child matches are accepted.
    pub additional_contents: bool,
    /// `developmentFolder`: stripped from built packages, excluded from size totals,
    /// `-` allowed in unknown folder names. Inherited by everything below.
    pub development: bool,
    /// `allowLink`: `<name>.link` may stand for the file.
    pub allow_link: bool,
    /// `validationMode: source`: an error in built packages.
    pub source_only: bool,
    /// `release: beta`: packages with a stable version cannot use it.
    pub beta: bool,
    /// The item's limits; inherited ones are filled in by [`Item::prepare`].
    pub limits: Limits,
    /// The pattern with `{PACKAGE_NAME}` substituted, compiled by [`Item::prepare`];
    /// the compile error when it does not compile.
    compiled: Option<Result<Regex, String>>,
    /// The forbidden patterns, compiled by [`Item::prepare`].
    forbidden_compiled: Vec<Result<Regex, String>>,
}

fn item(kind: Kind, matcher: Matcher) -> Item {
    Item {
        kind,
        matcher,
        forbidden: Vec::new(),
        required: false,
        media_type: None,
        schema: None,
        contents: Vec::new(),
        additional_contents: false,
        development: false,
        allow_link: false,
        source_only: false,
        beta: false,
        limits: Limits::default(),
        compiled: None,
        forbidden_compiled: Vec::new(),
    }
}

/// A file with an exact name.
pub fn file(name: &'static str) -> Item {
    item(Kind::File, Matcher::Name(name))
}

/// Files whose names match `pattern`.
pub fn files(pattern: &'static str) -> Item {
    item(Kind::File, Matcher::Pattern(pattern))
}

/// A folder with an exact name.
pub fn folder(name: &'static str) -> Item {
    item(Kind::Folder, Matcher::Name(name))
}

/// Folders whose names match `pattern`.
pub fn folders(pattern: &'static str) -> Item {
    item(Kind::Folder, Matcher::Pattern(pattern))
}

/// A folder spec file's top level (`spec:` of a `spec.yml`), to be merged into the item
/// that references it with [`Item::with_spec`].
pub fn spec() -> Item {
    item(Kind::Folder, Matcher::Name(""))
}

impl Item {
    /// `required: true`.
    pub fn required(self) -> Item {
        self.required_if(true)
    }

    /// `required`, set by a version condition (a `versions` patch changes it).
    pub fn required_if(mut self, required: bool) -> Item {
        self.required = required;
        self
    }

    /// `application/x-yaml`.
    pub fn yaml(mut self) -> Item {
        self.media_type = Some(MediaType::Yaml {
            require_dashes: false,
        });
        self
    }

    /// `application/x-yaml; require-document-dashes=true`.
    pub fn yaml_with_dashes(mut self) -> Item {
        self.media_type = Some(MediaType::Yaml {
            require_dashes: true,
        });
        self
    }

    /// `application/json`.
    pub fn json(mut self) -> Item {
        self.media_type = Some(MediaType::Json);
        self
    }

    /// `text/markdown`.
    pub fn markdown(mut self) -> Item {
        self.media_type = Some(MediaType::Markdown);
        self
    }

    /// `text/plain`.
    pub fn plain_text(mut self) -> Item {
        self.media_type = Some(MediaType::PlainText);
        self
    }

    /// `text/csv`.
    pub fn csv(mut self) -> Item {
        self.media_type = Some(MediaType::Csv);
        self
    }

    /// The schema the file's content must satisfy (`$ref` to a `*.spec.yml`).
    pub fn schema(self, schema: FileSchema) -> Item {
        self.schema_if(true, schema)
    }

    /// The schema, only when `cond` (a `$ref` that a `versions` patch removes for older
    /// packages).
    pub fn schema_if(mut self, cond: bool, schema: FileSchema) -> Item {
        if cond {
            self.schema = Some(schema);
        }
        self
    }

    /// Adds a `forbiddenPatterns` entry.
    pub fn forbid(mut self, pattern: &'static str) -> Item {
        self.forbidden.push(pattern);
        self
    }

    /// Appends a child item.
    pub fn child(mut self, child: Item) -> Item {
        self.contents.push(child);
        self
    }

    /// Appends a child item only when `cond` (an item a `versions` patch removes for
    /// older packages).
    pub fn child_if(self, cond: bool, child: Item) -> Item {
        if cond { self.child(child) } else { self }
    }

    /// `additionalContents: true`.
    pub fn additional_contents(mut self) -> Item {
        self.additional_contents = true;
        self
    }

    /// `developmentFolder: true`.
    pub fn development(mut self) -> Item {
        self.development = true;
        self
    }

    /// `allowLink: true`.
    pub fn allow_link(mut self) -> Item {
        self.allow_link = true;
        self
    }

    /// `validationMode: source`.
    pub fn source_only(mut self) -> Item {
        self.source_only = true;
        self
    }

    /// `release: beta`, set by a version condition.
    pub fn beta_if(mut self, cond: bool) -> Item {
        self.beta = cond;
        self
    }

    /// `sizeLimit`, in bytes.
    pub fn size_limit(mut self, bytes: u64) -> Item {
        self.limits.size = Some(bytes);
        self
    }

    /// `totalContentsLimit`.
    pub fn total_contents_limit(mut self, entries: usize) -> Item {
        self.limits.total_contents = Some(entries);
        self
    }

    /// All limits at once (a package type's root).
    pub fn limits(mut self, limits: Limits) -> Item {
        self.limits = limits;
        self
    }

    /// Merges a referenced folder spec (`$ref: other/spec.yml`) into this item, as
    /// package-spec's loader does: what the referenced spec sets wins, the name, type
    /// and `required` of the referencing item stay.
    pub fn with_spec(mut self, spec: Item) -> Item {
        self.contents = spec.contents;
        self.additional_contents = spec.additional_contents;
        self.development |= spec.development;
        self.beta |= spec.beta;
        let mut limits = spec.limits;
        limits.inherit(&self.limits);
        self.limits = limits;
        self
    }

    /// Makes the tree ready to walk: limits and the development flag flow down from
    /// `self` to every descendant, and patterns are compiled for package `name`.
    pub fn prepare(&mut self, package_name: &str) {
        self.compile(package_name);
        let (limits, development) = (self.limits, self.development);
        for child in &mut self.contents {
            child.limits.inherit(&limits);
            child.development |= development;
            child.prepare(package_name);
        }
    }

    fn compile(&mut self, package_name: &str) {
        if let Matcher::Pattern(pattern) = self.matcher {
            let source = pattern.replace("{PACKAGE_NAME}", package_name);
            self.compiled = Some(cached_regex(&source));
        }
        self.forbidden_compiled = self.forbidden.iter().map(|p| cached_regex(p)).collect();
    }

    /// Whether `name` (a folder entry's name, `.link` already stripped) is this item:
    /// the exact name, or the pattern without any forbidden pattern. An error when the
    /// pattern does not compile (a package name that is not a valid regex part).
    pub fn matches(&self, name: &str) -> Result<bool, String> {
        match self.matcher {
            Matcher::Name(n) => Ok(n == name),
            Matcher::Pattern(_) => {
                if !self.pattern_matches(name)? {
                    return Ok(false);
                }
                for forbidden in &self.forbidden_compiled {
                    let re = forbidden
                        .as_ref()
                        .map_err(|e| format!("invalid forbidden pattern for folder item: {e}"))?;
                    if re.is_match(name) {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        }
    }

    /// Whether `name` matches the item's name or pattern, forbidden patterns ignored
    /// (package-spec's check for required items does not look at them).
    pub fn pattern_matches(&self, name: &str) -> Result<bool, String> {
        match (&self.matcher, &self.compiled) {
            (Matcher::Name(n), _) => Ok(*n == name),
            (Matcher::Pattern(_), Some(Ok(re))) => Ok(re.is_match(name)),
            (Matcher::Pattern(_), Some(Err(e))) => {
                Err(format!("invalid folder item spec pattern: {e}"))
            }
            (Matcher::Pattern(p), None) => Regex::new(p)
                .map(|re| re.is_match(name))
                .map_err(|e| format!("invalid folder item spec pattern: {e}")),
        }
    }

    /// Whether the item is a folder.
    pub fn is_folder(&self) -> bool {
        self.kind == Kind::Folder
    }
}

/// A size as package-spec prints it: `5MB`, `3KB` when a whole number of those, else
/// bytes (`1234B`).
pub fn format_size(bytes: u64) -> String {
    if bytes >= MB && bytes.is_multiple_of(MB) {
        format!("{}MB", bytes / MB)
    } else if bytes >= KB && bytes.is_multiple_of(KB) {
        format!("{}KB", bytes / KB)
    } else {
        format!("{bytes}B")
    }
}

/// Compiles `source` once per process: every package walks the same tree of a few
/// hundred patterns, and compiling them is far dearer than matching names.
fn cached_regex(source: &str) -> Result<Regex, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Result<Regex, String>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    cache
        .entry(source.to_string())
        .or_insert_with(|| Regex::new(source).map_err(|e| e.to_string()))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_in_the_largest_whole_unit() {
        assert_eq!(format_size(5 * MB), "5MB");
        assert_eq!(format_size(3 * KB), "3KB");
        assert_eq!(format_size(MB + 1), "1048577B");
        assert_eq!(format_size(0), "0B");
    }

    #[test]
    fn children_inherit_limits_they_do_not_set() {
        let mut root = spec()
            .limits(Limits {
                size: Some(150 * MB),
                configuration_size: Some(5 * MB),
                ..Limits::default()
            })
            .child(file("manifest.yml").size_limit(5 * MB))
            .child(folder("a").child(file("b")));
        root.prepare("pkg");
        assert_eq!(root.contents[0].limits.size, Some(5 * MB));
        assert_eq!(root.contents[1].contents[0].limits.size, Some(150 * MB));
        assert_eq!(
            root.contents[1].contents[0].limits.configuration_size,
            Some(5 * MB)
        );
    }

    #[test]
    fn development_flows_down() {
        let mut root = spec().child(
            folder("_dev")
                .development()
                .child(folder("x").child(folder("y"))),
        );
        root.prepare("pkg");
        assert!(root.contents[0].contents[0].contents[0].development);
        assert!(!root.development);
    }

    #[test]
    fn patterns_use_the_package_name_and_forbidden_patterns() {
        let mut dash = folder("dashboard")
            .child(files("^{PACKAGE_NAME}-.+\\.json$").forbid("^.+-(ecs|ECS)\\.json$"));
        dash.prepare("apache");
        let item = &dash.contents[0];
        assert_eq!(item.matches("apache-overview.json"), Ok(true));
        assert_eq!(item.matches("nginx-overview.json"), Ok(false));
        assert_eq!(item.matches("apache-overview-ecs.json"), Ok(false));
        assert_eq!(item.pattern_matches("apache-overview-ecs.json"), Ok(true));
    }

    #[test]
    fn a_package_name_that_breaks_the_pattern_is_reported() {
        let mut dash = folder("dashboard").child(files("^{PACKAGE_NAME}-.+\\.json$"));
        dash.prepare("bad(");
        assert!(dash.contents[0].matches("x.json").is_err());
    }
}
