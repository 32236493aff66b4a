//! One view of a package's files, whether it is an unpacked folder or a zip.
//!
//! Both list their entries once, when the package is opened; reads go to the
//! folder or the archive on demand, so a loaded package costs its file list, not its
//! contents. Zips are attacker input: entry names with `..` or absolute paths, too
//! many entries and oversized reads are refused.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::open_files::FileIdentity;

/// The most entries a package zip may have.
pub const MAX_ZIP_ENTRIES: usize = 100_000;
/// The largest file a package may hold: package-spec's largest `sizeLimit`
/// (integration and content packages'). Packages with a larger file are refused
/// when loading, validating and publishing.
pub const MAX_FILE_SIZE: u64 = 150 * 1024 * 1024;
/// The most a package may hold, uncompressed: package-spec's largest
/// `totalSizeLimit` (integration packages').
pub const MAX_PACKAGE_SIZE: u64 = 250 * 1024 * 1024;
/// Deflate cannot compress better than about 1032:1; a higher declared ratio is a
/// lie or a method we do not read.
pub const MAX_COMPRESSION_RATIO: u64 = 1100;
/// The largest YAML file read: package-spec's `configurationSizeLimit`. Checked
/// before reading, so that a huge manifest costs no memory: YAML takes several
/// times its size to parse.
pub const MAX_YAML_SIZE: u64 = 5 * 1024 * 1024;
/// The largest JSON file read. Ours: package-spec bounds JSON files only by the
/// package's per-file limit, but the validator parses them (Kibana objects); the
/// largest in the 185 real packages is 3.3 MB (an ML model).
pub const MAX_JSON_SIZE: u64 = 10 * 1024 * 1024;

/// How much of a file [`PackageFs::read_pieces`] holds at once.
pub const PIECE_SIZE: usize = 64 * 1024;

/// Copies `reader`, from byte `start`, to `sink` a piece at a time; `Ok(n)` is how
/// many bytes were read in all (skipped ones included), at most `limit + 1`.
fn copy_pieces(
    mut reader: impl Read,
    limit: u64,
    start: u64,
    sink: &mut dyn FnMut(&[u8]) -> bool,
) -> std::io::Result<u64> {
    let mut buf = vec![0u8; PIECE_SIZE];
    let mut read = 0u64;
    while read <= limit {
        let want = PIECE_SIZE.min(usize::try_from(limit + 1 - read).unwrap_or(PIECE_SIZE));
        let n = match reader.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let piece_start = read;
        read += n as u64;
        if read > limit {
            break;
        }
        let skip = usize::try_from(start.saturating_sub(piece_start))
            .unwrap_or(usize::MAX)
            .min(n);
        if skip < n && !sink(&buf[skip..n]) {
            break;
        }
    }
    Ok(read)
}

/// How many bytes [`PackageFs::read`] reads of `path`: YAML and JSON files, which
/// are parsed, are held to [`MAX_YAML_SIZE`] and [`MAX_JSON_SIZE`], the rest to
/// [`MAX_FILE_SIZE`].
pub fn read_limit(path: &str) -> u64 {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("yml" | "yaml") => MAX_YAML_SIZE,
        Some("json") => MAX_JSON_SIZE,
        _ => MAX_FILE_SIZE,
    }
}

/// A file or folder of a package, relative to the package root, `/`-separated.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    pub is_dir: bool,
    pub size: u64,
    pub modified: Option<SystemTime>,
}

impl Entry {
    /// How many path components deep the entry is (`manifest.yml` is 1).
    pub fn depth(&self) -> usize {
        self.path.split('/').count()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("{path}: file not found")]
    NotFound { path: String },
    #[error("{path}: is a directory")]
    IsDir { path: String },
    /// Refused before reading (`size` is then the file's) or while reading, when
    /// the file grew (`size` is then what was read: more than `limit`).
    #[error("{path}: {size} bytes is larger than the {limit} bytes allowed")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The process may open no more files: not a fault of the package.
    #[error(
        "{path}: cannot open: no file descriptor left (the limit of `ulimit -n` is reached): raise it, or serve fewer packages at once"
    )]
    NoDescriptors { path: String },
    /// The file is not a readable zip archive.
    #[error("{path}: invalid zip: {message}")]
    Zip { path: String, message: String },
    /// A readable archive that we refuse: entries escaping the root, too many entries.
    #[error("{path}: unsafe zip: {message}")]
    UnsafeZip { path: String, message: String },
}

