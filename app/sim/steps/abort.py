"""Steps of the CPU's own stage-2 walk and type combination, kvm_handle_guest_abort()
(arch/arm64/kvm/mmu.c) and io_mem_abort() (arch/arm64/kvm/mmio.c)."""
from __future__ import annotations

from ..hw.memattr import s2_memattr_name
from .facts import existing_leaf
from .registry import declare

MMU_C, MMIO_C, ARM_ARM = "arch/arm64/kvm/mmu.c", "arch/arm64/kvm/mmio.c", "Arm ARM (ASL)"
ABORT = "kvm_handle_guest_abort"


INSTRUCTION_WORDS = {"ldst": ("load", "store"), "pair": ("LDP", "STP"), "zva": ("DC ZVA", "DC ZVA"),
                     "excl": ("LDXR", "STXR"), "lse": ("LDADD", "STADD"), "fetch": ("instruction fetch",) * 2}


def instruction_words(v) -> str:
    name = INSTRUCTION_WORDS[v["instruction"]][v["access"] == "write"]
    return ("unaligned " if v["unaligned"] else "") + name


def _walk_words(v) -> str:
    if v["fsc"] == "guest_alignment":
        return (f"The guest's own stage 1 calls {v['ipa']:#x} Device (or its MMU is off), so this "
                f"{instruction_words(v)} takes an Alignment fault at EL1 before stage 2 is walked: no stage-2 fault.")
    levels = v["walk"]
    path = " -> ".join(f"L{w.level}[{w.index:#x}] {w.found}" for w in levels) if levels else \
        "the IPA is above the input size VTCR_EL2.T0SZ allows"
    level, access = v["level"], v["access"]
    verdict = {
        None: (f"the leaf was aged (AF clear), and with VTCR_EL2.HA on a CPU with FEAT_HAFDBS the walker sets AF "
               f"itself; the leaf allows this {access}: no stage-2 fault, the guest never leaves") if v.get("hw_af")
        else f"the leaf allows this {access}: no stage-2 fault, the guest never leaves",
        "translation": f"no valid leaf: translation fault at level {level}",
        "permission": f"the level-{level} leaf lacks the permission: permission fault at level {level}",
        "access_flag": f"the level-{level} leaf was aged (AF clear): access flag fault",
        "excl_atomic": "the memory type cannot do this exclusive/atomic access: FSC 0x35",
        "alignment": f"the level-{level} leaf maps Device memory and this {instruction_words(v)} needs Normal "
                     "memory: stage-2 Alignment fault (FSC 0x21)",
    }[v["fsc"]]
    return f"The CPU walks stage 2 for {v['ipa']:#x}: {path}; {verdict}."


def _walk_state(case, v, ctx):
    d: dict = {"know": {"ipa": v["ipa"]},
               "walk": [{"level": w.level, "index": w.index, "found": w.found} for w in v["walk"]]}
    pte = v["pte"]
    if pte is not None and v["walk"]:
        d.update(existing_leaf(pte, ctx))
        size = ctx.geo.granule_size(v["walk"][-1].level)
        pa = (pte & ctx.geo.addr_mask()) + (v["ipa"] & (size - 1) & ~(ctx.sc.page_size - 1))
        d["know"] |= {"pfn": pa >> ctx.sc.page_shift, "pa": pa}
        if v["fsc"] is None and ctx.sc.has_memslot(v["ipa"]):
            d["know"] |= {"memslot": (ctx.sc.slot_gpa, ctx.sc.slot_size, "ro" not in ctx.sc.slot),
                          "hva": ctx.sc.hva_of(v["ipa"])}
        if v["fsc"] == "access_flag":
            d["table"] = [{"level": v["walk"][-1].level, "ipa": v["ipa"], "state": "aged", "pte": pte}]
        elif v.get("hw_af"):
            d["table"] = [{"level": v["walk"][-1].level, "ipa": v["ipa"], "state": "young", "pte": pte}]
    return d


declare("hw.walk", "AArch64.S2Walk", ARM_ARM, "fault", "s2", {"": _walk_words, "s1_alignment": _walk_words},
        state=_walk_state, key=True)


