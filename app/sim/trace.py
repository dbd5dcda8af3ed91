"""The trace: immutable, JSON-able steps, each citing the kernel code it models."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

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

    def to_json(self) -> dict:
        out = {"id": self.id, "func": self.func, "file": self.file, "lines": list(self.lines),
               "text": self.text}
        if self.vars:
            out["vars"] = {k: v for k, v in self.vars}
        if self.code:
            out["code"] = self.code
        return out


# Words a step's sentence is built from are not variables the kernel decided: a step keeps only
# flags, numbers and these few decided strings as its vars.
DECIDED_STRINGS = ("prot", "mmap_lock", "errno")


def _decided(name: str, value) -> bool:
    return not isinstance(value, str) or name in DECIDED_STRINGS


class Tracer:
    """Collects steps for one phase (registration, capability, or one fault).

    Where no trace is wanted the simulator is handed None instead, and every `if t:` before a
    step skips the work of describing it (the way a disabled tracepoint costs one branch).
    """

    __slots__ = ("model", "steps")

    def __init__(self, model):
        self.model = model
        self.steps: list[Step] = []

    def __bool__(self) -> bool:
        return True

    def step(self, sid: str, text: str, code: str = "", **vars) -> None:
        if len(self.steps) >= MAX_STEPS_PER_PHASE:
            return      # a bound, not a path any scenario takes: a fault records about 30 steps
        src = self.model.source(sid)
        self.steps.append(Step(sid, src.func, src.file, src.lines,
                               text.format(**vars) if vars else text,
                               tuple((k, v) for k, v in vars.items() if _decided(k, v)), code))

    def freeze(self) -> tuple[Step, ...]:
        return tuple(self.steps)


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


NO_CMO = (("dcache", "none"), ("icache", "none"))


class FaultResult(NamedTuple):
    """What one guest access did; `states` holds, per step, what that step changed in the
    picture (see timeline.py), aligned with `steps`."""

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


@dataclass(frozen=True, slots=True)
class Phase:
    result: str
    steps: tuple[Step, ...]
    states: tuple = ()


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

    def all_steps(self) -> list[tuple[str, Step]]:
        """Every step in order, with the phase it belongs to (memslot, cap, fault N)."""
        out = [("memslot", s) for s in self.memslot.steps]
        out += [("cap", s) for s in self.capability.steps]
        for i, f in enumerate(self.faults):
            out += [(f"fault {i + 1}", s) for s in f.steps]
        return out


# Steps that carry a fault's outcome out rather than decide it.
_PLUMBING = ("abort.uma_call", "uma.out", "hw.combine", "pgt.init_leaf", "clean_dcache", "inval_icache",
             "pgt.walk_leaf", "pgt.stage2_map", "uma.map", "pgt.set_prot_attr", "pgt.relax_perms",
             "uma.lock_retry", "thp_adjust", "uma.thp", "pgt.try_leaf")


def decisive_step(f: FaultResult) -> Step | None:
    """The step that decided a fault's outcome: the classification for a mapping, else the last
    step that decided something before the plumbing that returns."""
    if f.outcome in ("map", "relax"):
        for s in f.steps:
            if s.id in ("uma.classify", "gmem.prot"):     # gmem_abort(): always Normal, decided with prot
                return s
    for s in reversed(f.steps):
        if s.id not in _PLUMBING:
            return s
    return None
