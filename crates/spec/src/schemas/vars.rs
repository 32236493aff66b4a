//! Definitions shared by the manifests: variables (`vars[]`, from
//! `data_stream/manifest.spec.yml#/definitions/vars`) and the other definitions that the
//! root manifests and the data-stream manifest both reference (spec/package-format.md
//! §2.1–§2.5).
//!
//! In package-spec a `$ref` points into the *patched* schema of the file it names, so a
//! definition carries the `versions` patches of the file that defines it, whoever
//! references it. The functions below apply those patches themselves (they take the
//! package's `format_version` when a patch touches them). Where the defining file
//! removes a whole definition for older versions (`deprecated`, `var_groups`, ...),
//! every referrer removes its property too; the referrer gates it, as its own patch
//! says, and the function here is the schema of the newest spec.
//!
//! Used by `manifest.rs` (root manifests) and `data_stream.rs` (the data stream
//! manifest: `vars`, `required_vars`, `var_groups`, `sections`, `deprecated`,
//! `provider_permissions`, `agent`, `categories`, `package_reference`,
//! `template_path(s)`, `dynamic_signal_types`, `input_migrate_from`, `index_mode`).
//! The index template (`elasticsearch_index_template`) is in `data_stream.rs`, where
//! the spec defines it.
//!
//! What stays with the referrer: gating the properties whose definition an older spec
//! removes (for a stream: `required_vars` from 3.3.2; `package`, `template_paths`,
//! `var_groups`, `dynamic_signal_types`, `migrate_from` and the data stream's
//! `deprecated` from 3.6.0; `agent` from 2.12.0), and applying `vars(v)` only where
//! the spec does (on streams and integration inputs, through `if: {required: [input]}`
//! / `if: {required: [type]}`; composable ones only get `array(object())`).
//! Everything inside a variable and `required_vars` is gated here.

use epr_package::version::Version;
use epr_package::yaml::Node;

use super::before;
use crate::schema::{Schema, Type, any, array, boolean, object, string, string_enum};

/// What package-spec reports (after rewriting gojsonschema's `secret is required`) when
/// a variable that looks like a secret does not say whether it is one.
pub const SECRET_REQUIRED: &str =
    "variable identified as possible secret, secret parameter required to be set to true or false";

/// Names that look like secrets (matched anywhere in the name, as the spec's pattern).
const SECRET_NAME: &str = "(access_key|api_key|passphrase|password|secret|token)";
/// Names that only point at a secret (a file, a URL) and are not secrets themselves.
const SECRET_NAME_EXCEPTION: &str = "(_file|_url)$";
/// A Go-like duration (`1h30m`, `500ms`), for duration variables.
const DURATION: &str = r"^(\d+[smh]|\d+ms)+$";
/// Semantic version, as `definitions/version` of the integration manifest.
const SEMVER: &str =
    r"^([0-9]+)\.([0-9]+)\.([0-9]+)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+)?$";
/// Names of sections, var groups and their options.
const UI_NAME: &str = "^[a-z][a-z0-9_]*$";
/// Nesting of array values that `default`/`value` are checked to; deeper levels (never
/// seen in packages) are accepted, since the builder has no named recursive `$ref`.
const VALUE_DEPTH: usize = 8;

/// The `vars` array of a manifest, a policy template, an input or a stream.
pub fn vars(v: &Version) -> Schema {
    array(var(v))
}

