"""Real mappings, as scenario fields (kernel-behaviour.md §2). A preset only fills controls: the
permalink always carries the explicit values."""
from __future__ import annotations

from dataclasses import dataclass, replace

from .scenario import HOST_LEAF_SIZES, Scenario


@dataclass(frozen=True)
class Preset:
    id: str
    title: str
    note: str
    vma: frozenset
    mt: str = "normal"
    mem: str = "ram"
    pg: str | None = None
    mte_capable: bool = False        # gets VM_MTE_ALLOWED when the host has MTE
    gmem: bool = False               # a guest_memfd memslot (no dirty log, not read-only)

    def apply(self, sc: Scenario) -> Scenario:
        vma = self.vma | ({"mteok"} if self.mte_capable and "mte" in sc.host else frozenset())
        slot = sc.slot - {"gmem", "log", "ro"} | {"gmem"} if self.gmem else sc.slot - {"gmem"}
        sizes = list(HOST_LEAF_SIZES[sc.g])            # page, PMD, [PUD]
        pg = None
        if self.pg is not None:
            want = {"pmd": 1, "pud": 2}[self.pg]
            pg = sizes[want] if want < len(sizes) else sizes[-1]
        return replace(sc, vma=frozenset(vma), mt=self.mt, mem=self.mem, pg=pg, slot=slot,
                       remap=sc.remap and not self.gmem)


def _p(id, title, note, vma, **kw):
    return Preset(id, title, note, frozenset(vma.split(",")) if vma else frozenset(), **kw)


PRESETS = {p.id: p for p in (
    _p("anon", "Anonymous RAM", "MAP_PRIVATE|MAP_ANONYMOUS guest RAM; THP may back it with 2M leaves.",
       "maywrite", pg="pmd", mte_capable=True),
    _p("hugetlb-2m", "hugetlbfs 2M", "MAP_HUGETLB with 2M pages.", "maywrite,hugetlb", pg="pmd",
       mte_capable=True),
    _p("hugetlb-1g", "hugetlbfs 1G", "MAP_HUGETLB with 1G pages.", "maywrite,hugetlb", pg="pud",
       mte_capable=True),
    _p("file", "Shared file (ext4/xfs)", "MAP_SHARED page-cache file; never VM_MTE_ALLOWED.",
       "shared,maywrite"),
    _p("memfd", "memfd / shmem", "MAP_SHARED memfd, QEMU's usual guest-RAM backend.", "shared,maywrite",
       mte_capable=True),
    _p("vfio-bar", "vfio-pci BAR", "vfio_pci_core_mmap(): VM_ALLOW_ANY_UNCACHED|VM_IO|VM_PFNMAP, "
       "pgprot_noncached, MMIO PFNs.", "pfnmap,io,shared,maywrite,uc", mt="ngnrne", mem="dev"),
    _p("nvgrace-usemem", "nvgrace-gpu usemem (Grace Hopper GPU memory)", "BAR4 of nvgrace-gpu: "
       "VM_IO|VM_PFNMAP, pgprot left cacheable (MT_NORMAL), GPU memory outside the kernel's map.",
       "pfnmap,io,shared,maywrite", mem="dev"),
    _p("nvgrace-resmem", "nvgrace-gpu resmem", "BAR2 of nvgrace-gpu: as usemem plus "
       "VM_ALLOW_ANY_UNCACHED, pgprot_writecombine (MT_NORMAL_NC).", "pfnmap,io,shared,maywrite,uc",
       mt="nc", mem="dev"),
    _p("devmem-shared", "/dev/mem MMIO, MAP_SHARED", "remap_pfn_range() of MMIO: VM_IO|VM_PFNMAP, "
       "pgprot_noncached.", "pfnmap,io,shared,maywrite", mt="ngnrne", mem="dev"),
    _p("devmem-private", "/dev/mem MMIO, MAP_PRIVATE", "A COW PFNMAP: VM_MAYWRITE without VM_SHARED; "
       "host PTEs read-only.", "pfnmap,io,maywrite", mt="ngnrne", mem="dev"),
    _p("pfnmap-ram", "PFNMAP of kernel RAM", "A driver's remap_pfn_range() of its own RAM pages, "
       "cacheable.", "pfnmap,io,shared,maywrite"),
    _p("mixedmap", "MIXEDMAP without VM_IO", "vm_insert_mixed()-style mapping of PFNs without struct "
       "page and without VM_IO: KVM cannot look the PFN up.", "mixedmap,shared,maywrite", mem="dev"),
    _p("gmem", "guest_memfd", "KVM_CREATE_GUEST_MEMFD with GUEST_MEMFD_FLAG_MMAP, mapped MAP_SHARED by the "
       "VMM: a KVM_MEM_GUEST_MEMFD slot whose memory KVM takes from the guest_memfd (arm64: 6.18 on); never "
       "VM_MTE_ALLOWED.", "shared,maywrite", gmem=True),
    _p("dax", "DAX-like (ZONE_DEVICE)", "struct pages outside memblock, no PFNMAP/MIXEDMAP flag.",
       "shared,maywrite", mem="zdev"),
)}
