//! Rules about policy templates, their inputs and data stream streams: deployment
//! modes (rule 26), agent template files (rules 28 and 32), dynamic signal types
//! (rule 29), deprecation (rules 39 and 41), input names (rule 40) and the
//! source-only `package:` references (rule 46).

use std::collections::{HashMap, HashSet};

use epr_package::yaml::{self, Node, Value};

use super::{MANIFEST, data_stream_manifests, flag, go_quote, items, policy_templates, text};
use crate::package::{Kind, Package};
use crate::problem::Problem;

/// Rule 26 (ValidateDeploymentModes): agentless-only single templates take their
/// maturity from the package version, not `agentless.release`; each enabled
/// deployment mode is supported by some input; inputs only list enabled modes.
pub(super) fn deployment_modes(pkg: &Package<'_>) -> Vec<Problem> {
    let templates = policy_templates(pkg);
    let mut problems = Vec::new();
    if let [template] = templates.as_slice() {
        problems.extend(agentless_release(template));
    }
    for template in templates {
        // Inputs that are not a list are the schema's to report; package-spec
        // cannot decode such a manifest and checks nothing else.
        let inputs_mistyped = template
            .get("inputs")
            .is_some_and(|i| !matches!(i.value, Value::Seq(_) | Value::Null));
        if !inputs_mistyped {
            problems.extend(template_deployment_modes(template));
        }
    }
    problems
}

/// The `deployment_modes` of a policy template.
fn modes_of(template: &Node) -> Option<&Node> {
    template.get("deployment_modes")
}

/// Whether `default` is explicitly disabled; it is enabled unless `enabled: false`.
fn default_mode_enabled(template: &Node) -> Option<bool> {
    match modes_of(template)?.get("default")?.get("enabled")?.value {
        Value::Bool(b) => Some(b),
        _ => None,
    }
}

/// `agentless.release` set on the only policy template when agentless is its only
/// deployment mode.
fn agentless_release(template: &Node) -> Option<Problem> {
    let agentless = modes_of(template)?.get("agentless")?;
    let only_agentless = default_mode_enabled(template) == Some(false);
    if !only_agentless || text(agentless, "release").is_empty() {
        return None;
    }
    Some(Problem::at(
        MANIFEST,
        template.line,
        format!(
            "policy template {} sets agentless.release but agentless is the only deployment mode; use the package version to indicate maturity instead",
            go_quote(&text(template, "name"))
        ),
    ))
}

/// The deployment modes an input lists; `None` when it lists none (it supports all).
fn input_modes(input: &Node) -> Option<Vec<String>> {
    match &input.get("deployment_modes")?.value {
        Value::Seq(modes) => Some(
            modes
                .iter()
                .filter_map(|m| yaml::scalar_to_string(&m.value))
                .collect(),
        ),
        _ => None,
    }
}

/// Checks one policy template's enabled modes against its inputs' modes.
fn template_deployment_modes(template: &Node) -> Vec<Problem> {
    let name = go_quote(&text(template, "name"));
    let mut enabled = Vec::new();
    if default_mode_enabled(template) != Some(false) {
        enabled.push("default");
    }
    if modes_of(template)
        .and_then(|m| m.get("agentless"))
        .is_some_and(|a| flag(a, "enabled"))
    {
        enabled.push("agentless");
    }
    let inputs = items(template, "inputs");
    let mut problems = Vec::new();
    for mode in &enabled {
        let supported = inputs
            .iter()
            .any(|input| input_modes(input).is_none_or(|modes| modes.iter().any(|m| m == mode)));
        if !supported {
            problems.push(Problem::at(
                MANIFEST,
                template.line,
                format!("policy template {name} enables deployment mode \"{mode}\" but no input supports this mode"),
            ));
        }
    }
    for input in inputs {
        for mode in input_modes(input).unwrap_or_default() {
            if !enabled.contains(&mode.as_str()) {
                problems.push(Problem::at(
                    MANIFEST,
                    input.line,
                    format!(
                        "input {} in policy template {name} specifies unsupported deployment mode {}",
                        go_quote(&text(input, "type")),
                        go_quote(&mode)
                    ),
                ));
            }
        }
    }
    problems
}

/// The strings of the sequence at `key` (Go `[]string`; non-scalars are skipped).
fn strings(node: &Node, key: &str) -> Vec<String> {
    items(node, key)
        .iter()
        .filter_map(|n| yaml::scalar_to_string(&n.value))
        .collect()
}

/// Whether `dir` holds the template `template`: an entry named like it or ending
/// with its name, possibly as a `.link` (package-spec's `findPathAtDirectory`).
fn template_found(pkg: &Package<'_>, dir: &str, template: &str) -> bool {
    let link = format!("{template}.link");
    pkg.list_dir(dir)
        .iter()
        .any(|name| name.ends_with(template) || name.ends_with(&link))
}

/// What package-spec says when a template file is missing.
const TEMPLATE_NOT_FOUND: &str = "template file not found";