/// One variable (`definitions/vars/items`), with the data-stream manifest's patches:
/// `select` from 2.6.0, `secret` from 2.9.0, the secret-required rule from 3.0.2,
/// `hide_in_deployment_modes` from 3.1.4 (its value `default` from 3.2.0), the
/// `duration` type and its properties from 3.5.0, `deprecated` from 3.6.0 and
/// `migrate_from` from 3.7.0.
pub fn var(v: &Version) -> Schema {
    let mut s = object()
        .closed()
        .prop("name", string())
        .prop("type", string_enum(&var_types(v)))
        .prop("title", string())
        .prop("description", string())
        .prop("multi", boolean())
        // Any value here; the select rule below says what `options` must be.
        .prop("options", any())
        .prop("required", boolean());
    if !before(v, "2.9.0") {
        s = s.prop("secret", boolean());
    }
    s = s.prop("show_user", boolean());
    if !before(v, "3.1.4") {
        s = s.prop("hide_in_deployment_modes", hide_in_deployment_modes(v));
    }
    s = s
        .prop("section", string())
        .prop("url_allowed_schemes", array(string()));
    if !before(v, "3.5.0") {
        s = s
            .prop("min_duration", string().pattern(DURATION))
            .prop("max_duration", string().pattern(DURATION));
    }
    s = s.prop("default", input_variable_value());
    if !before(v, "3.6.0") {
        s = s.prop("deprecated", deprecated());
    }
    if !before(v, "3.7.0") {
        s = s.prop("migrate_from", var_migrate_from());
    }
    s = s.when(
        select_type(),
        Some(select_options()),
        Some(any().not(any().required(&["options"]))),
    );
    if !before(v, "3.0.2") {
        s = s.when(looks_secret(), Some(any().custom(require_secret)), None);
    }
    if !before(v, "3.5.0") {
        s = s.when(
            type_is("duration"),
            Some(any().prop("default", string().pattern(DURATION))),
            None,
        );
    }
    // Kept for every version: the spec's 3.5.0 patch removes the properties but not
    // this rule, so older packages get both complaints for `min_duration`.
    s.when(
        any().not(type_is("duration")),
        Some(any().not(any().any_of(vec![
            any().required(&["min_duration"]),
            any().required(&["max_duration"]),
        ]))),
        None,
    )
    .required(&["name", "type"])
}

/// The variable types of spec `v`, in the spec's order.
fn var_types(v: &Version) -> Vec<&'static str> {
    let mut types = vec!["bool", "email", "integer", "password"];
    if !before(v, "2.6.0") {
        types.push("select");
    }
    types.extend(["text", "textarea", "time_zone", "url", "yaml"]);
    if !before(v, "3.5.0") {
        types.push("duration");
    }
    types
}

fn hide_in_deployment_modes(v: &Version) -> Schema {
    if before(v, "3.2.0") {
        array(string_enum(&["agentless"]))
    } else {
        array(string_enum(&["default", "agentless"]))
    }
}

/// `if: {required: [type], properties: {type: {const: <name>}}}`.
fn type_is(name: &'static str) -> Schema {
    any().required(&["type"]).prop("type", any().constant(name))
}

fn select_type() -> Schema {
    type_is("select")
}

/// A select variable lists its options as `{value, text}` pairs.
fn select_options() -> Schema {
    let option = object()
        .closed()
        .prop("value", string())
        .prop("text", string())
        .required(&["value", "text"]);
    any().required(&["options"]).prop("options", array(option))
}

/// The spec's condition for the secret rule: a secret-looking name that is not a file
/// or URL, or the `password` type.
fn looks_secret() -> Schema {
    any().any_of(vec![
        any().all_of(vec![
            any().prop("name", any().pattern(SECRET_NAME)),
            any().not(any().prop("name", any().pattern(SECRET_NAME_EXCEPTION))),
        ]),
        any().all_of(vec![
            any().required(&["type"]),
            any().prop("type", any().constant("password")),
        ]),
    ])
}

/// `then: {required: [secret]}`, with package-spec's rewritten message.
fn require_secret(node: &Node) -> Vec<String> {
    if node.get("secret").is_none() {
        vec![SECRET_REQUIRED.to_string()]
    } else {
        Vec::new()
    }
}

/// A variable's previous name or scope (`vars[].migrate_from`, 3.7.0).
fn var_migrate_from() -> Schema {
    object()
        .closed()
        .prop("name", string())
        .prop("scope", string_enum(&["input", "stream"]))
        .prop("stream", string())
        .any_of(vec![any().required(&["name"]), any().required(&["scope"])])
}

/// `definitions/input_variable_value`: a string, integer, boolean or null, or (nested)
/// arrays of those. The value of a variable `default` and of a `required_vars` entry.
pub fn input_variable_value() -> Schema {
    variable_value(VALUE_DEPTH)
}

