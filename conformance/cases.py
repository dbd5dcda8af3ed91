"""The cases the probe runs, and the permalink that expresses each one.

A case is one fresh VM: a test slot at IPA 0x4000_0000 backed as `backing` says (or none), the
slot and VM flags, the guest's stage-1 type, and the guest's accesses in order. `permalink()`
writes the scenario-1 query that says the same thing for a host with the given features, or
returns the reason none can.
"""
from __future__ import annotations

from dataclasses import dataclass

TEST_IPA, NOSLOT_IPA, PAGE = 0x4000_0000, 0x8000_0000, 0x1000

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
    "none": ("no test slot", None, None, None, None),
}
MTE_OK = ("anon", "thp", "anonshared", "memfd")    # VMAs the kernel marks VM_MTE_ALLOWED on MTE hosts

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
    ops: tuple[tuple[str, str, int], ...]      # (op, "T" test slot | "N" no memslot, page)
    slot: str = ""                             # "log", "ro"
    vm: str = ""                               # "mte", "nisv"
    gs1: str = "off"
    needs: tuple[str, ...] = ()                # what the run must have: "mte" (host), "vfio" (modules)

    def probe_line(self) -> str:
        ops = ",".join(f"{PROBE_LETTER[o]}:{where}{page}" for o, where, page in self.ops)
        return " ".join((self.id, self.backing, self.slot or "-", self.vm or "-", self.gs1, ops))

    def ipa(self, i: int) -> int:
        _, where, page = self.ops[i]
        return (TEST_IPA if where == "T" else NOSLOT_IPA) + page * PAGE

    def permalink(self, model: str, host: set[str]) -> tuple[str | None, str | None]:
        """(permalink, None) or (None, why no permalink expresses the case)."""
        _, vma, mt, mem, pg = BACKINGS[self.backing]
        if self.vm == "mte" and "mte" not in host:
            return None, "the host has no MTE"
        q = []
        if vma is not None:
            flags = vma + (",mteok" if "mte" in host and self.backing in MTE_OK else "")
            if flags != "maywrite":
                q.append("vma=" + flags)
            if mt != "normal":
                q.append("mt=" + mt)
            if mem != "ram":
                q.append("mem=" + mem)
        hs = ",".join(h for h in ("fwb", "dic", "mte", "lpa2") if h in host)
        if hs != "fwb,dic":
            q.append("host=" + hs)
        if self.vm:
            q.append("vm=" + self.vm)
        slot = ",".join(x for x in (self.slot, "gmem" if self.backing == "gmem" else "") if x)
        if slot:
            q.append("slot=" + slot)
        if pg:
            q.append("pg=" + pg)
        if self.gs1 != "wb":
            q.append("gs1=" + GS1[self.gs1])
        if self.backing == "remapdev":
            q.append("remap=1")
        q.append("f=" + ",".join(f"{self.ipa(i):x}{OPS[o][1]}" for i, (o, _, _) in enumerate(self.ops)))
        return f"/{model}/?" + "&".join(q), None


def T(op: str, page: int = 0) -> tuple[str, str, int]:
    return (op, "T", page)


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
    ]
    return out


CASES = _cases()
BY_ID = {c.id: c for c in CASES}
assert len(BY_ID) == len(CASES)
