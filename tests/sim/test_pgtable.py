"""Stage-2 geometry, walk indices and descriptor bits (arm-stage2.md §1, kernel-behaviour.md §1.3)."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.sim.hw.pgtable import Geometry, Prot, kvm_init_valid_leaf_pte, stage2_set_prot_attr
from app.sim.hw.stage2 import Stage2

SHIFT = {"4k": 12, "16k": 14, "64k": 16}


@pytest.mark.parametrize("g,ipa,levels,start,bits,tables", [
    ("4k", 32, 2, 2, (31, 21), 4),
    ("4k", 36, 3, 1, (35, 30), 1),
    ("4k", 40, 3, 1, (39, 30), 2),
    ("4k", 44, 4, 0, (43, 39), 1),
    ("4k", 48, 4, 0, (47, 39), 1),
    ("4k", 52, 4, 0, (51, 39), 16),
    ("16k", 40, 2, 2, (39, 25), 16),
    ("16k", 48, 3, 1, (47, 36), 2),
    ("64k", 40, 2, 2, (39, 29), 1),
    ("64k", 42, 2, 2, (41, 29), 1),
    ("64k", 44, 2, 2, (43, 29), 4),
    ("64k", 48, 3, 1, (47, 42), 1),
    ("64k", 52, 3, 1, (51, 42), 1),
])
def test_linux_picks_levels_start_level_and_concatenation(g, ipa, levels, start, bits, tables):
    geo = Geometry(SHIFT[g], ipa)
    assert (geo.levels, geo.start_level) == (levels, start)
    assert geo.index_bits(start) == bits
    assert geo.concatenated_tables == tables


def test_worked_example_4k_40bit():
    geo, ipa = Geometry(12, 40), 0x8040_1234
    assert [geo.index(ipa, lvl) for lvl in (1, 2, 3)] == [2, 2, 1]


def test_worked_example_64k_48bit():
    geo, ipa = Geometry(16, 48), 0x8040_1234
    assert [geo.index(ipa, lvl) for lvl in (1, 2, 3)] == [0, 4, 0x40]


@given(g=st.sampled_from(sorted(SHIFT)), ipa_bits=st.integers(32, 52), data=st.data())
def test_level_indices_reassemble_the_ipa(g, ipa_bits, data):
    geo = Geometry(SHIFT[g], ipa_bits)
    ipa = data.draw(st.integers(0, (1 << ipa_bits) - 1))
    rebuilt = ipa & ((1 << geo.page_shift) - 1)
    for level in range(geo.start_level, 4):
        rebuilt |= geo.index(ipa, level) << geo.shift(level)
    assert rebuilt == ipa


# Ready-made values from kernel-behaviour.md §1.3 (4K page, PA bits left out).
@pytest.mark.parametrize("prot,fwb,level,value", [
    (Prot.R | Prot.W | Prot.X, True, 3, 0x7DB),
    (Prot.R | Prot.W, True, 3, 0x0040_0000_0000_07DB),
    (Prot.R | Prot.X, True, 3, 0x75B),
    (Prot.R | Prot.W | Prot.X, True, 2, 0x7D9),
    (Prot.R | Prot.W | Prot.NORMAL_NC, True, 3, 0x0040_0000_0000_07D7),
    (Prot.R | Prot.W | Prot.DEVICE, True, 3, 0x0040_0000_0000_07C7),
    (Prot.R | Prot.DEVICE, True, 3, 0x0040_0000_0000_0747),
    (Prot.R | Prot.W | Prot.X, False, 3, 0x7FF),
    (Prot.R | Prot.W, False, 3, 0x0040_0000_0000_07FF),
])
def test_descriptor_bits_are_exact(prot, fwb, level, value):
    geo = Geometry(12, 40)
    attr = stage2_set_prot_attr(prot, fwb, geo)
    assert kvm_init_valid_leaf_pte(0, attr, level, geo) == value


def test_output_address_lands_in_bits_47_to_page_shift():
    geo = Geometry(12, 40)
    attr = stage2_set_prot_attr(Prot.R | Prot.W | Prot.X, True, geo)
    assert kvm_init_valid_leaf_pte(0x8_4000_0000, attr, 3, geo) == 0x0000_0008_4000_07DB


def test_lpa2_leaves_out_shareability():
    geo = Geometry(12, 52)
    assert geo.lpa2
    assert stage2_set_prot_attr(Prot.R, True, geo) & 0x300 == 0


@pytest.mark.parametrize("prot", [Prot.DEVICE | Prot.X, Prot.NORMAL_NC | Prot.X, Prot.DEVICE | Prot.NORMAL_NC])
def test_set_prot_attr_refuses_impossible_combinations(prot):
    assert stage2_set_prot_attr(Prot.R | prot, True, Geometry(12, 40)) == -22


class Recorder:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *a: self.calls.append((name, *a))


def test_map_allocates_tables_down_to_the_leaf_and_the_walk_finds_it():
    s2, ops = Stage2(Geometry(12, 40)), Recorder()
    attr = stage2_set_prot_attr(Prot.R | Prot.W, True, s2.geo)
    s2.map(0x4000_1000, 4096, 0x8_4000_1000, attr, ops)
    assert [c[0] for c in ops.calls if c[0] == "alloc_table"] == ["alloc_table"] * 2
    walk = s2.walk(0x4000_1234)
    assert [w.found for w in walk.levels] == ["table", "table", "leaf"]
    assert [w.index for w in walk.levels] == [1, 0, 1]
    assert walk.pte >> 12 & 0xF_FFFF_FFFF == 0x8_4000_1


def test_walk_stops_where_the_table_is_invalid():
    s2 = Stage2(Geometry(12, 40))
    s2.map(0x4000_0000, 4096, 0x8_4000_0000, stage2_set_prot_attr(Prot.R, True, s2.geo), Recorder())
    assert s2.walk(0x4020_0000).leaf_level == 2          # L2 table exists, entry 1 invalid
    assert s2.walk(0x8000_0000).leaf_level == 1          # nothing at L1 index 2


def test_a_block_is_installed_at_the_level_of_its_size():
    s2 = Stage2(Geometry(12, 40))
    s2.map(0x4000_0000, 1 << 30, 0x8_4000_0000, stage2_set_prot_attr(Prot.R, True, s2.geo), Recorder())
    walk = s2.walk(0x7FFF_F000)
    assert walk.leaf_level == 1 and walk.pte & 3 == 1      # block descriptor


def test_a_1g_request_over_a_two_level_table_becomes_2m_blocks():
    s2 = Stage2(Geometry(12, 32))
    installed = s2.map(0x4000_0000, 1 << 30, 0x8_4000_0000,
                       stage2_set_prot_attr(Prot.R, True, s2.geo), Recorder())
    assert len(installed) == 512 and {i["level"] for i in installed} == {2}


def test_relax_only_adds_permissions():
    s2 = Stage2(Geometry(12, 40))
    s2.map(0x4000_0000, 4096, 0x8_4000_0000, stage2_set_prot_attr(Prot.R, True, s2.geo), Recorder())
    level, old, new = s2.relax_perms(0x4000_0000, Prot.R | Prot.W | Prot.X)
    assert (level, old ^ new) == (3, (1 << 54) | (1 << 7))
