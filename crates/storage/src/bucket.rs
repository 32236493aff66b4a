//! One [`Bucket`] type over every backend: `file://`, `s3://`, `gs://` and `memory://`.
//!
//! Package Storage v2 relies on two kinds of safe writes (DESIGN.md, "Writes never overwrite
//! and never race"):
//!
//! - [`Bucket::create`] writes an object only if its key is free. Artifacts are immutable, so
//!   two publishers of the same version can never mix a zip of one with the signature of the
//!   other.
//! - [`Bucket::replace`] is a compare-and-swap on the version read by
//!   [`Bucket::get_versioned`]. The index cursor moves with it, so two indexers can never
//!   both win and lose a package.
//!
//! How each backend does it:
//!
//! | backend | create-only | compare-and-swap |
//! | --- | --- | --- |
//! | S3 | `If-None-Match: *` | `If-Match: <etag>` |
//! | GCS | `ifGenerationMatch=0` | `ifGenerationMatch=<generation>` (JSON API, see [`crate::gcs_upload`]) |
//! | file | hard link of a finished temp file (fails if the name exists) | lock file of the key + content hash + rename |
//! | memory | `InMemory` create | `InMemory` e-tag check |
//!
//! Keys are `/`-separated and relative to the bucket's root prefix. They are stored verbatim
//! (spaces, brackets and other characters included): we build paths with
//! [`Path::parse`], which keeps the text, not `Path::from`, which percent-encodes it.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, S3ConditionalPut};
use object_store::client::{HttpError, HttpErrorKind};
use object_store::gcp::{GcpCredential, GoogleCloudStorageBuilder};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientConfigKey, ClientOptions, GetResultPayload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig, StaticCredentialProvider,
    UpdateVersion, WriteMultipart,
};
use sha2::{Digest, Sha256};
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::gcs_upload::GcsUploader;

/// The environment variable upstream (and Google's client libraries) use to point GCS
/// clients at an emulator, as `host:port` or a full URL.
const STORAGE_EMULATOR_HOST: &str = "STORAGE_EMULATOR_HOST";

/// Where GCS answers when no emulator is configured (object_store's default too).
const GCS_BASE_URL: &str = "https://storage.googleapis.com";

/// Lock files that serialise the writes to one key of a `file://` bucket:
/// `.bucket-writes.lock#<n>` at the bucket root, `n` below [`LOCAL_LOCK_STRIPES`], chosen
/// from the key's SHA-256 so that every process picks the same one for a key. Writes to
/// different keys mostly take different locks and overlap. `LocalFileSystem` hides files
/// whose name ends in `#<digits>` (it uses such names for unfinished uploads), so the
/// locks never show up in [`Bucket::list`].
const LOCAL_LOCK_PREFIX: &str = ".bucket-writes.lock#";
const LOCAL_LOCK_STRIPES: u8 = 64;

/// How many times [`Bucket::create`] retries when the object it collided with vanished
/// before it could be read (someone deleted it in between).
const CREATE_ATTEMPTS: usize = 3;

/// What went wrong. Not finding an object is not an error: reads return `Option`.
#[derive(Debug, thiserror::Error)]
pub enum BucketError {
    #[error("invalid bucket url `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot open bucket `{url}`: {source}")]
    Open {
        url: String,
        source: Box<object_store::Error>,
    },
    #[error("invalid key `{key}` for bucket `{url}`: {reason}")]
    InvalidKey {
        url: String,
        key: String,
        reason: &'static str,
    },
    /// Someone else wrote first: the key already exists, or its version moved on.
    #[error("conflict on `{key}` in bucket `{url}`: {reason}")]
    Conflict {
        url: String,
        key: String,
        reason: &'static str,
    },
    /// The backend could not be reached (connection refused, timed out). Worth retrying later.
    #[error("bucket `{url}` is unreachable (trying to {operation} `{key}`): {source}")]
    Unreachable {
        url: String,
        key: String,
        operation: &'static str,
        source: Box<object_store::Error>,
    },
    /// The backend answered with an error (permission denied, bad request, i/o error...).
    #[error("bucket `{url}` failed to {operation} `{key}`: {source}")]
    Backend {
        url: String,
        key: String,
        operation: &'static str,
        source: Box<object_store::Error>,
    },
}

/// Settings that are not in the URL. The defaults fit real S3 and GCS; tests and emulators
/// set `endpoint` (and credentials for S3).
#[derive(Debug, Clone)]
pub struct BucketOptions {
    /// S3: the endpoint URL (MinIO, moto...), overriding `AWS_ENDPOINT_URL`; requests then use
    /// path-style addressing. GCS: the base URL of an emulator, overriding
    /// `STORAGE_EMULATOR_HOST`; requests are then unsigned, as with upstream's emulator setup.
    pub endpoint: Option<String>,
    /// Permit `http://` endpoints. Implied when `endpoint` itself starts with `http://`.
    pub allow_http: bool,
    /// S3 region, overriding `AWS_REGION` / `AWS_DEFAULT_REGION`.
    pub region: Option<String>,
    /// S3 static credentials, overriding `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Upper bound for one HTTP request (a whole zip upload is one request).
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries of a failed request, and the time after which no retry starts: together
    /// they bound how long an unreachable endpoint takes to fail.
    pub max_retries: usize,
    pub retry_timeout: Duration,
}

