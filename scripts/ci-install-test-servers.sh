#!/usr/bin/env bash
# Installs the external servers the storage tests start (crates/testkit/src/servers.rs).
# Idempotent: installs only what is missing. Under CI those tests fail without them.
#
#   moto 5.2.1 (S3 emulator, Python, in target/ci-venv): enforces If-None-Match /
#     If-Match on PutObject.
#   fake-gcs-server v1.56.1 (GCS emulator, Go): used for GCS reads only.
#   gnupg: gpg, used by the signature tests to check our signatures interoperate.
#   otelcol-epr: an OpenTelemetry Collector (OTLP receiver, file exporter) built from
#     crates/testkit/otelcol/manifest.yaml, for the tracing tests.
#   openssl and curl: certificates and HTTPS health checks (deployments.rs).
#   wrk and nginx: the load benchmark (scripts/bench_load.py; .ci/run runs its --smoke).
#   scripts/check_deploy.py (docs/DEPLOYMENT.md), all offline once installed:
#     target/ci-venv, a Python virtual environment: PyYAML 6.0.3, check-jsonschema 0.39.0
#     (it ships the compose-spec schema), kubernetes-validate 1.37.0 (it ships the
#     Kubernetes JSON schemas; kubeconform's are otherwise downloaded at run time);
#     kubeconform v0.8.0 (Go); openssl and curl.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"

MOTO_VERSION=5.2.1
FAKE_GCS_VERSION=v1.56.1
KUBECONFORM_VERSION=v0.8.0
OTELCOL_VERSION=0.165.0
DEPLOY_VENV="$ROOT/target/ci-venv"
DEPLOY_PYTHON_PACKAGES=("moto[server]==${MOTO_VERSION}" PyYAML==6.0.3 check-jsonschema==0.39.0 kubernetes-validate==1.37.0)

have() { command -v "$1" >/dev/null 2>&1; }

# go install puts them in $GOBIN or $(go env GOPATH)/bin, where servers.rs and
# check_deploy.py also look.
if have go; then
  gobin="$(go env GOBIN 2>/dev/null || true)"
  gobin="${gobin:-$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin}"
  if ! have fake-gcs-server && [ ! -x "$gobin/fake-gcs-server" ]; then
    echo "installing fake-gcs-server@${FAKE_GCS_VERSION}"
    go install "github.com/fsouza/fake-gcs-server@${FAKE_GCS_VERSION}"
  fi
  if ! have kubeconform && [ ! -x "$gobin/kubeconform" ]; then
    echo "installing kubeconform@${KUBECONFORM_VERSION}"
    go install "github.com/yannh/kubeconform/cmd/kubeconform@${KUBECONFORM_VERSION}"
  fi
  # A real OTLP receiver for the tracing tests: the OpenTelemetry Collector, built with
  # its builder from crates/testkit/otelcol/manifest.yaml (about 3 minutes on 2 cores).
  if ! have otelcol-epr && [ ! -x "$gobin/otelcol-epr" ]; then
    echo "building otelcol-epr (OpenTelemetry Collector ${OTELCOL_VERSION}: OTLP receiver, file exporter)"
    go install "go.opentelemetry.io/collector/cmd/builder@v${OTELCOL_VERSION}"
    work="$(mktemp -d)"
    cp "$ROOT/crates/testkit/otelcol/manifest.yaml" "$work/"
    (cd "$work" && "$gobin/builder" --config manifest.yaml >/dev/null)
    install -m 0755 "$work/build/otelcol-epr" "$gobin/otelcol-epr"
    rm -rf "$work"
  fi
else
  echo "the Go toolchain is missing: fake-gcs-server, kubeconform and otelcol-epr not installed" >&2
fi

# Debian packages, named by the command they provide; one apt-get for all that are missing.
missing=()
have gpg || missing+=(gnupg)
# openssl and curl: the deployment tests (deployments.rs, check_deploy.py) make
# certificates and check health over HTTPS as elastic-package's compose file does.
have openssl || missing+=(openssl)
have curl || missing+=(curl)
# Debian's python3 makes virtual environments only with python3-venv.
python3 -c 'import ensurepip' >/dev/null 2>&1 || [ -x "$DEPLOY_VENV/bin/python3" ] || missing+=(python3-venv)
have wrk || missing+=(wrk)
have nginx || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The Python tools (moto for the storage tests, crates/testkit/src/servers.rs; the
# validators of scripts/check_deploy.py) live in a virtual environment in the build folder:
# Debian's system pip refuses to install packages. Reinstalled only when a version
# differs.
venv_ok() {
  [ -x "$DEPLOY_VENV/bin/python3" ] && "$DEPLOY_VENV/bin/python3" - "${DEPLOY_PYTHON_PACKAGES[@]}" <<'PY' >/dev/null 2>&1
import importlib.metadata, sys
for spec in sys.argv[1:]:
    name, version = spec.split("==")
    if importlib.metadata.version(name.split("[")[0]) != version:
        sys.exit(1)
PY
}
if ! venv_ok; then
  echo "installing ${DEPLOY_PYTHON_PACKAGES[*]} into $DEPLOY_VENV"
  python3 -m venv "$DEPLOY_VENV"
  "$DEPLOY_VENV/bin/python3" -m pip install --quiet --disable-pip-version-check "${DEPLOY_PYTHON_PACKAGES[@]}"
fi
