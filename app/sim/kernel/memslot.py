"""Memslot registration and the capability query, as v6.14 has them: check_memory_region_flags()
(virt/kvm/kvm_main.c), kvm_arch_prepare_memory_region() (arch/arm64/kvm/mmu.c) and
kvm_vm_ioctl_check_extension() (arch/arm64/kvm/arm.c)."""
from __future__ import annotations

from ..scenario import MEMSLOT_GPA, MEMSLOT_HVA, MEMSLOT_SIZE, Scenario
from .types import EINVAL


class Memslot:
    """KVM_SET_USER_MEMORY_REGION's checks and KVM_CHECK_EXTENSION(243)."""

    supports_gmem = False              # arm64 guest_memfd memslots (6.18 on)

    def registration_vma(self, sc: Scenario) -> tuple[frozenset, str]:
        """The VMA KVM sees at KVM_SET_USER_MEMORY_REGION: with remap=1, anonymous RAM."""
        if sc.remap:
            return frozenset({"maywrite"} | ({"mteok"} if "mte" in sc.host else set())), "normal"
        return sc.vma, sc.mt

    def check_memory_region_flags(self, sc: Scenario, t) -> str | None:
        """Model of check_memory_region_flags(), for a guest_memfd slot."""
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

    def prepare_memory_region(self, sc: Scenario, t) -> str:
        """Model of kvm_arch_prepare_memory_region(), after the generic flag checks."""
        err = self.check_memory_region_flags(sc, t)
        if err:
            return err
        if t:
            t.step("prepare.entry", gpa=MEMSLOT_GPA, end=MEMSLOT_GPA + MEMSLOT_SIZE, ipa=sc.ipa)
        err = self.prepare_gmem(sc, t)
        if err:
            return err
        flags, mt = self.registration_vma(sc)
        if t:
            t.step("prepare.vma_loop", hva=MEMSLOT_HVA, flags=flags, remap=sc.remap)
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