/// Rule 28 (ValidateInputPackagesPolicyTemplates): each policy template of an input
/// package names its agent template(s), and they exist in `agent/input`.
pub(super) fn input_package_policy_templates(pkg: &Package<'_>) -> Vec<Problem> {
    policy_templates(pkg)
        .iter()
        .filter_map(|template| {
            let path = text(template, "template_path");
            let paths = strings(template, "template_paths");
            let error = if path.is_empty() && paths.is_empty() {
                "template_path is required for input type packages"
            } else {
                // template_path is checked first, then each of template_paths.
                let mut wanted = (!path.is_empty())
                    .then_some(&path)
                    .into_iter()
                    .chain(&paths);
                wanted.find(|t| !template_found(pkg, "agent/input", t))?;
                TEMPLATE_NOT_FOUND
            };
            Some(Problem::at(
                MANIFEST,
                template.line,
                format!(
                    "policy template {} references template_path {}: {error}",
                    go_quote(&text(template, "name")),
                    go_quote(&path)
                ),
            ))
        })
        .collect()
}

/// The templates a stream or input uses: `template_paths` when set (Fleet reads it
/// first), else `template_path`, else `fallback`.
fn templates_used(node: &Node, fallback: Option<&str>) -> Vec<String> {
    let paths = strings(node, "template_paths");
    if !paths.is_empty() {
        return paths;
    }
    let path = text(node, "template_path");
    if !path.is_empty() {
        return vec![path];
    }
    fallback.map(|f| vec![f.to_string()]).unwrap_or_default()
}

/// Rule 32 (ValidateIntegrationPolicyTemplates): the agent templates of streams
/// exist in their data stream's `agent/stream` (default `stream.yml.hbs`), and those
/// of policy template inputs in `agent/input`.
pub(super) fn integration_policy_templates(pkg: &Package<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for ds in data_stream_manifests(pkg) {
        let dir = format!("{}/agent/stream", ds.dir);
        for stream in items(&ds.doc, "streams") {
            let wanted = templates_used(stream, Some("stream.yml.hbs"));
            if wanted.iter().all(|t| template_found(pkg, &dir, t)) {
                continue;
            }
            problems.push(Problem::at(
                &ds.path,
                stream.line,
                format!(
                    "data stream {} stream input {}: {TEMPLATE_NOT_FOUND}",
                    go_quote(&ds.dir),
                    go_quote(&text(stream, "input"))
                ),
            ));
        }
    }
    for template in policy_templates(pkg) {
        // package-spec stops at the first input of a template with a missing file.
        let missing = items(template, "inputs").iter().find(|input| {
            templates_used(input, None)
                .iter()
                .any(|t| !template_found(pkg, "agent/input", t))
        });
        if let Some(input) = missing {
            problems.push(Problem::at(
                MANIFEST,
                input.line,
                format!(
                    "policy template {}: failed validation for policy input {}: {TEMPLATE_NOT_FOUND}",
                    go_quote(&text(template, "name")),
                    go_quote(&text(input, "type"))
                ),
            ));
        }
    }
    problems
}

/// The input Fleet runs OpenTelemetry collector configurations with.
const OTELCOL: &str = "otelcol";

/// Rule 29 (ValidateInputDynamicSignalTypes): `dynamic_signal_types` only with the
/// `otelcol` input, and in input packages it replaces `type`.
pub(super) fn dynamic_signal_types(pkg: &Package<'_>) -> Vec<Problem> {
    match pkg.kind {
        Kind::Input => input_package_dynamic_signal_types(pkg),
        Kind::Integration => integration_dynamic_signal_types(pkg),
        Kind::Content => Vec::new(),
    }
}

/// Input packages: each policy template is the stream.
fn input_package_dynamic_signal_types(pkg: &Package<'_>) -> Vec<Problem> {
    policy_templates(pkg)
        .iter()
        .filter(|t| flag(t, "dynamic_signal_types"))
        .filter_map(|template| {
            let name = go_quote(&text(template, "name"));
            let input = text(template, "input");
            let message = if input != OTELCOL {
                format!("policy template {name}: dynamic_signal_types is only allowed when input is 'otelcol', got '{input}'")
            } else if !text(template, "type").is_empty() {
                format!("policy template {name}: type field must not be set when dynamic_signal_types is true")
            } else {
                return None;
            };
            Some(Problem::at(MANIFEST, template.line, message))
        })
        .collect()
}

