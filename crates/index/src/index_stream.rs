//! Reading a `search-index-all.json` as it arrives, without holding the whole file.
//!
//! At 10,000 versions the file is about 280 MB, which is more than the registry's whole
//! memory budget, so the registry reads it in blocks: a structural scan of each block
//! finds where every item of the top-level `packages` array starts and ends (strings
//! and brackets only, at memory speed), and the items of one block are decoded in
//! parallel while the next block is read and scanned. Only the values the caller's
//! function returns are kept.
//!
//! The scan checks the structure the items sit in (the top-level object, its keys, the
//! array's brackets and commas); each item's own syntax is checked by the serde decoder
//! the caller runs on it, and every other top-level value is checked here the same way.
//! The rules are those of `crate::index_scan`: `packages` matched exactly, a second
//! `packages` refused, other keys skipped.

use std::io::Read;
use std::ops::Range;
use std::sync::mpsc;

use rayon::prelude::*;
use serde::de::IgnoredAny;

/// How much is read at a time. A block holds about 150 items of 28 KB, enough to keep
/// both cores busy; the reader holds three at once (the block being decoded, the one
/// waiting and the one being read).
const BLOCK: usize = 4 << 20;

/// One item of the `packages` array.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// Its place in the array, from 0.
    pub index: usize,
    /// Where its text starts in the file.
    pub offset: u64,
    /// Its JSON text.
    pub text: &'a [u8],
}

/// Why the file cannot be read as an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamError {
    /// Not JSON, or not an object at the top; says where.
    Syntax(String),
    NoPackages,
    /// `packages` is there but is not an array; says what it is.
    PackagesNotAnArray(String),
    /// Reading failed.
    Io(String),
}

