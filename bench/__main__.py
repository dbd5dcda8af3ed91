"""`make bench`: print each figure next to its target.

Timings on a shared machine wander, so every figure is a median of repeats, and each comes with a
ratio to a fixed pure-Python reference workload timed in the same run (how many "reference units"
it costs), which stays comparable across machines.
"""
from __future__ import annotations

import statistics
import time

from app.permalink import parse_query
from app.sim import MODELS, simulate
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
    ref = median_time(reference, 7, 50)
    print(f"reference workload: {ref * 1e6:.0f} us (1 unit)\n")

    print("simulation core")
    one = parse_query("vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r").scenario
    zero = parse_query("vma=pfnmap,io,shared,maywrite&mem=dev").scenario
    for mid in MODELS:
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
    line("scenarios x models", f"{len(scs)} x {len(MODELS)} = {n_sm}", ">= 100000", n_sm >= 100_000)
    line("fault outcomes", f"{n_faults}", "-", None)
    line("full sweep, wall time (median of 3)", f"{took:.2f} s ({took / ref:.0f} u)", "<= 1 s", took <= 1.0)
    line("throughput", f"{n_sm / took:,.0f} /s", ">= 100000 /s", n_sm / took >= 100_000)


if __name__ == "__main__":
    main()
