"""Memory types: the host VMA's stage-1 AttrIndx, stage-2 MemAttr, and how S1 and S2 combine.

Stage-2 encodings are Linux's MT_S2_* / MT_S2_FWB_* (arch/arm64/include/asm/memory.h).
Combining follows the Arm ASL (S2CombineS1MemAttrs, AArch64_S2ApplyFWBMemAttrs) where
QEMU and KVM's at.c differ from it.
"""
from __future__ import annotations

# Stage-1 AttrIndx values Linux programs into MAIR_EL1 (memory.h).
MT_NORMAL, MT_NORMAL_TAGGED, MT_NORMAL_NC, MT_DEVICE_nGnRnE, MT_DEVICE_nGnRE = 0, 1, 2, 3, 4
ATTRINDX = {"normal": MT_NORMAL, "tagged": MT_NORMAL_TAGGED, "nc": MT_NORMAL_NC,
            "ngnrne": MT_DEVICE_nGnRnE, "ngnre": MT_DEVICE_nGnRE}
ATTRINDX_NAME = {v: "MT_" + k for k, v in {
    "NORMAL": 0, "NORMAL_TAGGED": 1, "NORMAL_NC": 2, "DEVICE_nGnRnE": 3, "DEVICE_nGnRE": 4}.items()}
# MAIR_EL1 bytes (MAIR_ATTR_*); MT_NORMAL_TAGGED becomes 0xf0 once MTE is set up.
MAIR_ATTR = {MT_NORMAL: 0xFF, MT_NORMAL_TAGGED: 0xFF, MT_NORMAL_NC: 0x44,
             MT_DEVICE_nGnRnE: 0x00, MT_DEVICE_nGnRE: 0x04}

# Stage-2 MemAttr[3:0] values.
MT_S2_NORMAL, MT_S2_NORMAL_NC, MT_S2_DEVICE_nGnRE = 0xF, 0x5, 0x1
MT_S2_FWB_NORMAL, MT_S2_FWB_NORMAL_NC, MT_S2_FWB_DEVICE_nGnRE = 0x6, 0x5, 0x1

# The three kinds of stage-2 mapping KVM makes for guests (KVM_PGTABLE_PROT_DEVICE / _NORMAL_NC / neither).
S2_NORMAL, S2_NORMAL_NC, S2_DEVICE = "normal", "normal_nc", "device_nGnRE"


def s2_memattr(kind: str, has_fwb: bool) -> int:
    """Model of KVM_S2_MEMATTR() / PAGE_S2_MEMATTR(): the MemAttr field for a kind of mapping."""
    if kind == S2_NORMAL:
        return MT_S2_FWB_NORMAL if has_fwb else MT_S2_NORMAL
    if kind == S2_NORMAL_NC:
        return MT_S2_FWB_NORMAL_NC if has_fwb else MT_S2_NORMAL_NC
    return MT_S2_FWB_DEVICE_nGnRE if has_fwb else MT_S2_DEVICE_nGnRE


def s2_memattr_name(memattr: int, has_fwb: bool) -> str:
    names = ({MT_S2_FWB_NORMAL: "MT_S2_FWB_NORMAL", MT_S2_FWB_NORMAL_NC: "MT_S2_FWB_NORMAL_NC",
              MT_S2_FWB_DEVICE_nGnRE: "MT_S2_FWB_DEVICE_nGnRE"} if has_fwb else
             {MT_S2_NORMAL: "MT_S2_NORMAL", MT_S2_NORMAL_NC: "MT_S2_NORMAL_NC",
              MT_S2_DEVICE_nGnRE: "MT_S2_DEVICE_nGnRE"})
    return names.get(memattr, f"{memattr:#x}")


def s2_memattr_meaning(memattr: int, has_fwb: bool) -> str:
    """What the MemAttr field means architecturally, for display."""
    if has_fwb:
        low = memattr & 0b111
        return {
            0b000: "Device-nGnRnE (or stronger stage-1 Device)",
            0b001: "Device-nGnRE, or a stronger stage-1 Device type",
            0b010: "Device-nGRE, or a stronger stage-1 Device type",
            0b011: "Device-GRE, or a stronger stage-1 Device type",
            0b100: "reserved",
            0b101: "Normal Non-cacheable, unless stage 1 says Device",
            0b110: "Normal Write-Back, forced whatever stage 1 says",
            0b111: "stage 1's attributes unchanged",
        }[low]
    if memattr >> 2 == 0:
        return "Device-" + ("nGnRnE", "nGnRE", "nGRE", "GRE")[memattr & 3] + \
            ": at least this restrictive, whatever stage 1 says"
    cache = {1: "Non-cacheable", 2: "Write-Through", 3: "Write-Back"}
    outer, inner = cache.get(memattr >> 2, "reserved"), cache.get(memattr & 3, "reserved")
    return f"Normal outer {outer}, inner {inner}: stage 1 may only make it more restrictive"


# ---- effective type -------------------------------------------------------------------------

DEVICE_ORDER = ("device_nGnRnE", "device_nGnRE", "device_nGRE", "device_GRE")   # strongest first
NORMAL_ORDER = ("normal_nc", "normal_wt", "normal_wb")                          # most restrictive first
GS1_TYPE = {"wb": "normal_wb", "wt": "normal_wt", "nc": "normal_nc", "ngnrne": "device_nGnRnE",
            "ngnre": "device_nGnRE", "ngre": "device_nGRE", "gre": "device_GRE"}


def guest_s1_type(gs1: str, instruction_fetch: bool) -> str:
    """The guest's stage-1 type for its access; MMU off gives Device-nGnRnE for data and
    Normal Non-cacheable for instruction fetches (SCTLR_EL1.I clear, its reset value)."""
    if gs1 == "off":
        return "normal_nc" if instruction_fetch else "device_nGnRnE"
    return GS1_TYPE[gs1]


def _s2_type(memattr: int, has_fwb: bool) -> str | None:
    """The type stage 2 asks for; None means 'stage 1 passes through' (FWB 0b111)."""
    if has_fwb:
        low = memattr & 0b111
        if low <= 0b011:
            return DEVICE_ORDER[low]
        return {0b101: "normal_nc", 0b110: "normal_wb", 0b111: None}.get(low, "normal_nc")
    if memattr >> 2 == 0:
        return DEVICE_ORDER[memattr & 3]
    worst = min(memattr >> 2, memattr & 3) or 1          # reserved inner 00 taken as NC
    return {1: "normal_nc", 2: "normal_wt", 3: "normal_wb"}[worst]


def _more_restrictive(a: str, b: str) -> str:
    if a.startswith("device") and b.startswith("device"):
        return min(a, b, key=DEVICE_ORDER.index)
    if a.startswith("device"):
        return a
    if b.startswith("device"):
        return b
    return min(a, b, key=NORMAL_ORDER.index)


def effective_type(s1: str, memattr: int, has_fwb: bool) -> tuple[str, bool]:
    """The final type of a guest access: (type, forced_by_fwb).

    Without FWB the more restrictive of stage 1 and stage 2 wins. With FWB stage 2
    replaces the type: 0b110 forces Normal Write-Back (forced_by_fwb), 0b101 gives
    Non-cacheable unless stage 1 is Device, Device encodings take the stronger Device.
    """
    s2 = _s2_type(memattr, has_fwb)
    if s2 is None:
        return s1, False
    if not has_fwb:
        return _more_restrictive(s1, s2), False
    if s2 == "normal_wb":
        return "normal_wb", True
    if s2 == "normal_nc":
        return (s1, False) if s1.startswith("device") else ("normal_nc", False)
    return _more_restrictive(s1, s2), False