impl FsError {
    /// An I/O error on `path`, telling a shortage of file descriptors (EMFILE,
    /// ENFILE) apart: it is the environment's limit, not a broken package.
    pub fn io(path: impl Into<String>, source: std::io::Error) -> FsError {
        const ENFILE: i32 = 23;
        const EMFILE: i32 = 24;
        let path = path.into();
        match source.raw_os_error() {
            Some(EMFILE | ENFILE) if cfg!(unix) => FsError::NoDescriptors { path },
            _ => FsError::Io { path, source },
        }
    }

    /// Whether the error says the process ran out of file descriptors.
    pub fn is_descriptor_shortage(&self) -> bool {
        matches!(self, FsError::NoDescriptors { .. })
    }
}

/// Read access to the files of one package.
pub trait PackageFs: Send + Sync + std::fmt::Debug {
    /// Every entry, in the order the upstream walks them: sorted depth-first for
    /// folders, archive order for zips.
    fn entries(&self) -> &[Entry];
    /// The bytes of the file at `path` when it holds at most `limit`: a larger
    /// size is refused before anything is read.
    fn read_limited(&self, path: &str, limit: u64) -> Result<Vec<u8>, FsError>;

    /// The bytes of the file at `path`, within [`read_limit`] of it.
    fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
        self.read_limited(path, read_limit(path))
    }

    /// Reads the file at `path` (within `limit`) from byte `start` on, giving it
    /// to `sink` a piece at a time until the file ends or `sink` returns false: a
    /// large file then costs one piece of memory, not its size. This default reads
    /// the whole file first; folders and zips read piece by piece.
    fn read_pieces(
        &self,
        path: &str,
        limit: u64,
        start: u64,
        sink: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), FsError> {
        let data = self.read_limited(path, limit)?;
        let start = usize::try_from(start).unwrap_or(usize::MAX).min(data.len());
        for piece in data[start..].chunks(PIECE_SIZE) {
            if !sink(piece) {
                break;
            }
        }
        Ok(())
    }

    /// A key equal for two files only when their contents are, found without
    /// reading the content in full where the format allows (see
    /// [`ZipFs::content_key`]); `None` when the content itself must be read (folders),
    /// or the file is not one that [`PackageFs::read`] would give.
    fn content_key(&self, _path: &str) -> Option<[u8; 32]> {
        None
    }

    /// For a zip, what the file was when it was opened (see [`ZipFs::identity`]).
    fn zip_identity(&self) -> Option<FileIdentity> {
        None
    }

    /// The entry at `path`, file or folder (folders implied by zip file names count).
    fn stat(&self, path: &str) -> Option<Entry> {
        let path = path.trim_start_matches('/').trim_end_matches('/');
        if let Some(e) = self.entries().iter().find(|e| e.path == path) {
            return Some(e.clone());
        }
        let prefix = format!("{path}/");
        self.entries()
            .iter()
            .any(|e| e.path.starts_with(&prefix))
            .then(|| Entry {
                path: path.to_string(),
                is_dir: true,
                size: 0,
                modified: None,
            })
    }

    /// Names of the direct children of folder `dir` (files and folders), sorted.
    fn list_dir(&self, dir: &str) -> Vec<String> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut names: Vec<String> = self
            .entries()
            .iter()
            .filter_map(|e| e.path.strip_prefix(&prefix))
            .map(|rest| rest.split('/').next().unwrap_or(rest).to_string())
            .filter(|n| !n.is_empty())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// A package unpacked in a folder.
#[derive(Debug)]
pub struct DirFs {
    root: PathBuf,
    entries: Vec<Entry>,
}

