#!/usr/bin/env python3
"""Benchmark: the registry serving real packages under load, against nginx serving the same bytes.

    scripts/bench_load.py [--runs 5] [--versions 10000,100000] [--json OUT] [--smoke]

Corpora, prepared in a work folder (--work DIR keeps it and reuses what is there):
  zips           the real packages of --corpus (185 zips), copied into one folder;
  folders        the same, unpacked into <name>/<version>/ folders;
  zips-vN, folders-vN  N package versions (--local-versions N), the corpus's and copies of
                 them with rewritten versions (X.Y.Z becomes X.Y.(1000+k)), as zips and unpacked;
  bucket-N       a Package Storage v2 bucket whose index holds N synthetic versions made
                 from those zips (crates/storage/examples/make_bucket.rs), for each N
                 of --versions. Only the index is written, no artifacts.

For each corpus, --runs times, a fresh registry on loopback:
  - startup: the time from spawn to the first 200 on /health (polled every 5 ms), with
    the corpus's files read just before (a warm page cache: the registry's work, not
    the disk's);
  - peak RSS: VmHWM of /proc/PID/status once ready, and again after the load runs;
  - on the corpora of --load-on (default: zips), for each query below, wrk (a warm-up
    of --warmup seconds, then --duration) gives requests/s and the p99 latency, first
    against the registry and then against nginx (the order alternates between runs),
    which serves the very same response bytes as static files: the ceiling. Also the
    server's CPU time per answered request (from /proc/PID/stat, nginx's workers
    included), which depends less on what else the machine runs. After each wrk run
    the script waits until the server uses no more CPU, so work left over from
    requests wrk gave up on does not run during the next measurement.

Queries (the aws version and its icon are read from /search?package=aws):
  /search?kibana.version=8.5.0&prerelease=false&spec.min=2.3&spec.max=3.5  (Kibana's
      search, once plain and once with Accept-Encoding: gzip; it matches no package of
      the corpus, all format_version 1.0.0, hence also:)
  /search?kibana.version=8.5.0&prerelease=false (plain and gzip), /search?package=aws&
      prerelease=true, /categories?kibana.version=8.5.0&prerelease=false,
      /package/aws/{version}/, the aws icon, /epr/aws/aws-{version}.zip
  (the last two need artifacts, so they are left out on buckets).

nginx runs as a foreground process with a generated config (worker_processes = cores,
no access log unless --nginx-access-log), mapping each query's $request_uri to a file holding the bytes the
registry answered, with the registry's Content-Type; the gzip query is served by
gzip_static from the registry's gzip answer, or, while the registry answers identity,
from the identity body gzipped here (the output then says "server sends identity").

Medians of --runs runs, all runs in --json. Needs wrk and nginx (apt-get install wrk
nginx) and the corpus (default ../shared/corpus/production-latest). Builds the release
binary (and, for buckets, the generator) when missing, in $CARGO_TARGET_DIR or target/.
--smoke: 5 zips (aws and the 4 smallest), 1 run, 1-second wrk, no warm-up, no bucket
unless --versions is given. Exits non-zero if anything fails: a server not ready, a
status other than 200, wrk or nginx missing, or a wrk run with an answer not 2xx or
no answer at all (that one after printing every figure). Results: docs/PERFORMANCE.md.
"""
import argparse, gzip, hashlib, http.client, json, os, re, shutil, signal
import subprocess, sys, tempfile, time

from benchlib import free_port, machine, med, proc_status, run, unpack_package_zip, zip_with_version

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")

KIBANA_SEARCH = "/search?kibana.version=8.5.0&prerelease=false&spec.min=2.3&spec.max=3.5"
# Every package of the corpus has format_version 1.0.0, so Kibana's spec range matches none
# (`[]`); the same search without it answers with the 158 packages for Kibana 8.5.0.
KIBANA_SEARCH_ANY_SPEC = "/search?kibana.version=8.5.0&prerelease=false"
AWS_SEARCH = "/search?package=aws&prerelease=true"
GZIP = {"Accept-Encoding": "gzip"}
# (key, label, path template, request headers, needs package artifacts)
QUERIES = [
    ("search", "Kibana `/search`", KIBANA_SEARCH, {}, False),
    ("search_gzip", "Kibana `/search`, `Accept-Encoding: gzip`", KIBANA_SEARCH, GZIP, False),
    ("search_any_spec", "`/search?kibana.version=8.5.0&prerelease=false`", KIBANA_SEARCH_ANY_SPEC, {}, False),
    ("search_any_spec_gzip", "the same, `Accept-Encoding: gzip`", KIBANA_SEARCH_ANY_SPEC, GZIP, False),
    ("search_aws", "`/search?package=aws&prerelease=true`", AWS_SEARCH, {}, False),
    ("categories", "`/categories?kibana.version=8.5.0&prerelease=false`",
     "/categories?kibana.version=8.5.0&prerelease=false", {}, False),
    ("package", "`/package/aws/{version}/`", "/package/aws/{version}/", {}, False),
    ("icon", "the aws icon `{icon}`", "{icon}", {}, True),
    ("zip", "`/epr/aws/aws-{version}.zip`", "/epr/aws/aws-{version}.zip", {}, True),
]