impl Default for BucketOptions {
    fn default() -> Self {
        BucketOptions {
            endpoint: None,
            allow_http: false,
            region: None,
            access_key_id: None,
            secret_access_key: None,
            request_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(3),
            max_retries: 3,
            retry_timeout: Duration::from_secs(10),
        }
    }
}

/// Which kind of storage a [`Bucket`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Memory,
    LocalFileSystem,
    S3,
    Gcs,
}

/// Size, modification time and e-tag of an object, as [`Bucket::head`] reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub last_modified: SystemTime,
    pub e_tag: Option<String>,
}

/// The outcome of [`Bucket::create`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// The object did not exist and now holds the given bytes.
    New,
    /// The key was taken; these are the bytes already stored, for the caller to compare.
    Exists(Bytes),
}

/// The version of an object as read by [`Bucket::get_versioned`], for [`Bucket::replace`].
///
/// Opaque on purpose: only a version read from the same bucket means anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion(Version);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Version {
    /// What the store itself checks: S3 and memory compare the e-tag, GCS the generation.
    Store(UpdateVersion),
    /// Local files: the SHA-256 of the content. `LocalFileSystem`'s e-tag is built from inode,
    /// mtime and size; after an atomic rename the inode number can be reused and the mtime
    /// may not tick (coarse timestamps), so `"10"` then `"11"` could share an e-tag. The
    /// content hash cannot miss a change; equal content means equal state for a
    /// read-modify-write, so comparing it is a correct compare-and-swap.
    ContentSha256([u8; 32]),
}

/// A bucket on one backend, with an optional root prefix every key is relative to.
#[derive(Debug, Clone)]
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    root: Path,
    url: String,
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Memory,
    /// Lock files in `dir` serialise the writes that object_store cannot make
    /// conditional (see [`LOCAL_LOCK_PREFIX`]).
    Local {
        dir: PathBuf,
    },
    S3,
    /// Writes go through the JSON API (see [`crate::gcs_upload`]), the rest through `store`.
    Gcs {
        uploader: GcsUploader,
    },
}

impl Bucket {
    /// Opens `file:///abs/path` (created if missing), `s3://bucket[/prefix]`,
    /// `gs://bucket[/prefix]` or `memory://[name][/prefix]`.
    ///
    /// `memory://` is a fresh, empty store each time; `memory://name` is shared by every
    /// bucket opened with that name in this process (so tests can open it twice).
    pub fn open(url: &str, options: &BucketOptions) -> Result<Bucket, BucketError> {
        let invalid = |reason: &str| BucketError::InvalidUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("expected scheme://..., e.g. file:///srv/packages"))?;
        match scheme {
            "file" => open_local(url, rest),
            "memory" | "s3" | "gs" => {
                let (authority, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                let root = parse_root(url, prefix)?;
                let (store, backend) = match scheme {
                    "memory" => (memory_store(authority), Backend::Memory),
                    "s3" => (s3_store(url, authority, options)?, Backend::S3),
                    _ => {
                        let (store, uploader) = gcs_store(url, authority, options)?;
                        (store, Backend::Gcs { uploader })
                    }
                };
                Ok(Bucket {
                    store,
                    root,
                    url: url.to_string(),
                    backend,
                })
            }
            _ => Err(invalid(
                "unknown scheme, expected one of file, s3, gs, memory",
            )),
        }
    }

    /// The folder of a `file://` bucket.
    pub fn local_dir(&self) -> Option<&std::path::Path> {
        match &self.backend {
            Backend::Local { dir } => Some(dir),
            _ => None,
        }
    }