impl DirFs {
    pub fn open(root: &Path) -> Result<DirFs, FsError> {
        let mut entries = Vec::new();
        walk(root, "", &mut entries)?;
        Ok(DirFs {
            root: root.to_path_buf(),
            entries,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// Depth-first, byte-wise sorted, symlinks not followed (as Go's filepath.Walk).
fn walk(dir: &Path, rel: &str, out: &mut Vec<Entry>) -> Result<(), FsError> {
    let io = |source| FsError::io(dir.display().to_string(), source);
    let mut children: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    children.sort_by_key(|c| c.file_name());
    for child in children {
        let name = child.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let meta = child.metadata().map_err(io)?;
        if meta.file_type().is_symlink() {
            continue;
        }
        out.push(Entry {
            path: path.clone(),
            is_dir: meta.is_dir(),
            size: meta.len(),
            modified: meta.modified().ok(),
        });
        if meta.is_dir() {
            walk(&child.path(), &path, out)?;
        }
    }
    Ok(())
}

impl DirFs {
    /// The listed file at `path`, when it is one and at most `limit` bytes.
    fn file_entry(&self, path: &str, limit: u64) -> Result<Entry, FsError> {
        let entry = self.stat(path).ok_or_else(|| FsError::NotFound {
            path: path.to_string(),
        })?;
        if entry.is_dir {
            return Err(FsError::IsDir {
                path: path.to_string(),
            });
        }
        if entry.size > limit {
            return Err(FsError::TooLarge {
                path: path.to_string(),
                size: entry.size,
                limit,
            });
        }
        Ok(entry)
    }
}

impl PackageFs for DirFs {
    fn entries(&self) -> &[Entry] {
        &self.entries
    }

    fn read_limited(&self, path: &str, limit: u64) -> Result<Vec<u8>, FsError> {
        let entry = self.file_entry(path, limit)?;
        let io = |source| FsError::io(path, source);
        let file = File::open(self.root.join(&entry.path)).map_err(io)?;
        // The file may have grown since the package was listed: one byte past the
        // limit tells.
        let mut data = Vec::with_capacity(entry.size as usize);
        file.take(limit + 1).read_to_end(&mut data).map_err(io)?;
        if data.len() as u64 > limit {
            return Err(FsError::TooLarge {
                path: path.to_string(),
                size: data.len() as u64,
                limit,
            });
        }
        Ok(data)
    }

    fn read_pieces(
        &self,
        path: &str,
        limit: u64,
        start: u64,
        sink: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), FsError> {
        let entry = self.file_entry(path, limit)?;
        let io = |source| FsError::io(path, source);
        let mut file = File::open(self.root.join(&entry.path)).map_err(io)?;
        // Seek rather than skip: a range near the end reads only the end.
        let start = start.min(limit + 1);
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(start)).map_err(io)?;
        let read = copy_pieces(file, limit - start.min(limit), 0, sink).map_err(io)?;
        if start + read > limit {
            return Err(FsError::TooLarge {
                path: path.to_string(),
                size: start + read,
                limit,
            });
        }
        Ok(())
    }
}

/// The files of a package that has none here: a Package Storage package, whose
/// files the server fetches from the bucket instead.
#[derive(Debug, Default, Clone, Copy)]
pub struct EmptyFs;

impl PackageFs for EmptyFs {
    fn entries(&self) -> &[Entry] {
        &[]
    }

    fn read_limited(&self, path: &str, _limit: u64) -> Result<Vec<u8>, FsError> {
        Err(FsError::NotFound {
            path: path.to_string(),
        })
    }
}

/// A package inside a zip: the root is the folder of the first `<dir>/manifest.yml`.
#[derive(Debug)]
pub struct ZipFs {
    zip_path: PathBuf,
    /// The root folder inside the archive, with its trailing `/`.
    root: String,
    /// The distinct first path components in the archive, sorted.
    top_level: Vec<String>,
    /// What the archive declares it expands to.
    expansion: Expansion,
    entries: Vec<Entry>,
    /// For each entry, its index in the archive (`None` for folders).
    indexes: Vec<Option<usize>>,
    /// The parsed central directory over a file that is not open: each read works
    /// on a clone, which opens the file and closes it when done.
    archive: zip::ZipArchive<OnDemandFile>,
    identity: FileIdentity,
}

/// The file of a zip package, opened only while one of its entries is read, so
/// that a loaded zip holds no descriptor and any number of zips can be served
/// under the usual limit of 1024. A clone is a closed handle to the same file.
#[derive(Debug)]
struct OnDemandFile {
    path: Arc<Path>,
    /// Length and modification time when the package was loaded: a file replaced
    /// since no longer matches the central directory read then.
    identity: FileIdentity,
    file: Option<File>,
}

impl OnDemandFile {
    fn open(path: &Path) -> std::io::Result<OnDemandFile> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        Ok(OnDemandFile {
            path: path.into(),
            identity: (meta.len(), meta.modified().ok()),
            file: Some(file),
        })
    }

    fn file(&mut self) -> std::io::Result<&mut File> {
        if self.file.is_none() {
            let file = File::open(&self.path)?;
            let meta = file.metadata()?;
            if (meta.len(), meta.modified().ok()) != self.identity {
                return Err(std::io::Error::other(
                    "the zip changed on disk since the package was loaded; reload the packages",
                ));
            }
            self.file = Some(file);
        }
        Ok(self.file.as_mut().expect("opened above"))
    }
}

impl Clone for OnDemandFile {
    fn clone(&self) -> Self {
        OnDemandFile {
            path: self.path.clone(),
            identity: self.identity,
            file: None,
        }
    }
}

// The archive always seeks before it reads, so a freshly opened file needs no
// position restored.
impl Read for OnDemandFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.file()?.read(buf)
    }
}

