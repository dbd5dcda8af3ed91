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
from .kernel.notifier import hva_of
from .scenario import NO_EVENTS, Event, Scenario
from .trace import NO_EVENT_CMO, EventResult, Recorder

SPECIAL = frozenset({"pfnmap", "mixedmap", "io"})       # VM_SPECIAL: such VMAs never merge


def run_event(m, ctx, ev: Event, s2: Stage2, trace: bool, at: int, after: int) -> tuple[EventResult, Scenario]:
    """One event on the table the faults build; returns its result and the scenario as the next
    fault or event finds it."""
    sc = ctx.sc
    t = Recorder(m, ctx) if trace else None
    state = sc.state or NO_EVENTS
    result, rec, new = "ok", None, sc
    if ev.kind == "unmap":
        had = state.has_vma(ev.ipa, ev.end)
        if t:
            t.step("vmm.munmap", "" if had else "none", hva=hva_of(ev.ipa), size=ev.size, ipa=ev.ipa)
        if had:
            rec = m.invalidate_range_start(sc, ev.ipa, ev.end, s2, t)
        new = replace(sc, state=state.unmapped(ev.ipa, ev.end))
    elif ev.kind == "replace":
        had = state.has_vma(ev.ipa, ev.end)
        mergeable = not SPECIAL & sc.vma
        if t:
            t.step("vmm.mmap", "over" if had else "hole", hva=hva_of(ev.ipa), size=ev.size, ipa=ev.ipa,
                   mergeable=mergeable, flags=sc.vma)
        if had:
            rec = m.invalidate_range_start(sc, ev.ipa, ev.end, s2, t)
        new = replace(sc, state=state.remapped(ev.ipa, ev.end, mergeable))
    elif ev.kind == "age":
        had = state.has_vma(ev.ipa, ev.end)
        if t:
            t.step("host.reclaim", "" if had else "none", hva=hva_of(ev.ipa), size=ev.size, ipa=ev.ipa)
        if had:
            rec = m.clear_flush_young(sc, ev.ipa, ev.end, s2, t)
    elif ev.kind in ("logon", "logoff"):
        result, rec = m.set_dirty_logging(sc, ev.kind == "logon", s2, t)
        if result == "ok":
            new = replace(sc, slot=(sc.slot | {"log"}) if ev.kind == "logon" else (sc.slot - {"log"}))
    elif ev.kind == "delslot":
        result, rec = m.delete_memory_region(sc, s2, t)
        if result == "ok":
            new = replace(sc, state=replace(state, memslot=False))
    return _result(ev, at, after, result, rec, t), new


def not_run(ev: Event, at: int, after: int) -> EventResult:
    """An event of a scenario whose memslot was never registered: the VMM never got that far."""
    return EventResult(ev.kind, ev.ipa if ev.ranged else None, ev.size if ev.ranged else None, at, after,
                       "not_run")


CHANGE_OF = {"pgt.unmap_walker": {"leaf": "unmapped", "block": "unmapped", "table": "freed"},
             "pgt.age_walker": {"young": "aged"}, "pgt.wrprotect": {"leaf": "wrprotected"}}


def _result(ev: Event, at: int, after: int, result: str, rec: WalkRecord | None, t) -> EventResult:
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
                       tuple(sorted(changes.items())), tuple(sorted(cmo.items())), steps, states, settles, hazards)
