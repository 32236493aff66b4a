//! `v2/metadata/cursor.json`: the pointer to the current index revision
//! (spec/storage-and-publishing.md §2.3), and how the next revision is named.
//!
//! Readers compare cursors as strings to order revisions (§3.4), so ours are fixed
//! width decimal numbers: the larger of "previous + 1" and the current Unix time in
//! milliseconds, zero-padded to 20 digits. Two writers on machines whose clocks
//! disagree still produce strictly increasing cursors, because each new cursor is
//! derived from the one it replaces.

use serde_json::Value;

/// Width of our cursors: enough for any u64.
const WIDTH: usize = 20;

/// `cursor.json` could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("v2/metadata/cursor.json: {0}")]
pub struct CursorError(String);

/// Reads `{"current": "..."}`; other keys are ignored, as upstream does.
pub fn parse(bytes: &[u8]) -> Result<String, CursorError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| CursorError(format!("not valid JSON: {e}")))?;
    match value.get("current") {
        Some(Value::String(s)) if is_usable(s) => Ok(s.clone()),
        Some(Value::String(s)) => Err(CursorError(format!(
            "\"current\" is {s:?}, which cannot name a folder"
        ))),
        Some(other) => Err(CursorError(format!(
            "\"current\" must be a string, found {other}"
        ))),
        None => Err(CursorError("no \"current\" key".into())),
    }
}

/// The cursor is used verbatim as a folder name: refuse what would escape it.
fn is_usable(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/') && !s.contains('\\')
}

/// The bytes of `cursor.json` pointing at `cursor`.
pub fn render(cursor: &str) -> Vec<u8> {
    format!("{{\"current\": \"{cursor}\"}}\n").into_bytes()
}

/// The cursor of the revision after `previous`, at time `now_millis`.
///
/// A previous cursor that is not one of ours (not all digits) cannot be continued
/// in order; the new cursor is then the time alone (such buckets come from other
/// tools; upstream's full sync, its default, does not compare cursors).
pub fn next(previous: Option<&str>, now_millis: u64) -> String {
    let after_previous = previous
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|p| p.parse::<u64>().ok())
        .map(|p| p.saturating_add(1));
    let n = after_previous.map_or(now_millis, |p| p.max(now_millis));
    let width = previous.map_or(WIDTH, |p| p.len().max(WIDTH));
    format!("{n:0width$}")
}

/// Whether revision `a` comes before revision `b`. Readers compare cursors as strings
/// (§3.4); ours are fixed width, so shorter ones (of other tools) come first.
pub fn is_before(a: &str, b: &str) -> bool {
    (a.len(), a) < (b.len(), b)
}

/// The current Unix time in milliseconds.
pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_upstream_form() {
        assert_eq!(parse(br#"{"current":"1"}"#).unwrap(), "1");
        assert_eq!(
            parse(b"{\"current\": \"00000001763712000000\", \"x\": 1}").unwrap(),
            "00000001763712000000"
        );
    }

    #[test]
    fn refuses_what_is_not_a_cursor() {
        for bad in [
            &b"nope"[..],
            br#"{"current": 1}"#,
            br#"{}"#,
            br#"{"current": ""}"#,
            br#"{"current": "../x"}"#,
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("v2/metadata/cursor.json: "), "{e}");
        }
    }

    #[test]
    fn next_cursors_increase_as_strings() {
        let first = next(None, 1_763_712_000_000);
        assert_eq!(first, "00000001763712000000");
        // The clock went backwards: still after the previous one.
        let second = next(Some(&first), 5);
        assert_eq!(second, "00000001763712000001");
        assert!(second > first);
        // The clock moved on: follow it.
        let third = next(Some(&second), 1_763_712_999_000);
        assert!(third > second);
        assert_eq!(third.len(), 20);
    }

    #[test]
    fn a_foreign_cursor_is_followed_by_the_time() {
        assert_eq!(next(Some("abc"), 7), "00000000000000000007");
    }

    #[test]
    fn render_round_trips() {
        assert_eq!(parse(&render("0042")).unwrap(), "0042");
    }
}
