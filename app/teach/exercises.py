"""Seeded exercise sets: predict-the-verdict and "is this safe?" questions drawn from the
configuration space.

A set is a pure function of (seed, n, model, level, ask) and the models of this release: the
candidate scenarios are enumerated in a fixed order, each is simulated and put in its class (its
outcome, or its most serious host-safety hazard), and random.Random(seed) picks from the classes in
turn, so different answers appear. ask=outcome (the default, and the sets every older link names)
asks what happens; ask=safe asks whether it is safe; ask=mixed alternates. Each question's worked
answer is its permalink, opened at the step that decides it, with a paragraph on why."""
from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from ..permalink import canonical_url, parse_url
from ..present import stage
from ..present.summary import plain
from ..sim import KERNELS, MODELS, Fault, Scenario, simulate
from ..sim.presets import PRESETS
from . import questions

MAX_N = 40
MAX_SEED = 10**9
LEVELS = ("basic", "advanced")
ASKS = ("outcome", "safe", "mixed")

# The answer choices, one letter each; the letters are the answer sheet's alphabet.
CHOICES = questions.OUTCOME
SHORT = {"A": "mapped Normal", "B": "mapped Normal-NC", "C": "mapped Device", "D": "memslot refused",
         "E": "KVM_RUN fails", "F": "abort injected", "G": "exit to the VMM"}
# "Is this safe?": the hazard verdicts (questions.SAFE), one letter per kind, most serious first.
SAFE = questions.SAFE
SAFE_SHORT = {"A": "safe", "B": "host oops", "C": "foreign memory", "D": "lock leak", "E": "page reference",
              "F": "stale data", "G": "livelock"}
KIND_CHOICES = {"outcome": (CHOICES, SHORT), "safe": (SAFE, SAFE_SHORT)}
ASK = {"outcome": "What happens?", "safe": "Is this safe for the host?"}
# Hazards no preset reaches in one access (a scattered buffer, guest_memfd, a ZONE_DEVICE block on
# 6.12, a VMA cut under a block): their scenarios join the "is this safe?" pool.
SAFETY_LINKS = (
    "/v6.17/?vma=pfnmap,shared,maywrite&mem=sg&pg=2m&f=40000000r,40001000r",
    "/v7.1/?vma=shared,maywrite&slot=gmem&f=40000000w,40000000w.atomic",
    "/v6.12/?vma=shared,maywrite&mem=zdev&pg=2m&f=40001000r",
    "/v6.14/?vma=pfnmap,io,shared,maywrite&mem=dev&pg=2m&f=unmap:40100000:100000,40000000r",
)

INSIDE, OUTSIDE = 0x4000_0000, 0x1000_0000
HOSTS = (("fwb", "dic"), ("fwb",), ("dic",), ())
ACCESS = ("r", "w", "x")
# What the advanced level adds to a scenario: (memslot flags, VM options, host extra, remap): dirty
# logging, a read-only memslot, a VM with MTE, the VMA swapped in after registration.
EXTRAS = {
    "basic": (((), (), (), False),),
    "advanced": (((), (), (), False), (("log",), (), (), False), (("ro",), (), (), False),
                 ((), ("mte",), ("mte",), False), ((), (), (), True)),
}


class ExerciseError(ValueError):
    """Bad exercise-set input: the message is one sentence."""


@dataclass(frozen=True)
class Question:
    n: int
    model: str
    scenario: Scenario
    preset: str | None
    answer: str            # a letter of its choices
    kind: str = "outcome"  # outcome | safe

    @property
    def text(self) -> str:
        return describe(self.model, self.scenario, self.preset, ASK[self.kind])

    @property
    def choices(self) -> dict[str, str]:
        return KIND_CHOICES[self.kind][0]

    @property
    def short(self) -> dict[str, str]:
        return KIND_CHOICES[self.kind][1]

    @property
    def explanation(self) -> str:
        """Why the answer is right, in a paragraph built from the trace's own sentences."""
        return questions.KINDS[self.kind].explain(simulate(self.model, self.scenario))

    @property
    def permalink(self) -> str:
        return canonical_url(self.model, self.scenario)

    @property
    def worked(self) -> str:
        """The permalink opened at the step that decides the question."""
        if self.kind == "outcome":
            return worked_link(self.model, self.scenario)
        tr = simulate(self.model, self.scenario)
        at = questions.KINDS[self.kind].focus(tr)
        return canonical_url(self.model, self.scenario, at if at and at < len(tr.all_steps()) else None)


