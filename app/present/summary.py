"""One-line human summaries of a scenario."""
from __future__ import annotations

from ..sim.presets import PRESETS
from ..sim.scenario import MEMSLOT_GPA, Scenario
from ..sim.units import size_text

VMA_NAMES = {"pfnmap": "VM_PFNMAP", "mixedmap": "VM_MIXEDMAP", "io": "VM_IO", "shared": "VM_SHARED",
        "maywrite": "VM_MAYWRITE", "uc": "VM_ALLOW_ANY_UNCACHED", "mteok": "VM_MTE_ALLOWED",
        "hugetlb": "VM_HUGETLB"}
MT_NAMES = {"normal": "MT_NORMAL", "tagged": "MT_NORMAL_TAGGED", "nc": "MT_NORMAL_NC",
       "ngnrne": "MT_DEVICE_nGnRnE", "ngnre": "MT_DEVICE_nGnRE"}
MEM_NAMES = {"ram": "kernel RAM", "dev": "device memory (no struct page)", "zdev": "ZONE_DEVICE memory",
        "sg": "scattered RAM (udmabuf-like)"}


def title(sc: Scenario) -> str:
    flags = "|".join(VMA_NAMES[f] for f in VMA_NAMES if f in sc.vma) or "no VMA flags"
    host = "+".join(h.upper() for h in ("fwb", "dic", "mte") if h in sc.host) or "no FWB/DIC"
    if sc.has_layout:
        from .space import vm_preset
        p = vm_preset(sc)
        what = p.title if p is not None else f"a VM of {len(sc.layout.slots)} memslots, {len(sc.layout.vmas)} VMAs"
        return f"{what}; host {host}"
    return f"{flags}, {MT_NAMES[sc.mt]}, {MEM_NAMES[sc.mem]}; host {host}"


_ACCESS = {"r": "reads from", "w": "writes to", "x": "executes an instruction from"}
_HOST = {(True, True): "a host with FWB and DIC", (True, False): "a host with FWB but without DIC",
         (False, True): "a host with DIC but without FWB", (False, False): "a host with neither FWB nor DIC"}


def host_words(host) -> str:
    return _HOST[("fwb" in host, "dic" in host)] + (" (and MTE)" if "mte" in host else "")


def _memory(sc: Scenario, preset: str | None) -> str:
    if preset is None:
        preset = next((pid for pid, p in PRESETS.items()
                       if (p.vma, p.mt, p.mem) == (sc.vma - {"mteok"}, sc.mt, sc.mem)), None)
    if preset is not None:
        p = PRESETS[preset]
        return f"{p.title} ({p.note.rstrip('.')})"
    flags = "|".join(VMA_NAMES[f] for f in VMA_NAMES if f in sc.vma) or "no VMA flags"
    return f"a VMA with {flags} and pgprot {MT_NAMES[sc.mt]}, backed by {MEM_NAMES[sc.mem]}"


def plain(model_name: str, mid: str, sc: Scenario, preset: str | None = None) -> str:
    """The scenario in plain words, for a question: which memory (which driver), which kernel and
    host features, what else is set, and which accesses, in order."""
    parts = [f"Memory: {_memory(sc, preset)}, registered as a memslot at IPA {MEMSLOT_GPA:#x}."
             if not sc.has_layout else _layout_words(sc), f"Kernel: {model_name} ({mid}), on {host_words(sc.host)}."]
    if "log" in sc.slot:
        parts.append("The memslot logs dirty pages (KVM_MEM_LOG_DIRTY_PAGES).")
    if "ro" in sc.slot:
        parts.append("The memslot is read-only (KVM_MEM_READONLY).")
    if "cacheable" in sc.slot:
        parts.append("The memslot asks for cacheable VM_PFNMAP memory (KVM_MEM_ENABLE_CACHEABLE_PFNMAP).")
    if "mte" in sc.vm:
        parts.append("The VM has MTE enabled (KVM_CAP_ARM_MTE).")
    if "nisv" in sc.vm:
        parts.append("The VMM asked for NISV exits (KVM_CAP_ARM_NISV_TO_USER).")
    if sc.remap:
        parts.append("The VMM registered the memslot over anonymous RAM and mapped this memory over it afterwards.")
    if sc.faults or sc.events:
        parts.append("Access: " + accesses(sc) + ".")
    return " ".join(parts)


def accesses(sc: Scenario) -> str:
    """The guest's accesses and the host's events, in order, in words."""
    return ", then ".join(_access(f, sc) if kind == "fault" else _event(f) for kind, f in sc.items())


_MOD = {"ua": "unaligned", "pair": "with a load/store pair (LDP/STP)", "zva": "with DC ZVA",
        "excl": "with an exclusive (LDXR/STXR)", "lse": "with an LSE atomic", "atomic": "with an atomic that "
        "KVM cannot map (FSC 0x35)", "noisv": "without an instruction syndrome", "cm": "with a cache maintenance "
        "instruction", "ptw": "in its own stage-1 table walk", "af": "finding the access flag clear"}


def _access(f, sc: Scenario) -> str:
    """One guest access in words: "the guest reads from IPA 0x40000000 (unaligned)"."""
    mods = [_MOD[m] for m in f.mod_list if m != "ua"]
    return ("the guest " + _ACCESS[f.kind] + f" IPA {f.ipa:#x}" + (" (unaligned)" if f.unaligned else "")
            + "".join(" " + m for m in mods) + ("" if sc.has_memslot(f.ipa) else " (no memslot covers it)"))


_EVENT = {"unmap": "the VMM unmaps", "replace": "the VMM maps the same memory again over", "age": "the host ages",
          "logon": "the VMM turns dirty logging on", "logoff": "the VMM turns dirty logging off",
          "delslot": "the VMM deletes the memslot"}


def _event(ev) -> str:
    """One host event in words; one that changes a memslot other than the first names it."""
    words = _EVENT[ev.kind]
    if ev.ranged:
        return f"{words} IPA {ev.ipa:#x} +{size_text(ev.size)}"
    if not ev.slot:
        return words
    return f"the VMM deletes memslot {ev.slot + 1}" if ev.kind == "delslot" else f"{words} on memslot {ev.slot + 1}"


def _layout_words(sc: Scenario) -> str:
    """A whole VM in words: each memslot in the VMM's order, its IPA and what it maps."""
    from .space import slot_name
    slots = "; ".join(f"memslot {s.number} at IPA {s.gpa:#x} ({slot_name(sc, s)})" for s in sc.layout.slots)
    return f"Memory: {len(sc.layout.slots)} memslots, registered in this order: {slots}."