/// Integrations: policy template inputs and data stream streams.
fn integration_dynamic_signal_types(pkg: &Package<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for template in policy_templates(pkg) {
        for input in items(template, "inputs") {
            let input_type = text(input, "type");
            if flag(input, "dynamic_signal_types") && input_type != OTELCOL {
                problems.push(Problem::at(
                    MANIFEST,
                    input.line,
                    format!(
                        "policy template {}: input type {}: dynamic_signal_types is only allowed when input is 'otelcol'",
                        go_quote(&text(template, "name")),
                        go_quote(&input_type)
                    ),
                ));
            }
        }
    }
    for ds in data_stream_manifests(pkg) {
        for stream in items(&ds.doc, "streams") {
            let input = text(stream, "input");
            if flag(stream, "dynamic_signal_types") && input != OTELCOL {
                problems.push(Problem::at(
                    &ds.path,
                    stream.line,
                    format!(
                        "stream with input type {}: dynamic_signal_types is only allowed when input is 'otelcol'",
                        go_quote(&input)
                    ),
                ));
            }
        }
    }
    problems
}

/// Whether `key` is set to something (a Go pointer field decoded from a non-null
/// value).
fn is_set(node: &Node, key: &str) -> bool {
    node.get(key).is_some_and(|n| !n.is_null())
}

/// Rule 39 (ValidateIntegrationInputsDeprecation): when every input is deprecated,
/// the package must be deprecated too.
pub(super) fn inputs_deprecation(pkg: &Package<'_>) -> Vec<Problem> {
    if is_set(&pkg.manifest, "deprecated") {
        return Vec::new();
    }
    let inputs: Vec<&Node> = policy_templates(pkg)
        .iter()
        .flat_map(|t| items(t, "inputs"))
        .collect();
    if inputs.is_empty() || !inputs.iter().all(|i| is_set(i, "deprecated")) {
        return Vec::new();
    }
    vec![Problem::file(
        MANIFEST,
        "all inputs are deprecated but the integration package is not marked as deprecated",
    )]
}

/// Rule 40 (ValidateIntegrationInputQualifier): inputs of the same type in one
/// policy template need names, or Fleet cannot tell them apart (SVR00010).
pub(super) fn input_qualifier(pkg: &Package<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for template in policy_templates(pkg) {
        let inputs = items(template, "inputs");
        let mut counts: HashMap<String, usize> = HashMap::new();
        for input in inputs {
            *counts.entry(text(input, "type")).or_default() += 1;
        }
        let mut reported = HashSet::new();
        for input in inputs {
            let input_type = text(input, "type");
            let shared = counts.get(&input_type).is_some_and(|&n| n > 1);
            if shared && text(input, "name").is_empty() && reported.insert(input_type.clone()) {
                problems.push(
                    Problem::at(
                        MANIFEST,
                        input.line,
                        format!(
                            "policy template {}: input with type {} must have a name when multiple inputs of the same type are present",
                            go_quote(&text(template, "name")),
                            go_quote(&input_type)
                        ),
                    )
                    .with_code("SVR00010"),
                );
            }
        }
    }
    problems
}

/// `deprecated.replaced_by` of `node`, when it is set.
fn replaced_by(node: &Node) -> Option<&Node> {
    node.get("deprecated")?
        .get("replaced_by")
        .filter(|n| !n.is_null())
}

/// Rule 41 (ValidateDeprecatedReplacedBy): a `replaced_by` names a replacement of
/// the same kind as what it replaces.
pub(super) fn deprecated_replaced_by(pkg: &Package<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut check = |file: &str, node: &Node, field: &str, what: &str| {
        if let Some(by) = replaced_by(node)
            && text(by, field).is_empty()
        {
            problems.push(Problem::at(
                file,
                by.line,
                format!("{what}deprecated.replaced_by.{field} must be specified when deprecated.replaced_by is used"),
            ));
        }
    };
    check(MANIFEST, &pkg.manifest, "package", "");
    for template in policy_templates(pkg) {
        check(MANIFEST, template, "policy_template", "policy_template ");
        for input in items(template, "inputs") {
            check(MANIFEST, input, "input", "input ");
        }
    }
    for ds in data_stream_manifests(pkg) {
        check(&ds.path, &ds.doc, "data_stream", "");
        for stream in items(&ds.doc, "streams") {
            for var in items(stream, "vars") {
                check(&ds.path, var, "variable", "variable ");
            }
        }
    }
    problems
}

/// Rule 46 (ValidateStreamInputBundled): built packages carry no `package:`
/// references; `elastic-package build` replaces them with the bundled input.
pub(super) fn stream_input_bundled(pkg: &Package<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for ds in data_stream_manifests(pkg) {
        for (i, stream) in items(&ds.doc, "streams").iter().enumerate() {
            if !text(stream, "package").is_empty() {
                problems.push(Problem::at(
                    &ds.path,
                    stream.line,
                    format!("stream[{i}] has 'package:' which is source-only; build packages must use 'input:' + 'template_paths:'"),
                ));
            }
        }
    }
    for template in policy_templates(pkg) {
        for (i, input) in items(template, "inputs").iter().enumerate() {
            if !text(input, "package").is_empty() {
                problems.push(Problem::at(
                    MANIFEST,
                    input.line,
                    format!(
                        "policy_template {} input[{i}] has 'package:' which is source-only; build packages must use 'type:'",
                        go_quote(&text(template, "name"))
                    ),
                ));
            }
        }
    }
    problems
}
