#!/usr/bin/env python3
"""Benchmark: validate every real package zip of ../shared/corpus/production-latest.

    scripts/bench_validate.py [--runs N] [--bin target/release/package-registry]

Runs `package-registry validate <all zips>` N times (default 5) and, in the same run as
a reference, `unzip -tqq` on every zip (reading and inflating every byte once, which is
the least any validator must do). Prints the median wall time of each and the ratio.
Build the release binary first: `cargo build --release`.
"""
import argparse, glob, os, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmds):
    start = time.perf_counter()
    for cmd in cmds:
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/package-registry"))
    ap.add_argument("--corpus", default=os.path.join(ROOT, "../shared/corpus/production-latest"))
    a = ap.parse_args()
    zips = sorted(glob.glob(os.path.join(a.corpus, "*.zip")))
    if not zips:
        sys.exit(f"no zips in {a.corpus}")
    ours, ref = [], []
    for _ in range(a.runs):
        ours.append(timed([[a.bin, "validate", *zips]]))
        ref.append(timed([["unzip", "-tqq", z] for z in zips]))
    mo, mr = statistics.median(ours), statistics.median(ref)
    print(f"packages: {len(zips)}, runs: {a.runs}, cores: {os.cpu_count()}")
    print(f"validate all zips: median {mo:.3f} s (runs: {', '.join(f'{t:.3f}' for t in ours)})")
    print(f"unzip -tqq each:   median {mr:.3f} s (runs: {', '.join(f'{t:.3f}' for t in ref)})")
    print(f"ratio validate / unzip: {mo / mr:.2f}")


if __name__ == "__main__":
    main()
