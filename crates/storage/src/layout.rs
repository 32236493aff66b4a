//! Object keys of Package Storage v2 (spec/storage-and-publishing.md §2), relative to
//! a bucket's root prefix. One bucket may hold both parts: the public artifacts and
//! the index metadata (Elastic splits them over two buckets; nothing here requires it).

/// The package archive: `artifacts/packages/{name}-{version}.zip`.
pub fn package_zip(name: &str, version: &str) -> String {
    format!("artifacts/packages/{name}-{version}.zip")
}

/// The detached signature beside the archive.
pub fn package_signature(name: &str, version: &str) -> String {
    format!("artifacts/packages/{name}-{version}.zip.sig")
}

/// The folder of a package's extracted static files.
pub fn static_prefix(name: &str, version: &str) -> String {
    format!("artifacts/static/{name}-{version}/")
}

/// One extracted static file; `path` is package-relative and kept verbatim.
pub fn static_file(name: &str, version: &str, path: &str) -> String {
    format!("artifacts/static/{name}-{version}/{path}")
}

/// The claim of a version: the SHA-256 of its zip, created (create-only) before any
/// of its artifacts, so that the public zip can be written last (docs/STORAGE.md,
/// "Publish order"). In the index part, beside the revisions; ours, not upstream's.
pub fn claim(name: &str, version: &str) -> String {
    format!("v2/claims/{name}-{version}")
}

/// The folder of the claims.
pub const CLAIMS: &str = "v2/claims/";

/// The pointer to the current index revision.
pub const CURSOR: &str = "v2/metadata/cursor.json";

/// The folder that holds every index revision.
pub const METADATA: &str = "v2/metadata/";

/// The full index of a revision.
pub fn search_index_all(cursor: &str) -> String {
    format!("v2/metadata/{cursor}/search-index-all.json")
}

/// The changes of a revision against the revision before it.
pub fn search_index_delta(cursor: &str) -> String {
    format!("v2/metadata/{cursor}/search-index-delta.json")
}

/// Where candidates wait for the publishing worker when no queue is named: a
/// `queue` folder in the storage bucket, holding `{submission}/{name}-{version}.zip`
/// and `.zip.sig` pairs (§2.4, ours).
pub const DEFAULT_QUEUE_FOLDER: &str = "queue";

/// The suffix of the file the worker writes beside a candidate it refused, saying why.
pub const REFUSAL_SUFFIX: &str = ".refused.txt";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_v2_layout() {
        assert_eq!(
            package_zip("barracuda", "0.2.2"),
            "artifacts/packages/barracuda-0.2.2.zip"
        );
        assert_eq!(
            package_signature("barracuda", "0.2.2"),
            "artifacts/packages/barracuda-0.2.2.zip.sig"
        );
        assert_eq!(
            static_file("cisco", "0.11.5", "img/kibana-cisco-asa.png"),
            "artifacts/static/cisco-0.11.5/img/kibana-cisco-asa.png"
        );
        assert_eq!(
            search_index_all("00000000001"),
            "v2/metadata/00000000001/search-index-all.json"
        );
        assert_eq!(
            search_index_delta("2"),
            "v2/metadata/2/search-index-delta.json"
        );
    }
}
