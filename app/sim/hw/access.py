"""What a guest's instruction does on the memory it reaches, per the Arm architecture (the ASL's
AArch64.S1HasAlignmentFault / S2HasAlignmentFault, the DC ZVA and exclusive/atomic rules):

- An unaligned access, or a DC ZVA, to Device memory takes an Alignment fault at the stage whose
  type is Device: stage 1 (the guest's own tables, or its MMU off) faults to EL1 before stage 2
  is walked; stage 2 (KVM's leaf) faults to EL2 with FSC 0x21, which KVM does not handle.
- Exclusives and atomics must be naturally aligned (an Alignment fault at EL1 otherwise), and are
  guaranteed only on Normal Inner/Outer Write-Back memory; elsewhere it is IMPLEMENTATION DEFINED
  whether they work, fault with FSC 0x35, take an external abort, or (exclusives) never succeed.
- An instruction fetch from memory stage 1 calls Device is CONSTRAINED UNPREDICTABLE.
- Load/store pairs check alignment per element, so an aligned LDP/STP to Device completes.
"""
from __future__ import annotations

from dataclasses import dataclass

from .memattr import S2_DEVICE


@dataclass(frozen=True, slots=True)
class Result:
    kind: str            # completes | alignment_fault | impl_defined | unpredictable
    el: int | None       # the exception level that takes an Alignment fault
    why: str             # which rule applied (a case of the guest.result step)


def is_device(memtype: str) -> bool:
    return memtype.startswith("device")


def needs_normal(instruction: str, unaligned: bool) -> bool:
    """Whether the access faults on Device memory: DC ZVA, or an unaligned data access."""
    return instruction == "zva" or (unaligned and instruction != "fetch")


def stage1_alignment_fault(instruction: str, unaligned: bool, s1_type: str) -> bool:
    """An Alignment fault at EL1, taken before stage 2 is walked: a misaligned exclusive or atomic,
    or a DC ZVA / unaligned access to what the guest's stage 1 calls Device."""
    if instruction in ("excl", "lse") and unaligned:
        return True
    return needs_normal(instruction, unaligned) and is_device(s1_type)


def instruction_result(instruction: str, unaligned: bool, s1_type: str, s2_kind: str, effective: str) -> Result:
    """The instruction's fate on memory that stage 1 types s1_type, KVM's leaf types s2_kind, and
    that together make `effective` (the instruction re-runs after KVM's answer)."""
    if instruction == "fetch":
        if is_device(s1_type):
            return Result("unpredictable", None, "fetch_device")
        return Result("completes", None, "fetch")
    if instruction in ("excl", "lse") and unaligned:
        return Result("alignment_fault", 1, "atomic_unaligned")
    if needs_normal(instruction, unaligned):
        if is_device(s1_type):
            return Result("alignment_fault", 1, "s1_device")
        if s2_kind == S2_DEVICE:
            return Result("alignment_fault", 2, "s2_device")
    if instruction in ("excl", "lse") and effective != "normal_wb":
        return Result("impl_defined", None, instruction + "_not_wb")
    return Result("completes", None, instruction + ("_unaligned" if unaligned else ""))