/// `f` applied to every item of the `packages` array of the index that `reader` gives,
/// in parallel; the results in file order.
pub fn map_items<T, F>(reader: impl Read + Send, f: F) -> Result<Vec<T>, StreamError>
where
    T: Send,
    F: Fn(Item<'_>) -> T + Sync,
{
    let mut results = Vec::new();
    for_each_block(reader, f, |block| {
        results.extend(block);
        true
    })?;
    Ok(results)
}

/// `f` applied to every item of the `packages` array of the index that `reader` gives,
/// in parallel, block by block; `sink` takes each block's results in file order, and
/// stops the reading by returning `false`. Only a few blocks are held at once, so a
/// caller that does not keep the results (a publisher copying the index into a new
/// revision) reads any size of index in a few MB.
///
/// A thread of its own reads and scans the blocks, one ahead of the block being
/// decoded, so that the decoding does not wait for the next block to be read.
pub fn for_each_block<T, F>(
    reader: impl Read + Send,
    f: F,
    mut sink: impl FnMut(Vec<T>) -> bool,
) -> Result<(), StreamError>
where
    T: Send,
    F: Fn(Item<'_>) -> T + Sync,
{
    // One block waits while one is decoded; their buffers go back to the reader.
    let (scanned, blocks) = mpsc::sync_channel::<Block>(1);
    let (give_back, spare) = mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let reading = scope.spawn(move || read_blocks(reader, &scanned, &spare));
        let mut next = 0;
        let mut stopped = false;
        for block in blocks {
            let first = next;
            next += block.items.len();
            let results: Vec<T> = block
                .items
                .par_iter()
                .enumerate()
                .map(|(i, range)| {
                    f(Item {
                        index: first + i,
                        offset: block.base + range.start as u64,
                        text: &block.bytes[range.clone()],
                    })
                })
                .collect();
            // The reader may have stopped on an error; the buffer is then not needed.
            let _ = give_back.send(block.bytes);
            if !sink(results) {
                // Dropping `blocks` stops the reader at its next block.
                stopped = true;
                break;
            }
        }
        match reading.join() {
            // Stopped by the sink: what the reader says of the rest does not matter.
            Ok(_) if stopped => Ok(()),
            Ok(outcome) => outcome,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// A block of the file, scanned.
struct Block {
    bytes: Vec<u8>,
    /// Where `bytes` starts in the file.
    base: u64,
    /// The complete items in `bytes`.
    items: Vec<Range<usize>>,
}

/// Reads the file in blocks, scans each and sends it on; checks the whole file's shape
/// at its end. Stops early when the receiver is gone.
fn read_blocks(
    mut reader: impl Read,
    scanned: &mpsc::SyncSender<Block>,
    spare: &mpsc::Receiver<Vec<u8>>,
) -> Result<(), StreamError> {
    let mut scanner = Scanner::default();
    // The start of a token that the last block cut off.
    let mut cut: Vec<u8> = Vec::new();
    loop {
        // Buffers are reused: with a fresh buffer per block, a third of the CPU time at
        // 100,000 versions was the kernel's, faulting the new pages in and taking the
        // freed ones back.
        let mut bytes = spare.try_recv().unwrap_or_default();
        bytes.clear();
        bytes.reserve(cut.len() + BLOCK);
        bytes.extend_from_slice(&cut);
        // A token longer than a block: read until it ends.
        let want = (cut.len() + BLOCK).max(2 * cut.len());
        let eof = fill(&mut reader, &mut bytes, want)?;
        let mut items = Vec::new();
        let ready = scanner.scan(&bytes, eof, &mut items)?;
        cut.clear();
        cut.extend_from_slice(&bytes[ready..]);
        let base = scanner.base;
        scanner.base += ready as u64;
        if scanned.send(Block { bytes, base, items }).is_err() || eof {
            break;
        }
    }
    scanner.finish()
}

/// Reads until `buf` holds `want` bytes or the reader ends; says whether it ended.
fn fill(reader: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> Result<bool, StreamError> {
    let missing = want.saturating_sub(buf.len());
    let got = reader
        .take(missing as u64)
        .read_to_end(buf)
        .map_err(|e| StreamError::Io(e.to_string()))?;
    Ok(got < missing)
}

/// Where the scan is in the file's structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// Before the top-level `{`.
    #[default]
    Start,
    /// Expecting a key (`first`: or the closing `}`).
    Key {
        first: bool,
    },
    Colon {
        packages: bool,
    },
    Value {
        packages: bool,
    },
    /// In `packages`: expecting an item (`first`: or the closing `]`).
    Item {
        first: bool,
    },
    /// In `packages`, after an item: `,` or `]`.
    AfterItem,
    /// After a top-level value: `,` or `}`.
    AfterValue,
    /// After the top-level `}`: only whitespace may follow.
    End,
}

/// The structural scan: resumable at any token, so a block may end anywhere.
#[derive(Debug, Default)]
struct Scanner {
    state: State,
    /// File offset of the block being scanned.
    base: u64,
    seen_packages: bool,
    /// What `packages` was when it was not an array.
    packages_not_array: Option<String>,
}

/// Why a step stopped.
enum Fail {
    /// The block cuts the token off: scan again from its start with more bytes.
    Incomplete,
    Error(StreamError),
}

impl Scanner {
    /// Scans `block` token by token; pushes the ranges of complete items; gives how far
    /// the complete tokens go (the rest is scanned again with the next block).
    fn scan(
        &mut self,
        block: &[u8],
        eof: bool,
        items: &mut Vec<Range<usize>>,
    ) -> Result<usize, StreamError> {
        let mut pos = 0;
        loop {
            match self.step(block, pos, eof, items) {
                Ok(Some(next)) => pos = next,
                Ok(None) | Err(Fail::Incomplete) if !eof => return Ok(pos),
                Ok(None) => return Ok(pos),
                Err(Fail::Incomplete) => {
                    return Err(self.syntax(block.len(), "the file ends too early"));
                }
                Err(Fail::Error(e)) => return Err(e),
            }
        }
    }

    /// One token from `pos`: the position after it, or `None` at the end of the block.
    fn step(
        &mut self,
        b: &[u8],
        pos: usize,
        eof: bool,
        items: &mut Vec<Range<usize>>,
    ) -> Result<Option<usize>, Fail> {
        let at = skip_whitespace(b, pos);
        let Some(&c) = b.get(at) else {
            return if self.state == State::End || !eof {
                Ok(None)
            } else {
                Err(Fail::Incomplete)
            };
        };
        let fail = |s: &Scanner, what: &str| {
            Err(Fail::Error(
                s.syntax(at, &format!("{what}, found {}", show(c))),
            ))
        };
        let next = match (self.state, c) {
            (State::Start, b'{') => {
                self.state = State::Key { first: true };
                at + 1
            }
            (State::Start, _) => return fail(self, "expected `{` at the top"),
            (State::Key { first: true }, b'}') => {
                self.state = State::End;
                at + 1
            }
            (State::Key { .. }, b'"') => {
                let end = string_end(b, at)?;
                let key: String = match serde_json::from_slice(&b[at..end]) {
                    Ok(key) => key,
                    Err(e) => return Err(self.fail(at, &format!("bad key: {e}"))),
                };
                self.state = State::Colon {
                    packages: key == "packages",
                };
                end
            }
            (State::Key { .. }, _) => return fail(self, "expected a key"),
            (State::Colon { packages }, b':') => {
                self.state = State::Value { packages };
                at + 1
            }
            (State::Colon { .. }, _) => return fail(self, "expected `:`"),
            (State::Value { packages: true }, _) if self.seen_packages => {
                return Err(self.fail(at, "\"packages\" appears twice"));
            }
            (State::Value { packages: true }, b'[') => {
                self.seen_packages = true;
                self.state = State::Item { first: true };
                at + 1
            }
            (State::Value { packages }, _) => {
                let end = value_end(b, at, eof)?;
                if let Err(e) = serde_json::from_slice::<IgnoredAny>(&b[at..end]) {
                    return Err(self.fail(at, &format!("bad value: {e}")));
                }
                if packages {
                    self.seen_packages = true;
                    self.packages_not_array = Some(describe(&b[at..end]));
                }
                self.state = State::AfterValue;
                end
            }
            (State::Item { first: true }, b']') | (State::AfterItem, b']') => {
                self.state = State::AfterValue;
                at + 1
            }
            (State::AfterItem, b',') => {
                self.state = State::Item { first: false };
                at + 1
            }
            (State::AfterItem, _) => return fail(self, "expected `,` or `]` after an item"),
            (State::Item { .. }, _) => {
                let end = value_end(b, at, eof)?;
                items.push(at..end);
                self.state = State::AfterItem;
                end
            }
            (State::AfterValue, b',') => {
                self.state = State::Key { first: false };
                at + 1
            }
            (State::AfterValue, b'}') => {
                self.state = State::End;
                at + 1
            }
            (State::AfterValue, _) => return fail(self, "expected `,` or `}`"),
            (State::End, _) => return fail(self, "expected nothing after the top-level object"),
        };
        Ok(Some(next))
    }

    fn fail(&self, at: usize, what: &str) -> Fail {
        Fail::Error(self.syntax(at, what))
    }

    fn syntax(&self, at: usize, what: &str) -> StreamError {
        StreamError::Syntax(format!("at byte {}: {what}", self.base + at as u64))
    }

    /// Whether the file as a whole had the shape of an index.
    fn finish(self) -> Result<(), StreamError> {
        if self.state != State::End {
            return Err(StreamError::Syntax(format!(
                "at byte {}: the file ends too early",
                self.base
            )));
        }
        match (self.seen_packages, self.packages_not_array) {
            (false, _) => Err(StreamError::NoPackages),
            (true, Some(found)) => Err(StreamError::PackagesNotAnArray(found)),
            (true, None) => Ok(()),
        }
    }
}

fn skip_whitespace(b: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = b.get(pos) {
        pos += 1;
    }
    pos
}

/// The end (exclusive) of the string whose opening quote is at `start`.
fn string_end(b: &[u8], start: usize) -> Result<usize, Fail> {
    let mut pos = start + 1;
    loop {
        let found = memchr::memchr2(b'"', b'\\', &b[pos.min(b.len())..]).ok_or(Fail::Incomplete)?;
        let at = pos + found;
        if b[at] == b'"' {
            return Ok(at + 1);
        }
        pos = at + 2; // the escaped character cannot end the string
    }
}

/// The end (exclusive) of the value starting at `start`.
///
/// An object or array ends at the bracket that closes it, counted outside strings;
/// only its own kind of bracket is counted (in valid JSON the other kind is balanced
/// inside it), so the scan jumps from quote to bracket with `memchr3`. Invalid JSON
/// can end the value at the wrong place, which the decoder of the value then refuses.
/// A scalar ends at the next delimiter.
fn value_end(b: &[u8], start: usize, eof: bool) -> Result<usize, Fail> {
    let (open, close) = match b[start] {
        b'"' => return string_end(b, start),
        b'{' => (b'{', b'}'),
        b'[' => (b'[', b']'),
        _ => return scalar_end(b, start, eof),
    };
    let mut depth = 0usize;
    let mut pos = start;
    loop {
        let found = memchr::memchr3(b'"', open, close, &b[pos..]).ok_or(Fail::Incomplete)?;
        let at = pos + found;
        match b[at] {
            b'"' => {
                pos = string_end(b, at)?;
                continue;
            }
            c if c == open => depth += 1,
            _ => {
                depth -= 1;
                if depth == 0 {
                    return Ok(at + 1);
                }
            }
        }
        pos = at + 1;
    }
}

/// The end (exclusive) of a number, `true`, `false` or `null` starting at `start`.
fn scalar_end(b: &[u8], start: usize, eof: bool) -> Result<usize, Fail> {
    match b[start..]
        .iter()
        .position(|c| matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))
    {
        Some(len) => Ok(start + len),
        // A scalar at the very end of the file ends there.
        None if eof => Ok(b.len()),
        None => Err(Fail::Incomplete),
    }
}

/// What a value that should have been an array is, e.g. `found null`.
fn describe(text: &[u8]) -> String {
    let what = match text.first() {
        Some(b'{') => "an object",
        Some(b'"') => "a string",
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        _ => "a number",
    };
    format!("found {what}")
}

/// A byte for a message.
fn show(c: u8) -> String {
    if c.is_ascii_graphic() {
        format!("`{}`", c as char)
    } else {
        format!("byte 0x{c:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The items' texts, read in blocks of every size from 1 byte up.
    fn items(file: &str) -> Result<Vec<String>, StreamError> {
        map_items(file.as_bytes(), |item| {
            assert_eq!(
                &file.as_bytes()[item.offset as usize..][..item.text.len()],
                item.text
            );
            String::from_utf8(item.text.to_vec()).unwrap()
        })
    }

    /// The same scan with the file cut into `size`-byte blocks, to test resuming.
    fn items_in_blocks(file: &str, size: usize) -> Result<Vec<String>, StreamError> {
        let mut scanner = Scanner::default();
        let mut out = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        let bytes = file.as_bytes();
        let mut at = 0;
        loop {
            let end = (at + size).min(bytes.len());
            pending.extend_from_slice(&bytes[at..end]);
            at = end;
            let eof = at == bytes.len();
            let mut ranges = Vec::new();
            let ready = scanner.scan(&pending, eof, &mut ranges)?;
            for r in ranges {
                out.push(String::from_utf8(pending[r].to_vec()).unwrap());
            }
            scanner.base += ready as u64;
            pending.drain(..ready);
            if eof {
                break;
            }
        }
        scanner.finish()?;
        Ok(out)
    }

    #[test]
    fn finds_every_item_wherever_the_blocks_end() {
        let file = r#" {"cursor": {"a": [1, "}"]}, "packages" : [ {"package_manifest": {"name": "a\"]}"}} ,{"b":[{}]}, 3, "x\\"] , "n": -1.5e3 } "#;
        let want = [
            r#"{"package_manifest": {"name": "a\"]}"}}"#,
            r#"{"b":[{}]}"#,
            "3",
            r#""x\\""#,
        ];
        assert_eq!(items(file).unwrap(), want);
        for size in 1..file.len() + 1 {
            assert_eq!(
                items_in_blocks(file, size).unwrap(),
                want,
                "blocks of {size}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_an_index() {
        let syntax = |file: &str| match items(file) {
            Err(StreamError::Syntax(m)) => m,
            other => panic!("{file}: {other:?}"),
        };
        assert_eq!(syntax(""), "at byte 0: the file ends too early");
        assert_eq!(
            syntax("[]"),
            "at byte 0: expected `{` at the top, found `[`"
        );
        assert_eq!(
            syntax(r#"{"packages": [{}"#),
            "at byte 16: the file ends too early"
        );
        assert_eq!(
            syntax(r#"{"packages": [{} {}]}"#),
            "at byte 17: expected `,` or `]` after an item, found `{`"
        );
        assert_eq!(
            syntax(r#"{"packages": [], "packages": []}"#),
            "at byte 29: \"packages\" appears twice"
        );
        assert_eq!(
            syntax(r#"{"packages": []} x"#),
            "at byte 17: expected nothing after the top-level object, found `x`"
        );
        assert!(
            syntax(r#"{"other": [1,], "packages": []}"#).starts_with("at byte 10: bad value: ")
        );
        // Mismatched brackets are refused, if not always where they are.
        syntax(r#"{"other": [1,}, "packages": []}"#);
        syntax(r#"{"packages": [{"a": [}]}]}"#);
        assert_eq!(items("{}").unwrap_err(), StreamError::NoPackages);
        assert_eq!(
            items(r#"{"Packages": []}"#).unwrap_err(),
            StreamError::NoPackages
        );
        assert_eq!(
            items(r#"{"packages": null}"#).unwrap_err(),
            StreamError::PackagesNotAnArray("found null".into())
        );
        assert_eq!(
            items(r#"{"packages": {"a": []}}"#).unwrap_err(),
            StreamError::PackagesNotAnArray("found an object".into())
        );
        assert!(items(r#"{"packages": [], "other": 1}"#).unwrap().is_empty());
    }

    /// A file of many blocks, with an item longer than a block and items cut at block
    /// ends, read through the reading thread and its reused buffers.
    #[test]
    fn reads_a_file_of_many_blocks() {
        let mut want = Vec::new();
        for i in 0..4000 {
            // Items of 1 to 5 KB, and one of 1.5 blocks.
            let len = if i == 1234 {
                BLOCK * 3 / 2
            } else {
                1000 + (i * 997) % 4000
            };
            want.push(format!(r#"{{"i": {i}, "pad": "{}"}}"#, "x".repeat(len)));
        }
        let file = format!(r#"{{"packages": [{}], "cursor": "c"}}"#, want.join(","));
        assert!(file.len() > 4 * BLOCK);
        assert_eq!(items(&file).unwrap(), want);
    }

    /// A reader that fails after giving some bytes.
    struct Failing(usize);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("the disk is gone"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(b' ');
            self.0 -= n;
            Ok(n)
        }
    }

    #[test]
    fn reports_a_failed_read() {
        for after in [0, 10, BLOCK + 10] {
            assert_eq!(
                map_items(Failing(after), |_| ()).unwrap_err(),
                StreamError::Io("the disk is gone".into())
            );
        }
    }
}
