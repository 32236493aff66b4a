//! Settings of `package-registry` (serving), configured like the upstream server:
//! every option is a `--long-option` and an `EPR_*` environment variable (flags win),
//! and `config.yml` holds the package paths and cache times as flat dotted keys.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

/// Go's `strconv.ParseBool`, which the upstream uses for flags and `EPR_*` values.
pub fn parse_go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("parse error: invalid boolean `{s}`")),
    }
}

/// Options of the server. Defaults are the upstream's.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "EPR_ADDRESS", default_value = "localhost:8080")]
    pub address: String,

    /// Path to the configuration file.
    #[arg(long, env = "EPR_CONFIG", default_value = "config.yml")]
    pub config: PathBuf,

    /// Log level: debug, info, warn or error.
    #[arg(long, env = "EPR_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Log format: `ecs` (JSON lines) or `dev` (human readable).
    #[arg(long, env = "EPR_LOG_TYPE", default_value = "ecs")]
    pub log_type: String,

    /// Load the configuration and every package, report problems, and exit.
    #[arg(long, env = "EPR_DRY_RUN", default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = parse_go_bool)]
    pub dry_run: bool,

    /// Skip the package checks that the upstream lets you skip (see docs/API.md).
    #[arg(long, env = "EPR_DISABLE_PACKAGE_VALIDATION", default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = parse_go_bool)]
    pub disable_package_validation: bool,

    /// Require a `.sig` file beside every package.
    #[arg(long, env = "EPR_REQUIRE_PACKAGE_SIGNATURES", default_value = "true", num_args = 0..=1, default_missing_value = "true", value_parser = parse_go_bool)]
    pub require_package_signatures: bool,

    /// Ignore unknown query parameters (false: answer them with 400).
    #[arg(long, env = "EPR_ALLOW_UNKNOWN_QUERY_PARAMETERS", default_value = "true", num_args = 0..=1, default_missing_value = "true", value_parser = parse_go_bool)]
    pub allow_unknown_query_parameters: bool,

    /// Threads that load packages (default: the number of CPUs).
    #[arg(long, env = "EPR_PACKAGE_PATHS_WORKERS")]
    pub package_paths_workers: Option<i64>,

    /// Reload packages when files in the package paths change.
    #[arg(long, env = "EPR_PACKAGE_PATHS_ENABLE_WATCHER", default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = parse_go_bool)]
    pub package_paths_enable_watcher: bool,

    /// Serve the packages of a Package Storage v2 index (cursor.json, search-index-all.json).
    #[arg(long, env = "EPR_FEATURE_STORAGE_INDEXER", default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = parse_go_bool)]
    pub feature_storage_indexer: bool,

    /// Upstream's SQLite variant of the storage indexer; here the same in-memory indexer
    /// (same responses, lighter). Mutually exclusive with --feature-storage-indexer.
    #[arg(long, env = "EPR_FEATURE_SQL_STORAGE_INDEXER", default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = parse_go_bool)]
    pub feature_sql_storage_indexer: bool,

    /// Accepted for compatibility: index revisions are always applied as deltas when
    /// their chain can be followed, and from the full index otherwise.
    #[arg(long, env = "EPR_FEATURE_INCREMENTAL_UPDATES", default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = parse_go_bool)]
    pub feature_incremental_updates: bool,

    /// The bucket holding the index: gs://bucket[/root], s3://bucket[/root] or file:///path.
    #[arg(long, env = "EPR_STORAGE_INDEXER_BUCKET_INTERNAL", default_value = "")]
    pub storage_indexer_bucket_internal: String,

    /// Where the artifacts of storage packages are read: an HTTP(S) endpoint (piped
    /// through, as upstream) or a bucket URL (file://, s3://, gs://) read directly.
    #[arg(
        long,
        env = "EPR_STORAGE_ENDPOINT",
        default_value = "https://package-storage.elastic.co/"
    )]
    pub storage_endpoint: String,

    /// How often cursor.json is polled (Go duration); 0 loads the index once.
    #[arg(long, env = "EPR_STORAGE_INDEXER_WATCH_INTERVAL", default_value = "1m", value_parser = |s: &str| parse_go_duration(s).map_err(|e| e.to_string()))]
    pub storage_indexer_watch_interval: Duration,

    /// Print the version and exit.
    #[arg(long, env = "EPR_VERSION", default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = parse_go_bool)]
    pub version: bool,

    /// Offer the packages of another registry (--proxy-to) beside the local ones
    /// (technical preview, as upstream).
    #[arg(long, env = "EPR_FEATURE_PROXY_MODE", default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = parse_go_bool)]
    pub feature_proxy_mode: bool,

    /// The registry proxy mode asks; only its scheme, credentials, host and port are used.
    #[arg(long, env = "EPR_PROXY_TO", default_value = "https://epr.elastic.co/")]
    pub proxy_to: String,

    /// Allow an http:// --proxy-to (development or trusted networks only).
    #[arg(long, env = "EPR_PROXY_ALLOW_INSECURE", default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = parse_go_bool)]
    pub proxy_allow_insecure: bool,
}

