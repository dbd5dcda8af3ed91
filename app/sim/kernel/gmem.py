"""guest_memfd memslots on arm64 (6.18 on): the registration rules of kvm_arch_prepare_memory_region(),
the dispatch in kvm_handle_guest_abort() and gmem_abort() (arch/arm64/kvm/mmu.c).

A mixin for the models whose kernel has them: it sits before the model it extends in the class
bases and hands everything that is not a guest_memfd slot on to it.
"""
from __future__ import annotations

from ..hw.pgtable import Prot
from . import kvm_main
from .types import EINVAL


class GuestMemfd:
    """guest_memfd slots: the memory comes from the guest_memfd, never from the VMA."""

    supports_gmem = True
    refuses_gmem_with_mte = False      # 7.2: an explicit check at memslot time

    def prepare_gmem(self, sc, t):
        if "gmem" not in sc.slot:
            return None
        if t:
            t.step("prepare.gmem", gmem_only=True)
        if self.refuses_gmem_with_mte and "mte" in sc.vm:
            if t:
                t.step("prepare.gmem_mte", kvm_has_mte=True)
            return EINVAL
        return None

    def call_user_mem_abort(self, sc, st, s2, t):
        if "gmem" not in sc.slot:
            return super().call_user_mem_abort(sc, st, s2, t)
        if t:
            t.step("abort.dispatch", gmem=True)
        return self.abort_return(self.gmem_abort(sc, st, s2, t), st, t, "gmem_abort")

    def gmem_abort(self, sc, st, s2, t):
        """Model of gmem_abort(): a page of the guest_memfd, Normal memory, never a block."""
        ab = st.abort
        st.exec_fault = ab.is_iabt and not ab.s1ptw
        if t:
            t.step("gmem.entry", perm_fault=ab.is_perm, write_fault=st.write_fault, exec_fault=st.exec_fault)
        page = sc.page_size
        st.ipa &= ~(page - 1)
        st.vma_pagesize = page
        st.pa = kvm_main.backing_pa(st.ipa)
        st.pfn, st.has_page, st.writable = st.pa >> sc.page_shift, True, True
        if t:
            t.step("gmem.get_pfn", pfn=st.pfn, pa=st.pa)
        prot = Prot.R | Prot.W
        if st.exec_fault or self.has_dic(sc):
            prot |= Prot.X
        st.prot = prot
        if t:
            t.step("gmem.prot", prot=prot, exec_fault=st.exec_fault, perm_fault=ab.is_perm)
            t.step("gmem.lock_retry")
        self.stage2_install(sc, st, s2, t, "gmem.map", ab.is_perm)
        if t:
            t.step("gmem.out", size=page)
        return None
