"""Web figures: gunicorn under wrk on loopback, bytes of the first view, fire-to-verdict in Chromium."""
from __future__ import annotations

import gzip
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = "/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r,40001000w,40002000x"
FRAGMENT_HEADERS = ["HX-Request: true", "HX-Request-Type: partial"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """The production server on a loopback port, stopped on exit."""

    def __init__(self, workers: int = 2, threads: int = 4):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--bind",
             f"127.0.0.1:{self.port}", "--workers", str(workers), "--threads", str(threads),
             "--access-logfile", "/dev/null",
             # steady state: at thousands of requests a second the deployment's recycling (every
             # ~20,000 requests) would restart a worker, with empty caches, mid-measurement
             "--max-requests", "0", "app:create_app()"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def rss_kib(self) -> int:
        """Resident memory of the master and its workers."""
        pids = [self.proc.pid] + [int(p) for p in subprocess.run(
            ["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()]
        total = 0
        for pid in pids:
            status = Path(f"/proc/{pid}/status")
            if status.exists():
                m = re.search(r"VmRSS:\s+(\d+)", status.read_text())
                total += int(m.group(1)) if m else 0
        return total

    def worker_rss_list(self) -> list[float]:
        """Resident memory of each worker, in MB."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        sizes = []
        for pid in out.split():
            status = Path(f"/proc/{pid}/status")
            if status.exists():
                m = re.search(r"VmRSS:\s+(\d+)", status.read_text())
                sizes.append(int(m.group(1)) / 1024 if m else 0.0)
        return sizes or [0.0]

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=20)


def wrk(url: str, seconds: int, connections: int, headers=()) -> dict:
    """Run wrk; returns requests/s, p99 latency (ms), errors (socket errors plus non-2xx/3xx)."""
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", "Accept-Encoding: br"]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p99_ms": p99_ms, "errors": errors + (int(non2xx.group(1)) if non2xx else 0)}


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def first_view_bytes(base: str) -> dict:
    """Bytes on the wire (brotli) for the first view, and what opening the memslot map adds."""
    def fetch(path: str) -> bytes:
        req = urllib.request.Request(base + path, headers={"Accept-Encoding": "br"})
        with urllib.request.urlopen(req) as r:
            return r.read()
    html = fetch(PAGE)
    plain = urllib.request.urlopen(base + PAGE).read()
    if plain[:2] == b"\x1f\x8b":
        plain = gzip.decompress(plain)
    assets = re.findall(rb'(?<![-\w])(?:href|src)="(/static/[^"]+)"', plain)
    sizes = {"html": len(html)}
    for a in assets:
        sizes[a.decode()] = len(fetch(a.decode()))
    without = sum(sizes.values())
    plotly = re.search(rb'data-plotly-src="([^"]+)"', plain).group(1).decode()
    figure = fetch("/figure" + PAGE)
    with_plotly = without + len(fetch(plotly)) + len(figure)
    return {"without": without, "with": with_plotly, "parts": sizes}


def fire_to_verdict_ms(base: str, runs: int = 7) -> float:
    """Median time in headless Chromium from clicking Fire to the new verdict being shown."""
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))
    from tests.browser.conftest import CHROMIUM_ARGS, chromium_path
    times = []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = b.new_page()
        for i in range(runs):
            page.goto(base + "/v6.17/?slot=log")
            page.fill("#fire-ipa", f"{0x4000_0000 + 0x1000 * i:x}")
            ms = page.evaluate("""() => new Promise(resolve => {
                const v = document.querySelector('#stage [data-testid=verdict]');
                const before = v.textContent;
                const t0 = performance.now();
                const obs = new MutationObserver(() => {
                    const now = document.querySelector('#stage [data-testid=verdict]');
                    if (now && now.textContent !== before) { obs.disconnect(); resolve(performance.now() - t0); }
                });
                obs.observe(document.getElementById('main'), {subtree: true, childList: true, characterData: true});
                document.querySelector('[data-testid=fire]').click();
            })""")
            times.append(ms)
        b.close()
    times.sort()
    return times[len(times) // 2]
