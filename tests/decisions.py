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
    out = [f"memslot {tr.memslot.result}", f"cap 243 -> {tr.cap_cacheable_pfnmap}"]
    for i, f in enumerate(tr.faults, 1):
        out += _fault(i, f)
    return "\n".join(out) + "\n"


def steps(tr) -> str:
    """decisions() with every step of every phase: its id, its decided values and its state delta."""
    out = [f"memslot {tr.memslot.result}"]
    out += _steps(tr.memslot.steps, tr.memslot.states, tr)
    out += [f"cap 243 -> {tr.cap_cacheable_pfnmap}"]
    out += _steps(tr.capability.steps, tr.capability.states, tr)
    for i, f in enumerate(tr.faults, 1):
        out += _fault(i, f)
        out += _steps(f.steps, f.states, tr)
    return "\n".join(out) + "\n"


def _fault(i: int, f) -> list[str]:
    mods = "".join("." + m for m in f.mods)
    head = f"fault {i}: {f.access}{mods} at {f.ipa:#x}"
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
