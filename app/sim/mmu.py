"""arm64 KVM's stage-2 fault path as in v6.14 (arch/arm64/kvm/mmu.c and friends).

`KvmArm64` is the v6.14 behaviour. The other kernel models in `models.py` subclass it and
override only the decisions their kernel changed. `user_mem_abort()` runs as a pipeline of
small methods, named after the kernel's own pieces, in the order the model's kernel runs them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from . import esr as esr_mod
from . import kvm_main, memattr, scatter
from .mm_ops import MmOps
from .pgtable import (
    KVM_PTE_LEAF_ATTR_HI_S2_XN,
    Prot,
    Stage2,
    pte_kind,
    pte_memattr,
    pte_perm,
    stage2_set_prot_attr,
)
from .scenario import MEMSLOT_GPA, MEMSLOT_HVA, MEMSLOT_SIZE, Fault, Scenario, in_memslot
from .trace import Leaf, Tracer
from .units import size_text

EFAULT, EINVAL, ENOSYS, ENOEXEC, EPERM = "-EFAULT", "-EINVAL", "-ENOSYS", "-ENOEXEC", "-EPERM"


class Exit(NamedTuple):
    """How a fault ends: the contract's outcome, with errno or injected abort."""

    outcome: str
    errno: str | None = None
    inject: str | None = None


@dataclass(slots=True)
class Abort:
    """What the CPU reported (ESR_EL2, HPFAR_EL2) for one guest access."""

    fault: Fault
    fsc: str
    level: int
    is_iabt: bool
    s1ptw: bool
    cm: bool
    isv: bool
    wnr: bool
    esr: int

    @property
    def is_perm(self) -> bool:
        return self.fsc == "permission"


@dataclass(slots=True)
class FaultState:
    """What user_mem_abort() decides for one fault, filled in step by step."""

    abort: Abort
    ipa: int
    write_fault: bool = False
    exec_fault: bool = False
    logging: bool = False
    force_pte: bool = False
    vma_shift: int = 0
    vma_pagesize: int = 0
    mte_allowed: bool = False
    allow_any_uc: bool = False
    is_vma_cacheable: bool = False
    cacheable_devmem: bool = False
    pfn: int | None = None
    pa: int = 0
    writable: bool = False
    has_page: bool = False
    device: bool = False           # B/V3 `device`, M `s2_force_noncacheable`, L `map_non_cacheable`
    devpfn: bool = False           # L `device`: a VM_PFNMAP/VM_MIXEDMAP PFN outside the kernel's memory
    prot: int = 0
    result: str = "none"           # map | relax | same
    ops: MmOps | None = None
    leaf: Leaf | None = None


