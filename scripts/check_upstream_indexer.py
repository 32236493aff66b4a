#!/usr/bin/env python3
"""Check: the upstream registry's storage indexer reads a bucket our tools wrote, after
batches, yanks, gc and repair (issue 15; docs/STORAGE.md "What the upstream reads").

    scripts/check_upstream_indexer.py --upstream PATH [--bin PATH] [--fake-gcs PATH]
                                      [--corpus DIR]

The upstream registry (github.com/elastic/package-registry) only reads gs:// buckets,
so the bucket is a fake-gcs-server one. Ours publishes real packages into it (a batch
of three, one yanked, one more alone, then storage gc keeping nothing older and a
repair run), and the upstream registry, built from its sources, serves it:

1. with its default full sync: /search?all=true lists every published version (the
   yanked one too: upstream ignores the mark), /package/{n}/{v}/ answers, and a zip
   downloads byte-identical through its storage endpoint;
2. one more package published while it runs appears within a few polls;
3. the same with -feature-incremental-updates (it follows the deltas).

Not run by .ci/run: the Go module proxy does not serve github.com/elastic/package-registry,
and its sources are not on a CI machine. Build it from a checkout with
`go build -o upstream-registry .` and pass the binary. Exit 0 when every check
passes, 1 otherwise. Standard library only; needs gpg.
"""
import argparse, glob, json, os, shutil, subprocess, sys, tempfile, time, urllib.request

from benchlib import free_port
import bench_storage as bs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAILED = []


def check(what, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {what}{'' if ok else ': ' + detail}")
    if not ok:
        FAILED.append(what)


def get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except OSError:
        return None, b""


def wait_for(pred, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


def listed(port):
    status, body = get(f"http://127.0.0.1:{port}/search?all=true&prerelease=true")
    if status != 200:
        return set()
    return {f"{p['name']}-{p['version']}" for p in json.loads(body)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True, help="the upstream registry's binary")
    ap.add_argument("--bin", default=os.path.join(bs.TARGET, "release", "package-registry"))
    ap.add_argument("--fake-gcs", default=shutil.which("fake-gcs-server")
                    or os.path.expanduser("~/go/bin/fake-gcs-server"))
    ap.add_argument("--corpus", default=os.path.join(ROOT, "../shared/corpus/production-latest"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="check-upstream-")
    procs = []
    try:
        gcs_port = free_port()
        procs.append(subprocess.Popen(
            [a.fake_gcs, "-scheme", "http", "-host", "127.0.0.1", "-port", str(gcs_port),
             "-backend", "memory", "-public-host", f"127.0.0.1:{gcs_port}", "-log-level", "error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        gcs = f"http://127.0.0.1:{gcs_port}"
        if not wait_for(lambda: get(f"{gcs}/storage/v1/b")[0] == 200):
            sys.exit("fake-gcs-server did not start")
        req = urllib.request.Request(f"{gcs}/storage/v1/b?project=test", method="POST",
                                     data=b'{"name":"epr"}', headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req).read()
        env = dict(os.environ, STORAGE_EMULATOR_HOST=f"127.0.0.1:{gcs_port}")
        bucket = "gs://epr"

        _, secret, public = bs.gpg_key(os.path.join(work, "key"))
        zips = []
        for z in sorted(glob.glob(os.path.join(a.corpus, "*.zip"))):
            if subprocess.run([a.bin, "validate", z], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0:
                dest = shutil.copy(z, work)
                subprocess.run([a.bin, "sign", "--key", secret, dest], check=True, stdout=subprocess.DEVNULL)
                zips.append(dest)
            if len(zips) == 6:
                break
        stems = [os.path.basename(z)[:-4] for z in zips]
        with open(os.path.join(work, "config.yml"), "w") as f:
            f.write("package_paths: []\n")

        def ours(*args):
            r = subprocess.run([a.bin, *args], env=env, capture_output=True, text=True)
            if r.returncode not in (0,):
                print(r.stdout, r.stderr, file=sys.stderr)
            return r.returncode

        check("a batch of three published", ours("publish", "--storage", bucket, "--keyring", public, *zips[:3]) == 0)
        name, version = stems[0].rsplit("-", 1)
        check("one yanked", ours("storage", "yank", "--storage", bucket, name, version, "--reason", "check") == 0)
        check("one more published", ours("publish", "--storage", bucket, "--keyring", public, zips[3]) == 0)
        check("gc keeping no old revision",
              ours("storage", "gc", "--storage", bucket, "--keep-revisions", "0", "--keep-for", "0s") == 0)
        check("repair finds nothing", ours("storage", "repair", "--storage", bucket, "--keyring", public) == 0)

        for mode, extra, newcomer in [("full sync", [], zips[4]),
                                      ("incremental updates", ["-feature-incremental-updates"], zips[5])]:
            port = free_port()
            upstream = subprocess.Popen(
                [a.upstream, "-address", f"127.0.0.1:{port}", "-feature-storage-indexer",
                 "-storage-indexer-bucket-internal", bucket, "-storage-endpoint", f"{gcs}/epr/",
                 "-storage-indexer-watch-interval", "1s", *extra],
                env=env, cwd=work, stdout=open(os.path.join(work, f"upstream-{port}.log"), "wb"),
                stderr=subprocess.STDOUT)
            procs.append(upstream)
            expected = set(stems[:4]) if newcomer == zips[4] else set(stems[:5])
            log = os.path.join(work, f"upstream-{port}.log")
            ok = wait_for(lambda: listed(port) == expected, 60)
            check(f"{mode}: upstream lists every published version (the yanked one too)", ok,
                  f"{sorted(listed(port))}; its log ends:\n" + "".join(open(log).readlines()[-8:]))
            n, v = stems[1].rsplit("-", 1)
            check(f"{mode}: upstream answers /package/{n}/{v}/",
                  get(f"http://127.0.0.1:{port}/package/{n}/{v}/")[0] == 200)
            status, body = get(f"http://127.0.0.1:{port}/epr/{n}/{stems[1]}.zip")
            check(f"{mode}: upstream serves the zip byte-identical",
                  status == 200 and body == open(zips[1], "rb").read(), f"status {status}")
            check(f"{mode}: a package published meanwhile",
                  ours("publish", "--storage", bucket, "--keyring", public, newcomer) == 0)
            new_stem = os.path.basename(newcomer)[:-4]
            check(f"{mode}: upstream follows to it",
                  wait_for(lambda: new_stem in listed(port), 30), f"{sorted(listed(port))}")
            upstream.terminate()
            upstream.wait()
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'all checks passed' if not FAILED else str(len(FAILED)) + ' check(s) failed'}")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
