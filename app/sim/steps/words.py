"""How recorded values read in a step's sentence: flag sets, backings, pgprot types and sizes."""
from __future__ import annotations

from ..units import size_text

VMA_FLAG_NAMES = {"pfnmap": "VM_PFNMAP", "mixedmap": "VM_MIXEDMAP", "io": "VM_IO", "shared": "VM_SHARED",
                  "maywrite": "VM_MAYWRITE", "uc": "VM_ALLOW_ANY_UNCACHED", "mteok": "VM_MTE_ALLOWED",
                  "hugetlb": "VM_HUGETLB"}
ATTRINDX_NAMES = {"normal": "MT_NORMAL", "tagged": "MT_NORMAL_TAGGED", "nc": "MT_NORMAL_NC",
                  "ngnrne": "MT_DEVICE_nGnRnE", "ngnre": "MT_DEVICE_nGnRE"}
BACKING_WORDS = {"ram": "kernel RAM", "dev": "device memory the kernel never mapped",
                 "zdev": "ZONE_DEVICE memory: struct page, but not memblock",
                 "sg": "kernel RAM whose pages are not physically contiguous (udmabuf-like)"}


def flags_text(flags) -> str:
    return "|".join(name for f, name in VMA_FLAG_NAMES.items() if f in flags) or "none"


def attrindx(mt: str) -> str:
    return ATTRINDX_NAMES[mt]


def yes(v: bool) -> str:
    return "true" if v else "false"


# Value names whose sentence form is not the value itself.
DISPLAY = {"flags": flags_text, "mem": BACKING_WORDS.__getitem__, "mt": attrindx, "size": size_text,
           "leaf": size_text, "pmd": size_text, "gran": size_text}
