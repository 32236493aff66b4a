//! Query parameters of `/search` and `/categories`: parsing, validation and the
//! exact error texts of the upstream (spec/api.md §2, §3.4, §3.5).

use epr_package::go_text::go_quote;
use epr_package::version::Version;

/// A `discovery=fields:a,b` or `discovery=datasets:a,b` filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discovery {
    Fields(Vec<String>),
    Datasets(Vec<String>),
}

/// The filters of one query. `None`/empty means "not given".
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub kibana: Option<Version>,
    pub agent: Option<Version>,
    pub category: Option<String>,
    pub package: Option<String>,
    pub kind: Option<String>,
    pub capabilities: Option<Vec<String>>,
    pub spec_min: Option<Version>,
    pub spec_max: Option<Version>,
    pub all: bool,
    pub prerelease: bool,
    /// The deprecated `experimental=true`: the legacy algorithm (§5.4).
    pub experimental: bool,
    pub discovery: Vec<Discovery>,
    /// `/categories` only.
    pub include_policy_templates: bool,
}

/// Which endpoint a query is for; they accept different keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Search,
    Categories,
}

const SEARCH_KEYS: &[&str] = &[
    "kibana.version",
    "agent.version",
    "category",
    "package",
    "type",
    "capabilities",
    "spec.min",
    "spec.max",
    "all",
    "prerelease",
    "experimental",
    "discovery",
    "internal",
];
const CATEGORIES_KEYS: &[&str] = &[
    "kibana.version",
    "agent.version",
    "prerelease",
    "experimental",
    "capabilities",
    "spec.min",
    "spec.max",
    "discovery",
    "include_policy_templates",
];

/// A query parameter was invalid; the text is the upstream's 400 body (without `\n`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

/// Splits a raw query string as Go's `url.ParseQuery` does: `&`-separated pairs,
/// `+` is a space, percent-decoding; pairs with `;` or a bad escape are dropped.
pub fn parse_pairs(raw: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for pair in raw.split('&') {
        if pair.is_empty() || pair.contains(';') {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if let (Some(k), Some(v)) = (unescape(k), unescape(v)) {
            out.push((k, v));
        }
    }
    out
}

fn unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn parse_bool(key: &str, value: &str) -> Result<bool, QueryError> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(QueryError(format!(
            "invalid '{key}' query param: '{value}'"
        ))),
    }
}

fn parse_spec(key: &str, value: &str) -> Result<Version, QueryError> {
    if value.split('.').count() != 2 {
        return Err(QueryError(format!(
            "invalid '{key}' version: invalid version '{value}': it should be <major.version>"
        )));
    }
    Version::parse(value).map_err(|e| {
        QueryError(format!(
            "invalid '{key}' version: invalid spec version '{value}': {e}"
        ))
    })
}

fn parse_discovery(value: &str) -> Result<Discovery, QueryError> {
    let err = |detail: String| {
        QueryError(format!(
            "invalid 'discovery' query param: '{value}': {detail}"
        ))
    };
    let (kind, list) = value
        .split_once(':')
        .ok_or_else(|| err(format!("could not parse filter \"{value}\"")))?;
    let items: Vec<String> = list.split(',').map(str::to_string).collect();
    match kind {
        "fields" => Ok(Discovery::Fields(items)),
        "datasets" => Ok(Discovery::Datasets(items)),
        other => Err(err(format!("unknown discovery filter \"{other}\""))),
    }
}

