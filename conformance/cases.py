"""The cases the probe runs, and the permalink that expresses each one.

A case is one fresh VM of an IPA size: a test slot at IPA 0x4000_0000 backed as `backing` says (or
none), one level-2 block long (2 MiB with 4K pages, 32 MiB with 16K), the slot and VM flags, the
guest's stage-1 type, and the guest's accesses in order, with host events between them. Pages are
the host's (4K or 16K). `permalink()` writes the scenario-1 query that says the same thing for a host
with the given features and page size, or returns the reason none can.

Host events (the VMM's actions between two accesses; in a permalink's `f` list, in order with the
faults; the size is one host page unless given):
  unmap:<ipa>[:<size>]    munmap() of the part of the slot's VMA backing that IPA range: the MMU
                          notifier unmaps it at stage 2, and the range then has no VMA.
  replace:<ipa>[:<size>]  mmap(MAP_FIXED) over the range of what the backing maps there: the same
                          object where there is one to map again (the slot's memfd at the same offset,
                          /dev/mem at the same PA), else a fresh private anonymous (THP: with
                          MADV_HUGEPAGE) or hugetlb mapping, whose pages carry new markers ("S2VN"), as
                          do /dev/mem's. Shared anonymous memory has no object to map again: not drawn.
  age:<ipa>[:<size>]      the host ages the range: DAMON's virtual-address monitor (sysfs), started on
                          the VMM for that range alone with a 1 ms sampling interval for 50 ms, makes
                          sampled pages old with ptep_clear_young_notify(), whose MMU notifier
                          (clear_young -> kvm_age_gfn) clears the access flag at stage 2. Debian's
                          kernels lack IDLE_PAGE_TRACKING (no /sys/kernel/mm/page_idle), and
                          MADV_PAGEOUT reclaims without a reference check (it unmaps shmem pages,
                          leaves anonymous ones alone without swap): neither ages.
  logon, logoff           KVM_SET_USER_MEMORY_REGION(2) of the same slot with only
                          KVM_MEM_LOG_DIRTY_PAGES set or cleared (a flags-only change).
  delslot                 KVM_SET_USER_MEMORY_REGION(2) of the slot with memory_size 0.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

TEST_IPA, NOSLOT_IPA, PAGE = 0x4000_0000, 0x8000_0000, 0x1000
MEMSLOT_SIZE = 0x4000_0000                     # schema 1's memslot, at TEST_IPA
GRANULES = {0x1000: "4k", 0x4000: "16k"}
BLOCK = {0x1000: "2m", 0x4000: "32m"}          # a level-2 block of each granule, the `pg` of a block
EVENTS = {"unmap": "U", "replace": "R", "age": "A", "logon": "L", "logoff": "l", "delslot": "D"}
RANGE_EVENTS = ("unmap", "replace", "age")

# What each backing is, in the permalink grammar: VMA flags, pgprot, backing, host leaf.
BACKINGS = {
    "anon": ("anonymous private memory, THP off (MADV_NOHUGEPAGE)", "maywrite", "normal", "ram", None),
    "thp": ("anonymous private memory, 2 MiB-aligned, MADV_HUGEPAGE", "maywrite", "normal", "ram", "2m"),
    "hugetlb": ("a 2 MiB hugetlb page, private (MAP_HUGETLB)", "maywrite,hugetlb", "normal", "ram", "2m"),
    "anonshared": ("anonymous shared memory (shmem)", "shared,maywrite", "normal", "ram", None),
    "memfd": ("memfd, MAP_SHARED", "shared,maywrite", "normal", "ram", None),
    "devmem": ("/dev/mem MAP_SHARED over RAM hidden with mem= (PA 0xa0000000), 2 MiB-aligned HVA",
               "pfnmap,io,shared,maywrite", "ngnrne", "dev", "2m"),
    "devmem4k": ("/dev/mem MAP_SHARED over RAM hidden with mem=, HVA one page past 2 MiB alignment",
                 "pfnmap,io,shared,maywrite", "ngnrne", "dev", None),
    "devmemp": ("/dev/mem MAP_PRIVATE over RAM hidden with mem= (PA 0xa0000000), 2 MiB-aligned HVA",
                "pfnmap,io,maywrite", "ngnrne", "dev", "2m"),
    "udmabuf": ("udmabuf of every other memfd page, in reverse order (cacheable VM_PFNMAP over scattered RAM), "
                "2 MiB-aligned HVA", "pfnmap,shared,maywrite", "normal", "sg", "2m"),
    "udmabuf4k": ("the same udmabuf, its HVA one page past 2 MiB alignment", "pfnmap,shared,maywrite", "normal",
                  "sg", None),
    "bar": ("BAR 2 of an ivshmem PCI device through sysfs resource2 (pgprot_device), 2 MiB-aligned HVA",
            "pfnmap,io,shared,maywrite", "ngnre", "dev", "2m"),
    "barwc": ("BAR 2 of an ivshmem PCI device through sysfs resource2_wc (pgprot_writecombine), 2 MiB-aligned "
              "HVA", "pfnmap,io,shared,maywrite", "nc", "dev", "2m"),
    "vfio": ("BAR 2 of the ivshmem device through vfio-pci (type-1 IOMMU, emulated SMMUv3), 2 MiB-aligned HVA",
             "pfnmap,io,shared,maywrite,uc", "ngnrne", "dev", "2m"),
    "remapdev": ("anonymous memory at registration, /dev/mem MAP_SHARED mapped over it afterwards",
                 "pfnmap,io,shared,maywrite", "ngnrne", "dev", "2m"),
    "gmem": ("guest_memfd (mappable, shared with the host) through KVM_SET_USER_MEMORY_REGION2, its mmap as the "
             "slot's userspace range", "shared,maywrite", "normal", "ram", None),
    "fsdax": ("a file on ext4 mounted -o dax over an nvdimm in fsdax mode (ZONE_DEVICE pages), 2 MiB-aligned "
              "(conformance/bugs.py only)", None, None, None, None),
    "devdax": ("device-dax /dev/dax0.0 of an nvdimm (ZONE_DEVICE pages, 2 MiB PMDs) (conformance/bugs.py only)", None,
               None, None, None),
    "split": ("one memslot over two VMAs: its first page /dev/mem MAP_SHARED (a VM_PFNMAP of hidden RAM at a "
              "2 MiB-aligned PA and HVA), the rest anonymous memory", None, None, None, None),
    "none": ("no test slot", None, None, None, None),
}
MTE_OK = ("anon", "thp", "anonshared", "memfd")    # VMAs the kernel marks VM_MTE_ALLOWED on MTE hosts
# ... and MAP_HUGETLB from 6.13 on (arch_calc_vm_flag_bits(): 6.12 excludes it, 7.3 includes it, and the
# 6.16, 6.17 and 7.x recordings register hugetlb slots in MTE VMs).
HUGETLB_MTE_FROM = (6, 13)

# Guest operations: the probe's letter, and the fault the access raises (kind and modifiers).
OPS = {
    "r": ("load (LDR)", "r"), "w": ("store (STR)", "w"), "x": ("instruction fetch (BLR)", "x"),
    "zva": ("DC ZVA", "w.noisv"), "ldp": ("LDP", "r.noisv"), "ldxr": ("LDXR", "r.noisv"),
    "ldadd": ("LDADD (LSE atomic)", "r.noisv"), "civac": ("DC CIVAC", "w.cm"),
}
# An atomic's translation fault is raised by its read: ESR_EL2.WnR is 0 (as recorded), so LDADD is
# an "r" fault without a syndrome. tests/conformance checks every declared fault against ESR_EL2.
PROBE_LETTER = {"r": "r", "w": "w", "x": "x", "zva": "z", "ldp": "p", "ldxr": "e", "ldadd": "a", "civac": "c"}
GS1 = {"off": "off", "wb": "wb", "nc": "nc", "ngnrne": "ngnrne"}


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    backing: str
    ops: tuple[tuple, ...]                     # (op, "T" test slot | "N" no memslot, page) or an event:
                                               # (event, "T", page, npages) / (event, "S", 0)
    slot: str = ""                             # "log", "ro"
    vm: str = ""                               # "mte", "nisv"
    gs1: str = "off"
    needs: tuple[str, ...] = ()                # what the run must have: "mte" (host), "vfio" (modules)
    ipa_bits: int = 40                         # the VM's IPA size (KVM_VM_TYPE_ARM_IPA_SIZE)
    granules: tuple[str, ...] = ("4k", "16k")  # the host page sizes it is run on

    def probe_line(self) -> str:
        ops = []
        for op in self.ops:
            if op[0] in EVENTS:
                ops.append(EVENTS[op[0]] + (f":T{op[2]}:{op[3]}" if op[0] in RANGE_EVENTS else ""))
            else:
                ops.append(f"{PROBE_LETTER[op[0]]}:{op[1]}{op[2]}")
        return " ".join((self.id, self.backing, self.slot or "-", self.vm or "-", self.gs1, str(self.ipa_bits),
                         ",".join(ops)))

    @property
    def has_events(self) -> bool:
        return any(op[0] in EVENTS for op in self.ops)

    def ipa(self, i: int, page: int = PAGE) -> int:
        where, n = self.ops[i][1], self.ops[i][2]
        return (NOSLOT_IPA if where == "N" else TEST_IPA) + n * page

    def slot_base(self, i: int) -> int | None:
        """The IPA of the memslot access i is in (None: no memslot)."""
        return None if self.ops[i][1] == "N" else TEST_IPA

    def item(self, i: int, page: int = PAGE) -> str:
        """Access or event i as an item of a permalink's `f` list."""
        op = self.ops[i]
        if op[0] not in EVENTS:
            return f"{self.ipa(i, page):x}{OPS[op[0]][1]}"
        if op[0] not in RANGE_EVENTS:
            return op[0]
        # 0 pages: to the end of the probe's slot, which is the end of its memslot; the permalink's memslot
        # is 1 GiB, so the same is to its end (what is left of a VMA past the probe's slot would still be
        # there for a later memslot change to look at).
        size = op[3] * page if op[3] else TEST_IPA + MEMSLOT_SIZE - self.ipa(i, page)
        return f"{op[0]}:{self.ipa(i, page):x}" + (f":{size:x}" if size != page else "")

    def permalink(self, model: str, host: set[str], page: int = PAGE, items: list[str] | None = None,
                  kernel: str = "7.3.4") -> tuple[str | None, str | None]:
        """(permalink, None) or (None, why no permalink expresses the case). `items`: the `f` list as
        recorded (every fault the CPU reported, in order), instead of one declared fault per access."""
        _, vma, mt, mem, pg = BACKINGS[self.backing]
        if self.vm == "mte" and "mte" not in host:
            return None, "the host has no MTE"
        q = []
        if self.backing == "split":
            # Memslot 1 over two VMAs (a whole VM's `v1`): its first VMA the /dev/mem page, then anonymous
            # memory to the end of the permalink's 1 GiB memslot.
            _, vma, mt, mem, pg = BACKINGS["devmem"]
        if self.backing.endswith("4k") and any(op[0] in ("unmap", "replace") for op in self.ops):
            return None, ("the slot's HVA is one page past 2 MiB alignment, which schema 1 cannot say (its HVAs are "
                          "congruent with the IPAs): where munmap() cuts the VMA, the host invalidates the PMD ranges "
                          "of the HVA (__split_huge_pmd()), not of the IPA")
        if vma is None and self.vm == "mte":
            # No test slot: the schema-1 memslot stands for the VMM's ordinary RAM, which an MTE VM
            # needs to be VM_MTE_ALLOWED (anonymous memory on an MTE host is).
            q.append("vma=maywrite,mteok")
        if vma is not None:
            hugetlb_mte = tuple(int(x) for x in kernel.split(".")[:2]) >= HUGETLB_MTE_FROM
            mte_ok = self.backing in MTE_OK or (self.backing == "hugetlb" and hugetlb_mte)
            flags = vma + (",mteok" if "mte" in host and mte_ok else "")
            if flags != "maywrite":
                q.append("vma=" + flags)
            if mt != "normal":
                q.append("mt=" + mt)
            if mem != "ram":
                q.append("mem=" + mem)
        hs = ",".join(h for h in ("fwb", "dic", "mte", "lpa2", "ha") if h in host)
        if hs != "fwb,dic":
            q.append("host=" + hs)
        if self.vm:
            q.append("vm=" + self.vm)
        slot = ",".join(x for x in (self.slot, "gmem" if self.backing == "gmem" else "") if x)
        if slot:
            q.append("slot=" + slot)
        if page != PAGE:
            q.append("g=" + GRANULES[page])
        if self.ipa_bits != 40:
            q.append(f"ipa={self.ipa_bits}")
        if pg:
            q.append("pg=" + BLOCK[page])
        if self.gs1 != "wb":
            q.append("gs1=" + GS1[self.gs1])
        if self.backing == "remapdev":
            q.append("remap=1")
        if self.backing == "split":
            q.append(f"v1=maywrite{',mteok' if 'mte' in host else ''}@{MEMSLOT_SIZE - page:x}")
        q.append("f=" + ",".join(items if items is not None else (self.item(i, page) for i in range(len(self.ops)))))
        return f"/{model}/?" + "&".join(q), None