    /// The URL the bucket was opened with, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn kind(&self) -> BackendKind {
        match self.backend {
            Backend::Memory => BackendKind::Memory,
            Backend::Local { .. } => BackendKind::LocalFileSystem,
            Backend::S3 => BackendKind::S3,
            Backend::Gcs { .. } => BackendKind::Gcs,
        }
    }

    /// The object's bytes, or `None` if there is no object at `key`.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, BucketError> {
        Ok(self.fetch(key).await?.map(|(bytes, _)| bytes))
    }

    /// The object's bytes with its size, modification time and e-tag, in one request.
    pub async fn get_with_info(
        &self,
        key: &str,
    ) -> Result<Option<(Bytes, ObjectInfo)>, BucketError> {
        Ok(self
            .fetch(key)
            .await?
            .map(|(bytes, meta)| (bytes, object_info(meta))))
    }

    /// The object's bytes and the version to pass to [`Bucket::replace`].
    pub async fn get_versioned(
        &self,
        key: &str,
    ) -> Result<Option<(Bytes, ObjectVersion)>, BucketError> {
        let Some((bytes, meta)) = self.fetch(key).await? else {
            return Ok(None);
        };
        let version = match self.backend {
            Backend::Local { .. } => Version::ContentSha256(sha256(&bytes)),
            _ => Version::Store(UpdateVersion {
                e_tag: meta.e_tag,
                version: meta.version,
            }),
        };
        Ok(Some((bytes, ObjectVersion(version))))
    }

    /// The bytes and the metadata (with the store's own version: e-tag, generation) of
    /// the object at `key`.
    async fn fetch(&self, key: &str) -> Result<Option<(Bytes, ObjectMeta)>, BucketError> {
        let path = self.path(key)?;
        let fail = |e| self.error(key, "read", e);
        let result = match self.store.get(&path).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(fail(e)),
        };
        let meta = result.meta.clone();
        match result.bytes().await {
            Ok(bytes) => Ok(Some((bytes, meta))),
            // Deleted between the response headers and the body (local files).
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(fail(e)),
        }
    }

    /// A blocking reader of the object at `key`, for a large object that should not be
    /// held whole (the index at 10,000 versions is 280 MB); `None` if there is none.
    /// Read it on a blocking thread (`spawn_blocking`); this must be called within the
    /// runtime, which the reader uses to fetch the rest.
    pub async fn reader(&self, key: &str) -> Result<Option<Box<dyn Read + Send>>, BucketError> {
        let path = self.path(key)?;
        let result = match self.store.get(&path).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error(key, "read", e)),
        };
        let range = result.range.clone();
        Ok(Some(match result.payload {
            // A local file is read directly, not in the 8 KiB chunks of its stream.
            GetResultPayload::File(mut file, _) => {
                file.seek(SeekFrom::Start(range.start))
                    .map_err(|e| self.io_error(key, e))?;
                Box::new(file.take(range.end - range.start))
            }
            GetResultPayload::Stream(stream) => {
                let stream = stream.map_err(std::io::Error::other);
                Box::new(SyncIoBridge::new(StreamReader::new(stream)))
            }
        }))
    }

    /// The bytes at `range` of the object at `key`.
    pub async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, BucketError> {
        let path = self.path(key)?;
        self.store
            .get_range(&path, range)
            .await
            .map_err(|e| self.error(key, "read", e))
    }

    fn io_error(&self, key: &str, e: std::io::Error) -> BucketError {
        self.error(
            key,
            "read",
            object_store::Error::Generic {
                store: "local",
                source: Box::new(e),
            },
        )
    }

    /// Size, modification time and e-tag, or `None` if there is no object at `key`.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, BucketError> {
        let path = self.path(key)?;
        match self.store.head(&path).await {
            Ok(meta) => Ok(Some(object_info(meta))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(key, "read", e)),
        }
    }

    /// Writes `data` only if nothing exists at `key`. When the key is taken, returns the
    /// bytes stored there so the caller can tell "same upload again" from a real conflict.
    pub async fn create(&self, key: &str, data: Bytes) -> Result<Created, BucketError> {
        let path = self.path(key)?;
        for _ in 0..CREATE_ATTEMPTS {
            match self.put_mode(&path, data.clone(), PutMode::Create).await {
                Ok(()) => return Ok(Created::New),
                Err(object_store::Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(self.error(key, "create", e)),
            }
            if let Some(existing) = self.get(key).await? {
                return Ok(Created::Exists(existing));
            }
        }
        Err(self.conflict(key, "the object keeps being created and deleted"))
    }

    /// Writes `parts`, one after the other, at `key` only if nothing is there; `false`
    /// when the key was taken. Unlike [`Bucket::create`], what is there is not read:
    /// for large objects whose collision only means "pick another key".
    pub async fn create_if_absent(
        &self,
        key: &str,
        parts: Vec<Bytes>,
    ) -> Result<bool, BucketError> {
        let path = self.path(key)?;
        match self
            .put_mode(&path, PutPayload::from_iter(parts), PutMode::Create)
            .await
        {
            Ok(()) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(self.error(key, "create", e)),
        }
    }

    /// Compare-and-swap: replaces `key` only if its version is still `expected`
    /// (`None`: only if there is no object). Fails with [`BucketError::Conflict`] when
    /// someone else changed (or created, or deleted) the object in between.
    pub async fn replace(
        &self,
        key: &str,
        data: Bytes,
        expected: Option<&ObjectVersion>,
    ) -> Result<(), BucketError> {
        let path = self.path(key)?;
        let Some(ObjectVersion(expected)) = expected else {
            return match self.put_mode(&path, data, PutMode::Create).await {
                Ok(()) => Ok(()),
                Err(object_store::Error::AlreadyExists { .. }) => {
                    Err(self.conflict(key, "the object already exists"))
                }
                Err(e) => Err(self.error(key, "replace", e)),
            };
        };
        match (&self.backend, expected) {
            (Backend::Local { dir }, Version::ContentSha256(hash)) => {
                self.replace_local(dir, key, &path, data, hash).await
            }
            (Backend::Local { .. }, Version::Store(_)) | (_, Version::ContentSha256(_)) => {
                Err(self.conflict(key, "the version was read from another bucket"))
            }
            (_, Version::Store(version)) => {
                let mode = PutMode::Update(version.clone());
                match self.put_mode(&path, data, mode).await {
                    Ok(()) => Ok(()),
                    // S3 answers 409 to concurrent conditional writes; object_store maps
                    // that to AlreadyExists. A missing object is a conflict too.
                    Err(
                        object_store::Error::Precondition { .. }
                        | object_store::Error::AlreadyExists { .. }
                        | object_store::Error::NotFound { .. },
                    ) => Err(self.conflict(key, "the object changed since it was read")),
                    Err(e) => Err(self.error(key, "replace", e)),
                }
            }
        }
    }

    /// Unconditional write. Atomic: readers see the old or the new bytes, never a part.
    /// (Every backend guarantees it; `LocalFileSystem` writes a temp file and renames it.)
    pub async fn put(&self, key: &str, data: Bytes) -> Result<(), BucketError> {
        let path = self.path(key)?;
        let _lock = self.lock_local_writes(key, "write").await?;
        self.put_mode(&path, data, PutMode::Overwrite)
            .await
            .map_err(|e| self.error(key, "write", e))
    }

    /// Starts writing the object at `key` in parts, unconditionally: for an object too
    /// large to hold (a full index), written by the one writer that claimed its folder.
    /// Nothing is visible at `key` until [`Upload::finish`]; [`Upload::abort`] (or
    /// dropping it) leaves nothing behind but what the backend cleans up itself (an
    /// unfinished S3 multipart upload, until the bucket's lifecycle rule removes it).
    pub async fn upload(&self, key: &str) -> Result<Upload, BucketError> {
        let path = self.path(key)?;
        let inner = match &self.backend {
            // GCS's multipart uploads are its XML API's, which emulators lack: the
            // parts go to a temporary file, uploaded in one request at the end.
            Backend::Gcs { uploader } => {
                let file = tempfile::NamedTempFile::new().map_err(|e| self.io_error(key, e))?;
                let (file, temp) = file.into_parts();
                UploadInner::GcsFile {
                    file: tokio::fs::File::from_std(file),
                    temp,
                    uploader: uploader.clone(),
                    path,
                }
            }
            _ => {
                let upload = self
                    .store
                    .put_multipart(&path)
                    .await
                    .map_err(|e| self.error(key, "write", e))?;
                UploadInner::Multipart(WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART))
            }
        };
        Ok(Upload {
            bucket: self.clone(),
            key: key.to_string(),
            inner,
            written: 0,
        })
    }

    /// Deletes the object at `key`; a missing object is fine.
    pub async fn delete(&self, key: &str) -> Result<(), BucketError> {
        let path = self.path(key)?;
        let _lock = self.lock_local_writes(key, "delete").await?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(key, "delete", e)),
        }
    }

    /// Every key under `prefix` (`""` for all), recursively, relative to the bucket root,
    /// sorted. Prefixes match whole segments: `a/b` lists `a/b/c` but not `a/bc`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, BucketError> {
        let listed = self.list_info(prefix).await?;
        Ok(listed.into_iter().map(|(key, _)| key).collect())
    }

    /// [`Bucket::list`] with each object's size and modification time, in one listing.
    pub async fn list_info(&self, prefix: &str) -> Result<Vec<(String, ObjectInfo)>, BucketError> {
        let mut listed = Vec::new();
        self.for_each_object(prefix, |key, info| listed.push((key, info)))
            .await?;
        listed.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(listed)
    }

    /// Calls `f` with each object under `prefix` (key relative to the root, and its
    /// size and modification time) as the listing arrives, in the store's order:
    /// for listings too long to hold (every static file of a bucket).
    pub async fn for_each_object(
        &self,
        prefix: &str,
        mut f: impl FnMut(String, ObjectInfo),
    ) -> Result<(), BucketError> {
        use futures_util::StreamExt;
        let path = self.prefix_path(prefix)?;
        let mut listing = self.store.list(path.as_ref());
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|e| self.error(prefix, "list", e))?;
            if let Some(key) = self.relative_key(&meta.location) {
                f(key, object_info(meta));
            }
        }
        Ok(())
    }

    /// The names of the immediate "sub-folders" of `prefix` (`""` for the root), sorted:
    /// `list_folders("v2/metadata")` gives `["1", "2"]` for `v2/metadata/1/...` and
    /// `v2/metadata/2/...`.
    pub async fn list_folders(&self, prefix: &str) -> Result<Vec<String>, BucketError> {
        let path = self.prefix_path(prefix)?;
        let listing = self
            .store
            .list_with_delimiter(path.as_ref())
            .await
            .map_err(|e| self.error(prefix, "list", e))?;
        let mut folders: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|folder| folder.filename().map(str::to_string))
            .collect();
        folders.sort();
        Ok(folders)
    }

    async fn put_mode(
        &self,
        path: &Path,
        data: impl Into<PutPayload>,
        mode: PutMode,
    ) -> Result<(), object_store::Error> {
        let payload: PutPayload = data.into();
        if let Backend::Gcs { uploader } = &self.backend {
            // One buffer for the upload; parts are copied into it.
            let data = match payload.as_ref() {
                [one] => one.clone(),
                parts => Bytes::from(parts.concat()),
            };
            return uploader.put(path, data, &mode).await;
        }
        let options = PutOptions {
            mode,
            ..PutOptions::default()
        };
        self.store
            .put_opts(path, payload, options)
            .await
            .map(|_| ())
    }

    /// Compare-and-swap for local files. object_store's `LocalFileSystem` has no conditional
    /// update (`PutMode::Update` returns `NotImplemented`), so we do it ourselves: under an
    /// exclusive lock on the key's lock file, compare the current content with the one
    /// that was read, then write a temp file and rename it over the object. Every other
    /// write to the key (`put`, `delete`) takes the same lock, and `flock` locks conflict
    /// between processes and between file handles of one process, so two writers (tasks,
    /// threads or processes on this machine) can never both win.
    async fn replace_local(
        &self,
        dir: &std::path::Path,
        key: &str,
        path: &Path,
        data: Bytes,
        expected: &[u8; 32],
    ) -> Result<(), BucketError> {
        let _lock = self
            .lock_file(&local_lock_file(dir, key), key, "replace")
            .await?;
        match self.get(key).await? {
            None => Err(self.conflict(key, "the object was deleted since it was read")),
            Some(current) if sha256(&current) != *expected => {
                Err(self.conflict(key, "the object changed since it was read"))
            }
            Some(_) => self
                .put_mode(path, data, PutMode::Overwrite)
                .await
                .map_err(|e| self.error(key, "replace", e)),
        }
    }

    /// Takes the write lock of `key` on `file://` buckets; other backends need none.
    async fn lock_local_writes(
        &self,
        key: &str,
        operation: &'static str,
    ) -> Result<Option<std::fs::File>, BucketError> {
        match &self.backend {
            Backend::Local { dir } => Ok(Some(
                self.lock_file(&local_lock_file(dir, key), key, operation)
                    .await?,
            )),
            _ => Ok(None),
        }
    }

    /// Blocks (on a blocking thread) until the exclusive lock is ours. The lock is released
    /// when the returned file is dropped. The lock file is never deleted: deleting it while
    /// someone waits on it would let two writers lock two different files.
    async fn lock_file(
        &self,
        lock_file: &std::path::Path,
        key: &str,
        operation: &'static str,
    ) -> Result<std::fs::File, BucketError> {
        let lock_file = lock_file.to_path_buf();
        let locked = tokio::task::spawn_blocking(move || {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_file)?;
            // `File::lock` (flock on Unix, LockFileEx on Windows) is std since Rust 1.89.
            file.lock()?;
            Ok::<_, std::io::Error>(file)
        })
        .await;
        let local_error = |source: Box<dyn std::error::Error + Send + Sync>| {
            let source = object_store::Error::Generic {
                store: "LocalFileSystem",
                source,
            };
            self.error(key, operation, source)
        };
        match locked {
            Ok(Ok(file)) => Ok(file),
            Ok(Err(e)) => Err(local_error(Box::new(e))),
            Err(e) => Err(local_error(Box::new(e))),
        }
    }

    /// The store path of a key, after checking the key.
    fn path(&self, key: &str) -> Result<Path, BucketError> {
        check_key(key)
            .and_then(|()| self.under_root(key))
            .map_err(|reason| self.invalid_key(key, reason))
    }

    /// The store path of a listing prefix (`None` for the whole store): `""` is the bucket
    /// root, a trailing `/` is allowed. object_store wants `None`, not an empty path, for
    /// "everything": S3 would otherwise list the prefix `/`.
    fn prefix_path(&self, prefix: &str) -> Result<Option<Path>, BucketError> {
        let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
        let path = if trimmed.is_empty() {
            self.root.clone()
        } else {
            check_segments(trimmed)
                .and_then(|()| self.under_root(trimmed))
                .map_err(|reason| self.invalid_key(prefix, reason))?
        };
        Ok((!path.as_ref().is_empty()).then_some(path))
    }

    /// Joins a checked key or prefix to the root. `Path::parse` keeps the text verbatim
    /// (`Path::from` would percent-encode brackets and the like).
    fn under_root(&self, checked: &str) -> Result<Path, &'static str> {
        let full = match self.root.as_ref() {
            "" => checked.to_string(),
            root => format!("{root}/{checked}"),
        };
        Path::parse(full).map_err(|_| "not a valid object path")
    }

    /// The key of a listed object relative to the root, or `None` if it is not under it.
    fn relative_key(&self, location: &Path) -> Option<String> {
        let parts: Vec<_> = location.prefix_match(&self.root)?.collect();
        let parts: Vec<&str> = parts.iter().map(|part| part.as_ref()).collect();
        Some(parts.join("/"))
    }

    fn invalid_key(&self, key: &str, reason: &'static str) -> BucketError {
        BucketError::InvalidKey {
            url: self.url.clone(),
            key: key.to_string(),
            reason,
        }
    }

    fn conflict(&self, key: &str, reason: &'static str) -> BucketError {
        BucketError::Conflict {
            url: self.url.clone(),
            key: key.to_string(),
            reason,
        }
    }

    fn error(
        &self,
        key: &str,
        operation: &'static str,
        source: object_store::Error,
    ) -> BucketError {
        let (url, key, source) = (self.url.clone(), key.to_string(), Box::new(source));
        if is_unreachable(&source) {
            BucketError::Unreachable {
                url,
                key,
                operation,
                source,
            }
        } else {
            BucketError::Backend {
                url,
                key,
                operation,
                source,
            }
        }
    }
}

