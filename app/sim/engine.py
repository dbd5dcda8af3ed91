"""simulate(): run one scenario through one kernel model and return its trace."""
from __future__ import annotations

from . import esr as esr_mod
from . import memattr, timeline
from .mmu import Abort, Exit, KvmArm64
from .models import MODELS
from .pgtable import KVM_PTE_LEAF_ATTR_LO_S2_AF, Geometry, Prot, Stage2, Walk, geometry, permits
from .scenario import Fault, Scenario
from .sources import source_for
from .trace import NO_CMO, FaultResult, Phase, Trace, Tracer

_INSTANCES = {mid: cls(source_for) for mid, cls in MODELS.items()}


def model(mid: str) -> KvmArm64:
    return _INSTANCES[mid]


def needed_permission(f: Fault) -> str:
    """What stage 2 must allow for the access: r, w or x (a stage-1 walk reads, or writes to
    update the guest's descriptors; DC IVAC-like maintenance needs write, the rest read)."""
    if "ptw" in f.mods:
        return "w" if f.kind == "w" else "r"
    return f.kind


def probe(s2: Stage2, f: Fault) -> tuple[str | None, int, int | None]:
    """What the hardware reports for the access on the table as it is: (fsc, level, leaf pte).
    fsc None: the access does not fault."""
    if f.ipa >= 1 << s2.geo.ipa_bits:
        return "translation", 0, None
    pte, level = s2.lookup(f.ipa)
    if pte is None:
        return "translation", level, None
    if "af" in f.mods:
        s2.mkold(f.ipa)
        return "access_flag", level, pte
    if not permits(pte, needed_permission(f)):
        return "permission", level, pte
    if "atomic" in f.mods:
        return "excl_atomic", level, pte
    return None, level, pte


def make_abort(f: Fault, fsc: str, level: int) -> Abort:
    is_iabt = f.kind == "x"
    s1ptw, cm = "ptw" in f.mods, "cm" in f.mods
    isv = not (is_iabt or s1ptw or cm or {"noisv", "atomic"} & f.mods)
    wnr = f.kind == "w" or cm
    value = esr_mod.encode(is_iabt=is_iabt, fsc=esr_mod.fsc_code(fsc, level), isv=isv, wnr=wnr,
                           cm=cm, s1ptw=s1ptw)
    return Abort(f, fsc, level, is_iabt, s1ptw, cm, isv, wnr, value)


def simulate(mid: str, sc: Scenario, trace: bool = True) -> Trace:
    """Register the memslot, query capability 243, then fire the faults in order on one table."""
    m = model(mid)
    geo = geometry(sc.page_size.bit_length() - 1, sc.ipa, sc.host_lpa2)
    t = Tracer(m) if trace else None
    reg = m.prepare_memory_region(sc, t)
    memslot = Phase(reg, t.freeze() if t else (),
                    timeline.memslot_deltas(sc, tuple(t.steps), reg) if t else ())
    t = Tracer(m) if trace else None
    cap = m.check_extension(sc, t)
    capability = Phase(str(cap), t.freeze() if t else ())
    s2 = Stage2(geo)
    faults = tuple(_fire(m, sc, f, s2, trace) if reg == "ok" else _not_run(f) for f in sc.faults)
    leaves = tuple(_leaf_of(ipa, level, pte, m, sc) for ipa, level, pte in s2.leaves()) if trace else ()
    return Trace(mid, memslot, capability, cap, faults, leaves, _geometry(geo),
                 _host_s1(sc))


def _fire(m: KvmArm64, sc: Scenario, f: Fault, s2: Stage2, trace: bool) -> FaultResult:
    t = Tracer(m) if trace else None
    in_range = f.ipa < 1 << s2.geo.ipa_bits
    # The record of the walk, taken before the fault changes the table.
    walk = (s2.walk(f.ipa) if in_range else Walk((), None, 0)) if t else None
    fsc, level, pte = probe(s2, f)
    if t:
        _explain_walk(t, f, fsc, level, walk)
    facts = timeline.FaultFacts(sc, (s2.geo.page_shift, s2.geo.ipa_bits), m.has_fwb(sc),
                                walk.levels if t else (), _aged(pte) if fsc == "access_flag" else pte,
                                host_s1=_host_s1_text(sc)) if t else None
    if fsc is None:
        eff = _effective(sc, f, pte, m.has_fwb(sc)) if t else None
        fr = FaultResult(f.ipa, f.access, _mods(f), None, level, None, "no_fault", effective=eff,
                         walk=walk.to_json() if t else (), steps=t.freeze() if t else ())
        return fr._replace(states=timeline.fault_deltas(fr, facts)) if t else fr
    ab = make_abort(f, fsc, level)
    ex, st = m.handle_guest_abort(sc, ab, s2, t)
    after = s2.lookup(f.ipa)[0] if t else None
    leaf = st.leaf
    eff = None
    if t and ex.outcome in ("map", "relax", "resume") and after is not None:
        eff = _effective(sc, f, after, m.has_fwb(sc))
    cmo = tuple(st.ops.cmo.items()) if st.ops else NO_CMO
    if leaf is not None and eff is not None and t:
        _explain_effective(t, sc, f, leaf.memattr, m.has_fwb(sc), eff)
    fr = FaultResult(f.ipa, f.access, _mods(f), fsc, level, ab.esr, ex.outcome, ex.errno, ex.inject,
                     leaf, cmo, eff, walk.to_json() if t else (), t.freeze() if t else (),
                     _decided(st) if t else ())
    if not t:
        return fr
    facts.pte_after, facts.state = after, st
    return fr._replace(states=timeline.fault_deltas(fr, facts))


