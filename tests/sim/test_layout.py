"""A whole VM (issue 16): several memslots, each over one or more VMAs, on every kernel.

Registration goes slot by slot in the VMM's order, each walking the VMAs of its own userspace range
(kvm_arch_prepare_memory_region()'s find_vma_intersection() loop, mmu.c at each tag); QEMU aborts at
the first refusal. Faults are routed by IPA to their slot, HVA and VMA, on one stage-2 table; a block
never spans two slots (fault_supports_stage2_huge_mapping()), and where get_vma_page_shift() sizes a
VM_PFNMAP block from the VMA its ALIGN() bound lets the block reach past a small VMA inside a larger
slot. tests.conftest.story: the faults' verdicts with each event's result in its place."""
import pytest

from app.permalink import canonical_query, canonical_url, parse_query
from app.present.report import trace_json
from app.sim import MODELS, simulate
from app.sim.presets import VM_PRESETS
from app.sim.scenario import Scenario
from tests.conftest import MODEL_IDS, run, story

VMA_SIZED = ("v6.14", "patch-v3", "v6.17", "v7.1")             # get_vma_page_shift() sizes VM_PFNMAP
LEAF_SIZED = ("v6.12", "v7.3")                                  # the host's stage-1 leaf sizes it
CHECKS_CACHEABLE = ("v6.17", "v7.1", "v7.3")                     # the memslot check of the merged series
USEMEM = "pfnmap,io,shared,maywrite:normal:dev"
BAR = "pfnmap,io,shared,maywrite,uc:ngnrne:dev"
# One slot over three VMAs: anonymous RAM, 1 MiB of cacheable device memory (2 MiB-aligned), RAM again.
SPLIT = f"s2=80000000:400000&v2=maywrite/{USEMEM}:2m@100000/maywrite@100000"


def vm(pid: str, **kw) -> Scenario:
    from dataclasses import replace
    return replace(VM_PRESETS[pid].apply(Scenario()), **kw)


def steps_of(tr, slot: int) -> list[str]:
    a = tr.slots[slot - 1]
    return [f"{s.id}:{s.case}" for s in tr.memslot.steps[a.first:a.end]]


# ---- schema 1 is the one-slot layout ---------------------------------------------------------------

def test_a_schema1_scenario_is_one_slot_over_one_vma_and_its_own_view():
    sc = parse_query("vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r").scenario
    assert not sc.has_layout and sc.at(0x4000_1000) is sc and sc.slot_view(0) is sc
    (slot,) = sc.layout.slots
    assert (slot.gpa, slot.size, slot.hva, len(slot.vmas)) == (0x4000_0000, 1 << 30, 0xFFFF_4000_0000, 1)
    tr = simulate("v6.17", sc)
    assert [(a.slot, a.result) for a in tr.slots] == [(1, "ok")] and tr.faults[0].slot == 1
    assert "slot.register" not in {s.id for s in tr.memslot.steps}
    j = trace_json(tr, "/x/")
    assert [m["slot"] for m in j["memslots"]] == [1] and j["faults"][0]["slot"] == 1
    assert run("v6.17", "f=90000000r").faults[0].slot is None


# ---- registration, slot by slot ------------------------------------------------------------------

def test_one_vma_refuses_the_whole_slot_at_its_place_in_the_walk(model):
    tr = run(model, "host=fwb&" + SPLIT + "&s3=8000000000:40000000&f=40000000r,80200000r")
    if model in CHECKS_CACHEABLE:
        assert [a.result for a in tr.slots] == ["ok", "-EINVAL", "not_run"] and tr.memslot.result == "-EINVAL"
        assert steps_of(tr, 2) == ["slot.register:", "prepare.entry:", "prepare.vma_loop:layout",
                                   "prepare.pfnmap_log:not_pfnmap", "prepare.vma_loop:layout", "prepare.pfnmap_log:ok",
                                   "prepare.pfnmap_cacheable:refuse"]
        assert steps_of(tr, 3) == [] and {f.outcome for f in tr.faults} == {"not_run"}
    else:                                   # v6.14 and the v3 patch never look at the pgprot here
        assert [a.result for a in tr.slots] == ["ok", "ok", "ok"]
        assert tr.faults[1].outcome == "map"


def test_dirty_logging_refuses_a_slot_with_any_pfnmap_vma_and_an_mte_vm_any_vma_without_mte_allowed(model):
    tr = run(model, SPLIT.replace("s2=80000000:400000", "s2=80000000:400000:log"))
    assert [a.result for a in tr.slots] == ["ok", "-EINVAL"]
    assert steps_of(tr, 2)[-1] == "prepare.pfnmap_log:refuse"
    tr = run(model, "vma=maywrite,mteok&host=fwb,dic,mte&vm=mte&s2=80000000:400000"
                    "&v2=maywrite,mteok/maywrite@200000")
    assert [a.result for a in tr.slots] == ["ok", "-EINVAL"] and steps_of(tr, 2)[-1] == "prepare.mte:refuse"


