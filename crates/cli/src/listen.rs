//! The listeners of `package-registry` serving: the API (HTTP or HTTPS) and the
//! metrics, with their limits, settled from the options once at startup.

use std::time::Duration;

use anyhow::{Context, bail};
use epr_server::listener::ConnectionLimits;
use epr_server::tls::{CertResolver, TlsSettings, TlsVersion};
use tokio::net::TcpListener;

use crate::config::ServeArgs;

/// Descriptors kept free of connections for files, buckets and the watcher.
const RESERVED_DESCRIPTORS: u64 = 128;

/// How the listeners are set up.
#[derive(Debug, Clone)]
pub struct ListenSettings {
    pub address: String,
    pub tls: Option<TlsSettings>,
    pub metrics_address: Option<String>,
    pub limits: ConnectionLimits,
}

impl ListenSettings {
    /// Checks the listener options; an error names the option.
    pub fn from_args(args: &ServeArgs) -> anyhow::Result<ListenSettings> {
        Ok(ListenSettings {
            address: args.address.clone(),
            tls: tls_settings(&args.tls_cert, &args.tls_key, &args.tls_min_version)?,
            metrics_address: Some(args.metrics_address.clone()).filter(|a| !a.is_empty()),
            limits: ConnectionLimits {
                read_header_timeout: args.read_header_timeout,
                idle_timeout: args.idle_timeout,
                max_connections: fit_descriptor_limit(args.max_connections as u64),
                shutdown_timeout: args.shutdown_timeout,
            },
        })
    }
}

/// HTTPS needs a certificate and a key. The upstream serves plain HTTP when only one
/// is set; here that is an error, since it is always a mistake.
fn tls_settings(cert: &str, key: &str, min: &str) -> anyhow::Result<Option<TlsSettings>> {
    let min_version = match min {
        "" => None,
        text => Some(TlsVersion::parse(text).context("--tls-min-version")?),
    };
    match (cert.is_empty(), key.is_empty()) {
        (true, true) if min_version.is_some() => bail!(
            "--tls-min-version set but missing TLS cert and key files (--tls-cert and --tls-key)"
        ),
        (true, true) => Ok(None),
        (false, true) => bail!("--tls-cert is set but --tls-key is not: HTTPS needs both"),
        (true, false) => bail!("--tls-key is set but --tls-cert is not: HTTPS needs both"),
        (false, false) => Ok(Some(TlsSettings {
            cert: cert.into(),
            key: key.into(),
            min_version,
        })),
    }
}

/// Lowers `wanted` connections to what the open-files limit allows. The soft limit is
/// first raised to the hard one, as Go's runtime does for the upstream at startup.
fn fit_descriptor_limit(wanted: u64) -> usize {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let mut soft = limit.current;
    if limit.current < limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            soft = limit.maximum;
        }
    }
    let Some(soft) = soft else {
        return wanted as usize;
    };
    let room = soft.saturating_sub(RESERVED_DESCRIPTORS).max(1);
    if room < wanted {
        tracing::warn!(
            max_connections = room,
            wanted,
            open_files_limit = soft,
            "--max-connections lowered to fit the open-files limit (ulimit -n)"
        );
    }
    room.min(wanted) as usize
}

/// Binds `address`; the error names the option it came from.
pub async fn bind(address: &str, option: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("{option} {address}: cannot listen"))
}

/// The TLS acceptor of the settings, reloading its files as they change.
pub fn tls_acceptor(settings: &TlsSettings) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    let resolver = CertResolver::load(settings.clone())?;
    resolver.spawn_reloader();
    let config = resolver.server_config();
    Ok(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)))
}

/// The limits of the metrics listener: the API's, for a handful of scrapers.
pub fn metrics_limits(api: &ConnectionLimits) -> ConnectionLimits {
    ConnectionLimits {
        max_connections: api.max_connections.min(64),
        shutdown_timeout: api.shutdown_timeout.min(Duration::from_secs(5)),
        ..api.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_needs_both_files() {
        assert!(tls_settings("", "", "").unwrap().is_none());
        let both = tls_settings("c.pem", "k.pem", "1.3").unwrap().unwrap();
        assert_eq!(both.min_version, Some(TlsVersion::V1_3));
        let err = |c, k, m| format!("{:#}", tls_settings(c, k, m).unwrap_err());
        assert!(err("c.pem", "", "").contains("--tls-key is not"));
        assert!(err("", "k.pem", "").contains("--tls-cert is not"));
        assert!(err("", "", "1.2").contains("missing TLS cert and key"));
        assert!(err("c", "k", "1.1").contains("TLS 1.1 is not supported"));
        assert!(err("c", "k", "2").contains("unsupported TLS version: 2"));
        assert!(err("c", "k", "2").contains("--tls-min-version"));
    }

    #[test]
    fn connections_fit_the_descriptor_limit() {
        let n = fit_descriptor_limit(u64::MAX);
        assert!(n >= 1);
        let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        if let Some(soft) = soft {
            assert!((n as u64) <= soft);
        }
        assert_eq!(fit_descriptor_limit(1), 1);
    }
}
