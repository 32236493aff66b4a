//! Test helpers: load packages into a router, send requests, write packages.

use std::io::Write;
use std::path::{Path, PathBuf};

use axum::body::Body;
use bytes::Bytes;
use epr_index::Catalog;
use epr_package::LoadOptions;
use epr_server::{AppState, ServerConfig};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// The example packages that ship with the repository.
pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/packages")
}

pub fn config() -> ServerConfig {
    ServerConfig {
        cache_index: std::time::Duration::from_secs(1),
        cache_search: std::time::Duration::from_secs(1),
        cache_categories: std::time::Duration::from_secs(1),
        cache_catch_all: std::time::Duration::from_secs(1),
        ..ServerConfig::default()
    }
}

pub fn catalog(paths: &[PathBuf]) -> Catalog {
    let indexers = epr_index::sources::load_package_paths(paths, &LoadOptions::default(), 2)
        .unwrap_or_else(|e| panic!("fixtures must load: {e:?}"));
    Catalog::new(indexers)
}

pub fn state(paths: &[PathBuf]) -> AppState {
    AppState::new(config(), catalog(paths))
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The whole response, its body read.
    pub async fn read(res: axum::response::Response) -> Answer {
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

pub async fn send(state: &AppState, method: &str, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = epr_server::router(state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    Answer::read(res).await
}

pub async fn get(state: &AppState, uri: &str) -> Answer {
    send(state, "GET", uri, &[]).await
}

/// Writes a minimal valid package folder `<root>/<name>/<version>/` with the
/// given extra manifest lines, and returns its path.
pub fn write_package(root: &Path, name: &str, version: &str, extra_manifest: &str) -> PathBuf {
    let dir = root.join(name).join(version);
    std::fs::create_dir_all(dir.join("docs")).unwrap();
    let manifest = format!(
        "format_version: 3.0.0\nname: {name}\nversion: {version}\ntitle: {name} title\ndescription: {name} description\ntype: integration\n{extra_manifest}"
    );
    std::fs::write(dir.join("manifest.yml"), manifest).unwrap();
    std::fs::write(dir.join("docs/README.md"), format!("# {name}\n")).unwrap();
    dir
}

/// A minimal package written under `<root>/src` with `files` (path, text) added,
/// zipped into the folder `<root>/zips`: gives that folder and the zip's path.
pub fn zipped_package(
    root: &Path,
    name: &str,
    version: &str,
    files: &[(&str, &str)],
) -> (PathBuf, PathBuf) {
    let folder = write_package(&root.join("src"), name, version, "");
    for (path, text) in files {
        std::fs::write(folder.join(path), text).unwrap();
    }
    let zips = root.join("zips");
    std::fs::create_dir(&zips).unwrap();
    let zip = zip_package(&folder, &zips, name, version);
    (zips, zip)
}

/// Zips a package folder as `<zip_dir>/<name>-<version>.zip` with root folder
/// `<name>-<version>/`.
pub fn zip_package(folder: &Path, zip_dir: &Path, name: &str, version: &str) -> PathBuf {
    let path = zip_dir.join(format!("{name}-{version}.zip"));
    let mut w = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    let mut files = Vec::new();
    collect(folder, folder, &mut files);
    files.sort();
    for rel in files {
        w.start_file(format!("{name}-{version}/{rel}"), opts)
            .unwrap();
        w.write_all(&std::fs::read(folder.join(&rel)).unwrap())
            .unwrap();
    }
    w.finish().unwrap();
    path
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect(root, &p, out);
        } else {
            out.push(
                p.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
}

/// A `tracing` writer into a shared buffer, to read what was logged.
#[derive(Clone, Default)]
pub struct Logs(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
