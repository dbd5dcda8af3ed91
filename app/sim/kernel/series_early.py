"""The revisions of the series before the memslot flag was dropped: v1, v2, v4 and v5 (v3 is
models.PatchV3, v6 posts v5's code). See revisions.py for what the models approximate."""
from __future__ import annotations

from ..hw.memattr import S2_DEVICE, S2_NORMAL, S2_NORMAL_NC
from ..hw.pgtable import Prot
from .models import NON_CACHEABLE_MT, V6_14, PatchV3
from .types import EINVAL, ENOEXEC, Exit


def pipeline_after(pipeline: tuple, anchor: str, name: str) -> tuple:
    return tuple(n for p in pipeline for n in ((p, name) if p == anchor else (p,)))


def pipeline_before(pipeline: tuple, anchor: str, name: str) -> tuple:
    return tuple(n for p in pipeline for n in ((name, p) if p == anchor else (p,)))


def pfn_valid(sc) -> bool:
    """pfn_valid(): the PFN has a struct page (kernel RAM, scattered RAM, ZONE_DEVICE memory)."""
    return sc.mem != "dev"


def mark_mte_skipped(sc, st, t, anchor: str) -> None:
    """The MTE check is skipped (device or noncacheable) for memory the pgprot maps Normal: the tags
    go unsanitised once a leaf is written (marked at the step that chose the type)."""
    if st.abort.is_perm or not st.device or "mte" not in sc.vm or st.pgprot_prot & (Prot.DEVICE | Prot.NORMAL_NC):
        return
    at = next((i for i, s in enumerate(t.steps) if s.id == anchor), None) if t else None
    st.pending.append(("mte_tags_unsanitised", at))


def pgprot_kind(st) -> str:
    """The stage-2 kind the pgprot bits chose (v1, v2): Device, Normal-NC or Normal."""
    if st.pgprot_prot & Prot.DEVICE:
        return S2_DEVICE
    return S2_NORMAL_NC if st.pgprot_prot & Prot.NORMAL_NC else S2_NORMAL


# ---- v1 ------------------------------------------------------------------------------------------

class PatchV1(V6_14):
    """v1, 7 Sep 2023, "KVM: arm64: support write combining and cachable IO memory in VMs"
    <20230907181459.18145-1-ankita@nvidia.com>: 1/2 "determine memory type from VMA", 2/2 "allow the VM
    to select DEVICE_* and NORMAL_NC for IO memory". Applied over next-20230906; modelled on v6.14.

    1/2 reads the stage-2 type from the VMA's pgprot while the VMA is still locked (Device-* or
    Normal-NC: DEVICE, otherwise Normal, executable at once with DIC); the PFN (kvm_is_device_pfn())
    still decides exec, huge pages and MTE; without FWB a PFN without a struct page in the kernel's map
    is refused at fault time. 2/2 makes every DEVICE mapping Normal-NC. The 2023 base has no
    VM_ALLOW_ANY_UNCACHED: the model ignores `uc`."""

    id = "patch-v1"
    title = "v1 of the series (Sep 2023, on v6.14): the stage-2 type from the VMA's pgprot; no FWB, no device PFN"
    device_is_nc = True                # 2/2: KVM_PGTABLE_PROT_DEVICE encodes Normal-NC
    uma_pipeline = pipeline_after(V6_14.uma_pipeline, "uma_prot", "uma_pfn_fwb")

    @staticmethod
    def pgprot_device(mt: str) -> bool:
        """mapping_type() is MT_DEVICE_nGnRE, MT_DEVICE_nGnRnE or MT_NORMAL_NC."""
        return mt in NON_CACHEABLE_MT

    @staticmethod
    def s2_kind(st) -> str:
        """The type follows the pgprot; 2/2 turns DEVICE into Normal-NC."""
        return S2_NORMAL_NC if st.pgprot_prot & Prot.DEVICE else S2_NORMAL

    def uma_snapshot(self, sc, st, s2, t):
        st.mte_allowed = "mteok" in sc.vma
        st.allow_any_uc = False
        if t:
            t.step("uma.snapshot", "v1", mte_allowed=st.mte_allowed)
        device = self.pgprot_device(sc.mt)
        st.pgprot_prot = Prot.DEVICE if device else (Prot.X if self.has_dic(sc) else 0)
        if t:
            t.step("uma.v1_pgprot", mt=sc.mt, device=device, cache_dic=self.has_dic(sc), kind=self.s2_kind(st))
        return None

    def uma_classify(self, sc, st, s2, t):
        if not self.pfn_is_map_memory(sc):
            st.device = True
            if t:
                t.step("uma.classify", "v1_device_pfn", mem=sc.mem, device=True, kind=self.s2_kind(st))
            return None
        return self.classify_ram(sc, st, t, "kernel_memory")

    def classify_ram(self, sc, st, t, why: str):
        ro = st.logging and not st.write_fault
        if ro:
            st.writable = False
        if t:
            t.step("uma.classify", "v1_ram", device=False, logging_ro=ro, writable=st.writable, kind=self.s2_kind(st))
        return None

    def uma_prot(self, sc, st, s2, t):
        """The prot bits the pgprot chose, plus W if writable and X for an exec fault."""
        prot = Prot.R | st.pgprot_prot
        if st.writable:
            prot |= Prot.W
        if st.exec_fault:
            prot |= Prot.X
        st.prot = prot
        if t:
            t.step("uma.prot", prot=prot, writable=st.writable, exec_fault=st.exec_fault,
                   cache_dic=self.has_dic(sc), perm_fault=st.abort.is_perm)
        return None

    def uma_pfn_fwb(self, sc, st, s2, t):
        """Without FWB: pfn_valid() and a struct page whose linear-map address is the PA's."""
        if self.has_fwb(sc):
            if t:
                t.step("uma.pfn_fwb", "fwb")
            return None
        if pfn_valid(sc):
            if t:
                t.step("uma.pfn_fwb", "page", v1=self.id == "patch-v1")
            return None
        if t:
            t.step("uma.pfn_fwb", "refuse")
        st.hazard("nofwb_device_pfn_refused", t)
        return Exit("run_error", EINVAL)

    def uma_mte(self, sc, st, s2, t):
        """device (the PFN) skips the MTE check; the pgprot may map the memory Normal."""
        mark_mte_skipped(sc, st, t, "uma.v1_pgprot")
        return super().uma_mte(sc, st, s2, t)

    def uma_map(self, sc, st, s2, t):
        ret = super().uma_map(sc, st, s2, t)
        if ret is not None and st.prot & Prot.DEVICE and st.prot & Prot.X:
            st.hazard("device_exec_refused", t)
        return ret


