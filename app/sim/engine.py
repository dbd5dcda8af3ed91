"""simulate(): run one scenario through one kernel model and return its trace."""
from __future__ import annotations

from . import host
from .hw import access, memattr
from .hw import esr as esr_mod
from .hw.pgtable import (
    KVM_PTE_LEAF_ATTR_LO_S2_AF,
    Geometry,
    Prot,
    geometry,
    permits,
    pte_kind,
    pte_memattr,
)
from .hw.stage2 import Stage2, Walk
from .kernel import scatter
from .kernel.catalogue import MODELS
from .kernel.kvm import KvmArm64
from .kernel.types import Abort
from .scenario import INSTRUCTION_MODS, Fault, Scenario, in_memslot
from .sources import source_for
from .steps import MEMTYPE_STEPS, PLUMBING
from .steps.facts import StateContext
from .trace import NO_CMO, FaultResult, Phase, Recorder, SlotAnswer, Trace, leaf_of

_INSTANCES = {mid: cls(source_for) for mid, cls in MODELS.items()}


def model(mid: str) -> KvmArm64:
    return _INSTANCES[mid]


def needed_permission(f: Fault) -> str:
    """What stage 2 must allow for the access: r, w, rw or x (a stage-1 walk reads, or writes to
    update the guest's descriptors; DC IVAC-like maintenance needs write; an atomic both)."""
    if "ptw" in f.mods:
        return "w" if f.kind == "w" else "r"
    if f.instruction == "lse":
        return "rw"
    return f.kind


def probe(s2: Stage2, f: Fault, ctx: StateContext) -> tuple[str | None, int, int | None]:
    """What the hardware reports for the access on the table as it is: (fsc, level, leaf pte).
    fsc None: no stage-2 fault; "guest_alignment": the guest's own stage 1 faults first (EL1).
    Inside stage 2 the order is the architecture's: walk faults (translation, access flag), then
    alignment, then permission."""
    sc = ctx.sc
    if f.kind != "x" and access.stage1_alignment_fault(f.instruction, f.unaligned,
                                                       memattr.guest_s1_type(sc.gs1, False)):
        return "guest_alignment", 0, None
    if f.ipa >= 1 << s2.geo.ipa_bits:
        return "translation", 0, None
    pte, level = s2.lookup(f.ipa)
    if pte is None:
        return "translation", level, None
    if "af" in f.mods:
        s2.mkold(f.ipa)
        return "access_flag", level, pte
    if not pte & KVM_PTE_LEAF_ATTR_LO_S2_AF and not sc.host_ha:
        return "access_flag", level, pte          # aged by the host, and no hardware AF update
    if access.needs_normal(f.instruction, f.unaligned) and pte_kind(pte, ctx.has_fwb) == memattr.S2_DEVICE:
        return "alignment", level, pte
    if not permits(pte, needed_permission(f)):
        return "permission", level, pte
    if "atomic" in f.mods:
        return "excl_atomic", level, pte
    if not pte & KVM_PTE_LEAF_ATTR_LO_S2_AF:
        # VTCR_EL2.HA on a CPU with FEAT_HAFDBS: the walker sets AF itself (on an access that faults
        # anyway it is CONSTRAINED UNPREDICTABLE whether it does; the model leaves AF clear then).
        pte |= KVM_PTE_LEAF_ATTR_LO_S2_AF
        s2.set_leaf(f.ipa, level, pte)
        return "hw_af", level, pte
    return None, level, pte


def make_abort(f: Fault, fsc: str, level: int, pte: int | None = None) -> Abort:
    """ESR_EL2 as the CPU reports it for this instruction: ISV only for a single-register load or
    store without writeback; WnR from the access (DC ZVA writes; an atomic's translation fault
    reports its read, its permission fault the right that is missing)."""
    is_iabt = f.kind == "x"
    s1ptw, cm = "ptw" in f.mods, "cm" in f.mods
    isv = not (is_iabt or s1ptw or cm or {"noisv", "atomic"} & f.mods or f.instruction in INSTRUCTION_MODS)
    if f.instruction == "lse":
        wnr = fsc == "permission" and pte is not None and permits(pte, "r")
    else:
        wnr = f.kind == "w" or cm or f.instruction == "zva"
    value = esr_mod.encode(is_iabt=is_iabt, fsc=esr_mod.fsc_code(fsc, level), isv=isv, wnr=wnr,
                           cm=cm, s1ptw=s1ptw)
    return Abort(f, fsc, level, is_iabt, s1ptw, cm, isv, wnr, value)


