"""One scenario through every revision of the cacheable-PFNMAP series and the merged kernel (the
series view): per revision what it decides, the hazard it meets and where it decides it (a step of
that revision's permalink); between two revisions the change and the review that asked for it, and
whether this scenario's answer changed there. Pure: traces in, rows out; the same as JSON and as
mail-safe text."""
from __future__ import annotations

import textwrap

from ..permalink import canonical_query, canonical_url
from ..sim import SERIES
from ..sim import series as meta
from ..sim.scenario import Scenario
from ..sim.trace import Trace
from ..sim.units import size_text
from . import presenters, stage

WIDTH = 72


def rows(sc: Scenario, traces: dict[str, Trace]) -> list[dict]:
    """Per revision, in the order posted: its mail and base, and what it decides for sc."""
    return [_row(mid, sc, traces[mid]) for mid in SERIES]


def _row(mid: str, sc: Scenario, tr: Trace) -> dict:
    r = meta.revision(mid)
    total = len(tr.all_steps())
    out = {"model": mid, "label": r.label, "date": r.mail.date, "who": r.mail.who, "message_id": r.mail.message_id,
           "mail": r.mail.link, "subject": r.subject, "base": r.base, "modelled_on": r.modelled_on,
           "changes": r.changes, "permalink": canonical_url(mid, sc),
           "also": [{"date": m.date, "message_id": m.message_id, "mail": m.link, "says": m.says} for m in r.also],
           "cap": {"number": tr.cap_number, "result": tr.cap_cacheable_pfnmap}}
    refused = tr.memslot.result != "ok"
    at = stage.memslot_reveal(tr)
    out["memslot"] = {"result": tr.memslot.result, "ok": not refused,
                      "decided": _decided(mid, sc, tr, at, total) if refused else None}
    firsts = _fault_starts(tr)
    faults = []
    for i, f in enumerate(tr.faults):
        v = presenters.fault_verdict(f)
        cell = {"n": i + 1, "access": f.access, "ipa": f"{f.ipa:#x}", "outcome": f.outcome, "errno": f.errno,
                "inject": f.inject, "ok": v.ok, "headline": v.headline, "short": short(f),
                "memtype": presenters.MEMTYPE_NAMES.get(f.s2.memtype, "") if f.s2 else "",
                "hazard": f.hazard, "decided": None}
        if f.outcome == "not_run":
            cell["decided"] = out["memslot"]["decided"]
        elif f.decider is not None:
            cell["decided"] = _decided(mid, sc, tr, firsts[i] + f.decider + 1, total)
        faults.append(cell)
    out["faults"] = faults
    out["hazards"] = [f["hazard"] for f in faults if f["hazard"]]
    out["answer"] = answer(tr)
    return out


def _fault_starts(tr: Trace) -> list[int]:
    """Per fault, how many steps of the trace (as the page counts them) come before its first."""
    n = len(tr.memslot.steps) + len(tr.capability.steps)
    out = []
    for f in tr.faults:
        out.append(n)
        n += len(f.steps)
    return out


def _decided(mid: str, sc: Scenario, tr: Trace, n: int, total: int) -> dict:
    """The step at position n (1-based) of mid's trace: its permalink and where its code is."""
    _, s = tr.all_steps()[n - 1]
    where = f"{s.file}:{s.lines[0]}" if s.lines[0] else s.file
    return {"step": n, "href": canonical_url(mid, sc, n if n < total else None), "func": s.func, "where": where,
            "id": s.id}


def short(f) -> str:
    """A fault's answer in a few words."""
    if f.outcome in ("map", "relax") and f.s2:
        return f"{f.outcome} {presenters.MEMTYPE_NAMES[f.s2.memtype]} {f.s2.perm} {size_text(f.s2.size)}"
    if f.outcome == "run_error":
        return f"KVM_RUN fails {f.errno}"
    if f.outcome == "inject":
        return f"{f.inject} injected"
    return {"not_run": "not run", "no_fault": "no fault", "exit_mmio": "MMIO exit", "exit_nisv": "NISV exit",
            "resume": "resumed"}.get(f.outcome, f.outcome)


