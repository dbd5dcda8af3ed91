"""The differences the project knows of between a recording and its model, each with its reason and
the source line that explains it: listed one by one (KNOWN), or recognised by what they are."""
from __future__ import annotations

import re

from .recordings import SLOT_SIZE, TEST_IPA

# (kernel version, case id, access number or None for the memslot/capability): (reason, source line).
KNOWN: dict[tuple[str, str, int | None], tuple[str, str]] = {}


def _af_of_an_atomic_write(op: dict | None, what: str, host: dict) -> bool:
    """The leaf an LDADD's write relaxed differs only in AF, set in the recording: on a CPU with hardware
    AF updates QEMU walks for the atomic's read first (permitted: AF set), then its write takes the
    permission fault; the models leave AF clear on an access that faults."""
    if not op or op.get("op") != "ldadd" or op.get("outcome") != "relax" or not host.get("ha"):
        return False
    m = re.fullmatch(r"attrs: real (0x[0-9a-f]+), model (0x[0-9a-f]+)", what)
    return bool(m) and int(m.group(1), 16) ^ int(m.group(2), 16) == 1 << 10 and int(m.group(1), 16) >> 10 & 1 == 1


# Differences no kernel decides, recognised by what they are: (test(recorded fault, difference, host),
# reason, source). Each is a choice the architecture leaves to the CPU, where QEMU chooses otherwise than
# the models.
KNOWN_RULES: tuple = (
    (_af_of_an_atomic_write,
     "QEMU sets the access flag when an LDADD's read walks the aged leaf, before its write takes the permission "
     "fault KVM relaxes; the architecture leaves it to the CPU and the models leave AF clear on a faulting access",
     "Arm ARM (ASL) AArch64.S2Translate(): AArch64.SettingAccessFlagPermitted() is "
     "ConstrainUnpredictableBool(Unpredictable_AFUPDATE) for a permission fault"),
)


# Backings whose host stage 1 is made of PAGE_SIZE PTEs (remap_pfn_range() of /dev/mem and of a sysfs
# PCI resource), however the VMA is aligned (`split`: its first VMA, the /dev/mem page).
PAGE_LEAF_BACKINGS = frozenset({"devmem", "devmemp", "remapdev", "bar", "barwc", "split"})


# Kernels a model is compared with although their base is another kernel: patch-v3 is v6.14 + the v3
# patch, recorded on 6.12.117 + the v3 patch, whose VM_PFNMAP mappings are sized by the host's stage-1
# leaf (the backported "Use stage-1 leaf size for VM_PFNMAP"), where v6.14 sizes them from the VMA.
LEAF_SIZED_BASES = {"6.12.117-v3": "6.12.117 sizes VM_PFNMAP by the host's stage-1 leaf (a page for /dev/mem, "
                                   "sysfs BARs and udmabufs), v6.14 from the VMA's alignment and extent"}


CUT_BLOCK = ("the event split the host's huge stage-1 mapping of this block, and the recorded base sizes a "
             "VM_PFNMAP mapping by the stage-1 leaf, now a page; v6.14's code, which the model holds, sizes it from "
             "the VMA and maps the whole block (the end test passes for a block-aligned HVA), so the later accesses "
             "inside it do not fault there",
             "arch/arm64/kvm/mmu.c: get_vma_page_shift() (v6.14) against 6.12.117's backported \"Use stage-1 leaf "
             "size for VM_PFNMAP\" in user_mem_abort()")


def cut_block_on_a_leaf_sized_base(kernel_id: str | None, row: dict, diffs: list) -> list[tuple[str, str]]:
    """On a LEAF_SIZED_BASES run, after an unmap or replace cut a block: a page where the model maps the
    block, and the accesses after it that the model's block answers without a fault (one the real kernel
    refuses, its VMA unmapped, included: v6.14's block reaches past the VMA). Every difference of
    the case must be of that kind, from that access on, for any to count as known."""
    if kernel_id not in LEAF_SIZED_BASES or not diffs:
        return []
    real, model = row["real"]["ops"], row["modelled"]["ops"]
    cut = next((i for i, op in enumerate(real) if op.get("event", "").startswith(("unmap:", "replace:"))), None)
    first = next((i for i, (r, m) in enumerate(zip(real, model, strict=False))
                  if (r.get("s2") or {}).get("size", 0) < (m.get("s2") or {}).get("size", 0)), None)
    if cut is None or first is None or first < cut:
        return []
    for at, what in diffs:
        if at is None or at - 1 < first:
            return []
        r, m = real[at - 1], model[at - 1]
        page_for_block = at - 1 == first and what.split(":")[0] in ("level", "size", "attrs")
        answered = at - 1 > first and m["outcome"] == "no_fault" and r["outcome"] != "no_fault"
        if not (page_for_block or answered):
            return []
    return [CUT_BLOCK] * len(diffs)


def young_from_an_atomics_walk(ops: list, i: int, what: str, host: dict, slot_end: int) -> bool:
    """An age finds the leaf young where the model finds it old, and since the age before it an LDADD
    faulted on that leaf (a permission fault KVM relaxed, or a read-only slot's -ENOSYS): QEMU's walk for
    the atomic's read set the access flag before its write faulted (_af_of_an_atomic_write())."""
    if what != "young: real True, model False" or not host.get("ha") or ops[i - 1].get("op") != "age":
        return False
    for op in reversed(ops[:i - 1]):
        if op.get("op") == "age":
            return False
        if op.get("op") == "ldadd" and op.get("outcome") in ("relax", "run_error"):
            return True
    return False


def _event_end(event: str, page: int) -> int:
    parts = event.split(":")
    return int(parts[1], 16) + (int(parts[2], 16) if len(parts) > 2 else page)


def probe_slot_ends_sooner(ops: list, i: int, what: str, host: dict, slot_end: int) -> bool:
    """An event answers otherwise after an unmap or replace reached the end of the probe's test slot: the
    probe's memslot ends there (2 MiB, 32 MiB with 16K pages), the permalink's goes on to 1 GiB with the
    VMA still there, so the model's VMM still finds a VMA past it (a munmap() notifies, a dirty-logging
    change is checked against it) where the probe's found none."""
    if "event" not in ops[i - 1] or what.split(":")[0] not in ("result", "unmap", "wrprotect", "young"):
        return False
    page = 16384 if slot_end - TEST_IPA == SLOT_SIZE["16k"] else 4096
    this = ops[i - 1]["event"]
    if ":" in this and _event_end(this, page) < slot_end:        # a range inside the probe's slot: no excuse
        return False
    return any(op.get("event", "").startswith(("unmap:", "replace:")) and _event_end(op["event"], page) >= slot_end
               for op in ops[:i])


# Differences that follow from what a case did before, recognised from the recorded operations:
# (test(recorded operations, access number, difference, host, end of the probe's slot), reason, source).
CASE_RULES: tuple = (
    (young_from_an_atomics_walk, KNOWN_RULES[0][1], KNOWN_RULES[0][2]),
    (probe_slot_ends_sooner,
     "the probe's memslot is 2 MiB (32 MiB with 16K pages) and an earlier unmap or replace reached its end; the "
     "permalink's memslot is 1 GiB, so past that end the model's VMA is still there, where the probe's slot had none",
     "conformance/probe/probe.c: the test slot's size; README 'Permalinks': memslot 1 is 1 GiB at IPA 0x4000_0000"),
)
