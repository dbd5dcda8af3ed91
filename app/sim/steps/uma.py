"""Steps of user_mem_abort() (arch/arm64/kvm/mmu.c) and its helpers: the VMA lookup and size, the
PFN, the classification, prot, MTE and the huge-page adjustment."""
from __future__ import annotations

from ..hw.memattr import s2_memattr
from ..hw.pgtable import Prot
from ..units import size_text
from .registry import declare
from .words import BACKING_WORDS, attrindx

MMU_C = "arch/arm64/kvm/mmu.c"
UMA = "user_mem_abort"


declare("uma.entry", UMA, MMU_C, "fault", "memslot", {
    "": "exec_fault={exec_fault}, write_fault={write_fault}, logging_active={logging_active} (dirty logging "
        "needs a writable slot), fault_is_perm={fault_is_perm}.",
    "read_perm": "A permission fault that is neither a write nor an exec: \"Unexpected L2 read permission error\".",
}, code={"": "exec_fault: instruction abort, not on a stage-1 walk\n"
             "logging_active: the slot has a dirty bitmap and is writable", "read_perm": "-> -EFAULT"}, mail=True)

declare("uma.vma_lookup", UMA, MMU_C, "fault", "vma", {
    "": "mmap_read_lock(); vma_lookup(hva {hva:#x}) finds the VMA ({flags}).",
    "none": "mmap_read_lock(); vma_lookup(hva {hva:#x}) finds no VMA: the VMM unmapped it. \"Failed to find VMA for "
            "hva\": -EFAULT, and KVM_RUN fails with it.",
}, code={"*": "look the VMA up under mmap_lock; none -> -EFAULT"},
    state=lambda case, v, ctx: {"know": {"vma": v["flags"]}} if case == "" else None, mail={"none"})

PFNMAP_BLOCK_NOTE = (" (the host itself may map the range with smaller leaves, e.g. remap_pfn_range()'s PAGE_SIZE "
                     "ones; where the VMA's pages are not physically contiguous, as in a udmabuf, the block covers "
                     "PAs the VMA does not map)")
VMA_SIZE_WHY = {
    "logging": "dirty logging forces PAGE_SIZE mappings",
    "hugetlb": "hugetlb VMA: the huge page size",
    "page": "not hugetlb, not VM_PFNMAP: PAGE_SHIFT",
    "page_leaf_later": "not hugetlb: PAGE_SHIFT (a larger stage-1 leaf is found later)",
}
VMA_SIZE_NOTES = {"pud_demoted": "PUD block does not fit the memslot: try PMD",
                  "pmd_demoted": "PMD block does not fit the memslot: PAGE_SIZE",
                  "vma_demoted": "the larger block would start before the VMA (an event split it): smaller",
                  "past_vma": "the block starts at this HVA, so ALIGN(hva, size) is hva itself and the test against "
                              "vm_end passes: the block reaches past the end of the VMA, over HVAs the VMM unmapped",
                  "over_vma": "the block starts at this HVA, so ALIGN(hva, size) is hva itself and the test against "
                              "vm_end passes: the block reaches past the end of the VMA, over HVAs another VMA of "
                              "the memslot maps"}


def _vma_size_words(v) -> str:
    why = v["why"]
    if why == "pfnmap":
        text = (f"VM_PFNMAP: sized from the VMA's extent and its HVA/PA alignment ({size_text(v['leaf'])}), "
                "not from the host's stage-1 leaf") + (PFNMAP_BLOCK_NOTE if v["leaf"] > v["page"] else "")
    else:
        text = VMA_SIZE_WHY[why]
    notes = "".join("; " + VMA_SIZE_NOTES[n] for n in v["notes"])
    return (f"vma_shift={v['shift']} ({size_text(v['vma_pagesize'])}): {text}{notes}; "
            f"force_pte={v['force_pte']}.")


declare("uma.vma_size", UMA, MMU_C, "fault", "vma", _vma_size_words,
        code={"": "size: a page when logging, else what the VMA allows\ndemote a block that does not fit the memslot"})

