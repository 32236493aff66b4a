//! Development files under `_dev/` (build, deploy, test and benchmark configs).
//!
//! Only source packages carry `_dev/` folders (builds strip them), so these schemas
//! matter to `elastic-package` users linting their sources. One private function per
//! schema file of package-spec (`spec/integration/_dev/**`, `spec/integration/
//! data_stream/_dev/**`, `spec/input/_dev/**`); the shared `definitions` of those files
//! are small functions too, so every `$ref` to them is a call.
//!
//! Which file gets which schema (the folder specs, for the structural pass):
//!
//! | path (integration; `DS` = `data_stream/<name>`)               | schema |
//! |---------------------------------------------------------------|--------|
//! | `_dev/build/build.yml` (also input and content)               | `DevBuild` |
//! | `_dev/deploy/variants.yml`, `DS/_dev/deploy/variants.yml`,     | `DevDeployVariants` |
//! | `_dev/benchmark/{system,rally}/deploy/variants.yml`            |        |
//! | `_dev/deploy/agent/custom-agent.yml`, `DS/_dev/deploy/agent/custom-agent.yml` | `DevDeployCustomAgent` |
//! | `_dev/deploy/tf/env.yml`, `DS/_dev/deploy/tf/env.yml`,         | `DevDeployTfEnv` |
//! | `_dev/benchmark/{system,rally}/deploy/tf/env.yml`              |        |
//! | `_dev/test/config.yml` (integration)                           | `DevTestConfig` |
//! | `_dev/test/config.yml` (input)                                 | `InputDevTestConfig` |
//! | `_dev/benchmark/system/{^.+\.yml$}`                            | `DevBenchmarkSystemScenario` |
//! | `_dev/benchmark/rally/{^.+\.yml$}`                             | `DevBenchmarkRallyScenario` |
//! | `DS/_dev/test/system/{^test-[a-z0-9_.-]+-config\.yml$}`, input `_dev/test/system/..` | `DataStreamTestSystemConfig` |
//! | `DS/_dev/test/policy/{^test-[a-z0-9_.-]+\.yml$}`, input `_dev/test/policy/..` | `DataStreamTestPolicyConfig` |
//! | `DS/_dev/test/static/{^test-[a-z0-9_.-]+-config\.yml$}`         | `DataStreamTestStaticConfig` |
//! | `DS/_dev/test/pipeline/{^test-[a-z0-9-]+\.json$}`               | `DataStreamTestPipelineEvent` |
//! | `DS/_dev/test/pipeline/{^test-[a-z0-9-]+\.log-config\.yml$}`    | `DataStreamTestPipelineConfigRaw` |
//! | `DS/_dev/test/pipeline/{^test-[a-z0-9-]+\.json-config\.yml$}`   | `DataStreamTestPipelineConfigJson` |
//! | `DS/_dev/test/pipeline/test-common-config.yml`                  | `DataStreamTestPipelineCommonConfig` |
//! | `DS/_dev/test/pipeline/{^test-[a-z0-9-]+\.(json\|log)-expected\.json$}` | `DataStreamTestPipelineExpected` |
//! | `DS/_dev/benchmark/pipeline/{^[a-z0-9-]+\.json$}`               | `DataStreamBenchmarkPipelineEvent` |
//! | `DS/_dev/benchmark/pipeline/config.yml`                         | `DataStreamBenchmarkPipelineConfig` |
//!
//! `DataStreamTestConfig` and `DataStreamTestSkip` are definition files: no folder
//! spec gives them to a file, they are here for completeness.

use epr_package::version::Version;

use super::FileSchema;
use crate::schema::{
    Schema, Type, any, any_array, array, boolean, integer, object, string, string_enum,
};

