"""Seeded exercise sets: predict-the-verdict questions drawn from the configuration space.

A set is a pure function of (seed, n, model, level) and the models of this release: the candidate
scenarios are enumerated in a fixed order, each is simulated (outcome only) and put in its outcome
class, and random.Random(seed) picks from the classes in turn, so different outcomes appear. Each
question's worked answer is its permalink, opened at the step that settles it."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import lru_cache

from ..permalink import canonical_url
from ..present import stage
from ..present.summary import plain
from ..sim import KERNELS, MODELS, Fault, Scenario, simulate
from ..sim.presets import PRESETS

MAX_N = 40
MAX_SEED = 10**9
LEVELS = ("basic", "advanced")

# The answer choices, one letter each; the letters are the answer sheet's alphabet.
CHOICES = {
    "A": "Mapped at stage 2 as Normal (cacheable) memory",
    "B": "Mapped at stage 2 as Normal Non-cacheable memory",
    "C": "Mapped at stage 2 as Device memory",
    "D": "Refused at memslot registration: KVM_SET_USER_MEMORY_REGION fails",
    "E": "Refused at fault time: KVM_RUN fails with an error",
    "F": "At fault time KVM injects an abort into the guest",
    "G": "At fault time KVM_RUN exits to the VMM (MMIO or NISV exit)",
}
SHORT = {"A": "mapped Normal", "B": "mapped Normal-NC", "C": "mapped Device", "D": "memslot refused",
         "E": "KVM_RUN fails", "F": "abort injected", "G": "exit to the VMM"}

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
    preset: str
    answer: str            # a letter of CHOICES

    @property
    def text(self) -> str:
        return describe(self.model, self.scenario, self.preset)

    @property
    def permalink(self) -> str:
        return canonical_url(self.model, self.scenario)

    @property
    def worked(self) -> str:
        """The permalink opened at the step that settles the question."""
        return worked_link(self.model, self.scenario)


@dataclass(frozen=True)
class ExerciseSet:
    seed: int
    n: int
    model: str          # a model id, or "all"
    level: str
    questions: tuple[Question, ...]

    @property
    def query(self) -> str:
        return f"seed={self.seed}&n={self.n}&model={self.model}&level={self.level}"


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


def describe(mid: str, sc: Scenario, preset: str | None) -> str:
    """The question: its scenario in plain words, then what to predict."""
    ask = " What happens at the last access?" if len(sc.faults) > 1 else " What happens?"
    return plain(MODELS[mid].title.split(":")[0], mid, sc, preset) + ask


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
def _pool(model: str, level: str) -> dict[str, tuple]:
    """The candidates grouped by outcome letter, duplicates (same model and scenario) dropped."""
    pool: dict[str, list] = {}
    seen = set()
    for mid, sc, pid in _candidates(model, level):
        if (mid, sc) in seen:
            continue
        seen.add((mid, sc))
        letter = answer_class(mid, sc)
        if letter:
            pool.setdefault(letter, []).append((mid, sc, pid))
    return {k: tuple(v) for k, v in sorted(pool.items())}


def parse(args) -> tuple[int, int, str, str]:
    """(seed, n, model, level) from a mapping of strings; ExerciseError with one sentence if bad."""
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
    return int(seed_s), int(n_s), model, level


def generate(seed: int, n: int, model: str = "all", level: str = "basic") -> ExerciseSet:
    """n questions, taking outcome classes in a seeded order, round after round, so each class
    appears before any appears twice."""
    rng = random.Random(f"s2viz-exercises:{seed}:{model}:{level}")
    pool = {k: list(v) for k, v in _pool(model, level).items()}
    letters = list(pool)
    picked = []
    while len(picked) < n and any(pool.values()):
        rng.shuffle(letters)
        for letter in letters:
            if pool[letter] and len(picked) < n:
                picked.append(pool[letter].pop(rng.randrange(len(pool[letter]))) + (letter,))
    rng.shuffle(picked)
    qs = tuple(Question(i + 1, mid, sc, pid, letter) for i, (mid, sc, pid, letter) in enumerate(picked))
    return ExerciseSet(seed, n, model, level, qs)


def parse_answers(text: str, n: int) -> str:
    """The answer sheet: one letter per question (A-G, or '-' for none), at most n."""
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


# ---- exports ------------------------------------------------------------------------------------

def as_markdown(es: ExerciseSet, base: str = "") -> str:
    lines = [f"# s2viz exercises: seed {es.seed}, {es.n} questions ({es.model}, {es.level})", "",
             "For each scenario, pick the letter of what happens.", ""]
    lines += [f"- **{k}**: {v}" for k, v in CHOICES.items()]
    lines.append("")
    for q in es.questions:
        lines += [f"## Question {q.n}", "", q.text, "", "Answer: ____", ""]
    lines += ['<div style="page-break-before: always"></div>', "", "# Answers", ""]
    for q in es.questions:
        lines.append(f"{q.n}. **{q.answer}** ({SHORT[q.answer]}): worked answer {base}{q.worked}")
    lines += ["", f"Answer sheet: {''.join(q.answer for q in es.questions)}", ""]
    return "\n".join(lines)


def as_json(es: ExerciseSet, base: str = "") -> str:
    return json.dumps({
        "schema": 1, "seed": es.seed, "n": es.n, "model": es.model, "level": es.level, "choices": CHOICES,
        "questions": [{"n": q.n, "model": q.model, "question": q.text, "answer": q.answer,
                       "permalink": base + q.permalink, "worked": base + q.worked} for q in es.questions],
    }, indent=2) + "\n"


def _gift_escape(s: str) -> str:
    for ch in "\\~=#{}:":
        s = s.replace(ch, "\\" + ch)
    return s


def as_gift(es: ExerciseSet, base: str = "") -> str:
    """Moodle GIFT: one multiple-choice question each, the worked answer as the right answer's feedback."""
    out = [f"// s2viz exercises: seed {es.seed}, {es.n} questions ({es.model}, {es.level})", ""]
    for q in es.questions:
        out.append(f"::s2viz {es.seed} Q{q.n}::{_gift_escape(q.text)} {{")
        for k, v in CHOICES.items():
            mark = "=" if k == q.answer else "~"
            feedback = f"#{_gift_escape('Worked answer: ' + base + q.worked)}" if k == q.answer else ""
            out.append(f"  {mark}{_gift_escape(v)}{feedback}")
        out += ["}", ""]
    return "\n".join(out)


FORMATS = {"md": (as_markdown, "text/markdown"), "json": (as_json, "application/json"),
           "gift": (as_gift, "text/plain")}
