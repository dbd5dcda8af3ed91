"""Steps of the stage-2 update: stage2_set_prot_attr(), kvm_pgtable_stage2_map() and
kvm_pgtable_stage2_relax_perms() (arch/arm64/kvm/hyp/pgtable.c), the map or relax at the end of
the fault handlers, and the cache maintenance the map walker asks of mm_ops."""
from __future__ import annotations

from ..hw.memattr import s2_memattr_name
from ..hw.pgtable import Prot, pte_memattr
from ..units import size_text
from .facts import attr_fields, desc_fields
from .registry import declare

PGTABLE_C, MMU_C = "arch/arm64/kvm/hyp/pgtable.c", "arch/arm64/kvm/mmu.c"
KVM_MMU_H = "arch/arm64/include/asm/kvm_mmu.h"


def _attr_words(v) -> str:
    attr, lpa2 = v["attr"], v["lpa2"]
    fields = attr_fields(attr, lpa2)
    return ("stage2_set_prot_attr({}): MemAttr {:#x} ({}), S2AP {}, SH {}, AF=1, XN[1:0]={} ({}).".format(
        Prot.describe(v["prot"]), pte_memattr(attr), s2_memattr_name(pte_memattr(attr), v["fwb"]),
        fields["S2AP"], "omitted (LPA2)" if lpa2 else "0b11 (inner shareable)",
        "0b10" if fields["XN"] else "0b00", "execute-never at EL1 and EL0" if fields["XN"] else "executable"))


declare("pgt.set_prot_attr", "stage2_set_prot_attr", PGTABLE_C, "fault", "s2", _attr_words,
        code={"": "MemAttr: Device-nGnRE, Normal-NC or Normal, by prot\n"
                  "attributes: MemAttr, S2AP from R/W, SH inner shareable, AF, XN unless X"},
        state=lambda case, v, ctx: {"desc": attr_fields(v["attr"], ctx.geo.lpa2)}, mail=True, decides=False)

declare("pgt.prot_refused", "stage2_set_prot_attr", PGTABLE_C, "fault", "s2",
        lambda v: "stage2_set_prot_attr({}): a device or non-cacheable mapping cannot be executable: -EINVAL, and "
                  "KVM_RUN fails with it.".format(Prot.describe(v["prot"])),
        code={"": "DEVICE or NORMAL_NC together with X -> -EINVAL"}, key=True, mail=True)

SPLIT_WHY = {
    "pa_misaligned": "The output address {pa:#x} is not {size}-aligned, so kvm_block_mapping_supported() refuses "
                     "a {size} block at level {blevel}:",
    "no_block_level": "No level of this granule holds a {size} block (KVM allows blocks from level {blevel}):",
    "start_level": "The table starts at level {start} (the VM's IPA size), below the level a {size} block needs:",
}

INSTALL_WORDS = {
    "relax": "Permission fault at the mapping's own size: relax the existing leaf in place.",
    "map": "Map {size} at IPA {ipa:#x} -> PA {pa:#x}.",
    "livelock": "A permission fault went to the map path (the {size} mapping is larger than the {gran} leaf that "
                "faulted) and the map changed nothing: the guest resumes and faults again, forever (a livelock).",
    "excl_atomic_again": "FSC 0x35 came to the map path, which does not look for it: the page is mapped again, "
                         "nothing changes (-EAGAIN), and the guest re-runs the exclusive or atomic access and "
                         "faults the same way, forever (a livelock).",
}
INSTALL_CODE = {"relax": "relax the leaf's permissions in place", "map": "map [ipa, ipa + size) to pa with prot"}
declare("uma.map", "user_mem_abort", MMU_C, "fault", "s2", INSTALL_WORDS, code=INSTALL_CODE, decides=False)
declare("gmem.map", "gmem_abort", MMU_C, "fault", "s2", INSTALL_WORDS, code=INSTALL_CODE, decides=False)

declare("pgt.stage2_map", "kvm_pgtable_stage2_map", PGTABLE_C, "fault", "s2", {
    "walk": "Walk from level {start}; install the leaf where its size fits a block Linux allows.",
    "split": lambda v: "{} so the walker writes {} level-{} {} of {} each, over [{:#x}, +{}).".format(
        SPLIT_WHY[v["why"]].format(pa=v["pa"], size=size_text(v["size"]), blevel=v["blevel"], start=v["start"]),
        v["n"], v["level"], "page descriptors" if v["level"] == 3 else "block descriptors",
        size_text(v["leaf"]), v["pa"], size_text(v["size"])),
}, code={"walk": "walk the range: a leaf where a block fits, else a table"}, decides=False)

declare("pgt.walk_leaf", "stage2_map_walk_leaf", PGTABLE_C, "fault", "s2", {
    "alloc": lambda v: "No table at level {} for IPA {:#x}: allocate a zeroed page from the memcache and link a "
                       "level-{} table.".format(v["level"] - 1, v["ipa"], v["level"]),
    "free": "A level-{level} table is replaced by a block at {ipa:#x}.",
}, code={"alloc": "allocate a zeroed table page; link it"}, decides=False)

