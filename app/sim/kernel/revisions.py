"""The posted revisions of "KVM: arm64: Allow cacheable stage 2 mapping using VMA flags" (Ankit Agrawal,
v1 to v10, Sep 2023 to Jul 2025), and mainline after "KVM: arm64: Block cacheable PFNMAP mapping" alone.

Each model is the code its revision's diff decides with: a subclass of the revision before it when
the two diffs share their structure (v4 of v3, v5 of v4, v8 of the mainline block state, v9 of v8, v10
of v9), else of the kernel it applies to, overriding exactly the decisions its hunks change.

The bases are approximations, and the docstrings say which: every revision applies to a linux-next
snapshot (next-20230906, next-20241117, next-20250305, next-20250407, next-20250610) that no model
holds. Outside their hunks the models decide as v6.14 does and cite v6.14's lines; v3's pre-image is
v6.14's own mmu.c (the blob hashes agree), the others' are not. What the approximation cannot show:
changes between v6.14 and the June 2025 snapshot outside the series (kvm_handle_guest_abort()'s SEA
handling, pKVM, the nested-virtualisation paths), none of which changes an outcome modelled here; and
for v1, a 2023 kernel without VM_ALLOW_ANY_UNCACHED (the model ignores `uc`, as v1 did) and with
cpus_have_const_cap() (same answer). Inside their hunks the line numbers are the patch's own, read
from each mail's hunk headers (app/sim/data/sources.json, "patches").

v6 of the series posts the same mmu.c and kvm_main.c as v5 (the weak default of
kvm_arch_supports_cacheable_pfnmap() moved from 5/5 to 2/5; a comment in kvm_host.h differs): it
decides identically and has no model of its own; patch-v5 stands for both.
"""
from __future__ import annotations

from .models import V6_14, V6_17, CacheablePfnmapChecks
from .series_early import PatchV1, PatchV2, PatchV4, PatchV5, pipeline_after, pipeline_before
from .types import EINVAL, Exit

# ---- v7 ------------------------------------------------------------------------------------------

class PatchV7(CacheablePfnmapChecks, V6_14):
    """v7, 18 Jun 2025 <20250618065541.50049-1-ankita@nvidia.com>: 1/5 "Rename symbols to reflect whether CMO
    may be used", 2/5 "Block cacheable PFNMAP mapping", 3/5 "New function to determine hardware cache
    management support", 4/5 "Allow cacheable stage 2 mapping using VMA flags", 5/5 "Expose new KVM cap
    for cacheable PFNMAP". Applied over next-20250610; modelled on v6.14.

    The memslot flag is gone: a cacheable VM_PFNMAP memslot needs FWB and DIC, and capability 243 says
    whether the host has them. is_vma_cacheable is read for every VMA; a PFN outside the kernel's map
    is mapped non-cacheable only if the VMA is not cacheable (disable_cmo); COW VM_PFNMAP is still
    refused with mmap_lock held; and the fault-time check for FWB and DIC applies to every cacheable
    VMA, ordinary guest RAM included."""

    id = "patch-v7"
    title = "v7 of the series (Jun 2025, on v6.14): no flag, capability 243; FWB and DIC checked for every VMA"
    device_var = "disable_cmo"
    uma_pipeline = pipeline_after(V6_14.uma_pipeline, "uma_prot", "uma_v7_supports")

    def uma_snapshot(self, sc, st, s2, t):
        st.mte_allowed = "mteok" in sc.vma
        st.allow_any_uc = "uc" in sc.vma
        st.is_vma_cacheable = self.kvm_vma_is_cacheable(sc.mt)
        if t:
            t.step("uma.snapshot", "is_vma_cacheable", mt=sc.mt, is_vma_cacheable=st.is_vma_cacheable,
                   mte_allowed=st.mte_allowed, vfio_allow_any_uc=st.allow_any_uc)
        if "pfnmap" in sc.vma and sc.is_cow:
            if t:
                t.step("uma.v3_cow", "cow", cow=True, mmap_lock="leaked")
            st.hazard("cow_pfnmap_mmap_lock", t)
            return Exit("run_error", EINVAL)
        return None

    def uma_classify(self, sc, st, s2, t):
        if self.pfn_is_map_memory(sc):
            return self.classify_ram(sc, st, t, "cmo_ok")
        if st.is_vma_cacheable:
            if t:
                t.step("uma.classify", "v7_cacheable", mem=sc.mem, mt=sc.mt, disable_cmo=False, kind=self.s2_kind(st))
            return None
        st.device = True
        if t:
            t.step("uma.classify", "v7_noncacheable", mem=sc.mem, mt=sc.mt, disable_cmo=True, kind=self.s2_kind(st))
        return None

    def uma_v7_supports(self, sc, st, s2, t):
        """4/5: under the lock, any cacheable VMA on a host without FWB and DIC is refused."""
        if not st.is_vma_cacheable:
            return None
        if self.supports_cacheable_pfnmap(sc):
            if t:
                t.step("uma.v7_supports", "ok")
            return None
        kernel_memory = self.pfn_is_map_memory(sc)
        if t:
            t.step("uma.v7_supports", "refuse", missing=self.missing(sc), kernel_memory=kernel_memory)
        if kernel_memory:
            st.hazard("cacheable_ram_refused", t)
        return Exit("run_error", EINVAL)


