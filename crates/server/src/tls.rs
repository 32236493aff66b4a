//! HTTPS: the certificate and key of `--tls-cert` and `--tls-key`, loaded with rustls
//! and loaded again when the files change (cert-manager and similar tools rotate them
//! in place), so a renewal needs no restart.
//!
//! The files are polled rather than watched: Kubernetes replaces a mounted secret by
//! swapping a symlink, which file watchers see unreliably, and two small reads every
//! [`RELOAD_INTERVAL`] cost nothing. A pair that fails to load (a key that does not
//! match, a half-written file) is logged and the previous pair keeps serving.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// How often the certificate files are checked for a change.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(10);

/// The lowest TLS version a client may speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    V1_2,
    V1_3,
}

impl TlsVersion {
    /// Reads `--tls-min-version`. rustls speaks only TLS 1.2 and 1.3, so the upstream's
    /// `1.1` is refused rather than silently served as 1.2.
    pub fn parse(text: &str) -> Result<TlsVersion, TlsError> {
        match text {
            "1.2" => Ok(TlsVersion::V1_2),
            "1.3" => Ok(TlsVersion::V1_3),
            "1.0" | "1.1" => Err(TlsError::OldVersion(text.to_string())),
            other => Err(TlsError::UnknownVersion(other.to_string())),
        }
    }
}

/// What HTTPS is served with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub min_version: Option<TlsVersion>,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("unsupported TLS version: {0} (use 1.2 or 1.3)")]
    UnknownVersion(String),
    #[error(
        "TLS {0} is not supported: this server speaks TLS 1.2 and 1.3 only; set --tls-min-version to 1.2 or leave it unset"
    )]
    OldVersion(String),
    #[error("--tls-cert {path}: {message}")]
    Cert { path: PathBuf, message: String },
    #[error("--tls-key {path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("--tls-key {key} does not match the certificate of --tls-cert {cert}: {message}")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        message: String,
    },
}

/// The certificate being served; [`CertResolver::reload`] replaces it.
#[derive(Debug)]
pub struct CertResolver {
    settings: TlsSettings,
    current: ArcSwap<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    key: Arc<CertifiedKey>,
    /// The files' bytes, to tell a real change from a touch.
    files: (Vec<u8>, Vec<u8>),
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load().key.clone())
    }
}

impl CertResolver {
    /// Loads the pair; an error names the flag and the file.
    pub fn load(settings: TlsSettings) -> Result<Arc<CertResolver>, TlsError> {
        let loaded = load_pair(&settings)?;
        Ok(Arc::new(CertResolver {
            settings,
            current: ArcSwap::from_pointee(loaded),
        }))
    }

    /// Loads the files again if their bytes changed. `Ok(true)`: a new pair serves.
    pub fn reload(&self) -> Result<bool, TlsError> {
        let files = read_files(&self.settings)?;
        if files == self.current.load().files {
            return Ok(false);
        }
        let loaded = parse_pair(&self.settings, files)?;
        self.current.store(Arc::new(loaded));
        Ok(true)
    }

    /// The rustls configuration: this resolver, the minimum version, and ALPN for
    /// HTTP/2 and HTTP/1.1.
    pub fn server_config(self: &Arc<Self>) -> ServerConfig {
        let versions: &[&rustls::SupportedProtocolVersion] = match self.settings.min_version {
            Some(TlsVersion::V1_3) => &[&rustls::version::TLS13],
            _ => &[&rustls::version::TLS13, &rustls::version::TLS12],
        };
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .expect("the default provider supports TLS 1.2 and 1.3")
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        config
    }

    /// Checks the files every [`RELOAD_INTERVAL`] until the process ends.
    pub fn spawn_reloader(self: &Arc<Self>) {
        let resolver = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RELOAD_INTERVAL);
            tick.tick().await;
            loop {
                tick.tick().await;
                let r = resolver.clone();
                match tokio::task::spawn_blocking(move || r.reload()).await {
                    Ok(Ok(true)) => tracing::info!(
                        cert = %resolver.settings.cert.display(),
                        "TLS certificate reloaded"
                    ),
                    Ok(Ok(false)) => {}
                    Ok(Err(error)) => tracing::warn!(
                        %error,
                        "TLS certificate not reloaded; the previous one keeps serving"
                    ),
                    Err(error) => tracing::warn!(%error, "TLS certificate reload failed"),
                }
            }
        });
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn read_files(s: &TlsSettings) -> Result<(Vec<u8>, Vec<u8>), TlsError> {
    let cert = std::fs::read(&s.cert).map_err(|e| TlsError::Cert {
        path: s.cert.clone(),
        message: e.to_string(),
    })?;
    let key = std::fs::read(&s.key).map_err(|e| TlsError::Key {
        path: s.key.clone(),
        message: e.to_string(),
    })?;
    Ok((cert, key))
}

fn load_pair(s: &TlsSettings) -> Result<Loaded, TlsError> {
    let files = read_files(s)?;
    parse_pair(s, files)
}

fn parse_pair(s: &TlsSettings, files: (Vec<u8>, Vec<u8>)) -> Result<Loaded, TlsError> {
    let cert_error = |message: String| TlsError::Cert {
        path: s.cert.clone(),
        message,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&files.0)
        .collect::<Result<_, _>>()
        .map_err(|e| cert_error(format!("not a PEM certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(cert_error(
            "no certificate (PEM `CERTIFICATE` block) found".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&files.1).map_err(|e| TlsError::Key {
        path: s.key.clone(),
        message: format!("no usable private key (PEM PKCS#8, PKCS#1 or SEC1): {e}"),
    })?;
    let certified =
        CertifiedKey::from_der(chain, key, &provider()).map_err(|e| TlsError::Mismatch {
            cert: s.cert.clone(),
            key: s.key.clone(),
            message: e.to_string(),
        })?;
    Ok(Loaded {
        key: Arc::new(certified),
        files,
    })
}
