//! One test body per behaviour of `Bucket`, run against every backend we can start here:
//! `memory://`, `file://` (a temp dir), S3 (a moto server) and GCS (a fake-gcs-server).
//! A last GCS test reads objects seeded through the emulator's own API.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use epr_storage::bucket::{Bucket, BucketError, BucketOptions, Created};
use epr_testkit::servers;

/// A key with the characters upstream's fixtures use (spaces, brackets).
const AWKWARD_KEY: &str = "artifacts/static/cassandra-1.1.0/img/[Logs Cassandra] System Logs.jpg";

/// Tasks and increments of the counter test: 8 × 25 = 200.
const TASKS: usize = 8;
const INCREMENTS: usize = 25;

/// Where a test's bucket lives, and what must stay alive while it is used.
struct Subject {
    url: String,
    options: BucketOptions,
    _keep: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl Subject {
    /// A new `Bucket` instance on the same storage (its own client, its own lock handle).
    fn open(&self) -> Bucket {
        Bucket::open(&self.url, &self.options)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.url))
    }
}

fn memory(test: &str) -> Option<Subject> {
    Some(Subject {
        url: format!("memory://{test}/root/prefix"),
        options: BucketOptions::default(),
        _keep: None,
    })
}

fn local(_test: &str) -> Option<Subject> {
    let dir = tempfile::tempdir().expect("temp dir");
    // A space in the folder name checks that the file URL is decoded, not mangled.
    let root = dir.path().join("my bucket");
    Some(Subject {
        url: format!("file://{}", root.display()),
        options: BucketOptions::default(),
        _keep: Some(Box::new(dir)),
    })
}

fn s3(test: &str) -> Option<Subject> {
    let server = servers::moto()?;
    let bucket = format!("test-{}", test.replace('_', "-"));
    servers::create_s3_bucket(&server, &bucket);
    Some(Subject {
        url: format!("s3://{bucket}/root"),
        options: s3_options(server.endpoint()),
        _keep: Some(Box::new(server)),
    })
}

fn gcs(test: &str) -> Option<Subject> {
    let server = servers::fake_gcs()?;
    let bucket = format!("test-{}", test.replace('_', "-"));
    servers::create_gcs_bucket(&server, &bucket);
    Some(Subject {
        url: format!("gs://{bucket}/root"),
        options: BucketOptions {
            endpoint: Some(server.endpoint()),
            ..BucketOptions::default()
        },
        _keep: Some(Box::new(server)),
    })
}

fn s3_options(endpoint: String) -> BucketOptions {
    BucketOptions {
        endpoint: Some(endpoint),
        region: Some(servers::S3_REGION.to_string()),
        access_key_id: Some(servers::S3_ACCESS_KEY_ID.to_string()),
        secret_access_key: Some(servers::S3_SECRET_ACCESS_KEY.to_string()),
        ..BucketOptions::default()
    }
}

macro_rules! backend_tests {
    ($backend:ident: $($behaviour:ident),+ $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $behaviour() {
                    let Some(subject) = super::$backend(stringify!($behaviour)) else {
                        return;
                    };
                    super::$behaviour(&subject).await;
                }
            )+
        }
    };
}

backend_tests!(memory: round_trip, create_only, replace_is_compare_and_swap,
    concurrent_increments_lose_nothing, delete, invalid_keys_are_refused);
backend_tests!(local: round_trip, create_only, replace_is_compare_and_swap,
    concurrent_increments_lose_nothing, delete, invalid_keys_are_refused);
backend_tests!(s3: round_trip, create_only, replace_is_compare_and_swap,
    concurrent_increments_lose_nothing, delete, invalid_keys_are_refused);
backend_tests!(gcs: round_trip, create_only, replace_is_compare_and_swap,
    concurrent_increments_lose_nothing, delete, invalid_keys_are_refused);

