#!/usr/bin/env python3
"""Soak: mixed Kibana traffic for a long time while packages are reloaded and
published, with the registry's memory sampled throughout.

    scripts/soak.py [--minutes 30] [--warmup-minutes 5] [--json OUT]

One registry serves the real packages of --corpus as zips from a package path
(watched: --package-paths-enable-watcher) and a Package Storage v2 bucket (polled
every second). For --minutes:

  traffic   wrk, 8 connections, cycling through Kibana's requests: the search with
            and without gzip, categories, a package's document, its icon, its zip,
            a search of one package, and a search with a new kibana.version patch
            each time (a cache miss);
  reloads   every --reload-every seconds a package zip with a new version is added
            to the package path, or the last one added removed (the watcher reloads);
  publishes every --publish-every seconds a new version is signed (gpg) and
            published into the bucket (the poller applies the revision).

Every 5 s: VmRSS, open descriptors and threads of the registry. The growth is the
median RSS of the last 2 minutes against the median of the 2 minutes after the
warm-up. Exits non-zero when a request fails, a reload or publish fails, or the
registry logs an error. Needs wrk and gpg. Results: docs/RELIABILITY.md.
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, tempfile, threading, time

import bench_load as bl
from benchlib import machine, proc_status, zip_with_version

KIBANA = "/search?kibana.version=8.5.0&prerelease=false"


def new_version(src_zip, out_dir, patch):
    """A copy of package zip `src_zip` with the patch of its version set to `patch`."""
    version = os.path.basename(src_zip)[:-4].rsplit("-", 1)[1]
    major, minor = version.split(".")[:2]
    return zip_with_version(src_zip, out_dir, f"{major}.{minor}.{patch}")


class Signer:
    """A throwaway gpg key in its own home, and its public keyring file."""

    def __init__(self, work):
        self.home = os.path.join(work, "gnupg")
        os.makedirs(self.home, mode=0o700)
        env = dict(os.environ, GNUPGHOME=self.home)
        subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "Soak <soak@example.com>",
                        "ed25519", "sign", "never"], env=env, check=True, capture_output=True)
        self.keyring = os.path.join(work, "public.asc")
        with open(self.keyring, "wb") as f:
            f.write(subprocess.run(["gpg", "--armor", "--export"], env=env, check=True,
                                   capture_output=True).stdout)
        self.env = env

    def sign(self, zip_path):
        subprocess.run(["gpg", "--batch", "--yes", "--armor", "--detach-sign", "--output",
                        zip_path + ".sig", zip_path], env=self.env, check=True, capture_output=True)


def lua(work, paths):
    path = os.path.join(work, "soak.lua")
    entries = ",\n  ".join("{%s, %s}" % (json.dumps(p), json.dumps(h)) for p, h in paths)
    with open(path, "w") as f:
        f.write(f"""