/// The schema of the development file kind `which` for a package at format version
/// `v`; non-development kinds are not described here and accept anything.
pub fn schema(which: FileSchema, v: &Version) -> Schema {
    use FileSchema::*;
    match which {
        DevBuild => build(v),
        DevDeployVariants => deploy_variants(),
        DevDeployCustomAgent => deploy_custom_agent(),
        DevDeployTfEnv => deploy_tf_env(),
        DevTestConfig => test_config(),
        InputDevTestConfig => input_test_config(),
        DevBenchmarkSystemScenario => benchmark_system_scenario(),
        DevBenchmarkRallyScenario => benchmark_rally_scenario(),
        DataStreamTestConfig => data_stream_test_config(),
        DataStreamTestSkip => data_stream_test_skip(),
        DataStreamTestSystemConfig => system_test_config(),
        DataStreamTestPolicyConfig => policy_test_config(),
        DataStreamTestStaticConfig => static_test_config(),
        DataStreamTestPipelineCommonConfig => pipeline_common_config(),
        DataStreamTestPipelineConfigJson => pipeline_config_json(),
        DataStreamTestPipelineConfigRaw => pipeline_config_raw(),
        DataStreamTestPipelineEvent => pipeline_test_event(),
        DataStreamTestPipelineExpected => pipeline_test_expected(),
        DataStreamBenchmarkPipelineConfig => benchmark_pipeline_config(),
        DataStreamBenchmarkPipelineEvent => benchmark_pipeline_event(),
        _ => any(),
    }
}

// ---------------------------------------------------------------------------------
// `_dev/build/build.spec.yml`

/// `_dev/build/build.yml`: where the ECS field definitions come from.
fn build(v: &Version) -> Schema {
    let mut ecs = object()
        .closed()
        .prop("reference", string().pattern("^git@.+"))
        .prop("import_mappings", boolean())
        .required(&["reference"]);
    // `before: 2.3.0` removes `import_mappings` (the `before: 3.1.3` patch only drops
    // its `deprecated` annotation, which validates nothing).
    if super::before(v, "2.3.0") {
        ecs = ecs.without("import_mappings");
    }
    object()
        .closed()
        .prop("dependencies", object().closed().prop("ecs", ecs))
        .required(&["dependencies"])
}

// ---------------------------------------------------------------------------------
// `_dev/deploy/**`

/// `_dev/deploy/variants.yml`: the named variants of the service deployment.
fn deploy_variants() -> Schema {
    object()
        .closed()
        .prop("variants", object())
        .prop("default", string())
        .required(&["variants", "default"])
}

/// `_dev/deploy/agent/custom-agent.yml`: a Docker Compose file for a custom agent,
/// whose services must not set `hostname` (the test runner names them).
fn deploy_custom_agent() -> Schema {
    let service = || object().not(any().any_of(vec![any().required(&["hostname"])]));
    object()
        .closed()
        .prop("version", string().pattern(r"^2\.3$"))
        .prop(
            "volumes",
            object()
                .closed()
                .pattern_prop("^[a-zA-Z0-9._-]+$", any().ty(Type::Null)),
        )
        .prop(
            "services",
            object()
                .prop("docker-custom-agent", service())
                .additional(service())
                .required(&["docker-custom-agent"]),
        )
        .required(&["version", "services"])
}

/// `_dev/deploy/tf/env.yml`: environment variables given to the Terraform service.
fn deploy_tf_env() -> Schema {
    let terraform = object()
        .closed()
        .prop("environment", array(string().pattern("^[A-Za-z0-9_]+=.+$")))
        .required(&["environment"]);
    object()
        .closed()
        .prop("version", string().pattern(r"^2\.3$"))
        .prop(
            "services",
            object()
                .closed()
                .prop("terraform", terraform)
                .required(&["terraform"]),
        )
        .required(&["version", "services"])
}

// ---------------------------------------------------------------------------------
// `_dev/test/config.spec.yml` and `input/_dev/test/config.spec.yml`

/// `#/definitions/config_tests`: settings shared by the tests of one kind.
fn config_tests() -> Schema {
    object()
        .closed()
        .prop("parallel", boolean())
        .prop("skip", skip())
        .prop("requires", array(package_requirement()))
}

