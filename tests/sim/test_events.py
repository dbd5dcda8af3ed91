"""Host events between faults, on every kernel: what each event does to the stage-2 table, what the
kernel answers, and what the later faults find (tests.conftest.story: the faults' verdicts with each
event's result and its table changes in its place). The expectations come from the source at each
tag: kvm_main.c's MMU notifier and kvm_set_memory_region(), mmu.c's kvm_unmap_gfn_range(),
kvm_age_gfn(), kvm_arch_commit_memory_region() and kvm_arch_flush_shadow_memslot(), hyp/pgtable.c's
walkers, and kvm_get_vtcr()'s VTCR_EL2.HA."""
import json

import pytest
from hypothesis import given, settings

from app.permalink import canonical_url
from app.present.report import trace_json
from app.present.text import render
from app.present.timeline import snapshot
from app.sim import MODELS, simulate
from tests.conftest import MODEL_IDS, run, story
from tests.strategies import scenarios

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev"                      # nvgrace-gpu usemem
DEVMEM = "vma=pfnmap,io,shared,maywrite&mt=ngnrne&mem=dev"         # a device BAR, non-cacheable
GMEM = "vma=shared,maywrite&slot=gmem"
OLD = ("v6.12", "v6.14", "patch-v3", "v6.17")                     # no guest_memfd memslots
VMA_SIZED = ("v6.14", "patch-v3", "v6.17", "v7.1")                  # get_vma_page_shift() sizes VM_PFNMAP

