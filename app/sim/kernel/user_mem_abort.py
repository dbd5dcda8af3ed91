"""user_mem_abort() (arch/arm64/kvm/mmu.c) as v6.14 has it: a pipeline of small methods named
after the kernel's own pieces, run in the order the model's kernel runs them. Each returns None
to go on or an Exit to stop there."""
from __future__ import annotations

from ..hw.memattr import S2_DEVICE, S2_NORMAL, S2_NORMAL_NC
from ..hw.pgtable import Prot
from ..scenario import Scenario
from . import kvm_main, scatter
from .types import EFAULT, ENOEXEC, Exit, FaultState


class UserMemAbort:
    """The decisions of user_mem_abort(), v6.14."""

    device_var = "device"              # the kernel's name for "map it non-cacheable"
    rejects_read_perm_fault = True     # the "Unexpected L2 read permission error" check (gone by v6.17)
    sizes_pfnmap_from_vma = True       # get_vma_page_shift() sizes VM_PFNMAP from the VMA (gone with the leaf-size fix)
    thp_skips_noncacheable = True      # no huge-page upgrade for a device/non-cacheable mapping (same fix)
    faultin_fn = "__kvm_faultin_pfn"
    releases_page_on_error = False     # the -ENOEXEC return comes before the page is released
    remapped_takes_ref = False         # since 6.13 hva_to_pfn_remapped() takes no page reference
    releases_by_pfn = False            # since 6.13 the page is released by its struct page
    uma_pipeline = ("uma_entry", "uma_vma_lookup", "uma_vma_size", "uma_snapshot", "uma_faultin",
                    "uma_classify", "uma_noexec", "uma_lock_retry", "uma_thp", "uma_mte",
                    "uma_prot", "uma_map", "uma_out")

    def user_mem_abort(self, sc: Scenario, st: FaultState, s2, t) -> Exit | None:
        """Model of user_mem_abort(): the model's pipeline of decisions, stopping at the first exit."""
        for step in self._uma_steps:
            ret = step(sc, st, s2, t)
            if ret is not None:
                return ret
        return None

    def uma_entry(self, sc, st, s2, t):
        ab = st.abort
        st.exec_fault = ab.is_iabt and not ab.s1ptw
        st.logging = "log" in sc.slot and "ro" not in sc.slot
        if t:
            t.step("uma.entry", exec_fault=st.exec_fault, write_fault=st.write_fault, logging_active=st.logging,
                   fault_is_perm=ab.is_perm)
        if self.rejects_read_perm_fault and ab.is_perm and not st.write_fault and not st.exec_fault:
            if t:
                t.step("uma.entry", "read_perm")
            return Exit("run_error", EFAULT)
        return None

    def uma_vma_lookup(self, sc, st, s2, t):
        """mmap_read_lock(); vma_lookup(hva): an event may have unmapped it, and then -EFAULT."""
        hva = sc.hva_of(st.ipa)
        if sc.vma_at(st.ipa) is None:
            if t:
                t.step("uma.vma_lookup", "none", hva=hva)
            return Exit("run_error", EFAULT)
        if t:
            t.step("uma.vma_lookup", hva=hva, flags=sc.vma)
        return None

    def get_vma_page_shift(self, sc: Scenario, ipa: int) -> tuple[int, str]:
        """(vma_shift, why): the size the VMA allows, and which rule gave it."""
        if "hugetlb" in sc.vma and "pfnmap" not in sc.vma:
            return sc.host_leaf.bit_length() - 1, "hugetlb"
        if "pfnmap" not in sc.vma or not self.sizes_pfnmap_from_vma:
            return sc.page_shift, "page" if self.sizes_pfnmap_from_vma else "page_leaf_later"
        return self.pfnmap_vma_shift(sc, ipa), "pfnmap"

    @staticmethod
    def pfnmap_vma_shift(sc: Scenario, ipa: int) -> int:
        """get_vma_page_shift() for VM_PFNMAP: PUD, then PMD, when the HVA and the PA are congruent for
        that size (`pg`: the VMA's alignment) and ALIGN_DOWN(hva, size) >= vm_start and
        ALIGN(hva, size) <= vm_end. ALIGN() rounds up: for a block-aligned hva it is hva itself, so the
        end test passes even where the block reaches past the end of the VMA."""
        page = sc.page_size
        hva = ipa & ~(page - 1)
        vm_start, vm_end = sc.vma_at(ipa)
        pmd = page << (sc.page_shift - 3)
        size = sc.host_leaf
        while size > page:
            if (hva & ~(size - 1)) >= vm_start and -(-hva // size) * size <= vm_end:
                return size.bit_length() - 1
            size = pmd if size > pmd else page
        return sc.page_shift

    def uma_vma_size(self, sc, st, s2, t):
        if st.logging:
            st.force_pte, shift, why = True, sc.page_shift, "logging"
        else:
            shift, why = self.get_vma_page_shift(sc, st.ipa)
        pmd_shift = sc.page_shift + (sc.page_shift - 3)
        pud_shift = pmd_shift + (sc.page_shift - 3)
        notes = []
        if why == "pfnmap" and shift < sc.host_leaf.bit_length() - 1:
            notes.append("vma_demoted")
        if shift == pud_shift and sc.page_size == 4096 and not huge_mapping_ok(sc, st.ipa, 1 << pud_shift):
            shift = pmd_shift
            notes.append("pud_demoted")
        if shift == pmd_shift and not huge_mapping_ok(sc, st.ipa, 1 << pmd_shift):
            shift, st.force_pte = sc.page_shift, True
            notes.append("pmd_demoted")
        st.vma_shift, st.vma_pagesize = shift, 1 << shift
        past = self.block_past_vma(sc, st.ipa, st.vma_pagesize) if why == "pfnmap" else None
        if past:
            notes.append("past_vma" if past == "pfnmap_block_past_vma" else "over_vma")
        st.ipa = st.ipa & ~(st.vma_pagesize - 1)
        if t:
            t.step("uma.vma_size", shift=shift, why=why, notes=tuple(notes), force_pte=st.force_pte,
                   vma_pagesize=st.vma_pagesize, leaf=sc.host_leaf, page=sc.page_size)
        if past:
            st.pending.append((past, t.last if t else None))
        return None

    @staticmethod
    def block_past_vma(sc: Scenario, ipa: int, size: int) -> str | None:
        """Whether the block the VMA sizing chose reaches past the VMA (a hazard key), or None: over HVAs
        another VMA of the slot maps ("over"), or that no VMA maps any more, an event unmapped them."""
        if sc.state is None and not sc.has_layout:
            return None
        base = ipa & ~(size - 1)
        own = other = 0
        for a, b, origin in sc.host_state.vmas:
            if a < base + size and base < b:
                n = min(b, base + size) - max(a, base)
                own, other = (own + n, other) if origin == sc.vma_index else (own, other + n)
        if own == size:
            return None
        return "pfnmap_block_over_vma" if other else "pfnmap_block_past_vma"

    def uma_snapshot(self, sc, st, s2, t):
        st.mte_allowed = "mteok" in sc.vma
        st.allow_any_uc = "uc" in sc.vma
        if t:
            t.step("uma.snapshot", mte_allowed=st.mte_allowed, vfio_allow_any_uc=st.allow_any_uc)
        return None

    def uma_faultin(self, sc, st, s2, t):
        st.pa = kvm_main.backing_pa(st.ipa, sc)
        p = kvm_main.faultin_pfn(sc, st.pa, st.write_fault)
        if p.pfn is None:
            if t:
                t.step("uma.faultin", "error", fn=self.faultin_fn, path=p.path, err=p.error)
            return Exit("run_error", EFAULT)
        st.pfn, st.writable = p.pfn, p.writable
        st.has_page = p.has_page or (self.remapped_takes_ref and p.path.startswith("remapped") and sc.mem != "dev")
        if t:
            t.step("uma.faultin", fn=self.faultin_fn, path=p.path, pfn=p.pfn, pa=st.pa, writable=p.writable,
                   ro="ro" in sc.slot, has_page=st.has_page)
        if sc.mem == "sg" and st.vma_pagesize > sc.page_size and \
                scatter.explain(t, sc, st.vma_pagesize, st.ipa, st.pa, st.abort.fault.ipa):
            st.hazard("udmabuf_overmap", t)
        return None

    @staticmethod
    def pfn_is_map_memory(sc: Scenario) -> bool:
        """pfn_is_map_memory(): the PFN is in memblock and not NOMAP (kernel RAM, scattered or not)."""
        return sc.mem in ("ram", "sg")

    @staticmethod
    def s2_kind(st: FaultState) -> str:
        """The stage-2 memory kind a classification implies (prot adds DEVICE or NORMAL_NC later)."""
        if st.device:
            return S2_NORMAL_NC if st.allow_any_uc else S2_DEVICE
        return S2_NORMAL

    def uma_classify(self, sc, st, s2, t):
        """v6.14: the PFN alone decides: not kernel memory means device, whatever the VMA says."""
        if not self.pfn_is_map_memory(sc):
            st.device = True
            if t:
                t.step("uma.classify", "device_pfn", mem=sc.mem, device=True, kind=self.s2_kind(st))
            self.check_type_mismatch(sc, st, t)
            return None
        return self.classify_ram(sc, st, t, "kernel_memory")

    @staticmethod
    def check_type_mismatch(sc: Scenario, st: FaultState, t) -> None:
        """The host's stage 1 is cacheable (the VMA's pgprot is Normal) and stage 2 will not be: a
        hazard once the leaf is written (stage2_install), marked at this classification."""
        if st.device and sc.mt in ("normal", "tagged"):
            st.pending.append(("device_type_stale", t.last if t else None))

    def classify_ram(self, sc, st, t, why: str):
        """The not-special branch: cacheable; under dirty logging a read maps read-only."""
        if st.logging and not st.write_fault:
            st.writable = False
            if t:
                t.step("uma.classify", "ram_log_ro", why=why, **{self.device_var: False}, writable=False,
                       kind=S2_NORMAL)
        elif t:
            t.step("uma.classify", "ram", why=why, **{self.device_var: False}, kind=S2_NORMAL)
        return None

    def uma_noexec(self, sc, st, s2, t):
        if st.exec_fault and st.device:
            if t:
                t.step("uma.noexec", page_released=self.releases_page_on_error or not st.has_page)
            if st.has_page and not self.releases_page_on_error:
                st.hazard("enoexec_page_ref", t)
            return Exit("run_error", ENOEXEC)
        return None

    def uma_lock_retry(self, sc, st, s2, t):
        if t:
            t.step("uma.lock_retry")
        return None

    def uma_thp(self, sc, st, s2, t):
        ab = st.abort
        if st.vma_pagesize != sc.page_size or st.force_pte or (st.device and self.thp_skips_noncacheable):
            if t:
                why = ("block" if st.vma_pagesize != sc.page_size else "force_pte" if st.force_pte
                       else self.device_var)
                t.step("uma.thp", "no_upgrade", why=why)
            return None
        if ab.is_perm and granule_at(sc, ab.level) > sc.page_size:
            self.align_to(st, granule_at(sc, ab.level), sc)
            if t:
                t.step("uma.thp", "perm_block", size=st.vma_pagesize, vma_pagesize=st.vma_pagesize, pfn=st.pfn,
                       pa=st.pa)
            return None
        pmd = sc.page_size << (sc.page_shift - 3)
        leaf = sc.host_s1_leaf_at(st.ipa)           # get_user_mapping_size(): the host's own leaf
        if leaf >= pmd and huge_mapping_ok(sc, st.ipa, pmd):
            faulting_pfn = st.pfn
            self.align_to(st, pmd, sc)
            if t:
                t.step("thp_adjust", "upgrade", leaf=leaf, pmd=pmd, vma_pagesize=pmd, pfn=st.pfn, pa=st.pa)
            if self.releases_by_pfn and st.has_page and st.pfn != faulting_pfn and sc.mem == "zdev":
                st.hazard("release_aligned_pfn", t)
        elif t:
            t.step("thp_adjust", "stay", leaf=leaf)
        return None

    @staticmethod
    def align_to(st: FaultState, size: int, sc: Scenario) -> None:
        """transparent_hugepage_adjust(): the IPA and the PFN both aligned down to the block."""
        st.vma_pagesize = size
        st.ipa &= ~(size - 1)
        st.pa &= ~(size - 1)
        st.pfn = st.pa >> sc.page_shift

    def uma_mte(self, sc, st, s2, t):
        if st.abort.is_perm or st.device or "mte" not in sc.vm:
            return None
        if not st.mte_allowed:
            return self.mte_not_allowed(t)
        if t:
            t.step("uma.mte", "sanitise", size=st.vma_pagesize)
        return None

    @staticmethod
    def mte_not_allowed(t) -> Exit:
        """A new cacheable mapping in an MTE VM from a VMA without VM_MTE_ALLOWED: -EFAULT."""
        if t:
            t.step("uma.mte", "refuse", mte_allowed=False)
        return Exit("run_error", EFAULT)

    def uma_prot(self, sc, st, s2, t):
        prot = Prot.R
        if st.writable:
            prot |= Prot.W
        if st.exec_fault:
            prot |= Prot.X
        if st.device:
            prot |= Prot.NORMAL_NC if st.allow_any_uc else Prot.DEVICE
        elif self.has_dic(sc):
            prot |= Prot.X
        st.prot = prot
        if t:
            t.step("uma.prot", prot=prot, writable=st.writable, exec_fault=st.exec_fault,
                   cache_dic=self.has_dic(sc), perm_fault=st.abort.is_perm)
        return None

    def uma_map(self, sc, st, s2, t):
        ab = st.abort
        return self.stage2_install(sc, st, s2, t, "uma.map", ab.is_perm and st.vma_pagesize == granule_at(sc, ab.level))

    def uma_out(self, sc, st, s2, t):
        if t:
            t.step("uma.out", mark_dirty=st.writable and st.logging)
        return None


def huge_mapping_ok(sc: Scenario, ipa: int, size: int) -> bool:
    """fault_supports_stage2_huge_mapping(): the memslot's GPA and HVA congruent modulo size (every
    layout makes them so) and the aligned block inside the memslot: a block never spans two slots."""
    start = ipa & ~(size - 1)
    gpa, end = sc.slot_gpa, sc.slot_gpa + sc.slot_size
    return start >= gpa and start + size <= end and (sc.slot_hva - gpa) % size == 0


def granule_at(sc: Scenario, level: int) -> int:
    """The size a leaf at this level maps."""
    return 1 << ((sc.page_shift - 3) * (3 - level) + sc.page_shift)
