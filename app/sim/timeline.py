"""The picture at every step: what each step changes in the world the page draws.

A step says what KVM decided; its state delta says what that decision changed:
- `on`: the part of the translation path the step works on (PATH);
- `know`: path values that become known (the HVA, the VMA's flags, the PFN, ...);
- `walk`: the stage-2 walk the CPU made, level by level (at the walk step);
- `table`: stage-2 entries that change (a table linked, a leaf written, broken, relaxed, aged);
- `desc`: fields of the leaf descriptor as they are decided (OA after the PFN lookup, MemAttr
  after the classification, S2AP/XN after prot, SH/AF when the attributes are made, Type/Valid
  when the descriptor is built);
- `memtype`: the host's stage-1 type, the stage-2 type, the guest's effective type;
- `cmo`: cache maintenance at the step that requests it (done or skipped);
- `verdict`: the fault's outcome, only from the step that settles it.

`fault_deltas()` builds the sparse deltas as the trace is made; `snapshot()` folds them up to
any step. Both are pure; nothing here decides anything the models do not.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import memattr
from .pgtable import (
    KVM_PTE_LEAF_ATTR_HI_S2_XN,
    KVM_PTE_LEAF_ATTR_LO_S2_AF,
    KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R,
    KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W,
    Prot,
    geometry,
    pte_kind,
    pte_memattr,
)
from .scenario import MEMSLOT_GPA, MEMSLOT_HVA, Scenario
from .trace import FaultResult, Step, Trace, decisive_step
from .units import size_text

# The translation path, in the order an access travels it.
PATH = ("va", "ipa", "memslot", "hva", "vma", "pfn", "pa", "s2")
PATH_LABEL = {"va": "guest VA", "ipa": "IPA", "memslot": "memslot", "hva": "HVA", "vma": "VMA",
              "pfn": "PFN", "pa": "PA", "s2": "S2 descriptor"}

# Which part of the path each step works on.
WORKS_ON = {
    "prepare.entry": "memslot", "prepare.vma_loop": "vma", "prepare.mte": "vma", "prepare.pfnmap_log": "vma",
    "prepare.pfnmap_cacheable": "vma",
    "hw.walk": "s2", "abort.entry": "ipa", "abort.ipa_range": "ipa", "abort.fsc": "ipa",
    "abort.memslot": "memslot", "abort.noslot_iabt": "memslot", "abort.noslot_s1ptw": "memslot",
    "abort.noslot_cm": "memslot", "abort.noslot_mmio": "memslot", "io_mem_abort.nisv": "memslot",
    "io_mem_abort.mmio": "memslot", "abort.access_flag": "s2", "handle_access_fault": "s2",
    "uma.entry": "memslot", "uma.vma_lookup": "vma", "uma.vma_size": "vma", "uma.snapshot": "vma",
    "uma.v3_cow": "vma", "uma.faultin": "pfn", "uma.classify": "pfn", "uma.noexec": "s2",
    "uma.lock_retry": "s2", "uma.thp": "s2", "thp_adjust": "s2", "uma.mte": "pfn", "uma.prot": "s2",
    "uma.v3_fwb": "s2", "uma.excl_atomic": "s2", "pgt.set_prot_attr": "s2", "uma.map": "s2",
    "pgt.stage2_map": "s2", "pgt.walk_leaf": "s2", "pgt.try_leaf": "s2", "pgt.init_leaf": "s2",
    "pgt.relax_perms": "s2", "clean_dcache": "pa", "inval_icache": "pa", "uma.out": "s2",
    "abort.uma_call": "ipa", "hw.combine": "va",
    "abort.dispatch": "memslot", "gmem.entry": "memslot", "gmem.get_pfn": "pfn", "gmem.prot": "s2",
    "gmem.lock_retry": "s2", "gmem.map": "s2", "gmem.out": "s2",
}

MEMTYPE_WORDS = {"normal": "Normal", "normal_nc": "Normal Non-cacheable", "device_nGnRE": "Device-nGnRE",
                 "normal_wb": "Normal Write-Back", "normal_wt": "Normal Write-Through",
                 "device_nGnRnE": "Device-nGnRnE", "device_nGRE": "Device-nGRE", "device_GRE": "Device-GRE"}


def s2ap(pte: int) -> str:
    return (("R" if pte & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R else "-")
            + ("W" if pte & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W else "-"))


def desc_fields(pte: int, geo) -> dict:
    """Every field of a written descriptor, as the page names them."""
    return {"OA": f"{pte & geo.addr_mask():#x}", "MemAttr": pte_memattr(pte), "S2AP": s2ap(pte),
            "XN": int(bool(pte & KVM_PTE_LEAF_ATTR_HI_S2_XN)),
            "SH": "omitted" if geo.lpa2 else f"{(pte >> 8) & 3:#04b}",
            "AF": int(bool(pte & KVM_PTE_LEAF_ATTR_LO_S2_AF)), "Type": (pte >> 1) & 1, "Valid": pte & 1,
            "pte": f"{pte:#018x}"}


# ---- building: one delta per step ------------------------------------------------------------

def memslot_deltas(sc: Scenario, steps: tuple[Step, ...], result: str) -> tuple:
    out: list[dict] = []
    for i, s in enumerate(steps):
        d: dict = {"on": WORKS_ON.get(s.id, "memslot")}
        if s.id == "prepare.entry":
            d["know"] = {"memslot": f"{MEMSLOT_GPA:#x} +1G"}
        elif s.id == "prepare.vma_loop":
            d["know"] = {"hva": f"{MEMSLOT_HVA:#x}"}
        if result != "ok" and i == len(steps) - 1:
            d["verdict"] = {"memslot": result}
        out.append(d)
    return tuple(out)


@dataclass
class FaultFacts:
    """What the engine knows of one fault once it has run, for the deltas."""

    sc: Scenario
    geo_key: tuple[int, int]
    has_fwb: bool
    walk_levels: tuple = ()          # pgtable.WalkLevel of the walk before the fault
    pte_before: int | None = None    # the leaf the walk found (after aging, for an access-flag fault)
    pte_after: int | None = None     # the leaf after the fault
    state: object = None             # mmu.FaultState, or None if the fault never reached KVM
    host_s1: str = ""


def fault_deltas(fr: FaultResult, facts: FaultFacts) -> tuple:
    """One delta per step of a fault (see the module docstring)."""
    steps = fr.steps
    deltas: list[dict] = [{"on": WORKS_ON.get(s.id, "s2")} for s in steps]
    if not steps:
        return ()
    geo = geometry(*facts.geo_key)
    st = facts.state
    decisive = decisive_step(fr)
    reveal = _reveal_index(fr, facts, decisive)
    for i, s in enumerate(steps):
        d = deltas[i]
        sid = s.id
        if sid == "hw.walk":
            d["know"] = {"ipa": f"{fr.ipa:#x}"}
            d["walk"] = [{"level": w.level, "index": w.index, "found": w.found} for w in facts.walk_levels]
            if facts.pte_before is not None and facts.walk_levels:
                last = facts.walk_levels[-1]
                d["desc"] = desc_fields(facts.pte_before, geo) | {"existing": True}
                d["memtype"] = {"s2": _kind_text(facts.pte_before, facts.has_fwb)}
                if fr.fsc == "access_flag":
                    d["table"] = [{"level": last.level, "ipa": f"{fr.ipa:#x}", "state": "aged",
                                   "pte": f"{facts.pte_before:#018x}"}]
        elif sid == "abort.memslot":
            know = {"memslot": "none", "hva": "none (error HVA)"}
            writable = dict(s.vars).get("slot_writable")
            if writable is not None:
                know = {"memslot": f"{MEMSLOT_GPA:#x} +1G" + ("" if writable else " (read-only)"),
                        "hva": f"{MEMSLOT_HVA + fr.ipa - MEMSLOT_GPA:#x}"}
            d["know"] = know
        elif sid == "uma.vma_lookup":
            d["know"] = {"vma": _vma_text(facts.sc)}
        elif sid == "uma.snapshot":
            d["memtype"] = {"host_s1": facts.host_s1}
        elif sid in ("uma.faultin", "gmem.get_pfn") and st is not None and st.pfn is not None:
            d["know"] = {"pfn": f"{st.pfn:#x}", "pa": f"{st.pa:#x}"}
            d["desc"] = {"OA": f"{st.pa:#x}"}
        elif sid == "uma.classify" and st is not None and not (s is decisive and fr.outcome == "run_error"):
            kind = _kind_of(st)
            d["desc"] = {"MemAttr": memattr.s2_memattr(kind, facts.has_fwb)}
            d["memtype"] = {"s2": MEMTYPE_WORDS[kind]}
        elif sid == "thp_adjust" and st is not None and dict(s.vars).get("vma_pagesize"):
            d["desc"] = {"OA": f"{st.pa:#x}", "size": size_text(st.vma_pagesize)}
        elif sid == "gmem.prot" and st is not None and st.prot:
            d["desc"] = {"MemAttr": memattr.s2_memattr(memattr.S2_NORMAL, facts.has_fwb),
                         "prot": Prot.describe(st.prot)}
            if fr.outcome != "relax":
                d["desc"] |= {"S2AP": "RW", "XN": 0 if st.prot & Prot.X else 1}
            d["memtype"] = {"s2": MEMTYPE_WORDS[memattr.S2_NORMAL]}
        elif sid == "uma.prot" and st is not None and st.prot:
            d["desc"] = {"prot": Prot.describe(st.prot)}
            if fr.outcome != "relax":
                d["desc"] |= {"S2AP": ("R" if st.prot & Prot.R else "-") + ("W" if st.prot & Prot.W else "-"),
                              "XN": 0 if st.prot & Prot.X else 1}
        elif sid == "pgt.set_prot_attr":
            d["desc"] = {"SH": "omitted" if geo.lpa2 else "0b11", "AF": 1}
        elif sid == "pgt.init_leaf":
            pte = dict(s.vars).get("pte")
            if pte is not None:
                d["desc"] = desc_fields(pte, geo)
        elif sid == "pgt.relax_perms" and facts.pte_after is not None:
            d["desc"] = desc_fields(facts.pte_after, geo)
            d["table"] = [{"level": fr.s2.level if fr.s2 else fr.level, "ipa": f"{fr.ipa:#x}", "state": "relaxed",
                           "pte": f"{facts.pte_after:#018x}"}]
        elif sid == "handle_access_fault" and facts.pte_after is not None:
            d["table"] = [{"level": fr.level, "ipa": f"{fr.ipa:#x}", "state": "young",
                           "pte": f"{facts.pte_after:#018x}"}]
            d["desc"] = desc_fields(facts.pte_after, geo) | {"existing": True}
        elif sid == "clean_dcache" or sid == "inval_icache":
            which = "dcache" if sid == "clean_dcache" else "icache"
            d["cmo"] = {which: dict(fr.cmo).get(which, "none")}
        elif sid == "hw.combine" and fr.effective:
            d["memtype"] = _effective(fr)
    if st is not None and st.ops is not None:
        for idx, kind, ipa, level, pte in st.ops.events:
            if 0 <= idx < len(deltas):
                entry = {"level": level, "ipa": f"{ipa:#x}", "state": kind}
                if pte:
                    entry["pte"] = f"{pte:#018x}"
                deltas[idx].setdefault("table", []).append(entry)
    if reveal is not None and fr.effective and fr.outcome in ("no_fault", "map", "relax"):
        # The guest's type is known once the leaf exists (hw.combine then explains it).
        deltas[reveal]["memtype"] = {**deltas[reveal].get("memtype", {}), **_effective(fr)}
    if reveal is not None:
        deltas[reveal]["verdict"] = {"outcome": fr.outcome, "errno": fr.errno, "inject": fr.inject}
    return tuple(deltas)


def _effective(fr: FaultResult) -> dict:
    eff = fr.effective
    return {"effective": MEMTYPE_WORDS.get(eff["type"], eff["type"]),
            "guest_s1": MEMTYPE_WORDS.get(eff["s1"], eff["s1"]), "forced_by_fwb": eff["forced_by_fwb"]}


def _reveal_index(fr: FaultResult, facts: FaultFacts, decisive: Step | None) -> int | None:
    """The step from which the fault's outcome is settled: the leaf written or relaxed for a
    mapping, the walk for an access that does not fault, else the deciding step."""
    if fr.outcome == "no_fault":
        return 0
    if fr.outcome == "relax":
        return _index_of(fr.steps, "pgt.relax_perms")
    if fr.outcome == "map" and facts.state is not None and facts.state.ops is not None:
        writes = [idx for idx, kind, *_ in facts.state.ops.events if kind == "leaf"]
        if writes:
            return writes[0]
    if decisive is not None:
        for i, s in enumerate(fr.steps):
            if s is decisive:
                return i
    return len(fr.steps) - 1


def _index_of(steps, sid: str) -> int | None:
    return next((i for i, s in enumerate(steps) if s.id == sid), None)


def _kind_of(st) -> str:
    if st.device:
        return memattr.S2_NORMAL_NC if st.allow_any_uc else memattr.S2_DEVICE
    return memattr.S2_NORMAL


def _kind_text(pte: int, has_fwb: bool) -> str:
    return MEMTYPE_WORDS.get(pte_kind(pte, has_fwb), "other")


def _vma_text(sc: Scenario) -> str:
    names = {"pfnmap": "PFNMAP", "mixedmap": "MIXEDMAP", "io": "IO", "shared": "SHARED", "maywrite": "MAYWRITE",
             "uc": "ALLOW_ANY_UC", "mteok": "MTE_ALLOWED", "hugetlb": "HUGETLB"}
    return "|".join(v for k, v in names.items() if k in sc.vma) or "no flags"


# ---- reading: the state after step n -----------------------------------------------------------

@dataclass
class Entry:
    state: str                      # table | leaf | invalid | relaxed | young | aged
    pte: str = ""
    since: int = 0                  # the step that last changed it


@dataclass
class Snapshot:
    """Everything the page draws at step n (1-based, over the whole trace)."""

    n: int
    phase: str                      # memslot | cap | fault
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


def snapshot(tr: Trace, n: int) -> Snapshot:
    """Fold the deltas of steps 1..n. Panels that belong to one fault (path values, descriptor,
    memory types, maintenance, verdict) start afresh with each fault; the table and what the
    memslot phase learnt carry over."""
    geo = geometry(tr.geometry["page_shift"], tr.geometry["ipa_bits"])
    snap = Snapshot(n, "memslot", None)
    snap.tables[(geo.start_level, 0)] = {}
    k = 0
    phases = [("memslot", None, tr.memslot.steps, tr.memslot.states),
              ("cap", None, tr.capability.steps, tr.capability.states)]
    phases += [("fault", i, f.steps, f.states) for i, f in enumerate(tr.faults)]
    slot_know: dict = {}
    for phase, fi, steps, states in phases:
        if k >= n:
            break
        if phase == "fault":
            if snap.fault is not None and snap.verdict is not None:
                snap.done.append(snap.verdict)
            snap.know, snap.desc, snap.memtype, snap.cmo = dict(slot_know), {}, {}, {}
            snap.walk, snap.verdict = [], None
        snap.phase, snap.fault = phase, fi
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
        level, ipa = e["level"], int(e["ipa"], 16)
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
            entries[idx] = Entry("invalid", "", k)
        else:
            entries[idx] = Entry("leaf" if state in ("leaf",) else state, e.get("pte", ""), k)
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
