"""Steps of the host events between faults: what the VMM or the host does (munmap(), mmap(MAP_FIXED),
page reclaim: not KVM code, so no lines), the MMU notifier (virt/kvm/kvm_main.c), its arm64 handlers
(arch/arm64/kvm/mmu.c) and their stage-2 walkers (arch/arm64/kvm/hyp/pgtable.c), and the memslot
ioctl on the existing slot: KVM_MR_FLAGS_ONLY (dirty logging on or off) and KVM_MR_DELETE
(kvm_main.c, mmu.c)."""
from __future__ import annotations

from ..units import size_text
from .registry import declare

KVM_MAIN_C, MMU_C, PGTABLE_C = "virt/kvm/kvm_main.c", "arch/arm64/kvm/mmu.c", "arch/arm64/kvm/hyp/pgtable.c"
VMM = "the VMM (userspace)"
HOST_MM = "the host's page reclaim (mm)"


def _range(v) -> str:
    return f"HVA [{v['hva']:#x}, +{size_text(v['size'])}) (IPA {v['ipa']:#x})"


# ---- what the VMM and the host do ---------------------------------------------------------------

def _no_vma_state(case, v, ctx):
    return {"know": {"hva": v["hva"]}}


declare("vmm.munmap", "munmap", VMM, "event", "hva", {
    "": lambda v: f"The VMM munmap()s {_range(v)}. Before the host's page tables there are torn down, the MMU "
                  "notifiers are told; afterwards no VMA covers the range, so vma_lookup() finds nothing there.",
    "none": lambda v: f"The VMM munmap()s {_range(v)}, where nothing is mapped any more: no VMA, no MMU notifier.",
}, code={"": "munmap(hva, size)", "none": "munmap(hva, size)"}, state=_no_vma_state, key=True, mail=True)


def _object(v) -> str:
    flags = v["flags"]
    if {"pfnmap", "io", "mixedmap"} & flags:
        return "the device file (its driver maps the same PFNs)"
    if "shared" in flags:
        return "the same file or memfd"
    return "the same object"


declare("vmm.mmap", "mmap", VMM, "event", "hva", {
    "over": lambda v: f"The VMM maps {_object(v)} again over {_range(v)} with mmap(MAP_FIXED): the old mapping "
                      "there is unmapped first, MMU notifiers and all; then a new VMA maps the same pages"
                      + (" and merges with the VMAs around it." if v["mergeable"] else
                         " (VM_IO/VM_PFNMAP/VM_MIXEDMAP VMAs never merge: it stays a VMA of its own)."),
    "hole": lambda v: f"The VMM maps {_object(v)} again over {_range(v)} with mmap(MAP_FIXED). Nothing was mapped "
                      "there, so no MMU notifier runs; a new VMA maps the same pages"
                      + (" and merges with the VMAs around it." if v["mergeable"] else
                         " (VM_IO/VM_PFNMAP/VM_MIXEDMAP VMAs never merge: it stays a VMA of its own)."),
}, code={"*": "mmap(hva, size, prot, MAP_SHARED | MAP_FIXED, fd, offset)"}, state=_no_vma_state, key=True,
    mail=True)

HOST_VMA = "the host's mm (mm/vma.c, mm/huge_memory.c)"

declare("vmm.split_pmd", "__split_huge_pmd", HOST_VMA, "event", "hva",
        lambda v: f"The {'munmap()' if v['event'] == 'unmap' else 'mmap(MAP_FIXED)'} cuts the VMA at HVA {v['at']:#x}, "
                  f"which is not {size_text(v['size'])}-aligned, inside a {size_text(v['size'])} range the VMA covers "
                  "whole: __split_vma() calls vma_adjust_trans_huge(), whose split_huge_pmd_if_needed() calls "
                  f"__split_huge_pmd() on HVA [{v['hva']:#x}, +{size_text(v['size'])}) (IPA {v['ipa']:#x}), and that "
                  "tells the MMU notifiers about the whole PMD range before it looks for a huge page to split, "
                  "whether or not there is one. So KVM unmaps the neighbours of the cut from stage 2 as well.",
        code={"": "__split_vma(vma, addr) -> vma_adjust_trans_huge() -> split_huge_pmd_if_needed(vma, addr):\n"
                  "    addr not PMD-aligned and the PMD around it inside the VMA ->\n"
                  "    __split_huge_pmd(): mmu_notifier_invalidate_range_start(PMD range)"}, mail=True)