declare("uma.snapshot", UMA, MMU_C, "fault", "vma", {
    "": "Snapshot the VMA before dropping mmap_lock: mte_allowed={mte_allowed}, "
        "vfio_allow_any_uc={vfio_allow_any_uc} (VM_ALLOW_ANY_UNCACHED).",
    "vma_cacheable": "Snapshot the VMA before dropping mmap_lock: vm_flags {flags}, "
                     "is_vma_cacheable={is_vma_cacheable} ({mt}), mte_allowed={mte_allowed}.",
    "v1": "Snapshot the VMA: mte_allowed={mte_allowed}. (VM_ALLOW_ANY_UNCACHED does not exist yet: it came "
          "later, from this series' own 2/2 turned into a series of its own.)",
    "is_vma_cacheable": "Snapshot the VMA before dropping mmap_lock: is_vma_cacheable={is_vma_cacheable} ({mt}), "
                        "for every VMA, mte_allowed={mte_allowed}, vfio_allow_any_uc={vfio_allow_any_uc}.",
}, code={"": "remember VM_MTE_ALLOWED and VM_ALLOW_ANY_UNCACHED\ndrop mmap_lock",
         "vma_cacheable": "remember vm_flags and whether the pgprot is cacheable\ndrop mmap_lock",
         "v1": "remember VM_MTE_ALLOWED",
         "is_vma_cacheable": "remember whether the pgprot is cacheable, for any VMA"},
    state=lambda case, v, ctx: {"memtype": {"host_s1": ctx.sc.mt}})

declare("uma.v3_cow", UMA, MMU_C, "fault", "vma", {
    "cow": "VM_PFNMAP and is_cow_mapping() (VM_MAYWRITE without VM_SHARED): -EINVAL. The return sits before "
           "mmap_read_unlock(), so mmap_lock stays held.",
    "pgprot": "VM_PFNMAP, not COW; mapping_type(vm_page_prot) is {mt}, so cacheable_devmem={cacheable_devmem} "
              "(only exactly MT_NORMAL counts).",
    "pgprot_noncacheable": "VM_PFNMAP, not COW; mapping_type_noncacheable(vm_page_prot) is {noncacheable} for {mt}, "
                           "so cacheable_devmem={cacheable_devmem} (anything but Normal-NC and Device counts as "
                           "cacheable, MT_NORMAL_TAGGED included).",
}, code={"cow": "VM_PFNMAP and a COW mapping -> -EINVAL (mmap_lock still held)",
         "pgprot": "VM_PFNMAP with AttrIndx exactly MT_NORMAL -> cacheable_devmem",
         "pgprot_noncacheable": "VM_PFNMAP with AttrIndx not Normal-NC or Device-* -> cacheable_devmem"},
    key=True, mail=True)


def _v1_pgprot_words(v) -> str:
    if v["device"]:
        return ("mapping_type(vm_page_prot) is {}: prot gets DEVICE now, before the PFN is known; the memory type "
                "follows the pgprot, not pfn_is_map_memory()." ).format(attrindx(v["mt"]))
    return ("mapping_type(vm_page_prot) is {}: no DEVICE, so Normal{}; the memory type follows the pgprot, not "
            "pfn_is_map_memory().").format(attrindx(v["mt"]), ", and X at once: CACHE_DIC" if v["cache_dic"] else "")


declare("uma.v1_pgprot", UMA, MMU_C, "fault", "vma", _v1_pgprot_words,
        code={"": "pgprot Device-nGnRE, Device-nGnRnE or Normal-NC -> prot DEVICE\notherwise, with CACHE_DIC -> X"},
        state=lambda case, v, ctx: _classify_state(case, v, ctx), key=True, mail=True,
        memtype=True)


