"""Picture facts a step's values imply: descriptor fields read from the bits a step wrote, the
memslot and HVA a lookup found. Typed values; the presentation layer words and formats them."""
from __future__ import annotations

from dataclasses import dataclass

from ..hw.pgtable import (
    KVM_PTE_LEAF_ATTR_HI_S2_XN,
    KVM_PTE_LEAF_ATTR_LO_S2_AF,
    KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R,
    KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W,
    KVM_PTE_TYPE,
    KVM_PTE_VALID,
    Geometry,
    pte_kind,
    pte_memattr,
)
from ..scenario import Scenario


@dataclass(frozen=True, slots=True)
class StateContext:
    """What turns one step's values into picture facts: the scenario (the world the VM lives
    in), the stage-2 geometry with every host feature (LPA2 included) and FWB."""

    sc: Scenario
    geo: Geometry
    has_fwb: bool


def s2ap(pte: int) -> str:
    return (("R" if pte & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R else "-")
            + ("W" if pte & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W else "-"))


def attr_fields(attr: int, lpa2: bool) -> dict:
    """The fields stage2_set_prot_attr() decides, read from its attribute bits. Under LPA2,
    bits [9:8] hold output-address bits, so SH is None: the descriptor has no SH field."""
    return {"MemAttr": pte_memattr(attr), "S2AP": s2ap(attr),
            "XN": int(bool(attr & KVM_PTE_LEAF_ATTR_HI_S2_XN)),
            "SH": None if lpa2 else (attr >> 8) & 3, "AF": int(bool(attr & KVM_PTE_LEAF_ATTR_LO_S2_AF))}


def desc_fields(pte: int, geo: Geometry) -> dict:
    """Every field of a written descriptor."""
    return {"OA": pte & geo.addr_mask(), **attr_fields(pte, geo.lpa2), "Type": int(bool(pte & KVM_PTE_TYPE)),
            "Valid": pte & KVM_PTE_VALID, "pte": pte}


def existing_leaf(pte: int, ctx: StateContext) -> dict:
    """A leaf found in the table: its fields and its stage-2 memory kind."""
    return {"desc": desc_fields(pte, ctx.geo) | {"existing": True}, "memtype": {"s2": pte_kind(pte, ctx.has_fwb)}}