declare("host.reclaim", "folio_referenced", HOST_MM, "event", "hva", {
    "": lambda v: f"Page reclaim looks at the pages behind {_range(v)}: folio_referenced() asks each mapping "
                  "whether the page was used since the last look, clearing the host's own young bits and, through "
                  "ptep_clear_flush_young_notify(), KVM's. (With MGLRU enabled a page mapped by PTEs goes through "
                  "lru_gen_look_around() instead, whose clear_young() flushes no TLB: not modelled.)",
    "none": lambda v: f"Page reclaim ages {_range(v)}, but nothing is mapped at these HVAs any more: its rmap walk "
                      "never comes here, and KVM is not asked.",
}, code={"*": "folio_referenced() -> ptep_clear_flush_young_notify() -> mmu_notifier_clear_flush_young()"},
    state=_no_vma_state, key=True, mail=True)

# ---- the MMU notifier (kvm_main.c) ----------------------------------------------------------------

declare("mn.invalidate_start", "kvm_mmu_notifier_invalidate_range_start", KVM_MAIN_C, "event", "hva",
        "MMU notifier invalidate_range_start() for HVA [{hva:#x}, {end:#x}): KVM counts an invalidation in "
        "progress (a fault racing with it sees the sequence change and retries), then unmaps stage 2 in every "
        "memslot the range meets (kvm_mmu_unmap_gfn_range()).",
        code={"": "mn_active_invalidate_count++\nfor each memslot the HVA range meets:\n"
                  "    under mmu_lock: invalidation begins; unmap the gfn range from stage 2"})

declare("mn.age", "kvm_mmu_notifier_clear_flush_young", KVM_MAIN_C, "event", "hva",
        "MMU notifier clear_flush_young() for HVA [{hva:#x}, {end:#x}): age the stage-2 mappings of the range "
        "with kvm_age_gfn(), and flush the VM's TLBs if any was young (arm64 does not select "
        "CONFIG_KVM_ELIDE_TLB_FLUSH_IF_YOUNG).",
        code={"": "for each memslot the HVA range meets: young |= kvm_age_gfn()\nyoung -> flush the VM's TLBs"})


def _slot_state(case, v, ctx):
    if case == "none":
        return {"know": {"memslot": None}}
    return {"know": {"memslot": (v["slot"][0], v["slot"][1], "ro" not in ctx.sc.slot), "ipa": v["ipa"]}}


declare("mn.hva_range", "__kvm_handle_hva_range", KVM_MAIN_C, "event", "memslot", {
    "slot": "The HVAs meet the memslot: gfn [{gfn:#x}, {gfn_end:#x}), IPA {ipa:#x} +{size}; take mmu_lock and "
            "call {handler}() on that range.",
    "none": "No memslot's userspace range meets these HVAs (the slot was deleted): KVM has nothing to do.",
}, code={"slot": "for each memslot whose HVA range meets [start, end):\n"
                 "    gfn range = the pages of the intersection; handler(kvm, gfn range)",
         "none": "no memslot meets the HVA range -> nothing"}, state=_slot_state)


def _tlb(case, v, ctx):
    return {"cmo": {"tlb": "done"}} if case == "young" else None


declare("mn.flush", "__kvm_handle_hva_range", KVM_MAIN_C, "event", "s2", {
    "young": "A leaf was young: kvm_flush_remote_tlbs() invalidates the VM's TLB entries, so the guest's next "
             "access walks stage 2 again and finds AF clear.",
    "old": "No leaf in the range was young: no TLB flush.",
}, code={"*": "flush_on_ret and something was young -> kvm_flush_remote_tlbs()"}, state=_tlb, decides=False)

# ---- arm64 handlers (mmu.c) -------------------------------------------------------------------------

declare("unmap.gfn_range", "kvm_unmap_gfn_range", MMU_C, "event", "s2",
        "kvm_unmap_gfn_range(): __unmap_stage2_range() over IPA {ipa:#x} +{size}, with mmu_lock held for write.",
        code={"": "unmap [gfn start, gfn end) from stage 2 (kvm_pgtable_stage2_unmap())"}, mail=True)

declare("age.gfn", "kvm_age_gfn", MMU_C, "event", "s2",
        "kvm_age_gfn(): kvm_pgtable_stage2_test_clear_young(IPA {ipa:#x}, +{size}, mkold = true): clear AF in every "
        "valid leaf of the range and say whether any was young.",
        code={"": "young = test and clear AF over the range (mkold)"}, mail=True)

