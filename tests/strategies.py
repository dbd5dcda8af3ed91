"""Hypothesis strategies for scenarios and queries."""
from dataclasses import replace

from hypothesis import strategies as st

from app.permalink import _check_combinations
from app.sim import scenario as s

IPAS = st.one_of(
    st.integers(s.MEMSLOT_GPA, s.MEMSLOT_GPA + s.MEMSLOT_SIZE - 1).map(lambda x: x & ~0xFFF),
    st.sampled_from([0x4000_0000, 0x4000_1000, 0x4020_0000, 0x7FFF_F000, 0x8000_0000, 0x9000_0000,
                     0x1_0000_0000, 1 << 40, 1 << 52]),
)


@st.composite
def faults(draw):
    kind = draw(st.sampled_from(s.FAULT_KINDS))
    allowed = ["ptw", "af"] if kind == "x" else list(s.FAULT_MODS)
    mods = draw(st.sets(st.sampled_from(allowed), max_size=2))
    if "ptw" in mods:
        mods -= {"cm", "atomic", "noisv"}
    if "cm" in mods:
        mods -= {"atomic", "noisv"}
    return s.Fault(draw(IPAS), kind, frozenset(mods))


@st.composite
def scenarios(draw, max_faults=6):
    g = draw(st.sampled_from(s.GRANULES))
    sc = s.Scenario(
        vma=frozenset(draw(st.sets(st.sampled_from(s.VMA_FLAGS)))),
        mt=draw(st.sampled_from(s.MEM_TYPES)),
        mem=draw(st.sampled_from(s.BACKINGS)),
        host=frozenset(draw(st.sets(st.sampled_from(s.HOST_FEATURES)))),
        vm=frozenset(draw(st.sets(st.sampled_from(s.VM_OPTIONS)))),
        slot=frozenset(draw(st.sets(st.sampled_from(s.SLOT_FLAGS)))),
        g=g,
        ipa=draw(st.integers(s.IPA_BITS_MIN, s.IPA_BITS_MAX)),
        pg=draw(st.sampled_from([None, *s.HOST_LEAF_SIZES[g]])),
        gs1=draw(st.sampled_from(s.GUEST_S1_TYPES)),
        remap=draw(st.booleans()),
        faults=tuple(draw(st.lists(faults(), max_size=max_faults))),
    )
    sc, _ = _check_combinations(sc)
    return replace(sc)
