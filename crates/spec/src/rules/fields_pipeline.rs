//! Rules on ingest pipelines (`validate_pipeline_tags.go`,
//! `validate_pipeline_on_failure.go`): every processor has a unique tag, and the
//! global `on_failure` handler records what failed.

use std::collections::HashSet;

use epr_package::yaml::{Node, Value};

use super::model::read_yaml_following_link;
use crate::package::Package;
use crate::problem::Problem;

/// One processor as Go's `processor` type decodes it: its type (the first key), its
/// attributes, its own `on_failure` processors and its line.
struct Processor<'a> {
    kind: &'a str,
    attributes: &'a [(String, Node)],
    on_failure: Vec<Processor<'a>>,
    line: usize,
}

impl<'a> Processor<'a> {
    fn attribute(&self, key: &str) -> Option<&'a Node> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The attribute as a string, as Go's `GetAttributeString`.
    fn attribute_str(&self, key: &str) -> Option<&'a str> {
        match &self.attribute(key)?.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

/// A pipeline's `processors` and global `on_failure`.
struct Pipeline<'a> {
    processors: Vec<Processor<'a>>,
    on_failure: Vec<Processor<'a>>,
}

/// Every ingest pipeline file (package root and data streams), with its parsed
/// document. Files that cannot be parsed are left out: the schema pass reports them.
fn pipeline_files(pkg: &Package<'_>) -> Vec<(String, Node)> {
    let mut dirs = vec!["elasticsearch/ingest_pipeline".to_string()];
    dirs.extend(
        pkg.data_streams()
            .into_iter()
            .map(|ds| format!("data_stream/{ds}/elasticsearch/ingest_pipeline")),
    );
    let mut files = Vec::new();
    for dir in dirs {
        for name in pkg.list_dir(&dir) {
            let path = format!("{dir}/{name}");
            if !pkg.is_file(&path) {
                continue;
            }
            if let Some(doc) = read_yaml_following_link(pkg, &path) {
                files.push((path, doc));
            }
        }
    }
    files
}

/// Decodes a pipeline as Go's `ingestPipeline`; `None` where Go's unmarshal fails.
fn decode_pipeline(doc: &Node) -> Option<Pipeline<'_>> {
    match &doc.value {
        Value::Null => Some(Pipeline {
            processors: Vec::new(),
            on_failure: Vec::new(),
        }),
        Value::Map(_) => Some(Pipeline {
            processors: decode_processors(doc.get("processors"))?,
            on_failure: decode_processors(doc.get("on_failure"))?,
        }),
        _ => None,
    }
}

fn decode_processors(node: Option<&Node>) -> Option<Vec<Processor<'_>>> {
    match node.map(|n| &n.value) {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Seq(items)) => items.iter().filter_map(decode_processor).collect(),
        Some(_) => None,
    }
}

/// A processor item: a map from the processor type to its settings. Go keeps the
/// first key (of a map, so any); an empty item decodes to nothing. The outer `Option`
/// is "skip this item", the inner one "Go fails".
fn decode_processor(node: &Node) -> Option<Option<Processor<'_>>> {
    let entries = match &node.value {
        Value::Null => return None,
        Value::Map(entries) => entries,
        _ => return Some(None),
    };
    let (kind, settings) = entries.first()?;
    let (attributes, on_failure) = match &settings.value {
        Value::Null => (&[][..], Vec::new()),
        Value::Map(attrs) => match decode_processors(settings.get("on_failure")) {
            Some(on_failure) => (attrs.as_slice(), on_failure),
            None => return Some(None),
        },
        _ => return Some(None),
    };
    Some(Some(Processor {
        kind,
        attributes,
        on_failure,
        line: node.line,
    }))
}

/// The pipelines Go would decode, each with its path.
fn decoded_pipelines<'a>(
    files: &'a [(String, Node)],
) -> impl Iterator<Item = (&'a str, Pipeline<'a>)> {
    files
        .iter()
        .filter_map(|(path, doc)| Some((path.as_str(), decode_pipeline(doc)?)))
}

/// Rule 35, `ValidatePipelineTags`: each processor, nested `on_failure` ones included
/// but not the global `on_failure`, has a non-empty string `tag`, unique in the file.
pub fn pipeline_tags(pkg: &Package<'_>) -> Vec<Problem> {
    let files = pipeline_files(pkg);
    let mut problems = Vec::new();
    for (path, pipeline) in decoded_pipelines(&files) {
        let mut seen = HashSet::new();
        for processor in &pipeline.processors {
            check_tag(path, processor, &mut seen, &mut problems);
        }
    }
    problems
}

