"""Every step the simulator shows cites real code at the model's tag."""
from hypothesis import given, settings

from app.sim import MODELS, simulate
from app.sim.sources import ARCH, source_for, table, tag
from tests.conftest import MODEL_IDS, run
from tests.sim.test_models import CASES
from tests.strategies import scenarios


def _assert_cited(tr):
    for _, step in tr.all_steps():
        if step.id in ARCH:
            assert step.file.startswith("Arm ARM")
            continue
        assert step.file.startswith(("arch/", "virt/", "include/")), (tr.model, step.id)
        first, last = step.lines
        assert 0 < first <= last, (tr.model, step.id)
        assert step.func and step.func != "?"


def test_every_branch_case_cites_kernel_lines():
    for _, query, _ in CASES:
        for mid in MODEL_IDS:
            _assert_cited(run(mid, query))


@settings(max_examples=100)
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


def test_the_patch_shifts_lines_only_after_its_hunks():
    # The v3 hunks add 9 lines at mmu.c:1454 and 1 at 1463, 13 after the VMA snapshot, 5 in the
    # classification and 13 after prot; code before the first hunk keeps its line numbers.
    v614, v3 = table()["v6.14"], table()["patch-v3"]
    assert v614["prepare.entry"].lines[0] + 9 + 1 + 13 + 5 + 13 == v3["prepare.entry"].lines[0]
    assert v614["get_vma_page_shift"].lines == v3["get_vma_page_shift"].lines


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
