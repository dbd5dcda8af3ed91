"""struct kvm_pgtable_mm_ops for a guest: table allocation, break-before-make and the cache
maintenance done (or skipped) before a leaf is installed; every call is recorded."""
from __future__ import annotations

from . import pgtable

# __invalidate_icache_guest_page() goes by VA up to MAX_DVM_OPS (PTRS_PER_PTE) lines; with
# 64-byte I-cache lines that is this many bytes per granule. Larger ranges use IC IALLUIS.
MAX_DVM_OPS_BYTES = {4096: 512 * 64, 16384: 2048 * 64, 65536: 8192 * 64}


class MmOps:
    """Records the side effects of one stage-2 update into a tracer and a CMO summary."""

    def __init__(self, t, has_fwb: bool, has_dic: bool, linear_mapped: bool, page_size: int):
        self.t = t
        self.page_size = page_size
        self.has_fwb, self.has_dic, self.linear_mapped = has_fwb, has_dic, linear_mapped
        self.cmo = {"dcache": "none", "icache": "none"}
        self.tables_allocated: list[tuple[int, int]] = []
        self.leaves = 0
        # What changed in the table, each with the index of the step it belongs to:
        # (step, kind, ipa, level, pte), kind one of table | freed | broken | leaf.
        self.events: list[tuple[int, str, int, int, int]] = []

    @property
    def quiet(self) -> bool:
        """After the first leaf of a multi-leaf map, only the CMO summary is kept."""
        return self.leaves > 1

    def _event(self, kind: str, ipa: int, level: int, pte: int = 0) -> None:
        if self.t:
            self.events.append((len(self.t.steps) - 1, kind, ipa, level, pte))

    def alloc_table(self, ipa: int, level: int) -> None:
        self.tables_allocated.append((ipa, level))
        if self.t:
            self.t.step("pgt.walk_leaf", "No table at level {parent} for IPA {ipa:#x}: allocate a zeroed "
                        "page from the memcache and link a level-{level} table.",
                        "allocate a zeroed table page; link it",
                        parent=level - 1, level=level, ipa=ipa)
        self._event("table", ipa, level - 1)

    def free_table(self, ipa: int, level: int) -> None:
        if self.t:
            self.t.step("pgt.walk_leaf", "A level-{level} table is replaced by a block at {ipa:#x}.",
                        level=level, ipa=ipa)
        self._event("freed", ipa, level)

    def break_pte(self, ipa: int, level: int, old: int) -> None:
        if self.t:
            self.t.step("pgt.try_leaf", "Break-before-make: the old level-{level} entry {old:#018x} is "
                        "invalidated and its TLB entries flushed before the new one goes in.",
                        level=level, old=old)
        self._event("broken", ipa, level, old)

    def skip_same(self, ipa: int, level: int) -> None:
        if self.t:
            self.t.step("pgt.try_leaf", "The level-{level} leaf at {ipa:#x} already holds this mapping, or "
                        "differs only in permissions: -EAGAIN, the walk stops and nothing is written.",
                        "same mapping (permissions aside) -> -EAGAIN, stop", level=level, ipa=ipa)

    def new_leaf(self, ipa: int, level: int, pte: int) -> None:
        self.leaves += 1
        if not self.quiet:
            if self.t:
                self.t.step("pgt.init_leaf", "New level-{level} {kind} for IPA {ipa:#x}: {pte:#018x}.",
                            "descriptor = output address + attributes + page/block type + valid",
                            level=level, kind="page" if level == 3 else "block", ipa=ipa, pte=pte)

    def installed(self, ipa: int, level: int, pte: int) -> None:
        """stage2_make_pte(): the new leaf is written, after the maintenance it needed."""
        self._event("leaf", ipa, level, pte)

    def before_install(self, pa: int, size: int, pte: int) -> None:
        """The CMOs stage2_map_walker_try_leaf() requests before it writes a leaf."""
        if pgtable.stage2_pte_cacheable(pte, self.has_fwb):
            self._dcache(pa, size)
        if pgtable.stage2_pte_executable(pte):
            self.icache_inval_pou(pa, size)

    def _dcache(self, pa: int, size: int) -> None:
        if self.has_fwb:
            self._set("dcache", "skipped")
            if self.quiet:
                return
            if self.t:
                self.t.step("clean_dcache", "The new leaf is Normal cacheable, so a D-cache clean+invalidate "
                            "to PoC is requested, and skipped: with FWB the guest cannot see memory "
                            "non-cacheably, so there is nothing to clean.",
                            "FWB -> nothing to do", size=size)
            return
        self._set("dcache", "done")
        if self.quiet:
            return
        if self.linear_mapped:
            if self.t:
                self.t.step("clean_dcache", "No FWB: clean+invalidate {size:#x} bytes to PoC through the "
                            "kernel's linear map (__va({pa:#x})) before the guest can read it uncached.",
                            "clean+invalidate D-cache to PoC by VA of the linear map", pa=pa, size=size)
        else:
            if self.t:
                self.t.step("clean_dcache", "No FWB: KVM cleans to PoC through __va({pa:#x}), but this PFN "
                            "has no linear mapping: the real kernel would fault here.",
                            "clean+invalidate D-cache to PoC by VA (there is no such VA)",
                            pa=pa, size=size, linear_map=False)

    def icache_inval_pou(self, pa: int, size: int) -> None:
        if self.has_dic:
            self._set("icache", "skipped")
            if self.quiet:
                return
            if self.t:
                self.t.step("inval_icache", "The leaf is executable: I-cache invalidation to PoU is requested; "
                            "with CTR_EL0.DIC it is only an ISB.", "DIC -> only an ISB",
                            size=size)
            return
        self._set("icache", "done")
        if self.quiet:
            return
        if size > MAX_DVM_OPS_BYTES.get(self.page_size, 0):
            if self.t:
                self.t.step("inval_icache", "The leaf is executable and the CPU lacks DIC: {size:#x} bytes is "
                            "more than MAX_DVM_OPS I-cache lines, so the whole I-cache is invalidated "
                            "(IC IALLUIS): no VA needed.", "invalidate the whole I-cache", size=size)
            return
        note = "" if self.linear_mapped else " This PFN has no linear mapping: the real kernel would fault here."
        if self.t:
            self.t.step("inval_icache", "The leaf is executable and the CPU lacks DIC: invalidate the I-cache "
                        "to PoU for {size:#x} bytes by VA (__va({pa:#x}))." + note,
                        "invalidate the I-cache to PoU by VA of the linear map",
                        pa=pa, size=size, linear_map=self.linear_mapped)

    def _set(self, which: str, value: str) -> None:
        if self.cmo[which] != "done":
            self.cmo[which] = value