# ---- stage-2 walkers (hyp/pgtable.c) ------------------------------------------------------------------

declare("pgt.unmap", "kvm_pgtable_stage2_unmap", PGTABLE_C, "event", "s2",
        lambda v: "kvm_pgtable_stage2_unmap() walks IPA {:#x} +{}: every leaf it touches, then each table on the way "
                  "back up. The TLB entries of what it clears are invalidated {}.".format(
                      v["ipa"], size_text(v["size"]),
                      "as it goes, or, on a CPU with FEAT_TLBIRANGE, with one range TLBI after the walk (FWB: no "
                      "cache maintenance to wait for)" if v["fwb"] else
                      "one by one as it goes (no FWB: the walker may have to clean caches)"),
        code={"": "walk the range: stage2_unmap_walker() on each leaf, and on each table after its entries\n"
                  "FWB and FEAT_TLBIRANGE -> one range TLBI at the end"})


def _entry(v) -> str:
    return "page" if v["level"] == 3 else "block"


def _more(v, what: dict) -> str:
    parts = [f"{v['n_' + k]} {w}" for k, w in what.items() if v.get("n_" + k)]
    cleans = f"; {v['cleans']} of them cleaned to PoC first" if v.get("cleans") else ""
    return "...and " + ", ".join(parts) + cleans + "."


declare("pgt.unmap_walker", "stage2_unmap_walker", PGTABLE_C, "event", "s2", {
    "leaf": lambda v: f"Clear the level-{v['level']} {_entry(v)} at IPA {v['ipa']:#x} ({v['old']:#018x}) and "
                      "invalidate its TLB entry.",
    "block": lambda v: f"The level-{v['level']} block at IPA {v['ipa']:#x} ({size_text(v['size'])}) reaches outside "
                       f"the range; it is cleared whole ({v['old']:#018x}) and its TLB entry invalidated: the rest of "
                       "it faults back in, lazily, at the next access.",
    "table": lambda v: f"The level-{v['level']} table at IPA {v['ipa']:#x} has no entries left: clear the level-"
                       f"{v['parent']} entry that points to it, invalidate the TLB for its range and free the page.",
    "more": lambda v: _more(v, {"leaf": "more leaves cleared", "block": "more blocks cleared whole",
                                "table": "more empty tables freed"}),
    "none": "Nothing is mapped at stage 2 in the range: nothing to unmap.",
}, code={"leaf": "valid leaf -> clear it, invalidate its TLB entry\n"
                 "    cacheable and no FWB -> clean it to PoC by VA",
         "block": "a block is cleared whole, even where it reaches outside the range",
         "table": "table with no entries left -> clear it, free the page (never the root)"})

declare("pgt.age_walker", "stage2_age_walker", PGTABLE_C, "event", "s2", {
    "young": "The level-{level} leaf at IPA {ipa:#x} was young: clear AF, {old:#018x} -> {new:#018x}. No TLB "
             "invalidation here (\"over in the core code\": the notifier flushes).",
    "more": lambda v: _more(v, {"young": "more young leaves aged"}),
    "none": "No leaf in the range has AF set: nothing to age, nothing was young.",
}, code={"young": "valid leaf with AF -> young = true; clear AF (mkold)"})

declare("pgt.wrprotect", "stage2_attr_walker", PGTABLE_C, "event", "s2", {
    "leaf": "Clear S2AP[1] (write) in the level-{level} leaf at IPA {ipa:#x}: {old:#018x} -> {new:#018x}.",
    "more": lambda v: _more(v, {"leaf": "more leaves write-protected"}),
    "none": "No writable leaf in the slot: nothing to write-protect.",
}, code={"leaf": "valid leaf: clear S2AP[1] (kvm_pgtable_stage2_wrprotect())"})

# ---- KVM_SET_USER_MEMORY_REGION on the existing slot (kvm_main.c, mmu.c) -------------------------------

