"""Trace -> what the page shows: verdicts in words, descriptor fields, walk rows. Pure functions."""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..sim import hazards
from ..sim.hw.pgtable import DESC_FIELDS
from ..sim.sources import ARCH, patch, tag
from ..sim.trace import FaultResult, Step, Trace, decisive_step, worst_hazard
from ..sim.units import size_text

MEMTYPE_NAMES = {"normal": "Normal", "normal_nc": "Normal Non-cacheable", "device_nGnRE": "Device-nGnRE",
                 "normal_wb": "Normal Write-Back", "normal_wt": "Normal Write-Through",
                 "device_nGnRnE": "Device-nGnRnE", "device_nGRE": "Device-nGRE", "device_GRE": "Device-GRE"}
ERRNO_TEXT = {"-EFAULT": "Bad address", "-EINVAL": "Invalid argument", "-ENOSYS": "Function not implemented",
              "-EPERM": "Operation not permitted"}
FIELD_MEANING = {
    "XN": "Execute-never: 0b00 lets the guest execute, bit 54 set forbids it",
    "OA": "Output address: the host physical page or block",
    "AF": "Access flag: KVM always sets it",
    "SH": "Shareability: 0b11 inner shareable (omitted with LPA2)",
    "S2AP": "Stage-2 access permissions: bit 6 read, bit 7 write",
    "MemAttr": "Stage-2 memory type; its meaning depends on HCR_EL2.FWB",
    "Type": "1: page (level 3) or table, 0: block",
    "Valid": "1: the descriptor is valid",
}


HAZARD_WORDS = {"host_oops": "Host oops", "foreign_memory": "Foreign host memory", "lock_leak": "Lock leaked",
                "ref_leak": "Page reference leaked", "ref_imbalance": "Page reference imbalance",
                "stale_data": "Stale data", "livelock": "Livelock", "regression": "Regression"}


@dataclass(frozen=True)
class StepView:
    n: int                 # 1-based position in the whole trace
    phase: str             # "memslot", "cap", "fault N" or "event N"
    fault: int | None      # 0-based fault index, None for memslot/capability/events
    step: Step
    href: str              # Elixir link to the source lines, "" for architectural steps
    source_note: str = ""  # what href points at, in words
    hazard: str = ""       # the hazard this step causes, in words ("" for none)
    event: int | None = None   # 0-based event index, for an event's steps

    @property
    def label(self) -> str:
        a, b = self.step.lines
        return f"{self.step.file}:{a}–{b}"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    headline: str
    where: str
    vmm: str
    guest: str
    check: str
    hazard: dict | None = None     # the most serious host-safety hazard (FaultResult.hazard)
    guest_then: str = ""           # what the guest's instruction then does (the guest.result step)
    decided_n: int | None = None   # 1-based position of the deciding step, when known

    @property
    def hazard_words(self) -> str:
        return HAZARD_WORDS.get(self.hazard["kind"], self.hazard["kind"]) if self.hazard else ""

    @property
    def hazard_label(self) -> str:
        """What the hazard line calls it: a host-safety hazard, or a regression (a refusal of what the
        kernel before allowed, which endangers nothing but the VM's use)."""
        return "Regression" if self.hazard and self.hazard["kind"] == "regression" else "Host hazard"


def steps(tr: Trace) -> list[StepView]:
    out = []
    marks = _hazard_marks(tr)
    for phase, s in tr.all_steps():
        index = int(phase.split()[1]) - 1 if phase.startswith(("fault", "event")) else None
        fault = index if phase.startswith("fault") else None
        event = index if phase.startswith("event") else None
        n = len(out) + 1
        out.append(StepView(n, phase, fault, s, *source_link(tr.model, s), hazard=marks.get(n, ""), event=event))
    return out


def phase_starts(tr: Trace) -> dict[tuple[str, int], int]:
    """The 1-based position of the first step of each fault and event: ("fault", i) / ("event", i)."""
    n = len(tr.memslot.steps) + len(tr.capability.steps)
    out = {}
    for kind, i in tr.items or [("fault", i) for i in range(len(tr.faults))]:
        out[(kind, i)] = n + 1
        n += len((tr.faults if kind == "fault" else tr.events)[i].steps)
    return out


def _hazard_marks(tr: Trace) -> dict[int, str]:
    """Trace position -> the hazard the step there causes, in words."""
    out = {}
    for (kind, i), first in phase_starts(tr).items():
        item = tr.faults[i] if kind == "fault" else tr.events[i]
        for key, at in item.hazards:
            if at is not None:
                out[first + at] = HAZARD_WORDS[hazards.CATALOGUE[key].kind]
    return out


