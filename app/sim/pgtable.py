"""The stage-2 page table: geometry, walk, map and relax (arch/arm64/kvm/hyp/pgtable.c).

Descriptor bits follow KVM_PTE_* in pgtable.c / kvm_pgtable.h; geometry follows
kvm_get_vtcr() and stage2_pgtable_levels().
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag

from . import memattr
from .bits import bit, field_get, field_prep, genmask

KVM_PTE_VALID = bit(0)
KVM_PTE_TYPE = bit(1)                      # 1: table or page, 0: block
KVM_PTE_LEAF_ATTR_LO_S2_MEMATTR = genmask(5, 2)
KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R = bit(6)
KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W = bit(7)
KVM_PTE_LEAF_ATTR_LO_S2_SH = genmask(9, 8)
KVM_PTE_LEAF_ATTR_LO_S2_SH_IS = 3
KVM_PTE_LEAF_ATTR_LO_S2_AF = bit(10)
KVM_PTE_LEAF_ATTR_HI_S2_XN = bit(54)
KVM_PGTABLE_LAST_LEVEL = 3

# Descriptor fields, for display: (name, high bit, low bit).
DESC_FIELDS = (
    ("XN", 54, 53), ("OA", 47, 12), ("AF", 10, 10), ("SH", 9, 8), ("S2AP", 7, 6),
    ("MemAttr", 5, 2), ("Type", 1, 1), ("Valid", 0, 0),
)


class Prot(IntFlag):
    """enum kvm_pgtable_prot, by name (the bit numbers differ between kernel versions)."""

    R = 1
    W = 2
    X = 4
    DEVICE = 8
    NORMAL_NC = 16

    def describe(self) -> str:
        return "|".join(p.name for p in Prot if p in self) or "0"


@dataclass(frozen=True, slots=True)
class Geometry:
    """Stage-2 translation geometry as Linux sets it up in VTCR_EL2."""

    page_shift: int
    ipa_bits: int

    @property
    def stride(self) -> int:
        return self.page_shift - 3

    @property
    def levels(self) -> int:
        """stage2_pgtable_levels(): ARM64_HW_PGTABLE_LEVELS(ipa - 4), at least 2."""
        return max(2, (self.ipa_bits - 4 - 4) // self.stride)

    @property
    def start_level(self) -> int:
        return 4 - self.levels

    @property
    def lpa2(self) -> bool:
        """52-bit IPAs with 4K/16K granules need the LPA2 descriptor format (VTCR_EL2.DS)."""
        return self.page_shift != 16 and self.ipa_bits > 48

    @property
    def min_block_level(self) -> int:
        """KVM_PGTABLE_MIN_BLOCK_LEVEL: level 1 blocks only with 4K pages."""
        return 1 if self.page_shift == 12 else 2

    def shift(self, level: int) -> int:
        return self.stride * (3 - level) + self.page_shift

    def granule_size(self, level: int) -> int:
        return 1 << self.shift(level)

    def index_bits(self, level: int) -> tuple[int, int]:
        """IPA bits [hi:lo] the level indexes (the start level includes concatenation)."""
        lo = self.shift(level)
        hi = self.ipa_bits - 1 if level == self.start_level else lo + self.stride - 1
        return hi, lo

    def index(self, ipa: int, level: int) -> int:
        hi, lo = self.index_bits(level)
        return field_get(genmask(hi, lo), ipa)

    @property
    def concatenated_tables(self) -> int:
        hi, lo = self.index_bits(self.start_level)
        return 1 << max(0, hi - lo + 1 - self.stride)

    def block_allowed(self, level: int) -> bool:
        return level == KVM_PGTABLE_LAST_LEVEL or level >= self.min_block_level

    def addr_mask(self) -> int:
        return genmask(49 if self.lpa2 else 47, self.page_shift)


def stage2_set_prot_attr(prot: Prot, has_fwb: bool, geo: Geometry) -> int:
    """Model of stage2_set_prot_attr(): leaf attribute bits for a prot, or -EINVAL (as a negative int)."""
    device, nc = Prot.DEVICE in prot, Prot.NORMAL_NC in prot
    if device and nc:
        return -22
    if device or nc:
        if Prot.X in prot:
            return -22
        kind = memattr.S2_DEVICE if device else memattr.S2_NORMAL_NC
    else:
        kind = memattr.S2_NORMAL
    attr = field_prep(KVM_PTE_LEAF_ATTR_LO_S2_MEMATTR, memattr.s2_memattr(kind, has_fwb))
    if Prot.X not in prot:
        attr |= KVM_PTE_LEAF_ATTR_HI_S2_XN
    if Prot.R in prot:
        attr |= KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R
    if Prot.W in prot:
        attr |= KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W
    if not geo.lpa2:
        attr |= field_prep(KVM_PTE_LEAF_ATTR_LO_S2_SH, KVM_PTE_LEAF_ATTR_LO_S2_SH_IS)
    return attr | KVM_PTE_LEAF_ATTR_LO_S2_AF


def kvm_init_valid_leaf_pte(pa: int, attr: int, level: int, geo: Geometry) -> int:
    """Output address, attributes, type (page at level 3, block above) and valid."""
    pte = (pa & geo.addr_mask()) | attr | KVM_PTE_VALID
    if level == KVM_PGTABLE_LAST_LEVEL:
        pte |= KVM_PTE_TYPE
    return pte


def pte_memattr(pte: int) -> int:
    return field_get(KVM_PTE_LEAF_ATTR_LO_S2_MEMATTR, pte)


def pte_perm(pte: int) -> str:
    """S2AP read, S2AP write, executable: e.g. 'RW-'."""
    return ("R" if pte & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R else "-") + \
        ("W" if pte & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W else "-") + \
        ("-" if pte & KVM_PTE_LEAF_ATTR_HI_S2_XN else "X")


def pte_kind(pte: int, has_fwb: bool) -> str:
    m = pte_memattr(pte)
    for kind in (memattr.S2_NORMAL, memattr.S2_NORMAL_NC, memattr.S2_DEVICE):
        if memattr.s2_memattr(kind, has_fwb) == m:
            return kind
    return "other"


def stage2_pte_cacheable(pte: int, has_fwb: bool) -> bool:
    return pte_memattr(pte) == memattr.s2_memattr(memattr.S2_NORMAL, has_fwb)


def stage2_pte_executable(pte: int) -> bool:
    return bool(pte & KVM_PTE_VALID) and not pte & KVM_PTE_LEAF_ATTR_HI_S2_XN


def permits(pte: int, need: str) -> bool:
    """Architectural stage-2 permission check for a read, write or instruction fetch."""
    if need == "r":
        return bool(pte & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R)
    if need == "w":
        return bool(pte & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W)
    return not pte & KVM_PTE_LEAF_ATTR_HI_S2_XN


@dataclass(slots=True)
class Table:
    """One (possibly concatenated) translation table: index -> Table or leaf descriptor."""

    level: int
    base: int                        # first IPA the table covers
    entries: dict


@dataclass(frozen=True, slots=True)
class WalkLevel:
    level: int
    bits: tuple[int, int]
    index: int
    found: str                       # table | leaf | invalid


@dataclass(frozen=True, slots=True)
class Walk:
    levels: tuple[WalkLevel, ...]
    pte: int | None                  # the leaf, if the walk reached one
    leaf_level: int                  # level of the leaf, or where the walk stopped

    def to_json(self) -> list[dict]:
        return [{"level": w.level, "bits": list(w.bits), "index": w.index, "found": w.found}
                for w in self.levels]


class Stage2:
    """One VM's stage-2 table that the faults of a scenario evolve in turn."""

    def __init__(self, geo: Geometry):
        self.geo = geo
        self.root = Table(geo.start_level, 0, {})
        self.tables = geo.concatenated_tables

    def walk(self, ipa: int) -> Walk:
        geo, table, out = self.geo, self.root, []
        while True:
            level = table.level
            idx = geo.index(ipa, level)
            entry = table.entries.get(idx)
            if entry is None:
                out.append(WalkLevel(level, geo.index_bits(level), idx, "invalid"))
                return Walk(tuple(out), None, level)
            if isinstance(entry, Table):
                out.append(WalkLevel(level, geo.index_bits(level), idx, "table"))
                table = entry
                continue
            out.append(WalkLevel(level, geo.index_bits(level), idx, "leaf"))
            return Walk(tuple(out), entry, level)

    def _slot(self, ipa: int, level: int) -> tuple[Table, int]:
        """The table holding the entry for ipa at level (which must exist down to there)."""
        table = self.root
        while table.level < level:
            table = table.entries[self.geo.index(ipa, table.level)]
        return table, self.geo.index(ipa, level)

    def set_leaf(self, ipa: int, level: int, pte: int) -> None:
        table, idx = self._slot(ipa, level)
        table.entries[idx] = pte

    def map(self, ipa: int, size: int, pa: int, attr: int, ops) -> list[dict]:
        """Model of kvm_pgtable_stage2_map(): install leaves for [ipa, ipa+size) at the
        largest level each piece allows; allocate tables on the way; a smaller mapping
        inside an existing block replaces the block by an empty table (break-before-make).
        Returns what was installed; side effects go through ops (an MmOps recorder)."""
        installed: list[dict] = []
        try:
            self._map_table(self.root, ipa, ipa + size, pa - ipa, attr, ops, installed)
        except _Again:
            pass                     # -EAGAIN: the walk stops at the first unchanged leaf
        return installed

    def _map_table(self, table, start, end, pa_off, attr, ops, installed):
        geo = self.geo
        gran = geo.granule_size(table.level)
        addr = start
        while addr < end:
            idx = geo.index(addr, table.level)
            nxt = min(end, (addr & ~(gran - 1)) + gran)
            entry = table.entries.get(idx)
            fits = addr % gran == 0 and nxt - addr == gran and geo.block_allowed(table.level)
            if fits:
                pte = kvm_init_valid_leaf_pte(addr + pa_off, attr, table.level, geo)
                if isinstance(entry, Table):
                    ops.free_table(addr, table.level + 1)
                if isinstance(entry, int) and not (entry ^ pte) & ~_PERMS_MASK:
                    ops.skip_same(addr, table.level)          # stage2_pte_needs_update() false
                    raise _Again
                else:
                    ops.new_leaf(addr, table.level, pte)
                    if isinstance(entry, int):
                        ops.break_pte(addr, table.level, entry)
                    ops.before_install(addr + pa_off, gran, pte)
                    table.entries[idx] = pte
                    installed.append({"ipa": addr, "level": table.level, "pte": pte, "size": gran})
            else:
                if not isinstance(entry, Table):
                    if isinstance(entry, int):
                        ops.break_pte(addr & ~(gran - 1), table.level, entry)
                    entry = Table(table.level + 1, addr & ~(gran - 1), {})
                    table.entries[idx] = entry
                    self.tables += 1
                    ops.alloc_table(addr & ~(gran - 1), table.level + 1)
                self._map_table(entry, addr, nxt, pa_off, attr, ops, installed)
            addr = nxt

    def relax_perms(self, ipa: int, prot: Prot) -> tuple[int, int, int] | None:
        """Model of kvm_pgtable_stage2_relax_perms(): only adds R/W and clears XN for X.
        Returns (level, old pte, new pte) or None if there is no valid leaf."""
        walk = self.walk(ipa)
        if walk.pte is None:
            return None
        new = walk.pte
        if Prot.R in prot:
            new |= KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R
        if Prot.W in prot:
            new |= KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W
        if Prot.X in prot:
            new &= ~KVM_PTE_LEAF_ATTR_HI_S2_XN
        self.set_leaf(ipa, walk.leaf_level, new)
        return walk.leaf_level, walk.pte, new

    def mkyoung(self, ipa: int) -> int | None:
        """Model of kvm_pgtable_stage2_mkyoung(): set AF on the leaf."""
        walk = self.walk(ipa)
        if walk.pte is None:
            return None
        self.set_leaf(ipa, walk.leaf_level, walk.pte | KVM_PTE_LEAF_ATTR_LO_S2_AF)
        return walk.pte | KVM_PTE_LEAF_ATTR_LO_S2_AF

    def mkold(self, ipa: int) -> None:
        """What kvm_age_gfn() leaves behind: AF clear on the leaf."""
        walk = self.walk(ipa)
        if walk.pte is not None:
            self.set_leaf(ipa, walk.leaf_level, walk.pte & ~KVM_PTE_LEAF_ATTR_LO_S2_AF)

    def leaves(self) -> list[tuple[int, int, int]]:
        """Every valid leaf as (ipa, level, pte), in IPA order."""
        out: list[tuple[int, int, int]] = []
        self._collect(self.root, out)
        return out

    def _collect(self, table: Table, out: list) -> None:
        shift = self.geo.shift(table.level)
        for idx in sorted(table.entries):
            entry = table.entries[idx]
            ipa = table.base + (idx << shift)
            if isinstance(entry, Table):
                self._collect(entry, out)
            else:
                out.append((ipa, table.level, entry))


class _Again(Exception):
    """stage2_map_walker_try_leaf() returned -EAGAIN: the walk ends there."""


# KVM_PTE_LEAF_ATTR_S2_PERMS: the bits stage2_pte_needs_update() ignores.
_PERMS_MASK = KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R | KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W | genmask(54, 53)
