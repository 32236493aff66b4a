//! The structural pass (spec/package-format.md §1, §4, §5.2): which files and folders
//! may or must exist, their names, media types and sizes, and which schema each file
//! is checked against.
//!
//! The folder specs of package-spec are written in Rust ([`spec`] is the language,
//! `integration`, `input`, `content` and `dev` the trees), built for the
//! package's type and `format_version`, and walked folder by folder as package-spec's
//! `validator.Validate` does, with its messages and in its order: per folder, the
//! entry-count limit, the beta check, each entry in name order, the total size, then
//! the required items.

use std::collections::{BTreeMap, HashMap};

use epr_package::fs::Entry;
use epr_package::version::Version;

use crate::files::check_schema;
use crate::package::{Kind, Mode, Package};
use crate::problem::Problem;

mod content;
mod dev;
mod input;
mod integration;
mod sha256;
pub mod spec;

#[cfg(test)]
mod tests;

use spec::{Item, Matcher, MediaType, format_size};

/// Walks the package with the folder spec of its type and version.
pub fn check(pkg: &Package<'_>) -> Vec<Problem> {
    let mut tree = folder_spec(pkg.kind, &pkg.format_version);
    tree.prepare(&pkg.name);
    let mut walker = Walker {
        pkg,
        index: Index::new(pkg.entries()),
        problems: Vec::new(),
    };
    walker.folder(&tree, "");
    if pkg.mode == Mode::Build {
        walker.problems.extend(links_in_build(pkg));
    }
    walker.problems
}

/// The folder spec of the package root for a package type at `format_version` `v`,
/// not yet prepared (see [`Item::prepare`]).
pub fn folder_spec(kind: Kind, v: &Version) -> Item {
    match kind {
        Kind::Integration => integration::root(v),
        Kind::Input => input::root(v),
        Kind::Content => content::root(v),
    }
}

/// A direct child of a folder.
#[derive(Debug, Clone)]
struct Child {
    name: String,
    is_dir: bool,
    size: u64,
}

/// The package's folders and their children, listed once (zips may leave folders
/// implied by the paths of their files).
struct Index {
    folders: HashMap<String, BTreeMap<String, Child>>,
}

impl Index {
    fn new(entries: &[Entry]) -> Index {
        let mut folders: HashMap<String, BTreeMap<String, Child>> = HashMap::new();
        for entry in entries {
            let parts: Vec<&str> = entry.path.split('/').filter(|p| !p.is_empty()).collect();
            for (depth, name) in parts.iter().enumerate() {
                let is_last = depth + 1 == parts.len();
                let parent = parts[..depth].join("/");
                folders
                    .entry(parent)
                    .or_default()
                    .entry((*name).to_string())
                    .or_insert_with(|| Child {
                        name: (*name).to_string(),
                        is_dir: !is_last || entry.is_dir,
                        size: if is_last { entry.size } else { 0 },
                    });
            }
        }
        Index { folders }
    }

    /// The children of `dir` ("" for the root), sorted by name as Go's `ReadDir` does.
    fn children(&self, dir: &str) -> Vec<Child> {
        self.folders
            .get(dir)
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default()
    }
}

struct Walker<'a, 'p> {
    pkg: &'a Package<'p>,
    index: Index,
    problems: Vec<Problem>,
}

impl Walker<'_, '_> {
    /// Validates folder `dir` against `spec`; returns the bytes of its files outside
    /// development folders, for the parent's total.
    fn folder(&mut self, spec: &Item, dir: &str) -> u64 {
        let children = self.index.children(dir);
        if let Some(limit) = spec.limits.total_contents
            && children.len() > limit
        {
            self.problems.push(about_folder(
                dir,
                format!("folder [{}] exceeds the limit of {limit} files", shown(dir)),
            ));
            return 0;
        }
        if spec.beta {
            self.beta_folder(dir);
        }
        let mut total = 0;
        for child in &children {
            total += self.entry(spec, dir, child);
        }
        if let Some(limit) = spec.limits.total_size
            && total > limit
        {
            self.problems.push(about_folder(
                dir,
                format!(
                    "folder [{}] exceeds the total size limit of {}",
                    shown(dir),
                    format_size(limit)
                ),
            ));
        }
        self.required_items(spec, dir, &children);
        total
    }

    /// §5.2 step 2: a folder whose spec is beta.
    fn beta_folder(&mut self, dir: &str) {
        if self.pkg.is_ga() {
            self.problems.push(about_folder(
                dir,
                format!(
                    "spec for [{}] defines beta features which can't be enabled for packages with a stable semantic version",
                    shown(dir)
                ),
            ));
        } else if self.pkg.format_version.major() >= 3 {
            // Before spec 3 package-spec only logs this.
            self.problems.push(
                about_folder(
                    dir,
                    format!(
                        "package with non-stable semantic version and active beta features (enabled in [{}]) can't be released as stable version.",
                        shown(dir)
                    ),
                )
                .with_code("PSR00002"),
            );
        }
    }

