#!/usr/bin/env python3
"""Benchmark: Package Storage v2 publishing and a registry following a bucket index.

    scripts/bench_storage.py [--runs N] [--versions 10000] [--big 100000] [--json OUT]

1. Publish: one typical real package (the median zip size among the corpus packages
   that validate), signed, published with `package-registry publish` into a fresh
   empty file:// bucket and into a fresh copy of a bucket whose index holds
   --versions versions (process start to exit; peak RSS from wait4). References
   in the same run: `package-registry validate` of the zip, `package-registry verify`
   and `gpg --verify` of its signature, and `cp` of the zip and signature.
2. Registry: a registry started on a fresh copy of the --versions bucket (and of a
   --big one unless --big 0), then the same package published into it: the
   registry's `elapsed_ms` of "storage index updated" (the catalog swap), the wall
   time from the publish command's exit to the package in /search, RSS before and
   after. Reference in the same run: a full load of the same index, (a) at startup
   (spawn to /health 200) and (b) for --versions (and --big with --big-full-reload)
   a revision written without a delta, so that the running registry reloads the
   full index (time from moving cursor.json to the log line). A fresh registry on a
   fresh bucket copy for each run. Results: docs/PERFORMANCE.md.

Medians of --runs runs (default 5); measurements of one run are interleaved so that a
change in the machine's load hits all of them alike. Needs gpg (GnuPG 2.1+) and the
corpus of real packages (default ../shared/corpus/production-latest). Builds the
release binary and the bucket generator (crates/storage/examples/make_bucket.rs) when
missing, in $CARGO_TARGET_DIR or target/.
"""
import argparse, datetime, glob, json, os, re, shutil, signal
import subprocess, sys, tempfile, threading, time, urllib.error, urllib.request

from benchlib import free_port, machine, med, proc_status, run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")


def build(a):
    if not os.path.exists(a.bin):
        run(["cargo", "build", "--release", "-p", "package-registry"], cwd=ROOT)
    if not os.path.exists(a.make_bucket):
        run(["cargo", "build", "--release", "-p", "epr-storage", "--example", "make_bucket"], cwd=ROOT)


def timed(cmd, env=None):
    """Wall seconds of `cmd` (process start to exit) and its stdout."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = p.communicate()
    took = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {p.returncode}\n{out.decode()}{err.decode()}")
    return took, out.decode()


def timed_rss(cmd):
    """Wall seconds, stdout and peak RSS (KiB) of `cmd`, reaped with wait4."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    took = time.perf_counter() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {p.returncode}\n{out.decode()}")
    return took, out.decode(), usage.ru_maxrss


