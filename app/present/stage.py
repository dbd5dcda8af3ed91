"""The stage: everything the page draws for one step of a trace, and nothing the trace has not
reached yet. Pure: a trace and a step number in, the template's context out."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from ..sim import leaf_of
from ..sim.hw import memattr
from ..sim.hw.pgtable import DESC_FIELDS, Prot, pte_memattr, pte_perm
from ..sim.scenario import Scenario
from ..sim.steps import KEY_STEPS
from ..sim.trace import Leaf, Trace
from ..sim.units import size_text
from . import diagram, presenters, space
from .timeline import Snapshot, snapshot, trace_geometry
from .values import memtype_text


@dataclass(frozen=True)
class Box:
    """The verdict box at a step: decided, or still deciding with the last fact decided."""

    state: str                 # deciding | decided | memslot | registered | idle
    headline: str
    verdict: presenters.Verdict | None = None
    last_fact: str = ""
    reveal: int | None = None  # the step that settles the current fault


def reveal_steps(tr: Trace, kind: str = "fault") -> list[int | None]:
    """Per fault (or event), the 1-based trace position of the step that settles it (None if never run)."""
    starts = presenters.phase_starts(tr)
    out = []
    for i, item in enumerate(tr.faults if kind == "fault" else tr.events):
        at = next((j for j, d in enumerate(item.states) if "verdict" in d), None)
        out.append(None if at is None else starts[(kind, i)] + at)
    return out


def memslot_reveal(tr: Trace) -> int:
    return len(tr.memslot.steps)


def story_step(tr: Trace, others: Iterable[Trace]) -> int:
    """The step a scenario opens on in trace tr: where the first fault whose outcome differs between
    the models is settled; if every model agrees, where the first fault is settled; a refused
    memslot opens on its refusal; no fault, on the last step. others: the same scenario on every
    other model, whose outcomes are all that is read (runs without a trace will do)."""
    total = len(tr.all_steps())
    if tr.memslot.result != "ok":
        return memslot_reveal(tr)
    reveals = reveal_steps(tr)
    if not reveals:
        return total
    runs = [tr, *others]
    outcomes = [[outcome(t, i) for t in runs] for i in range(len(tr.faults))]
    pick = next((i for i, o in enumerate(outcomes) if len(set(o)) > 1), 0)
    return reveals[pick] or total


def outcome(tr: Trace, i: int) -> tuple:
    """What a model decided for fault i, as far as the story step compares models."""
    if tr.memslot.result != "ok":
        return ("memslot", tr.memslot.result)
    f = tr.faults[i]
    return (f.outcome, f.errno, f.inject, f.s2 and (f.s2.memtype, f.s2.perm, f.s2.size))


def box(tr: Trace, steps: list, snap: Snapshot, reveals: list) -> Box:
    if snap.phase == "memslot" or snap.phase == "cap":
        if snap.memslot_result not in (None, "ok"):
            return Box("memslot", presenters.memslot_verdict(tr).headline, presenters.memslot_verdict(tr))
        if snap.phase == "cap":
            return Box("registered", "Memslot registered; next, the capability query." if len(tr.slots) <= 1 else
                       f"All {len(tr.slots)} memslots registered; next, the capability query.")
        slot = next((a.slot for a in tr.slots if a.first < snap.n <= a.end), 1)
        return Box("deciding", "Registering the memslot…" if len(tr.slots) <= 1 else
                   f"Registering memslot {slot} of {len(tr.slots)}…", last_fact=_last_fact(steps, snap.n))
    if snap.phase == "event":
        ev = tr.events[snap.event]
        reveal = reveal_steps(tr, "event")[snap.event]
        if snap.verdict is not None:
            v = presenters.event_verdict(ev, presenters.phase_starts(tr)[("event", snap.event)], snap.n)
            return Box("decided", v.headline, v, reveal=reveal)
        return Box("deciding", f"Host event {snap.event + 1}: {ev.kind}…", last_fact=_last_fact(steps, snap.n),
                   reveal=reveal)
    f = tr.faults[snap.fault]
    reveal = reveals[snap.fault]
    if snap.verdict is not None:
        v = presenters.fault_verdict(f, presenters.phase_starts(tr)[("fault", snap.fault)], snap.n)
        return Box("decided", v.headline, v, reveal=reveal)
    return Box("deciding", f"Fault {snap.fault + 1}: deciding…", last_fact=_last_fact(steps, snap.n),
               reveal=reveal)


def _last_fact(steps: list, n: int) -> str:
    """The newest decision so far in the current phase, as 'func(): name=value, ...'."""
    phase = steps[n - 1].phase
    for sv in reversed(steps[:n]):
        if sv.phase != phase:
            break
        facts = [f"{k}={_show(k, v)}" for k, v in sv.step.vars if isinstance(v, bool) or k in ("prot", "errno")]
        if facts:
            return f"{sv.step.func}(): " + ", ".join(facts)
    return ""


def _show(k: str, v) -> str:
    if k == "prot" and isinstance(v, int):
        return Prot.describe(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def descriptor(snap: Snapshot) -> dict:
    """The leaf descriptor as far as it is decided: each field's bits, or '?' while undecided."""
    d = snap.desc
    full = d.get("pte")
    fields = presenters.descriptor(full) if full is not None else _partial_fields(d)
    for fd in fields:
        fd.setdefault("known", True)
        fd["changed"] = ("desc", fd["name"]) in snap.changed
    known = [fd for fd in fields if fd["name"] != "-" and fd["known"]]
    title = ("The leaf the walk found" if d.get("existing") else "Leaf descriptor" if full is not None else
             "Leaf descriptor being decided" if d else "No leaf descriptor yet")
    return {"fields": fields, "known": len(known), "title": title,
            "pte": None if full is None else f"{full:#018x}",
            "prot": None if d.get("prot") is None else Prot.describe(d["prot"]),
            "size": None if d.get("size") is None else size_text(d["size"])}