def simulate(mid: str, sc: Scenario, trace: bool = True) -> Trace:
    """Register the memslots, query capability 243, then fire the faults in order on one table, with
    the host events between them changing that table and what the later faults find."""
    m = model(mid)
    geo = geometry(sc.page_shift, sc.ipa, sc.host_lpa2)
    ctx = StateContext(sc, geo, m.has_fwb(sc))
    t = Recorder(m, ctx) if trace else None
    reg, answers = register(m, sc, t)
    memslot = Phase(reg, *t.freeze()) if t else Phase(reg, ())
    t = Recorder(m, ctx) if trace else None
    cap = m.check_extension(sc, t)
    capability = Phase(str(cap), *t.freeze()) if t else Phase(str(cap), ())
    s2 = Stage2(geo)
    faults: list[FaultResult] = []
    events: list = []
    items: list[tuple[str, int]] = []
    now = ctx
    for kind, item in sc.items():
        if kind == "fault":
            items.append(("fault", len(faults)))
            at = now.sc.at(item.ipa)
            fr = fire(m, StateContext(at, geo, ctx.has_fwb) if at is not now.sc else now, item, s2, trace) \
                if reg == "ok" else _not_run(item)
            faults.append(fr._replace(slot=_slot_number(now.sc, item.ipa)))
            continue
        items.append(("event", len(events)))
        if reg != "ok":
            events.append(host.not_run(item, len(items) - 1, len(faults), host.slot_of(sc, item)))
            continue
        ev, after = host.run_event(m, now, item, s2, trace, len(items) - 1, len(faults))
        events.append(ev)
        if after is not now.sc:
            now = StateContext(after, geo, ctx.has_fwb)
    leaves = tuple(leaf_of(ipa, level, pte, ctx.has_fwb, sc.page_shift) for ipa, level, pte in s2.leaves()) \
        if trace else ()
    return Trace(mid, memslot, capability, cap, tuple(faults), leaves, _geometry(geo), host_s1(sc),
                 tuple(events), tuple(items), answers, sc.layout)


def register(m: KvmArm64, sc: Scenario, t: Recorder | None) -> tuple[str, tuple[SlotAnswer, ...]]:
    """KVM_SET_USER_MEMORY_REGION for every memslot, in the VMM's order, each walking its own VMAs;
    QEMU aborts at the first refusal, so the slots after it are never registered. Returns the
    registration as a whole (ok, or the first refusal) and each slot's answer."""
    reg, answers = "ok", []
    for i in range(len(sc.layout.slots) if sc.has_layout else 1):
        first = len(t.steps) if t else 0
        if reg != "ok":
            answers.append(SlotAnswer(i + 1, "not_run", first, first))
            continue
        view = sc.slot_view(i)
        if t:
            t.ctx = StateContext(view, t.ctx.geo, t.ctx.has_fwb)
        r = m.set_memory_region(view, t) if sc.has_layout else m.prepare_memory_region(sc, t)
        if t and r != "ok" and len(t.deltas) > first:
            t.deltas[-1]["verdict"] = {"memslot": r}
        answers.append(SlotAnswer(i + 1, r, first, len(t.steps) if t else first))
        reg = r
    return reg, tuple(answers)


def _slot_number(sc: Scenario, ipa: int) -> int | None:
    """The memslot (1-based) an IPA falls in, as registered (whether or not an event deleted it)."""
    if not sc.has_layout:
        return 1 if in_memslot(ipa) else None
    s = sc.layout.slot_at(ipa)
    return None if s is None else s.number


