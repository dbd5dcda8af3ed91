"""The glossary: a short definition and a reference for every term the traces use, and the Jinja
filter that marks those terms up in text when a page is rendered (the simulator's texts are not
changed). Pure: no request, no simulator."""
from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup

from ..present.wrap import wbr

API = "Documentation/virt/kvm/api.rst"
TAG = "v6.17"                   # the kernel tag the file references link to
LONG = 28                       # a name longer than this gets a smaller face on a phone rather than a break
ARM_ARM = "https://developer.arm.com/documentation/ddi0487/latest/"


@dataclass(frozen=True)
class Ref:
    """Where to read more: a section of the Arm ARM (by its title, the manual linked), or a file of the
    Linux kernel at TAG on Elixir (with what to look for in it)."""
    text: str
    url: str


def arm(section: str) -> Ref:
    return Ref(f"Arm ARM (DDI 0487): {section}", ARM_ARM)


def src(path: str, what: str = "") -> Ref:
    return Ref(f"{path} at {TAG}" + (f" ({what})" if what else ""),
               f"https://elixir.bootlin.com/linux/{TAG}/source/{path}")


def api(section: str) -> Ref:
    return src(API, section)


@dataclass(frozen=True)
class Term:
    id: str
    name: str
    words: tuple[str, ...]      # how the term is spelled in step text (matched as whole words)
    meaning: str
    refs: tuple[Ref, ...]

    @property
    def ref(self) -> str:
        return "; ".join(r.text for r in self.refs)


