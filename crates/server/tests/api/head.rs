//! HEAD on every kind of route: the headers GET would send (Content-Length
//! included, or absent where GET streams without one), and no body.

use epr_testkit::PackageBuilder;

use crate::fixture::{Answer, examples, get, send, state};

/// GET and HEAD of `url` answer with the same status and headers; HEAD has no body.
async fn head_is_get_without_body(s: &epr_server::AppState, url: &str) -> (Answer, Answer) {
    let got = get(s, url).await;
    let head = send(s, "HEAD", url, &[]).await;
    assert_eq!(head.status, got.status, "{url}");
    assert_eq!(head.headers, got.headers, "{url}");
    assert!(head.body.is_empty(), "{url}");
    (got, head)
}

/// A folder's zip is made on the fly and streamed without Content-Length: HEAD
/// has none either (it used to say `Content-Length: 0`).
#[tokio::test]
async fn a_folder_zip() {
    let s = state(&[examples()]);
    let (got, head) = head_is_get_without_body(&s, "/epr/nginx_logs/nginx_logs-1.0.0.zip").await;
    assert_eq!(got.status, 200);
    assert!(got.body.len() > 1000);
    assert_eq!(head.header("content-length"), None);
    assert_eq!(head.header("content-type"), Some("application/zip"));
}

/// A zip package's zip, its signature, a static file inside it, and a JSON
/// endpoint: HEAD gives the Content-Length of the GET's body.
#[tokio::test]
async fn a_zip_its_signature_a_file_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    let zips = tmp.path().join("zips");
    PackageBuilder::new("zipped", "1.0.0")
        .file("docs/extra.txt", "inside the zip")
        .write_zip(&zips);
    let sig = "-----BEGIN PGP SIGNATURE-----\n";
    std::fs::write(zips.join("zipped-1.0.0.zip.sig"), sig).unwrap();
    let s = state(&[zips]);
    for url in [
        "/epr/zipped/zipped-1.0.0.zip",
        "/epr/zipped/zipped-1.0.0.zip.sig",
        "/package/zipped/1.0.0/docs/extra.txt",
        "/package/zipped/1.0.0/",
        "/search",
        "/categories",
    ] {
        let (got, head) = head_is_get_without_body(&s, url).await;
        assert_eq!(got.status, 200, "{url}");
        let length = got.body.len().to_string();
        assert_eq!(
            head.header("content-length"),
            Some(length.as_str()),
            "{url}"
        );
    }
}

/// A folder package's static file and favicon, errors and the strict-slash
/// redirect: the same rule (their GET bodies have a known length).
#[tokio::test]
async fn files_errors_and_redirects() {
    let s = state(&[examples()]);
    for (url, status) in [
        ("/package/nginx_logs/1.0.0/docs/README.md", 200),
        ("/favicon.ico", 200),
        ("/health", 200),
        ("/nope", 404),
        ("/package/nginx_logs/9.9.9/", 404),
        ("/search?all=maybe", 400),
        ("/package/nginx_logs/1.0.0/docs/nope.md", 404),
        ("/package/nginx_logs/1.0.0", 301),
    ] {
        let (got, head) = head_is_get_without_body(&s, url).await;
        assert_eq!(got.status, status, "{url}");
        let length = got.body.len().to_string();
        assert_eq!(
            head.header("content-length"),
            Some(length.as_str()),
            "{url}"
        );
    }
}
