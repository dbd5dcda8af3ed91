"""kvm_handle_guest_abort() (arch/arm64/kvm/mmu.c) as v6.14 has it: the checks before the fault
handler, the no-memslot paths, the access-flag fault and what the handler's return value becomes."""
from __future__ import annotations

from ..hw import esr as esr_mod
from ..hw.stage2 import Stage2
from ..scenario import Scenario
from .types import EFAULT, ENOEXEC, Abort, Exit, FaultState


class GuestAbort:
    """The entry of a stage-2 abort."""

    handled_fscs = ("translation", "permission", "access_flag")

    def handle_guest_abort(self, sc: Scenario, ab: Abort, s2: Stage2, t) -> tuple[Exit, FaultState]:
        """Model of kvm_handle_guest_abort()."""
        f = ab.fault
        st = FaultState(ab, f.ipa)
        if t:
            t.step("abort.entry", is_iabt=ab.is_iabt, esr=ab.esr, fsc_code=esr_mod.fsc_code(ab.fsc, ab.level),
                   fsc=ab.fsc, level=ab.level, ipa=f.ipa)
        if ab.fsc == "translation":
            out = self.check_ipa_range(sc, ab, t)
            if out:
                return out, st
        if ab.fsc not in self.handled_fscs:
            if t:
                t.step("abort.fsc", "unsupported", fsc_code=esr_mod.fsc_code(ab.fsc, ab.level))
            return Exit("run_error", EFAULT), st
        if t:
            t.step("abort.fsc", "ok", fsc=ab.fsc)
        slot_writable = "ro" not in sc.slot
        st.write_fault = self.kvm_is_write_fault(ab)
        have_slot = sc.has_memslot(f.ipa)
        if t:
            t.step("abort.memslot", gfn=f.ipa >> sc.page_shift, hva=sc.hva_of(f.ipa),
                   slot_writable=slot_writable if have_slot else None, write_fault=st.write_fault,
                   reason=_write_fault_reason(ab), slot=(sc.slot_gpa, sc.slot_size, sc.slot_index + 1))
        if not have_slot or (st.write_fault and not slot_writable):
            return self.handle_noslot(sc, ab, have_slot, t), st
        if ab.fsc == "access_flag":
            return self.handle_access_fault(f.ipa, s2, st, t), st
        return self.call_user_mem_abort(sc, st, s2, t), st

    def check_ipa_range(self, sc: Scenario, ab: Abort, t) -> Exit | None:
        ipa, kind = ab.fault.ipa, "iabt" if ab.is_iabt else "dabt"
        if ipa >= 1 << sc.host_ipa_limit:
            if t:
                t.step("abort.ipa_range", "host_limit", ipa=ipa, lim=sc.host_ipa_limit)
            return Exit("inject", inject=kind)
        if ipa >= 1 << sc.ipa:
            if t:
                t.step("abort.ipa_range", "vm_range", ipa=ipa, bits=sc.ipa, how=self.inject_fn("range", ab.is_iabt))
            return Exit("inject", inject=kind)
        if t:
            t.step("abort.ipa_range", "ok", ipa=ipa, bits=sc.ipa)
        return None

    def inject_fn(self, where: str, is_iabt: bool) -> str:
        """Which helper injects the abort (v6.17 renamed them kvm_inject_sea*)."""
        return "kvm_inject_pabt() (instruction abort)" if is_iabt else "kvm_inject_dabt() (data abort)"

    @staticmethod
    def kvm_is_write_fault(ab: Abort) -> bool:
        """Model of kvm_is_write_fault(): S1PTW counts as a write only for permission faults;
        an instruction abort never; otherwise ESR.WnR (set for cache maintenance too)."""
        if ab.s1ptw:
            return ab.is_perm
        if ab.is_iabt:
            return False
        return ab.wnr

    def handle_noslot(self, sc: Scenario, ab: Abort, have_slot: bool, t) -> Exit:
        """The no-memslot / read-only-memslot block of kvm_handle_guest_abort()."""
        if ab.is_iabt:
            if t:
                t.step("abort.noslot_iabt", have_slot=have_slot, how=self.inject_fn("noslot_iabt", True))
            return Exit("inject", inject="iabt")
        if ab.s1ptw:
            if t:
                t.step("abort.noslot_s1ptw", have_slot=have_slot, how=self.inject_fn("noslot_s1ptw", False))
            return Exit("inject", inject="dabt")
        if not have_slot and ab.cm:
            if t:
                t.step("abort.noslot_cm")
            return Exit("resume")
        if t:
            t.step("abort.noslot_mmio", have_slot=have_slot)
        return self.io_mem_abort(sc, ab, t)

    def handle_access_fault(self, ipa: int, s2: Stage2, st: FaultState, t) -> Exit:
        pte, level = s2.mkyoung(ipa)
        if t:
            t.step("abort.access_flag")
            t.step("handle_access_fault", pte=pte, level=level, ipa=ipa)
        st.result = "young"
        if t:
            st.settled_at = t.last
        return Exit("resume")

    def call_user_mem_abort(self, sc: Scenario, st: FaultState, s2: Stage2, t) -> Exit:
        return self.abort_return(self.user_mem_abort(sc, st, s2, t), st, t, "user_mem_abort")

    def abort_return(self, ret: Exit | None, st: FaultState, t, fn: str) -> Exit:
        """What kvm_handle_guest_abort() makes of the fault handler's return value."""
        if ret is None:
            if t:
                t.step("abort.uma_call", "zero", fn=fn)
            return Exit({"map": "map", "relax": "relax"}.get(st.result, "resume"))
        if ret.errno == ENOEXEC:
            if t:
                t.step("abort.uma_call", "enoexec", fn=fn, how=self.inject_fn("enoexec", True))
            return Exit("inject", inject="iabt")
        if ret.outcome != "run_error":
            return ret
        if t:
            t.step("abort.uma_call", "errno", fn=fn, errno=ret.errno)
        return ret


def _write_fault_reason(ab: Abort) -> str:
    """Which rule of kvm_is_write_fault() applied (a key of steps.abort.WRITE_FAULT_WHY)."""
    if ab.s1ptw:
        return "s1ptw"
    if ab.is_iabt:
        return "iabt"
    if ab.cm:
        return "cm"
    return "wnr1" if ab.wnr else "wnr0"
