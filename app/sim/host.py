"""The host between faults: what the VMM and the host's mm do for each event of a scenario, which
of the kernel model's entry points that reaches, and the host state the later faults then find.

- unmap: the VMM munmap()s part of the memslot's userspace range: the MMU notifier unmaps stage 2
  there (kvm_mmu_notifier_invalidate_range_start()) and the range has no VMA afterwards;
- replace: mmap(MAP_FIXED) of the same object over the range: the old mapping is unmapped through the
  notifier the same way (if there was one), and a new VMA maps the same pages;
- age: page reclaim asks whether the pages were used (kvm_mmu_notifier_clear_flush_young());
- logon / logoff: KVM_SET_USER_MEMORY_REGION with only KVM_MEM_LOG_DIRTY_PAGES changed;
- delslot: KVM_SET_USER_MEMORY_REGION with size 0.
"""
from __future__ import annotations

from dataclasses import replace

from .hw.mm_ops import WalkRecord
from .hw.stage2 import Stage2
from .scenario import Event, Scenario
from .trace import NO_EVENT_CMO, EventResult, Recorder

SPECIAL = frozenset({"pfnmap", "mixedmap", "io"})       # VM_SPECIAL: such VMAs never merge


def run_event(m, ctx, ev: Event, s2: Stage2, trace: bool, at: int, after: int) -> tuple[EventResult, Scenario]:
    """One event on the table the faults build; returns its result and the scenario as the next
    fault or event finds it. A range event is about the slot its IPAs fall in, a memslot change
    about the slot it names; the model sees the view of that slot (and of the VMA at the range's
    start)."""
    sc = ctx.sc
    here = sc.at(ev.ipa) if ev.ranged else sc.slot_view(ev.slot)
    t = Recorder(m, replace(ctx, sc=here) if here is not sc else ctx) if trace else None
    state = sc.host_state
    result, rec, new = "ok", None, sc
    if ev.kind == "unmap":
        had = state.has_vma(ev.ipa, ev.end)
        if t:
            t.step("vmm.munmap", "" if had else "none", hva=here.hva_of(ev.ipa), size=ev.size, ipa=ev.ipa)
        if had:
            rec = _merge([_split_pmds(m, here, state, ev, s2, t),
                          m.invalidate_range_start(here, ev.ipa, ev.end, s2, t)])
        new = replace(sc, state=state.unmapped(ev.ipa, ev.end))
    elif ev.kind == "replace":
        had = state.has_vma(ev.ipa, ev.end)
        mergeable = not SPECIAL & here.vma
        if t:
            t.step("vmm.mmap", "over" if had else "hole", hva=here.hva_of(ev.ipa), size=ev.size, ipa=ev.ipa,
                   mergeable=mergeable, flags=here.vma)
        if had:
            rec = _merge([_split_pmds(m, here, state, ev, s2, t),
                          m.invalidate_range_start(here, ev.ipa, ev.end, s2, t)])
        new = replace(sc, state=state.remapped(ev.ipa, ev.end, mergeable, here.vma_index))
    elif ev.kind == "age":
        had = state.has_vma(ev.ipa, ev.end)
        if t:
            t.step("host.reclaim", "" if had else "none", hva=here.hva_of(ev.ipa), size=ev.size, ipa=ev.ipa)
        if had:
            rec = m.clear_flush_young(here, ev.ipa, ev.end, s2, t)
    elif ev.kind in ("logon", "logoff"):
        result, rec = m.set_dirty_logging(here, ev.kind == "logon", s2, t)
        if result == "ok":
            new = with_slot_flags(sc, ev.slot, (here.slot | {"log"}) if ev.kind == "logon" else (here.slot - {"log"}))
    elif ev.kind == "delslot":
        result, rec = m.delete_memory_region(here, s2, t)
        if result == "ok":
            new = replace(sc, state=replace(state, deleted=state.deleted | {ev.slot}))
    return _result(ev, at, after, result, rec, t, slot_of(sc, ev)), new


