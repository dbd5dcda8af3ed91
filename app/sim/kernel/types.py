"""What the fault path passes around: the CPU's report of an abort, the decisions user_mem_abort()
fills in, and how a fault ends."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from ..hw.mm_ops import MmOps
from ..scenario import Fault
from ..trace import Leaf

EFAULT, EINVAL, ENOSYS, ENOEXEC, EPERM = "-EFAULT", "-EINVAL", "-ENOSYS", "-ENOEXEC", "-EPERM"


class Exit(NamedTuple):
    """How a fault ends: the contract's outcome, with errno or injected abort."""

    outcome: str
    errno: str | None = None
    inject: str | None = None


@dataclass(slots=True)
class Abort:
    """What the CPU reported (ESR_EL2, HPFAR_EL2) for one guest access."""

    fault: Fault
    fsc: str
    level: int
    is_iabt: bool
    s1ptw: bool
    cm: bool
    isv: bool
    wnr: bool
    esr: int

    @property
    def is_perm(self) -> bool:
        return self.fsc == "permission"


@dataclass(slots=True)
class FaultState:
    """What user_mem_abort() decides for one fault, filled in step by step (kernel names)."""

    abort: Abort
    ipa: int
    write_fault: bool = False
    exec_fault: bool = False
    logging: bool = False
    force_pte: bool = False
    vma_shift: int = 0
    vma_pagesize: int = 0
    mte_allowed: bool = False
    allow_any_uc: bool = False
    is_vma_cacheable: bool = False
    cacheable_devmem: bool = False
    pfn: int | None = None
    pa: int = 0
    writable: bool = False
    has_page: bool = False
    device: bool = False           # v6.14/v3 `device`, v6.17 `s2_force_noncacheable`, v7.1 `map_non_cacheable`
    pgprot_prot: int = 0           # v1/v2 of the series: the stage-2 type bits read from the VMA's pgprot
    devpfn: bool = False           # v7.1 `device`: a VM_PFNMAP/VM_MIXEDMAP PFN outside the kernel's memory
    prot: int = 0
    result: str = "none"           # map | relax | same | young
    ops: MmOps | None = None
    leaf: Leaf | None = None
    settled_at: int | None = None  # the step at which the table took this fault's change
    hazards: list = field(default_factory=list)   # (hazards.CATALOGUE key, step index) in the order met
    pending: list = field(default_factory=list)   # hazards that become real only if a leaf is written

    def hazard(self, key: str, t) -> None:
        """Mark a host-safety hazard at the step just recorded (the code that causes it)."""
        self.hazards.append((key, t.last if t else None))
        if t:
            t.change(hazard=key)

    def confirm_pending(self, t) -> None:
        """A leaf was written: the hazards that waited for one are real, at the steps that caused them."""
        for key, at in self.pending:
            self.hazards.append((key, at))
            if t and at is not None:
                t.deltas[at]["hazard"] = key
        self.pending.clear()
