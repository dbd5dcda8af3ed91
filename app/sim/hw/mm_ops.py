"""struct kvm_pgtable_mm_ops for a guest: table allocation, break-before-make and the cache
maintenance done (or skipped) before a leaf is installed; every call is recorded, and what it
changed in the table is added to the step that made the change."""
from __future__ import annotations

from . import pgtable

# __invalidate_icache_guest_page() goes by VA up to MAX_DVM_OPS (PTRS_PER_PTE) lines; with
# 64-byte I-cache lines that is this many bytes per granule. Larger ranges use IC IALLUIS.
MAX_DVM_OPS_BYTES = {4096: 512 * 64, 16384: 2048 * 64, 65536: 8192 * 64}


class MmOps:
    """Records the side effects of one stage-2 update into a recorder and a CMO summary."""

    def __init__(self, t, has_fwb: bool, has_dic: bool, linear_mapped: bool, page_size: int):
        self.t = t
        self.page_size = page_size
        self.has_fwb, self.has_dic, self.linear_mapped = has_fwb, has_dic, linear_mapped
        self.cmo = {"dcache": "none", "icache": "none"}
        self.tables_allocated: list[tuple[int, int]] = []
        self.leaves = 0
        self.first_leaf_step: int | None = None     # the step at which the first leaf was written
        self.hazards: list[tuple[str, int | None]] = []   # maintenance by VA of memory with no linear alias

    @property
    def quiet(self) -> bool:
        """After the first leaf of a multi-leaf map, only the CMO summary is kept."""
        return self.leaves > 1

    def _table(self, state: str, ipa: int, level: int, pte: int = 0) -> None:
        if self.t:
            entry = {"level": level, "ipa": ipa, "state": state}
            if pte:
                entry["pte"] = pte
            self.t.change(table=[entry])

    def alloc_table(self, ipa: int, level: int) -> None:
        self.tables_allocated.append((ipa, level))
        if self.t:
            self.t.step("pgt.walk_leaf", "alloc", level=level, ipa=ipa)
        self._table("table", ipa, level - 1)

    def free_table(self, ipa: int, level: int) -> None:
        if self.t:
            self.t.step("pgt.walk_leaf", "free", level=level, ipa=ipa)
        self._table("freed", ipa, level)

    def break_pte(self, ipa: int, level: int, old: int) -> None:
        if self.t:
            self.t.step("pgt.try_leaf", "break", level=level, old=old)
        self._table("broken", ipa, level, old)

    def skip_same(self, ipa: int, level: int) -> None:
        if self.t:
            self.t.step("pgt.try_leaf", "same", level=level, ipa=ipa)

    def new_leaf(self, ipa: int, level: int, pte: int) -> None:
        self.leaves += 1
        if not self.quiet and self.t:
            self.t.step("pgt.init_leaf", level=level, ipa=ipa, pte=pte)

    def installed(self, ipa: int, level: int, pte: int) -> None:
        """stage2_make_pte(): the new leaf is written, after the maintenance it needed."""
        self._table("leaf", ipa, level, pte)
        if self.t and self.first_leaf_step is None:
            self.first_leaf_step = self.t.last

    def before_install(self, pa: int, size: int, pte: int) -> None:
        """The CMOs stage2_map_walker_try_leaf() requests before it writes a leaf."""
        if pgtable.stage2_pte_cacheable(pte, self.has_fwb):
            self.clean_dcache_guest_page(pa, size)
        if pgtable.stage2_pte_executable(pte):
            self.icache_inval_pou(pa, size)

    def clean_dcache_guest_page(self, pa: int, size: int) -> None:
        if self.has_fwb:
            self._set("dcache", "skipped")
            case = "fwb"
        else:
            self._set("dcache", "done")
            case = "linear" if self.linear_mapped else "no_linear"
        if not self.quiet and self.t:
            self.t.step("clean_dcache", case, pa=pa, nbytes=size, linear_map=self.linear_mapped)
        if case == "no_linear":
            self._hazard("dcache_no_linear_alias")

    def icache_inval_pou(self, pa: int, size: int) -> None:
        if self.has_dic:
            self._set("icache", "skipped")
            case = "dic"
        else:
            self._set("icache", "done")
            case = "iall" if size > MAX_DVM_OPS_BYTES.get(self.page_size, 0) else "va"
        if not self.quiet and self.t:
            self.t.step("inval_icache", case, pa=pa, nbytes=size, linear_map=self.linear_mapped)
        if case == "va" and not self.linear_mapped:
            self._hazard("icache_no_linear_alias")

    def _hazard(self, key: str) -> None:
        if key not in (k for k, _ in self.hazards):
            self.hazards.append((key, self.t.last if self.t else None))
            if self.t:
                self.t.change(hazard=key)

    def _set(self, which: str, value: str) -> None:
        if self.cmo[which] != "done":
            self.cmo[which] = value


class WalkRecord:
    """What one stage-2 walk outside a fault (unmap, age, write-protect) did, recorded step by step:
    the first entries each with its own step (and what it changed in the table), the rest in one
    closing step that carries their changes; with the counts, the cache and TLB maintenance it asked
    for and the hazards it met (at the step whose code causes them)."""

    VERBOSE = 4

    def __init__(self, t, sid: str):
        self.t, self.sid = t, sid
        self.counts: dict[str, int] = {}
        self.cmo = {"dcache": "none", "tlb": "none"}
        self.hazards: list[tuple[str, int | None]] = []
        self._quiet: list[dict] = []
        self._quiet_cleans = 0
        self._quiet_counts: dict[str, int] = {}
        self._pending: list[str] = []
        self.n = 0

    def count(self, case: str) -> int:
        return self.counts.get(case, 0)

    @property
    def quiet(self) -> bool:
        return self.n > self.VERBOSE

    def entry(self, case: str, table: list[dict], **values) -> None:
        """One entry the walker changed: its step while few, else kept for the closing step."""
        self.n += 1
        self.counts[case] = self.counts.get(case, 0) + 1
        if not self.quiet:
            if self.t:
                self.t.step(self.sid, case, **values)
                self.t.change(table=table)
        else:
            self._quiet.extend(table)
            self._quiet_counts[case] = self._quiet_counts.get(case, 0) + 1

    def clean_dcache(self, case: str, **values) -> None:
        """__clean_dcache_guest_page() for the entry just recorded."""
        self.cmo["dcache"] = "done"
        if not self.quiet:
            if self.t:
                self.t.step("clean_dcache", case, **values)
        else:
            self._quiet_cleans += 1

    def hazard(self, key: str) -> None:
        if key in (k for k, _ in self.hazards) or key in self._pending:
            return
        if self.quiet:
            self._pending.append(key)         # marked at the closing step
            return
        self.hazards.append((key, self.t.last if self.t else None))
        if self.t:
            self.t.change(hazard=key)

    def close(self) -> None:
        """The closing step: nothing was visited, or what the entries not shown one by one did."""
        if self.n == 0:
            if self.t:
                self.t.step(self.sid, "none")
            return
        if not self.quiet:
            return
        if self.t:
            self.t.step(self.sid, "more", more=self.n - self.VERBOSE, cleans=self._quiet_cleans,
                        **{f"n_{k}": v for k, v in sorted(self._quiet_counts.items())})
            self.t.change(table=self._quiet)
            if self._quiet_cleans:
                self.t.change(cmo={"dcache": "done"})
        for key in self._pending:
            self.hazards.append((key, self.t.last if self.t else None))
            if self.t:
                self.t.change(hazard=key)