/// `#/definitions/policy_config_tests`: `config_tests` plus `ignore_fields`.
fn policy_config_tests() -> Schema {
    config_tests().prop("ignore_fields", array(string()))
}

/// `_dev/test/config.yml` of integration packages.
fn test_config() -> Schema {
    object()
        .closed()
        .prop("system", config_tests())
        .prop("pipeline", config_tests())
        .prop("policy", policy_config_tests())
        .prop("static", config_tests())
        .prop("asset", config_tests())
}

/// `_dev/test/config.yml` of input packages (only system and policy tests).
fn input_test_config() -> Schema {
    object()
        .closed()
        .prop("system", config_tests())
        .prop("policy", policy_config_tests())
}

// ---------------------------------------------------------------------------------
// `data_stream/_dev/test/config.spec.yml`: definitions shared by the test configs

/// `#/definitions/deployer`: the service deployer of a system test or benchmark.
fn deployer() -> Schema {
    string_enum(&["docker", "tf", "k8s"])
}

/// `#/definitions/skip`: why a test is skipped and where that is tracked.
fn skip() -> Schema {
    object()
        .closed()
        .prop("reason", string())
        .prop("link", string())
        .required(&["reason", "link"])
}

/// `#/definitions/package_requirement`: a package a test needs, by exact version or
/// by source path.
fn package_requirement() -> Schema {
    let by_version = any()
        .closed()
        .prop("package", string().pattern("^[a-z0-9_]+$"))
        .prop(
            "version",
            string().pattern(r"^\d+\.\d+\.\d+(-[a-zA-Z0-9.]+)?$"),
        )
        .required(&["package", "version"]);
    let by_source = any()
        .closed()
        .prop("source", string())
        .required(&["source"]);
    object().one_of(vec![by_version, by_source])
}

/// `#/definitions/policy_api_format`: the Fleet API format used to create policies.
fn policy_api_format() -> Schema {
    string_enum(&["legacy", "simplified"])
}

/// `#/definitions/vars`: the variables of a test case, free-form but for the dataset.
fn vars() -> Schema {
    any().types(&[Type::Null, Type::Object]).prop(
        "data_stream.dataset",
        string().pattern(r"^[a-zA-Z0-9]+[a-zA-Z0-9\._]*$"),
    )
}

/// The file itself only holds definitions: as a document it is a closed empty object.
fn data_stream_test_config() -> Schema {
    object().closed()
}

/// `data_stream/_dev/test/skip.spec.yml`: also only a `skip` definition.
fn data_stream_test_skip() -> Schema {
    object().closed()
}

// ---------------------------------------------------------------------------------
// `data_stream/_dev/test/{system,policy,static}/config.spec.yml`

/// `_dev/test/system/test-*-config.yml`: a system test case (open: unknown keys are
/// settings of elastic-package the spec does not describe).
fn system_test_config() -> Schema {
    object()
        .prop("deployer", deployer())
        .prop("skip", skip())
        .prop("wait_for_data_timeout", string())
        .prop("skip_ignored_fields", array(string()))
        .prop("agent", test_agent())
        .prop("vars", vars())
        .prop(
            "data_stream",
            any()
                .types(&[Type::Null, Type::Object])
                .prop("vars", vars()),
        )
        .prop("policy_api_format", policy_api_format())
        .prop("requires", array(package_requirement()))
        .prop("samples", array(sample()))
}

/// `agent` of a system test: overrides for the Elastic Agent container.
fn test_agent() -> Schema {
    let script = |language: Schema| {
        object()
            .closed()
            .prop("language", language)
            .prop("contents", string())
            .required(&["contents"])
    };
    object()
        .prop("runtime", string_enum(&["docker"]))
        .prop(
            "base_image",
            string_enum(&["default", "complete", "systemd"]),
        )
        .prop("user", string())
        .prop("pid_mode", string_enum(&["host"]))
        .prop("ports", array(string()))
        .prop("linux_capabilities", array(string_enum(LINUX_CAPABILITIES)))
        .prop("provisioning_script", script(string()))
        .prop("pre_start_script", script(string_enum(&["sh"])))
}

