//! Content codings of JSON responses: choosing one from `Accept-Encoding`
//! (RFC 9110 §12.5.3) and compressing a body with it.
//!
//! We offer `br` and `gzip` besides `identity`. Among the codings the client
//! accepts, the highest `q` wins; on a tie the server prefers `br`, then `gzip`,
//! then `identity`. Without an `Accept-Encoding` field the answer is `identity`,
//! as the upstream registry always sends, so clients that ask for nothing get
//! the upstream's exact bytes.

use std::io::Write;

use bytes::Bytes;
use http::HeaderMap;
use http::header::ACCEPT_ENCODING;

/// A content coding of a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

/// Bodies shorter than this are sent as they are: below about a kilobyte the
/// saving is a few hundred bytes at most, less than a TCP segment, and gzip's
/// 18-byte frame can make very short bodies longer.
pub const MIN_COMPRESS_LEN: usize = 1024;

/// Brotli quality 9 and a 4 MiB window. On the real corpus's `/search` (253 KB,
/// a busy 2-core machine): quality 9 gives 21.4 KB in about 0.1 s, 11 gives
/// 19.6 KB in 2.3 s, 5 gives 22.8 KB in 0.025 s; gzip -9 gives 23.2 KB. A body is compressed on the request that
/// first asks for it, so bodies over [`BROTLI_LARGE`] get the faster quality 5
/// to keep that request short.
const BROTLI_QUALITY: u32 = 9;
const BROTLI_QUALITY_LARGE: u32 = 5;
const BROTLI_LARGE: usize = 1 << 20;
const BROTLI_LGWIN: u32 = 22;
/// The qualities of a body's first compression: a body asked for once (a new
/// query, perhaps a client busting the cache) is not worth the best one. Brotli 4
/// and gzip 4 take about a quarter of the time of 9 for a few percent more bytes.
const BROTLI_QUALITY_FIRST: u32 = 4;
const GZIP_LEVEL_FIRST: u32 = 4;

impl Encoding {
    /// The token of `Content-Encoding`; `None` for identity, which is not named.
    pub fn token(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Brotli => Some("br"),
        }
    }

    /// What is appended to the body's hash to make the ETag of this coding, so
    /// that every representation has its own strong validator.
    pub fn etag_suffix(self, best: bool) -> &'static str {
        match (self, best) {
            (Encoding::Identity, _) => "",
            (Encoding::Gzip, true) => "-gz",
            (Encoding::Brotli, true) => "-br",
            // The quick first compression has other bytes: its own validator.
            (Encoding::Gzip, false) => "-gz1",
            (Encoding::Brotli, false) => "-br1",
        }
    }

    /// The body in this coding, at the best quality or at the quick one of a
    /// first compression.
    pub fn compress(self, body: &[u8], best: bool) -> Bytes {
        match self {
            Encoding::Identity => Bytes::copy_from_slice(body),
            Encoding::Gzip => {
                let level = if best {
                    flate2::Compression::best()
                } else {
                    flate2::Compression::new(GZIP_LEVEL_FIRST)
                };
                let mut out =
                    flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), level);
                out.write_all(body).expect("writing to a Vec cannot fail");
                Bytes::from(out.finish().expect("writing to a Vec cannot fail"))
            }
            Encoding::Brotli => {
                let quality = if !best {
                    BROTLI_QUALITY_FIRST
                } else if body.len() > BROTLI_LARGE {
                    BROTLI_QUALITY_LARGE
                } else {
                    BROTLI_QUALITY
                };
                let mut out = brotli::CompressorWriter::new(
                    Vec::with_capacity(body.len() / 4),
                    64 * 1024,
                    quality,
                    BROTLI_LGWIN,
                );
                out.write_all(body).expect("writing to a Vec cannot fail");
                Bytes::from(out.into_inner())
            }
        }
    }
}

/// The quality values of `Accept-Encoding`, in thousandths (`q=0.5` is 500).
#[derive(Debug, Default)]
struct Accepted {
    br: Option<u16>,
    gzip: Option<u16>,
    identity: Option<u16>,
    any: Option<u16>,
}

