"""The kernel models. Each is the one it is closest to plus the decisions its kernel changed."""
from __future__ import annotations

from .gmem import GuestMemfd
from .kvm import KvmArm64
from .types import EFAULT, EINVAL, Exit

NON_CACHEABLE_MT = ("nc", "ngnrne", "ngnre")   # MT_NORMAL_NC, MT_DEVICE_nGnRnE, MT_DEVICE_nGnRE


class CacheablePfnmapChecks:
    """What the merged series and its revisions v7 to v10 share: kvm_vma_is_cacheable(), the memslot
    check of a cacheable VM_PFNMAP against the host's FWB and DIC, and capability 243 (answered by
    kvm_arch_supports_cacheable_pfnmap() in the revisions, renamed kvm_supports_cacheable_pfnmap()
    when merged: `supports_step`)."""

    has_cacheable_pfnmap_cap = True
    supports_step = "cap.arch_supports"

    @staticmethod
    def kvm_vma_is_cacheable(mt: str) -> bool:
        """kvm_vma_is_cacheable(): any AttrIndx but NORMAL_NC, DEVICE_nGnRnE and DEVICE_nGnRE."""
        return mt not in NON_CACHEABLE_MT

    def prepare_pfnmap_cacheable(self, sc, flags, mt, t):
        cacheable = self.kvm_vma_is_cacheable(mt)
        if cacheable and not self.supports_cacheable_pfnmap(sc):
            if t:
                t.step("prepare.pfnmap_cacheable", "refuse", mt=mt, missing=self.missing(sc), is_vma_cacheable=True,
                       supports_cacheable_pfnmap=False)
            return EINVAL
        if t:
            t.step("prepare.pfnmap_cacheable", "cacheable" if cacheable else "noncacheable", mt=mt,
                   is_vma_cacheable=cacheable)
        return "ok"

    def classify_cacheable_devpfn(self, sc, st, t):
        """A cacheable VMA over memory outside the kernel's map: mapped cacheable where the host keeps it
        coherent without cache maintenance by KVM (FWB and DIC), else KVM_RUN fails with -EFAULT."""
        if not self.supports_cacheable_pfnmap(sc):
            if t:
                t.step("uma.classify", "cacheable_unsupported", missing=self.missing(sc), is_vma_cacheable=True,
                       supports_cacheable_pfnmap=False)
            return Exit("run_error", EFAULT)
        if t:
            t.step("uma.classify", "cacheable", **{self.device_var: False}, is_vma_cacheable=True,
                   kind=self.s2_kind(st))
        return None

    def check_extension(self, sc, t):
        r = int(self.supports_cacheable_pfnmap(sc))
        if t:
            t.step("cap.check_extension", "known", r=r, missing=self.missing(sc), cap=243)
            t.step(self.supports_step, r=bool(r))
        return r


class V6_14(KvmArm64):
    """Mainline v6.14: stage-2 cacheability follows pfn_is_map_memory() alone."""


class PatchV3(V6_14):
    """v6.14 + "[PATCH v3 1/1] KVM: arm64: Allow cacheable stage 2 mapping using VMA flags"."""

    id = "patch-v3"
    title = "v6.14 + the v3 patch: cacheable PFNMAP by the VMA's pgprot, checked at fault time only"
    uma_pipeline = tuple(n for p in KvmArm64.uma_pipeline
                         for n in ((p, "uma_v3_fwb") if p == "uma_prot" else (p,)))

    def uma_snapshot(self, sc, st, s2, t):
        """The patch's hunk at the VMA snapshot: refuse a COW VM_PFNMAP, read mapping_type()."""
        super().uma_snapshot(sc, st, s2, t)
        if "pfnmap" not in sc.vma:
            return None
        if sc.is_cow:
            if t:
                t.step("uma.v3_cow", "cow", cow=True, mmap_lock="leaked")
            st.hazard("cow_pfnmap_mmap_lock", t)
            return Exit("run_error", EINVAL)
        st.cacheable_devmem = self.devmem_cacheable(sc.mt)
        if t:
            self.record_pgprot(sc, st, t)
        return None

    @staticmethod
    def devmem_cacheable(mt: str) -> bool:
        """mapping_type(vm_page_prot) == MT_NORMAL: only exactly MT_NORMAL counts as cacheable."""
        return mt == "normal"

    @staticmethod
    def record_pgprot(sc, st, t) -> None:
        t.step("uma.v3_cow", "pgprot", mt=sc.mt, cacheable_devmem=st.cacheable_devmem)

    def uma_classify(self, sc, st, s2, t):
        if self.pfn_is_map_memory(sc):
            return self.classify_ram(sc, st, t, "kernel_memory")
        st.device = not st.cacheable_devmem
        if t:
            t.step("uma.classify", "v3_device_pfn", mem=sc.mem, cacheable_devmem=st.cacheable_devmem,
                   device=st.device, kind=self.s2_kind(st))
        self.check_type_mismatch(sc, st, t)
        return None

    def uma_v3_fwb(self, sc, st, s2, t):
        if not st.cacheable_devmem:
            return None
        if not self.has_fwb(sc):
            if t:
                t.step("uma.v3_fwb", "refuse", cacheable_devmem=True, stage2_has_fwb=False)
            return Exit("run_error", EINVAL)
        if t:
            t.step("uma.v3_fwb", "ok", cacheable_devmem=True, stage2_has_fwb=True, cache_dic=self.has_dic(sc))
        return None