local paths = {{
  {entries}
}}
local i = 0
request = function()
  i = i + 1
  local p = paths[(i % #paths) + 1]
  local uri = p[1]
  if uri == "MISS" then
    uri = "/search?prerelease=false&kibana.version=8.5." .. math.random(1, 1000000000)
  end
  local headers = {{}}
  if p[2] ~= "" then headers["Accept-Encoding"] = p[2] end
  return wrk.format(nil, uri, headers)
end
""")
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--warmup-minutes", type=float, default=5)
    ap.add_argument("--reload-every", type=float, default=30)
    ap.add_argument("--publish-every", type=float, default=20)
    ap.add_argument("--binary", default=os.path.join(bl.TARGET, "release", "package-registry"))
    ap.add_argument("--corpus", default=os.path.join(bl.ROOT, "../shared/corpus/production-latest"))
    ap.add_argument("--json")
    a = ap.parse_args()
    a.binary, a.corpus = os.path.abspath(a.binary), os.path.abspath(a.corpus)
    for tool in ("wrk", "gpg"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing")
    work = tempfile.mkdtemp(prefix="soak.")
    failures = []
    try:
        zips = os.path.join(work, "zips")
        os.makedirs(zips)
        corpus = sorted(f for f in os.listdir(a.corpus) if f.endswith(".zip"))
        for f in corpus:
            shutil.copy(os.path.join(a.corpus, f), zips)
        bucket = os.path.join(work, "bucket")
        os.makedirs(bucket)
        signer = Signer(work)
        metrics_port = bl.free_port()
        url = f"file://{bucket}"
        smallest = min((os.path.join(a.corpus, f) for f in corpus), key=os.path.getsize)
        candidates = os.path.join(work, "candidates")
        os.makedirs(candidates)

        def publish(patch):
            zip_path = new_version(smallest, candidates, patch)
            signer.sign(zip_path)
            r = subprocess.run([a.binary, "publish", "--legacy-package", "--storage", url,
                                "--keyring", signer.keyring, zip_path], capture_output=True, text=True)
            if r.returncode != 0:
                failures.append(f"publish {zip_path}: {r.stderr.strip()}")

        publish(5000)  # the bucket has an index before the registry starts
        reg = bl.Registry(a, work, "soak", "files", zips, 0, [
            "--package-paths-enable-watcher", "--feature-storage-indexer",
            "--storage-indexer-bucket-internal", url, "--storage-endpoint", url,
            "--storage-indexer-watch-interval", "1s",
            "--metrics-address", f"127.0.0.1:{metrics_port}"])
        reg.wait_ready(600)
        status, _, body = bl.fetch(reg.port, "/search?package=aws")
        aws = json.loads(body)[0]
        paths = [(KIBANA, "gzip"), (KIBANA, ""), ("/categories?kibana.version=8.5.0&prerelease=false", ""),
                 (f"/package/aws/{aws['version']}/", "gzip"), (aws["icons"][0]["path"], ""),
                 (f"/epr/aws/aws-{aws['version']}.zip", ""), ("/search?package=aws&prerelease=true", ""),
                 ("MISS", "gzip")]

        seconds = a.minutes * 60
        stop = threading.Event()
        events = {"reloads": 0, "publishes": 0}

        staging = os.path.join(work, "staging")
        os.makedirs(staging)

        def reloads():
            added, patch = [], 9000
            while not stop.wait(a.reload_every):
                if added and len(added) % 2 == 0:
                    os.remove(added.pop())
                else:
                    # Made aside and renamed in: the watcher never sees half a zip.
                    patch += 1
                    made = new_version(smallest, staging, patch)
                    added.append(os.path.join(zips, os.path.basename(made)))
                    os.rename(made, added[-1])
                events["reloads"] += 1

        def publishes():
            patch = 5000
            while not stop.wait(a.publish_every):
                patch += 1
                publish(patch)
                events["publishes"] += 1

        wrk = subprocess.Popen([bl.tool("wrk"), "-t", "2", "-c", "8", "-d", f"{int(seconds)}s",
                                "--timeout", "30s", "-s", lua(work, paths), f"http://127.0.0.1:{reg.port}/"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threads = [threading.Thread(target=t, daemon=True) for t in (reloads, publishes)]
        for t in threads:
            t.start()
        samples = []
        started = time.time()
        while wrk.poll() is None:
            pid = reg.proc.pid
            rss = proc_status(pid)["VmRSS"]
            fds = len(os.listdir(f"/proc/{pid}/fd"))
            tasks = len(os.listdir(f"/proc/{pid}/task"))
            samples.append({"t": round(time.time() - started, 1), "rss_kib": rss, "fds": fds, "threads": tasks})
            time.sleep(5)
        stop.set()
        out = wrk.communicate()[0]
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if non2xx:
            failures.append(f"{non2xx.group(1)} answers not 2xx")
        errors = re.search(r"Socket errors: .*", out)
        if errors:
            failures.append(errors.group(0))
        problems = reg.problems()
        if problems:
            failures.append(f"the registry logged: {problems}")
        reg.stop()

        warm = a.warmup_minutes * 60
        after_warmup = [s["rss_kib"] for s in samples if warm <= s["t"] < warm + 120]
        last = [s["rss_kib"] for s in samples if s["t"] >= samples[-1]["t"] - 120]
        base, end = statistics.median(after_warmup), statistics.median(last)
        growth = (end - base) / base * 100
        result = {"machine": machine(), "minutes": a.minutes, "requests": requests,
                  "rps": round(requests / seconds), **events,
                  "rss_after_warmup_mib": round(base / 1024, 1), "rss_end_mib": round(end / 1024, 1),
                  "rss_max_mib": round(max(s["rss_kib"] for s in samples) / 1024, 1),
                  "growth_pct": round(growth, 2),
                  "fds": [min(s["fds"] for s in samples), max(s["fds"] for s in samples)],
                  "threads": [min(s["threads"] for s in samples), max(s["threads"] for s in samples)],
                  "failures": failures, "samples": samples}
        print(f"\n{machine()}\n")
        print("| minutes | requests (req/s) | reloads | publishes | RSS after warm-up | RSS at the end | max | growth | descriptors | threads |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        print(f"| {a.minutes:g} | {requests} ({result['rps']}) | {events['reloads']} | {events['publishes']} | "
              f"{result['rss_after_warmup_mib']} MiB | {result['rss_end_mib']} MiB | {result['rss_max_mib']} MiB | "
              f"{result['growth_pct']:+.2f}% | {result['fds'][0]}–{result['fds'][1]} | "
              f"{result['threads'][0]}–{result['threads'][1]} |")
        if a.json:
            with open(a.json, "w") as f:
                json.dump(result, f, indent=1)
        for failure in failures:
            print(f"FAILED: {failure}", file=sys.stderr)
        if failures:
            sys.exit(1)
    except bl.Fail as e:
        sys.exit(f"FAILED: {e}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
