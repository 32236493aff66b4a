//! Semantic rules on the changelog, field definitions, data streams and ingest
//! pipelines (spec/package-format.md §6, rules 1, 2, 5–11, 13, 16, 20, 33–35, 38, 44
//! and 45), ported from package-spec's `code/go/internal/validator/semantic`.
//!
//! The rules on field definitions share one reading of the fields files (`model`).
//! Rule 44 only runs in package-spec's source mode, which we do not have; it is kept
//! in [`SOURCE_ONLY_RULES`].

use std::collections::{BTreeMap, BTreeSet};

use super::Rule;
use crate::package::{Kind, Mode, Package};
use crate::problem::Problem;

#[path = "fields_changelog.rs"]
mod changelog;
#[path = "fields_datastream.rs"]
mod datastream;
#[path = "fields_model.rs"]
mod model;
#[path = "fields_pipeline.rs"]
mod pipeline;

use model::{Field, FieldsFile, Owner, fields_files, walk_fields};

const INTEGRATION_INPUT: &[Kind] = &[Kind::Integration, Kind::Input];
const INTEGRATION: &[Kind] = &[Kind::Integration];

/// A rule with no mode restriction and no warnings.
const fn rule(
    name: &'static str,
    kinds: &'static [Kind],
    since: Option<&'static str>,
    check: fn(&Package<'_>) -> Vec<Problem>,
) -> Rule {
    Rule {
        name,
        kinds,
        since,
        until: None,
        modes: &[],
        warning_before_3: false,
        check,
    }
}

/// The rules of this module, in package-spec's order. The rules on field definitions
/// run as one entry, [`FIELD_DEFINITION_RULES`], so that the fields files are read
/// once for all of them.
pub const RULES: &[Rule] = &[
    rule(
        "ValidateVersionIntegrity",
        &[],
        None,
        changelog::version_integrity,
    ),
    rule(
        "ValidateChangelogLinks",
        &[],
        None,
        changelog::changelog_links,
    ),
    rule(
        "ValidateFieldGroups, ValidateFieldsLimits, ValidateUniqueFields, ValidateDimensionFields, \
         ValidateDateFields, ValidateRequiredFields, ValidateExternalFieldsWithDevFolder, \
         ValidateDimensionsPresent, ValidateNoExternalFields",
        &[],
        None,
        field_definitions,
    ),
    rule(
        "ValidateILMPolicyPresent",
        INTEGRATION,
        Some("2.0.0"),
        datastream::ilm_policy_present,
    ),
    rule(
        "ValidateRoutingRulesAndDataset",
        INTEGRATION,
        Some("2.9.0"),
        datastream::routing_rules_and_dataset,
    ),
    rule(
        "ValidatePolicyTemplateDatastreamCategories",
        INTEGRATION,
        None,
        datastream::policy_template_data_stream_categories,
    ),
    rule(
        "ValidateDatastreamPackageCategories",
        INTEGRATION,
        None,
        datastream::data_stream_package_categories,
    ),
    rule(
        "ValidatePipelineTags",
        INTEGRATION,
        Some("3.6.0"),
        pipeline::pipeline_tags,
    ),
    rule(
        "ValidatePipelineOnFailure",
        INTEGRATION,
        Some("3.6.0"),
        pipeline::pipeline_on_failure,
    ),
];

/// A check on the package's field definitions, given its fields files.
type FieldCheck = fn(&Package<'_>, &[FieldsFile]) -> Vec<Problem>;

/// A rule on field definitions: package-spec's name and selection, as a [`Rule`] whose
/// own `check` is unused, and the check to run on the fields files.
pub struct FieldRule {
    /// Package-spec's name for the rule and the packages it applies to.
    pub gate: Rule,
    check: FieldCheck,
}

/// A [`FieldRule`] for all modes.
const fn field_rule(
    name: &'static str,
    kinds: &'static [Kind],
    since: Option<&'static str>,
    check: FieldCheck,
) -> FieldRule {
    FieldRule {
        gate: rule(name, kinds, since, no_problems),
        check,
    }
}

/// The `check` of a [`FieldRule`]'s gate, never called.
fn no_problems(_: &Package<'_>) -> Vec<Problem> {
    Vec::new()
}

/// The rules on field definitions, each selected as package-spec selects it.
pub const FIELD_DEFINITION_RULES: &[FieldRule] = &[
    field_rule("ValidateFieldGroups", &[], None, field_groups),
    field_rule(
        "ValidateFieldsLimits",
        INTEGRATION_INPUT,
        None,
        fields_limits,
    ),
    field_rule(
        "ValidateUniqueFields",
        INTEGRATION_INPUT,
        Some("2.0.0"),
        unique_fields,
    ),
    field_rule(
        "ValidateDimensionFields",
        INTEGRATION_INPUT,
        None,
        dimension_fields,
    ),
    field_rule("ValidateDateFields", INTEGRATION_INPUT, None, date_fields),
    field_rule(
        "ValidateRequiredFields",
        INTEGRATION_INPUT,
        None,
        required_fields,
    ),
    FieldRule {
        // Package-spec runs it in legacy and source mode: a built package has no `_dev`.
        gate: Rule {
            modes: &[Mode::Legacy],
            ..rule(
                "ValidateExternalFieldsWithDevFolder",
                INTEGRATION_INPUT,
                None,
                no_problems,
            )
        },
        check: external_fields_with_dev_folder,
    },
    field_rule(
        "ValidateDimensionsPresent",
        INTEGRATION,
        Some("3.0.1"),
        dimensions_present,
    ),
    FieldRule {
        gate: Rule {
            modes: &[Mode::Build],
            ..rule("ValidateNoExternalFields", &[], None, no_problems)
        },
        check: no_external_fields,
    },
];

/// Runs the field-definition rules that apply to `pkg` on its fields files, read once.
fn field_definitions(pkg: &Package<'_>) -> Vec<Problem> {
    let rules: Vec<&FieldRule> = FIELD_DEFINITION_RULES
        .iter()
        .filter(|r| r.gate.applies(pkg))
        .collect();
    if rules.is_empty() {
        return Vec::new();
    }
    let files = fields_files(pkg);
    rules.iter().flat_map(|r| (r.check)(pkg, &files)).collect()
}

/// Rules package-spec runs only in its `source` mode. Our modes are legacy (which
/// package-spec's legacy mode does not run them in) and build, so nothing runs these
/// yet; they are here for a source mode.
pub const SOURCE_ONLY_RULES: &[Rule] = &[rule(
    "ValidateNoEmbeddedEcsInDynamicTemplates",
    INTEGRATION,
    None,
    datastream::no_embedded_ecs_in_dynamic_templates,
)];

/// The most leaf fields a data stream, input package or transform may define
/// (`fieldsPerDataStreamLimit` of the integration and input specs).
const FIELDS_PER_DATA_STREAM_LIMIT: usize = 2048;

/// Runs `check` on every field of the package and collects its problems.
fn check_each_field(
    files: &[FieldsFile],
    mut check: impl FnMut(&FieldsFile, &Field<'_>) -> Option<Problem>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    walk_fields(files, |file, field| problems.extend(check(file, field)));
    problems
}

/// Rule 5, `ValidateFieldGroups`: a group has no `unit` and no `metric_type`.
fn field_groups(_: &Package<'_>, files: &[FieldsFile]) -> Vec<Problem> {
    check_each_field(files, |file, field| {
        if field.def.ty != "group" {
            return None;
        }
        let what = if !field.def.unit.is_empty() {
            "unit"
        } else if !field.def.metric_type.is_empty() {
            "metric type"
        } else {
            return None;
        };
        // The stray quote is upstream's.
        let message = format!("field {:?} can't have {what} property'", field.name);
        Some(Problem::at(&file.path, field.def.line, message))
    })
}

/// Rule 6, `ValidateFieldsLimits`: at most 2048 leaf fields per data stream (the input
/// package's and the transforms' fields count together, under an empty name, as in
/// Go).
fn fields_limits(_: &Package<'_>, files: &[FieldsFile]) -> Vec<Problem> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    walk_fields(files, |file, field| {
        if field.is_leaf() {
            *counts.entry(file.owner.data_stream()).or_default() += 1;
        }
    });
    counts
        .into_iter()
        .filter(|(_, count)| *count > FIELDS_PER_DATA_STREAM_LIMIT)
        .map(|(ds, count)| {
            Problem::package(format!(
                "data stream {ds} has more than {FIELDS_PER_DATA_STREAM_LIMIT} fields ({count})"
            ))
        })
        .collect()
}

/// Rule 7, `ValidateUniqueFields`: a leaf field is defined once per data stream, input
/// package or transform.
fn unique_fields(_: &Package<'_>, files: &[FieldsFile]) -> Vec<Problem> {
    let mut definitions: BTreeMap<(&Owner, String), Vec<&str>> = BTreeMap::new();
    walk_fields(files, |file, field| {
        if field.is_leaf() {
            definitions
                .entry((&file.owner, field.name.clone()))
                .or_default()
                .push(&file.path);
        }
    });
    definitions
        .into_iter()
        .filter(|(_, paths)| paths.len() > 1)
        .map(|((owner, name), mut paths)| {
            paths.sort();
            let scope = match owner {
                Owner::DataStream(ds) if !ds.is_empty() => format!(" for data stream {ds:?}"),
                Owner::Transform(t) if !t.is_empty() => format!(" for transform {t:?}"),
                _ => String::new(),
            };
            Problem::package(format!(
                "field {name:?} is defined multiple times{scope}, found in: {}",
                paths.join(", ")
            ))
        })
        .collect()
}

/// Types a dimension field may have.
const ALLOWED_DIMENSION_TYPES: &[&str] = &[
    "constant_keyword",
    "keyword",
    "long",
    "integer",
    "short",
    "byte",
    "double",
    "float",
    "half_float",
    "scaled_float",
    "unsigned_long",
    "ip",
];

/// Rule 8, `ValidateDimensionFields`: `dimension: true` only on the allowed types.
/// External fields are skipped: their type is not known here.
fn dimension_fields(_: &Package<'_>, files: &[FieldsFile]) -> Vec<Problem> {
    check_each_field(files, |file, field| {
        let def = field.def;
        if !def.external.is_empty()
            || !def.dimension
            || ALLOWED_DIMENSION_TYPES.contains(&def.ty.as_str())
        {
            return None;
        }
        Some(Problem::at(
            &file.path,
            def.line,
            format!(
                "field {:?} of type {} can't be a dimension, allowed types for dimensions: {}",
                field.name,
                def.ty,
                ALLOWED_DIMENSION_TYPES.join(", ")
            ),
        ))
    })
}

/// Rule 9, `ValidateDateFields`: `date_format` only on date fields.
fn date_fields(_: &Package<'_>, files: &[FieldsFile]) -> Vec<Problem> {
    check_each_field(files, |file, field| {
        let def = field.def;
        if def.ty == "date" || def.date_format.is_empty() {
            return None;
        }
        Some(Problem::at(
            &file.path,
            def.line,
            format!(
                "field {:?} of type {} can't set date_format. date_format is allowed for date field type only",
                field.name, def.ty
            ),
        ))
    })
}

/// The fields every data stream (and input package) defines, with their types.
const REQUIRED_FIELDS: &[(&str, &str)] = &[
    ("data_stream.type", "constant_keyword"),
    ("data_stream.dataset", "constant_keyword"),
    ("data_stream.namespace", "constant_keyword"),
    ("@timestamp", "date"),
];

/// Rule 10, `ValidateRequiredFields`: each data stream with fields (and an input
/// package with fields) defines the required fields with their types; the type of an
/// `external` field is not checked. Transforms are exempt.
fn required_fields(_: &Package<'_>, files: &[FieldsFile]) -> Vec<Problem> {
    let mut problems = Vec::new();
    // Data stream name ("" for the package's own fields) -> names defined there.
    let mut found: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    walk_fields(files, |file, field| {
        if matches!(file.owner, Owner::Transform(_)) {
            return;
        }
        found
            .entry(file.owner.data_stream())
            .or_default()
            .insert(field.name.clone());
        let Some((_, expected)) = REQUIRED_FIELDS.iter().find(|(name, _)| *name == field.name)
        else {
            return;
        };
        if field.def.external.is_empty() && field.def.ty != *expected {
            problems.push(Problem::at(
                &file.path,
                field.def.line,
                format!(
                    "expected type {expected:?} for required field {:?}, found {:?} in {:?}",
                    field.name, field.def.ty, file.path
                ),
            ));
        }
    });
    for (ds, names) in &found {
        for (name, ty) in REQUIRED_FIELDS {
            if names.contains(*name) {
                continue;
            }
            let place = if ds.is_empty() {
                String::new()
            } else {
                format!(" in datastream {ds:?}")
            };
            problems.push(Problem::package(format!(
                "expected field {name:?} with type {ty:?} not found{place}"
            )));
        }
    }
    problems
}

/// Rule 11, `ValidateExternalFieldsWithDevFolder`: a field with `external: X` needs
/// `_dev/build/build.yml` declaring `dependencies.X`.
fn external_fields_with_dev_folder(pkg: &Package<'_>, files: &[FieldsFile]) -> Vec<Problem> {
    const BUILD_FILE: &str = "_dev/build/build.yml";
    let build = if pkg.is_file(BUILD_FILE) {
        match pkg.read_yaml(BUILD_FILE) {
            Ok(doc) => Some(doc),
            // Unreadable: the schema pass reports it.
            Err(_) => return Vec::new(),
        }
    } else {
        None
    };
    let dependencies: Option<Vec<String>> =
        build
            .as_ref()
            .map(|doc| match doc.get("dependencies").map(|d| &d.value) {
                Some(epr_package::yaml::Value::Map(entries)) => {
                    entries.iter().map(|(k, _)| k.clone()).collect()
                }
                _ => Vec::new(),
            });
    check_each_field(files, |file, field| {
        let external = &field.def.external;
        if external.is_empty() {
            return None;
        }
        let message = match &dependencies {
            None => format!(
                "field {} with external key defined ({external:?}) but no _dev/build/build.yml found",
                field.name
            ),
            Some(deps) if !deps.contains(external) => format!(
                "field {} with external key defined ({external:?}) but no definition found for it (_dev/build/build.yml)",
                field.name
            ),
            Some(_) => return None,
        };
        Some(Problem::at(&file.path, field.def.line, message))
    })
}

/// Rule 20, `ValidateDimensionsPresent`: a data stream in `time_series` index mode
/// has at least one dimension field.
fn dimensions_present(pkg: &Package<'_>, files: &[FieldsFile]) -> Vec<Problem> {
    let mut with_dimensions: BTreeSet<&str> = BTreeSet::new();
    walk_fields(files, |file, field| {
        if field.def.dimension {
            with_dimensions.insert(file.owner.data_stream());
        }
    });
    let mut problems = Vec::new();
    for ds in pkg.data_streams() {
        let path = format!("data_stream/{ds}/manifest.yml");
        let Ok(manifest) = pkg.read_yaml(&path) else {
            continue;
        };
        let index_mode = manifest
            .get("elasticsearch")
            .map(|es| super::decode::text(es, "index_mode"))
            .unwrap_or_default();
        if index_mode == "time_series" && !with_dimensions.contains(ds.as_str()) {
            problems.push(Problem::file(
                path,
                "time series mode enabled but no dimensions configured",
            ));
        }
    }
    problems
}

/// Rule 45, `ValidateNoExternalFields` (build mode): a built package carries full
/// field definitions, no `external` references.
fn no_external_fields(_: &Package<'_>, files: &[FieldsFile]) -> Vec<Problem> {
    check_each_field(files, |file, field| {
        let external = &field.def.external;
        if external.is_empty() {
            return None;
        }
        Some(Problem::at(
            &file.path,
            field.def.line,
            format!(
                "field {} has external: {external} reference; external fields must be materialized before packaging",
                field.name
            ),
        ))
    })
}

#[cfg(test)]
#[path = "fields_tests.rs"]
mod tests;
