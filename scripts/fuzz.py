#!/usr/bin/env python3
"""Fuzzing: builds the cargo-fuzz targets of fuzz/ and runs each for a fixed time.

    scripts/fuzz.py [--seconds 30] [--targets yaml,query,...] [--keep-corpus DIR]

Seed corpora are made fresh from ../shared (the real packages' zips, their YAML
files and signatures, the golden suite's query strings and storage index files)
into target/fuzz-corpus/<target>/, unless --keep-corpus names a folder kept from
run to run (longer campaigns: docs/RELIABILITY.md). libFuzzer runs without a
sanitizer (the crates forbid unsafe code; -Zsanitizer needs nightly), with the
limits below; any crash, timeout or limit passed fails the run, and the input
that did it is left in fuzz/artifacts/<target>/.

Needs cargo-fuzz (cargo install cargo-fuzz) and a C++ compiler (libFuzzer).
"""
import argparse, csv, glob, io, os, re, shutil, subprocess, sys, time, zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")
TARGETS = ["yaml", "zip_package", "query", "version", "storage_index", "signature"]
# Inputs larger than this are not tried (zips need room; text targets do not).
MAX_LEN = {"zip_package": 256 * 1024, "storage_index": 64 * 1024}
# An input may use at most this much memory in all, and in one allocation: the
# hostile-input budget of docs/RELIABILITY.md, with room for libFuzzer itself.
RSS_LIMIT_MB = 1024
MALLOC_LIMIT_MB = 256
TIMEOUT_S = 10


def seeds(target, dest):
    """Writes the seed corpus of `target` into `dest`; returns how many."""
    os.makedirs(dest, exist_ok=True)
    corpus = sorted(glob.glob(os.path.join(SHARED, "corpus", "production-latest", "*.zip")))
    n = 0

    def put(name, data):
        nonlocal n
        with open(os.path.join(dest, f"seed-{n:05d}-{name}"), "wb") as f:
            f.write(data)
        n += 1

    if target == "zip_package":
        zips = corpus + glob.glob(os.path.join(SHARED, "conformance", "epr", "testdata", "**", "*.zip"),
                                  recursive=True)
        for path in sorted(zips, key=os.path.getsize)[:40]:
            if os.path.getsize(path) <= MAX_LEN["zip_package"]:
                put(os.path.basename(path), open(path, "rb").read())
    elif target == "yaml":
        for path in corpus[:60]:
            with zipfile.ZipFile(path) as z:
                for info in z.infolist():
                    if info.filename.endswith((".yml", ".yaml")) and info.file_size <= 64 * 1024:
                        put("y.yml", z.read(info))
    elif target == "query":
        with open(os.path.join(SHARED, "conformance", "epr", "cases.tsv")) as f:
            for row in csv.DictReader(f, delimiter="\t"):
                if "?" in row["url"]:
                    put("q", row["url"].split("?", 1)[1].encode())
    elif target == "version":
        # The input is two strings as `arbitrary` reads them; plain text still seeds
        # the bytes libFuzzer mutates.
        for c, v in [("^8.12.0 || ^9.0.0", "8.13.1"), (">=7.16.0 <8.0.0", "7.17.0-SNAPSHOT"),
                     ("~1.2", "1.2.3+build.5"), ("8.x", "8.5.0")]:
            put("v", f"{c}\0{v}".encode())
    elif target == "storage_index":
        for path in glob.glob(os.path.join(SHARED, "conformance", "epr", "storage", "testdata", "*.json")):
            data = open(path, "rb").read()
            put(os.path.basename(path), data[:MAX_LEN["storage_index"]])
    elif target == "signature":
        for path in glob.glob(os.path.join(SHARED, "conformance", "epr", "testdata", "**", "*.sig"),
                              recursive=True):
            put(os.path.basename(path), open(path, "rb").read())
    return n


def run(a, target, corpus):
    """Fuzzes `target` for a.seconds; its figures, or a failure message."""
    args = ["cargo", "fuzz", "run", "--sanitizer", "none", target, corpus, "--",
            f"-max_total_time={a.seconds}", f"-max_len={MAX_LEN.get(target, 4096)}",
            f"-rss_limit_mb={RSS_LIMIT_MB}", f"-malloc_limit_mb={MALLOC_LIMIT_MB}",
            f"-timeout={TIMEOUT_S}", "-print_final_stats=1"]
    started = time.time()
    out = subprocess.run(args, cwd=os.path.join(ROOT, "fuzz"), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    log = out.stdout
    stat = lambda name: (re.findall(rf"stat::{name}:\s+(\d+)", log) or ["?"])[-1]
    result = {"target": target, "seconds": round(time.time() - started), "runs": stat("number_of_executed_units"),
              "corpus": len(os.listdir(corpus)), "peak_rss_mb": stat("peak_rss_mb"),
              "exit": out.returncode}
    if out.returncode != 0:
        result["failure"] = "\n".join(log.splitlines()[-40:])
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--keep-corpus", help="a folder whose <target>/ corpora are kept between runs")
    a = ap.parse_args()
    if shutil.which("cargo-fuzz") is None:
        sys.exit("cargo-fuzz is missing (cargo install cargo-fuzz)")
    build = subprocess.run(["cargo", "fuzz", "build", "--sanitizer", "none"], cwd=os.path.join(ROOT, "fuzz"))
    if build.returncode != 0:
        sys.exit("building the fuzz targets failed")
    base = os.path.abspath(a.keep_corpus or os.path.join(ROOT, "target", "fuzz-corpus"))
    results = []
    for target in a.targets.split(","):
        corpus = os.path.join(base, target)
        if not a.keep_corpus:
            shutil.rmtree(corpus, ignore_errors=True)
        made = seeds(target, corpus)
        r = run(a, target, corpus)
        r["seeds"] = made
        results.append(r)
        print(f"{target}: {r['runs']} runs in {r['seconds']} s, {r['seeds']} seeds -> corpus {r['corpus']}, "
              f"peak RSS {r['peak_rss_mb']} MB, exit {r['exit']}", file=sys.stderr)
    print("\n| target | seconds | inputs run | seeds | corpus after | peak RSS MB | result |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['target']} | {r['seconds']} | {r['runs']} | {r['seeds']} | {r['corpus']} | "
              f"{r['peak_rss_mb']} | {'crash' if r['exit'] else 'ok'} |")
    failed = [r for r in results if r["exit"]]
    for r in failed:
        print(f"\n== {r['target']} failed (input in fuzz/artifacts/{r['target']}/):\n{r['failure']}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
