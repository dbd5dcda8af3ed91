"""`make bench`: print each figure next to its target.

Timings on a shared machine wander, so every figure is a median of repeats, and each comes with a
ratio to a fixed pure-Python reference workload timed in the same run (how many "reference units"
it costs), which stays comparable across machines.
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time

from app.permalink import parse_query
from app.sim import KERNELS, simulate
from app.sim.sweep import space, sweep


def median_time(fn, repeat: int, number: int) -> float:
    """Median seconds per call of fn over `repeat` batches of `number` calls."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - t0) / number)
    return statistics.median(runs)


def reference() -> int:
    """A fixed pure-Python workload: the unit the ratios are given in."""
    return sum(i * i for i in range(10_000))


def line(name: str, value: str, target: str, ok: bool | None) -> None:
    verdict = "" if ok is None else ("  ok" if ok else "  MISSED")
    print(f"  {name:<44} {value:>18}   target {target}{verdict}")


def main() -> None:
    ap = argparse.ArgumentParser(prog="bench")
    ap.add_argument("--quick", action="store_true", help="skip the 60 s soak test")
    args = ap.parse_args()
    ref = median_time(reference, 7, 50)
    print(f"reference workload: {ref * 1e6:.0f} us (1 unit)\n")

    print("simulation core")
    one = parse_query("vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r").scenario
    zero = parse_query("vma=pfnmap,io,shared,maywrite&mem=dev").scenario
    for mid in KERNELS:
        with_fault = median_time(lambda mid=mid: simulate(mid, one), 9, 200)
        setup = median_time(lambda mid=mid: simulate(mid, zero), 9, 200)
        per_fault = with_fault - setup
        line(f"{mid}: one fault with its trace", f"{with_fault * 1e3:.3f} ms",
             "<= 1 ms", with_fault <= 1e-3)
        line(f"{mid}:   of which the fault itself", f"{per_fault * 1e6:.0f} us ({per_fault / ref:.2f} u)",
             "-", None)

    scs = list(space())
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        result = sweep(scenarios=list(space()))
        runs.append(time.perf_counter() - t0)
    took = statistics.median(runs)
    n_sm = len(result)
    n_faults = sum(len(v[1]) for v in result.values())
    print("\nsweep over the configuration space (outcome only, one core)")
    line("scenarios x models", f"{len(scs)} x {len(KERNELS)} = {n_sm}", ">= 100000", n_sm >= 100_000)
    line("fault outcomes", f"{n_faults}", "-", None)
    line("full sweep, wall time (median of 3)", f"{took:.2f} s ({took / ref:.0f} u)", "<= 1 s", took <= 1.0)
    line("throughput", f"{n_sm / took:,.0f} /s", ">= 100000 /s", n_sm / took >= 100_000)
    page_figures(ref)
    uncached_costs()
    serving(quick=args.quick)
    container()
    deployment()