/// Chooses the coding of a response from the request's `Accept-Encoding`
/// fields (all of them, as one list).
///
/// - no field: `identity`;
/// - a coding's weight is its own entry's `q`, else that of `*`, else 0; for
///   `identity`, absent from both, it is acceptable (RFC 9110 §12.5.3);
/// - `q=0` means "not acceptable"; an entry whose `q` cannot be parsed is ignored;
/// - if nothing is acceptable (`identity;q=0, *;q=0`), `identity` is sent all
///   the same: the RFC allows it, and a 406 would help no one.
pub fn negotiate(headers: &HeaderMap) -> Encoding {
    let mut fields = headers.get_all(ACCEPT_ENCODING).iter().peekable();
    if fields.peek().is_none() {
        return Encoding::Identity;
    }
    let mut accepted = Accepted::default();
    for field in fields {
        let Ok(field) = field.to_str() else { continue };
        for entry in field.split(',') {
            let mut parts = entry.split(';');
            let coding = parts.next().unwrap_or("").trim();
            if coding.is_empty() {
                continue;
            }
            let Some(q) = parse_weight(parts) else {
                continue;
            };
            let slot = match coding.to_ascii_lowercase().as_str() {
                "br" => &mut accepted.br,
                "gzip" | "x-gzip" => &mut accepted.gzip,
                "identity" => &mut accepted.identity,
                "*" => &mut accepted.any,
                _ => continue,
            };
            // A coding listed twice keeps its best weight.
            *slot = Some(slot.map_or(q, |old| old.max(q)));
        }
    }
    let weight_of = |own: Option<u16>| own.or(accepted.any).unwrap_or(0);
    let identity = match (accepted.identity, accepted.any) {
        (Some(q), _) => q,
        (None, Some(0)) => 0,
        // Identity is acceptable unless excluded; rank it below any listed coding.
        (None, _) => 1,
    };
    // Server preference breaks ties: the first of equal weights wins.
    let candidates = [
        (Encoding::Brotli, weight_of(accepted.br)),
        (Encoding::Gzip, weight_of(accepted.gzip)),
        (Encoding::Identity, identity),
    ];
    let mut best = (Encoding::Identity, 0);
    for (encoding, q) in candidates {
        if q > best.1 {
            best = (encoding, q);
        }
    }
    best.0
}

/// The `q` of an entry's parameters, 1000 when absent; `None` when malformed.
fn parse_weight<'a>(params: impl Iterator<Item = &'a str>) -> Option<u16> {
    let mut q = 1000;
    for param in params {
        let (name, value) = param.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("q") {
            q = parse_qvalue(value.trim())?;
        }
    }
    Some(q)
}