impl std::io::Seek for OnDemandFile {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.file()?.seek(pos)
    }
}

impl ZipFs {
    /// Opens `zip_path`. `Ok(None)` when the archive has no `<dir>/manifest.yml`.
    pub fn open(zip_path: &Path) -> Result<Option<ZipFs>, FsError> {
        let display = zip_path.display().to_string();
        let zip_err = |e: zip::result::ZipError| FsError::Zip {
            path: display.clone(),
            message: e.to_string(),
        };
        let file = OnDemandFile::open(zip_path).map_err(|e| FsError::io(display.clone(), e))?;
        let identity = file.identity;
        let mut archive = zip::ZipArchive::new(file).map_err(zip_err)?;
        if archive.len() > MAX_ZIP_ENTRIES {
            return Err(FsError::UnsafeZip {
                path: display,
                message: format!(
                    "{} entries, more than the {MAX_ZIP_ENTRIES} allowed",
                    archive.len()
                ),
            });
        }
        let mut names = Vec::with_capacity(archive.len());
        for i in 0..archive.len() {
            names.push(archive.by_index_raw(i).map_err(zip_err)?.name().to_string());
        }
        for name in &names {
            if name.starts_with('/') || name.contains('\\') || name.split('/').any(|c| c == "..") {
                return Err(FsError::UnsafeZip {
                    path: display,
                    message: format!("entry `{name}` escapes the package root"),
                });
            }
        }
        let Some(root) = names.iter().find_map(|n| {
            let (dir, file) = n.split_once('/')?;
            (file == "manifest.yml" && !dir.is_empty()).then(|| format!("{dir}/"))
        }) else {
            return Ok(None);
        };
        let mut top_level: Vec<String> = names
            .iter()
            .filter_map(|n| n.split('/').next())
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect();
        top_level.sort();
        top_level.dedup();
        let mut entries = Vec::new();
        let mut indexes = Vec::new();
        let mut expansion = Expansion::default();
        for i in 0..archive.len() {
            let file = archive.by_index_raw(i).map_err(zip_err)?;
            expansion.add(file.size(), file.compressed_size(), file.name());
            let Some(rel) = file.name().strip_prefix(root.as_str()) else {
                continue;
            };
            let is_dir = file.is_dir();
            let rel = rel.trim_end_matches('/').to_string();
            if rel.is_empty() {
                continue;
            }
            entries.push(Entry {
                path: rel,
                is_dir,
                size: file.size(),
                modified: file.last_modified().and_then(dos_time),
            });
            indexes.push((!is_dir).then_some(i));
        }
        Ok(Some(ZipFs {
            zip_path: zip_path.to_path_buf(),
            root,
            top_level,
            expansion,
            entries,
            indexes,
            // The clone holds the central directory and no open file; this one
            // closes its file as it goes.
            archive: archive.clone(),
            identity,
        }))
    }

