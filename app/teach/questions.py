"""The questions a lesson or an exercise asks about a trace, one kind per point a lesson teaches.

A kind fixes its choices (letters A, B, ...), whether more than one may be right, and reads its
answer from the simulator's trace: the key is never written by hand. It also names the step that
decides it (where "see it" opens the trace) and explains the answer in a paragraph built from the
steps' own sentences. Pure: a trace in, words and letters out.

A question is about the last guest access of its scenario (or the memslot, when registration is
refused); "is this safe?" is about everything the scenario did to the host.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..present.presenters import MEMTYPE_NAMES, memslot_verdict, overall_verdict
from ..sim import hazards as hz
from ..sim.trace import FaultResult, Step, Trace
from ..sim.units import size_text


@dataclass(frozen=True)
class Kind:
    id: str
    point: str                        # what it tests, in a lesson's goal (see lessons.Lesson.goal)
    ask: str
    choices: dict[str, str]
    key: Callable[[Trace], str | None]        # the right letters, sorted; None: not askable here
    focus: Callable[[Trace], int | None]      # the 1-based step that decides it
    explain: Callable[[Trace], str]
    multi: bool = False

    def short(self, letter: str) -> str:
        return self.choices[letter].split(":")[0]


# ---- reading a trace --------------------------------------------------------------------------

def last(tr: Trace) -> FaultResult | None:
    """The access a question is about: the last fault, if the memslot was registered."""
    return tr.faults[-1] if tr.faults and tr.memslot.result == "ok" else None


def base(tr: Trace, i: int) -> int:
    """How many steps come before fault i on the page (events' steps are not counted)."""
    return len(tr.memslot.steps) + len(tr.capability.steps) + sum(len(f.steps) for f in tr.faults[:i])


def at(tr: Trace, step: int | None) -> int | None:
    """A step index of the last fault as the page's 1-based step number."""
    return None if step is None else base(tr, len(tr.faults) - 1) + step + 1


def decider(tr: Trace) -> int | None:
    """The step that decided the scenario's outcome (FaultResult.decider), or the memslot's refusal."""
    if tr.memslot.result != "ok":
        return len(tr.memslot.steps)
    f = last(tr)
    return at(tr, f.decider) if f else None


def _find(f: FaultResult, test: Callable[[Step], bool]) -> int | None:
    return next((i for i in range(len(f.steps) - 1, -1, -1) if test(f.steps[i])), None)


def _said(tr: Trace, step: int | None) -> str:
    """A step's own sentence, to quote in an explanation."""
    if step is None:
        return ""
    s = tr.all_steps()[step - 1][1]
    return f" {s.func}() (step {step}): {s.text}"


def _verdict(tr: Trace) -> str:
    v = overall_verdict(tr)
    return v.headline if v else "nothing happens"


# ---- the kinds ----------------------------------------------------------------------------------

OUTCOME = {
    "A": "Mapped at stage 2 as Normal (cacheable) memory",
    "B": "Mapped at stage 2 as Normal Non-cacheable memory",
    "C": "Mapped at stage 2 as Device memory",
    "D": "Refused at memslot registration: KVM_SET_USER_MEMORY_REGION fails",
    "E": "Refused at fault time: KVM_RUN fails with an error",
    "F": "At fault time KVM injects an abort into the guest",
    "G": "At fault time KVM_RUN exits to the VMM (MMIO or NISV exit)",
}


def outcome_key(tr: Trace) -> str | None:
    """The outcome letter: the memslot's refusal, else the last fault's."""
    if tr.memslot.result != "ok":
        return "D"
    f = tr.faults[-1] if tr.faults else None
    if f is None:
        return None
    if f.outcome in ("map", "relax") and f.s2:
        return {"normal": "A", "normal_nc": "B"}.get(f.s2.memtype, "C" if f.s2.memtype.startswith("device") else None)
    return {"run_error": "E", "inject": "F", "exit_mmio": "G", "exit_nisv": "G"}.get(f.outcome)


def _outcome_words(tr: Trace) -> str:
    if tr.memslot.result != "ok":
        v = memslot_verdict(tr)
        return f"{v.headline}, {v.where}: {v.check}.{_said(tr, decider(tr))}"
    return f"{_verdict(tr)}. It is decided at{_said(tr, decider(tr))}"


FAULT = {
    "A": "A stage-2 translation fault: no valid entry maps the IPA yet",
    "B": "A stage-2 permission fault: an entry maps it but forbids this access",
    "C": "An access-flag fault: an entry maps it with its access flag clear",
    "D": "No fault: the stage-2 entry already allows the access",
    "E": "An Alignment fault at EL1, in the guest, before stage 2 is walked",
}
_FSC = {"translation": "A", "permission": "B", "access_flag": "C", None: "D", "guest_alignment": "E"}


def _fault_key(tr: Trace) -> str | None:
    f = last(tr)
    return None if f is None else _FSC.get(f.fsc)


def _fault_words(tr: Trace) -> str:
    return f"The CPU walks stage 2 first:{_said(tr, at(tr, 0))} Then: {_verdict(tr)}."


SIZE = {"A": "A 4 KiB page", "B": "A 2 MiB block", "C": "A 1 GiB block", "D": "Nothing is mapped"}
_SIZES = {1 << 12: "A", 1 << 21: "B", 1 << 30: "C"}


def _size_key(tr: Trace) -> str | None:
    f = last(tr)
    if f is None or f.outcome not in ("map", "relax") or not f.s2:
        return "D" if f is None or f.outcome in ("run_error", "inject", "exit_mmio", "exit_nisv") else None
    return _SIZES.get(f.s2.size)


def _size_step(f: FaultResult) -> int | None:
    """The step that set the mapping's size: the huge-page upgrade, else the VMA's size."""
    up = _find(f, lambda s: s.id in ("thp_adjust", "uma.thp") and s.case == "upgrade")
    return up if up is not None else _find(f, lambda s: s.id == "uma.vma_size")


def _size_focus(tr: Trace) -> int | None:
    f = last(tr)
    return at(tr, _size_step(f)) if f else decider(tr)


def _size_words(tr: Trace) -> str:
    f = last(tr)
    if f is None or not f.s2:
        return f"Nothing is mapped: {_verdict(tr)}."
    return f"KVM maps {size_text(f.s2.size)} at once. The size is decided at{_said(tr, _size_focus(tr))}"


WHY_SIZE = {
    "A": "The VMA: how far it extends around the address and how HVA and PA are aligned",
    "B": "The host's own stage-1 leaf at that address (the huge-page upgrade)",
    "C": "The hugetlbfs page size of the VMA",
    "D": "Nothing allows more than one page here",
}


def _why_size_key(tr: Trace) -> str | None:
    f = last(tr)
    if f is None or not f.s2:
        return None
    i = _size_step(f)
    s = f.steps[i] if i is not None else None
    if s is None or f.s2.size <= 1 << 12:
        return "D"
    if s.id != "uma.vma_size":
        return "B"
    return "C" if "hugetlb VMA" in s.text else "A"


MEMTYPE = {
    "A": "Normal Write-Back: cacheable",
    "B": "Normal Non-cacheable",
    "C": "Device-nGnRE",
    "D": "Device-nGnRnE",
    "E": "None: the guest's access does not reach memory through stage 2",
}
_TYPES = {"normal_wb": "A", "normal_nc": "B", "device_nGnRE": "C", "device_nGnRnE": "D"}


def _memtype_key(tr: Trace) -> str | None:
    f = last(tr)
    if f is None or f.outcome in ("run_error", "inject", "exit_mmio", "exit_nisv"):
        return "E"
    return _TYPES.get((f.effective or {}).get("type")) if f.effective else None


def _memtype_focus(tr: Trace) -> int | None:
    f = last(tr)
    combine = _find(f, lambda s: s.id == "hw.combine") if f else None
    return decider(tr) if combine is None else at(tr, combine)


def _memtype_words(tr: Trace) -> str:
    f = last(tr)
    if f is None or not f.effective:
        return f"The guest gets no memory here: {_verdict(tr)}."
    kind = MEMTYPE_NAMES.get(f.effective["type"], f.effective["type"])
    return (f"The guest gets {kind}. Stage 2's type is decided at{_said(tr, decider(tr))} "
            f"Then the two stages combine:{_said(tr, _memtype_focus(tr))}")


CMO = {
    "A": "The D-cache is cleaned to PoC",
    "B": "The D-cache clean is skipped: with FWB it is not needed",
    "C": "The I-cache is invalidated to PoU",
    "D": "The I-cache invalidation is skipped: with DIC an ISB is enough",
    "E": "None is requested: the mapping is not cacheable, or not new",
}


def _cmo_key(tr: Trace) -> str | None:
    f = last(tr)
    if f is None:
        return None
    cmo = dict(f.cmo)
    letters = {"done": "A", "skipped": "B"}.get(cmo.get("dcache"), "") + \
        {"done": "C", "skipped": "D"}.get(cmo.get("icache"), "")
    return letters or "E"


def _cmo_focus(tr: Trace) -> int | None:
    f = last(tr)
    i = next((i for i, d in enumerate(f.states) if "cmo" in d), None) if f else None
    return at(tr, i) if i is not None else decider(tr)


def _cmo_words(tr: Trace) -> str:
    f = last(tr)
    if f is None:
        return f"No cache maintenance: {_verdict(tr)}."
    said = [_said(tr, at(tr, i)) for i, d in enumerate(f.states) if "cmo" in d]
    return ("Cache maintenance for this access:" + "".join(said)) if said else \
        f"No cache maintenance is requested: {_verdict(tr)}."


SAFE = {
    "A": "Safe: nothing happens beyond what KVM returns",
    "B": "No: the host kernel oopses",
    "C": "No: the guest reaches host memory that is not its own",
    "D": "No: a lock is left held, and the VMM hangs",
    "E": "No: a page reference leaks or is dropped once too often",
    "F": "No: the guest can read stale data",
    "G": "No: the vCPU faults for ever and the VM makes no progress",
}
_HAZARD = {"host_oops": "B", "foreign_memory": "C", "lock_leak": "D", "ref_leak": "E", "ref_imbalance": "E",
           "stale_data": "F", "livelock": "G"}


def hazard(tr: Trace) -> tuple[dict, int | None] | None:
    """The most serious hazard anything in the scenario met, and its page step (None for an event)."""
    found = []
    for i, f in enumerate(tr.faults):
        for key, step in f.hazards:
            found.append((key, None if step is None else base(tr, i) + step + 1, f.steps))
    for e in tr.events:
        found += [(key, None, e.steps) for key, _ in e.hazards]
    key = hz.pick(k for k, _, _ in found)
    if key is None:
        return None
    _, step, _ = next(x for x in found if x[0] == key)
    d = hz.CATALOGUE[key]
    return {"key": key, "kind": d.kind, "why": d.why, "fixed_by": d.fixed_by}, step


def _safe_key(tr: Trace) -> str | None:
    h = hazard(tr)
    return "A" if h is None else _HAZARD[h[0]["kind"]]


def _safe_focus(tr: Trace) -> int | None:
    h = hazard(tr)
    return decider(tr) if h is None or h[1] is None else h[1]


def _safe_words(tr: Trace) -> str:
    h = hazard(tr)
    if h is None:
        return (f"{_verdict(tr)}, and that is all: no host lock, page reference or memory outside the guest's "
                "own is left in a bad state by what KVM did here.")
    d, step = h
    fixed = f" What removed it: {d['fixed_by']}." if d["fixed_by"] else " No kernel of these models has fixed it."
    where = f" (step {step})" if step else ""
    return f"{_verdict(tr)}, but it is not safe{where}: {d['why']}{fixed}"


GUEST = {
    "A": "It completes",
    "B": "It takes an Alignment fault at EL1: the guest's own kernel handles it",
    "C": "The VM stops: KVM_RUN fails and the VMM gives up",
    "D": "It takes an abort that KVM (or the VMM) injects, at EL1",
    "E": "The VMM emulates it (an MMIO exit)",
    "F": "IMPLEMENTATION DEFINED or CONSTRAINED UNPREDICTABLE: it may work or fault",
    "G": "It faults again: KVM's answer did not make the access possible",
}


def _guest_key(tr: Trace) -> str | None:
    f = last(tr)
    g = (f.guest_result or {}) if f else {}
    kind = g.get("kind")
    if kind == "alignment_fault":
        return "B" if g.get("el") == 1 else "C"
    return {"completes": "A", "skipped": "A", "vm_stopped": "C", "abort": "D", "emulated": "E",
            "impl_defined": "F", "unpredictable": "F", "livelock": "G", "faults_again": "G"}.get(kind)


def _guest_focus(tr: Trace) -> int | None:
    f = last(tr)
    i = _find(f, lambda s: s.id == "guest.result") if f else None
    return at(tr, i) if i is not None else decider(tr)


def _guest_words(tr: Trace) -> str:
    return f"After KVM's answer ({_verdict(tr)}):{_said(tr, _guest_focus(tr))}"


CAP = {"A": "1: this host can map cacheable VM_PFNMAP memory", "B": "0: unknown capability, or not supported"}


def _cap_key(tr: Trace) -> str | None:
    return "A" if tr.cap_cacheable_pfnmap == 1 else "B"


def _cap_focus(tr: Trace) -> int | None:
    return len(tr.memslot.steps) + 1 if tr.capability.steps else None


def _cap_words(tr: Trace) -> str:
    return f"KVM_CHECK_EXTENSION(243) answers {tr.cap_cacheable_pfnmap}:{_said(tr, _cap_focus(tr))}"


KINDS = {k.id: k for k in (
    Kind("fault", "fault", "What does the guest's access take at stage 2?", FAULT, _fault_key,
         lambda tr: at(tr, 0) if last(tr) else None, _fault_words),
    Kind("outcome", "outcome", "Where is it decided, and what happens?", OUTCOME, outcome_key, decider,
         _outcome_words),
    Kind("size", "size", "How much does KVM map at stage 2 for this access?", SIZE, _size_key, _size_focus,
         _size_words),
    Kind("why_size", "size", "What decided that size?", WHY_SIZE, _why_size_key, _size_focus, _size_words),
    Kind("memtype", "memtype", "What memory type does the guest's access get?", MEMTYPE, _memtype_key,
         _memtype_focus, _memtype_words),
    Kind("cmo", "cmo", "Which cache maintenance happens for this access? (pick every one that applies)", CMO,
         _cmo_key, _cmo_focus, _cmo_words, multi=True),
    Kind("safe", "safe", "Is this safe for the host?", SAFE, _safe_key, _safe_focus, _safe_words),
    Kind("guest", "guest", "What does the guest's instruction then do?", GUEST, _guest_key, _guest_focus,
         _guest_words),
    Kind("cap", "outcome", "What does KVM_CHECK_EXTENSION answer for capability 243 (cacheable PFNMAP supported)?", CAP,
         _cap_key, _cap_focus, _cap_words),
)}


def normal(kind: Kind, given: str) -> str:
    """An answer as letters in order, without repeats (a single-choice answer is one letter)."""
    return "".join(sorted(set(given)))
