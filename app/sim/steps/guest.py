"""The guest.result step: what the guest's instruction does once KVM has answered, per the Arm
architecture (app/sim/hw/access.py) and what QEMU does with KVM_RUN's answer."""
from __future__ import annotations

from .abort import instruction_words
from .registry import declare

ARM_ARM = "Arm ARM (ASL)"
TYPE_WORDS = {"normal_wb": "Normal Write-Back", "normal_wt": "Normal Write-Through",
              "normal_nc": "Normal Non-cacheable", "device_nGnRnE": "Device-nGnRnE", "device_nGnRE": "Device-nGnRE",
              "device_nGRE": "Device-nGRE", "device_GRE": "Device-GRE"}


def _on(v) -> str:
    return TYPE_WORDS.get(v.get("type"), v.get("type", ""))


def _completes(v) -> str:
    what = instruction_words(v)
    lead = f"The {what} completes (stage 2 already allows it)" if v["outcome"] == "no_fault" else \
        f"The guest re-runs the {what}, which now completes"
    if v["instruction"] == "zva":
        return f"{lead}: it zeroes its block of {_on(v)} memory."
    extra = {"ldst": " (unaligned accesses are allowed on Normal memory while SCTLR_EL1.A is clear)",
             "pair": " (a pair is checked for alignment element by element)"}.get(v["instruction"], "")
    return f"{lead} on {_on(v)} memory" + (extra if v["unaligned"] or v["instruction"] == "pair" else "") + "."


def _foreign(v) -> str:
    return (f"The {instruction_words(v)} completes on {_on(v)} memory, but at host PA {v['got']:#x}, which is not "
            f"the buffer page this IPA belongs to (PA {v['expect']:#x}): the guest reads or writes host memory "
            "that is not its own.")


def _foreign_vma(v) -> str:
    return (f"The {instruction_words(v)} completes on {_on(v)} memory, but at host PA {v['got']:#x}, the memory "
            f"that follows the VM_PFNMAP VMA whose block covers this IPA, not what the VMA here maps (PA "
            f"{v['expect']:#x}): the guest reads or writes host memory that is not its own.")


def _not_wb(v) -> str:
    what = "Exclusives" if v["instruction"] == "excl" else "Atomics"
    return (f"The {instruction_words(v)} reaches {_on(v)} memory. {what} are guaranteed only on Normal Write-Back "
            "memory; here it is IMPLEMENTATION DEFINED whether the access works, takes an \"Unsupported Exclusive "
            "or Atomic access\" fault (FSC 0x35), takes an external abort"
            + (", or the store-exclusive never succeeds and the guest's retry loop spins" if v["instruction"] == "excl"
               else "") + ".")


def _s2_device(v) -> str:
    return (f"The guest re-runs the {instruction_words(v)} and meets KVM's Device leaf: an unaligned access or DC ZVA "
            "to memory stage 2 calls Device takes a stage-2 Alignment fault (FSC 0x21) to EL2. KVM does not handle "
            "that FSC (\"Unsupported FSC\"): KVM_RUN fails -EFAULT and QEMU stops the VM. A guest driver that treats "
            "this memory as RAM (CUDA-style unaligned loads, memset with DC ZVA) brings its VM down.")


def _guest_state(case, v, ctx):
    return {"guest": {"result": v["kind"], "el": v["el"]}}


declare("guest.result", "AArch64.MemSingle", ARM_ARM, "fault", "va", {
    "s1_device_first": lambda v: f"The guest's own stage 1 calls this memory Device (or its MMU is off): the "
                                 f"{instruction_words(v)} takes an Alignment fault at EL1, before stage 2 is walked. "
                                 "KVM never sees it; the guest's kernel handles the fault (SIGBUS for a process).",
    "run_error": "KVM_RUN returned {errno}: QEMU prints \"error: kvm run failed\", dumps the vCPU's registers and "
                 "stops the VM with an internal error. The instruction never completes.",
    "inject_dabt": "The guest takes the data abort KVM injected, at EL1 (a synchronous external abort): its kernel "
                   "reports it, or kills the process that made the access.",
    "inject_iabt": "The guest takes the instruction abort KVM injected, at EL1 (a synchronous external abort on the "
                   "fetch): its kernel reports it, or kills the process.",
    "mmio": "QEMU emulates the access: a read returns what the device model at this address answers, a write goes "
            "to it; with no device there, reads return zeros and writes are dropped.",
    "nisv": "QEMU cannot emulate an access without a syndrome: it asks KVM to inject an external data abort "
            "(KVM_CAP_ARM_INJECT_EXT_DABT), which the guest takes at EL1.",
    "cm_skipped": "KVM skipped the cache-maintenance instruction: the guest goes on as if it had completed.",
    "livelock": "The guest re-runs the instruction and takes the same fault again: it makes no progress.",
    "no_leaf": "The guest re-runs the instruction and faults again.",
    "af_then_perm": lambda v: f"KVM set the access flag and resumed; the guest re-runs the {instruction_words(v)}, "
                              "which the leaf does not allow: it faults again, now for the permission.",
    "fetch": lambda v: f"The guest re-runs the instruction fetch, which now completes from {_on(v)} memory.",
    "fetch_device": "The guest's stage 1 calls this memory Device: an instruction fetch from Device memory is "
                    "CONSTRAINED UNPREDICTABLE (a Permission fault, or a fetch that behaves as Normal Non-cacheable).",
    "s1_device": lambda v: f"The guest's own stage 1 calls this memory Device: the {instruction_words(v)} takes an "
                           "Alignment fault at EL1.",
    "s2_device": _s2_device,
    "atomic_unaligned": lambda v: f"An {instruction_words(v)} must be naturally aligned: it takes an Alignment "
                                  "fault at EL1 whatever the memory type.",
    "excl_not_wb": _not_wb, "lse_not_wb": _not_wb, "foreign_page": _foreign, "foreign_vma": _foreign_vma,
    **{k: _completes for k in ("ldst", "ldst_unaligned", "pair", "pair_unaligned", "zva", "excl", "lse")},
}, state=_guest_state, key=True, mail=True, decides=False)


