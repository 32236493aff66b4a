#!/usr/bin/env python3
"""Runs what can run here of the deployment files, without a container daemon.

  python3 scripts/check_deploy.py [--binary target/release/package-registry]

a. Dockerfile: parses it, runs the builder stage's `cargo build` in the repository
   (skipped with --binary), lays out a temporary root as the image has it (binary and
   config.yml in /package-registry, packages in /packages/package-registry), starts the
   ENTRYPOINT from the WORKDIR with the image's ENV (as uid 1000 when run as root),
   runs the HEALTHCHECK command, then SIGTERM must exit 0.
b. deploy/compose.yaml: starts the binary with the registry service's environment over
   a throwaway CA and server certificate made with docs/DEPLOYMENT.md's openssl
   commands, runs the service's healthcheck (curl --cacert ... https://localhost),
   scrapes the metrics listener.
c. deploy/kubernetes/*.yaml and deploy/compose.yaml: schema validation, offline
   (kubeconform and kubernetes-validate with the Kubernetes schemas that package ships;
   check-jsonschema with the compose-spec schema it ships); broken copies must be
   refused; what the schemas cannot say (ports, labels, probes, security context). Then
   the Deployment's container runs twice with its env against one local bucket: its
   probes must pass, and both replicas must follow a publication into the bucket.

Ports and absolute paths are rewritten to free ports and to a temporary folder; every
request goes to this machine. The tools come from scripts/ci-install-test-servers.sh
(PyYAML, check-jsonschema and kubernetes-validate in target/ci-venv, kubeconform with
go install, openssl, curl, gpg). Prints `N passed, M failed`; exits 1 on a failure.
"""

import argparse
import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(REPO, "target", "ci-venv")

# PyYAML and the validators live in the virtual environment the install script makes
# (Debian's Python refuses system-wide pip installs): rerun under its Python.
VENV_PYTHON = os.path.join(VENV, "bin", "python3")
if os.path.exists(VENV_PYTHON) and os.path.realpath(sys.prefix) != os.path.realpath(VENV):
    os.execv(VENV_PYTHON, [VENV_PYTHON] + sys.argv)
try:
    import yaml
except ImportError:
    yaml = None

RESULTS = []
STARTED = []  # every registry process, stopped at the end whatever happened


def check(name, ok, detail=""):
    RESULTS.append(ok)
    line = f"{'ok  ' if ok else 'FAIL'} {name}"
    if detail:
        line += f": {detail}"
    print(line, flush=True)
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Dockerfile ------------------------------------------------------------------------


def dockerfile_instructions(text):
    """(KEYWORD, arguments) pairs: comments dropped, continuation lines joined."""
    out, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not current):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, rest = current.strip().partition(" ")
        out.append((keyword.upper(), rest.strip()))
        current = ""
    return out


def substitute(value, variables):
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: variables.get(m.group(1) or m.group(2), ""), value)


def parse_env(rest):
    words = shlex.split(rest)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(w.split("=", 1) for w in words)


def parse_dockerfile(path):
    """Stages as dicts: base image, name, and what the image build and run use."""
    args, stages = {}, []
    for keyword, rest in dockerfile_instructions(open(path).read()):
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
            continue
        if keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            stages.append({
                "from": substitute(words[0], args),
                "name": words[2] if len(words) > 2 and words[1].upper() == "AS" else None,
                "env": {}, "run": [], "copy": [], "workdir": "/", "user": None,
                "expose": [], "entrypoint": None, "healthcheck": None,
            })
            continue
        stage = stages[-1]
        if keyword == "ENV":
            stage["env"].update(parse_env(rest))
        elif keyword == "RUN":
            stage["run"].append(" ".join(w for w in shlex.split(rest) if not w.startswith("--mount=")))
        elif keyword == "COPY":
            words = shlex.split(rest)
            flags = dict(w[2:].split("=", 1) for w in words if w.startswith("--"))
            paths = [w for w in words if not w.startswith("--")]
            stage["copy"].append((flags.get("from"), paths[:-1], paths[-1]))
        elif keyword == "WORKDIR":
            stage["workdir"] = os.path.join(stage["workdir"], rest)
        elif keyword == "USER":
            stage["user"] = rest
        elif keyword == "EXPOSE":
            stage["expose"] += rest.split()
        elif keyword == "ENTRYPOINT":
            stage["entrypoint"] = json.loads(rest) if rest.startswith("[") else ["/bin/sh", "-c", rest]
        elif keyword == "HEALTHCHECK":
            words = rest.split(" ")
            options = {}
            while words and words[0].startswith("--"):
                key, _, value = words.pop(0)[2:].partition("=")
                options[key] = value
            assert words.pop(0).upper() == "CMD", "HEALTHCHECK without CMD"
            command = " ".join(words)
            argv = json.loads(command) if command.startswith("[") else ["/bin/sh", "-c", command]
            stage["healthcheck"] = {"options": options, "argv": argv}
    return stages


