"""Stage 1 x stage 2 memory types, with and without FWB (Arm ASL, arm-stage2.md §2-3)."""
import pytest

from app.sim.hw import memattr as ma

S1 = ("normal_wb", "normal_wt", "normal_nc", "device_nGnRnE", "device_nGnRE", "device_nGRE", "device_GRE")

# Rows: stage-1 type; columns: stage 2 Normal, Normal-NC, Device-nGnRE (as KVM writes them).
NO_FWB = {
    "normal_wb":     ("normal_wb", "normal_nc", "device_nGnRE"),
    "normal_wt":     ("normal_wt", "normal_nc", "device_nGnRE"),
    "normal_nc":     ("normal_nc", "normal_nc", "device_nGnRE"),
    "device_nGnRnE": ("device_nGnRnE", "device_nGnRnE", "device_nGnRnE"),
    "device_nGnRE":  ("device_nGnRE", "device_nGnRE", "device_nGnRE"),
    "device_nGRE":   ("device_nGRE", "device_nGRE", "device_nGnRE"),
    "device_GRE":    ("device_GRE", "device_GRE", "device_nGnRE"),
}
FWB = {
    "normal_wb":     ("normal_wb", "normal_nc", "device_nGnRE"),
    "normal_wt":     ("normal_wb", "normal_nc", "device_nGnRE"),
    "normal_nc":     ("normal_wb", "normal_nc", "device_nGnRE"),
    "device_nGnRnE": ("normal_wb", "device_nGnRnE", "device_nGnRnE"),
    "device_nGnRE":  ("normal_wb", "device_nGnRE", "device_nGnRE"),
    "device_nGRE":   ("normal_wb", "device_nGRE", "device_nGnRE"),
    "device_GRE":    ("normal_wb", "device_GRE", "device_nGnRE"),
}
KINDS = (ma.S2_NORMAL, ma.S2_NORMAL_NC, ma.S2_DEVICE)


@pytest.mark.parametrize("fwb,table", [(False, NO_FWB), (True, FWB)], ids=["nofwb", "fwb"])
@pytest.mark.parametrize("s1", S1)
def test_effective_type(fwb, table, s1):
    got = tuple(ma.effective_type(s1, ma.s2_memattr(k, fwb), fwb)[0] for k in KINDS)
    assert got == table[s1]


@pytest.mark.parametrize("s1", S1)
def test_only_fwb_normal_is_reported_as_forced(s1):
    assert ma.effective_type(s1, ma.MT_S2_FWB_NORMAL, True) == ("normal_wb", True)
    for attr in (ma.MT_S2_FWB_NORMAL_NC, ma.MT_S2_FWB_DEVICE_nGnRE):
        assert ma.effective_type(s1, attr, True)[1] is False
    for attr in (ma.MT_S2_NORMAL, ma.MT_S2_NORMAL_NC, ma.MT_S2_DEVICE_nGnRE):
        assert ma.effective_type(s1, attr, False)[1] is False


def test_memattr_values_kvm_writes():
    assert [ma.s2_memattr(k, False) for k in KINDS] == [0xF, 0x5, 0x1]
    assert [ma.s2_memattr(k, True) for k in KINDS] == [0x6, 0x5, 0x1]


def test_0xf_under_fwb_passes_stage_1_through():
    assert ma.effective_type("device_nGnRE", 0xF, True) == ("device_nGnRE", False)
    assert ma.effective_type("normal_wt", 0xF, True) == ("normal_wt", False)


def test_fwb_reserved_0b100_takes_the_nc_branch_as_the_asl_does():
    assert ma.effective_type("normal_wb", 0b0100, True)[0] == "normal_nc"
    assert ma.effective_type("device_GRE", 0b0100, True)[0] == "device_GRE"


def test_guest_mmu_off():
    assert ma.guest_s1_type("off", instruction_fetch=False) == "device_nGnRnE"
    assert ma.guest_s1_type("off", instruction_fetch=True) == "normal_nc"
