//! Files of packages: static files, package zips and signatures (spec/api.md
//! §3.7-§3.9), read from folders or from inside zips.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::HeaderValue;
use http::header::CONTENT_TYPE;
use http::request::Parts;

use epr_index::Catalog;
use epr_package::fs::{FsError, MAX_FILE_SIZE, PackageFs};
use epr_package::version::Version;
use epr_package::{Location, Package};

use crate::app::AppState;
use crate::cache::CacheKey;
use crate::file_response::{self, serve_content};
use crate::response::{self, AppError};

/// The Content-Type the upstream sends for an extension (case-sensitive first,
/// then lower-cased); `None` means "sniff the content".
pub fn content_type_for(path: &str) -> Option<&'static str> {
    let ext = Path::new(path).extension()?.to_str()?;
    lookup_ext(ext).or_else(|| lookup_ext(&ext.to_ascii_lowercase()))
}

fn lookup_ext(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "zip" => "application/zip",
        "ico" => "image/x-icon",
        "md" => "text/markdown; charset=utf-8",
        "yml" => "text/yaml; charset=UTF-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "pdf" => "application/pdf",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "htm" | "html" => "text/html; charset=utf-8",
        "xml" => "text/xml; charset=utf-8",
        "wasm" => "application/wasm",
        // As in the upstream container image, which installs mailcap.
        "sig" => "application/pgp-signature",
        _ => return None,
    })
}

/// Looks a package up for a file route: strict version, then the catalog, which
/// comes along for the response cache.
fn lookup(
    state: &AppState,
    name: &str,
    version: &str,
    missing: &str,
) -> Result<(Arc<Catalog>, Arc<Package>), AppError> {
    Version::parse_strict(version)
        .map_err(|_| AppError::BadRequest("invalid package version".into()))?;
    let catalog = state.catalog();
    match state.find_in(&catalog, name, version) {
        Some(entry) => {
            let package = entry.package.clone();
            Ok((catalog, package))
        }
        None => Err(AppError::NotFound(missing.into())),
    }
}

/// Adds the public cache headers, except to a 416, which Go's ServeContent sends
/// without them.
fn with_cache(mut res: Response, state: &AppState) -> Response {
    if res.status() != http::StatusCode::RANGE_NOT_SATISFIABLE {
        response::add_cache(&mut res, state.config().cache_catch_all);
    }
    res
}