def _aged(pte: int | None) -> int | None:
    """The leaf as kvm_age_gfn() left it: AF clear."""
    return None if pte is None else pte & ~KVM_PTE_LEAF_ATTR_LO_S2_AF


def _explain_walk(t: Tracer, f: Fault, fsc, level: int, walk) -> None:
    path = " -> ".join(f"L{w.level}[{w.index:#x}] {w.found}" for w in walk.levels)
    if not walk.levels:
        path = "the IPA is above the input size VTCR_EL2.T0SZ allows"
    if fsc is None:
        verdict = f"the leaf allows this {f.access}: no stage-2 fault, the guest never leaves"
    elif fsc == "translation":
        verdict = f"no valid leaf: translation fault at level {level}"
    elif fsc == "permission":
        verdict = f"the level-{level} leaf lacks the permission: permission fault at level {level}"
    elif fsc == "access_flag":
        verdict = f"the level-{level} leaf was aged (AF clear): access flag fault"
    else:
        verdict = "the memory type cannot do this exclusive/atomic access: FSC 0x35"
    if t:
        t.step("hw.walk", "The CPU walks stage 2 for {ipa:#x}: {path}; {verdict}.", "", ipa=f.ipa, path=path,
               verdict=verdict)


def _not_run(f: Fault) -> FaultResult:
    return FaultResult(f.ipa, f.access, _mods(f), None, 0, None, "not_run")


def _mods(f: Fault) -> tuple[str, ...]:
    return f.mod_list


def _effective(sc: Scenario, f: Fault, pte: int, has_fwb: bool) -> dict:
    from .pgtable import pte_memattr
    s1 = memattr.guest_s1_type(sc.gs1, f.kind == "x" and "ptw" not in f.mods)
    typ, forced = memattr.effective_type(s1, pte_memattr(pte), has_fwb)
    return {"type": typ, "forced_by_fwb": forced, "s1": s1}


def _explain_effective(t: Tracer, sc, f, attr: int, has_fwb: bool, eff: dict) -> None:
    rule = ("FWB: stage 2 decides (0b110 forces Write-Back, 0b101 Non-cacheable unless stage 1 is "
            "Device, Device takes the stronger Device)" if has_fwb else
            "no FWB: the more restrictive of stage 1 and stage 2 wins")
    if t:
        t.step("hw.combine", "The guest's stage-1 type {s1} meets stage-2 MemAttr {attr:#x} "
               "({name}): {rule}. The access is {typ}{forced}.", "",
               s1=eff["s1"], attr=attr, name=memattr.s2_memattr_name(attr, has_fwb), rule=rule,
               typ=eff["type"], forced=" (forced by FWB)" if eff["forced_by_fwb"] else "")


def _decided(st) -> tuple:
    return (("write_fault", st.write_fault), ("exec_fault", st.exec_fault), ("writable", st.writable),
            ("device", st.device), ("cacheable_devmem", st.cacheable_devmem),
            ("is_vma_cacheable", st.is_vma_cacheable), ("prot", Prot.describe(st.prot)),
            ("vma_pagesize", st.vma_pagesize))


def _leaf_of(ipa, level, pte, m, sc):
    from .mmu import _leaf
    return _leaf(ipa, level, pte, m.has_fwb(sc), sc)


def _geometry(geo: Geometry) -> dict:
    return {"page_shift": geo.page_shift, "ipa_bits": geo.ipa_bits, "levels": geo.levels,
            "start_level": geo.start_level, "concatenated_tables": geo.concatenated_tables,
            "lpa2": geo.lpa2}


def _host_s1_text(sc: Scenario) -> str:
    h = _host_s1(sc)
    return f"{h['name']} (MAIR {h['mair']:#04x})"


def _host_s1(sc: Scenario) -> dict:
    idx = memattr.ATTRINDX[sc.mt]
    mair = memattr.MAIR_ATTR[idx]
    if idx == memattr.MT_NORMAL_TAGGED and "mte" in sc.host:
        mair = 0xF0
    return {"attrindx": idx, "name": memattr.ATTRINDX_NAME[idx], "mair": mair}


__all__ = ["simulate", "model", "Exit"]