def fire(m: KvmArm64, ctx: StateContext, f: Fault, s2: Stage2, trace: bool) -> FaultResult:
    """One guest access: the CPU's walk, then KVM if it faults, then what the instruction does on
    what KVM left; the verdict lands on the step from which the outcome is settled."""
    sc = ctx.sc
    t = Recorder(m, ctx) if trace else None
    walk = (s2.walk(f.ipa) if f.ipa < 1 << s2.geo.ipa_bits else Walk((), None, 0)) if t else None
    fsc, level, pte = probe(s2, f, ctx)
    hw_af = fsc == "hw_af"
    if hw_af:
        fsc = None
    if t:
        t.step("hw.walk", "s1_alignment" if fsc == "guest_alignment" else "", ipa=f.ipa,
               walk=walk.levels if fsc != "guest_alignment" else (), level=level, access=f.access, fsc=fsc,
               pte=_aged(pte) if fsc == "access_flag" else pte, instruction=f.instruction, unaligned=f.unaligned,
               **({"hw_af": True} if hw_af else {}))
    if fsc in (None, "guest_alignment"):
        eff = effective(sc, f, pte, ctx.has_fwb) if t and pte is not None else None
        hazards = ()
        foreign = foreign_leaf(sc, pte, level, f.ipa, s2.geo)
        if foreign:
            hazards = ((foreign, 0),)
            if t:
                t.change(hazard=foreign)
        fr = FaultResult(f.ipa, f.access, f.mod_list, None, level, None, "no_fault", effective=eff,
                         walk=walk.to_json() if t and fsc is None else (), hazards=hazards)
        fr = fr._replace(guest_result=guest_result(t, ctx, f, fr, pte, level, "", None))
        return _settle(fr, t, decider=0, settles=0)
    ab = make_abort(f, fsc, level, pte)
    ex, st = m.handle_guest_abort(sc, ab, s2, t)
    after, after_level = s2.lookup(f.ipa)
    eff = effective(sc, f, after, ctx.has_fwb) if t and after is not None and \
        ex.outcome in ("map", "relax", "resume") else None
    if t and st.leaf is not None and eff is not None:
        t.step("hw.combine", s1=eff["s1"], attr=st.leaf.memattr, fwb=ctx.has_fwb, type=eff["type"],
               forced_by_fwb=eff["forced_by_fwb"])
    fr = FaultResult(f.ipa, f.access, f.mod_list, fsc, level, ab.esr, ex.outcome, ex.errno, ex.inject,
                     st.leaf, tuple(st.ops.cmo.items()) if st.ops else NO_CMO, eff,
                     walk.to_json() if t else (), decided=_decided(st) if t else (), hazards=tuple(st.hazards))
    fr = fr._replace(guest_result=guest_result(t, ctx, f, fr, after, after_level, st.result, st))
    if sc.host_ha and after is not None and not after & KVM_PTE_LEAF_ATTR_LO_S2_AF and \
            fr.guest_result["kind"] == "completes":
        # The guest retries the access on the leaf KVM left; with FEAT_HAFDBS and VTCR_EL2.HA the walk
        # sets the access flag. A relax keeps an aged leaf's AF clear (kvm_pgtable_stage2_relax_perms()
        # changes S2AP and XN only), so after an age event the retry is what makes the leaf young again.
        s2.set_leaf(f.ipa, after_level, after | KVM_PTE_LEAF_ATTR_LO_S2_AF)
    if not t:
        return fr
    decider = _decider(t, ex.outcome)
    settles = st.settled_at if ex.outcome in ("map", "relax") and st.settled_at is not None else decider
    return _settle(fr, t, decider, len(t.steps) - 1 if settles is None else settles)


def guest_result(t: Recorder | None, ctx: StateContext, f: Fault, fr: FaultResult, pte: int | None,
                 pte_level: int, result: str, st) -> dict:
    """What the guest's instruction then does, after KVM's answer (the guest.result step)."""
    out = fr.outcome
    values: dict = {"outcome": out, "instruction": f.instruction, "unaligned": f.unaligned, "access": f.access}
    if fr.fsc is None and fr.outcome == "no_fault" and pte is None:
        kind, el, why = "alignment_fault", 1, "s1_device_first"
    elif out == "run_error":
        kind, el, why = "vm_stopped", None, "run_error"
        values["errno"] = fr.errno
    elif out == "inject":
        kind, el, why = "abort", 1, "inject_" + fr.inject
    elif out == "exit_mmio":
        kind, el, why = "emulated", None, "mmio"
    elif out == "exit_nisv":
        kind, el, why = "abort", 1, "nisv"
    elif out == "resume" and result not in ("young", "same"):
        kind, el, why = "skipped", None, "cm_skipped"
    elif out == "resume" and st is not None and any(hz[0].endswith("livelock") for hz in st.hazards):
        kind, el, why = "livelock", None, "livelock"
    elif result == "young" and pte is not None and not permits(pte, needed_permission(f)):
        kind, el, why = "faults_again", None, "af_then_perm"
    elif pte is None:
        kind, el, why = "faults_again", None, "no_leaf"
    else:
        s1 = memattr.guest_s1_type(ctx.sc.gs1, f.kind == "x" and "ptw" not in f.mods)
        typ = memattr.effective_type(s1, pte_memattr(pte), ctx.has_fwb)[0]
        r = access.instruction_result(f.instruction, f.unaligned, s1, pte_kind(pte, ctx.has_fwb), typ)
        kind, el, why = r.kind, r.el, r.why
        values |= {"s1": s1, "s2": pte_kind(pte, ctx.has_fwb), "type": typ}
        page = ctx.sc.page_size
        foreign = foreign_leaf(ctx.sc, pte, pte_level, f.ipa, ctx.geo) if kind == "completes" and f.kind != "x" \
            else None
        if foreign:
            why = "foreign_page" if foreign == "udmabuf_foreign_access" else "foreign_vma"
            values |= {"got": leaf_pa(pte, pte_level, f.ipa, ctx.geo, page), "expect": expected_pa(ctx.sc, f.ipa)}
    if t:
        t.step("guest.result", why, kind=kind, el=el, **values)
    return {"kind": kind, "el": el, "why": why}