/// `/package/{name}/{version}/{file...}`
pub async fn get_package_file(
    state: &AppState,
    req: &Parts,
    name: &str,
    version: &str,
    file: &str,
) -> Response {
    let (catalog, package) = match lookup(state, name, version, "package revision not found") {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    let cache = state.config().cache_catch_all;
    if package.location.is_storage() {
        let key = epr_storage::layout::static_file(&package.name, &package.version, file);
        return from_storage(state, req, &key).await;
    }
    let answer = |data, modified| {
        let content_type = content_type_for(file);
        let res = serve_content(&req.method, &req.headers, content_type, modified, data);
        with_cache(res, state)
    };
    // A zip's file kept by the response cache needs nothing from the zip: not even
    // opening it again when it is not among the packages open (open_files).
    if let Location::Zip(_) = package.location
        && let Some((data, modified)) = state
            .responses()
            .file_at(&catalog, &file_key(&package, file))
    {
        return answer(data, modified);
    }
    let fs = match package_files(&package).await {
        Ok(fs) => fs,
        Err(e) => {
            return AppError::internal(format_args!(
                "opening package {name}-{version} failed: {e}"
            ))
            .into_response_with(Some(cache));
        }
    };
    let entry = fs.stat(file);
    if let Some(entry) = entry
        .as_ref()
        .filter(|e| !e.is_dir && e.size > STREAM_ABOVE)
    {
        return stream_package_file(state, req, fs, file, entry).await;
    }
    let modified = entry.and_then(|m| m.modified);
    match read_package_file(state, &catalog, &package, fs, file, modified).await {
        Ok(data) => answer(data, modified),
        Err(FsError::NotFound { .. } | FsError::IsDir { .. }) => {
            AppError::ResourceNotFound.into_response_with(Some(cache))
        }
        Err(e) => AppError::internal(format_args!(
            "reading a file of package {name}-{version} failed: {e}"
        ))
        .into_response_with(Some(cache)),
    }
}

/// Package files larger than this are read as they are sent, never held whole in
/// memory nor kept in the response cache.
const STREAM_ABOVE: u64 = 1 << 20;

/// A large file of a local package, with ServeContent's semantics but for several
/// ranges (see [`file_response::serve_stream`]).
async fn stream_package_file(
    state: &AppState,
    req: &Parts,
    fs: Arc<dyn PackageFs>,
    file: &str,
    entry: &epr_package::fs::Entry,
) -> Response {
    let content_type = content_type_for(file);
    let head = if content_type.is_none() {
        match read_head(fs.clone(), file).await {
            Ok(head) => head,
            Err(e) => {
                return AppError::internal(format_args!("reading {file} failed: {e}"))
                    .into_response_with(Some(state.config().cache_catch_all));
            }
        }
    } else {
        Vec::new()
    };
    let permits = state.stream_permits();
    let path = file.to_string();
    let res = file_response::serve_stream(
        &req.method,
        &req.headers,
        content_type,
        entry.modified,
        entry.size,
        &head,
        |start, length| stream_body(permits, fs, path, start, length),
    );
    with_cache(res, state)
}

/// The first bytes of a file, as many as sniffing its type looks at.
async fn read_head(fs: Arc<dyn PackageFs>, file: &str) -> Result<Vec<u8>, FsError> {
    let path = file.to_string();
    tokio::task::spawn_blocking(move || {
        let mut head = Vec::new();
        fs.read_pieces(&path, MAX_FILE_SIZE, 0, &mut |piece| {
            let room = file_response::SNIFF_LEN - head.len();
            head.extend_from_slice(&piece[..piece.len().min(room)]);
            head.len() < file_response::SNIFF_LEN
        })
        .map(|()| head)
    })
    .await
    .map_err(|e| FsError::io(file, std::io::Error::other(e)))?
}

/// `length` bytes of a file from `start`, read on the blocking pool into a queue
/// of four pieces that the client drains: a slow client stops the reading, not
/// the memory.
fn stream_body(
    permits: Arc<tokio::sync::Semaphore>,
    fs: Arc<dyn PackageFs>,
    path: String,
    start: u64,
    length: u64,
) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::spawn(async move {
        let Ok(permit) = permits.acquire_owned().await else {
            return;
        };
        let _ = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut left = length;
            let result = fs.read_pieces(&path, MAX_FILE_SIZE, start, &mut |piece| {
                let take = piece.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                left -= take as u64;
                let sent = tx.blocking_send(Ok(Bytes::copy_from_slice(&piece[..take])));
                sent.is_ok() && left > 0
            });
            if let Err(e) = result {
                tracing::warn!(file = %path, error = %e, "streaming a package file failed; the answer is cut short");
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        })
        .await;
    });
    let pieces = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|piece| (piece, rx))
    });
    Body::from_stream(pieces)
}

/// A file of a local package, not in the response cache (the caller looked). A
/// folder's file is read from disk every time, as it may have been edited; a
/// zip's is inflated once and then kept in the response cache (a zip replaced on
/// disk is refused until the packages are reloaded, so its content stays what it
/// was when the catalog was made).
async fn read_package_file(
    state: &AppState,
    catalog: &Arc<Catalog>,
    package: &Arc<Package>,
    fs: Arc<dyn PackageFs>,
    path: &str,
    modified: Option<std::time::SystemTime>,
) -> Result<Bytes, FsError> {
    let Location::Zip(_) = package.location else {
        return read_blocking(fs, path).await;
    };
    let data = read_blocking(fs, path).await?;
    let key = file_key(package, path);
    Ok(state.responses().keep_file_at(catalog, key, data, modified))
}