/// The size of the parts of an [`Upload`] (S3 wants at least 5 MiB but for the last).
const UPLOAD_PART: usize = 8 << 20;
/// How many parts of an [`Upload`] may be on their way at once.
const UPLOAD_PARTS_IN_FLIGHT: usize = 2;

/// An object being written in parts; see [`Bucket::upload`].
pub struct Upload {
    bucket: Bucket,
    key: String,
    inner: UploadInner,
    written: u64,
}

enum UploadInner {
    Multipart(WriteMultipart),
    GcsFile {
        file: tokio::fs::File,
        temp: tempfile::TempPath,
        uploader: GcsUploader,
        path: Path,
    },
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("bucket", &self.bucket.url)
            .field("key", &self.key)
            .field("written", &self.written)
            .finish()
    }
}

impl Upload {
    /// Adds `chunk` to the object; waits while earlier parts are still being sent.
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), BucketError> {
        self.written += chunk.len() as u64;
        match &mut self.inner {
            UploadInner::Multipart(upload) => {
                upload
                    .wait_for_capacity(UPLOAD_PARTS_IN_FLIGHT)
                    .await
                    .map_err(|e| self.bucket.error(&self.key, "write", e))?;
                upload.put(chunk);
                Ok(())
            }
            UploadInner::GcsFile { file, .. } => {
                use tokio::io::AsyncWriteExt;
                file.write_all(&chunk)
                    .await
                    .map_err(|e| self.bucket.io_error(&self.key, e))
            }
        }
    }

    /// Completes the object: readers see it whole from now on. Gives its size.
    pub async fn finish(self) -> Result<u64, BucketError> {
        let Upload {
            bucket,
            key,
            inner,
            written,
        } = self;
        match inner {
            UploadInner::Multipart(upload) => {
                upload
                    .finish()
                    .await
                    .map_err(|e| bucket.error(&key, "write", e))?;
            }
            UploadInner::GcsFile {
                mut file,
                temp,
                uploader,
                path,
            } => {
                use tokio::io::AsyncWriteExt;
                file.flush().await.map_err(|e| bucket.io_error(&key, e))?;
                drop(file);
                uploader
                    .put_file(&path, &temp, written)
                    .await
                    .map_err(|e| bucket.error(&key, "write", e))?;
            }
        }
        Ok(written)
    }

    /// Gives the object up; nothing appears at its key.
    pub async fn abort(self) {
        if let UploadInner::Multipart(upload) = self.inner
            && let Err(e) = upload.abort().await
        {
            tracing::warn!(key = %self.key, error = %e, "could not abort an upload");
        }
    }
}