/// RFC 9110 §12.4.2: `0[.ddd]` or `1[.000]`, in thousandths.
fn parse_qvalue(s: &str) -> Option<u16> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = frac.bytes().chain(std::iter::repeat(b'0')).take(3);
    let frac = thousandths.fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'));
    match int {
        "0" => Some(frac),
        "1" if frac == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn choose(values: &[&str]) -> Encoding {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        negotiate(&headers)
    }

    #[test]
    fn without_the_header_identity() {
        assert_eq!(choose(&[]), Encoding::Identity);
        assert_eq!(choose(&[""]), Encoding::Identity);
    }

    #[test]
    fn server_preference_on_ties() {
        assert_eq!(choose(&["gzip, deflate, br"]), Encoding::Brotli);
        assert_eq!(choose(&["gzip"]), Encoding::Gzip);
        assert_eq!(choose(&["deflate, compress"]), Encoding::Identity);
        assert_eq!(choose(&["GZIP"]), Encoding::Gzip);
        assert_eq!(choose(&["x-gzip"]), Encoding::Gzip);
        assert_eq!(choose(&["zstd, br"]), Encoding::Brotli);
    }

    #[test]
    fn higher_q_wins() {
        assert_eq!(choose(&["br;q=0.5, gzip;q=0.8"]), Encoding::Gzip);
        assert_eq!(choose(&["br;q=0.5, gzip"]), Encoding::Gzip);
        assert_eq!(choose(&["identity, gzip;q=0.5"]), Encoding::Identity);
        assert_eq!(choose(&["gzip ; Q=0.9 , br;q=0.95"]), Encoding::Brotli);
        // Fields are one list.
        assert_eq!(choose(&["br;q=0.1", "gzip;q=0.2"]), Encoding::Gzip);
    }

    #[test]
    fn q_zero_excludes() {
        assert_eq!(choose(&["br;q=0, gzip"]), Encoding::Gzip);
        assert_eq!(choose(&["br;q=0.0, gzip;q=0.000"]), Encoding::Identity);
        assert_eq!(choose(&["gzip;q=0"]), Encoding::Identity);
    }

    #[test]
    fn star_covers_what_is_not_listed() {
        assert_eq!(choose(&["*"]), Encoding::Brotli);
        assert_eq!(choose(&["*;q=0.5, gzip"]), Encoding::Gzip);
        assert_eq!(choose(&["br;q=0, *"]), Encoding::Gzip);
        assert_eq!(choose(&["*;q=0"]), Encoding::Identity);
        assert_eq!(choose(&["*;q=0, identity"]), Encoding::Identity);
        assert_eq!(choose(&["gzip;q=0.2, identity;q=0"]), Encoding::Gzip);
        // Nothing acceptable: identity all the same.
        assert_eq!(choose(&["identity;q=0, *;q=0"]), Encoding::Identity);
    }

    #[test]
    fn malformed_entries_are_ignored() {
        assert_eq!(choose(&["br;q=2, gzip"]), Encoding::Gzip);
        assert_eq!(choose(&["br;q=0.5555, gzip;q=0.1"]), Encoding::Gzip);
        assert_eq!(choose(&["br;q, gzip;q=0.1"]), Encoding::Gzip);
        assert_eq!(choose(&["br;q=abc"]), Encoding::Identity);
        assert_eq!(choose(&[",,gzip,"]), Encoding::Gzip);
    }

    fn decode(encoding: Encoding, bytes: &[u8]) -> Vec<u8> {
        use std::io::Read;
        let mut out = Vec::new();
        match encoding {
            Encoding::Identity => out.extend_from_slice(bytes),
            Encoding::Gzip => {
                flate2::read::GzDecoder::new(bytes)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Encoding::Brotli => {
                brotli::Decompressor::new(bytes, 4096)
                    .read_to_end(&mut out)
                    .unwrap();
            }
        }
        out
    }

    #[test]
    fn codings_round_trip() {
        let small = "{\"name\": \"a\"},\n".repeat(100);
        // Over BROTLI_LARGE: the faster quality.
        let large: String = (0..80_000)
            .map(|i| format!("{{\"name\": \"p{i}\"}},\n"))
            .collect();
        assert!(large.len() > BROTLI_LARGE);
        for body in [small.as_bytes(), large.as_bytes()] {
            for encoding in [Encoding::Identity, Encoding::Gzip, Encoding::Brotli] {
                let coded = encoding.compress(body, true);
                assert_eq!(decode(encoding, &coded), body, "{encoding:?}");
                if encoding != Encoding::Identity {
                    assert!(coded.len() < body.len() / 4, "{encoding:?}");
                }
            }
        }
    }

    #[test]
    fn qvalues() {
        assert_eq!(parse_qvalue("1"), Some(1000));
        assert_eq!(parse_qvalue("1.000"), Some(1000));
        assert_eq!(parse_qvalue("1.001"), None);
        assert_eq!(parse_qvalue("0.5"), Some(500));
        assert_eq!(parse_qvalue("0.05"), Some(50));
        assert_eq!(parse_qvalue("0."), Some(0));
        assert_eq!(parse_qvalue(".5"), None);
        assert_eq!(parse_qvalue("-0"), None);
    }
}