/// The response cache's key of a package's file.
fn file_key(package: &Package, path: &str) -> CacheKey {
    CacheKey::File {
        name: package.name.clone(),
        version: package.version.clone(),
        path: path.to_string(),
    }
}

/// The files of a local package: opened again on the blocking pool unless they
/// are open (epr_package::open_files).
async fn package_files(package: &Arc<Package>) -> Result<Arc<dyn PackageFs>, FsError> {
    if let Some(fs) = package.files_if_open() {
        return Ok(fs);
    }
    let package = package.clone();
    tokio::task::spawn_blocking(move || package.open_files())
        .await
        .map_err(|e| FsError::io("", std::io::Error::other(e)))?
}

/// Reads a file on the blocking pool.
async fn read_blocking(fs: Arc<dyn PackageFs>, path: &str) -> Result<Bytes, FsError> {
    let owned = path.to_string();
    tokio::task::spawn_blocking(move || fs.read_limited(&owned, MAX_FILE_SIZE))
        .await
        .map_err(|e| FsError::Io {
            path: path.to_string(),
            source: std::io::Error::other(e),
        })?
        .map(Bytes::from)
}

/// `/epr/{any}/{name}-{version}.zip`: a zip package as it is, a folder zipped on the fly.
pub async fn download_package(
    state: &AppState,
    req: &Parts,
    name: &str,
    version: &str,
) -> Response {
    let (catalog, package) = match lookup(state, name, version, "artifact not found") {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    let cache = state.config().cache_catch_all;
    match &package.location {
        Location::Zip(path) => serve_zip(state, req, &catalog, &package, path).await,
        Location::Storage { .. } => {
            let key = epr_storage::layout::package_zip(&package.name, &package.version);
            from_storage(state, req, &key).await
        }
        Location::Dir(_) => match folder_zip(state, &catalog, &package).await {
            Ok(bytes) => {
                // Streamed without Content-Length or Accept-Ranges, as upstream does.
                let stream = futures_util::stream::once(async { Ok::<_, std::io::Error>(bytes) });
                let mut res = Response::new(Body::from_stream(stream));
                res.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/zip"));
                with_cache(res, state)
            }
            Err(e) => {
                AppError::internal(format_args!("zipping package {name}-{version} failed: {e}"))
                    .into_response_with(Some(cache))
            }
        },
    }
}

/// A zip package's own file. One that fits the response cache is read once and
/// served from memory (a download then costs no file read); a larger one is
/// streamed from disk. Either way with Go's ServeContent semantics and the
/// file's modification time.
async fn serve_zip(
    state: &AppState,
    req: &Parts,
    catalog: &Arc<Catalog>,
    package: &Arc<Package>,
    path: &std::path::Path,
) -> Response {
    let key = CacheKey::Zip {
        name: package.name.clone(),
        version: package.version.clone(),
    };
    let meta = std::fs::metadata(path).ok();
    let modified = meta.as_ref().and_then(|m| m.modified().ok());
    let data = match state.responses().file(catalog, &key) {
        Some(data) => data,
        None => {
            let limit = state.responses().file_limit() as u64;
            if meta.is_none_or(|m| m.len() > limit) {
                return serve_file(state, req, path.to_path_buf()).await;
            }
            match tokio::fs::read(path).await {
                Ok(data) => state.responses().keep_file(catalog, key, Bytes::from(data)),
                Err(e) => {
                    let cache = state.config().cache_catch_all;
                    return AppError::internal(format_args!(
                        "reading {} failed: {e}",
                        path.display()
                    ))
                    .into_response_with(Some(cache));
                }
            }
        }
    };
    let content_type = content_type_for(&path.to_string_lossy());
    let res = serve_content(&req.method, &req.headers, content_type, modified, data);
    with_cache(res, state)
}

/// The zip of a folder package, made once per catalog when it fits the response
/// cache. At most one zip per core is made at a time: a burst of downloads waits
/// for a permit instead of zipping (and holding) the folder once per request, and
/// finds the zip cached once it has one.
async fn folder_zip(
    state: &AppState,
    catalog: &Arc<Catalog>,
    package: &Arc<Package>,
) -> Result<Bytes, String> {
    let key = CacheKey::Zip {
        name: package.name.clone(),
        version: package.version.clone(),
    };
    let cached = || state.responses().file(catalog, &key);
    if let Some(zipped) = cached() {
        return Ok(zipped);
    }
    let _permit = state
        .zip_permits()
        .acquire()
        .await
        .map_err(|e| e.to_string())?;
    if let Some(zipped) = cached() {
        return Ok(zipped);
    }
    let prefix = format!("{}-{}", package.name, package.version);
    let folder = package.clone();
    let zipped = tokio::task::spawn_blocking(move || {
        let fs = folder.open_files().map_err(|e| e.to_string())?;
        zip_folder(fs.as_ref(), &prefix)
    })
    .await
    .map_err(|e| e.to_string())??;
    Ok(state
        .responses()
        .keep_file(catalog, key, Bytes::from(zipped)))
}

/// Zips a package folder: depth-first in byte-wise order, every entry under
/// `{name}-{version}/`, folders with a trailing `/`, files deflated.
fn zip_folder(fs: &dyn PackageFs, prefix: &str) -> Result<Vec<u8>, String> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for entry in fs.entries() {
        let mut options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        if let Some(t) = entry.modified.and_then(zip_time) {
            options = options.last_modified_time(t);
        }
        let name = format!("{prefix}/{}", entry.path);
        if entry.is_dir {
            writer
                .add_directory(format!("{name}/"), options)
                .map_err(|e| e.to_string())?;
        } else {
            let data = fs
                .read_limited(&entry.path, MAX_FILE_SIZE)
                .map_err(|e| e.to_string())?;
            writer
                .start_file(name, options)
                .map_err(|e| e.to_string())?;
            writer.write_all(&data).map_err(|e| e.to_string())?;
        }
    }
    writer
        .finish()
        .map(|c| c.into_inner())
        .map_err(|e| e.to_string())
}