/// Checks the nested `on_failure` processors first, then the processor, as Go does.
fn check_tag<'a>(
    path: &str,
    processor: &Processor<'a>,
    seen: &mut HashSet<&'a str>,
    problems: &mut Vec<Problem>,
) {
    for nested in &processor.on_failure {
        check_tag(path, nested, seen, problems);
    }
    let at = |what: String| {
        Problem::at(
            path,
            processor.line,
            format!(
                "{} processor at line {} {what}",
                processor.kind, processor.line
            ),
        )
    };
    let tag = match processor.attribute("tag").map(|n| &n.value) {
        None => {
            problems.push(at("missing required tag".into()).with_code("SVR00006"));
            return;
        }
        Some(Value::String(tag)) => tag.as_str(),
        Some(_) => {
            problems.push(at("has invalid tag value".into()).with_code("SVR00006"));
            return;
        }
    };
    if tag.is_empty() {
        problems.push(at("has empty tag value".into()).with_code("SVR00006"));
    } else if !seen.insert(tag) {
        problems.push(at(format!("has duplicate tag value: {tag:?}")));
    }
}

/// What the global `on_failure` handler's `error.message` must mention.
const REQUIRED_MESSAGE_VALUES: &[&str] = &[
    "_ingest.on_failure_processor_type",
    "_ingest.on_failure_processor_tag",
    "_ingest.on_failure_message",
    "_ingest.pipeline",
];

/// Rule 38, `ValidatePipelineOnFailure`: the global `on_failure` sets `event.kind` to
/// `pipeline_error` (SVR00008) and sets or appends an `error.message` naming the
/// failed processor, its tag, the message and the pipeline (SVR00009).
pub fn pipeline_on_failure(pkg: &Package<'_>) -> Vec<Problem> {
    let files = pipeline_files(pkg);
    let mut problems = Vec::new();
    for (path, pipeline) in decoded_pipelines(&files) {
        check_event_kind(path, &pipeline, &mut problems);
        check_error_message(path, &pipeline, &mut problems);
    }
    problems
}

fn check_event_kind(path: &str, pipeline: &Pipeline<'_>, problems: &mut Vec<Problem>) {
    let setter = pipeline
        .on_failure
        .iter()
        .find(|p| p.kind == "set" && p.attribute_str("field") == Some("event.kind"));
    if setter.is_none_or(|p| p.attribute_str("value") != Some("pipeline_error")) {
        problems.push(
            Problem::file(
                path,
                "pipeline on_failure handler must set event.kind to \"pipeline_error\"",
            )
            .with_code("SVR00008"),
        );
    }
}

fn check_error_message(path: &str, pipeline: &Pipeline<'_>, problems: &mut Vec<Problem>) {
    let setter = pipeline.on_failure.iter().find(|p| {
        (p.kind == "set" || p.kind == "append") && p.attribute_str("field") == Some("error.message")
    });
    let Some(setter) = setter else {
        problems.push(
            Problem::file(path, "pipeline on_failure handler must set error.message")
                .with_code("SVR00009"),
        );
        return;
    };
    let value = setter.attribute_str("value").unwrap_or("");
    for required in REQUIRED_MESSAGE_VALUES {
        if !value.contains(required) {
            problems.push(
                Problem::at(
                    path,
                    setter.line,
                    format!("pipeline on_failure error.message must include {required:?}"),
                )
                .with_code("SVR00009"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::parse_yaml;

    fn tag_problems(text: &str) -> Vec<String> {
        let doc = parse_yaml("p.yml", text).unwrap();
        let pipeline = decode_pipeline(&doc).unwrap();
        let mut seen = HashSet::new();
        let mut problems = Vec::new();
        for p in &pipeline.processors {
            check_tag("p.yml", p, &mut seen, &mut problems);
        }
        problems.into_iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn tags_are_required_and_unique() {
        let text = "processors:\n  - set:\n      field: a\n  - set:\n      tag: x\n  - rename:\n      tag: x\n  - set:\n      tag: ''\n";
        assert_eq!(
            tag_problems(text),
            vec![
                "p.yml:2: set processor at line 2 missing required tag (SVR00006)",
                "p.yml:6: rename processor at line 6 has duplicate tag value: \"x\"",
                "p.yml:8: set processor at line 8 has empty tag value (SVR00006)",
            ]
        );
    }

    #[test]
    fn nested_on_failure_processors_are_checked_first() {
        let text = "processors:\n  - set:\n      tag: a\n      on_failure:\n        - set:\n            tag: a\n";
        assert_eq!(
            tag_problems(text),
            vec!["p.yml:2: set processor at line 2 has duplicate tag value: \"a\""]
        );
    }

    #[test]
    fn global_on_failure_must_record_the_failure() {
        let doc = parse_yaml(
            "p.yml",
            "processors: []\non_failure:\n  - set:\n      field: event.kind\n      value: error\n  - append:\n      field: error.message\n      value: '{{{ _ingest.on_failure_message }}} {{{ _ingest.pipeline }}}'\n",
        )
        .unwrap();
        let pipeline = decode_pipeline(&doc).unwrap();
        let mut problems = Vec::new();
        check_event_kind("p.yml", &pipeline, &mut problems);
        check_error_message("p.yml", &pipeline, &mut problems);
        let messages: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
        assert_eq!(
            messages,
            vec![
                "pipeline on_failure handler must set event.kind to \"pipeline_error\"",
                "pipeline on_failure error.message must include \"_ingest.on_failure_processor_type\"",
                "pipeline on_failure error.message must include \"_ingest.on_failure_processor_tag\"",
            ]
        );
    }
}
