//! Rules about variables: optional groups of required variables (rule 22), variable
//! groups (rule 23), UI sections (rule 24), duration variables (rule 27) and the
//! variables Fleet reserves for itself (rule 30).

use std::collections::HashMap;
use std::collections::HashSet;

use epr_package::yaml::{self, Node, Value};

use super::duration::parse_go_duration;
use super::{
    DataStreamManifest, MANIFEST, data_stream_manifests, flag, go_quote, items, policy_templates,
    text,
};
use crate::package::{Kind, Package};
use crate::problem::Problem;

/// Rule 22 (ValidateRequiredVarGroups): every variable named in a `required_vars`
/// group is defined where the group is (package, policy template and input variables
/// for an input; package and stream variables for a stream), and is not always
/// required, which would make the optional group pointless.
pub(super) fn required_var_groups(pkg: &Package<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let root_vars = items(&pkg.manifest, "vars");
    for template in policy_templates(pkg) {
        for input in items(template, "inputs") {
            let defined: Vec<&Node> = root_vars
                .iter()
                .chain(items(template, "vars"))
                .chain(items(input, "vars"))
                .collect();
            check_required_vars(MANIFEST, input, &defined, &mut problems);
        }
    }
    for ds in data_stream_manifests(pkg) {
        for stream in items(&ds.doc, "streams") {
            // Package variables reach every stream (package-spec's own test
            // packages rely on it).
            let defined: Vec<&Node> = root_vars.iter().chain(items(stream, "vars")).collect();
            check_required_vars(&ds.path, stream, &defined, &mut problems);
        }
    }
    problems
}

/// Checks the `required_vars` groups of one input or stream against `defined`.
fn check_required_vars(file: &str, owner: &Node, defined: &[&Node], problems: &mut Vec<Problem>) {
    let Some(Value::Map(groups)) = owner.get("required_vars").map(|n| &n.value) else {
        return;
    };
    for (_, group) in groups {
        let Value::Seq(required) = &group.value else {
            continue;
        };
        for required_var in required {
            let name = text(required_var, "name");
            if name.is_empty() {
                continue;
            }
            let quoted = go_quote(&name);
            match defined.iter().find(|v| text(v, "name") == name) {
                None => problems.push(Problem::at(
                    file,
                    required_var.line,
                    format!("required var {quoted} in optional group is not defined"),
                )),
                Some(var) if flag(var, "required") => problems.push(Problem::at(
                    file,
                    required_var.line,
                    format!(
                        "required var {quoted} in optional group is defined as always required"
                    ),
                )),
                Some(_) => {}
            }
        }
    }
}

/// Rule 23 (ValidateVarGroups): in the package's `var_groups` and in each stream's,
/// group names and option names are unique, options only name defined variables,
/// and those variables are not `required: true` (the group decides that).
pub(super) fn var_groups(pkg: &Package<'_>) -> Vec<Problem> {
    let root_vars = items(&pkg.manifest, "vars");
    // Package groups may use variables from any level of the manifest.
    let mut available: Vec<&Node> = root_vars.iter().collect();
    for template in policy_templates(pkg) {
        available.extend(items(template, "vars"));
        for input in items(template, "inputs") {
            available.extend(items(input, "vars"));
        }
    }
    let mut problems =
        check_var_groups(MANIFEST, "", items(&pkg.manifest, "var_groups"), &available);
    for ds in data_stream_manifests(pkg) {
        for (i, stream) in items(&ds.doc, "streams").iter().enumerate() {
            let groups = items(stream, "var_groups");
            if groups.is_empty() {
                continue;
            }
            let available: Vec<&Node> = root_vars.iter().chain(items(stream, "vars")).collect();
            let context = format!(" (stream: {})", stream_id(stream, i));
            problems.extend(check_var_groups(&ds.path, &context, groups, &available));
        }
    }
    problems
}

/// How package-spec names a stream in messages: its title, else its input, else its
/// position.
fn stream_id(stream: &Node, index: usize) -> String {
    let title = text(stream, "title");
    if !title.is_empty() {
        return title;
    }
    let input = text(stream, "input");
    if !input.is_empty() {
        return input;
    }
    format!("stream[{index}]")
}

