//! The response cache of the JSON endpoints: each body once per catalog and
//! query, with its ETag, and each compressed form computed at most once. It also
//! keeps files that would otherwise be rebuilt per request: the files inside zip
//! packages (inflated once) and the zips of packages (read or zipped once), up
//! to [`ResponseCache::file_limit`] bytes each.
//!
//! - **Key**: the endpoint and what its body depends on (the parsed query of
//!   `/search` and `/categories`, the name and version of `/package/{n}/{v}/`),
//!   under the catalog snapshot the body was computed from. The cache serves one
//!   catalog at a time: [`ResponseCache::reset`] (called by every catalog swap)
//!   empties it and names the new catalog. A request still running on an older
//!   catalog computes its body without touching the cache. The catalog is held
//!   as a `Weak`, which keeps its address from being reused without keeping the
//!   catalog's contents alive.
//! - **Entry**: the identity body, a strong ETag (the first 128 bits of the
//!   body's SHA-256, in hex) and one `OnceLock` per coding, filled by the first
//!   request that asks for that coding.
//! - **Bound**: entries are charged their bytes (identity, the compressed forms
//!   as they are made, the key and a fixed overhead); when the total passes the
//!   budget ([`crate::ServerConfig::response_cache_bytes`], 64 MiB by default),
//!   the oldest entries are dropped first. A body larger than the whole budget
//!   is served without being kept. Errors are never cached.
//! - **Lifetime**: an entry lives as long as its catalog, except the bodies of
//!   proxy mode ([`ResponseCache::insert_for`]): they hold the upstream's answer
//!   too, which changes without our catalog changing, so they expire after a
//!   few seconds (`crate::proxy`, `ProxyConfig::cache_ttl`).
//!
//! - **Aliases**: a raw query string seen before answers without being parsed:
//!   it is an alias of the entry of its parsed form. So queries that differ only
//!   in parameter order or in unknown parameters (a cache-busting client) share
//!   one body and its compressed forms.
//!
//! Computing a body runs outside the lock: two first requests for the same key
//! may both compute it, but only the first result is kept and served after.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use bytes::Bytes;
use epr_index::Catalog;
use http::HeaderValue;
use sha2::{Digest, Sha256};
// Tokio's clock, so that tests can move time forward instead of sleeping.
use tokio::time::Instant;

use crate::encoding::{Encoding, MIN_COMPRESS_LEN};

/// What a cached body depends on, besides the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CacheKey {
    /// `/` and `/index.json`.
    Index,
    /// `/search` with its raw query string: an alias of a [`CacheKey::SearchFilter`].
    Search(String),
    /// `/categories` with its raw query string: an alias of a
    /// [`CacheKey::CategoriesFilter`].
    Categories(String),
    /// `/search` with its query as parsed: every query that parses to the same
    /// filter has the same answer, whatever the order of its parameters or the
    /// unknown ones it carries.
    SearchFilter(String),
    /// `/categories` likewise.
    CategoriesFilter(String),
    /// `/package/{name}/{version}/`.
    Package { name: String, version: String },
    /// A file inside a zip package (inflated once, not per request).
    File {
        name: String,
        version: String,
        path: String,
    },
    /// The zip of a package as `/epr/` downloads it: a zip package's file, or
    /// the zip made of a folder package.
    Zip { name: String, version: String },
}

impl CacheKey {
    fn text_len(&self) -> usize {
        match self {
            CacheKey::Index => 0,
            CacheKey::Search(q)
            | CacheKey::Categories(q)
            | CacheKey::SearchFilter(q)
            | CacheKey::CategoriesFilter(q) => q.len(),
            CacheKey::Package { name, version } | CacheKey::Zip { name, version } => {
                name.len() + version.len()
            }
            CacheKey::File {
                name,
                version,
                path,
            } => name.len() + version.len() + path.len(),
        }
    }
}

/// The map slot, a key copy in the eviction queue, the ETags and the locks of an
/// entry, roughly; charged so that many tiny bodies are bounded too.
const ENTRY_OVERHEAD: usize = 512;

