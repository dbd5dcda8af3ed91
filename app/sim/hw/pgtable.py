"""The stage-2 page table: geometry, walk, map and relax (arch/arm64/kvm/hyp/pgtable.c).

Descriptor bits follow KVM_PTE_* in pgtable.c / kvm_pgtable.h; geometry follows
kvm_get_vtcr() and stage2_pgtable_levels().
"""
from __future__ import annotations

import functools

from . import memattr
from .bits import bit, genmask

KVM_PTE_VALID = bit(0)
KVM_PTE_TYPE = bit(1)                      # 1: table or page, 0: block
KVM_PTE_LEAF_ATTR_LO_S2_MEMATTR = genmask(5, 2)
KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R = bit(6)
KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W = bit(7)
KVM_PTE_LEAF_ATTR_LO_S2_SH = genmask(9, 8)
KVM_PTE_LEAF_ATTR_LO_S2_SH_IS = 3
KVM_PTE_LEAF_ATTR_LO_S2_AF = bit(10)
KVM_PTE_LEAF_ATTR_HI_S2_XN = bit(54)
KVM_PGTABLE_LAST_LEVEL = 3

# Descriptor fields, for display: (name, high bit, low bit).
DESC_FIELDS = (
    ("XN", 54, 53), ("OA", 47, 12), ("AF", 10, 10), ("SH", 9, 8), ("S2AP", 7, 6),
    ("MemAttr", 5, 2), ("Type", 1, 1), ("Valid", 0, 0),
)


class Prot:
    """enum kvm_pgtable_prot, by name (the bit numbers differ between kernel versions); values are
    plain ints so that the hot path stays cheap."""

    R = 1
    W = 2
    X = 4
    DEVICE = 8
    NORMAL_NC = 16
    NAMES = (("R", 1), ("W", 2), ("X", 4), ("DEVICE", 8), ("NORMAL_NC", 16))

    @staticmethod
    def describe(prot: int) -> str:
        return "|".join(name for name, bit in Prot.NAMES if prot & bit) or "0"


@functools.cache
def geometry(page_shift: int, ipa_bits: int, lpa2: bool | None = None) -> Geometry:
    """lpa2: whether the host uses the LPA2 descriptor format (VTCR_EL2.DS) for every VM; None
    means only where the VM's IPA size needs it."""
    return Geometry(page_shift, ipa_bits, lpa2)