def dockerignore_patterns():
    path = os.path.join(REPO, ".dockerignore")
    if not os.path.exists(path):
        return []
    return [line.strip().rstrip("/") for line in open(path) if line.strip() and not line.startswith("#")]


def ignored(relpath, patterns):
    for pattern in patterns:
        bare = pattern[3:] if pattern.startswith("**/") else pattern
        parts = relpath.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, pattern) for p in prefixes):
            return True
        if pattern.startswith("**/") and any(fnmatch.fnmatch(part, bare) for part in parts):
            return True
    return False


def go_duration(value, default):
    if not value:
        return default
    total = 0.0
    for number, unit in re.findall(r"([\d.]+)(ms|s|m|h)", value):
        total += float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total


# --- processes -------------------------------------------------------------------------


class Registry:
    """The binary started as the container would start it; stderr kept for reports."""

    def __init__(self, argv, env, cwd, as_uid=None):
        self.log = tempfile.TemporaryFile()
        self.argv = argv
        def demote():  # the image's USER, when this runs as root
            os.setgroups([])
            os.setgid(as_uid)
            os.setuid(as_uid)
        as_user = as_uid is not None and os.getuid() == 0
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=self.log,
                                     stderr=subprocess.STDOUT, preexec_fn=demote if as_user else None)
        STARTED.append(self)

    def output(self, limit=1500):
        self.log.seek(0)
        text = self.log.read().decode(errors="replace")
        return text[-limit:].strip()

    def exited(self):
        return self.proc.poll() is not None

    def stop(self, timeout=30):
        """SIGTERM, then the exit code (None if it had to be killed)."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


def run_until_ok(argv, registry, tries, interval, env=None):
    """Runs a healthcheck-like command until it exits 0; (ok, last output)."""
    last = ""
    for _ in range(tries):
        if registry.exited():
            return False, f"the registry exited with {registry.proc.returncode}: {registry.output()}"
        r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30)
        if r.returncode == 0:
            return True, r.stdout.strip()
        said = (r.stderr or r.stdout).strip().splitlines()
        last = f"exit {r.returncode}: {said[-1][-300:] if said else ''}"
        time.sleep(interval)
    return False, last


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


def base_env():
    """The container's environment starts empty: only PATH and HOME from here."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"}


def known_env_vars(binary):
    help_text = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    return set(re.findall(r"env: (EPR_\w+)", help_text))


def check_env_known(name, env, known):
    """Every EPR_* variable must be an option of this binary: clap ignores the others."""
    unknown = sorted(k for k in env if k.startswith("EPR_") and k not in known)
    option = lambda v: "--" + v[4:].lower().replace("_", "-")
    return check(f"{name}: the binary knows every EPR_* variable", not unknown,
                 "not options of this binary (not implemented in this build?): "
                 + ", ".join(f"{v} ({option(v)})" for v in unknown) if unknown else "")


# --- a. the Dockerfile -----------------------------------------------------------------


def image_root(tmp, binary, runtime):
    """Lays out the image's files under tmp/image (its root), packages included."""
    root = os.path.join(tmp, "image")
    for source_stage, sources, dest in runtime["copy"]:
        for source in sources:
            if source_stage is not None:
                path = binary  # the builder's target/release/package-registry
            else:
                path = os.path.join(REPO, source)
            target = root + dest
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if path.endswith((".yml", ".yaml")):
                # config.yml names image paths: move them into the temporary root.
                text = re.sub(r"(^\s*-\s+)(/\S+)", lambda m: m.group(1) + root + m.group(2),
                              open(path).read(), flags=re.M)
                open(target, "w").write(text)
            else:
                shutil.copy2(path, target)
    packages = root + "/packages/package-registry"
    shutil.copytree(os.path.join(REPO, "testdata", "packages"), packages)
    readable_by_all(tmp)
    return root


def readable_by_all(folder):
    """The registry runs as uid 1000: let it read what root wrote here."""
    for dirpath, _, filenames in os.walk(folder):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            p = os.path.join(dirpath, f)
            os.chmod(p, 0o755 if os.access(p, os.X_OK) else 0o644)


