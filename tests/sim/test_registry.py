"""The step registry: every step a model records is declared there once, and every declared step
is recorded by some scenario (the corpus, the model suite and the cases below)."""
import pytest

from app.permalink import parse_query
from app.sim import MODELS, STEPS, simulate
from app.sim.sources import source_for, table
from tests.goldens import read_corpus
from tests.sim.test_models import CASES

# Scenarios that reach steps nothing else reaches: a guest_memfd leaf mapped again unchanged
# (-EAGAIN) and a guest_memfd slot in an MTE VM on 7.3.
EXTRA = ["vma=shared,maywrite&slot=gmem&f=40000000w,40000000w.atomic",
         "vma=shared,maywrite,mteok&host=fwb,dic,mte&vm=mte&slot=gmem&f=40000000r"]


def emitted() -> dict[str, set[str]]:
    queries = [link.split("?", 1)[1] if "?" in link else "" for link in read_corpus()]
    queries += [c[1] for c in CASES] + EXTRA
    seen: dict[str, set[str]] = {}
    for q in queries:
        sc = parse_query(q).scenario
        for mid in MODELS:
            for _, s in simulate(mid, sc).all_steps():
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
