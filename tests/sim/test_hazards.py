"""What it means: host-safety hazards beside KVM's answer, on the models whose code has them and on
no other; the guest's instruction and what it then does; reasons given where they decide."""
import pytest

from app.permalink import parse_query
from app.present.report import trace_json
from app.present.text import render
from app.sim.hw import esr
from tests.conftest import MODEL_IDS, run

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev"
UDMABUF = "vma=pfnmap,shared,maywrite&mem=sg&pg=2m"


def kinds(tr) -> list:
    return [f.hazard and f.hazard["kind"] for f in tr.faults]


@pytest.mark.parametrize("mid", MODEL_IDS)
def test_the_v3_patch_alone_oopses_the_host_on_an_exec_fault_with_fwb_and_no_dic(mid):
    tr = run(mid, NVG + "&host=fwb&f=40000000x")
    if mid == "patch-v3":
        hz = tr.faults[0].hazard
        assert tr.faults[0].outcome == "map" and hz["kind"] == "host_oops"
        assert hz["where"]["func"] == "__invalidate_icache_guest_page" and hz["where"]["step_id"] == "inval_icache"
        assert "DIC" in hz["fixed_by"] and "v6.17" in hz["fixed_by"]
    else:
        assert "host_oops" not in kinds(tr)


def test_with_dic_or_a_block_too_big_to_invalidate_by_line_v3_is_safe():
    assert kinds(run("patch-v3", NVG + "&host=fwb,dic&f=40000000x")) == [None]
    assert kinds(run("patch-v3", NVG + "&host=fwb&pg=2m&f=40000000x")) == [None]    # IC IALLUIS, no VA


def test_v3_read_then_exec_oopses_on_the_permission_relax_too():
    tr = run("patch-v3", NVG + "&host=fwb&f=40000000r,40000000x")
    assert kinds(tr) == [None, "host_oops"] and tr.faults[1].outcome == "relax"


@pytest.mark.parametrize("mid,expect", [("v6.12", [None, None]), ("v6.14", ["foreign_memory"] * 2),
                                        ("patch-v3", ["foreign_memory"] * 2), ("v6.17", ["foreign_memory"] * 2),
                                        ("v7.1", ["foreign_memory"] * 2), ("v7.3", [None, None])])
def test_the_udmabuf_over_mapping_is_foreign_memory_where_the_stage_1_leaf_fix_is_missing(mid, expect):
    tr = run(mid, UDMABUF + "&f=40000000r,40001000r")
    assert kinds(tr) == expect
    if expect[0]:
        assert "71cc2c67fb8f" in tr.faults[0].hazard["fixed_by"]
        assert tr.faults[1].outcome == "no_fault" and tr.faults[1].guest_result["why"] == "foreign_page"


def test_the_v3_cow_refusal_leaks_the_mmap_lock_and_nothing_else_does():
    q = "vma=pfnmap,io,maywrite&mt=ngnrne&mem=dev&f=40000000r"
    for mid in MODEL_IDS:
        tr = run(mid, q)
        assert kinds(tr) == (["lock_leak"] if mid == "patch-v3" else [None]), mid
    assert run("patch-v3", q).faults[0].errno == "-EINVAL"


@pytest.mark.parametrize("mid,leaks", [("v6.12", True), ("v6.14", True), ("patch-v3", True), ("v6.17", False),
                                       ("v7.1", False), ("v7.3", False)])
def test_an_exec_fault_on_zone_device_memory_leaks_its_page_reference_before_the_fix(mid, leaks):
    tr = run(mid, "vma=shared,maywrite&mem=zdev&f=40000000x")
    f = tr.faults[0]
    if leaks:
        assert f.outcome == "inject" and f.hazard["kind"] == "ref_leak"
        assert "5f9466b50c1b" in f.hazard["fixed_by"] and f.hazard["where"]["step_id"] == "uma.noexec"
    else:
        assert f.hazard is None


