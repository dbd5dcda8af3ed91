"""What a permalink can say: the scenario, as frozen values (contract schema 1).

The simulator reads nothing else. Parsing text into these values lives in app.permalink.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Ordered vocabularies: the order is the canonical order of the contract.
VMA_FLAGS = ("pfnmap", "mixedmap", "io", "shared", "maywrite", "uc", "mteok", "hugetlb")
MEM_TYPES = ("normal", "tagged", "nc", "ngnrne", "ngnre")
BACKINGS = ("ram", "dev", "zdev", "sg")
HOST_FEATURES = ("fwb", "dic", "mte", "lpa2")
VM_OPTIONS = ("mte", "nisv")
SLOT_FLAGS = ("log", "ro", "gmem")
GRANULES = ("4k", "16k", "64k")
GUEST_S1_TYPES = ("wb", "wt", "nc", "ngnrne", "ngnre", "ngre", "gre", "off")
FAULT_KINDS = ("r", "w", "x")
FAULT_MODS = ("noisv", "cm", "ptw", "atomic", "af", "ua", "pair", "zva", "excl", "lse")
# The guest's instruction, when the fault says which: unaligned load/store, LDP/STP, DC ZVA,
# LDXR/STXR, an LSE atomic (LDADD, CAS, ...). Without one, a plain LDR/STR of an X register.
INSTRUCTION_MODS = ("pair", "zva", "excl", "lse")
IPA_BITS_MIN, IPA_BITS_MAX = 32, 52
MAX_FAULTS = 64

SZ_4K, SZ_16K, SZ_64K = 1 << 12, 1 << 14, 1 << 16
SZ_2M, SZ_32M, SZ_512M, SZ_1G = 1 << 21, 1 << 25, 1 << 29, 1 << 30

GRANULE_SIZE = {"4k": SZ_4K, "16k": SZ_16K, "64k": SZ_64K}

# Host leaf sizes a granule allows for `pg` (PAGE, PMD and, for 4K, PUD).
HOST_LEAF_SIZES = {
    "4k": {"4k": SZ_4K, "2m": SZ_2M, "1g": SZ_1G},
    "16k": {"16k": SZ_16K, "32m": SZ_32M},
    "64k": {"64k": SZ_64K, "512m": SZ_512M},
}

# Fixed in schema 1: one memslot of 1 GiB at guest PA 0x4000_0000, one VMA covering its
# userspace range, HVA and backing PA congruent for every block size.
MEMSLOT_GPA = 0x4000_0000
MEMSLOT_SIZE = SZ_1G
MEMSLOT_HVA = 0xFFFF_4000_0000
BACKING_PA_OFFSET = 0x8_0000_0000   # PA = IPA + offset inside the memslot
HOST_IPA_LIMIT = 52                 # kvm_ipa_limit of a host with 52-bit IPAs (64K pages, or LPA2)
HOST_IPA_LIMIT_NO_LPA2 = 48         # 4K/16K pages without LPA2
FAULT_IPA_MAX = 1 << 56             # HPFAR_EL2.FIPA reports IPA[55:12]


@dataclass(frozen=True, slots=True)
class Fault:
    """One guest access that is fired at the stage-2 table."""

    ipa: int
    kind: str                       # r, w, x
    mods: frozenset[str] = frozenset()

    @property
    def access(self) -> str:
        return {"r": "read", "w": "write", "x": "exec"}[self.kind]

    @property
    def instruction(self) -> str:
        """The instruction class: fetch, ldst (LDR/STR), pair, zva, excl or lse."""
        if self.kind == "x":
            return "fetch"
        return next((m for m in INSTRUCTION_MODS if m in self.mods), "ldst")

    @property
    def unaligned(self) -> bool:
        return "ua" in self.mods

    @property
    def mod_list(self) -> tuple[str, ...]:
        """The modifiers in canonical order."""
        return tuple(m for m in FAULT_MODS if m in self.mods) if self.mods else ()


@dataclass(frozen=True, slots=True)
class Scenario:
    """The whole scenario a permalink describes (everything but the model and the step)."""

    vma: frozenset[str] = frozenset({"maywrite"})
    mt: str = "normal"
    mem: str = "ram"
    host: frozenset[str] = frozenset({"fwb", "dic"})
    vm: frozenset[str] = frozenset()
    slot: frozenset[str] = frozenset()
    g: str = "4k"
    ipa: int = 40
    pg: str | None = None            # None: the granule
    gs1: str = "wb"
    remap: bool = False
    faults: tuple[Fault, ...] = field(default=())

    @property
    def page_size(self) -> int:
        return GRANULE_SIZE[self.g]

    @property
    def page_shift(self) -> int:
        return self.page_size.bit_length() - 1

    @property
    def host_leaf(self) -> int:
        """Largest block the host side allows at the faulting HVA."""
        return HOST_LEAF_SIZES[self.g][self.pg or self.g]

    @property
    def host_lpa2(self) -> bool:
        """The host runs with LPA2 (4K/16K pages only): host=lpa2, or implied by a VM whose IPA space
        is above 48 bits, which only an LPA2 host can offer with these granules."""
        return self.g != "64k" and ("lpa2" in self.host or self.ipa > HOST_IPA_LIMIT_NO_LPA2)

    @property
    def host_ipa_limit(self) -> int:
        """kvm_ipa_limit: 52 bits with 64K pages or LPA2, else 48."""
        return HOST_IPA_LIMIT if self.g == "64k" or self.host_lpa2 else HOST_IPA_LIMIT_NO_LPA2

    @property
    def host_s1_leaf(self) -> int:
        """The largest leaf the host's own stage 1 can map at the faulting HVA: scattered pages (`sg`)
        are never contiguous, so a page, whatever alignment `pg` gives the VMA."""
        return self.page_size if self.mem == "sg" else self.host_leaf

    @property
    def is_cow(self) -> bool:
        """is_cow_mapping(): VM_MAYWRITE set and VM_SHARED clear."""
        return "maywrite" in self.vma and "shared" not in self.vma


def in_memslot(ipa: int) -> bool:
    return MEMSLOT_GPA <= ipa < MEMSLOT_GPA + MEMSLOT_SIZE