declare("pgt.try_leaf", "stage2_map_walker_try_leaf", PGTABLE_C, "fault", "s2", {
    "break": "Break-before-make: the old level-{level} entry {old:#018x} is invalidated and its TLB entries flushed "
             "before the new one goes in.",
    "same": "The level-{level} leaf at {ipa:#x} already holds this mapping, or differs only in permissions: "
            "-EAGAIN, the walk stops and nothing is written.",
}, code={"same": "same mapping (permissions aside) -> -EAGAIN, stop"}, decides=False)

declare("pgt.init_leaf", "kvm_init_valid_leaf_pte", PGTABLE_C, "fault", "s2",
        lambda v: "New level-{} {} for IPA {:#x}: {:#018x}.".format(
            v["level"], "page" if v["level"] == 3 else "block", v["ipa"], v["pte"]),
        code={"": "descriptor = output address + attributes + page/block type + valid"},
        state=lambda case, v, ctx: {"desc": desc_fields(v["pte"], ctx.geo)}, key=True, decides=False)


def _relax_state(case, v, ctx):
    return {"desc": desc_fields(v["new"], ctx.geo),
            "table": [{"level": v["level"], "ipa": v["ipa"], "state": "relaxed", "pte": v["new"]}]}


declare("pgt.relax_perms", "kvm_pgtable_stage2_relax_perms", PGTABLE_C, "fault", "s2", {
    "set_xn": "Set S2AP/set XN from prot's X as prot asks: {old:#018x} -> {new:#018x}.",
    "clear_xn": "Set S2AP/clear XN as prot asks: {old:#018x} -> {new:#018x}.",
}, code={"set_xn": "set S2AP for R and W; XN from prot: X clears it, no X sets it",
         "clear_xn": "set S2AP for R and W; clear XN for X"}, state=_relax_state, key=True, decides=False)


def _cmo(which):
    return lambda case, v, ctx: {"cmo": {which: "skipped" if case in ("fwb", "dic") else "done"}}


declare("clean_dcache", "__clean_dcache_guest_page", KVM_MMU_H, "fault", "pa", {
    "fwb": "The new leaf is Normal cacheable, so a D-cache clean+invalidate to PoC is requested, and skipped: with "
           "FWB the guest cannot see memory non-cacheably, so there is nothing to clean.",
    "linear": "No FWB: clean+invalidate {nbytes:#x} bytes to PoC through the kernel's linear map (__va({pa:#x})) "
              "before the guest can read it uncached.",
    "no_linear": "No FWB: KVM cleans to PoC through __va({pa:#x}), but this PFN has no linear mapping: the real "
                 "kernel would fault here.",
    "unmap": "The cleared leaf was Normal cacheable and there is no FWB: clean+invalidate its {nbytes:#x} bytes to "
             "PoC through the linear map (__va({pa:#x})), so what the guest wrote is not left in the caches only.",
    "unmap_no_linear": "The cleared leaf was Normal cacheable and there is no FWB: KVM cleans its {nbytes:#x} bytes "
                       "to PoC through __va({pa:#x}), but this PFN has no linear mapping: the real kernel would "
                       "fault here.",
}, code={"fwb": "FWB -> nothing to do", "linear": "clean+invalidate D-cache to PoC by VA of the linear map",
         "no_linear": "clean+invalidate D-cache to PoC by VA (there is no such VA)",
         "unmap": "clean+invalidate D-cache to PoC by VA of the linear map",
         "unmap_no_linear": "clean+invalidate D-cache to PoC by VA (there is no such VA)"},
    state=_cmo("dcache"), mail=True, decides=False)

declare("inval_icache", "__invalidate_icache_guest_page", KVM_MMU_H, "fault", "pa", {
    "dic": "The leaf is executable: I-cache invalidation to PoU is requested; with CTR_EL0.DIC it is only an ISB.",
    "iall": "The leaf is executable and the CPU lacks DIC: {nbytes:#x} bytes is more than MAX_DVM_OPS I-cache "
            "lines, so the whole I-cache is invalidated (IC IALLUIS): no VA needed.",
    "va": lambda v: "The leaf is executable and the CPU lacks DIC: invalidate the I-cache to PoU for {:#x} bytes "
                    "by VA (__va({:#x})).{}".format(
                        v["nbytes"], v["pa"], "" if v["linear_map"] else
                        " This PFN has no linear mapping: the real kernel would fault here."),
}, code={"dic": "DIC -> only an ISB", "iall": "invalidate the whole I-cache",
         "va": "invalidate the I-cache to PoU by VA of the linear map"},
    state=_cmo("icache"), mail=True, decides=False)
