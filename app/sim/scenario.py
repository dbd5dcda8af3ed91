"""What a permalink can say: the scenario, as frozen values (contract schema 1).

The simulator reads nothing else. Parsing text into these values lives in app.permalink.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from .layout import (  # noqa: F401  (the fixed layout of schema 1 is named here too)
    BACKING_PA_OFFSET,
    MAX_SLOT_SIZE,
    MAX_SLOTS,
    MAX_VMAS,
    MEMSLOT_GPA,
    MEMSLOT_HVA,
    MEMSLOT_SIZE,
    SZ_1G,
    SZ_2M,
    SZ_4K,
    SZ_16K,
    SZ_32M,
    SZ_64K,
    SZ_512M,
    HostState,
    Layout,
    Slot,
    SlotDef,
    View,
    Vma,
    VmaDef,
    resolve,
)

# Ordered vocabularies: the order is the canonical order of the contract.
VMA_FLAGS = ("pfnmap", "mixedmap", "io", "shared", "maywrite", "uc", "mteok", "hugetlb")
MEM_TYPES = ("normal", "tagged", "nc", "ngnrne", "ngnre")
BACKINGS = ("ram", "dev", "zdev", "sg")
HOST_FEATURES = ("fwb", "dic", "mte", "lpa2", "ha")
VM_OPTIONS = ("mte", "nisv")
SLOT_FLAGS = ("log", "ro", "gmem", "cacheable")
# cacheable: KVM_MEM_ENABLE_CACHEABLE_PFNMAP (1 << 3), a memslot flag only v4 to v6 of the cacheable-PFNMAP
# series had; every other kernel refuses it in check_memory_region_flags() with -EINVAL.
GRANULES = ("4k", "16k", "64k")
GUEST_S1_TYPES = ("wb", "wt", "nc", "ngnrne", "ngnre", "ngre", "gre", "off")
FAULT_KINDS = ("r", "w", "x")
FAULT_MODS = ("noisv", "cm", "ptw", "atomic", "af", "ua", "pair", "zva", "excl", "lse")
# The guest's instruction, when the fault says which: unaligned load/store, LDP/STP, DC ZVA,
# LDXR/STXR, an LSE atomic (LDADD, CAS, ...). Without one, a plain LDR/STR of an X register.
INSTRUCTION_MODS = ("pair", "zva", "excl", "lse")
# Host events between faults (items of `f` besides the faults): the VMM unmaps part of the memslot's
# userspace range, maps the same object over it again (MAP_FIXED), the host ages it, dirty logging
# is switched on or off (KVM_MR_FLAGS_ONLY), the memslot is deleted.
EVENT_KINDS = ("unmap", "replace", "age", "logon", "logoff", "delslot")
RANGE_EVENTS = ("unmap", "replace", "age")
IPA_BITS_MIN, IPA_BITS_MAX = 32, 52
MAX_FAULTS = 64                     # items of f: faults and events together

GRANULE_SIZE = {"4k": SZ_4K, "16k": SZ_16K, "64k": SZ_64K}

# Host leaf sizes a granule allows for `pg` (PAGE, PMD and, for 4K, PUD).
HOST_LEAF_SIZES = {
    "4k": {"4k": SZ_4K, "2m": SZ_2M, "1g": SZ_1G},
    "16k": {"16k": SZ_16K, "32m": SZ_32M},
    "64k": {"64k": SZ_64K, "512m": SZ_512M},
}

HOST_IPA_LIMIT = 52                 # kvm_ipa_limit of a host with 52-bit IPAs (64K pages, or LPA2)
HOST_IPA_LIMIT_NO_LPA2 = 48         # 4K/16K pages without LPA2
FAULT_IPA_MAX = 1 << 56             # HPFAR_EL2.FIPA reports IPA[55:12]


@dataclass(frozen=True, slots=True)
class Fault:
    """One guest access that is fired at the stage-2 table."""

    ipa: int
    kind: str                       # r, w, x
    mods: frozenset[str] = frozenset()

    @property
    def access(self) -> str:
        return {"r": "read", "w": "write", "x": "exec"}[self.kind]

    @property
    def instruction(self) -> str:
        """The instruction class: fetch, ldst (LDR/STR), pair, zva, excl or lse."""
        if self.kind == "x":
            return "fetch"
        return next((m for m in INSTRUCTION_MODS if m in self.mods), "ldst")

    @property
    def unaligned(self) -> bool:
        return "ua" in self.mods

    @property
    def mod_list(self) -> tuple[str, ...]:
        """The modifiers in canonical order."""
        return tuple(m for m in FAULT_MODS if m in self.mods) if self.mods else ()


@dataclass(frozen=True, slots=True)
class Event:
    """One host event between faults. `after`: how many faults are fired before it (events with the
    same `after` keep their order). A range event covers [ipa, ipa + size); the others have none but
    the memslot they change (`slot`, 0-based: 0 is slot 1, schema 1's)."""

    kind: str
    ipa: int = 0
    size: int = 0
    after: int = 0
    slot: int = 0

    @property
    def ranged(self) -> bool:
        return self.kind in RANGE_EVENTS

    @property
    def end(self) -> int:
        return self.ipa + self.size


@dataclass(frozen=True, slots=True)
class Scenario:
    """The whole scenario a permalink describes (everything but the model and the step)."""

    vma: frozenset[str] = frozenset({"maywrite"})
    mt: str = "normal"
    mem: str = "ram"
    host: frozenset[str] = frozenset({"fwb", "dic"})
    vm: frozenset[str] = frozenset()
    slot: frozenset[str] = frozenset()
    g: str = "4k"
    ipa: int = 40
    pg: str | None = None            # None: the granule
    gs1: str = "wb"
    remap: bool = False
    faults: tuple[Fault, ...] = field(default=())
    events: tuple[Event, ...] = field(default=())
    # A whole VM (layout.py): slot 1's VMAs after its first, and memslots 2..8. Empty: schema 1.
    v1: tuple[VmaDef, ...] = field(default=())
    slots: tuple[SlotDef, ...] = field(default=())
    # Not part of a permalink: the host as the events so far have left it, set by the engine for the
    # fault or event it runs next (None: as registered, before any event).
    state: HostState | None = None
    # Not part of a permalink: set on a view (at(), slot_view()) of a scenario with a layout.
    here: View | None = None

    def items(self):
        """The faults and events in the order of `f`: ("fault", Fault) and ("event", Event)."""
        events = iter(self.events)
        ev = next(events, None)
        for i, f in enumerate(self.faults):
            while ev is not None and ev.after <= i:
                yield "event", ev
                ev = next(events, None)
            yield "fault", f
        while ev is not None:
            yield "event", ev
            ev = next(events, None)

    # ---- the VM's layout, and views of one slot and VMA of it (layout.py) ------------------------

    @property
    def has_layout(self) -> bool:
        """More than schema 1's one memslot over one VMA."""
        return bool(self.v1 or self.slots)

    @property
    def layout(self) -> Layout:
        if self.here is not None:
            return self.here.layout
        return resolve(VmaDef(self.vma, self.mt, self.mem, self.pg), self.slot, self.v1, self.slots)

    def at(self, ipa: int) -> Scenario:
        """The scenario as a fault at ipa sees it: vma, mt, mem, pg and slot are those of the VMA and
        the memslot ipa falls in (slot_gpa, slot_hva, ... those of its slot). Schema 1: itself."""
        if not self.has_layout:
            return self
        lay = self.layout
        v = lay.vma_at(ipa)
        return self._view(lay, v) if v is not None else self._view(lay, lay.slots[0].vmas[0], slot=None)

    def slot_view(self, index: int) -> Scenario:
        """The scenario as the registration of slot `index` (0-based) sees it: its first VMA."""
        if not self.has_layout:
            return self
        lay = self.layout
        return self._view(lay, lay.slots[index].vmas[0])

    def vma_views(self) -> tuple[Scenario, ...]:
        """A view of every VMA of this view's slot, in HVA order."""
        if not self.has_layout:
            return (self,)
        lay = self.layout
        return tuple(self._view(lay, v) for v in lay.slots[self.slot_index].vmas)

    def _view(self, lay: Layout, v: Vma, slot: int | None | bool = True) -> Scenario:
        remap = self.here.remap if self.here is not None else self.remap
        s = lay.slots[v.slot]
        return replace(self, vma=v.flags, mt=v.mt, mem=v.mem, pg=v.pg, slot=s.flags, remap=remap and v.index == 0,
                       here=View(lay, v.slot if slot is True else slot, v.index, remap))

    @property
    def slot_index(self) -> int:
        """The 0-based index of the slot this view is of (slot 1, schema 1's, for the scenario itself)."""
        return 0 if self.here is None or self.here.slot is None else self.here.slot

    @property
    def vma_index(self) -> int:
        return 0 if self.here is None or self.here.vma is None else self.here.vma

    @property
    def the_slot(self) -> Slot:
        return self.layout.slots[self.slot_index]

    @property
    def the_vma(self) -> Vma:
        return self.layout.vmas[self.vma_index]

    @property
    def slot_gpa(self) -> int:
        return MEMSLOT_GPA if not self.has_layout else self.the_slot.gpa

    @property
    def slot_size(self) -> int:
        return MEMSLOT_SIZE if not self.has_layout else self.the_slot.size

    @property
    def slot_hva(self) -> int:
        return MEMSLOT_HVA if not self.has_layout else self.the_slot.hva

    def hva_of(self, ipa: int) -> int:
        """The HVA of an IPA of this view's slot."""
        return self.slot_hva + ipa - self.slot_gpa

    def pa_of(self, ipa: int) -> int:
        """The host PA behind an IPA of this view's VMA."""
        return ipa + BACKING_PA_OFFSET if not self.has_layout else self.the_vma.pa_of(ipa)

    def initial_state(self) -> HostState:
        """The host as registered: the layout's VMAs, no slot deleted."""
        if not self.has_layout:
            return NO_EVENTS
        return HostState(tuple((v.start, v.end, v.index) for v in self.layout.vmas))

    @property
    def host_state(self) -> HostState:
        return self.state if self.state is not None else self.initial_state()

    @property
    def memslot_present(self) -> bool:
        """This view's slot (slot 1 for the scenario itself) exists: no delslot deleted it."""
        return self.state is None or self.slot_index not in self.state.deleted

    def has_memslot(self, ipa: int) -> bool:
        """A memslot covers ipa, and no event deleted it."""
        if not self.has_layout:
            return in_memslot(ipa) and self.memslot_present
        s = self.layout.slot_at(ipa)
        return s is not None and (self.state is None or s.index not in self.state.deleted)

    def vma_at(self, ipa: int) -> tuple[int, int] | None:
        """The VMA over the HVA of a memslot IPA, as an IPA range; None where an event unmapped it."""
        if self.state is None:
            if not self.has_layout:
                return (MEMSLOT_GPA, MEMSLOT_GPA + MEMSLOT_SIZE) if in_memslot(ipa) else None
            v = self.layout.vma_at(ipa)
            return None if v is None else (v.start, v.end)
        return self.state.vma_at(ipa)

    def host_s1_leaf_at(self, ipa: int) -> int:
        """The host's stage-1 leaf at the HVA of ipa (get_user_mapping_size()): host_s1_leaf, unless its
        block is not inside one VMA (the layout's, or what the events left) or the events split it; then
        the next smaller size that is."""
        leaf = self.host_s1_leaf
        if self.state is None and not self.has_layout:
            return leaf
        page = self.page_size
        pmd = page << (self.page_shift - 3)
        while leaf > page:
            base = ipa & ~(leaf - 1)
            vma = self.vma_at(ipa)
            if vma is not None and vma[0] <= base and base + leaf <= vma[1] and \
                    not (self.state is not None and self.state.split(base, leaf)):
                return leaf
            leaf = pmd if leaf > pmd else page
        return page

    @property
    def page_size(self) -> int:
        return GRANULE_SIZE[self.g]

    @property
    def page_shift(self) -> int:
        return self.page_size.bit_length() - 1

    @property
    def host_leaf(self) -> int:
        """Largest block the host side allows at the faulting HVA."""
        return HOST_LEAF_SIZES[self.g][self.pg or self.g]

    @property
    def host_ha(self) -> bool:
        """The CPU implements FEAT_HAFDBS, so the VTCR_EL2.HA every model sets takes effect."""
        return "ha" in self.host

    @property
    def host_lpa2(self) -> bool:
        """The host runs with LPA2 (4K/16K pages only): host=lpa2, or implied by a VM whose IPA space
        is above 48 bits, which only an LPA2 host can offer with these granules."""
        return self.g != "64k" and ("lpa2" in self.host or self.ipa > HOST_IPA_LIMIT_NO_LPA2)

    @property
    def host_ipa_limit(self) -> int:
        """kvm_ipa_limit: 52 bits with 64K pages or LPA2, else 48."""
        return HOST_IPA_LIMIT if self.g == "64k" or self.host_lpa2 else HOST_IPA_LIMIT_NO_LPA2

    @property
    def host_s1_leaf(self) -> int:
        """The largest leaf the host's own stage 1 can map at the faulting HVA: scattered pages (`sg`)
        are never contiguous, so a page, whatever alignment `pg` gives the VMA."""
        return self.page_size if self.mem == "sg" else self.host_leaf

    @property
    def is_cow(self) -> bool:
        """is_cow_mapping(): VM_MAYWRITE set and VM_SHARED clear."""
        return "maywrite" in self.vma and "shared" not in self.vma


def in_memslot(ipa: int) -> bool:
    return MEMSLOT_GPA <= ipa < MEMSLOT_GPA + MEMSLOT_SIZE


NO_EVENTS = HostState()