def check_dockerfile(args, tmp):
    print("== a. Dockerfile")
    path = os.path.join(REPO, "Dockerfile")
    try:
        stages = parse_dockerfile(path)
    except Exception as e:  # noqa: BLE001 - report any parse failure as a failed check
        check("Dockerfile parses", False, repr(e))
        return None
    check("Dockerfile parses", len(stages) >= 2, f"{len(stages)} stages: " + ", ".join(s["from"] for s in stages))
    builder, runtime = stages[0], stages[-1]

    builds = [r for r in builder["run"] if "cargo build" in r]
    steps = [s.strip() for s in builds[0].split("&&")] if len(builds) == 1 else []
    want = "cargo build --release --locked -p package-registry"
    check("builder stage runs cargo build --release --locked", steps[:1] == [want], f"{builds}")

    patterns = dockerignore_patterns()
    needed = ["Cargo.toml", "Cargo.lock", ".cargo/config.toml", "deploy/config.docker.yml"]
    members = re.search(r"members\s*=\s*\[([^\]]*)\]", open(os.path.join(REPO, "Cargo.toml")).read())
    needed += [m + "/Cargo.toml" for m in re.findall(r'"([^"]+)"', members.group(1))]
    dropped = [p for p in needed if ignored(p, patterns)]
    kept = [p for p in ("target/release/x", ".git/HEAD", "deploy/certs/key.pem") if not ignored(p, patterns)]
    check(".dockerignore keeps the build inputs and drops target/, .git/ and keys",
          not dropped and not kept, f"drops {dropped}, keeps {kept}" if dropped or kept else "")

    if args.binary:
        binary = os.path.abspath(args.binary)
        print(f"     (build skipped: --binary {binary})")
    else:
        started = time.time()
        r = subprocess.run(steps[0] if steps else want, shell=True, cwd=REPO)
        check("builder stage's cargo build", r.returncode == 0,
              f"exit {r.returncode} in {time.time() - started:.0f} s")
        binary = os.path.join(REPO, "target", "release", "package-registry")
    if os.access(binary, os.X_OK) and steps[1:]:
        # The builder's later steps (strip) on a copy: the build's own binary stays as it is.
        built = os.path.join(tmp, "builder", "target", "release", "package-registry")
        os.makedirs(os.path.dirname(built))
        shutil.copy2(binary, built)
        size = os.path.getsize(built)
        r = subprocess.run(" && ".join(steps[1:]), shell=True, cwd=os.path.join(tmp, "builder"),
                           capture_output=True, text=True)
        check("builder stage's steps after the build", r.returncode == 0,
              f"{' && '.join(steps[1:])}: {size >> 20} -> {os.path.getsize(built) >> 20} MiB {r.stderr.strip()}")
        binary = built
    copies = [c for c in runtime["copy"] if c[0] == builder["name"]]
    check("runtime stage copies the binary to /package-registry/package-registry",
          [c[2] for c in copies] == ["/package-registry/package-registry"], f"{copies}")
    check("runtime image: WORKDIR, USER 1000, EXPOSE 8080, ENTRYPOINT, EPR_ADDRESS",
          runtime["workdir"] == "/package-registry" and runtime["user"].split(":")[0] == "1000"
          and runtime["expose"] == ["8080"] and runtime["entrypoint"] == ["./package-registry"]
          and runtime["env"].get("EPR_ADDRESS") == "0.0.0.0:8080",
          f"workdir {runtime['workdir']}, user {runtime['user']}, expose {runtime['expose']}, "
          f"entrypoint {runtime['entrypoint']}, env {runtime['env']}")
    if not os.access(binary, os.X_OK):
        check("binary exists", False, binary)
        return None

    root = image_root(tmp, binary, runtime)
    uid = int(runtime["user"].split(":")[0])
    port = free_port()
    env = base_env()
    env.update({k: v.replace(":8080", f":{port}") for k, v in runtime["env"].items()})
    # As docs/DEPLOYMENT.md runs it: the example packages are not signed.
    argv = runtime["entrypoint"] + ["--require-package-signatures=false"]
    registry = Registry(argv, env, root + runtime["workdir"], as_uid=uid)
    who = f"uid {uid}" if os.getuid() == 0 else f"uid {os.getuid()} (not root: USER not applied)"
    health = runtime["healthcheck"]
    ok, detail = False, "no HEALTHCHECK"
    if health:
        hc_argv = [a.replace("8080", str(port)) for a in health["argv"]]
        tries = int(health["options"].get("retries", 3))
        interval = go_duration(health["options"].get("interval"), 30)
        ok, detail = run_until_ok(hc_argv, registry, tries, interval)
        detail = f"{shlex.join(hc_argv)} ({who}){': ' + detail if not ok else ''}"
    check("HEALTHCHECK passes against the ENTRYPOINT started from the WORKDIR", ok, detail)
    if ok:
        try:
            status, body = http_get(f"http://127.0.0.1:{port}/search")
            names = sorted(p["name"] for p in json.loads(body))
            check("it serves the packages mounted at /packages/package-registry", names != [], f"{names}")
        except Exception as e:  # noqa: BLE001
            check("it serves the packages mounted at /packages/package-registry", False, repr(e))
    code = registry.stop()
    check("SIGTERM: exit code 0", code == 0, f"exit {code}; {registry.output(300) if code else ''}".strip("; "))
    return {"binary": binary, "root": root, "runtime": runtime}