def tool(name):
    """A command's path; nginx is in /usr/sbin, which is not on every user's PATH."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")


class Fail(Exception):
    """Something did not work: the benchmark stops and exits non-zero."""


# Ports served over TLS (scripts/bench_tls.py): fetch and wrk use https there.
TLS_PORTS = set()


def fetch(port, path, headers=None, timeout=30):
    """(status, lower-cased headers, body) of one GET; the body is not decompressed."""
    if port in TLS_PORTS:
        import ssl
        context = ssl._create_unverified_context()  # a throwaway certificate on loopback
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=context)
    else:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def cpu_seconds(pids):
    """User + system CPU seconds used so far by these processes (all their threads)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime and stime, fields 14 and 15 of stat
    return total / os.sysconf("SC_CLK_TCK")


def settle(server, limit=120):
    """Waits until `server` uses no more CPU (work left over from requests wrk gave up
    on would otherwise run during the next measurement); returns the seconds waited."""
    start = time.perf_counter()
    last = cpu_seconds(server.pids())
    while time.perf_counter() - start < limit:
        time.sleep(0.2)
        now = cpu_seconds(server.pids())
        if now - last < 0.01:
            break
        last = now
    return time.perf_counter() - start


# --- the corpora ---------------------------------------------------------------------

def build(a, buckets):
    if not os.path.exists(a.binary):
        run(["cargo", "build", "--release", "-p", "package-registry"], cwd=ROOT)
    if buckets and not os.path.exists(a.make_bucket):
        run(["cargo", "build", "--release", "-p", "epr-storage", "--example", "make_bucket"], cwd=ROOT)


def pick_zips(a):
    """The corpus zips to serve: all, or for --smoke aws and the 4 smallest others."""
    if not os.path.isdir(a.corpus):
        raise Fail(f"no corpus folder {a.corpus} (give it with --corpus)")
    zips = sorted(f for f in os.listdir(a.corpus) if f.endswith(".zip"))
    if not zips:
        raise Fail(f"no zip in {a.corpus} (give the corpus folder with --corpus)")
    if not a.smoke:
        return zips
    aws = [z for z in zips if z.rsplit("-", 1)[0] == "aws"]
    others = sorted((z for z in zips if z not in aws), key=lambda z: os.path.getsize(os.path.join(a.corpus, z)))
    return aws + sorted(others[:4])


