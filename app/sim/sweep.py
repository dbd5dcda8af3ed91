"""Outcome-only sweeps over the configuration space, for benchmarks and behaviour maps, on the six
kernel models (KERNELS; the equivalences below hold for them, not for every revision of the series:
v2 reads VM_IO on its own).

The sweep runs the same engine as the trace (simulate(trace=False)); it only avoids running it
twice for scenarios that cannot differ in outcome:
- those that differ only in what picks the memory type of a mapping (VM_ALLOW_ANY_UNCACHED,
  which non-cacheable pgprot) or in the guest's stage-1 type (unless an access is unaligned or a
  DC ZVA: the guest's own stage 1 may then fault first);
- VM_SHARED without VM_MAYWRITE: the model reads VM_SHARED only through is_cow_mapping();
- VM_IO beside VM_PFNMAP: the model reads VM_IO only as "VM_IO or VM_PFNMAP";
- remap for a VMA without VM_PFNMAP in a VM without MTE: registration accepts both VMAs (and a
  host event that checks the VMA again, logon or logoff, sees the configured one either way).
tests/sim/test_sweep.py checks these equivalences on random scenarios.
"""
from __future__ import annotations

import itertools
from dataclasses import replace

from .engine import simulate
from .hw import access
from .kernel.catalogue import KERNELS
from .scenario import Fault, Scenario

NON_CACHEABLE = ("nc", "ngnrne", "ngnre")
SWEEP_VMA_FLAGS = ("pfnmap", "mixedmap", "io", "shared", "maywrite", "uc")
SWEEP_FAULTS = (Fault(0x4000_0000, "r"), Fault(0x4010_0000, "w"), Fault(0x4020_0000, "x"))


def outcome_class(sc: Scenario) -> Scenario:
    """A representative scenario with the same outcomes (not the same mappings)."""
    return replace(sc, vma=_class_vma(sc.vma), mt="nc" if sc.mt in NON_CACHEABLE else sc.mt, gs1=_class_gs1(sc),
                   remap=_class_remap(sc))


def _class_gs1(sc: Scenario):
    """The guest's stage-1 type matters to outcomes only for accesses that fault on Device memory."""
    if any(access.needs_normal(f.instruction, f.unaligned) for f in sc.faults):
        return sc.gs1
    return "wb"


def _class_remap(sc: Scenario) -> bool:
    return sc.remap and ("pfnmap" in sc.vma or "mte" in sc.vm)


def _class_vma(vma: frozenset) -> frozenset:
    vma = vma - {"uc"}
    if "maywrite" not in vma:
        vma -= {"shared"}
    if "pfnmap" in vma:
        vma -= {"io"}
    return vma


def _class_key(sc: Scenario) -> tuple:
    """outcome_class(sc) as a cheap tuple (the memo key)."""
    return (_class_vma(sc.vma), sc.mt in NON_CACHEABLE or sc.mt, sc.mem, sc.host, sc.vm, sc.slot, sc.g,
            sc.ipa, sc.pg, _class_remap(sc), _class_gs1(sc), sc.faults, sc.events, sc.v1, sc.slots)


def outcomes(mid: str, sc: Scenario) -> tuple:
    """(memslot result, ((outcome, errno, inject), ...)) for one model; with host events, also
    ((result, changes), ...) for them."""
    tr = simulate(mid, sc, trace=False)
    out = tr.memslot.result, tuple((f.outcome, f.errno, f.inject) for f in tr.faults)
    if tr.events:
        out += (tuple((e.result, e.changes) for e in tr.events),)
    return out


def space(faults=SWEEP_FAULTS):
    """The default sweep: every VMA flag set over SWEEP_VMA_FLAGS (minus pfnmap+mixedmap), every
    pgprot type, backing, FWB/DIC combination, memslot flag set and remap, a guest with its MMU
    on (Write-Back) or off, and three faults (read, write, exec on fresh pages)."""
    vmas = [frozenset(c) for n in range(len(SWEEP_VMA_FLAGS) + 1)
            for c in itertools.combinations(SWEEP_VMA_FLAGS, n) if not {"pfnmap", "mixedmap"} <= set(c)]
    hosts = [frozenset(h) for h in ((), ("fwb",), ("dic",), ("fwb", "dic"))]
    slots = [frozenset(s) for s in ((), ("log",), ("ro",), ("log", "ro"))]
    for vma, mt, mem, host, slot, remap, gs1 in itertools.product(
            vmas, ("normal", "tagged", "nc", "ngnrne", "ngnre"), ("ram", "dev", "zdev"), hosts, slots,
            (False, True), ("wb", "off")):
        if mt == "tagged":
            host = host | {"mte"}
        yield Scenario(vma=vma, mt=mt, mem=mem, host=host, slot=slot, remap=remap, gs1=gs1, faults=faults)


def sweep(models=KERNELS, scenarios=None) -> dict:
    """Outcomes for every (model, scenario): {(model, scenario): outcomes}."""
    memo: dict = {}
    out = {}
    for sc in scenarios if scenarios is not None else space():
        key = _class_key(sc)
        known = memo.get(key)
        if known is None:
            rep = outcome_class(sc)
            known = memo[key] = {mid: outcomes(mid, rep) for mid in models}
        for mid in models:
            out[(mid, sc)] = known[mid]
    return out
