"""The worker's traces: each trace, story step and behaviour map is computed once per worker and
kept in its byte budget (serving/cache.py), keyed by model and canonical query.

A trace is weighed by its step and fault counts: TRACE_BYTES + STEP_BYTES per step + FAULT_BYTES per
fault, measured once on traces of 0 to 64 faults on every model and rounded up
(tests/web/test_cache_sizes.py checks it against a walk of the objects), so weighing costs nothing
per request and errs towards keeping less.
"""
from __future__ import annotations

from ..permalink import canonical_query
from ..present import behaviour, stage
from ..sim import KERNELS, SERIES, simulate
from ..sim.scenario import Scenario
from ..sim.trace import Trace
from .serving import cache

TRACE_BYTES = 6_000
STEP_BYTES = 1_250
FAULT_BYTES = 600           # a fault's result, its own steps aside (a refused memslot leaves 64 of them stepless)
GRID_BYTES = 120_000        # a behaviour map or a diff of two: ~100 KB measured
SMALL = 64                  # an int, kept as itself


def trace(mid: str, sc: Scenario) -> Trace:
    """The trace of sc on model mid, simulated once per worker."""
    return cache.memo(("trace", mid, canonical_query(sc)), lambda: simulate(mid, sc), size=trace_size)


def trace_size(tr: Trace) -> int:
    return TRACE_BYTES + STEP_BYTES * len(tr.all_steps()) + FAULT_BYTES * len(tr.faults)


def step_count(mid: str, sc: Scenario) -> int:
    return len(trace(mid, sc).all_steps())


def story(mid: str, sc: Scenario) -> int:
    """The step sc opens on for model mid (present.stage.story_step): mid's trace, and only the
    outcomes of the other models, which they compute without a trace: the six kernels for a kernel,
    the series for one of its revisions."""
    peers = KERNELS if mid in KERNELS else SERIES
    return cache.memo(("story", mid, canonical_query(sc)), lambda: stage.story_step(
        trace(mid, sc), [simulate(m, sc, trace=False) for m in peers if m != mid]), size=lambda _: SMALL)


def grid(mid: str) -> dict:
    """The behaviour map of one model."""
    return cache.memo(("grid", mid), lambda: behaviour.grid(mid), size=lambda _: GRID_BYTES)


def grid_diff(a: str, b: str) -> dict:
    """Where the behaviour maps of two models differ."""
    return cache.memo(("diff", a, b), lambda: behaviour.diff(grid(a), grid(b)), size=lambda _: GRID_BYTES)


def vm_grid(a: str, b: str | None = None) -> dict:
    """The whole VMs of the behaviour map: one model's, or where two differ."""
    one = cache.memo(("vmgrid", a), lambda: behaviour.vm_grid(a), size=lambda _: GRID_BYTES)
    if b is None:
        return one
    return cache.memo(("vmdiff", a, b), lambda: behaviour.vm_diff(one, vm_grid(b)), size=lambda _: GRID_BYTES)