def source_link(model: str, s: Step) -> tuple[str, str]:
    """(link, what it points at in words) for a step's source: Elixir at the model's tag; for a
    patch, its hunks on lore and the rest at the base tag, whose lines the step shows."""
    if s.id in ARCH or not s.lines[0]:
        return "", ""
    p = patch(model)
    if p is None:
        return (f"https://elixir.bootlin.com/linux/{tag(model)}/source/{s.file}#L{s.lines[0]}-L{s.lines[1]}",
                f"the lines at {tag(model)} on Elixir")
    if s.id in p["hunks"]:
        return (p.get("mails", {}).get(s.id, p["lore"]),
                f"inside the patch: lines as patched onto {p.get('posted_over', p['base'])}; the link opens the "
                "patch on lore")
    return (f"https://elixir.bootlin.com/linux/{p['base']}/source/{s.file}#L{s.lines[0]}-L{s.lines[1]}",
            f"the patch does not touch this code: {p['base']}'s lines on Elixir")


def source_href(model: str, s: Step) -> str:
    return source_link(model, s)[0]


def source_title(model: str, s: Step) -> str:
    return source_link(model, s)[1]


def memslot_verdict(tr: Trace) -> Verdict | None:
    if tr.memslot.result == "ok":
        return None
    check = tr.memslot.steps[-1] if tr.memslot.steps else None
    refused = next((a for a in tr.slots if a.result not in ("ok", "not_run")), None) if len(tr.slots) > 1 else None
    if refused is not None:
        gpa = tr.layout.slots[refused.slot - 1].gpa
        return Verdict(False, f"Memslot {refused.slot} (IPA {gpa:#x}) refused: KVM_SET_USER_MEMORY_REGION fails "
                              f"with {tr.memslot.result}", "at its registration, before the guest runs",
                       f"the ioctl returns {tr.memslot.result} ({ERRNO_TEXT.get(tr.memslot.result, '')}): QEMU "
                       "aborts, so no slot after it is registered and no fault is ever taken",
                       "nothing: the VM never starts", _check(check))
    return Verdict(False, f"Memslot refused: KVM_SET_USER_MEMORY_REGION fails with {tr.memslot.result}",
                   "at memslot registration, before the guest runs",
                   f"the ioctl returns {tr.memslot.result} ({ERRNO_TEXT.get(tr.memslot.result, '')}); no fault is "
                   "ever taken", "nothing: the memory never appears in the guest",
                   _check(check))


def overall_verdict(tr: Trace) -> Verdict | None:
    """The memslot's refusal, else the last fault's verdict, else None (no fault fired)."""
    return memslot_verdict(tr) or (fault_verdict(tr.faults[-1]) if tr.faults else None)


def fault_verdict(f: FaultResult, first: int | None = None, n: int | None = None) -> Verdict:
    """The fault's verdict: KVM's answer, its host-safety hazard and what the guest then sees.
    first: the trace position of the fault's first step, for the link to the deciding step; n: the
    step shown, which sees a hazard only from the step that causes it and the guest's side only
    from its re-run (None: the whole trace)."""
    v = _answer(f)
    hazard, rerun = _reached(f, first, n, "guest.result")
    step = next((s for s in reversed(f.steps) if s.id == "guest.result"), None)
    decided = None if first is None or f.decider is None else first + f.decider
    return replace(v, ok=v.ok and hazard is None, hazard=hazard, guest_then=step.text if step and rerun else "",
                   decided_n=decided)


def _reached(item, first: int | None, n: int | None, step_id: str | None = None):
    """What of a fault or event step n has reached (n None: all of it): the hazards met so far, and
    whether the step with step_id (the guest's re-run) has been shown. first: the item's first step."""
    def seen(i: int | None) -> bool:
        return n is None or first is None or i is None or first + i <= n
    met = [(k, i) for k, i in item.hazards if seen(i)]
    at = next((i for i in range(len(item.steps) - 1, -1, -1) if item.steps[i].id == step_id), None)
    return worst_hazard(met, item.steps), at is not None and seen(at)