def test_a_slot_beyond_the_vms_ipa_space_is_refused_with_efault(model):
    tr = run(model, "s2=ff00000000:200000000&f=40000000r")
    assert [a.result for a in tr.slots] == ["ok", "-EFAULT"] and steps_of(tr, 2)[-1] == "prepare.entry:beyond"
    assert run(model, "ipa=41&s2=ff00000000:200000000").memslot.result == "ok"


# ---- the Grace Hopper VM ------------------------------------------------------------------------------

GRACE_ON_GRACE = {       # a Grace host: FWB and DIC
    "v6.12": "reg=ok | map normal RWX 2M | map normal R-X 4K | map normal_nc RW- 4K | map device_nGnRE RW- 2M | "
             "map normal_nc RW- 2M | exit_mmio | exit_mmio",
    "v6.14": "reg=ok | map normal RWX 2M | map normal R-X 4K | map normal_nc RW- 4K | map device_nGnRE RW- 1G | "
             "map normal_nc RW- 1G | exit_mmio | exit_mmio",
    "patch-v3": "reg=ok | map normal RWX 2M | map normal R-X 4K | map normal_nc RW- 4K | map normal RWX 1G | "
                "map normal_nc RW- 1G | exit_mmio | exit_mmio",
    "v6.17": "reg=ok | map normal RWX 2M | map normal R-X 4K | map normal_nc RW- 4K | map normal RWX 1G | "
             "map normal_nc RW- 1G | exit_mmio | exit_mmio",
    "v7.1": "reg=ok | map normal RWX 2M | map normal R-X 4K | map normal_nc RW- 4K | map normal RWX 1G | "
            "map normal_nc RW- 1G | exit_mmio | exit_mmio",
    "v7.3": "reg=ok | map normal RWX 2M | map normal R-X 4K | map normal_nc RW- 4K | map normal RWX 2M | "
            "map normal_nc RW- 2M | exit_mmio | exit_mmio",
}


def test_the_grace_hopper_vm_per_slot_and_model(model):
    tr = simulate(model, vm("grace-vm"))
    assert story(tr) == GRACE_ON_GRACE[model]
    assert [f.slot for f in tr.faults] == [1, 2, 3, 4, 5, None, None]
    usemem = tr.faults[3]
    if model in ("v6.12", "v6.14"):         # Device whatever the VMA says: the unaligned load stops the VM
        assert usemem.hazard["kind"] == "stale_data" and usemem.guest_result == {
            "kind": "alignment_fault", "el": 2, "why": usemem.guest_result["why"]}
    else:
        assert usemem.hazard is None and usemem.guest_result["kind"] == "completes"
    leaves = {leaf.ipa for leaf in tr.leaves}       # one stage-2 table holds every slot's leaves
    assert {0x4000_0000, 0x0, 0x1000_0000, 0x80_0000_0000, 0xA0_0000_0000} <= leaves


def test_the_grace_hopper_vm_on_a_host_without_dic(model):
    tr = simulate(model, vm("grace-vm", host=frozenset({"fwb"})))
    if model in CHECKS_CACHEABLE:         # usemem, slot 4, is refused at registration; the VM never starts
        assert [a.result for a in tr.slots] == ["ok", "ok", "ok", "-EINVAL", "not_run"]
        assert steps_of(tr, 4)[-1] == "prepare.pfnmap_cacheable:refuse"
    else:
        assert tr.memslot.result == "ok"
        assert tr.faults[3].s2.memtype == ("normal" if model == "patch-v3" else "device_nGnRE")


# ---- routing, blocks and slots --------------------------------------------------------------------

def test_a_block_never_spans_two_slots(model):
    # 3 MiB of THP-backed RAM at 2 MiB: a block at its start, pages in its last MiB (the block would leave it).
    tr = run(model, "s2=80200000:300000&v2=maywrite:normal:ram:2m&f=80200000r,80400000r")
    assert story(tr) == "reg=ok | map normal RWX 2M | map normal RWX 4K"


OVER_VMA = {
    "v6.12": "reg=ok | map device_nGnRE RW- 4K | map normal RWX 4K | no_fault",
    "v6.14": "reg=ok | map device_nGnRE RW- 2M | no_fault | no_fault",
    "patch-v3": "reg=ok | map normal RWX 2M | no_fault | no_fault",
    "v6.17": "reg=ok | map normal RWX 2M | no_fault | no_fault",
    "v7.1": "reg=ok | map normal RWX 2M | no_fault | no_fault",
    "v7.3": "reg=ok | map normal RWX 4K | map normal RWX 4K | no_fault",
}


