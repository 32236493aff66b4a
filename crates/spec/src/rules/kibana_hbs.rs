//! Rule 36, ValidateStaticHandlebarsFiles (spec/package-format.md §6): the agent
//! templates of `agent/input` and `data_stream/*/agent/stream` parse as Handlebars.
//!
//! package-spec parses them with raymond (Go); we compile them with the `handlebars`
//! crate, which accepts the same templates as far as the test packages and the
//! published packages show. Only the syntax is checked: helpers and partials are
//! not resolved, as nothing is rendered.

use std::borrow::Cow;

use crate::package::Package;
use crate::problem::Problem;

const INVALID: &str = "invalid handlebars template";

/// Parses every `*.hbs` template (and what each `.link` there points to).
pub(super) fn static_handlebars_files(pkg: &Package<'_>) -> Vec<Problem> {
    let mut dirs = vec!["agent/input".to_string()];
    dirs.extend(
        pkg.data_streams()
            .into_iter()
            .map(|ds| format!("data_stream/{ds}/agent/stream")),
    );
    dirs.iter().flat_map(|dir| template_dir(pkg, dir)).collect()
}

/// The problems of the templates directly in `dir`.
fn template_dir(pkg: &Package<'_>, dir: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    for name in pkg.list_dir(dir) {
        let path = format!("{dir}/{name}");
        match extension(&name) {
            "hbs" => problems.extend(check_template(&path, pkg.read(&path))),
            "link" => problems.extend(check_link(pkg, &path)),
            _ => {}
        }
    }
    problems
}

/// What Go's `path.Ext` gives, without the dot.
fn extension(name: &str) -> &str {
    name.rsplit_once('.').map_or("", |(_, ext)| ext)
}

/// A `.link` file: the template it points to must parse.
fn check_link(pkg: &Package<'_>, link: &str) -> Option<Problem> {
    let text = match pkg.read_text(link) {
        Ok(text) => text,
        Err(p) => {
            return Some(Problem::file(
                link,
                format!("error reading linked file {link}: {}", p.message),
            ));
        }
    };
    // An empty link names no file: Go has nothing to parse then.
    text.split_whitespace().next()?;
    let target = match pkg.link_target(link) {
        Ok(target) => target,
        Err(p) => {
            return Some(Problem::file(
                link,
                format!("error reading linked file {link}: {}", p.message),
            ));
        }
    };
    let bytes = pkg.read_link_target(link, &target);
    check_template(&target, bytes)
}

/// The problem with one template, read from `path` (relative to the package root,
/// possibly `../` for a link target).
fn check_template(path: &str, bytes: Result<Vec<u8>, Problem>) -> Option<Problem> {
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(p) => {
            return Some(Problem::file(
                path,
                format!("{INVALID}: error validating {path}: {}", p.message),
            ));
        }
    };
    let source = String::from_utf8_lossy(&bytes);
    let error = handlebars::Template::compile(&shorten_text(&source)).err()?;
    Some(Problem::at(
        path,
        error.pos().map_or(0, |(line, _)| line),
        format!("{INVALID}: error validating {path}: {}", error.reason()),
    ))
}

/// Templates smaller than this are parsed as they are.
const SHORTEN_ABOVE: usize = 16 * 1024;

/// The template with its plain text (what lies between tags) shortened, when it is
/// large.
///
/// The `handlebars` parser costs about 150 ns a byte, and some published templates
/// embed close to a megabyte of JavaScript (script processors): parsing the 185
/// production packages took seconds. Plain text cannot make a template invalid, so
/// each line of it is reduced to nothing, one space or one `x`, whichever keeps it
/// empty, blank or not (what whitespace control and standalone tags look at); the
/// newlines stay, so the line of an error is unchanged. Tags (mustaches, comments,
/// and any backslashes escaping them) are kept as they are.
fn shorten_text(source: &str) -> Cow<'_, str> {
    if source.len() <= SHORTEN_ABOVE {
        return Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len() / 8);
    let mut rest = source;
    while let Some(open) = rest.find("{{") {
        let (text, tag) = rest.split_at(open);
        // Backslashes right before a tag escape it: keep them.
        let escapes = text.len() - text.trim_end_matches('\\').len();
        let (text, escapes) = text.split_at(text.len() - escapes);
        push_shortened(&mut out, text);
        out.push_str(escapes);
        let Some(end) = tag_end(tag) else {
            // An unterminated tag: keep the rest for the parser to report.
            out.push_str(tag);
            return Cow::Owned(out);
        };
        out.push_str(&tag[..end]);
        rest = &tag[end..];
    }
    push_shortened(&mut out, rest);
    Cow::Owned(out)
}

/// Appends `text` with each line reduced to "", " " or "x".
fn push_shortened(out: &mut String, text: &str) {
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        if !line.is_empty() {
            out.push(if line.trim().is_empty() { ' ' } else { 'x' });
        }
        if lines.peek().is_some() {
            out.push('\n');
        }
    }
}

/// The length of the tag `tag` starts with (it starts with `{{`): a comment up to
/// its end marker, anything else up to the first `}}` outside string literals, with
/// the braces of triple and raw mustaches. `None` when it does not end.
fn tag_end(tag: &str) -> Option<usize> {
    if let Some(body) = tag.strip_prefix("{{!--") {
        return body.find("--}}").map(|i| 5 + i + 4);
    }
    if let Some(body) = tag.strip_prefix("{{!") {
        return body.find("}}").map(|i| 3 + i + 2);
    }
    let bytes = tag.as_bytes();
    let mut i = 2;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'"' | b'\'') => {
                let close = tag[i + 1..].find(quote as char)?;
                i += close + 2;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                let braces = tag[i..].len() - tag[i..].trim_start_matches('}').len();
                return Some(i + braces);
            }
            _ => i += 1,
        }
    }
    None
}