/// Checks a list of variable groups against the variables they may use. `context`
/// is appended to each message (it names the stream for stream groups).
fn check_var_groups(
    file: &str,
    context: &str,
    groups: &[Node],
    available: &[&Node],
) -> Vec<Problem> {
    // The last definition of a name wins, as in package-spec's map.
    let required: HashMap<String, bool> = available
        .iter()
        .map(|v| (text(v, "name"), flag(v, "required")))
        .collect();
    let mut problems = Vec::new();
    let mut group_names = HashSet::new();
    for group in groups {
        let group_name = text(group, "name");
        let quoted_group = go_quote(&group_name);
        if !group_names.insert(group_name.clone()) {
            problems.push(Problem::at(
                file,
                group.line,
                format!("duplicate var_group name {quoted_group}{context}"),
            ));
        }
        let group_required = flag(group, "required");
        let mut option_names = HashSet::new();
        for option in items(group, "options") {
            let option_name = text(option, "name");
            let quoted_option = go_quote(&option_name);
            if !option_names.insert(option_name.clone()) {
                problems.push(Problem::at(
                    file,
                    option.line,
                    format!(
                        "duplicate option name {quoted_option} in var_group {quoted_group}{context}"
                    ),
                ));
            }
            for var in items(option, "vars") {
                let Some(name) = yaml::scalar_to_string(&var.value) else {
                    continue;
                };
                let quoted_var = go_quote(&name);
                let message = match required.get(&name) {
                    None => format!(
                        "var {quoted_var} referenced in var_group {quoted_group} option {quoted_option} is not defined"
                    ),
                    Some(false) => continue,
                    Some(true) if group_required => format!(
                        "var {quoted_var} in required var_group {quoted_group} should not have required: true (requirement is inferred from var_group)"
                    ),
                    Some(true) => format!(
                        "var {quoted_var} in non-required var_group {quoted_group} should not have required: true (var_group is optional)"
                    ),
                };
                problems.push(Problem::at(file, var.line, format!("{message}{context}")));
            }
        }
    }
    problems
}

/// Rule 24 (ValidateSections): at each level (package, policy template, input,
/// stream) section names are unique and variables only name sections of their own
/// level.
pub(super) fn sections(pkg: &Package<'_>) -> Vec<Problem> {
    let mut problems = check_sections(MANIFEST, "package root", &pkg.manifest);
    for template in policy_templates(pkg) {
        problems.extend(check_sections(MANIFEST, "policy template", template));
        for input in items(template, "inputs") {
            problems.extend(check_sections(MANIFEST, "input", input));
        }
    }
    for ds in data_stream_manifests(pkg) {
        for (i, stream) in items(&ds.doc, "streams").iter().enumerate() {
            let scope = format!("stream {}", go_quote(&stream_id(stream, i)));
            problems.extend(check_sections(&ds.path, &scope, stream));
        }
    }
    problems
}

/// Checks the `sections` and the `vars` of one level.
fn check_sections(file: &str, scope: &str, level: &Node) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut names = HashSet::new();
    for section in items(level, "sections") {
        let name = text(section, "name");
        if names.contains(&name) {
            problems.push(Problem::at(
                file,
                section.line,
                format!("duplicate section name {} in {scope}", go_quote(&name)),
            ));
        }
        names.insert(name);
    }
    for var in items(level, "vars") {
        let section = text(var, "section");
        if section.is_empty() || names.contains(&section) {
            continue;
        }
        problems.push(Problem::at(
            file,
            var.line,
            format!(
                "var {} references undefined section {} in {scope}",
                go_quote(&text(var, "name")),
                go_quote(&section)
            ),
        ));
    }
    problems
}

