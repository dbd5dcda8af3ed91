#!/usr/bin/env python3
"""Check the deployment of deploy/ from outside, as a client meets it (loopback only, bounded).

    deploy-check.py --base http://127.0.0.1:PORT --kill 'podman kill <replica>'

Prints each figure next to its target and exits 1 if any behaviour is wrong. Standard library
only (runs with the host's python3); wrk, when installed, measures the cache's throughput.
"""
from __future__ import annotations

import argparse
import http.client
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

FAILURES: list[str] = []


def line(name: str, value: str, target: str, ok: bool | None) -> None:
    verdict = "" if ok is None else ("  ok" if ok else "  MISSED")
    print(f"  {name:<52} {value:>22}   target {target}{verdict}", flush=True)
    if ok is False:
        FAILURES.append(name)


def check(name: str, ok: bool, detail: str = "") -> None:
    print(f"  {'ok' if ok else 'FAIL'}: {name}{'' if ok else ' - ' + detail}", flush=True)
    if not ok:
        FAILURES.append(name)


class Client:
    def __init__(self, base: str):
        u = urlsplit(base)
        self.host, self.port = u.hostname, u.port

    def get(self, target: str, headers: dict | None = None, method: str = "GET", timeout: float = 30):
        """(status, {lower-case name: [values]}, body)"""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.putrequest(method, target, skip_host="Host" in (headers or {}), skip_accept_encoding=True)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            conn.endheaders()
            r = conn.getresponse()
            h: dict[str, list[str]] = {}
            for k, v in r.getheaders():
                h.setdefault(k.lower(), []).append(v)
            return r.status, h, r.read()
        finally:
            conn.close()

    def latency_ms(self, target: str) -> float:
        t0 = time.perf_counter()
        status, _, _ = self.get(target, timeout=10)
        if status != 200:
            raise RuntimeError(f"{target} answered {status}")
        return (time.perf_counter() - t0) * 1000


def wait_up(c: Client, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if c.get("/healthz", timeout=2)[0] == 200 and c.get("/v6.17/?f=40000000r", timeout=10)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("deploy-check: the deployment did not answer within 90 s")


def caching(c: Client, run: str) -> str:
    print("cache (nginx, keyed by URI and encoding, Vary honoured)")
    page = f"/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&f={run}000r"
    s1, h1, b1 = c.get(page, {"Accept-Encoding": "br"})
    s2, h2, b2 = c.get(page, {"Accept-Encoding": "br"})
    check("a permalink is a miss, then a hit served by nginx",
          (s1, s2) == (200, 200) and h1.get("x-cache-status") == ["MISS"] and h2.get("x-cache-status") == ["HIT"],
          f"{s1} {h1.get('x-cache-status')} then {s2} {h2.get('x-cache-status')}")
    check("the hit is the app's bytes and headers (br, one ETag, one policy)",
          b1 == b2 and h2.get("content-encoding") == ["br"] and h1.get("etag") == h2.get("etag")
          and len(h2.get("content-security-policy", [])) == 1, repr(h2)[:300])
    s3, h3, b3 = c.get(page, {"Accept-Encoding": "gzip"})
    check("another encoding is another entry", s3 == 200 and h3.get("content-encoding") == ["gzip"]
          and h3.get("x-cache-status") == ["MISS"], repr(h3)[:200])
    s4, h4, b4 = c.get(page, {"Accept-Encoding": "", "HX-Request": "true", "HX-Request-Type": "partial"})
    s5, h5, _ = c.get(page, {"Accept-Encoding": "", "HX-Request": "true", "HX-Request-Type": "partial"})
    check("an htmx fragment is never served from the page's entry, nor kept",
          s4 == s5 == 200 and b"<html" not in b4 and h4.get("cache-control", [""])[0].startswith("private")
          and h5.get("x-cache-status") != ["HIT"], repr(h5)[:200])
    return page


def edges(c: Client) -> None:
    print("edges through nginx")
    poison = {"Host": "evil.example", "X-Forwarded-Host": "evil2.example", "X-Forwarded-Proto": "https",
              "Forwarded": "host=evil3.example"}
    bad = []
    for target in ("/text/v6.17/?f=40000000r", "/v6.17?f=40000000r", "/latest/?f=40000000r", "//v6.17/"):
        status, h, body = c.get(target, poison)
        if status >= 500 or b"evil" in body or "evil" in repr(h):
            bad.append((target, status))
    check("a poisoned Host or X-Forwarded-* reaches no body and no Location", not bad, repr(bad))
    status, h, body = c.get("/v6.17/?f=" + "4" * 5000 + "r")
    check("a query past the app's limit gets the app's 413", status == 413 and b"4096 characters" in body,
          str(status))
    status, h, _ = c.get("/v6.17/?f=" + "4" * 9000 + "r")
    check("nginx's own 414 carries nosniff and a policy",
          status == 414 and h.get("x-content-type-options") == ["nosniff"]
          and "frame-ancestors 'none'" in h.get("content-security-policy", [""])[0], f"{status} {h}")
    status, h, _ = c.get("/v6.17/?f=40000000r", method="HEAD")
    check("HEAD answers with the app's headers", status == 200 and "etag" in h and "x-body-etag" not in h, repr(h))


def rate_limit(c: Client, run: str, page: str) -> None:
    print("rate limit (cache misses only, per client)")
    urls = [f"/api/v1/v7.1/?f={run}{i:03x}r" for i in range(160)]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda u: c.get(u)[0], urls))
    limited, passed = statuses.count(429), statuses.count(200)
    check(f"a burst of misses from one client is cut to 429 ({passed} x 200, {limited} x 429)",
          limited > 0 and passed >= 40 and limited + passed == len(urls), "")
    with ThreadPoolExecutor(8) as pool:
        hits = list(pool.map(lambda _: c.get(page, {"Accept-Encoding": "br"})[0], range(400)))
    check("cache hits are not limited", hits.count(200) == len(hits), f"{len(hits) - hits.count(200)} refused")
    time.sleep(3)      # let the bucket refill for what follows


