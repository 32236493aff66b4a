//! The JSON schemas of the package files, written in Rust (spec/package-format.md §2).
//!
//! One function per schema file of package-spec, taking the package's
//! `format_version`: what the spec's `versions` patches remove for older versions is
//! an `if` in the function. Facts (field names, patterns, enums) come from
//! `package-spec/spec/**/*.spec.yml`; the structure pass (`crate::structure`) says
//! which file gets which schema.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use epr_package::version::Version;

use crate::schema::Schema;

pub mod changelog;
pub mod data_stream;
pub mod dev;
pub mod fields;
pub mod kibana;
pub mod manifest;
pub mod pipeline;
pub mod transform;
pub mod vars;

/// The schema files of package-spec, by what they describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileSchema {
    IntegrationManifest,
    InputManifest,
    ContentManifest,
    Changelog,
    Validation,
    DataStreamManifest,
    Fields,
    IngestPipeline,
    RoutingRules,
    Lifecycle,
    KibanaTags,
    TransformManifest,
    Transform,
    EsqlView,
    // Development files (`_dev/**`): only source packages have them.
    DevBuild,
    DevDeployVariants,
    DevDeployCustomAgent,
    DevDeployTfEnv,
    DevTestConfig,
    InputDevTestConfig,
    DevBenchmarkSystemScenario,
    DevBenchmarkRallyScenario,
    DataStreamTestConfig,
    DataStreamTestSkip,
    DataStreamTestSystemConfig,
    DataStreamTestPolicyConfig,
    DataStreamTestStaticConfig,
    DataStreamTestPipelineCommonConfig,
    DataStreamTestPipelineConfigJson,
    DataStreamTestPipelineConfigRaw,
    DataStreamTestPipelineEvent,
    DataStreamTestPipelineExpected,
    DataStreamBenchmarkPipelineConfig,
    DataStreamBenchmarkPipelineEvent,
}

impl FileSchema {
    /// Every schema, for tools and tests that go through all of them.
    pub const ALL: &'static [FileSchema] = &[
        FileSchema::IntegrationManifest,
        FileSchema::InputManifest,
        FileSchema::ContentManifest,
        FileSchema::Changelog,
        FileSchema::Validation,
        FileSchema::DataStreamManifest,
        FileSchema::Fields,
        FileSchema::IngestPipeline,
        FileSchema::RoutingRules,
        FileSchema::Lifecycle,
        FileSchema::KibanaTags,
        FileSchema::TransformManifest,
        FileSchema::Transform,
        FileSchema::EsqlView,
        FileSchema::DevBuild,
        FileSchema::DevDeployVariants,
        FileSchema::DevDeployCustomAgent,
        FileSchema::DevDeployTfEnv,
        FileSchema::DevTestConfig,
        FileSchema::InputDevTestConfig,
        FileSchema::DevBenchmarkSystemScenario,
        FileSchema::DevBenchmarkRallyScenario,
        FileSchema::DataStreamTestConfig,
        FileSchema::DataStreamTestSkip,
        FileSchema::DataStreamTestSystemConfig,
        FileSchema::DataStreamTestPolicyConfig,
        FileSchema::DataStreamTestStaticConfig,
        FileSchema::DataStreamTestPipelineCommonConfig,
        FileSchema::DataStreamTestPipelineConfigJson,
        FileSchema::DataStreamTestPipelineConfigRaw,
        FileSchema::DataStreamTestPipelineEvent,
        FileSchema::DataStreamTestPipelineExpected,
        FileSchema::DataStreamBenchmarkPipelineConfig,
        FileSchema::DataStreamBenchmarkPipelineEvent,
    ];

    /// The schema named like its variant (`"IntegrationManifest"`).
    pub fn by_name(name: &str) -> Option<FileSchema> {
        Self::ALL.iter().copied().find(|s| format!("{s:?}") == name)
    }
}

/// Built schemas by file and `format_version`.
type SchemaCache = HashMap<(FileSchema, String), Arc<Schema>>;

/// The schema of `which` for a package at `format_version` `v`, built once per
/// process and version (building compiles dozens of patterns; a package has many
/// files of the same kind, and a batch many packages of the same version).
pub fn schema_for(which: FileSchema, v: &Version) -> Arc<Schema> {
    static CACHE: OnceLock<Mutex<SchemaCache>> = OnceLock::new();
    let key = (which, v.to_string());
    let cache = CACHE.get_or_init(Default::default);
    if let Some(s) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Arc::clone(s);
    }
    let built = Arc::new(build_schema(which, v));
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, Arc::clone(&built));
    built
}

/// Builds the schema of `which` for `format_version` `v`.
pub fn build_schema(which: FileSchema, v: &Version) -> Schema {
    use FileSchema::*;
    match which {
        IntegrationManifest => manifest::integration(v),
        InputManifest => manifest::input(v),
        ContentManifest => manifest::content(v),
        Changelog => changelog::changelog(v),
        Validation => changelog::validation(v),
        DataStreamManifest => data_stream::manifest(v),
        Fields => fields::fields(v),
        IngestPipeline => pipeline::pipeline(v),
        RoutingRules => data_stream::routing_rules(v),
        Lifecycle => data_stream::lifecycle(v),
        KibanaTags => kibana::tags(v),
        TransformManifest => transform::manifest(v),
        Transform => transform::transform(v),
        EsqlView => kibana::esql_view(v),
        other => dev::schema(other, v),
    }
}

/// `v < before`: the spec's `versions` patch with this `before` applies.
pub fn before(v: &Version, before: &str) -> bool {
    Version::parse(before).is_ok_and(|b| *v < b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Building every schema for every known spec version compiles every pattern.
    #[test]
    fn every_schema_builds_for_every_version() {
        for entry in crate::spec_version::KNOWN {
            let v = Version::parse(entry).unwrap();
            for which in FileSchema::ALL {
                let _ = build_schema(*which, &v);
            }
        }
    }
}