TERMS = (
    Term("fwb", "FWB (stage-2 forced write-back)", ("FWB", "FEAT_S2FWB", "HCR_EL2.FWB"),
         "An Armv8.4 feature: with HCR_EL2.FWB set, the stage-2 MemAttr can force the final memory type instead of "
         "only restricting it. KVM uses it to force Normal Write-Back on memory it maps cacheable, whatever the "
         "guest's own tables say, so it need not clean the D-cache before the guest sees such memory. Memory KVM "
         "maps Device or Normal Non-cacheable stays so: FWB does not make device memory cacheable.",
         (arm("Stage 2 memory type and Cacheability attributes when FEAT_S2FWB is enabled; HCR_EL2.FWB"),
          src("arch/arm64/kvm/hyp/pgtable.c", "stage2_has_fwb()"))),
    Term("dic", "DIC (instruction cache invalidation not required)", ("DIC", "CTR_EL0.DIC"),
         "A bit in CTR_EL0: when set, the CPU keeps its instruction cache coherent with data writes, so "
         "invalidating the I-cache to the PoU is not needed before executing newly written code; an ISB is "
         "enough. Linux calls it ARM64_HAS_CACHE_DIC.",
         (arm("CTR_EL0, Cache Type Register: the DIC field"),
          src("arch/arm64/kernel/cpufeature.c", "ARM64_HAS_CACHE_DIC"))),
    Term("poc", "PoC (Point of Coherency)", ("PoC",),
         "The level of the memory system at which every observer (CPUs, devices, non-cacheable accesses) "
         "sees the same copy of a location. Cleaning the D-cache to the PoC pushes dirty lines out far "
         "enough for a non-cacheable reader to see them.",
         (arm("Point of Coherency (PoC), in the cache maintenance chapter"),)),
    Term("pou", "PoU (Point of Unification)", ("PoU",),
         "The level at which a core's instruction and data caches and its table walks see the same copy "
         "of a location. Code written as data is made executable by cleaning the D-cache and invalidating "
         "the I-cache to the PoU.",
         (arm("Point of Unification (PoU), in the cache maintenance chapter"),)),
    Term("isb", "ISB (Instruction Synchronization Barrier)", ("ISB",),
         "An instruction that makes the core fetch every later instruction again, after the barrier completes. "
         "With DIC, an ISB is all that is needed before executing code that was just written as data.",
         (arm("Instruction Synchronization Barrier (ISB)"), src("arch/arm64/include/asm/cacheflush.h"))),
    Term("s2ap", "S2AP (stage-2 access permissions)", ("S2AP",),
         "Two bits of a stage-2 leaf descriptor (bits 7:6) that say whether the guest may read (bit 6) "
         "and write (bit 7) the memory it maps.",
         (arm("Stage 2 block and page descriptors: the S2AP field"),
          src("arch/arm64/include/asm/kvm_pgtable.h", "KVM_PTE_LEAF_ATTR_LO_S2_S2AP_*"))),
    Term("xn", "XN (execute-never)", ("XN",),
         "The descriptor field that forbids instruction fetches from the memory it maps. KVM sets it for "
         "stage-2 leaves the guest may not execute from; a fetch then takes a permission fault.",
         (arm("Stage 2 block and page descriptors: the XN field"),)),
    Term("af", "AF (access flag)", ("AF",),
         "Bit 10 of a descriptor: set once the entry has been used. An access through an entry whose AF is clear "
         "takes an access-flag fault, unless the CPU sets the flag itself (FEAT_HAFDBS with VTCR_EL2.HA). KVM "
         "sets AF in every leaf it writes; page reclaim clears it to learn whether the guest still uses the page.",
         (arm("The Access flag, and hardware updates to it"),
          src("arch/arm64/kvm/hyp/pgtable.c", "KVM_PTE_LEAF_ATTR_LO_S2_AF"))),
    Term("sh", "SH (shareability)", ("SH",),
         "Bits 9:8 of a descriptor: which observers must keep the memory coherent (0b11: inner shareable, every "
         "CPU of the system). KVM writes inner shareable; with LPA2 the bits hold address bits instead.",
         (arm("Shareability attributes of stage 2 descriptors"),)),
    Term("memattr", "MemAttr (stage-2 memory attributes)", ("MemAttr",),
         "Four bits of a stage-2 leaf descriptor (bits 5:2) giving the memory type stage 2 allows: Device, "
         "Normal Non-cacheable or Normal cacheable. Without FWB the more restrictive of stage 1 and stage 2 "
         "wins; with FWB the encoding can force the final type.",
         (arm("Stage 2 memory type and Cacheability attributes, with and without FEAT_S2FWB"),
          src("arch/arm64/include/asm/memory.h", "MT_S2_*, MT_S2_FWB_*"))),
    Term("attrindx", "AttrIndx (stage-1 attribute index)", ("AttrIndx",),
         "Three bits of a stage-1 descriptor that pick one byte of MAIR_ELx; that byte is the memory type. "
         "Linux names its indices MT_NORMAL, MT_NORMAL_TAGGED, MT_NORMAL_NC, MT_DEVICE_nGnRnE and "
         "MT_DEVICE_nGnRE; a VMA's pgprot carries one of them.",
         (arm("Stage 1 block and page descriptors: AttrIndx"), src("arch/arm64/include/asm/memory.h", "MT_*"))),
    Term("mair", "MAIR (Memory Attribute Indirection Register)", ("MAIR", "MAIR_EL1", "MAIR_EL2"),
         "A register of eight one-byte memory types; stage-1 descriptors name one of them by AttrIndx. The "
         "host's and the guest's MAIR are separate.",
         (arm("MAIR_EL1 and MAIR_EL2, Memory Attribute Indirection Registers"),)),
    Term("pgprot", "pgprot (a VMA's page protection)", ("pgprot", "vm_page_prot"),
         "The protection and memory-type bits Linux puts into the host's own page-table entries for a VMA "
         "(vma->vm_page_prot): on arm64 they carry the AttrIndx, so a driver that maps memory with "
         "pgprot_noncached() or pgprot_writecombine() chooses its stage-1 type there.",
         (src("arch/arm64/include/asm/pgtable.h", "pgprot_noncached, pgprot_writecombine"),)),
    Term("linear-map", "linear map", ("linear map", "linear mapping", "__va"),
         "The kernel's own mapping of all the RAM it manages at a fixed offset: __va(PA) is the kernel virtual "
         "address of a physical address in it. Memory the kernel never took as RAM (device memory, a GPU's "
         "memory reserved from it) is not in it, so __va() of such a PA points at nothing, and a cache "
         "maintenance instruction by that address takes a kernel fault.",
         (src("arch/arm64/include/asm/memory.h", "__va, __pa"), src("Documentation/arch/arm64/memory.rst"))),
    Term("vm-pfnmap", "VM_PFNMAP", ("VM_PFNMAP", "PFNMAP"),
         "A VMA flag: the mapping holds raw page frame numbers, usually memory without struct page "
         "(device memory), set up by remap_pfn_range() or vmf_insert_pfn(). The kernel does not refcount "
         "or swap such pages.",
         (src("include/linux/mm.h", "VM_PFNMAP"), src("mm/memory.c", "remap_pfn_range()"))),
    Term("vm-mixedmap", "VM_MIXEDMAP", ("VM_MIXEDMAP", "MIXEDMAP"),
         "A VMA flag: the mapping may mix ordinary pages and raw PFNs, inserted with vm_insert_page() or "
         "vmf_insert_mixed().",
         (src("include/linux/mm.h", "VM_MIXEDMAP"),)),
    Term("vm-io", "VM_IO", ("VM_IO",),
         "A VMA flag marking memory-mapped I/O or similar memory the kernel must not treat as ordinary "
         "RAM (no core dumps, no get_user_pages()). remap_pfn_range() sets it with VM_PFNMAP.",
         (src("include/linux/mm.h", "VM_IO"),)),
    Term("vm-shared", "VM_SHARED", ("VM_SHARED", "MAP_SHARED"),
         "A VMA flag: the mapping is shared (MAP_SHARED), so writes go to the object itself (a file, a device's "
         "memory) and every process mapping it sees them. Without it a writable mapping is copy-on-write.",
         (src("include/linux/mm.h", "VM_SHARED"),)),
    Term("vm-maywrite", "VM_MAYWRITE", ("VM_MAYWRITE",),
         "A VMA flag: the mapping may be made writable with mprotect(), even if it is not writable now. "
         "VM_MAYWRITE without VM_SHARED is what is_cow_mapping() calls copy-on-write.",
         (src("include/linux/mm.h", "VM_MAYWRITE, is_cow_mapping()"),)),
    Term("vm-allow-any-uncached", "VM_ALLOW_ANY_UNCACHED", ("VM_ALLOW_ANY_UNCACHED",),
         "A VMA flag a driver (vfio-pci) sets to say the guest may map this device memory with any "
         "non-cacheable type; KVM then uses Normal Non-cacheable at stage 2 instead of Device.",
         (src("include/linux/mm.h", "VM_ALLOW_ANY_UNCACHED"),)),
    Term("vm-mte-allowed", "VM_MTE_ALLOWED", ("VM_MTE_ALLOWED",),
         "A VMA flag on arm64: the memory can hold MTE allocation tags. A VM with MTE may only map memory "
         "whose VMA has it.",
         (src("include/linux/mm.h", "VM_MTE_ALLOWED"), src("Documentation/arch/arm64/memory-tagging-extension.rst"))),
    Term("cow", "COW mapping", ("COW", "is_cow_mapping"),
         "A private writable mapping (VM_MAYWRITE set, VM_SHARED clear): writes go to a private copy of "
         "the page. A private VM_PFNMAP mapping has no struct page to copy, so the kernel restricts it "
         "(remap_pfn_range() must then map the whole VMA).",
         (src("include/linux/mm.h", "is_cow_mapping()"),)),
    Term("gup", "GUP (get_user_pages)", ("GUP", "get_user_pages"),
         "The kernel's way of finding, and taking a reference on, the struct page behind a user address "
         "(get_user_pages() and its fast variant). KVM uses it to fault in the host page behind a guest page; "
         "it fails on VM_IO and VM_PFNMAP mappings, which have no struct page to pin, and KVM then reads the "
         "host's page table instead.",
         (src("mm/gup.c"), src("virt/kvm/kvm_main.c", "hva_to_pfn()"))),
    Term("mmap-lock", "mmap_lock", ("mmap_lock", "mmap_read_lock"),
         "The lock that guards a process's VMAs. KVM holds it for read while it looks up the VMA of a fault; "
         "mmap(), munmap() and mprotect() take it for write, so a reader that never unlocks blocks them all.",
         (src("include/linux/mmap_lock.h"),)),
    Term("mmu-notifier", "MMU notifier", ("MMU notifier", "mmu_notifier"),
         "A callback the kernel makes whenever the host's page tables for a process change (munmap, migration, "
         "reclaim): KVM registers one for the VMM, and removes or ages the stage-2 entries of the range, so "
         "that the guest never keeps a mapping the host took away.",
         (src("include/linux/mmu_notifier.h"),
          src("virt/kvm/kvm_main.c", "kvm_mmu_notifier_invalidate_range_start()"))),
    Term("vmm", "VMM (virtual machine monitor)", ("VMM", "QEMU"),
         "The user-space process that runs a virtual machine with KVM (QEMU, kvmtool, Firecracker, ...): it "
         "allocates the guest's memory, registers it as memslots, runs each vCPU with KVM_RUN and emulates the "
         "devices the guest talks to.",
         (api("the introduction"),)),
    Term("memslot", "memslot", ("memslot", "memslots"),
         "A range of guest physical addresses backed by a range of the VMM's virtual addresses, registered "
         "with KVM_SET_USER_MEMORY_REGION. Guest data accesses outside every memslot go to the VMM as MMIO.",
         (api("KVM_SET_USER_MEMORY_REGION"),)),
    Term("ipa", "IPA (intermediate physical address)", ("IPA",),
         "The address the guest's own (stage-1) translation produces: the guest's physical address. Stage 2 "
         "translates it to a host physical address.",
         (arm("Intermediate physical address (IPA), in the translation chapter"),)),
    Term("hva", "HVA (host virtual address)", ("HVA",),
         "The address in the VMM's (userspace) address space at which a memslot's memory is mapped; KVM "
         "turns an IPA into an HVA through the memslot, then finds the PFN through the VMA.",
         (api("KVM_SET_USER_MEMORY_REGION, userspace_addr"),)),
    Term("pfn", "PFN (page frame number)", ("PFN", "PFNs", "pfn"),
         "A physical address divided by the page size: the number of a physical page frame.",
         (src("Documentation/mm/memory-model.rst"),)),
    Term("struct-page", "struct page", ("struct page",),
         "The kernel's record of one physical page frame of the memory it manages (its reference count, its "
         "state). RAM has one, and so does ZONE_DEVICE memory. Memory the kernel never took as its own, such "
         "as a PCI BAR or GPU memory kept from it, has none, and is also absent from the kernel's linear map: "
         "both follow from the memory not being the kernel's; one is not the cause of the other.",
         (src("Documentation/mm/memory-model.rst"), src("include/linux/mm_types.h", "struct page"))),
    Term("zone-device", "ZONE_DEVICE", ("ZONE_DEVICE",),
         "Device memory given struct pages (for DAX or device-private memory) without becoming ordinary "
         "RAM.",
         (src("Documentation/mm/memory-model.rst", "ZONE_DEVICE"),)),
    Term("thp", "THP (transparent huge pages)", ("THP",),
         "The kernel backing anonymous or shmem memory with huge pages (for example 2 MiB) on its own; KVM "
         "can then map a whole block at stage 2.",
         (src("Documentation/admin-guide/mm/transhuge.rst"),)),
    Term("hugetlbfs", "hugetlbfs", ("hugetlbfs", "hugetlb", "VM_HUGETLB"),
         "Huge pages reserved by the administrator and mapped from the hugetlbfs file system or with "
         "MAP_HUGETLB (VMA flag VM_HUGETLB); KVM can map them as stage-2 blocks up to the same size.",
         (src("Documentation/admin-guide/mm/hugetlbpage.rst"),)),
    Term("mte", "MTE (Memory Tagging Extension)", ("MTE",),
         "An Armv8.5 feature storing a tag per 16 bytes of memory. A VM with MTE enabled needs every page it "
         "maps to be able to hold tags.",
         (api("KVM_CAP_ARM_MTE"), src("Documentation/arch/arm64/memory-tagging-extension.rst"))),
    Term("nisv", "NISV (no valid instruction syndrome)", ("NISV", "KVM_EXIT_ARM_NISV"),
         "A data abort whose ESR does not describe the access (ISV is 0), so KVM cannot emulate it as "
         "MMIO. With KVM_CAP_ARM_NISV_TO_USER the VMM gets a KVM_EXIT_ARM_NISV exit instead.",
         (api("KVM_CAP_ARM_NISV_TO_USER"),)),
    Term("esr", "ESR (Exception Syndrome Register)", ("ESR", "ESR_EL2"),
         "The register that says why an exception was taken: its exception class (data abort, instruction "
         "abort) and details such as the fault status code and whether it was a write.",
         (arm("ESR_EL2, Exception Syndrome Register (EL2)"),)),
    Term("fsc", "FSC (fault status code)", ("FSC", "DFSC", "IFSC"),
         "Six bits of ESR giving the kind of a data or instruction abort (translation, access flag, "
         "permission, alignment, ...) and the table level it happened at.",
         (arm("ESR_EL2: ISS encoding for an exception from a Data Abort (DFSC) and an Instruction Abort (IFSC)"),
          src("arch/arm64/include/asm/esr.h", "ESR_ELx_FSC_*"))),
    Term("translation-fault", "translation fault", ("translation fault",),
         "A fault the CPU takes when no valid descriptor maps the address: at stage 2, the IPA has no entry yet. "
         "KVM answers it by mapping the memory (or by an MMIO exit when no memslot covers the IPA).",
         (arm("Translation fault, in the MMU faults section"),)),
    Term("permission-fault", "permission fault", ("permission fault",),
         "A fault the CPU takes when a valid descriptor maps the address but forbids the access (a write to a "
         "read-only entry, a fetch from an execute-never one). KVM answers it by relaxing the entry's permissions "
         "when it may.",
         (arm("Permission fault, in the MMU faults section"),)),
    Term("alignment-fault", "Alignment fault", ("Alignment fault", "alignment fault"),
         "A fault for an access the memory type does not allow unaligned: any unaligned access, or DC ZVA, to "
         "Device memory. If the guest's own stage 1 calls the memory Device, the guest takes it at EL1; if only "
         "stage 2 does, the CPU takes it to EL2 (FSC 0x21), which KVM does not handle: KVM_RUN fails with -EFAULT.",
         (arm("Alignment fault, and the alignment of data accesses to Device memory"),)),
    Term("dc-zva", "DC ZVA (zero a block of memory)", ("DC ZVA",),
         "The instruction that zeroes a whole cache-line-sized block, used by memset(); like an unaligned "
         "access it takes an Alignment fault on Device memory.",
         (arm("DC ZVA, Data Cache Zero by VA"),)),
    Term("impl-defined", "IMPLEMENTATION DEFINED", ("IMPLEMENTATION DEFINED",),
         "Behaviour the architecture leaves to each CPU, which must document it: code that relies on one choice "
         "works on some machines and not on others.",
         (arm("Glossary: IMPLEMENTATION DEFINED"),)),
    Term("unpredictable", "CONSTRAINED UNPREDICTABLE", ("CONSTRAINED UNPREDICTABLE",),
         "Behaviour the architecture narrows to a list of allowed outcomes without saying which one happens, for "
         "example whether an instruction fetch from Device memory faults or behaves as Normal Non-cacheable.",
         (arm("Glossary: CONSTRAINED UNPREDICTABLE"),)),
    Term("external-abort", "external abort (injected)", ("external abort", "synchronous external abort"),
         "An abort the guest takes as if the memory system had failed the access. KVM injects one when an access "
         "cannot be completed (an instruction fetch from no memslot, say); the guest's kernel then reports it or "
         "kills the process that made the access.",
         (arm("External aborts"), src("arch/arm64/kvm/inject_fault.c", "kvm_inject_dabt(), kvm_inject_pabt()"))),
    Term("lpa2", "LPA2 (52-bit addresses with 4K and 16K pages)", ("LPA2",),
         "An Armv8.7 feature for 52-bit addresses with 4 KiB and 16 KiB granules; it moves the "
         "shareability bits out of the descriptor.",
         (arm("FEAT_LPA2"),)),
    Term("guest-memfd", "guest_memfd", ("guest_memfd",),
         "A file of guest memory made with KVM_CREATE_GUEST_MEMFD that backs a memslot directly, not "
         "through the VMM's page tables. On arm64 (6.18 on) it must also be mappable by the VMM (no "
         "private memory), and a fault on such a slot goes to gmem_abort() (slot=gmem here).",
         (api("KVM_CREATE_GUEST_MEMFD"),)),
    Term("vma", "VMA (virtual memory area)", ("VMA", "VMAs"),
         "A contiguous range of a process's address space with the same flags and protection "
         "(struct vm_area_struct).",
         (src("include/linux/mm_types.h", "struct vm_area_struct"),)),
    Term("stage-2", "stage 2", ("stage 2", "stage-2"),
         "The second translation, owned by the hypervisor: from the guest's IPA to the host's physical "
         "address, with its own permissions and memory type.",
         (arm("Stage 2 translation, in the VMSAv8-64 chapter"),)),
    Term("kvm-run", "KVM_RUN", ("KVM_RUN",),
         "The ioctl with which the VMM runs a vCPU; it returns on an exit the VMM must handle, or with an "
         "error such as -EFAULT or -EINVAL (then QEMU stops the VM).",
         (api("KVM_RUN"),)),
    Term("mmio-exit", "MMIO exit", ("KVM_EXIT_MMIO", "MMIO"),
         "An access to a guest address no memslot covers: KVM_RUN returns with KVM_EXIT_MMIO and the VMM "
         "emulates the device.",
         (api("KVM_EXIT_MMIO"),)),
    Term("dirty-log", "dirty logging", ("KVM_MEM_LOG_DIRTY_PAGES", "dirty logging"),
         "A memslot flag asking KVM to record which pages the guest writes (for live migration); it maps "
         "pages one at a time and write-protected.",
         (api("KVM_SET_USER_MEMORY_REGION, KVM_MEM_LOG_DIRTY_PAGES"),)),
    Term("cap-243", "KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED", ("KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED",),
         "Capability 243, queried on the VM fd: whether this host can map cacheable VM_PFNMAP memory at "
         "stage 2 (FWB and DIC). Kernels before v6.17 do not know it and answer 0.",
         (api("KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED"),)),
    Term("cacheable-flag", "KVM_MEM_ENABLE_CACHEABLE_PFNMAP", ("KVM_MEM_ENABLE_CACHEABLE_PFNMAP",),
         "A memslot flag (bit 3) that only v4 to v6 of the cacheable-PFNMAP series defined: userspace asks for a "
         "cacheable VM_PFNMAP region to be mapped cacheable. Dropped in v7 after review; every released kernel "
         "refuses it with -EINVAL.",
         (Ref("the series' v4, patch 3/5 (lore)",
              "https://lore.kernel.org/r/20250518054754.5345-4-ankita@nvidia.com"),)),
    Term("normal-nc", "Normal Non-cacheable", ("Normal-NC", "Normal Non-cacheable", "NORMAL_NC"),
         "Memory the CPU may read speculatively, gather and reorder, but never caches: what write-combining "
         "frame buffers and many device BARs want. Unaligned accesses are allowed on it.",
         (arm("Normal memory: Non-cacheable"),)),
    Term("device", "Device memory (nGnRE, nGnRnE)", ("Device-nGnRE", "Device-nGnRnE", "Device"),
         "Memory for device registers: no speculation, no caching, no unaligned access; nG no gathering, "
         "nR no reordering, E/nE whether the write may be acknowledged early.",
         (arm("Device memory types"),)),
    # ---- host-safety hazards (faults[].hazard.kind) ----
    Term("host-oops", "host oops (hazard)", ("host_oops", "oopses", "oops"),
         "The host kernel takes a fault it cannot fix up, such as a cache maintenance instruction by an "
         "address the memory does not have, and dies or kills the VMM's thread with locks held.",
         (src("arch/arm64/mm/fault.c", "die_kernel_fault()"),)),
    Term("foreign-memory", "foreign memory (hazard)", ("foreign_memory",),
         "The guest reaches host memory that is not its own (past the end of its VMA, or pages that do not "
         "belong to its buffer): it can read or overwrite other processes' or the kernel's data.",
         (src("arch/arm64/kvm/mmu.c", "get_vma_page_shift()"),)),
    Term("lock-leak", "lock leak (hazard)", ("lock_leak",),
         "A path that returns to user space with a lock still held (here mmap_lock): the next thread that "
         "needs it for write waits for ever, and so does every page fault queued behind it.",
         (src("include/linux/mmap_lock.h"),)),
    Term("ref-leak", "reference leak or imbalance (hazard)", ("ref_leak", "ref_imbalance"),
         "A page reference taken and never dropped (the page can never be freed), or dropped on the wrong page "
         "(its count falls under its real user).",
         (src("include/linux/mm.h", "get_page(), put_page()"),)),
    Term("stale-data", "stale data (hazard)", ("stale_data", "stale data"),
         "Host and guest see the same memory with different cacheability: what one wrote through the cache may "
         "not be what the other reads uncached, so the guest can read old data, another VM's among it.",
         (arm("Mismatched memory attributes"),)),
    Term("livelock", "livelock (hazard)", ("livelock",),
         "The guest re-runs an instruction that faults the same way every time: nothing crashes, but the vCPU "
         "makes no progress.",
         (src("arch/arm64/kvm/mmu.c", "user_mem_abort()"),)),
    Term("regression", "regression (a revision of the series)", ("regression",),
         "A revision of the series refuses, or maps differently, memory it did not set out to change, which the "
         "kernel it applies to handled: a vfio BAR or a write-combining buffer that worked before stops "
         "working. Review asked for each such change to be undone.",
         (src("Documentation/process/handling-regressions.rst"),)),
)