class KvmArm64:
    """Model of arm64 KVM at v6.14."""

    id = "v6.14"
    tag = "v6.14"
    title = "mainline v6.14: the code the v3 patch applies to"
    device_var = "device"
    has_cacheable_pfnmap_cap = False
    rejects_read_perm_fault = True     # the "Unexpected L2 read permission error" check (gone by v6.17)
    sizes_pfnmap_from_vma = True       # get_vma_page_shift() sizes VM_PFNMAP from the VMA (gone by the leaf-size fix)
    thp_skips_noncacheable = True      # no huge-page upgrade for a device/non-cacheable mapping (same fix)
    relax_sets_xn = False              # relax_perms() without X makes the leaf execute-never (v7.1 only)
    faultin_fn = "__kvm_faultin_pfn"
    handled_fscs = ("translation", "permission", "access_flag")
    uma_pipeline = ("uma_entry", "uma_vma_lookup", "uma_vma_size", "uma_snapshot", "uma_faultin",
                    "uma_classify", "uma_noexec", "uma_lock_retry", "uma_thp", "uma_mte",
                    "uma_prot", "uma_map", "uma_out")

    def __init__(self, sources):
        self._sources = sources
        self._uma_steps = tuple(getattr(self, name) for name in self.uma_pipeline)

    def source(self, sid: str):
        return self._sources(self.id, sid)

    # ---- host capabilities -------------------------------------------------------------------

    @staticmethod
    def has_fwb(sc: Scenario) -> bool:
        return "fwb" in sc.host

    @staticmethod
    def has_dic(sc: Scenario) -> bool:
        return "dic" in sc.host

    def supports_cacheable_pfnmap(self, sc: Scenario) -> bool:
        return self.has_fwb(sc) and self.has_dic(sc)

    # ---- memslot registration ----------------------------------------------------------------

    def registration_vma(self, sc: Scenario) -> tuple[frozenset, str]:
        """The VMA KVM sees at KVM_SET_USER_MEMORY_REGION: with remap=1, anonymous RAM."""
        if sc.remap:
            flags = {"maywrite"} | ({"mteok"} if "mte" in sc.host else set())
            return frozenset(flags), "normal"
        return sc.vma, sc.mt

    supports_gmem = False              # arm64 guest_memfd memslots (6.18 on)

    def check_memory_region_flags(self, sc: Scenario, t: Tracer) -> str | None:
        """Model of check_memory_region_flags() (virt/kvm/kvm_main.c), for a guest_memfd slot."""
        if "gmem" not in sc.slot:
            return None
        if not self.supports_gmem:
            if t:
                t.step("memslot.flags", "KVM_MEM_GUEST_MEMFD is a valid flag only where kvm_arch_has_private_mem(), "
                       "which arm64 is not in this kernel: guest_memfd memslots come to arm64 in 6.18. -EINVAL.",
                       "KVM_MEM_GUEST_MEMFD without private memory support -> -EINVAL", guest_memfd=True)
            return EINVAL
        bad = [name for flag, name in (("log", "KVM_MEM_LOG_DIRTY_PAGES"), ("ro", "KVM_MEM_READONLY"))
               if flag in sc.slot]
        if bad:
            if t:
                t.step("memslot.flags", "KVM_MEM_GUEST_MEMFD with {bad}: dirty logging of guest_memfd memory is not "
                       "supported, and a read-only slot would need emulated MMIO; -EINVAL.",
                       "guest_memfd: no KVM_MEM_LOG_DIRTY_PAGES, no KVM_MEM_READONLY -> -EINVAL",
                       bad=" and ".join(bad), guest_memfd=True)
            return EINVAL
        if t:
            t.step("memslot.flags", "KVM_MEM_GUEST_MEMFD is a valid flag here (CONFIG_KVM_GUEST_MEMFD).",
                   guest_memfd=True)
        return None

    def prepare_gmem(self, sc: Scenario, t: Tracer) -> str | None:
        """The guest_memfd checks of kvm_arch_prepare_memory_region() (none before 6.18)."""
        return None

    def prepare_memory_region(self, sc: Scenario, t: Tracer) -> str:
        """Model of kvm_arch_prepare_memory_region(), after the generic flag checks: the checks at
        memslot registration."""
        err = self.check_memory_region_flags(sc, t)
        if err:
            return err
        end = MEMSLOT_GPA + MEMSLOT_SIZE
        if t:
            t.step("prepare.entry", "KVM_MR_CREATE of slot [{gpa:#x}, {end:#x}): the slot ends below the "
               "VM's {ipa}-bit IPA space, so no -EFAULT.",
               "change is not create/move/flags-only -> accept, no checks\nslot ends above 2^ipa_bits -> -EFAULT",
               gpa=MEMSLOT_GPA, end=end, ipa=sc.ipa)
        err = self.prepare_gmem(sc, t)
        if err:
            return err
        flags, mt = self.registration_vma(sc)
        if t:
            t.step("prepare.vma_loop", "Walk the VMAs covering HVA [{hva:#x}, +1 GiB): one VMA with flags "
               "{flags}{remap}.", "for each VMA over the slot's user range:",
               hva=MEMSLOT_HVA, flags=_flags_text(flags),
               remap=" (anonymous RAM: the configured VMA is mapped over it only later)" if sc.remap else "")
        if "mte" in sc.vm and "mteok" not in flags:
            if t:
                t.step("prepare.mte", "The VM has MTE but the VMA lacks VM_MTE_ALLOWED: tags could not be "
                       "kept for this memory. {why}", "VM has MTE and VMA lacks VM_MTE_ALLOWED -> -EINVAL",
                       why=self.no_mte_allowed_text(sc, flags), kvm_has_mte=True, mte_allowed=False)
            return EINVAL
        if "mte" in sc.vm:
            if t:
                t.step("prepare.mte", "The VM has MTE and the VMA has VM_MTE_ALLOWED.",
                       kvm_has_mte=True, mte_allowed=True)
        if "pfnmap" not in flags:
            if t:
                t.step("prepare.pfnmap_log", "Not a VM_PFNMAP VMA: the PFNMAP checks do not apply.",
                       pfnmap=False)
            return "ok"
        if "log" in sc.slot:
            if t:
                t.step("prepare.pfnmap_log", "VM_PFNMAP with KVM_MEM_LOG_DIRTY_PAGES: dirty logging of IO "
                       "memory is not allowed.", "VMA is VM_PFNMAP and slot logs dirty pages -> -EINVAL",
                       pfnmap=True, log_dirty=True)
            return EINVAL
        if t:
            t.step("prepare.pfnmap_log", "VM_PFNMAP without dirty logging: allowed.", pfnmap=True,
                   log_dirty=False)
        return self.prepare_pfnmap_cacheable(sc, flags, mt, t)

    @staticmethod
    def no_mte_allowed_text(sc: Scenario, flags) -> str:
        """Which real mapping lacks VM_MTE_ALLOWED on an MTE host (arch_calc_vm_flag_bits() gives it
        to anonymous, hugetlbfs, shmem and memfd mappings)."""
        if {"pfnmap", "mixedmap", "io"} & flags:
            return "A driver's mapping never has it."
        return ("Anonymous, hugetlbfs, shmem and memfd mappings on an MTE host have it (add mteok); a file "
                "on a filesystem without MTE support does not.")

    def prepare_pfnmap_cacheable(self, sc: Scenario, flags, mt: str, t: Tracer) -> str:
        """v6.14 does not look at the VMA's memory type here: Marc's review point."""
        return "ok"

    def check_extension(self, sc: Scenario, t: Tracer) -> int:
        """KVM_CHECK_EXTENSION(KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED = 243) on the VM fd."""
        if t:
            t.step("cap.check_extension", "This kernel does not know capability 243: "
                   "kvm_vm_ioctl_check_extension() answers 0, so a VMM cannot discover FWB.",
                   "unknown capability -> 0", cap=243, r=0)
        return 0

    # ---- kvm_handle_guest_abort ----------------------------------------------------------------

    def handle_guest_abort(self, sc: Scenario, ab: Abort, s2: Stage2, t: Tracer) -> tuple[Exit, FaultState]:
        """Model of kvm_handle_guest_abort()."""
        f = ab.fault
        st = FaultState(ab, f.ipa)
        if t:
            t.step("abort.entry", "{ec} from the guest: ESR_EL2 {esr:#x}, FSC {fsc_code:#04x} ({fsc} fault, "
                   "level {level}), fault IPA {ipa:#x}.",
                   "read ESR_EL2; IPA from HPFAR_EL2; is_iabt when EC is IABT_LOW",
                   ec="Instruction abort" if ab.is_iabt else "Data abort", esr=ab.esr,
                   fsc_code=esr_mod.fsc_code(ab.fsc, ab.level), fsc=ab.fsc.replace("_", " "),
                   level=ab.level, ipa=f.ipa)
        if ab.fsc == "translation":
            out = self.check_ipa_range(sc, ab, t)
            if out:
                return out, st
        if ab.fsc not in self.handled_fscs:
            if t:
                t.step("abort.fsc", "FSC {fsc_code:#04x} is not a translation, permission or access-flag fault: "
                       "\"Unsupported FSC\", KVM_RUN fails.",
                       "FSC not translation, permission or access flag -> -EFAULT",
                       fsc_code=esr_mod.fsc_code(ab.fsc, ab.level))
            return Exit("run_error", EFAULT), st
        if t:
            t.step("abort.fsc", "A {fsc} fault: one KVM handles.", fsc=ab.fsc.replace("_", " "))
        slot_writable = "ro" not in sc.slot
        st.write_fault = self.is_write_fault(ab)
        have_slot = in_memslot(f.ipa)
        if t:
            t.step("abort.memslot", "gfn {gfn:#x}: {where}; write_fault={write_fault} (kvm_is_write_fault: {why}).",
                   "find the memslot and the HVA for the gfn, and whether the slot is writable\n"
                   "write_fault from ESR (stage-1 walks: only permission faults)",
                   gfn=f.ipa >> (sc.page_size.bit_length() - 1),
                   where=("memslot at {:#x}, hva {:#x}, slot {}".format(
                       MEMSLOT_GPA, MEMSLOT_HVA + f.ipa - MEMSLOT_GPA, "writable" if slot_writable else "read-only")
                          if have_slot else "no memslot covers it (error hva)"),
                   write_fault=st.write_fault, why=self._write_fault_reason(ab),
                   slot_writable=slot_writable if have_slot else None)
        if not have_slot or (st.write_fault and not slot_writable):
            return self.handle_noslot(sc, ab, have_slot, t), st
        if ab.fsc == "access_flag":
            return self.handle_access_fault(f.ipa, s2, st, t), st
        return self.call_user_mem_abort(sc, st, s2, t), st

    def check_ipa_range(self, sc: Scenario, ab: Abort, t: Tracer) -> Exit | None:
        ipa, kind = ab.fault.ipa, "iabt" if ab.is_iabt else "dabt"
        lim = sc.host_ipa_limit
        if ipa >= 1 << lim:
            if t:
                t.step("abort.ipa_range", "IPA {ipa:#x} is beyond the host's {lim}-bit IPA limit{why}: inject an "
                       "address size fault.", "IPA at or above 2^kvm_ipa_limit -> inject address size fault, resume",
                       ipa=ipa, lim=lim, why="" if lim > 48 else " (4K/16K pages without LPA2)")
            return Exit("inject", inject=kind)
        if ipa >= 1 << sc.ipa:
            if t:
                t.step("abort.ipa_range", "IPA {ipa:#x} lies between the VM's {bits}-bit IPA space and the host "
                       "limit: {how}.", "IPA at or above 2^vm_ipa_bits -> inject abort, resume",
                       ipa=ipa, bits=sc.ipa, how=self.inject_text("range", ab.is_iabt))
            return Exit("inject", inject=kind)
        if t:
            t.step("abort.ipa_range", "IPA {ipa:#x} is inside the VM's {bits}-bit IPA space.", ipa=ipa, bits=sc.ipa)
        return None

    def inject_text(self, where: str, is_iabt: bool) -> str:
        """Which helper injects the abort (v6.17 renamed them to kvm_inject_sea*)."""
        return "kvm_inject_pabt() (instruction abort)" if is_iabt else "kvm_inject_dabt() (data abort)"

    @staticmethod
    def is_write_fault(ab: Abort) -> bool:
        """Model of kvm_is_write_fault(): S1PTW counts as a write only for permission faults;
        an instruction abort never; otherwise ESR.WnR (set for cache maintenance too)."""
        if ab.s1ptw:
            return ab.is_perm
        if ab.is_iabt:
            return False
        return ab.wnr

    @staticmethod
    def _write_fault_reason(ab: Abort) -> str:
        if ab.s1ptw:
            return "stage-1 walk: a write only if it is a permission fault"
        if ab.is_iabt:
            return "instruction abort"
        if ab.cm:
            return "cache maintenance reports WnR=1"
        return "ESR.WnR=" + ("1" if ab.wnr else "0")

    def handle_noslot(self, sc: Scenario, ab: Abort, have_slot: bool, t: Tracer) -> Exit:
        """The no-memslot / read-only-memslot block of kvm_handle_guest_abort()."""
        why = "no memslot" if not have_slot else "a write to a read-only memslot"
        if ab.is_iabt:
            if t:
                t.step("abort.noslot_iabt", "Instruction fetch from {why}: userspace cannot emulate it; "
                       "{how}.", "instruction abort -> -ENOEXEC -> inject instruction abort", why=why,
                       how=self.inject_text("noslot_iabt", True))
            return Exit("inject", inject="iabt")
        if ab.s1ptw:
            if t:
                t.step("abort.noslot_s1ptw", "The guest's stage-1 page tables live in {why}: {how}.",
                       "stage-1 walk -> inject data abort, resume", why=why,
                       how=self.inject_text("noslot_s1ptw", False))
            return Exit("inject", inject="dabt")
        if not have_slot and ab.cm:
            if t:
                t.step("abort.noslot_cm", "Cache maintenance outside any memslot: KVM assumes the guest is being "
                       "cautious and skips the instruction.", "no memslot and ESR.CM -> skip the instruction, resume")
            return Exit("resume")
        if t:
            t.step("abort.noslot_mmio", "Data access to {why}: treat it as MMIO.", "-> MMIO emulation",
                   why=why)
        return self.io_mem_abort(sc, ab, t)

    def io_mem_abort(self, sc: Scenario, ab: Abort, t: Tracer) -> Exit:
        """Model of io_mem_abort() (arch/arm64/kvm/mmio.c)."""
        if not ab.isv:
            if "nisv" in sc.vm:
                if t:
                    t.step("io_mem_abort.nisv", "No valid instruction syndrome (ISV=0) and the VMM enabled "
                           "KVM_CAP_ARM_NISV_TO_USER: exit with KVM_EXIT_ARM_NISV.",
                           "no ISV -> exit ARM_NISV if the VMM asked, else -ENOSYS", isv=False, nisv_to_user=True)
                return Exit("exit_nisv")
            if t:
                t.step("io_mem_abort.nisv", "No valid instruction syndrome (ISV=0): KVM cannot emulate the access "
                       "and the VMM did not ask for NISV exits; KVM_RUN fails with -ENOSYS.",
                       "no ISV -> exit ARM_NISV if the VMM asked, else -ENOSYS", isv=False, nisv_to_user=False)
            return Exit("run_error", ENOSYS)
        if t:
            t.step("io_mem_abort.mmio", "ISV=1: decode the access from the syndrome, no in-kernel device claims "
                   "it, so KVM_RUN returns KVM_EXIT_MMIO for the VMM to emulate.",
                   "fill the MMIO exit for the VMM -> KVM_EXIT_MMIO", isv=True, is_write=ab.wnr)
        return Exit("exit_mmio")

    def handle_access_fault(self, ipa: int, s2: Stage2, st: FaultState, t: Tracer) -> Exit:
        pte = s2.mkyoung(ipa)
        if t:
            t.step("abort.access_flag", "Access-flag fault: mark the leaf young (set AF) and resume.",
                   "access flag fault -> mark the leaf young, resume")
        if t:
            t.step("handle_access_fault", "kvm_pgtable_stage2_mkyoung() sets AF in the leaf: {pte:#018x}.",
                   "set AF in the leaf", pte=pte or 0)
        st.result = "young"
        return Exit("resume")

    def call_user_mem_abort(self, sc: Scenario, st: FaultState, s2: Stage2, t: Tracer) -> Exit:
        return self.abort_return(self.user_mem_abort(sc, st, s2, t), st, t, "user_mem_abort")

    def abort_return(self, ret: Exit | None, st: FaultState, t: Tracer, fn: str) -> Exit:
        """What kvm_handle_guest_abort() makes of the fault handler's return value."""
        if ret is None:
            out = {"map": "map", "relax": "relax"}.get(st.result, "resume")
            if t:
                t.step("abort.uma_call", "{fn}() returned 0: re-enter the guest.", "0 -> resume the guest", fn=fn)
            return Exit(out)
        if ret.errno == ENOEXEC:
            if t:
                t.step("abort.uma_call", "{fn}() returned -ENOEXEC: {how}, and the guest runs on.",
                       "-ENOEXEC -> inject instruction abort, resume",
                       fn=fn, how=self.inject_text("enoexec", True))
            return Exit("inject", inject="iabt")
        if ret.outcome != "run_error":
            return ret
        if t:
            t.step("abort.uma_call", "{fn}() returned {errno}: KVM_RUN fails with it and the VMM "
                   "sees the error.", "negative errno -> KVM_RUN returns it", fn=fn, errno=ret.errno)
        return ret

    # ---- user_mem_abort ------------------------------------------------------------------------

    def user_mem_abort(self, sc: Scenario, st: FaultState, s2: Stage2, t: Tracer) -> Exit | None:
        """Model of user_mem_abort(): the model's pipeline of decisions, stopping at the first exit."""
        for step in self._uma_steps:
            ret = step(sc, st, s2, t)
            if ret is not None:
                return ret
        return None

    def uma_entry(self, sc, st, s2, t):
        ab = st.abort
        st.exec_fault = ab.is_iabt and not ab.s1ptw
        st.logging = "log" in sc.slot and "ro" not in sc.slot
        if t:
            t.step("uma.entry", "exec_fault={exec_fault}, write_fault={write_fault}, "
                   "logging_active={logging_active} (dirty logging needs a writable slot), "
                   "fault_is_perm={fault_is_perm}.",
                   "exec_fault: instruction abort, not on a stage-1 walk\n"
                   "logging_active: the slot has a dirty bitmap and is writable",
                   exec_fault=st.exec_fault, write_fault=st.write_fault, logging_active=st.logging,
                   fault_is_perm=ab.is_perm)
        if self.rejects_read_perm_fault and ab.is_perm and not st.write_fault and not st.exec_fault:
            if t:
                t.step("uma.entry", "A permission fault that is neither a write nor an exec: "
                       "\"Unexpected L2 read permission error\".", "-> -EFAULT")
            return Exit("run_error", EFAULT)
        return None

    def uma_vma_lookup(self, sc, st, s2, t):
        if t:
            t.step("uma.vma_lookup", "mmap_read_lock(); vma_lookup(hva {hva:#x}) finds the VMA ({flags}).",
                   "look the VMA up under mmap_lock; none -> -EFAULT",
                   hva=MEMSLOT_HVA + st.ipa - MEMSLOT_GPA, flags=_flags_text(sc.vma))
        return None

    def get_vma_page_shift(self, sc: Scenario) -> tuple[int, str]:
        page_shift = sc.page_size.bit_length() - 1
        if "hugetlb" in sc.vma and "pfnmap" not in sc.vma:
            return sc.host_leaf.bit_length() - 1, "hugetlb VMA: the huge page size"
        if "pfnmap" not in sc.vma or not self.sizes_pfnmap_from_vma:
            return page_shift, ("not hugetlb: PAGE_SHIFT (a larger stage-1 leaf is found later)"
                                if not self.sizes_pfnmap_from_vma else "not hugetlb, not VM_PFNMAP: PAGE_SHIFT")
        why = (f"VM_PFNMAP: sized from the VMA's extent and its HVA/PA alignment ({size_text(sc.host_leaf)}), "
               "not from the host's stage-1 leaf")
        if sc.host_leaf > sc.page_size:
            why += (" (the host itself may map the range with smaller leaves, e.g. remap_pfn_range()'s PAGE_SIZE "
                    "ones; where the VMA's pages are not physically contiguous, as in a udmabuf, the block covers "
                    "PAs the VMA does not map)")
        return sc.host_leaf.bit_length() - 1, why

    def uma_vma_size(self, sc, st, s2, t):
        page_shift = sc.page_size.bit_length() - 1
        if st.logging:
            st.force_pte, shift, why = True, page_shift, "dirty logging forces PAGE_SIZE mappings"
        else:
            shift, why = self.get_vma_page_shift(sc)
        pmd_shift = page_shift + (page_shift - 3)
        pud_shift = pmd_shift + (page_shift - 3)
        notes = []
        if shift == pud_shift and sc.page_size == 4096:
            if not _huge_mapping_ok(st.ipa, 1 << pud_shift):
                shift, _ = pmd_shift, notes.append("PUD block does not fit the memslot: try PMD")
        if shift == pmd_shift and not _huge_mapping_ok(st.ipa, 1 << pmd_shift):
            shift, st.force_pte = page_shift, True
            notes.append("PMD block does not fit the memslot: PAGE_SIZE")
        st.vma_shift, st.vma_pagesize = shift, 1 << shift
        st.ipa = st.ipa & ~(st.vma_pagesize - 1)
        if t:
            t.step("uma.vma_size", "vma_shift={shift} ({size}): {why}{notes}; force_pte={force_pte}.",
                   "size: a page when logging, else what the VMA allows\n"
                   "demote a block that does not fit the memslot",
                   shift=shift, size=_size(st.vma_pagesize), why=why,
                   notes="".join("; " + n for n in notes), force_pte=st.force_pte,
                   vma_pagesize=st.vma_pagesize)
        return None

    def uma_snapshot(self, sc, st, s2, t):
        st.mte_allowed = "mteok" in sc.vma
        st.allow_any_uc = "uc" in sc.vma
        if t:
            t.step("uma.snapshot", "Snapshot the VMA before dropping mmap_lock: mte_allowed={mte_allowed}, "
                   "vfio_allow_any_uc={vfio_allow_any_uc} (VM_ALLOW_ANY_UNCACHED).",
                   "remember VM_MTE_ALLOWED and VM_ALLOW_ANY_UNCACHED\ndrop mmap_lock",
                   mte_allowed=st.mte_allowed, vfio_allow_any_uc=st.allow_any_uc)
        return None

    faultin_code = "pfn = __kvm_faultin_pfn(slot, gfn, write ? FOLL_WRITE : 0, &writable, &page)"

    def uma_faultin(self, sc, st, s2, t):
        st.pa = kvm_main.backing_pa(st.ipa, sc)
        p = kvm_main.faultin_pfn(sc, st.pa, st.write_fault)
        if p.pfn is None:
            if t:
                t.step("uma.faultin", "{fn}(): {path} -> {err}; user_mem_abort returns -EFAULT.",
                       self.faultin_code + "\nno PFN -> -EFAULT", fn=self.faultin_fn, path=p.path, err=p.error)
            return Exit("run_error", EFAULT)
        st.pfn, st.writable, st.has_page = p.pfn, p.writable, p.has_page
        if t:
            t.step("uma.faultin", "{fn}(): {path}: pfn {pfn:#x}, writable={writable}{ro}.",
                   self.faultin_code, fn=self.faultin_fn, path=p.path, pfn=p.pfn, writable=p.writable,
                   ro=" (read-only memslot)" if "ro" in sc.slot else "")
        return None

    @staticmethod
    def pfn_is_map_memory(sc: Scenario) -> bool:
        """pfn_is_map_memory(): the PFN is in memblock and not NOMAP (kernel RAM, scattered or not)."""
        return sc.mem in ("ram", "sg")

    def uma_classify(self, sc, st, s2, t):
        """v6.14: the PFN alone decides: not kernel memory means device, whatever the VMA says."""
        if not self.pfn_is_map_memory(sc):
            st.device = True
            if t:
                t.step("uma.classify", "kvm_is_device_pfn(): the PFN is not kernel memory ({mem}), so "
                       "device = true: the VMA's flags and memory type are not looked at.",
                       "PFN outside the kernel's memory -> device\notherwise, logging and a read -> not writable",
                       mem=_mem_text(sc.mem), device=True)
            return None
        return self._classify_ram(sc, st, t, "kvm_is_device_pfn() is false, the PFN is kernel memory")

    def _classify_ram(self, sc, st, t, why: str):
        """The not-special branch: cacheable; under dirty logging a read maps read-only."""
        if st.logging and not st.write_fault:
            st.writable = False
            if t:
                t.step("uma.classify", why + ": cacheable. Dirty logging and a read: map it read-only so the "
                       "first write faults and gets logged.",
                       "logging and a read -> not writable",
                       **{self.device_var: False}, writable=False)
        else:
            if t:
                t.step("uma.classify", why + ": it is mapped cacheable.", **{self.device_var: False})
        return None

    def uma_noexec(self, sc, st, s2, t):
        if st.exec_fault and st.device:
            if t:
                t.step("uma.noexec", "An instruction fetch from memory mapped {var}: refuse with -ENOEXEC.",
                       "exec fault on device memory -> -ENOEXEC", var="non-cacheable")
            return Exit("run_error", ENOEXEC)
        return None

    def uma_lock_retry(self, sc, st, s2, t):
        if t:
            t.step("uma.lock_retry", "Take kvm_fault_lock; no MMU-notifier invalidation raced with us.",
                   "take the fault lock; an invalidation raced -> retry")
        return None

    def uma_thp(self, sc, st, s2, t):
        ab = st.abort
        skip_device = st.device and self.thp_skips_noncacheable
        if st.vma_pagesize != sc.page_size or st.force_pte or skip_device:
            why = ("the size is already a block" if st.vma_pagesize != sc.page_size else
                   "force_pte" if st.force_pte else f"{self.device_var}: no upgrade")
            if t:
                t.step("uma.thp", "No THP/granule adjustment: {why}.", why=why)
            return None
        if ab.is_perm and _granule_at(sc, ab.level) > sc.page_size:
            st.vma_pagesize = _granule_at(sc, ab.level)
            if t:
                t.step("uma.thp", "Permission fault on a {size} block: handle it at the block's size.",
                       "permission fault on a block -> use the block's size",
                       size=_size(st.vma_pagesize))
        else:
            pmd = sc.page_size << (sc.page_size.bit_length() - 4)
            if sc.host_s1_leaf >= pmd and _huge_mapping_ok(st.ipa, pmd):
                st.vma_pagesize = pmd
                if t:
                    t.step("thp_adjust", "The host maps this HVA with a {leaf} leaf: upgrade to a {pmd} block.",
                           "host leaf at least PMD-sized -> map a PMD block",
                           leaf=_size(sc.host_s1_leaf), pmd=_size(pmd), vma_pagesize=pmd)
            else:
                if t:
                    t.step("thp_adjust", "The host leaf is {leaf}: stay at PAGE_SIZE.", leaf=_size(sc.host_s1_leaf))
        st.ipa &= ~(st.vma_pagesize - 1)
        st.pa &= ~(st.vma_pagesize - 1)     # transparent_hugepage_adjust() aligns the PFN down too
        return None

    def uma_mte(self, sc, st, s2, t):
        if st.abort.is_perm or st.device or "mte" not in sc.vm:
            return None
        if not st.mte_allowed:
            return self.mte_not_allowed(t)
        if t:
            t.step("uma.mte", "The VM has MTE: sanitise the tags of the {size} being mapped.",
                   "sanitise the MTE tags of the pages mapped", size=_size(st.vma_pagesize))
        return None

    @staticmethod
    def mte_not_allowed(t: Tracer) -> Exit:
        """A new cacheable mapping in an MTE VM from a VMA without VM_MTE_ALLOWED: -EFAULT."""
        if t:
            t.step("uma.mte", "The VM has MTE, but this VMA (swapped in after registration?) lacks "
                   "VM_MTE_ALLOWED: -EFAULT.", "new cacheable mapping in an MTE VM:\n"
                   "    VMA without VM_MTE_ALLOWED -> -EFAULT", mte_allowed=False)
        return Exit("run_error", EFAULT)

    def uma_prot(self, sc, st, s2, t):
        prot = Prot.R
        if st.writable:
            prot |= Prot.W
        if st.exec_fault:
            prot |= Prot.X
        if st.device:
            prot |= Prot.NORMAL_NC if st.allow_any_uc else Prot.DEVICE
        elif self.has_dic(sc):
            prot |= Prot.X
        st.prot = prot
        if t:
            t.step("uma.prot", "prot = {prot}: {why}.",
                   "prot: R, plus W if writable, plus X for an exec fault\n"
                   "device: plus NORMAL_NC with VM_ALLOW_ANY_UNCACHED, else DEVICE\n"
                   "otherwise, with CACHE_DIC: plus X",
                   prot=Prot.describe(prot), why=_prot_reason(st, self.has_dic(sc)))
        return None

    def uma_map(self, sc, st, s2, t):
        ab = st.abort
        return self.stage2_install(sc, st, s2, t, "uma.map",
                                   ab.is_perm and st.vma_pagesize == _granule_at(sc, ab.level))

    def stage2_install(self, sc, st, s2, t, sid: str, relax: bool):
        """Relax the faulting leaf in place, or map [ipa, ipa + size) (the end of user_mem_abort()
        and of gmem_abort()); sid is the caller's step."""
        ab = st.abort
        has_fwb = self.has_fwb(sc)
        st.ops = MmOps(t, has_fwb, self.has_dic(sc), linear_mapped=sc.mem != "dev", page_size=sc.page_size)
        if relax:
            level, old, new = s2.relax_perms(st.ipa, st.prot, self.relax_sets_xn)
            st.result = "relax"
            if t:
                t.step(sid, "Permission fault at the mapping's own size: relax the existing leaf "
                       "in place.", "relax the leaf's permissions in place")
            if t:
                t.step("pgt.relax_perms", "Set S2AP/{xn} as prot asks: {old:#018x} -> {new:#018x}.",
                       "set S2AP for R and W; " + ("XN from prot: X clears it, no X sets it" if self.relax_sets_xn
                                                    else "clear XN for X"), old=old, new=new,
                       xn="set XN from prot's X" if self.relax_sets_xn else "clear XN")
            if old & KVM_PTE_LEAF_ATTR_HI_S2_XN and not new & KVM_PTE_LEAF_ATTR_HI_S2_XN:
                st.ops.icache_inval_pou(st.pa, st.vma_pagesize)
            st.leaf = _leaf(st.ipa, level, new, has_fwb, sc)
            return None
        attr = stage2_set_prot_attr(st.prot, has_fwb, s2.geo)
        if t:
            t.step("pgt.set_prot_attr", "stage2_set_prot_attr({prot}): MemAttr {memattr:#x} ({name}), "
                   "S2AP {s2ap}, SH {sh}, AF=1, XN={xn}.",
                   "MemAttr: Device-nGnRE, Normal-NC or Normal, by prot\n"
                   "attributes: MemAttr, S2AP from R/W, SH inner shareable, AF, XN unless X",
                   prot=Prot.describe(st.prot), memattr=pte_memattr(attr),
                   name=memattr.s2_memattr_name(pte_memattr(attr), has_fwb),
                   s2ap=pte_perm(attr)[:2], sh="omitted (LPA2)" if s2.geo.lpa2 else "0b11 (inner shareable)",
                   xn=int(bool(attr & KVM_PTE_LEAF_ATTR_HI_S2_XN)))
        if t:
            t.step(sid, "Map {size} at IPA {ipa:#x} -> PA {pa:#x}.",
                   "map [ipa, ipa + size) to pa with prot",
                   size=_size(st.vma_pagesize), ipa=st.ipa, pa=st.pa)
        if t:
            t.step("pgt.stage2_map", "Walk from level {start}; install the leaf where its size fits a block "
                   "Linux allows.", "walk the range: a leaf where a block fits, else a table",
               start=s2.geo.start_level)
        installed = s2.map(st.ipa, st.vma_pagesize, st.pa, attr, st.ops)
        if not installed:
            st.result = "same"
            if ab.is_perm:
                if t:
                    t.step(sid, "A permission fault went to the map path (the {size} mapping is larger than "
                           "the {gran} leaf that faulted) and the map changed nothing: the guest resumes and "
                           "faults again, forever (a livelock).", size=_size(st.vma_pagesize),
                           gran=_size(_granule_at(sc, ab.level)), livelock=True)
            return None
        st.result = "map"
        first = installed[0]
        if len(installed) > 1:
            if t:
                t.step("pgt.stage2_map", "The start level cannot hold a {size} block: {n} level-{level} blocks "
                       "cover the range instead.", size=_size(st.vma_pagesize), n=len(installed),
                       level=first["level"])
        st.leaf = _leaf(first["ipa"], first["level"], first["pte"], has_fwb, sc, len(installed) * first["size"])
        if sc.mem == "sg":
            scatter.explain(t, sc, st.vma_pagesize, st.ipa, st.pa, ab.fault.ipa)
        return None

    def uma_out(self, sc, st, s2, t):
        if t:
            t.step("uma.out", "Release the page, drop the lock{dirty}.",
                   "release the page, drop the lock; writable -> mark it dirty",
                   dirty="; mark the page dirty in the slot's log" if st.writable and st.logging else "")
        return None