def _decider(t: Recorder, outcome: str) -> int | None:
    """The step that decided the outcome: the memory type's step for a mapping, else the last
    step that decides something before the plumbing that returns."""
    ids = [s.id for s in t.steps]
    if outcome in ("map", "relax"):
        at = next((i for i, sid in enumerate(ids) if sid in MEMTYPE_STEPS), None)
        if at is not None:
            return at
    return next((i for i in range(len(ids) - 1, -1, -1) if ids[i] not in PLUMBING), None)


def _settle(fr: FaultResult, t: Recorder | None, decider: int | None, settles: int) -> FaultResult:
    """The fault's verdict, and for a mapping the guest's memory type, from the settling step on."""
    if not t:
        return fr
    steps, deltas = t.freeze()
    deltas = [dict(d) for d in deltas]
    if fr.effective and fr.outcome in ("no_fault", "map", "relax"):
        deltas[settles]["memtype"] = {**deltas[settles].get("memtype", {}), "effective": fr.effective["type"],
                                      "guest_s1": fr.effective["s1"], "forced_by_fwb": fr.effective["forced_by_fwb"]}
    deltas[settles]["verdict"] = {"outcome": fr.outcome, "errno": fr.errno, "inject": fr.inject}
    return fr._replace(steps=steps, states=tuple(deltas), decider=decider, settles=settles)


def expected_pa(sc: Scenario, ipa: int) -> int:
    """The host PA of the page the VMA at ipa maps there (a udmabuf's own page for `mem=sg`)."""
    page = sc.page_size
    if sc.mem == "sg":
        return scatter.page_pa(ipa & ~(page - 1), page)
    return sc.pa_of(ipa & ~(page - 1))


def foreign_leaf(sc: Scenario, pte: int | None, level: int, ipa: int, geo: Geometry) -> str | None:
    """The hazard of an access that needs no fault because a leaf maps ipa to a host page that is not
    the one the VMA there maps: a udmabuf's over-sized block, or (in a layout) a VM_PFNMAP block that
    reached past its VMA over another one. None when the leaf maps the right page."""
    if pte is None or not (sc.mem == "sg" or sc.has_layout):
        return None
    if leaf_pa(pte, level, ipa, geo, sc.page_size) == expected_pa(sc, ipa):
        return None
    return "udmabuf_foreign_access" if sc.mem == "sg" else "pfnmap_block_foreign_access"


def leaf_pa(pte: int, level: int, ipa: int, geo: Geometry, page: int) -> int:
    """The host PA of the page of `ipa` that a leaf at `level` maps it to."""
    size = geo.granule_size(level)
    return (pte & geo.addr_mask()) + (ipa & (size - 1) & ~(page - 1))


def _aged(pte: int | None) -> int | None:
    """The leaf as kvm_age_gfn() left it: AF clear."""
    return None if pte is None else pte & ~KVM_PTE_LEAF_ATTR_LO_S2_AF


def _not_run(f: Fault) -> FaultResult:
    return FaultResult(f.ipa, f.access, f.mod_list, None, 0, None, "not_run",
                       guest_result={"kind": "not_run", "el": None, "why": "not_run"})


def effective(sc: Scenario, f: Fault, pte: int, has_fwb: bool) -> dict:
    """The guest access's final memory type, stage 1 and stage 2 combined."""
    s1 = memattr.guest_s1_type(sc.gs1, f.kind == "x" and "ptw" not in f.mods)
    typ, forced = memattr.effective_type(s1, pte_memattr(pte), has_fwb)
    return {"type": typ, "forced_by_fwb": forced, "s1": s1}


def _decided(st) -> tuple:
    return (("write_fault", st.write_fault), ("exec_fault", st.exec_fault), ("writable", st.writable),
            ("device", st.device), ("cacheable_devmem", st.cacheable_devmem),
            ("is_vma_cacheable", st.is_vma_cacheable), ("prot", Prot.describe(st.prot)),
            ("vma_pagesize", st.vma_pagesize))


def _geometry(geo: Geometry) -> dict:
    return {"page_shift": geo.page_shift, "ipa_bits": geo.ipa_bits, "levels": geo.levels,
            "start_level": geo.start_level, "concatenated_tables": geo.concatenated_tables,
            "lpa2": geo.lpa2}


def host_s1(sc: Scenario) -> dict:
    """The VMA's stage-1 type: AttrIndx, its name and the MAIR_EL1 byte (tagged Normal is 0xf0 with MTE)."""
    idx = memattr.ATTRINDX[sc.mt]
    mair = memattr.MAIR_ATTR[idx]
    if idx == memattr.MT_NORMAL_TAGGED and "mte" in sc.host:
        mair = 0xF0
    return {"attrindx": idx, "name": memattr.ATTRINDX_NAME[idx], "mair": mair}


__all__ = ["simulate", "model"]
