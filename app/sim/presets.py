"""Real mappings, as scenario fields (kernel-behaviour.md §2). A preset only fills controls: the
permalink always carries the explicit values."""
from __future__ import annotations

from dataclasses import dataclass, replace

from .scenario import HOST_LEAF_SIZES, Event, Fault, Scenario, SlotDef, VmaDef


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


# ---- whole VMs (issue 16): layouts as a VMM builds them ---------------------------------------------

@dataclass(frozen=True)
class VmPreset:
    """A whole VM as QEMU's "virt" machine lays it out (roughly; `simplified` says where not): slot 1
    (guest RAM, schema 1's slot) and the memslots the VMM registers after it, a tour of accesses (one
    per region, holes included), and the host the story is told on. Applying it fills the page's
    controls: the permalink then carries every value."""

    id: str
    title: str
    story: str                       # what the VMM did to build it
    simplified: str                  # where the layout departs from what QEMU would do
    slot1: VmaDef                    # guest RAM's VMA (the keys vma, mt, mem, pg)
    slots: tuple[SlotDef, ...]
    faults: tuple[Fault, ...]
    names: tuple[str, ...]           # a short name per memslot, slot 1 first
    holes: tuple[tuple[int, int, str], ...] = ()   # IPA ranges the VMM emulates, with their names
    events: tuple[Event, ...] = ()
    host: frozenset | None = None    # None: the page's host
    vm: frozenset = frozenset()

    def apply(self, sc: Scenario) -> Scenario:
        return replace(sc, vma=self.slot1.flags, mt=self.slot1.mt, mem=self.slot1.mem, pg=self.slot1.pg,
                       slot=frozenset(), remap=False, g="4k", ipa=40, v1=(), slots=self.slots,
                       faults=self.faults, events=self.events, host=self.host if self.host is not None else sc.host,
                       vm=self.vm)


def _v(flags: str, mt: str = "normal", mem: str = "ram", pg: str | None = None, size: int = 0) -> VmaDef:
    return VmaDef(frozenset(flags.split(",")) if flags else frozenset(), mt, mem, pg, size)


def _f(text: str) -> tuple[Fault, ...]:
    out = []
    for item in text.split(","):
        ipa, rest = item[:-1], item[-1]
        mods: frozenset = frozenset()
        if "." in item:
            head, *mod = item.split(".")
            ipa, rest, mods = head[:-1], head[-1], frozenset(mod)
        out.append(Fault(int(ipa, 16), rest, mods))
    return tuple(out)


ANON_THP = _v("maywrite", pg="2m")
FLASH = SlotDef(0x0, 0x400_0000, frozenset({"ro"}))        # one VMA of anonymous RAM (the default)
VFIO_BAR = _v("pfnmap,io,shared,maywrite,uc", "ngnrne", "dev")
USEMEM = _v("pfnmap,io,shared,maywrite", "normal", "dev", "1g")
RESMEM = _v("pfnmap,io,shared,maywrite,uc", "nc", "dev", "1g")
# QEMU's virt machine (hw/arm/virt.c): what sits at the IPAs no memslot covers, roughly.
QEMU_HOLES = ((0x800_0000, 0x900_0000, "GIC (emulated in KVM)"), (0x900_0000, 0x900_1000, "PL011 UART"),
              (0x1000_0000, 0x3eff_0000, "PCIe MMIO window"), (0x3f00_0000, 0x4000_0000, "PCIe ECAM"),
              (0x40_0000_0000, 0x40_0400_0000, "GIC redistributors"), (0x40_1000_0000, 0x40_2000_0000, "PCIe ECAM"),
              (0x80_0000_0000, 0x100_0000_0000, "high PCIe MMIO window"))