# ---- v2 ------------------------------------------------------------------------------------------

class PatchV2(V6_14):
    """v2, 18 Nov 2024, "KVM: arm64: Map GPU memory with no struct pages"
    <20241118131958.4609-1-ankita@nvidia.com>, 1/1 "Allow cacheable stage 2 mapping using VMA flags".
    Applied over next-20241117; modelled on v6.14.

    kvm_is_device_pfn() goes: `noncacheable` (VM_IO; an MTE VM and no VM_MTE_ALLOWED; no struct page)
    now decides huge pages, MTE and logging, the pgprot alone the type (Normal for MT_NORMAL and
    MT_NORMAL_TAGGED), and an exec fault is allowed only when both say Normal. Without FWB a PFN
    without a struct page is refused at fault time."""

    id = "patch-v2"
    title = "v2 of the series (Nov 2024, on v6.14): noncacheable from VM_IO and pfn_valid(), the type from the pgprot"
    device_var = "noncacheable"
    uma_pipeline = pipeline_after(V6_14.uma_pipeline, "uma_prot", "uma_pfn_fwb")
    s2_kind = staticmethod(pgprot_kind)
    uma_pfn_fwb = PatchV1.uma_pfn_fwb

    @staticmethod
    def normal_cacheable(mt: str) -> bool:
        """mapping_type_normal_cacheable(): MT_NORMAL or MT_NORMAL_TAGGED."""
        return mt in ("normal", "tagged")

    def uma_snapshot(self, sc, st, s2, t):
        super().uma_snapshot(sc, st, s2, t)
        why = "io" if "io" in sc.vma else "mte" if "mte" in sc.vm and not st.mte_allowed else ""
        st.device = bool(why)
        normal = self.normal_cacheable(sc.mt)
        st.pgprot_prot = 0 if normal else (Prot.NORMAL_NC if st.allow_any_uc else Prot.DEVICE)
        if t:
            t.step("uma.v2_noncacheable", mt=sc.mt, why=why, noncacheable=st.device, normal_cacheable=normal,
                   kind=self.s2_kind(st))
        return None

    def uma_classify(self, sc, st, s2, t):
        valid = pfn_valid(sc)
        if not valid:
            st.device = True
        ro = not st.device and st.logging and not st.write_fault
        if ro:
            st.writable = False
        if t:
            t.step("uma.classify", "v2", pfn_valid=valid, noncacheable=st.device, logging_ro=ro,
                   writable=st.writable, kind=self.s2_kind(st))
        return None

    def uma_noexec(self, sc, st, s2, t):
        if not (st.exec_fault and (st.device or not self.normal_cacheable(sc.mt))):
            return None
        if t:
            t.step("uma.noexec", "v2", noncacheable=st.device, mt=sc.mt,
                   page_released=self.releases_page_on_error or not st.has_page)
        if st.has_page and not self.releases_page_on_error:
            st.hazard("enoexec_page_ref", t)
        return Exit("run_error", ENOEXEC)

    def uma_mte(self, sc, st, s2, t):
        """noncacheable skips the MTE check; the pgprot may still map the memory Normal."""
        mark_mte_skipped(sc, st, t, "uma.v2_noncacheable")
        return super().uma_mte(sc, st, s2, t)

    def uma_prot(self, sc, st, s2, t):
        prot = Prot.R
        if st.writable:
            prot |= Prot.W
        if st.exec_fault:
            prot |= Prot.X
        if st.pgprot_prot:
            prot |= st.pgprot_prot
        elif self.has_dic(sc):
            prot |= Prot.X
        st.prot = prot
        if t:
            t.step("uma.prot", prot=prot, writable=st.writable, exec_fault=st.exec_fault,
                   cache_dic=self.has_dic(sc), perm_fault=st.abort.is_perm)
        return None


