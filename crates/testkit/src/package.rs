//! Packages written for tests, as a folder, a zip file or zip bytes.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use zip::ZipWriter;
use zip::write::SimpleFileOptions;

/// A package's files, to write as a folder or a zip.
///
/// It starts as a minimal package the registry serves: a `manifest.yml`
/// (format_version 3.0.0, name, version, `<name> title`, `<name> description`, type
/// integration) and `docs/README.md` (`# <name>`). Tests add to it or replace parts;
/// anything they do not mention keeps these values, so a test shows only what it is
/// about.
///
/// ```
/// use epr_testkit::PackageBuilder;
///
/// let bytes = PackageBuilder::new("nginx", "1.2.0")
///     .append_manifest("owner:\n  github: elastic\n")
///     .file("docs/extra.txt", "more")
///     .zip_bytes();
/// assert!(bytes.starts_with(b"PK"));
/// ```
#[derive(Clone, Debug)]
pub struct PackageBuilder {
    name: String,
    version: String,
    /// Path inside the package (`/`-separated) to its content, `None` for an empty
    /// folder. Sorted, so a zip lists its entries in one order whatever the order of
    /// the calls, as the zips the tests wrote from folders did.
    files: BTreeMap<String, Option<Vec<u8>>>,
}

impl PackageBuilder {
    /// The minimal package `name`-`version` (see the type's documentation).
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        let (name, version) = (name.into(), version.into());
        let manifest = format!(
            "format_version: 3.0.0\nname: {name}\nversion: {version}\ntitle: {name} title\n\
             description: {name} description\ntype: integration\n"
        );
        let readme = format!("# {name}\n");
        PackageBuilder {
            name,
            version,
            files: BTreeMap::new(),
        }
        .manifest(manifest)
        .file("docs/README.md", readme)
    }

    /// Replaces the whole `manifest.yml`: for manifests that lack a field or are
    /// not YAML at all. The package's name and version still name its folder and zip.
    pub fn manifest(self, text: impl AsRef<[u8]>) -> Self {
        self.file("manifest.yml", text)
    }

    /// Appends `text` (top-level YAML lines, each ending in a newline) to
    /// `manifest.yml`: the usual way to give a package one more field.
    pub fn append_manifest(mut self, text: impl AsRef<[u8]>) -> Self {
        let manifest = self
            .files
            .entry("manifest.yml".into())
            .or_insert(None)
            .get_or_insert_with(Vec::new);
        manifest.extend_from_slice(text.as_ref());
        self
    }

    /// Adds the file at `path` (relative, `/`-separated), or replaces its content.
    pub fn file(mut self, path: impl Into<String>, content: impl AsRef<[u8]>) -> Self {
        self.files
            .insert(path.into(), Some(content.as_ref().to_vec()));
        self
    }

    /// Adds an empty folder at `path`: folders with files come with them, only an
    /// empty one needs saying (a zip then holds a directory entry for it).
    pub fn folder(mut self, path: impl Into<String>) -> Self {
        self.files.insert(path.into(), None);
        self
    }

    /// Writes the package as the folder `<root>/<name>/<version>/`, the layout of a
    /// `package_paths` folder, and returns that folder.
    pub fn write_folder(&self, root: &Path) -> PathBuf {
        let dir = root.join(&self.name).join(&self.version);
        self.write_into(&dir);
        dir
    }

    /// Writes the package's files straight into `dir`, which becomes the package's
    /// root: for tests that open a package where they choose, such as a temporary
    /// folder of its own.
    pub fn write_into(&self, dir: &Path) {
        create_dir_all(dir);
        for (path, content) in &self.files {
            let target = dir.join(path);
            match content {
                None => create_dir_all(&target),
                Some(bytes) => {
                    if let Some(parent) = target.parent() {
                        create_dir_all(parent);
                    }
                    std::fs::write(&target, bytes)
                        .unwrap_or_else(|e| panic!("writing {}: {e}", target.display()));
                }
            }
        }
    }

    /// Writes the package as the zip `<dir>/<name>-<version>.zip` (see
    /// [`zip_bytes`](Self::zip_bytes)), creating `dir` if needed, and returns its path.
    pub fn write_zip(&self, dir: &Path) -> PathBuf {
        create_dir_all(dir);
        let path = dir.join(format!("{}-{}.zip", self.name, self.version));
        std::fs::write(&path, self.zip_bytes())
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// The package as a built zip: every file under the single top folder
    /// `<name>-<version>/`, as `elastic-package build` lays it out, entries in path
    /// order, written with the `zip` crate's default options (deflate), as the zips
    /// the tests wrote by hand were.
    pub fn zip_bytes(&self) -> Vec<u8> {
        let top = format!("{}-{}", self.name, self.version);
        let options = SimpleFileOptions::default();
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for (path, content) in &self.files {
            let name = format!("{top}/{path}");
            let written = match content {
                None => zip.add_directory(format!("{name}/"), options),
                Some(bytes) => zip
                    .start_file(name.as_str(), options)
                    .and_then(|()| Ok(zip.write_all(bytes)?)),
            };
            written.unwrap_or_else(|e| panic!("zipping {name}: {e}"));
        }
        zip.finish()
            .unwrap_or_else(|e| panic!("finishing the zip of {top}: {e}"))
            .into_inner()
    }
}