def test_device_memory_the_host_maps_cacheable_is_stale_data_until_the_vma_decides():
    assert kinds(run("v6.14", NVG + "&f=40000000r")) == ["stale_data"]
    assert kinds(run("v6.12", NVG + "&f=40000000r")) == ["stale_data"]
    assert kinds(run("v6.17", NVG + "&f=40000000r")) == [None]
    assert kinds(run("v6.14", "vma=pfnmap,io,shared,maywrite,uc&mt=ngnrne&mem=dev&f=40000000r")) == [None]


def test_6_12_releases_the_block_aligned_pfn_of_a_zone_device_block():
    assert kinds(run("v6.12", "vma=shared,maywrite&mem=zdev&pg=2m&f=40001000r")) == ["ref_imbalance"]
    at_head = run("v6.12", "vma=shared,maywrite&mem=zdev&pg=2m&f=40000000r").faults[0]
    assert "release_aligned_pfn" not in dict(at_head.hazards)
    later = run("v7.3", "vma=shared,maywrite&mem=zdev&pg=2m&f=40001000r").faults[0]
    assert "release_aligned_pfn" not in dict(later.hazards)


def test_stale_data_needs_a_mapping_an_exec_refused_with_enoexec_maps_nothing():
    assert kinds(run("v6.14", NVG + "&f=40000000x")) == [None]


def test_fsc_0x35_on_a_guest_memfd_slot_livelocks():
    tr = run("v7.1", "vma=shared,maywrite&slot=gmem&f=40000000w,40000000w.atomic")
    assert kinds(tr) == [None, "livelock"] and tr.faults[1].guest_result["kind"] == "livelock"


def test_the_json_carries_hazard_and_guest_result_for_every_fault():
    tr = run("patch-v3", NVG + "&host=fwb&f=40000000x,80000000r")
    doc = trace_json(tr, "/x/")
    hz = doc["faults"][0]["hazard"]
    assert set(hz) == {"kind", "key", "where", "why", "fixed_by"} and hz["where"]["lines"][0] > 0
    assert doc["faults"][1]["hazard"] is None and doc["memslot"]["hazard"] is None
    assert doc["faults"][1]["guest_result"]["kind"] == "emulated"
    assert [c["call"].split("(")[0] for c in doc["vmm"]] == ["KVM_CHECK_EXTENSION", "KVM_SET_USER_MEMORY_REGION",
                                                             "KVM_RUN", "KVM_RUN"]
    marked = [s for s in doc["faults"][0]["steps"] if "hazard" in s.get("state", {})]
    assert [s["id"] for s in marked] == ["inval_icache"]


# ---- the guest's instruction -------------------------------------------------------------------

def esr_of(query: str, mid: str = "v6.17") -> int:
    return run(mid, query).faults[0].esr


def test_the_syndrome_follows_the_instruction():
    plain, ua = esr_of("f=80000000r"), esr_of("f=80000000r.ua")
    assert plain & esr.ESR_ELx_ISV and plain == ua             # an unaligned LDR reports what an aligned one does
    for mod in ("pair", "excl", "lse"):
        assert not esr_of(f"f=80000000r.{mod}") & esr.ESR_ELx_ISV, mod
    zva = esr_of("f=80000000w.zva")
    assert not zva & esr.ESR_ELx_ISV and zva & esr.ESR_ELx_WNR and not zva & esr.ESR_ELx_CM
    assert not esr_of("f=80000000w.lse") & esr.ESR_ELx_WNR      # an atomic's translation fault reports its read


def test_without_a_memslot_only_a_single_register_access_is_mmio():
    assert [f.outcome for f in run("v6.17", "f=80000000r.ua,80000000w.pair,80000000w.zva,80000000r.excl").faults] == \
        ["exit_mmio", "run_error", "run_error", "run_error"]


def test_grace_gpu_memory_unaligned_faults_the_vm_on_6_14_and_completes_on_6_17():
    old = run("v6.14", NVG + "&f=40000000r.ua,40000000r.ua")
    assert old.faults[0].outcome == "map" and old.faults[0].guest_result == {
        "kind": "alignment_fault", "el": 2, "why": "s2_device"}
    second = old.faults[1]
    assert (second.fsc, second.outcome, second.errno) == ("alignment", "run_error", "-EFAULT")
    assert second.esr & esr.ESR_ELx_FSC == esr.ESR_ELx_FSC_ALIGN
    new = run("v6.17", NVG + "&f=40000000r.ua,40000000w.zva")
    assert [f.guest_result["kind"] for f in new.faults] == ["completes", "completes"]


