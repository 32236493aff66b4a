#!/usr/bin/env bash
# Installs the external servers the storage tests start (testsupport/servers.rs).
# Idempotent: installs only what is missing. Under CI those tests fail without them.
#
#   moto 5.2.1 (S3 emulator, Python): enforces If-None-Match / If-Match on PutObject.
#   fake-gcs-server v1.56.1 (GCS emulator, Go): used for GCS reads only.
#   gnupg: gpg, used by the signature tests to check our signatures interoperate.
#   openssl and curl: certificates and HTTPS health checks (deployments.rs).
#   wrk and nginx: the load benchmark (scripts/bench_load.py; .ci/run runs its --smoke).
set -euo pipefail

MOTO_VERSION=5.2.1
FAKE_GCS_VERSION=v1.56.1

have() { command -v "$1" >/dev/null 2>&1; }

# The tests run moto's WSGI app with python3, so check the module, not just the script.
if ! python3 -c 'import moto.server, werkzeug.serving' >/dev/null 2>&1; then
  echo "installing moto[server]==${MOTO_VERSION}"
  python3 -m pip install --quiet "moto[server]==${MOTO_VERSION}"
fi

# go install puts it in $GOBIN or $(go env GOPATH)/bin, where servers.rs also looks.
gobin="$(go env GOBIN 2>/dev/null || true)"
gobin="${gobin:-$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin}"
if ! have fake-gcs-server && [ ! -x "$gobin/fake-gcs-server" ]; then
  echo "installing fake-gcs-server@${FAKE_GCS_VERSION}"
  go install "github.com/fsouza/fake-gcs-server@${FAKE_GCS_VERSION}"
fi

# Debian packages, named by the command they provide; one apt-get for all that are missing.
missing=()
have gpg || missing+=(gnupg)
# The deployment tests (crates/cli/tests/deployments.rs) make certificates with
# openssl and check health over HTTPS with curl, as elastic-package's compose file does.
have openssl || missing+=(openssl)
have curl || missing+=(curl)
have wrk || missing+=(wrk)
have nginx || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