def gpg_key(work):
    """A fresh Ed25519 signing key: (gnupg home, secret.asc, pub.asc)."""
    home = os.path.join(work, "gnupg")
    os.makedirs(home, mode=0o700)
    env = dict(os.environ, GNUPGHOME=home)
    uid = "Bench <bench@example.com>"
    base = ["gpg", "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", ""]
    run(base + ["--quick-gen-key", uid, "ed25519", "sign", "never"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    secret, public = os.path.join(work, "secret.asc"), os.path.join(work, "pub.asc")
    with open(secret, "wb") as f:
        run(base + ["--armor", "--export-secret-keys", uid], env=env, stdout=f)
    with open(public, "wb") as f:
        run(base + ["--armor", "--export", uid], env=env, stdout=f)
    return env, secret, public


def pick_package(a):
    """The median-size zip among the corpus zips that validate: (path, valid count)."""
    valid = []
    for z in sorted(glob.glob(os.path.join(a.corpus, "*.zip"))):
        r = subprocess.run([a.bin, "validate", z], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            valid.append((os.path.getsize(z), os.path.basename(z), z))
    if not valid:
        sys.exit(f"no valid zip in {a.corpus} (give the corpus folder with --corpus)")
    valid.sort()
    return valid[(len(valid) - 1) // 2][2], len(valid)  # the lower median


def copy_bucket(template, dest):
    """A copy of a generated bucket: index files hard-linked (they are never rewritten:
    publishers create new revision folders), everything else copied."""
    def copy(src, dst):
        if src.endswith(".json") and not src.endswith("cursor.json"):
            os.link(src, dst)
        else:
            shutil.copy2(src, dst)
    shutil.copytree(template, dest, copy_function=copy)


def make_bucket(a, work, versions, exclude):
    out = os.path.join(work, f"bucket-{versions}")
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    r = run([a.make_bucket, a.corpus, out, str(versions), "--exclude", exclude],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    took = time.perf_counter() - start
    meta = os.path.join(out, "v2", "metadata")
    (cursor,) = [d for d in os.listdir(meta) if os.path.isdir(os.path.join(meta, d))]
    size = os.path.getsize(os.path.join(meta, cursor, "search-index-all.json"))
    print(f"generated {out}: {versions} versions, search-index-all.json {size / 1e6:.1f} MB, {took:.1f} s",
          file=sys.stderr)
    return out, size


def http_get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except OSError:
        return None, b""


class Registry:
    """A registry process whose stderr JSON lines are collected with their arrival time."""

    def __init__(self, a, work, bucket):
        self.port = free_port()
        config = os.path.join(work, "config.yml")
        with open(config, "w") as f:
            f.write("package_paths:\n")
        url = f"file://{bucket}"
        self.lines = []  # (perf_counter at arrival, parsed JSON or raw text)
        self.cond = threading.Condition()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [a.bin, "--config", config, "--address", f"127.0.0.1:{self.port}",
             "--feature-storage-indexer", "--storage-indexer-bucket-internal", url,
             "--storage-endpoint", url, "--storage-indexer-watch-interval", "100ms",
             "--log-level", "info"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stderr:
            now = time.perf_counter()
            try:
                line = json.loads(raw)
            except ValueError:
                line = {"message": raw.decode(errors="replace").strip()}
            with self.cond:
                self.lines.append((now, line))
                self.cond.notify_all()

    def wait_ready(self, timeout=600):
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"the registry exited: {self.messages()}")
            if http_get(self.port, "/health")[0] == 200:
                return time.perf_counter() - self.started
            time.sleep(0.01)
        sys.exit("the registry did not become ready")

    def wait_line(self, pred, after=0, timeout=600):
        """The first (time, line) from index `after` on that satisfies `pred`."""
        deadline = time.time() + timeout
        with self.cond:
            i = after
            while True:
                while i < len(self.lines):
                    if pred(self.lines[i][1]):
                        return self.lines[i]
                    i += 1
                left = deadline - time.time()
                if left <= 0:
                    sys.exit(f"no expected log line; the registry said: {self.messages()}")
                self.cond.wait(left)

    def mark(self):
        with self.cond:
            return len(self.lines)

    def messages(self, after=0):
        with self.cond:
            return [fields(l).get("message") for _, l in self.lines[after:]]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def fields(line):
    """The fields of one log line, flattened (tracing-subscriber puts them under "fields")."""
    out = dict(line)
    out.update(line.get("fields") or {})
    return out


FULL_LOAD_LINES = ("no delta; loading the full index", "unreadable delta; loading the full index")


def log_time(line):
    """The wall-clock time of a log line (its RFC 3339 UTC `timestamp`)."""
    ts = line["timestamp"].rstrip("Z")
    whole, _, frac = ts.partition(".")
    t = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return t.timestamp() + float("0." + (frac or "0"))


def listed(port, name, version):
    status, body = http_get(port, f"/search?package={name}&all=true")
    if status != 200:
        return False
    try:
        return any(p.get("version") == version for p in json.loads(body))
    except ValueError:
        return False


def registry_run(a, work, template, name, version, zip_path, public, expect, full_reload):
    """One fresh registry on a fresh copy of `template`: startup, one delta, and (if
    `full_reload`) one full reload."""
    bucket = os.path.join(work, "reg-bucket")
    if os.path.exists(bucket):
        shutil.rmtree(bucket)
    copy_bucket(template, bucket)
    reg = Registry(a, work, bucket)
    try:
        r = {"startup_s": reg.wait_ready()}
        _, loaded = reg.wait_line(lambda l: fields(l).get("message") == "storage index loaded")
        if fields(loaded).get("packages") != expect:
            sys.exit(f"the registry loaded {fields(loaded).get('packages')} packages, not {expect}")
        _, line = reg.wait_line(lambda l: fields(l).get("message") == "packages loaded")
        r["startup_elapsed_ms"] = fields(line).get("elapsed_ms")
        time.sleep(a.settle)
        r["rss_before_kib"] = proc_status(reg.proc.pid)

        # One new package: publish, then the registry follows the delta. A thread
        # watches /search from the start of the publish (the registry may apply the
        # revision before the publisher has exited).
        mark = reg.mark()
        seen = []
        done = threading.Event()

        def watch():
            while not done.is_set():
                if listed(reg.port, name, version):
                    seen.append(time.time())
                    return
                time.sleep(0.005)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        took, out, kib = timed_rss([a.bin, "publish", "--storage", f"file://{bucket}", "--keyring", public,
                                    zip_path])
        exited = time.time()
        r["publish_s"], r["publish_peak_rss_kib"] = took, kib
        m = re.search(r"published \(index revision (\d+)\)", out)
        if not m:
            sys.exit(f"publish did not publish: {out}")
        cursor = m.group(1)
        # When the publisher wrote cursor.json (its temporary file, just before the rename).
        moved = os.stat(os.path.join(bucket, "v2", "metadata", "cursor.json")).st_mtime_ns / 1e9
        watcher.join(timeout=600)
        done.set()
        if not seen:
            sys.exit(f"{name}-{version} never appeared in /search")
        _, line = reg.wait_line(lambda l: fields(l).get("message") == "storage index updated"
                                and fields(l).get("cursor") == cursor, after=mark)
        f = fields(line)
        r["delta_log_after_cursor_s"] = log_time(line) - moved
        r["delta_search_after_cursor_s"] = seen[0] - moved
        r["delta_search_after_exit_s"] = seen[0] - exited
        r["delta_elapsed_ms"] = f.get("elapsed_ms")
        r["delta_packages"] = f.get("packages")
        r["delta_fell_back_to_full"] = any(m in FULL_LOAD_LINES for m in reg.messages(mark))
        r["delta_log_line"] = line
        time.sleep(a.settle)
        r["rss_after_delta_kib"] = proc_status(reg.proc.pid)
        if not full_reload:
            return r

        # Reference: a revision with no delta, so the registry reloads the full index.
        meta = os.path.join(bucket, "v2", "metadata")
        full_cursor = f"{int(cursor) + 1:0{len(cursor)}d}"
        os.makedirs(os.path.join(meta, full_cursor))
        os.link(os.path.join(meta, cursor, "search-index-all.json"),
                os.path.join(meta, full_cursor, "search-index-all.json"))
        tmp = os.path.join(meta, "cursor.json.bench-tmp")
        with open(tmp, "w") as fh:
            fh.write(json.dumps({"current": full_cursor}) + "\n")
        mark = reg.mark()
        moved = time.time()
        os.replace(tmp, os.path.join(meta, "cursor.json"))
        _, line = reg.wait_line(lambda l: fields(l).get("message") == "storage index updated"
                                and fields(l).get("cursor") == full_cursor, after=mark)
        r["full_log_after_cursor_s"] = log_time(line) - moved
        r["full_elapsed_ms"] = fields(line).get("elapsed_ms")
        r["full_was_full"] = any(m in FULL_LOAD_LINES for m in reg.messages(mark))
        time.sleep(a.settle)
        r["rss_after_full_kib"] = proc_status(reg.proc.pid)
        return r
    finally:
        reg.stop()
        shutil.rmtree(bucket, ignore_errors=True)


def fmt_runs(values, scale=1.0, digits=3):
    return ", ".join(f"{v * scale:.{digits}f}" for v in values)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--versions", type=int, default=10000, help="versions in the index (default 10000)")
    ap.add_argument("--big", type=int, default=100000,
                    help="also measure the registry delta on an index this large (0: skip)")
    ap.add_argument("--big-full-reload", action="store_true",
                    help="also reload the full --big index in the running registry (about twice its memory)")
    ap.add_argument("--bin", default=os.path.join(TARGET, "release", "package-registry"))
    ap.add_argument("--make-bucket", default=os.path.join(TARGET, "release", "examples", "make_bucket"))
    ap.add_argument("--corpus", default=os.path.join(ROOT, "../shared/corpus/production-latest"))
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds to wait before reading RSS (default 1)")
    ap.add_argument("--work", help="working folder (default: a new temporary one, removed after)")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    a.corpus = os.path.abspath(a.corpus)
    build(a)
    work = a.work or tempfile.mkdtemp(prefix="bench_storage.")
    os.makedirs(work, exist_ok=True)
    try:
        results = bench(a, work)
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")


def bench(a, work):
    res = {"machine": machine(), "runs": a.runs}
    gpg_env, secret, public = gpg_key(work)
    src, valid = pick_package(a)
    pkg_dir = os.path.join(work, "pkg")
    os.makedirs(pkg_dir)
    zip_path = os.path.join(pkg_dir, os.path.basename(src))
    shutil.copy(src, zip_path)
    run([a.bin, "sign", "--key", secret, zip_path], stdout=subprocess.DEVNULL)
    name, version = os.path.basename(zip_path)[:-4].rsplit("-", 1)
    res["package"] = {"zip": os.path.basename(zip_path), "bytes": os.path.getsize(zip_path),
                      "valid_in_corpus": valid}
    print(f"package: {res['package']['zip']}, {res['package']['bytes']} bytes "
          f"(median size of the {valid} corpus zips that validate)", file=sys.stderr)

    buckets = {}
    for n in [a.versions] + ([a.big] if a.big else []):
        path, size = make_bucket(a, work, n, name)
        buckets[n] = path
        res.setdefault("index_bytes", {})[str(n)] = size

    # 1. Publishing, interleaved per run.
    cols = {k: [] for k in ["publish_empty", "publish_big", "validate", "verify", "gpg_verify", "cp"]}
    rss = {"publish_empty": [], "publish_big": []}
    sig = zip_path + ".sig"
    for i in range(a.runs):
        empty = os.path.join(work, f"pub-empty-{i}")
        t, out, kib = timed_rss([a.bin, "publish", "--storage", f"file://{empty}", "--keyring", public, zip_path])
        assert "published (index revision" in out, out
        cols["publish_empty"].append(t)
        rss["publish_empty"].append(kib)
        shutil.rmtree(empty)

        big = os.path.join(work, f"pub-big-{i}")
        copy_bucket(buckets[a.versions], big)
        t, out, kib = timed_rss([a.bin, "publish", "--storage", f"file://{big}", "--keyring", public, zip_path])
        assert "published (index revision" in out, out
        cols["publish_big"].append(t)
        rss["publish_big"].append(kib)
        shutil.rmtree(big)

        cols["validate"].append(timed([a.bin, "validate", zip_path])[0])
        cols["verify"].append(timed([a.bin, "verify", "--keyring", public, zip_path])[0])
        cols["gpg_verify"].append(timed(["gpg", "--batch", "--quiet", "--verify", sig, zip_path], env=gpg_env)[0])
        dest = os.path.join(work, f"cp-{i}")
        os.makedirs(dest)
        cols["cp"].append(timed(["cp", zip_path, sig, dest])[0])
        shutil.rmtree(dest)
    res["publish"] = {k: {"median_s": med(v), "runs_s": v} for k, v in cols.items()}
    for k, v in rss.items():
        res["publish"][k]["peak_rss_kib_median"] = med(v)

    # 2. The registry following the index.
    res["registry"] = {}
    for n, template in buckets.items():
        runs = []
        for _ in range(a.runs):
            full_reload = n == a.versions or a.big_full_reload
            runs.append(registry_run(a, work, template, name, version, zip_path, public, n, full_reload))
            print(f"registry {n}: run {len(runs)}: startup {runs[-1]['startup_s']:.2f} s, delta "
                  f"{runs[-1]['delta_elapsed_ms']} ms, full reload {runs[-1].get('full_elapsed_ms')} ms",
                  file=sys.stderr)
        res["registry"][str(n)] = runs
    res["machine"]["loadavg_at_end"] = os.getloadavg()
    report(res, a)
    return res


def report(res, a):
    p = res["publish"]
    pkg = res["package"]
    print(f"\nMachine: {res['machine']['cpu']}, {res['machine']['cores']} cores, "
          f"{res['machine']['ram_gib']} GiB, {res['machine']['os']}; load average at start "
          f"{res['machine']['loadavg_at_start'][0]:.2f}, at end {res['machine']['loadavg_at_end'][0]:.2f}")
    print(f"Package: {pkg['zip']} ({pkg['bytes']} bytes; the median size of the {pkg['valid_in_corpus']} "
          f"corpus zips that validate). Medians of {a.runs} runs.\n")
    ref = p["validate"]["median_s"]
    print("| what | median | runs (s) | / validate | peak RSS |")
    print("|---|---|---|---|---|")
    rows = [("publish into an empty bucket", "publish_empty"),
            (f"publish into a bucket holding {a.versions:,} versions", "publish_big"),
            ("`package-registry validate` of the zip (reference)", "validate"),
            ("`package-registry verify` of the signature (reference)", "verify"),
            ("`gpg --verify` of the signature (reference)", "gpg_verify"),
            ("`cp` of the zip and signature (reference)", "cp")]
    for label, k in rows:
        v = p[k]
        peak = f"{v['peak_rss_kib_median'] / 1024:.0f} MiB" if "peak_rss_kib_median" in v else ""
        print(f"| {label} | {v['median_s'] * 1000:.0f} ms | {fmt_runs(v['runs_s'])} | "
              f"{v['median_s'] / ref:.2f} | {peak} |")
    print(f"\nIndex rewrite cost (publish into {a.versions:,} minus empty): "
          f"{(p['publish_big']['median_s'] - p['publish_empty']['median_s']) * 1000:.0f} ms")

    for n, runs in res["registry"].items():
        report_registry(res, int(n), runs)


def ms(v):
    """A log `elapsed_ms`: whole milliseconds, so 0 means under 1 ms."""
    return "< 1 ms" if v == 0 else f"{v:.0f} ms"


def report_registry(res, n, runs):
    size = res["index_bytes"][str(n)]
    col = lambda k: [r[k] for r in runs]
    mib = lambda k, f: [r[k][f] / 1024 for r in runs]
    full = all("full_elapsed_ms" in r for r in runs)
    print(f"\nRegistry on {n:,} versions (search-index-all.json {size / 1e6:.0f} MB), "
          f"{len(runs)} runs, a fresh registry and bucket copy each:\n")
    print("| what | median | runs |")
    print("|---|---|---|")
    rows = [("full load at startup: spawn to /health 200", col("startup_s"), 1, 2, " s"),
            ("full load at startup: `packages loaded` `elapsed_ms`", col("startup_elapsed_ms"), 1, 0, " ms")]
    if full:
        rows += [("full reload (revision without delta): `elapsed_ms` (catalog swap)", col("full_elapsed_ms"), 1, 0, " ms"),
                 ("full reload: cursor.json moved to the log line", col("full_log_after_cursor_s"), 1000, 0, " ms")]
    rows += [("delta (one new package): `elapsed_ms` (catalog swap)", col("delta_elapsed_ms"), 1, 0, " ms"),
             ("delta: cursor.json moved to the log line", col("delta_log_after_cursor_s"), 1000, 0, " ms"),
             ("delta: cursor.json moved to the package in /search", col("delta_search_after_cursor_s"), 1000, 0,
              " ms"),
             ("delta: publish exit to the package in /search (negative: seen before the publisher exited)",
              col("delta_search_after_exit_s"), 1000, 0, " ms"),
             ("the publish itself (into this bucket)", col("publish_s"), 1, 2, " s"),
             ("the publish: peak RSS", [k / 1024 for k in col("publish_peak_rss_kib")], 1, 0, " MiB")]
    mems = [("before the publish", "rss_before_kib"), ("after the delta", "rss_after_delta_kib")]
    if full:
        mems.append(("after the full reload", "rss_after_full_kib"))
    for label, k in mems:
        rows.append((f"registry VmRSS {label}", mib(k, "VmRSS"), 1, 0, " MiB"))
    last = mems[-1][1]
    rows.append((f"registry VmHWM (peak) {mems[-1][0]}", mib(last, "VmHWM"), 1, 0, " MiB"))
    for label, values, scale, digits, unit in rows:
        m = med(values) * scale
        shown = ms(m) if unit == " ms" and "elapsed_ms" in label else f"{m:.{digits}f}{unit}"
        print(f"| {label} | {shown} | {fmt_runs(values, scale, digits)} |")
    fell = sum(r["delta_fell_back_to_full"] for r in runs)
    print(f"\nDelta applied without a full load in {len(runs) - fell} of {len(runs)} runs "
          f"(no \"no delta; loading the full index\" line); packages after it: {runs[0]['delta_packages']}.")
    d = med(col("delta_elapsed_ms"))
    ref = med(col("full_elapsed_ms")) if full else med(col("startup_elapsed_ms"))
    what = "full reload" if full else "startup load"
    print(f"Ratio delta / {what} (`elapsed_ms`): "
          + (f"< {1 / ref:.5f} (delta under 1 ms)" if d == 0 else f"{d / ref:.5f}"))
    if full:
        n_full = sum(r["full_was_full"] for r in runs)
        print(f"The reference reloaded the full index in {n_full} of {len(runs)} runs (logged \"no delta; "
              f"loading the full index\"). Ratio delta / full reload, log-line wall times: "
              f"{med(col('delta_log_after_cursor_s')) / med(col('full_log_after_cursor_s')):.4f}")
    print(f"Example log line: {json.dumps(runs[0]['delta_log_line'])}")

if __name__ == "__main__":
    main()
