#!/usr/bin/env python3
"""Print the median of every criterion benchmark of the last `cargo bench` run.

    scripts/criterion_medians.py [CRITERION_DIR]

Criterion prints a confidence interval of the mean; the median of the samples is in
`<target>/criterion/<id>/new/estimates.json`. CRITERION_DIR defaults to
`$CARGO_TARGET_DIR/criterion`, else `target/criterion`. Prints a markdown table.
"""
import glob, json, os, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readable(ns):
    for unit, size in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= size:
            return f"{ns / size:.3g} {unit}"
    return f"{ns:.3g} ns"


def main():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(target, "criterion")
    rows = []
    for path in glob.glob(os.path.join(root, "**", "new", "estimates.json"), recursive=True):
        with open(os.path.join(os.path.dirname(path), "benchmark.json")) as f:
            name = json.load(f)["full_id"]
        with open(path) as f:
            rows.append((name, json.load(f)["median"]["point_estimate"]))
    if not rows:
        sys.exit(f"no criterion results under {root}: run `cargo bench -p epr-benches` first")
    print("| benchmark | median |\n|---|---|")
    for name, ns in sorted(rows):
        cell = name.replace("|", "\\|")  # a `||` constraint must not split the cell
        print(f"| `{cell}` | {readable(ns)} |")


if __name__ == "__main__":
    main()
