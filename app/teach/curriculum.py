"""The lessons: a primer first, then the Grace Hopper story and what followed from it. Each part is
a permalink, the questions it asks (their answers come from the simulator) and the paragraph shown
once they are answered. Every link here is part of the permalink corpus."""
from __future__ import annotations

from .course import Lesson, Part

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev"
BAR = "vma=pfnmap,io,shared,maywrite,uc&mt=ngnrne&mem=dev"
BAR_NO_UC = "vma=pfnmap,io,shared,maywrite&mt=ngnrne&mem=dev"
MIXED = "vma=mixedmap,io,shared,maywrite&mt=ngnre&mem=dev"
UNALIGNED = ("The guest's load is unaligned (.ua): what CUDA-style code does on GPU memory it believes is RAM, "
             "and what memcpy() does at the edges of a buffer.")

PRIMER = Lesson(
    "first-fault", "A guest's first fault: memslots, the VMM and stage 2",
    "A VMM (QEMU, say) is the process that runs a virtual machine. It mmap()s anonymous memory for the "
    "guest's RAM and registers it with KVM as a memslot (KVM_SET_USER_MEMORY_REGION): a range of guest "
    "physical addresses (IPAs) backed by a range of the VMM's own virtual addresses (HVAs). The guest's page "
    "tables (stage 1) turn its virtual addresses into IPAs; KVM's own table (stage 2) turns IPAs into host "
    "physical addresses, and it starts empty. When the guest touches an IPA that stage 2 does not map, or "
    "maps without the right permission, the CPU stops the guest and enters KVM with a stage-2 fault: a "
    "translation fault (no entry) or a permission fault (an entry that forbids this access). KVM then finds "
    "the memslot, the VMA behind the HVA and the host page, and writes a stage-2 entry; an IPA that no "
    "memslot covers goes to the VMM instead.",
    "Tell a translation fault from a permission fault and from no fault at all, and say where each access is "
    "answered: by KVM mapping memory, by the VMM emulating it, or by an abort in the guest.",
    ("fault", "outcome"), (
        Part("/v6.17/?f=40000000r",
             "Stage 2 is empty, so the CPU finds no entry for IPA 0x40000000: a translation fault. The IPA is inside "
             "the memslot, so KVM finds the VMM's anonymous memory behind it, faults the page in on the host, and "
             "maps it at stage 2 as Normal memory, readable and writable. The guest re-runs its load, which now "
             "completes.", ("fault", "outcome")),
        Part("/v6.17/?f=40000000r,40000000w",
             "The read already mapped the page readable and writable (the VMM may write its anonymous memory), "
             "so the write finds a valid entry that allows it: no fault, and KVM never hears of it. Most of a "
             "guest's accesses are like this one.", ("fault",)),
        Part("/v6.17/?host=fwb&f=40000000r,40000000x",
             "On a host without DIC, KVM maps a page without execute permission until the guest executes from "
             "it. The instruction fetch finds a valid entry that forbids it: a permission fault. KVM does not map "
             "the page again: it relaxes the entry's permissions, adding execute, after invalidating the "
             "I-cache for that page.", ("fault", "outcome"),
             "The guest then executes an instruction from the page it read."),
        Part("/v6.17/?f=10000000r",
             "No memslot covers IPA 0x10000000, so there is no memory behind it: the guest is talking to a "
             "device the VMM emulates (a UART, say). KVM decodes the load from the fault's syndrome and returns "
             "from KVM_RUN with KVM_EXIT_MMIO; the VMM emulates the read and runs the vCPU again.",
             ("fault", "outcome")),
        Part("/v6.17/?f=10000000x",
             "An instruction fetch from an address no memslot covers cannot be emulated: there is no instruction "
             "there to fetch. KVM injects an instruction abort into the guest, whose own kernel then deals "
             "with it.", ("outcome", "guest")),
    ))

