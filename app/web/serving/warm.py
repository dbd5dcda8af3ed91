"""A worker's start: what its first request would otherwise pay for, paid before it takes one.

gunicorn calls warm() for each worker once the app is loaded (post_worker_init in gunicorn_conf.py),
so that the first visitor of a fresh worker waits no longer than the next ones: every template
compiled, the conformance report the page's note reads built, each model run once (the
source-line tables and the simulator's code paths), and one page and its JSON asked of the app
itself (the URL map, the compressor, whatever else a first request would load). The worker's cache
is emptied afterwards: nothing is kept that no visitor asked for.
"""
from __future__ import annotations

import time

from ... import conformance
from ...permalink import parse_query
from ...present import presenters
from ...sim import LATEST, MODELS, simulate
from . import cache

SAMPLE = "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r,40001000w,40002000x"


def warm(app) -> float:
    """Warm the app's templates and the process's tables; the seconds it took."""
    t0 = time.perf_counter()
    env = app.jinja_env
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    conformance.checked(LATEST, f"/{LATEST}/")
    sc = parse_query(SAMPLE).scenario
    for mid in MODELS:
        presenters.steps(simulate(mid, sc))
        simulate(mid, sc, trace=False)
    client = app.test_client()
    for path in (f"/{LATEST}/?{SAMPLE}", f"/api/v1/{LATEST}/?{SAMPLE}"):
        client.get(path, headers={"Accept-Encoding": "br"})
    with app.app_context():
        cache.store().clear()
    return time.perf_counter() - t0
