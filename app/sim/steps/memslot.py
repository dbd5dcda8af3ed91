"""Steps of memslot registration and the capability query: check_memory_region_flags()
(virt/kvm/kvm_main.c), kvm_arch_prepare_memory_region() (arch/arm64/kvm/mmu.c) and
kvm_vm_ioctl_check_extension() (arch/arm64/kvm/arm.c)."""
from __future__ import annotations

from ..units import size_text
from .registry import declare

KVM_MAIN_C, MMU_C, ARM_C = "virt/kvm/kvm_main.c", "arch/arm64/kvm/mmu.c", "arch/arm64/kvm/arm.c"
PREPARE = "kvm_arch_prepare_memory_region"


def _host_s1(case, v, ctx):
    return {"memtype": {"host_s1": v["mt"]}} if "mt" in v else None


declare("memslot.flags", "check_memory_region_flags", KVM_MAIN_C, "memslot", "memslot", {
    "unsupported": "KVM_MEM_GUEST_MEMFD is a valid flag only where kvm_arch_has_private_mem(), which arm64 is "
                   "not in this kernel: guest_memfd memslots come to arm64 in 6.18. -EINVAL.",
    "gmem_flags": "KVM_MEM_GUEST_MEMFD with {bad}: dirty logging of guest_memfd memory is not supported, and a "
                  "read-only slot would need emulated MMIO; -EINVAL.",
    "ok": "KVM_MEM_GUEST_MEMFD is a valid flag here (CONFIG_KVM_GUEST_MEMFD).",
    "cacheable_unknown": "Bit 3 of the memslot flags (KVM_MEM_ENABLE_CACHEABLE_PFNMAP, which only v4 to v6 of the "
                         "cacheable-PFNMAP series defined) is no flag this kernel knows: -EINVAL.",
    "cacheable_unsupported": "KVM_MEM_ENABLE_CACHEABLE_PFNMAP is a valid flag only where "
                             "kvm_arch_supports_cacheable_pfnmap() is true, and this host lacks {missing}: -EINVAL.",
    "cacheable_ok": "KVM_MEM_ENABLE_CACHEABLE_PFNMAP is a valid flag: userspace asks for its cacheable VM_PFNMAP "
                    "memory to be mapped cacheable.",
}, code={"unsupported": "KVM_MEM_GUEST_MEMFD without private memory support -> -EINVAL",
         "gmem_flags": "guest_memfd: no KVM_MEM_LOG_DIRTY_PAGES, no KVM_MEM_READONLY -> -EINVAL",
         "cacheable_unknown": "a flag outside valid_flags -> -EINVAL",
         "cacheable_unsupported": "KVM_MEM_ENABLE_CACHEABLE_PFNMAP is valid only with FWB and DIC -> -EINVAL",
         "cacheable_ok": "KVM_MEM_ENABLE_CACHEABLE_PFNMAP is in valid_flags"},
    key=True, mail=True)

declare("slot.register", "kvm_set_memory_region", KVM_MAIN_C, "memslot", "memslot",
        lambda v: "The VMM registers memslot {}: KVM_SET_USER_MEMORY_REGION for IPA [{:#x}, {:#x}) ({}), userspace "
                  "address {:#x}, flags {}. No slot has this id yet, so KVM_MR_CREATE; its gfn range meets no other "
                  "slot's (or -EEXIST). kvm_set_memslot() then asks the arch whether it may be created, walking "
                  "the {} VMA{} in its userspace range.".format(
                      v["n"], v["gpa"], v["gpa"] + v["size"], size_text(v["size"]), v["hva"], _slot_flags(v["flags"]),
                      v["nvma"], "" if v["nvma"] == 1 else "s"),
        code={"": "KVM_SET_USER_MEMORY_REGION(slot n): a new slot -> KVM_MR_CREATE\n"
                  "gfn range overlaps another slot -> -EEXIST\nkvm_set_memslot() -> the arch's prepare"},
        state=lambda case, v, ctx: {"know": {"memslot": (v["gpa"], v["size"], "ro" not in v["flags"]),
                                             "hva": v["hva"]}}, key=True)

declare("prepare.entry", PREPARE, MMU_C, "memslot", "memslot", {
    "": "KVM_MR_CREATE of slot [{gpa:#x}, {end:#x}): the slot ends below the VM's {ipa}-bit IPA space, so no "
        "-EFAULT.",
    "beyond": "KVM_MR_CREATE of slot [{gpa:#x}, {end:#x}): the slot ends above the VM's {ipa}-bit IPA space, "
              "which the guest could never address: -EFAULT.",
    "flags_only": "KVM_MR_FLAGS_ONLY of slot [{gpa:#x}, {end:#x}): the checks of registration run again, on the "
                  "VMAs there now and with the new flags.",
    "delete": "KVM_MR_DELETE: nothing to check, return 0.",
}, code={"*": "change is not create/move/flags-only -> accept, no checks\n"
              "slot ends above 2^ipa_bits -> -EFAULT"},
    state=lambda case, v, ctx: None if case == "delete" else
    {"know": {"memslot": (ctx.sc.slot_gpa, ctx.sc.slot_size, "ro" not in ctx.sc.slot)}}, mail={"beyond"})

