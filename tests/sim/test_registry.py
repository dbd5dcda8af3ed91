"""The step registry: every step a model records is declared there once, and every declared step
is recorded by some scenario (the corpus, the model suite and the cases below)."""
import pytest

from app.permalink import parse_query
from app.sim import MODELS, STEPS, simulate
from app.sim.sources import source_for, table
from tests.goldens import read_corpus
from tests.sim.test_events import EVENT_CASES
from tests.sim.test_layout import LAYOUT_CASES
from tests.sim.test_models import CASES
from tests.sim.test_series_models import HUNKS

SEVEN_PAGES = ",".join(f"{0x4000_0000 + i * 0x1000:x}w" for i in range(7))

# Scenarios that reach steps nothing else reaches: a guest_memfd leaf mapped again unchanged
# (-EAGAIN) and a guest_memfd slot in an MTE VM on 7.3; the host events' walks that go quiet after
# four entries, find nothing, or clean a leaf without a linear alias; munmap(), mmap() and page
# reclaim where nothing is mapped; a read-only leaf aged and written.
EXTRA = ["vma=shared,maywrite&slot=gmem&f=40000000w,40000000w.atomic",
         "vma=shared,maywrite,mteok&host=fwb,dic,mte&vm=mte&slot=gmem&f=40000000r",
         f"f={SEVEN_PAGES},age:40000000:7000,logon,unmap:40000000:7000,age:40000000:7000,logon,logoff,logon",
         "f=unmap:40000000,unmap:40000000,age:40000000,replace:40000000:2000,replace:40000000",
         "vma=io,shared,maywrite&mem=dev&host=dic&f=40000000r,unmap:40000000",
         "slot=log&f=40000000r,age:40000000,40000000w",
         "host=dic&f=40000000r,unmap:40000000"]


def emitted() -> dict[str, set[str]]:
    queries = [link.split("?", 1)[1] if "?" in link else "" for link in read_corpus()]
    queries += [c[1] for c in CASES] + [c[1] for c in EVENT_CASES] + [h[2] for h in HUNKS] + EXTRA + LAYOUT_CASES
    seen: dict[str, set[str]] = {}
    for q in queries:
        sc = parse_query(q).scenario
        for mid in MODELS:
            for _, s in simulate(mid, sc).all_steps(events=True):
                seen.setdefault(s.id, set()).add(s.case)
    return seen


SEEN = emitted()


def test_every_recorded_step_is_declared():
    assert set(SEEN) <= set(STEPS)


def test_every_declared_step_is_recorded_by_some_scenario():
    assert set(STEPS) - set(SEEN) == set()


@pytest.mark.parametrize("sid", sorted(STEPS))
def test_every_declared_case_has_words(sid):
    d = STEPS[sid]
    for case in SEEN.get(sid, ()):
        assert case in d.words, (sid, case)
    assert set(d.code) <= set(d.words) | {"*"}, sid


def test_every_case_of_an_event_step_is_recorded_by_some_scenario():
    from app.sim.steps import events
    for sid, d in STEPS.items():
        if d.phase == "event" or d.id in ("clean_dcache", "uma.vma_lookup", "prepare.vma_loop", "prepare.entry"):
            assert set(d.words) <= SEEN.get(sid, set()), (sid, set(d.words) - SEEN.get(sid, set()))
    assert events.VMM in {d.file for d in STEPS.values()}


def test_each_step_cites_the_file_it_declares_wherever_a_model_has_its_lines():
    for mid in MODELS:
        for sid, d in STEPS.items():
            src = source_for(mid, sid)
            if sid in table().get(mid, {}) or src.lines[0]:
                assert src.file == d.file, (mid, sid, src.file, d.file)


def test_an_undeclared_step_cannot_be_recorded():
    from app.sim.steps import get
    with pytest.raises(KeyError):
        get("uma.no_such_step")
