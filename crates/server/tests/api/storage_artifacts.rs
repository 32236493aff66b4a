//! Files of storage packages (zips, signatures, static files): range and
//! conditional requests, read from an HTTP storage endpoint or from a bucket.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use epr_server::file_response::serve_content_tagged;
use epr_server::storage_files::StorageEndpoint;
use epr_storage::bucket::Bucket;
use http::{HeaderMap, Request};

use crate::fixture::Answer;

const KEY: &str = "artifacts/packages/a-1.0.0.zip";
const CONTENT: &[u8] = b"0123456789abcdefghij";
/// Sun, 06 Nov 1994 08:49:37 GMT.
const MODIFIED: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

fn modified() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(784_111_777)
}

async fn ask(endpoint: &StorageEndpoint, method: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = Request::builder().method(method).uri("/epr/a/a-1.0.0.zip");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let (parts, ()) = req.body(()).unwrap().into_parts();
    let res = endpoint.serve(&parts, KEY, Duration::from_secs(1)).await;
    Answer::read(res).await
}

/// A storage endpoint on a loopback port that serves [`CONTENT`] with ETag `"v1"`
/// like a file, and keeps the headers of every request it gets.
async fn storage_server() -> (StorageEndpoint, Arc<Mutex<Vec<HeaderMap>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |req: Request<Body>| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(req.headers().clone());
            let res: Response = serve_content_tagged(
                req.method(),
                req.headers(),
                Some("application/zip"),
                Some(modified()),
                Some("\"v1\""),
                Bytes::from_static(CONTENT),
            );
            res
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let endpoint = StorageEndpoint::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    (endpoint, seen)
}

/// What both ways of reading storage answer alike.
async fn assert_ranges_and_conditionals(endpoint: &StorageEndpoint, etag: &str) {
    let plain = ask(endpoint, "GET", &[]).await;
    assert_eq!(plain.status, 200);
    assert_eq!(&plain.body[..], CONTENT);
    assert_eq!(plain.header("content-length"), Some("20"));
    assert_eq!(plain.header("content-type"), Some("application/zip"));
    assert_eq!(plain.header("last-modified"), Some(MODIFIED));
    assert_eq!(plain.header("etag"), Some(etag));
    assert_eq!(plain.header("accept-ranges"), Some("bytes"));
    assert_eq!(plain.all("cache-control"), ["max-age=1", "public"]);

    let part = ask(endpoint, "GET", &[("range", "bytes=2-5")]).await;
    assert_eq!(part.status, 206);
    assert_eq!(&part.body[..], b"2345");
    assert_eq!(part.header("content-range"), Some("bytes 2-5/20"));
    assert_eq!(part.header("content-length"), Some("4"));

    let tail = ask(endpoint, "GET", &[("range", "bytes=-3")]).await;
    assert_eq!((tail.status.as_u16(), &tail.body[..]), (206, &b"hij"[..]));

    let beyond = ask(endpoint, "GET", &[("range", "bytes=40-")]).await;
    assert_eq!(beyond.status, 416);
    assert_eq!(beyond.header("content-range"), Some("bytes */20"));

    // A range of another version of the object gets the whole object.
    let stale_range = [("range", "bytes=2-5"), ("if-range", "\"v0\"")];
    assert_eq!(ask(endpoint, "GET", &stale_range).await.status, 200);
    let current_range = [("range", "bytes=2-5"), ("if-range", etag)];
    assert_eq!(ask(endpoint, "GET", &current_range).await.status, 206);

    for conditional in [("if-none-match", etag), ("if-modified-since", MODIFIED)] {
        let a = ask(endpoint, "GET", &[conditional]).await;
        assert_eq!(a.status, 304, "{conditional:?}");
        assert!(a.body.is_empty());
        assert_eq!(a.header("etag"), Some(etag));
    }
    let stale = ask(endpoint, "GET", &[("if-none-match", "\"v0\"")]).await;
    assert_eq!((stale.status.as_u16(), &stale.body[..]), (200, CONTENT));
    let newer = [("if-modified-since", "Sun, 06 Nov 1994 08:49:36 GMT")];
    assert_eq!(ask(endpoint, "GET", &newer).await.status, 200);

    let head = ask(endpoint, "HEAD", &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn an_http_endpoint_gets_the_clients_range_and_conditionals() {
    let (endpoint, seen) = storage_server().await;
    assert_ranges_and_conditionals(&endpoint, "\"v1\"").await;
    // A plain request is piped as upstream pipes it: no client header forwarded.
    seen.lock().unwrap().clear();
    ask(
        &endpoint,
        "GET",
        &[("accept-encoding", "gzip"), ("user-agent", "Kibana")],
    )
    .await;
    let forwarded = seen.lock().unwrap()[0].clone();
    assert_eq!(forwarded.get("accept-encoding"), None);
    assert_ne!(
        forwarded.get("user-agent").map(|v| v.to_str().unwrap()),
        Some("Kibana")
    );
    assert_eq!(forwarded.get("range"), None);
}

#[tokio::test]
async fn a_bucket_serves_ranges_and_conditionals_with_its_etag() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("file://{}", tmp.path().display());
    let bucket = Bucket::open(&url, &Default::default()).unwrap();
    bucket.put(KEY, Bytes::from_static(CONTENT)).await.unwrap();
    let file = tmp.path().join(KEY);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(modified())
        .unwrap();
    let endpoint = StorageEndpoint::Bucket(Arc::new(bucket));
    let etag = ask(&endpoint, "GET", &[])
        .await
        .header("etag")
        .expect("the bucket's e-tag")
        .to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert_ranges_and_conditionals(&endpoint, &etag).await;
}
