"""arm64 KVM at v6.14, assembled from the pieces that model its files: memslot registration and
the capability (kvm_main.c, arm.c, mmu.c) and the memslot changes between faults, the MMU notifier
(kvm_main.c, mmu.c, hyp/pgtable.c), the abort entry (mmu.c), MMIO (mmio.c),
user_mem_abort() (mmu.c) and the stage-2 install (mmu.c, hyp/pgtable.c). The other kernel models
in models.py subclass it and override only the decisions their kernel changed."""
from __future__ import annotations

from ..scenario import Scenario
from .abort import GuestAbort
from .install import Stage2Install
from .memslot import Memslot
from .mmio import Mmio
from .notifier import MmuNotifier
from .user_mem_abort import UserMemAbort


class KvmArm64(Memslot, MmuNotifier, GuestAbort, Mmio, UserMemAbort, Stage2Install):
    """Model of arm64 KVM at v6.14."""

    id = "v6.14"
    tag = "v6.14"
    title = "mainline v6.14: the code the v3 patch applies to"
    has_cacheable_pfnmap_cap = False

    def __init__(self, sources):
        self._sources = sources
        self._uma_steps = tuple(getattr(self, name) for name in self.uma_pipeline)

    def source(self, sid: str):
        return self._sources(self.id, sid)

    # ---- host capabilities (cpus_have_final_cap) -----------------------------------------------

    @staticmethod
    def has_fwb(sc: Scenario) -> bool:
        return "fwb" in sc.host

    @staticmethod
    def has_dic(sc: Scenario) -> bool:
        return "dic" in sc.host

    def supports_cacheable_pfnmap(self, sc: Scenario) -> bool:
        return self.has_fwb(sc) and self.has_dic(sc)

    def missing(self, sc: Scenario) -> str:
        """The host features a cacheable VM_PFNMAP mapping needs and this host lacks (FWB, DIC)."""
        return " and ".join(n for n, have in (("FWB", self.has_fwb(sc)), ("DIC", self.has_dic(sc))) if not have)