def _partial_fields(d: dict) -> list[dict]:
    values = {}
    if "OA" in d:
        values["OA"] = d["OA"] >> 12
    if "MemAttr" in d:
        values["MemAttr"] = d["MemAttr"]
    if "S2AP" in d:
        values["S2AP"] = ("W" in d["S2AP"]) << 1 | ("R" in d["S2AP"])
    if "XN" in d:
        values["XN"] = d["XN"] << 1
    if d.get("SH") is not None:
        values["SH"] = d["SH"]
    if "AF" in d:
        values["AF"] = d["AF"]
    pte = 0
    for name, _hi, lo in DESC_FIELDS:
        pte |= values.get(name, 0) << lo
    out = presenters.descriptor(pte)
    for fd in out:
        fd["known"] = fd["name"] in values
        if not fd["known"] and fd["name"] != "-":
            fd["shown"] = "?"
    return out


def memtypes(snap: Snapshot, sc: Scenario, host_s1: dict) -> dict:
    has_fwb = "fwb" in sc.host
    m = snap.memtype
    words = {k: memtype_text(k, v, host_s1) for k, v in m.items()}
    out = {"host": words.get("host_s1"), "s2": words.get("s2"), "fwb": has_fwb, "guest": words.get("guest_s1"),
           "effective": words.get("effective"), "forced": m.get("forced_by_fwb", False), "meaning": "", "other": ""}
    attr = snap.desc.get("MemAttr")
    if attr is not None and m.get("s2"):
        kind = m["s2"] if m["s2"] in (memattr.S2_NORMAL, memattr.S2_NORMAL_NC, memattr.S2_DEVICE) else None
        out["meaning"] = (f"MemAttr {attr:#x} = {memattr.s2_memattr_name(attr, has_fwb)}: "
                          f"{memattr.s2_memattr_meaning(attr, has_fwb)}")
        if kind:
            other = memattr.s2_memattr(kind, not has_fwb)
            out["other"] = (f"{'without' if has_fwb else 'with'} FWB the same mapping would be MemAttr {other:#x}: "
                            f"{memattr.s2_memattr_meaning(other, not has_fwb)}")
    return out


def cmo(snap: Snapshot, sc: Scenario) -> list[str]:
    out = []
    d, i = snap.cmo.get("dcache"), snap.cmo.get("icache")
    if d == "done":
        out.append("D-cache cleaned and invalidated to PoC through the kernel's linear map (no FWB)."
                   + (" This memory has no linear mapping: the real kernel would fault." if sc.mem == "dev" else ""))
    elif d == "skipped":
        out.append("D-cache clean to PoC requested and skipped: with FWB the guest's view is cacheable.")
    if i == "done":
        out.append("I-cache invalidated to PoU for the executable leaf (no DIC).")
    elif i == "skipped":
        out.append("I-cache invalidation to PoU requested; with DIC it is only an ISB.")
    return out


def context(mid: str, sc: Scenario, tr: Trace, steps: list, n: int, present: bool = False) -> dict:
    """What _stage.html needs for step n: the path is drawn 8 boxes a row (its text twin and its
    reflowing text boxes, for a phone, the embed and presenter mode, read that one too)."""
    snap = snapshot(tr, n)
    reveals = reveal_steps(tr)
    current = steps[n - 1] if steps else None
    return {
        "snap": snap, "box": box(tr, steps, snap, reveals) if steps else Box("idle", "No step."),
        "desc": descriptor(snap), "mt": memtypes(snap, sc, tr.host_s1), "cmo_lines": cmo(snap, sc),
        "path_wide": diagram.path(snap, sc, 8),
        "tree": diagram.tree(snap, trace_geometry(tr), sc.layout), "step": current,
        "sp": space.picture(sc, tr, snap, reveals) if sc.has_layout else None,
        "phase_steps": [sv for sv in steps if current and sv.phase == current.phase],
        "phases": _phases(tr, steps, snap, reveals),
    }