EVENT_CASES = [
    # --- unmap: the MMU notifier, then no VMA ----------------------------------------------------
    ("unmap clears the leaf and frees the tables left empty; a later fault finds no VMA: -EFAULT",
     "f=40000000r,unmap:40000000,40000000r",
     {"*": "reg=ok | map normal RWX 4K | unmap ok freed=2 unmapped=1 | run_error -EFAULT"}),
    ("a guest_memfd slot faults its page in again without a VMA (gmem_abort() looks none up)",
     GMEM + "&f=40000000r,unmap:40000000,40000000r",
     {**{m: "reg=-EINVAL | not_run | unmap not_run | not_run" for m in OLD},
      "v7.1": "reg=ok | map normal RWX 4K | unmap ok freed=2 unmapped=1 | map normal RWX 4K",
      "v7.3": "reg=ok | map normal RWX 4K | unmap ok freed=2 unmapped=1 | map normal RWX 4K"}),
    ("unmap of one page of a 2M block clears the whole block; the host splits its own mapping too",
     "pg=2m&f=40000000r,unmap:40001000,40000000r,40001000r",
     {"*": "reg=ok | map normal RWX 2M | unmap ok freed=1 unmapped=1 | map normal RWX 4K | run_error -EFAULT"}),
    ("a hugetlbfs block unmapped and mapped again",
     "vma=maywrite,hugetlb&pg=2m&f=40000000r,unmap:40000000:200000,40000000r,replace:40000000:200000,40000000r",
     {"*": "reg=ok | map normal RWX 2M | unmap ok freed=1 unmapped=1 | run_error -EFAULT | replace ok | "
           "map normal RWX 2M"}),
    ("get_vma_page_shift()'s ALIGN() lets a VM_PFNMAP block reach past the VMA, over the unmapped half",
     DEVMEM + "&pg=2m&f=unmap:40100000:100000,40000000r,40001000r",
     {**{m: "reg=ok | unmap ok | map device_nGnRE RW- 2M | no_fault" for m in VMA_SIZED},
      "v6.12": "reg=ok | unmap ok | map device_nGnRE RW- 4K | map device_nGnRE RW- 4K",
      "v7.3": "reg=ok | unmap ok | map device_nGnRE RW- 4K | map device_nGnRE RW- 4K"}),
    ("...and the guest then reaches an HVA the VMM unmapped without any fault",
     DEVMEM + "&pg=2m&f=unmap:40000000:200000,replace:40000000:100000,40000000r,40100000r",
     {**{m: "reg=ok | unmap ok | replace ok | map device_nGnRE RW- 2M | no_fault" for m in VMA_SIZED},
      "v6.12": "reg=ok | unmap ok | replace ok | map device_nGnRE RW- 4K | run_error -EFAULT",
      "v7.3": "reg=ok | unmap ok | replace ok | map device_nGnRE RW- 4K | run_error -EFAULT"}),
    ("a cut inside a 1 GiB block: the PMD around the cut is unmapped first (__split_huge_pmd()), which "
     "clears the block whole though only part of it is inside",
     DEVMEM + "&pg=1g&f=40000000r,unmap:40001000,40000000r",
     {**{m: "reg=ok | map device_nGnRE RW- 1G | unmap ok unmapped=1 | map device_nGnRE RW- 1G" for m in VMA_SIZED},
      "v6.12": "reg=ok | map device_nGnRE RW- 2M | unmap ok freed=1 unmapped=1 | map device_nGnRE RW- 4K",
      "v7.3": "reg=ok | map device_nGnRE RW- 2M | unmap ok freed=1 unmapped=1 | map device_nGnRE RW- 4K"}),
    # --- replace: the same object mapped again ---------------------------------------------------
    ("replace over a mapped page unmaps it through the notifier; the next fault maps it again",
     "vma=shared,maywrite&f=40000000r,replace:40000000,40000000r",
     {"*": "reg=ok | map normal RWX 4K | replace ok freed=2 unmapped=1 | map normal RWX 4K"}),
    ("replace over a hole: no notifier, and the VMA is back",
     "f=40000000r,unmap:40000000,40000000r,replace:40000000,40000000r",
     {"*": "reg=ok | map normal RWX 4K | unmap ok freed=2 unmapped=1 | run_error -EFAULT | replace ok | "
           "map normal RWX 4K"}),
    # --- age: AF cleared, then an access-flag fault unless the walker sets AF -------------------------
    ("age clears AF; without FEAT_HAFDBS the next access takes an access-flag fault",
     "f=40000000r,age:40000000,40000000r",
     {"*": "reg=ok | map normal RWX 4K | age ok aged=1 | resume"}),
    ("with FEAT_HAFDBS (VTCR_EL2.HA, which every model sets) the walker sets AF: no fault",
     "host=fwb,dic,ha&f=40000000r,age:40000000,40000000r",
     {"*": "reg=ok | map normal RWX 4K | age ok aged=1 | no_fault"}),
    ("age of a range with nothing mapped at stage 2 ages nothing",
     "f=age:40000000,40000000r",
     {"*": "reg=ok | age ok | map normal RWX 4K"}),
    # --- dirty logging on and off: KVM_MR_FLAGS_ONLY --------------------------------------------------
    ("logon write-protects the block; a write is mapped at page size, a read elsewhere read-only",
     "pg=2m&f=40000000w,logon,40000000w,40000000r,40001000r",
     {"*": "reg=ok | map normal RWX 2M | logon ok wrprotected=1 | map normal RWX 4K | no_fault | "
           "map normal R-X 4K"}),
    ("logoff keeps the read-only block; the next write relaxes it whole",
     "pg=2m&f=40000000r,logon,logoff,40000000w",
     {"*": "reg=ok | map normal RWX 2M | logon ok wrprotected=1 | logoff ok | relax normal RWX 2M"}),
    ("logging a VM_PFNMAP slot is refused again at KVM_MR_FLAGS_ONLY; the mapping stays writable",
     DEVMEM + "&f=40000000r,logon,40000000w",
     {"*": "reg=ok | map device_nGnRE RW- 4K | logon -EINVAL | no_fault"}),
    ("the VMA mapped over the slot is checked at KVM_MR_FLAGS_ONLY: merged kernels refuse a cacheable PFNMAP "
     "without DIC, and the slot keeps logging",
     "slot=log&remap=1&" + NVG + "&host=fwb&f=logoff,40000000r",
     {"v6.12": "reg=ok | logoff ok | map device_nGnRE RW- 4K", "v6.14": "reg=ok | logoff ok | map device_nGnRE RW- 4K",
      "patch-v3": "reg=ok | logoff ok | map normal RW- 4K",
      "v6.17": "reg=ok | logoff -EINVAL | run_error -EFAULT", "v7.1": "reg=ok | logoff -EINVAL | run_error -EFAULT",
      "v7.3": "reg=ok | logoff -EINVAL | run_error -EFAULT"}),
    ("an MTE VM checks the VMA mapped over the slot again", "host=fwb,dic,mte&vm=mte&remap=1&f=logon",
     {"*": "reg=ok | logon -EINVAL"}),
    ("flags the slot already has: nothing to change, 0", "slot=log&f=logon,logoff,logoff",
     {"*": "reg=ok | logon ok | logoff ok | logoff ok"}),
    ("a guest_memfd slot's flags cannot change, it can only be deleted", GMEM + "&f=logon,logoff,delslot",
     {**{m: "reg=-EINVAL | logon not_run | logoff not_run | delslot not_run" for m in OLD},
      "v7.1": "reg=ok | logon -EINVAL | logoff -EINVAL | delslot ok",
      "v7.3": "reg=ok | logon -EINVAL | logoff -EINVAL | delslot ok"}),
    ("a read-only slot: logging on write-protects nothing new, and writes stay MMIO",
     "slot=ro&f=40000000r,logon,40000000w",
     {"*": "reg=ok | map normal R-X 4K | logon ok | exit_mmio"}),
    ("without DIC, v7.1's relax for a logged write drops X again",
     "host=fwb&f=40000000r,40000000x,logon,40000000w,40000000x",
     {**{m: "reg=ok | map normal RW- 4K | relax normal RWX 4K | logon ok wrprotected=1 | relax normal RWX 4K | "
            "no_fault" for m in ("v6.12", "v6.14", "patch-v3", "v6.17", "v7.3")},
      "v7.1": "reg=ok | map normal RW- 4K | relax normal RWX 4K | logon ok wrprotected=1 | relax normal RW- 4K | "
              "relax normal RWX 4K"}),
    ("with every VMA gone, the FLAGS_ONLY checks have nothing to look at",
     "f=unmap:40000000:40000000,logon,40000000r",
     {"*": "reg=ok | unmap ok | logon ok | run_error -EFAULT"}),
    # --- delslot: KVM_MR_DELETE ---------------------------------------------------------------------
    ("after delslot the IPA has no memslot: MMIO for data, an abort for instructions",
     "f=40000000r,delslot,40000000r,40000000x",
     {"*": "reg=ok | map normal RWX 4K | delslot ok freed=2 unmapped=1 | exit_mmio | inject iabt"}),
    ("deleting it again: -EINVAL", "f=delslot,delslot", {"*": "reg=ok | delslot ok | delslot -EINVAL"}),
    ("after delslot the notifier finds no memslot", "f=delslot,unmap:40000000,age:40000000,replace:40000000,40000000r",
     {"*": "reg=ok | delslot ok | unmap ok | age ok | replace ok | exit_mmio"}),
    ("a refused memslot: no event ever happens", "host=fwb,dic,mte&vm=mte&f=40000000r,unmap:40000000",
     {"*": "reg=-EINVAL | not_run | unmap not_run"}),
]


