"""The kernel models. Each is the one it is closest to plus the decisions its kernel changed."""
from __future__ import annotations

from .gmem import GuestMemfd
from .mmu import EFAULT, EINVAL, Exit, KvmArm64, _flags_text, _mem_text, _size

NON_CACHEABLE_MT = ("nc", "ngnrne", "ngnre")   # MT_NORMAL_NC, MT_DEVICE_nGnRnE, MT_DEVICE_nGnRE


class V6_14(KvmArm64):
    """Mainline v6.14: stage-2 cacheability follows pfn_is_map_memory() alone."""


class PatchV3(V6_14):
    """v6.14 + "[PATCH v3 1/1] KVM: arm64: Allow cacheable stage 2 mapping using VMA flags"."""

    id = "patch-v3"
    title = "v6.14 + the v3 patch: cacheable PFNMAP by the VMA's pgprot, checked at fault time only"
    uma_pipeline = tuple(n for p in KvmArm64.uma_pipeline
                         for n in ((p, "uma_v3_fwb") if p == "uma_prot" else (p,)))

    def uma_snapshot(self, sc, st, s2, t):
        super().uma_snapshot(sc, st, s2, t)
        if "pfnmap" not in sc.vma:
            return None
        if sc.is_cow:
            if t:
                t.step("uma.v3_cow", "VM_PFNMAP and is_cow_mapping() (VM_MAYWRITE without VM_SHARED): "
                       "-EINVAL. The return sits before mmap_read_unlock(), so mmap_lock stays held.",
                       "VM_PFNMAP and a COW mapping -> -EINVAL (mmap_lock still held)",
                       cow=True, mmap_lock="leaked")
            return Exit("run_error", EINVAL)
        st.cacheable_devmem = sc.mt == "normal"
        if t:
            t.step("uma.v3_cow", "VM_PFNMAP, not COW; mapping_type(vm_page_prot) is {attr}, so "
                   "cacheable_devmem={cd} (only exactly MT_NORMAL counts).",
                   "VM_PFNMAP with AttrIndx exactly MT_NORMAL -> cacheable_devmem",
                   attr=_attrindx(sc.mt), cd=st.cacheable_devmem, cacheable_devmem=st.cacheable_devmem)
        return None

    def uma_classify(self, sc, st, s2, t):
        if self.pfn_is_map_memory(sc):
            return self._classify_ram(sc, st, t, "kvm_is_device_pfn() is false, the PFN is kernel memory")
        st.device = not st.cacheable_devmem
        if t:
            t.step("uma.classify", "kvm_is_device_pfn(): the PFN is not kernel memory ({mem}); "
                   "{why}", "PFN outside the kernel's memory -> device, unless cacheable_devmem",
                   mem=_mem_text(sc.mem), device=st.device,
                   why="cacheable_devmem keeps device false: it will be mapped Normal."
                   if st.cacheable_devmem else "device = true.")
        return None

    def uma_v3_fwb(self, sc, st, s2, t):
        if st.cacheable_devmem and not self.has_fwb(sc):
            if t:
                t.step("uma.v3_fwb", "cacheable_devmem without FWB: KVM would have to clean the D-cache "
                       "through a kernel mapping the memory may not have; -EINVAL, at fault time.",
                       "cacheable_devmem without FWB -> -EINVAL",
                       cacheable_devmem=True, stage2_has_fwb=False)
            return Exit("run_error", EINVAL)
        if st.cacheable_devmem:
            if t:
                t.step("uma.v3_fwb", "cacheable_devmem and FWB: no cache maintenance needed, go on.",
                       cacheable_devmem=True, stage2_has_fwb=True)
        return None


