"""LPA2 is host-wide: a host that has it omits SH from every VM's descriptors; without it, 4K and
16K hosts cap the IPA size at 48 bits."""
from app.permalink import canonical_query, parse_query
from app.sim.hw.pgtable import KVM_PTE_LEAF_ATTR_LO_S2_SH
from tests.conftest import MODEL_IDS, run


def _sh(tr):
    return (tr.faults[0].s2.pte & KVM_PTE_LEAF_ATTR_LO_S2_SH) >> 8


def test_an_lpa2_host_omits_sh_for_every_vm_whatever_its_ipa_size():
    for m in MODEL_IDS:
        for g in ("4k", "16k"):
            tr = run(m, f"host=fwb,dic,lpa2&g={g}&ipa=40&f=40000000r")
            assert _sh(tr) == 0 and tr.geometry["lpa2"], (m, g)
            assert _sh(run(m, f"g={g}&ipa=40&f=40000000r")) == 0b11, (m, g)


def test_64k_pages_keep_sh_with_or_without_lpa2():
    tr = run("v7.3", "host=fwb,dic,lpa2&g=64k&f=40000000r")
    assert _sh(tr) == 0b11 and not tr.geometry["lpa2"]


def test_a_vm_above_48_bits_implies_an_lpa2_host():
    tr = run("v7.3", "ipa=52&f=40000000r")
    assert _sh(tr) == 0 and tr.geometry["lpa2"]


def test_without_lpa2_a_4k_host_caps_the_ipa_at_48_bits():
    far = "f=1000000000000r"                       # 2^48
    step = next(s for s in run("v7.3", far).faults[0].steps if s.id == "abort.ipa_range")
    assert "48-bit IPA limit" in step.text and "without LPA2" in step.text
    step = next(s for s in run("v7.3", "host=fwb,dic,lpa2&" + far).faults[0].steps if s.id == "abort.ipa_range")
    assert "between the VM's 40-bit IPA space and the host limit" in step.text
    assert run("v7.3", far).faults[0].inject == "dabt"


def test_lpa2_is_listed_last_in_the_canonical_host():
    p = parse_query("host=lpa2,fwb")
    assert p.ok and canonical_query(p.scenario) == "host=fwb,lpa2"