# ---- mainline's block state, v8, v9, v10 ---------------------------------------------------------

class BlockPfnmap(V6_14):
    """Mainline after 2a8dfab26677 "KVM: arm64: Block cacheable PFNMAP mapping" (with 8cc9dc1ae4fb, the rename
    to s2_force_noncacheable, and 216887f79d98 "Assume non-PFNMAP/MIXEDMAP VMAs can be mapped cacheable"),
    before 0c67288e0c8b: v10's 1/6 to 3/6 <20250705071717.5062-2..4-ankita@nvidia.com> (the same as v8's
    and v9's) as Oliver Upton applied them on 7 Jul 2025, merged for v6.17, a state a bisection between
    v6.16 and v6.17 can land on. Applied over next-20250610; modelled on v6.14; lines are v10 3/6's
    (Oliver's edits to comments may shift them by a few in the commit).

    Only a VM_PFNMAP/VM_MIXEDMAP VMA over memory outside the kernel's map is mapped non-cacheable; a
    cacheable VMA there is refused: at the memslot for VM_PFNMAP, on every host, and at fault time."""

    id = "block-pfnmap"
    title = "mainline after 2a8dfab26677 alone (Jul 2025, on v6.14): every cacheable VM_PFNMAP refused"
    device_var = "s2_force_noncacheable"
    uma_pipeline = pipeline_before(V6_14.uma_pipeline, "uma_noexec", "uma_mismatch")
    kvm_vma_is_cacheable = staticmethod(CacheablePfnmapChecks.kvm_vma_is_cacheable)
    uma_snapshot = V6_17.uma_snapshot          # the VMA's flags and kvm_vma_is_cacheable(), read under the lock

    def special_device(self, sc) -> bool:
        """2/6: (vm_flags & (VM_PFNMAP | VM_MIXEDMAP)) && !pfn_is_map_memory(pfn)."""
        return bool({"pfnmap", "mixedmap"} & sc.vma) and not self.pfn_is_map_memory(sc)

    def uma_classify(self, sc, st, s2, t):
        if not self.special_device(sc):
            return self.classify_ram(sc, st, t, "special_ram" if {"pfnmap", "mixedmap"} & sc.vma else "not_special")
        st.devpfn = st.device = True
        if t:
            t.step("uma.classify", "special_device", flags=sc.vma, mt=sc.mt, s2_force_noncacheable=True,
                   kind=self.s2_kind(st))
        return None

    def uma_mismatch(self, sc, st, s2, t):
        """3/6: a cacheable VMA mapped non-cacheable at stage 2 is refused."""
        if not (st.is_vma_cacheable and st.device):
            return None
        if t:
            t.step("uma.mismatch", mt=sc.mt)
        return Exit("run_error", EINVAL)

    def prepare_pfnmap_cacheable(self, sc, flags, mt, t):
        """3/6: "Cacheable PFNMAP is not allowed", on every host."""
        if self.kvm_vma_is_cacheable(mt):
            if t:
                t.step("prepare.pfnmap_cacheable", "blocked", mt=mt, is_vma_cacheable=True)
            return EINVAL
        if t:
            t.step("prepare.pfnmap_cacheable", "noncacheable", mt=mt, is_vma_cacheable=False)
        return "ok"