    /// Validates one entry of `dir`; returns the bytes it adds to the folder's total.
    fn entry(&mut self, spec: &Item, dir: &str, child: &Child) -> u64 {
        let path = join(dir, &child.name);
        let (is_link, name) = strip_link(child);
        if is_link && self.pkg.mode == Mode::Build {
            // Reported once for every `.link` of the package, see `links_in_build`.
            return 0;
        }
        let item = match find_item(spec, name) {
            Err(e) => {
                self.problems.push(Problem::file(&path, e));
                return 0;
            }
            Ok(Some(item)) => item,
            Ok(None) => {
                self.unknown_entry(spec, dir, child, &path);
                return 0;
            }
        };
        if item.source_only && self.pkg.mode == Mode::Build {
            self.problems.push(Problem::file(
                &path,
                format!(
                    "source-only {} is not allowed in build packages",
                    item.kind.word()
                ),
            ));
            return 0;
        }
        if child.is_dir {
            if !item.is_folder() {
                self.problems.push(Problem::file(
                    &path,
                    format!("[{}] is a folder but is expected to be a file", child.name),
                ));
                return 0;
            }
            let size = self.folder(item, &path);
            // Development folders are not part of the package's size.
            return if item.development { 0 } else { size };
        }
        if item.is_folder() {
            self.problems.push(Problem::file(
                &path,
                format!("[{}] is a file but is expected to be a folder", child.name),
            ));
            return 0;
        }
        if is_link && !item.allow_link {
            self.problems.push(Problem::file(
                &path,
                format!(
                    "item [{}] is a .link file, but links are not allowed for this item",
                    child.name
                ),
            ));
            return 0;
        }
        self.file(item, &path, child.size, is_link)
    }

    /// An entry no item of `spec` describes.
    fn unknown_entry(&mut self, spec: &Item, dir: &str, child: &Child, path: &str) {
        if !spec.additional_contents {
            self.problems.push(Problem::file(
                path,
                format!(
                    "item [{}] is not allowed in folder [{}]",
                    child.name,
                    shown(dir)
                ),
            ));
        } else if child.is_dir && !spec.development && child.name.contains('-') {
            // The registry rejects such folders when it lists a package's assets.
            self.problems.push(Problem::file(
                path,
                format!(
                    "directory name inside package {} contains -: {}",
                    self.pkg.name, child.name
                ),
            ));
        }
    }

    /// Validates a file (for a `.link`, the file it links to); returns its size.
    fn file(&mut self, item: &Item, path: &str, size: u64, is_link: bool) -> u64 {
        let mut content = if is_link {
            match self.resolve_link(path) {
                Ok(bytes) => Content::read(bytes),
                Err(p) => {
                    self.problems.push(p);
                    return 0;
                }
            }
        } else {
            Content::unread(size)
        };
        let size = content.size;
        if let Some(problem) = self.file_problem(item, path, &mut content) {
            self.problems.push(problem);
            return size;
        }
        if let Some(which) = item.schema {
            let bytes = match self.bytes(path, &mut content) {
                Ok(bytes) => bytes,
                Err(p) => {
                    self.problems.push(p);
                    return size;
                }
            };
            // A link's target is checked under the linked name (its extension says
            // JSON or YAML); problems are reported on the `.link` file.
            let checked = path.strip_suffix(".link").unwrap_or(path);
            let problems = check_schema(self.pkg, checked, bytes, which);
            self.problems.extend(problems.into_iter().map(|mut p| {
                if p.file == checked {
                    p.file = path.to_string();
                }
                p
            }));
        }
        size
    }

    /// The first problem of package-spec's `validateFile` before the schema: size
    /// limit, YAML document dashes, empty file, YAML size limit.
    fn file_problem(&self, item: &Item, path: &str, content: &mut Content) -> Option<Problem> {
        let size = content.size;
        if let Some(limit) = item.limits.size
            && size > limit
        {
            return Some(too_big(path, size, limit));
        }
        let media_type = item.media_type?;
        if let MediaType::Yaml {
            require_dashes: true,
        } = media_type
        {
            match self.bytes(path, content) {
                Err(p) => return Some(p),
                Ok(bytes) if !starts_with_dashes(bytes) => {
                    return Some(Problem::file(
                        path,
                        "document dashes are required (start the document with '---')",
                    ));
                }
                Ok(_) => {}
            }
        }
        if size == 0 {
            return Some(Problem::file(
                path,
                "file is empty, but media type is defined",
            ));
        }
        if let MediaType::Yaml { .. } = media_type
            && let Some(limit) = item.limits.configuration_size
            && size > limit
        {
            return Some(too_big(path, size, limit));
        }
        None
    }