/// The codings and qualities a body has an ETag for (identity has one quality).
const ETAG_FORMS: [(Encoding, bool); 5] = [
    (Encoding::Identity, true),
    (Encoding::Gzip, true),
    (Encoding::Gzip, false),
    (Encoding::Brotli, true),
    (Encoding::Brotli, false),
];

/// A JSON body with its ETag and its compressed forms, computed once each.
#[derive(Debug)]
pub struct CachedBody {
    key: CacheKey,
    identity: Bytes,
    /// The ETag of each coding and quality ([`ETAG_FORMS`]): the hex of the first
    /// 16 bytes of the body's SHA-256 and a suffix, computed when first asked for
    /// (files are served without an ETag, so theirs never are), kept as header
    /// values ready to send.
    etags: OnceLock<[HeaderValue; 5]>,
    gzip: Mutex<Option<Coded>>,
    brotli: Mutex<Option<Coded>>,
    /// A package file's modification time, kept with it ([`ResponseCache::keep_file_at`]).
    modified: OnceLock<std::time::SystemTime>,
    /// Requests answered with this body so far.
    served: AtomicU64,
}

/// A compressed form of a body: its bytes (`None` when compressing did not shrink
/// the body), at the best quality or the quick one of a first compression.
#[derive(Debug, Clone)]
struct Coded {
    bytes: Option<Bytes>,
    best: bool,
}

impl CachedBody {
    fn new(key: CacheKey, identity: Bytes) -> CachedBody {
        CachedBody {
            key,
            identity,
            etags: OnceLock::new(),
            gzip: Mutex::new(None),
            brotli: Mutex::new(None),
            modified: OnceLock::new(),
            served: AtomicU64::new(0),
        }
    }

    /// Counts one more request answered with this body, and says whether its
    /// compressed forms should now be the best: from its second request on. A
    /// body asked for once gets the quick compression, so a client asking for
    /// new answers only (a cache-busting one) costs less per request.
    pub fn note_served(&self) -> bool {
        self.served.fetch_add(1, Ordering::Relaxed) >= 1
    }

    /// The body as it is, the bytes the upstream sends.
    pub fn identity(&self) -> &Bytes {
        &self.identity
    }

    /// The quoted strong ETag of the body in `encoding`, at the best quality or
    /// the quick one.
    pub fn etag(&self, encoding: Encoding, best: bool) -> &HeaderValue {
        let etags = self.etags.get_or_init(|| {
            let digest = Sha256::digest(&self.identity);
            let hash: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
            ETAG_FORMS.map(|(encoding, best)| {
                let tag = format!("\"{hash}{}\"", encoding.etag_suffix(best));
                HeaderValue::from_str(&tag).expect("a quoted hex hash is a valid header value")
            })
        });
        let form = ETAG_FORMS
            .iter()
            .position(|&(e, b)| e == encoding && (b == best || e == Encoding::Identity))
            .expect("every coding and quality has a form");
        &etags[form]
    }

    /// Whether the body in `encoding` is made at the quality asked for, or
    /// needs no making.
    pub fn is_encoded(&self, encoding: Encoding, best: bool) -> bool {
        self.slot(encoding)
            .is_none_or(|slot| lock(slot).as_ref().is_some_and(|c| c.best || !best))
    }

    /// Size charged to the cache before any compressed form exists.
    fn base_charge(&self) -> usize {
        self.identity.len() + 2 * self.key.text_len() + ENTRY_OVERHEAD
    }

    fn slot(&self, encoding: Encoding) -> Option<&Mutex<Option<Coded>>> {
        match encoding {
            Encoding::Identity => None,
            Encoding::Gzip => Some(&self.gzip),
            Encoding::Brotli => Some(&self.brotli),
        }
    }
}

/// A mutex that a panic elsewhere does not make unusable: what it guards is
/// always whole (one `Option` replaced at a time).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Counters of the cache's work, for tests and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Bodies computed by the endpoints (cached or not).
    pub bodies_built: u64,
    /// Compressions run.
    pub compressions: u64,
    /// Entries and bytes currently held.
    pub entries: usize,
    pub bytes: usize,
}

