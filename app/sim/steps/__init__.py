"""The step registry: every step id the models record, declared once.

A declaration says which kernel function and file the step stands for, the phase it belongs to,
the part of the translation path it works on, its role (a key step in presenter mode, a decision
or plumbing, shown in mail text, the step that decides a mapping's memory type), its words and
pseudo-code per case (the branch the code took), and what its recorded values change in the
picture. Words and picture facts are filled from the values the step recorded when it decided,
never from a later state.

The modules of this package declare the steps of one kernel file each: memslot (kvm_main.c,
arm.c and mmu.c's kvm_arch_prepare_memory_region), abort (kvm_handle_guest_abort, mmio.c and the
CPU's own walk and type combination), uma (user_mem_abort and its helpers), pgtable (hyp/pgtable.c
and the cache maintenance of its mm_ops), gmem (gmem_abort) and events (the host events between
faults: the MMU notifier, its stage-2 walkers, and the memslot ioctl on the existing slot).
"""
from __future__ import annotations

from . import abort, events, gmem, guest, memslot, pgtable, uma  # noqa: F401 - each declares its steps
from .registry import PATH, REGISTRY, StepDef, declare, get  # noqa: F401 - the registry's surface

KEY_STEPS = frozenset(s for s, d in REGISTRY.items() if d.key)
MAIL_STEPS = frozenset(s for s, d in REGISTRY.items() if d.mail is True)
MAIL_CASES = frozenset((s, c) for s, d in REGISTRY.items() if isinstance(d.mail, frozenset) for c in d.mail)


def in_mail(step) -> bool:
    """Whether the mail text shows this recorded step: its id is a mail step, or its case is one."""
    return step.id in MAIL_STEPS or (step.id, step.case) in MAIL_CASES


PLUMBING = frozenset(s for s, d in REGISTRY.items() if not d.decides)
MEMTYPE_STEPS = frozenset(s for s, d in REGISTRY.items() if d.memtype)