@pytest.mark.parametrize("name,query,expect", EVENT_CASES, ids=[c[0] for c in EVENT_CASES])
def test_event_case(model, name, query, expect):
    assert story(run(model, query)) == expect.get(model, expect.get("*"))


def test_every_event_case_names_every_model():
    for name, _, table in EVENT_CASES:
        assert "*" in table or set(table) == set(MODEL_IDS), name


def _steps(e) -> list[tuple[str, str]]:
    return [(s.id, s.case) for s in e.steps]


def test_unmap_runs_the_notifier_then_the_stage2_walker():
    for m in MODEL_IDS:
        e = run(m, "pg=2m&f=40000000r,unmap:40001000").events[0]
        # munmap() cuts the VMA at 0x40001000, inside a PMD the VMA covers: __split_huge_pmd() tells the
        # notifiers about the whole PMD first (mm/huge_memory.c), then the unmap tells them about the page.
        assert _steps(e)[:7] == [("vmm.munmap", ""), ("vmm.split_pmd", ""), ("mn.invalidate_start", ""),
                                 ("mn.hva_range", "slot"), ("unmap.gfn_range", ""), ("pgt.unmap", ""),
                                 ("pgt.unmap_walker", "leaf")], m
        assert [dict(s.vars)["size"] for s in e.steps if s.id == "pgt.unmap"] == [0x200000, 0x1000], m
        assert dict(e.cmo) == {"dcache": "none", "tlb": "done"}
        block = e.states[6]["table"]
        assert block == [{"level": 2, "ipa": 0x4000_0000, "state": "broken", "pte": run(m, "pg=2m&f=40000000r")
                          .faults[0].s2.pte}]


def _unmapped(e) -> list[tuple[int, int]]:
    return [(dict(s.vars)["ipa"], dict(s.vars)["size"]) for s in e.steps if s.id == "pgt.unmap"]


