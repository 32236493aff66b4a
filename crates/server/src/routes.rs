//! The route table of the upstream registry (spec/api.md §1.1, §1.2).
//!
//! The upstream uses gorilla/mux with path cleaning and strict-slash redirects,
//! matches any HTTP method, and matches on the percent-decoded path. axum's
//! router does none of those the same way, so the whole table lives here, as one
//! function from a decoded path to a [`Route`].

/// A matched route with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Index,
    Search,
    Categories,
    Health,
    Favicon,
    Artifact {
        name: String,
        version: String,
    },
    Signature {
        name: String,
        version: String,
    },
    PackageInfo {
        name: String,
        version: String,
    },
    StaticFile {
        name: String,
        version: String,
        file: String,
    },
}

impl Route {
    /// The upstream's route template (gorilla/mux, regular expressions included): the
    /// `path` label of its HTTP metrics.
    pub fn template(&self) -> &'static str {
        match self {
            Route::Index => "/",
            Route::Search => "/search",
            Route::Categories => "/categories",
            Route::Health => "/health",
            Route::Favicon => "/favicon.ico",
            Route::Artifact { .. } => {
                "/epr/{packageName}/{packageName:[a-z0-9_]+}-{packageVersion}.zip"
            }
            Route::Signature { .. } => {
                "/epr/{packageName}/{packageName:[a-z0-9_]+}-{packageVersion}.zip.sig"
            }
            Route::PackageInfo { .. } => "/package/{packageName:[a-z0-9_]+}/{packageVersion}/",
            Route::StaticFile { .. } => "/package/{packageName}/{packageVersion}/{name:.*}",
        }
    }
}

/// A request's path, resolved once by the `observe` middleware (which needs its
/// template first) and handed to `dispatch`: a request extension.
#[derive(Debug, Clone)]
pub struct Routed(pub Resolution);

/// The route template `resolution` answers under: its route's, or for a strict-slash
/// redirect the route it leads to (as upstream); `None` for no route.
pub fn template_of(resolution: &Resolution) -> Option<&'static str> {
    match resolution {
        Resolution::Serve(route) => Some(route.template()),
        Resolution::StrictSlash(to) => match resolve(to) {
            Resolution::Serve(route) => Some(route.template()),
            _ => None,
        },
        Resolution::Clean(_) | Resolution::NotFound => None,
    }
}

/// What to do with a request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Serve this route.
    Serve(Route),
    /// The path is not canonical: 301 to this path, without CORS (§1.2 step 1).
    Clean(String),
    /// The trailing slash is the wrong way round: 301 to this path, with CORS.
    StrictSlash(String),
    NotFound,
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Go's `path.Clean`, keeping a trailing slash as gorilla/mux does.
pub fn clean(path: &str) -> String {
    let mut out = epr_package::manifest_parts::clean_path(path);
    if path.ends_with('/') && out != "/" {
        out.push('/');
    }
    out
}

/// Whether [`clean`] leaves `path` as it is, told without building the cleaned
/// path (the common case, on every request): rooted, and no segment empty, `.` or
/// `..` but a last empty one (a trailing slash).
fn is_clean(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let mut segments = rest.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        if segment == "." || segment == ".." || (segment.is_empty() && !last) {
            return false;
        }
    }
    true
}

/// Splits `{name}-{version}` followed by `suffix`, as the route regex does: the
/// name is the longest `[a-z0-9_]+` prefix followed by `-`.
fn name_version(file: &str, suffix: &str) -> Option<(String, String)> {
    let stem = file.strip_suffix(suffix)?;
    let dash = stem.find('-')?;
    let (name, version) = (&stem[..dash], &stem[dash + 1..]);
    (is_name(name) && !version.is_empty()).then(|| (name.to_string(), version.to_string()))
}