BY_ID = {t.id: t for t in TERMS}


def _pattern() -> re.Pattern:
    spellings = sorted({w for t in TERMS for w in t.words}, key=len, reverse=True)
    return re.compile(r"(?<![\w.-])(" + "|".join(re.escape(w) for w in spellings) + r")(?![\w])")


_PATTERN = _pattern()
_WHICH = {w: t for t in TERMS for w in t.words}


def mark(text: str, prefix: str = "gl", new_tab: bool = False) -> Markup:
    """The text, escaped, with the first mention of each known term wrapped in a focusable element
    that shows its definition on hover, focus and tap (static/js/glossary.js for the tap), and line
    breaks allowed only between names (wrap.wbr). prefix makes the definitions' ids unique on a
    page; new_tab opens the glossary in a new tab (inside an embed or the presenter's deck)."""
    out, seen, at = [], set(), 0
    for i, m in enumerate(_PATTERN.finditer(text)):
        term = _WHICH[m.group(1)]
        if term.id in seen:
            continue
        seen.add(term.id)
        did = f"{prefix}-{i}"
        out.append(wbr(text[at:m.start()]))
        out.append(Markup('<span class="term{long}" tabindex="0" aria-describedby="{did}">{word}'
                          '<span class="term-def" id="{did}" role="tooltip">{name}: {meaning} '
                          '<a href="/glossary/#{tid}"{target}>glossary</a></span></span>').format(
            did=did, word=m.group(1), name=term.name, meaning=term.meaning, tid=term.id,
            long=" long" if len(m.group(1)) > LONG else "",
            target=Markup(' target="_blank" rel="noopener"') if new_tab else ""))
        at = m.end()
    out.append(wbr(text[at:]))
    return Markup("").join(out)