def _combine_words(v) -> str:
    rule = ("FWB: stage 2 decides (0b110 forces Write-Back, 0b101 Non-cacheable unless stage 1 is Device, "
            "Device takes the stronger Device)" if v["fwb"] else
            "no FWB: the more restrictive of stage 1 and stage 2 wins")
    return (f"The guest's stage-1 type {v['s1']} meets stage-2 MemAttr {v['attr']:#x} "
            f"({s2_memattr_name(v['attr'], v['fwb'])}): {rule}. The access is {v['type']}"
            + (" (forced by FWB)." if v["forced_by_fwb"] else "."))


declare("hw.combine", "AArch64.S2ApplyFWBMemAttrs / S2CombineS1MemAttrs", ARM_ARM, "fault", "va", _combine_words,
        state=lambda case, v, ctx: {"memtype": {"effective": v["type"], "guest_s1": v["s1"],
                                                "forced_by_fwb": v["forced_by_fwb"]}},
        key=True, decides=False)

declare("abort.entry", ABORT, MMU_C, "fault", "ipa",
        lambda v: "{} from the guest: ESR_EL2 {:#x}, FSC {:#04x} ({} fault, level {}), fault IPA {:#x}.".format(
            "Instruction abort" if v["is_iabt"] else "Data abort", v["esr"], v["fsc_code"],
            v["fsc"].replace("_", " "), v["level"], v["ipa"]),
        code={"": "read ESR_EL2; IPA from HPFAR_EL2; is_iabt when EC is IABT_LOW"})

declare("abort.ipa_range", ABORT, MMU_C, "fault", "ipa", {
    "host_limit": lambda v: "IPA {:#x} is beyond the host's {}-bit IPA limit{}: inject an address size fault.".format(
        v["ipa"], v["lim"], "" if v["lim"] > 48 else " (4K/16K pages without LPA2)"),
    "vm_range": "IPA {ipa:#x} lies between the VM's {bits}-bit IPA space and the host limit: {how}.",
    "ok": "IPA {ipa:#x} is inside the VM's {bits}-bit IPA space.",
}, code={"host_limit": "IPA at or above 2^kvm_ipa_limit -> inject address size fault, resume",
         "vm_range": "IPA at or above 2^vm_ipa_bits -> inject abort, resume"}, key=True, mail=True)

declare("abort.fsc", ABORT, MMU_C, "fault", "ipa", {
    "unsupported": "FSC {fsc_code:#04x} is not a translation, permission or access-flag fault: \"Unsupported "
                   "FSC\", KVM_RUN fails.",
    "ok": lambda v: "{} {} fault: one KVM handles.".format("An" if v["fsc"][0] in "aeiou" else "A",
                                                            v["fsc"].replace("_", " ")),
}, code={"unsupported": "FSC not translation, permission or access flag -> -EFAULT"}, mail=True)

WRITE_FAULT_WHY = {"s1ptw": "stage-1 walk: a write only if it is a permission fault", "iabt": "instruction abort",
                   "cm": "cache maintenance reports WnR=1", "wnr0": "ESR.WnR=0", "wnr1": "ESR.WnR=1"}


def _memslot_words(v) -> str:
    if v["slot_writable"] is None:
        where = "no memslot covers it (error hva)"
    else:
        gpa, size, n = v["slot"]
        where = "memslot {}at {:#x}, hva {:#x}, slot {}".format(
            f"{n} " if n > 1 else "", gpa, v["hva"], "writable" if v["slot_writable"] else "read-only")
    return "gfn {:#x}: {}; write_fault={} (kvm_is_write_fault: {}).".format(
        v["gfn"], where, v["write_fault"], WRITE_FAULT_WHY[v["reason"]])


def _memslot_state(case, v, ctx):
    if v["slot_writable"] is None:
        return {"know": {"memslot": None, "hva": None}}
    return {"know": {"memslot": (v["slot"][0], v["slot"][1], v["slot_writable"]), "hva": v["hva"]}}


