//! The development folders (`_dev`): test configurations, service deployments,
//! benchmarks, build settings. Source packages only; built packages never have them
//! (`spec/{integration,input,content}/_dev/**/spec.yml` and
//! `spec/integration/data_stream/_dev/**/spec.yml`). None of these files has a
//! `versions` patch.

use super::integration;
use super::spec::{Item, file, files, folder, folders, spec};
use crate::schemas::FileSchema;

/// `integration/_dev/spec.yml`: the package-level `_dev` of integrations.
pub fn integration() -> Item {
    spec()
        .development()
        .child(folder("benchmark").with_spec(benchmark()))
        .child(folder("build").with_spec(build()))
        .child(folder("deploy").with_spec(deploy()))
        .child(folder("test").with_spec(package_test()))
        .child(folder("shared").with_spec(anything()))
        .child(folder("scripts").with_spec(anything()))
}

/// `input/_dev/spec.yml`.
pub fn input(v: &epr_package::version::Version) -> Item {
    spec()
        .development()
        .child(folder("build").with_spec(build()))
        .child(folder("deploy").with_spec(deploy()))
        .child(folder("test").with_spec(input_test()))
        .child(folder("scripts").with_spec(anything()))
        // Upstream references the integration *root* spec here (not `_dev/shared`), so
        // an input package's `_dev/shared` must look like an integration package.
        // Reproduced as package-spec behaves.
        .child(folder("shared").with_spec(integration::root(v)))
}

/// `content/_dev/spec.yml`: no deploy or tests for content packages.
pub fn content() -> Item {
    spec()
        .development()
        .child(folder("build").with_spec(build()))
        .child(folder("shared").with_spec(anything()))
        .child(folder("scripts").with_spec(anything()))
}

/// `integration/data_stream/_dev/spec.yml`: a data stream's tests and benchmarks.
pub fn data_stream() -> Item {
    spec()
        .development()
        .child(folder("test").with_spec(data_stream_test()))
        .child(folder("deploy").with_spec(deploy()))
        .child(folder("benchmark").with_spec(data_stream_benchmark()))
}

/// `_dev/shared/spec.yml`, `_dev/scripts/spec.yml`: free-form folders.
fn anything() -> Item {
    spec().additional_contents()
}

/// `integration/_dev/build/spec.yml`.
fn build() -> Item {
    spec()
        .child(file("build.yml").yaml().schema(FileSchema::DevBuild))
        .child(
            folder("docs").with_spec(
                spec()
                    .child(file("README.md").markdown().required())
                    .child(files(r"^.+\.md").markdown()),
            ),
        )
}

/// `integration/_dev/test/spec.yml`.
fn package_test() -> Item {
    spec().child(file("config.yml").yaml().schema(FileSchema::DevTestConfig))
}

/// `input/_dev/test/spec.yml`.
fn input_test() -> Item {
    spec()
        .child(folder("system").with_spec(system_tests()))
        .child(folder("policy").with_spec(policy_tests()))
        .child(
            file("config.yml")
                .yaml()
                .schema(FileSchema::InputDevTestConfig),
        )
}

/// `integration/_dev/deploy/spec.yml`: how the service under test is started.
fn deploy() -> Item {
    spec()
        .child(folder("docker").with_spec(docker()))
        .child(folder("tf").with_spec(terraform()))
        .child(folder("agent").with_spec(custom_agent()))
        .child(folder("k8s").with_spec(kubernetes()))
        .child(variants())
}

fn variants() -> Item {
    file("variants.yml")
        .yaml()
        .schema(FileSchema::DevDeployVariants)
}

/// `integration/_dev/deploy/docker/spec.yml`.
fn docker() -> Item {
    spec()
        .additional_contents()
        .child(file("docker-compose.yml").yaml().required())
}

/// `integration/_dev/deploy/agent/spec.yml`.
fn custom_agent() -> Item {
    spec().additional_contents().child(
        file("custom-agent.yml")
            .yaml()
            .required()
            .schema(FileSchema::DevDeployCustomAgent),
    )
}

/// `integration/_dev/deploy/k8s/spec.yml`.
fn kubernetes() -> Item {
    spec()
        .child(files(r"^.*\.yaml$").yaml())
        .child(file(".empty"))
}

/// `integration/_dev/deploy/tf/spec.yml`.
fn terraform() -> Item {
    spec()
        .child(files(r"^.*\.tf$").required())
        .child(file(".terraform.lock.hcl"))
        .child(files(r"^.*\.tftpl$"))
        .child(file("env.yml").yaml().schema(FileSchema::DevDeployTfEnv))
        .child(files(r"^.*\.json$").json())
        .child(
            folder("files").with_spec(
                spec()
                    .child(files(r"^.*\.(log|conf)$").plain_text())
                    .child(files(r"^.*\.(yml|yaml)$").yaml())
                    .child(files(r"^.*\.json$").json())
                    .child(files(r"^.*\.parquet$"))
                    .child(files(r"^.*\.csv$").csv())
                    .child(files(r"^.*\.gz$")),
            ),
        )
}