struct Slot {
    body: Held,
    charged: usize,
    /// When the entry stops being served; `None` lives as long as the catalog.
    expires: Option<Instant>,
}

/// An entry's body: its own, or that of another entry. An alias does not keep
/// the body alive: once the entry that owns it is dropped, the alias misses, so
/// the bytes held stay within the budget however many aliases point at them.
enum Held {
    Owned(Arc<CachedBody>),
    Alias(Weak<CachedBody>),
}

impl Slot {
    fn is_fresh(&self) -> bool {
        self.expires.is_none_or(|t| Instant::now() < t)
    }

    fn body(&self) -> Option<Arc<CachedBody>> {
        match &self.body {
            Held::Owned(body) => Some(body.clone()),
            Held::Alias(body) => body.upgrade(),
        }
    }

    fn owns(&self, body: &Arc<CachedBody>) -> bool {
        matches!(&self.body, Held::Owned(own) if Arc::ptr_eq(own, body))
    }
}

#[derive(Default)]
struct Inner {
    /// The catalog the entries were computed from.
    catalog: Weak<Catalog>,
    entries: HashMap<CacheKey, Slot>,
    /// Insertion order, oldest first: the eviction order.
    order: VecDeque<CacheKey>,
    bytes: usize,
}

impl Inner {
    fn serves(&self, catalog: &Arc<Catalog>) -> bool {
        std::ptr::eq(self.catalog.as_ptr(), Arc::as_ptr(catalog))
    }

    /// Drops the oldest entries until the total fits in `budget`.
    fn evict_to(&mut self, budget: usize) {
        while self.bytes > budget {
            let Some(key) = self.order.pop_front() else {
                break;
            };
            if let Some(slot) = self.entries.remove(&key) {
                self.bytes -= slot.charged;
            }
        }
    }
}

/// See the module documentation.
pub struct ResponseCache {
    budget: usize,
    inner: Mutex<Inner>,
    bodies_built: AtomicU64,
    compressions: AtomicU64,
}

impl ResponseCache {
    /// An empty cache holding at most `budget` bytes, serving `catalog`.
    pub fn new(budget: usize, catalog: &Arc<Catalog>) -> ResponseCache {
        let cache = ResponseCache {
            budget,
            inner: Mutex::new(Inner::default()),
            bodies_built: AtomicU64::new(0),
            compressions: AtomicU64::new(0),
        };
        cache.reset(catalog);
        cache
    }

    /// The largest file ([`CacheKey::File`], [`CacheKey::Zip`]) worth keeping: a
    /// quarter of the budget (16 MiB by default, more than any of the 185 real
    /// packages' zips), so that no single artifact can take the JSON bodies' room.
    pub fn file_limit(&self) -> usize {
        self.budget / 4
    }

    /// The bytes of a kept file, if `catalog` is the current one and has them.
    pub fn file(&self, catalog: &Arc<Catalog>, key: &CacheKey) -> Option<Bytes> {
        self.get(catalog, key).map(|hit| hit.identity().clone())
    }

    /// Keeps `data`, a file made from `catalog`, under `key` if it is within
    /// [`Self::file_limit`]; gives it back either way.
    pub fn keep_file(&self, catalog: &Arc<Catalog>, key: CacheKey, data: Bytes) -> Bytes {
        if data.len() <= self.file_limit() {
            self.insert(catalog, key, data.clone());
        }
        data
    }

    /// [`Self::file`] with the modification time it was kept with, if any.
    pub fn file_at(
        &self,
        catalog: &Arc<Catalog>,
        key: &CacheKey,
    ) -> Option<(Bytes, Option<std::time::SystemTime>)> {
        self.get(catalog, key)
            .map(|hit| (hit.identity().clone(), hit.modified.get().copied()))
    }

