"""The guest's physical address space: where RAM ends, where devices sit, which IPAs have no memslot
at all. Drawn to a readable scale (a region's width grows with the logarithm of its size, so 64 KiB of
registers and 95 GiB of GPU memory are both visible), with each memslot's VMAs under it, the current
access's IPA marked, and per memslot what the trace has settled there so far: its registration, and
what the accesses to it got (memory type, hazard). Pure: a trace, its scenario and a snapshot in."""
from __future__ import annotations

from dataclasses import dataclass

from ..sim.presets import PRESETS, QEMU_HOLES, VM_PRESETS
from ..sim.scenario import Scenario
from ..sim.units import size_text
from . import presenters
from .timeline import Snapshot

WIDTH, BAR_Y, BAR_H, VMA_H = 960, 18, 40, 12
MIN_W = 18


@dataclass(frozen=True)
class Region:
    n: int                      # 1-based position, left to right
    start: int
    end: int
    slot: object | None         # layout.Slot, or None for IPAs without a memslot
    name: str
    x: float = 0
    w: float = 0

    @property
    def size(self) -> int:
        return self.end - self.start


def vm_preset(sc: Scenario):
    """The VM preset whose layout this scenario has, if any (its names label the picture)."""
    for p in VM_PRESETS.values():
        if p.slots == sc.slots and not sc.v1 and \
                (p.slot1.flags, p.slot1.mt, p.slot1.mem, p.slot1.pg) == (sc.vma, sc.mt, sc.mem, sc.pg):
            return p
    return None


def vma_name(v) -> str:
    """A VMA in words: the real mapping it looks like (the presets of kernel-behaviour.md §2), or its flags."""
    p = next((p for p in PRESETS.values() if (p.vma, p.mt, p.mem) == (v.flags - {"mteok"}, v.mt, v.mem)), None)
    if p is not None:
        return p.title
    if not {"pfnmap", "mixedmap", "io"} & v.flags:
        return "RAM (" + ("hugetlbfs" if "hugetlb" in v.flags else "shared" if "shared" in v.flags else
                          "anonymous") + ")"
    return "device mapping (" + ",".join(sorted(v.flags - {"maywrite", "shared"})) + f", {v.mt})"


def slot_name(sc: Scenario, slot) -> str:
    p = vm_preset(sc)
    if p is not None:
        return p.names[slot.index]
    if len(slot.vmas) > 1:
        return f"{len(slot.vmas)} VMAs: " + " + ".join(vma_name(v) for v in slot.vmas)
    return vma_name(slot.vmas[0]) + (" (read-only)" if "ro" in slot.flags else "")


def hole_name(sc: Scenario, start: int, end: int) -> str:
    p = vm_preset(sc)
    named = (p.holes if p is not None else QEMU_HOLES)
    inside = [name for a, b, name in named if a < end and start < b]
    return "no memslot" + (": " + ", ".join(inside) if inside else "")


def regions(sc: Scenario) -> list[Region]:
    """The IPA space [0, 2^ipa) cut into memslots and the holes between them, in address order."""
    top = 1 << sc.ipa
    out, at = [], 0
    for slot in sorted(sc.layout.slots, key=lambda s: s.gpa):
        if slot.gpa >= top:
            break
        if slot.gpa > at:
            out.append((at, slot.gpa, None))
        out.append((slot.gpa, min(slot.end, top), slot))
        at = min(slot.end, top)
    if at < top:
        out.append((at, top, None))
    weights = [max(1.0, (b - a).bit_length() - 11.0) for a, b, _ in out]
    scale = (WIDTH - MIN_W * len(out)) / sum(weights)
    regs, x = [], 0.0
    for i, ((a, b, slot), wt) in enumerate(zip(out, weights, strict=True)):
        w = MIN_W + wt * scale
        name = slot_name(sc, slot) if slot is not None else hole_name(sc, a, b)
        regs.append(Region(i + 1, a, b, slot, name, round(x, 1), round(w, 1)))
        x += w
    return regs


def x_of(regs: list[Region], ipa: int) -> float | None:
    """Where an IPA sits on the drawing (linear inside its region)."""
    for r in regs:
        if r.start <= ipa < r.end:
            return round(r.x + r.w * (ipa - r.start) / r.size, 1)
    return None


