"""One-line human summaries of a scenario."""
from __future__ import annotations

from .sim.scenario import Scenario

_VMA = {"pfnmap": "VM_PFNMAP", "mixedmap": "VM_MIXEDMAP", "io": "VM_IO", "shared": "VM_SHARED",
        "maywrite": "VM_MAYWRITE", "uc": "VM_ALLOW_ANY_UNCACHED", "mteok": "VM_MTE_ALLOWED",
        "hugetlb": "VM_HUGETLB"}
_MT = {"normal": "MT_NORMAL", "tagged": "MT_NORMAL_TAGGED", "nc": "MT_NORMAL_NC",
       "ngnrne": "MT_DEVICE_nGnRnE", "ngnre": "MT_DEVICE_nGnRE"}
_MEM = {"ram": "kernel RAM", "dev": "device memory (no struct page)", "zdev": "ZONE_DEVICE memory",
        "sg": "scattered RAM (udmabuf-like)"}


def title(sc: Scenario) -> str:
    flags = "|".join(_VMA[f] for f in _VMA if f in sc.vma) or "no VMA flags"
    host = "+".join(h.upper() for h in ("fwb", "dic", "mte") if h in sc.host) or "no FWB/DIC"
    return f"{flags}, {_MT[sc.mt]}, {_MEM[sc.mem]}; host {host}"