def _v2_noncacheable_words(v) -> str:
    why = {"io": "VM_IO: noncacheable = true", "mte": "the VM has MTE and the VMA lacks VM_MTE_ALLOWED: "
           "noncacheable = true (and so no MTE check later)", "": "neither VM_IO nor an MTE VM without "
           "VM_MTE_ALLOWED: noncacheable stays false"}[v["why"]]
    return ("mt = mapping_type(vm_page_prot) = {}; {}. Stage 2 will take its type from mt: {}.").format(
        attrindx(v["mt"]), why, "Normal" if v["normal_cacheable"] else "Device or Normal-NC")


declare("uma.v2_noncacheable", UMA, MMU_C, "fault", "vma", _v2_noncacheable_words,
        code={"": "mt = the pgprot's AttrIndx\nVM_IO, or MTE VM and no VM_MTE_ALLOWED -> noncacheable"},
        state=lambda case, v, ctx: _classify_state(case, v, ctx), key=True, mail=True, memtype=True)

FAULTIN_CALL = {
    "__kvm_faultin_pfn": "pfn = __kvm_faultin_pfn(slot, gfn, write ? FOLL_WRITE : 0, &writable, &page)",
    "__gfn_to_pfn_memslot": "pfn = __gfn_to_pfn_memslot(slot, gfn, false, false, NULL, write_fault, &writable, NULL)",
}
FAULTIN_LEAD = {"io": "slow GUP refuses VM_IO", "special": "GUP cannot take the special PTE"}
FAULTIN_PATH = {
    "gup_fast": "GUP-fast with FOLL_WRITE succeeds on the present, writable host PTE",
    "gup_write_fails": "GUP for write fails: the VMA may not be written, and it is neither VM_IO nor VM_PFNMAP",
    "gup_read_ro_slot": "read-only memslot: no GUP-fast write attempt; GUP (read) returns the page",
    "gup_read_ro_pte": "GUP-fast for write fails on the read-only host PTE; GUP (read) returns the page",
    "special_no_fallback": "GUP finds a special PTE and fails; the VMA is neither VM_IO nor VM_PFNMAP, so there "
                           "is no fallback",
}


def faultin_path(key: str) -> str:
    if key in FAULTIN_PATH:
        return FAULTIN_PATH[key]
    _, lead, how = key.split("_", 2)
    if how == "ro_write":
        return FAULTIN_LEAD[lead] + "; hva_to_pfn_remapped(): a write fault on a read-only host PTE"
    return (FAULTIN_LEAD[lead] + "; hva_to_pfn_remapped() read the host PTE ("
            + ("writable" if how == "rw" else "read-only") + "), no page reference")


def pfn_state(case, v, ctx):
    if v.get("pfn") is None:
        return None
    return {"know": {"pfn": v["pfn"], "pa": v["pa"]}, "desc": {"OA": v["pa"]}}


declare("uma.faultin", UMA, MMU_C, "fault", "pfn", {
    "": lambda v: "{}(): {}: pfn {:#x}, writable={}{}.".format(
        v["fn"], faultin_path(v["path"]), v["pfn"], v["writable"], " (read-only memslot)" if v["ro"] else ""),
    "error": lambda v: "{}(): {} -> {}; user_mem_abort returns -EFAULT.".format(
        v["fn"], faultin_path(v["path"]), v["err"]),
}, code={"": lambda v: FAULTIN_CALL[v["fn"]], "error": lambda v: FAULTIN_CALL[v["fn"]] + "\nno PFN -> -EFAULT"},
    state=pfn_state, key=True, mail=True)


def _classify_state(case, v, ctx):
    kind = v.get("kind")
    if kind is None:
        return None
    return {"desc": {"MemAttr": s2_memattr(kind, ctx.has_fwb)}, "memtype": {"s2": kind}}


RAM_WHY = {"kernel_memory": "kvm_is_device_pfn() is false, the PFN is kernel memory",
           "not_special": "Not a VM_PFNMAP/VM_MIXEDMAP VMA", "special_ram": "The PFN is kernel memory",
           "cmo_ok": "kvm_can_use_cmo_pfn() is true, the PFN is kernel memory"}


