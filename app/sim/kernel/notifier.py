"""What the host's mm tells KVM between faults, as every model has it: the MMU notifier
(virt/kvm/kvm_main.c: kvm_mmu_notifier_invalidate_range_start(), kvm_mmu_notifier_clear_flush_young(),
__kvm_handle_hva_range()), the arm64 handlers (arch/arm64/kvm/mmu.c: kvm_unmap_gfn_range(),
kvm_age_gfn()) and the stage-2 walkers they run (arch/arm64/kvm/hyp/pgtable.c:
kvm_pgtable_stage2_unmap() with stage2_unmap_walker(), kvm_pgtable_stage2_test_clear_young() with
stage2_age_walker()). The code is the same in the six kernels but for names (the line table has them).
"""
from __future__ import annotations

from ..hw.mm_ops import WalkRecord
from ..hw.pgtable import KVM_PTE_LEAF_ATTR_LO_S2_AF, stage2_pte_cacheable
from ..hw.stage2 import Stage2, Visit
from ..scenario import Scenario


class MmuNotifier:
    """KVM's mmu_notifier_ops. A scenario's HVA ranges each lie inside one memslot's userspace range:
    `sc` is the view of that slot."""

    def invalidate_range_start(self, sc: Scenario, start: int, end: int, s2: Stage2, t) -> WalkRecord | None:
        """Model of kvm_mmu_notifier_invalidate_range_start(): munmap() (or the unmap inside
        mmap(MAP_FIXED)) of [start, end), given as IPAs; every memslot it meets is unmapped from stage 2
        by kvm_mmu_unmap_gfn_range(). Returns what the unmap walk did, or None if no memslot was met."""
        if t:
            t.step("mn.invalidate_start", hva=sc.hva_of(start), end=sc.hva_of(end))
        rng = self.handle_hva_range(sc, start, end, t, "kvm_mmu_unmap_gfn_range")
        if rng is None:
            return None
        return self.kvm_unmap_gfn_range(sc, *rng, s2, t)

    def clear_flush_young(self, sc: Scenario, start: int, end: int, s2: Stage2, t) -> WalkRecord | None:
        """Model of kvm_mmu_notifier_clear_flush_young(): page reclaim's folio_referenced() asks, through
        ptep_clear_flush_young_notify(), whether the pages were used; KVM ages their stage-2 leaves with
        kvm_age_gfn() and, if any was young, flushes the VM's TLBs (flush_on_ret: arm64 does not select
        CONFIG_KVM_ELIDE_TLB_FLUSH_IF_YOUNG)."""
        if t:
            t.step("mn.age", hva=sc.hva_of(start), end=sc.hva_of(end))
        rng = self.handle_hva_range(sc, start, end, t, "kvm_age_gfn")
        if rng is None:
            return None
        rec = self.kvm_age_gfn(sc, *rng, s2, t)
        young = rec.count("young") > 0
        if young:
            rec.cmo["tlb"] = "done"
        if t:
            t.step("mn.flush", "young" if young else "old", young=young)
        return rec

    def handle_hva_range(self, sc: Scenario, start: int, end: int, t, handler: str) -> tuple[int, int] | None:
        """Model of __kvm_handle_hva_range(): the memslots whose userspace range the HVA range meets,
        each as a gfn range for the handler (taken under mmu_lock). (start, end) as IPAs, or None."""
        lo, hi = max(start, sc.slot_gpa), min(end, sc.slot_gpa + sc.slot_size)
        if not sc.memslot_present or lo >= hi:
            if t:
                t.step("mn.hva_range", "none", handler=handler)
            return None
        if t:
            t.step("mn.hva_range", "slot", gfn=lo >> sc.page_shift, gfn_end=hi >> sc.page_shift, ipa=lo,
                   size=hi - lo, hva=sc.hva_of(lo), handler=handler, slot=(sc.slot_gpa, sc.slot_size))
        return lo, hi

    # ---- arch/arm64/kvm/mmu.c ------------------------------------------------------------------

    def kvm_unmap_gfn_range(self, sc: Scenario, start: int, end: int, s2: Stage2, t) -> WalkRecord:
        """Model of kvm_unmap_gfn_range(): __unmap_stage2_range() over the gfn range."""
        if t:
            t.step("unmap.gfn_range", ipa=start, size=end - start)
        return self.kvm_pgtable_stage2_unmap(sc, start, end, s2, t)

    def kvm_age_gfn(self, sc: Scenario, start: int, end: int, s2: Stage2, t) -> WalkRecord:
        """Model of kvm_age_gfn(): kvm_pgtable_stage2_test_clear_young(mkold = true) over the range."""
        if t:
            t.step("age.gfn", ipa=start, size=end - start)
        rec = WalkRecord(t, "pgt.age_walker")

        def stage2_age_walker(ctx: Visit) -> None:
            new = ctx.old & ~KVM_PTE_LEAF_ATTR_LO_S2_AF
            if new == ctx.old:
                return
            ctx.set(new)
            rec.entry("young", [{"level": ctx.level, "ipa": ctx.addr, "state": "aged", "pte": new}],
                      ipa=ctx.addr, level=ctx.level, old=ctx.old, new=new)

        s2.walk_range(start, end, stage2_age_walker)
        rec.close()
        return rec

    # ---- arch/arm64/kvm/hyp/pgtable.c ----------------------------------------------------------

    def kvm_pgtable_stage2_unmap(self, sc: Scenario, start: int, end: int, s2: Stage2, t) -> WalkRecord:
        """Model of kvm_pgtable_stage2_unmap(): stage2_unmap_walker() on every leaf the range touches and,
        on the way back up, on every table; the TLB entries of what it clears are invalidated (one range
        TLBI after the walk with FWB and FEAT_TLBIRANGE, per entry otherwise)."""
        has_fwb = self.has_fwb(sc)
        if t:
            t.step("pgt.unmap", ipa=start, size=end - start, fwb=has_fwb)
        rec = WalkRecord(t, "pgt.unmap_walker")

        def stage2_unmap_walker(ctx: Visit) -> None:
            if ctx.is_table:
                if ctx.old.entries:            # mm_ops->page_count(childp) != 1: entries left below
                    return
                ctx.clear()
                rec.entry("table", [{"level": ctx.level + 1, "ipa": ctx.addr, "state": "freed"},
                                    {"level": ctx.level, "ipa": ctx.addr, "state": "broken"}],
                          ipa=ctx.addr, level=ctx.level + 1, parent=ctx.level)
                rec.cmo["tlb"] = "done"
                return
            need_flush = stage2_pte_cacheable(ctx.old, has_fwb) and not has_fwb
            linear = sc.at(ctx.addr).mem != "dev"           # the memory of the VMA the leaf maps
            ctx.clear()
            whole = start <= ctx.addr and ctx.addr + ctx.size <= end
            rec.entry("leaf" if whole else "block", [{"level": ctx.level, "ipa": ctx.addr, "state": "broken",
                                                      "pte": ctx.old}],
                      ipa=ctx.addr, level=ctx.level, old=ctx.old, size=ctx.size)
            rec.cmo["tlb"] = "done"
            if need_flush:
                pa = ctx.old & s2.geo.addr_mask()
                rec.clean_dcache("unmap" if linear else "unmap_no_linear", pa=pa, nbytes=ctx.size,
                                 linear_map=linear)
                if not linear:
                    rec.hazard("unmap_dcache_no_linear_alias")

        s2.walk_range(start, end, stage2_unmap_walker, table_post=True)
        rec.close()
        return rec