/// What `config.yml` holds.
#[derive(Debug, Clone, PartialEq)]
pub struct FileConfig {
    pub package_paths: Vec<PathBuf>,
    pub cache_index: Duration,
    pub cache_search: Duration,
    pub cache_categories: Duration,
    pub cache_catch_all: Duration,
}

impl Default for FileConfig {
    fn default() -> Self {
        FileConfig {
            package_paths: Vec::new(),
            cache_index: Duration::from_secs(10),
            cache_search: Duration::from_secs(600),
            cache_categories: Duration::from_secs(600),
            cache_catch_all: Duration::from_secs(600),
        }
    }
}

impl FileConfig {
    /// Reads `config.yml`. Keys are flat and literal (`cache_time.index: 10s`); the
    /// nested form is not recognised, as upstream. Unknown keys are ignored.
    pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("Configuration file is not available: {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid configuration file {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<FileConfig> {
        use epr_package::yaml::{self, Value};
        let doc = yaml::parse(text)?;
        let mut config = FileConfig::default();
        if doc.is_null() {
            return Ok(config);
        }
        if let Some(paths) = doc.get("package_paths") {
            match &paths.value {
                Value::Seq(items) => {
                    for item in items {
                        match yaml::scalar_to_string(&item.value) {
                            Some(s) if !s.is_empty() => config.package_paths.push(PathBuf::from(s)),
                            _ => bail!(
                                "package_paths (line {}): expected a list of paths",
                                item.line
                            ),
                        }
                    }
                }
                Value::Null => {}
                _ => bail!(
                    "package_paths (line {}): expected a list of paths",
                    paths.line
                ),
            }
        }
        for (key, slot) in [
            ("cache_time.index", &mut config.cache_index),
            ("cache_time.search", &mut config.cache_search),
            ("cache_time.categories", &mut config.cache_categories),
            ("cache_time.catch_all", &mut config.cache_catch_all),
        ] {
            let Some(node) = doc.get(key).filter(|n| !n.is_null()) else {
                continue;
            };
            let text = yaml::scalar_to_string(&node.value).unwrap_or_default();
            let d = parse_go_duration(&text).with_context(|| {
                format!("{key} (line {}): invalid duration `{text}`", node.line)
            })?;
            if d.is_zero() {
                bail!("{key}: cache time must be greater than 0s");
            }
            *slot = d;
        }
        Ok(config)
    }
}

/// A Go duration (`10s`, `1m30s`, `500ms`, `1.5h`) or a bare number of seconds.
pub fn parse_go_duration(s: &str) -> anyhow::Result<Duration> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>()
        && secs >= 0.0
        && secs.is_finite()
    {
        return Ok(Duration::from_secs_f64(secs));
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        bail!("empty duration");
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            bail!("invalid duration {s:?}");
        }
        let value: f64 = rest[..num_len]
            .parse()
            .with_context(|| format!("invalid duration {s:?}"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per_unit = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            unit => bail!("unknown unit {unit:?} in duration {s:?}"),
        };
        rest = &rest[unit_len..];
        total += value * nanos_per_unit;
    }
    Ok(Duration::from_nanos(total as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_flat_keys() {
        let c = FileConfig::parse(
            "package_paths:\n  - /a\n  - b\ncache_time.index: 1s\ncache_time.search: 1m30s\n",
        )
        .unwrap();
        assert_eq!(
            c.package_paths,
            vec![PathBuf::from("/a"), PathBuf::from("b")]
        );
        assert_eq!(c.cache_index, Duration::from_secs(1));
        assert_eq!(c.cache_search, Duration::from_secs(90));
        assert_eq!(c.cache_catch_all, Duration::from_secs(600));
    }

    #[test]
    fn ignores_the_nested_form_like_upstream() {
        let c = FileConfig::parse("cache_time:\n  index: 1s\n").unwrap();
        assert_eq!(c.cache_index, Duration::from_secs(10));
    }

    #[test]
    fn rejects_zero_and_bad_durations() {
        assert!(FileConfig::parse("cache_time.index: 0s\n").is_err());
        let err = format!(
            "{:#}",
            FileConfig::parse("cache_time.index: soon\n").unwrap_err()
        );
        assert!(err.contains("cache_time.index"), "{err}");
    }

    #[test]
    fn go_durations() {
        assert_eq!(
            parse_go_duration("500ms").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(
            parse_go_duration("1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(parse_go_duration("10").unwrap(), Duration::from_secs(10));
        assert!(parse_go_duration("10x").is_err());
    }
}
