//! Test helpers: load packages into a router, send requests, read what was logged.

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
    let res = epr_server::api(state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    Answer::read(res).await
}

pub async fn get(state: &AppState, uri: &str) -> Answer {
    send(state, "GET", uri, &[]).await
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