# ---- helpers ----------------------------------------------------------------------------------

def _leaf(ipa: int, level: int, pte: int, has_fwb: bool, sc: Scenario, size: int | None = None) -> Leaf:
    geo_shift = (sc.page_size.bit_length() - 4) * (3 - level) + sc.page_size.bit_length() - 1
    return Leaf(ipa, level, size or 1 << geo_shift, pte, pte_kind(pte, has_fwb), pte_memattr(pte), pte_perm(pte))


def _huge_mapping_ok(ipa: int, size: int) -> bool:
    """fault_supports_stage2_huge_mapping(): GPA and HVA congruent modulo size (schema 1 makes them
    so) and the aligned block inside the memslot."""
    start = ipa & ~(size - 1)
    return start >= MEMSLOT_GPA and start + size <= MEMSLOT_GPA + MEMSLOT_SIZE and \
        (MEMSLOT_HVA - MEMSLOT_GPA) % size == 0


def _granule_at(sc: Scenario, level: int) -> int:
    page_shift = sc.page_size.bit_length() - 1
    return 1 << ((page_shift - 3) * (3 - level) + page_shift)


_size = size_text   # short alias for the many step texts


def _flags_text(flags) -> str:
    names = {"pfnmap": "VM_PFNMAP", "mixedmap": "VM_MIXEDMAP", "io": "VM_IO", "shared": "VM_SHARED",
             "maywrite": "VM_MAYWRITE", "uc": "VM_ALLOW_ANY_UNCACHED", "mteok": "VM_MTE_ALLOWED",
             "hugetlb": "VM_HUGETLB"}
    return "|".join(names[f] for f in names if f in flags) or "none"


def _mem_text(mem: str) -> str:
    return {"ram": "kernel RAM", "dev": "device memory the kernel never mapped",
            "zdev": "ZONE_DEVICE memory: struct page, but not memblock",
            "sg": "kernel RAM whose pages are not physically contiguous (udmabuf-like)"}[mem]


def _prot_reason(st: FaultState, dic: bool) -> str:
    parts = ["R always"]
    parts.append("W: the PFN is writable" if st.writable else "no W: not writable")
    if st.exec_fault:
        parts.append("X: an exec fault")
    if st.device:
        parts.append("NORMAL_NC: VM_ALLOW_ANY_UNCACHED" if st.allow_any_uc else "DEVICE: non-cacheable")
    elif dic:
        parts.append("X: CACHE_DIC makes executable mappings free")
    return ", ".join(parts)
