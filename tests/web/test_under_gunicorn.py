"""The app as a user meets it: under gunicorn with the project's settings, on loopback."""
import http.client
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.server import Gunicorn

NVG = "/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r"


@pytest.fixture(scope="module")
def server():
    srv = Gunicorn(workers=2)
    yield srv
    srv.stop()


def request(server, method: str, target: str, headers: dict | None = None, timeout: float = 60):
    """(status, headers as a dict with lower-case names, body) of one raw request."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_host="Host" in (headers or {}), skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def test_a_query_past_the_apps_limit_gets_the_apps_413_not_gunicorns(server):
    status, headers, body = request(server, "GET", "/v6.17/?f=" + "4" * 5000 + "r")
    assert status == 413
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert b"query has at most 4096 characters" in body


def test_head_through_gunicorn_answers_gets_headers(server):
    h = {"Accept-Encoding": "br"}
    gs, gh, gb = request(server, "GET", NVG, h)
    hs, hh, hb = request(server, "HEAD", NVG, h)
    assert gs == hs == 200 and hb == b"" and len(gb) == int(gh["content-length"])
    for name in ("etag", "cache-control", "content-encoding", "vary", "content-length", "content-security-policy"):
        assert hh[name] == gh[name], name
    assert "x-body-etag" not in gh and "x-body-etag" not in hh


@pytest.mark.parametrize("target", ["/text" + NVG, "/v6.17?f=40000000r", "/latest/?f=40000000r", "//v6.17/",
                                    "/map/v6.17../", NVG.replace("40000000r", "0x40000000R")])
def test_forwarded_headers_from_an_untrusted_peer_change_nothing(server, target):
    poison = {"Host": "evil.example", "X-Forwarded-Host": "evil2.example", "X-Forwarded-Proto": "https",
              "X-Forwarded-For": "10.9.9.9", "Forwarded": "host=evil3.example;proto=https",
              "SCRIPT_NAME": "//evil4.example", "X-Script-Name": "/evil5"}
    status, headers, body = request(server, "GET", target, poison)
    assert status < 500
    seen = body.decode("utf-8", "replace") + repr(headers)
    assert "evil" not in seen
    if "location" in headers:
        assert headers["location"].startswith("/") and not headers["location"].startswith("//")


def test_an_odd_double_slash_is_never_a_page(server):
    status, headers, _ = request(server, "GET", "//v6.17/?f=40000000r")
    assert status in (301, 302, 308, 404)
    if status != 404:
        assert headers["location"].startswith("/v6.17/")


def faults(n: int, seed: int) -> str:
    return ",".join(f"{0x4000_0000 + ((seed * 131 + i) % 0x3ffff) * 0x1000:x}{'rwx'[(seed + i) % 3]}"
                    for i in range(n))


def abuse_urls() -> list[tuple[str, dict]]:
    """2,000 distinct URLs that each make a worker build something large: a new trace and its JSON
    each, step variants of 64-fault pages, fragments and presenter views, bad htmx fields beside
    64 faults."""
    partial = {"HX-Request": "true", "HX-Request-Type": "partial"}
    big = f"vma=pfnmap,io,shared,maywrite&mem=dev&f={faults(64, 7)}"
    urls = []
    for i in range(1700):                                          # a new 16-fault trace each
        urls.append((f"/api/v1/{('v7.1', 'v6.17')[i % 2]}/?f={faults(16, i)}", {}))
    for step in range(1, 101):                                     # step variants, same 64-fault trace
        urls.append((f"/present/v7.1/?{big}&step={step}", {}))
        urls.append((f"/embed/v6.17/?{big}&step={step}", {}))
    for step in range(2, 42, 2):                                   # whole pages and fragments, 64 faults
        urls.append((f"/v7.1/?{big}&step={step}", {}))
        urls.append((f"/v7.1/?{big}&step={step + 1}", partial))
    for i in range(24):                                            # a bad field beside 64 faults
        urls.append((f"/v7.1/?vma=zz{i}&f={faults(64, 7)}" if i % 4 else f"/v7.1/?mt=x{i}&f={faults(64, 9)}",
                     partial))
    for i in range(36):                                            # memslot maps of 64 faults
        urls.append((f"/figure/v7.1/?f={faults(64, 1000 + i)}", {}))
    assert len(urls) == len({(u, bool(h)) for u, h in urls}) == 2000
    return urls


def test_two_thousand_expensive_urls_bound_every_worker_and_never_5xx():
    srv = Gunicorn(workers=2)
    try:
        peak = [0.0]
        done = threading.Event()

        def sample():
            while not done.wait(0.2):
                peak[0] = max([peak[0], *srv.worker_rss_mb()])
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses = list(pool.map(lambda u: request(srv, "GET", u[0], {**u[1], "Accept-Encoding": "br"})[0],
                                     abuse_urls()))
        took = time.monotonic() - t0
        done.set()
        sampler.join()
        peak[0] = max([peak[0], *srv.worker_rss_mb()])
        print(f"\nabuse: 2000 URLs in {took:.1f} s, peak worker RSS {peak[0]:.0f} MB")
        assert [s for s in statuses if s >= 500] == []
        assert set(statuses) <= {200, 400}
        assert peak[0] < 200, f"a worker reached {peak[0]:.0f} MB"
    finally:
        srv.stop()
