#!/usr/bin/env python3
"""Benchmark: Kibana's /search over HTTPS, ours against nginx, and the cost of metrics.

    scripts/bench_tls.py [--runs 3] [--duration 10] [--json OUT]

Serves the real packages of --corpus (zips) from three processes at once, all on
loopback and all HTTPS with one throwaway certificate (openssl, RSA 2048, TLS 1.3):

  ours          package-registry --tls-cert --tls-key
  ours+metrics  the same with --metrics-address (every request then records the HTTP
                metrics, as the upstream's deployments run it)
  nginx         nginx serving the very bytes ours answered, as static files (the
                ceiling; same set-up as scripts/bench_load.py)

For each query, each run measures the three with wrk (a warm-up, then --duration
seconds, 32 keep-alive connections), in an order that rotates between runs; medians
of --runs. The ratios printed are ours/nginx and ours+metrics/ours, each from the same
runs. Reuses scripts/bench_load.py's Registry, Nginx and wrk. Results:
docs/PERFORMANCE.md.
"""
import argparse, json, os, shutil, subprocess, sys, tempfile

import bench_load as bl
from benchlib import free_port, machine, med

QUERIES = [
    ("search", "Kibana `/search` (`[]`)", bl.KIBANA_SEARCH, {}),
    ("search_any_spec", "`/search?kibana.version=8.5.0&prerelease=false` (253 KB)",
     bl.KIBANA_SEARCH_ANY_SPEC, {}),
    ("search_any_spec_gzip", "the same, `Accept-Encoding: gzip`", bl.KIBANA_SEARCH_ANY_SPEC, bl.GZIP),
]


def make_certificate(work):
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="wrk seconds per measurement")
    ap.add_argument("--warmup", type=int, default=2, help="wrk warm-up seconds before each")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--timeout", type=int, default=10)
    ap.add_argument("--binary", default=os.path.join(bl.TARGET, "release", "package-registry"))
    ap.add_argument("--corpus", default=os.path.join(bl.ROOT, "../shared/corpus/production-latest"))
    ap.add_argument("--json", help="also write the raw figures here")
    a = ap.parse_args()
    a.binary, a.corpus = os.path.abspath(a.binary), os.path.abspath(a.corpus)
    return a


def main():
    a = parse_args()
    for name in ("wrk", "nginx", "openssl"):
        if not bl.tool(name):
            sys.exit(f"{name} is missing (apt-get install wrk nginx openssl)")
    work = tempfile.mkdtemp(prefix="bench_tls.")
    servers = {}
    try:
        cert, key = make_certificate(work)
        tls = ["--tls-cert", cert, "--tls-key", key]
        servers["ours"] = bl.Registry(a, work, "tls", "files", a.corpus, 0, tls)
        metrics_port = free_port()
        servers["ours+metrics"] = bl.Registry(
            a, work, "tls-metrics", "files", a.corpus, 0,
            tls + ["--metrics-address", f"127.0.0.1:{metrics_port}"])
        for s in servers.values():
            bl.TLS_PORTS.add(s.port)
            s.wait_ready(600)
        first = bl.answers(servers["ours"], [(k, l, u, h) for k, l, u, h in QUERIES])
        servers["nginx"] = bl.Nginx(work, "tls", first, tls=(cert, key))
        bl.TLS_PORTS.add(servers["nginx"].port)
        servers["nginx"].wait_ready(QUERIES[0][2])
        bl.check_nginx(servers["nginx"], QUERIES, first)
        runs = []
        names = list(servers)
        for i in range(a.runs):
            order = names[i % 3:] + names[:i % 3]
            run = {}
            for key, _, uri, headers in QUERIES:
                run[key] = {who: bl.measure(a, servers[who], uri, headers) for who in order}
                print(f"run {i + 1} {key}: " + ", ".join(
                    f"{who} {run[key][who]['rps']:.0f} req/s" for who in names), file=sys.stderr)
            runs.append(run)
        report(runs, a)
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"machine": machine(), "settings": vars(a), "runs": runs}, f, indent=2)
        failed = [r["failed"] for run in runs for q in run.values() for r in q.values() if "failed" in r]
        if failed:
            sys.exit("bench_tls: failed measurements:\n" + "\n".join(failed))
    except (bl.Fail, subprocess.CalledProcessError) as e:
        sys.exit(f"bench_tls: {e}")
    finally:
        for s in servers.values():
            s.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(runs, a):
    m = machine()
    print(f"\nHTTPS, {a.runs} runs of {a.duration} s, wrk -t{a.threads} -c{a.connections}, "
          f"{m.get('cores')} CPUs, load {os.getloadavg()[0]:.1f}; medians (runs)\n")
    print("| query | ours req/s | ours+metrics req/s | nginx req/s | ours / nginx | metrics on / off |")
    print("|---|---|---|---|---|---|")
    for key, label, _, _ in QUERIES:
        rps = {who: [run[key][who]["rps"] for run in runs] for who in ("ours", "ours+metrics", "nginx")}
        ratio = med([o / n for o, n in zip(rps["ours"], rps["nginx"])])
        cost = med([w / o for w, o in zip(rps["ours+metrics"], rps["ours"])])
        cell = lambda v: f"{med(v):.0f} ({', '.join(f'{x:.0f}' for x in v)})"
        print(f"| {label} | {cell(rps['ours'])} | {cell(rps['ours+metrics'])} | {cell(rps['nginx'])} "
              f"| {ratio:.2f} | {cost:.3f} |")


if __name__ == "__main__":
    main()