declare("abort.memslot", ABORT, MMU_C, "fault", "memslot", _memslot_words,
        code={"": "find the memslot and the HVA for the gfn, and whether the slot is writable\n"
                  "write_fault from ESR (stage-1 walks: only permission faults)"}, state=_memslot_state)


def _noslot(v) -> str:
    return "no memslot" if not v["have_slot"] else "a write to a read-only memslot"


declare("abort.noslot_iabt", ABORT, MMU_C, "fault", "memslot",
        lambda v: f"Instruction fetch from {_noslot(v)}: userspace cannot emulate it; {v['how']}.",
        code={"": "instruction abort -> -ENOEXEC -> inject instruction abort"}, key=True, mail=True)
declare("abort.noslot_s1ptw", ABORT, MMU_C, "fault", "memslot",
        lambda v: f"The guest's stage-1 page tables live in {_noslot(v)}: {v['how']}.",
        code={"": "stage-1 walk -> inject data abort, resume"}, key=True, mail=True)
declare("abort.noslot_cm", ABORT, MMU_C, "fault", "memslot",
        "Cache maintenance outside any memslot: KVM assumes the guest is being cautious and skips the instruction.",
        code={"": "no memslot and ESR.CM -> skip the instruction, resume"}, key=True, mail=True)
declare("abort.noslot_mmio", ABORT, MMU_C, "fault", "memslot",
        lambda v: f"Data access to {_noslot(v)}: treat it as MMIO.", code={"": "-> MMIO emulation"})

declare("io_mem_abort.nisv", "io_mem_abort", MMIO_C, "fault", "memslot", {
    "exit": "No valid instruction syndrome (ISV=0) and the VMM enabled KVM_CAP_ARM_NISV_TO_USER: exit with "
            "KVM_EXIT_ARM_NISV.",
    "enosys": "No valid instruction syndrome (ISV=0): KVM cannot emulate the access and the VMM did not ask for "
              "NISV exits; KVM_RUN fails with -ENOSYS.",
}, code={"*": "no ISV -> exit ARM_NISV if the VMM asked, else -ENOSYS"}, key=True, mail=True)
declare("io_mem_abort.mmio", "io_mem_abort", MMIO_C, "fault", "memslot",
        "ISV=1: decode the access from the syndrome, no in-kernel device claims it, so KVM_RUN returns "
        "KVM_EXIT_MMIO for the VMM to emulate.", code={"": "fill the MMIO exit for the VMM -> KVM_EXIT_MMIO"},
        key=True, mail=True)

declare("abort.access_flag", ABORT, MMU_C, "fault", "s2",
        "Access-flag fault: mark the leaf young (set AF) and resume.",
        code={"": "access flag fault -> mark the leaf young, resume"}, mail=True)


def _young_state(case, v, ctx):
    if v["pte"] is None:
        return None
    return {"table": [{"level": v["level"], "ipa": v["ipa"], "state": "young", "pte": v["pte"]}],
            "desc": existing_leaf(v["pte"], ctx)["desc"]}


declare("handle_access_fault", "handle_access_fault", MMU_C, "fault", "s2",
        lambda v: f"kvm_pgtable_stage2_mkyoung() sets AF in the leaf: {v['pte'] or 0:#018x}.",
        code={"": "set AF in the leaf"}, state=_young_state, key=True)

declare("abort.uma_call", ABORT, MMU_C, "fault", "ipa", {
    "zero": "{fn}() returned 0: re-enter the guest.",
    "enoexec": "{fn}() returned -ENOEXEC: {how}, and the guest runs on.",
    "errno": "{fn}() returned {errno}: KVM_RUN fails with it and the VMM sees the error.",
}, code={"zero": "0 -> resume the guest", "enoexec": "-ENOEXEC -> inject instruction abort, resume",
         "errno": "negative errno -> KVM_RUN returns it"}, decides=False)

declare("abort.dispatch", ABORT, MMU_C, "fault", "memslot",
        "kvm_slot_has_gmem(): the slot is backed by a guest_memfd, so gmem_abort() handles the fault, not "
        "user_mem_abort(): no VMA is looked up.",
        code={"": "guest_memfd slot -> gmem_abort(), else user_mem_abort()"}, key=True, mail=True)