class V6_17(V6_14):
    """Mainline v6.17: the series as merged (memslot check, capability 243, FWB && DIC)."""

    id = "v6.17"
    tag = "v6.17.8"          # the lines are read from 6.17.8, whose decisions are v6.17's
    title = "mainline v6.17: the merged series: memslot check, capability 243, FWB and DIC required"
    device_var = "s2_force_noncacheable"
    has_cacheable_pfnmap_cap = True
    rejects_read_perm_fault = False

    @staticmethod
    def kvm_vma_is_cacheable(mt: str) -> bool:
        """kvm_vma_is_cacheable(): any AttrIndx but NORMAL_NC, DEVICE_nGnRnE and DEVICE_nGnRE."""
        return mt not in NON_CACHEABLE_MT

    def prepare_pfnmap_cacheable(self, sc, flags, mt, t):
        cacheable, ok = self.kvm_vma_is_cacheable(mt), self.supports_cacheable_pfnmap(sc)
        if cacheable and not ok:
            if t:
                t.step("prepare.pfnmap_cacheable", "A cacheable ({attr}) VM_PFNMAP VMA, and the host lacks "
                       "{missing}: refuse the memslot now, rather than fail at fault time.",
                       "cacheable VM_PFNMAP VMA and no FWB+DIC -> -EINVAL",
                       attr=_attrindx(mt), missing=self._missing(sc), is_vma_cacheable=True,
                       supports_cacheable_pfnmap=False)
            return EINVAL
        if t:
            t.step("prepare.pfnmap_cacheable", "VM_PFNMAP VMA with {attr}: {why}.", attr=_attrindx(mt),
                   why="the host has FWB and DIC" if cacheable else "not cacheable, so no hardware requirement",
                   is_vma_cacheable=cacheable)
        return "ok"

    def _missing(self, sc) -> str:
        return " and ".join(n for n, have in (("FWB", self.has_fwb(sc)), ("DIC", self.has_dic(sc)))
                            if not have)

    def check_extension(self, sc, t):
        r = int(self.supports_cacheable_pfnmap(sc))
        if t:
            t.step("cap.check_extension", "KVM_CHECK_EXTENSION(KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED) on the "
                   "VM fd: {r} ({why}).", "cap 243 on a VM fd -> FWB and DIC supported (1) or not (0)\n"
                   "on /dev/kvm -> -EINVAL",
                   r=r, why="FWB and DIC" if r else "needs FWB and DIC; missing " + self._missing(sc), cap=243)
        if t:
            t.step("cap.supports", "kvm_supports_cacheable_pfnmap() = FWB && CACHE_DIC = {r}.",
                   "supported = FWB and CACHE_DIC", r=bool(r))
        return r

    def inject_text(self, where, is_iabt):
        if where == "range":
            return f"kvm_inject_sea(vcpu, is_iabt={str(is_iabt).lower()}, ...)"
        return "kvm_inject_sea_iabt()" if is_iabt else "kvm_inject_sea_dabt()"

    def uma_snapshot(self, sc, st, s2, t):
        st.mte_allowed = "mteok" in sc.vma
        st.allow_any_uc = "uc" in sc.vma
        st.is_vma_cacheable = self.kvm_vma_is_cacheable(sc.mt)
        if t:
            t.step("uma.snapshot", "Snapshot the VMA before dropping mmap_lock: vm_flags {flags}, "
                   "is_vma_cacheable={is_vma_cacheable} ({attr}), mte_allowed={mte_allowed}.",
                   "remember vm_flags and whether the pgprot is cacheable\ndrop mmap_lock",
                   flags=_flags_text(sc.vma), attr=_attrindx(sc.mt), mte_allowed=st.mte_allowed,
                   is_vma_cacheable=st.is_vma_cacheable)
        return None

    def uma_classify(self, sc, st, s2, t):
        """v6.17: the VMA decides. Only a PFNMAP/MIXEDMAP VMA over non-kernel memory is special, and
        then its pgprot picks non-cacheable, or cacheable if the hardware can keep it coherent."""
        special = bool({"pfnmap", "mixedmap"} & sc.vma)
        if not (special and not self.pfn_is_map_memory(sc)):
            why = ("Not a VM_PFNMAP/VM_MIXEDMAP VMA" if not special else "The PFN is kernel memory")
            return self._classify_ram(sc, st, t, why)
        st.devpfn = True
        if st.is_vma_cacheable:
            if not self.supports_cacheable_pfnmap(sc):
                if t:
                    t.step("uma.classify", "A cacheable VMA over memory outside the kernel's map, and the host "
                           "lacks {missing}: -EFAULT (the VMA changed behind the memslot check).",
                           "cacheable VMA, PFN outside the kernel's memory, no FWB+DIC -> -EFAULT",
                           missing=self._missing(sc), is_vma_cacheable=True, supports_cacheable_pfnmap=False)
                return Exit("run_error", EFAULT)
            if t:
                t.step("uma.classify", "A cacheable VMA over memory outside the kernel's map, on a host with FWB "
                       "and DIC: keep it cacheable, stage 2 maps it Normal.",
                       "cacheable VMA: supported host -> stays cacheable",
                       **{self.device_var: False}, is_vma_cacheable=True)
            return None
        st.device = True
        if t:
            t.step("uma.classify", "{flag} over memory outside the kernel's map with a non-cacheable pgprot "
                   "({attr}): {var} = true.", "non-cacheable pgprot -> " + self.device_var,
                   flag="VM_PFNMAP" if "pfnmap" in sc.vma else "VM_MIXEDMAP", attr=_attrindx(sc.mt),
                   var=self.device_var, **{self.device_var: True})
        return None