def test_a_vma_cut_inside_a_pmd_unmaps_the_whole_pmd_at_stage_2():
    """Recorded on every kernel (conformance: anon-unmap-next, memfd-unmap-mid): munmap() of one page of a
    VMA of small pages also unmaps its neighbours at stage 2, because __split_vma() ->
    vma_adjust_trans_huge() -> split_huge_pmd_if_needed() invalidates the PMD range around a cut that is
    not PMD-aligned when the VMA covers that PMD whole; a cut on a PMD boundary, or in a PMD the VMA no
    longer covers whole, invalidates nothing more than the range."""
    for m in MODEL_IDS:
        tr = run(m, "f=40000000r,40001000r,unmap:40000000,40001000r")
        assert _unmapped(tr.events[0]) == [(0x4000_0000, 0x20_0000), (0x4000_0000, 0x1000)], m
        assert [f.outcome for f in tr.faults] == ["map", "map", "map"], m
        # A cut at each end (a range in the middle): the PMD once, then the range.
        tr = run(m, "f=40000000r,40005000r,unmap:40002000:2000,40000000r,40005000r,unmap:40007000,40005000r")
        assert _unmapped(tr.events[0]) == [(0x4000_0000, 0x20_0000), (0x4000_2000, 0x2000)], m
        # The VMA left now starts at 0x40004000: the PMD around 0x40007000 is no longer inside it.
        assert _unmapped(tr.events[1]) == [(0x4000_7000, 0x1000)], m
        assert [f.outcome for f in tr.faults] == ["map", "map", "map", "map", "no_fault"], m
        # On PMD boundaries no PMD is cut; nor over a hole, where nothing is unmapped at all.
        assert _unmapped(run(m, "f=40000000r,unmap:40000000:200000").events[0]) == [(0x4000_0000, 0x20_0000)]
        tr = run(m, "f=40000000r,unmap:40001000,replace:40001000,40000000r")
        assert _unmapped(tr.events[1]) == [] and tr.faults[1].outcome == "map", m
        # 16K pages: the PMD is 32 MiB.
        tr = run(m, "g=16k&f=40000000r,unmap:40004000")
        assert _unmapped(tr.events[0]) == [(0x4000_0000, 0x200_0000), (0x4000_4000, 0x4000)], m


def test_with_hardware_af_the_retried_access_makes_a_relaxed_leaf_young():
    """Recorded (conformance anon-age-log): an aged leaf that a write relaxes keeps AF clear
    (kvm_pgtable_stage2_relax_perms() sets S2AP and XN only); the guest's retried store then walks a leaf
    it may use, and with FEAT_HAFDBS and VTCR_EL2.HA the walk sets AF: the next aging finds it young."""
    for m in MODEL_IDS:
        tr = run(m, "host=fwb,dic,ha&f=40000000w,age:40000000,logon,40000000w,age:40000000")
        assert tr.faults[1].outcome == "relax" and not tr.faults[1].s2.pte & (1 << 10), m
        assert dict(tr.events[2].changes).get("aged") == 1, m
        # Without ha the store's first fault is the access-flag fault (handle_access_fault() makes the leaf
        # young), and its permission fault comes after, a fault of the permalink's own.
        tr = run(m, "host=fwb,dic&f=40000000w,age:40000000,logon,40000000w.af,40000000w,age:40000000")
        assert [f.outcome for f in tr.faults] == ["map", "resume", "relax"], m
        assert tr.faults[2].s2.pte & (1 << 10) and dict(tr.events[2].changes).get("aged") == 1, m


def test_unmapping_a_cacheable_leaf_without_fwb_cleans_it_and_one_without_a_linear_alias_is_a_hazard():
    for m in MODEL_IDS:
        e = run(m, "host=dic&f=40000000r,unmap:40000000").events[0]
        assert ("clean_dcache", "unmap") in _steps(e) and dict(e.cmo)["dcache"] == "done" and e.hazard is None
        with_fwb = run(m, "f=40000000r,unmap:40000000").events[0]
        assert dict(with_fwb.cmo)["dcache"] == "none" and not any(s == "clean_dcache" for s, _ in _steps(with_fwb))
    # v6.17 on maps a VM_IO PFN outside the kernel's map Normal; unmapping it cleans it by a VA it has not.
    for m in MODEL_IDS:
        e = run(m, "vma=io,shared,maywrite&mem=dev&host=dic&f=40000000r,unmap:40000000").events[0]
        want = "unmap_dcache_no_linear_alias" if m in ("v6.17", "v7.1", "v7.3") else None
        assert (e.hazard or {}).get("key") == want, m
        if want:
            assert e.hazard["kind"] == "host_oops" and e.hazard["where"]["func"] == "__clean_dcache_guest_page"