# --- b. deploy/compose.yaml ------------------------------------------------------------


def doc_cert_commands():
    """The openssl block of docs/DEPLOYMENT.md, the one that begins `# In deploy/certs`."""
    text = open(os.path.join(REPO, "docs", "DEPLOYMENT.md")).read()
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        if block.startswith("# In deploy/certs"):
            return block
    return None


def rewrite_paths(value, mounts):
    for container, host in sorted(mounts.items(), key=lambda kv: -len(kv[0])):
        if value == container or value.startswith(container + "/"):
            return host + value[len(container):]
    return value


def compose_env(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, os.environ.get(e, "")) for e in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def check_compose(args, tmp, image):
    print("== b. deploy/compose.yaml")
    path = os.path.join(REPO, "deploy", "compose.yaml")
    if yaml is None:
        check("compose.yaml parses", False, "PyYAML is missing: run scripts/ci-install-test-servers.sh")
        return
    doc = yaml.safe_load(open(path))
    services = doc.get("services", {})
    service = services.get("package-registry")
    if not check("compose.yaml has the package-registry service", service is not None, f"{list(services)}"):
        return
    build = service.get("build", {})
    context = os.path.normpath(os.path.join(os.path.dirname(path), build.get("context", ".")))
    check("its build context is the repository and its Dockerfile",
          context == REPO and os.path.exists(os.path.join(context, build.get("dockerfile", "Dockerfile"))),
          f"{context}, {build.get('dockerfile')}")
    ports = [str(p) for p in service.get("ports", [])]
    check("it publishes 8080 and 9000 on the host's loopback",
          ports == ["127.0.0.1:8080:8080", "127.0.0.1:9000:9000"], f"{ports}")
    grace = go_duration(service.get("stop_grace_period"), 10)
    drain = go_duration(compose_env(service).get("EPR_SHUTDOWN_TIMEOUT"), 30)  # the option's default
    check("stop_grace_period outlasts the shutdown timeout", grace > drain, f"{grace:.0f} s > {drain:.0f} s")
    bucket = services.get("package-registry-bucket", {})
    check("the bucket example is behind a profile and names no secret",
          bucket.get("profiles") == ["bucket"]
          and all("=" not in e for e in bucket.get("environment", []) if "SECRET" in e or "KEY_ID" in e),
          f"{bucket.get('profiles')}")
    if image is None:
        check("compose service starts", False, "the image layout of a. failed")
        return

    certs = os.path.join(tmp, "certs")
    os.makedirs(certs)
    commands = doc_cert_commands()
    if not check("docs/DEPLOYMENT.md has the `# In deploy/certs` openssl block", commands is not None):
        return
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", commands], cwd=certs, capture_output=True, text=True)
    made = sorted(os.listdir(certs))
    check("its openssl commands make ca-cert.pem, cert.pem and key.pem",
          r.returncode == 0 and {"ca-cert.pem", "cert.pem", "key.pem"} <= set(made),
          f"exit {r.returncode}, {made} {r.stderr.strip()[-300:] if r.returncode else ''}")
    readable_by_all(certs)

    # Volumes: each container path maps to a folder here (./certs to the fresh ones).
    compose_dir = os.path.dirname(path)
    mounts = {}
    for volume in service.get("volumes", []):
        host, container = volume.split(":")[:2]
        host = os.path.normpath(os.path.join(compose_dir, host))
        mounts[container] = certs if host == os.path.join(compose_dir, "certs") else host
    root, runtime = image["root"], image["runtime"]
    packages = root + "/packages/package-registry"
    if "/packages/package-registry" in mounts:
        shutil.rmtree(packages)
        shutil.copytree(mounts.pop("/packages/package-registry"), packages)
    port, metrics_port = free_port(), free_port()
    env = base_env()
    env.update(runtime["env"])
    env.update(compose_env(service))
    env = {k: rewrite_paths(v, mounts) for k, v in env.items()}
    env["EPR_ADDRESS"] = env["EPR_ADDRESS"].replace(":8080", f":{port}")
    env["EPR_METRICS_ADDRESS"] = env.get("EPR_METRICS_ADDRESS", "").replace(":9000", f":{metrics_port}")
    # Go on when one is unknown: the binary ignores it, as it would in the container.
    check_env_known("compose", env, known_env_vars(image["binary"]))
    registry = Registry(runtime["entrypoint"] + service.get("command", []), env,
                        root + runtime["workdir"], as_uid=int(runtime["user"].split(":")[0]))
    test = service.get("healthcheck", {}).get("test", [])
    argv = [rewrite_paths(a, mounts).replace("localhost:8080", f"localhost:{port}") for a in test[1:]]
    # Tried every second (not every `interval`) for as long as `start_period`.
    start_period = go_duration(service["healthcheck"].get("start_period"), 60)
    ok, detail = run_until_ok(argv, registry, int(start_period) + 1, 1)
    check("compose healthcheck (curl --cacert ... -f https://localhost) passes",
          test[:1] == ["CMD"] and ok, shlex.join(argv) + ("" if ok else f": {detail}"))
    try:
        status, body = http_get(f"http://127.0.0.1:{metrics_port}/metrics")
        text = body.decode()
        check("metrics listener serves epr_http_requests_total", "epr_http_requests_total" in text,
              f"{status}, {len(text)} bytes")
    except Exception as e:  # noqa: BLE001
        check("metrics listener serves epr_http_requests_total", False, repr(e))
    code = registry.stop()
    check("compose service: SIGTERM exits 0", code == 0, f"exit {code}")


