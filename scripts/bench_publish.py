#!/usr/bin/env python3
"""Benchmark: what one publish into a large Package Storage v2 bucket costs (issue 15).

    scripts/bench_publish.py [--versions 10000,100000] [--runs 3] [--batch 1]
                             [--work DIR] [--json OUT]

For each size N of --versions: a `file://` bucket whose index holds N versions is
generated once (crates/storage/examples/make_bucket.rs, the package's name left out),
then for each run a fresh copy of it (index files hard-linked: revisions are never
rewritten) receives one publish of the median-size real package (signed with a fresh
Ed25519 key made by GnuPG). Measured per run:

- the time of `package-registry publish`, process start to exit;
- its peak RSS (wait4);
- the bytes it wrote: the sizes of the files that are new or changed in the bucket
  afterwards (the zip, its signature, its static files, the revision's files and
  cursor.json), split into the artifacts and the index metadata (`v2/metadata/`).

With --batch K the publish is of K versions at once (copies of the package with
rewritten versions, each signed), to show what a batch costs against K publishes.
Medians of --runs runs. Results: docs/PERFORMANCE.md, "Publishing into a large
bucket". Needs gpg and the corpus of real packages (default ../shared/corpus/production-latest).
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, zipfile

from benchlib import machine, med, run
import bench_storage as bs


def snapshot(root):
    """{relative path: (size, mtime_ns, inode)} of every file under root."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            st = os.stat(p)
            out[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return out


def written(before, after):
    """Bytes of the files new or changed between two snapshots: (artifacts, metadata)."""
    art = meta = 0
    for path, (size, mtime, ino) in after.items():
        if before.get(path) == (size, mtime, ino):
            continue
        if path.startswith("v2/metadata/"):
            meta += size
        else:
            art += size
    return art, meta


def with_version(zip_path, version, dest_dir):
    """A copy of the package zip at another version: the root folder renamed and the
    manifest's version line rewritten. Returns its path."""
    stem = os.path.basename(zip_path)[:-4]
    name, old = stem.rsplit("-", 1)
    out = os.path.join(dest_dir, f"{name}-{version}.zip")
    with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            new_name = info.filename.replace(f"{stem}/", f"{name}-{version}/", 1)
            if new_name == f"{name}-{version}/manifest.yml":
                text = data.decode()
                lines = [f"version: {version}" if l.startswith("version:") else l for l in text.split("\n")]
                data = "\n".join(lines).encode()
            dst.writestr(new_name, data)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--versions", default="10000,100000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--bin", default=os.path.join(bs.TARGET, "release", "package-registry"))
    ap.add_argument("--make-bucket", default=os.path.join(bs.TARGET, "release", "examples", "make_bucket"))
    ap.add_argument("--corpus", default=os.path.join(bs.ROOT, "../shared/corpus/production-latest"))
    ap.add_argument("--work")
    ap.add_argument("--json")
    a = ap.parse_args()
    bs.build(a)
    work = a.work or tempfile.mkdtemp(prefix="bench-publish-")
    os.makedirs(work, exist_ok=True)
    results = {"machine": machine(), "sizes": {}}
    try:
        keydir = os.path.join(work, "key")
        shutil.rmtree(keydir, ignore_errors=True)
        os.makedirs(keydir)
        env, secret, public = bs.gpg_key(keydir)
        zip_path, _ = bs.pick_package(a)
        stem = os.path.basename(zip_path)[:-4]
        name, version = stem.rsplit("-", 1)
        pkgdir = os.path.join(work, "packages")
        shutil.rmtree(pkgdir, ignore_errors=True)
        os.makedirs(pkgdir)
        if a.batch == 1:
            zips = [shutil.copy(zip_path, pkgdir)]
        else:
            major = int(version.split(".")[0]) + 100
            zips = [with_version(zip_path, f"{major}.0.{k}", pkgdir) for k in range(a.batch)]
        for z in zips:
            run([a.bin, "sign", "--key", secret, z], stdout=subprocess.DEVNULL)
        for n in [int(v) for v in a.versions.split(",") if v]:
            template, index_bytes = bs.make_bucket(a, work, n, name)
            runs = []
            for i in range(a.runs):
                bucket = os.path.join(work, "bucket")
                shutil.rmtree(bucket, ignore_errors=True)
                bs.copy_bucket(template, bucket)
                before = snapshot(bucket)
                took, out, kib = bs.timed_rss([a.bin, "publish", "--storage", f"file://{bucket}",
                                               "--keyring", public] + zips)
                art, meta = written(before, snapshot(bucket))
                runs.append({"s": took, "peak_rss_kib": kib, "artifact_bytes": art, "metadata_bytes": meta})
                print(f"N={n} run {i + 1}: {took:.2f} s, peak {kib / 1024:.0f} MiB, "
                      f"artifacts {art / 1e6:.2f} MB, metadata {meta / 1e6:.1f} MB", file=sys.stderr)
                shutil.rmtree(bucket, ignore_errors=True)
            results["sizes"][n] = {"index_bytes": index_bytes, "runs": runs}
            shutil.rmtree(template, ignore_errors=True)
        results["package"] = os.path.basename(zip_path)
        results["batch"] = a.batch
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=2)
    print(f"| versions in the bucket | index before | publish of {a.batch} (median of {a.runs}) | runs (s) | peak RSS | bytes written: metadata | bytes written: artifacts |")
    print("|---|---|---|---|---|---|---|")
    for n, r in results["sizes"].items():
        runs = r["runs"]
        print(f"| {n:,} | {r['index_bytes'] / 1e6:.1f} MB | {med([x['s'] for x in runs]):.2f} s | "
              f"{', '.join('%.2f' % x['s'] for x in runs)} | {med([x['peak_rss_kib'] for x in runs]) / 1024:.0f} MiB | "
              f"{med([x['metadata_bytes'] for x in runs]) / 1e6:.1f} MB | {med([x['artifact_bytes'] for x in runs]) / 1e6:.2f} MB |")


if __name__ == "__main__":
    main()