GRACE_HOPPER = Lesson(
    "grace-hopper", "Grace Hopper GPU memory, end to end: the host's view and the guest's",
    "The nvgrace-gpu driver maps the GPU's memory into QEMU with remap_pfn_range(): VM_PFNMAP, a cacheable "
    "pgprot, and PFNs the kernel never mapped (no struct page, no linear-map alias). The guest's driver treats "
    "that memory as RAM: CUDA code loads and stores to it unaligned. Follow one access through four kernels, "
    "from the guest's side too.",
    "Say which memory type the guest gets for GPU memory on each kernel, what an unaligned access then does, "
    "and whether the result is safe.",
    ("memtype", "guest", "safe"), (
        Part(f"/v6.14/?{NVG}&f=40000000r",
             "v6.14 looks only at the PFN: it is not kernel memory, so stage 2 maps it Device-nGnRE, whatever the "
             "VMA says. The host maps the same memory cacheable: the two views disagree, and data the host wrote "
             "through its cache may still sit there when the guest reads the memory uncached.",
             ("memtype", "safe")),
        Part(f"/v6.14/?{NVG}&f=40000000r.ua",
             "The same mapping, but an unaligned load, as CUDA code makes. On memory stage 2 calls Device, an "
             "unaligned access takes a stage-2 Alignment fault (FSC 0x21) to EL2. KVM does not handle that fault "
             "status code: KVM_RUN fails with -EFAULT and QEMU stops the VM. On v6.14 a GPU driver that uses its "
             "memory as RAM brings its VM down.", ("guest",), UNALIGNED),
        Part(f"/patch-v3/?{NVG}&f=40000000r.ua",
             "The v3 patch reads the VMA's pgprot: MT_NORMAL means cacheable, and stage 2 maps the memory Normal. "
             "Normal memory allows unaligned accesses (while the guest's SCTLR_EL1.A is clear), so the load "
             "completes.", ("memtype", "guest"), UNALIGNED),
        Part(f"/patch-v3/?{NVG}&host=&f=40000000r",
             "Without FWB, KVM would have to clean the caches for the new cacheable mapping through the kernel's "
             "linear map, which this memory is not in. The v3 patch refuses, but only when the guest touches the "
             "memory: KVM_RUN fails with -EINVAL and the VM stops mid-run.", ("outcome", "guest")),
        Part(f"/v6.17/?{NVG}&host=fwb&f=40000000r",
             "The merged series requires DIC as well as FWB, and checks at memslot registration: QEMU learns "
             "before the guest runs, from an ioctl that fails with -EINVAL, and can fall back or refuse to start.",
             ("outcome",)),
        Part(f"/v6.17/?{NVG}&f=40000000r.ua",
             "On a host with FWB and DIC, v6.17 maps the GPU memory Normal Write-Back: host and guest agree, no "
             "cache maintenance is needed (FWB), and the CUDA-style unaligned load completes.",
             ("memtype", "guest", "safe"), UNALIGNED),
    ))

V3_PATCH = Lesson(
    "v3-patch", "What the v3 patch changes",
    "One patch, five hunks: a new cacheable_devmem flag decided from the VMA's pgprot, and a fault-time check "
    "for FWB. Compare it with the kernel it applies to, and look for what it breaks.",
    "Say which memory type the patch gives device and RAM PFNMAPs, where it refuses them, and which of its "
    "refusals is not safe.",
    ("memtype", "outcome", "safe"), (
        Part(f"/v6.14/?{NVG}&f=40000000r",
             "Before the patch: Device, whatever the VMA's pgprot says, because the PFN is not kernel memory.",
             ("memtype", "safe")),
        Part(f"/patch-v3/?{NVG}&f=40000000r",
             "After: Normal, because the pgprot is exactly MT_NORMAL. Host and guest now agree.",
             ("memtype", "outcome", "safe")),
        Part("/patch-v3/?vma=pfnmap,io,maywrite&mt=ngnrne&mem=dev&f=40000000r",
             "A private (copy-on-write) PFNMAP, like /dev/mem opened MAP_PRIVATE: the patch refuses it with "
             "-EINVAL, but it returns between mmap_read_lock() and mmap_read_unlock(). QEMU's thread goes back to "
             "user space holding mmap_lock: its next mmap() waits for ever.", ("outcome", "safe")),
        Part("/v6.14/?vma=pfnmap,io,shared,maywrite&host=&f=40000000r",
             "A PFNMAP of kernel RAM on a host without FWB: v6.14 maps it Normal, and cleans the page to PoC "
             "first through the kernel's linear map, which RAM has.", ("memtype", "outcome")),
        Part("/patch-v3/?vma=pfnmap,io,shared,maywrite&host=&f=40000000r",
             "The patch now refuses that same mapping at fault time: its FWB check asks only whether the mapping "
             "is cacheable, not whether the PFN is RAM that could be cleaned.", ("outcome",)),
    ))