def _v2_classify_words(v) -> str:
    head = ("pfn_valid() is false: no struct page, so noncacheable = true (no huge page, no exec, no MTE check); "
            if not v["pfn_valid"] else f"pfn_valid(): a struct page; noncacheable stays {v['noncacheable']}; ")
    tail = ("the memory type still comes from the pgprot." if not v["logging_ro"] else
            "dirty logging and a read: map it read-only so the first write faults and gets logged.")
    return head + tail

declare("uma.classify", UMA, MMU_C, "fault", "pfn", {
    "device_pfn": lambda v: f"kvm_is_device_pfn(): the PFN is not kernel memory ({BACKING_WORDS[v['mem']]}), so "
                            "device = true: the VMA's flags and memory type are not looked at.",
    "ram": lambda v: RAM_WHY[v["why"]] + ": it is mapped cacheable.",
    "ram_log_ro": lambda v: RAM_WHY[v["why"]] + ": cacheable. Dirty logging and a read: map it read-only so the "
                                                "first write faults and gets logged.",
    "ram_stays": lambda v: RAM_WHY[v["why"]] + ": map_non_cacheable stays false.",
    "v3_device_pfn": lambda v: "kvm_is_device_pfn(): the PFN is not kernel memory ({}); {}".format(
        BACKING_WORDS[v["mem"]], "cacheable_devmem keeps device false: it will be mapped Normal."
        if v["cacheable_devmem"] else "device = true."),
    "cacheable_unsupported": "A cacheable VMA over memory outside the kernel's map, and the host lacks {missing}: "
                             "-EFAULT (the VMA changed behind the memslot check).",
    "cacheable": "A cacheable VMA over memory outside the kernel's map, on a host with FWB and DIC: keep it "
                 "cacheable, stage 2 maps it Normal.",
    "noncacheable": lambda v: "{} over memory outside the kernel's map with a non-cacheable pgprot ({}): {} = true."
                    .format("VM_PFNMAP" if "pfnmap" in v["flags"] else "VM_MIXEDMAP", attrindx(v["mt"]), v["var"]),
    # the revisions of the series
    "v1_device_pfn": lambda v: f"kvm_is_device_pfn(): the PFN is not kernel memory ({BACKING_WORDS[v['mem']]}), so "
                               "device = true: no exec, no huge page, no MTE check. The memory type was already "
                               "chosen from the pgprot.",
    "v1_ram": lambda v: "kvm_is_device_pfn() is false, the PFN is kernel memory: device stays false (exec and huge "
                        "pages allowed); the memory type is the pgprot's." + (
                            " Dirty logging and a read: map it read-only so the first write faults and gets logged."
                            if v["logging_ro"] else ""),
    "v2": _v2_classify_words,
    "v7_cacheable": lambda v: f"kvm_can_use_cmo_pfn() is false ({BACKING_WORDS[v['mem']]}), but the VMA is cacheable "
                              f"({attrindx(v['mt'])}): disable_cmo stays false, and it will be mapped Normal, whatever "
                              "the VMA's flags.",
    "v7_noncacheable": lambda v: f"kvm_can_use_cmo_pfn() is false ({BACKING_WORDS[v['mem']]}) and the VMA is not "
                                 f"cacheable ({attrindx(v['mt'])}): disable_cmo = true.",
    "special_device": lambda v: "{} over memory outside the kernel's map: s2_force_noncacheable = true, whatever the "
                      "pgprot ({}).".format("VM_PFNMAP" if "pfnmap" in v["flags"] else "VM_MIXEDMAP",
                                            attrindx(v["mt"])),
    "cow_after_unlock": "A COW {what} over memory outside the kernel's map: -EINVAL. The check now sits after "
                        "mmap_read_unlock(), so nothing is left locked.",
    "mixedmap_noncacheable": lambda v: "VM_MIXEDMAP over memory outside the kernel's map: only a VM_PFNMAP VMA may be "
                             f"mapped cacheable, so s2_force_noncacheable = true, whatever its pgprot "
                             f"({attrindx(v['mt'])}).",
}, code={"device_pfn": "PFN outside the kernel's memory -> device\notherwise, logging and a read -> not writable",
         "ram_log_ro": "logging and a read -> not writable",
         "v3_device_pfn": "PFN outside the kernel's memory -> device, unless cacheable_devmem",
         "cacheable_unsupported": "cacheable VMA, PFN outside the kernel's memory, no FWB+DIC -> -EFAULT",
         "cacheable": "cacheable VMA: supported host -> stays cacheable",
         "noncacheable": "non-cacheable pgprot -> {var}",
         "v1_device_pfn": "PFN outside the kernel's memory -> device (exec, huge pages, MTE; not the type)",
         "v1_ram": "kernel memory: device stays false; logging and a read -> not writable",
         "v2": "no struct page -> noncacheable\nnot noncacheable, logging and a read -> not writable",
         "v7_cacheable": "PFN outside the kernel's memory -> disable_cmo unless the VMA is cacheable",
         "v7_noncacheable": "PFN outside the kernel's memory -> disable_cmo unless the VMA is cacheable",
         "special_device": "VM_PFNMAP/VM_MIXEDMAP over memory outside the kernel's -> s2_force_noncacheable",
         "cow_after_unlock": "VM_PFNMAP/VM_MIXEDMAP outside the kernel's memory, COW -> -EINVAL",
         "mixedmap_noncacheable": "cacheable only for VM_PFNMAP: otherwise s2_force_noncacheable"},
    state=_classify_state, key=True, mail=True, memtype=True)

