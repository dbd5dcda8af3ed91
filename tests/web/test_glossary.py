"""The glossary page and the terms marked up in step text."""
import re

import pytest

from app import create_app
from app.sim import MODELS, simulate
from app.sim.presets import PRESETS
from app.sim.scenario import Fault, Scenario
from app.teach import glossary

# The terms the traces use that a newcomer must be able to look up.
REQUIRED = ("FWB", "DIC", "PoC", "PoU", "S2AP", "XN", "MemAttr", "AttrIndx", "MAIR", "VM_PFNMAP", "VM_MIXEDMAP",
            "VM_IO", "COW", "memslot", "IPA", "HVA", "PFN", "struct page", "THP", "hugetlbfs", "MTE", "NISV", "ESR",
            "FSC", "LPA2", "guest_memfd",
            # issue 15: terms the traces use that were missing
            "AF", "SH", "VMM", "GUP", "pgprot", "VM_SHARED", "VM_MAYWRITE", "ISB", "linear map", "MMU notifier",
            # the hazard kinds (faults[].hazard.kind) and what the guest's instruction then does
            "host_oops", "foreign_memory", "lock_leak", "ref_leak", "ref_imbalance", "stale_data", "livelock",
            "Alignment fault", "IMPLEMENTATION DEFINED", "CONSTRAINED UNPREDICTABLE", "external abort", "DC ZVA",
            "translation fault", "permission fault")


@pytest.fixture
def client():
    return create_app({"TESTING": True}).test_client()


@pytest.mark.parametrize("word", REQUIRED)
def test_every_required_term_has_a_definition_and_a_reference(word):
    term = glossary._WHICH.get(word)
    assert term is not None, f"{word} is not in the glossary"
    assert len(term.meaning.split()) >= 10 and term.meaning.endswith(".")
    assert term.refs and re.search(r"Arm ARM|Documentation/|include/|arch/|mm/|virt/", term.ref), term.ref
    for ref in term.refs:       # a link: the Arm ARM, or the kernel file at a tag on Elixir
        assert ref.url == glossary.ARM_ARM or ref.url.startswith(f"https://elixir.bootlin.com/linux/{glossary.TAG}/source/")
        if ref.url != glossary.ARM_ARM:
            assert ref.url.endswith(ref.text.split(" at ")[0])


def test_fwb_no_longer_claims_every_mapping_becomes_cacheable():
    fwb = glossary.BY_ID["fwb"].meaning
    assert "always see memory cacheable" not in fwb
    assert "Device or Normal Non-cacheable stays so" in fwb


def test_struct_page_does_not_make_the_linear_map_its_consequence():
    page = glossary.BY_ID["struct-page"].meaning
    assert "which is why it cannot be reached" not in page
    assert "one is not the cause of the other" in page


def test_every_hazard_kind_and_guest_result_the_traces_use_has_a_term():
    from app.sim.hazards import KINDS
    assert all(k in glossary._WHICH for k in KINDS)


def test_glossary_page_lists_every_term_with_an_anchor_and_its_links(client):
    html = client.get("/glossary/").data.decode()
    for term in glossary.TERMS:
        assert f'id="{term.id}"' in html
        for ref in term.refs:
            assert f'<a href="{ref.url}">' in html
    assert len(set(t.id for t in glossary.TERMS)) == len(glossary.TERMS)


def test_glossary_takes_no_query(client):
    r = client.get("/glossary/?term=FWB")
    assert r.status_code == 400 and b"The glossary takes no query." in r.data


def test_mark_wraps_the_first_mention_focusably_and_escapes_the_rest():
    out = str(glossary.mark("FWB <b> & FWB, without DIC", "t"))
    assert out.count('class="term"') == 2           # FWB once, DIC once
    assert out.count('tabindex="0"') == 2
    assert "&lt;b&gt; &amp;<wbr> FWB,<wbr> without" in out          # escaped; breaks only after & and ,
    for did in re.findall(r'aria-describedby="([^"]+)"', out):
        assert f'id="{did}"' in out
    assert str(glossary.mark("AFWB and FWBX")) == "AFWB and FWBX"   # whole words only


def test_a_step_on_the_page_explains_its_terms(client):
    html = client.get("/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&host=fwb&f=40000000r").data.decode()
    now = re.search(r'<p class="text[^"]*">(.*?)</p>', html, re.S).group(1)
    assert 'class="term" tabindex="0"' in now and 'href="/glossary/#' in now


def test_step_texts_mark_the_terms_a_reader_meets_most():
    """Every preset, three hosts, a read then an exec, on every model: the common terms are marked."""
    seen = set()
    for preset in PRESETS.values():
        for host in ((), ("fwb",), ("fwb", "dic")):
            sc = preset.apply(Scenario(host=frozenset(host), faults=(Fault(0x4000_0000, "r"), Fault(0x4000_0000, "x"))))
            for mid in MODELS:
                for _, s in simulate(mid, sc).all_steps():
                    seen |= {m.group(1) for m in glossary._PATTERN.finditer(s.text)}
    for word in ("FWB", "DIC", "VM_PFNMAP", "memslot", "IPA", "PFN", "MemAttr", "S2AP", "ESR_EL2", "FSC"):
        assert word in seen, f"{word} never appears marked in a step"
