"""The production server for tests: gunicorn with the project's settings on a free loopback port."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base: str, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode}")
        try:
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(base + "/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not answer /healthz in time")


class Gunicorn:
    """gunicorn -c gunicorn.conf.py on 127.0.0.1:<free port>; stop() ends it and its workers."""

    def __init__(self, workers: int = 2, env: dict | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(os.devnull, "w")    # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--bind",
             f"127.0.0.1:{self.port}", "--workers", str(workers), "--access-logfile", "/dev/null",
             "app:create_app()"],
            cwd=ROOT, stdout=self.log, stderr=self.log, start_new_session=True,
            env={**os.environ, **(env or {})})
        try:
            wait_healthy(self.base, self.proc)
        except RuntimeError:
            self.stop()
            raise

    def worker_rss_mb(self) -> list[float]:
        """Resident memory of each worker, in MB."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        sizes = []
        for pid in out.split():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            m = re.search(r"VmRSS:\s+(\d+)", status)
            if m:
                sizes.append(int(m.group(1)) / 1024)
        return sizes

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=30)
        finally:
            self.log.close()