/// `integration/_dev/benchmark/spec.yml`.
fn benchmark() -> Item {
    const BENCHMARK_DATA: &str = r"^[a-z0-9]+([a-z0-9_]*[a-z0-9])?-benchmark$";
    spec()
        .development()
        .child(
            folder("system")
                .child(folder("deploy").with_spec(benchmark_deploy()))
                .child(folders(BENCHMARK_DATA).additional_contents())
                .child(
                    files(r"^.+\.yml$")
                        .yaml_with_dashes()
                        .schema(FileSchema::DevBenchmarkSystemScenario),
                ),
        )
        .child(
            folder("rally")
                .child(folder("deploy").with_spec(benchmark_deploy()))
                .child(
                    folders(BENCHMARK_DATA)
                        .child(file("config.yml").yaml())
                        .child(file("fields.yml").yaml())
                        .child(file("template.ndjson").json()),
                )
                .child(
                    files(r"^.+\.yml$")
                        .yaml_with_dashes()
                        .schema(FileSchema::DevBenchmarkRallyScenario),
                ),
        )
}

/// `integration/_dev/benchmark/deploy/spec.yml`: the deploy folder without a custom
/// agent.
fn benchmark_deploy() -> Item {
    spec()
        .child(folder("docker").with_spec(docker()))
        .child(folder("tf").with_spec(terraform()))
        .child(folder("k8s").with_spec(kubernetes()))
        .child(variants())
}

/// `integration/data_stream/_dev/test/spec.yml`.
fn data_stream_test() -> Item {
    spec()
        .child(folder("pipeline").with_spec(pipeline_tests()))
        .child(folder("static").with_spec(config_files(FileSchema::DataStreamTestStaticConfig)))
        .child(folder("system").with_spec(system_tests()))
        .child(folder("policy").with_spec(policy_tests()))
        .child(folder("scripts").with_spec(spec().child(files(r"^.+\.(txt|txtar)$").plain_text())))
}

/// `integration/data_stream/_dev/test/system/spec.yml`.
fn system_tests() -> Item {
    config_files(FileSchema::DataStreamTestSystemConfig)
}

/// A folder of `test-<name>-config.yml` files (system and static tests).
fn config_files(schema: FileSchema) -> Item {
    spec().child(
        files(r"^test-[a-z0-9_.-]+-config\.yml$")
            .yaml()
            .schema(schema),
    )
}

/// `integration/data_stream/_dev/test/policy/spec.yml`.
fn policy_tests() -> Item {
    spec()
        .child(
            files(r"^test-[a-z0-9_.-]+\.yml$")
                .yaml()
                .schema(FileSchema::DataStreamTestPolicyConfig),
        )
        .child(files(r"^test-[a-z0-9_.-]+\.expected$").yaml())
}

/// `integration/data_stream/_dev/test/pipeline/spec.yml`.
fn pipeline_tests() -> Item {
    spec()
        .child(
            files(r"^test-[a-z0-9-]+\.json$")
                .json()
                .schema(FileSchema::DataStreamTestPipelineEvent),
        )
        .child(files(r"^test-[a-z0-9-]+\.log$"))
        .child(
            files(r"^test-[a-z0-9-]+\.log-config\.yml$")
                .yaml()
                .schema(FileSchema::DataStreamTestPipelineConfigRaw),
        )
        .child(
            files(r"^test-[a-z0-9-]+\.json-config\.yml$")
                .yaml()
                .schema(FileSchema::DataStreamTestPipelineConfigJson),
        )
        .child(
            file("test-common-config.yml")
                .yaml()
                .schema(FileSchema::DataStreamTestPipelineCommonConfig),
        )
        .child(
            files(r"^test-[a-z0-9-]+\.(json|log)-expected\.json$")
                .json()
                .schema(FileSchema::DataStreamTestPipelineExpected),
        )
}

/// `integration/data_stream/_dev/benchmark/spec.yml`.
fn data_stream_benchmark() -> Item {
    spec().child(
        folder("pipeline").with_spec(
            spec()
                .child(
                    files(r"^[a-z0-9-]+\.json$")
                        .json()
                        .schema(FileSchema::DataStreamBenchmarkPipelineEvent),
                )
                .child(files(r"^[a-z0-9-]+\.log$"))
                .child(
                    file("config.yml")
                        .yaml()
                        .schema(FileSchema::DataStreamBenchmarkPipelineConfig),
                ),
        ),
    )
}
