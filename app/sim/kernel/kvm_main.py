"""PFN lookup: __kvm_faultin_pfn() and hva_to_pfn() (virt/kvm/kvm_main.c), with the host mm facts
they depend on (GUP's refusal of VM_IO|VM_PFNMAP, special PTEs, read-only host PTEs)."""
from __future__ import annotations

from dataclasses import dataclass

from ..scenario import BACKING_PA_OFFSET, Scenario


@dataclass(frozen=True, slots=True)
class Pfn:
    pfn: int | None                  # None: KVM_PFN_ERR_*
    writable: bool
    has_page: bool                   # a refcounted struct page was returned
    path: str                        # how the PFN was found (a key of steps.uma.FAULTIN_PATH)
    error: str | None = None         # KVM_PFN_ERR_FAULT / KVM_PFN_ERR_RO_FAULT


def host_pte_writable(sc: Scenario) -> bool:
    """Schema 1: the VMM wrote the whole region, so host PTEs are present and writable where the
    VMA may be written, except a private (COW) PFNMAP whose PTEs stay read-only."""
    return "maywrite" in sc.vma and not ("pfnmap" in sc.vma and sc.is_cow)


def faultin_pfn(sc: Scenario, pa: int, write_fault: bool) -> Pfn:
    """Model of __kvm_faultin_pfn() -> hva_to_pfn(): GUP-fast, then slow GUP, then for
    VM_IO|VM_PFNMAP VMAs hva_to_pfn_remapped() on the host PTE."""
    vma = sc.vma
    host_w, slot_w = host_pte_writable(sc), "ro" not in sc.slot
    pfn = pa >> sc.page_shift
    io_or_pfnmap = bool({"io", "pfnmap"} & vma)
    # remap_pfn_range() and vmf_insert_mixed() install special PTEs on arm64, as does any PTE of a
    # PFN without struct page: GUP cannot take them (vm_normal_page() is NULL).
    special = sc.mem == "dev" or bool({"pfnmap", "mixedmap"} & vma)
    if not special:
        if slot_w and host_w:
            return Pfn(pfn, True, True, "gup_fast")
        if write_fault and not host_w and not io_or_pfnmap:
            return Pfn(None, False, False, "gup_write_fails", "KVM_PFN_ERR_FAULT")
        if not io_or_pfnmap:
            return Pfn(pfn, False, True, "gup_read_ro_slot" if not slot_w else "gup_read_ro_pte")
        lead = "io"
    elif not io_or_pfnmap:
        return Pfn(None, False, False, "special_no_fallback", "KVM_PFN_ERR_FAULT")
    else:
        lead = "special"
    if write_fault and not host_w:
        return Pfn(None, False, False, f"remapped_{lead}_ro_write", "KVM_PFN_ERR_RO_FAULT")
    return Pfn(pfn, host_w and slot_w, False, f"remapped_{lead}_" + ("rw" if host_w else "ro"))


def backing_pa(ipa: int, sc: Scenario | None = None) -> int:
    """Host PA behind a memslot IPA: its VMA's memory, congruent with it, or for `mem=sg` the scattered layout."""
    if sc is not None and sc.mem == "sg":
        from .scatter import page_pa
        return page_pa(ipa, sc.page_size)
    return ipa + BACKING_PA_OFFSET if sc is None else sc.pa_of(ipa)