/// Resolves a percent-decoded request path.
pub fn resolve(path: &str) -> Resolution {
    if !is_clean(path) {
        let with_root = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        let cleaned = clean(&with_root);
        if cleaned != path {
            return Resolution::Clean(cleaned);
        }
    }
    let slash = path.len() > 1 && path.ends_with('/');
    let bare = if slash { &path[..path.len() - 1] } else { path };

    let fixed = match bare {
        "" | "/" => Some(Route::Index),
        "/index.json" => Some(Route::Index),
        "/search" => Some(Route::Search),
        "/categories" => Some(Route::Categories),
        "/health" => Some(Route::Health),
        "/favicon.ico" => Some(Route::Favicon),
        _ => None,
    };
    if let Some(route) = fixed {
        return if slash {
            Resolution::StrictSlash(bare.to_string())
        } else {
            Resolution::Serve(route)
        };
    }

    let segments: Vec<&str> = bare.split('/').collect();
    // /epr/{any}/{name}-{version}.zip and .zip.sig
    if segments.len() == 4
        && segments[0].is_empty()
        && segments[1] == "epr"
        && !segments[2].is_empty()
    {
        let file = segments[3];
        let route = if let Some((name, version)) = name_version(file, ".zip.sig") {
            Some(Route::Signature { name, version })
        } else {
            name_version(file, ".zip").map(|(name, version)| Route::Artifact { name, version })
        };
        if let Some(route) = route {
            return if slash {
                Resolution::StrictSlash(bare.to_string())
            } else {
                Resolution::Serve(route)
            };
        }
    }
    // /package/{name}/{version}/ and /package/{any}/{version}/{file...}
    if segments.len() >= 4 && segments[0].is_empty() && segments[1] == "package" {
        let (name, version) = (segments[2], segments[3]);
        if segments.len() == 4 && is_name(name) && !version.is_empty() {
            return if slash {
                Resolution::Serve(Route::PackageInfo {
                    name: name.into(),
                    version: version.into(),
                })
            } else {
                Resolution::StrictSlash(format!("{bare}/"))
            };
        }
        if !name.is_empty() && !version.is_empty() && (segments.len() > 4 || slash) {
            let file = segments[4..].join("/");
            return if slash {
                Resolution::StrictSlash(bare.to_string())
            } else {
                Resolution::Serve(Route::StaticFile {
                    name: name.into(),
                    version: version.into(),
                    file,
                })
            };
        }
    }
    Resolution::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `is_clean` agrees with `clean` on every path of up to four segments made of
    /// the pieces that matter (empty, `.`, `..`, a name), rooted or not.
    #[test]
    fn is_clean_agrees_with_clean() {
        let pieces = ["", ".", "..", "a", "b.c"];
        let mut paths = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = paths
                .iter()
                .flat_map(|p| pieces.iter().map(move |x| format!("{p}/{x}")))
                .collect();
            paths.extend(longer);
        }
        let unrooted: Vec<String> = paths.iter().map(|p| format!("x{p}")).collect();
        paths.extend(unrooted);
        assert!(paths.len() > 1500);
        for path in &paths {
            let cleaned = path.starts_with('/') && clean(path) == *path;
            assert_eq!(is_clean(path), cleaned, "{path:?}");
        }
    }

    fn serve(path: &str) -> Route {
        match resolve(path) {
            Resolution::Serve(r) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn matches_the_route_table() {
        assert_eq!(serve("/"), Route::Index);
        assert_eq!(serve("/index.json"), Route::Index);
        assert_eq!(
            serve("/epr/whatever/example-1.0.1.zip"),
            Route::Artifact {
                name: "example".into(),
                version: "1.0.1".into()
            }
        );
        assert_eq!(
            serve("/epr/x/example-1.0.1.zip.sig"),
            Route::Signature {
                name: "example".into(),
                version: "1.0.1".into()
            }
        );
        assert_eq!(
            serve("/package/example/1.0.0/"),
            Route::PackageInfo {
                name: "example".into(),
                version: "1.0.0".into()
            }
        );
        assert_eq!(
            serve("/package/Foo/1.0.0/img/a b.png"),
            Route::StaticFile {
                name: "Foo".into(),
                version: "1.0.0".into(),
                file: "img/a b.png".into()
            }
        );
        assert_eq!(resolve("/nope"), Resolution::NotFound);
        assert_eq!(resolve("/epr/example-1.0.0.zip"), Resolution::NotFound);
    }

    #[test]
    fn redirects_like_gorilla() {
        assert_eq!(
            resolve("/search/"),
            Resolution::StrictSlash("/search".into())
        );
        assert_eq!(
            resolve("/package/example/1.0.0"),
            Resolution::StrictSlash("/package/example/1.0.0/".into())
        );
        assert_eq!(
            resolve("/package/x/1.0.0/docs/"),
            Resolution::StrictSlash("/package/x/1.0.0/docs".into())
        );
        assert_eq!(
            resolve("/package/Foo/1.0.0/"),
            Resolution::StrictSlash("/package/Foo/1.0.0".into())
        );
        assert_eq!(resolve("/package/Foo/1.0.0"), Resolution::NotFound);
        assert_eq!(resolve("//search"), Resolution::Clean("/search".into()));
        assert_eq!(
            resolve("/a/../search/"),
            Resolution::Clean("/search/".into())
        );
    }
}