/// The spec's `anyOf` [scalar types, array]: chosen by type, as gojsonschema reports
/// the branch whose type matches (see [`array_or`]).
fn variable_value(depth: usize) -> Schema {
    let items = if depth == 0 {
        any()
    } else {
        variable_value(depth - 1)
    };
    array_or(
        array(items),
        any().types(&[Type::String, Type::Integer, Type::Boolean, Type::Null]),
    )
}

/// A schema for values that are either arrays (`array_branch`) or something else
/// (`other`), as the spec's `oneOf`/`anyOf` of a typed array branch and a typed
/// scalar branch. gojsonschema reports the branch with the best score, which is the
/// one whose type matches (a type mismatch scores nothing; on a tie, the first
/// branch, which the spec writes as the scalar one); choosing by type gives the same
/// messages, where the builder's `any_of`/`one_of` (fewest errors, first on ties)
/// would report the scalar branch's type error for an array with one bad item.
pub(crate) fn array_or(array_branch: Schema, other: Schema) -> Schema {
    any().when(any().ty(Type::Array), Some(array_branch), Some(other))
}

/// Like [`array_or`] for a string branch and another branch.
pub(crate) fn string_or(string_branch: Schema, other: Schema) -> Schema {
    any().when(any().ty(Type::String), Some(string_branch), Some(other))
}

/// `definitions/required_vars`: groups of variables that must be set together, by
/// group name (3.3.2 on inputs and streams; referrers gate it).
pub fn required_vars() -> Schema {
    let entry = object()
        .closed()
        .prop("name", string())
        .prop("value", input_variable_value())
        .required(&["name"]);
    object()
        .closed()
        .pattern_prop("^[a-zA-Z0-9_]+$", array(entry).min_items(1))
}

/// `definitions/var_groups` of the integration manifest: mutually exclusive groups of
/// variables (3.6.0; referrers gate it).
pub fn var_groups() -> Schema {
    let option = object()
        .prop("name", string().pattern(UI_NAME))
        .prop("title", string())
        .prop("description", string())
        .prop("vars", array(string()))
        .prop(
            "hide_in_deployment_modes",
            array(string_enum(&["default", "agentless"])),
        )
        .required(&["name", "title", "vars"]);
    let group = object()
        .closed()
        .prop("name", string().pattern(UI_NAME))
        .prop("title", string())
        .prop("selector_title", string())
        .prop("description", string())
        .prop("required", boolean())
        .prop("show_divider", show_divider())
        .prop("options", array(option).min_items(1))
        .required(&["name", "title", "selector_title", "options"]);
    array(group)
}

/// `definitions/show_divider`: whether the UI draws a divider after a section.
pub fn show_divider() -> Schema {
    boolean()
}

/// `definitions/sections`: named UI sections that variables refer to (ungated).
pub fn sections() -> Schema {
    array(
        object()
            .closed()
            .prop("name", string().pattern(UI_NAME))
            .prop("title", string())
            .prop("description", string())
            .required(&["name", "title"]),
    )
}

/// `definitions/deprecated`: deprecation of a package, template, input, stream or
/// variable (3.6.0; referrers gate it).
pub fn deprecated() -> Schema {
    let replaced_by = object()
        .closed()
        .prop("package", string())
        .prop("input", string())
        .prop("policy_template", string())
        .prop("variable", string())
        .prop("data_stream", string());
    object()
        .closed()
        .prop("since", version())
        .prop("description", string())
        .prop("replaced_by", replaced_by)
        .required(&["since", "description"])
}

/// `definitions/provider_permissions`: roles and permissions required from a cloud or
/// service provider (ungated).
pub fn provider_permissions() -> Schema {
    let role = object()
        .closed()
        .prop("name", string())
        .prop("id", string())
        .prop("description", string())
        .required(&["name"]);
    let permission = object()
        .closed()
        .prop("name", string())
        .prop("description", string())
        .required(&["name"]);
    array(
        object()
            .closed()
            .prop("provider", string())
            .prop("description", string())
            .prop("roles", array(role))
            .prop("permissions", array(permission))
            .required(&["provider"]),
    )
}