def test_a_pfnmap_block_past_the_vma_is_a_hazard_where_the_vma_sizes_it():
    q = DEVMEM + "&pg=2m&f=unmap:40100000:100000,40000000r"
    for m in MODEL_IDS:
        f = run(m, q).faults[0]
        assert ((f.hazard or {}).get("key") == "pfnmap_block_past_vma") == (m in VMA_SIZED), m
    step = next(s for s in run("v6.17", q).faults[0].steps if s.id == "uma.vma_size")
    assert "reaches past the end of the VMA" in step.text
    # A fault in the middle of the block is sized down: ALIGN() rounds it up to the block's end.
    assert run("v6.17", DEVMEM + "&pg=2m&f=unmap:40100000:100000,40001000r").faults[0].s2.size == 4096


def test_age_leaves_no_tlbi_in_the_walker_and_the_notifier_flushes_when_young():
    for m in MODEL_IDS:
        e = run(m, "f=40000000r,age:40000000").events[0]
        assert _steps(e) == [("host.reclaim", ""), ("mn.age", ""), ("mn.hva_range", "slot"), ("age.gfn", ""),
                             ("pgt.age_walker", "young"), ("mn.flush", "young")], m
        assert dict(e.cmo)["tlb"] == "done" and e.states[4]["table"][0]["state"] == "aged"
        old = run(m, "f=age:40000000").events[0]
        assert ("mn.flush", "old") in _steps(old) and dict(old.cmo)["tlb"] == "none"


def test_an_aged_leaf_faults_for_its_access_flag_or_the_walker_sets_it():
    for m in MODEL_IDS:
        f = run(m, "f=40000000r,age:40000000,40000000r").faults[1]
        assert (f.fsc, f.outcome) == ("access_flag", "resume")
        assert [s.id for s in f.steps][-2:] == ["handle_access_fault", "guest.result"]
        tr = run(m, "host=fwb,dic,ha&f=40000000r,age:40000000,40000000r")
        f = tr.faults[1]
        walk = f.steps[0]
        assert f.fsc is None and dict(walk.vars)["hw_af"] is True and "sets AF itself" in walk.text
        assert f.states[0]["table"][0]["state"] == "young"
        assert tr.leaves[0].pte & (1 << 10)


def test_an_access_flag_fault_on_a_leaf_without_the_permission_faults_again():
    # AF comes before permissions: KVM sets AF and resumes; the re-run write then faults on S2AP.
    tr = run("v6.17", "slot=log&f=40000000r,age:40000000,40000000w")
    assert tr.faults[1].fsc == "access_flag"
    assert tr.faults[1].guest_result["kind"] == "faults_again"


def test_logon_write_protects_every_leaf_and_later_faults_log():
    for m in MODEL_IDS:
        tr = run(m, "f=40000000w,40001000w,logon,40002000w")
        e = tr.events[0]
        assert _steps(e) == [("slot.modify", "flags_only"), ("slot.prepare", "log_on"), ("prepare.entry", "flags_only"),
                             ("prepare.vma_loop", "flags_only"), ("prepare.pfnmap_log", "not_pfnmap"),
                             ("slot.commit", "log_on"), ("slot.wp", ""), ("pgt.wrprotect", "leaf"),
                             ("pgt.wrprotect", "leaf"), ("slot.split", "off")], m
        assert all(leaf.perm[1] == "-" for leaf in tr.leaves if leaf.ipa < 0x4000_2000)
        entry = next(s for s in tr.faults[2].steps if s.id == "uma.entry")
        assert dict(entry.vars)["logging_active"] is True


def test_logoff_frees_nothing_and_keeps_the_mappings():
    for m in MODEL_IDS:
        tr = run(m, "f=40000000r,logon,logoff")
        assert _steps(tr.events[1])[-1] == ("slot.commit", "log_off") and tr.events[1].changes == ()
        assert tr.leaves[0].perm == "R-X"


def test_delslot_invalidates_then_unmaps_the_whole_slot():
    for m in MODEL_IDS:
        e = run(m, "pg=2m&f=40000000r,40200000r,delslot").events[0]
        ids = [s for s, _ in _steps(e)]
        assert ids[:4] == ["slot.delete", "slot.invalidate", "slot.flush_shadow", "pgt.unmap"], m
        assert ids[-2:] == ["prepare.entry", "slot.commit"] and dict(e.changes) == {"freed": 1, "unmapped": 2}


