"""guest_memfd memslots on arm64 (6.18 on): the registration rules of kvm_arch_prepare_memory_region(),
the dispatch in kvm_handle_guest_abort() and gmem_abort() (arch/arm64/kvm/mmu.c).

A mixin for the models whose kernel has them: it sits before the model it extends in the class
bases and hands everything that is not a guest_memfd slot on to it.
"""
from __future__ import annotations

from . import kvm_main
from .pgtable import Prot
from .units import size_text


class GuestMemfd:
    """guest_memfd slots: the memory comes from the guest_memfd, never from the VMA."""

    supports_gmem = True
    refuses_gmem_with_mte = False      # 7.2: an explicit check at memslot time

    def prepare_gmem(self, sc, t):
        if "gmem" not in sc.slot:
            return None
        if t:
            t.step("prepare.gmem", "A guest_memfd slot whose memory userspace can also map (the guest_memfd is "
                   "mmap-able and shared, as arm64 requires: it has no private memory): allowed.",
                   "guest_memfd slot whose memory is not all mappable -> -EINVAL", gmem_only=True)
        if self.refuses_gmem_with_mte and "mte" in sc.vm:
            if t:
                t.step("prepare.gmem_mte", "A guest_memfd slot in a VM with MTE: guest_memfd cannot keep tags; "
                       "-EINVAL.", "guest_memfd slot and the VM has MTE -> -EINVAL", kvm_has_mte=True)
            return "-EINVAL"
        return None

    def call_user_mem_abort(self, sc, st, s2, t):
        if "gmem" not in sc.slot:
            return super().call_user_mem_abort(sc, st, s2, t)
        if t:
            t.step("abort.dispatch", "kvm_slot_has_gmem(): the slot is backed by a guest_memfd, so gmem_abort() "
                   "handles the fault, not user_mem_abort(): no VMA is looked up.",
                   "guest_memfd slot -> gmem_abort(), else user_mem_abort()", gmem=True)
        return self.abort_return(self.gmem_abort(sc, st, s2, t), st, t, "gmem_abort")

    def gmem_abort(self, sc, st, s2, t):
        """Model of gmem_abort(): a page of the guest_memfd, Normal memory, never a block."""
        ab = st.abort
        st.exec_fault = ab.is_iabt and not ab.s1ptw
        if t:
            t.step("gmem.entry", "gmem_abort(): perm_fault={perm_fault}, write_fault={write_fault}, "
                   "exec_fault={exec_fault}{topup}.", "write_fault, exec_fault from ESR\n"
                   "not a permission fault -> top up the page-table cache",
                   perm_fault=ab.is_perm, write_fault=st.write_fault, exec_fault=st.exec_fault,
                   topup="" if ab.is_perm else "; top up the page-table cache")
        page = sc.page_size
        st.ipa &= ~(page - 1)
        st.vma_pagesize = page
        st.pa = kvm_main.backing_pa(st.ipa)
        st.pfn, st.has_page, st.writable = st.pa >> (page.bit_length() - 1), True, True
        if t:
            t.step("gmem.get_pfn", "kvm_gmem_get_pfn(): the guest_memfd's own folio for the gfn (allocated on "
                   "first use), pfn {pfn:#x}. Had it failed, KVM would have filled a KVM_EXIT_MEMORY_FAULT exit "
                   "for the VMM and KVM_RUN would return the error.",
                   "pfn = kvm_gmem_get_pfn(kvm, slot, gfn)\nerror -> prepare KVM_EXIT_MEMORY_FAULT, return it",
                   pfn=st.pfn)
        prot = Prot.R | Prot.W
        if st.exec_fault or self.has_dic(sc):
            prot |= Prot.X
        st.prot = prot
        if t:
            t.step("gmem.prot", "prot = {prot}: R, W (a guest_memfd slot is never read-only){x}. Always Normal "
                   "memory: neither a VMA nor the PFN is asked for a memory type.",
                   "prot: R, W unless the slot is read-only, X for an exec fault or with CACHE_DIC",
                   prot=Prot.describe(prot),
                   x=", X: an exec fault" if st.exec_fault else ", X: CACHE_DIC" if self.has_dic(sc) else "")
        if t:
            t.step("gmem.lock_retry", "Take kvm_fault_lock; no MMU-notifier invalidation raced with us.",
                   "take the fault lock; an invalidation raced -> retry")
        self.stage2_install(sc, st, s2, t, "gmem.map", ab.is_perm)
        if t:
            t.step("gmem.out", "Release the page, drop the lock; mark the {size} page dirty (a guest_memfd slot "
                   "keeps no dirty log, so nothing is recorded).",
                   "release the page, drop the lock; W -> mark the page dirty", size=size_text(page))
        return None
