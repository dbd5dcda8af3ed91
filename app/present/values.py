"""How the picture's typed facts read on the page and in the JSON API: addresses in hex, a memslot
as its base and size, flag sets as names, memory kinds in words."""
from __future__ import annotations

from ..sim.hazards import CATALOGUE
from ..sim.hw.pgtable import Prot
from ..sim.units import size_text

MEMTYPE_WORDS = {"normal": "Normal", "normal_nc": "Normal Non-cacheable", "device_nGnRE": "Device-nGnRE",
                 "normal_wb": "Normal Write-Back", "normal_wt": "Normal Write-Through",
                 "device_nGnRnE": "Device-nGnRnE", "device_nGRE": "Device-nGRE", "device_GRE": "Device-GRE"}
VMA_WORDS = {"pfnmap": "PFNMAP", "mixedmap": "MIXEDMAP", "io": "IO", "shared": "SHARED", "maywrite": "MAYWRITE",
             "uc": "ALLOW_ANY_UC", "mteok": "MTE_ALLOWED", "hugetlb": "HUGETLB"}


def memslot_text(slot) -> str:
    if slot is None:
        return "none"
    gpa, size, writable = slot
    return f"{gpa:#x} +{size_text(size)}" + ("" if writable else " (read-only)")


def vma_text(flags) -> str:
    return "|".join(v for k, v in VMA_WORDS.items() if k in flags) or "no flags"


def know_text(key: str, value) -> str:
    """A path value as its box shows it."""
    if key == "memslot":
        return memslot_text(value)
    if key == "hva" and value is None:
        return "none (error HVA)"
    if key == "vma":
        return vma_text(value)
    return f"{value:#x}" if isinstance(value, int) else str(value)


def memtype_text(key: str, value, host_s1: dict) -> object:
    """A memory-type fact in words; host_s1 is the trace's stage-1 record of the VMA."""
    if key == "host_s1":
        return f"{host_s1['name']} (MAIR {host_s1['mair']:#04x})"
    if key == "forced_by_fwb":
        return value
    return MEMTYPE_WORDS.get(value, value)


def desc_text(key: str, value) -> object:
    """A descriptor field as the JSON API has always given it."""
    if key in ("OA",):
        return f"{value:#x}"
    if key == "pte":
        return f"{value:#018x}"
    if key == "SH":
        return "omitted" if value is None else f"{value:#04b}"
    if key == "size":
        return size_text(value)
    if key == "prot":
        return Prot.describe(value)
    return value


def delta_json(d: dict, host_s1: dict) -> dict:
    """One step's typed delta in the JSON API's form (README: steps[].state)."""
    out: dict = {}
    for key, value in d.items():
        if key == "know":
            out[key] = {k: know_text(k, v) for k, v in value.items()}
        elif key == "desc":
            out[key] = {k: desc_text(k, v) for k, v in value.items()}
        elif key == "memtype":
            out[key] = {k: memtype_text(k, v, host_s1) for k, v in value.items()}
        elif key == "hazard":
            out[key] = {"key": value, "kind": CATALOGUE[value].kind}
        elif key == "table":
            out[key] = [{**e, "ipa": f"{e['ipa']:#x}", **({"pte": f"{e['pte']:#018x}"} if "pte" in e else {})}
                        for e in value]
        else:
            out[key] = value
    return out