class PatchV8(CacheablePfnmapChecks, BlockPfnmap):
    """v8, 20 Jun 2025 <20250620120946.2991-1-ankita@nvidia.com>: 1/6 "Rename the device variable to
    s2_force_noncacheable", 2/6 "Update the check to detect device memory", 3/6 "Block cacheable PFNMAP
    mapping", 4/6 "New function to determine hardware cache management support", 5/6 "Allow cacheable
    stage 2 mapping using VMA flags", 6/6 "Expose new KVM cap for cacheable PFNMAP". Applied over
    next-20250610; modelled on v6.14. 1/6 to 3/6 are mainline's block state (block-pfnmap).

    5/6: in the VM_PFNMAP/VM_MIXEDMAP branch for memory outside the kernel's map, a COW VM_PFNMAP is
    refused (after the unlock now), a cacheable VM_PFNMAP needs FWB and DIC (else -EFAULT) and is mapped
    Normal; anything else, a cacheable VM_MIXEDMAP included, is non-cacheable, which 3/6's mismatch
    check then refuses for a cacheable pgprot. The memslot check allows a cacheable VM_PFNMAP with FWB
    and DIC."""

    id = "patch-v8"
    title = "v8 of the series (Jun 2025, on v6.14): the FWB+DIC check only for VM_PFNMAP outside the kernel's map"

    def refuses_cow(self, sc) -> bool:
        return "pfnmap" in sc.vma and sc.is_cow

    def may_be_cacheable(self, sc, st) -> bool:
        """cacheable_pfnmap: only a VM_PFNMAP VMA's pgprot is looked at."""
        return "pfnmap" in sc.vma and st.is_vma_cacheable

    def uma_classify(self, sc, st, s2, t):
        if not self.special_device(sc):
            return self.classify_ram(sc, st, t, "special_ram" if {"pfnmap", "mixedmap"} & sc.vma else "not_special")
        st.devpfn = True
        if self.refuses_cow(sc):
            if t:
                t.step("uma.classify", "cow_after_unlock",
                       what="VM_PFNMAP" if "pfnmap" in sc.vma else "VM_MIXEDMAP")
            return Exit("run_error", EINVAL)
        if self.may_be_cacheable(sc, st):
            return self.classify_cacheable_devpfn(sc, st, t)
        st.device = True
        if t:
            case = "mixedmap_noncacheable" if st.is_vma_cacheable else "noncacheable"
            t.step("uma.classify", case, flags=sc.vma, mt=sc.mt, var=self.device_var, s2_force_noncacheable=True,
                   kind=self.s2_kind(st))
        return None


class PatchV9(PatchV8):
    """v9, 21 Jun 2025 <20250621042111.3992-1-ankita@nvidia.com>: v8 with 5/6 changed (1/6 to 4/6 and 6/6
    are the same blobs). Applied over next-20250610; modelled on v6.14.

    A cacheable VM_MIXEDMAP is handled as a cacheable VM_PFNMAP (Normal with FWB and DIC, else -EFAULT),
    and the COW refusal covers VM_MIXEDMAP too; 3/6's mismatch check can no longer fire."""

    id = "patch-v9"
    title = "v9 of the series (Jun 2025, on v6.14): VM_MIXEDMAP under the same rules as VM_PFNMAP"

    def refuses_cow(self, sc) -> bool:
        return sc.is_cow

    def may_be_cacheable(self, sc, st) -> bool:
        return st.is_vma_cacheable


class PatchV10(PatchV9):
    """v10, 5 Jul 2025 <20250705071717.5062-1-ankita@nvidia.com>: v9 with 5/6 changed: no COW refusal, and
    3/6's mismatch check (dead since v9) removed. Applied over next-20250610; modelled on v6.14. Applied
    to kvmarm on 7 Jul 2025 and merged for v6.17, which decides the same (the v6.17 model)."""

    id = "patch-v10"
    title = "v10 of the series (Jul 2025, on v6.14): as merged for v6.17"
    uma_pipeline = V6_14.uma_pipeline

    def refuses_cow(self, sc) -> bool:
        return False


REVISION_MODELS = {m.id: m for m in (PatchV1, PatchV2, PatchV4, PatchV5, PatchV7, PatchV8, PatchV9, PatchV10,
                                      BlockPfnmap)}
