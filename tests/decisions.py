"""Decision-level renderings of a trace, for goldens a reviewer can read and diff.

`decisions()` says what KVM decided, per phase and fault: the memslot's answer, the capability, and
for each access the fault the CPU reported, the outcome, errno or injected abort, the leaf written,
the cache maintenance and the guest's memory type. `steps()` adds, per step, its id and what it
changed in the picture. Both are plain text, one fact per line, so that a changed sentence or value
shows as a one-line diff.
"""
from __future__ import annotations

import json

from app.present.values import delta_json


def decisions(tr) -> str:
    out = [f"memslot {tr.memslot.result}", *_slots(tr), f"cap 243 -> {tr.cap_cacheable_pfnmap}"]
    for kind, i in _items(tr):
        out += _fault(i + 1, tr.faults[i], len(tr.slots) > 1) if kind == "fault" else _event(i + 1, tr.events[i])
    return "\n".join(out) + "\n"


def steps(tr) -> str:
    """decisions() with every step of every phase: its id, its decided values and its state delta."""
    out = [f"memslot {tr.memslot.result}", *_slots(tr)]
    out += _steps(tr.memslot.steps, tr.memslot.states, tr)
    out += [f"cap 243 -> {tr.cap_cacheable_pfnmap}"]
    out += _steps(tr.capability.steps, tr.capability.states, tr)
    for kind, i in _items(tr):
        item = tr.faults[i] if kind == "fault" else tr.events[i]
        out += _fault(i + 1, item, len(tr.slots) > 1) if kind == "fault" else _event(i + 1, item)
        out += _steps(item.steps, item.states, tr)
    return "\n".join(out) + "\n"


def _slots(tr) -> list[str]:
    """A layout's memslots, each with its registration (nothing for schema 1's one slot)."""
    if len(tr.slots) <= 1:
        return []
    return [f"  memslot {a.slot} at {tr.layout.slots[a.slot - 1].gpa:#x} +{tr.layout.slots[a.slot - 1].size:#x}: "
            f"{a.result}" for a in tr.slots]


def _items(tr):
    return tr.items or [("fault", i) for i in range(len(tr.faults))]


def _event(i: int, e) -> list[str]:
    """A host event: what it is, the kernel's answer, what it changed, the maintenance, a hazard."""
    head = f"event {i}: {e.kind}" + (f" {e.ipa:#x} +{e.size:#x}" if e.ipa is not None else "") + \
        f" (after {e.after} faults, f[{e.at}])"
    out = [head, f"  result {e.result}"]
    if e.changes:
        out.append("  changes " + " ".join(f"{k}={n}" for k, n in e.changes))
    cmo = dict(e.cmo)
    if any(v != "none" for v in cmo.values()):
        out.append("  cmo " + " ".join(f"{k}={v}" for k, v in sorted(cmo.items())))
    if e.hazard:
        out.append("  hazard " + json.dumps(e.hazard, sort_keys=True))
    return out


def _fault(i: int, f, layout: bool = False) -> list[str]:
    mods = "".join("." + m for m in f.mods)
    head = f"fault {i}: {f.access}{mods} at {f.ipa:#x}" + (f" [slot {f.slot}]" if layout else "")
    if f.fsc is None:
        head += " (no stage-2 fault)"
    else:
        head += f" ({f.fsc}, level {f.level}, ESR {f.esr:#010x})"
    out = [head, f"  outcome {f.outcome}" + (f" {f.errno}" if f.errno else "")
           + (f" {f.inject}" if f.inject else "")]
    for key in ("hazard", "guest_result"):
        value = getattr(f, key, None)
        if value:
            out.append(f"  {key} " + json.dumps(value, sort_keys=True))
    if f.s2:
        s = f.s2
        out.append(f"  s2 {s.memtype} MemAttr {s.memattr:#x} {s.perm} {s.size:#x} at level {s.level} "
                   f"desc {s.pte:#018x}")
    cmo = dict(f.cmo)
    if any(v != "none" for v in cmo.values()):
        out.append("  cmo " + " ".join(f"{k}={v}" for k, v in sorted(cmo.items())))
    if f.effective:
        forced = " (forced by FWB)" if f.effective["forced_by_fwb"] else ""
        out.append(f"  guest {f.effective['s1']} -> {f.effective['type']}{forced}")
    if f.decided:
        out.append("  decided " + " ".join(f"{k}={v}" for k, v in f.decided))
    return out


def _steps(steps, states, tr) -> list[str]:
    out = []
    for k, s in enumerate(steps):
        state = states[k] if k < len(states) else None
        line = f"    {s.id}"
        if s.vars:
            line += " " + " ".join(f"{k2}={_v(v)}" for k2, v in s.vars)
        out.append(line)
        if state:
            out.append("      " + json.dumps(delta_json(state, tr.host_s1), sort_keys=True, default=str))
    return out


def _v(v) -> str:
    if isinstance(v, int) and not isinstance(v, bool) and v > 9:
        return f"{v:#x}"
    return str(v)