FWB_DIC = Lesson(
    "fwb-dic", "Why FWB and DIC matter: cache maintenance needs a kernel mapping",
    "Before KVM maps memory cacheable for a guest, it may clean the D-cache to PoC (so that a guest reading "
    "the memory uncached sees what the host wrote) and invalidate the I-cache to PoU (so that the guest never "
    "executes stale instructions), by virtual address, through the kernel's linear map. FWB makes the first "
    "unnecessary, DIC the second; memory outside the linear map has no address to do them by.",
    "Say which cache maintenance KVM performs or skips for a new mapping, why, and whether it is safe when "
    "the maintenance needs an address the memory does not have.",
    ("cmo", "safe"), (
        Part("/v6.17/?host=dic&f=40000000r",
             "Ordinary RAM on a host without FWB: the guest may map the page non-cacheable at its own stage 1, so "
             "KVM cleans it to PoC before the guest can see it. DIC makes the I-cache side a mere ISB.", ("cmo",)),
        Part("/v6.17/?f=40000000r",
             "With FWB, stage 2 forces the guest's view cacheable, so the clean is skipped; with DIC the "
             "I-cache needs no invalidation either.", ("cmo",)),
        Part("/v6.17/?host=fwb&f=40000000r,40000000x",
             "Without DIC the page starts non-executable; the first instruction fetch takes a permission fault, "
             "and KVM invalidates the I-cache before adding execute permission. The D-cache needs nothing now: "
             "the page is already mapped.", ("cmo",), "The guest reads the page, then executes from it."),
        Part(f"/patch-v3/?{NVG}&host=fwb&f=40000000x",
             "The v3 patch with FWB but no DIC maps GPU memory executable and invalidates the I-cache through "
             "__va(PA), a kernel address this memory does not have: the host takes a kernel fault with no fixup "
             "and oopses. v4 of the series added the DIC check.", ("cmo", "safe")),
        Part(f"/v6.17/?{NVG}&host=fwb&f=40000000x",
             "The merged code refuses this host at memslot registration: nothing is mapped, so nothing needs "
             "maintaining, and the host is safe.", ("outcome", "safe")),
    ))

FAIL_EARLY = Lesson(
    "fail-early", "The review: fail early, and make support discoverable",
    "Marc Zyngier's review of v3: a check at fault time tells a well-behaved VMM nothing in advance, and FWB "
    "is not discoverable from userspace. The merged series answers both: a capability the VMM can query, and "
    "a check when the memslot is registered.",
    "Say where each kernel refuses an unsupported host (memslot, fault time, or not at all) and what "
    "KVM_CHECK_EXTENSION(243) tells the VMM beforehand.",
    ("outcome",), (
        Part(f"/patch-v3/?{NVG}&host=&f=40000000r",
             "v3: capability 243 does not exist, so the VMM cannot ask; the memslot is accepted, and KVM_RUN fails "
             "with -EINVAL when the guest first touches the memory.", ("cap", "outcome")),
        Part(f"/v6.17/?{NVG}&host=&f=40000000r",
             "v6.17: KVM_CHECK_EXTENSION(243) answers 0 and KVM_SET_USER_MEMORY_REGION fails with -EINVAL: the "
             "VMM learns before the guest runs.", ("cap", "outcome")),
        Part(f"/v6.17/?{NVG}&f=40000000r",
             "On a host with FWB and DIC the capability answers 1, the memslot is accepted, and the memory is "
             "mapped Normal.", ("cap", "outcome")),
        Part(f"/v6.17/?{NVG}&host=fwb&remap=1&f=40000000r",
             "A VMA mapped over the memslot after registration escapes the memslot check; the fault-time check "
             "remains, and KVM_RUN fails with -EFAULT: the VM stops.", ("outcome", "guest"),
             "The VMM registered the memslot over anonymous memory and mapped the GPU memory over it afterwards."),
    ))

VFIO_NC = Lesson(
    "vfio-nc", "VFIO BARs and Normal-NC",
    "vfio-pci maps device BARs with pgprot_noncached and, since 6.10, VM_ALLOW_ANY_UNCACHED, which lets KVM "
    "map them Normal Non-cacheable so that the guest can pick write-combining.",
    "Say which memory type a BAR gets at stage 2 with and without VM_ALLOW_ANY_UNCACHED, and what the guest's "
    "unaligned stores and instruction fetches then do.",
    ("memtype", "guest"), (
        Part(f"/v6.17/?{BAR}&f=40000000w",
             "Normal-NC at stage 2: the guest's own stage-1 type decides within non-cacheable.", ("memtype",)),
        Part(f"/v6.17/?{BAR_NO_UC}&f=40000000w",
             "Without VM_ALLOW_ANY_UNCACHED, stage 2 forces Device-nGnRE.", ("memtype",)),
        Part(f"/v6.17/?{BAR_NO_UC}&f=40000000w.ua",
             "An unaligned store to memory stage 2 calls Device takes a stage-2 Alignment fault that KVM does not "
             "handle: KVM_RUN fails with -EFAULT and the VM stops.", ("guest",),
             "The guest's store is unaligned (.ua), as a memcpy() into a frame buffer makes."),
        Part(f"/v6.17/?{BAR}&f=40000000w.ua",
             "With VM_ALLOW_ANY_UNCACHED the BAR is Normal-NC, where unaligned accesses are allowed: the store "
             "completes.", ("memtype", "guest"), "The guest's store is unaligned (.ua)."),
        Part(f"/v6.17/?{BAR}&f=40000000x",
             "Executing from a BAR: KVM refuses a device mapping execute permission and injects an instruction "
             "abort into the guest.", ("outcome", "guest")),
    ))