class V6_17(CacheablePfnmapChecks, V6_14):
    """Mainline v6.17: the series as merged (memslot check, capability 243, FWB && DIC)."""

    id = "v6.17"
    tag = "v6.17.8"          # the lines are read from 6.17.8, whose decisions are v6.17's
    title = "mainline v6.17: the merged series: memslot check, capability 243, FWB and DIC required"
    device_var = "s2_force_noncacheable"
    supports_step = "cap.supports"
    rejects_read_perm_fault = False
    releases_page_on_error = True      # 5f9466b50c1b, in 6.17.4: the model's lines are 6.17.8's

    def inject_fn(self, where, is_iabt):
        if where == "range":
            return f"kvm_inject_sea(vcpu, is_iabt={str(is_iabt).lower()}, ...)"
        return "kvm_inject_sea_iabt()" if is_iabt else "kvm_inject_sea_dabt()"

    def uma_snapshot(self, sc, st, s2, t):
        st.mte_allowed = "mteok" in sc.vma
        st.allow_any_uc = "uc" in sc.vma
        st.is_vma_cacheable = self.kvm_vma_is_cacheable(sc.mt)
        if t:
            t.step("uma.snapshot", "vma_cacheable", flags=sc.vma, mt=sc.mt, mte_allowed=st.mte_allowed,
                   is_vma_cacheable=st.is_vma_cacheable)
        return None

    def uma_classify(self, sc, st, s2, t):
        """v6.17: the VMA decides. Only a PFNMAP/MIXEDMAP VMA over non-kernel memory is special, and
        then its pgprot picks non-cacheable, or cacheable if the hardware can keep it coherent."""
        special = bool({"pfnmap", "mixedmap"} & sc.vma)
        if not (special and not self.pfn_is_map_memory(sc)):
            return self.classify_ram(sc, st, t, "special_ram" if special else "not_special")
        st.devpfn = True
        if st.is_vma_cacheable:
            return self.classify_cacheable_devpfn(sc, st, t)
        st.device = True
        if t:
            t.step("uma.classify", "noncacheable", flags=sc.vma, mt=sc.mt, var=self.device_var,
                   **{self.device_var: True}, kind=self.s2_kind(st))
        self.check_type_mismatch(sc, st, t)
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
            t.step("uma.mte", "allowed", mte_allowed=True)
        return None

    def uma_mte_sanitise(self, sc, st, s2, t):
        if st.abort.is_perm or st.device or "mte" not in sc.vm:
            return None
        if t:
            t.step("uma.mte_sanitise", size=st.vma_pagesize)
        return None

    def classify_ram(self, sc, st, t, why):
        """v7.1 has no logging downgrade here: kvm_s2_fault_compute_prot() decides W instead."""
        if t:
            t.step("uma.classify", "ram_stays", why=why, **{self.device_var: False}, kind=self.s2_kind(st))
        return None

    def uma_prot(self, sc, st, s2, t):
        if st.writable and not (st.devpfn or not st.logging or st.write_fault):
            st.writable = False
            if t:
                t.step("uma.prot", "logging_ro", writable=False)
        return super().uma_prot(sc, st, s2, t)

    def uma_excl_atomic(self, sc, st, s2, t):
        if st.abort.fsc != "excl_atomic":
            return None
        if t:
            t.step("uma.excl_atomic")
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
    remapped_takes_ref = True          # hva_to_pfn_remapped() -> kvm_try_get_pfn() on refcounted pages
    releases_by_pfn = True             # kvm_release_pfn_clean(pfn) after the THP adjustment

    @staticmethod
    def vma_mte_allowed(flags) -> bool:
        """6.12's arch_calc_vm_flag_bits() gives VM_MTE_ALLOWED to anonymous mappings only without
        MAP_HUGETLB (and to shmem): a hugetlbfs VMA never has it."""
        return "mteok" in flags and "hugetlb" not in flags

    def no_mte_allowed_reason(self, flags):
        return "hugetlb_612" if "hugetlb" in flags else super().no_mte_allowed_reason(flags)

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


KERNEL_MODELS = {m.id: m for m in (V6_12, V6_14, PatchV3, V6_17, V7_1, V7_3)}
LATEST = "v7.3"
