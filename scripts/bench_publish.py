#!/usr/bin/env python3
"""Benchmark: what one publish into a large Package Storage v2 bucket costs (issue 15).

    scripts/bench_publish.py [--versions 10000,100000] [--runs 3] [--batch 1]
                             [--publishes 0] [--work DIR] [--json OUT]

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

After that first publish (into the generated, upstream-indented index), a second one
(another version of the package) measures a publish into an index our publisher
wrote (compact): both are reported.

With --batch K the publish is of K versions at once (copies of the package with
rewritten versions, each signed), to show what a batch costs against K publishes.

With --publishes N: N versions of the package published one at a time into an empty
bucket; the metadata held (`v2/metadata/`) after them, then after `storage gc` with
the default --keep-revisions (10) and --keep-for 0s (what the default 24h retention
holds a day later), and the time of the last publish.
Medians of --runs runs. Results: docs/PERFORMANCE.md, "Publishing into a large
bucket". Needs gpg and the corpus of real packages (default ../shared/corpus/production-latest).
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time, zipfile

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
    manifest's version line rewritten, an entry for it added to the changelog.
    Returns its path."""
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
            elif new_name == f"{name}-{version}/changelog.yml":
                entry = (f'- version: "{version}"\n  changes:\n    - description: A copy for the benchmark.\n'
                         f'      type: enhancement\n      link: https://github.com/elastic/integrations/pull/1\n')
                data = entry.encode() + data
            dst.writestr(new_name, data)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--versions", default="10000,100000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--publishes", type=int, default=0)
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
        major = int(version.split(".")[0]) + 200
        second = with_version(zip_path, f"{major}.0.0", pkgdir)
        for z in zips + [second]:
            run([a.bin, "sign", "--key", secret, z], stdout=subprocess.DEVNULL)
        if a.publishes:
            results["retention"] = retention_run(a, work, zip_path, pkgdir, secret, public)
        for n in [int(v) for v in a.versions.split(",") if v]:
            template, index_bytes = bs.make_bucket(a, work, n, name)
            runs = []
            for i in range(a.runs):
                bucket = os.path.join(work, "bucket")
                shutil.rmtree(bucket, ignore_errors=True)
                bs.copy_bucket(template, bucket)
                run_ = {}
                for label, candidates in [("first", zips), ("second", [second])]:
                    before = snapshot(bucket)
                    took, out, kib = bs.timed_rss([a.bin, "publish", "--storage", f"file://{bucket}",
                                                   "--keyring", public] + candidates)
                    art, meta = written(before, snapshot(bucket))
                    run_[label] = {"s": took, "peak_rss_kib": kib, "artifact_bytes": art, "metadata_bytes": meta}
                    print(f"N={n} run {i + 1} {label}: {took:.2f} s, peak {kib / 1024:.0f} MiB, "
                          f"artifacts {art / 1e6:.2f} MB, metadata {meta / 1e6:.1f} MB", file=sys.stderr)
                runs.append(run_)
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
    print(f"| versions in the bucket | index before | publish | median of {a.runs} | runs (s) | peak RSS | bytes written: metadata | bytes written: artifacts |")
    print("|---|---|---|---|---|---|---|---|")
    for n, r in results["sizes"].items():
        for label, what in [("first", "into the generated (indented) index"), ("second", "into our compact index")]:
            runs = [x[label] for x in r["runs"]]
            print(f"| {n:,} | {r['index_bytes'] / 1e6:.1f} MB | {what} | {med([x['s'] for x in runs]):.2f} s | "
                  f"{', '.join('%.2f' % x['s'] for x in runs)} | {med([x['peak_rss_kib'] for x in runs]) / 1024:.0f} MiB | "
                  f"{med([x['metadata_bytes'] for x in runs]) / 1e6:.1f} MB | {med([x['artifact_bytes'] for x in runs]) / 1e6:.2f} MB |")
    if "retention" in results:
        r = results["retention"]
        print(f"\n{r['publishes']} single publishes into an empty bucket: metadata {r['metadata_before_gc'] / 1e6:.1f} MB "
              f"in {r['revisions_before_gc']} revisions; after storage gc (keep 10, keep-for 0s): "
              f"{r['metadata_after_gc'] / 1e6:.2f} MB in {r['revisions_after_gc']} revisions; "
              f"the last publish took {r['last_publish_s']:.2f} s; all {r['publishes']} took {r['total_s']:.0f} s")


def metadata(bucket):
    """(bytes, revision folders) under v2/metadata/."""
    root = os.path.join(bucket, "v2", "metadata")
    total, folders = 0, 0
    for entry in os.scandir(root):
        if entry.is_dir():
            folders += 1
            for f in os.scandir(entry.path):
                total += f.stat().st_size
        else:
            total += entry.stat().st_size
    return total, folders


def retention_run(a, work, zip_path, pkgdir, secret, public):
    """N single publishes into an empty bucket, then gc."""
    version = os.path.basename(zip_path)[:-4].rsplit("-", 1)[1]
    major = int(version.split(".")[0]) + 300
    zips = [with_version(zip_path, f"{major}.{k // 100}.{k % 100}", pkgdir) for k in range(a.publishes)]
    for i in range(0, len(zips), 100):
        run([a.bin, "sign", "--key", secret] + zips[i:i + 100], stdout=subprocess.DEVNULL)
    bucket = os.path.join(work, "retention-bucket")
    shutil.rmtree(bucket, ignore_errors=True)
    start = time.perf_counter()
    last = 0.0
    for z in zips:
        took, _ = bs.timed([a.bin, "publish", "--storage", f"file://{bucket}", "--keyring", public, z])
        last = took
    total = time.perf_counter() - start
    before, revisions_before = metadata(bucket)
    run([a.bin, "storage", "gc", "--storage", f"file://{bucket}", "--keep-for", "0s"], stdout=subprocess.DEVNULL)
    after, revisions_after = metadata(bucket)
    shutil.rmtree(bucket, ignore_errors=True)
    return {"publishes": a.publishes, "metadata_before_gc": before, "revisions_before_gc": revisions_before,
            "metadata_after_gc": after, "revisions_after_gc": revisions_after,
            "last_publish_s": last, "total_s": total}


if __name__ == "__main__":
    main()
