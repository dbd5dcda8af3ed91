"""What a permalink can say: the scenario, as frozen values (contract schema 1).

The simulator reads nothing else. Parsing text into these values lives in app.permalink.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

# Ordered vocabularies: the order is the canonical order of the contract.
VMA_FLAGS = ("pfnmap", "mixedmap", "io", "shared", "maywrite", "uc", "mteok", "hugetlb")
MEM_TYPES = ("normal", "tagged", "nc", "ngnrne", "ngnre")
BACKINGS = ("ram", "dev", "zdev", "sg")
HOST_FEATURES = ("fwb", "dic", "mte", "lpa2", "ha")
VM_OPTIONS = ("mte", "nisv")
SLOT_FLAGS = ("log", "ro", "gmem", "cacheable")
# cacheable: KVM_MEM_ENABLE_CACHEABLE_PFNMAP (1 << 3), a memslot flag only v4 to v6 of the cacheable-PFNMAP
# series had; every other kernel refuses it in check_memory_region_flags() with -EINVAL.
GRANULES = ("4k", "16k", "64k")
GUEST_S1_TYPES = ("wb", "wt", "nc", "ngnrne", "ngnre", "ngre", "gre", "off")
FAULT_KINDS = ("r", "w", "x")
FAULT_MODS = ("noisv", "cm", "ptw", "atomic", "af", "ua", "pair", "zva", "excl", "lse")
# The guest's instruction, when the fault says which: unaligned load/store, LDP/STP, DC ZVA,
# LDXR/STXR, an LSE atomic (LDADD, CAS, ...). Without one, a plain LDR/STR of an X register.
INSTRUCTION_MODS = ("pair", "zva", "excl", "lse")
# Host events between faults (items of `f` besides the faults): the VMM unmaps part of the memslot's
# userspace range, maps the same object over it again (MAP_FIXED), the host ages it, dirty logging
# is switched on or off (KVM_MR_FLAGS_ONLY), the memslot is deleted.
EVENT_KINDS = ("unmap", "replace", "age", "logon", "logoff", "delslot")
RANGE_EVENTS = ("unmap", "replace", "age")
IPA_BITS_MIN, IPA_BITS_MAX = 32, 52
MAX_FAULTS = 64                     # items of f: faults and events together

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
class Event:
    """One host event between faults. `after`: how many faults are fired before it (events with the
    same `after` keep their order). A range event covers [ipa, ipa + size); the others have none."""

    kind: str
    ipa: int = 0
    size: int = 0
    after: int = 0

    @property
    def ranged(self) -> bool:
        return self.kind in RANGE_EVENTS

    @property
    def end(self) -> int:
        return self.ipa + self.size


@dataclass(frozen=True, slots=True)
class HostState:
    """What the events so far have left on the host side, as a fault or an event finds it. The
    memslot's userspace range is covered by VMAs, given as IPA ranges (HVA and IPA are congruent):
    one VMA over the whole slot until an event unmaps or replaces part of it. `cuts` lists, in order,
    the ranges unmap and replace took away, for the host's huge mappings they split (host_leaf_at)."""

    vmas: tuple[tuple[int, int], ...] = ((MEMSLOT_GPA, MEMSLOT_GPA + MEMSLOT_SIZE),)
    cuts: tuple[tuple[int, int], ...] = ()
    memslot: bool = True               # the memslot exists (delslot deletes it)

    def vma_at(self, ipa: int) -> tuple[int, int] | None:
        """The VMA (as an IPA range) that vma_lookup() finds for the HVA of ipa, or None."""
        return next(((a, b) for a, b in self.vmas if a <= ipa < b), None)

    def has_vma(self, start: int, end: int) -> bool:
        """Some VMA intersects [start, end)."""
        return any(a < end and start < b for a, b in self.vmas)

    def unmapped(self, start: int, end: int) -> HostState:
        """munmap() of [start, end): the VMAs lose that range (a VMA across an edge is split)."""
        out = []
        for a, b in self.vmas:
            if a < start:
                out.append((a, min(b, start)))
            if b > end:
                out.append((max(a, end), b))
        return replace(self, vmas=tuple(out), cuts=self.cuts + ((start, end),))

    def remapped(self, start: int, end: int, mergeable: bool) -> HostState:
        """mmap(MAP_FIXED) of [start, end): the range is unmapped, then one new VMA covers it; it merges
        with the VMAs on either side unless it is VM_SPECIAL (VM_IO, VM_PFNMAP, VM_MIXEDMAP never merge)."""
        cut = self.unmapped(start, end)
        vmas = sorted(cut.vmas + ((start, end),))
        if mergeable:
            merged: list = []
            for a, b in vmas:
                if merged and merged[-1][1] == a:
                    merged[-1] = (merged[-1][0], b)
                else:
                    merged.append((a, b))
            vmas = merged
        return replace(cut, vmas=tuple(vmas))

    def split(self, base: int, size: int) -> bool:
        """Whether the host's mapping of the block [base, base + size) was split by an unmap or a
        replace that took only part of it (and no later one took all of it): the host then maps
        what is left with smaller leaves (split_huge_pmd(), or the huge PFNMAP entry zapped)."""
        out = False
        for a, b in self.cuts:
            if a <= base and base + size <= b:
                out = False
            elif a < base + size and base < b:
                out = True
        return out


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
    events: tuple[Event, ...] = field(default=())
    # Not part of a permalink: the host as the events so far have left it, set by the engine for the
    # fault or event it runs next (None: as registered, before any event).
    state: HostState | None = None

    def items(self):
        """The faults and events in the order of `f`: ("fault", Fault) and ("event", Event)."""
        events = iter(self.events)
        ev = next(events, None)
        for i, f in enumerate(self.faults):
            while ev is not None and ev.after <= i:
                yield "event", ev
                ev = next(events, None)
            yield "fault", f
        while ev is not None:
            yield "event", ev
            ev = next(events, None)

    @property
    def memslot_present(self) -> bool:
        return self.state is None or self.state.memslot

    def has_memslot(self, ipa: int) -> bool:
        """A memslot covers ipa (the one of schema 1, unless an event deleted it)."""
        return in_memslot(ipa) and self.memslot_present

    def vma_at(self, ipa: int) -> tuple[int, int] | None:
        """The VMA over the HVA of a memslot IPA, as an IPA range; None where an event unmapped it."""
        if self.state is None:
            return (MEMSLOT_GPA, MEMSLOT_GPA + MEMSLOT_SIZE) if in_memslot(ipa) else None
        return self.state.vma_at(ipa)

    def host_s1_leaf_at(self, ipa: int) -> int:
        """The host's stage-1 leaf at the HVA of ipa (get_user_mapping_size()): host_s1_leaf, unless the
        events left its block outside one VMA or split it; then the next smaller size that is not."""
        leaf = self.host_s1_leaf
        if self.state is None:
            return leaf
        page = self.page_size
        pmd = page << (self.page_shift - 3)
        while leaf > page:
            base = ipa & ~(leaf - 1)
            vma = self.state.vma_at(ipa)
            if vma is not None and vma[0] <= base and base + leaf <= vma[1] and not self.state.split(base, leaf):
                return leaf
            leaf = pmd if leaf > pmd else page
        return page

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
    def host_ha(self) -> bool:
        """The CPU implements FEAT_HAFDBS, so the VTCR_EL2.HA every model sets takes effect."""
        return "ha" in self.host

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


NO_EVENTS = HostState()