/// `file:///abs/path`: the folder is created if missing, keys are files below it.
fn open_local(url: &str, rest: &str) -> Result<Bucket, BucketError> {
    let invalid = |reason: &str| BucketError::InvalidUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    if !rest.starts_with('/') {
        return Err(invalid(
            "a file url needs an absolute path, e.g. file:///srv/packages",
        ));
    }
    let decoded = percent_encoding::percent_decode_str(rest)
        .decode_utf8()
        .map_err(|_| invalid("the path is not valid UTF-8 once percent-decoded"))?;
    let dir = PathBuf::from(decoded.as_ref());
    let open_error = |source: object_store::Error| BucketError::Open {
        url: url.to_string(),
        source: Box::new(source),
    };
    std::fs::create_dir_all(&dir).map_err(|e| {
        open_error(object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(e),
        })
    })?;
    // Automatic cleanup removes folders left empty by a delete, so that list_folders
    // behaves as on S3 and GCS, where folders exist only while objects are in them.
    let store = LocalFileSystem::new_with_prefix(&dir)
        .map_err(open_error)?
        .with_automatic_cleanup(true)
        .with_fsync(true);
    Ok(Bucket {
        store: Arc::new(store),
        root: Path::default(),
        url: url.to_string(),
        backend: Backend::Local { dir },
    })
}

