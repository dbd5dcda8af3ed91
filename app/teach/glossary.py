"""The glossary: a short definition and a reference for every term the traces use, and the Jinja
filter that marks those terms up in text when a page is rendered (the simulator's texts are not
changed). Pure: no request, no simulator."""
from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

API = "Documentation/virt/kvm/api.rst"


@dataclass(frozen=True)
class Term:
    id: str
    name: str
    words: tuple[str, ...]      # how the term is spelled in step text (matched as whole words)
    meaning: str
    ref: str


TERMS = (
    Term("fwb", "FWB (stage-2 forced write-back)", ("FWB", "FEAT_S2FWB", "HCR_EL2.FWB"),
         "An Armv8.4 feature: when KVM sets HCR_EL2.FWB, the stage-2 MemAttr can force the final memory "
         "type, for example to Normal Write-Back whatever the guest's own tables say. Host and guest then "
         "always see memory cacheable, so KVM need not clean caches before mapping it.",
         "Arm ARM: FEAT_S2FWB and the HCR_EL2.FWB bit"),
    Term("dic", "DIC (instruction cache invalidation not required)", ("DIC", "CTR_EL0.DIC"),
         "A bit in CTR_EL0: when set, the CPU keeps its instruction cache coherent with data writes, so "
         "invalidating the I-cache to the PoU is not needed before executing newly written code. Linux "
         "calls it ARM64_HAS_CACHE_DIC.",
         "Arm ARM: the CTR_EL0 register, DIC field"),
    Term("poc", "PoC (Point of Coherency)", ("PoC",),
         "The level of the memory system at which every observer (CPUs, devices, non-cacheable accesses) "
         "sees the same copy of a location. Cleaning the D-cache to the PoC pushes dirty lines out far "
         "enough for a non-cacheable reader to see them.",
         "Arm ARM glossary: Point of Coherency"),
    Term("pou", "PoU (Point of Unification)", ("PoU",),
         "The level at which a core's instruction and data caches and its table walks see the same copy "
         "of a location. Code written as data is made executable by cleaning the D-cache and invalidating "
         "the I-cache to the PoU.",
         "Arm ARM glossary: Point of Unification"),
    Term("s2ap", "S2AP (stage-2 access permissions)", ("S2AP",),
         "Two bits of a stage-2 leaf descriptor (bits 7:6) that say whether the guest may read (bit 6) "
         "and write (bit 7) the memory it maps.",
         "Arm ARM: stage 2 block and page descriptors, S2AP field; "
         "arch/arm64/include/asm/kvm_pgtable.h (KVM_PTE_LEAF_ATTR_LO_S2_S2AP_*)"),
    Term("xn", "XN (execute-never)", ("XN",),
         "The descriptor field that forbids instruction fetches from the memory it maps. KVM sets it for "
         "stage-2 leaves the guest may not execute from; a fetch then takes a permission fault.",
         "Arm ARM: stage 2 block and page descriptors, XN field"),
    Term("memattr", "MemAttr (stage-2 memory attributes)", ("MemAttr",),
         "Four bits of a stage-2 leaf descriptor (bits 5:2) giving the memory type stage 2 allows: Device, "
         "Normal Non-cacheable or Normal cacheable. Without FWB the more restrictive of stage 1 and stage 2 "
         "wins; with FWB the encoding can force the final type.",
         "Arm ARM: stage 2 memory type and Cacheability attributes (MemAttr), with and without FWB"),
    Term("attrindx", "AttrIndx (stage-1 attribute index)", ("AttrIndx",),
         "Three bits of a stage-1 descriptor that pick one byte of MAIR_ELx; that byte is the memory type. "
         "Linux names its indices MT_NORMAL, MT_NORMAL_TAGGED, MT_NORMAL_NC, MT_DEVICE_nGnRnE and "
         "MT_DEVICE_nGnRE; a VMA's pgprot carries one of them.",
         "Arm ARM: stage 1 block and page descriptors, AttrIndx; arch/arm64/include/asm/memory.h (MT_*)"),
    Term("mair", "MAIR (Memory Attribute Indirection Register)", ("MAIR", "MAIR_EL1", "MAIR_EL2"),
         "A register of eight one-byte memory types; stage-1 descriptors name one of them by AttrIndx. The "
         "host's and the guest's MAIR are separate.",
         "Arm ARM: the MAIR_EL1 and MAIR_EL2 registers"),
    Term("vm-pfnmap", "VM_PFNMAP", ("VM_PFNMAP", "PFNMAP"),
         "A VMA flag: the mapping holds raw page frame numbers, usually memory without struct page "
         "(device memory), set up by remap_pfn_range() or vmf_insert_pfn(). The kernel does not refcount "
         "or swap such pages.",
         "include/linux/mm.h (VM_PFNMAP); Documentation/mm/memory-model.rst"),
    Term("vm-mixedmap", "VM_MIXEDMAP", ("VM_MIXEDMAP", "MIXEDMAP"),
         "A VMA flag: the mapping may mix ordinary pages and raw PFNs, inserted with vm_insert_page() or "
         "vmf_insert_mixed().",
         "include/linux/mm.h (VM_MIXEDMAP)"),
    Term("vm-io", "VM_IO", ("VM_IO",),
         "A VMA flag marking memory-mapped I/O or similar memory the kernel must not treat as ordinary "
         "RAM (no core dumps, no get_user_pages()). remap_pfn_range() sets it with VM_PFNMAP.",
         "include/linux/mm.h (VM_IO)"),
    Term("vm-allow-any-uncached", "VM_ALLOW_ANY_UNCACHED", ("VM_ALLOW_ANY_UNCACHED",),
         "A VMA flag a driver (vfio-pci) sets to say the guest may map this device memory with any "
         "non-cacheable type; KVM then uses Normal Non-cacheable at stage 2 instead of Device.",
         "include/linux/mm.h (VM_ALLOW_ANY_UNCACHED)"),
    Term("vm-mte-allowed", "VM_MTE_ALLOWED", ("VM_MTE_ALLOWED",),
         "A VMA flag on arm64: the memory can hold MTE allocation tags. A VM with MTE may only map memory "
         "whose VMA has it.",
         "include/linux/mm.h (VM_MTE_ALLOWED); Documentation/arch/arm64/memory-tagging-extension.rst"),
    Term("cow", "COW mapping", ("COW", "is_cow_mapping"),
         "A private writable mapping (VM_MAYWRITE set, VM_SHARED clear): writes go to a private copy of "
         "the page. A private VM_PFNMAP mapping has no struct page to copy, so the kernel restricts it "
         "(remap_pfn_range() must then map the whole VMA).",
         "include/linux/mm.h (is_cow_mapping())"),
    Term("memslot", "memslot", ("memslot", "memslots"),
         "A range of guest physical addresses backed by a range of the VMM's virtual addresses, registered "
         "with KVM_SET_USER_MEMORY_REGION. Guest data accesses outside every memslot go to the VMM as MMIO.",
         f"{API}: KVM_SET_USER_MEMORY_REGION"),
    Term("ipa", "IPA (intermediate physical address)", ("IPA",),
         "The address the guest's own (stage-1) translation produces: the guest's physical address. Stage 2 "
         "translates it to a host physical address.",
         "Arm ARM glossary: Intermediate Physical Address"),
    Term("hva", "HVA (host virtual address)", ("HVA",),
         "The address in the VMM's (userspace) address space at which a memslot's memory is mapped; KVM "
         "turns an IPA into an HVA through the memslot, then finds the PFN through the VMA.",
         f"{API}: KVM_SET_USER_MEMORY_REGION (userspace_addr)"),
    Term("pfn", "PFN (page frame number)", ("PFN", "PFNs", "pfn"),
         "A physical address divided by the page size: the number of a physical page frame.",
         "Documentation/mm/memory-model.rst"),
    Term("struct-page", "struct page", ("struct page",),
         "The kernel's descriptor of one physical page of ordinary memory. Device memory often has none, "
         "which is why it cannot be reached through the kernel's linear map.",
         "Documentation/mm/memory-model.rst"),
    Term("zone-device", "ZONE_DEVICE", ("ZONE_DEVICE",),
         "Device memory given struct pages (for DAX or device-private memory) without becoming ordinary "
         "RAM.",
         "Documentation/mm/memory-model.rst: ZONE_DEVICE"),
    Term("thp", "THP (transparent huge pages)", ("THP",),
         "The kernel backing anonymous or shmem memory with huge pages (for example 2 MiB) on its own; KVM "
         "can then map a whole block at stage 2.",
         "Documentation/admin-guide/mm/transhuge.rst"),
    Term("hugetlbfs", "hugetlbfs", ("hugetlbfs", "hugetlb", "VM_HUGETLB"),
         "Huge pages reserved by the administrator and mapped from the hugetlbfs file system or with "
         "MAP_HUGETLB (VMA flag VM_HUGETLB); KVM can map them as stage-2 blocks up to the same size.",
         "Documentation/admin-guide/mm/hugetlbpage.rst"),
    Term("mte", "MTE (Memory Tagging Extension)", ("MTE",),
         "An Armv8.5 feature storing a tag per 16 bytes of memory. A VM with MTE enabled needs every page it "
         "maps to be able to hold tags.",
         f"{API}: KVM_CAP_ARM_MTE; Documentation/arch/arm64/memory-tagging-extension.rst"),
    Term("nisv", "NISV (no valid instruction syndrome)", ("NISV", "KVM_EXIT_ARM_NISV"),
         "A data abort whose ESR does not describe the access (ISV is 0), so KVM cannot emulate it as "
         "MMIO. With KVM_CAP_ARM_NISV_TO_USER the VMM gets a KVM_EXIT_ARM_NISV exit instead.",
         f"{API}: KVM_CAP_ARM_NISV_TO_USER"),
    Term("esr", "ESR (Exception Syndrome Register)", ("ESR", "ESR_EL2"),
         "The register that says why an exception was taken: its exception class (data abort, instruction "
         "abort) and details such as the fault status code and whether it was a write.",
         "Arm ARM: the ESR_EL2 register"),
    Term("fsc", "FSC (fault status code)", ("FSC", "DFSC", "IFSC"),
         "Six bits of ESR giving the kind of a data or instruction abort (translation, access flag, "
         "permission, address size, ...) and the table level it happened at.",
         "Arm ARM: ESR_EL2, ISS encoding for data and instruction aborts (DFSC, IFSC); "
         "arch/arm64/include/asm/esr.h (ESR_ELx_FSC_*)"),
    Term("lpa2", "LPA2 (52-bit addresses with 4K and 16K pages)", ("LPA2",),
         "An Armv8.7 feature for 52-bit addresses with 4 KiB and 16 KiB granules; it moves the "
         "shareability bits out of the descriptor.",
         "Arm ARM: FEAT_LPA2"),
    Term("guest-memfd", "guest_memfd", ("guest_memfd",),
         "A file of guest memory made with KVM_CREATE_GUEST_MEMFD that backs a memslot directly, not "
         "through the VMM's page tables. On arm64 (6.18 on) it must also be mappable by the VMM (no "
         "private memory), and a fault on such a slot goes to gmem_abort() (slot=gmem here).",
         f"{API}: KVM_CREATE_GUEST_MEMFD"),
    Term("vma", "VMA (virtual memory area)", ("VMA", "VMAs"),
         "A contiguous range of a process's address space with the same flags and protection "
         "(struct vm_area_struct).",
         "include/linux/mm_types.h (struct vm_area_struct)"),
    Term("stage-2", "stage 2", ("stage 2", "stage-2"),
         "The second translation, owned by the hypervisor: from the guest's IPA to the host's physical "
         "address, with its own permissions and memory type.",
         "Arm ARM: VMSAv8-64 stage 2 translation"),
    Term("kvm-run", "KVM_RUN", ("KVM_RUN",),
         "The ioctl with which the VMM runs a vCPU; it returns on an exit the VMM must handle, or with an "
         "error such as -EFAULT or -EINVAL.",
         f"{API}: KVM_RUN"),
    Term("mmio-exit", "MMIO exit", ("KVM_EXIT_MMIO", "MMIO"),
         "An access to a guest address no memslot covers: KVM_RUN returns with KVM_EXIT_MMIO and the VMM "
         "emulates the device.",
         f"{API}: KVM_EXIT_MMIO"),
    Term("dirty-log", "dirty logging", ("KVM_MEM_LOG_DIRTY_PAGES", "dirty logging"),
         "A memslot flag asking KVM to record which pages the guest writes (for live migration); it maps "
         "pages one at a time and write-protected.",
         f"{API}: KVM_SET_USER_MEMORY_REGION (KVM_MEM_LOG_DIRTY_PAGES)"),
    Term("cap-243", "KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED", ("KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED",),
         "Capability 243, queried on the VM fd: whether this host can map cacheable VM_PFNMAP memory at "
         "stage 2 (FWB and DIC). Kernels before v6.17 do not know it and answer 0.",
         f"{API}: KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED"),
    Term("cacheable-flag", "KVM_MEM_ENABLE_CACHEABLE_PFNMAP", ("KVM_MEM_ENABLE_CACHEABLE_PFNMAP",),
         "A memslot flag (bit 3) that only v4 to v6 of the cacheable-PFNMAP series defined: userspace asks for a "
         "cacheable VM_PFNMAP region to be mapped cacheable. Dropped in v7 after review; every released kernel "
         "refuses it with -EINVAL.",
         "the series' v4 3/5, https://lore.kernel.org/r/20250518054754.5345-4-ankita@nvidia.com"),
    Term("normal-nc", "Normal Non-cacheable", ("Normal-NC", "Normal Non-cacheable", "NORMAL_NC"),
         "Memory the CPU may read speculatively, gather and reorder, but never caches: what write-combining "
         "frame buffers and many device BARs want.",
         "Arm ARM: Normal memory, Non-cacheable"),
    Term("device", "Device memory (nGnRE, nGnRnE)", ("Device-nGnRE", "Device-nGnRnE", "Device"),
         "Memory for device registers: no speculation, no caching; nG no gathering, nR no reordering, "
         "E/nE whether the write may be acknowledged early.",
         "Arm ARM: Device memory types"),
)

