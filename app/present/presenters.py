"""Trace -> what the page shows: verdicts in words, descriptor fields, walk rows. Pure functions."""
from __future__ import annotations

from dataclasses import dataclass

from ..sim.hw.pgtable import DESC_FIELDS
from ..sim.sources import ARCH, patch, tag
from ..sim.trace import FaultResult, Step, Trace, decisive_step
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


@dataclass(frozen=True)
class StepView:
    n: int                 # 1-based position in the whole trace
    phase: str             # "memslot", "capability" or "fault N"
    fault: int | None      # 0-based fault index, None for memslot/capability
    step: Step
    href: str              # Elixir link to the source lines, "" for architectural steps
    source_note: str = ""  # what href points at, in words

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


def steps(tr: Trace) -> list[StepView]:
    out = []
    for phase, s in tr.all_steps():
        fault = int(phase.split()[1]) - 1 if phase.startswith("fault") else None
        out.append(StepView(len(out) + 1, phase, fault, s, *source_link(tr.model, s)))
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
    return Verdict(False, f"Memslot refused: KVM_SET_USER_MEMORY_REGION fails with {tr.memslot.result}",
                   "at memslot registration, before the guest runs",
                   f"the ioctl returns {tr.memslot.result} ({ERRNO_TEXT.get(tr.memslot.result, '')}); no fault is "
                   "ever taken", "nothing: the memory never appears in the guest",
                   _check(check))


def overall_verdict(tr: Trace) -> Verdict | None:
    """The memslot's refusal, else the last fault's verdict, else None (no fault fired)."""
    return memslot_verdict(tr) or (fault_verdict(tr.faults[-1]) if tr.faults else None)


def fault_verdict(f: FaultResult) -> Verdict:
    check = _check(decisive_step(f))
    if f.outcome in ("map", "relax"):
        leaf = f.s2
        verb = "Mapped" if f.outcome == "map" else "Permissions relaxed"
        return Verdict(True, f"{verb} {MEMTYPE_NAMES[leaf.memtype]}, {leaf.perm}, {size_text(leaf.size)}",
                       "at fault time (kvm_handle_guest_abort)",
                       "nothing: KVM handles the fault and KVM_RUN carries on",
                       f"the access completes as {MEMTYPE_NAMES.get(f.effective['type'], '?')}"
                       + (" (forced by FWB)" if f.effective and f.effective["forced_by_fwb"] else "")
                       if f.effective else "the access completes", check)
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