/// Parses the pairs of one request. Keys are processed in the order they first
/// appear, so that with several bad parameters the answer is deterministic (the
/// upstream picks one at random).
pub fn parse_filter(
    pairs: &[(String, String)],
    endpoint: Endpoint,
    allow_unknown: bool,
) -> Result<Filter, QueryError> {
    let known = match endpoint {
        Endpoint::Search => SEARCH_KEYS,
        Endpoint::Categories => CATEGORIES_KEYS,
    };
    let mut f = Filter::default();
    let mut seen: Vec<&str> = Vec::new();
    let mut include_policy_templates = None;
    for (key, value) in pairs {
        if key == "discovery" && known.contains(&"discovery") {
            if value.is_empty() {
                return Err(QueryError(
                    "invalid 'discovery' query param: '': could not parse filter \"\"".into(),
                ));
            }
            f.discovery.push(parse_discovery(value)?);
            continue;
        }
        if seen.contains(&key.as_str()) {
            continue; // only the first value of a key counts
        }
        seen.push(key);
        if !known.contains(&key.as_str()) {
            if allow_unknown {
                continue;
            }
            return Err(QueryError(format!(
                "unknown query parameter: {}",
                go_quote(key)
            )));
        }
        if value.is_empty() {
            continue; // an empty value means "not given"
        }
        match key.as_str() {
            "kibana.version" => {
                f.kibana =
                    Some(Version::parse(value).map_err(|e| {
                        QueryError(format!("invalid Kibana version '{value}': {e}"))
                    })?)
            }
            "agent.version" => {
                f.agent = Some(
                    Version::parse(value)
                        .map_err(|e| QueryError(format!("invalid agent version '{value}': {e}")))?,
                )
            }
            "category" => f.category = Some(value.clone()),
            "package" => f.package = Some(value.clone()),
            "type" => f.kind = Some(value.clone()),
            "capabilities" => f.capabilities = Some(value.split(',').map(str::to_string).collect()),
            "spec.min" => f.spec_min = Some(parse_spec(key, value)?),
            "spec.max" => f.spec_max = Some(parse_spec(key, value)?),
            "all" => f.all = parse_bool(key, value)?,
            "prerelease" => f.prerelease = parse_bool(key, value)?,
            "experimental" => f.experimental = parse_bool(key, value)?,
            "include_policy_templates" => include_policy_templates = Some(value.clone()),
            _ => {} // `internal`: accepted and ignored
        }
    }
    // Validated after every other parameter, as upstream does.
    if let Some(v) = include_policy_templates {
        f.include_policy_templates = parse_bool("include_policy_templates", &v)?;
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str, endpoint: Endpoint, allow_unknown: bool) -> Result<Filter, QueryError> {
        parse_filter(&parse_pairs(q), endpoint, allow_unknown)
    }

    #[test]
    fn parses_pairs_like_go() {
        assert_eq!(
            parse_pairs("a=1&b=x+y&c&d=%zz&e=1;2&f=%41"),
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), "x y".to_string()),
                ("c".to_string(), String::new()),
                ("f".to_string(), "A".to_string()),
            ]
        );
    }

    #[test]
    fn reports_upstream_errors() {
        let e = |q| parse(q, Endpoint::Search, true).unwrap_err().0;
        assert_eq!(
            e("experimental=foo"),
            "invalid 'experimental' query param: 'foo'"
        );
        assert_eq!(
            e("spec.max=2.10.1"),
            "invalid 'spec.max' version: invalid version '2.10.1': it should be <major.version>"
        );
        assert_eq!(
            e("discovery="),
            "invalid 'discovery' query param: '': could not parse filter \"\""
        );
        assert_eq!(
            e("discovery=foo:bar"),
            "invalid 'discovery' query param: 'foo:bar': unknown discovery filter \"foo\""
        );
        assert_eq!(
            parse("unknown=true", Endpoint::Search, false)
                .unwrap_err()
                .0,
            "unknown query parameter: \"unknown\""
        );
        assert_eq!(
            parse("all=true", Endpoint::Categories, false)
                .unwrap_err()
                .0,
            "unknown query parameter: \"all\""
        );
    }

    #[test]
    fn empty_values_and_repeats() {
        let f = parse("prerelease=&all=true&all=false", Endpoint::Search, true).unwrap();
        assert!(!f.prerelease);
        assert!(f.all);
    }
}