def answer(tr: Trace) -> tuple:
    """What a revision decides for the scenario, as two rows are compared: the memslot, the
    capability's answer, each fault's outcome and leaf, and the hazards met."""
    return (tr.memslot.result, tr.cap_cacheable_pfnmap,
            tuple((f.outcome, f.errno, f.inject, f.s2 and (f.s2.memtype, f.s2.perm, f.s2.size),
                   f.hazard and f.hazard["key"]) for f in tr.faults))


def between(sc: Scenario, rows_: list[dict]) -> list[dict]:
    """Between each two revisions: what changed, the review that asked for it, and whether this
    scenario's answer changed there (with the comparison's address)."""
    query = canonical_query(sc)
    out = []
    for a, b in zip(rows_, rows_[1:], strict=False):
        step = meta.between(a["model"], b["model"])
        out.append({"from": a["model"], "to": b["model"], "from_label": a["label"], "to_label": b["label"],
                    "change": step.change, "differs": a["answer"] != b["answer"],
                    "compare": f"/{a['model']}..{b['model']}/" + (f"?{query}" if query else ""),
                    "review": [{"who": m.who, "date": m.date, "message_id": m.message_id, "mail": m.link,
                                "says": m.says} for m in step.review]})
    return out


def as_json(sc: Scenario, rows_: list[dict], canonical: str) -> dict:
    """The series view as JSON (additive to schema 1)."""
    keep = ("model", "label", "date", "who", "message_id", "mail", "subject", "base", "modelled_on", "changes",
            "permalink", "also", "cap", "memslot", "faults", "hazards")
    return {"schema": 1, "canonical": canonical, "query": canonical_query(sc),
            "revisions": [{k: r[k] for k in keep} for r in rows_], "between": between(sc, rows_)}


def as_text(sc: Scenario, rows_: list[dict], title: str, url: str) -> str:
    """The series view as mail-safe text: ASCII, at most 72 columns, the permalink alone on the
    last line. Mails are named by Message-ID; https://lore.kernel.org/r/<Message-ID> opens one."""
    out = _wrap(f"s2viz series: {title}") + [""]
    out += _wrap("One scenario on every revision of \"KVM: arm64: Allow cacheable stage 2 mapping using VMA "
                 "flags\" and on v6.17. Mails by Message-ID: https://lore.kernel.org/r/<Message-ID>.")
    steps = {(s["from"], s["to"]): s for s in between(sc, rows_)}
    for i, r in enumerate(rows_):
        out.append("")
        out += _wrap(f"{r['label']} ({r['date']}, over {r['base']}; modelled on {r['modelled_on']})")
        out += _wrap(f"<{r['message_id']}>", 2)
        for m in r["also"]:
            out += _wrap(f"also {m['date']} <{m['message_id']}>: {m['says']}", 2)
        out += _wrap(f"memslot: {r['memslot']['result']}; KVM_CHECK_EXTENSION({r['cap']['number']}): "
                     f"{r['cap']['result']}", 2)
        if r["memslot"]["decided"]:
            out += _wrap(f"refused by {_where(r['memslot']['decided'])}", 4)
        for f in r["faults"]:
            if f["outcome"] == "not_run":
                continue
            out += _wrap(f"fault {f['n']} ({f['access']} at {f['ipa']}): {f['short']}", 2)
            if f["decided"]:
                out += _wrap(f"decided by {_where(f['decided'])}", 4)
            if f["hazard"]:
                hz = f["hazard"]
                out += _wrap(f"HAZARD ({hz['kind'].replace('_', ' ')}): {hz['key'].replace('_', ' ')}", 4)
        if i + 1 < len(rows_):
            step = steps[(r["model"], rows_[i + 1]["model"])]
            out.append("")
            verb = "the answer here changes" if step["differs"] else "same answer here"
            out += _wrap(f"{r['label']} -> {rows_[i + 1]['label']} ({verb}): {step['change']}", 2)
            for m in step["review"]:
                out += _wrap(f"{m['who']}, {m['date']}: {m['says']} <{m['message_id']}>", 4)
    out += ["", url]
    return "\n".join(out).encode("ascii", "replace").decode("ascii") + "\n"


def _where(d: dict) -> str:
    return f"{d['func']}() at {d['where']}" if ":" in d["where"] else d["func"]


def _wrap(text: str, indent: int = 0) -> list[str]:
    pad = " " * indent
    return textwrap.wrap(text, WIDTH, initial_indent=pad, subsequent_indent=pad + "  ",
                         break_long_words=True, break_on_hyphens=False) or [""]
