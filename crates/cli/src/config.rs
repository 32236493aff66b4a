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

    /// Path to the configuration file [default: config.yml]. A file named here must
    /// exist; without this option a missing config.yml means no package paths.
    #[arg(long, env = "EPR_CONFIG")]
    pub config: Option<PathBuf>,

    /// Log level: debug, info, warn or error.
    #[arg(long, env = "EPR_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Log format: `ecs` (JSON lines) or `dev` (human readable).
    #[arg(long, env = "EPR_LOG_TYPE", default_value = "ecs", value_parser = ["ecs", "dev"])]
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

    /// How long the registry keeps following deltas after the revision it loaded in
    /// full was superseded, before it loads the current full index again (Go
    /// duration). Must be shorter than the bucket's retention (`storage gc
    /// --keep-for`, 24h by default); ours, not upstream's.
    #[arg(long, env = "EPR_STORAGE_INDEXER_REBASE_AFTER", default_value = "1h", value_parser = |s: &str| parse_go_duration(s).map_err(|e| e.to_string()))]
    pub storage_indexer_rebase_after: Duration,

    /// Certificate chain (PEM) to serve HTTPS with; needs --tls-key. Both files are
    /// read again when they change, without a restart.
    #[arg(long, env = "EPR_TLS_CERT", default_value = "")]
    pub tls_cert: String,

    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, env = "EPR_TLS_KEY", default_value = "")]
    pub tls_key: String,

    /// Lowest TLS version accepted: 1.2 or 1.3 (1.0 and 1.1 are refused: this server
    /// speaks TLS 1.2 and 1.3 only). Needs --tls-cert and --tls-key.
    #[arg(long, env = "EPR_TLS_MIN_VERSION", default_value = "")]
    pub tls_min_version: String,

    /// Address of a second, plain-HTTP listener serving Prometheus metrics at /metrics
    /// (empty: no metrics).
    #[arg(long, env = "EPR_METRICS_ADDRESS", default_value = "")]
    pub metrics_address: String,

    /// The upstream's Go pprof listener. Accepted so that its deployments start;
    /// there is no pprof here, and a warning says so.
    #[arg(long, env = "EPR_HTTPPROF", default_value = "")]
    pub httpprof: String,

    /// Upstream: cache /search answers of the SQL storage indexer. Here every JSON answer
    /// is always cached per catalog; accepted (with the upstream's checks) for compatibility.
    #[arg(long, env = "EPR_FEATURE_ENABLE_SEARCH_CACHE", default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = parse_go_bool)]
    pub feature_enable_search_cache: bool,

    /// Upstream: cache /categories answers of the SQL storage indexer; as
    /// --feature-enable-search-cache.
    #[arg(long, env = "EPR_FEATURE_ENABLE_CATEGORIES_CACHE", default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = parse_go_bool)]
    pub feature_enable_categories_cache: bool,

    /// A connection that has not sent a whole request head this long after its first
    /// byte (or after the TLS handshake began) is closed: slow-header clients cannot
    /// hold connections. Go duration.
    #[arg(long, env = "EPR_READ_HEADER_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    pub read_header_timeout: Duration,

    /// A connection with no request in flight and no traffic this long is closed.
    /// Go duration.
    #[arg(long, env = "EPR_IDLE_TIMEOUT", default_value = "60s", value_parser = positive_duration)]
    pub idle_timeout: Duration,

    /// Connections served at once, per listener; more wait in the kernel's accept
    /// queue. Lowered at startup to fit the open-files limit (ulimit -n).
    #[arg(long, env = "EPR_MAX_CONNECTIONS", default_value = "4096", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// On SIGTERM or SIGINT, how long requests in flight may take to finish before the
    /// server exits anyway. Go duration.
    #[arg(long, env = "EPR_SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = |s: &str| parse_go_duration(s).map_err(|e| e.to_string()))]
    pub shutdown_timeout: Duration,

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

/// `EPR_*` variables that are read elsewhere than in the options, or that the
/// upstream reads and this registry knowingly does not, with why.
const OTHER_ENV: &[(&str, Option<&str>)] = &[
    (crate::sign::PASSPHRASE_ENV, None),
    (
        "EPR_EMULATOR_INDEX_PATH",
        Some(
            "the upstream's in-process bucket emulator is not needed here: serve the index's folder with --storage-indexer-bucket-internal file:///path",
        ),
    ),
    ("EPR_SQL_INDEXER_DATABASE_FOLDER_PATH", Some(SQL_UNUSED)),
    ("EPR_SQL_INDEXER_SEARCH_CACHE_SIZE", Some(SQL_UNUSED)),
    ("EPR_SQL_INDEXER_SEARCH_CACHE_TTL", Some(SQL_UNUSED)),
    ("EPR_SQL_INDEXER_CATEGORIES_CACHE_SIZE", Some(SQL_UNUSED)),
    ("EPR_SQL_INDEXER_CATEGORIES_CACHE_TTL", Some(SQL_UNUSED)),
    ("EPR_SQL_INDEXER_DB_INSERT_BATCH_SIZE", Some(SQL_UNUSED)),
    ("EPR_SQL_INDEXER_READ_PACKAGES_BATCH_SIZE", Some(SQL_UNUSED)),
];