def page_figures(ref: float) -> None:
    """The page at one step: its weight with 64 faults, and the server time of one step's fragment
    (each step a new URL, so nothing is served from the memo)."""
    from app import create_app
    app = create_app({"TESTING": True})
    client = app.test_client()
    faults = ",".join(f"{0x4000_0000 + i * 0x1000:x}{'rwx'[i % 3]}" for i in range(64))
    url = f"/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&f={faults}"
    body = client.get(url, headers={"Accept-Encoding": "identity"}).data
    print("\nthe page, one step at a time")
    line("64-fault permalink page, uncompressed", f"{len(body) / 1024:.0f} KB", "<= 400 KB", len(body) <= 400_000)
    total = int(re.search(rb'data-total="(\d+)"', body).group(1))
    hx = {"HX-Request": "true", "HX-Request-Type": "partial", "HX-Target": "div#stage"}     # as htmx sends
    for name, q, n in (("3-fault scenario", PAGE_Q, None), ("64-fault scenario", url.split("?", 1)[1], total)):
        steps = n or int(re.search(rb'data-total="(\d+)"', client.get("/v6.17/?" + q).data).group(1))
        picks = list(range(1, steps, max(1, steps // 40)))[:40]
        times = []
        for k in picks:
            t0 = time.perf_counter()
            r = client.get(f"/v6.17/?{q}&step={k}", headers=hx)
            times.append(time.perf_counter() - t0)
            assert r.status_code == 200
        med = statistics.median(times)
        line(f"one step's fragment, {name} (median)", f"{med * 1e3:.1f} ms ({med / ref:.0f} u)", "<= 20 ms",
             med <= 0.020)


PAGE_Q = "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r,40001000w,40002000x"


def spread_faults(n: int, seed: int) -> str:
    """n faults at addresses a seed spreads over the memslot: every seed a scenario of its own."""
    return ",".join(f"{0x4000_0000 + ((seed * 131 + i) % 0x3ffff) * 0x1000:x}{'rwx'[(seed + i) % 3]}"
                    for i in range(n))


def uncached_costs() -> None:
    """What a page costs that no one asked for before, next to its JSON, and a worker's first
    request next to the ones after it. Costs are the CPU time of the request in the process that
    serves it (time.process_time), which other work on the machine does not inflate."""
    from app import create_app
    print("\nan uncached request's cost (CPU time in the serving process, median)")
    page_app, json_app = create_app({"TESTING": True}), create_app({"TESTING": True})
    for app in (page_app, json_app):         # each app has seen one request of each kind
        for url in ("/v6.17/?f=40000000r", "/api/v1/v7.1/?f=40000000r,40001000w"):
            app.test_client().get(url)
    pages, jsons = page_app.test_client(), json_app.test_client()
    for n, count in ((3, 60), (64, 12)):
        page, api = [], []
        for i in range(count):          # the same new URL for the page and its JSON, each in its own app
            url = f"/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&f={spread_faults(n, 9000 + 100 * n + i)}"
            page.append(_cpu(pages, url))
            api.append(_cpu(jsons, "/api/v1" + url))
        p, j = statistics.median(page), statistics.median(api)
        line(f"{n}-fault page / its JSON", f"{p * 1e3:.1f} / {j * 1e3:.1f} ms = {p / j:.2f}x", "<= 2x", p / j <= 2)
    first, later, warmed = _first_request()
    line("a worker's first page / a warm uncached one", f"{first:.1f} / {later:.1f} ms = {first / later:.2f}x",
         "<= 2x", first / later <= 2)
    line("  the worker's warm-up before it serves", f"{warmed:.0f} ms", "-", None)


def _cpu(client, url: str) -> float:
    t0 = time.process_time()
    r = client.get(url, headers={"Accept-Encoding": "br"})
    took = time.process_time() - t0
    assert r.status_code == 200, (r.status_code, url[:80])
    return took


FIRST = """
import logging, statistics, sys, time
from app import create_app
from app.web.serving import gunicorn_conf
class Worker:                             # what gunicorn's worker hands its post_worker_init hook
    pid, log, wsgi = 0, logging.getLogger("bench"), create_app()
t0 = time.perf_counter()
gunicorn_conf.post_worker_init(Worker)
warmed = time.perf_counter() - t0
client = Worker.wsgi.test_client()
costs = []
for url in sys.stdin.read().split():
    t0 = time.process_time()
    assert client.get(url, headers={"Accept-Encoding": "br"}).status_code == 200
    costs.append(time.process_time() - t0)
print(costs[0] * 1e3, statistics.median(costs[1:]) * 1e3, warmed * 1e3)
"""


def _first_request() -> tuple[float, float, float]:
    """(first, median of the next 20) page costs in ms, in a fresh process warmed as a gunicorn
    worker is: the first request after a worker starts, then the ones after it, all new URLs; and
    the warm-up's own wall time, which the worker spends before it serves."""
    urls = [f"/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&f={spread_faults(3, 7000 + i)}" for i in range(21)]
    out = subprocess.run([sys.executable, "-c", FIRST], input="\n".join(urls), capture_output=True, text=True,
                         check=True)
    first, later, warmed = map(float, out.stdout.split())
    return first, later, warmed


def serving(quick: bool) -> None:
    from bench import web
    if not web.have_wrk():
        print("\nserving: wrk is not installed (apt-get install wrk); skipped")
        return
    server = web.Gunicorn()
    try:
        print("\nserving under gunicorn (2 gthread workers x 4 threads), wrk -c32, median of 5 runs of 3 s, loopback")
        for url, headers in ((web.PAGE, ()), (web.PAGE, web.FRAGMENT_HEADERS), ("/api/v1" + web.PAGE, ())):
            web.wrk(server.base + url, 2, 32, headers)            # warm the caches
        base = _median_wrk(web, server.base + "/healthz", ())
        line("/healthz (baseline)", f"{base['rps']:,.0f} req/s, p99 {base['p99_ms']:.1f} ms", "-", None)
        for name, url, headers in (("permalink page", web.PAGE, ()),
                                   ("htmx fragment", web.PAGE, web.FRAGMENT_HEADERS),
                                   ("JSON API", "/api/v1" + web.PAGE, ())):
            r = _median_wrk(web, server.base + url, headers)
            ratio = r["rps"] / base["rps"]
            line(name, f"{r['rps']:,.0f} req/s ({ratio:.2f}x), p99 {r['p99_ms']:.1f} ms", ">= 0.8x healthz",
                 ratio >= 0.8 and r["errors"] == 0)
        sizes = web.first_view_bytes(server.base)
        print("\nfirst view, brotli on the wire")
        line("page + CSS + JS, without Plotly", f"{sizes['without'] / 1024:.1f} KB", "<= 60 KB",
             sizes["without"] <= 60 * 1024)
        line("with the memslot map opened (Plotly)", f"{sizes['with'] / 1024:.1f} KB", "-", None)
        print("\nbrowser (headless Chromium)")
        ms = web.fire_to_verdict_ms(server.base)
        line("Fire -> new verdict shown (median of 7)", f"{ms:.0f} ms", "<= 150 ms", ms <= 150)
        if not quick:
            soak(server, web)
            abuse(server)
    finally:
        server.stop()


def abuse(server) -> None:
    """Memory under 2,000 distinct expensive URLs (the abuse test's set), per worker."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.web.test_under_gunicorn import abuse_urls, request
    print("\nmemory: 2,000 distinct expensive URLs (64-fault pages, step variants, bad htmx fields)")
    before = max(server.worker_rss_list())
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda u: request(server, "GET", u[0], {**u[1], "Accept-Encoding": "br"})[0],
                                 abuse_urls()))
    took = time.perf_counter() - t0
    after = max(server.worker_rss_list())
    errors = sum(s >= 500 for s in statuses)
    line("5xx answers", str(errors), "0", errors == 0)
    line("largest worker RSS before / after", f"{before:.0f} / {after:.0f} MB", "< 200 MB (cache budget 64 MB)",
         after < 200)
    line("wall time for the 2,000", f"{took:.1f} s", "-", None)


def _median_wrk(web, url: str, headers, runs: int = 5) -> dict:
    """The median of a few short wrk runs: two workers share the connections unevenly from one run
    to the next, which moves a single run's figure by a factor of two either way."""
    results = sorted((web.wrk(url, 3, 32, headers) for _ in range(runs)), key=lambda r: r["rps"])
    mid = results[len(results) // 2]
    return {**mid, "errors": sum(r["errors"] for r in results)}


def soak(server, web) -> None:
    print("\nsoak: 64 connections for 60 s on a permalink page, then its JSON")
    before = server.rss_kib()
    r1 = web.wrk(server.base + web.PAGE, 30, 64)
    mid = server.rss_kib()
    r2 = web.wrk(server.base + "/api/v1" + web.PAGE, 30, 64)
    after = server.rss_kib()
    errors = r1["errors"] + r2["errors"]
    line("errors (socket and non-2xx/3xx)", str(errors), "0", errors == 0)
    growth = (after - mid) / max(mid, 1)
    line("server memory (RSS) before / middle / end", f"{before // 1024} / {mid // 1024} / {after // 1024} MB",
         "flat (< 5% growth in the second half)", growth < 0.05)


TAG = "localhost/s2viz:smoke"


def container() -> None:
    """Image size and cold start, for the image scripts/container-smoke.sh builds."""
    print("\ncontainer")
    probe = subprocess.run(["podman", "image", "inspect", TAG, "--format", "{{.Size}}"],
                           capture_output=True, text=True) if _have("podman") else None
    if not probe or probe.returncode != 0:
        print(f"  no {TAG} image: run scripts/container-smoke.sh first (it prints the image size and cold start)")
        return
    size_mb = int(probe.stdout.strip()) / 1e6
    line("image size", f"{size_mb:.0f} MB", "<= 250 MB", size_mb <= 250)
    from bench import web
    port = web.free_port()
    t0 = time.perf_counter()
    cid = subprocess.run(["podman", "run", "-d", "--rm", "--read-only", "--read-only-tmpfs=false",
                          "-p", f"127.0.0.1:{port}:8000", TAG],
                         capture_output=True, text=True, env=_podman_env()).stdout.strip()
    try:
        import urllib.request
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        cold = time.perf_counter() - t0
        line("cold start to first 200", f"{cold:.2f} s", "<= 2 s", cold <= 2)
    finally:
        subprocess.run(["podman", "stop", "-t", "2", cid], capture_output=True, env=_podman_env())


def deployment() -> None:
    """The public deployment (nginx + two replicas in podman): scripts/deploy-test.sh prints its figures."""
    import os
    from pathlib import Path
    print("\ndeployment: nginx in front of two replicas (scripts/deploy-test.sh)", flush=True)
    if not _have("podman") or os.geteuid() != 0:
        print("  needs root and podman (scripts/container-base.sh installs podman); skipped")
        return
    script = Path(__file__).resolve().parent.parent / "scripts" / "deploy-test.sh"
    done = subprocess.run([str(script)], env=_podman_env())
    if done.returncode != 0:
        print("  the deployment test failed (see above)")


def _have(cmd: str) -> bool:
    import shutil
    return shutil.which(cmd) is not None


def _podman_env() -> dict:
    import os
    from pathlib import Path
    env = dict(os.environ)
    conf = Path(__file__).resolve().parent.parent / "containers" / "containers.conf"
    if conf.exists():
        env.setdefault("CONTAINERS_CONF", str(conf))
    return env


if __name__ == "__main__":
    main()
