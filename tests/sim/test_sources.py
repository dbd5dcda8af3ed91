"""Every step the simulator shows cites real code at the model's tag."""
from hypothesis import given, settings

from app.sim import MODELS, simulate
from app.sim.sources import ARCH, OUTSIDE, OUTSIDE_FILES, patch, source_for, table, tag
from tests.conftest import MODEL_IDS, run
from tests.sim.test_events import EVENT_CASES
from tests.sim.test_models import CASES
from tests.strategies import scenarios


def _assert_cited(tr):
    for _, step in tr.all_steps(events=True):
        if step.id in ARCH:
            assert step.file.startswith("Arm ARM")
            continue
        if step.id in OUTSIDE:              # what the VMM or the host's mm does: named, not KVM's lines
            assert step.file in OUTSIDE_FILES and step.lines == (0, 0) and step.func
            continue
        assert step.file.startswith(("arch/", "virt/", "include/")), (tr.model, step.id)
        first, last = step.lines
        assert 0 < first <= last, (tr.model, step.id)
        assert step.func and step.func != "?"


def test_every_branch_case_cites_kernel_lines():
    for _, query, _ in CASES + EVENT_CASES:
        for mid in MODEL_IDS:
            _assert_cited(run(mid, query))


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_random_scenarios_cite_kernel_lines(sc):
    for mid in MODELS:
        _assert_cited(simulate(mid, sc))


def test_patch_only_steps_exist_only_in_the_patch():
    for sid in ("uma.v3_cow", "uma.v3_fwb", "mapping_type"):
        assert sid in table()["patch-v3"]
        assert all(sid not in table()[m] for m in ("v6.14", "v6.17", "v7.1"))
    assert "uma.excl_atomic" in table()["v7.1"] and "uma.excl_atomic" not in table()["v6.17"]
    assert "prepare.pfnmap_cacheable" not in table()["v6.14"]


def test_the_patch_cites_its_own_lines_only_inside_its_hunks():
    # Outside the hunks the code is v6.14's, and so are the lines shown; inside, the patched file's.
    assert source_for("patch-v3", "prepare.entry") == source_for("v6.14", "prepare.entry")
    assert source_for("patch-v3", "uma.prot") == source_for("v6.14", "uma.prot")
    inside = source_for("patch-v3", "uma.classify")
    assert inside.lines != source_for("v6.14", "uma.classify").lines and inside.lines[0] > 0
    assert set(table()["patch-v3"]) == set(patch("patch-v3")["hunks"])


def test_v7_1_cites_the_split_helpers():
    assert source_for("v7.1", "uma.classify").func == "kvm_s2_fault_pin_pfn"
    assert source_for("v7.1", "uma.prot").func == "kvm_s2_fault_compute_prot"
    assert tag("v7.1") == "v7.1.3" and tag("patch-v3") == "v6.14"


def test_every_model_records_where_its_lines_were_read_from():
    from app.sim.sources import _raw
    data = _raw()
    for mid in MODELS:
        prov = data["provenance"][mid]
        if "package" in prov:
            assert prov["artifact_sha256"] and prov["version"], mid
            cited = {e["file"] for e in data["models"][mid].values()}
            assert cited <= set(prov["files"]), mid
        else:
            assert prov["note"], mid
        for sid, entry in data["models"][mid].items():
            assert entry.get("kw") or sid in data["keywords"], (mid, sid)


def test_every_event_step_is_cited_on_every_model_with_a_line_table():
    from app.sim import STEPS
    for sid, d in STEPS.items():
        if d.phase != "event" or sid in OUTSIDE:
            continue
        for mid in ("v6.12", "v6.14", "v6.17", "v7.1", "v7.3"):
            assert sid in table()[mid], (mid, sid)
        assert source_for("patch-v3", sid) == source_for("v6.14", sid)      # outside the patch's hunks