def test_a_guest_whose_own_stage_1_is_device_takes_the_alignment_fault_itself():
    tr = run("v6.17", "gs1=off&f=40000000r.ua")
    f = tr.faults[0]
    assert f.outcome == "no_fault" and f.guest_result == {"kind": "alignment_fault", "el": 1, "why": "s1_device_first"}


def test_exclusives_outside_normal_write_back_are_implementation_defined():
    tr = run("v6.17", "vma=pfnmap,io,shared,maywrite,uc&mt=ngnrne&mem=dev&f=40000000r.excl")
    assert tr.faults[0].guest_result["kind"] == "impl_defined"
    assert run("v6.17", "f=40000000r.excl").faults[0].guest_result["kind"] == "completes"


@pytest.mark.parametrize("fault,error", [
    ("40000000x.ua", "instruction fetch"), ("40000000r.zva", "use w"), ("40000000w.zva.ua", "no unaligned form"),
    ("40000000r.pair.excl", "different instructions"), ("40000000r.pair.atomic", "FSC 0x35"),
    ("40000000w.cm.lse", "cache-maintenance")])
def test_instruction_modifiers_that_cannot_go_together_get_one_sentence(fault, error):
    parsed = parse_query(f"f={fault}")
    assert not parsed.ok and len(parsed.errors) == 1 and error in parsed.errors[0]


# ---- the reason that decides -------------------------------------------------------------------

def test_the_udmabuf_trace_explains_the_size_before_the_leaves_and_names_the_alignment():
    f = run("v6.17", UDMABUF + "&f=40000000r").faults[0]
    ids = [s.id for s in f.steps]
    assert ids.index("get_vma_page_shift") < ids.index("pgt.init_leaf")
    split = next(s for s in f.steps if s.id == "pgt.stage2_map" and s.case == "split")
    assert "is not 2M-aligned" in split.text and "512 level-3 page descriptors" in split.text
    text = render(run("v6.17", UDMABUF + "&f=40000000r"), "t", "/x/")
    assert "512 page descriptors at level 3 (0x200000 bytes)" in " ".join(text.split())


def test_v3_says_dic_is_still_needed_when_it_lets_fwb_alone_through():
    f = run("patch-v3", NVG + "&host=fwb&f=40000000r").faults[0]
    step = next(s for s in f.steps if s.id == "uma.v3_fwb")
    assert "without it, an executable mapping" in step.text
    f = run("patch-v3", NVG + "&host=fwb,dic&f=40000000r").faults[0]
    assert "DIC" not in next(s for s in f.steps if s.id == "uma.v3_fwb").text


def test_a_later_access_inside_a_block_shows_its_own_pa_and_hva():
    f = run("v6.17", "pg=2m&f=40000000r,40001000r").faults[1]
    know = f.states[0]["know"]
    assert f.outcome == "no_fault" and know["pa"] == 0x8_4000_1000 and know["hva"] == 0xFFFF_4000_1000


def test_a_refused_memslot_shows_the_host_type_it_read_to_refuse():
    tr = run("v6.17", NVG + "&host=fwb&f=40000000r")
    refusal = tr.memslot.states[-1]
    assert tr.memslot.result == "-EINVAL" and refusal["memtype"]["host_s1"] == "normal"
    assert refusal["verdict"] == {"memslot": "-EINVAL"}


def test_the_mail_text_leads_with_the_hazard_and_follows_the_vmm_order():
    text = render(run("patch-v3", NVG + "&host=fwb&f=40000000x"), "t", "/x/")
    assert "-> map normal RWX 0x1000; HOST HAZARD: host" in text and "HOST HAZARD: host oops at" in text
    assert text.index("KVM_CHECK_EXTENSION") < text.index("KVM_SET_USER_MEMORY_REGION")
    assert "(the patch's lines)" in text and "(v6.14 lines)" in text