# --- c. manifests ----------------------------------------------------------------------

K8S_VERSION = "1.33.0"  # the schemas' Kubernetes version (kubernetes-validate has 1.25 to 1.37)


def tool(name):
    """A command from PATH, the virtual environment or Go's bin folder."""
    gopath = subprocess.run(["go", "env", "GOPATH"], capture_output=True, text=True).stdout.strip() \
        if shutil.which("go") else ""
    for candidate in [shutil.which(name), os.path.join(VENV, "bin", name),
                      os.path.join(os.environ.get("GOBIN", ""), name), os.path.join(gopath, "bin", name)]:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def kubeconform_schemas(tmp):
    """kubernetes-validate's schemas, their `/api/_definitions.json` references made
    absolute, in the folder layout kubeconform's -schema-location expects."""
    import kubernetes_validate
    source = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema",
                          f"v{K8S_VERSION}-local-strict")
    target = os.path.join(tmp, "kubeconform-schemas", f"v{K8S_VERSION}-standalone-strict")
    os.makedirs(target)
    for name in os.listdir(source):
        text = open(os.path.join(source, name)).read()
        text = text.replace('"/api/_definitions.json', f'"file://{target}/_definitions.json')
        open(os.path.join(target, name), "w").write(text)
    return os.path.join(tmp, "kubeconform-schemas",
                        "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/"
                        "{{ .ResourceKind }}{{ .KindSuffix }}.json")


def validators(tmp):
    """name -> function(files) -> (exit code, output), for the validators installed."""
    out = {}
    kubeconform = tool("kubeconform")
    if kubeconform:
        location = kubeconform_schemas(tmp)
        out["kubeconform"] = lambda files: run([kubeconform, "-strict", "-summary", "-skip", "Kustomization",
                                                "-kubernetes-version", K8S_VERSION,
                                                "-schema-location", location] + files)
    kv = tool("kubernetes-validate")
    if kv:
        out["kubernetes-validate"] = lambda files: run([kv, "--strict", "--quiet", "-k", K8S_VERSION] + files)
    return out


def run(argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).strip()


def manifests():
    folder = os.path.join(REPO, "deploy", "kubernetes")
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith((".yaml", ".yml")))
    docs = {}
    for f in files:
        for doc in yaml.safe_load_all(open(f)):
            if doc:
                docs[(doc["kind"], doc.get("metadata", {}).get("name"))] = (os.path.basename(f), doc)
    return files, docs