declare("slot.modify", "kvm_set_memory_region", KVM_MAIN_C, "event", "memslot", {
    "flags_only": lambda v: "KVM_SET_USER_MEMORY_REGION on the existing slot, same place and size, KVM_MEM_LOG_DIRTY_"
                            "PAGES {}: KVM_MR_FLAGS_ONLY.".format("set" if v["log"] else "cleared"),
    "nothing": lambda v: "KVM_SET_USER_MEMORY_REGION with the flags the slot already has (dirty logging already "
                         "{}): nothing to change, the ioctl returns 0.".format("on" if v["log"] else "off"),
    "gmem": "The slot is a guest_memfd slot: \"private memslots are immutable, they can only be deleted\": -EINVAL, "
            "and the slot keeps its flags.",
}, code={"*": "existing slot, same base and size: flags differ -> KVM_MR_FLAGS_ONLY, else nothing to do\n"
              "guest_memfd slot -> -EINVAL"}, key=True, mail=True)

declare("slot.delete", "kvm_set_memory_region", KVM_MAIN_C, "event", "memslot", {
    "delete": "KVM_SET_USER_MEMORY_REGION with memory_size 0: KVM_MR_DELETE of the slot at IPA {gpa:#x} +{size}.",
    "none": "KVM_SET_USER_MEMORY_REGION with memory_size 0 for a slot that no longer exists: -EINVAL.",
}, code={"*": "memory_size 0: no such slot -> -EINVAL, else KVM_MR_DELETE"}, key=True, mail=True)

declare("slot.prepare", "kvm_prepare_memory_region", KVM_MAIN_C, "event", "memslot", {
    "log_on": "Logging on: allocate the slot's dirty bitmap; memslot_is_logging() is true from now on (for a "
              "slot that is not read-only).",
    "log_off": "Logging off: the new copy of the slot has no dirty bitmap (the old one is freed at commit), so "
               "memslot_is_logging() is false from now on.",
}, code={"*": "KVM_MEM_LOG_DIRTY_PAGES -> allocate (or keep) the dirty bitmap, else none\n"
              "then kvm_arch_prepare_memory_region()"})

declare("slot.commit", "kvm_arch_commit_memory_region", MMU_C, "event", "s2", {
    "log_on": "Dirty logging is on now and the VMM did not ask for manual protection with all bits initially set: "
              "write-protect the whole slot at once, and split its blocks (kvm_mmu_split_memory_region()).",
    "log_off": "Dirty logging is off: free the eager-split cache. The stage-2 mappings stay as they are: a leaf "
               "write-protected for logging gets W back at its next write fault.",
    "delete": "The slot is gone: free the eager-split cache.",
}, code={"log_on": "logging on, not manual-protect with initially-set ->\n"
                   "    write-protect the slot; split its blocks",
         "log_off": "otherwise -> free the split cache, keep the mappings",
         "delete": "otherwise -> free the split cache, keep the mappings"}, key=True, mail=True)


declare("slot.wp", "kvm_mmu_wp_memory_region", MMU_C, "event", "s2",
        "Write-protect stage 2 over the slot, IPA {gpa:#x} +{size}, under mmu_lock (kvm_stage2_wp_range() -> "
        "kvm_pgtable_stage2_wrprotect()), then flush the slot's TLB entries (kvm_flush_remote_tlbs_memslot()).",
        code={"": "clear write permission in every leaf of the slot\nflush the TLBs for the slot"},
        state=lambda case, v, ctx: {"cmo": {"tlb": "done"}}, mail=True)

declare("slot.split", "kvm_mmu_split_huge_pages", MMU_C, "event", "s2", {
    "off": "Eager splitting is off: its chunk size is 0 unless the VMM set KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE, so "
           "the blocks stay blocks, read-only now; a write to one faults and is mapped again at page size.",
}, code={"off": "chunk size 0 -> return, nothing split"}, mail=True)

declare("slot.invalidate", "kvm_invalidate_memslot", KVM_MAIN_C, "event", "memslot",
        "Mark the slot KVM_MEMSLOT_INVALID and make that copy the active one: a fault there finds no memslot from "
        "now on. Then unmap it from stage 2 (kvm_arch_flush_shadow_memslot()).",
        code={"": "mark the slot invalid and activate that copy\nunmap the slot from stage 2"},
        state=lambda case, v, ctx: {"know": {"memslot": None}})

declare("slot.flush_shadow", "kvm_arch_flush_shadow_memslot", MMU_C, "event", "s2",
        "kvm_arch_flush_shadow_memslot(): unmap the whole slot, IPA {gpa:#x} +{size}, from stage 2 under mmu_lock "
        "(kvm_stage2_unmap_range()).", code={"": "unmap [slot base, slot end) from stage 2"}, mail=True)