/// Rule 27 (ValidateDurationVariables): for `duration` variables, `min_duration`,
/// `default` and `max_duration` are Go durations with
/// `0 <= min_duration <= default <= max_duration`.
pub(super) fn duration_variables(pkg: &Package<'_>) -> Vec<Problem> {
    let mut vars: Vec<(&str, &Node)> = Vec::new();
    vars.extend(items(&pkg.manifest, "vars").iter().map(|v| (MANIFEST, v)));
    for template in policy_templates(pkg) {
        vars.extend(items(template, "vars").iter().map(|v| (MANIFEST, v)));
        for input in items(template, "inputs") {
            vars.extend(items(input, "vars").iter().map(|v| (MANIFEST, v)));
        }
    }
    let data_streams = data_stream_manifests(pkg);
    for ds in &data_streams {
        for stream in items(&ds.doc, "streams") {
            vars.extend(items(stream, "vars").iter().map(|v| (ds.path.as_str(), v)));
        }
    }
    vars.into_iter()
        .filter_map(|(file, var)| {
            let message = check_duration_var(var)?;
            Some(Problem::at(
                file,
                var.line,
                format!(
                    "error in variable {}: {message}",
                    go_quote(&text(var, "name"))
                ),
            ))
        })
        .collect()
}

/// A scalar field read as a Go `*string`: `None` when missing or null.
fn optional_text(var: &Node, key: &str) -> Option<String> {
    var.get(key)
        .filter(|n| !n.is_null())
        .and_then(|n| yaml::scalar_to_string(&n.value))
}

/// The Go type name `%T` prints for a decoded YAML value.
fn go_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::UInt(_) => "uint64",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::Seq(_) => "[]interface {}",
        Value::Map(_) => "map[string]interface {}",
    }
}

/// The problem with one variable, if it is a duration variable with one; several
/// ordering problems are joined by newlines, as Go's `errors.Join` does.
fn check_duration_var(var: &Node) -> Option<String> {
    if text(var, "type") != "duration" {
        return None;
    }
    let min = optional_text(var, "min_duration");
    let max = optional_text(var, "max_duration");
    let mut min_value = 0;
    if let Some(min) = &min {
        min_value = match parse_go_duration(min) {
            Ok(d) => d,
            Err(e) => return Some(format!("invalid min_duration value {}: {e}", go_quote(min))),
        };
        if min_value < 0 {
            return Some(format!("negative min_duration value {}", go_quote(min)));
        }
    }
    let default = var.get("default").filter(|n| !n.is_null());
    let mut default_value = 0;
    if let Some(default) = default {
        let Value::String(text) = &default.value else {
            return Some(format!(
                "invalid default value type {}: expected a string",
                go_type_name(&default.value)
            ));
        };
        default_value = match parse_go_duration(text) {
            Ok(d) => d,
            Err(e) => return Some(format!("invalid default value {}: {e}", go_quote(text))),
        };
    }
    let mut max_value = 0;
    if let Some(max) = &max {
        max_value = match parse_go_duration(max) {
            Ok(d) => d,
            Err(e) => return Some(format!("invalid max_duration value {}: {e}", go_quote(max))),
        };
    }
    let default_text = default.and_then(|d| yaml::scalar_to_string(&d.value));
    let mut errors = Vec::new();
    if let (Some(min), Some(default)) = (&min, &default_text)
        && min_value > default_value
    {
        errors.push(format!(
            "min_duration {} greater than default {}",
            go_quote(min),
            go_quote(default)
        ));
    }
    if let (Some(default), Some(max)) = (&default_text, &max)
        && default_value > max_value
    {
        errors.push(format!(
            "default {} greater than max_duration {}",
            go_quote(default),
            go_quote(max)
        ));
    }
    if let (Some(min), Some(max)) = (&min, &max)
        && min_value > max_value
    {
        errors.push(format!(
            "min_duration {} greater than max_duration {}",
            go_quote(min),
            go_quote(max)
        ));
    }
    (!errors.is_empty()).then(|| errors.join("\n"))
}

/// Fleet sets `use_apm` on APM-capable OpenTelemetry streams.
const USE_APM: &str = "use_apm";
/// Fleet lets users override the dataset of a stream with this variable.
const DATASET: &str = "data_stream.dataset";