def _phases(tr: Trace, steps: list, snap: Snapshot, reveals: list) -> list[dict]:
    """One line per phase: where it starts, and its outcome only once the trace has reached it."""
    out, seen = [], set()
    for sv in steps:
        if sv.phase in seen:
            continue
        seen.add(sv.phase)
        outcome = ""
        if sv.phase == "memslot" and snap.n >= memslot_reveal(tr):
            outcome = f"KVM_SET_USER_MEMORY_REGION -> {tr.memslot.result}" if len(tr.slots) <= 1 else \
                "; ".join(f"memslot {a.slot} {a.result.replace('_', ' ')}" for a in tr.slots)
        elif sv.phase == "cap" and snap.n >= sv.n:
            outcome = f"KVM_CHECK_EXTENSION({tr.cap_number}) -> {tr.cap_cacheable_pfnmap}"
        elif sv.fault is not None:
            r = reveals[sv.fault]
            if r is not None and snap.n >= r:
                v = presenters.fault_verdict(tr.faults[sv.fault], sv.n, snap.n)
                outcome = (f"⚠ {v.hazard_words}: " if v.hazard else "") + v.headline
        elif sv.event is not None:
            r = reveal_steps(tr, "event")[sv.event]
            if r is not None and snap.n >= r:
                v = presenters.event_verdict(tr.events[sv.event], sv.n, snap.n)
                outcome = (f"⚠ {v.hazard_words}: " if v.hazard else "") + v.headline
        label = {"memslot": "Memslot registration" if len(tr.slots) <= 1 else
                 f"Memslot registration ({len(tr.slots)} slots)", "cap": "Capability query"}.get(sv.phase)
        if sv.fault is not None:
            f = tr.faults[sv.fault]
            label = f"Fault {sv.fault + 1}: {f.access}{''.join('.' + m for m in f.mods)} at {f.ipa:#x}" + (
                "" if len(tr.slots) <= 1 else f" (memslot {f.slot})" if f.slot else " (no memslot)")
        if sv.event is not None:
            ev = tr.events[sv.event]
            label = f"Host event {sv.event + 1}: {ev.kind}" + (f" {ev.ipa:#x} +{size_text(ev.size)}" if ev.ipa else "")
        out.append({"phase": sv.phase, "label": label, "first": sv.n, "outcome": outcome,
                    "hazard": bool(outcome.startswith("⚠")), "current": steps[snap.n - 1].phase == sv.phase})
    if tr.memslot.result != "ok" and snap.n >= memslot_reveal(tr):
        for i, f in enumerate(tr.faults):
            out.append({"phase": f"fault {i + 1}", "first": None, "current": False,
                        "label": f"Fault {i + 1}: {f.access}{''.join('.' + m for m in f.mods)} at {f.ipa:#x}",
                        "outcome": f"not run: registration failed ({tr.memslot.result}), so there is no memslot "
                                   "and the guest never touches this memory"})
    return out


def key_steps(tr: Trace, steps: list) -> list[int]:
    """The step numbers presenter mode shows by default."""
    settle = {r for r in reveal_steps(tr) + reveal_steps(tr, "event") if r} | {memslot_reveal(tr)}
    return [sv.n for sv in steps if sv.step.id in KEY_STEPS or sv.n in settle]


def _leaves(snap: Snapshot, tr: Trace) -> list[tuple[int, int, int]]:
    """(ipa, level, pte) of every valid leaf at the snapshot, in IPA order."""
    geo = trace_geometry(tr)
    out = []
    for (level, base), entries in snap.tables.items():
        for idx, e in entries.items():
            if e.pte and e.state not in ("table", "invalid"):
                ipa = (0 if level == geo.start_level else base) + (idx << geo.shift(level))
                out.append((ipa, level, e.pte))
    return sorted(out)


def leaf_rows(snap: Snapshot, tr: Trace, sc: Scenario) -> list[dict]:
    """The leaves of the table at the snapshot, for the memslot map's table."""
    has_fwb = "fwb" in sc.host
    rows = []
    for ipa, level, pte in _leaves(snap, tr):
        leaf = leaf_of(ipa, level, pte, has_fwb, sc.page_shift)
        rows.append({"ipa": f"{ipa:#x}", "size": size_text(leaf.size), "level": level,
                     "memtype": presenters.MEMTYPE_NAMES.get(leaf.memtype, leaf.memtype), "perm": leaf.perm,
                     "desc": f"{pte:#018x}"})
    return rows


def trace_at(tr: Trace, n: int) -> Trace:
    """The trace as far as step n has gone: the leaves at that step and the faults settled by then."""
    snap = snapshot(tr, n)
    reveals = reveal_steps(tr)
    faults = tuple(f for f, r in zip(tr.faults, reveals, strict=False) if r is not None and r <= n)
    known = {(leaf.ipa, leaf.level): leaf for leaf in tr.leaves}
    geo = trace_geometry(tr)
    leaves = []
    for ipa, level, pte in _leaves(snap, tr):
        final = known.get((ipa, level))
        memtype = final.memtype if final else "other"
        leaves.append(Leaf(ipa, level, 1 << geo.shift(level), pte, memtype, pte_memattr(pte), pte_perm(pte)))
    return replace(tr, leaves=tuple(leaves), faults=faults)
