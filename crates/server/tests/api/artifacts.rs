//! `/epr/{any}/{name}-{version}.zip` and `.zip.sig`.

use std::io::Read;

use epr_testkit::PackageBuilder;

use crate::fixture::{examples, get, send, state};

fn listing(body: &[u8]) -> Vec<(String, u64)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(body.to_vec())).unwrap();
    (0..z.len())
        .map(|i| {
            let f = z.by_index(i).unwrap();
            (f.name().to_string(), f.size())
        })
        .collect()
}

#[tokio::test]
async fn folders_are_zipped_on_the_fly() {
    let s = state(&[examples()]);
    let a = get(&s, "/epr/anything/nginx_logs-1.0.0.zip").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("application/zip"));
    assert_eq!(a.header("accept-ranges"), None);
    assert_eq!(a.all("cache-control"), ["max-age=1", "public"]);
    let names: Vec<String> = listing(&a.body).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names[..4],
        [
            "nginx_logs-1.0.0/data_stream/",
            "nginx_logs-1.0.0/data_stream/access/",
            "nginx_logs-1.0.0/data_stream/access/agent/",
            "nginx_logs-1.0.0/data_stream/access/agent/stream/"
        ]
    );
    assert!(names.contains(&"nginx_logs-1.0.0/manifest.yml".to_string()));
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(a.body.to_vec())).unwrap();
    let mut manifest = String::new();
    z.by_name("nginx_logs-1.0.0/manifest.yml")
        .unwrap()
        .read_to_string(&mut manifest)
        .unwrap();
    assert!(manifest.contains("name: nginx_logs"));
}

/// A folder is zipped once per catalog: downloads at the same time and after get
/// the same bytes, and a reload (a new catalog) zips it again.
#[tokio::test]
async fn a_folder_is_zipped_once() {
    let s = state(&[examples()]);
    let url = "/epr/anything/nginx_logs-1.0.0.zip";
    let downloads = futures_util::future::join_all((0..8).map(|_| get(&s, url))).await;
    assert!(
        downloads
            .iter()
            .all(|a| a.status == 200 && a.body == downloads[0].body)
    );
    assert_eq!(s.responses().stats().entries, 1, "one zip kept");
    let bytes = s.responses().stats().bytes;
    assert!(bytes > downloads[0].body.len());
    assert_eq!(get(&s, url).await.body, downloads[0].body);
    assert_eq!(s.responses().stats().bytes, bytes);
    s.swap_catalog(crate::fixture::catalog(&[examples()]));
    assert_eq!(s.responses().stats().entries, 0);
    assert_eq!(get(&s, url).await.body.len(), downloads[0].body.len());
}

#[tokio::test]
async fn zips_are_served_as_they_are_with_ranges() {
    let tmp = tempfile::tempdir().unwrap();
    let zips = tmp.path().join("zips");
    let zip = PackageBuilder::new("zipped", "1.0.0").write_zip(&zips);
    std::fs::write(
        zips.join("zipped-1.0.0.zip.sig"),
        "-----BEGIN PGP SIGNATURE-----\n",
    )
    .unwrap();
    let s = state(&[zips]);
    let a = get(&s, "/epr/zipped/zipped-1.0.0.zip").await;
    assert_eq!(a.status, 200);
    assert_eq!(&a.body[..], &std::fs::read(&zip).unwrap()[..]);
    assert_eq!(a.header("accept-ranges"), Some("bytes"));
    let part = send(
        &s,
        "GET",
        "/epr/zipped/zipped-1.0.0.zip",
        &[("range", "bytes=0-9")],
    )
    .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body.len(), 10);
    let sig = get(&s, "/epr/zipped/zipped-1.0.0.zip.sig").await;
    assert_eq!(sig.status, 200);
    assert_eq!(sig.text(), "-----BEGIN PGP SIGNATURE-----\n");
    let info = get(&s, "/package/zipped/1.0.0/").await.json();
    assert_eq!(info["signature_path"], "/epr/zipped/zipped-1.0.0.zip.sig");
}

/// A zip package's file is read once into the response cache; one larger than
/// the cache's file limit is streamed from disk, with the same answers.
#[tokio::test]
async fn zip_files_are_kept_or_streamed_when_large() {
    let tmp = tempfile::tempdir().unwrap();
    let zips = tmp.path().join("zips");
    let zip = PackageBuilder::new("zipped", "1.0.0").write_zip(&zips);
    let zip = std::fs::read(zip).unwrap();
    let url = "/epr/zipped/zipped-1.0.0.zip";
    let kept = state(std::slice::from_ref(&zips));
    let small_cache = epr_server::ServerConfig {
        response_cache_bytes: 4 * (zip.len() - 1),
        ..crate::fixture::config()
    };
    let streamed = epr_server::AppState::new(small_cache, crate::fixture::catalog(&[zips]));
    for s in [&kept, &streamed] {
        for _ in 0..2 {
            let a = get(s, url).await;
            assert_eq!((a.status.as_u16(), &a.body[..]), (200, &zip[..]));
            assert_eq!(a.header("accept-ranges"), Some("bytes"));
            assert!(a.header("last-modified").is_some());
            let part = send(s, "GET", url, &[("range", "bytes=2-5")]).await;
            assert_eq!((part.status.as_u16(), &part.body[..]), (206, &zip[2..6]));
        }
    }
    assert_eq!(kept.responses().stats().entries, 1);
    assert_eq!(streamed.responses().stats().entries, 0);
}

#[tokio::test]
async fn missing_artifacts_and_signatures() {
    let s = state(&[examples()]);
    let a = get(&s, "/epr/x/nginx_logs-9.0.0.zip").await;
    assert_eq!(
        (a.status.as_u16(), a.text().as_str()),
        (404, "artifact not found\n")
    );
    let bad = get(&s, "/epr/x/nginx_logs-a.b.c.zip").await;
    assert_eq!(
        (bad.status.as_u16(), bad.text().as_str()),
        (400, "invalid package version\n")
    );
    // The package exists but has no signature: a 404 (the upstream answers 500).
    let sig = get(&s, "/epr/x/nginx_logs-1.0.0.zip.sig").await;
    assert_eq!(
        (sig.status.as_u16(), sig.text().as_str()),
        (404, "signature file not found\n")
    );
}