# ---- v4, v5 (and v6): the memslot flag -----------------------------------------------------------

class PatchV4(PatchV3):
    """v4, 18 May 2025, "KVM: arm64: Map GPU device memory as cacheable"
    <20250518054754.5345-1-ankita@nvidia.com>, five patches: 1/5 "Block cacheable PFNMAP mapping",
    2/5 "Make stage2_has_fwb global scope", 3/5 "New memslot flag to indicate cacheable mapping",
    4/5 "Allow cacheable stage 2 mapping using VMA flags", 5/5 "Expose new KVM cap for cacheable PFNMAP".
    Applied over next-20250407; modelled on v6.14, whose mmu.c is not that snapshot's (v3's was).

    v3's fault path, with DIC required beside FWB at fault time; a cacheable (exactly MT_NORMAL)
    VM_PFNMAP memslot needs the new flag KVM_MEM_ENABLE_CACHEABLE_PFNMAP (bit 3, valid on every
    architecture), FWB and DIC, else KVM_SET_USER_MEMORY_REGION fails -EINVAL; capability 240."""

    id = "patch-v4"
    title = "v4 of the series (May 2025, on v6.14): a memslot flag, FWB and DIC, capability 240"
    has_cacheable_pfnmap_cap = True

    def uma_v3_fwb(self, sc, st, s2, t):
        """4/5: cacheable_devmem needs FWB and DIC (v3 asked for FWB only)."""
        if not st.cacheable_devmem:
            return None
        if not self.supports_cacheable_pfnmap(sc):
            if t:
                t.step("uma.v3_fwb_dic", "refuse", missing=self.missing(sc))
            return Exit("run_error", EINVAL)
        if t:
            t.step("uma.v3_fwb_dic", "ok")
        return None

    def cacheable_flag_valid(self, sc) -> bool | None:
        """3/5 adds the flag to valid_flags, for every architecture."""
        return True

    def prepare_pfnmap_cacheable(self, sc, flags, mt, t):
        """4/5: a cacheable VM_PFNMAP needs the flag, FWB and DIC."""
        if not self.devmem_cacheable(mt):
            if t:
                t.step("prepare.pfnmap_cacheable", "noncacheable", mt=mt, is_vma_cacheable=False)
            return "ok"
        if "cacheable" not in sc.slot:
            if t:
                t.step("prepare.pfnmap_cacheable", "flag_missing", mt=mt, flag=False)
            return EINVAL
        if not self.supports_cacheable_pfnmap(sc):
            if t:
                t.step("prepare.pfnmap_cacheable", "flag_unsupported", mt=mt, missing=self.missing(sc), flag=True)
            return EINVAL
        if t:
            t.step("prepare.pfnmap_cacheable", "flag_ok", mt=mt, flag=True)
        return "ok"

    def check_extension(self, sc, t):
        """5/5: KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED = 240, FWB and DIC."""
        r = int(self.supports_cacheable_pfnmap(sc))
        if t:
            t.step("cap.check_extension", "numbered_240", r=r, missing=self.missing(sc), cap=240)
        return r


class PatchV5(PatchV4):
    """v5, 23 May 2025 <20250523154445.3779-1-ankita@nvidia.com> (five patches, 2/5 now "New function to
    determine hardware cache management support"); and v6, 24 May 2025
    <20250524013943.2832-1-ankita@nvidia.com>, whose mmu.c and kvm_main.c are v5's. Applied over
    next-20250407; modelled on v6.14.

    Cacheable is now anything but Normal-NC and Device-* (MT_NORMAL_TAGGED included);
    kvm_arch_supports_cacheable_pfnmap() (FWB and DIC, from the CPU capabilities) decides at fault time,
    at the memslot and for the capability; the memslot flag is valid only where it is true."""

    id = "patch-v5"
    title = "v5 and v6 of the series (May 2025, on v6.14): anything but NC/Device is cacheable; the flag needs FWB+DIC"

    @staticmethod
    def devmem_cacheable(mt: str) -> bool:
        """!mapping_type_noncacheable(): not MT_NORMAL_NC, MT_DEVICE_nGnRnE or MT_DEVICE_nGnRE."""
        return mt not in NON_CACHEABLE_MT

    @staticmethod
    def record_pgprot(sc, st, t) -> None:
        t.step("uma.v3_cow", "pgprot_noncacheable", mt=sc.mt, noncacheable=not st.cacheable_devmem,
               cacheable_devmem=st.cacheable_devmem)

    def cacheable_flag_valid(self, sc) -> bool | None:
        """5/5: valid_flags gets the flag only if kvm_arch_supports_cacheable_pfnmap()."""
        return self.supports_cacheable_pfnmap(sc)

    def check_extension(self, sc, t):
        r = super().check_extension(sc, t)
        if t:
            t.step("cap.arch_supports", r=bool(r))
        return r