class V7_1(GuestMemfd, V6_17):
    """Mainline v7.1.3: user_mem_abort() split into kvm_s2_fault_* helpers; FSC 0x35 handled;
    guest_memfd memslots (gmem_abort())."""

    id = "v7.1"
    tag = "v7.1.3"
    title = "mainline v7.1.3: the refactored fault path, with FSC 0x35 (exclusive/atomic) injection"
    device_var = "map_non_cacheable"
    handled_fscs = V6_17.handled_fscs + ("excl_atomic",)
    relax_sets_xn = True
    uma_pipeline = ("uma_entry", "uma_vma_lookup", "uma_vma_size", "uma_snapshot", "uma_faultin",
                    "uma_classify", "uma_noexec", "uma_excl_atomic", "uma_prot", "uma_mte",
                    "uma_lock_retry", "uma_thp", "uma_mte_sanitise", "uma_map", "uma_out")

    def uma_mte(self, sc, st, s2, t):
        """kvm_s2_fault_compute_prot() only checks VM_MTE_ALLOWED; the tags are sanitised later, in
        kvm_s2_fault_map(), once the mapping size is final."""
        if st.abort.is_perm or st.device or "mte" not in sc.vm:
            return None
        if not st.mte_allowed:
            return self.mte_not_allowed(t)
        if t:
            t.step("uma.mte", "The VM has MTE and the VMA has VM_MTE_ALLOWED: go on (tags are dealt "
                   "with once the mapping size is final).", "new cacheable mapping in an MTE VM:\n"
                   "    VMA without VM_MTE_ALLOWED -> -EFAULT", mte_allowed=True)
        return None

    def uma_mte_sanitise(self, sc, st, s2, t):
        if st.abort.is_perm or st.device or "mte" not in sc.vm:
            return None
        if t:
            t.step("uma.mte_sanitise", "Under the lock, after the size is final: sanitise the MTE tags of the "
                   "{size} being mapped.", "new cacheable mapping in an MTE VM -> sanitise the tags of the whole "
                   "mapping", size=_size(st.vma_pagesize))
        return None

    def _classify_ram(self, sc, st, t, why):
        """v7.1 has no logging downgrade here: kvm_s2_fault_compute_prot() decides W instead."""
        if t:
            t.step("uma.classify", why + ": map_non_cacheable stays false.", **{self.device_var: False})
        return None

    def uma_prot(self, sc, st, s2, t):
        if st.writable and not (st.devpfn or not st.logging or st.write_fault):
            st.writable = False
            if t:
                t.step("uma.prot", "Dirty logging and a read fault on memory: no W, so the first write faults "
                       "and gets logged.", "W only if writable and (device, or not logging, or a write)",
                       writable=False)
        return super().uma_prot(sc, st, s2, t)

    def uma_excl_atomic(self, sc, st, s2, t):
        if st.abort.fsc != "excl_atomic":
            return None
        if t:
            t.step("uma.excl_atomic", "FSC 0x35: an exclusive or atomic access the memory type cannot do "
                   "(e.g. LS64 to cacheable memory without FEAT_LS64WB); inject a data abort with FSC 0x35 "
                   "and let the guest handle it.", "FSC 0x35 -> inject a data abort with FSC 0x35, resume")
        return Exit("inject", inject="dabt")


