"""io_mem_abort() (arch/arm64/kvm/mmio.c): a data access KVM hands to the VMM as MMIO."""
from __future__ import annotations

from ..scenario import Scenario
from .types import ENOSYS, Abort, Exit


class Mmio:
    def io_mem_abort(self, sc: Scenario, ab: Abort, t) -> Exit:
        """Model of io_mem_abort(): without a valid syndrome KVM cannot decode the access."""
        if not ab.isv:
            if "nisv" in sc.vm:
                if t:
                    t.step("io_mem_abort.nisv", "exit", isv=False, nisv_to_user=True)
                return Exit("exit_nisv")
            if t:
                t.step("io_mem_abort.nisv", "enosys", isv=False, nisv_to_user=False)
            return Exit("run_error", ENOSYS)
        if t:
            t.step("io_mem_abort.mmio", isv=True, is_write=ab.wnr)
        return Exit("exit_mmio")