const SQL_UNUSED: &str =
    "the SQL storage indexer's database settings are not used: its indexer is the in-memory one";

/// The `EPR_*` variables of the options of `command` and its subcommands.
pub fn option_env_names(command: &clap::Command) -> Vec<String> {
    let mut names: Vec<String> = command
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .collect();
    for sub in command.get_subcommands() {
        names.extend(option_env_names(sub));
    }
    names
}

/// A warning for each `EPR_*` variable in `vars` that no option reads, so that a typo
/// or an option of a newer upstream is never silently dropped.
pub fn env_warnings(
    option_names: &[String],
    vars: impl Iterator<Item = (String, String)>,
) -> Vec<String> {
    let mut warnings: Vec<String> = vars
        .filter(|(name, _)| name.starts_with("EPR_") && !option_names.contains(name))
        .filter_map(
            |(name, _)| match OTHER_ENV.iter().find(|(n, _)| *n == name) {
                Some((_, None)) => None,
                Some((_, Some(why))) => Some(format!("{name} is ignored: {why}")),
                None => Some(format!(
                    "{name} is not a setting of this registry and is ignored (see --help)"
                )),
            },
        )
        .collect();
    warnings.sort();
    warnings
}

/// The configuration file read when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "config.yml";

/// What `config.yml` holds.
#[derive(Debug, Clone, PartialEq)]
pub struct FileConfig {
    pub package_paths: Vec<PathBuf>,
    pub cache_index: Duration,
    pub cache_search: Duration,
    pub cache_categories: Duration,
    pub cache_catch_all: Duration,
    /// Keys this registry does not know, with their lines: warned about at startup.
    pub unknown_keys: Vec<(String, usize)>,
}

/// The keys of the upstream's `config.yml`. The SQL indexer's own keys are known and
/// unused: here the SQL storage indexer is the in-memory one.
pub const CONFIG_KEYS: &[&str] = &[
    "package_paths",
    "cache_time.index",
    "cache_time.search",
    "cache_time.categories",
    "cache_time.catch_all",
    "sql_indexer.database_folder_path",
    "search.cache_size",
    "search.cache_ttl",
    "categories.cache_size",
    "categories.cache_ttl",
];

impl Default for FileConfig {
    fn default() -> Self {
        FileConfig {
            package_paths: Vec::new(),
            cache_index: Duration::from_secs(10),
            cache_search: Duration::from_secs(600),
            cache_categories: Duration::from_secs(600),
            cache_catch_all: Duration::from_secs(600),
            unknown_keys: Vec::new(),
        }
    }
}

impl FileConfig {
    /// Reads `config.yml`. Keys are flat and literal (`cache_time.index: 10s`); the
    /// nested form is not recognised, as upstream. Unknown keys are ignored.
    /// Reads `--config`; without it, `config.yml` in the working directory if there is
    /// one (the upstream requires it; here the README's bucket command runs anywhere).
    pub fn load_given(path: Option<&Path>) -> anyhow::Result<FileConfig> {
        match path {
            Some(path) => Self::load(path),
            None if Path::new(DEFAULT_CONFIG).exists() => Self::load(Path::new(DEFAULT_CONFIG)),
            None => {
                tracing::info!(
                    "no {DEFAULT_CONFIG} in the working directory: no package paths, default cache times"
                );
                Ok(FileConfig::default())
            }
        }
    }

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
        if let Value::Map(entries) = &doc.value {
            config.unknown_keys = entries
                .iter()
                .filter(|(key, _)| !CONFIG_KEYS.contains(&key.as_str()))
                .map(|(key, node)| (key.clone(), node.line))
                .collect();
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

/// A Go duration greater than zero.
fn positive_duration(s: &str) -> Result<Duration, String> {
    match parse_go_duration(s) {
        Ok(d) if d.is_zero() => Err("must be greater than 0s".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
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
    fn warns_about_unknown_epr_variables() {
        let known = vec!["EPR_ADDRESS".to_string()];
        let vars = [
            ("EPR_ADDRESS", "x"),
            ("EPR_ADRESS", "x"),
            ("PATH", "/bin"),
            ("EPR_SQL_INDEXER_SEARCH_CACHE_TTL", "1h"),
            ("EPR_SIGNER_PASSPHRASE", "secret"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let warnings = env_warnings(&known, vars.into_iter());
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].starts_with("EPR_ADRESS is not a setting"),
            "{warnings:?}"
        );
        assert!(warnings[1].starts_with("EPR_SQL_INDEXER_SEARCH_CACHE_TTL is ignored"));
    }

    #[test]
    fn names_unknown_keys_with_their_lines() {
        let c = FileConfig::parse(
            "package_paths: []\ncache_time.idnex: 1s\nsearch.cache_size: 5\ncache_time:\n  index: 1s\n",
        )
        .unwrap();
        // A map's line is the one its value starts on.
        assert_eq!(
            c.unknown_keys,
            vec![
                ("cache_time.idnex".to_string(), 2),
                ("cache_time".to_string(), 5)
            ]
        );
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