class V6_12(V6_14):
    """Linux 6.12.117 (LTS): v6.14's decisions, with the backported "Use stage-1 leaf size for VM_PFNMAP"
    (VM_PFNMAP no longer sized from the VMA; device mappings may be upgraded to a block), hugetlbfs
    VMAs never VM_MTE_ALLOWED, and 6.12's own PFN lookup, __gfn_to_pfn_memslot()."""

    id = "v6.12"
    tag = "v6.12.117"
    title = "Linux 6.12.117 (LTS): v6.14's decisions with the backported stage-1 leaf size for VM_PFNMAP"
    sizes_pfnmap_from_vma = False
    thp_skips_noncacheable = False
    faultin_fn = "__gfn_to_pfn_memslot"
    faultin_code = "pfn = __gfn_to_pfn_memslot(slot, gfn, false, false, NULL, write_fault, &writable, NULL)"

    @staticmethod
    def vma_mte_allowed(flags) -> bool:
        """6.12's arch_calc_vm_flag_bits() gives VM_MTE_ALLOWED to anonymous mappings only without
        MAP_HUGETLB (and to shmem): a hugetlbfs VMA never has it."""
        return "mteok" in flags and "hugetlb" not in flags

    def no_mte_allowed_text(self, sc, flags):
        if "hugetlb" in flags:
            return "6.12 never gives a hugetlbfs mapping VM_MTE_ALLOWED, whatever the scenario says."
        return super().no_mte_allowed_text(sc, flags)

    def registration_vma(self, sc):
        flags, mt = super().registration_vma(sc)
        return (flags if self.vma_mte_allowed(flags) else flags - {"mteok"}), mt

    def uma_snapshot(self, sc, st, s2, t):
        super().uma_snapshot(sc, st, s2, t)
        st.mte_allowed = self.vma_mte_allowed(sc.vma)
        return None


class V7_3(V7_1):
    """Linux 7.3.4: v7.1.3 plus the stage-1 leaf size for VM_PFNMAP, the guest_memfd + MTE refusal at
    memslot time, and relax_perms() touching XN only when asked for X."""

    id = "v7.3"
    tag = "v7.3.4"
    title = "Linux 7.3.4: VM_PFNMAP sized by the host's stage-1 leaf; guest_memfd refused with MTE"
    sizes_pfnmap_from_vma = False
    thp_skips_noncacheable = False
    relax_sets_xn = False
    refuses_gmem_with_mte = True


MODELS = {m.id: m for m in (V6_12, V6_14, PatchV3, V6_17, V7_1, V7_3)}
LATEST = "v7.3"


def _attrindx(mt: str) -> str:
    return {"normal": "MT_NORMAL", "tagged": "MT_NORMAL_TAGGED", "nc": "MT_NORMAL_NC",
            "ngnrne": "MT_DEVICE_nGnRnE", "ngnre": "MT_DEVICE_nGnRE"}[mt]
