"""Steps of gmem_abort() (arch/arm64/kvm/mmu.c, 6.18 on): a fault in a guest_memfd memslot."""
from __future__ import annotations

from ..hw.memattr import S2_NORMAL, s2_memattr
from ..hw.pgtable import Prot
from .registry import declare
from .uma import pfn_state

MMU_C = "arch/arm64/kvm/mmu.c"

declare("gmem.entry", "gmem_abort", MMU_C, "fault", "memslot",
        lambda v: "gmem_abort(): perm_fault={}, write_fault={}, exec_fault={}{}.".format(
            v["perm_fault"], v["write_fault"], v["exec_fault"],
            "" if v["perm_fault"] else "; top up the page-table cache"),
        code={"": "write_fault, exec_fault from ESR\nnot a permission fault -> top up the page-table cache"})

declare("gmem.get_pfn", "gmem_abort", MMU_C, "fault", "pfn",
        "kvm_gmem_get_pfn(): the guest_memfd's own folio for the gfn (allocated on first use), pfn {pfn:#x}. Had "
        "it failed, KVM would have filled a KVM_EXIT_MEMORY_FAULT exit for the VMM and KVM_RUN would return the "
        "error.", state=pfn_state, key=True,
        code={"": "pfn = kvm_gmem_get_pfn(kvm, slot, gfn)\nerror -> prepare KVM_EXIT_MEMORY_FAULT, return it"})


def _prot_state(case, v, ctx):
    prot = v["prot"]
    desc = {"MemAttr": s2_memattr(S2_NORMAL, ctx.has_fwb), "prot": prot}
    if not v["perm_fault"]:
        desc |= {"S2AP": "RW", "XN": 0 if prot & Prot.X else 1}
    return {"desc": desc, "memtype": {"s2": S2_NORMAL}}


declare("gmem.prot", "gmem_abort", MMU_C, "fault", "s2",
        lambda v: "prot = {}: R, W (a guest_memfd slot is never read-only){}. Always Normal memory: neither a VMA "
                  "nor the PFN is asked for a memory type.".format(
                      Prot.describe(v["prot"]), ", X: an exec fault" if v["exec_fault"] else
                      ", X: CACHE_DIC" if v["prot"] & Prot.X else ""),
        code={"": "prot: R, W unless the slot is read-only, X for an exec fault or with CACHE_DIC"},
        state=_prot_state, key=True, mail=True, memtype=True)

declare("gmem.lock_retry", "gmem_abort", MMU_C, "fault", "s2",
        "Take kvm_fault_lock; no MMU-notifier invalidation raced with us.",
        code={"": "take the fault lock; an invalidation raced -> retry"}, decides=False)

declare("gmem.out", "gmem_abort", MMU_C, "fault", "s2",
        "Release the page, drop the lock; mark the {size} page dirty (a guest_memfd slot keeps no dirty log, so "
        "nothing is recorded).", code={"": "release the page, drop the lock; W -> mark the page dirty"},
        decides=False)
