"""The whole-VM cases the probe runs (conformance/layout_cases.py): each permalink is canonical
on every host a run can have, and the models' answers, which a recording will be compared with."""
import pytest

from app.permalink import canonical_query, parse_query
from app.sim import simulate
from conformance.layout_cases import BY_ID, CASES, at_page, split_query
from tests.conftest import MODEL_IDS, story

HOSTS = ({"fwb", "dic"}, {"fwb"}, set(), {"fwb", "dic", "mte"})


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_layout_case_has_a_canonical_permalink_on_every_host(case):
    assert case.id.startswith("vm-")
    for host in HOSTS:
        link, why = case.permalink("v6.17", host)
        if link is None:
            assert "mte" in case.needs and "mte" not in host, why
            continue
        query = link.split("?", 1)[1]
        parsed = parse_query(query)
        assert parsed.ok, parsed.errors
        assert canonical_query(parsed.scenario) == query


def answer(case_id: str, model: str) -> str:
    case = BY_ID[case_id]
    link, _ = case.permalink(model, {"fwb", "dic", "mte"} if "mte" in case.needs else {"fwb", "dic"})
    tr = simulate(model, parse_query(link.split("?", 1)[1]).scenario)
    return " ".join(a.result for a in tr.slots) + " : " + story(tr)


@pytest.mark.parametrize("model", MODEL_IDS)
def test_what_the_models_expect_of_the_layout_cases(model):
    assert answer("vm-two-slots", model) == ("ok ok : reg=ok | map normal RWX 4K | map device_nGnRE RW- 2M | "
                                             "inject iabt | exit_mmio")
    assert answer("vm-split-log", model) == "ok -EINVAL : reg=-EINVAL | not_run"
    assert answer("vm-split-mte", model) == "ok -EINVAL : reg=-EINVAL | not_run"
    block = "map device_nGnRE RW- 2M | no_fault" if model in ("v6.14", "patch-v3", "v6.17", "v7.1") else \
        "map device_nGnRE RW- 4K | map normal RWX 4K"
    assert answer("vm-split-block", model) == "ok ok : reg=ok | " + block
    assert answer("vm-delslot2", model).endswith("delslot ok freed=2 unmapped=1 | exit_mmio | no_fault")


def test_the_split_backing_is_memslot_1_over_a_dev_mem_page_and_anonymous_memory():
    sc = parse_query(split_query(["40000000r", "40001000r"])).scenario
    (slot,) = sc.layout.slots
    assert [(v.start, v.size, v.mem) for v in slot.vmas] == [(0x4000_0000, 0x1000, "dev"),
                                                             (0x4000_1000, (1 << 30) - 0x1000, "ram")]
    assert story(simulate("v7.1", sc)) == "reg=ok | map device_nGnRE RW- 2M | no_fault"


def test_the_split_query_follows_the_run_s_host_and_granule():
    """On a 16K host the /dev/mem VMA is one 16K page at a 32 MiB-aligned HVA and PA; an MTE host's
    anonymous VMA is VM_MTE_ALLOWED, the /dev/mem one never."""
    q = split_query(["40000000r", "40004000r"], 0x4000, frozenset({"fwb", "mte"}))
    sc = parse_query(q).scenario
    assert canonical_query(sc) == q
    assert "host=fwb,mte" in q and "g=16k" in q and "pg=32m" in q and "gs1=off" in q
    (slot,) = sc.layout.slots
    assert [(v.start, v.size, v.mem, "mteok" in v.flags) for v in slot.vmas] == [
        (0x4000_0000, 0x4000, "dev", False), (0x4000_4000, (1 << 30) - 0x4000, "ram", True)]


@pytest.mark.parametrize("case", [c for c in CASES if "16k" in c.granules], ids=lambda c: c.id)
def test_a_case_for_16k_pages_has_blocks_and_pages_of_its_own(case):
    """A 16K host's case: each 2 MiB block of the 4K case a 32 MiB one, each 4K page a 16K one (a /dev/mem
    VMA of one page stays one page), in the probe's line and in the permalink alike."""
    big = at_page(case, 0x4000)
    link, why = big.permalink("v6.17", {"fwb", "dic", "mte"}, 0x4000)
    query = link.split("?", 1)[1]
    parsed = parse_query(query)
    assert parsed.ok and canonical_query(parsed.scenario) == query and "g=16k" in query
    sc = parsed.scenario
    for (ipa, size, _, vmas), slot in zip(big.slots, sc.layout.slots, strict=True):
        assert (slot.gpa, slot.size if slot.number > 1 else size) == (ipa, size)
        if slot.number > 1:
            assert [v.size for v in slot.vmas] == [n for _, n in vmas]
    assert [f"{f.ipa:x}" for f in sc.faults] == [f"{big.ipa(i, 0x4000):x}" for i, op in enumerate(big.ops)
                                                 if op[0] in ("r", "w", "x")]
