"""The registry's own parts: a step's declaration and the table every module of this package
declares its steps into."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .words import DISPLAY

Words = str | Callable[[dict], str]

PATH = ("va", "ipa", "memslot", "hva", "vma", "pfn", "pa", "s2")


@dataclass(frozen=True)
class StepDef:
    id: str
    func: str                      # the kernel function (helpers renamed later are in the line table)
    file: str
    phase: str                     # memslot | cap | fault | event
    on: str | None                 # the part of the path it works on (PATH), None for none
    words: dict[str, Words]        # case -> sentence template, or a function of the values
    code: dict[str, Words] = field(default_factory=dict)   # case -> pseudo-code (own notation)
    state: Callable | None = None  # (case, values, ctx) -> picture delta, or None
    key: bool = False              # a key step of presenter mode
    decides: bool = True           # can decide an outcome; False: plumbing that carries it out
    mail: bool | frozenset = False  # shown in the mail text (a set: only for these cases)
    memtype: bool = False          # decides the memory type of a mapping (its "decided by")

    def say(self, case: str, values: dict) -> str:
        w = self.words[case]
        if callable(w):
            return w(values)
        return w.format_map(_Display(values)) if "{" in w else w

    def pseudo(self, case: str, values: dict) -> str:
        c = self.code.get(case, self.code.get("*", ""))
        if callable(c):
            return c(values)
        return c.format_map(_Display(values)) if "{" in c else c

    def delta(self, case: str, values: dict, ctx) -> dict:
        d: dict = {"on": self.on} if self.on else {}
        if self.state is not None:
            extra = self.state(case, values, ctx)
            if extra:
                d.update(extra)
        return d


class _Display(dict):
    """A step's values as its sentence shows them: flag sets, memory types and sizes in words."""

    def __missing__(self, key):
        raise KeyError(key)

    def __getitem__(self, key):
        value = dict.__getitem__(self, key)
        show = DISPLAY.get(key)
        return show(value) if show is not None else value


REGISTRY: dict[str, StepDef] = {}


def declare(sid: str, func: str, file: str, phase: str, on: str, words: dict | str, **kw) -> StepDef:
    if sid in REGISTRY:
        raise ValueError(f"step {sid} declared twice")
    if isinstance(kw.get("mail"), (set, frozenset)):
        kw["mail"] = frozenset(kw["mail"])
    d = StepDef(sid, func, file, phase, on, words if isinstance(words, dict) else {"": words}, **kw)
    REGISTRY[sid] = d
    return d


def get(sid: str) -> StepDef:
    return REGISTRY[sid]