def test_a_long_walk_shows_four_entries_and_sums_up_the_rest():
    # The whole PMD, so that no VMA cut adds a walk of its own (test_a_vma_cut_inside_a_pmd_...).
    tr = run("v7.3", "f=" + ",".join(f"{0x4000_0000 + i * 0x1000:x}r" for i in range(7)) + ",unmap:40000000:200000")
    e = tr.events[0]
    walker = [s for s in e.steps if s.id == "pgt.unmap_walker"]
    assert [s.case for s in walker] == ["leaf"] * 4 + ["more"]
    assert "3 more leaves cleared, 2 more empty tables freed" in walker[-1].text
    assert len(e.states[-1]["table"]) == 3 + 2 * 2
    assert dict(e.changes) == {"freed": 2, "unmapped": 7}


@settings(max_examples=60, deadline=None)
@given(scenarios(max_faults=6))
def test_tracing_changes_no_outcome_with_events(sc):
    for mid in MODELS:
        a, b = simulate(mid, sc), simulate(mid, sc, trace=False)
        assert [(f.outcome, f.errno, f.inject, f.s2) for f in a.faults] == \
            [(f.outcome, f.errno, f.inject, f.s2) for f in b.faults]
        assert [(e.result, e.changes, e.cmo, e.hazards and e.hazards[0][0]) for e in a.events] == \
            [(e.result, e.changes, e.cmo, e.hazards and e.hazards[0][0]) for e in b.events]


@settings(max_examples=60, deadline=None)
@given(scenarios(max_faults=6))
def test_the_picture_folds_the_events_and_ends_on_the_table_the_trace_ends_with(sc):
    """With every event's steps counted, the last step's table is the trace's final table; without
    them (the page's numbering) the events still reach the table, at the next fault."""
    for mid in MODELS:
        tr = simulate(mid, sc)
        for e in tr.events:
            assert len(e.states) == len(e.steps)
            assert sum("verdict" in d for d in e.states) == (e.result != "not_run")
        n = len(tr.all_steps(events=True))
        snap = snapshot(tr, n, events=True)
        leaves = sorted((e.pte, lvl) for (lvl, _), entries in snap.tables.items() for e in entries.values()
                        if e.pte and e.state not in ("table", "invalid"))
        assert leaves == sorted((leaf.pte, leaf.level) for leaf in tr.leaves), mid
        if tr.items and tr.items[-1][0] == "fault":
            plain = snapshot(tr, len(tr.all_steps()))
            assert sorted((e.pte, lvl) for (lvl, _), entries in plain.tables.items() for e in entries.values()
                          if e.pte and e.state not in ("table", "invalid")) == leaves, mid


def test_the_json_gives_each_event_its_place_in_f():
    q = "pg=2m&f=40000000r,unmap:40000000:1000,40000000r,logon"
    tr = run("v6.17", q)
    j = trace_json(tr, "/v6.17/?" + q)
    assert [(e["at"], e["after_faults"], e["kind"], e["ipa"], e["size"], e["result"]) for e in j["events"]] == \
        [(1, 1, "unmap", "0x40000000", 4096, "ok"), (3, 2, "logon", None, None, "ok")]
    assert j["events"][0]["changes"] == {"freed": 1, "unmapped": 1} and j["events"][0]["cmo"]["tlb"] == "done"
    assert j["events"][0]["steps"][0]["id"] == "vmm.munmap" and j["events"][0]["hazard"] is None
    assert len(j["faults"]) == 2 and [c.get("event") for c in j["vmm"]] == [None, None, None, 1, None, 2]
    assert run("v6.17", "f=40000000r").events == () and trace_json(run("v6.17", "f=40000000r"), "/")["events"] == []
    json.dumps(j)


def test_the_mail_text_shows_the_events_in_order():
    q = "f=40000000r,unmap:40000000,40000000r"
    sc = run("v6.14", q)
    text = render(sc, "events", canonical_url("v6.14", sc_of(q)))
    lines = text.splitlines()
    order = [i for i, line in enumerate(lines) if line.startswith(("fault ", "event "))]
    assert [lines[i].split(":")[0] for i in order] == ["fault 1", "event 1 (after 1 fault)", "fault 2"]
    assert "munmap()" in text and "finds no VMA" in text
    assert all(len(line) <= 72 for line in lines) and text.isascii()


def sc_of(query):
    from app.permalink import parse_query
    return parse_query(query).scenario
