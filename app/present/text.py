"""A trace as mail-safe plain text: ASCII, no tabs, lines of at most 72 columns."""
from __future__ import annotations

import textwrap

from ..sim.sources import in_patch_hunk, patch
from ..sim.steps import in_mail
from ..sim.trace import EventResult, FaultResult, Step, Trace, decisive_step
from ..sim.units import size_text

WIDTH = 72


def render(tr: Trace, title: str, url: str) -> str:
    """In the VMM's order: the capability query, the memslot, then each access's KVM_RUN."""
    out = _wrap(f"s2viz {tr.model}: {title}") + [""]
    out += _wrap(f"KVM_CHECK_EXTENSION({tr.cap_number}) on the VM fd -> {tr.cap_cacheable_pfnmap}")
    if len(tr.slots) > 1:
        out += _slots(tr)
    else:
        out += _wrap(f"memslot: KVM_SET_USER_MEMORY_REGION -> {tr.memslot.result}")
        for s in tr.memslot.steps:
            if in_mail(s):
                out += _step(s, tr.model)
    for kind, i in tr.items or [("fault", i) for i in range(len(tr.faults))]:
        out.append("")
        out += _fault(i + 1, tr.faults[i], tr) if kind == "fault" else _event(i + 1, tr.events[i], tr)
    out += ["", url]
    text = "\n".join(out) + "\n"
    return text.encode("ascii", "replace").decode("ascii")


def _slots(tr: Trace) -> list[str]:
    """A layout's memslots in the VMM's order, each with its answer and the steps that decided it."""
    out = []
    for a in tr.slots:
        slot = tr.layout.slots[a.slot - 1]
        answer = "not made: QEMU aborted at an earlier slot" if a.result == "not_run" else a.result
        out += _wrap(f"memslot {a.slot} (IPA {slot.gpa:#x} +{size_text(slot.size)}, {len(slot.vmas)} VMA"
                     f"{'' if len(slot.vmas) == 1 else 's'}): KVM_SET_USER_MEMORY_REGION -> {answer}")
        for s in tr.memslot.steps[a.first:a.end]:
            if in_mail(s):
                out += _step(s, tr.model)
    return out


def render_compare(ta: Trace, tb: Trace, pairs: list, first: int | None, title: str, url: str) -> str:
    """Two models on one scenario: where they first decide differently, each verdict, and every
    step pair that differs. pairs: (phase, step of a or None, step of b or None, same)."""
    a, b = ta.model, tb.model
    out = _wrap(f"s2viz {a} vs {b}: {title}") + [""]
    if first is None:
        out += _wrap("Both kernels decide the same at every step.")
    else:
        phase, sa, sb, _ = pairs[first]
        out += _wrap(f"They first decide differently in the {phase} phase:")
        out += _side(a, sa) + _side(b, sb)
    out += ["", "verdicts:"]
    out += _wrap(f"memslot: {a} {ta.memslot.result}, {b} {tb.memslot.result}", 2)
    for sa, sb in zip(ta.slots, tb.slots, strict=False) if len(ta.slots) > 1 else ():
        out += _wrap(f"memslot {sa.slot}: {a} {sa.result}, {b} {sb.result}", 4)
    for i, (fa, fb) in enumerate(zip(ta.faults, tb.faults, strict=False), 1):
        out += _wrap(f"fault {i} ({fa.access} at {fa.ipa:#x}):", 2)
        for model, f in ((a, fa), (b, fb)):
            out += _wrap(f"{model}: {_verdict(f)}", 4)
            s = decisive_step(f)
            if s is not None:
                out += _wrap(f"decided by {s.func}() at {s.file}:{s.lines[0]}" if s.lines[0] else
                             f"decided by {s.func}", 6)
    # A decision differs when both kernels take the step and decide otherwise; a step only one of
    # them takes is listed apart, by phase.
    differing = [(p, x, y) for p, x, y, same in pairs
                 if not same and x and y and (in_mail(x) or in_mail(y))]
    if differing:
        out += ["", "the decisions that differ:"]
        for phase, sa, sb in differing[:12]:
            out += _wrap(f"[{phase}]", 2) + _side(a, sa, 4) + _side(b, sb, 4)
        if len(differing) > 12:
            out += _wrap(f"... and {len(differing) - 12} more; the link shows them all.", 2)
    only = _only_one_side(pairs, a, b)
    if only:
        out += ["", "decisions only one kernel takes:"]
        for line in only:
            out += _wrap(line, 2)
    out += ["", url]
    return "\n".join(out).encode("ascii", "replace").decode("ascii") + "\n"


def _only_one_side(pairs: list, a: str, b: str) -> list[str]:
    """Per phase and kernel, the decisive steps that only that kernel takes."""
    counts: dict[tuple[str, str], list[str]] = {}
    for phase, x, y, _ in pairs:
        if (x is None) == (y is None):
            continue
        model, s = (a, x) if y is None else (b, y)
        if in_mail(s):
            counts.setdefault((phase, model), []).append(f"{s.func}()")
    return [f"[{phase}] only {model}: " + ", ".join(dict.fromkeys(funcs))
            for (phase, model), funcs in counts.items()]


def _side(model: str, s: Step | None, indent: int = 2) -> list[str]:
    if s is None:
        return _wrap(f"{model}: takes no such step", indent)
    where = f"{s.file}:{s.lines[0]}" if s.lines[0] else s.file
    return _wrap(f"{model}: {where} {s.func}()", indent) + _wrap(s.text, indent + 2)


