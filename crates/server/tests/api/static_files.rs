//! `/package/{name}/{version}/{file}`: files from folders and zips, with HTTP
//! file semantics.

use epr_testkit::PackageBuilder;

use crate::fixture::{examples, get, send, state};

#[tokio::test]
async fn serves_files_with_their_types() {
    let s = state(&[examples()]);
    let readme = get(&s, "/package/nginx_logs/1.0.0/docs/README.md").await;
    assert_eq!(readme.status, 200);
    assert_eq!(
        readme.header("content-type"),
        Some("text/markdown; charset=utf-8")
    );
    assert!(readme.text().starts_with("# Nginx Logs"));
    assert_eq!(readme.all("cache-control"), ["max-age=1", "public"]);
    assert!(readme.header("last-modified").is_some());
    assert_eq!(readme.header("accept-ranges"), Some("bytes"));
    let manifest = get(&s, "/package/nginx_logs/1.0.0/manifest.yml").await;
    assert_eq!(
        manifest.header("content-type"),
        Some("text/yaml; charset=UTF-8")
    );
    let svg = get(&s, "/package/nginx_logs/1.0.0/img/logo.svg").await;
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
}

#[tokio::test]
async fn missing_files_and_packages() {
    let s = state(&[examples()]);
    let nofile = get(&s, "/package/nginx_logs/1.0.0/img/none.png").await;
    assert_eq!(
        (nofile.status.as_u16(), nofile.text().as_str()),
        (404, "resource not found\n")
    );
    assert_eq!(nofile.all("cache-control"), ["max-age=1", "public"]);
    let dir = get(&s, "/package/nginx_logs/1.0.0/img").await;
    assert_eq!(dir.status, 404);
    let nopkg = get(&s, "/package/none/1.0.0/img/x.png").await;
    assert_eq!(
        (nopkg.status.as_u16(), nopkg.text().as_str()),
        (404, "package revision not found\n")
    );
    let badver = get(&s, "/package/nginx_logs/x/img/x.png").await;
    assert_eq!(badver.status, 400);
}

#[tokio::test]
async fn conditional_and_range_requests() {
    let s = state(&[examples()]);
    let url = "/package/nginx_logs/1.0.0/docs/README.md";
    let full = get(&s, url).await;
    let lm = full.header("last-modified").unwrap().to_string();
    let not_modified = send(&s, "GET", url, &[("if-modified-since", &lm)]).await;
    assert_eq!(not_modified.status, 304);
    let range = send(&s, "GET", url, &[("range", "bytes=0-4")]).await;
    assert_eq!(range.status, 206);
    assert_eq!(&range.body[..], &full.body[..5]);
    assert_eq!(
        range.header("content-range"),
        Some(format!("bytes 0-4/{}", full.body.len()).as_str())
    );
    let head = send(&s, "HEAD", url, &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn files_inside_zips() {
    let tmp = tempfile::tempdir().unwrap();
    let zips = tmp.path().join("zips");
    PackageBuilder::new("zipped", "1.2.3")
        .file("docs/extra.txt", "inside the zip")
        .write_zip(&zips);
    let s = state(&[zips]);
    let a = get(&s, "/package/zipped/1.2.3/docs/extra.txt").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.text(), "inside the zip");
    assert_eq!(a.header("content-type"), Some("text/plain; charset=utf-8"));
}

/// A file inside a zip is inflated once: the second request is served from the
/// response cache, with the same answer, and a folder package's file is not kept
/// (it may be edited on disk).
#[tokio::test]
async fn files_inside_zips_are_inflated_once() {
    let tmp = tempfile::tempdir().unwrap();
    let zips = tmp.path().join("zips");
    PackageBuilder::new("zipped", "1.2.3")
        .file("docs/extra.txt", "inside the zip")
        .write_zip(&zips);
    let s = state(&[zips]);
    let url = "/package/zipped/1.2.3/docs/extra.txt";
    let first = get(&s, url).await;
    assert_eq!(s.responses().stats().entries, 1);
    let bytes = s.responses().stats().bytes;
    let again = get(&s, url).await;
    assert_eq!((again.status, &again.body), (first.status, &first.body));
    assert_eq!(again.headers, first.headers);
    assert_eq!(s.responses().stats().bytes, bytes, "served from the cache");
    let range = send(&s, "GET", url, &[("range", "bytes=0-5")]).await;
    assert_eq!(
        (range.status.as_u16(), range.text().as_str()),
        (206, "inside")
    );

    let s = state(&[examples()]);
    let a = get(&s, "/package/nginx_logs/1.0.0/docs/README.md").await;
    assert_eq!(a.status, 200);
    assert_eq!(s.responses().stats().entries, 0);
}

/// Files over 1 MiB are read as they are sent, from folders and zips alike: the
/// whole file, one range as Go answers it, several ranges as the whole file (no
/// multipart body, which would hold it in memory), HEAD and 304 as for any file.
#[tokio::test]
async fn large_files_are_streamed_with_their_semantics() {
    let tmp = tempfile::tempdir().unwrap();
    let big: String = (0..(3 << 20) / 16).map(|i| format!("{i:015}\n")).collect();
    let big_package = PackageBuilder::new("big", "1.0.0").file("docs/big.txt", &big);
    let (zips, folders) = (tmp.path().join("zips"), tmp.path().join("src"));
    big_package.write_zip(&zips);
    big_package.write_folder(&folders);
    let uri = "/package/big/1.0.0/docs/big.txt";
    for s in [state(&[zips]), state(&[folders])] {
        let whole = get(&s, uri).await;
        assert_eq!(whole.status, 200);
        assert_eq!(whole.text(), big);
        assert_eq!(whole.header("content-length"), Some("3145728"));
        assert_eq!(
            whole.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(whole.all("cache-control"), ["max-age=1", "public"]);

        let one = send(&s, "GET", uri, &[("range", "bytes=1000-1999")]).await;
        assert_eq!(one.status, 206);
        assert_eq!(one.text(), big[1000..2000]);
        assert_eq!(one.header("content-range"), Some("bytes 1000-1999/3145728"));
        let tail = send(&s, "GET", uri, &[("range", "bytes=-16")]).await;
        assert_eq!(tail.text(), big[big.len() - 16..]);

        let several = send(&s, "GET", uri, &[("range", "bytes=0-9,20-29")]).await;
        assert_eq!(several.status, 200);
        assert_eq!(several.body.len(), big.len());

        let head = send(&s, "HEAD", uri, &[]).await;
        assert_eq!(head.header("content-length"), Some("3145728"));
        assert!(head.body.is_empty());
        let modified = whole.header("last-modified").unwrap().to_string();
        let cached = send(&s, "GET", uri, &[("if-modified-since", &modified)]).await;
        assert_eq!(cached.status, 304);
    }
}
