import pytest
from hypothesis import settings

from app.permalink import parse_query
from app.sim import simulate

# Timing is make bench's business: a property test on a busy 2-core machine must not fail for slowness.
settings.register_profile("s2viz", deadline=None)
settings.load_profile("s2viz")

MODEL_IDS = ("v6.12", "v6.14", "patch-v3", "v6.17", "v7.1", "v7.3")


def run(model: str, query: str):
    """Simulate the scenario a permalink query describes."""
    parsed = parse_query(query)
    assert parsed.ok, parsed.errors
    return simulate(model, parsed.scenario)


def verdicts(tr) -> str:
    """A compact, readable summary: 'reg=ok cap=1 | map normal RWX 4K | run_error -EFAULT'."""
    return " | ".join([f"reg={tr.memslot.result}"] + [verdict(f) for f in tr.faults])


def verdict(f) -> str:
    """One fault's verdict, as verdicts() writes it."""
    if f.outcome in ("map", "relax"):
        size = {4096: "4K", 16384: "16K", 65536: "64K", 1 << 21: "2M", 1 << 25: "32M",
                1 << 29: "512M", 1 << 30: "1G"}.get(f.s2.size, str(f.s2.size))
        return f"{f.outcome} {f.s2.memtype} {f.s2.perm} {size}"
    if f.outcome == "run_error":
        return f"run_error {f.errno}"
    if f.outcome == "inject":
        return f"inject {f.inject}"
    return f.outcome


def story(tr) -> str:
    """verdicts() with the host events in their places: 'unmap ok unmapped=1' (the ioctl's result, then
    what the event changed in the table)."""
    parts = [f"reg={tr.memslot.result}"]
    for kind, i in tr.items:
        if kind == "fault":
            parts.append(verdict(tr.faults[i]))
        else:
            e = tr.events[i]
            parts.append(" ".join([e.kind, e.result] + [f"{k}={n}" for k, n in e.changes]))
    return " | ".join(parts)


@pytest.fixture(params=MODEL_IDS)
def model(request):
    return request.param
