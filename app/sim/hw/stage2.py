"""The stage-2 table one VM's faults build: tables and leaves, the walk the CPU makes, and the
walks KVM makes to map, relax, age and unmap (arch/arm64/kvm/hyp/pgtable.c)."""
from __future__ import annotations

from dataclasses import dataclass

from .bits import genmask
from .pgtable import (
    KVM_PTE_LEAF_ATTR_HI_S2_XN,
    KVM_PTE_LEAF_ATTR_LO_S2_AF,
    KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R,
    KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W,
    Geometry,
    Prot,
    kvm_init_valid_leaf_pte,
)


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
