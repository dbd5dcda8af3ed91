"""The worker's byte budget weighs what it keeps by estimates, not by walking objects: a trace by
its step count, a behaviour map by a constant, a key by its length. Here each estimate is held
against a walk of the objects it stands for, so that the budget stays honest: never much below what
is really held, and not so far above that the cache keeps nothing."""
import sys

import pytest

from app.permalink import parse_query
from app.present import behaviour
from app.sim import MODELS, simulate
from app.web import traces
from app.web.serving import cache


def walk(obj) -> int:
    """The bytes held by obj and everything it references, each object counted once."""
    seen, stack, total = set(), [obj], 0
    while stack:
        o = stack.pop()
        if id(o) in seen or o is None or isinstance(o, (bool, type)):
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        if isinstance(o, (str, bytes, int, float)):
            continue
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        else:
            for cls in type(o).__mro__:
                slots = getattr(cls, "__slots__", ())
                stack.extend(getattr(o, name, None) for name in ((slots,) if isinstance(slots, str) else slots))
            if hasattr(o, "__dict__"):
                stack.append(o.__dict__)
    return total


def faults(n: int, seed: int) -> str:
    return ",".join(f"{0x4000_0000 + ((seed * 131 + i) % 0x3ffff) * 0x1000:x}{'rwx'[(seed + i) % 3]}"
                    for i in range(n))


QUERIES = ["", "f=40000000r", "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r,40001000w,40002000x",
           "host=&f=40000000r,80000000w,40001000x.ptw", "vma=pfnmap,io,shared,maywrite&mem=dev&host=dic&f=40000000r",
           f"f={faults(16, 3)}", f"vma=pfnmap,io,shared,maywrite&mem=dev&f={faults(64, 7)}",
           f"slot=log&f={faults(64, 9)}"]


@pytest.mark.parametrize("query", QUERIES)
def test_a_traces_estimate_is_close_to_what_it_holds_and_never_far_below(query):
    sc = parse_query(query).scenario
    for mid in MODELS:
        tr = simulate(mid, sc)
        held, estimate = walk(tr), traces.trace_size(tr)
        assert 0.85 * held <= estimate <= 1.7 * held, (mid, query[:40], held, estimate)


def test_a_behaviour_maps_estimate_covers_what_it_holds():
    grids = [behaviour.grid(mid) for mid in MODELS]
    for held in [walk(g) for g in grids] + [walk(behaviour.diff(grids[1], grids[3]))]:
        assert held <= traces.GRID_BYTES <= 2 * held


@pytest.mark.parametrize("key", [("response", ("/v6.17/", b"f=40000000r", "", "")), ("trace", "v7.1", "f=" + "4" * 900),
                                 ("error", "_error.html", "x" * 300, "/v6.17/", 400)])
def test_a_keys_size_is_never_below_what_it_holds(key):
    assert walk(key) <= cache.key_size(key) <= 2 * walk(key)


def test_a_key_the_budget_cannot_weigh_is_refused():
    with pytest.raises(TypeError, match="a cache key is made of"):
        cache.ByteLRU().put(("trace", parse_query("f=40000000r").scenario), object(), 10)