def test_a_pfnmap_block_reaches_over_the_next_vma_of_its_slot_where_the_vma_sizes_it(model):
    tr = run(model, SPLIT + "&f=80200000r,80300000r,80300000w")
    assert story(tr) == OVER_VMA[model]
    if model in VMA_SIZED:
        assert tr.faults[0].hazard["key"] == "pfnmap_block_over_vma"
        assert tr.faults[0].hazard["where"]["step_id"] == "uma.vma_size"
        assert tr.faults[1].hazard["key"] == "pfnmap_block_foreign_access"
        assert tr.faults[1].guest_result["why"] == "foreign_vma"
    else:
        assert all(f.hazard is None or f.hazard["kind"] == "stale_data" for f in tr.faults)


def test_faults_are_routed_to_their_slot_hva_and_vma():
    tr = run("v6.17", SPLIT + "&s3=10000000:10000&v3=" + BAR + "&f=80000000r,80200000r,10000000r,20000000r")
    assert [f.slot for f in tr.faults] == [2, 2, 3, None]
    slot2 = tr.layout.slots[1]
    memslot = next(s for s in tr.faults[0].steps if s.id == "abort.memslot")
    assert dict(memslot.vars)["hva"] == slot2.hva
    assert tr.faults[0].s2.memtype == "normal" and tr.faults[2].s2.memtype == "normal_nc"
    assert tr.faults[3].outcome == "exit_mmio"


# ---- host events address a slot --------------------------------------------------------------------

def test_delslot_names_its_slot_by_an_ipa_inside_it(model):
    tr = run(model, SPLIT + "&f=40000000r,80000000r,delslot:80100000,80000000r,40000000r")
    assert story(tr).endswith("| delslot ok freed=2 unmapped=1 | exit_mmio | no_fault")
    assert [e.slot for e in tr.events] == [2]
    assert canonical_query(parse_query(SPLIT + "&f=delslot:80100000,delslot").scenario).endswith(
        "f=delslot:80000000,delslot")


def test_dirty_logging_of_one_slot_leaves_the_others_alone(model):
    q = "pg=2m&s2=80000000:400000&v2=maywrite:normal:ram:2m&s3=10000000:10000&v3=" + BAR
    tr = run(model, q + "&f=40000000w,80000000w,logon:80000000,80000000w,40001000w,logon:10000000")
    assert story(tr) == ("reg=ok | map normal RWX 2M | map normal RWX 2M | logon ok wrprotected=1 | "
                         "map normal RWX 4K | no_fault | logon -EINVAL")


def test_a_range_event_walks_the_slot_its_range_falls_in(model):
    tr = run(model, SPLIT + "&f=40000000r,80000000r,unmap:80000000,80000000r,40000000r,logon:80000000")
    assert story(tr) == ("reg=ok | map normal RWX 4K | map normal RWX 4K | unmap ok freed=2 unmapped=1 | "
                         "run_error -EFAULT | no_fault | logon -EINVAL")
    assert [s.case for s in tr.events[1].steps if s.id == "prepare.vma_loop"][:1] == ["layout_now"]
    tr = run(model, "s2=80000000:200000&f=unmap:80000000:200000,logon:80000000")
    assert [s.case for s in tr.events[1].steps if s.id == "prepare.vma_loop"] == ["layout_none"]


# ---- the presets --------------------------------------------------------------------------------------

@pytest.mark.parametrize("pid", sorted(VM_PRESETS))
def test_every_vm_preset_is_a_valid_canonical_permalink(pid):
    sc = VM_PRESETS[pid].apply(Scenario())
    parsed = parse_query(canonical_query(sc))
    assert parsed.ok and parsed.scenario == sc
    assert len(sc.layout.slots) == len(VM_PRESETS[pid].names)
    for mid in MODELS:
        assert len(simulate(mid, sc).slots) == len(sc.layout.slots)


def test_the_mte_vm_is_refused_on_612_only_and_the_split_slot_on_617_on():
    assert [m for m in MODEL_IDS if simulate(m, vm("mte-vm")).memslot.result != "ok"] == ["v6.12"]
    assert [m for m in MODEL_IDS if simulate(m, vm("split-slot")).memslot.result != "ok"] == list(CHECKS_CACHEABLE)


