"""Two traces side by side, aligned by decision point, and one scenario across every model. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from ..sim import backing_pa
from ..sim.scenario import Scenario
from ..sim.trace import Step, Trace
from . import presenters
from .text import render_compare
from .timeline import trace_geometry


@dataclass(frozen=True)
class Row:
    phase: str
    a: presenters.StepView | None
    b: presenters.StepView | None
    same: bool
    moved: bool = False    # the same decision (step id) at another place in the kernels' order


def align(ta: Trace, tb: Trace) -> tuple[list[Row], int | None]:
    """Rows pairing the steps of two traces by decision point (step id), phase by phase, and the
    index of the first row where the kernels decide differently (None if they never do). A step
    both kernels take in a different order (v7.1's refactor moved prot before the lock) is paired
    where the first of them comes, marked as moved, rather than shown as taken by one kernel only."""
    sa, sb = presenters.steps(ta), presenters.steps(tb)
    rows: list[Row] = []
    for phase in _phases(sa, sb):
        xa = [s for s in sa if s.phase == phase]
        xb = [s for s in sb if s.phase == phase]
        ids_a, ids_b = [s.step.id for s in xa], [s.step.id for s in xb]
        part: list[Row] = []
        for op, i1, i2, j1, j2 in SequenceMatcher(a=ids_a, b=ids_b, autojunk=False).get_opcodes():
            if op == "equal":
                part += [Row(phase, x, y, _same(x.step, y.step)) for x, y in zip(xa[i1:i2], xb[j1:j2], strict=False)]
            else:
                for k in range(max(i2 - i1, j2 - j1)):
                    x = xa[i1 + k] if i1 + k < i2 else None
                    y = xb[j1 + k] if j1 + k < j2 else None
                    same = x is not None and y is not None and x.step.id == y.step.id and _same(x.step, y.step)
                    part.append(Row(phase, x, y, same))
        rows += _pair_moved(part)
    first = next((i for i, r in enumerate(rows) if not r.same), None)
    return rows, first


def _pair_moved(rows: list[Row]) -> list[Row]:
    """Join a step one side takes with the same step the other side takes elsewhere in the phase."""
    out = list(rows)
    for i, r in enumerate(out):
        if r is None or (r.a is None) == (r.b is None) or (r.a is not None and r.b is not None):
            continue
        mine = r.a or r.b
        for j in range(i + 1, len(out)):
            o = out[j]
            if o is None:
                continue
            theirs = o.b if r.a is not None else o.a
            alone = (o.a is None) if r.a is not None else (o.b is None)
            if theirs is not None and alone and theirs.step.id == mine.step.id:
                a, b = (mine, theirs) if r.a is not None else (theirs, mine)
                out[i] = Row(r.phase, a, b, _same(a.step, b.step), moved=True)
                out[j] = None if (o.a is None or o.b is None) else o
                break
    return [r for r in out if r is not None]


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
    """Two steps decide the same if they are the same decision point and decide the same values,
    whatever the kernel calls them (v6.17's s2_force_noncacheable is v7.1's map_non_cacheable) and
    however the sentence words them."""
    return a.id == b.id and [v for _, v in a.vars] == [v for _, v in b.vars]


def fault_diff(ta: Trace, tb: Trace) -> list[dict]:
    """Per fault: both verdicts, what differs between them (size and level, memory type, hazard,
    the guest's result), and the leaf descriptors field by field."""
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
                    "differs": differences(fa, fb), "fields": fields})
    return out


def differences(fa, fb) -> list[str]:
    """What two models' answers to one access differ in, in words."""
    out = []
    sa, sb = fa.s2, fb.s2
    if (sa and (sa.size, sa.level)) != (sb and (sb.size, sb.level)):
        out.append("size and level")
    types = [(f.s2 and f.s2.memtype, (f.effective or {}).get("type")) for f in (fa, fb)]
    if types[0] != types[1]:
        out.append("memory type")
    if (fa.hazard or {}).get("kind") != (fb.hazard or {}).get("kind"):
        out.append("host hazard")
    if (fa.guest_result or {}).get("kind") != (fb.guest_result or {}).get("kind"):
        out.append("what the guest then sees")
    if (fa.outcome, fa.errno, fa.inject) != (fb.outcome, fb.errno, fb.inject):
        out.insert(0, "KVM's answer")
    return out


def memslot_leaves(ta: Trace, tb: Trace, sc: Scenario) -> list[dict]:
    """Every leaf either model installed by the last fault, side by side, with whether its PA is the
    memory the VMA maps at that IPA (for a udmabuf, the buffer page; else the IPA's own backing)."""
    rows: dict[tuple[int, int], dict] = {}
    for side, tr in (("a", ta), ("b", tb)):
        for leaf in tr.leaves:
            row = rows.setdefault((leaf.ipa, leaf.level), {"ipa": leaf.ipa, "level": leaf.level})
            row[side] = leaf
    out = []
    for _, row in sorted(rows.items()):
        for side, tr in (("a", ta), ("b", tb)):
            leaf = row.get(side)
            row[side + "_own"] = None if leaf is None else owns(leaf, sc, trace_geometry(tr).addr_mask())
        row["same"] = (row.get("a") and row["a"].pte) == (row.get("b") and row["b"].pte)
        out.append(row)
    return out


def owns(leaf, sc: Scenario, addr_mask: int) -> bool:
    """Whether a leaf maps the host memory the VMA has at its IPA: every page of it, for a backing
    whose pages are scattered; its base, for one that is contiguous."""
    base = leaf.pte & addr_mask
    if sc.has_layout:                       # every VMA the leaf covers must have its memory there
        end = leaf.ipa + leaf.size
        return all(backing_pa(a, sc.at(a)) == base + a - leaf.ipa
                   for a in {max(v.start, leaf.ipa) for v in sc.layout.vmas if v.start < end and leaf.ipa < v.end})
    if sc.mem != "sg":
        return backing_pa(leaf.ipa, sc) == base
    return all(backing_pa(leaf.ipa + off, sc) == base + off for off in range(0, leaf.size, sc.page_size))


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
    return {"ok": v.ok, "text": v.headline, "memtype": memtype, "where": where,
            "hazard": v.hazard_words, "guest": (f.guest_result or {}).get("kind", "").replace("_", " ")}
