"""The trace: immutable steps, each citing the kernel code it models, saying what it decided and
what that changed in the picture.

A model records a step with `Recorder.step(id, case, **values)`: the id names the kernel code
(app/sim/steps declares each id once), the case names the branch taken, the values are what
the code decided. The recorder turns them into the step's words and its state delta at that
moment; table changes made by the step (MmOps) are added to it with `Recorder.change()`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from . import hazards
from . import steps as registry
from .hw.pgtable import pte_kind, pte_memattr, pte_perm

MAX_STEPS_PER_PHASE = 96


@dataclass(frozen=True, slots=True)
class Source:
    func: str
    file: str
    lines: tuple[int, int]


@dataclass(frozen=True, slots=True)
class Step:
    """One decision: which kernel code took it, what it decided and why."""

    id: str
    func: str
    file: str
    lines: tuple[int, int]
    text: str
    vars: tuple[tuple[str, object], ...] = ()
    code: str = ""
    case: str = ""

    def to_json(self) -> dict:
        out = {"id": self.id, "func": self.func, "file": self.file, "lines": list(self.lines),
               "text": self.text}
        if self.vars:
            out["vars"] = {k: v for k, v in self.vars}
        if self.code:
            out["code"] = self.code
        return out


# A step's JSON `vars` are what the kernel decided: flags, numbers and these few decided strings;
# other recorded values (flag sets, words) only fill its sentence.
DECIDED_STRINGS = ("prot", "mmap_lock", "errno")


def _decided(name: str, value) -> bool:
    if isinstance(value, (frozenset, set, tuple, list, dict)):
        return False
    return not isinstance(value, str) or name in DECIDED_STRINGS


class Recorder:
    """Collects the steps of one phase (registration, capability, or one fault) and what each
    changed. `ctx` is what turns a step's values into picture facts (StateContext).

    Where no trace is wanted the simulator is handed None instead, and every `if t:` before a
    step skips the work (the way a disabled tracepoint costs one branch).
    """

    __slots__ = ("model", "ctx", "steps", "deltas")

    def __init__(self, model, ctx):
        self.model = model
        self.ctx = ctx
        self.steps: list[Step] = []
        self.deltas: list[dict] = []

    def __bool__(self) -> bool:
        return True

    def step(self, sid: str, case: str = "", **values) -> None:
        if len(self.steps) >= MAX_STEPS_PER_PHASE:
            return      # a bound, not a path any scenario takes: a fault records about 30 steps
        d = registry.get(sid)
        src = self.model.source(sid)
        self.steps.append(Step(sid, src.func, src.file, src.lines, d.say(case, values),
                               tuple((k, v) for k, v in values.items() if _decided(k, v)),
                               d.pseudo(case, values), case))
        self.deltas.append(d.delta(case, values, self.ctx))

    def change(self, **delta) -> None:
        """Add to what the latest step changed (table entries it wrote, maintenance it ran)."""
        if not self.deltas:
            return
        merge(self.deltas[-1], delta)

    @property
    def last(self) -> int:
        return len(self.steps) - 1

    def freeze(self) -> tuple[tuple[Step, ...], tuple[dict, ...]]:
        return tuple(self.steps), tuple(self.deltas)


def merge(into: dict, delta: dict) -> None:
    """Merge a delta into another: lists extend, dicts update, the rest replaces."""
    for key, value in delta.items():
        if isinstance(value, list):
            into.setdefault(key, []).extend(value)
        elif isinstance(value, dict):
            into[key] = {**into.get(key, {}), **value}
        else:
            into[key] = value


class Leaf(NamedTuple):
    ipa: int
    level: int
    size: int
    pte: int
    memtype: str
    memattr: int
    perm: str

    def to_json(self) -> dict:
        return {"memtype": self.memtype, "memattr": self.memattr, "perm": self.perm,
                "size": self.size, "level": self.level, "desc": f"{self.pte:#018x}"}


def leaf_of(ipa: int, level: int, pte: int, has_fwb: bool, page_shift: int, size: int | None = None) -> Leaf:
    """A leaf descriptor as the trace reports it (size: what the mapping covered, if more than one leaf)."""
    shift = (page_shift - 3) * (3 - level) + page_shift
    return Leaf(ipa, level, size or 1 << shift, pte, pte_kind(pte, has_fwb), pte_memattr(pte), pte_perm(pte))


NO_CMO = (("dcache", "none"), ("icache", "none"))


class FaultResult(NamedTuple):
    """What one guest access did; `states` holds, per step, what that step changed in the
    picture (aligned with `steps`)."""

    ipa: int
    access: str
    mods: tuple[str, ...]
    fsc: str | None                  # None: the access did not fault
    level: int
    esr: int | None
    outcome: str
    errno: str | None = None
    inject: str | None = None
    s2: Leaf | None = None
    cmo: tuple[tuple[str, str], ...] = NO_CMO
    effective: dict | None = None
    walk: tuple = ()
    steps: tuple[Step, ...] = ()
    decided: tuple[tuple[str, object], ...] = ()
    states: tuple = ()
    decider: int | None = None       # index of the step that decided the outcome
    settles: int | None = None       # index of the step from which the outcome is settled
    hazards: tuple[tuple[str, int | None], ...] = ()   # (hazards.CATALOGUE key, index of the step)
    guest_result: dict | None = None  # what the instruction then does: kind, el, why
    slot: int | None = None          # the memslot the IPA falls in (1-based; memslot 1 is schema 1's), or None

    @property
    def hazard(self) -> dict | None:
        """The most serious host-safety hazard this fault met, or None: its kind, where (the step's
        kernel function and lines at the model's tag), why, and the fix that removed it."""
        return worst_hazard(self.hazards, self.steps)

    def all_hazards(self) -> list[dict]:
        return [hazard_json(k, i, self.steps) for k, i in self.hazards]


def worst_hazard(met, steps) -> dict | None:
    """The most serious of the (key, step index) hazards a fault or event met, as JSON."""
    key = hazards.pick(k for k, _ in met)
    return None if key is None else hazard_json(key, dict(met)[key], steps)


def hazard_json(key: str, step: int | None, steps) -> dict:
    d = hazards.CATALOGUE[key]
    where = None
    if step is not None and step < len(steps):
        s = steps[step]
        where = {"func": s.func, "file": s.file, "lines": list(s.lines), "step": step, "step_id": s.id}
    return {"kind": d.kind, "key": key, "where": where, "why": d.why, "fixed_by": d.fixed_by}


NO_EVENT_CMO = (("dcache", "none"), ("tlb", "none"))


class EventResult(NamedTuple):
    """What one host event between faults did: the kernel's answer (`result`: ok, an errno of the
    ioctl, or not_run when the memslot was never registered), what it changed in the stage-2 table
    (`changes`: counts of leaves unmapped, tables freed, leaves aged or write-protected), the cache
    and TLB maintenance, and per step what it changed in the picture (`states`)."""

    kind: str
    ipa: int | None                  # range events: [ipa, ipa + size)
    size: int | None
    at: int                          # the event's index in the permalink's f list
    after: int                       # how many faults were fired before it
    result: str
    changes: tuple[tuple[str, int], ...] = ()
    cmo: tuple[tuple[str, str], ...] = NO_EVENT_CMO
    steps: tuple[Step, ...] = ()
    states: tuple = ()
    settles: int | None = None       # index of the step that carries the event's verdict
    hazards: tuple[tuple[str, int | None], ...] = ()
    slot: int | None = None          # the memslot the event is about (1-based), or None: no slot

    @property
    def hazard(self) -> dict | None:
        return worst_hazard(self.hazards, self.steps)

    def all_hazards(self) -> list[dict]:
        return [hazard_json(k, i, self.steps) for k, i in self.hazards]


@dataclass(frozen=True, slots=True)
class Phase:
    result: str
    steps: tuple[Step, ...]
    states: tuple = ()


@dataclass(frozen=True, slots=True)
class SlotAnswer:
    """One memslot's registration, inside the memslot phase: its number (1-based), the ioctl's answer
    (ok, an errno, or not_run: the VMM stopped at an earlier slot's refusal) and its steps, as the
    range [first, end) of the memslot phase's steps."""

    slot: int
    result: str
    first: int
    end: int


@dataclass(frozen=True, slots=True)
class Trace:
    model: str
    memslot: Phase
    capability: Phase
    cap_cacheable_pfnmap: int
    faults: tuple[FaultResult, ...]
    leaves: tuple[Leaf, ...]         # the stage-2 table after the last fault
    geometry: dict
    host_s1: dict
    events: tuple[EventResult, ...] = ()     # the host events between faults, in order
    items: tuple[tuple[str, int], ...] = ()  # f in order: ("fault", index in faults) / ("event", index in events)
    # Every memslot's registration, in the VMM's order; `memslot` is the registration as a whole: ok when
    # every slot was registered, else the first refusal (the VMM stops there).
    slots: tuple[SlotAnswer, ...] = ()
    layout: object = None            # the VM's memslots and VMAs as laid out (layout.Layout)

    @property
    def cap_number(self) -> int:
        """The number of KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED as this model's kernel defines it: 243,
        or 240 in v4 and v5 of the series (read from the traced capability step)."""
        return next((dict(s.vars)["cap"] for s in self.capability.steps
                     if s.id == "cap.check_extension" and "cap" in dict(s.vars)), 243)

    def all_steps(self, events: bool = True) -> list[tuple[str, Step]]:
        """Every step in order, with the phase it belongs to (memslot, cap, fault N; with events, also
        event N, in its place among the faults). A link without events numbers its steps the same
        either way; events=False leaves an event's steps out."""
        out = [("memslot", s) for s in self.memslot.steps]
        out += [("cap", s) for s in self.capability.steps]
        for kind, i in self.items or [("fault", i) for i in range(len(self.faults))]:
            if kind == "fault":
                out += [(f"fault {i + 1}", s) for s in self.faults[i].steps]
            elif events:
                out += [(f"event {i + 1}", s) for s in self.events[i].steps]
        return out


def decisive_step(f: FaultResult) -> Step | None:
    """The step that decided a fault's outcome (see engine: the memory type's step for a
    mapping, else the last deciding step before the plumbing that returns)."""
    return None if f.decider is None else f.steps[f.decider]
