"""Two traces side by side, aligned by decision point, and one scenario across every model. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from ..sim.trace import Step, Trace
from . import presenters
from .text import render_compare


@dataclass(frozen=True)
class Row:
    phase: str
    a: presenters.StepView | None
    b: presenters.StepView | None
    same: bool


def align(ta: Trace, tb: Trace) -> tuple[list[Row], int | None]:
    """Rows pairing the steps of two traces by decision point (step id), phase by phase, and the
    index of the first row where the kernels decide differently (None if they never do)."""
    sa, sb = presenters.steps(ta), presenters.steps(tb)
    rows: list[Row] = []
    for phase in _phases(sa, sb):
        xa = [s for s in sa if s.phase == phase]
        xb = [s for s in sb if s.phase == phase]
        ids_a, ids_b = [s.step.id for s in xa], [s.step.id for s in xb]
        for op, i1, i2, j1, j2 in SequenceMatcher(a=ids_a, b=ids_b, autojunk=False).get_opcodes():
            if op == "equal":
                rows += [Row(phase, x, y, _same(x.step, y.step)) for x, y in zip(xa[i1:i2], xb[j1:j2], strict=False)]
            else:
                for k in range(max(i2 - i1, j2 - j1)):
                    x = xa[i1 + k] if i1 + k < i2 else None
                    y = xb[j1 + k] if j1 + k < j2 else None
                    same = x is not None and y is not None and x.step.id == y.step.id and _same(x.step, y.step)
                    rows.append(Row(phase, x, y, same))
    first = next((i for i, r in enumerate(rows) if not r.same), None)
    return rows, first


def as_text(ta: Trace, tb: Trace, title: str, url: str) -> str:
    """The comparison as mail-safe plain text (text.render_compare over the alignment)."""
    rows, first = align(ta, tb)
    pairs = [(r.phase, r.a and r.a.step, r.b and r.b.step, r.same) for r in rows]
    return render_compare(ta, tb, pairs, first, title, url)


def _phases(sa, sb) -> list[str]:
    seen: list[str] = []
    for s in [*sa, *sb]:
        if s.phase not in seen:
            seen.append(s.phase)
    return seen


def _same(a: Step, b: Step) -> bool:
    """Two steps decide the same if they say the same, apart from where the code lives."""
    return a.id == b.id and a.text == b.text and a.vars == b.vars


def fault_diff(ta: Trace, tb: Trace) -> list[dict]:
    """Per fault: both verdicts and the leaf descriptors field by field."""
    out = []
    for i, (fa, fb) in enumerate(zip(ta.faults, tb.faults, strict=False)):
        fields = []
        if fa.s2 or fb.s2:
            da = presenters.descriptor(fa.s2.pte) if fa.s2 else []
            db = presenters.descriptor(fb.s2.pte) if fb.s2 else []
            names = [f["name"] for f in (da or db) if f["name"] != "-"]
            for name in names:
                va = next((f["shown"] for f in da if f["name"] == name), "-")
                vb = next((f["shown"] for f in db if f["name"] == name), "-")
                fields.append({"name": name, "a": va, "b": vb, "same": va == vb})
        out.append({"n": i + 1, "a": presenters.fault_verdict(fa), "b": presenters.fault_verdict(fb),
                    "same": (fa.outcome, fa.errno, fa.inject, fa.s2 and fa.s2.pte) ==
                            (fb.outcome, fb.errno, fb.inject, fb.s2 and fb.s2.pte),
                    "fields": fields})
    return out


def matrix_cell(tr: Trace, fault_index: int | None) -> dict:
    """One cell of the every-model matrix: memslot (fault_index None) or one fault."""
    if fault_index is None:
        ok = tr.memslot.result == "ok"
        return {"ok": ok, "text": "registered" if ok else f"refused {tr.memslot.result}",
                "where": "" if ok else "memslot registration"}
    f = tr.faults[fault_index]
    v = presenters.fault_verdict(f)
    memtype = presenters.MEMTYPE_NAMES.get(f.s2.memtype, "") if f.s2 else ""
    where = {"run_error": "fault time (KVM_RUN)", "not_run": "memslot registration",
             "inject": "fault time (guest abort)"}.get(f.outcome, "")
    return {"ok": v.ok, "text": v.headline, "memtype": memtype, "where": where}