fn create_dir_all(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// Every entry of a zip: its name and, for a file, its content.
    fn entries(zip: &[u8]) -> Vec<(String, Option<Vec<u8>>)> {
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut entry = archive.by_index(i).unwrap();
                let name = entry.name().to_string();
                if entry.is_dir() {
                    return (name, None);
                }
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).unwrap();
                (name, Some(bytes))
            })
            .collect()
    }

    #[test]
    fn the_default_package_is_a_manifest_and_a_readme() {
        let package = PackageBuilder::new("p", "1.0.0").append_manifest("owner:\n  github: o\n");
        let manifest = "format_version: 3.0.0\nname: p\nversion: 1.0.0\ntitle: p title\n\
                        description: p description\ntype: integration\nowner:\n  github: o\n";
        assert_eq!(
            entries(&package.zip_bytes()),
            [
                ("p-1.0.0/docs/README.md".into(), Some(b"# p\n".to_vec())),
                ("p-1.0.0/manifest.yml".into(), Some(manifest.into())),
            ]
        );
    }

    #[test]
    fn a_folder_and_a_zip_hold_the_same_files() {
        let package = PackageBuilder::new("p", "1.0.0")
            .manifest("name: p\n")
            .file("docs/README.md", "# other\n")
            .file("img/a.png", [0u8, 255])
            .folder("data_stream/logs/fields");
        let tmp = tempfile::tempdir().unwrap();
        let dir = package.write_folder(tmp.path());
        assert_eq!(dir, tmp.path().join("p/1.0.0"));
        assert_eq!(
            std::fs::read(dir.join("manifest.yml")).unwrap(),
            b"name: p\n"
        );
        assert_eq!(
            std::fs::read(dir.join("docs/README.md")).unwrap(),
            b"# other\n"
        );
        assert_eq!(std::fs::read(dir.join("img/a.png")).unwrap(), [0, 255]);
        let fields = dir.join("data_stream/logs/fields");
        assert_eq!(std::fs::read_dir(fields).unwrap().count(), 0);

        let zip = package.write_zip(&tmp.path().join("zips"));
        assert_eq!(zip, tmp.path().join("zips/p-1.0.0.zip"));
        assert_eq!(std::fs::read(&zip).unwrap(), package.zip_bytes());
        assert_eq!(
            entries(&package.zip_bytes()),
            [
                ("p-1.0.0/data_stream/logs/fields/".into(), None),
                ("p-1.0.0/docs/README.md".into(), Some(b"# other\n".to_vec())),
                ("p-1.0.0/img/a.png".into(), Some(vec![0, 255])),
                ("p-1.0.0/manifest.yml".into(), Some(b"name: p\n".to_vec())),
            ]
        );
    }

    /// The zip is byte for byte the one the server's tests wrote by hand from a
    /// folder (its files in path order, default options), which they may compare.
    #[test]
    fn the_zip_is_the_one_written_from_the_folder() {
        let package = PackageBuilder::new("p", "1.0.0").file("docs/extra.txt", "x");
        let mut by_hand = ZipWriter::new(Cursor::new(Vec::new()));
        for (path, text) in [
            ("docs/README.md", "# p\n"),
            ("docs/extra.txt", "x"),
            (
                "manifest.yml",
                "format_version: 3.0.0\nname: p\nversion: 1.0.0\ntitle: p title\ndescription: p description\ntype: integration\n",
            ),
        ] {
            by_hand
                .start_file(format!("p-1.0.0/{path}"), SimpleFileOptions::default())
                .unwrap();
            by_hand.write_all(text.as_bytes()).unwrap();
        }
        let by_hand = by_hand.finish().unwrap().into_inner();
        assert_eq!(package.zip_bytes(), by_hand);
    }
}