/// The capabilities Docker can grant (`agent.linux_capabilities`).
const LINUX_CAPABILITIES: &[&str] = &[
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "PERFORM",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
];

/// One entry of `samples`: which `sample_event_<name>.json` to collect, and from which
/// documents.
fn sample() -> Schema {
    let condition = object()
        .closed()
        .prop("key", string())
        .prop("value", string())
        .required(&["key"]);
    object()
        .closed()
        .prop("name", string())
        .prop("condition", condition)
        .required(&["name"])
}

/// `_dev/test/policy/test-*.yml`: a policy test case (closed).
fn policy_test_config() -> Schema {
    object()
        .closed()
        .prop("skip", skip())
        .prop(
            "data_stream",
            any()
                .types(&[Type::Null, Type::Object])
                .closed()
                .prop("vars", vars()),
        )
        .prop("input", string())
        .prop("vars", vars())
        .prop("requires", array(package_requirement()))
        .prop("policy_api_format", policy_api_format())
}

/// `_dev/test/static/test-*-config.yml`: a static test case (open).
fn static_test_config() -> Schema {
    object()
        .prop("skip", skip())
        .prop("requires", array(package_requirement()))
}

// ---------------------------------------------------------------------------------
// `data_stream/_dev/test/pipeline/*.spec.yml`

/// What every pipeline test config may set; `multiline` only makes sense for raw
/// (log) input, so the JSON variant leaves it out.
fn pipeline_config(multiline: bool) -> Schema {
    let s = object()
        .closed()
        .prop("skip", skip())
        .prop("fields", object())
        .prop("dynamic_fields", object());
    let s = if multiline {
        s.prop("multiline", object())
    } else {
        s
    };
    s.prop("numeric_keyword_fields", any_array())
        .prop("string_number_fields", any_array())
}

/// `test-common-config.yml`: settings shared by every pipeline test case.
fn pipeline_common_config() -> Schema {
    pipeline_config(true)
}

/// `test-*.json-config.yml`: settings of one JSON-event test case.
fn pipeline_config_json() -> Schema {
    pipeline_config(false)
}

/// `test-*.log-config.yml`: settings of one raw-log test case.
fn pipeline_config_raw() -> Schema {
    pipeline_config(true)
}

/// `test-*.json`: the events given to the pipeline.
fn pipeline_test_event() -> Schema {
    events()
}

/// `test-*-expected.json`: the documents the pipeline must produce (`null` for a
/// dropped event).
fn pipeline_test_expected() -> Schema {
    let optional_result = any().any_of(vec![object(), any().ty(Type::Null)]);
    object()
        .closed()
        .prop("expected", array(optional_result))
        .required(&["expected"])
}

/// `{"events": [{..}, ..]}`, the shape of pipeline test and benchmark samples.
fn events() -> Schema {
    object()
        .closed()
        .prop("events", array(object()))
        .required(&["events"])
}

// ---------------------------------------------------------------------------------
// `data_stream/_dev/benchmark/pipeline/*.spec.yml`

/// `_dev/benchmark/pipeline/config.yml`: documents per benchmark request.
fn benchmark_pipeline_config() -> Schema {
    object()
        .closed()
        .prop("num_docs", integer())
        .required(&["num_docs"])
}

/// `_dev/benchmark/pipeline/*.json`: the events the pipeline benchmark replays.
fn benchmark_pipeline_event() -> Schema {
    events()
}

// ---------------------------------------------------------------------------------
// `_dev/benchmark/{system,rally}.scenario.spec.yml`

/// `manifest.spec.yml#/definitions/version`: a semantic version.
fn package_version() -> Schema {
    string().pattern(
        r"^([0-9]+)\.([0-9]+)\.([0-9]+)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+)?$",
    )
}