def _fault(i: int, f: FaultResult, tr: Trace) -> list[str]:
    mods = "".join("." + m for m in f.mods)
    where = "" if len(tr.slots) <= 1 else f" (memslot {f.slot})" if f.slot else " (no memslot)"
    refused = next((a.slot for a in tr.slots if a.result not in ("ok", "not_run")), None)
    verdict = _verdict(f) if f.outcome != "not_run" or len(tr.slots) <= 1 else \
        f"never runs: the VM never started (memslot {refused} was refused)"
    head = f"fault {i}: {f.access}{mods} at {f.ipa:#x}{where} -> {verdict}"
    out = _wrap(head)
    hz = f.hazard
    if hz:
        where = hz["where"]
        at = f" at {where['func']}() ({where['file']}:{where['lines'][0]})" if where else ""
        out += _wrap(f"HOST HAZARD: {hz['kind'].replace('_', ' ')}{at}. {hz['why']}", 2)
        if hz["fixed_by"]:
            out += _wrap(f"fixed by: {hz['fixed_by']}", 4)
    if f.fsc:
        out += _wrap(f"{f.fsc.replace('_', ' ')} fault at level {f.level}, ESR_EL2 {f.esr:#010x}", 2)
    for s in f.steps:
        if in_mail(s):
            out += _step(s, tr.model)
    if f.s2:
        out += _wrap(f"stage 2: {f.s2.memtype}, MemAttr {f.s2.memattr:#x}, {f.s2.perm}, {_leaf_words(f, tr)}, "
                     f"desc {f.s2.pte:#018x}", 2)
    if f.effective:
        forced = " (forced by FWB)" if f.effective["forced_by_fwb"] else ""
        out += _wrap(f"guest access: {f.effective['type']}{forced}", 2)
    return out


EVENT_WORDS = {"unmap": "the VMM unmaps", "replace": "the VMM maps the same object again over",
               "age": "the host ages", "logon": "dirty logging on", "logoff": "dirty logging off",
               "delslot": "the memslot is deleted"}
CHANGE_WORDS = (("unmapped", "leaf unmapped", "leaves unmapped"), ("freed", "table freed", "tables freed"),
                ("aged", "leaf aged", "leaves aged"), ("wrprotected", "leaf write-protected", "leaves write-protected"))


def _event(i: int, e: EventResult, tr: Trace) -> list[str]:
    what = EVENT_WORDS[e.kind]
    if e.ipa is not None:
        what += f" IPA {e.ipa:#x} +{size_text(e.size)}"
    out = _wrap(f"event {i} (after {e.after} fault{'s' if e.after != 1 else ''}): {what} -> {_event_answer(e)}")
    hz = e.hazard
    if hz:
        where = hz["where"]
        at = f" at {where['func']}() ({where['file']}:{where['lines'][0]})" if where else ""
        out += _wrap(f"HOST HAZARD: {hz['kind'].replace('_', ' ')}{at}. {hz['why']}", 2)
    for s in e.steps:
        if in_mail(s):
            out += _step(s, tr.model)
    return out


def _event_answer(e: EventResult) -> str:
    if e.result == "not_run":
        return "never happens: the memslot was never registered"
    if e.result != "ok":
        return f"KVM_SET_USER_MEMORY_REGION fails {e.result}, the slot keeps its flags"
    changes = dict(e.changes)
    parts = [f"{n} {one if n == 1 else many}" for key, one, many in CHANGE_WORDS if (n := changes.get(key))]
    tlb = dict(e.cmo).get("tlb") == "done"
    return (", ".join(parts) or "stage 2 unchanged") + ("; TLBs invalidated" if tlb else "") + (
        "; HOST HAZARD: " + e.hazard["kind"].replace("_", " ") if e.hazard else "")


def _leaf_words(f: FaultResult, tr: Trace) -> str:
    """The mapping's leaves: one, or how many of which kind when a block could not be used."""
    page_shift = tr.geometry["page_shift"]
    each = 1 << ((page_shift - 3) * (3 - f.s2.level) + page_shift)
    if f.s2.size <= each:
        return f"{f.s2.size:#x} bytes at level {f.s2.level}"
    kind = "page" if f.s2.level == 3 else "block"
    return f"{f.s2.size // each} {kind} descriptors at level {f.s2.level} ({f.s2.size:#x} bytes)"


OUTCOME_TEXT = {
    "not_run": "never runs: no memslot, its registration failed",
    "no_fault": "no stage-2 fault",
    "exit_mmio": "KVM_RUN exits to the VMM with KVM_EXIT_MMIO",
    "exit_nisv": "KVM_RUN exits to the VMM with KVM_EXIT_ARM_NISV",
    "resume": "the guest resumes",
}


def _verdict(f: FaultResult) -> str:
    return _answer(f) + (f"; HOST HAZARD: {f.hazard['kind'].replace('_', ' ')}" if f.hazard else "")


def _answer(f: FaultResult) -> str:
    if f.outcome in ("map", "relax") and f.s2:
        return f"{f.outcome} {f.s2.memtype} {f.s2.perm} {f.s2.size:#x}"
    if f.outcome == "run_error":
        return f"KVM_RUN fails {f.errno}"
    if f.outcome == "inject":
        return f"{f.inject} injected into the guest"
    return OUTCOME_TEXT.get(f.outcome, f.outcome)


def _step(s: Step, model: str | None = None) -> list[str]:
    where = f"{s.file}:{s.lines[0]}" if s.lines[0] else s.file
    p = patch(model) if model else None
    if p is not None and s.lines[0]:
        where += " (the patch's lines)" if in_patch_hunk(model, s.id) else f" ({p['base']} lines)"
    return _wrap(f"{where} {s.func}()", 2) + _wrap(s.text, 4)


def _wrap(text: str, indent: int = 0) -> list[str]:
    pad = " " * indent
    return textwrap.wrap(text, WIDTH, initial_indent=pad, subsequent_indent=pad + "  ",
                         break_long_words=True, break_on_hyphens=False) or [""]