class Geometry:
    """Stage-2 translation geometry as Linux sets it up in VTCR_EL2 (computed once)."""

    __slots__ = ("page_shift", "ipa_bits", "stride", "levels", "start_level", "lpa2", "min_block_level",
                 "_shift", "_bits", "_mask")

    def __init__(self, page_shift: int, ipa_bits: int, lpa2: bool | None = None):
        self.page_shift, self.ipa_bits = page_shift, ipa_bits
        self.stride = page_shift - 3
        # stage2_pgtable_levels(): ARM64_HW_PGTABLE_LEVELS(ipa - 4), at least 2 (kvm_get_vtcr()).
        self.levels = max(2, (ipa_bits - 4 - 4) // self.stride)
        self.start_level = 4 - self.levels
        # LPA2 is host-wide: a host that has it sets VTCR_EL2.DS for every VM (4K/16K granules only);
        # 52-bit IPAs with 4K/16K granules need it.
        self.lpa2 = page_shift != 16 and (ipa_bits > 48 if lpa2 is None else lpa2 or ipa_bits > 48)
        # KVM_PGTABLE_MIN_BLOCK_LEVEL: level 1 blocks only with 4K pages.
        self.min_block_level = 1 if page_shift == 12 else 2
        self._shift = {lvl: self.stride * (3 - lvl) + page_shift for lvl in range(self.start_level, 4)}
        self._bits = {lvl: (ipa_bits - 1 if lvl == self.start_level else sh + self.stride - 1, sh)
                      for lvl, sh in self._shift.items()}
        self._mask = {lvl: (1 << (hi - lo + 1)) - 1 for lvl, (hi, lo) in self._bits.items()}

    def __eq__(self, other):
        return isinstance(other, Geometry) and (self.page_shift, self.ipa_bits, self.lpa2) == \
            (other.page_shift, other.ipa_bits, other.lpa2)

    def __hash__(self):
        return hash((self.page_shift, self.ipa_bits, self.lpa2))

    def __repr__(self):
        return f"Geometry(page_shift={self.page_shift}, ipa_bits={self.ipa_bits}, lpa2={self.lpa2})"

    def shift(self, level: int) -> int:
        return self._shift[level] if level in self._shift else self.stride * (3 - level) + self.page_shift

    def granule_size(self, level: int) -> int:
        return 1 << self.shift(level)

    def index_bits(self, level: int) -> tuple[int, int]:
        """IPA bits [hi:lo] the level indexes (the start level includes concatenation)."""
        return self._bits[level]

    def index(self, ipa: int, level: int) -> int:
        return (ipa >> self._shift[level]) & self._mask[level]

    @property
    def concatenated_tables(self) -> int:
        hi, lo = self._bits[self.start_level]
        return 1 << max(0, hi - lo + 1 - self.stride)

    def level_of(self, size: int) -> int | None:
        """The level whose entries map `size` bytes, if any."""
        return next((lvl for lvl in range(self.start_level, 4) if self.granule_size(lvl) == size), None)

    def block_allowed(self, level: int) -> bool:
        return level == KVM_PGTABLE_LAST_LEVEL or level >= self.min_block_level

    def addr_mask(self) -> int:
        return genmask(49 if self.lpa2 else 47, self.page_shift)


def stage2_set_prot_attr(prot: int, has_fwb: bool, geo: Geometry, device_is_nc: bool = False) -> int:
    """Model of stage2_set_prot_attr(): leaf attribute bits for a prot, or -EINVAL (as a negative int).
    device_is_nc: KVM_PGTABLE_PROT_DEVICE encodes Normal-NC (v1 2/2 of the cacheable-PFNMAP series)."""
    device, nc = prot & Prot.DEVICE, prot & Prot.NORMAL_NC
    if device and nc:
        return -22
    if device or nc:
        if prot & Prot.X:
            return -22
        kind = memattr.S2_DEVICE if device and not device_is_nc else memattr.S2_NORMAL_NC
    else:
        kind = memattr.S2_NORMAL
    attr = memattr.s2_memattr(kind, has_fwb) << 2          # FIELD_PREP(..._S2_MEMATTR, ...)
    if not prot & Prot.X:
        attr |= KVM_PTE_LEAF_ATTR_HI_S2_XN
    if prot & Prot.R:
        attr |= KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R
    if prot & Prot.W:
        attr |= KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W
    if not geo.lpa2:
        attr |= KVM_PTE_LEAF_ATTR_LO_S2_SH_IS << 8             # FIELD_PREP(..._S2_SH, SH_IS)
    return attr | KVM_PTE_LEAF_ATTR_LO_S2_AF


def kvm_init_valid_leaf_pte(pa: int, attr: int, level: int, geo: Geometry) -> int:
    """Output address, attributes, type (page at level 3, block above) and valid."""
    pte = (pa & geo.addr_mask()) | attr | KVM_PTE_VALID
    if level == KVM_PGTABLE_LAST_LEVEL:
        pte |= KVM_PTE_TYPE
    return pte


def pte_memattr(pte: int) -> int:
    return (pte & KVM_PTE_LEAF_ATTR_LO_S2_MEMATTR) >> 2


def pte_perm(pte: int) -> str:
    """S2AP read, S2AP write, executable: e.g. 'RW-'."""
    return ("R" if pte & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R else "-") + \
        ("W" if pte & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W else "-") + \
        ("-" if pte & KVM_PTE_LEAF_ATTR_HI_S2_XN else "X")


def pte_kind(pte: int, has_fwb: bool) -> str:
    m = pte_memattr(pte)
    for kind in (memattr.S2_NORMAL, memattr.S2_NORMAL_NC, memattr.S2_DEVICE):
        if memattr.s2_memattr(kind, has_fwb) == m:
            return kind
    return "other"


def stage2_pte_cacheable(pte: int, has_fwb: bool) -> bool:
    return pte_memattr(pte) == memattr.s2_memattr(memattr.S2_NORMAL, has_fwb)


def stage2_pte_executable(pte: int) -> bool:
    return bool(pte & KVM_PTE_VALID) and not pte & KVM_PTE_LEAF_ATTR_HI_S2_XN


def permits(pte: int, need: str) -> bool:
    """Architectural stage-2 permission check for a read (r), write (w), both (rw: an atomic
    read-modify-write) or an instruction fetch (x)."""
    if "r" in need and not pte & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_R:
        return False
    if "w" in need and not pte & KVM_PTE_LEAF_ATTR_LO_S2_S2AP_W:
        return False
    return need != "x" or not pte & KVM_PTE_LEAF_ATTR_HI_S2_XN