def prepared(path, make):
    """`path`, made by `make(path)` unless a previous run completed it (a marker file)."""
    marker = os.path.join(path, ".complete")
    if os.path.exists(marker):
        print(f"reusing {path}", file=sys.stderr)
        return path
    shutil.rmtree(path, ignore_errors=True)
    start = time.perf_counter()
    make(path)
    open(marker, "w").close()
    print(f"prepared {path} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return path


def make_zips(a, zips, dest):
    os.makedirs(dest)
    for z in zips:
        shutil.copy(os.path.join(a.corpus, z), dest)


def make_folders(zip_dir, zips, dest):
    """<name>-<version>.zip (one top folder <name>-<version>/) -> dest/<name>/<version>/."""
    for z in zips:
        unpack_package_zip(os.path.join(zip_dir, z), dest)


def make_versioned_zips(a, zips, versions, dest):
    """`versions` package versions as zips: the corpus's, then copies of them with
    rewritten versions (`X.Y.Z` becomes `X.Y.(1000+k)`), round-robin over the
    packages, as make_bucket makes its synthetic versions."""
    os.makedirs(dest)
    for z in zips:
        shutil.copy(os.path.join(a.corpus, z), dest)
    made, k = len(zips), 0
    while made < versions:
        for z in zips:
            if made >= versions:
                break
            version = z[:-4].rsplit("-", 1)[1]
            major, minor = version.split(".")[:2]
            zip_with_version(os.path.join(a.corpus, z), dest, f"{major}.{minor}.{1000 + k}")
            made += 1
        k += 1


def make_versioned_folders(a, zips, vzip_names, dest):
    """The folders of `vzip_names` (make_versioned_zips' zips): the corpus's
    unpacked, and each copy as hard links to its original's files but for the
    manifest, rewritten as zip_with_version rewrites it. The registry reads them as
    it reads any folder; the links keep 20,000 versions within the disk."""
    for z in zips:
        unpack_package_zip(os.path.join(a.corpus, z), dest)
    originals = {z[:-4].rsplit("-", 1)[0]: z[:-4].rsplit("-", 1)[1] for z in zips}
    for z in vzip_names:
        name, version = z[:-4].rsplit("-", 1)
        if version == originals[name]:
            continue
        src = os.path.join(dest, name, originals[name])
        out = os.path.join(dest, name, version)
        for root, dirs, files in os.walk(src):
            rel = os.path.relpath(root, src)
            os.makedirs(os.path.join(out, rel), exist_ok=True)
            for f in files:
                target = os.path.join(out, rel, f)
                if rel == "." and f == "manifest.yml":
                    with open(os.path.join(root, f), "rb") as m:
                        data = re.sub(rb"(?m)^version: .*$", f"version: {version}".encode(), m.read(), count=1)
                    with open(target, "wb") as m:
                        m.write(data)
                else:
                    os.link(os.path.join(root, f), target)


def make_bucket(a, zip_dir, versions, dest):
    run([a.make_bucket, zip_dir, dest, str(versions)], stdout=sys.stderr)


def corpora(a, work):
    """[(label, kind, path)]: the corpora of this run, prepared in `work`."""
    zips = pick_zips(a)
    n = len(zips)
    zip_dir = prepared(os.path.join(work, f"zips-{n}"), lambda d: make_zips(a, zips, d))
    out = []
    if "zips" in a.corpora:
        out.append(("zips", "files", zip_dir))
    if "folders" in a.corpora:
        folders = prepared(os.path.join(work, f"folders-{n}"), lambda d: make_folders(zip_dir, zips, d))
        out.append(("folders", "files", folders))
    for v in a.versions:
        bucket = prepared(os.path.join(work, f"bucket-{v}-from-{n}"), lambda d: make_bucket(a, zip_dir, v, d))
        out.append((f"bucket-{v}", "bucket", bucket))
    for v in a.local_versions:
        vzips = prepared(os.path.join(work, f"zips-v{v}-from-{n}"),
                         lambda d: make_versioned_zips(a, zips, v, d))
        vzip_names = sorted(f for f in os.listdir(vzips) if f.endswith(".zip"))
        out.append((f"zips-v{v}", "files", vzips))
        vfolders = prepared(os.path.join(work, f"folders-v{v}-from-{n}"),
                            lambda d: make_versioned_folders(a, zips, vzip_names, d))
        out.append((f"folders-v{v}", "files", vfolders))
    return out


# --- the servers ---------------------------------------------------------------------

def stop_process(proc, sig):
    """Sends `sig` and waits up to 30 s, then kills."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Registry:
    """One package-registry process on loopback, its log in a file."""

    def __init__(self, a, work, label, kind, path, run_no, extra=()):
        self.port = free_port()
        config = os.path.join(work, f"config-{label}.yml")
        with open(config, "w") as f:
            f.write(f"package_paths:\n  - {path}\n" if kind == "files" else "package_paths:\n")
        cmd = [a.binary, "--config", config, "--address", f"127.0.0.1:{self.port}",
               "--require-package-signatures=false", "--log-level", "info"]
        cmd += list(extra)
        if kind == "bucket":
            url = f"file://{path}"
            cmd += ["--feature-storage-indexer", "--storage-indexer-bucket-internal", url,
                    "--storage-endpoint", url, "--storage-indexer-watch-interval", "0s"]
        self.log_path = os.path.join(work, "logs", f"registry-{label}-{run_no}.log")
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        self.log = open(self.log_path, "wb")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout):
        """Seconds from spawn to the first 200 on /health, polled every 5 ms."""
        deadline = self.started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise Fail(f"the registry exited with {self.proc.returncode}: {self.tail()}")
            try:
                if fetch(self.port, "/health", timeout=1)[0] == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.005)
        raise Fail(f"the registry was not ready in {timeout} s: {self.tail()}")

    def hwm_kib(self):
        return proc_status(self.proc.pid)["VmHWM"]

    def pids(self):
        return [self.proc.pid]

    def logged(self, message):
        """The fields of the first log line with this message ({} if none)."""
        with open(self.log_path, errors="replace") as f:
            for raw in f:
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                fields = dict(line, **(line.get("fields") or {}))
                if fields.get("message") == message:
                    return fields
        return {}

    def tail(self, n=5):
        with open(self.log_path, errors="replace") as f:
            return " | ".join(f.read().splitlines()[-n:])

    def problems(self):
        """The log lines at warn or error level, ECS (`"log.level":"warn"`) or dev
        (` WARN `). Plain substring tests: the access log of a run is over a GB."""
        marks = ('"log.level":"warn"', '"log.level":"error"', " WARN ", " ERROR ")
        with open(self.log_path, errors="replace") as f:
            return [l.strip() for l in f if any(m in l for m in marks)]

    def stop(self):
        stop_process(self.proc, signal.SIGTERM)
        self.log.close()


class Nginx:
    """nginx in the foreground, serving one file per query: the bytes the registry answered."""

    def __init__(self, work, label, answers, tls=None, access_log=False):
        """`tls`: (certificate, key) to serve HTTPS with. `access_log`: write nginx's
        default access line for every request, in 256 KB batches (ours gathers its
        lines for 2 ms or 256 KB), instead of none."""
        self.tls = tls
        self.access_log = access_log
        self.dir = os.path.join(work, f"nginx-{label}")
        shutil.rmtree(self.dir, ignore_errors=True)
        files = os.path.join(self.dir, "files")
        os.makedirs(files)
        os.makedirs(os.path.join(self.dir, "tmp"))
        types, mapping = {}, {}
        for key, ans in answers.items():
            ext = types.setdefault(ans["content_type"], f"t{len(types)}")
            name = f"/{key}.{ext}"
            if ans["uri"] not in mapping:
                with open(files + name, "wb") as f:
                    f.write(ans["identity"])
                mapping[ans["uri"]] = name
            if "gzip" in ans:  # served by gzip_static to clients that accept gzip
                with open(files + mapping[ans["uri"]] + ".gz", "wb") as f:
                    f.write(ans["gzip"])
        self.port = free_port()
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(self.config(files, types, mapping))
        self.log = open(os.path.join(self.dir, "stderr.log"), "wb")
        self.proc = subprocess.Popen(
            [tool("nginx"), "-p", self.dir, "-c", self.conf, "-e", os.path.join(self.dir, "error.log")],
            stdout=self.log, stderr=subprocess.STDOUT)

    def config(self, files, types, mapping):
        tmp = os.path.join(self.dir, "tmp")
        quote = lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines = [
            # As root, workers would switch to nobody, who cannot read a private temp folder.
            "user root;" if os.geteuid() == 0 else "",
            f"worker_processes {os.cpu_count()};",
            "daemon off;",
            f"pid {self.dir}/nginx.pid;",
            f"error_log {self.dir}/error.log warn;",
            "events { worker_connections 4096; }",
            "http {",
            f"  access_log {self.dir}/access.log combined buffer=256k flush=1s;" if self.access_log
            else "  access_log off;",
            "  sendfile on; tcp_nopush on; tcp_nodelay on;",
            "  keepalive_timeout 65; keepalive_requests 1000000;",
            "  open_file_cache max=64 inactive=60s;",
            "  server_tokens off; etag off;",
            f"  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;",
            f"  fastcgi_temp_path {tmp}/fastcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;",
            "  types {",
            *[f"    {quote(t)} {ext};" for t, ext in types.items()],
            "  }",
            "  default_type application/octet-stream;",
            "  map_hash_bucket_size 256;  # the keys are whole request URIs\n  map $request_uri $file {",
            "    default /missing;",
            *[f"    {quote(uri)} {name};" for uri, name in mapping.items()],
            "  }",
            "  server {",
            f"    listen 127.0.0.1:{self.port}{' ssl' if self.tls else ''};",
            *([f"    ssl_certificate {self.tls[0]}; ssl_certificate_key {self.tls[1]};",
               "    ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:SSL:10m;"]
              if self.tls else []),
            f"    root {files};",
            "    gzip_static on;",
            "    location / { try_files $file =404; }",
            "  }",
            "}",
        ]
        return "\n".join(lines) + "\n"

    def wait_ready(self, uri, timeout=10):
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if fetch(self.port, uri, timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        with open(os.path.join(self.dir, "error.log"), errors="replace") as f:
            raise Fail(f"nginx did not start (config {self.conf}): {f.read()[-2000:]}")

    def pids(self):
        """The master and its workers."""
        with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
            return [self.proc.pid] + [int(p) for p in f.read().split()]

    def problems(self):
        path = os.path.join(self.dir, "error.log")
        if not os.path.exists(path):
            return []
        with open(path, errors="replace") as f:
            return [l.strip() for l in f if "[warn]" in l or "[error]" in l or "[crit]" in l or "[alert]" in l]

    def stop(self):
        stop_process(self.proc, signal.SIGQUIT)  # graceful: workers finish, master exits
        self.log.close()


# --- the queries ---------------------------------------------------------------------

def resolve_queries(reg, kind):
    """[(key, label, uri, headers)]: QUERIES with the aws version and icon of this corpus."""
    status, _, body = fetch(reg.port, AWS_SEARCH)
    if status != 200:
        raise Fail(f"{AWS_SEARCH}: status {status}")
    found = json.loads(body)
    if not found:
        raise Fail(f"{AWS_SEARCH}: aws is not in this corpus")
    aws = found[0]
    icons = [i["path"] for i in aws.get("icons") or [] if i.get("path")]
    if not icons:
        raise Fail("aws has no icon in /search")
    values = {"version": aws["version"], "icon": icons[0]}
    return [(key, label.format(**values), uri.format(**values), headers)
            for key, label, uri, headers, artifacts in QUERIES if kind == "files" or not artifacts]


def answers(reg, queries):
    """The registry's answer to each query: what nginx serves, and what later runs must match."""
    out = {}
    for key, _, uri, headers in queries:
        status, h, body = fetch(reg.port, uri, headers)
        if status != 200:
            raise Fail(f"{uri}: status {status} from the registry: {body[:200]!r}")
        encoding = h.get("content-encoding", "identity")
        ans = {"uri": uri, "status": status, "content_type": h.get("content-type", "application/octet-stream"),
               "encoding": encoding, "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        if headers.get("Accept-Encoding") == "gzip":
            if encoding == "gzip":
                ans["gzip"] = body
                ans["identity"] = fetch(reg.port, uri)[2]
            else:
                # The registry does not compress (yet): nginx gets the identity body gzipped here.
                ans["identity"] = body
                ans["gzip"] = gzip.compress(body, compresslevel=6, mtime=0)
                ans["server_sends_identity"] = True
        else:
            ans["identity"] = body
        out[key] = ans
    return out


def same_answers(reg, queries, first):
    """The queries whose answer differs from the first run's (status, encoding or bytes)."""
    differ = []
    for key, _, uri, headers in queries:
        status, h, body = fetch(reg.port, uri, headers)
        if status != 200:
            raise Fail(f"{uri}: status {status} from the registry")
        if h.get("content-encoding", "identity") != first[key]["encoding"] or \
                hashlib.sha256(body).hexdigest() != first[key]["sha256"]:
            differ.append(key)
    return differ


def check_nginx(nginx, queries, first):
    """nginx must answer each query with the registry's bytes (compressed for the gzip one)."""
    for key, _, uri, headers in queries:
        status, h, body = fetch(nginx.port, uri, headers)
        want = first[key]["gzip"] if "gzip" in first[key] and headers else first[key]["identity"]
        if status != 200 or body != want or h.get("content-type") != first[key]["content_type"]:
            raise Fail(f"nginx does not answer {uri} as the registry did: status {status}, "
                       f"{len(body)} bytes, Content-Type {h.get('content-type')}")


# --- wrk -----------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def wrk(a, port, uri, headers, seconds):
    """One wrk run: requests/s, p99 latency (ms), requests, errors, and `failed` (why) when
    an answer was not 2xx or none came: recorded and reported, not fatal, so a slow endpoint
    does not lose the other figures (the script still exits non-zero at the end)."""
    cmd = [tool("wrk"), "--latency", "-t", str(a.threads), "-c", str(a.connections), "-d", f"{seconds}s",
           "--timeout", f"{a.timeout}s"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    scheme = "https" if port in TLS_PORTS else "http"
    cmd.append(f"{scheme}://127.0.0.1:{port}{uri}")
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$", out, re.M)
    total = re.search(r"^\s+(\d+) requests in", out, re.M)
    if not (rps and p99 and total):
        raise Fail(f"{' '.join(cmd)}: unexpected output:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r = {"rps": float(rps.group(1)), "p99_ms": float(p99.group(1)) * UNITS[p99.group(2)],
         "requests": int(total.group(1)), "non_2xx": int(non2xx.group(1)) if non2xx else 0,
         "socket_errors": dict(zip(["connect", "read", "write", "timeout"], map(int, errors.groups())))
         if errors else {}}
    if r["non_2xx"] or r["requests"] == 0:
        r["failed"] = f"{' '.join(cmd)}: {r['requests']} answers, {r['non_2xx']} not 2xx, " \
                      f"socket errors {r['socket_errors']}"
    return r


def measure(a, server, uri, headers):
    """wrk after a warm-up, plus the server's CPU seconds for it (`cpu_s`, including work
    that goes on after wrk stops) and how long that work went on (`settle_s`)."""
    if a.warmup:
        wrk(a, server.port, uri, headers, a.warmup)
        settle(server)
    before = cpu_seconds(server.pids())
    r = wrk(a, server.port, uri, headers, a.duration)
    r["settle_s"] = settle(server)
    r["cpu_s"] = cpu_seconds(server.pids()) - before
    return r


def load(a, reg, nginx, queries, run_no):
    """{key: {"ours": wrk, "nginx": wrk}}, ours and nginx interleaved, order alternating by run."""
    out = {}
    for key, _, uri, headers in queries:
        order = [("ours", reg), ("nginx", nginx)]
        if run_no % 2:
            order.reverse()
        out[key] = {who: measure(a, server, uri, headers) for who, server in order}
        # VmHWM only grows: the query after which it grew is the one that needed the memory.
        out[key]["ours"]["hwm_kib"] = reg.hwm_kib()
        print(f"  {key}: ours {out[key]['ours']['rps']:.0f} req/s, nginx {out[key]['nginx']['rps']:.0f} req/s",
              file=sys.stderr)
    return out


# --- one corpus ----------------------------------------------------------------------

def warm_page_cache(path):
    """Reads every file under `path`, so that a startup measures the registry, not the disk.

    The machine this was written on (a VM) pages idle memory out within seconds,
    page cache included: without this, a corpus not read for a minute or two started
    two to four times slower, from disk."""
    for root, _, files in os.walk(path):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                while f.read(1 << 20):
                    pass


def bench_corpus(a, work, label, kind, path):
    """--runs fresh registries on one corpus; on --load-on corpora, wrk against it and nginx."""
    res = {"path": path, "runs": [], "registry_log_problems": [], "answers_differ": []}
    with_load = label in a.load_on
    nginx, queries, first = None, None, None
    try:
        for i in range(a.runs):
            warm_page_cache(path)
            reg = Registry(a, work, label, kind, path, i)
            try:
                r = {"startup_s": reg.wait_ready(a.ready_timeout)}
                r["hwm_ready_kib"] = reg.hwm_kib()
                # The log is written every few milliseconds: the line may lag /health.
                for _ in range(100):
                    loaded = reg.logged("packages loaded")
                    if loaded:
                        break
                    time.sleep(0.01)
                r["packages"], r["load_elapsed_ms"] = loaded.get("packages"), loaded.get("elapsed_ms")
                if queries is None:
                    queries = resolve_queries(reg, kind)
                    first = answers(reg, queries)
                    res["queries"] = {k: {"label": l, "uri": u, "headers": h} for k, l, u, h in queries}
                    res["answers"] = {k: {f: v for f, v in ans.items() if f not in ("identity", "gzip")}
                                      for k, ans in first.items()}
                    if with_load:
                        nginx = Nginx(work, label, first, access_log=a.nginx_access_log)
                        nginx.wait_ready(queries[0][2])
                        check_nginx(nginx, queries, first)
                else:
                    res["answers_differ"] += [(i, k) for k in same_answers(reg, queries, first)]
                print(f"{label}: run {i + 1}: ready in {r['startup_s']:.3f} s, VmHWM "
                      f"{r['hwm_ready_kib'] / 1024:.0f} MiB", file=sys.stderr)
                if with_load:
                    r["load"] = load(a, reg, nginx, queries, i)
                    r["hwm_after_load_kib"] = reg.hwm_kib()
                res["runs"].append(r)
            finally:
                reg.stop()
                res["registry_log_problems"] += reg.problems()
    finally:
        if nginx:
            nginx.stop()
            res["nginx_log_problems"] = nginx.problems()
    return res


# --- the report ----------------------------------------------------------------------

def mib(kib):
    return kib / 1024


def count(n):
    return f"{n:,}" if isinstance(n, int) else "?"


def listed(values, digits):
    return ", ".join(f"{v:.{digits}f}" for v in values)


def report(res, a):
    m = res["machine"]
    print(f"\nMachine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, Linux {m['kernel']}; "
          f"load average (1 min) at start {m['loadavg_at_start'][0]:.2f}, at end {m['loadavg_at_end'][0]:.2f}.")
    print(f"Medians of {a.runs} run(s); wrk {a.threads} threads, {a.connections} connections, "
          f"{a.duration} s after a {a.warmup} s warm-up; ours writes an access line per request, "
          f"nginx {'too (--nginx-access-log)' if a.nginx_access_log else 'none'}.\n")
    print("| corpus | packages | startup (spawn to /health 200) | runs (s) | VmHWM ready | VmHWM after load |")
    print("|---|---|---|---|---|---|")
    for label, c in res["corpora"].items():
        runs = c["runs"]
        after = [r["hwm_after_load_kib"] for r in runs if "hwm_after_load_kib" in r]
        print(f"| {label} | {count(runs[0]['packages'])} | {med([r['startup_s'] for r in runs]):.3f} s | "
              f"{listed([r['startup_s'] for r in runs], 3)} | "
              f"{mib(med([r['hwm_ready_kib'] for r in runs])):.0f} MiB | "
              + (f"{mib(med(after)):.0f} MiB |" if after else "no load |"))
    for label, c in res["corpora"].items():
        if "load" in c["runs"][0]:
            report_load(label, c)
    for label, c in res["corpora"].items():
        for what, lines in (("registry", c["registry_log_problems"]), ("nginx", c.get("nginx_log_problems", []))):
            if lines:
                print(f"\n{label}: {len(lines)} warning/error line(s) in the {what} log, first: {lines[0]}")
        if c["answers_differ"]:
            print(f"\n{label}: answers that differed from run 1 (run, query): {c['answers_differ']}")
    report_targets(res)


def report_load(label, c):
    runs = c["runs"]
    print(f"\nUnder load, {label}: requests/s and p99 latency, medians (registry / nginx serving the same bytes)\n")
    print("| query | bytes | ours req/s | nginx req/s | ours / nginx | ours p99 | nginx p99 | ours req/s, runs "
          "| CPU µs/req ours | CPU µs/req nginx | ours VmHWM after |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for key, q in c["queries"].items():
        ans = c["answers"][key]
        ours = [r["load"][key]["ours"] for r in runs]
        ngx = [r["load"][key]["nginx"] for r in runs]
        o, n = med([w["rps"] for w in ours]), med([w["rps"] for w in ngx])
        note = " (server sends identity; nginx gzip)" if ans.get("server_sends_identity") else ""
        failed = sum("failed" in w for w in ours + ngx)
        note += f" (**{failed} run(s) failed**, see below)" if failed else ""
        print(f"| {q['label']}{note} | {ans['bytes']:,} | {o:,.0f} | {n:,.0f} | {o / n if n else 0:.2f} | "
              f"{med([w['p99_ms'] for w in ours]):.1f} ms | {med([w['p99_ms'] for w in ngx]):.1f} ms | "
              f"{listed([w['rps'] for w in ours], 0)} | {cpu_per_request(ours)} | {cpu_per_request(ngx)} | "
              f"{mib(med([w['hwm_kib'] for w in ours])):.0f} MiB |")
    for key in c["queries"]:
        for who in ("ours", "nginx"):
            errors = {}
            for r in runs:
                for k, v in r["load"][key][who]["socket_errors"].items():
                    errors[k] = errors.get(k, 0) + v
            if any(errors.values()):
                print(f"\nwrk socket errors, {key} ({who}), all runs: "
                      + ", ".join(f"{k} {v}" for k, v in errors.items() if v))


def cpu_per_request(runs):
    """The server's median CPU time per answered request, in µs."""
    per = [w["cpu_s"] / w["requests"] * 1e6 for w in runs if w["requests"]]
    return f"{med(per):,.0f}" if per else "-"


def report_targets(res):
    """The targets of issues 5 and 14, against the medians above."""
    c = res["corpora"]
    rows = []
    for label, limit in (("folders", 0.5), ("zips", 0.5), ("bucket-10000", 1.0), ("bucket-100000", 10.0)):
        if label in c and (label.startswith("bucket") or (c[label]["runs"][0]["packages"] or 0) >= 185):
            s = med([r["startup_s"] for r in c[label]["runs"]])
            rows.append((f"startup, {label}", f"≤ {limit} s", f"{s:.3f} s", s <= limit))
    if "bucket-10000" in c:
        peak = max(max(r["hwm_ready_kib"], r.get("hwm_after_load_kib", 0)) for r in c["bucket-10000"]["runs"])
        rows.append(("peak RSS, bucket-10000", "≤ 100 MB", f"{peak * 1024 / 1e6:.0f} MB", peak * 1024 <= 100e6))
    # Issue 14: 1,920 versions as zips and as folders.
    for label in ("zips-v1920", "folders-v1920"):
        if label in c:
            s = med([r["startup_s"] for r in c[label]["runs"]])
            rows.append((f"startup, {label}", "≤ 1 s", f"{s:.3f} s", s <= 1.0))
            peak = max(max(r["hwm_ready_kib"], r.get("hwm_after_load_kib", 0)) for r in c[label]["runs"])
            rows.append((f"peak RSS, {label}", "≤ 100 MB", f"{peak * 1024 / 1e6:.0f} MB", peak * 1024 <= 100e6))
            if "load" in c[label]["runs"][0]:
                runs = c[label]["runs"]
                ratio = med([r["load"]["search"]["ours"]["rps"] for r in runs]) / med(
                    [r["load"]["search"]["nginx"]["rps"] for r in runs])
                rows.append((f"{c[label]['queries']['search']['label']} req/s, {label}", "≥ 1 × nginx",
                             f"{ratio:.2f} × nginx", ratio >= 1.0))
    if "zips" in c and "load" in c["zips"]["runs"][0]:
        for key in ("search", "search_gzip", "search_any_spec", "search_any_spec_gzip"):
            runs = c["zips"]["runs"]
            ratio = med([r["load"][key]["ours"]["rps"] for r in runs]) / med([r["load"][key]["nginx"]["rps"] for r in runs])
            rows.append((f"{c['zips']['queries'][key]['label']} req/s, zips", "≥ 0.7 × nginx", f"{ratio:.2f} × nginx",
                         ratio >= 0.7))
    if rows:
        print("\nTargets (issues 5 and 14):\n")
        print("| target | wanted | measured | met |")
        print("|---|---|---|---|")
        for what, want, got, ok in rows:
            print(f"| {what} | {want} | {got} | {'yes' if ok else '**no**'} |")


def failures(res):
    """The `failed` reasons of every wrk measurement, warm-ups excluded."""
    return [w["failed"] for c in res["corpora"].values() for r in c["runs"] for q in r.get("load", {}).values()
            for w in q.values() if "failed" in w]


# --- main ----------------------------------------------------------------------------

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, help="runs per corpus (default 5; --smoke: 1)")
    ap.add_argument("--versions", help="bucket sizes, comma-separated, 0 or empty: none "
                    "(default 10000,100000; --smoke: none)")
    ap.add_argument("--local-versions", default="",
                    help="also serve N package versions as zips and as folders (copies of the "
                         "corpus with rewritten versions), for each N, comma-separated")
    ap.add_argument("--corpora", default="zips,folders",
                    help="file corpora to serve: zips, folders, both or none (default zips,folders)")
    ap.add_argument("--load-on", default="zips",
                    help="corpora measured with wrk: comma-separated labels (zips, folders, bucket-N) "
                         "or 'all' (default zips)")
    ap.add_argument("--nginx-access-log", action="store_true",
                    help="nginx writes an access line per request, as ours does (default: none)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    ap.add_argument("--duration", type=int, help="wrk seconds per measurement (default 10; --smoke: 1)")
    ap.add_argument("--warmup", type=int, help="wrk warm-up seconds before each (default 2; --smoke: 0)")
    ap.add_argument("--timeout", type=int, default=10,
                    help="wrk seconds before a request counts as a timeout (default 10)")
    ap.add_argument("--binary", "--bin", default=os.path.join(TARGET, "release", "package-registry"))
    ap.add_argument("--make-bucket", default=os.path.join(TARGET, "release", "examples", "make_bucket"))
    ap.add_argument("--corpus", default=os.path.join(ROOT, "../shared/corpus/production-latest"))
    ap.add_argument("--ready-timeout", type=float, default=600, help="seconds to wait for /health (default 600)")
    ap.add_argument("--work", help="working folder, kept and reused (default: a temporary one, removed after)")
    ap.add_argument("--json", help="also write the raw figures here")
    ap.add_argument("--smoke", action="store_true",
                    help="a quick check for CI: 5 zips, 1 run, 1-second wrk, no bucket unless --versions")
    a = ap.parse_args()
    pick = lambda v, full, smoke: v if v is not None else (smoke if a.smoke else full)
    a.runs = pick(a.runs, 5, 1)
    a.duration = pick(a.duration, 10, 1)
    a.warmup = pick(a.warmup, 2, 0)
    a.versions = [int(v) for v in pick(a.versions, "10000,100000", "").split(",") if v.strip() and int(v)]
    a.local_versions = [int(v) for v in a.local_versions.split(",") if v.strip() and int(v)]
    a.corpora = [c for c in a.corpora.split(",") if c in ("zips", "folders")]
    labels = ["zips", "folders"] + [f"bucket-{v}" for v in a.versions] + \
        [f"{kind}-v{v}" for v in a.local_versions for kind in ("zips", "folders")]
    a.load_on = labels if a.load_on == "all" else a.load_on.split(",")
    a.corpus = os.path.abspath(a.corpus)
    a.binary = os.path.abspath(a.binary)
    return a


def main():
    a = parse_args()
    for name in ("wrk", "nginx"):
        if a.load_on and not tool(name):
            sys.exit(f"{name} is missing (apt-get install wrk nginx)")
    work = a.work or tempfile.mkdtemp(prefix="bench_load.")
    os.makedirs(work, exist_ok=True)
    try:
        build(a, a.versions)
        res = {"machine": machine(), "settings": {k: v for k, v in vars(a).items()}, "corpora": {}}
        for label, kind, path in corpora(a, work):
            res["corpora"][label] = bench_corpus(a, work, label, kind, path)
        res["machine"]["loadavg_at_end"] = os.getloadavg()
        report(res, a)
        if a.json:
            with open(a.json, "w") as f:
                json.dump(res, f, indent=2)
                f.write("\n")
        failed = failures(res)
        if failed:
            raise Fail(f"{len(failed)} wrk measurement(s) failed:\n" + "\n".join(failed))
    except (Fail, subprocess.CalledProcessError) as e:
        sys.exit(f"bench_load: {e}")
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
