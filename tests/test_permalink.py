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
    ("f=40000000r,UNMAP:0x4000_0000:0x1000,40000000r", "f=40000000r,unmap:40000000,40000000r"),
    ("f=age:40000000:0200000,,replace:40200000:2000", "f=age:40000000:200000,replace:40200000:2000"),
    ("g=64k&f=unmap:40010000:10000,40010000w", "g=64k&f=unmap:40010000,40010000w"),
    ("f=logon,40000000w,LOGOFF,delslot", "f=logon,40000000w,logoff,delslot"),
    ("f=facer,40000000r", "f=facer,40000000r"),
    ("host=ha,dic,fwb", "host=fwb,dic,ha"),
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
    ("f=unmap:40000800", "aligned to the 4K page"),
    ("f=unmap:40000000:0", "a non-zero multiple"),
    ("g=16k&f=age:40001000", "aligned to the 16K page"),
    ("f=unmap:7fffe000:4000", "inside the memslot"),
    ("f=unmap:80000000", "inside the memslot"),
    ("f=unmap", "is not unmap:<hex IPA>"),
    ("f=shred:40000000", "neither a fault"),
    ("f=logon:90000000", "names its memslot by an IPA inside it"),
    ("f=delslot:40000000:1000", "names its memslot by an IPA inside it"),
    ("f=delslot,logon", "no memslot whose flags could change"),
    ("vma=maywrite,hugetlb&pg=2m&f=unmap:40000000", "hugetlbfs VMA must be aligned"),
    ("vma=pfnmap,io,shared,maywrite&mem=dev&f=age:40000000", "never aged"),
    ("vma=shared,maywrite&slot=gmem&f=age:40000000", "never aged"),
    ("host=fwb,dic,ha&f=40000000r,40000000r.af", "needs a host without ha"),
    ("f=" + ",".join(["40000000r"] * 60 + ["logon"] * 5), "At most 64 faults"),
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


def test_a_bad_event_leaves_the_rest_of_f_as_the_nearest_valid_scenario():
    parsed = parse_query("f=40000000r,unmap:40000800,40000000r,age:40000000")
    assert len(parsed.errors) == 1 and "unmap:40000800" in parsed.errors[0]
    assert canonical_query(parsed.scenario) == "f=40000000r,40000000r,age:40000000"
    # a bad fault drops f, as it always has
    assert canonical_query(parse_query("f=40000000q,unmap:40000000").scenario) == ""


def test_events_keep_their_place_among_the_faults():
    sc = parse_query("f=unmap:40000000,40000000r,logon,age:40000000,40001000w,delslot").scenario
    assert [(e.kind, e.after) for e in sc.events] == [("unmap", 0), ("logon", 1), ("age", 1), ("delslot", 2)]
    assert [k for k, _ in sc.items()] == ["event", "fault", "event", "event", "fault", "event"]
    assert canonical_url("v6.17", sc) == "/v6.17/?f=unmap:40000000,40000000r,logon,age:40000000,40001000w,delslot"


def test_an_old_link_keeps_its_meaning():
    # no event, no new host feature: the scenario and its canonical form are those of schema 1
    parsed = parse_query("vma=pfnmap,io&mem=dev&f=40000000r,40001000w.af")
    assert parsed.ok and parsed.scenario.events == () and parsed.scenario.state is None
    assert canonical_query(parsed.scenario) == "vma=pfnmap,io&mem=dev&f=40000000r,40001000w.af"
