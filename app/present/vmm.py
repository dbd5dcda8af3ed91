"""What the VMM does, in its order: KVM_CHECK_EXTENSION before KVM_SET_USER_MEMORY_REGION, then
KVM_RUN per access; and what QEMU does with each answer (accel/kvm/kvm-all.c, target/arm/kvm.c)."""
from __future__ import annotations

from ..sim import Trace

QEMU_RUN = {
    "map": "KVM re-enters the guest; KVM_RUN does not return for this access",
    "relax": "KVM re-enters the guest; KVM_RUN does not return for this access",
    "resume": "KVM re-enters the guest; KVM_RUN does not return for this access",
    "no_fault": "no exit: the access never leaves the guest",
    "inject": "KVM re-enters the guest with the abort pending; KVM_RUN does not return",
    "exit_mmio": "KVM_RUN returns KVM_EXIT_MMIO: QEMU emulates the access on its device model and runs the vCPU again",
    "exit_nisv": "KVM_RUN returns KVM_EXIT_ARM_NISV: QEMU cannot emulate it and asks KVM to inject an external "
                 "data abort (KVM_CAP_ARM_INJECT_EXT_DABT), then runs the vCPU again",
    "run_error": "KVM_RUN fails: QEMU prints \"error: kvm run failed\" with the errno's text, dumps the vCPU's "
                 "registers and stops the VM (internal error)",
    "not_run": "never run: QEMU could not register the memory",
}


def calls(tr: Trace) -> list[dict]:
    """The VMM's ioctls for this scenario, in the order a VMM makes them."""
    cap = tr.cap_cacheable_pfnmap
    out = [{"call": "KVM_CHECK_EXTENSION(KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED = 243)", "on": "VM fd",
            "result": cap,
            "vmm": ("the host can map device memory cacheable at stage 2: the VMM may register a cacheable "
                    "VM_PFNMAP slot" if cap else
                    "no: a VMM that asks learns not to register a cacheable VM_PFNMAP slot (this kernel either "
                    "refuses one, or does not know the capability)")}]
    reg = tr.memslot.result
    out.append({"call": "KVM_SET_USER_MEMORY_REGION", "on": "VM fd", "result": reg,
                "vmm": "the slot exists; the vCPUs can run" if reg == "ok" else
                f"QEMU reports \"error registering slot\" ({reg}) and aborts: the VM never starts"})
    for i, f in enumerate(tr.faults, 1):
        result = f.errno or f.outcome
        out.append({"call": "KVM_RUN", "on": "vCPU fd", "fault": i, "result": result,
                    "vmm": QEMU_RUN.get(f.outcome, f.outcome)})
    return out
