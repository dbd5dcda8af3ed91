"""The contract's permalink grammar, schema 1."""
import pytest

from app.permalink import ScenarioError, canonical_query, canonical_url, parse_query, parse_url


@pytest.mark.parametrize("query,canonical", [
    ("", ""),
    ("vma=maywrite&mt=normal&mem=ram&host=fwb,dic&g=4k&ipa=40&gs1=wb&remap=0", ""),
    ("mem=dev&vma=io,pfnmap&f=0x4000_0000R", "vma=pfnmap,io&mem=dev&f=40000000r"),
    ("host=dic,,fwb,mte", "host=fwb,dic,mte"),
    ("VMA=PFNMAP,IO&MEM=DEV", "vma=pfnmap,io&mem=dev"),
    ("vma=", "vma="),
    ("host=", "host="),
    ("pg=4k", ""),
    ("g=16k&pg=32m", "g=16k&pg=32m"),
    ("f=40000000w.cm,40001000x.ptw,40000000r.af.noisv", "f=40000000w.cm,40001000x.ptw,40000000r.noisv.af"),
    ("f=40000000r&step=3", "f=40000000r&step=3"),
])
def test_canonical_forms(query, canonical):
    parsed = parse_query(query)
    assert parsed.ok, parsed.errors
    assert canonical_query(parsed.scenario, parsed.step) == canonical


@pytest.mark.parametrize("query,fragment", [
    ("vmas=pfnmap", "Unknown key 'vmas'"),
    ("vma=pfnmap&vma=io", "given twice"),
    ("mt=cached", "'cached' is not a memory type"),
    ("ipa=31", "from 32 to 52"),
    ("ipa=forty", "number of bits"),
    ("g=8k", "not a granule"),
    ("pg=2m&g=64k", "not a host leaf size for the 64k granule"),
    ("remap=yes", "remap must be 0 or 1"),
    ("f=zz", "is not <hex IPA>"),
    ("f=40000000q", "is not <hex IPA>"),
    ("f=40000000r.fast", "'fast' in fault"),
    ("f=40000000x.cm", "instruction fetch cannot"),
    ("f=" + ",".join(["40000000r"] * 65), "At most 64 faults"),
    ("f=1" + "0" * 14 + "r", "does not fit the 56 bits"),
    ("vm=mte", "vm=mte needs host=mte"),
    ("vma=pfnmap,hugetlb", "never VM_PFNMAP"),
    ("step=0", "step must be"),
])
def test_errors_are_one_sentence(query, fragment):
    parsed = parse_query(query)
    assert not parsed.ok
    msg = parsed.errors[0]
    assert fragment in msg
    assert msg.endswith(".") and "\n" not in msg


def test_an_error_leaves_the_nearest_valid_scenario():
    parsed = parse_query("vma=pfnmap,io&mt=cached&f=40000000r")
    assert canonical_query(parsed.scenario) == "vma=pfnmap,io&f=40000000r"


def test_parse_url_accepts_full_urls_and_latest():
    assert parse_url("https://example.org/v6.17/?f=40000000r")[0] == "v6.17"
    assert parse_url("/latest/")[0] == "v7.3"
    assert parse_url("/api/v1/patch-v3/?")[0] == "patch-v3"
    with pytest.raises(ScenarioError, match="Unknown model"):
        parse_url("/v5.10/")


def test_canonical_url_shape():
    parsed = parse_query("f=40000000r")
    assert canonical_url("v6.17", parsed.scenario) == "/v6.17/?f=40000000r"
    assert canonical_url("v6.17", parse_query("").scenario) == "/v6.17/"


def test_vm_mte_allowed_over_memory_without_struct_page_is_refused_in_an_mte_vm():
    # sanitise_mte_tags() would take pfn_to_page() of a PFN that has no struct page.
    p = parse_query("vma=pfnmap,io,shared,maywrite,mteok&mem=dev&host=fwb,dic,mte&vm=mte&f=40000000r")
    assert len(p.errors) == 1 and "pages that do not exist" in p.errors[0]
    assert "mteok" not in p.scenario.vma
    assert parse_query("vma=pfnmap,io,shared,maywrite,mteok&mem=zdev&host=fwb,dic,mte&vm=mte").ok
    assert parse_query("vma=pfnmap,io,shared,maywrite,mteok&mem=dev&host=fwb,dic,mte").ok