    pub fn zip_path(&self) -> &Path {
        &self.zip_path
    }

    /// What the archive's headers declare about its expanded size, to refuse zip bombs
    /// before reading anything.
    pub fn expansion(&self) -> &Expansion {
        &self.expansion
    }

    /// The distinct first path components of the archive's entries (a built package
    /// has exactly one: its `{name}-{version}` folder).
    pub fn top_level_names(&self) -> &[String] {
        &self.top_level
    }

    /// The root folder name inside the archive, without the trailing `/`.
    pub fn root_dir(&self) -> &str {
        self.root.trim_end_matches('/')
    }

    /// The length and modification time of the zip when it was opened.
    pub fn identity(&self) -> FileIdentity {
        self.identity
    }
}

/// The sizes a package declares: a zip's headers, a folder's listing. Reads never
/// go past an entry's declared size (see `ZipFs::read`), so these bound the memory
/// and time a package can cost, and [`Expansion::refusal`] is checked before any
/// file is read.
#[derive(Debug, Clone, Default)]
pub struct Expansion {
    /// The sum of the declared uncompressed sizes.
    pub total: u64,
    /// The entry with the highest uncompressed/compressed ratio, with that ratio
    /// (zips only).
    pub worst: Option<(String, u64)>,
    /// The largest file, with its size.
    pub largest: Option<(String, u64)>,
}

impl Expansion {
    fn add(&mut self, size: u64, compressed: u64, name: &str) {
        self.add_file(size, name);
        let ratio = size / compressed.max(1);
        if self.worst.as_ref().is_none_or(|(_, r)| ratio > *r) {
            self.worst = Some((name.to_string(), ratio));
        }
    }

    fn add_file(&mut self, size: u64, name: &str) {
        self.total = self.total.saturating_add(size);
        if self.largest.as_ref().is_none_or(|(_, s)| size > *s) {
            self.largest = Some((name.to_string(), size));
        }
    }

    /// The sizes of a folder package's files.
    pub fn of_entries(entries: &[Entry]) -> Expansion {
        let mut expansion = Expansion::default();
        for e in entries.iter().filter(|e| !e.is_dir) {
            expansion.add_file(e.size, &e.path);
        }
        expansion
    }

    /// Why a package this large is refused, if it is: more than a package may hold
    /// in all or in one file, or a compression ratio that deflate cannot produce.
    pub fn refusal(&self) -> Option<String> {
        if self.total > MAX_PACKAGE_SIZE {
            return Some(format!(
                "the package expands to {} bytes, more than the {MAX_PACKAGE_SIZE} bytes a package may hold (zip bomb?)",
                self.total
            ));
        }
        if let Some((name, size)) = &self.largest
            && *size > MAX_FILE_SIZE
        {
            return Some(format!(
                "{name} is {size} bytes, more than the {MAX_FILE_SIZE} bytes a package file may hold"
            ));
        }
        match &self.worst {
            Some((name, ratio)) if *ratio > MAX_COMPRESSION_RATIO => Some(format!(
                "zip entry {name} declares a compression ratio of {ratio}:1, more than deflate can produce (zip bomb?)"
            )),
            _ => None,
        }
    }
}

