"""The stage-2 page table: geometry, walk, map and relax (arch/arm64/kvm/hyp/pgtable.c).

Descriptor bits follow KVM_PTE_* in pgtable.c / kvm_pgtable.h; geometry follows
kvm_get_vtcr() and stage2_pgtable_levels().
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from . import memattr
from .bits import bit, genmask

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


class Prot:
    """enum kvm_pgtable_prot, by name (the bit numbers differ between kernel versions); values are
    plain ints so that the hot path stays cheap."""

    R = 1
    W = 2
    X = 4
    DEVICE = 8
    NORMAL_NC = 16
    NAMES = (("R", 1), ("W", 2), ("X", 4), ("DEVICE", 8), ("NORMAL_NC", 16))

    @staticmethod
    def describe(prot: int) -> str:
        return "|".join(name for name, bit in Prot.NAMES if prot & bit) or "0"


@functools.cache
def geometry(page_shift: int, ipa_bits: int, lpa2: bool | None = None) -> Geometry:
    """lpa2: whether the host uses the LPA2 descriptor format (VTCR_EL2.DS) for every VM; None
    means only where the VM's IPA size needs it."""
    return Geometry(page_shift, ipa_bits, lpa2)


class Geometry:
    """Stage-2 translation geometry as Linux sets it up in VTCR_EL2 (computed once)."""

    __slots__ = ("page_shift", "ipa_bits", "stride", "levels", "start_level", "lpa2", "min_block_level",
                 "_shift", "_bits", "_mask")

    def __init__(self, page_shift: int, ipa_bits: int, lpa2: bool | None = None):
        self.page_shift, self.ipa_bits = page_shift, ipa_bits
        self.stride = page_shift - 3
        # stage2_pgtable_levels(): ARM64_HW_PGTABLE_LEVELS(ipa - 4), at least 2 (kvm_get_vtcr()).
        self.levels = max(2, (ipa_bits - 4 - 4) // self.stride)
        self.start_level = 4 - self.levels
        # LPA2 is host-wide: a host that has it sets VTCR_EL2.DS for every VM (4K/16K granules only);
        # 52-bit IPAs with 4K/16K granules need it.
        self.lpa2 = page_shift != 16 and (ipa_bits > 48 if lpa2 is None else lpa2 or ipa_bits > 48)
        # KVM_PGTABLE_MIN_BLOCK_LEVEL: level 1 blocks only with 4K pages.
        self.min_block_level = 1 if page_shift == 12 else 2
        self._shift = {lvl: self.stride * (3 - lvl) + page_shift for lvl in range(self.start_level, 4)}
        self._bits = {lvl: (ipa_bits - 1 if lvl == self.start_level else sh + self.stride - 1, sh)
                      for lvl, sh in self._shift.items()}
        self._mask = {lvl: (1 << (hi - lo + 1)) - 1 for lvl, (hi, lo) in self._bits.items()}

    def __eq__(self, other):
        return isinstance(other, Geometry) and (self.page_shift, self.ipa_bits, self.lpa2) == \
            (other.page_shift, other.ipa_bits, other.lpa2)

    def __hash__(self):
        return hash((self.page_shift, self.ipa_bits, self.lpa2))

    def __repr__(self):
        return f"Geometry(page_shift={self.page_shift}, ipa_bits={self.ipa_bits}, lpa2={self.lpa2})"

    def shift(self, level: int) -> int:
        return self._shift[level] if level in self._shift else self.stride * (3 - level) + self.page_shift

    def granule_size(self, level: int) -> int:
        return 1 << self.shift(level)

    def index_bits(self, level: int) -> tuple[int, int]:
        """IPA bits [hi:lo] the level indexes (the start level includes concatenation)."""
        return self._bits[level]

    def index(self, ipa: int, level: int) -> int:
        return (ipa >> self._shift[level]) & self._mask[level]

    @property
    def concatenated_tables(self) -> int:
        hi, lo = self._bits[self.start_level]
        return 1 << max(0, hi - lo + 1 - self.stride)

    def level_of(self, size: int) -> int | None:
        """The level whose entries map `size` bytes, if any."""
        return next((lvl for lvl in range(self.start_level, 4) if self.granule_size(lvl) == size), None)

    def block_allowed(self, level: int) -> bool:
        return level == KVM_PGTABLE_LAST_LEVEL or level >= self.min_block_level

    def addr_mask(self) -> int:
        return genmask(49 if self.lpa2 else 47, self.page_shift)


def stage2_set_prot_attr(prot: int, has_fwb: bool, geo: Geometry) -> int:
    """Model of stage2_set_prot_attr(): leaf attribute bits for a prot, or -EINVAL (as a negative int)."""
    device, nc = prot & Prot.DEVICE, prot & Prot.NORMAL_NC
    if device and nc:
        return -22
    if device or nc:
        if prot & Prot.X:
            return -22
        kind = memattr.S2_DEVICE if device else memattr.S2_NORMAL_NC
    else:
        kind = memattr.S2_NORMAL
    attr = memattr.s2_memattr(kind, has_fwb) << 2          # FIELD_PREP(..._S2_MEMATTR, ...)
    if not prot & Prot.X:
        attr |= KVM_PTE_LEAF_ATTR_HI_S2_XN
    if prot & Prot.R:
        attr |= KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R
    if prot & Prot.W:
        attr |= KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W
    if not geo.lpa2:
        attr |= KVM_PTE_LEAF_ATTR_LO_S2_SH_IS << 8             # FIELD_PREP(..._S2_SH, SH_IS)
    return attr | KVM_PTE_LEAF_ATTR_LO_S2_AF


def kvm_init_valid_leaf_pte(pa: int, attr: int, level: int, geo: Geometry) -> int:
    """Output address, attributes, type (page at level 3, block above) and valid."""
    pte = (pa & geo.addr_mask()) | attr | KVM_PTE_VALID
    if level == KVM_PGTABLE_LAST_LEVEL:
        pte |= KVM_PTE_TYPE
    return pte


def pte_memattr(pte: int) -> int:
    return (pte & KVM_PTE_LEAF_ATTR_LO_S2_MEMATTR) >> 2


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
    """Architectural stage-2 permission check for a read (r), write (w), both (rw: an atomic
    read-modify-write) or an instruction fetch (x)."""
    if "r" in need and not pte & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R:
        return False
    if "w" in need and not pte & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W:
        return False
    return need != "x" or not pte & KVM_PTE_LEAF_ATTR_HI_S2_XN


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

    def lookup(self, ipa: int) -> tuple[int | None, int]:
        """(leaf pte or None, level of the leaf or of the invalid entry): walk() without the record."""
        geo, table = self.geo, self.root
        while True:
            entry = table.entries.get(geo.index(ipa, table.level))
            if entry is None:
                return None, table.level
            if isinstance(entry, Table):
                table = entry
                continue
            return entry, table.level

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
            # kvm_block_mapping_supported(): the level allows blocks, the range covers one, and both
            # the IPA and the PA are aligned to it.
            fits = (addr % gran == 0 and (addr + pa_off) % gran == 0 and nxt - addr == gran
                    and geo.block_allowed(table.level))
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
                    ops.installed(addr, table.level, pte)
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

    def relax_perms(self, ipa: int, prot: int, sets_xn: bool = False) -> tuple[int, int, int] | None:
        """Model of kvm_pgtable_stage2_relax_perms(): adds R/W and clears XN for X; with sets_xn
        (7.1's stage2_set_xn_attr() on every call) a prot without X sets XN.
        Returns (level, old pte, new pte) or None if there is no valid leaf."""
        walk = self.walk(ipa)
        if walk.pte is None:
            return None
        new = walk.pte
        if prot & Prot.R:
            new |= KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R
        if prot & Prot.W:
            new |= KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W
        if prot & Prot.X:
            new &= ~KVM_PTE_LEAF_ATTR_HI_S2_XN
        elif sets_xn:
            new |= KVM_PTE_LEAF_ATTR_HI_S2_XN
        self.set_leaf(ipa, walk.leaf_level, new)
        return walk.leaf_level, walk.pte, new

    def mkyoung(self, ipa: int) -> tuple[int | None, int]:
        """Model of kvm_pgtable_stage2_mkyoung(): set AF on the leaf; (new pte or None, level)."""
        walk = self.walk(ipa)
        if walk.pte is None:
            return None, walk.leaf_level
        self.set_leaf(ipa, walk.leaf_level, walk.pte | KVM_PTE_LEAF_ATTR_LO_S2_AF)
        return walk.pte | KVM_PTE_LEAF_ATTR_LO_S2_AF, walk.leaf_level

    def mkold(self, ipa: int) -> None:
        """What kvm_age_gfn() leaves behind: AF clear on the leaf."""
        walk = self.walk(ipa)
        if walk.pte is not None:
            self.set_leaf(ipa, walk.leaf_level, walk.pte & ~KVM_PTE_LEAF_ATTR_LO_S2_AF)

    def walk_range(self, start: int, end: int, visit, table_post: bool = False) -> None:
        """Model of kvm_pgtable_walk() over [start, end): visit(Visit) for every valid leaf the range
        touches (a block partly outside the range too) and, with table_post, for every table entry after
        the entries below it (KVM_PGTABLE_WALK_TABLE_POST). The root table itself is never visited."""
        self._walk_table(self.root, start, end, visit, table_post)

    def _walk_table(self, table: Table, start: int, end: int, visit, table_post: bool) -> None:
        shift = self.geo.shift(table.level)
        gran = 1 << shift
        for idx in sorted(table.entries):
            addr = table.base + (idx << shift)
            if addr >= end or addr + gran <= start:
                continue
            entry = table.entries[idx]
            if isinstance(entry, Table):
                self._walk_table(entry, start, end, visit, table_post)
                if table_post:
                    visit(Visit(self, table, idx, addr, table.level, entry))
            else:
                visit(Visit(self, table, idx, addr, table.level, entry))

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


@dataclass(slots=True)
class Visit:
    """struct kvm_pgtable_visit_ctx: one entry the walk visits: where it is, its level, its old value
    (a leaf descriptor or a Table)."""

    s2: Stage2
    table: Table
    idx: int
    addr: int                        # the first IPA the entry maps
    level: int
    old: int | Table

    @property
    def size(self) -> int:
        return self.s2.geo.granule_size(self.level)

    @property
    def is_table(self) -> bool:
        return isinstance(self.old, Table)

    def set(self, new: int) -> None:
        """stage2_try_set_pte(): the entry takes its new value."""
        self.table.entries[self.idx] = new

    def clear(self) -> None:
        """kvm_clear_pte(): the entry becomes invalid; a table it pointed to is gone from the walk."""
        del self.table.entries[self.idx]
        if self.is_table:
            self.s2.tables -= 1


class _Again(Exception):
    """stage2_map_walker_try_leaf() returned -EAGAIN: the walk ends there."""


# KVM_PTE_LEAF_ATTR_S2_PERMS: the bits stage2_pte_needs_update() ignores.
_PERMS_MASK = KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R | KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W | genmask(54, 53)