@dataclass(frozen=True)
class ExerciseSet:
    seed: int
    n: int
    model: str          # a model id, or "all"
    level: str
    questions: tuple[Question, ...]
    ask: str = "outcome"

    @property
    def query(self) -> str:
        return f"seed={self.seed}&n={self.n}&model={self.model}&level={self.level}" + (
            f"&ask={self.ask}" if self.ask != "outcome" else "")

    @property
    def kinds(self) -> list[str]:
        return [k for k in ("outcome", "safe") if any(q.kind == k for q in self.questions)]


def worked_link(mid: str, sc: Scenario) -> str:
    """The permalink opened at the step that settles the outcome: the memslot's refusal, else the
    last fault's verdict (no step when that is the last step)."""
    tr = simulate(mid, sc)
    at = stage.memslot_reveal(tr) if tr.memslot.result != "ok" else stage.reveal_steps(tr)[-1]
    return canonical_url(mid, sc, at if at and at < len(tr.all_steps()) else None)


def answer_class(mid: str, sc: Scenario) -> str | None:
    """The letter of the scenario's outcome: the memslot's refusal, else its last fault's
    (None: no question to ask)."""
    tr = simulate(mid, sc, trace=False)
    if tr.memslot.result != "ok":
        return "D"
    f = tr.faults[-1]
    if f.outcome in ("map", "relax") and f.s2:
        return {"normal": "A", "normal_nc": "B"}.get(f.s2.memtype, "C" if f.s2.memtype.startswith("device")
                                                     else None)
    return {"run_error": "E", "inject": "F", "exit_mmio": "G", "exit_nisv": "G"}.get(f.outcome)


def describe(mid: str, sc: Scenario, preset: str | None, ask: str = "What happens?") -> str:
    """The question: its scenario in plain words, then what to predict."""
    if ask == "What happens?" and len(sc.faults) > 1:
        ask = "What happens at the last access?"
    return plain(MODELS[mid].title.split(":")[0], mid, sc, preset) + " " + ask


def _candidates(model: str, level: str) -> list[tuple[str, Scenario, str]]:
    """Every (model, scenario, preset) the set may ask about, in a fixed order."""
    models = list(KERNELS) if model == "all" else [model]
    out = []
    for mid in models:
        for pid, p in PRESETS.items():
            for host in HOSTS:
                for slot, vm, host_extra, remap in EXTRAS[level]:
                    for kind in ACCESS:
                        base = Scenario(host=frozenset(host + host_extra), vm=frozenset(vm), slot=frozenset(slot),
                                        remap=remap, faults=(Fault(INSIDE, kind),))
                        out.append((mid, p.apply(base), pid))
        for host in HOSTS:        # an access outside every memslot
            for kind in ACCESS:
                out.append((mid, Scenario(host=frozenset(host), faults=(Fault(OUTSIDE, kind),)), "anon"))
    return out


@lru_cache(maxsize=32)
def _pool(model: str, level: str, kind: str = "outcome") -> dict[str, tuple]:
    """The candidates grouped by answer letter, duplicates (same model and scenario) dropped."""
    pool: dict[str, list] = {}
    seen = set()
    extra = [(mid, parsed.scenario, None) for mid, parsed in map(parse_url, SAFETY_LINKS)
             if kind == "safe" and model in ("all", mid)]
    for mid, sc, pid in _candidates(model, level) + extra:
        if (mid, sc) in seen:
            continue
        seen.add((mid, sc))
        letter = answer_class(mid, sc) if kind == "outcome" else safety_class(mid, sc)
        if letter:
            pool.setdefault(letter, []).append((mid, sc, pid))
    return {k: tuple(v) for k, v in sorted(pool.items())}


