//! The JSON endpoints (`/`, `/index.json`, `/search`, `/categories`,
//! `/package/{n}/{v}/`): content codings chosen from `Accept-Encoding`, ETags,
//! `If-None-Match`, and the response cache behind them (issue 5).

use std::io::Read;

use epr_server::{AppState, ServerConfig};
use epr_testkit::PackageBuilder;

use crate::fixture::{Answer, catalog, config, examples, get, send, state};

/// One URL per JSON endpoint; the first three bodies are over the compression threshold.
const JSON_URLS: [&str; 5] = [
    "/search?all=true",
    "/package/nginx_logs/1.0.0/",
    "/search",
    "/categories",
    "/index.json",
];

fn decode(answer: &Answer) -> Vec<u8> {
    let mut out = Vec::new();
    match answer.header("content-encoding") {
        None => out.extend_from_slice(&answer.body),
        Some("gzip") => {
            flate2::read::GzDecoder::new(&answer.body[..])
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("br") => {
            brotli::Decompressor::new(&answer.body[..], 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some(other) => panic!("unexpected coding {other}"),
    }
    out
}

async fn get_with(s: &AppState, uri: &str, headers: &[(&str, &str)]) -> Answer {
    send(s, "GET", uri, headers).await
}

fn etag(answer: &Answer) -> String {
    answer.header("etag").expect("an ETag").to_string()
}

#[tokio::test]
async fn without_accept_encoding_the_body_is_identity_with_vary_and_etag() {
    let s = state(&[examples()]);
    for url in JSON_URLS {
        let a = get(&s, url).await;
        assert_eq!(a.status, 200, "{url}");
        assert_eq!(a.header("content-encoding"), None, "{url}");
        assert_eq!(a.header("vary"), Some("Accept-Encoding"), "{url}");
        assert_eq!(a.header("content-type"), Some("application/json"));
        assert_eq!(a.all("cache-control"), ["max-age=1", "public"]);
        assert_eq!(a.header("access-control-allow-origin"), Some("*"));
        assert_eq!(a.header("content-length"), Some(&*a.body.len().to_string()));
        let tag = etag(&a);
        // A strong tag: 128 bits of SHA-256 in hex, quoted.
        assert_eq!(tag.len(), 34, "{tag}");
        assert!(tag.starts_with('"') && tag.ends_with('"'));
        assert!(tag[1..33].bytes().all(|b| b.is_ascii_hexdigit()));
    }
    // `/` and `/index.json` are the same document, hence the same tag.
    assert_eq!(
        etag(&get(&s, "/").await),
        etag(&get(&s, "/index.json").await)
    );
}

#[tokio::test]
async fn every_coding_decodes_to_the_identity_bytes() {
    let s = state(&[examples()]);
    for url in JSON_URLS {
        let identity = get(&s, url).await;
        let tag = etag(&identity);
        for (asked, token, suffix) in [("gzip", "gzip", "-gz"), ("br", "br", "-br")] {
            let a = get_with(&s, url, &[("accept-encoding", asked)]).await;
            assert_eq!(a.status, 200);
            assert_eq!(a.header("vary"), Some("Accept-Encoding"), "{url}");
            assert_eq!(decode(&a), identity.body, "{url} in {asked}");
            assert_eq!(a.header("content-length"), Some(&*a.body.len().to_string()));
            if identity.body.len() >= epr_server::encoding::MIN_COMPRESS_LEN {
                assert_eq!(a.header("content-encoding"), Some(token), "{url}");
                assert!(a.body.len() < identity.body.len() / 2, "{url}");
                assert_eq!(etag(&a), format!("{}{suffix}\"", &tag[..tag.len() - 1]));
            } else {
                // Too short to pay: sent as it is, with the identity tag.
                assert_eq!(a.header("content-encoding"), None, "{url}");
                assert_eq!(etag(&a), tag);
            }
        }
    }
    // The threshold is exercised on both sides.
    assert!(get(&s, JSON_URLS[0]).await.body.len() >= 1024);
    assert!(get(&s, "/categories").await.body.len() < 1024);
}

#[tokio::test]
async fn the_coding_follows_the_q_values() {
    let s = state(&[examples()]);
    let url = "/search?all=true";
    for (accept, expected) in [
        ("gzip, deflate, br", Some("br")),
        ("gzip", Some("gzip")),
        ("br;q=0.5, gzip;q=0.9", Some("gzip")),
        ("br;q=0, gzip", Some("gzip")),
        ("gzip;q=0, br;q=0", None),
        ("*", Some("br")),
        ("*;q=0.1, gzip", Some("gzip")),
        ("*;q=0", None),
        ("identity, gzip;q=0.5", None),
        ("deflate", None),
        ("", None),
    ] {
        let a = get_with(&s, url, &[("accept-encoding", accept)]).await;
        assert_eq!(a.header("content-encoding"), expected, "{accept:?}");
    }
}

#[tokio::test]
async fn if_none_match_gives_304_for_the_current_tag_only() {
    let s = state(&[examples()]);
    for url in JSON_URLS {
        for coding in ["identity", "gzip", "br"] {
            let accept = ("accept-encoding", coding);
            let tag = etag(&get_with(&s, url, &[accept]).await);
            for sent in [
                tag.clone(),
                format!("W/{tag}"),
                format!("\"x\", {tag}"),
                "*".into(),
            ] {
                let a = get_with(&s, url, &[accept, ("if-none-match", sent.as_str())]).await;
                assert_eq!(a.status, 304, "{url} {coding} {sent}");
                assert!(a.body.is_empty());
                assert_eq!(etag(&a), tag);
                assert_eq!(a.all("cache-control"), ["max-age=1", "public"]);
                assert_eq!(a.header("vary"), Some("Accept-Encoding"));
                assert_eq!(a.header("access-control-allow-origin"), Some("*"));
                assert_eq!(a.header("content-type"), None);
                assert_eq!(a.header("content-encoding"), None);
            }
            let stale = get_with(&s, url, &[accept, ("if-none-match", "\"0123\"")]).await;
            assert_eq!(stale.status, 200);
            assert_eq!(etag(&stale), tag);
        }
    }
    // The tag of another coding does not match: the client gets this coding's body.
    let url = "/search?all=true";
    let gzip_tag = etag(&get_with(&s, url, &[("accept-encoding", "gzip")]).await);
    let a = get_with(&s, url, &[("if-none-match", gzip_tag.as_str())]).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-encoding"), None);
    // HEAD: 304 as GET; otherwise the headers of GET with no body.
    let tag = etag(&get(&s, url).await);
    let head = send(&s, "HEAD", url, &[("if-none-match", tag.as_str())]).await;
    assert_eq!(head.status, 304);
    let head = send(&s, "HEAD", url, &[("accept-encoding", "br")]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-encoding"), Some("br"));
    let br = get_with(&s, url, &[("accept-encoding", "br")]).await;
    assert_eq!(head.header("content-length"), br.header("content-length"));
    // Other methods act like GET (the upstream routes them so) but get no 304.
    let post = send(&s, "POST", url, &[("if-none-match", tag.as_str())]).await;
    assert_eq!(post.status, 200);
    assert!(!post.body.is_empty());
}

#[tokio::test]
async fn errors_are_neither_cached_nor_changed() {
    let s = state(&[examples()]);
    for (url, status, text) in [
        (
            "/search?kibana.version=x",
            400,
            "invalid Kibana version 'x'",
        ),
        (
            "/package/nginx_logs/9.9.9/",
            404,
            "package revision not found\n",
        ),
        ("/package/nginx_logs/1.0/", 400, "invalid package version\n"),
    ] {
        for _ in 0..2 {
            let a = get_with(&s, url, &[("accept-encoding", "gzip, br")]).await;
            assert_eq!(a.status, status, "{url}");
            assert!(a.text().starts_with(text), "{url}: {}", a.text());
            assert_eq!(a.all("cache-control"), ["max-age=0", "private, no-store"]);
            assert_eq!(a.header("etag"), None);
            assert_eq!(a.header("vary"), None);
            assert_eq!(a.header("content-encoding"), None);
        }
    }
    assert_eq!(s.responses().stats().entries, 0);
}

/// A body is built once; each coding is compressed quickly for its first
/// request and at the best quality once the body is asked for again, then
/// never more.
#[tokio::test]
async fn bodies_and_compressions_are_made_once_per_catalog() {
    let s = state(&[examples()]);
    let url = "/search?all=true";
    let quick = get_with(&s, url, &[("accept-encoding", "gzip")]).await;
    assert!(quick.header("etag").unwrap().ends_with("-gz1\""));
    let first = get_with(&s, url, &[("accept-encoding", "gzip")]).await;
    assert!(first.header("etag").unwrap().ends_with("-gz\""));
    assert_eq!(decode(&first), decode(&quick));
    for _ in 0..5 {
        let again = get_with(&s, url, &[("accept-encoding", "gzip")]).await;
        assert_eq!(again.body, first.body);
        get(&s, url).await;
    }
    let stats = s.responses().stats();
    assert_eq!((stats.bodies_built, stats.compressions), (1, 2));
    for _ in 0..3 {
        get_with(&s, url, &[("accept-encoding", "br")]).await;
    }
    // Served before: brotli is made at the best quality at once.
    assert_eq!(s.responses().stats().compressions, 3);
    // The cache holds the very bytes it serves.
    let cache = s.responses();
    let catalog = s.catalog();
    let key = epr_server::cache::CacheKey::Search("all=true".into());
    let cached = cache.get(&catalog, &key).expect("cached");
    let (_, one, _) = cache.encoded(&cached, epr_server::encoding::Encoding::Gzip, true);
    let (_, two, _) = cache.encoded(&cached, epr_server::encoding::Encoding::Gzip, true);
    assert_eq!(one.as_ptr(), two.as_ptr());
    assert_eq!(one, first.body);
}

#[tokio::test]
async fn etags_are_stable_per_catalog_and_follow_a_swap() {
    let tmp = tempfile::tempdir().unwrap();
    PackageBuilder::new("one", "1.0.0").write_folder(tmp.path());
    let paths = [tmp.path().to_path_buf()];
    let s = state(&paths);
    let url = "/search?all=true";
    let before = etag(&get(&s, url).await);
    assert_eq!(etag(&get(&s, url).await), before);

    // The same packages again: the cache starts over, the tag is the same.
    s.swap_catalog(catalog(&paths));
    let a = get_with(&s, url, &[("if-none-match", before.as_str())]).await;
    assert_eq!(a.status, 304);
    assert_eq!(s.responses().stats().bodies_built, 2);

    // A new package: a new body and tag; the old tag is stale.
    PackageBuilder::new("two", "1.0.0").write_folder(tmp.path());
    s.swap_catalog(catalog(&paths));
    let a = get_with(&s, url, &[("if-none-match", before.as_str())]).await;
    assert_eq!(a.status, 200);
    assert_ne!(etag(&a), before);
    assert_eq!(a.json().as_array().unwrap().len(), 2);

    // update_catalog invalidates as well.
    let after_swap = etag(&a);
    s.update_catalog(|_| Ok::<_, ()>(catalog(&[examples()])))
        .unwrap();
    assert_ne!(etag(&get(&s, url).await), after_swap);
}

#[tokio::test]
async fn the_cache_stays_within_its_budget() {
    let budget = 32 * 1024;
    let s = AppState::new(
        ServerConfig {
            response_cache_bytes: budget,
            ..config()
        },
        catalog(&[examples()]),
    );
    let all = get(&s, "/search?all=true&kibana.version=7.0.0").await.body;
    // Distinct searches with the same large body, each with both codings.
    for i in 0..40 {
        let url = format!("/search?all=true&kibana.version=7.{i}.0");
        for coding in ["identity", "gzip", "br"] {
            let a = get_with(&s, &url, &[("accept-encoding", coding)]).await;
            assert_eq!(decode(&a), all);
        }
        let stats = s.responses().stats();
        assert!(stats.bytes <= budget, "{stats:?}");
    }
    let stats = s.responses().stats();
    assert!(stats.entries >= 1 && stats.entries < 40, "{stats:?}");
    // The newest entry is kept and served without being built again.
    let built = stats.bodies_built;
    get(&s, "/search?all=true&kibana.version=7.39.0").await;
    assert_eq!(s.responses().stats().bodies_built, built);
}

/// Queries that differ only in parameters the search ignores, or in their order,
/// share one body and its compressed forms: a client busting the cache with
/// them costs a parse each, not a search and a compression.
#[tokio::test]
async fn queries_that_parse_alike_share_one_body() {
    let s = state(&[examples()]);
    let br = [("accept-encoding", "br")];
    get_with(&s, "/search?all=true&prerelease=true", &br).await;
    let first = get_with(&s, "/search?all=true&prerelease=true", &br).await;
    for i in 0..40 {
        let url = match i % 2 {
            0 => format!("/search?prerelease=true&cb={i}&all=true"),
            _ => format!("/search?all=true&prerelease=true&cb={i}"),
        };
        let a = get_with(&s, &url, &br).await;
        assert_eq!(a.body, first.body, "{url}");
        assert_eq!(a.header("etag"), first.header("etag"));
    }
    // Built once; compressed quickly for its first request, then at the best.
    let stats = s.responses().stats();
    assert_eq!(
        (stats.bodies_built, stats.compressions),
        (1, 2),
        "{stats:?}"
    );
    // A repeated raw query is an alias: found without a parse, same body.
    let again = get_with(
        &s,
        "/search?all=true&prerelease=true&cb=3",
        &[("accept-encoding", "br")],
    )
    .await;
    assert_eq!(again.body, first.body);
    // An error is still answered for what it is, and nothing is kept for it.
    let bad = get(&s, "/search?all=true&prerelease=true&kibana.version=x").await;
    assert_eq!(bad.status, 400);
}
