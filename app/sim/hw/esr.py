"""ESR_EL2 for a guest stage-2 abort: exception class, ISS bits, fault status codes (asm/esr.h)."""
from __future__ import annotations

from .bits import bit, genmask

ESR_ELx_EC_IABT_LOW = 0x20
ESR_ELx_EC_DABT_LOW = 0x24
ESR_ELx_EC_SHIFT = 26
ESR_ELx_EC = genmask(31, 26)
ESR_ELx_IL = bit(25)
ESR_ELx_ISV = bit(24)
ESR_ELx_SAS = genmask(23, 22)
ESR_ELx_SF = bit(15)
ESR_ELx_CM = bit(8)
ESR_ELx_S1PTW = bit(7)
ESR_ELx_WNR = bit(6)
ESR_ELx_FSC = genmask(5, 0)

ESR_ELx_FSC_ACCESS = 0x08        # + level
ESR_ELx_FSC_FAULT = 0x04         # translation, + level
ESR_ELx_FSC_PERM = 0x0C          # + level
ESR_ELx_FSC_EXCL_ATOMIC = 0x35
ESR_ELx_FSC_ALIGN = 0x21         # Alignment fault (here: stage 2, an unaligned access or DC ZVA to Device)
ESR_ELx_FSC_EXTABT = 0x10        # what an injected synchronous external abort carries

FSC_BASE = {"translation": ESR_ELx_FSC_FAULT, "access_flag": ESR_ELx_FSC_ACCESS,
            "permission": ESR_ELx_FSC_PERM}


def fsc_code(fsc: str, level: int) -> int:
    if fsc == "excl_atomic":
        return ESR_ELx_FSC_EXCL_ATOMIC
    if fsc == "alignment":
        return ESR_ELx_FSC_ALIGN
    return FSC_BASE[fsc] + level


def encode(*, is_iabt: bool, fsc: int, isv: bool, wnr: bool, cm: bool, s1ptw: bool) -> int:
    """The ESR_EL2 value the CPU reports (ISV syndrome: 64-bit access through X0)."""
    esr = (ESR_ELx_EC_IABT_LOW if is_iabt else ESR_ELx_EC_DABT_LOW) << ESR_ELx_EC_SHIFT
    esr |= ESR_ELx_IL | (fsc & ESR_ELx_FSC)
    if s1ptw:
        esr |= ESR_ELx_S1PTW
    if not is_iabt:
        if isv:
            esr |= ESR_ELx_ISV | ESR_ELx_SAS | ESR_ELx_SF      # SAS = 0b11: a 64-bit access
        if wnr:
            esr |= ESR_ELx_WNR
        if cm:
            esr |= ESR_ELx_CM
    return esr
