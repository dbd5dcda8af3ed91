"""The end of the fault handlers: relax the faulting leaf in place, or map the range through
kvm_pgtable_stage2_map() (arch/arm64/kvm/hyp/pgtable.c) with the attributes prot asks for."""
from __future__ import annotations

from ..hw.mm_ops import MmOps
from ..hw.pgtable import KVM_PTE_LEAF_ATTR_HI_S2_XN, stage2_set_prot_attr
from ..trace import leaf_of
from .types import EINVAL, Exit
from .user_mem_abort import granule_at


class Stage2Install:
    relax_sets_xn = False              # relax_perms() without X makes the leaf execute-never (v7.1 only)
    device_is_nc = False               # KVM_PGTABLE_PROT_DEVICE encodes Normal-NC (v1 2/2 of the series only)

    def stage2_install(self, sc, st, s2, t, sid: str, relax: bool):
        """Relax the faulting leaf in place, or map [ipa, ipa + size) (the end of user_mem_abort()
        and of gmem_abort()); sid is the caller's step."""
        has_fwb = self.has_fwb(sc)
        st.ops = MmOps(t, has_fwb, self.has_dic(sc), linear_mapped=sc.mem != "dev", page_size=sc.page_size)
        if relax:
            return self.relax(sc, st, s2, t, sid, has_fwb)
        attr = stage2_set_prot_attr(st.prot, has_fwb, s2.geo, self.device_is_nc)
        if attr < 0:
            # DEVICE (or NORMAL_NC) with X: no kernel's own prot asks for it (an exec fault on device
            # memory returns -ENOEXEC first), but v1 of the series chose DEVICE from the pgprot alone.
            if t:
                t.step("pgt.prot_refused", prot=st.prot)
            return Exit("run_error", EINVAL)
        if t:
            t.step("pgt.set_prot_attr", prot=st.prot, attr=attr, lpa2=s2.geo.lpa2, fwb=has_fwb)
            t.step(sid, "map", size=st.vma_pagesize, ipa=st.ipa, pa=st.pa)
            t.step("pgt.stage2_map", "walk", start=s2.geo.start_level)
        installed = s2.map(st.ipa, st.vma_pagesize, st.pa, attr, st.ops)
        st.hazards.extend(st.ops.hazards)
        if not installed:
            st.result = "same"
            if st.abort.is_perm:
                if t:
                    t.step(sid, "livelock", size=st.vma_pagesize, gran=granule_at(sc, st.abort.level), livelock=True)
                st.hazard("perm_fault_livelock", t)
            elif st.abort.fsc == "excl_atomic":
                if t:
                    t.step(sid, "excl_atomic_again", livelock=True)
                st.hazard("gmem_excl_atomic_livelock", t)
            return None
        st.result = "map"
        st.settled_at = st.ops.first_leaf_step
        st.confirm_pending(t)
        first = installed[0]
        if len(installed) > 1 and t:
            geo = s2.geo
            blevel = geo.level_of(st.vma_pagesize)
            why = ("start_level" if blevel is None else "pa_misaligned" if geo.block_allowed(blevel)
                   else "no_block_level")
            t.step("pgt.stage2_map", "split", why=why, size=st.vma_pagesize, pa=st.pa, n=len(installed),
                   level=first["level"], leaf=first["size"], start=geo.start_level,
                   blevel=blevel if why == "pa_misaligned" else geo.min_block_level)
        st.leaf = leaf_of(first["ipa"], first["level"], first["pte"], has_fwb, sc.page_shift,
                          len(installed) * first["size"])
        return None

    def relax(self, sc, st, s2, t, sid: str, has_fwb: bool):
        """kvm_pgtable_stage2_relax_perms() on the leaf that took the permission fault."""
        level, old, new = s2.relax_perms(st.ipa, st.prot, self.relax_sets_xn)
        st.result = "relax"
        if t:
            t.step(sid, "relax")
            t.step("pgt.relax_perms", "set_xn" if self.relax_sets_xn else "clear_xn", old=old, new=new, level=level,
                   ipa=st.abort.fault.ipa)
            st.settled_at = t.last
        if old & KVM_PTE_LEAF_ATTR_HI_S2_XN and not new & KVM_PTE_LEAF_ATTR_HI_S2_XN:
            st.ops.icache_inval_pou(st.pa, st.vma_pagesize)
            st.hazards.extend(st.ops.hazards)
        st.leaf = leaf_of(st.ipa, level, new, has_fwb, sc.page_shift)
        return None
