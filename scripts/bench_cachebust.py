#!/usr/bin/env python3
"""Benchmark: health checks while clients bust the response cache.

    scripts/bench_cachebust.py [--runs 3] [--duration 10] [--clients 4] [--json OUT]

Serves the real packages of --corpus (zips) and measures the latency of `/health`
(one keep-alive client, requests back to back, p50 and p99) in three situations:

  idle      nothing else runs;
  unknown   --clients wrk connections send Kibana's full search with a random
            parameter the search does not know (`...&cb=<random>`), each answer
            compressed as Kibana asks (`Accept-Encoding: gzip, deflate, br`);
  versions  the same with a random patch version (`kibana.version=8.5.<random>`),
            which the cache cannot fold together: each is a new search.

Also the busting clients' requests/s and the registry's CPU seconds. Medians of
--runs. Needs wrk. Results: docs/RELIABILITY.md.
"""
import argparse, http.client, json, os, statistics, subprocess, sys, tempfile, threading, time

import bench_load as bl
from benchlib import machine, med

BUSTERS = {
    "unknown": "/search?kibana.version=8.5.0&prerelease=false&cb=",
    "versions": "/search?prerelease=false&kibana.version=8.5.",
}
ACCEPT = "gzip, deflate, br"


def lua_script(work, prefix):
    path = os.path.join(work, f"bust-{abs(hash(prefix))}.lua")
    with open(path, "w") as f:
        f.write(
            'math.randomseed(os.time())\n'
            'request = function()\n'
            f'  return wrk.format(nil, "{prefix}" .. math.random(1, 1000000000), '
            f'{{["Accept-Encoding"] = "{ACCEPT}"}})\n'
            'end\n')
    return path


def health_latencies(port, seconds):
    """Back-to-back /health on one keep-alive connection for `seconds`: ms each."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t = time.perf_counter()
        conn.request("GET", "/health")
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise bl.Fail(f"/health answered {r.status}")
        out.append((time.perf_counter() - t) * 1000)
    conn.close()
    return out


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def bust(a, reg, script):
    """Runs wrk with `script` for --duration seconds while /health is measured."""
    cmd = [bl.tool("wrk"), "-t", "2", "-c", str(a.clients), "-d", f"{a.duration}s",
           "--timeout", "30s", "-s", script, f"http://127.0.0.1:{reg.port}/"]
    before = bl.cpu_seconds(reg.pids())
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(1)
    lat = health_latencies(reg.port, a.duration - 2)
    out = proc.communicate()[0]
    cpu = bl.cpu_seconds(reg.pids()) - before
    bl.settle(reg)
    rps = float(bl.re.search(r"^Requests/sec:\s+([\d.]+)", out, bl.re.M).group(1))
    non2xx = bl.re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise bl.Fail(f"busting answers not 2xx: {out}")
    return {"health_p50_ms": statistics.median(lat), "health_p99_ms": percentile(lat, 0.99),
            "health_n": len(lat), "bust_rps": rps, "cpu_s": cpu}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--binary", default=os.path.join(bl.TARGET, "release", "package-registry"))
    ap.add_argument("--corpus", default=os.path.join(bl.ROOT, "../shared/corpus/production-latest"))
    ap.add_argument("--json")
    a = ap.parse_args()
    a.binary, a.corpus = os.path.abspath(a.binary), os.path.abspath(a.corpus)
    if not bl.tool("wrk"):
        sys.exit("wrk is missing (apt-get install wrk)")
    work = tempfile.mkdtemp(prefix="bench_cachebust.")
    runs = []
    try:
        for i in range(a.runs):
            reg = bl.Registry(a, work, "cachebust", "files", a.corpus, i)
            try:
                reg.wait_ready(600)
                idle = health_latencies(reg.port, a.duration - 2)
                run = {"idle": {"health_p50_ms": statistics.median(idle),
                                "health_p99_ms": percentile(idle, 0.99), "health_n": len(idle)}}
                for name, prefix in BUSTERS.items():
                    run[name] = bust(a, reg, lua_script(work, prefix))
                problems = reg.problems()
                if problems:
                    raise bl.Fail(f"the registry logged: {problems}")
            finally:
                reg.stop()
            print(f"run {i + 1}: " + ", ".join(
                f"{k} /health p50 {v['health_p50_ms']:.2f} ms" for k, v in run.items()), file=sys.stderr)
            runs.append(run)
    except bl.Fail as e:
        sys.exit(f"FAILED: {e}")
    finally:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{machine()}; {a.runs} runs of {a.duration} s, {a.clients} busting clients; medians (runs)\n")
    print("| load | /health p50 ms | /health p99 ms | busting req/s | registry CPU s |")
    print("|---|---|---|---|---|")
    for name in ["idle"] + list(BUSTERS):
        col = lambda k: [r[name][k] for r in runs if k in r[name]]
        fmt = lambda k, f: (f"{med(col(k)):{f}} ({', '.join(format(x, f) for x in col(k))})"
                            if col(k) else "")
        print(f"| {name} | {fmt('health_p50_ms', '.2f')} | {fmt('health_p99_ms', '.1f')} | "
              f"{fmt('bust_rps', '.0f')} | {fmt('cpu_s', '.1f')} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"args": vars(a), "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
