#!/usr/bin/env python3
"""Serve the real packages of ../shared/corpus/production-latest, as zips and
unpacked into folders, and check that every package answers.

    scripts/check_corpus.py --server target/release/package-registry [--corpus DIR]

For each layout: start the server, then GET /search?all=true, /categories and
/package/{name}/{version}/ of every package; each must be 200 with JSON, and
/search?all=true must list every package. Ends with 'N passed, M failed'.
Standard library only.
"""
import argparse, http.client, json, os, shutil, socket, subprocess, sys, tempfile, time

from benchlib import unpack_package_zip

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body

def unpack(corpus, dest):
    """<name>-<version>.zip -> dest/<name>/<version>/..."""
    for f in sorted(os.listdir(corpus)):
        if f.endswith(".zip"):
            unpack_package_zip(os.path.join(corpus, f), dest)

def check_layout(server, label, package_path, expected):
    tmp = tempfile.mkdtemp(prefix=f"corpus-{label}-")
    with open(os.path.join(tmp, "config.yml"), "w") as f:
        f.write(f"package_paths:\n  - {package_path}\n")
    port = free_port()
    env = dict(os.environ, EPR_ADDRESS=f"127.0.0.1:{port}", EPR_REQUIRE_PACKAGE_SIGNATURES="false")
    log = open(os.path.join(tmp, "server.log"), "wb")
    proc = subprocess.Popen([server], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    results = []
    try:
        deadline = time.time() + 120
        while True:
            if proc.poll() is not None:
                return [(label, "startup", f"server exited with {proc.returncode} (log: {log.name})")]
            try:
                if get(port, "/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                return [(label, "startup", "not ready in 120 s")]
            time.sleep(0.1)

        def check(path, want_list=False):
            status, body = get(port, path)
            if status != 200:
                return f"status {status}: {body[:200]!r}"
            try:
                doc = json.loads(body)
            except ValueError:
                return "body is not JSON"
            if want_list and not isinstance(doc, list):
                return "not a JSON list"
            return None

        results.append((label, "/categories", check("/categories", True)))
        status, body = get(port, "/search?all=true&prerelease=true")
        listed = {(p["name"], p["version"]) for p in json.loads(body)} if status == 200 else set()
        missing = sorted(expected - listed)
        results.append((label, "/search?all=true&prerelease=true", f"missing {missing[:5]}" if missing else None))
        for name, version in sorted(expected):
            results.append((label, f"/package/{name}/{version}/", check(f"/package/{name}/{version}/")))
    finally:
        proc.terminate()
        proc.wait(10)
    return results

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--corpus", default=os.path.join(here, "..", "..", "shared", "corpus", "production-latest"))
    a = ap.parse_args()
    server = os.path.abspath(a.server)
    corpus = os.path.abspath(a.corpus)
    expected = {tuple(f[:-4].rsplit("-", 1)) for f in os.listdir(corpus) if f.endswith(".zip")}
    dirs = tempfile.mkdtemp(prefix="corpus-dirs-")
    try:
        unpack(corpus, dirs)
        results = check_layout(server, "zips", corpus, expected) + check_layout(server, "folders", dirs, expected)
    finally:
        shutil.rmtree(dirs, ignore_errors=True)
    failed = [r for r in results if r[2]]
    for label, path, reason in failed:
        print(f"FAIL [{label}] {path} -- {reason}")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)

if __name__ == "__main__":
    main()