async fn round_trip(subject: &Subject) {
    let bucket = subject.open();
    let objects = [
        (AWKWARD_KEY, "jpeg bytes"),
        ("artifacts/packages/cassandra-1.1.0.zip", "zip"),
        ("artifacts/packages/cassandra-1.1.0.zip.sig", "sig"),
        ("v2/metadata/1/search-index-all.json", "{}"),
        ("v2/metadata/2/search-index-all.json", "{}"),
        ("v2/metadata/cursor.json", r#"{"current":"2"}"#),
        ("v2/metadataX/other", "not under v2/metadata"),
    ];
    for (key, data) in objects {
        bucket.put(key, Bytes::from(data)).await.expect("put");
    }
    for (key, data) in objects {
        assert_eq!(
            bucket.get(key).await.expect("get"),
            Some(Bytes::from(data)),
            "{key}"
        );
    }

    let info = bucket
        .head(AWKWARD_KEY)
        .await
        .expect("head")
        .expect("exists");
    assert_eq!(info.size, "jpeg bytes".len() as u64);
    assert!(bucket.head("v2/missing").await.expect("head").is_none());
    assert!(bucket.get("v2/missing").await.expect("get").is_none());
    assert!(
        bucket
            .get_versioned("v2/missing")
            .await
            .expect("get")
            .is_none()
    );

    let mut all: Vec<&str> = objects.iter().map(|(key, _)| *key).collect();
    all.sort();
    assert_eq!(bucket.list("").await.expect("list"), all);
    assert_eq!(
        bucket.list("v2/metadata").await.expect("list"),
        [
            "v2/metadata/1/search-index-all.json",
            "v2/metadata/2/search-index-all.json",
            "v2/metadata/cursor.json",
        ]
    );
    assert_eq!(
        bucket.list("artifacts/static/").await.expect("list"),
        [AWKWARD_KEY]
    );
    assert!(bucket.list("nothing/here").await.expect("list").is_empty());

    assert_eq!(
        bucket.list_folders("").await.expect("folders"),
        ["artifacts", "v2"]
    );
    assert_eq!(
        bucket.list_folders("v2/metadata").await.expect("folders"),
        ["1", "2"]
    );
    assert_eq!(
        bucket
            .list_folders("artifacts/static/cassandra-1.1.0")
            .await
            .expect("folders"),
        ["img"]
    );
    assert!(
        bucket
            .list_folders("nothing")
            .await
            .expect("folders")
            .is_empty()
    );

    // Overwrite is visible to another instance.
    bucket
        .put(AWKWARD_KEY, Bytes::from("new"))
        .await
        .expect("put");
    assert_eq!(
        subject.open().get(AWKWARD_KEY).await.expect("get"),
        Some(Bytes::from("new"))
    );
}

async fn create_only(subject: &Subject) {
    let bucket = subject.open();
    let key = "artifacts/packages/apache-1.0.0.zip";
    let first = Bytes::from("first build");
    assert_eq!(
        bucket.create(key, first.clone()).await.expect("create"),
        Created::New
    );

    let second = bucket
        .create(key, Bytes::from("second build"))
        .await
        .expect("create");
    assert_eq!(second, Created::Exists(first.clone()));
    assert_eq!(bucket.get(key).await.expect("get"), Some(first.clone()));

    let again = subject
        .open()
        .create(key, first.clone())
        .await
        .expect("create");
    assert_eq!(again, Created::Exists(first));
}

async fn replace_is_compare_and_swap(subject: &Subject) {
    let bucket = subject.open();
    let key = "v2/metadata/cursor.json";

    bucket
        .replace(key, Bytes::from("1"), None)
        .await
        .expect("replace absent");
    let (bytes, v1) = bucket
        .get_versioned(key)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(bytes, Bytes::from("1"));

    let err = bucket
        .replace(key, Bytes::from("x"), None)
        .await
        .expect_err("exists");
    assert_conflict(&err, subject, key);

    bucket
        .replace(key, Bytes::from("2"), Some(&v1))
        .await
        .expect("replace with current version");
    assert_eq!(bucket.get(key).await.expect("get"), Some(Bytes::from("2")));

    let err = bucket
        .replace(key, Bytes::from("3"), Some(&v1))
        .await
        .expect_err("stale");
    assert_conflict(&err, subject, key);
    assert_eq!(bucket.get(key).await.expect("get"), Some(Bytes::from("2")));

    // Back to the same length as v1: a version made of size and mtime could be fooled.
    let (_, v2) = bucket
        .get_versioned(key)
        .await
        .expect("get")
        .expect("exists");
    bucket.put(key, Bytes::from("4")).await.expect("put");
    let err = bucket
        .replace(key, Bytes::from("5"), Some(&v2))
        .await
        .expect_err("stale");
    assert_conflict(&err, subject, key);

    let (_, v4) = bucket
        .get_versioned(key)
        .await
        .expect("get")
        .expect("exists");
    bucket.delete(key).await.expect("delete");
    let err = bucket
        .replace(key, Bytes::from("6"), Some(&v4))
        .await
        .expect_err("deleted");
    assert_conflict(&err, subject, key);
    assert!(bucket.get(key).await.expect("get").is_none());
}

fn assert_conflict(err: &BucketError, subject: &Subject, key: &str) {
    assert!(
        matches!(err, BucketError::Conflict { .. }),
        "expected a conflict, got {err}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&subject.url) && message.contains(key),
        "{message}"
    );
}

async fn concurrent_increments_lose_nothing(subject: &Subject) {
    let key = "counter";
    // Open every client first and start them together: opening a GCS client takes about
    // 100 ms (credentials, TLS roots), long enough for a task started right after opening
    // to finish its increments before the next one starts, and then nothing would race.
    let buckets: Vec<Bucket> = (0..TASKS).map(|_| subject.open()).collect();
    let start = Arc::new(tokio::sync::Barrier::new(TASKS));
    let tasks: Vec<_> = buckets
        .into_iter()
        .map(|bucket| {
            let start = Arc::clone(&start);
            tokio::spawn(async move {
                start.wait().await;
                increment(&bucket, key, INCREMENTS).await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let count = subject
        .open()
        .get(key)
        .await
        .expect("get")
        .expect("counter");
    assert_eq!(count, Bytes::from((TASKS * INCREMENTS).to_string()));
}

/// Adds `times` to the decimal counter at `key`, with read, compare-and-swap, retry.
async fn increment(bucket: &Bucket, key: &str, times: usize) {
    for _ in 0..times {
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(attempts < 10_000, "no progress incrementing {key}");
            let current = bucket.get_versioned(key).await.expect("get");
            let (value, version) = match &current {
                Some((bytes, version)) => (parse_counter(bytes), Some(version)),
                None => (0, None),
            };
            let next = Bytes::from((value + 1).to_string());
            match bucket.replace(key, next, version).await {
                Ok(()) => break,
                Err(BucketError::Conflict { .. }) => continue,
                Err(e) => panic!("increment failed: {e}"),
            }
        }
    }
}

fn parse_counter(bytes: &[u8]) -> usize {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("counter is not a number: {bytes:?}"))
}

async fn delete(subject: &Subject) {
    let bucket = subject.open();
    let key = "v2/metadata/7/search-index-all.json";
    bucket.put(key, Bytes::from("{}")).await.expect("put");
    bucket.put("v2/keep", Bytes::from("x")).await.expect("put");
    assert_eq!(
        bucket.list_folders("v2/metadata").await.expect("folders"),
        ["7"]
    );

    bucket.delete(key).await.expect("delete");
    assert!(bucket.get(key).await.expect("get").is_none());
    assert!(bucket.head(key).await.expect("head").is_none());
    bucket
        .delete(key)
        .await
        .expect("deleting a missing object is fine");
    assert_eq!(bucket.list("").await.expect("list"), ["v2/keep"]);
    // No empty "folder" is left behind (file:// removes emptied directories).
    assert!(
        bucket
            .list_folders("v2/metadata")
            .await
            .expect("folders")
            .is_empty()
    );
    assert_eq!(
        bucket.list_folders("v2").await.expect("folders"),
        Vec::<String>::new()
    );
}

async fn invalid_keys_are_refused(subject: &Subject) {
    let bucket = subject.open();
    for key in [
        "",
        "/abs",
        "a//b",
        "a/",
        "../escape",
        "a/./b",
        "a/../b",
        "upload#3",
    ] {
        let data = Bytes::from("x");
        let results = [
            bucket.get(key).await.map(|_| ()),
            bucket.head(key).await.map(|_| ()),
            bucket.put(key, data.clone()).await,
            bucket.create(key, data.clone()).await.map(|_| ()),
            bucket.replace(key, data, None).await,
            bucket.delete(key).await,
        ];
        for result in results {
            match result {
                Err(BucketError::InvalidKey { .. }) => {}
                other => panic!("key {key:?} should be refused, got {other:?}"),
            }
        }
    }
    assert!(matches!(
        bucket.list("../x").await,
        Err(BucketError::InvalidKey { .. })
    ));
    assert!(
        bucket.list("").await.expect("list").is_empty(),
        "nothing was written"
    );
}

/// Two processes, each with its own `Bucket` and 4 tasks, increment one counter in a
/// `file://` bucket: the lock file must serialise them across processes.
#[test]
fn local_increments_from_two_processes_lose_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("file://{}", dir.path().display());
    let exe = std::env::current_exe().expect("test binary");
    let workers: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "local_counter_worker",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(WORKER_URL, &url)
                // The child's test-harness report would read like ours; keep only its stderr.
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("start worker process")
        })
        .collect();
    for mut worker in workers {
        assert!(worker.wait().expect("worker").success(), "a worker failed");
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let bucket = Bucket::open(&url, &BucketOptions::default()).expect("open");
    let count = runtime
        .block_on(bucket.get("counter"))
        .expect("get")
        .expect("counter");
    assert_eq!(count, Bytes::from((2 * 4 * INCREMENTS).to_string()));
}

/// The child side of the test above; does nothing unless started by it.
const WORKER_URL: &str = "EPR_BUCKET_TEST_WORKER_URL";

#[test]
fn local_counter_worker() {
    let Ok(url) = std::env::var(WORKER_URL) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let bucket = Bucket::open(&url, &BucketOptions::default()).expect("open");
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let bucket = bucket.clone();
                tokio::spawn(async move { increment(&bucket, "counter", INCREMENTS).await })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
    });
}