/// `#/definitions/data_stream` of the scenarios: the data stream, by name or by
/// dataset (exactly one of them).
fn scenario_data_stream() -> Schema {
    object()
        .closed()
        .one_of(vec![
            any().required(&["name"]),
            any().required(&["dataset"]),
        ])
        .prop("name", string())
        .prop("dataset", string())
        .prop("vars", vars())
}

/// `#/definitions/corpora`: how the benchmark data is generated and sent.
fn corpora() -> Schema {
    let template = object()
        .closed()
        .prop("raw", string())
        .prop("path", string())
        .prop("type", string_enum(&["placeholder", "gotext"]));
    let raw_or_path = || {
        object()
            .closed()
            .prop("raw", object())
            .prop("path", string())
    };
    let generator = object()
        .closed()
        .prop("total_events", integer())
        .prop("template", template)
        .prop("config", raw_or_path())
        .prop("fields", raw_or_path())
        .required(&["total_events", "template", "config", "fields"]);
    let input_service = object()
        .closed()
        .prop("name", string())
        .prop("signal", string())
        .required(&["name"]);
    object()
        .closed()
        .prop("generator", generator)
        .prop("input_service", input_service)
        .required(&["generator"])
}

/// `_dev/benchmark/system/*.yml`: a system benchmark scenario.
fn benchmark_system_scenario() -> Schema {
    object()
        .closed()
        .prop("package", string())
        .prop("description", string())
        .prop("version", package_version())
        .prop("input", string())
        .prop("policy_template", string())
        .prop("vars", vars())
        .prop("data_stream", scenario_data_stream())
        .prop("warmup_time_period", string())
        .prop("benchmark_time_period", string())
        .prop("wait_for_data_timeout", string())
        .prop("deployer", deployer())
        .prop("corpora", corpora())
        .required(&["data_stream", "input"])
}

