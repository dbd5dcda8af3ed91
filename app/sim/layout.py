"""A whole VM: several memslots, each over one or more VMAs, as a VMM lays them out (issue 16).

Schema 1 fixes one memslot of 1 GiB at IPA 0x4000_0000 over one VMA. That slot is slot 1 of every
layout: the schema-1 keys describe it and its first VMA. A layout adds VMAs to slot 1 after its
first one and slots 2 to 8, each over its own VMAs, in the order the VMM registers them.

The host side is fixed the way a VMM lays it out, so that a permalink always means the same
addresses:
- each slot's userspace range is its own mmap(), at an HVA congruent with the slot's IPA modulo
  1 GiB (QEMU aligns guest RAM and its vfio mmaps; schema 1's HVA is 0xffff_4000_0000), placed
  below the previous slot's, as mmap() places them top-down;
- a slot's VMAs tile its userspace range in order;
- each VMA's memory lies at its own host PA, congruent with its IPA modulo 1 GiB: slot 1's first
  VMA keeps schema 1's PA = IPA + 0x8_0000_0000, every other VMA has a terabyte of host PA space
  of its own, so that a mapping that reaches past its VMA maps memory that is not its neighbour's.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

SZ_4K, SZ_16K, SZ_64K = 1 << 12, 1 << 14, 1 << 16
SZ_2M, SZ_32M, SZ_512M, SZ_1G = 1 << 21, 1 << 25, 1 << 29, 1 << 30

# Schema 1's memslot, slot 1 of every layout: 1 GiB at guest PA 0x4000_0000 (the QEMU "virt" RAM
# base), HVA and backing PA congruent with the IPA for every block size.
MEMSLOT_GPA = 0x4000_0000
MEMSLOT_SIZE = SZ_1G
MEMSLOT_HVA = 0xFFFF_4000_0000
BACKING_PA_OFFSET = 0x8_0000_0000   # PA = IPA + offset inside slot 1's first VMA

MAX_SLOTS = 8
MAX_VMAS = 16
MAX_SLOT_SIZE = 1 << 40             # each VMA's host PA space (a terabyte) bounds a slot
OTHER_PA_BASE = 0x1000_0000_0000    # host PA of the VMAs after slot 1's first: 16 TiB up, 1 TiB each
OTHER_PA_STRIDE = 1 << 40
SLOT_HVA_GAP = SZ_1G                # between one slot's mmap() and the next one's


@dataclass(frozen=True, slots=True)
class VmaDef:
    """One VMA of a slot as a permalink gives it (size 0: the slot's first VMA, which takes what the
    slot's other VMAs leave)."""

    flags: frozenset[str] = frozenset({"maywrite"})
    mt: str = "normal"
    mem: str = "ram"
    pg: str | None = None
    size: int = 0


@dataclass(frozen=True, slots=True)
class SlotDef:
    """Memslot 2..8 as a permalink gives it: its IPA range, its flags and its VMAs in HVA order
    (none given: one VMA of anonymous RAM, VM_MAYWRITE, over all of it)."""

    gpa: int
    size: int
    flags: frozenset[str] = frozenset()
    vmas: tuple[VmaDef, ...] = ()

    @property
    def end(self) -> int:
        return self.gpa + self.size


@dataclass(frozen=True, slots=True)
class Vma:
    """A VMA as the VM has it: its IPA range (HVA and IPA are congruent inside a slot), its flags,
    pgprot type, backing and host leaf size, and the host PA of its first byte."""

    index: int                      # over the whole VM, 0-based: 0 is slot 1's first VMA
    slot: int                       # the slot's index, 0-based
    start: int
    end: int
    flags: frozenset[str]
    mt: str
    mem: str
    pg: str | None
    pa: int

    @property
    def size(self) -> int:
        return self.end - self.start

    def pa_of(self, ipa: int) -> int:
        return self.pa + ipa - self.start


@dataclass(frozen=True, slots=True)
class Slot:
    """A memslot as the VM has it: index 0-based (memslot n is index n - 1), IPA range, userspace
    address, flags and VMAs."""

    index: int
    gpa: int
    size: int
    hva: int
    flags: frozenset[str]
    vmas: tuple[Vma, ...]

    @property
    def end(self) -> int:
        return self.gpa + self.size

    @property
    def number(self) -> int:
        return self.index + 1

    def hva_of(self, ipa: int) -> int:
        return self.hva + ipa - self.gpa

    def contains(self, ipa: int) -> bool:
        return self.gpa <= ipa < self.end


@dataclass(frozen=True, slots=True)
class Layout:
    slots: tuple[Slot, ...]

    @property
    def vmas(self) -> tuple[Vma, ...]:
        return tuple(v for s in self.slots for v in s.vmas)

    def slot_at(self, ipa: int) -> Slot | None:
        return next((s for s in self.slots if s.contains(ipa)), None)

    def vma_at(self, ipa: int) -> Vma | None:
        s = self.slot_at(ipa)
        return None if s is None else next(v for v in s.vmas if v.start <= ipa < v.end)

    def slot_of_range(self, start: int, end: int) -> Slot | None:
        """The slot that holds all of [start, end), if one does."""
        s = self.slot_at(start)
        return s if s is not None and end <= s.end else None


@dataclass(frozen=True, slots=True)
class HostState:
    """What the events so far have left on the host side, as a fault or an event finds it. The slots'
    userspace ranges are covered by VMAs, given as IPA ranges (HVA and IPA are congruent inside a
    slot), each with the layout's VMA it is a piece of (`origin`, Vma.index): the layout's VMAs until
    an event unmaps or replaces part of one. `cuts` lists, in order, the ranges unmap and replace took
    away, for the host's huge mappings they split (host_leaf_at); `deleted` the slots delslot deleted."""

    vmas: tuple[tuple[int, int, int], ...] = ((MEMSLOT_GPA, MEMSLOT_GPA + MEMSLOT_SIZE, 0),)
    cuts: tuple[tuple[int, int], ...] = ()
    deleted: frozenset[int] = frozenset()     # slot indexes, 0-based

    @property
    def memslot(self) -> bool:
        """Slot 1 exists (schema 1's one memslot)."""
        return 0 not in self.deleted

    def vma_at(self, ipa: int) -> tuple[int, int] | None:
        """The VMA (as an IPA range) that vma_lookup() finds for the HVA of ipa, or None."""
        return next(((a, b) for a, b, _ in self.vmas if a <= ipa < b), None)

    def has_vma(self, start: int, end: int) -> bool:
        """Some VMA intersects [start, end)."""
        return any(a < end and start < b for a, b, _ in self.vmas)

    def unmapped(self, start: int, end: int) -> HostState:
        """munmap() of [start, end): the VMAs lose that range (a VMA across an edge is split)."""
        out = []
        for a, b, o in self.vmas:
            if a < start:
                out.append((a, min(b, start), o))
            if b > end:
                out.append((max(a, end), b, o))
        return replace(self, vmas=tuple(out), cuts=self.cuts + ((start, end),))

    def remapped(self, start: int, end: int, mergeable: bool, origin: int = 0) -> HostState:
        """mmap(MAP_FIXED) of [start, end) of the object the layout's VMA `origin` maps: the range is
        unmapped, then one new VMA covers it; it merges with the pieces of the same VMA on either side
        unless it is VM_SPECIAL (VM_IO, VM_PFNMAP, VM_MIXEDMAP never merge)."""
        cut = self.unmapped(start, end)
        vmas = sorted(cut.vmas + ((start, end, origin),))
        if mergeable:
            merged: list = []
            for a, b, o in vmas:
                if merged and merged[-1][1] == a and merged[-1][2] == o:
                    merged[-1] = (merged[-1][0], b, o)
                else:
                    merged.append((a, b, o))
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
class View:
    """What a per-fault (or per-slot) view of a scenario stands for: the VM's layout, resolved from
    the scenario it was taken of, and the slot and VMA whose values the view's fields now hold."""

    layout: Layout
    slot: int | None                 # 0-based; None: no memslot covers the IPA
    vma: int | None                  # Vma.index
    remap: bool                      # the whole scenario's remap (slot 1's first VMA)


@lru_cache(maxsize=512)
def resolve(first: VmaDef, slot1_flags: frozenset, v1: tuple[VmaDef, ...], extra: tuple[SlotDef, ...]) -> Layout:
    """The VM's layout: slot 1 (schema 1's, its first VMA `first` and then `v1`), then the others."""
    defs = (SlotDef(MEMSLOT_GPA, MEMSLOT_SIZE, slot1_flags, (first, *v1)), *extra)
    slots, n, hva = [], 0, MEMSLOT_HVA
    for i, d in enumerate(defs):
        vdefs = d.vmas or (VmaDef(),)
        if i:
            top = (hva & ~(SZ_1G - 1)) - SLOT_HVA_GAP - _round_up(d.size, SZ_1G)
            hva = top + (d.gpa & (SZ_1G - 1))
        rest = d.size - sum(v.size for v in vdefs[1:])
        vmas, at = [], d.gpa
        for j, vd in enumerate(vdefs):
            size = rest if j == 0 else vd.size
            pa = at + BACKING_PA_OFFSET if n == 0 else OTHER_PA_BASE + (n - 1) * OTHER_PA_STRIDE + (at & (SZ_1G - 1))
            vmas.append(Vma(n, i, at, at + size, vd.flags, vd.mt, vd.mem, vd.pg, pa))
            n, at = n + 1, at + size
        slots.append(Slot(i, d.gpa, d.size, hva, d.flags, tuple(vmas)))
    return Layout(tuple(slots))


def _round_up(n: int, a: int) -> int:
    return -(-n // a) * a
