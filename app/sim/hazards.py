"""Host-safety hazards: what a path through KVM does to the host (or to the VM's own progress)
beyond the value KVM returns; and, for the revisions of the cacheable-PFNMAP series, regressions:
a refusal of what the kernel the revision applies to accepts, for memory the revision did not set
out to change. A model marks a hazard at the step whose code causes it; the fault then reports the
most serious one, with the function and lines of that step at the model's tag.

Each hazard here was found by reading the source of the kernels the models claim (their tags), and
where one was later fixed, `fixed_by` names the commit and the kernels that took it.
"""
from __future__ import annotations

from dataclasses import dataclass

# Most serious first: the order a fault's single `hazard` is chosen by.
KINDS = ("host_oops", "foreign_memory", "lock_leak", "ref_leak", "ref_imbalance", "stale_data", "livelock",
         "regression")


@dataclass(frozen=True, slots=True)
class HazardDef:
    kind: str
    why: str
    fixed_by: str | None


CATALOGUE = {
    "icache_no_linear_alias": HazardDef(
        "host_oops",
        "Without DIC, KVM invalidates the I-cache for the new executable leaf by the address the PA has in "
        "the kernel's linear map (__va(PA)). This memory is not in the linear map, so the invalidation takes "
        "a kernel translation fault with no fixup: the host oopses, with the fault lock held and the stage-2 "
        "entry left locked.",
        "v4 of the series required DIC as well as FWB for cacheable PFNMAP (Catalin Marinas); mainline v6.17 "
        "has it as kvm_supports_cacheable_pfnmap() = FWB && DIC, at the memslot and at fault time"),
    "dcache_no_linear_alias": HazardDef(
        "host_oops",
        "Without FWB, KVM cleans the D-cache to PoC for the new cacheable leaf through the address the PA has in "
        "the kernel's linear map (__va(PA)). This memory is not in the linear map, so the clean takes a kernel "
        "translation fault with no fixup: the host oopses. (No driver's VMA maps memory without a linear alias "
        "cacheably without VM_PFNMAP or VM_MIXEDMAP, which the memslot check would have refused.)",
        None),
    "unmap_dcache_no_linear_alias": HazardDef(
        "host_oops",
        "Unmapping a Normal cacheable leaf without FWB, stage2_unmap_walker() cleans it to PoC through the "
        "address its PA has in the kernel's linear map (__va(PA)). This memory is not in the linear map, so the "
        "clean takes a kernel translation fault with no fixup, under mmu_lock: the host oopses when the VMM "
        "unmaps the range, or deletes the slot.",
        None),
    "pfnmap_block_past_vma": HazardDef(
        "foreign_memory",
        "get_vma_page_shift() checks a VM_PFNMAP block against the VMA with ALIGN(hva, size) <= vm_end; for an hva "
        "at the start of the block that is hva itself, so a block may reach past the end of the VMA. Here it "
        "reaches over HVAs the VMM has unmapped: the guest keeps access to the memory the VMM took away from "
        "itself, and so from the guest.",
        "71cc2c67fb8f \"KVM: arm64: Use stage-1 leaf size for VM_PFNMAP\" (mainline 7.3-rc6; stable 7.2.10, "
        "6.18.56, 6.12.113): the block follows the host's own stage-1 leaf, which never reaches past a VMA"),
    "pfnmap_block_over_vma": HazardDef(
        "foreign_memory",
        "get_vma_page_shift() checks a VM_PFNMAP block against the VMA with ALIGN(hva, size) <= vm_end; for an hva "
        "at the start of the block that is hva itself, so a block may reach past the end of the VMA. Inside this "
        "memslot the next VMA maps other memory: the block maps the host memory that follows the VM_PFNMAP VMA's "
        "instead, so the guest's accesses there need no fault and reach memory that is neither the device's "
        "nor what the VMM mapped at those HVAs.",
        "71cc2c67fb8f \"KVM: arm64: Use stage-1 leaf size for VM_PFNMAP\" (mainline 7.3-rc6; stable 7.2.10, "
        "6.18.56, 6.12.113): the block follows the host's own stage-1 leaf, which never reaches past a VMA"),
    "pfnmap_block_foreign_access": HazardDef(
        "foreign_memory",
        "A block an earlier fault wrote for a VM_PFNMAP VMA reaches over this IPA, whose HVA another VMA maps (or "
        "none any more): the access needs no fault and reaches the host memory that follows the VM_PFNMAP VMA's, "
        "not the memory the VMM mapped here.",
        "71cc2c67fb8f \"KVM: arm64: Use stage-1 leaf size for VM_PFNMAP\" (mainline 7.3-rc6; stable 7.2.10, "
        "6.18.56, 6.12.113)"),
    "cow_pfnmap_mmap_lock": HazardDef(
        "lock_leak",
        "The -EINVAL for a copy-on-write VM_PFNMAP returns between mmap_read_lock() and mmap_read_unlock(): the "
        "VMM's thread goes back to user space holding mmap_lock for read. Its next mmap(), munmap() or "
        "mprotect(), or its exit, waits for ever, and once that writer queues, every page fault of the VMM's "
        "threads waits too.",
        "v8 of the series moved the COW check after the unlock and v10 dropped it; mainline never had it"),
    "enoexec_page_ref": HazardDef(
        "ref_leak",
        "__kvm_faultin_pfn() took a reference on this page (a GUP-able ZONE_DEVICE page, such as fsdax or "
        "devdax memory), and the -ENOEXEC return comes before the release: every such exec fault leaks a "
        "reference. The page can then never be freed; truncating the file behind it waits in "
        "dax_layout_busy_page() for ever.",
        "5f9466b50c1b \"KVM: arm64: Fix page leak in user_mem_abort()\" (mainline v6.18; stable 6.17.4, so "
        "6.17.8 has it); not in 6.12.y as of 6.12.117"),
    "udmabuf_overmap": HazardDef(
        "foreign_memory",
        "get_vma_page_shift() sized this VM_PFNMAP mapping from vm_pgoff as if the buffer were physically "
        "contiguous, so KVM maps a whole block's worth of host pages that follow the buffer page physically: "
        "pages that are not the buffer's (page tables, kernel data, other processes' memory) become readable "
        "and writable by the guest.",
        "71cc2c67fb8f \"KVM: arm64: Use stage-1 leaf size for VM_PFNMAP\" (mainline 7.3-rc6; stable 7.2.10, "
        "6.18.56, 6.12.113)"),
    "udmabuf_foreign_access": HazardDef(
        "foreign_memory",
        "The leaf an earlier fault wrote maps this IPA to a host page that is not the buffer's (the over-sized "
        "VM_PFNMAP mapping): the access needs no fault, and the guest reads or writes foreign host memory.",
        "71cc2c67fb8f \"KVM: arm64: Use stage-1 leaf size for VM_PFNMAP\" (mainline 7.3-rc6; stable 7.2.10, "
        "6.18.56, 6.12.113)"),
    "device_type_stale": HazardDef(
        "stale_data",
        "The host maps this memory cacheable at stage 1 (the VMA's pgprot is Normal), while the guest gets it "
        "non-cacheable at stage 2. The VMM's cacheable writes (zeroing a page for a new VM, say) may still sit "
        "in the cache when the guest reads past it, so the guest can read stale data, a previous VM's among it.",
        "2a8dfab26677 \"KVM: arm64: Block cacheable PFNMAP mapping\" and 0c67288e0c8b (mainline v6.17): the "
        "stage-2 type follows the VMA's; not in 6.12.y"),
    "release_aligned_pfn": HazardDef(
        "ref_imbalance",
        "The huge-page upgrade aligned the PFN down to the block, and 6.12 releases the page by that PFN: the "
        "reference taken on the faulting page is never dropped, and the block's first page loses one it was "
        "never given (a ZONE_DEVICE page's count can drop under its real user).",
        None),
    "perm_fault_livelock": HazardDef(
        "livelock",
        "A permission fault on a smaller leaf went to the map path for a larger block, and the map changed "
        "nothing (-EAGAIN): the guest re-runs the instruction and faults the same way for ever. The vCPU "
        "thread stays killable; the VM makes no progress.",
        None),
    "gmem_excl_atomic_livelock": HazardDef(
        "livelock",
        "gmem_abort() does not look for FSC 0x35: it maps the same page again, the map changes nothing "
        "(-EAGAIN), and the guest re-runs the exclusive or atomic access and faults the same way for ever.",
        None),
    # ---- the revisions of the series (app/sim/kernel/revisions.py) ---------------------------------
    "nofwb_device_pfn_refused": HazardDef(
        "regression",
        "The check meant for cacheable memory asks only whether the PFN has a struct page, not whether the "
        "mapping is cacheable: on a host without FWB every fault on device memory fails with -EINVAL, vfio "
        "BARs and write-combining mappings included, which the kernel before the patch mapped Device or "
        "Normal-NC.",
        "v3 of the series set the check only for a VM_PFNMAP VMA whose pgprot is MT_NORMAL (cacheable_devmem)"),
    "device_exec_refused": HazardDef(
        "regression",
        "The stage-2 type now follows the VMA's pgprot while the PFN still decides whether an instruction "
        "fetch is allowed: kernel memory mapped with a Device or Normal-NC pgprot gets DEVICE and X together, "
        "which stage2_set_prot_attr() refuses, so the exec fault fails KVM_RUN with -EINVAL where the kernel "
        "before the patch mapped the page Normal and executable.",
        "v2 of the series refused the exec fault with -ENOEXEC unless the pgprot is Normal"),
    "mte_tags_unsanitised": HazardDef(
        "stale_data",
        "A VM with MTE faults on memory the pgprot alone maps Normal, while the fault path's other decision "
        "(device, from the PFN, in v1; noncacheable in v2: VM_IO, no struct page, or no VM_MTE_ALLOWED) skips "
        "the MTE check and the tag sanitising. Reached with a VMA mapped over the memslot after registration: "
        "the guest can use tags KVM never cleared, a previous user's among them, or tags on memory that has no "
        "tag storage.",
        "v3 of the series: a Normal mapping goes through the MTE check again (cacheable_devmem leaves device "
        "false), which refuses a VMA without VM_MTE_ALLOWED with -EFAULT"),
    "cacheable_ram_refused": HazardDef(
        "regression",
        "The fault-time check for FWB and DIC is not limited to VM_PFNMAP memory outside the kernel's map: "
        "it refuses every cacheable VMA, ordinary guest RAM included, so on a host without FWB or without DIC "
        "no VM can run.",
        "v8 of the series made the check part of the VM_PFNMAP/VM_MIXEDMAP branch for memory outside the "
        "kernel's map (Catalin Marinas asked on v7 whether it rejected any cacheable VMA on pre-FWB hardware)"),
}


def pick(keys) -> str | None:
    """The most serious of the hazards a fault met."""
    keys = list(keys)
    if not keys:
        return None
    return min(keys, key=lambda k: KINDS.index(CATALOGUE[k].kind))