/// Rule 30 (ValidateFleetReservedVars): the variables Fleet reserves are only
/// declared per stream (for input packages the policy template is the stream), with
/// the type Fleet expects; `use_apm` only on an `otelcol` input of a traces stream
/// or one with dynamic signal types.
pub(super) fn fleet_reserved_vars(pkg: &Package<'_>) -> Vec<Problem> {
    let mut problems: Vec<Problem> = items(&pkg.manifest, "vars")
        .iter()
        .filter_map(|v| not_at_stream_level(v, "package root vars"))
        .collect();
    match pkg.kind {
        Kind::Input => {
            for template in policy_templates(pkg) {
                let stream = ReservedVarStream {
                    file: MANIFEST,
                    context: format!("policy template {}", go_quote(&text(template, "name"))),
                    input: text(template, "input"),
                    data_stream_type: text(template, "type"),
                    dynamic_signal_types: flag(template, "dynamic_signal_types"),
                };
                for var in items(template, "vars") {
                    problems.extend(stream.check(var));
                }
            }
        }
        Kind::Integration => {
            for template in policy_templates(pkg) {
                let name = go_quote(&text(template, "name"));
                let context = format!("policy template {name} vars");
                problems.extend(
                    items(template, "vars")
                        .iter()
                        .filter_map(|v| not_at_stream_level(v, &context)),
                );
                for input in items(template, "inputs") {
                    let context = format!(
                        "policy template {name} input {} vars",
                        go_quote(&text(input, "type"))
                    );
                    problems.extend(
                        items(input, "vars")
                            .iter()
                            .filter_map(|v| not_at_stream_level(v, &context)),
                    );
                }
            }
            for ds in data_stream_manifests(pkg) {
                problems.extend(data_stream_reserved_vars(&ds));
            }
        }
        Kind::Content => {}
    }
    problems
}

/// The reserved variables of the streams of one data stream.
fn data_stream_reserved_vars(ds: &DataStreamManifest) -> Vec<Problem> {
    let data_stream_type = text(&ds.doc, "type");
    let mut problems = Vec::new();
    for entry in items(&ds.doc, "streams") {
        let input = text(entry, "input");
        let stream = ReservedVarStream {
            file: &ds.path,
            context: format!("stream with input type {}", go_quote(&input)),
            input,
            data_stream_type: data_stream_type.clone(),
            dynamic_signal_types: flag(entry, "dynamic_signal_types"),
        };
        for var in items(entry, "vars") {
            problems.extend(stream.check(var));
        }
    }
    problems
}

/// A reserved variable declared above stream level.
fn not_at_stream_level(var: &Node, context: &str) -> Option<Problem> {
    let name = text(var, "name");
    (name == USE_APM || name == DATASET).then(|| {
        Problem::at(
            MANIFEST,
            var.line,
            format!(
                "{context}: variable {} must only be declared at stream level",
                go_quote(&name)
            ),
        )
    })
}

/// A stream, as far as reserved variables care.
struct ReservedVarStream<'f> {
    file: &'f str,
    /// How messages name it (`policy template "x"`, `stream with input type "y"`).
    context: String,
    input: String,
    data_stream_type: String,
    dynamic_signal_types: bool,
}

impl ReservedVarStream<'_> {
    /// The problems of one stream variable, if it is a reserved one.
    fn check(&self, var: &Node) -> Vec<Problem> {
        let name = text(var, "name");
        let var_type = text(var, "type");
        let mut problems = Vec::new();
        let mut report = |expected: String, got: String| {
            problems.push(Problem::at(
                self.file,
                var.line,
                format!(
                    "{}: variable {} must be {expected}, got {got}",
                    self.context,
                    go_quote(&name)
                ),
            ));
        };
        if name == USE_APM {
            if self.input != "otelcol" {
                report("\"otelcol\" input".into(), go_quote(&self.input));
            }
            if var_type != "bool" {
                report("type \"bool\"".into(), go_quote(&var_type));
            }
            if self.data_stream_type != "traces" && !self.dynamic_signal_types {
                report(
                    "\"traces\" data stream type or \"dynamic_signal_types: true\"".into(),
                    format!("{} data stream type", go_quote(&self.data_stream_type)),
                );
            }
        } else if name == DATASET && var_type != "text" {
            report("type \"text\"".into(), go_quote(&var_type));
        }
        problems
    }
}