def safety_class(mid: str, sc: Scenario) -> str | None:
    """The letter of the scenario's most serious hazard (A: none)."""
    return questions.KINDS["safe"].key(simulate(mid, sc))


def parse(args) -> tuple[int, int, str, str, str]:
    """(seed, n, model, level, ask) from a mapping of strings; ExerciseError with one sentence if bad."""
    seed_s, n_s = args.get("seed", "1"), args.get("n", "8")
    if not seed_s.isdigit() or int(seed_s) >= MAX_SEED:
        raise ExerciseError(f"The seed must be a whole number from 0 to {MAX_SEED - 1}.")
    if not n_s.isdigit() or not 1 <= int(n_s) <= MAX_N:
        raise ExerciseError(f"The number of questions (n) must be a whole number from 1 to {MAX_N}.")
    model = args.get("model", "all")
    if model != "all" and model not in MODELS:
        raise ExerciseError(f"The model must be 'all' (the six kernels) or one of {', '.join(MODELS)}.")
    level = args.get("level", "basic")
    if level not in LEVELS:
        raise ExerciseError(f"The level must be {' or '.join(LEVELS)}.")
    ask = args.get("ask") or "outcome"
    if ask not in ASKS:
        raise ExerciseError(f"The questions (ask) must be {', '.join(ASKS[:-1])} or {ASKS[-1]}.")
    return int(seed_s), int(n_s), model, level, ask


def _draw(seed: int, n: int, model: str, level: str, kind: str) -> list[tuple]:
    """n (model, scenario, preset, letter), taking the classes in a seeded order, round after round,
    so each class appears before any appears twice."""
    salt = "" if kind == "outcome" else f":{kind}"       # outcome sets are drawn as they always were
    rng = random.Random(f"s2viz-exercises:{seed}:{model}:{level}{salt}")
    pool = {k: list(v) for k, v in _pool(model, level, kind).items()}
    letters = list(pool)
    picked = []
    while len(picked) < n and any(pool.values()):
        rng.shuffle(letters)
        for letter in letters:
            if pool[letter] and len(picked) < n:
                picked.append(pool[letter].pop(rng.randrange(len(pool[letter]))) + (letter,))
    rng.shuffle(picked)
    return picked


def generate(seed: int, n: int, model: str = "all", level: str = "basic", ask: str = "outcome") -> ExerciseSet:
    """n questions; for ask=mixed, "what happens?" and "is this safe?" in turn."""
    if ask == "mixed":
        drawn = {"outcome": _draw(seed, (n + 1) // 2, model, level, "outcome"),
                 "safe": _draw(seed, n // 2, model, level, "safe")}
        order = [("outcome", "safe")[i % 2] for i in range(n)]
        picked = [(*drawn[k][i // 2], k) for i, k in enumerate(order) if i // 2 < len(drawn[k])]
    else:
        picked = [(*x, ask) for x in _draw(seed, n, model, level, ask)]
    qs = tuple(Question(i + 1, mid, sc, pid, letter, kind) for i, (mid, sc, pid, letter, kind) in enumerate(picked))
    return ExerciseSet(seed, n, model, level, qs, ask)


def parse_answers(text: str, n: int) -> str:
    """The answer sheet: one letter per question (A-G, or '-' for none), at most n; every kind of
    question takes its answer from the same seven letters."""
    sheet = "".join(text.split()).upper()
    bad = sorted({c for c in sheet if c not in CHOICES and c != "-"})
    if bad:
        raise ExerciseError(f"The answers may use only the letters {''.join(CHOICES)} (or - to skip), "
                            f"not {''.join(bad)[:10]}.")
    if len(sheet) > n:
        raise ExerciseError(f"There are {n} questions but {len(sheet)} answers.")
    return sheet


def grade(es: ExerciseSet, sheet: str) -> list[dict]:
    rows = []
    for q in es.questions:
        given = sheet[q.n - 1] if q.n <= len(sheet) else "-"
        rows.append({"q": q, "given": given, "right": given == q.answer})
    return rows