def test_the_nic_vm_is_the_same_on_every_kernel():
    stories = {m: story(simulate(m, vm("nic-vm"))) for m in MODEL_IDS}
    assert len(set(stories.values())) == 1
    assert stories["v6.17"] == ("reg=ok | map normal RWX 4K | map normal_nc RW- 4K | exit_mmio | inject iabt | "
                                "logon ok wrprotected=1 | map normal RWX 4K | logon -EINVAL")


# ---- the permalink grammar ------------------------------------------------------------------------------

@pytest.mark.parametrize("query,canonical", [
    ("s2=0x8000_0000:0x40_0000&v2=maywrite", "s2=80000000:400000"),
    ("s2=80000000:400000&v2=pfnmap::dev", "s2=80000000:400000&v2=pfnmap:normal:dev"),
    ("s2=80000000:400000&v2=maywrite:normal:ram:4k", "s2=80000000:400000"),
    ("s2=80000000:400000&v2=maywrite@300000/maywrite@100000", "s2=80000000:400000&v2=maywrite/maywrite@100000"),
    ("v1=shared,maywrite@100000&s2=0:1000:RO", "v1=shared,maywrite@100000&s2=0:1000:ro"),
    ("s2=80000000:400000&v2=&f=delslot:80000000", "s2=80000000:400000&f=delslot:80000000"),
])
def test_layout_keys_are_canonicalised(query, canonical):
    parsed = parse_query(query)
    assert parsed.ok, parsed.errors
    assert canonical_query(parsed.scenario) == canonical


@pytest.mark.parametrize("query,fragment", [
    ("s2=60000000:40000000", "overlaps memslot 1"),
    ("s2=80000000:400000&s3=80200000:1000", "overlaps memslot 2"),
    ("s3=80000000:1000", "s3 is given without s2"),
    ("v2=maywrite", "there is no s2"),
    ("s9=80000000:1000", "at most 8 memslots"),
    ("s2=80000000", "s2 must be <hex IPA>:<hex size>"),
    ("s2=80000800:1000", "multiples of the 4K page"),
    ("s2=80000000:1000:gmem", "not a flag of an added memslot"),
    ("s2=80000000:400000&v2=maywrite/maywrite", "needs its size"),
    ("s2=80000000:400000&v2=maywrite/maywrite@400000", "tile the slot exactly"),
    ("s2=80000000:400000&v2=maywrite@100000/maywrite@100000", "tile the slot's userspace range exactly"),
    ("s2=80000000:400000&v2=bogus", "not a VMA flag"),
    ("s2=80000000:400000&v2=pfnmap,hugetlb", "pfnmap and hugetlb"),
    ("s2=80000000:400000&v2=maywrite:normal:sg", "slot 1's first VMA only"),
    ("s2=80100000:400000&v2=maywrite,hugetlb:normal:ram:2m", "starts and ends on its huge pages"),
    ("v1=" + "/".join(["maywrite@1000"] * 16), "At most 16 VMAs"),
    ("s2=80000000:400000&f=unmap:7ffff000:2000", "inside one memslot"),
    ("s2=80000000:400000&v2=maywrite/shared,maywrite@200000&f=replace:80100000:200000", "inside one VMA"),
    ("s2=80000000:400000&f=logon:90000000", "names its memslot by an IPA inside it"),
])
def test_layout_errors_are_one_sentence(query, fragment):
    parsed = parse_query(query)
    assert not parsed.ok
    assert fragment in parsed.errors[0], parsed.errors
    assert parse_query(canonical_query(parsed.scenario)).ok     # the nearest valid scenario is valid


def test_the_json_has_every_slot_and_each_faults_slot():
    sc = vm("split-slot")
    j = trace_json(simulate("v6.17", sc), canonical_url("v6.17", sc))
    assert [(m["slot"], m["result"], len(m["vmas"])) for m in j["memslots"]] == [(1, "ok", 1), (2, "-EINVAL", 3)]
    assert j["memslot"]["result"] == "-EINVAL"
    vma2 = j["memslots"][1]["vmas"][1]
    assert (vma2["ipa"], vma2["size"], vma2["flags"], vma2["mt"], vma2["mem"], vma2["pg"]) == (
        "0x80200000", "0x100000", ["pfnmap", "io", "shared", "maywrite"], "normal", "dev", "2m")
    assert [f["slot"] for f in j["faults"]] == [1, 2, 2, 2, 2]
    assert j["memslots"][1]["steps"] == {"from": 4, "to": 11}


# Scenarios that reach the layout's own steps (tests/sim/test_registry.py reads them).
LAYOUT_CASES = [
    "s2=ff00000000:200000000&f=40000000r",
    SPLIT + "&f=80000000r,unmap:80000000,logon:80000000",
    "s2=80000000:200000&f=unmap:80000000:200000,logon:80000000",
    "host=fwb&" + SPLIT + "&f=80200000r",
]