def _leak_note(v) -> str:
    return "" if v["page_released"] else (" The return comes before the release of the page reference "
                                          "__kvm_faultin_pfn() took: the reference leaks.")


declare("uma.noexec", UMA, MMU_C, "fault", "s2", {
    "": lambda v: "An instruction fetch from memory mapped non-cacheable: refuse with -ENOEXEC." + _leak_note(v),
    "v2": lambda v: ("An instruction fetch, and the memory is not safely Normal cacheable (noncacheable={}, pgprot "
                     "{}): refuse with -ENOEXEC.").format(v["noncacheable"], attrindx(v["mt"])) + _leak_note(v),
}, code={"": "exec fault on device memory -> -ENOEXEC",
         "v2": "exec fault, and noncacheable or a pgprot other than Normal -> -ENOEXEC"}, key=True, mail=True)

declare("uma.excl_atomic", UMA, MMU_C, "fault", "s2",
        "FSC 0x35: an exclusive or atomic access the memory type cannot do (e.g. LS64 to cacheable memory without "
        "FEAT_LS64WB); inject a data abort with FSC 0x35 and let the guest handle it.",
        code={"": "FSC 0x35 -> inject a data abort with FSC 0x35, resume"}, key=True, mail=True)

declare("uma.lock_retry", UMA, MMU_C, "fault", "s2",
        "Take kvm_fault_lock; no MMU-notifier invalidation raced with us.",
        code={"": "take the fault lock; an invalidation raced -> retry"}, decides=False)


def _resized(case, v, ctx):
    if "pa" not in v:
        return None
    return {"know": {"pfn": v["pfn"], "pa": v["pa"]}, "desc": {"OA": v["pa"], "size": v["vma_pagesize"]}}


THP_NO_UPGRADE = {"block": "the size is already a block", "force_pte": "force_pte"}

declare("uma.thp", UMA, MMU_C, "fault", "s2", {
    "no_upgrade": lambda v: "No THP/granule adjustment: {}.".format(
        THP_NO_UPGRADE.get(v["why"], f"{v['why']}: no upgrade")),
    "perm_block": "Permission fault on a {size} block: handle it at the block's size.",
}, code={"perm_block": "permission fault on a block -> use the block's size"}, state=_resized, decides=False)

