"""The picture at each step: nothing is shown before the step that decides it."""
import json

from hypothesis import given, settings

from app.present.timeline import snapshot
from app.present.values import delta_json
from app.sim import MODELS, simulate
from app.sim.trace import decisive_step
from tests.conftest import run
from tests.strategies import scenarios

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r"


def step_of(tr, fault: int, sid: str) -> int:
    """The 1-based trace position of a fault's first step with this id."""
    n = len(tr.memslot.steps) + len(tr.capability.steps)
    for f in tr.faults[:fault]:
        n += len(f.steps)
    return n + 1 + [s.id for s in tr.faults[fault].steps].index(sid)


def leaves(snap) -> list:
    return [e for entries in snap.tables.values() for e in entries.values() if e.state == "leaf"]


def test_grace_hopper_on_v6_14_resolves_device_at_classification_and_writes_the_leaf_later():
    tr = run("v6.14", NVG)
    classify, write = step_of(tr, 0, "uma.classify"), step_of(tr, 0, "pgt.init_leaf")
    before = snapshot(tr, classify - 1)
    assert "s2" not in before.memtype and "MemAttr" not in before.desc
    assert before.verdict is None and leaves(before) == []
    at = snapshot(tr, classify)
    assert at.memtype["s2"] == "device_nGnRE" and at.desc["MemAttr"] == 0x1
    assert ("memtype", "s2") in at.changed and at.verdict is None
    assert leaves(snapshot(tr, write - 1)) == [] and snapshot(tr, write - 1).verdict is None
    done = snapshot(tr, write)
    assert [e.pte for e in leaves(done)] == [tr.faults[0].s2.pte]
    assert done.verdict["outcome"] == "map" and done.desc["pte"] == tr.faults[0].s2.pte


def test_descriptor_fields_become_known_at_the_steps_that_decide_them():
    tr = run("v6.17", NVG)
    known = lambda sid: set(snapshot(tr, step_of(tr, 0, sid)).desc)  # noqa: E731
    assert known("uma.faultin") == {"OA"}
    assert known("uma.classify") == {"OA", "MemAttr"}
    assert {"S2AP", "XN"} <= known("uma.prot") and "AF" not in known("uma.prot")
    assert {"SH", "AF"} <= known("pgt.set_prot_attr") and "Type" not in known("pgt.set_prot_attr")
    assert {"Type", "Valid", "pte"} <= known("pgt.init_leaf")


def test_a_refusal_at_classification_shows_no_memory_type_it_did_not_map():
    tr = run("v6.17", NVG.replace("mem=dev", "mem=dev&host=fwb&remap=1"))
    snap = snapshot(tr, sum(1 for _ in tr.all_steps()))
    assert tr.faults[0].errno == "-EFAULT"
    assert "MemAttr" not in snap.desc and "s2" not in snap.memtype
    assert snap.verdict == {"outcome": "run_error", "errno": "-EFAULT", "inject": None}


def test_tables_appear_as_the_walk_allocates_them_and_carry_over_to_the_next_fault():
    tr = run("v6.17", "f=40000000r,40001000w")
    alloc = step_of(tr, 0, "pgt.walk_leaf")
    assert len(snapshot(tr, alloc - 1).tables) == 1
    assert len(snapshot(tr, alloc).tables) == 2
    second = snapshot(tr, step_of(tr, 1, "hw.walk"))
    assert len(leaves(second)) == 1 and second.desc == {} and second.verdict is None
    assert [w["found"] for w in second.walk] == ["table", "table", "invalid"]
    assert second.done and second.done[0]["outcome"] == "map"


def test_cache_maintenance_appears_at_the_step_that_requests_it():
    tr = run("v6.17", "host=dic&f=40000000r")
    clean = step_of(tr, 0, "clean_dcache")
    assert "dcache" not in snapshot(tr, clean - 1).cmo
    assert snapshot(tr, clean).cmo["dcache"] == "done"


def test_a_relaxed_leaf_keeps_its_table_entry_and_changes_its_permissions():
    tr = run("v6.17", "slot=log&f=40000000r,40000000w")
    relax = step_of(tr, 1, "pgt.relax_perms")
    before, after = snapshot(tr, relax - 1), snapshot(tr, relax)
    assert before.desc["S2AP"] == "R-" and after.desc["S2AP"] == "RW"
    assert [e.state for e in after.tables[max(after.tables)].values()] == ["relaxed"]


def test_a_block_upgraded_by_thp_maps_the_block_aligned_pa():
    tr = run("v6.17", "pg=2m&f=40001000r")
    leaf = tr.faults[0].s2
    assert leaf.size == 2 << 20 and leaf.ipa == 0x4000_0000
    assert leaf.pte & 0xFFFF_FFFF_F000 == 0x8_4000_0000   # no RES0 address bits below the block


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_every_fault_reveals_its_verdict_once_and_never_before_its_deciding_step(sc):
    for mid in MODELS:
        tr = simulate(mid, sc)
        assert len(tr.memslot.states) == len(tr.memslot.steps)
        for f in tr.faults:
            assert len(f.states) == len(f.steps)
            revealed = [i for i, d in enumerate(f.states) if "verdict" in d]
            if f.outcome == "not_run":
                assert revealed == []
                continue
            assert len(revealed) == 1, (mid, f.outcome)
            decisive = decisive_step(f)
            if decisive is not None:
                assert revealed[0] >= next(i for i, s in enumerate(f.steps) if s is decisive)
            json.dumps([delta_json(d, tr.host_s1) for d in f.states])