/// `memory://` is a new store; `memory://name` is shared within the process.
fn memory_store(name: &str) -> Arc<dyn ObjectStore> {
    static SHARED: OnceLock<Mutex<HashMap<String, Arc<InMemory>>>> = OnceLock::new();
    if name.is_empty() {
        return Arc::new(InMemory::new());
    }
    let mut shared = SHARED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    shared
        .entry(name.to_string())
        .or_insert_with(|| Arc::new(InMemory::new()))
        .clone()
}

/// S3 from the usual AWS environment, with the options on top. Conditional puts
/// (`If-None-Match`, `If-Match`) are `S3ConditionalPut::ETagMatch`, the default since
/// object_store 0.12; we set it anyway so an `AWS_CONDITIONAL_PUT=disabled` in the
/// environment cannot silently turn create-only writes into overwrites.
fn s3_store(
    url: &str,
    bucket: &str,
    options: &BucketOptions,
) -> Result<Arc<dyn ObjectStore>, BucketError> {
    check_bucket_name(url, bucket)?;
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_conditional_put(S3ConditionalPut::ETagMatch)
        .with_retry(retry_config(options));
    let env_allows_http = builder
        .get_config_value(&AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp))
        .is_some_and(|value| value.eq_ignore_ascii_case("true"));
    if let Some(endpoint) = &options.endpoint {
        // Emulators and MinIO serve every bucket on one host: path-style addressing.
        builder = builder
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(false);
    }
    // An explicit http:// endpoint (option or AWS_ENDPOINT_URL) says plainly that TLS is
    // not wanted; do not make the user repeat it with AWS_ALLOW_HTTP.
    let http_endpoint = builder
        .get_config_value(&AmazonS3ConfigKey::Endpoint)
        .is_some_and(|endpoint| endpoint.starts_with("http://"));
    let allow_http = options.allow_http || env_allows_http || http_endpoint;
    if let Some(region) = &options.region {
        builder = builder.with_region(region);
    }
    if let Some(key_id) = &options.access_key_id {
        builder = builder.with_access_key_id(key_id);
    }
    if let Some(secret) = &options.secret_access_key {
        builder = builder.with_secret_access_key(secret);
    }
    let store = builder
        .with_client_options(client_options(options, allow_http))
        .build()
        .map_err(|source| BucketError::Open {
            url: url.to_string(),
            source: Box::new(source),
        })?;
    Ok(Arc::new(store))
}

