//! Writes to GCS through the JSON API's media upload, with `ifGenerationMatch`.
//!
//! Why not object_store's own `put`: it uploads with the XML API (`PUT /{bucket}/{object}`
//! with `x-goog-if-generation-match`). Real GCS takes both forms, but fake-gcs-server, the
//! emulator upstream and CI use, implements conditional uploads only in the JSON API
//! (`POST /upload/storage/v1/b/{bucket}/o?uploadType=media&name=...&ifGenerationMatch=N`,
//! the form Google's own Go client sends). Uploading that way is what lets CI check our
//! create-only writes and compare-and-swap against a GCS server; reads, listings and deletes
//! stay with object_store.
//!
//! Errors are returned as `object_store::Error` with the variants object_store would use
//! (`AlreadyExists`, `Precondition`, `NotFound`), so [`crate::bucket`] treats every backend
//! alike.

use std::time::{Duration, Instant};

use bytes::Bytes;
use object_store::gcp::GcpCredentialProvider;
use object_store::path::Path;
use object_store::{PutMode, RetryConfig};

/// The JSON API's upload endpoint below a base URL (`https://storage.googleapis.com` or
/// an emulator's).
const UPLOAD_PATH: &str = "upload/storage/v1/b";

/// The first pause before a retry; it doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// How much of an error response's body goes into the message.
const ERROR_BODY_CHARS: usize = 300;

/// Uploads whole objects into one GCS bucket.
#[derive(Debug, Clone)]
pub struct GcsUploader {
    client: reqwest::Client,
    /// `{base}/upload/storage/v1/b/{bucket}/o`
    upload_url: String,
    /// `None` for emulators, which take unauthenticated requests.
    credentials: Option<GcpCredentialProvider>,
    retry: RetryConfig,
}

impl GcsUploader {
    /// `base_url` without a trailing `/`; `bucket` as in the `gs://` URL.
    pub fn new(
        base_url: &str,
        bucket: &str,
        credentials: Option<GcpCredentialProvider>,
        request_timeout: Duration,
        connect_timeout: Duration,
        retry: RetryConfig,
    ) -> Result<GcsUploader, object_store::Error> {
        let client = reqwest::Client::builder()
            .timeout(request_timeout)
            .connect_timeout(connect_timeout)
            .build()
            .map_err(generic)?;
        let bucket = percent_encoding::utf8_percent_encode(bucket, UNRESERVED);
        Ok(GcsUploader {
            client,
            upload_url: format!("{base_url}/{UPLOAD_PATH}/{bucket}/o"),
            credentials,
            retry,
        })
    }

    /// Writes the file at `file` (`len` bytes) at `path`, unconditionally, streaming it
    /// from the disk: for objects too large to hold (a full index of 100,000 versions).
    pub async fn put_file(
        &self,
        path: &Path,
        file: &std::path::Path,
        len: u64,
    ) -> Result<(), object_store::Error> {
        let name = percent_encoding::utf8_percent_encode(path.as_ref(), UNRESERVED);
        let url = format!("{}?uploadType=media&name={name}", self.upload_url);
        // An unconditional write may be repeated whatever happened to the last one.
        let outcome = self
            .send(
                || async {
                    let opened = tokio::fs::File::open(file).await.map_err(generic)?;
                    let body =
                        reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(opened));
                    Ok(self
                        .client
                        .post(&url)
                        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                        .header(reqwest::header::CONTENT_LENGTH, len)
                        .body(body))
                },
                |_| true,
            )
            .await?;
        match outcome {
            Ok(response) => check_response(path, &PutMode::Overwrite, response).await,
            Err(error) => Err(generic(error)),
        }
    }

    /// Writes `data` at `path` under `mode`: `Overwrite` always, `Create` only if no object
    /// exists (`ifGenerationMatch=0`), `Update` only if the object's generation is still the
    /// one read (`UpdateVersion::version`, from the `x-goog-generation` header).
    pub async fn put(
        &self,
        path: &Path,
        data: Bytes,
        mode: &PutMode,
    ) -> Result<(), object_store::Error> {
        let generation = match mode {
            PutMode::Overwrite => None,
            PutMode::Create => Some("0".to_string()),
            PutMode::Update(version) => match &version.version {
                Some(generation) if is_generation(generation) => Some(generation.clone()),
                _ => {
                    return Err(object_store::Error::Precondition {
                        path: path.to_string(),
                        source: "the version read has no GCS generation".into(),
                    });
                }
            },
        };
        let name = percent_encoding::utf8_percent_encode(path.as_ref(), UNRESERVED);
        let mut url = format!("{}?uploadType=media&name={name}", self.upload_url);
        if let Some(generation) = &generation {
            url.push_str(&format!("&ifGenerationMatch={generation}"));
        }

        // Retried on a transport error only when the request surely never reached the
        // server: a retried conditional write that had in fact landed would report a
        // false conflict.
        let outcome = self
            .send(
                || async {
                    Ok(self
                        .client
                        .post(&url)
                        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                        .body(data.clone()))
                },
                reqwest::Error::is_connect,
            )
            .await?;
        match outcome {
            Ok(response) => check_response(path, mode, response).await,
            Err(error) => Err(generic(error)),
        }
    }

    /// Sends the request `build` makes (with the credentials, if any), and again, with
    /// growing pauses and within the retry bounds, after a throttling or server error,
    /// or a transport error that `retry_error` accepts. Gives the last outcome.
    async fn send<F, Fut>(
        &self,
        build: F,
        retry_error: fn(&reqwest::Error) -> bool,
    ) -> Result<Result<reqwest::Response, reqwest::Error>, object_store::Error>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<reqwest::RequestBuilder, object_store::Error>>,
    {
        let started = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        let mut retries = 0;
        loop {
            let mut request = build().await?;
            if let Some(credentials) = &self.credentials {
                let token = credentials.get_credential().await?;
                request = request.bearer_auth(&token.bearer);
            }
            let outcome = request.send().await;
            let retryable = match &outcome {
                Ok(response) => is_retryable_status(response.status()),
                Err(error) => retry_error(error),
            };
            let may_retry = retries < self.retry.max_retries
                && started.elapsed() + backoff < self.retry.retry_timeout;
            if !(retryable && may_retry) {
                return Ok(outcome);
            }
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
            retries += 1;
        }
    }
}

/// Maps the upload's answer to the errors object_store uses for the same cases.
async fn check_response(
    path: &Path,
    mode: &PutMode,
    response: reqwest::Response,
) -> Result<(), object_store::Error> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let snippet: String = body.chars().take(ERROR_BODY_CHARS).collect();
    let source = format!("GCS answered {status} to the upload: {snippet}").into();
    let path = path.to_string();
    Err(match (status.as_u16(), mode) {
        (412, PutMode::Create) => object_store::Error::AlreadyExists { path, source },
        (412, _) => object_store::Error::Precondition { path, source },
        (404, _) => object_store::Error::NotFound { path, source },
        _ => object_store::Error::Generic {
            store: "GCS",
            source,
        },
    })
}

/// A generation is a decimal number; checking it keeps the URL well-formed.
fn is_generation(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Throttling and server errors are worth another try; a client error is not.
fn is_retryable_status(status: reqwest::StatusCode) -> bool {
    status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
}

fn generic(error: impl std::error::Error + Send + Sync + 'static) -> object_store::Error {
    object_store::Error::Generic {
        store: "GCS",
        source: Box::new(error),
    }
}

/// Everything but RFC 3986's unreserved characters is escaped, in the bucket name (a path
/// segment) and in the object name (a query value: `/`, `+`, `&` and spaces included).
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
