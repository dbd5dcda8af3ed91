"""Gunicorn settings for serving s2viz: the container's CMD, `make run` and `s2viz serve` load them
(gunicorn.conf.py at the top of the checkout is this module under the name gunicorn looks for).

Environment:
  PORT                  listen port (default 8000; `s2viz serve` and `make run` bind loopback instead)
  WEB_CONCURRENCY       workers (default: the CPU quota of this cgroup, at least 2)
  GUNICORN_THREADS      threads per worker (default 4)
  FORWARDED_ALLOW_IPS   addresses of a proxy whose X-Forwarded-* headers count (default: none)
  S2VIZ_CACHE_MB        memoised responses and traces per worker, in MB (default 64; read by the app)
"""
from __future__ import annotations

import math
import os
from pathlib import Path


def cpu_quota(cgroup: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs this cgroup may use (cgroup v2 cpu.max, or v1 cfs quota), None when unlimited."""
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()[:2]
        if quota != "max":
            return int(quota) / int(period)
        return None
    except (OSError, ValueError):
        pass
    try:
        quota = int((cgroup / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((cgroup / "cpu" / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def default_workers() -> int:
    """At least 2, else the CPUs this process may really use: its affinity, capped by the quota."""
    cpus = float(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    quota = cpu_quota()
    if quota is not None:
        cpus = min(cpus, quota)
    return max(2, math.ceil(cpus))


# Listen on every interface inside the container; publish the port to choose who can reach it.
bind = f"0.0.0.0:{int(os.environ.get('PORT', '8000'))}"

# The simulator is pure Python and requests are short: a few processes with a few threads each.
worker_class = "gthread"
# Each worker its own listening socket (SO_REUSEPORT): the kernel spreads new connections over the
# workers, where one shared socket lets one worker accept a whole burst while the other idles.
reuse_port = True
workers = int(os.environ.get("WEB_CONCURRENCY") or default_workers())
threads = int(os.environ.get("GUNICORN_THREADS") or 4)

# Workers are recycled now and then (staggered by the jitter), so no worker lives forever; each
# one's caches are bounded anyway (S2VIZ_CACHE_MB).
max_requests = 20000
max_requests_jitter = 2000
graceful_timeout = 20

# Room for the longest request line the app accepts (a 4096-character query, percent-encoded),
# so that the app, not gunicorn, answers a longer query (413, with its headers and its sentence).
limit_request_line = 8190

# X-Forwarded-* and the like count only from the proxies listed here; by default from none.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "")

# Nothing needs a writable filesystem, so the root filesystem can be mounted read-only:
# worker heartbeat files live in /dev/shm (a tmpfs in every container runtime), and the
# control socket (by default under $HOME) is off.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
control_socket_disable = True

def post_worker_init(worker) -> None:
    """Warm each worker before it takes a request (templates, tables: warm.py), so that its first
    visitor waits no longer than the next ones."""
    from .warm import warm
    took = warm(worker.wsgi)
    worker.log.info("worker %s warmed in %.0f ms", worker.pid, took * 1000)


# Logs go to the container's output: access log to stdout, errors to stderr.
accesslog = "-"
errorlog = "-"

# This is the production entry point: Flask's debug mode (S2VIZ_DEBUG via
# app.config.from_prefixed_env) is never turned on here, whatever the environment says.
os.environ.pop("S2VIZ_DEBUG", None)