def check_schemas(tmp):
    print("== c. manifests: schemas (offline)")
    if yaml is None:
        check("manifests parse", False, "PyYAML is missing: run scripts/ci-install-test-servers.sh")
        return False
    try:
        import kubernetes_validate  # noqa: F401 - the schemas of both validators
    except ImportError:
        kubernetes_validate = None
    have_schemas = kubernetes_validate is not None
    if not check("Kubernetes schemas (the kubernetes-validate package) installed", have_schemas,
                 "" if have_schemas else f"missing from {VENV}: run scripts/ci-install-test-servers.sh"):
        return False
    files, _ = manifests()
    k8s_files = [f for f in files if not f.endswith("kustomization.yaml")]
    found = validators(tmp)
    for name in ("kubeconform", "kubernetes-validate"):
        if name not in found:
            check(f"{name} installed", False, "run scripts/ci-install-test-servers.sh"
                  + (" (kubeconform needs Go: go install)" if name == "kubeconform" else ""))
    broken = os.path.join(tmp, "broken-deployment.yaml")
    text = open(os.path.join(REPO, "deploy", "kubernetes", "deployment.yaml")).read()
    open(broken, "w").write(re.sub(r"replicas: \d+", 'replicas: "two"', text, count=1))
    for name, validate in found.items():
        code, out = validate(k8s_files)
        check(f"{name}: deploy/kubernetes/*.yaml valid for Kubernetes {K8S_VERSION} (strict)", code == 0,
              out.splitlines()[-1] if code == 0 and out else out[-600:])
        code, out = validate([broken])
        line = next((l for l in out.splitlines() if "replicas" in l), out)
        check(f"{name} refuses the Deployment with replicas: \"two\"", code != 0 and "replicas" in out,
              re.sub(r"^.*(jsonschema validation failed|did not validate)", r"\1", line)[-200:])

    cj = tool("check-jsonschema")
    if not check("check-jsonschema installed", cj is not None, "" if cj else "run scripts/ci-install-test-servers.sh"):
        return True
    compose = os.path.join(REPO, "deploy", "compose.yaml")
    code, out = run([cj, "--builtin-schema", "vendor.compose-spec", compose])
    check("deploy/compose.yaml valid against the compose-spec schema", code == 0, out[-600:])
    broken = os.path.join(tmp, "broken-compose.yaml")
    open(broken, "w").write(open(compose).read().replace("stop_grace_period:", "stop_grace_priod:", 1))
    code, out = run([cj, "--builtin-schema", "vendor.compose-spec", broken])
    check("check-jsonschema refuses a compose service with a misspelt key", code != 0 and "stop_grace_priod" in out,
          out.splitlines()[-1] if out else "")
    return True


