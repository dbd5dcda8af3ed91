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
    out = [{"call": f"KVM_CHECK_EXTENSION(KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED = {tr.cap_number})", "on": "VM fd",
            "result": cap,
            "vmm": ("the host can map device memory cacheable at stage 2: the VMM may register a cacheable "
                    "VM_PFNMAP slot" if cap else
                    "no: a VMM that asks learns not to register a cacheable VM_PFNMAP slot (this kernel either "
                    "refuses one, or does not know the capability)")}]
    reg = tr.memslot.result
    if len(tr.slots) <= 1:
        out.append({"call": "KVM_SET_USER_MEMORY_REGION", "on": "VM fd", "result": reg,
                    "vmm": "the slot exists; the vCPUs can run" if reg == "ok" else
                    f"QEMU reports \"error registering slot\" ({reg}) and aborts: the VM never starts"})
    for a in tr.slots if len(tr.slots) > 1 else ():
        slot = tr.layout.slots[a.slot - 1]
        out.append({"call": f"KVM_SET_USER_MEMORY_REGION (memslot {a.slot}, IPA {slot.gpa:#x})", "on": "VM fd",
                    "slot": a.slot, "result": a.result,
                    "vmm": "the slot exists" + ("; the vCPUs can run" if a.slot == len(tr.slots) else "")
                    if a.result == "ok" else "never made: QEMU aborted at an earlier slot" if a.result == "not_run"
                    else f"QEMU reports \"error registering slot\" ({a.result}) and aborts: the VM never starts"})
    for kind, i in tr.items or [("fault", i) for i in range(len(tr.faults))]:
        if kind == "event":
            out.append(event_call(tr.events[i], i + 1))
            continue
        f = tr.faults[i]
        result = f.errno or f.outcome
        out.append({"call": "KVM_RUN", "on": "vCPU fd", "fault": i + 1, "result": result,
                    "vmm": QEMU_RUN.get(f.outcome, f.outcome)})
    return out


EVENT_CALL = {"unmap": ("munmap()", "the VMM's address space"),
              "replace": ("mmap(MAP_FIXED)", "the VMM's address space"),
              "age": ("page reclaim (the host, not the VMM)", "the host"),
              "logon": ("KVM_SET_USER_MEMORY_REGION (KVM_MEM_LOG_DIRTY_PAGES set)", "VM fd"),
              "logoff": ("KVM_SET_USER_MEMORY_REGION (KVM_MEM_LOG_DIRTY_PAGES clear)", "VM fd"),
              "delslot": ("KVM_SET_USER_MEMORY_REGION (memory_size 0)", "VM fd")}


def event_call(e, n: int) -> dict:
    call, on = EVENT_CALL[e.kind]
    if e.result == "not_run":
        vmm = "never made: the VM never started"
    elif e.result == "ok":
        vmm = "done; the guest runs on" if e.kind in ("unmap", "replace", "age") else "the ioctl returns 0"
    else:
        vmm = f"the ioctl fails with {e.result}; the slot keeps its flags"
    return {"call": call, "on": on, "event": n, "result": e.result, "vmm": vmm}