/// A dead endpoint fails fast with `Unreachable`, not a hang or a panic.
#[tokio::test]
async fn unreachable_endpoints_fail_within_seconds() {
    let dead = "http://127.0.0.1:1".to_string();
    let s3 = Bucket::open("s3://dead-bucket", &s3_options(dead.clone())).expect("open");
    let gcs_options = BucketOptions {
        endpoint: Some(dead),
        ..BucketOptions::default()
    };
    let gcs = Bucket::open("gs://dead-bucket", &gcs_options).expect("open");
    for bucket in [s3, gcs] {
        let started = Instant::now();
        let err = bucket
            .get("v2/metadata/cursor.json")
            .await
            .expect_err("dead endpoint");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
        assert!(matches!(err, BucketError::Unreachable { .. }), "got {err}");
        let message = err.to_string();
        assert!(
            message.contains("dead-bucket") && message.contains("cursor.json"),
            "{message}"
        );

        let err = bucket
            .put("k", Bytes::from("x"))
            .await
            .expect_err("dead endpoint");
        assert!(matches!(err, BucketError::Unreachable { .. }), "got {err}");
    }
}

/// Reads from GCS (fake-gcs-server): the registry side of Package Storage v2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcs_reads_objects_seeded_in_fake_gcs_server() {
    let Some(server) = servers::fake_gcs() else {
        return;
    };
    let server = Arc::clone(&server);
    servers::create_gcs_bucket(&server, "fake-package-storage");
    let objects = [
        (AWKWARD_KEY, "jpeg"),
        ("root/v2/metadata/1/search-index-all.json", "{}"),
        ("root/v2/metadata/cursor.json", r#"{"current":"1"}"#),
    ];
    for (key, data) in objects {
        servers::upload_gcs_object(&server, "fake-package-storage", key, data.as_bytes());
    }
    let options = BucketOptions {
        endpoint: Some(server.endpoint()),
        ..BucketOptions::default()
    };

    let bucket = Bucket::open("gs://fake-package-storage", &options).expect("open");
    assert_eq!(
        bucket.get(AWKWARD_KEY).await.expect("get"),
        Some(Bytes::from("jpeg"))
    );
    assert_eq!(
        bucket
            .head(AWKWARD_KEY)
            .await
            .expect("head")
            .expect("exists")
            .size,
        4
    );
    assert!(bucket.get("missing").await.expect("get").is_none());
    assert_eq!(
        bucket.list_folders("").await.expect("folders"),
        ["artifacts", "root"]
    );

    let rooted = Bucket::open("gs://fake-package-storage/root", &options).expect("open");
    let (cursor, _version) = rooted
        .get_versioned("v2/metadata/cursor.json")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(cursor, Bytes::from(r#"{"current":"1"}"#));
    assert_eq!(
        rooted.list("v2").await.expect("list"),
        [
            "v2/metadata/1/search-index-all.json",
            "v2/metadata/cursor.json"
        ]
    );
    assert_eq!(
        rooted.list_folders("v2/metadata").await.expect("folders"),
        ["1"]
    );
}
