"""Exercise sets as files for a course platform: Markdown (the answers on a page of their own),
JSON, and Moodle GIFT. Every answer comes with its paragraph on why and its worked answer (the
trace at the step that decides it)."""
from __future__ import annotations

import json

from .exercises import CHOICES, SAFE, ExerciseSet


def _legend(es: ExerciseSet) -> list[str]:
    out = []
    for kind in es.kinds:
        q = next(q for q in es.questions if q.kind == kind)
        out += [f"{'What happens?' if kind == 'outcome' else 'Is this safe for the host?'} (questions that ask it)", ""]
        out += [f"- **{k}**: {v}" for k, v in q.choices.items()]
        out.append("")
    return out


def as_markdown(es: ExerciseSet, base: str = "") -> str:
    lines = [f"# s2viz exercises: seed {es.seed}, {es.n} questions ({es.model}, {es.level}, {es.ask})", "",
             "For each scenario, pick the letter of the answer.", ""]
    lines += _legend(es)
    for q in es.questions:
        lines += [f"## Question {q.n}", "", q.text, "", "Answer: ____", ""]
    lines += ['<div style="page-break-before: always"></div>', "", "# Answers", ""]
    for q in es.questions:
        lines += [f"{q.n}. **{q.answer}** ({q.short[q.answer]}): {q.explanation} Worked answer: {base}{q.worked}", ""]
    lines += [f"Answer sheet: {''.join(q.answer for q in es.questions)}", ""]
    return "\n".join(lines)


def as_json(es: ExerciseSet, base: str = "") -> str:
    return json.dumps({
        "schema": 1, "seed": es.seed, "n": es.n, "model": es.model, "level": es.level, "ask": es.ask,
        "choices": CHOICES, "safe_choices": SAFE,
        "questions": [{"n": q.n, "kind": q.kind, "model": q.model, "question": q.text, "answer": q.answer,
                       "why": q.explanation, "permalink": base + q.permalink, "worked": base + q.worked}
                      for q in es.questions],
    }, indent=2) + "\n"


def _gift_escape(s: str) -> str:
    for ch in "\\~=#{}:":
        s = s.replace(ch, "\\" + ch)
    return s


def as_gift(es: ExerciseSet, base: str = "") -> str:
    """Moodle GIFT: one multiple-choice question each; the right answer's feedback is why, and the
    worked answer."""
    out = [f"// s2viz exercises: seed {es.seed}, {es.n} questions ({es.model}, {es.level}, {es.ask})", ""]
    for q in es.questions:
        out.append(f"::s2viz {es.seed} Q{q.n}::{_gift_escape(q.text)} {{")
        for k, v in q.choices.items():
            mark = "=" if k == q.answer else "~"
            why = f"{q.explanation} Worked answer: {base}{q.worked}"
            feedback = f"#{_gift_escape(why)}" if k == q.answer else ""
            out.append(f"  {mark}{_gift_escape(v)}{feedback}")
        out += ["}", ""]
    return "\n".join(out)


FORMATS = {"md": (as_markdown, "text/markdown"), "json": (as_json, "application/json"),
           "gift": (as_gift, "text/plain")}