    /// [`Self::keep_file`] of a file modified at `modified`, which [`Self::file_at`]
    /// gives back: a hit then needs nothing from the package's files.
    pub fn keep_file_at(
        &self,
        catalog: &Arc<Catalog>,
        key: CacheKey,
        data: Bytes,
        modified: Option<std::time::SystemTime>,
    ) -> Bytes {
        if data.len() <= self.file_limit() {
            let kept = self.insert(catalog, key, data.clone());
            if let Some(modified) = modified {
                // Another request may have kept the same file first: same time.
                let _ = kept.modified.set(modified);
            }
        }
        data
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every change under the lock leaves the map consistent before it can panic.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets every entry; from now on bodies computed from `catalog` are kept.
    pub fn reset(&self, catalog: &Arc<Catalog>) {
        let mut inner = self.lock();
        *inner = Inner {
            catalog: Arc::downgrade(catalog),
            ..Inner::default()
        };
    }

    /// The entry of `key` if it was computed from `catalog`.
    pub fn get(&self, catalog: &Arc<Catalog>, key: &CacheKey) -> Option<Arc<CachedBody>> {
        let inner = self.lock();
        if !inner.serves(catalog) {
            return None;
        }
        inner
            .entries
            .get(key)
            .filter(|slot| slot.is_fresh())
            .and_then(Slot::body)
    }

    /// Makes `alias` answer with `body`, an entry computed from `catalog` (see
    /// `Held::Alias`); charged its key and overhead only.
    pub fn alias(&self, catalog: &Arc<Catalog>, alias: CacheKey, body: &Arc<CachedBody>) {
        let charge = 2 * alias.text_len() + ENTRY_OVERHEAD;
        let mut inner = self.lock();
        if !inner.serves(catalog) || inner.entries.contains_key(&alias) {
            return;
        }
        inner.bytes += charge;
        inner.order.push_back(alias.clone());
        inner.entries.insert(
            alias,
            Slot {
                body: Held::Alias(Arc::downgrade(body)),
                charged: charge,
                expires: None,
            },
        );
        inner.evict_to(self.budget);
    }

    /// Stores `body`, computed from `catalog`, under `key`, unless an entry is
    /// already there (that one is returned) or `catalog` is no longer the
    /// current one (the body is returned without being kept).
    pub fn insert(&self, catalog: &Arc<Catalog>, key: CacheKey, body: Bytes) -> Arc<CachedBody> {
        self.insert_until(catalog, key, body, None)
    }

    /// As [`Self::insert`], for a body that may be served for `ttl` only; with a
    /// zero `ttl` it is not kept at all.
    pub fn insert_for(
        &self,
        catalog: &Arc<Catalog>,
        key: CacheKey,
        body: Bytes,
        ttl: std::time::Duration,
    ) -> Arc<CachedBody> {
        if ttl.is_zero() {
            return Arc::new(CachedBody::new(key, body));
        }
        self.insert_until(catalog, key, body, Some(Instant::now() + ttl))
    }

    fn insert_until(
        &self,
        catalog: &Arc<Catalog>,
        key: CacheKey,
        body: Bytes,
        expires: Option<Instant>,
    ) -> Arc<CachedBody> {
        let body = Arc::new(CachedBody::new(key.clone(), body));
        let charge = body.base_charge();
        let mut inner = self.lock();
        if !inner.serves(catalog) || charge > self.budget {
            return body;
        }
        match inner.entries.get(&key) {
            Some(existing) if existing.is_fresh() && existing.body().is_some() => {
                return existing.body().expect("checked just above");
            }
            Some(_) => {
                // Expired: replaced below. Its key stays in `order`, where it may
                // evict the new entry early, never wrongly charge it.
                if let Some(old) = inner.entries.remove(&key) {
                    inner.bytes -= old.charged;
                }
            }
            None => {}
        }
        inner.bytes += charge;
        inner.order.push_back(key.clone());
        inner.entries.insert(
            key,
            Slot {
                body: Held::Owned(body.clone()),
                charged: charge,
                expires,
            },
        );
        inner.evict_to(self.budget);
        body
    }

    /// The cached entry of `key`, or the one `build` computes, now kept. This is
    /// how handlers use the cache: `build` is what the handler did before.
    pub fn get_or_insert_with<E>(
        &self,
        catalog: &Arc<Catalog>,
        key: CacheKey,
        build: impl FnOnce() -> Result<Bytes, E>,
    ) -> Result<Arc<CachedBody>, E> {
        if let Some(hit) = self.get(catalog, &key) {
            return Ok(hit);
        }
        let body = build()?;
        self.bodies_built.fetch_add(1, Ordering::Relaxed);
        Ok(self.insert(catalog, key, body))
    }

    /// The body in `wanted`, compressed on first use, at the best quality when
    /// `best` (else a quick one, unless the best is already made); and whether
    /// that is the best. Falls back to identity (and says so) for short bodies
    /// and when compression would not shrink it.
    pub fn encoded(
        &self,
        body: &Arc<CachedBody>,
        wanted: Encoding,
        best: bool,
    ) -> (Encoding, Bytes, bool) {
        let identity = || (Encoding::Identity, body.identity.clone(), true);
        let Some(slot) = body.slot(wanted) else {
            return identity();
        };
        if body.identity.len() < MIN_COMPRESS_LEN {
            return identity();
        }
        let made = lock(slot).clone().filter(|c| c.best || !best);
        let coded = match made {
            Some(coded) => coded,
            // Compressed outside the lock; should two requests race, the second
            // one stored is kept and both are charged for what they replaced.
            None => {
                let bytes = wanted.compress(&body.identity, best);
                self.compressions.fetch_add(1, Ordering::Relaxed);
                let coded = Coded {
                    bytes: (bytes.len() < body.identity.len()).then_some(bytes),
                    best,
                };
                let size = |c: &Option<Coded>| {
                    c.as_ref()
                        .and_then(|c| c.bytes.as_ref())
                        .map_or(0, Bytes::len)
                };
                let replaced = lock(slot).replace(coded.clone());
                self.recharge(body, size(&replaced), size(&Some(coded.clone())));
                coded
            }
        };
        match coded.bytes {
            Some(bytes) => (wanted, bytes, coded.best),
            None => identity(),
        }
    }

    /// Charges `body`, if it is still held, `added` bytes instead of `removed`.
    fn recharge(&self, body: &Arc<CachedBody>, removed: usize, added: usize) {
        let mut inner = self.lock();
        let Some(slot) = inner.entries.get_mut(&body.key) else {
            return;
        };
        if !slot.owns(body) {
            return;
        }
        slot.charged = slot.charged + added - removed.min(slot.charged);
        inner.bytes = inner.bytes + added - removed.min(inner.bytes);
        inner.evict_to(self.budget);
    }

    pub fn stats(&self) -> CacheStats {
        let inner = self.lock();
        CacheStats {
            bodies_built: self.bodies_built.load(Ordering::Relaxed),
            compressions: self.compressions.load(Ordering::Relaxed),
            entries: inner.entries.len(),
            bytes: inner.bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ETag as text.
    fn etag_text(body: &CachedBody, encoding: Encoding, best: bool) -> String {
        body.etag(encoding, best).to_str().unwrap().to_string()
    }

    fn catalog() -> Arc<Catalog> {
        Arc::new(Catalog::new(Vec::new()))
    }

    fn json(len: usize) -> Bytes {
        let mut s = String::from("[");
        while s.len() < len {
            s.push_str("{\"name\": \"a\"},");
        }
        s.push(']');
        Bytes::from(s)
    }

    #[test]
    fn a_body_is_built_once_per_key() {
        let c = catalog();
        let cache = ResponseCache::new(1 << 20, &c);
        let key = CacheKey::Search("all=true".into());
        let first = cache
            .get_or_insert_with(&c, key.clone(), || Ok::<_, ()>(json(10)))
            .unwrap();
        let again = cache
            .get_or_insert_with(&c, key, || -> Result<Bytes, ()> { panic!("cached") })
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(cache.stats().bodies_built, 1);
    }

    #[test]
    fn errors_are_not_kept() {
        let c = catalog();
        let cache = ResponseCache::new(1 << 20, &c);
        let key = CacheKey::Categories("x=1".into());
        assert!(
            cache
                .get_or_insert_with(&c, key.clone(), || Err(()))
                .is_err()
        );
        assert!(cache.get(&c, &key).is_none());
        assert_eq!(cache.stats().entries, 0);
    }

    #[test]
    fn each_coding_is_compressed_once_and_shares_the_bytes() {
        let c = catalog();
        let cache = ResponseCache::new(1 << 20, &c);
        let body = cache.insert(&c, CacheKey::Index, json(4096));
        let (e1, gz1, _) = cache.encoded(&body, Encoding::Gzip, true);
        let (e2, gz2, _) = cache.encoded(&body, Encoding::Gzip, true);
        assert_eq!((e1, e2), (Encoding::Gzip, Encoding::Gzip));
        assert_eq!(
            gz1.as_ptr(),
            gz2.as_ptr(),
            "the same allocation, not a copy"
        );
        cache.encoded(&body, Encoding::Brotli, true);
        cache.encoded(&body, Encoding::Brotli, true);
        assert_eq!(cache.stats().compressions, 2);
        // Identity and both codings are charged.
        let charged = cache.stats().bytes;
        assert!(charged > 4096 + gz1.len(), "{charged}");
    }

    #[test]
    fn the_first_compression_is_quick_and_a_repeat_gets_the_best() {
        let c = catalog();
        let cache = ResponseCache::new(1 << 20, &c);
        let body = cache.insert(&c, CacheKey::Index, json(64 * 1024));
        assert!(!body.note_served(), "a first request");
        let (_, quick, best) = cache.encoded(&body, Encoding::Brotli, false);
        assert!(!best);
        assert!(etag_text(&body, Encoding::Brotli, false).ends_with("-br1\""));
        let charged_quick = cache.stats().bytes;
        // Asked again for the quick one: the one made is served.
        assert!(!cache.encoded(&body, Encoding::Brotli, false).2);
        assert_eq!(cache.stats().compressions, 1);
        assert!(body.note_served(), "a repeat");
        let (_, finest, best) = cache.encoded(&body, Encoding::Brotli, true);
        assert!(best && finest.len() <= quick.len());
        assert_eq!(cache.stats().compressions, 2);
        // The quick form is replaced, and uncharged.
        assert_eq!(
            cache.stats().bytes,
            charged_quick - quick.len() + finest.len()
        );
        // Once the best is made, a quick request gets it too.
        assert!(cache.encoded(&body, Encoding::Brotli, false).2);
        let decoded = {
            let mut out = Vec::new();
            brotli::BrotliDecompress(&mut &finest[..], &mut out).unwrap();
            out
        };
        assert_eq!(decoded, body.identity().as_ref());
    }

    #[test]
    fn short_bodies_are_not_compressed() {
        let c = catalog();
        let cache = ResponseCache::new(1 << 20, &c);
        let body = cache.insert(&c, CacheKey::Index, json(MIN_COMPRESS_LEN - 20));
        let (coding, bytes, _) = cache.encoded(&body, Encoding::Brotli, true);
        assert_eq!(coding, Encoding::Identity);
        assert_eq!(&bytes, body.identity());
        assert_eq!(cache.stats().compressions, 0);
    }

    #[test]
    fn incompressible_bodies_are_sent_as_they_are() {
        let c = catalog();
        let cache = ResponseCache::new(1 << 20, &c);
        // Bytes from a simple generator do not compress.
        let mut x: u32 = 1;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let body = cache.insert(&c, CacheKey::Index, Bytes::from(noise));
        assert_eq!(
            cache.encoded(&body, Encoding::Gzip, true).0,
            Encoding::Identity
        );
        assert_eq!(
            cache.encoded(&body, Encoding::Gzip, true).0,
            Encoding::Identity
        );
        assert_eq!(cache.stats().compressions, 1);
    }

    #[test]
    fn a_reset_forgets_and_old_catalogs_bypass() {
        let (old, new) = (catalog(), catalog());
        let cache = ResponseCache::new(1 << 20, &old);
        let key = CacheKey::Search(String::new());
        cache.insert(&old, key.clone(), json(10));
        cache.reset(&new);
        assert!(cache.get(&new, &key).is_none());
        // A request still on the old catalog is answered but not kept.
        let stale = cache.insert(&old, key.clone(), json(20));
        assert_eq!(stale.identity().len(), json(20).len());
        assert_eq!(cache.stats().entries, 0);
        assert!(cache.get(&old, &key).is_none());
        cache.insert(&new, key.clone(), json(30));
        assert!(cache.get(&new, &key).is_some());
    }

    #[test]
    fn the_budget_drops_the_oldest_entries() {
        let c = catalog();
        let entry = json(2000).len() + 2 * "q=0".len() + ENTRY_OVERHEAD;
        let cache = ResponseCache::new(3 * entry, &c);
        for i in 0..10 {
            cache.insert(&c, CacheKey::Search(format!("q={i}")), json(2000));
            assert!(cache.stats().bytes <= 3 * entry);
        }
        assert_eq!(cache.stats().entries, 3);
        for i in 7..10 {
            assert!(cache.get(&c, &CacheKey::Search(format!("q={i}"))).is_some());
        }
        // Compressed forms count too: making one pushes the oldest out.
        let newest = cache.get(&c, &CacheKey::Search("q=9".into())).unwrap();
        cache.encoded(&newest, Encoding::Gzip, true);
        assert_eq!(cache.stats().entries, 2);
        assert!(cache.get(&c, &CacheKey::Search("q=7".into())).is_none());
        assert!(cache.stats().bytes <= 3 * entry);
        // A body larger than the budget is served, not kept.
        let huge = cache.insert(&c, CacheKey::Index, json(4 * entry));
        assert_eq!(huge.identity().len(), json(4 * entry).len());
        assert!(cache.get(&c, &CacheKey::Index).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn bodies_kept_for_a_while_expire_and_are_replaced() {
        let c = catalog();
        let cache = ResponseCache::new(1 << 20, &c);
        let key = CacheKey::Search("q=1".into());
        let ttl = std::time::Duration::from_secs(10);
        cache.insert_for(&c, key.clone(), json(10), ttl);
        tokio::time::advance(std::time::Duration::from_secs(9)).await;
        assert!(cache.get(&c, &key).is_some());
        // A second insert while fresh keeps the first body.
        let kept = cache.insert_for(&c, key.clone(), json(20), ttl);
        assert_eq!(kept.identity().len(), json(10).len());
        tokio::time::advance(std::time::Duration::from_secs(2)).await;
        assert!(cache.get(&c, &key).is_none());
        let bytes = cache.stats().bytes;
        let fresh = cache.insert_for(&c, key.clone(), json(30), ttl);
        assert_eq!(fresh.identity().len(), json(30).len());
        assert!(cache.get(&c, &key).is_some());
        assert_eq!(cache.stats().entries, 1);
        assert_eq!(cache.stats().bytes, bytes + json(30).len() - json(10).len());
        // A zero lifetime serves the body without keeping it.
        let other = CacheKey::Categories(String::new());
        cache.insert_for(&c, other.clone(), json(10), std::time::Duration::ZERO);
        assert!(cache.get(&c, &other).is_none());
    }

    #[test]
    fn etags_name_the_body_and_the_coding() {
        let c = catalog();
        let cache = ResponseCache::new(1 << 20, &c);
        let a = cache.insert(&c, CacheKey::Index, Bytes::from_static(b"[]"));
        let b = cache.insert(
            &c,
            CacheKey::Search(String::new()),
            Bytes::from_static(b"[]"),
        );
        let other = cache.insert(&c, CacheKey::Categories(String::new()), json(10));
        assert_eq!(
            etag_text(&a, Encoding::Identity, true),
            etag_text(&b, Encoding::Identity, true)
        );
        assert_ne!(
            etag_text(&a, Encoding::Identity, true),
            etag_text(&other, Encoding::Identity, true)
        );
        let tag = etag_text(&a, Encoding::Identity, true);
        assert_eq!(tag.len(), 34);
        assert_eq!(
            etag_text(&a, Encoding::Gzip, true),
            format!("{}-gz\"", &tag[..33])
        );
        assert_eq!(
            etag_text(&a, Encoding::Brotli, true),
            format!("{}-br\"", &tag[..33])
        );
        assert_eq!(
            etag_text(&a, Encoding::Brotli, false),
            format!("{}-br1\"", &tag[..33])
        );
    }
}