def labels_match(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_meaning():
    """What the schemas cannot say: the parts point at each other, and at the binary."""
    print("== c. manifests: what the schemas cannot check")
    files, docs = manifests()
    by_kind = {}
    for (kind, _), (_, doc) in docs.items():
        by_kind.setdefault(kind, []).append(doc)
    kustomization = by_kind.get("Kustomization", [{}])[0]
    others = sorted(os.path.basename(f) for f in files if not f.endswith("kustomization.yaml"))
    check("kustomization.yaml lists every manifest", sorted(kustomization.get("resources", [])) == others,
          f"{kustomization.get('resources')} vs {others}")
    check("no Secret is committed", "Secret" not in by_kind, "")

    deployment = by_kind["Deployment"][0]
    pod = deployment["spec"]["template"]
    spec = pod["spec"]
    container = spec["containers"][0]
    labels = pod["metadata"]["labels"]
    check("Deployment: 2 or more replicas, selector matches the pod labels",
          deployment["spec"].get("replicas", 1) >= 2
          and labels_match(deployment["spec"]["selector"]["matchLabels"], labels),
          f"replicas {deployment['spec'].get('replicas')}")
    port_names = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    check("container ports http and metrics match EPR_ADDRESS and EPR_METRICS_ADDRESS",
          port_names.get("http") == int(env.get("EPR_ADDRESS", ":0").rsplit(":", 1)[1])
          and port_names.get("metrics") == int(env.get("EPR_METRICS_ADDRESS", ":0").rsplit(":", 1)[1]),
          f"{port_names}")
    probes = {k: container.get(k, {}).get("httpGet", {}) for k in ("startupProbe", "readinessProbe", "livenessProbe")}
    check("startup, readiness and liveness probes GET /health on the http port",
          all(p.get("path") == "/health" and p.get("port") in ("http", port_names.get("http")) for p in probes.values()),
          f"{probes}")
    resources = container.get("resources", {})
    check("resources: cpu and memory requests and limits",
          all(k in resources.get(r, {}) for r in ("requests", "limits") for k in ("cpu", "memory")), f"{resources}")
    pod_sc, sc = spec.get("securityContext", {}), container.get("securityContext", {})
    check("securityContext: non-root uid 1000, read-only root, no privilege escalation, drop ALL",
          pod_sc.get("runAsNonRoot") is True and pod_sc.get("runAsUser") == 1000
          and sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
          and sc.get("capabilities", {}).get("drop") == ["ALL"], f"pod {pod_sc}, container {sc}")
    secret_refs = [e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e]
    literal_secrets = [k for k, v in env.items() if "SECRET" in k and v]
    check("credentials come from a Secret by reference, none written in the manifest",
          bool(secret_refs) and not literal_secrets, f"secretRef {secret_refs}, literal {literal_secrets}")
    check("it serves a bucket with the storage indexer",
          env.get("EPR_FEATURE_STORAGE_INDEXER") == "true"
          and re.match(r"(s3|gs)://", env.get("EPR_STORAGE_INDEXER_BUCKET_INTERNAL", "")) is not None,
          f"{env.get('EPR_STORAGE_INDEXER_BUCKET_INTERNAL')}")
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    config_volume = volumes.get(mounts.get(os.path.dirname(env.get("EPR_CONFIG", ""))), {})
    configmap_name = config_volume.get("configMap", {}).get("name")
    configmap = docs.get(("ConfigMap", configmap_name), (None, {}))[1]
    config_text = configmap.get("data", {}).get(os.path.basename(env.get("EPR_CONFIG", "")))
    check("EPR_CONFIG is the ConfigMap's config.yml, mounted", config_text is not None,
          f"EPR_CONFIG {env.get('EPR_CONFIG')}, ConfigMap {configmap_name}")
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    drain = go_duration(env.get("EPR_SHUTDOWN_TIMEOUT"), 0) + (float(pre_stop[-1]) if pre_stop[:1] == ["sleep"] else 0)
    check("terminationGracePeriodSeconds covers preStop and the shutdown timeout",
          spec.get("terminationGracePeriodSeconds", 30) > drain, f"{spec.get('terminationGracePeriodSeconds')} > {drain}")

    service = by_kind["Service"][0]
    service_ports = {p["port"]: p.get("targetPort") for p in service["spec"]["ports"]}
    check("Service selects the pods and serves 8080 and 9000 on the container's ports",
          labels_match(service["spec"]["selector"], labels)
          and service_ports == {8080: "http", 9000: "metrics"}, f"{service_ports}")
    pdb = by_kind.get("PodDisruptionBudget", [None])[0]
    if pdb:
        check("PodDisruptionBudget selects the pods and leaves one replica free to go",
              labels_match(pdb["spec"]["selector"]["matchLabels"], labels)
              and pdb["spec"].get("minAvailable", 0) < deployment["spec"]["replicas"], f"{pdb['spec']}")
    return container, env, config_text, probes


def gpg_key(tmp):
    """A fresh Ed25519 signing key: (secret.asc, pub.asc)."""
    home = os.path.join(tmp, "gnupg")
    os.makedirs(home, mode=0o700)
    env = dict(os.environ, GNUPGHOME=home)
    uid = "check_deploy <check@example.com>"
    base = ["gpg", "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", ""]
    subprocess.run(base + ["--quick-gen-key", uid, "ed25519", "sign", "never"], env=env, check=True,
                   capture_output=True)
    secret, public = os.path.join(tmp, "secret.asc"), os.path.join(tmp, "pub.asc")
    for path, what in ((secret, "--export-secret-keys"), (public, "--export")):
        with open(path, "wb") as f:
            subprocess.run(base + ["--armor", what, uid], env=env, stdout=f, check=True)
    subprocess.run(["gpgconf", "--kill", "all"], env=env, capture_output=True)
    return secret, public


def publish_version(binary, tmp, bucket, keys, version):
    """hello_logs at `version`, built, signed and published into the bucket."""
    source = os.path.join(tmp, f"hello_logs-{version}")
    shutil.copytree(os.path.join(REPO, "testdata", "source", "hello_logs"), source)
    manifest = os.path.join(source, "manifest.yml")
    text = open(manifest).read()
    open(manifest, "w").write(text.replace("\nversion: 1.0.0", f"\nversion: {version}", 1))
    changelog = os.path.join(source, "changelog.yml")
    entry = f'- version: "{version}"\n  changes:\n    - description: Next.\n      type: enhancement\n' \
            f'      link: https://github.com/example/hello/pull/2\n'
    if version != "1.0.0":
        text = open(changelog).read()
        open(changelog, "w").write(entry + text)
    out = os.path.join(tmp, "built")
    steps = [[binary, "build", source, "--output", out],
             [binary, "sign", "--key", keys[0], f"{out}/hello_logs-{version}.zip"],
             [binary, "publish", "--storage", bucket, "--keyring", keys[1], f"{out}/hello_logs-{version}.zip"]]
    for step in steps:
        code, text = run(step)
        if code != 0:
            return f"{shlex.join(step[:2])}: exit {code}: {text[-300:]}"
    return None


def versions_served(port):
    try:
        _, body = http_get(f"http://127.0.0.1:{port}/search?package=hello_logs&all=true")
        return sorted(p["version"] for p in json.loads(body))
    except Exception:  # noqa: BLE001 - not answering yet counts as nothing served
        return []


def check_replicas(tmp, image, container, env, config_text, probes):
    """The Deployment's container, twice, on one bucket: probes, then a publication."""
    print("== c. manifests: the Deployment's container, 2 replicas on one local bucket")
    if image is None:
        check("replicas start", False, "the image layout of a. failed")
        return
    binary, root, runtime = image["binary"], image["root"], image["runtime"]
    check_env_known("deployment", env, known_env_vars(binary))
    if not check("gpg installed (to sign what is published)", shutil.which("gpg") is not None,
                 "" if shutil.which("gpg") else "run scripts/ci-install-test-servers.sh"):
        return
    bucket_dir = os.path.join(tmp, "bucket")
    os.makedirs(bucket_dir)
    bucket = f"file://{bucket_dir}"
    keys = gpg_key(tmp)
    error = publish_version(binary, tmp, bucket, keys, "1.0.0")
    if not check("hello_logs 1.0.0 published into the local bucket", error is None, error or ""):
        return
    config_dir = os.path.join(tmp, "configmap")
    os.makedirs(config_dir)
    config = os.path.join(config_dir, os.path.basename(env["EPR_CONFIG"]))
    open(config, "w").write(config_text)
    readable_by_all(tmp)
    replicas = []
    for _ in range(2):
        port, metrics_port = free_port(), free_port()
        e = base_env()
        e.update(runtime["env"])
        e.update({k: v for k, v in env.items() if v is not None and not k.startswith("AWS_")})
        e["EPR_CONFIG"] = config
        e["EPR_ADDRESS"] = e["EPR_ADDRESS"].rsplit(":", 1)[0] + f":{port}"
        e["EPR_METRICS_ADDRESS"] = e["EPR_METRICS_ADDRESS"].rsplit(":", 1)[0] + f":{metrics_port}"
        e["EPR_STORAGE_INDEXER_BUCKET_INTERNAL"] = bucket
        e["EPR_STORAGE_ENDPOINT"] = bucket
        e["EPR_STORAGE_INDEXER_WATCH_INTERVAL"] = "1s"  # 1m in the manifest: the test waits less
        argv = (container.get("command") or runtime["entrypoint"]) + container.get("args", [])
        replicas.append((port, Registry(argv, e, root + runtime["workdir"], as_uid=1000)))
    try:
        for i, (port, registry) in enumerate(replicas):
            paths = sorted({probe["path"] for probe in probes.values()})
            for path in paths:
                url = f"http://127.0.0.1:{port}{path}"
                ok, detail = run_until_ok(["curl", "--silent", "--fail", "--max-time", "2", url], registry, 30, 1)
                check(f"replica {i + 1}: the probes' GET {path} passes ({', '.join(probes)})", ok, detail)
            served = versions_served(port)
            check(f"replica {i + 1} serves the bucket's hello_logs 1.0.0", served == ["1.0.0"], f"{served}")
        error = publish_version(binary, tmp, bucket, keys, "1.0.1")
        check("hello_logs 1.0.1 published while they run", error is None, error or "")
        deadline = time.time() + 20
        while time.time() < deadline and any(versions_served(p) != ["1.0.0", "1.0.1"] for p, _ in replicas):
            time.sleep(0.5)
        seen = [versions_served(p) for p, _ in replicas]
        check("both replicas follow the bucket's cursor to 1.0.1", all(s == ["1.0.0", "1.0.1"] for s in seen),
              f"{seen}")
    finally:
        for i, (_, registry) in enumerate(replicas):
            code = registry.stop()
            check(f"replica {i + 1}: SIGTERM exits 0", code == 0, f"exit {code}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", help="use this binary instead of running the Dockerfile's cargo build")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="check-deploy-")
    try:
        image = check_dockerfile(args, tmp)
        check_compose(args, tmp, image)
        if check_schemas(tmp):
            check_replicas(tmp, image, *check_meaning())
    finally:
        for registry in STARTED:
            registry.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    passed = sum(RESULTS)
    failed = len(RESULTS) - passed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