MTE_PFNMAP = Lesson(
    "mte-pfnmap", "MTE and PFNMAP",
    "A VM with MTE needs VM_MTE_ALLOWED on every VMA it maps: the allocation tags of guest memory must be "
    "kept, and memory outside the kernel's tag storage has none.",
    "Say where a VM with MTE refuses memory that cannot hold tags: at memslot registration, at fault time, or "
    "not at all.",
    ("outcome",), (
        Part("/v6.17/?vma=maywrite,mteok&host=fwb,dic,mte&vm=mte&f=40000000r",
             "Anonymous RAM with VM_MTE_ALLOWED: mapped, its tags sanitised.", ("outcome",)),
        Part(f"/v6.17/?{NVG}&host=fwb,dic,mte&vm=mte&f=40000000r",
             "Any PFNMAP lacks VM_MTE_ALLOWED: the memslot is refused, in every kernel.", ("outcome",)),
        Part(f"/v6.17/?{NVG}&host=fwb,dic,mte&vm=mte&remap=1&f=40000000r",
             "Mapped over the memslot after registration, cacheable GPU memory reaches the fault-time MTE check: "
             "KVM_RUN fails with -EFAULT.", ("outcome",),
             "The VMM mapped the GPU memory over the memslot after registering it."),
        Part(f"/v6.14/?{NVG}&host=fwb,dic,mte&vm=mte&remap=1&f=40000000r",
             "v6.14 maps it Device, which skips the MTE check altogether: no tags are needed for Device memory, "
             "but the host and the guest disagree about its type.", ("outcome", "safe"),
             "The VMM mapped the GPU memory over the memslot after registering it."),
    ))

LEAF_SIZE = Lesson(
    "leaf-size", "How big a block: the VMA or the host's stage-1 leaf",
    "Up to 7.1, KVM sized a VM_PFNMAP mapping from the VMA: how far the VMA extends around the faulting "
    "address and how HVA and PA are aligned. \"KVM: arm64: Use stage-1 leaf size for VM_PFNMAP\" (7.3, "
    "backported to 6.12.113) reads the size the host itself maps instead, and upgrades a page to a block only "
    "as far as that goes.",
    "Say how much KVM maps at once for a device BAR and why: the VMA's extent and alignment, the host's own "
    "leaf, or nothing more than a page.",
    ("size",), (
        Part(f"/v7.1/?{BAR}&pg=1g&f=40000000r",
             "v7.1 sizes VM_PFNMAP from the VMA alone: 1 GiB of VMA around the address, HVA and PA aligned alike, "
             "so one 1 GiB block, whatever the host's own page tables map there.", ("size", "why_size"),
             "The BAR is 1 GiB, 1 GiB-aligned in both the VMM's address space (HVA) and physically (PA), and the "
             "host maps it with 1 GiB leaves (pg=1g)."),
        Part(f"/v7.3/?{BAR}&pg=1g&f=40000000r",
             "7.3 starts from PAGE_SIZE and upgrades to what the host maps there, at most a 2 MiB block: the "
             "host's 1 GiB leaf gives a 2 MiB block.", ("size", "why_size")),
        Part(f"/v6.12/?{BAR}&pg=1g&f=40000000r",
             "The LTS kernel most hosts run has the same fix, backported: 2 MiB, from the host's leaf.",
             ("size", "why_size")),
        Part(f"/v7.1/?{MIXED}&pg=2m&f=40000000r",
             "A device MIXEDMAP page, on a host that maps it with a 2 MiB leaf: v7.1 skips the huge-page upgrade "
             "for non-cacheable mappings, so it maps one 4 KiB page.", ("size", "why_size"),
             "The host maps this device memory with 2 MiB leaves (pg=2m)."),
        Part(f"/v7.3/?{MIXED}&pg=2m&f=40000000r",
             "7.3 no longer skips the upgrade for non-cacheable mappings: the same page becomes a 2 MiB block.",
             ("size", "why_size")),
    ))