declare("prepare.gmem", PREPARE, MMU_C, "memslot", "memslot",
        "A guest_memfd slot whose memory userspace can also map (the guest_memfd is mmap-able and shared, as "
        "arm64 requires: it has no private memory): allowed.",
        code={"": "guest_memfd slot whose memory is not all mappable -> -EINVAL"}, key=True, mail=True)

declare("prepare.gmem_mte", PREPARE, MMU_C, "memslot", "memslot",
        "A guest_memfd slot in a VM with MTE: guest_memfd cannot keep tags; -EINVAL.",
        code={"": "guest_memfd slot and the VM has MTE -> -EINVAL"}, key=True, mail=True)

declare("prepare.vma_loop", PREPARE, MMU_C, "memslot", "vma", {
    "": lambda v: "Walk the VMAs covering HVA [{:#x}, +1 GiB): one VMA with flags {}{}.".format(
        v["hva"], _flags(v["flags"]),
        " (anonymous RAM: the configured VMA is mapped over it only later)" if v["remap"] else ""),
    "flags_only": lambda v: "Walk the VMAs covering HVA [{:#x}, +1 GiB): {} with flags {}.".format(
        v["hva"], "one VMA" if v["n"] == 1 else f"{v['n']} VMAs (the events split it)", _flags(v["flags"])),
    "none": "Walk the VMAs covering HVA [{hva:#x}, +1 GiB): there is none any more (the VMM unmapped them all), so "
            "there is nothing to check.",
    "layout_none": "find_vma_intersection() over the slot's userspace range from HVA {hva:#x}: there is no VMA "
                   "any more (the VMM unmapped them all), so there is nothing to check.",
    "layout": lambda v: "find_vma_intersection() over the slot's userspace range: VMA {} of {}, HVA [{:#x}, {:#x}), "
                        "flags {}{}.".format(v["k"], v["n"], v["hva"], v["end"], _flags(v["flags"]),
                                             " (anonymous RAM: the configured VMA is mapped over it only later)"
                                             if v["remap"] else ""),
    "layout_now": lambda v: "find_vma_intersection() over the slot's userspace range as it is now: VMA {} of {}, "
                            "HVA [{:#x}, {:#x}) as laid out{}, flags {}.".format(
                                v["k"], v["n"], v["hva"], v["end"],
                                "" if v["pieces"] == 1 else f", in {v['pieces']} pieces the events left",
                                _flags(v["flags"])),
}, code={"*": "for each VMA over the slot's user range:"}, mail={"layout", "layout_now", "layout_none"},
    state=lambda case, v, ctx: {"know": {"hva": v["hva"], **({"vma": v["flags"]} if case.startswith("layout_") or
                                                            case == "layout" else {})}})

NO_MTE_WHY = {
    "driver": "A driver's mapping never has it.",
    "other": "Anonymous, hugetlbfs, shmem and memfd mappings on an MTE host have it (add mteok); a file on a "
             "filesystem without MTE support does not.",
    "hugetlb_612": "6.12 never gives a hugetlbfs mapping VM_MTE_ALLOWED, whatever the scenario says.",
}

declare("prepare.mte", PREPARE, MMU_C, "memslot", "vma", {
    "refuse": lambda v: "The VM has MTE but the VMA lacks VM_MTE_ALLOWED: tags could not be kept for this "
                        "memory. " + NO_MTE_WHY[v["why"]],
    "ok": "The VM has MTE and the VMA has VM_MTE_ALLOWED.",
}, code={"refuse": "VM has MTE and VMA lacks VM_MTE_ALLOWED -> -EINVAL"}, key=True, mail=True)

declare("prepare.pfnmap_log", PREPARE, MMU_C, "memslot", "vma", {
    "not_pfnmap": "Not a VM_PFNMAP VMA: the PFNMAP checks do not apply.",
    "refuse": "VM_PFNMAP with KVM_MEM_LOG_DIRTY_PAGES: dirty logging of IO memory is not allowed.",
    "ok": "VM_PFNMAP without dirty logging: allowed.",
}, code={"refuse": "VMA is VM_PFNMAP and slot logs dirty pages -> -EINVAL"}, key=True, mail=True)