def slow_clients(c: Client, n: int = 64) -> None:
    print(f"slow clients ({n} connections sending one header line every 2 s)")
    base = [c.latency_ms("/healthz") for _ in range(20)]
    socks, stop = [], threading.Event()
    for _ in range(n):
        s = socket.create_connection((c.host, c.port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)

    def drip():
        i = 0
        while not stop.wait(2):
            i += 1
            for s in socks:
                try:
                    s.sendall(b"X-Slow-%d: 1\r\n" % i)
                except OSError:
                    pass
    t = threading.Thread(target=drip, daemon=True)
    t.start()
    time.sleep(0.5)
    during = []
    for _ in range(30):
        during.append(c.latency_ms("/healthz"))
        time.sleep(0.1)
    time.sleep(4)       # past nginx's 5 s client_header_timeout
    closed = 0
    for s in socks:
        try:
            s.settimeout(0.5)
            closed += s.recv(1) == b""
        except OSError:
            closed += 1
    stop.set()
    for s in socks:
        s.close()
    p50, worst = statistics.median(during), max(during)
    line("/healthz without slow clients (median)", f"{statistics.median(base):.1f} ms", "-", None)
    line("/healthz during slow clients (median of 30)", f"{p50:.1f} ms", "< 100 ms", p50 < 100)
    line("/healthz during slow clients (slowest of 30)", f"{worst:.1f} ms", "-", None)
    check("nginx closes the slow connections after its header timeout", closed == n, f"{closed} of {n}")


def replica_killed(c: Client, kill: list[str], run: str, seconds: float = 8) -> None:
    print("a replica killed mid-load (SIGKILL)")
    results, retried, stop = [], [], threading.Event()
    lock = threading.Lock()

    def worker(kind: int):
        i = 0
        while not stop.is_set():
            i += 1
            if kind == 0:
                target = f"/api/v1/v6.17/?f={run}{i:03x}w"     # a miss every time, under the rate limit
                time.sleep(0.1)
            else:
                target = "/healthz"
            tries = 0
            status = None
            while tries < 2 and status != 200:      # nginx retries what it can; a client retries once
                tries += 1
                try:
                    status = c.get(target, timeout=15)[0]
                except (OSError, http.client.HTTPException) as e:
                    status = repr(e)
            with lock:
                results.append(status)
                retried.append(tries > 1)
    threads = [threading.Thread(target=worker, args=(k,)) for k in (0, 1, 1, 1, 1)]
    for t in threads:
        t.start()
    time.sleep(seconds / 3)
    killed = subprocess.run(kill, capture_output=True, text=True)
    time.sleep(seconds * 2 / 3)
    stop.set()
    for t in threads:
        t.join(30)
    lost = [r for r in results if r != 200]
    check("the replica was killed", killed.returncode == 0, killed.stderr.strip())
    line("requests lost when a replica dies (after one client retry)", f"{len(lost)} of {len(results)}", "0",
         not lost and len(results) > 50)
    line("  of which the client had to retry (cut mid-response)", str(sum(retried)), "-", None)


def throughput(base: str, page: str) -> None:
    if not shutil.which("wrk"):
        print("throughput: wrk is not installed (apt-get install wrk); skipped")
        return
    print("throughput (wrk -c32, 5 s each, loopback; ratios to the app's own /healthz through nginx)")

    def wrk(target: str) -> float:
        out = subprocess.run(["wrk", "-t2", "-c32", "-d5s", "-H", "Accept-Encoding: br", base + target],
                             capture_output=True, text=True, timeout=60).stdout
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if non2xx:
            FAILURES.append(f"wrk {target}: {non2xx.group(1)} non-2xx")
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    app = wrk("/healthz")
    hits = wrk(page)
    line("/healthz, answered by a replica (baseline)", f"{app:,.0f} req/s", "-", None)
    line("a permalink page, answered by nginx's cache", f"{hits:,.0f} req/s ({hits / app:.1f}x)", ">= 1.5x",
         hits >= 1.5 * app)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--kill", required=True, help="command that kills one replica")
    args = ap.parse_args()
    c = Client(args.base)
    wait_up(c)
    run = "4" + uuid.uuid4().hex[:4]          # fresh URLs on every run: nothing is cached yet
    page = caching(c, run)
    edges(c)
    throughput(args.base, page)
    rate_limit(c, run, page)
    slow_clients(c)
    replica_killed(c, shlex.split(args.kill), run)
    if FAILURES:
        print(f"deploy-check: {len(FAILURES)} failed: {', '.join(FAILURES)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
