//! The JSON schemas of the package files, written in Rust (spec/package-format.md §2).
//!
//! One function per schema file of package-spec, taking the package's
//! `format_version`: what the spec's `versions` patches remove for older versions is
//! an `if` in the function. Facts (field names, patterns, enums) come from
//! `package-spec/spec/**/*.spec.yml`; the structure pass (`crate::structure`) says
//! which file gets which schema.

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// The schema of `which` for a package at `format_version` `v`.
pub fn schema_for(which: FileSchema, v: &Version) -> Schema {
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