/// `definitions/agent`: agent requirements (2.12.0; referrers gate it).
pub fn agent() -> Schema {
    object()
        .closed()
        .prop("privileges", object().closed().prop("root", boolean()))
}

/// `definitions/version`: a semantic version (package versions, `format_version`,
/// `deprecated.since`).
pub fn version() -> Schema {
    string().pattern(SEMVER)
}

/// `definitions/categories`: the package categories the spec knows.
pub fn categories() -> Schema {
    array(string_enum(CATEGORIES))
}

const CATEGORIES: &[&str] = &[
    "advanced_analytics_ueba",
    "analytics_engine",
    "application_observability",
    "app_search",
    "asset_inventory",
    "auditd",
    "authentication",
    "aws",
    "azure",
    "big_data",
    "cdn_security",
    "cloud",
    "cloudsecurity_cdr",
    "config_management",
    "connector",
    "connector_client",
    "connector_package",
    "containers",
    "content_source",
    "crawler",
    "credential_management",
    "crm",
    "custom",
    "custom_logs",
    "database_security",
    "datastore",
    "dns_security",
    "edr_xdr",
    "elasticsearch_sdk",
    "elastic_stack",
    "email_security",
    "enterprise_search",
    "firewall_security",
    "google_cloud",
    "iam",
    "ids_ips",
    "infrastructure",
    "java_observability",
    "kubernetes",
    "language_client",
    "languages",
    "load_balancer",
    "message_queue",
    "misconfiguration_workflow",
    "monitoring",
    "native_search",
    "network",
    "network_security",
    "notification",
    "observability",
    "opentelemetry",
    "os_system",
    "process_manager",
    "productivity",
    "productivity_security",
    "proxy_security",
    "sdk_search",
    "security",
    "siem",
    "stream_processing",
    "support",
    "threat_intel",
    "ticketing",
    "version_control",
    "virtualization",
    "vpn_security",
    "vulnerability_management",
    "vulnerability_workflow",
    "web",
    "web_application_firewall",
    "websphere",
    "workplace_search",
];

/// `definitions/package_reference`: an input package that a composable input or stream
/// uses (3.6.0; referrers gate it).
pub fn package_reference() -> Schema {
    string().pattern("^[a-z0-9_]+$")
}

/// `definitions/template_path`: the agent config template of an input or stream.
pub fn template_path() -> Schema {
    string()
}

/// `definitions/template_paths`: several templates merged in order (3.6.0; referrers
/// gate it).
pub fn template_paths() -> Schema {
    array(string())
}

/// `definitions/dynamic_signal_types` (3.6.0; referrers gate it).
pub fn dynamic_signal_types() -> Schema {
    boolean()
}

/// `definitions/migrate_from` of the integration manifest: the input type an input or
/// stream replaces (3.6.0; referrers gate it). Not the variables' `migrate_from`.
pub fn input_migrate_from() -> Schema {
    string()
}

