"""mem=sg: a backing of RAM pages that are not physically contiguous (a udmabuf), and the stage-2
walker's alignment rule for blocks that it makes visible."""
import pytest

from app.permalink import parse_query
from app.sim import MODELS, simulate
from app.sim.hw.pgtable import geometry
from app.sim.hw.stage2 import Stage2
from app.sim.kernel import scatter
from app.sim.scenario import MEMSLOT_GPA, SZ_2M, SZ_4K
from tests.conftest import MODEL_IDS, run, verdicts

UDMABUF = "vma=pfnmap,shared,maywrite&mem=sg"


def test_buffer_pages_are_scattered_and_never_block_aligned():
    pas = [scatter.page_pa(MEMSLOT_GPA + k * SZ_4K, SZ_4K) for k in range(1024)]
    assert len(set(pas)) == len(pas)
    assert all(b - a != SZ_4K for a, b in zip(pas, pas[1:], strict=False))
    assert all(pas[k] % SZ_2M for k in range(0, 1024, 512))
    assert [scatter.buffer_page_at(pa, SZ_4K) for pa in pas[:5]] == [0, 1, 2, 3, 4]
    assert scatter.buffer_page_at(pas[0] + SZ_4K, SZ_4K) is None


VMA_SIZED = [m for m in MODEL_IDS if MODELS[m].sizes_pfnmap_from_vma]
LEAF_SIZED = [m for m in MODEL_IDS if not MODELS[m].sizes_pfnmap_from_vma]


@pytest.mark.parametrize("mid", LEAF_SIZED)
def test_kernels_with_the_stage_1_leaf_fix_map_a_udmabuf_page_by_page(mid):
    tr = run(mid, UDMABUF + "&pg=2m&f=40005000r,40006000r")
    assert verdicts(tr) == "reg=ok | map normal RWX 4K | map normal RWX 4K"
    assert [leaf.pte & 0xFFFFFFFFF000 for leaf in tr.leaves] == \
        [scatter.page_pa(MEMSLOT_GPA + k * SZ_4K, SZ_4K) for k in (5, 6)]


@pytest.mark.parametrize("mid", VMA_SIZED)
def test_a_2m_aligned_udmabuf_is_mapped_2m_past_its_first_page(mid):
    tr = run(mid, UDMABUF + "&pg=2m&f=40005000r,40006000r")
    assert verdicts(tr) == "reg=ok | map normal RWX 2M | no_fault"
    f = tr.faults[0]
    # The PA of the first page is not 2 MiB-aligned: 512 level-3 pages, not a block.
    assert f.s2.level == 3 and f.s2.size == SZ_2M and len(tr.leaves) == 512
    first = scatter.page_pa(MEMSLOT_GPA, SZ_4K)
    assert [leaf.pte & 0xFFFFFFFFF000 for leaf in tr.leaves[:2]] == [first, first + SZ_4K]
    step = next(s for s in f.steps if s.id == "get_vma_page_shift")
    assert dict(step.vars)["overmapped"] == 511
    assert f"{first + 5 * SZ_4K:#x}" in step.text and "not its buffer page" in step.text
    assert step.lines != (0, 0)


@pytest.mark.parametrize("mid", MODEL_IDS)
def test_a_udmabuf_mapped_page_by_page_maps_its_own_pages(mid):
    tr = run(mid, UDMABUF + "&f=40005000r,40006000r")
    assert verdicts(tr) == "reg=ok | map normal RWX 4K | map normal RWX 4K"
    assert [leaf.pte & 0xFFFFFFFFF000 for leaf in tr.leaves] == \
        [scatter.page_pa(MEMSLOT_GPA + k * SZ_4K, SZ_4K) for k in (5, 6)]
    assert not any(s.id == "get_vma_page_shift" for f in tr.faults for s in f.steps)


def test_merged_kernels_refuse_a_udmabuf_slot_without_fwb_and_dic():
    assert verdicts(run("v6.17", UDMABUF + "&host=fwb&pg=2m&f=40000000r")) == "reg=-EINVAL | not_run"
    assert verdicts(run("v6.14", UDMABUF + "&host=fwb&pg=2m&f=40000000r")) == "reg=ok | map normal RW- 2M"


def test_the_walker_needs_the_pa_aligned_for_a_block():
    class Ops:
        def __getattr__(self, name):
            return lambda *a, **k: None
    s2 = Stage2(geometry(12, 40))
    assert [i["level"] for i in s2.map(0x4000_0000, SZ_2M, 0x8_0000_0000, 0, Ops())] == [2]
    s2 = Stage2(geometry(12, 40))
    got = s2.map(0x4000_0000, SZ_2M, 0x8_0000_1000, 0, Ops())
    assert len(got) == 512 and {i["level"] for i in got} == {3}


def test_a_thp_block_maps_the_block_aligned_pa():
    tr = run("v6.17", "pg=2m&f=40123000r")
    leaf = tr.faults[0].s2
    assert leaf.level == 2 and (leaf.pte & 0xFFFFFFFFF000) % SZ_2M == 0


@pytest.mark.parametrize("query,error", [
    (UDMABUF + "&g=16k", "4k granule only"),
    (UDMABUF + "&pg=1g", "pg=4k or pg=2m"),
    ("vma=shared,maywrite&mem=sg&pg=2m", "needs vma=pfnmap"),
])
def test_sg_combinations_that_cannot_exist_are_refused(query, error):
    parsed = parse_query(query + "&f=40000000r")
    assert not parsed.ok and error in parsed.errors[0]
    assert simulate("v6.17", parsed.scenario).memslot.result in ("ok", "-EINVAL")