/// MS-DOS time fields as UTC, as Go's archive/zip reads them without an extended timestamp.
fn dos_time(dt: zip::DateTime) -> Option<SystemTime> {
    let (y, m, d) = (
        i64::from(dt.year()),
        i64::from(dt.month()),
        i64::from(dt.day()),
    );
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400
        + i64::from(dt.hour()) * 3600
        + i64::from(dt.minute()) * 60
        + i64::from(dt.second());
    u64::try_from(secs)
        .ok()
        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

impl ZipFs {
    /// Runs `read` on the entry at `path` (its declared size at most `limit`),
    /// inflating as it is read, with the entry's declared size.
    fn with_entry<T>(
        &self,
        path: &str,
        limit: u64,
        read: impl FnOnce(&mut dyn Read, u64) -> std::io::Result<T>,
    ) -> Result<T, FsError> {
        let path = path.trim_start_matches('/');
        let pos = self.entries.iter().position(|e| e.path == path);
        let Some(pos) = pos else {
            return Err(match self.stat(path) {
                Some(_) => FsError::IsDir {
                    path: path.to_string(),
                },
                None => FsError::NotFound {
                    path: path.to_string(),
                },
            });
        };
        let Some(index) = self.indexes[pos] else {
            return Err(FsError::IsDir {
                path: path.to_string(),
            });
        };
        let size = self.entries[pos].size;
        if size > limit {
            return Err(FsError::TooLarge {
                path: path.to_string(),
                size,
                limit,
            });
        }
        let located = format!("{}: {path}", self.zip_path.display());
        let mut archive = self.archive.clone();
        let mut file = archive.by_index(index).map_err(|e| match e {
            zip::result::ZipError::Io(source) => FsError::io(located.clone(), source),
            other => FsError::Zip {
                path: located.clone(),
                message: other.to_string(),
            },
        })?;
        read(&mut file, size).map_err(|source| FsError::io(located, source))
    }

    fn size_mismatch(&self, path: &str) -> FsError {
        FsError::Zip {
            path: self.zip_path.display().to_string(),
            message: format!("entry `{path}` does not match its declared size"),
        }
    }
}

impl PackageFs for ZipFs {
    fn entries(&self) -> &[Entry] {
        &self.entries
    }

    fn zip_identity(&self) -> Option<FileIdentity> {
        Some(self.identity())
    }

    /// The SHA-256 of the entry's compressed bytes, with its method, size and
    /// CRC-32: equal compressed bytes inflate to equal contents, so copies of a
    /// file packed alike (the versions of a package) are known as copies without
    /// inflating them, at a fifth of the bytes to hash.
    fn content_key(&self, path: &str) -> Option<[u8; 32]> {
        let pos = self.entries.iter().position(|e| e.path == path)?;
        let index = self.indexes[pos]?;
        if self.entries[pos].size > read_limit(path) {
            return None;
        }
        let mut archive = self.archive.clone();
        let mut raw = archive.by_index_raw(index).ok()?;
        let method = format!("{:?}", raw.compression());
        let mut hasher = Sha256::new()
            .chain_update(method.as_bytes())
            .chain_update(raw.size().to_le_bytes())
            .chain_update(raw.crc32().to_le_bytes());
        let compressed = raw.compressed_size();
        let copied = std::io::copy(&mut (&mut raw).take(compressed), &mut hasher).ok()?;
        (copied == compressed).then(|| hasher.finalize().into())
    }

    fn read_limited(&self, path: &str, limit: u64) -> Result<Vec<u8>, FsError> {
        let (data, size) = self.with_entry(path, limit, |file, size| {
            // The declared size bounds what we accept: a lying header cannot
            // inflate past it.
            let mut data = Vec::with_capacity(size as usize);
            file.take(size + 1).read_to_end(&mut data)?;
            Ok((data, size))
        })?;
        if data.len() as u64 != size {
            return Err(self.size_mismatch(path));
        }
        Ok(data)
    }

    fn read_pieces(
        &self,
        path: &str,
        limit: u64,
        start: u64,
        sink: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), FsError> {
        let mut finished = true;
        let mut counted = |piece: &[u8]| {
            finished = sink(piece);
            finished
        };
        let (read, size) = self.with_entry(path, limit, |file, size| {
            Ok((copy_pieces(file, size, start, &mut counted)?, size))
        })?;
        // A stopped read says nothing of the size; a whole one must match it.
        if finished && read != size {
            return Err(self.size_mismatch(path));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use epr_testkit::PackageBuilder;

    /// The zip of package p-1.0.0 with this README, at `path`.
    fn write_zip(path: &Path, readme: &str) {
        let package = PackageBuilder::new("p", "1.0.0")
            .manifest("name: p\n")
            .file("docs/README.md", readme);
        std::fs::write(path, package.zip_bytes()).unwrap();
    }

    #[test]
    fn zip_copies_share_a_content_key_and_folders_have_none() {
        let dir = tempfile::tempdir().unwrap();
        let zip = |name: &str, readme: &str| {
            let path = dir.path().join(name);
            write_zip(&path, readme);
            ZipFs::open(&path).unwrap().unwrap()
        };
        let (a, b, c) = (
            zip("a.zip", "# same\n"),
            zip("b.zip", "# same\n"),
            zip("c.zip", "# else\n"),
        );
        let key = |fs: &ZipFs| fs.content_key("docs/README.md").unwrap();
        assert_eq!(key(&a), key(&b));
        assert_ne!(key(&a), key(&c));
        assert_ne!(key(&a), a.content_key("manifest.yml").unwrap());
        assert_eq!(a.content_key("docs/missing.md"), None);
        assert_eq!(a.content_key("docs"), None);
        let folder = DirFs::open(dir.path()).unwrap();
        assert_eq!(folder.content_key("a.zip"), None);
    }

    #[test]
    fn a_zip_is_read_on_demand_and_a_replaced_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p-1.0.0.zip");
        write_zip(&path, "# one\n");
        let fs = ZipFs::open(&path).unwrap().unwrap();
        assert_eq!(fs.read("docs/README.md").unwrap(), b"# one\n");
        // Replaced by another archive: its central directory is not the one loaded.
        std::fs::remove_file(&path).unwrap();
        write_zip(&path, "# a longer readme\n");
        let error = fs.read("docs/README.md").unwrap_err().to_string();
        assert!(error.contains("changed on disk"), "{error}");
    }

    /// Every piece from `start` on, and the pieces when `sink` stops after two.
    fn pieces(fs: &dyn PackageFs, path: &str, start: u64) -> (Vec<u8>, usize) {
        let mut all = Vec::new();
        fs.read_pieces(path, MAX_FILE_SIZE, start, &mut |p| {
            all.extend_from_slice(p);
            true
        })
        .unwrap();
        let mut calls = 0;
        fs.read_pieces(path, MAX_FILE_SIZE, start, &mut |_| {
            calls += 1;
            calls < 2
        })
        .unwrap();
        (all, calls)
    }

    #[test]
    fn large_files_are_read_piece_by_piece_from_any_offset() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let package = PackageBuilder::new("p", "1.0.0")
            .manifest("name: p\n")
            .file("docs/big.bin", &data);
        let root = dir.path().join("p-1.0.0");
        package.write_into(&root);
        let zip_path = package.write_zip(dir.path());
        let folder = DirFs::open(&root).unwrap();
        let zipped = ZipFs::open(&zip_path).unwrap().unwrap();
        for fs in [&folder as &dyn PackageFs, &zipped] {
            for start in [0u64, 1, 70_000, 299_999, 300_000, 400_000] {
                let (all, calls) = pieces(fs, "docs/big.bin", start);
                let from = (start as usize).min(data.len());
                assert_eq!(all, data[from..], "{fs:?} from {start}");
                if data.len() - from > 2 * PIECE_SIZE {
                    assert_eq!(calls, 2, "the sink stops the read");
                }
            }
            let error = fs
                .read_pieces("docs/big.bin", 1000, 0, &mut |_| true)
                .unwrap_err();
            assert!(matches!(error, FsError::TooLarge { .. }), "{error}");
        }
    }

    #[test]
    fn a_descriptor_shortage_says_so() {
        let emfile = std::io::Error::from_raw_os_error(24);
        let e = FsError::io("a.zip", emfile);
        assert!(e.is_descriptor_shortage());
        assert!(e.to_string().contains("no file descriptor left"), "{e}");
        let other = FsError::io("a.zip", std::io::Error::from_raw_os_error(2));
        assert!(!other.is_descriptor_shortage());
    }
}