fn zip_time(t: std::time::SystemTime) -> Option<zip::DateTime> {
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    zip::DateTime::from_date_and_time(
        u16::try_from(year).ok()?,
        month as u8,
        day as u8,
        (rem / 3600) as u8,
        ((rem % 3600) / 60) as u8,
        (rem % 60) as u8,
    )
    .ok()
}

/// Serves a file on disk with full HTTP file semantics, streamed.
async fn serve_file(state: &AppState, req: &Parts, path: std::path::PathBuf) -> Response {
    let content_type = content_type_for(&path.to_string_lossy());
    match file_response::serve_file(&req.method, &req.headers, content_type, &path).await {
        Ok(res) => with_cache(res, state),
        Err(e) => AppError::internal(format_args!("reading {} failed: {e}", path.display()))
            .into_response_with(Some(state.config().cache_catch_all)),
    }
}

/// `/epr/{any}/{name}-{version}.zip.sig`
pub async fn get_signature(state: &AppState, req: &Parts, name: &str, version: &str) -> Response {
    let (_, package) = match lookup(state, name, version, "signature file not found") {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    if package.location.is_storage() {
        let key = epr_storage::layout::package_signature(&package.name, &package.version);
        return from_storage(state, req, &key).await;
    }
    match &package.signature {
        Some(path) => serve_file(state, req, path.clone()).await,
        // The upstream answers 500 here; a missing file is a 404 (spec/api.md §3.9).
        None => AppError::NotFound("signature file not found".into()).into_response(),
    }
}

/// A file of a storage package, from the storage endpoint or bucket.
async fn from_storage(state: &AppState, req: &Parts, key: &str) -> Response {
    let cache = state.config().cache_catch_all;
    match &state.0.storage {
        Some(endpoint) => endpoint.serve(req, key, cache).await,
        // A catalog with storage packages always comes with an endpoint; be safe.
        None => AppError::internal("a storage package without a storage endpoint")
            .into_response_with(Some(cache)),
    }
}