def split_points(state, start: int, end: int, pmd: int) -> list[tuple[int, int]]:
    """The cuts (the IPA of the cut, the base of its PMD range) whose PMD range's MMU notifier a munmap() or
    mmap(MAP_FIXED) of [start, end) calls before its own, where it splits a VMA (vms_gather_munmap_vmas() in
    mm/vma.c: the first VMA at `start`, then the last at `end`): __split_vma() -> vma_adjust_trans_huge() ->
    split_huge_pmd_if_needed() (mm/huge_memory.c: 6.12.117:2991, v6.14:3007, 6.17.8:3093, 7.1.3:3408,
    7.3.4:3510) invalidates the PMD range around a split address that is not PMD-aligned when the VMA covers
    that range whole, and __split_huge_pmd() (6.12.117:2964, v6.14:2980, 6.17.8:3066, 7.1.3:3381, 7.3.4:3483)
    calls mmu_notifier_invalidate_range_start() on it before it looks for a huge PMD (mm_find_pmd() finds the
    PMD entry whenever the PUD is present). A merge of the new VMA never does: commit_merge() tests the target's
    old bounds, which stop at the range. hugetlbfs VMAs are cut only at huge-page boundaries."""
    out = []
    first = state.vma_at(start)
    if first is not None and first[0] < start:
        lo = start & ~(pmd - 1)
        if start % pmd and first[0] <= lo and lo + pmd <= first[1]:
            out.append((start, lo))
    last = state.vma_at(end)
    if last is not None and last[0] < end:
        vstart = start if first == last and first[0] < start else last[0]
        lo = end & ~(pmd - 1)
        if end % pmd and vstart <= lo and lo + pmd <= last[1]:
            out.append((end, lo))
    return out


def _split_pmds(m, here, state, ev: Event, s2: Stage2, t) -> WalkRecord | None:
    """What the VMA splits of an unmap or replace tell KVM (split_points()), in their order."""
    pmd = here.page_size << (here.page_shift - 3)
    recs = []
    for at, lo in split_points(state, ev.ipa, ev.end, pmd):
        if t:
            t.step("vmm.split_pmd", event=ev.kind, at=here.hva_of(at), hva=here.hva_of(lo), size=pmd, ipa=lo)
        recs.append(m.invalidate_range_start(here, lo, lo + pmd, s2, t))
    return _merge(recs)


def _merge(recs: list) -> WalkRecord | None:
    """Several unmap walks of one event as one record: counts summed, maintenance and hazards joined."""
    recs = [r for r in recs if r is not None]
    if not recs:
        return None
    out = recs[0]
    for r in recs[1:]:
        for case, n in r.counts.items():
            out.counts[case] = out.counts.get(case, 0) + n
        for k, v in r.cmo.items():
            if v != "none" and out.cmo.get(k, "none") == "none":
                out.cmo[k] = v
        out.hazards += [h for h in r.hazards if h[0] not in {k for k, _ in out.hazards}]
    return out


def with_slot_flags(sc: Scenario, index: int, flags: frozenset) -> Scenario:
    """The scenario with one slot's flags changed (KVM_MR_FLAGS_ONLY succeeded)."""
    if index == 0:
        return replace(sc, slot=flags)
    slots = list(sc.slots)
    slots[index - 1] = replace(slots[index - 1], flags=flags)
    return replace(sc, slots=tuple(slots))


def slot_of(sc: Scenario, ev: Event) -> int | None:
    """The memslot (1-based) an event is about: the one its range falls in, or the one it names."""
    if not ev.ranged:
        return ev.slot + 1
    if not sc.has_layout:
        return 1
    s = sc.layout.slot_at(ev.ipa)
    return None if s is None else s.number


def not_run(ev: Event, at: int, after: int, slot: int | None = None) -> EventResult:
    """An event of a scenario whose memslots were never all registered: the VMM never got that far."""
    return EventResult(ev.kind, ev.ipa if ev.ranged else None, ev.size if ev.ranged else None, at, after,
                       "not_run", slot=slot)


CHANGE_OF = {"pgt.unmap_walker": {"leaf": "unmapped", "block": "unmapped", "table": "freed"},
             "pgt.age_walker": {"young": "aged"}, "pgt.wrprotect": {"leaf": "wrprotected"}}


def _result(ev: Event, at: int, after: int, result: str, rec: WalkRecord | None, t, slot: int | None) -> EventResult:
    changes: dict[str, int] = {}
    cmo = dict(NO_EVENT_CMO)
    hazards: tuple = ()
    if rec is not None:
        for case, n in rec.counts.items():
            name = CHANGE_OF[rec.sid][case]
            changes[name] = changes.get(name, 0) + n
        cmo |= rec.cmo
        hazards = tuple(rec.hazards)
    steps, states, settles = (), (), None
    if t:
        steps, deltas = t.freeze()
        deltas = [dict(d) for d in deltas]
        if deltas:
            settles = len(deltas) - 1
            deltas[settles]["verdict"] = {"event": ev.kind, "result": result}
        states = tuple(deltas)
    return EventResult(ev.kind, ev.ipa if ev.ranged else None, ev.size if ev.ranged else None, at, after, result,
                       tuple(sorted(changes.items())), tuple(sorted(cmo.items())), steps, states, settles, hazards,
                       slot)