    /// The file's bytes, read once.
    fn bytes<'c>(&self, path: &str, content: &'c mut Content) -> Result<&'c [u8], Problem> {
        if content.bytes.is_none() {
            content.bytes = Some(self.pkg.read(path)?);
        }
        Ok(content.bytes.as_deref().unwrap_or_default())
    }

    /// The content of the file a `.link` points at, when its recorded checksum is
    /// still the target's (§1.4).
    fn resolve_link(&self, link: &str) -> Result<Vec<u8>, Problem> {
        let text = self.pkg.read_text(link)?;
        let fields: Vec<&str> = text
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let recorded = match fields.as_slice() {
            [_, checksum] => *checksum,
            _ => "",
        };
        let target = self.pkg.link_target(link)?;
        let bytes = self.pkg.read_link_target(link, &target)?;
        if sha256::hex_digest(&bytes) != recorded {
            return Err(Problem::file(
                link,
                format!("linked file {link} is not up to date"),
            ));
        }
        Ok(bytes)
    }

    /// §5.2 step 5: every required item of `spec` has a matching entry of its kind.
    fn required_items(&mut self, spec: &Item, dir: &str, children: &[Child]) {
        for item in spec.contents.iter().filter(|i| i.required) {
            match matching_entry_exists(item, children) {
                Err(e) => self.problems.push(about_folder(dir, e)),
                Ok(true) => {}
                Ok(false) => {
                    let kind = item.kind.word();
                    let message = match item.matcher {
                        Matcher::Name(name) => {
                            format!(
                                "expecting to find [{name}] {kind} in folder [{}]",
                                shown(dir)
                            )
                        }
                        Matcher::Pattern(pattern) => format!(
                            "expecting to find {kind} matching pattern [{pattern}] in folder [{}]",
                            shown(dir)
                        ),
                    };
                    self.problems.push(about_folder(dir, message));
                }
            }
        }
    }
}

/// A file's size, and its bytes once read.
struct Content {
    size: u64,
    bytes: Option<Vec<u8>>,
}

impl Content {
    fn read(bytes: Vec<u8>) -> Content {
        Content {
            size: bytes.len() as u64,
            bytes: Some(bytes),
        }
    }

    fn unread(size: u64) -> Content {
        Content { size, bytes: None }
    }
}

/// The first item of `spec` that `name` is (package-spec's `findItemSpec`).
fn find_item<'s>(spec: &'s Item, name: &str) -> Result<Option<&'s Item>, String> {
    for item in &spec.contents {
        if item.matches(name)? {
            return Ok(Some(item));
        }
    }
    Ok(None)
}

/// Package-spec's `matchingFileExists`: the first entry whose name (`.link` stripped)
/// matches the item decides, by whether its kind is the item's.
fn matching_entry_exists(item: &Item, children: &[Child]) -> Result<bool, String> {
    for child in children {
        let (_, name) = strip_link(child);
        if item.pattern_matches(name)? {
            return Ok(item.is_folder() == child.is_dir);
        }
    }
    Ok(false)
}

/// `(true, "x")` for a file named `x.link`, else `(false, name)`.
fn strip_link(child: &Child) -> (bool, &str) {
    match child.name.strip_suffix(".link") {
        Some(name) if !child.is_dir => (true, name),
        _ => (false, &child.name),
    }
}

/// Whether the first line is exactly `---` (a trailing `\r` aside), as package-spec's
/// line scanner sees it.
fn starts_with_dashes(bytes: &[u8]) -> bool {
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    first.strip_suffix(b"\r").unwrap_or(first) == b"---"
}

/// In built packages, every `.link` file is an error: the build copies the target in.
fn links_in_build(pkg: &Package<'_>) -> Vec<Problem> {
    pkg.entries()
        .iter()
        .filter(|e| !e.is_dir && e.path.ends_with(".link"))
        .map(|e| Problem::file(&e.path, ".link files are not allowed in built packages"))
        .collect()
}

pub(crate) fn too_big(path: &str, size: u64, limit: u64) -> Problem {
    Problem::file(
        path,
        format!(
            "file size ({}) is bigger than expected ({})",
            format_size(size),
            format_size(limit)
        ),
    )
}

/// A problem about folder `dir` (the package itself for the root).
fn about_folder(dir: &str, message: String) -> Problem {
    if dir.is_empty() {
        Problem::package(message)
    } else {
        Problem::file(dir, message)
    }
}

/// A folder as messages name it: relative to the package root, `.` for the root.
fn shown(dir: &str) -> &str {
    if dir.is_empty() { "." } else { dir }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}