declare("thp_adjust", "transparent_hugepage_adjust", MMU_C, "fault", "s2", {
    "upgrade": "The host maps this HVA with a {leaf} leaf: upgrade to a {pmd} block.",
    "stay": "The host leaf is {leaf}: stay at PAGE_SIZE.",
}, code={"upgrade": "host leaf at least PMD-sized -> map a PMD block"}, state=_resized, decides=False)

declare("uma.mte", UMA, MMU_C, "fault", "pfn", {
    "sanitise": "The VM has MTE: sanitise the tags of the {size} being mapped.",
    "allowed": "The VM has MTE and the VMA has VM_MTE_ALLOWED: go on (tags are dealt with once the mapping size "
               "is final).",
    "refuse": "The VM has MTE, but this VMA (swapped in after registration?) lacks VM_MTE_ALLOWED: -EFAULT.",
}, code={"sanitise": "sanitise the MTE tags of the pages mapped",
         "allowed": "new cacheable mapping in an MTE VM:\n    VMA without VM_MTE_ALLOWED -> -EFAULT",
         "refuse": "new cacheable mapping in an MTE VM:\n    VMA without VM_MTE_ALLOWED -> -EFAULT"},
    key=True, mail=True)

declare("uma.mte_sanitise", "kvm_s2_fault_map", MMU_C, "fault", "s2",
        "Under the lock, after the size is final: sanitise the MTE tags of the {size} being mapped.",
        code={"": "new cacheable mapping in an MTE VM -> sanitise the tags of the whole mapping"}, decides=False)


def _prot_words(v) -> str:
    parts = ["R always", "W: the PFN is writable" if v["writable"] else "no W: not writable"]
    if v["exec_fault"]:
        parts.append("X: an exec fault")
    if v["prot"] & Prot.DEVICE:
        parts.append("DEVICE: non-cacheable")
    elif v["prot"] & Prot.NORMAL_NC:
        parts.append("NORMAL_NC: VM_ALLOW_ANY_UNCACHED")
    elif v["cache_dic"]:
        parts.append("X: CACHE_DIC makes executable mappings free")
    return f"prot = {Prot.describe(v['prot'])}: {', '.join(parts)}."


def _prot_state(case, v, ctx):
    prot = v.get("prot")
    if prot is None:
        return None
    d = {"prot": prot}
    if not v["perm_fault"]:
        d |= {"S2AP": ("R" if prot & Prot.R else "-") + ("W" if prot & Prot.W else "-"),
              "XN": 0 if prot & Prot.X else 1}
    return {"desc": d}


declare("uma.prot", UMA, MMU_C, "fault", "s2", {
    "": _prot_words,
    "logging_ro": "Dirty logging and a read fault on memory: no W, so the first write faults and gets logged.",
}, code={"": "prot: R, plus W if writable, plus X for an exec fault\n"
             "device: plus NORMAL_NC with VM_ALLOW_ANY_UNCACHED, else DEVICE\notherwise, with CACHE_DIC: plus X",
         "logging_ro": "W only if writable and (device, or not logging, or a write)"},
    state=_prot_state, key=True, mail=True)

declare("uma.v3_fwb", UMA, MMU_C, "fault", "s2", {
    "refuse": "cacheable_devmem without FWB: KVM would have to clean the D-cache through a kernel mapping the "
              "memory may not have; -EINVAL, at fault time.",
    "ok": lambda v: "cacheable_devmem and FWB: no D-cache clean is needed, go on." + (
        "" if v["cache_dic"] else " The patch does not ask for DIC: without it, an executable mapping of this "
        "memory still needs the I-cache invalidated by VA, through a linear mapping this memory does not have."),
}, code={"refuse": "cacheable_devmem without FWB -> -EINVAL"}, key=True, mail=True)

declare("uma.v3_fwb_dic", UMA, MMU_C, "fault", "s2", {
    "refuse": "cacheable_devmem, and the host lacks {missing}: KVM would have to clean the D-cache or invalidate "
              "the I-cache through a kernel mapping this memory does not have; -EINVAL, at fault time.",
    "ok": "cacheable_devmem on a host with FWB and DIC: no cache maintenance by address is needed, go on.",
}, code={"refuse": "cacheable_devmem without FWB and DIC -> -EINVAL"}, key=True, mail=True)

