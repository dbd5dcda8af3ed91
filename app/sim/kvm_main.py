"""PFN lookup: __kvm_faultin_pfn() and hva_to_pfn() (virt/kvm/kvm_main.c), with the host mm facts
they depend on (GUP's refusal of VM_IO|VM_PFNMAP, special PTEs, read-only host PTEs)."""
from __future__ import annotations

from dataclasses import dataclass

from .scenario import BACKING_PA_OFFSET, Scenario


@dataclass(frozen=True, slots=True)
class Pfn:
    pfn: int | None                  # None: KVM_PFN_ERR_*
    writable: bool
    has_page: bool                   # a refcounted struct page was returned
    path: str                        # how the PFN was found, for the trace
    error: str | None = None         # KVM_PFN_ERR_FAULT / KVM_PFN_ERR_RO_FAULT


def host_pte_writable(sc: Scenario) -> bool:
    """Schema 1: the VMM wrote the whole region, so host PTEs are present and writable where the
    VMA may be written, except a private (COW) PFNMAP whose PTEs stay read-only."""
    return "maywrite" in sc.vma and not ("pfnmap" in sc.vma and sc.is_cow)


def faultin_pfn(sc: Scenario, pa: int, write_fault: bool) -> Pfn:
    """Model of __kvm_faultin_pfn() -> hva_to_pfn(): GUP first, then the VM_IO|VM_PFNMAP fallback."""
    vma, page_shift = sc.vma, sc.page_size.bit_length() - 1
    host_w = host_pte_writable(sc)
    slot_w = "ro" not in sc.slot
    if not {"io", "pfnmap"} & vma:
        if sc.mem == "dev":
            # GUP finds a special PTE (no struct page) and fails; the VMA is not VM_IO|VM_PFNMAP.
            return Pfn(None, False, False, "GUP: special PTE without struct page, and the VMA is "
                       "neither VM_IO nor VM_PFNMAP", "KVM_PFN_ERR_FAULT")
        if write_fault and not host_w:
            return Pfn(None, False, False, "GUP for write fails: the VMA may not be written",
                       "KVM_PFN_ERR_FAULT")
        how = "GUP-fast for write succeeded" if host_w else "GUP (read) succeeded; the host PTE is read-only"
        return Pfn(pa >> page_shift, host_w and slot_w, True, how)
    # GUP refuses VM_IO|VM_PFNMAP VMAs: hva_to_pfn_remapped() reads the host PTE.
    if write_fault and not host_w:
        return Pfn(None, False, False, "GUP refuses VM_IO|VM_PFNMAP; hva_to_pfn_remapped(): write "
                   "fault on a read-only host PTE", "KVM_PFN_ERR_RO_FAULT")
    how = "GUP refuses VM_IO|VM_PFNMAP; hva_to_pfn_remapped() read the host PTE (" + \
        ("writable" if host_w else "read-only") + ")"
    return Pfn(pa >> page_shift, host_w and slot_w, False, how)


def backing_pa(ipa: int) -> int:
    return ipa + BACKING_PA_OFFSET
