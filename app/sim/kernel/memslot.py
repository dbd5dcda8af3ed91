"""Memslot registration and the capability query, as v6.14 has them: check_memory_region_flags()
(virt/kvm/kvm_main.c), kvm_arch_prepare_memory_region() (arch/arm64/kvm/mmu.c) and
kvm_vm_ioctl_check_extension() (arch/arm64/kvm/arm.c); and the memslot changes between faults:
KVM_SET_USER_MEMORY_REGION on the existing slot (kvm_set_memory_region(), kvm_set_memslot() in
kvm_main.c) with only KVM_MEM_LOG_DIRTY_PAGES changed (KVM_MR_FLAGS_ONLY: the checks again, then
kvm_arch_commit_memory_region(), kvm_mmu_wp_memory_region(), kvm_mmu_split_memory_region()) or with
size 0 (KVM_MR_DELETE: kvm_invalidate_memslot(), kvm_arch_flush_shadow_memslot())."""
from __future__ import annotations

from dataclasses import replace

from ..hw.mm_ops import WalkRecord
from ..hw.pgtable import KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W
from ..hw.stage2 import Stage2, Visit
from ..scenario import MEMSLOT_HVA, Scenario
from .types import EFAULT, EINVAL


class Memslot:
    """KVM_SET_USER_MEMORY_REGION's checks and KVM_CHECK_EXTENSION(243)."""

    supports_gmem = False              # arm64 guest_memfd memslots (6.18 on)

    def registration_vma(self, sc: Scenario) -> tuple[frozenset, str]:
        """The VMA KVM sees at KVM_SET_USER_MEMORY_REGION: with remap=1, anonymous RAM."""
        if sc.remap:
            return frozenset({"maywrite"} | ({"mteok"} if "mte" in sc.host else set())), "normal"
        return sc.vma, sc.mt

    def cacheable_flag_valid(self, sc: Scenario) -> bool | None:
        """Whether check_memory_region_flags() takes KVM_MEM_ENABLE_CACHEABLE_PFNMAP (bit 3): None where the
        kernel does not know the flag (every kernel but v4 to v6 of the series)."""
        return None

    def check_memory_region_flags(self, sc: Scenario, t) -> str | None:
        """Model of check_memory_region_flags(), for a guest_memfd slot and for the series' memslot flag."""
        if "cacheable" in sc.slot:
            valid = self.cacheable_flag_valid(sc)
            if not valid:
                if t:
                    t.step("memslot.flags", "cacheable_unknown" if valid is None else "cacheable_unsupported",
                           missing=self.missing(sc))
                return EINVAL
            if t:
                t.step("memslot.flags", "cacheable_ok")
        if "gmem" not in sc.slot:
            return None
        if not self.supports_gmem:
            if t:
                t.step("memslot.flags", "unsupported", guest_memfd=True)
            return EINVAL
        bad = [name for flag, name in (("log", "KVM_MEM_LOG_DIRTY_PAGES"), ("ro", "KVM_MEM_READONLY"))
               if flag in sc.slot]
        if bad:
            if t:
                t.step("memslot.flags", "gmem_flags", bad=" and ".join(bad), guest_memfd=True)
            return EINVAL
        if t:
            t.step("memslot.flags", "ok", guest_memfd=True)
        return None

    def prepare_gmem(self, sc: Scenario, t) -> str | None:
        """The guest_memfd checks of kvm_arch_prepare_memory_region() (none before 6.18)."""
        return None

    def set_memory_region(self, sc: Scenario, t) -> str:
        """KVM_SET_USER_MEMORY_REGION creating one memslot of a layout (kvm_set_memory_region():
        KVM_MR_CREATE, no overlap with another slot, then kvm_set_memslot() -> the arch's prepare).
        `sc` is the view of the slot."""
        s = sc.the_slot
        if t:
            t.step("slot.register", n=s.number, gpa=s.gpa, size=s.size, hva=s.hva, flags=s.flags, nvma=len(s.vmas),
                   slot=(s.gpa, s.size))
        return self.prepare_memory_region(sc, t)

    def prepare_memory_region(self, sc: Scenario, t, change: str = "create") -> str:
        """Model of kvm_arch_prepare_memory_region(), after the generic flag checks, for the slot `sc` is
        a view of: at registration (KVM_MR_CREATE) over the VMAs the slot was registered on, or for
        KVM_MR_FLAGS_ONLY over the VMAs there now (the events may have unmapped some). The walk visits
        every VMA inside the slot's userspace range in address order; one VMA refuses the whole slot."""
        if change == "create":
            err = self.check_memory_region_flags(sc, t)
            if err:
                return err
        gpa, end = sc.slot_gpa, sc.slot_gpa + sc.slot_size
        if end > 1 << sc.ipa:
            if t:
                t.step("prepare.entry", "beyond", gpa=gpa, end=end, ipa=sc.ipa)
            return EFAULT
        if t:
            t.step("prepare.entry", "" if change == "create" else change, gpa=gpa, end=end, ipa=sc.ipa)
        err = self.prepare_gmem(sc, t)
        if err:
            return err
        for flags, mt in self.vma_walk(sc, change, t):
            err = self.check_vma(sc, flags, mt, t)
            if err != "ok":
                return err
        return "ok"

    def vma_walk(self, sc: Scenario, change: str, t):
        """The VMAs find_vma_intersection() finds over the slot's userspace range, in order, as
        (vm_flags, pgprot type); each announced by its step."""
        if not sc.has_layout:
            if change == "create":
                flags, mt = self.registration_vma(sc)
                if t:
                    t.step("prepare.vma_loop", hva=MEMSLOT_HVA, flags=flags, remap=sc.remap)
                yield flags, mt
                return
            flags, mt = self.current_vma(sc)
            n = len(sc.state.vmas) if sc.state is not None else 1
            if t:
                t.step("prepare.vma_loop", "flags_only" if n else "none", hva=MEMSLOT_HVA, flags=flags, n=n)
            if n:
                yield flags, mt
            return
        views = sc.vma_views()
        if change != "create":                     # the VMAs there now: pieces of the layout's VMAs
            now = [o for a, b, o in sc.host_state.vmas if sc.slot_gpa <= a < sc.slot_gpa + sc.slot_size]
            views = tuple(v for v in views if v.vma_index in now)
            if not views and t:
                t.step("prepare.vma_loop", "layout_none", hva=sc.slot_hva, flags=frozenset(), n=0)
        for k, v in enumerate(views):
            flags, mt = self.registration_vma(v) if change == "create" else self.current_vma(v)
            vma = v.the_vma
            if t:
                t.step("prepare.vma_loop", "layout" if change == "create" else "layout_now", hva=sc.hva_of(vma.start),
                       end=sc.hva_of(vma.end), k=k + 1, n=len(views), flags=flags, remap=v.remap,
                       pieces=sum(1 for *_, o in sc.host_state.vmas if o == vma.index))
            yield flags, mt

    def check_vma(self, sc: Scenario, flags, mt: str, t) -> str:
        """The body of the walk for one VMA: MTE, then VM_PFNMAP with dirty logging, then (v6.17 on) a
        cacheable VM_PFNMAP on a host without FWB and DIC. `sc` carries the slot's (new) flags."""
        if "mte" in sc.vm:
            if "mteok" not in flags:
                if t:
                    t.step("prepare.mte", "refuse", why=self.no_mte_allowed_reason(flags), kvm_has_mte=True,
                           mte_allowed=False)
                return EINVAL
            if t:
                t.step("prepare.mte", "ok", kvm_has_mte=True, mte_allowed=True)
        if "pfnmap" not in flags:
            if t:
                t.step("prepare.pfnmap_log", "not_pfnmap", pfnmap=False)
            return "ok"
        if "log" in sc.slot:
            if t:
                t.step("prepare.pfnmap_log", "refuse", pfnmap=True, log_dirty=True)
            return EINVAL
        if t:
            t.step("prepare.pfnmap_log", "ok", pfnmap=True, log_dirty=False)
        return self.prepare_pfnmap_cacheable(sc, flags, mt, t)

    def current_vma(self, sc: Scenario) -> tuple[frozenset, str]:
        """The VMA over the slot once the faults run: the configured one (remap=1 mapped it over the
        anonymous RAM the slot was registered on), with VM_MTE_ALLOWED as the kernel gives it."""
        flags, mt = self.registration_vma(replace(sc, remap=False))
        return flags, mt

    @staticmethod
    def no_mte_allowed_reason(flags) -> str:
        """Which real mapping lacks VM_MTE_ALLOWED on an MTE host (arch_calc_vm_flag_bits() gives it
        to anonymous, hugetlbfs, shmem and memfd mappings): a key of steps.memslot.NO_MTE_WHY."""
        return "driver" if {"pfnmap", "mixedmap", "io"} & flags else "other"

    def prepare_pfnmap_cacheable(self, sc: Scenario, flags, mt: str, t) -> str:
        """v6.14 does not look at the VMA's memory type here: Marc's review point."""
        return "ok"

    def check_extension(self, sc: Scenario, t) -> int:
        """KVM_CHECK_EXTENSION(KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED = 243) on the VM fd."""
        if t:
            t.step("cap.check_extension", "unknown", cap=243, r=0)
        return 0

    # ---- KVM_SET_USER_MEMORY_REGION on the existing slot, between faults -----------------------

    def set_dirty_logging(self, sc: Scenario, on: bool, s2: Stage2, t) -> tuple[str, WalkRecord | None]:
        """KVM_SET_USER_MEMORY_REGION with the slot's flags, KVM_MEM_LOG_DIRTY_PAGES set (on) or clear:
        kvm_set_memory_region() -> kvm_set_memslot(KVM_MR_FLAGS_ONLY). Returns the ioctl's result and
        the write-protect walk, if any. On an error the slot keeps its old flags."""
        new = replace(sc, slot=(sc.slot | {"log"}) if on else (sc.slot - {"log"}))
        err = self.check_memory_region_flags(new, t)
        if err:
            return err, None
        if "gmem" in sc.slot:
            if t:
                t.step("slot.modify", "gmem", gmem=True)
            return EINVAL, None
        if new.slot == sc.slot:
            if t:
                t.step("slot.modify", "nothing", log=on)
            return "ok", None
        if t:
            t.step("slot.modify", "flags_only", log=on)
            t.step("slot.prepare", "log_on" if on else "log_off", log=on)
        err = self.prepare_memory_region(new, t, "flags_only")
        if err != "ok":
            return err, None
        return "ok", self.commit_memory_region(new, "flags_only", s2, t)

    def delete_memory_region(self, sc: Scenario, s2: Stage2, t) -> tuple[str, WalkRecord | None]:
        """KVM_SET_USER_MEMORY_REGION with memory_size 0: kvm_set_memslot(KVM_MR_DELETE). The slot is
        marked invalid and unmapped from stage 2 before anything else (kvm_invalidate_memslot())."""
        if not sc.memslot_present:
            if t:
                t.step("slot.delete", "none")
            return EINVAL, None
        if t:
            t.step("slot.delete", "delete", gpa=sc.slot_gpa, size=sc.slot_size)
            t.step("slot.invalidate")
        rec = self.flush_shadow_memslot(sc, s2, t)
        if t:
            t.step("prepare.entry", "delete")
        self.commit_memory_region(sc, "delete", s2, t)
        return "ok", rec

    def flush_shadow_memslot(self, sc: Scenario, s2: Stage2, t) -> WalkRecord:
        """Model of kvm_arch_flush_shadow_memslot(): unmap the whole slot from stage 2."""
        if t:
            t.step("slot.flush_shadow", gpa=sc.slot_gpa, size=sc.slot_size)
        return self.kvm_pgtable_stage2_unmap(sc, sc.slot_gpa, sc.slot_gpa + sc.slot_size, s2, t)

    def commit_memory_region(self, new: Scenario, change: str, s2: Stage2, t) -> WalkRecord | None:
        """Model of kvm_arch_commit_memory_region(). With logging on (and no manual-protect with
        initially-set, which would protect gradually through KVM_CLEAR_DIRTY_LOG), write-protect the
        slot and split its blocks; otherwise free the eager-split cache: the mappings stay."""
        if change == "delete" or "log" not in new.slot:
            if t:
                t.step("slot.commit", "delete" if change == "delete" else "log_off", log=False)
            return None
        if t:
            t.step("slot.commit", "log_on", log=True)
        rec = self.kvm_mmu_wp_memory_region(new, s2, t)
        self.kvm_mmu_split_memory_region(new, t)
        return rec

    def kvm_mmu_wp_memory_region(self, sc: Scenario, s2: Stage2, t) -> WalkRecord:
        """Model of kvm_mmu_wp_memory_region(): kvm_pgtable_stage2_wrprotect() over the slot (the attr
        walker clears S2AP[1] in every valid leaf), then kvm_flush_remote_tlbs_memslot()."""
        if t:
            t.step("slot.wp", gpa=sc.slot_gpa, size=sc.slot_size)
        rec = WalkRecord(t, "pgt.wrprotect")

        def stage2_attr_walker(ctx: Visit) -> None:
            new = ctx.old & ~KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W
            if new == ctx.old:
                return
            ctx.set(new)
            rec.entry("leaf", [{"level": ctx.level, "ipa": ctx.addr, "state": "wrprotected", "pte": new}],
                      ipa=ctx.addr, level=ctx.level, old=ctx.old, new=new)

        s2.walk_range(sc.slot_gpa, sc.slot_gpa + sc.slot_size, stage2_attr_walker)
        rec.close()
        rec.cmo["tlb"] = "done"
        return rec

    def kvm_mmu_split_memory_region(self, sc: Scenario, t) -> None:
        """Model of kvm_mmu_split_memory_region() -> kvm_mmu_split_huge_pages(): eager splitting runs
        only if the VMM set KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE; the chunk size is 0 by default."""
        if t:
            t.step("slot.split", "off", chunk_size=0)