SERIES = Lesson(
    "series", "How review changed the patch",
    "Ten revisions, from September 2023 to July 2025, of the patch that lets KVM map Grace Hopper GPU memory "
    "(nvgrace-gpu: VM_PFNMAP, VM_IO, a cacheable pgprot, no struct page) cacheable at stage 2. Predict what "
    "each one answers, on hosts with and without FWB and DIC; each reveal also opens the series view, where the "
    "same scenario runs through every revision beside the review that changed it.",
    "Say, revision by revision, where the GPU memory is refused or with which memory type it is mapped, whether "
    "that is safe for the host, and which review comment moved the decision: from fault time to memslot "
    "registration, from a memslot flag to a capability, from FWB alone to FWB and DIC.",
    ("outcome", "memtype", "safe"), (
        Part(f"/v6.14/?{NVG}&f=40000000r",
             "Before the series: v6.14 looks only at the PFN, which is not kernel memory, so stage 2 maps the "
             "GPU memory Device-nGnRE while the host maps it cacheable.", ("memtype", "safe")),
        Part(f"/patch-v1/?{NVG}&f=40000000r",
             "v1 takes the stage-2 type from the VMA's pgprot: MT_NORMAL, so Normal, where v6.14 mapped Device. "
             "Catalin Marinas answered that the pgprot says how userspace mapped the memory, not what it is.",
             ("memtype",)),
        Part(f"/patch-v1/?{NVG}&host=dic&f=40000000r",
             "Without FWB, v1 refuses every PFN without a struct page, at fault time: not only this memory but "
             "every vfio BAR too. v3 limited the check to the memory it maps cacheable.", ("outcome",)),
        Part(f"/patch-v2/?{NVG}&f=40000000r,40001000x",
             "v2 still maps it Normal (the pgprot decides the type), but VM_IO makes it non-cacheable, and "
             "non-cacheable memory may not be executed.", ("outcome",),
             "The guest then executes an instruction from the next page."),
        Part(f"/patch-v3/?{NVG}&host=fwb&f=40001000x",
             "v3 lets the guest execute from it and asks only for FWB. Without DIC, KVM invalidates the I-cache "
             "through a kernel address this memory does not have: the host oopses.", ("outcome", "safe")),
        Part(f"/patch-v3/?{NVG}&host=dic&f=40000000r",
             "Without FWB, v3 refuses at fault time: KVM_RUN fails. Marc Zyngier's review: refuse at memslot "
             "registration instead, and let userspace discover what the host supports.", ("outcome",)),
        Part(f"/patch-v4/?{NVG}&f=40000000r",
             "v4 refuses the memslot unless userspace sets the new KVM_MEM_ENABLE_CACHEABLE_PFNMAP flag, even on "
             "a host with FWB and DIC.", ("outcome",)),
        Part(f"/patch-v4/?{NVG}&host=fwb&slot=cacheable&f=40001000x",
             "With the flag but without DIC: refused at registration. v4 added DIC beside FWB, which closes v3's "
             "I-cache hole.", ("outcome", "safe")),
        Part(f"/patch-v7/?{NVG}&f=40000000r,40001000x",
             "Sean Christopherson NAKed the flag, and v7 dropped it: FWB and DIC alone decide, and capability 243 "
             "tells userspace.", ("outcome", "cap"),
             "The guest then executes an instruction from the next page."),
        Part("/patch-v7/?host=fwb&f=40000000r",
             "Not GPU memory: ordinary anonymous guest RAM, on a host without DIC. v7's fault-time check covers "
             "every cacheable VMA; Catalin Marinas asked exactly this on v7, and v8 fixed it.", ("outcome",)),
        Part(f"/patch-v8/?{NVG}&host=fwb&remap=1&f=40000000r",
             "A VMA mapped over the memslot after registration escapes the memslot check. From v8 the fault path "
             "refuses it with -EFAULT.", ("outcome",),
             "The VMM mapped the GPU memory over the memslot after registering it."),
        Part(f"/block-pfnmap/?{NVG}&f=40000000r",
             "Mainline between two commits of the series, after \"Block cacheable PFNMAP mapping\" alone: a "
             "bisection can land here.", ("outcome",)),
        Part(f"/v6.17/?{NVG}&host=fwb&f=40000000r",
             "As merged (v10, the same decisions): FWB without DIC is refused at registration, and capability "
             "243 answers 0 beforehand.", ("outcome", "cap")),
    ), series_view=True)

LESSONS = (PRIMER, GRACE_HOPPER, V3_PATCH, FWB_DIC, FAIL_EARLY, VFIO_NC, MTE_PFNMAP, LEAF_SIZE, SERIES)
