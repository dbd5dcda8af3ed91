"""Behaviour maps: what one model does across VMA kinds x host features x fault kinds, and where
two models differ. Pure (the web layer keeps the grids in its trace cache); the Plotly figure is
built in figures.py."""
from __future__ import annotations

from dataclasses import replace

from ..permalink import canonical_url, parse_url
from ..sim import simulate
from ..sim.presets import PRESETS, VM_PRESETS
from ..sim.scenario import Fault, Scenario
from .presenters import HAZARD_WORDS

HOSTS = (("FWB+DIC", frozenset({"fwb", "dic"})), ("FWB", frozenset({"fwb"})), ("DIC", frozenset({"dic"})),
         ("none", frozenset()))
KINDS = (("read", "r"), ("write", "w"), ("exec", "x"))
CATEGORIES = ("host hazard", "Normal", "Normal-NC", "Device", "memslot refused", "KVM_RUN error", "abort injected",
              "other")
# The short mark each category shows in the map's cells and legend, so colour is never the only signal.
CODES = {"host hazard": "⚠", "Normal": "N", "Normal-NC": "NC", "Device": "D", "memslot refused": "reg",
         "KVM_RUN error": "run", "abort injected": "abt", "other": "?"}
DIFF_CATEGORIES = ("same", "differs")


def columns() -> list[tuple[str, frozenset, str]]:
    return [(f"{h} / {k}", host, kind) for h, host in HOSTS for k, kind in KINDS]


def scenario(preset_id: str, host: frozenset, kind: str) -> Scenario:
    sc = PRESETS[preset_id].apply(replace(Scenario(), host=host))
    return replace(sc, faults=(Fault(0x4000_0000, kind),))


def category(mid: str, sc: Scenario) -> tuple[str, str, str]:
    """(category, one-line description, short mark for the map's cell) of the single fault in sc on model mid."""
    tr = simulate(mid, sc, trace=False)
    if tr.memslot.result != "ok":
        return "memslot refused", f"KVM_SET_USER_MEMORY_REGION {tr.memslot.result}", f"reg {tr.memslot.result}"
    f = tr.faults[0]
    if f.hazard:
        kind = HAZARD_WORDS[f.hazard["kind"]]
        answer = f"mapped {f.s2.memtype}" if f.s2 else f.errno or f.outcome
        return "host hazard", f"{kind} ({answer})", CODES["host hazard"]
    if f.outcome in ("map", "relax"):
        kind = {"normal": "Normal", "normal_nc": "Normal-NC", "device_nGnRE": "Device"}[f.s2.memtype]
        return kind, f"mapped {kind} {f.s2.perm}", CODES[kind]
    if f.outcome == "run_error":
        return "KVM_RUN error", f"KVM_RUN {f.errno}", f"run {f.errno}"
    if f.outcome == "inject":
        return "abort injected", f"{f.inject} injected", f.inject
    return "other", f.outcome, CODES["other"]


def grid(mid: str) -> dict:
    """rows (presets) x columns (host / fault kind): category index, text and permalink per cell."""
    rows = []
    for pid, preset in PRESETS.items():
        cells = []
        for label, host, kind in columns():
            sc = scenario(pid, host, kind)
            cat, text, mark = category(mid, sc)
            cells.append({"cat": cat, "z": CATEGORIES.index(cat), "text": text, "mark": mark,
                          "href": canonical_url(mid, sc), "column": label})
        rows.append({"id": pid, "title": preset.title, "cells": cells})
    return {"model": mid, "columns": [c[0] for c in columns()], "rows": rows}


def diff(ga: dict, gb: dict) -> dict:
    """Cells whose outcome changed between two models' grids (z = 1) and those that did not (z = 0)."""
    a, b = ga["model"], gb["model"]
    rows = []
    for ra, rb in zip(ga["rows"], gb["rows"], strict=False):
        cells = []
        for ca, cb in zip(ra["cells"], rb["cells"], strict=False):
            changed = ca["text"] != cb["text"]
            # The mark says how it changed: "D→N" when the category changed, "≠" when only the details did.
            codes = CODES[ca["cat"]], CODES[cb["cat"]]
            mark = ("\u2260" if codes[0] == codes[1] else "\u2192".join(codes)) if changed else "="
            cells.append({"z": int(changed), "cat": cb["cat"] if changed else "same", "mark": mark,
                          "text": f"{a}: {ca['text']} / {b}: {cb['text']}" if changed else ca["text"],
                          "href": canonical_url(f"{a}..{b}", _scenario_of(ca["href"])), "column": ca["column"],
                          "changed": changed})
        rows.append({"id": ra["id"], "title": ra["title"], "cells": cells})
    return {"model": f"{a}..{b}", "columns": ga["columns"], "rows": rows}


def _scenario_of(href: str) -> Scenario:
    return parse_url(href)[1].scenario


# ---- whole VMs: per VM preset and memslot, per host -------------------------------------------------

def vm_cell(tr, slot, faults) -> tuple[bool, str]:
    """(fine, words) for one memslot of a VM preset on one host: its registration, and what the preset's
    accesses there got."""
    answer = tr.slots[slot.index]
    if answer.result == "not_run":
        return False, "not registered (QEMU aborted earlier)"
    if answer.result != "ok":
        return False, f"refused {answer.result}"
    if tr.memslot.result != "ok":
        return False, "registered; the VM never runs"
    parts, fine = [], True
    for f in faults:
        hz = f" ⚠ {HAZARD_WORDS[f.hazard['kind']]}" if f.hazard else ""
        what = f"{f.s2.memtype} {f.s2.perm}" if f.outcome in ("map", "relax") and f.s2 else \
            f"KVM_RUN {f.errno}" if f.outcome == "run_error" else f.outcome.replace("_", " ")
        parts.append(f"{f.access}: {what}{hz}")
        fine = fine and not f.hazard and f.outcome not in ("run_error", "inject")
    return fine, "; ".join(parts) or "registered"


def vm_grid(mid: str) -> dict:
    """Every VM preset's memslots (rows) on each host (columns): what each slot gets on model mid."""
    rows = []
    for p in VM_PRESETS.values():
        runs = []
        for _label, host in HOSTS:
            sc = replace(p.apply(Scenario()), host=host | (p.host or frozenset()) & {"mte"})
            runs.append((sc, simulate(mid, sc, trace=False)))
        for slot in runs[0][0].layout.slots:
            cells = []
            for sc, tr in runs:
                faults = [f for f in tr.faults if f.slot == slot.number]
                fine, text = vm_cell(tr, slot, faults)
                cells.append({"fine": fine, "text": text, "href": canonical_url(mid, sc)})
            rows.append({"vm": p.title, "slot": f"memslot {slot.number}: {p.names[slot.index]}", "cells": cells})
    return {"model": mid, "columns": [h for h, _ in HOSTS], "rows": rows}


def vm_diff(ga: dict, gb: dict) -> dict:
    """The whole-VM grid of two models: each cell both answers where they differ."""
    a, b = ga["model"], gb["model"]
    rows = []
    for ra, rb in zip(ga["rows"], gb["rows"], strict=False):
        cells = []
        for ca, cb in zip(ra["cells"], rb["cells"], strict=False):
            changed = ca["text"] != cb["text"]
            cells.append({"fine": not changed, "changed": changed, "href": ca["href"].replace(f"/{a}/", f"/{a}..{b}/"),
                          "text": f"{a}: {ca['text']} / {b}: {cb['text']}" if changed else ca["text"]})
        rows.append({**ra, "cells": cells})
    return {"model": f"{a}..{b}", "columns": ga["columns"], "rows": rows}