BY_ID = {t.id: t for t in TERMS}


def _pattern() -> re.Pattern:
    spellings = sorted({w for t in TERMS for w in t.words}, key=len, reverse=True)
    return re.compile(r"(?<![\w.-])(" + "|".join(re.escape(w) for w in spellings) + r")(?![\w])")


_PATTERN = _pattern()
_WHICH = {w: t for t in TERMS for w in t.words}


def mark(text: str, prefix: str = "gl") -> Markup:
    """The text, escaped, with the first mention of each known term wrapped in a focusable element
    that shows its definition on hover, focus and tap (static/js/glossary.js for the tap).
    prefix makes the definitions' ids unique on a page."""
    out, seen, at = [], set(), 0
    for i, m in enumerate(_PATTERN.finditer(text)):
        term = _WHICH[m.group(1)]
        if term.id in seen:
            continue
        seen.add(term.id)
        did = f"{prefix}-{i}"
        out.append(escape(text[at:m.start()]))
        out.append(Markup('<span class="term" tabindex="0" aria-describedby="{did}">{word}'
                          '<span class="term-def" id="{did}" role="tooltip">{name}: {meaning} '
                          '<a href="/glossary/#{tid}">glossary</a></span></span>').format(
            did=did, word=m.group(1), name=term.name, meaning=term.meaning, tid=term.id))
        at = m.end()
    out.append(escape(text[at:]))
    return Markup("").join(out)
