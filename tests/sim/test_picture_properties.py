"""Properties of the picture over many generated scenarios: every value appears at the step that
decides it, agrees with the others, and the last step shows what the fault left behind."""
from hypothesis import given, settings

from app.present.timeline import snapshot, trace_geometry
from app.sim import MODELS, STEPS, simulate
from tests.strategies import scenarios


def _positions(tr):
    """(1-based step number of each fault's first step, its last step) over the whole trace, host
    events between faults counted in their places."""
    n = len(tr.memslot.steps) + len(tr.capability.steps)
    out = {}
    for kind, i in tr.items or [("fault", i) for i in range(len(tr.faults))]:
        steps = (tr.faults if kind == "fault" else tr.events)[i].steps
        if kind == "fault":
            out[i] = (n + 1, n + len(steps))
        n += len(steps)
    return [out[i] for i in range(len(tr.faults))]


@settings(max_examples=80, deadline=None)
@given(scenarios(max_faults=4))
def test_pa_is_always_pfn_pages_where_both_are_known(sc):
    for mid in MODELS:
        tr = simulate(mid, sc)
        for f in tr.faults:
            for d in f.states:
                know = d.get("know", {})
                if "pfn" in know and "pa" in know:
                    assert know["pa"] >> sc.page_shift == know["pfn"], (mid, d)
                    desc = d.get("desc", {})
                    if not desc.get("existing"):     # a block the walk found maps more than this page
                        assert desc.get("OA", know["pa"]) == know["pa"]


@settings(max_examples=80, deadline=None)
@given(scenarios(max_faults=4))
def test_no_descriptor_under_lpa2_has_an_sh_field(sc):
    for mid in MODELS:
        tr = simulate(mid, sc)
        lpa2 = trace_geometry(tr).lpa2
        for f in tr.faults:
            for d in f.states:
                if "SH" in d.get("desc", {}):
                    assert (d["desc"]["SH"] is None) == lpa2, (mid, f.ipa, d)


@settings(max_examples=80, deadline=None)
@given(scenarios(max_faults=4))
def test_the_last_step_of_a_fault_shows_the_leaf_and_type_it_left(sc):
    for mid in MODELS:
        tr = simulate(mid, sc)
        for f, (_, last) in zip(tr.faults, _positions(tr), strict=True):
            if f.outcome not in ("map", "relax") or not f.steps:
                continue
            snap = snapshot(tr, last)
            assert snap.desc["pte"] == f.s2.pte, (mid, f.ipa)
            assert snap.memtype["s2"] == f.s2.memtype
            assert snap.memtype["effective"] == f.effective["type"]
            assert snap.verdict["outcome"] == f.outcome


@settings(max_examples=80, deadline=None)
@given(scenarios(max_faults=4))
def test_nothing_appears_before_the_step_that_decides_it(sc):
    """The stage-2 kind only at or after the step that classifies, the verdict only at the settling
    step, the guest's type only once the leaf exists, the PFN only from the PFN lookup on (or from
    the walk, when it found a leaf that already maps the page)."""
    for mid in MODELS:
        tr = simulate(mid, sc)
        for f in tr.faults:
            ids = [s.id for s in f.steps]
            first_pfn = next((i for i, s in enumerate(ids) if s in ("uma.faultin", "gmem.get_pfn")), None)
            first_kind = next((i for i, s in enumerate(ids) if STEPS[s].memtype or s == "hw.walk"), None)
            for i, d in enumerate(f.states):
                if "pfn" in d.get("know", {}):
                    found = ids[i] == "hw.walk" and d.get("desc", {}).get("existing")
                    assert found or (first_pfn is not None and i >= first_pfn), (mid, ids[i])
                if "s2" in d.get("memtype", {}):
                    assert first_kind is not None and i >= first_kind, (mid, ids[i])
                if "verdict" in d:
                    assert i == f.settles
                    assert f.decider is None or i >= f.decider
                if "effective" in d.get("memtype", {}):
                    assert i >= f.settles or ids[i] == "hw.combine"


def test_a_thp_block_shows_the_faulting_pfn_first_and_the_aligned_pfn_from_the_adjustment_on():
    from tests.conftest import run
    tr = run("v6.17", "pg=2m&f=40001000r")
    f = tr.faults[0]
    ids = [s.id for s in f.steps]
    faultin, thp = f.states[ids.index("uma.faultin")], f.states[ids.index("thp_adjust")]
    assert faultin["know"] == {"pfn": 0x840001, "pa": 0x8_4000_1000}
    assert thp["know"] == {"pfn": 0x840000, "pa": 0x8_4000_0000}


def test_an_lpa2_host_shows_no_sh_field_at_any_step():
    from tests.conftest import run
    tr = run("v6.17", "host=fwb,dic,lpa2&f=40000000r")
    f = tr.faults[0]
    shs = [d["desc"]["SH"] for d in f.states if "SH" in d.get("desc", {})]
    assert shs and all(sh is None for sh in shs)