declare("prepare.pfnmap_cacheable", PREPARE, MMU_C, "memslot", "vma", {
    "refuse": "A cacheable ({mt}) VM_PFNMAP VMA, and the host lacks {missing}: refuse the memslot now, rather "
              "than fail at fault time.",
    "cacheable": "VM_PFNMAP VMA with {mt}: the host has FWB and DIC.",
    "noncacheable": "VM_PFNMAP VMA with {mt}: not cacheable, so no hardware requirement.",
    # the revisions of the series
    "blocked": "A cacheable ({mt}) VM_PFNMAP VMA: \"Cacheable PFNMAP is not allowed\", -EINVAL on every host (the "
               "commit that blocks the S1/S2 mismatch, before the one that allows cacheable mappings).",
    "flag_missing": "A cacheable ({mt}) VM_PFNMAP VMA in a memslot without KVM_MEM_ENABLE_CACHEABLE_PFNMAP: "
                    "userspace did not ask for a cacheable mapping, so -EINVAL (where earlier kernels mapped it "
                    "Device).",
    "flag_unsupported": "KVM_MEM_ENABLE_CACHEABLE_PFNMAP over a cacheable ({mt}) VM_PFNMAP VMA, and the host lacks "
                        "{missing}: refuse the memslot now, rather than fail at fault time.",
    "flag_ok": "KVM_MEM_ENABLE_CACHEABLE_PFNMAP over a cacheable ({mt}) VM_PFNMAP VMA, on a host with FWB and "
               "DIC: allowed.",
}, code={"refuse": "cacheable VM_PFNMAP VMA and no FWB+DIC -> -EINVAL",
         "blocked": "cacheable VM_PFNMAP VMA -> -EINVAL",
         "flag_missing": "cacheable VM_PFNMAP VMA and (no KVM_MEM_ENABLE_CACHEABLE_PFNMAP or no FWB+DIC) -> -EINVAL",
         "flag_unsupported": "cacheable VM_PFNMAP VMA and (no KVM_MEM_ENABLE_CACHEABLE_PFNMAP or no FWB+DIC) -> "
                             "-EINVAL",
         "flag_ok": "cacheable VM_PFNMAP VMA and (no KVM_MEM_ENABLE_CACHEABLE_PFNMAP or no FWB+DIC) -> -EINVAL"},
    state=_host_s1, key=True, mail=True)

declare("cap.check_extension", "kvm_vm_ioctl_check_extension", ARM_C, "cap", None, {
    "unknown": "This kernel does not know capability 243: kvm_vm_ioctl_check_extension() answers 0, so a VMM "
               "cannot discover FWB.",
    "known": lambda v: "KVM_CHECK_EXTENSION(KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED) on the VM fd: {} ({}).".format(
        v["r"], "FWB and DIC" if v["r"] else "needs FWB and DIC; missing " + v["missing"]),
    "numbered_240": lambda v: "KVM_CHECK_EXTENSION(KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED) on the VM fd: {} ({}). "
                    "This revision numbers the capability 240; by the time it was merged 240 to 242 were taken, and "
                    "it became 243.".format(v["r"], "FWB and DIC" if v["r"] else "needs FWB and DIC; missing "
                                            + v["missing"]),
}, code={"unknown": "unknown capability -> 0",
         "known": "cap 243 on a VM fd -> FWB and DIC supported (1) or not (0)\non /dev/kvm -> -EINVAL",
         "numbered_240": "cap 240 on a VM fd -> FWB and DIC supported (1) or not (0)\non /dev/kvm -> -EINVAL"},
    key=True)

declare("cap.supports", "kvm_supports_cacheable_pfnmap", "arch/arm64/include/asm/kvm_mmu.h", "cap", None,
        "kvm_supports_cacheable_pfnmap() = FWB && CACHE_DIC = {r}.", code={"": "supported = FWB and CACHE_DIC"})

declare("cap.arch_supports", "kvm_arch_supports_cacheable_pfnmap", MMU_C, "cap", None,
        "kvm_arch_supports_cacheable_pfnmap() = FWB && CACHE_DIC = {r} (the series' name for what mainline calls "
        "kvm_supports_cacheable_pfnmap()).", code={"": "supported = FWB and CACHE_DIC"})


def _flags(flags) -> str:
    from .words import flags_text
    return flags_text(flags)


SLOT_FLAG_WORDS = {"log": "KVM_MEM_LOG_DIRTY_PAGES", "ro": "KVM_MEM_READONLY", "gmem": "KVM_MEM_GUEST_MEMFD"}


def _slot_flags(flags) -> str:
    return "|".join(w for k, w in SLOT_FLAG_WORDS.items() if k in flags) or "0"
