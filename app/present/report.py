"""The trace as the contract's JSON (schema 1)."""
from __future__ import annotations

from ..sim.hw.pgtable import Prot
from ..sim.scenario import SLOT_FLAGS, VMA_FLAGS
from ..sim.trace import EventResult, FaultResult, Trace
from . import vmm
from .values import delta_json

SCHEMA = 1


def trace_json(tr: Trace, canonical: str) -> dict:
    return {
        "schema": SCHEMA,
        "model": tr.model,
        "canonical": canonical,
        "cap_cacheable_pfnmap": tr.cap_cacheable_pfnmap,
        "memslot": {"result": tr.memslot.result, "hazard": None,   # no memslot-time hazard in these kernels
                    "steps": steps_json(tr.memslot.steps, tr.memslot.states, tr)},
        "memslots": memslots_json(tr),
        "capability": {"cap": tr.cap_number, "result": tr.cap_cacheable_pfnmap,
                       "steps": [step_json(s) for s in tr.capability.steps]},
        "faults": [fault_json(f, tr) for f in tr.faults],
        "events": [event_json(e, tr) for e in tr.events],
        "stage2": {**tr.geometry, "leaves": [
            {"ipa": f"{leaf.ipa:#x}", **leaf.to_json()} for leaf in tr.leaves]},
        "host_s1": tr.host_s1,
        "vmm": vmm.calls(tr),
    }


def fault_json(f: FaultResult, tr: Trace) -> dict:
    return {
        "ipa": f"{f.ipa:#x}",
        "access": f.access,
        "mods": list(f.mods),
        "fsc": f.fsc,
        "level": f.level,
        "esr": None if f.esr is None else f"{f.esr:#010x}",
        "outcome": f.outcome,
        "errno": f.errno,
        "inject": f.inject,
        "s2": f.s2.to_json() if f.s2 else None,
        "cmo": dict(f.cmo),
        "effective": None if f.effective is None else
        {"type": f.effective["type"], "forced_by_fwb": f.effective["forced_by_fwb"], "s1": f.effective["s1"]},
        "walk": list(f.walk),
        "decided": {k: v for k, v in f.decided},
        "hazard": f.hazard,
        "hazards": f.all_hazards(),
        "guest_result": f.guest_result,
        "slot": f.slot,
        "steps": steps_json(f.steps, f.states, tr),
    }


def event_json(e: EventResult, tr: Trace) -> dict:
    """A host event between faults: `at` is its index in the permalink's f list, `after_faults` how many
    faults came before it; `result` the kernel's answer (ok, the ioctl's errno, or not_run)."""
    return {
        "at": e.at,
        "after_faults": e.after,
        "kind": e.kind,
        "ipa": None if e.ipa is None else f"{e.ipa:#x}",
        "size": e.size,
        "result": e.result,
        "changes": dict(e.changes),
        "cmo": dict(e.cmo),
        "hazard": e.hazard,
        "hazards": e.all_hazards(),
        "slot": e.slot,
        "steps": steps_json(e.steps, e.states, tr),
    }


def memslots_json(tr: Trace) -> list[dict]:
    """Every memslot in the VMM's order: its IPA range, userspace address, flags, VMAs, and its
    registration (`result`: ok, the errno, or not_run when an earlier slot was refused; `steps`: the
    range [from, to) of `memslot.steps` that registered it)."""
    out = []
    granule = {12: "4k", 14: "16k", 16: "64k"}[tr.geometry["page_shift"]]
    for slot, answer in zip(tr.layout.slots, tr.slots, strict=False):
        out.append({
            "slot": slot.number, "ipa": f"{slot.gpa:#x}", "size": f"{slot.size:#x}", "hva": f"{slot.hva:#x}",
            "flags": [f for f in SLOT_FLAGS if f in slot.flags],
            "vmas": [{"ipa": f"{v.start:#x}", "size": f"{v.size:#x}", "hva": f"{slot.hva_of(v.start):#x}",
                      "flags": [f for f in VMA_FLAGS if f in v.flags], "mt": v.mt, "mem": v.mem,
                      "pg": v.pg or granule, "pa": f"{v.pa:#x}"} for v in slot.vmas],
            "result": answer.result, "hazard": None, "steps": {"from": answer.first, "to": answer.end}})
    return out


def step_json(s) -> dict:
    """A step as JSON; its prot value in the kernel's flag names."""
    j = s.to_json()
    if "vars" in j and isinstance(j["vars"].get("prot"), int):
        j["vars"]["prot"] = Prot.describe(j["vars"]["prot"])
    return j


def steps_json(steps, states, tr: Trace) -> list[dict]:
    """Each step with `state`: what it changed in the picture, when it changed anything."""
    out = []
    for i, s in enumerate(steps):
        j = step_json(s)
        if i < len(states) and states[i]:
            j["state"] = delta_json(states[i], tr.host_s1)
        out.append(j)
    return out
