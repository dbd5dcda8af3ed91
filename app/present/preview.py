"""Link previews: OpenGraph and Twitter meta for a permalink, with the verdict in the title.

They live in the page's <head> only, for chat and social unfurlers: nothing here is visible text,
so the page still shows no result before the step that decides it."""
from __future__ import annotations

from ..sim import MODELS
from ..sim.presets import PRESETS
from ..sim.scenario import Scenario
from ..sim.trace import Trace
from .presenters import HAZARD_WORDS, MEMTYPE_NAMES
from .summary import MEM_NAMES, MT_NAMES, VMA_NAMES, plain


def verdict_words(tr: Trace) -> str:
    """The outcome, short: the memslot's refusal, else the last fault's."""
    if tr.memslot.result != "ok":
        refused = next((a.slot for a in tr.slots if a.result not in ("ok", "not_run")), 1)
        return f"{tr.memslot.result} at memslot registration" + (f" (memslot {refused})" if len(tr.slots) > 1 else "")
    if not tr.faults:
        return "memslot registered, no fault fired"
    f = tr.faults[-1]
    if f.outcome in ("map", "relax") and f.s2:
        return f"mapped {MEMTYPE_NAMES.get(f.s2.memtype, f.s2.memtype)} at stage 2"
    return {"run_error": f"{f.errno} from KVM_RUN at fault time",
            "inject": "an abort injected into the guest",
            "exit_mmio": "an MMIO exit to the VMM", "exit_nisv": "a NISV exit to the VMM",
            "no_fault": "no fault: the existing mapping allows it",
            "not_run": "never run"}.get(f.outcome, "resumed, nothing new mapped")


def scenario_words(sc: Scenario) -> str:
    """The scenario, short: which memory, and the host features it lacks."""
    if sc.has_layout:
        from .space import vm_preset
        p = vm_preset(sc)
        lacks = [h.upper() for h in ("fwb", "dic") if h not in sc.host]
        what = p.title if p is not None else f"a VM of {len(sc.layout.slots)} memslots"
        return what + (", host without " + " or ".join(lacks) if lacks else ", host with FWB and DIC")
    cacheable = "cacheable" if sc.mt in ("normal", "tagged") else "non-cacheable"
    preset = next((p for p in PRESETS.values() if (p.vma, p.mt, p.mem) == (sc.vma - {"mteok"}, sc.mt, sc.mem)), None)
    if preset is not None:
        memory = preset.title
    elif "pfnmap" in sc.vma or "mixedmap" in sc.vma:
        memory = f"{cacheable} {VMA_NAMES['pfnmap' if 'pfnmap' in sc.vma else 'mixedmap']} of {MEM_NAMES[sc.mem]}"
    else:
        memory = f"{MT_NAMES[sc.mt]} {MEM_NAMES[sc.mem]}"
    lacks = [h.upper() for h in ("fwb", "dic") if h not in sc.host]
    host = "host without " + " or ".join(lacks) if lacks else "host with FWB and DIC"
    return f"{memory}, {host}"


def access_words(sc: Scenario) -> str:
    """The guest's accesses, in order: "the guest reads 0x40000000, then executes 0x40001000"."""
    verbs = {"r": "reads", "w": "writes", "x": "executes"}
    if not sc.faults:
        return "no guest access"
    return "the guest " + ", then ".join(f"{verbs[f.kind]} {f.ipa:#x}" for f in sc.faults[:4]) + (
        f" and {len(sc.faults) - 4} more" if len(sc.faults) > 4 else "")


def meta(mid: str, sc: Scenario, tr: Trace, url: str) -> dict:
    """og:title, og:description, og:url and og:image (the /og/ card) for a permalink."""
    hazard = next((f.hazard for f in reversed(tr.faults) if f.hazard), None)
    lead = f"HOST HAZARD ({HAZARD_WORDS[hazard['kind']].lower()}), " if hazard else ""
    title = f"{mid}: {lead}{verdict_words(tr)} - {scenario_words(sc)}"
    description = plain(MODELS[mid].title.split(":")[0], mid, sc)
    base, _, path = url.partition("/" + mid + "/")
    return {"title": title, "description": description, "url": url, "site": "s2viz",
            "image": f"{base}/og/{mid}/{path}"}