def T(op: str, page: int = 0) -> tuple[str, str, int]:
    return (op, "T", page)


def E(event: str, page: int = 0, npages: int = 1) -> tuple:
    """A host event: on pages [page, page+npages) of the test slot (npages 0: the whole slot, one block),
    or on the slot itself."""
    return (event, "T", page, npages) if event in RANGE_EVENTS else (event, "S", 0)


def N(op: str, page: int = 0) -> tuple[str, str, int]:
    return (op, "N", page)


# DC CIVAC is left out: QEMU's TCG performs it without a stage-2 walk, so it never faults.
ALL_TEST_OPS = (T("r", 0), T("w", 1), T("x", 2), T("zva", 3), T("ldp", 4), T("ldxr", 5), T("ldadd", 7))


def _cases() -> list[Case]:
    out = [
        Case("noslot-mmio", "no memslot: load, store, fetch", "none", (N("r"), N("w", 1), N("x", 2))),
        Case("noslot-ldp", "no memslot: LDP has no syndrome", "none", (N("ldp"),)),
        Case("noslot-ldxr", "no memslot: LDXR has no syndrome", "none", (N("ldxr"),)),
        Case("noslot-zva", "no memslot: DC ZVA has no syndrome", "none", (N("zva"),)),
        Case("noslot-ldadd", "no memslot: LDADD has no syndrome", "none", (N("ldadd"),)),
        Case("noslot-nisv", "no memslot, KVM_CAP_ARM_NISV_TO_USER: LDP exits to the VMM", "none",
             (N("ldp"), N("r", 1)), vm="nisv"),
    ]
    for b in ("anon", "anonshared", "memfd", "thp"):
        out.append(Case(f"{b}-ops", f"{BACKINGS[b][0]}: every access kind", b, ALL_TEST_OPS))
    out += [
        Case("hugetlb-ops", "hugetlb: load page 5, store page 6, fetch page 7", "hugetlb",
             (T("r", 5), T("w", 6), T("x", 7))),
        Case("hugetlb-log", "hugetlb with dirty logging: load, store", "hugetlb", (T("r"), T("w", 1)), slot="log"),
        Case("anon-rx", "anonymous memory: read, then fetch the same page", "anon", (T("r"), T("x"))),
        Case("anon-s1wb", "anonymous memory, guest stage 1 Write-Back", "anon", (T("r"), T("w", 1), T("x", 2)),
             gs1="wb"),
        Case("anon-s1nc", "anonymous memory, guest stage 1 Normal-NC", "anon", (T("r"), T("w", 1)), gs1="nc"),
        Case("anon-s1dev", "anonymous memory, guest stage 1 Device-nGnRnE", "anon", (T("r"), T("w", 1)),
             gs1="ngnrne"),
        Case("anon-ro", "read-only memslot: store, load, fetch", "anon", (T("w"), T("r", 1), T("x", 2)),
             slot="ro"),
        Case("anon-log", "dirty logging: load then store the same page", "anon", (T("r"), T("w"), T("x", 1)),
             slot="log"),
        Case("anon-mte", "MTE VM over anonymous memory", "anon", (T("r"), T("w", 1)), vm="mte", needs=("mte",)),
        Case("memfd-mte", "MTE VM over a memfd", "memfd", (T("r"),), vm="mte", needs=("mte",)),
        Case("devmem-ops", "/dev/mem shared: load, store, fetch", "devmem", (T("r"), T("w", 1), T("x", 2))),
        Case("devmem-more", "/dev/mem shared: LDP, LDXR, DC ZVA, LDADD", "devmem",
             (T("ldp"), T("ldxr", 1), T("zva", 2), T("ldadd", 3))),
        Case("devmem-rx", "/dev/mem shared: load, then fetch the same page", "devmem", (T("r"), T("x"))),
        Case("devmemp-rw", "/dev/mem private (COW PFNMAP): load, then store", "devmemp", (T("r"), T("w"))),
        Case("devmemp-w", "/dev/mem private (COW PFNMAP): store first", "devmemp", (T("w"),)),
        Case("devmem-log", "/dev/mem shared with dirty logging", "devmem", (T("r"),), slot="log"),
        Case("devmem-ro", "/dev/mem shared, read-only memslot", "devmem", (T("r"), T("w", 1)), slot="ro"),
        Case("devmem-mte", "MTE VM over /dev/mem", "devmem", (T("r"),), vm="mte", needs=("mte",)),
        Case("devmem4k-ops", "/dev/mem shared, HVA not 2 MiB-aligned: load, store, load of the last page",
             "devmem4k", (T("r"), T("w", 1), T("r", 511))),
        Case("remapdev-mte", "MTE VM: anonymous memory at registration, /dev/mem mapped over it later",
             "remapdev", (T("r"),), vm="mte", needs=("mte",)),
        Case("thp-log", "THP-backed anonymous memory with dirty logging: load, store", "thp", (T("r"), T("w", 1)),
             slot="log"),
        Case("udmabuf-mte", "MTE VM over a udmabuf", "udmabuf", (T("r"),), vm="mte", needs=("mte",)),
        Case("remapdev", "anonymous at registration, /dev/mem mapped over it later", "remapdev",
             (T("r"), T("w", 1))),
        Case("udmabuf-block", "udmabuf: load page 0, then pages 1, 2 and 511 (markers)", "udmabuf",
             (T("r", 0), T("r", 1), T("r", 2), T("r", 511))),
        Case("udmabuf-mid", "udmabuf: load page 5 first, then page 6 (markers)", "udmabuf",
             (T("r", 5), T("r", 6))),
        Case("udmabuf-wx", "udmabuf: store, then fetch", "udmabuf", (T("w", 3), T("x", 4))),
        Case("udmabuf4k-block", "udmabuf, HVA not 2 MiB-aligned: load pages 0, 1 and 511 (markers)", "udmabuf4k",
             (T("r", 0), T("r", 1), T("r", 511))),
        Case("bar-ops", "PCI BAR through sysfs resource2: load, store, fetch, LDP", "bar",
             (T("r"), T("w", 1), T("x", 2), T("ldp", 3))),
        Case("barwc-ops", "PCI BAR through sysfs resource2_wc: load, store, fetch", "barwc",
             (T("r"), T("w", 1), T("x", 2))),
        Case("barwc-log", "PCI BAR through sysfs resource2_wc with dirty logging", "barwc", (T("r"),), slot="log"),
        Case("vfio-ops", "vfio-pci BAR: load, store, fetch, LDP", "vfio", (T("r"), T("w", 1), T("x", 2), T("ldp", 3)),
             needs=("vfio",)),
        Case("vfio-rx", "vfio-pci BAR: load, then fetch the same page", "vfio", (T("r"), T("x")), needs=("vfio",)),
        Case("vfio-log", "vfio-pci BAR with dirty logging", "vfio", (T("r"),), slot="log", needs=("vfio",)),
        Case("vfio-mte", "MTE VM over a vfio-pci BAR", "vfio", (T("r"),), vm="mte", needs=("mte", "vfio")),
        Case("gmem-ops", "guest_memfd: load, store, fetch", "gmem", (T("r"), T("w", 1), T("x", 2))),
        Case("udmabuf-log", "udmabuf with dirty logging", "udmabuf", (T("r"),), slot="log"),
        # The VM's IPA size (KVM_VM_TYPE_ARM_IPA_SIZE): the stage-2 start level and the levels faults
        # are reported at. 52 bits needs LPA2 (4K and 16K pages); a host that allows less skips it.
        Case("anon-ipa36", "36-bit IPA VM over anonymous memory: load, store, fetch", "anon",
             (T("r"), T("w", 1), T("x", 2)), ipa_bits=36),
        Case("anon-ipa44", "44-bit IPA VM over anonymous memory: load, store", "anon", (T("r"), T("w", 1)),
             ipa_bits=44),
        Case("anon-ipa48", "48-bit IPA VM over anonymous memory: load, store, fetch", "anon",
             (T("r"), T("w", 1), T("x", 2)), ipa_bits=48),
        Case("anon-ipa52", "52-bit IPA VM over anonymous memory: load, store, fetch", "anon",
             (T("r"), T("w", 1), T("x", 2)), ipa_bits=52),
        Case("thp-ipa52", "52-bit IPA VM over THP: load, store", "thp", (T("r"), T("w", 1)), ipa_bits=52),
        Case("noslot-ipa52", "52-bit IPA VM, no memslot: load, store", "none", (N("r"), N("w", 1)), ipa_bits=52),
        # Host events between the guest's accesses (not compared until the models take them).
        Case("anon-unmap", "anonymous memory: load, munmap the page, load it again", "anon",
             (T("r"), E("unmap"), T("r"), T("r", 1))),
        Case("anon-replace", "anonymous memory: load, a fresh mapping over the page, load, store", "anon",
             (T("r"), E("replace"), T("r"), T("w"))),
        Case("anon-age", "anonymous memory: load, age the page, load, age it again, store", "anon",
             (T("r"), E("age"), T("r"), E("age"), T("w"))),
        Case("anon-logonoff", "anonymous memory: store, dirty logging on, store, load, logging off, store",
             "anon", (T("w"), T("r", 1), E("logon"), T("w"), T("w", 1), E("logoff"), T("w", 2))),
        Case("anon-delslot", "anonymous memory: load, delete the memslot, load", "anon",
             (T("r"), E("delslot"), T("r"))),
        Case("anon-events", "the issue's example: load, age, load, logging on, store, delete the slot, load",
             "anon", (T("r"), E("age"), T("r"), E("logon"), T("w"), E("delslot"), T("r"))),
        Case("thp-logon", "THP: load (a block), dirty logging on, store, load, logging off, store", "thp",
             (T("r"), E("logon"), T("w", 1), T("r", 2), E("logoff"), T("w", 3))),
        Case("thp-unmap", "THP: load (a block), munmap one page of it, load pages 0 and 1", "thp",
             (T("r"), E("unmap", 1), T("r"), T("r", 1))),
        Case("thp-age", "THP: load (a block), age it, load", "thp", (T("r"), E("age", 0, 2), T("r"))),
        Case("memfd-age", "memfd: load, age the page, load", "memfd", (T("r"), E("age"), T("r"))),
        Case("memfd-replace", "memfd: load, the same memfd mapped again over the page, load", "memfd",
             (T("r"), E("replace"), T("r"))),
        Case("devmem-unmap", "/dev/mem shared: load, munmap the page, load", "devmem",
             (T("r"), E("unmap"), T("r"))),
        Case("devmem-replace", "/dev/mem shared: load, /dev/mem mapped again over the page, load", "devmem",
             (T("r"), E("replace"), T("r"))),
        Case("devmem-logon", "/dev/mem shared: load, dirty logging on (refused), load", "devmem",
             (T("r"), E("logon"), T("r"))),
        Case("hugetlb-unmap", "hugetlb: load, munmap the whole huge page, load", "hugetlb",
             (T("r"), E("unmap", 0, 0), T("r"))),
        # munmap() of part of a VMA splits it; __split_vma() -> vma_adjust_trans_huge() invalidates the
        # whole PMD range around a split address that is not PMD-aligned (__split_huge_pmd()), so KVM
        # unmaps the neighbours at stage 2 too, whether or not a huge page was there.
        Case("anon-unmap-next", "anonymous memory: load pages 0 and 1, munmap page 0, load page 1", "anon",
             (T("r"), T("r", 1), E("unmap"), T("r", 1))),
        Case("memfd-unmap-mid", "memfd: load pages 0 and 5, munmap pages 2-3, load pages 0 and 5, munmap page 7, "
             "load page 5", "memfd", (T("r"), T("r", 5), E("unmap", 2, 2), T("r"), T("r", 5), E("unmap", 7),
                                      T("r", 5))),
        Case("anon-replace-next", "anonymous memory: load pages 0 and 1, a fresh mapping over page 1, load pages 0 "
             "and 1", "anon", (T("r"), T("r", 1), E("replace", 1), T("r"), T("r", 1))),
        Case("devmem-unmap-end", "/dev/mem shared: load pages 0 and 511, munmap the last page, load page 0", "devmem",
             (T("r"), T("r", 511), E("unmap", 511), T("r"))),
        # Aging: DAMON samples an address inside each page and asks KVM about that page and the next.
        Case("anon-age-next", "anonymous memory: load page 1, age page 0, load page 1, age page 0", "anon",
             (T("r", 1), E("age"), T("r", 1), E("age"))),
        Case("anon-age-log", "anonymous memory: store, age, dirty logging on, store, age, logging off, delete the "
             "slot", "anon", (T("w"), E("age"), E("logon"), T("w"), E("age"), E("logoff"), E("delslot"))),
    ]
    # Suspected bug (kernel-behaviour.md 3.6 b): 6.17's and 7.1's get_vma_page_shift() bound check
    # `ALIGN(hva, PMD_SIZE) <= vma->vm_end` cannot fail for a block-aligned HVA, so a one-page VM_PFNMAP
    # VMA at the start of a larger memslot gets a block, which maps hidden RAM over the IPA range the
    # anonymous VMA after it backs. Page 1's load shows whose memory the guest reads.
    out.append(Case("split-pfnmap-block", "a slot over a one-page /dev/mem VMA and anonymous memory: load page 0, "
                    "then page 1 (the anonymous VMA's)", "split", (T("r"), T("r", 1), T("r", 2))))
    # mem=sg (a udmabuf) is defined for the 4K granule only in schema 1: not run on 16K hosts.
    return [replace(c, granules=("4k",)) if c.backing.startswith("udmabuf") else c for c in out]


CASES = _cases()
BY_ID = {c.id: c for c in CASES}
assert len(BY_ID) == len(CASES)