def _answer(f: FaultResult) -> Verdict:
    check = _check(decisive_step(f))
    if f.outcome in ("map", "relax"):
        leaf = f.s2
        verb = "Mapped" if f.outcome == "map" else "Permissions relaxed"
        return Verdict(True, f"{verb} {MEMTYPE_NAMES[leaf.memtype]}, {leaf.perm}, {size_text(leaf.size)}",
                       "at fault time (kvm_handle_guest_abort)",
                       "nothing: KVM handles the fault and KVM_RUN carries on",
                       f"{MEMTYPE_NAMES.get(f.effective['type'], '?')} memory"
                       + (" (forced by FWB)" if f.effective and f.effective["forced_by_fwb"] else "")
                       + "; its instruction is run again on it" if f.effective else
                       "its instruction is run again on the new entry", check)
    if f.outcome == "run_error":
        return Verdict(False, f"Rejected at fault time: KVM_RUN fails with {f.errno}",
                       "at fault time, inside the KVM_RUN ioctl",
                       f"KVM_RUN returns {f.errno} ({ERRNO_TEXT.get(f.errno, '')}); the vCPU cannot go on",
                       "nothing: the vCPU is stuck on the faulting instruction", check)
    if f.outcome == "inject":
        kind = "an instruction abort" if f.inject == "iabt" else "a data abort"
        return Verdict(False, f"Abort injected into the guest ({f.inject})", "at fault time",
                       "nothing: KVM_RUN carries on", f"{kind} (a synchronous external abort) at the faulting address",
                       check)
    if f.outcome == "exit_mmio":
        return Verdict(True, "MMIO exit: the VMM emulates the access", "at fault time",
                       "KVM_RUN returns with exit reason KVM_EXIT_MMIO", "the access completes once the VMM "
                       "has emulated it", check)
    if f.outcome == "exit_nisv":
        return Verdict(False, "NISV exit: no syndrome to emulate the access", "at fault time",
                       "KVM_RUN returns with exit reason KVM_EXIT_ARM_NISV", "whatever the VMM decides", check)
    if f.outcome == "no_fault":
        return Verdict(True, "No fault: the existing leaf allows the access", "in hardware",
                       "nothing", "the access completes" + (
                           f" as {MEMTYPE_NAMES.get(f.effective['type'], '?')}" if f.effective else ""), check)
    if f.outcome == "not_run":
        return Verdict(False, "Not run: the memslot was refused", "-", "-", "-", "")
    return Verdict(True, "Resumed: nothing new mapped", "at fault time", "nothing",
                   "the guest re-executes the instruction (or skips it, for cache maintenance)", check)


EVENT_WORDS = {"unmap": "munmap()", "replace": "mmap(MAP_FIXED) over the range", "age": "the host ages the range",
               "logon": "dirty logging switched on", "logoff": "dirty logging switched off",
               "delslot": "the memslot deleted"}


CHANGE_WORDS = {"unmapped": ("stage-2 leaf unmapped", "stage-2 leaves unmapped"),
                "freed": ("table freed", "tables freed"),
                "aged": ("leaf aged (AF cleared)", "leaves aged (AF cleared)"),
                "wrprotected": ("leaf write-protected", "leaves write-protected")}


def event_verdict(ev, first: int | None = None, n: int | None = None) -> Verdict:
    """What a host event did to the stage-2 table, and its hazard (from the step that causes it, as
    fault_verdict sees it)."""
    hazard, _ = _reached(ev, first, n)
    changes = ", ".join(f"{n} {CHANGE_WORDS[what][n > 1]}" if what in CHANGE_WORDS else f"{n} {what}"
                        for what, n in ev.changes if n) or "nothing to change"
    ok = ev.result in ("ok", "not_run")
    head = f"{EVENT_WORDS.get(ev.kind, ev.kind)}: " + (changes if ev.result == "ok" else f"the ioctl fails {ev.result}"
                                                       if ev.result != "not_run" else "not run")
    return Verdict(ok and hazard is None, head, "between faults, in the host", "the ioctl's answer: " + ev.result
                   if ev.kind in ("logon", "logoff", "delslot") else "nothing: the host acted on its own memory",
                   "nothing at once: its next access meets the table as the event left it", "", hazard=hazard)


def _check(s: Step | None) -> str:
    if s is None:
        return ""
    return f"{s.func}() at {s.file}:{s.lines[0]}" if s.lines[0] else s.func


def descriptor(pte: int) -> list[dict]:
    """The 64-bit descriptor as named fields, high bits first, with gaps as reserved runs."""
    out, bit = [], 63
    for name, hi, lo in DESC_FIELDS:
        if bit > hi:
            out.append(_field("", bit, hi + 1, pte))
        out.append(_field(name, hi, lo, pte))
        bit = lo - 1
    return out


def _field(name: str, hi: int, lo: int, pte: int) -> dict:
    value = (pte >> lo) & ((1 << (hi - lo + 1)) - 1)
    width = hi - lo + 1
    shown = f"{value:#x}" if width > 4 else format(value, f"0{width}b")
    return {"name": name or "-", "hi": hi, "lo": lo, "width": width, "value": value, "shown": shown,
            "meaning": FIELD_MEANING.get(name, "ignored or zero for KVM's guest mappings")}