VM_PRESETS = {p.id: p for p in (
    VmPreset(
        "grace-vm", "Grace Hopper VM: RAM, firmware flash, and the GPU through nvgrace-gpu",
        "QEMU's virt machine (-m 1G) maps guest RAM at 1 GiB from anonymous memory (THP) and the firmware flash "
        "at 0 as a read-only slot. The H100 is passed through with vfio-pci's nvgrace-gpu variant driver: the "
        "guest's firmware places BAR0 (16 MiB of registers) in the 32-bit PCIe window and the two 64-bit BARs "
        "the driver makes of the GPU's memory in the high window at 512 GiB: BAR4 (usemem, 95 GiB of cacheable "
        "GPU memory, reported as a 128 GiB BAR) and BAR2 (resmem, the 1 GiB carved out Normal-NC for the MIG "
        "bug). QEMU mmap()s each region (aligned up to 1 GiB) and registers it as a memslot when the BAR is "
        "enabled. nvgrace-gpu offers only the memory that exists for mmap (a sparse area): the 33 GiB of BAR4 "
        "beyond it have no memslot, and QEMU forwards those accesses to the driver's read/write handlers.",
        "QEMU registers a BAR's slot when the guest's firmware enables the BAR, while the guest runs; here every "
        "slot is registered before the first access. BAR0's MSI-X table is not split out. RAM is 1 GiB.",
        ANON_THP,
        (FLASH,
         SlotDef(0x1000_0000, 0x100_0000, frozenset(), (VFIO_BAR,)),
         SlotDef(0x80_0000_0000, 0x17_C000_0000, frozenset(), (USEMEM,)),
         SlotDef(0xA0_0000_0000, 0x4000_0000, frozenset(), (RESMEM,))),
        _f("40000000w,0x,10000000r,8000000000r.ua,a000000000w,9000000r,9800000000r"),
        ("guest RAM", "flash0 (firmware)", "GPU BAR0 (registers)", "GPU usemem (BAR4)", "GPU resmem (BAR2)"),
        QEMU_HOLES + ((0x97_C000_0000, 0xA0_0000_0000, "BAR4 beyond the GPU memory (nvgrace-gpu read/write)"),)),
    VmPreset(
        "nic-vm", "A VM with a vfio-pci NIC (an SR-IOV virtual function)",
        "QEMU maps guest RAM from a memfd (memory-backend-memfd, share=on, as vhost-user back ends need) and the "
        "firmware flash read-only at 0. A NIC's virtual function is passed through with vfio-pci: its 64 KiB "
        "register BAR0 is mmap()ed (VM_IO|VM_PFNMAP, pgprot_noncached, VM_ALLOW_ANY_UNCACHED) and registered as "
        "a memslot; its BAR3 holds only the MSI-X table, which QEMU emulates: no memslot. Dirty logging, for a "
        "live migration, is switched on for RAM; on the BAR it would be refused (QEMU never asks: it does not "
        "log ram_device regions).",
        "The guest's own stage 1 maps the BAR Device; here every access uses the page's one guest stage-1 type.",
        _v("shared,maywrite"),
        (FLASH, SlotDef(0x1000_0000, 0x1_0000, frozenset(), (VFIO_BAR,))),
        _f("40000000w,10000000r,10010000w,10000000x,40200000w"),
        ("guest RAM (memfd)", "flash0 (firmware)", "NIC BAR0 (registers)"),
        QEMU_HOLES + ((0x1001_0000, 0x1001_4000, "NIC BAR3: MSI-X table (QEMU emulates it)"),),
        events=(Event("logon", after=4), Event("logon", after=5, slot=2))),
    VmPreset(
        "mte-vm", "An MTE VM on hugetlbfs, two NUMA nodes",
        "On a host with MTE, QEMU enables KVM_CAP_ARM_MTE (-machine virt,mte=on) and backs each NUMA node's RAM "
        "with hugetlbfs (memory-backend-file, mem-path=/dev/hugepages): node 0 with 2 MiB pages at 1 GiB, node 1 "
        "with 1 GiB pages right after it, each its own memslot; the firmware flash is anonymous memory. Every "
        "slot of an MTE VM needs VM_MTE_ALLOWED on every VMA: a vfio-pci device would be refused on every kernel "
        "here, and 6.12 never gives a hugetlbfs mapping VM_MTE_ALLOWED.",
        "The nodes are 1 GiB each; QEMU would also read-only map the flash's second bank.",
        _v("maywrite,mteok,hugetlb", pg="2m"),
        (SlotDef(0x8000_0000, 0x4000_0000, frozenset(), (_v("maywrite,mteok,hugetlb", pg="1g"),)),
         SlotDef(0x0, 0x400_0000, frozenset({"ro"}), (_v("maywrite,mteok"),))),
        _f("40000000w,80000000r,0x,9000000r"),
        ("node 0 RAM (hugetlbfs 2M)", "node 1 RAM (hugetlbfs 1G)", "flash0 (firmware)"),
        QEMU_HOLES, host=frozenset({"fwb", "dic", "mte"}), vm=frozenset({"mte"})),
    VmPreset(
        "split-slot", "One memslot over two kinds of VMA: anonymous RAM around a cacheable device window",
        "A VMM reserves a 4 MiB window of guest memory (anonymous, at the device-memory base after RAM), maps 1 MiB "
        "of a device's memory into its middle with mmap(MAP_FIXED) (a cacheable VM_PFNMAP, as nvgrace-gpu's "
        "usemem), and registers the whole window as one memslot. On a host with FWB but without DIC (a Cortex-A710-"
        "like core), 6.17 on walk the slot's VMAs and refuse the whole slot at the second; the kernels that size "
        "a VM_PFNMAP block from the VMA map a 2 MiB block at the device memory's first page that reaches over the "
        "third VMA's RAM.",
        "QEMU itself gives each memslot one VMA; a VMM that maps device memory into a reserved window (as some do "
        "for shared-memory regions) gets this layout.",
        ANON_THP,
        (SlotDef(0x8000_0000, 0x40_0000, frozenset(),
                 (_v("maywrite"), _v("pfnmap,io,shared,maywrite", "normal", "dev", "2m", 0x10_0000),
                  _v("maywrite", size=0x10_0000))),),
        _f("40000000r,80000000w,80200000r,80300000r,80300000w"),
        ("guest RAM", "device window"),
        QEMU_HOLES, host=frozenset({"fwb"})),
)}
