"""Gunicorn settings for serving s2viz (the container's CMD uses this file).

Environment: PORT (default 8000), WEB_CONCURRENCY (workers; default the CPU count, at least 2),
GUNICORN_THREADS (threads per worker; default 4).
"""
import os

# Listen on every interface inside the container; publish the port to choose who can reach it.
bind = f"0.0.0.0:{int(os.environ.get('PORT', '8000'))}"

# The simulator is pure Python and requests are short: a few processes with a few threads each.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or max(2, os.cpu_count() or 1))
threads = int(os.environ.get("GUNICORN_THREADS") or 4)

# Nothing needs a writable filesystem, so the root filesystem can be mounted read-only:
# worker heartbeat files live in /dev/shm (a tmpfs in every container runtime), and the
# control socket (by default under $HOME) is off.
worker_tmp_dir = "/dev/shm"
control_socket_disable = True

# Logs go to the container's output: access log to stdout, errors to stderr.
accesslog = "-"
errorlog = "-"

# This is the production entry point: Flask's debug mode (S2VIZ_DEBUG via
# app.config.from_prefixed_env) is never turned on here, whatever the environment says.
os.environ.pop("S2VIZ_DEBUG", None)