def picture(sc: Scenario, tr, snap: Snapshot, reveals: list) -> dict:
    """The address space at a step: regions, VMAs, the current IPA, and per memslot what is settled."""
    regs = regions(sc)
    registered = snap.phase != "memslot" or snap.memslot_result is not None
    done = [i for i, r in enumerate(reveals) if r is not None and r <= snap.n]
    starts = presenters.phase_starts(tr)
    ipa = snap.know.get("ipa") if snap.phase == "fault" else None
    if ipa is None and snap.phase == "fault" and snap.fault is not None:
        ipa = tr.faults[snap.fault].ipa
    rows = []
    for r in regs:
        row = {"n": r.n, "x": r.x, "w": r.w, "start": f"{r.start:#x}", "end": f"{r.end:#x}",
               "size": size_text(r.size), "name": r.name, "slot": None, "kind": "hole", "vmas": [],
               "result": "", "faults": [], "here": ipa is not None and r.start <= ipa < r.end}
        if r.slot is not None:
            s = r.slot
            answer = tr.slots[s.index] if s.index < len(tr.slots) else None
            row |= {"slot": s.number, "kind": _kind(s, answer.result if answer and registered else None)}
            row["vmas"] = [{"x": round(r.x + r.w * (v.start - r.start) / r.size, 1),
                            "w": round(r.w * v.size / r.size, 1), "name": vma_name(v),
                            "kind": "dev" if {"pfnmap", "mixedmap", "io"} & v.flags else "ram"} for v in s.vmas]
            if registered and answer is not None:
                row["result"] = {"ok": "registered", "not_run": "never registered (QEMU aborted before it)"}.get(
                    answer.result, f"refused: {answer.result}")
        for i in done:
            f = tr.faults[i]
            if r.start <= f.ipa < r.end:
                v = presenters.fault_verdict(f, starts[("fault", i)], snap.n)
                row["faults"].append({"n": i + 1, "headline": v.headline, "hazard": v.hazard_words,
                                      "guest": f.guest_result["kind"] if f.guest_result else ""})
        rows.append(row)
    return {"rows": rows, "width": WIDTH, "bar_y": BAR_Y, "bar_h": BAR_H, "vma_h": VMA_H,
            "mark": x_of(regs, ipa) if ipa is not None else None, "ipa": None if ipa is None else f"{ipa:#x}",
            "top": f"{1 << sc.ipa:#x}", "bits": sc.ipa}


def _kind(slot, result: str | None) -> str:
    if result not in (None, "ok"):
        return "refused" if result != "not_run" else "notrun"
    if "ro" in slot.flags:
        return "ro"
    return "dev" if any({"pfnmap", "mixedmap", "io"} & v.flags for v in slot.vmas) else "ram"


def slots_by_model(sc: Scenario, runs: dict) -> list[dict]:
    """/all/ for a layout: per memslot, per model, its registration and what the scenario's accesses there
    got (the last one settled), with their hazards."""
    rows = []
    for r in regions(sc):
        if r.slot is None and not any(r.start <= f.ipa < r.end for f in sc.faults):
            continue
        cells = []
        for mid, tr in runs.items():
            answer = tr.slots[r.slot.index] if r.slot is not None else None
            faults = [f for f in tr.faults if r.start <= f.ipa < r.end]
            if answer is not None and answer.result != "ok":
                text = ("not registered: QEMU aborted at an earlier slot" if answer.result == "not_run" else
                        f"refused {answer.result} at registration")
                cells.append({"ok": False, "text": text, "hazard": "", "mid": mid})
                continue
            if tr.memslot.result != "ok":
                cells.append({"ok": False, "text": f"registered, never run (another slot refused "
                                                   f"{tr.memslot.result})", "hazard": "", "mid": mid})
                continue
            parts, hz, ok = [], "", True
            for f in faults:
                v = presenters.fault_verdict(f)
                guest = (f.guest_result or {}).get("kind", "completes")
                then = "" if guest in ("completes", "emulated") else f"; the guest: {guest.replace('_', ' ')}"
                parts.append(f"{f.access} {f.ipa:#x}: {v.headline}{then}")
                hz = hz or v.hazard_words
                ok = ok and v.ok
            cells.append({"ok": ok, "text": "; ".join(parts) or "registered (no access here)", "hazard": hz,
                          "mid": mid})
        rows.append({"label": (f"memslot {r.slot.number}: " if r.slot else "") + r.name,
                     "range": f"[{r.start:#x}, {r.end:#x}) {size_text(r.size)}", "cells": cells})
    return rows