/// `_dev/benchmark/rally/*.yml`: a rally benchmark scenario.
fn benchmark_rally_scenario() -> Schema {
    object()
        .closed()
        .prop("package", string())
        .prop("description", string())
        .prop("version", package_version())
        .prop("data_stream", scenario_data_stream())
        .prop("corpora", corpora())
        .required(&["data_stream", "corpora"])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages of checking `yaml` as `which` for a package at `version`.
    fn errors_at(which: FileSchema, version: &str, yaml: &str) -> Vec<String> {
        let v = Version::parse(version).unwrap();
        crate::schema::messages(&schema(which, &v), yaml)
    }

    fn errors(which: FileSchema, yaml: &str) -> Vec<String> {
        errors_at(which, "3.6.0", yaml)
    }

    #[test]
    fn build_import_mappings_arrived_in_2_3_0() {
        let yaml = "dependencies:\n  ecs:\n    reference: git@v8.7.0\n    import_mappings: true\n";
        assert!(errors_at(FileSchema::DevBuild, "2.3.0", yaml).is_empty());
        assert_eq!(
            errors_at(FileSchema::DevBuild, "2.2.0", yaml),
            vec!["field dependencies.ecs: Additional property import_mappings is not allowed"]
        );
        assert_eq!(
            errors(
                FileSchema::DevBuild,
                "dependencies:\n  ecs:\n    reference: v8\n"
            ),
            vec!["field dependencies.ecs.reference: Does not match pattern '^git@.+'"]
        );
        assert_eq!(
            errors(FileSchema::DevBuild, "{}\n"),
            vec!["field (root): dependencies is required"]
        );
    }

    #[test]
    fn deploy_variants_need_an_object_and_a_default() {
        assert_eq!(
            errors(FileSchema::DevDeployVariants, "variants:\n  - FOO: bar\n"),
            vec![
                "field (root): default is required",
                "field variants: Invalid type. Expected: object, given: array",
            ]
        );
        assert!(
            errors(
                FileSchema::DevDeployVariants,
                "variants:\n  v1: {}\ndefault: v1\n"
            )
            .is_empty()
        );
    }

    #[test]
    fn custom_agent_services_must_not_set_hostname() {
        let bad = "version: \"2.3\"\nservices:\n  docker-custom-agent:\n    hostname: a\n";
        assert_eq!(
            errors(FileSchema::DevDeployCustomAgent, bad),
            vec!["field services.docker-custom-agent: Must not be present"]
        );
        let other =
            "version: \"2.3\"\nservices:\n  docker-custom-agent: {}\n  side:\n    hostname: b\n";
        assert_eq!(
            errors(FileSchema::DevDeployCustomAgent, other),
            vec!["field services.side: Must not be present"]
        );
        let good = "version: \"2.3\"\nvolumes:\n  data:\nservices:\n  docker-custom-agent:\n    image: x\n";
        assert!(errors(FileSchema::DevDeployCustomAgent, good).is_empty());
        assert_eq!(
            errors(
                FileSchema::DevDeployCustomAgent,
                "version: \"3\"\nservices: {}\n"
            ),
            vec![
                "field version: Does not match pattern '^2\\.3$'",
                "field services: docker-custom-agent is required",
            ]
        );
    }

    #[test]
    fn tf_env_entries_are_assignments() {
        let yaml =
            "version: '2.3'\nservices:\n  terraform:\n    environment:\n      - A=1\n      - B\n";
        assert_eq!(
            errors(FileSchema::DevDeployTfEnv, yaml),
            vec![
                "field services.terraform.environment.1: Does not match pattern '^[A-Za-z0-9_]+=.+$'"
            ]
        );
    }

    #[test]
    fn ignore_fields_only_for_policy_tests() {
        let yaml =
            "system:\n  parallel: true\n  ignore_fields: [a]\npolicy:\n  ignore_fields: [b]\n";
        assert_eq!(
            errors(FileSchema::DevTestConfig, yaml),
            vec!["field system: Additional property ignore_fields is not allowed"]
        );
        assert_eq!(
            errors(FileSchema::InputDevTestConfig, "pipeline: {}\n"),
            vec!["field (root): Additional property pipeline is not allowed"]
        );
    }

    #[test]
    fn test_requires_by_version_or_source() {
        let yaml = "policy:\n  requires:\n    - package: foo\n      version: 1.0.0\n    - source: ../foo\n";
        assert!(errors(FileSchema::DevTestConfig, yaml).is_empty());
        assert_eq!(
            errors(
                FileSchema::DevTestConfig,
                "policy:\n  requires:\n    - package: foo\n      version: \"1.0\"\n"
            ),
            vec![
                "field policy.requires.0.version: Does not match pattern '^\\d+\\.\\d+\\.\\d+(-[a-zA-Z0-9.]+)?$'"
            ]
        );
    }

    #[test]
    fn system_test_config_fields() {
        assert_eq!(
            errors(
                FileSchema::DataStreamTestSystemConfig,
                "deployer: invaliddeployer\nvars: ~\n"
            ),
            vec![
                "field deployer: deployer must be one of the following: \"docker\", \"tf\", \"k8s\""
            ]
        );
        assert_eq!(
            errors(
                FileSchema::DataStreamTestSystemConfig,
                "policy_api_format: unexpected\n"
            ),
            vec![
                "field policy_api_format: policy_api_format must be one of the following: \"legacy\", \"simplified\""
            ]
        );
        assert_eq!(
            errors(
                FileSchema::DataStreamTestSystemConfig,
                "skip_ignored_fields: true\n"
            ),
            vec!["field skip_ignored_fields: Invalid type. Expected: array, given: boolean"]
        );
        // Open: settings the spec does not describe (`assert`, `service`) are fine.
        let open =
            "input: cel\nservice: x\nassert:\n  hit_count: 3\ndata_stream:\n  vars:\n    a: 1\n";
        assert!(errors(FileSchema::DataStreamTestSystemConfig, open).is_empty());
        assert_eq!(
            errors(
                FileSchema::DataStreamTestSystemConfig,
                "vars:\n  data_stream.dataset: \"-x\"\n"
            ),
            vec![
                "field vars.data_stream.dataset: Does not match pattern '^[a-zA-Z0-9]+[a-zA-Z0-9\\._]*$'"
            ]
        );
    }

    #[test]
    fn policy_test_config_is_closed() {
        assert_eq!(
            errors(
                FileSchema::DataStreamTestPolicyConfig,
                "input: x\ndata_stream:\n  vars: {}\n  other: 1\nassert: {}\n"
            ),
            vec![
                "field data_stream: Additional property other is not allowed",
                "field (root): Additional property assert is not allowed",
            ]
        );
    }

    #[test]
    fn skip_needs_reason_and_link() {
        assert_eq!(
            errors(
                FileSchema::DataStreamTestStaticConfig,
                "skip:\n  reason: flaky\n"
            ),
            vec!["field skip: link is required"]
        );
    }

    #[test]
    fn pipeline_configs_differ_in_multiline() {
        assert!(
            errors(
                FileSchema::DataStreamTestPipelineConfigRaw,
                "multiline: {}\n"
            )
            .is_empty()
        );
        assert!(
            errors(
                FileSchema::DataStreamTestPipelineCommonConfig,
                "multiline: {}\n"
            )
            .is_empty()
        );
        assert_eq!(
            errors(
                FileSchema::DataStreamTestPipelineConfigJson,
                "multiline: {}\n"
            ),
            vec!["field (root): Additional property multiline is not allowed"]
        );
    }

    #[test]
    fn pipeline_events_and_expected_results() {
        assert_eq!(
            errors(FileSchema::DataStreamTestPipelineEvent, "events: [1]\n"),
            vec!["field events.0: Invalid type. Expected: object, given: integer"]
        );
        assert!(
            errors(
                FileSchema::DataStreamTestPipelineExpected,
                "expected: [null, {a: 1}]\n"
            )
            .is_empty()
        );
        assert_eq!(
            errors(
                FileSchema::DataStreamTestPipelineExpected,
                "expected: [x]\n"
            ),
            vec!["field expected.0: Invalid type. Expected: object, given: string"]
        );
        assert_eq!(
            errors(FileSchema::DataStreamBenchmarkPipelineEvent, "{}\n"),
            vec!["field (root): events is required"]
        );
        assert_eq!(
            errors(
                FileSchema::DataStreamBenchmarkPipelineConfig,
                "num_docs: many\n"
            ),
            vec!["field num_docs: Invalid type. Expected: integer, given: string"]
        );
    }

    #[test]
    fn benchmark_scenarios() {
        assert_eq!(
            errors(
                FileSchema::DevBenchmarkSystemScenario,
                "input: cel\ndeployer: x\ndata_stream:\n  name: a\n"
            ),
            vec![
                "field deployer: deployer must be one of the following: \"docker\", \"tf\", \"k8s\""
            ]
        );
        assert_eq!(
            errors(FileSchema::DevBenchmarkSystemScenario, "data_stream: {}\n"),
            vec![
                "field (root): input is required",
                "field data_stream: name is required"
            ]
        );
        let rally = "data_stream:\n  dataset: a.b\ncorpora:\n  generator:\n    total_events: 10\n    template:\n      type: other\n    config: {}\n    fields: {}\n";
        assert_eq!(
            errors(FileSchema::DevBenchmarkRallyScenario, rally),
            vec![
                "field corpora.generator.template.type: corpora.generator.template.type must be one of the following: \"placeholder\", \"gotext\""
            ]
        );
    }

    #[test]
    fn definition_files_accept_only_an_empty_object() {
        assert!(errors(FileSchema::DataStreamTestSkip, "{}\n").is_empty());
        assert_eq!(
            errors(FileSchema::DataStreamTestConfig, "skip: {}\n"),
            vec!["field (root): Additional property skip is not allowed"]
        );
    }
}