/// `definitions/elasticsearch_index_mode` of the data-stream manifest.
pub fn index_mode() -> Schema {
    string_enum(&["time_series"])
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::schema::messages as errors;

    fn ver(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn secret_rule_applies_from_3_0_2() {
        let yaml = "- name: api_key\n  type: text\n- name: pass\n  type: password\n- name: token_file\n  type: text\n- name: my_token\n  type: text\n  secret: false\n";
        assert_eq!(
            errors(&vars(&ver("3.0.2")), yaml),
            vec![
                format!("field 0: {SECRET_REQUIRED}"),
                format!("field 1: {SECRET_REQUIRED}"),
            ]
        );
        // Before 3.0.2 the rule does not exist; `secret` itself is known since 2.9.0.
        assert!(errors(&vars(&ver("3.0.1")), yaml).is_empty());
        assert_eq!(
            errors(&vars(&ver("2.8.0")), yaml),
            vec!["field 3: Additional property secret is not allowed"]
        );
    }

    #[test]
    fn select_needs_options_and_others_must_not_have_them() {
        let yaml = "- name: a\n  type: select\n- name: b\n  type: text\n  options: []\n- name: c\n  type: select\n  options:\n    - value: 1\n      text: one\n";
        assert_eq!(
            errors(&vars(&ver("3.0.0")), yaml),
            vec![
                "field 0: options is required",
                "field 1: Must not be present",
                "field 2.options.0.value: Invalid type. Expected: string, given: integer",
            ]
        );
        // Before 2.6.0 there is no select type, but the options rule stays.
        assert_eq!(
            errors(&vars(&ver("2.5.0")), "- name: a\n  type: select\n"),
            vec![
                "field 0: options is required",
                "field 0.type: 0.type must be one of the following: \"bool\", \"email\", \"integer\", \"password\", \"text\", \"textarea\", \"time_zone\", \"url\", \"yaml\"",
            ]
        );
    }

    #[test]
    fn duration_vars_from_3_5_0() {
        let yaml = "- name: a\n  type: duration\n  default: 10x\n- name: b\n  type: text\n  min_duration: 1h\n";
        assert_eq!(
            errors(&vars(&ver("3.5.0")), yaml),
            vec![
                "field 0.default: Does not match pattern '^(\\d+[smh]|\\d+ms)+$'",
                "field 1: Must not be present",
            ]
        );
        let old = errors(&vars(&ver("3.4.0")), yaml);
        assert!(
            old.iter()
                .any(|e| e.starts_with("field 0.type: 0.type must be one of"))
        );
        assert!(
            old.contains(&"field 1: Additional property min_duration is not allowed".to_string())
        );
        assert!(old.contains(&"field 1: Must not be present".to_string()));
    }

    #[test]
    fn hide_in_deployment_modes_gates() {
        let yaml = "- name: a\n  type: text\n  hide_in_deployment_modes: [default]\n";
        assert!(errors(&vars(&ver("3.2.0")), yaml).is_empty());
        assert_eq!(
            errors(&vars(&ver("3.1.4")), yaml),
            vec![
                "field 0.hide_in_deployment_modes.0: 0.hide_in_deployment_modes.0 must be one of the following: \"agentless\""
            ]
        );
        assert_eq!(
            errors(&vars(&ver("3.1.3")), yaml),
            vec!["field 0: Additional property hide_in_deployment_modes is not allowed"]
        );
    }

    #[test]
    fn deprecated_and_migrate_from_gates() {
        let yaml = "- name: a\n  type: text\n  deprecated: {since: 1.0.0, description: x}\n  migrate_from: {name: b}\n";
        assert!(errors(&vars(&ver("3.7.0")), yaml).is_empty());
        assert_eq!(
            errors(&vars(&ver("3.6.0")), yaml),
            vec!["field 0: Additional property migrate_from is not allowed"]
        );
        assert_eq!(errors(&vars(&ver("3.5.0")), yaml).len(), 2);
        assert_eq!(
            errors(
                &vars(&ver("3.7.0")),
                "- name: a\n  type: text\n  migrate_from: {stream: x}\n"
            ),
            vec!["field 0.migrate_from: name is required"]
        );
    }

    #[test]
    fn default_values_nest_arrays_of_scalars() {
        let s = object().prop("default", input_variable_value());
        assert!(errors(&s, "default: [[a, 1], [true, null]]\n").is_empty());
        assert_eq!(
            errors(&s, "default: {a: 1}\n"),
            vec![
                "field default: Invalid type. Expected: [string,integer,boolean,null], given: object"
            ]
        );
        // An array reports its bad item (the branch whose type matches), not the
        // scalar branch's type error.
        assert_eq!(
            errors(&s, "default: [a, {b: 1}]\n"),
            vec![
                "field default.1: Invalid type. Expected: [string,integer,boolean,null], given: object"
            ]
        );
    }

    #[test]
    fn required_vars_keys_and_entries() {
        assert_eq!(
            errors(
                &required_vars(),
                "a-b: []\ngood:\n  - value: x\nempty: []\n"
            ),
            vec![
                "field (root): Additional property a-b is not allowed",
                "field good.0: name is required",
                "field empty: Array must have at least 1 items",
            ]
        );
    }
}
