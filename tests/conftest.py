import pytest
from hypothesis import settings

from app.permalink import parse_query
from app.sim import simulate

# Property tests assert behaviour, not speed: no per-example deadline (speed is `make bench`'s job,
# and a deadline fails at random on a busy two-core machine).
settings.register_profile("s2viz", deadline=None)
settings.load_profile("s2viz")

MODEL_IDS = ("v6.14", "patch-v3", "v6.17", "v7.1")


def run(model: str, query: str):
    """Simulate the scenario a permalink query describes."""
    parsed = parse_query(query)
    assert parsed.ok, parsed.errors
    return simulate(model, parsed.scenario)


def verdicts(tr) -> str:
    """A compact, readable summary: 'reg=ok cap=1 | map normal RWX 4K | run_error -EFAULT'."""
    parts = [f"reg={tr.memslot.result}"]
    for f in tr.faults:
        if f.outcome in ("map", "relax"):
            size = {4096: "4K", 16384: "16K", 65536: "64K", 1 << 21: "2M", 1 << 25: "32M",
                    1 << 29: "512M", 1 << 30: "1G"}.get(f.s2.size, str(f.s2.size))
            parts.append(f"{f.outcome} {f.s2.memtype} {f.s2.perm} {size}")
        elif f.outcome == "run_error":
            parts.append(f"run_error {f.errno}")
        elif f.outcome == "inject":
            parts.append(f"inject {f.inject}")
        else:
            parts.append(f.outcome)
    return " | ".join(parts)


@pytest.fixture(params=MODEL_IDS)
def model(request):
    return request.param