declare("uma.pfn_fwb", UMA, MMU_C, "fault", "s2", {
    "fwb": "The host has FWB: no D-cache clean by the kernel's address will be needed, go on.",
    "page": lambda v: "No FWB, but the PFN has a struct page{}: the D-cache can be cleaned through it, go on.".format(
        " whose linear-map address is where the clean will look" if v["v1"] else ""),
    "refuse": "No FWB, and the PFN has no struct page: KVM could not clean it through the kernel's linear map. "
              "-EINVAL, at fault time, whatever the VMA's memory type: every device PFN is refused, vfio BARs "
              "included.",
}, code={"*": "no FWB and no struct page (in the kernel's map) -> -EINVAL"}, key=True, mail=True)

declare("uma.v7_supports", UMA, MMU_C, "fault", "s2", {
    "refuse": lambda v: ("is_vma_cacheable, and kvm_arch_supports_cacheable_pfnmap() is false (no {}): -EINVAL, at "
                         "fault time. The check is not limited to VM_PFNMAP memory outside the kernel's map: {}.")
    .format(v["missing"], "this is ordinary kernel memory, so no VM runs on this host" if v["kernel_memory"] else
            "any cacheable VMA is refused"),
    "ok": "is_vma_cacheable, and the host has FWB and DIC: go on.",
}, code={"*": "a cacheable VMA, any VMA, without FWB+DIC -> -EINVAL"}, key=True, mail=True)

declare("uma.mismatch", UMA, MMU_C, "fault", "s2",
        lambda v: "The VMA is cacheable ({}) and stage 2 would map it non-cacheable: the S1/S2 mismatch is refused "
                  "with -EINVAL.".format(attrindx(v["mt"])),
        code={"": "cacheable VMA and s2_force_noncacheable -> -EINVAL"}, key=True, mail=True)

declare("uma.out", UMA, MMU_C, "fault", "s2",
        lambda v: "Release the page, drop the lock{}.".format(
            "; mark the page dirty in the slot's log" if v["mark_dirty"] else ""),
        code={"": "release the page, drop the lock; writable -> mark it dirty"}, decides=False)

def _overmap_words(v) -> str:
    examples = "; ".join(f"IPA {i:#x} -> host PA {h:#x} ("
                         + (f"buffer page {b}, at the wrong IPA" if b is not None else "not a buffer page")
                         + f", the guest expects PA {e:#x})" for i, h, b, e in v["shown"])
    fault = (f"The faulting access at IPA {v['page_ipa']:#x} will land on host PA {v['got']:#x}, "
             + ("its own buffer page. " if v["got"] == v["expect"] else
                f"not its buffer page (PA {v['expect']:#x}). "))
    return ("get_vma_page_shift() sized this VM_PFNMAP mapping from vm_pgoff, as if the buffer were physically "
            f"contiguous: the {size_text(v['size'])} mapping will start at the PA of the buffer page at IPA "
            f"{v['ipa']:#x} and cover the {v['overmapped']} host pages that follow it physically, which are not "
            f"the buffer's: {examples}. {fault}The guest will read and write host memory outside the buffer. "
            f"Fixed by {SG_FIX}.")


SG_FIX = ("\"KVM: arm64: Use stage-1 leaf size for VM_PFNMAP\" (mainline 7.3-rc6; stable 7.2.10, 6.18.56, "
          "6.12.113)")

declare("get_vma_page_shift", "get_vma_page_shift", MMU_C, "fault", "s2", _overmap_words,
        code={"": "PFNMAP size from (vm_pgoff << PAGE_SHIFT) + (hva - vm_start): PUD or PMD if HVA and that PA\n"
                  "    are congruent and the VMA covers the block, else PAGE_SIZE"},
        key=True, mail=True, decides=False)