/// GCS with application default credentials, or an emulator: `options.endpoint` or
/// `STORAGE_EMULATOR_HOST` (`host:port` or a URL) sets the base URL and turns request
/// signing off, as upstream does for fake-gcs-server.
///
/// Returns the store (reads, listings, deletes) and the uploader for writes, which sends
/// the store's own credentials (see [`crate::gcs_upload`] for why writes go apart).
fn gcs_store(
    url: &str,
    bucket: &str,
    options: &BucketOptions,
) -> Result<(Arc<dyn ObjectStore>, GcsUploader), BucketError> {
    check_bucket_name(url, bucket)?;
    let open_error = |source| BucketError::Open {
        url: url.to_string(),
        source: Box::new(source),
    };
    let mut builder = GoogleCloudStorageBuilder::from_env()
        .with_bucket_name(bucket)
        .with_retry(retry_config(options));
    let emulator = options
        .endpoint
        .clone()
        .or_else(|| std::env::var(STORAGE_EMULATOR_HOST).ok())
        .filter(|host| !host.is_empty());
    let mut allow_http = options.allow_http;
    let base_url = match emulator {
        Some(emulator) => {
            let base_url = if emulator.contains("://") {
                emulator
            } else {
                format!("http://{emulator}")
            };
            let base_url = base_url.trim_end_matches('/').to_string();
            allow_http |= base_url.starts_with("http://");
            // Skipping signatures alone is not enough: object_store 0.14 still fetches a
            // token before some requests, from the instance metadata server when nothing
            // else is configured. A static empty token keeps emulator traffic on the
            // emulator.
            let no_token = StaticCredentialProvider::new(GcpCredential {
                bearer: String::new(),
            });
            builder = builder
                .with_base_url(&base_url)
                .with_skip_signature(true)
                .with_credentials(Arc::new(no_token));
            Some(base_url)
        }
        None => None,
    };
    let store = builder
        .with_client_options(client_options(options, allow_http))
        .build()
        .map_err(open_error)?;
    let (base_url, credentials) = match base_url {
        Some(emulator) => (emulator, None),
        None => (GCS_BASE_URL.to_string(), Some(store.credentials().clone())),
    };
    let uploader = GcsUploader::new(
        &base_url,
        bucket,
        credentials,
        options.request_timeout,
        options.connect_timeout,
        retry_config(options),
    )
    .map_err(open_error)?;
    Ok((Arc::new(store), uploader))
}

