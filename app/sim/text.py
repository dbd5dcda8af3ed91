"""A trace as mail-safe plain text: ASCII, no tabs, lines of at most 72 columns."""
from __future__ import annotations

import textwrap

from .trace import FaultResult, Step, Trace

WIDTH = 72
# The steps that decide an outcome; the rest is plumbing a mail reader can skip.
DECISIVE = ("prepare.mte", "prepare.pfnmap_log", "prepare.pfnmap_cacheable", "abort.ipa_range",
            "abort.fsc", "abort.noslot_iabt", "abort.noslot_s1ptw", "abort.noslot_cm",
            "io_mem_abort.nisv", "io_mem_abort.mmio", "abort.access_flag", "uma.faultin",
            "uma.v3_cow", "uma.classify", "uma.noexec", "uma.excl_atomic", "uma.mte", "uma.prot",
            "uma.v3_fwb", "pgt.set_prot_attr", "clean_dcache", "inval_icache", "uma.entry")


def render(tr: Trace, title: str, url: str) -> str:
    out = _wrap(f"s2viz {tr.model}: {title}") + [""]
    out += _wrap(f"memslot: KVM_SET_USER_MEMORY_REGION -> {tr.memslot.result}")
    for s in tr.memslot.steps:
        if s.id in DECISIVE:
            out += _step(s)
    out += _wrap(f"KVM_CHECK_EXTENSION(243) on the VM fd -> {tr.cap_cacheable_pfnmap}")
    for i, f in enumerate(tr.faults, 1):
        out.append("")
        out += _fault(i, f)
    out += ["", url]
    text = "\n".join(out) + "\n"
    return text.encode("ascii", "replace").decode("ascii")


def _fault(i: int, f: FaultResult) -> list[str]:
    mods = "".join("." + m for m in f.mods)
    head = f"fault {i}: {f.access}{mods} at {f.ipa:#x} -> {_verdict(f)}"
    out = _wrap(head)
    if f.fsc:
        out += _wrap(f"{f.fsc.replace('_', ' ')} fault at level {f.level}, ESR_EL2 {f.esr:#010x}", 2)
    for s in f.steps:
        if s.id in DECISIVE:
            out += _step(s)
    if f.s2:
        out += _wrap(f"stage 2: {f.s2.memtype}, MemAttr {f.s2.memattr:#x}, {f.s2.perm}, "
                     f"{f.s2.size:#x} bytes at level {f.s2.level}, desc {f.s2.pte:#018x}", 2)
    if f.effective:
        forced = " (forced by FWB)" if f.effective["forced_by_fwb"] else ""
        out += _wrap(f"guest access: {f.effective['type']}{forced}", 2)
    return out


def _verdict(f: FaultResult) -> str:
    if f.outcome == "run_error":
        return f"KVM_RUN fails {f.errno}"
    if f.outcome == "inject":
        return f"{f.inject} injected into the guest"
    return f.outcome


def _step(s: Step) -> list[str]:
    where = f"{s.file}:{s.lines[0]}" if s.lines[0] else s.file
    return _wrap(f"{where} {s.func}()", 2) + _wrap(s.text, 4)


def _wrap(text: str, indent: int = 0) -> list[str]:
    pad = " " * indent
    return textwrap.wrap(text, WIDTH, initial_indent=pad, subsequent_indent=pad + "  ",
                         break_long_words=True, break_on_hyphens=False) or [""]
