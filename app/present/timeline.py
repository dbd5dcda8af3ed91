"""The picture at every step: the state after step n, folded from what each step changed.

Each step of a trace carries its delta (recorded by the model when it decided; see
app/sim/steps): `on` the part of the path it works on, `know` path values that became known,
`walk` the CPU's walk, `table` stage-2 entries that changed, `desc` descriptor fields decided,
`memtype` memory types, `cmo` cache maintenance, `verdict` the outcome at the step that settles
it. `snapshot()` folds them up to any step; nothing here decides anything, and nothing is read
from the trace's final state.

The host events between faults change the same table. By default (the page's step numbers) their
steps are not counted: what they changed in the table is folded in where the next fault begins.
With events=True their steps are counted in their place among the faults (Trace.all_steps(events=True)).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..sim.hw.pgtable import geometry
from ..sim.trace import Trace

PATH_LABEL = {"va": "guest VA", "ipa": "IPA", "memslot": "memslot", "hva": "HVA", "vma": "VMA",
              "pfn": "PFN", "pa": "PA", "s2": "S2 descriptor"}


# ---- reading: the state after step n -----------------------------------------------------------

@dataclass
class Entry:
    state: str                      # table | leaf | invalid | relaxed | young | aged | wrprotected
    pte: int = 0
    since: int = 0                  # the step that last changed it


@dataclass
class Snapshot:
    """Everything the page draws at step n (1-based, over the whole trace)."""

    n: int
    phase: str                      # memslot | cap | fault | event (the last only with events=True)
    fault: int | None               # 0-based fault index
    on: str | None = None
    know: dict = field(default_factory=dict)
    walk: list = field(default_factory=list)
    tables: dict = field(default_factory=dict)   # (level, base) -> {index: Entry}
    desc: dict = field(default_factory=dict)
    memtype: dict = field(default_factory=dict)
    cmo: dict = field(default_factory=dict)
    verdict: dict | None = None
    memslot_result: str | None = None            # set once registration has answered
    changed: set = field(default_factory=set)
    done: list = field(default_factory=list)     # outcomes of the faults before the current one
    event: int | None = None                     # 0-based event index, in an event's phase


def snapshot(tr: Trace, n: int, events: bool = True) -> Snapshot:
    """Fold the deltas of steps 1..n. Panels that belong to one fault (path values, descriptor,
    memory types, maintenance, verdict) start afresh with each fault; the table and what the
    memslot phase learnt carry over. Events: see the module's docstring."""
    geo = trace_geometry(tr)
    snap = Snapshot(n, "memslot", None)
    snap.tables[(geo.start_level, 0)] = {}
    k = 0
    phases = [("memslot", None, tr.memslot.steps, tr.memslot.states),
              ("cap", None, tr.capability.steps, tr.capability.states)]
    for kind, i in tr.items or [("fault", i) for i in range(len(tr.faults))]:
        item = tr.faults[i] if kind == "fault" else tr.events[i]
        phases.append((kind, i, item.steps, item.states))
    slot_know: dict = {}
    pending: list[dict] = []                     # table changes of events not counted as steps
    for phase, fi, steps, states in phases:
        if k >= n:
            break
        if phase == "event" and not events:
            pending += [{"table": d["table"]} for d in states if d and "table" in d]
            continue
        if phase in ("fault", "event"):
            if snap.phase == "fault" and snap.verdict is not None:
                snap.done.append(snap.verdict)
            snap.know, snap.desc, snap.memtype, snap.cmo = dict(slot_know), {}, {}, {}
            snap.walk, snap.verdict = [], None
            for d in pending:
                _apply(snap, geo, d, k, False)
            pending = []
        snap.phase = phase
        snap.fault, snap.event = (fi, None) if phase == "fault" else (None, fi) if phase == "event" else (None, None)
        for j in range(len(steps)):
            if k >= n:
                break
            k += 1
            delta = states[j] if j < len(states) else {}
            _apply(snap, geo, delta or {}, k, k == n)
        if phase == "memslot":
            snap.memslot_result = tr.memslot.result if k >= len(tr.memslot.steps) else None
            slot_know = dict(snap.know)
    return snap


def _apply(snap: Snapshot, geo, d: dict, k: int, current: bool) -> None:
    mark = snap.changed.add if current else (lambda _x: None)
    if "on" in d:
        snap.on = d["on"]
    for key, value in d.get("know", {}).items():
        snap.know[key] = value
        mark(("know", key))
    if "walk" in d:
        snap.walk = d["walk"]
        for w in d["walk"]:
            if w["found"] == "invalid":
                mark(("walk", w["level"]))
    for e in d.get("table", ()):
        level, ipa = e["level"], e["ipa"]
        key, idx = _table_key(geo, level, ipa), geo.index(ipa, level)
        entries = snap.tables.setdefault(key, {})
        state = e["state"]
        if state == "freed":
            snap.tables.pop(_table_key(geo, level, ipa), None)
            continue
        if state == "table":
            child = (level + 1, ipa & ~(geo.granule_size(level) - 1))
            snap.tables.setdefault(child, {})
        if state == "broken":
            entries[idx] = Entry("invalid", 0, k)
        else:
            entries[idx] = Entry(state, e.get("pte", 0), k)
        mark(("table", level, idx))
    for key, value in d.get("desc", {}).items():
        if snap.desc.get(key) != value:
            mark(("desc", key))
        snap.desc[key] = value
    for key, value in d.get("memtype", {}).items():
        snap.memtype[key] = value
        mark(("memtype", key))
    for key, value in d.get("cmo", {}).items():
        snap.cmo[key] = value
        mark(("cmo", key))
    if "verdict" in d:
        if "memslot" in d["verdict"]:
            snap.memslot_result = d["verdict"]["memslot"]
        else:
            snap.verdict = d["verdict"]
        mark(("verdict",))


def _table_key(geo, level: int, ipa: int) -> tuple[int, int]:
    """(level, first IPA) of the table holding the level's entry for ipa."""
    if level == geo.start_level:
        return level, 0
    span = geo.granule_size(level - 1)
    return level, ipa & ~(span - 1)


def trace_geometry(tr: Trace):
    """The stage-2 geometry a trace ran with, every host feature (LPA2) included."""
    g = tr.geometry
    return geometry(g["page_shift"], g["ipa_bits"], g["lpa2"])