fn client_options(options: &BucketOptions, allow_http: bool) -> ClientOptions {
    ClientOptions::new()
        .with_allow_http(allow_http)
        .with_timeout(options.request_timeout)
        .with_connect_timeout(options.connect_timeout)
}

fn retry_config(options: &BucketOptions) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: options.max_retries,
        retry_timeout: options.retry_timeout,
    }
}

fn check_bucket_name(url: &str, bucket: &str) -> Result<(), BucketError> {
    if bucket.is_empty() {
        return Err(BucketError::InvalidUrl {
            url: url.to_string(),
            reason: "missing bucket name, expected scheme://bucket[/prefix]".to_string(),
        });
    }
    Ok(())
}

/// The root prefix from the URL path (`s3://bucket/some/root` gives `some/root`).
fn parse_root(url: &str, prefix: &str) -> Result<Path, BucketError> {
    let trimmed = prefix.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(Path::default());
    }
    check_segments(trimmed).map_err(|reason| BucketError::InvalidUrl {
        url: url.to_string(),
        reason: format!("bad root prefix: {reason}"),
    })?;
    Path::parse(trimmed).map_err(|e| BucketError::InvalidUrl {
        url: url.to_string(),
        reason: format!("bad root prefix: {e}"),
    })
}

/// A key names one object the same way on every backend.
fn check_key(key: &str) -> Result<(), &'static str> {
    if key.is_empty() {
        return Err("a key cannot be empty");
    }
    check_segments(key)?;
    let file_name = key.rsplit('/').next().unwrap_or(key);
    if let Some((_, suffix)) = file_name.rsplit_once('#')
        && !suffix.is_empty()
        && suffix.bytes().all(|b| b.is_ascii_digit())
    {
        // LocalFileSystem reserves `name#<digits>` for unfinished uploads and hides them.
        return Err("a key cannot end in `#` followed by digits (reserved for temporary files)");
    }
    Ok(())
}

fn check_segments(key: &str) -> Result<(), &'static str> {
    if key.starts_with('/') {
        return Err("a key is relative to the bucket root and cannot start with `/`");
    }
    for segment in key.split('/') {
        match segment {
            "" => return Err("a key cannot have empty segments (`//` or a trailing `/`)"),
            "." | ".." => return Err("a key cannot have `.` or `..` segments"),
            _ if segment.chars().any(char::is_control) => {
                return Err("a key cannot contain control characters");
            }
            _ => {}
        }
    }
    Ok(())
}

/// True when the request never got an answer: connection refused, DNS, timeouts.
fn is_unreachable(error: &object_store::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(http) = current.downcast_ref::<HttpError>() {
            return matches!(
                http.kind(),
                HttpErrorKind::Connect | HttpErrorKind::Timeout | HttpErrorKind::Interrupted
            );
        }
        // GCS uploads (crate::gcs_upload) use reqwest directly.
        if let Some(http) = current.downcast_ref::<reqwest::Error>() {
            return http.is_connect() || http.is_timeout();
        }
        cause = current.source();
    }
    false
}

fn object_info(meta: ObjectMeta) -> ObjectInfo {
    ObjectInfo {
        size: meta.size,
        last_modified: SystemTime::from(meta.last_modified),
        e_tag: meta.e_tag,
    }
}

/// The lock file of `key` in a local bucket at `dir` (see [`LOCAL_LOCK_PREFIX`]).
fn local_lock_file(dir: &std::path::Path, key: &str) -> PathBuf {
    let stripe = sha256(key.as_bytes())[0] % LOCAL_LOCK_STRIPES;
    dir.join(format!("{LOCAL_LOCK_PREFIX}{stripe}"))
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_spaces_and_brackets_are_valid() {
        assert_eq!(
            check_key("artifacts/static/cassandra-1.1.0/img/[Logs Cassandra] System Logs.jpg"),
            Ok(())
        );
    }

    #[test]
    fn bad_keys_are_refused() {
        for key in ["", "/a", "a//b", "a/", "a/../b", "./a", "a/b#1", "a\nb"] {
            assert!(check_key(key).is_err(), "{key:?} should be refused");
        }
        assert_eq!(check_key("a/b#c"), Ok(()));
    }

    #[test]
    fn urls_are_checked() {
        let options = BucketOptions::default();
        for url in [
            "nope",
            "ftp://x",
            "file://relative/path",
            "s3://",
            "gs:///x",
        ] {
            assert!(
                matches!(
                    Bucket::open(url, &options),
                    Err(BucketError::InvalidUrl { .. })
                ),
                "{url} should be refused"
            );
        }
    }
}
