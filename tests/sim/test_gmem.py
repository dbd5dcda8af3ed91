"""guest_memfd memslots: refused before 6.18, served by gmem_abort() on v7.1 and v7.3."""
from app.permalink import canonical_query, parse_query
from tests.conftest import MODEL_IDS, run, verdicts

GMEM = "vma=shared,maywrite&slot=gmem"
WITH_GMEM = ("v7.1", "v7.3")


def _ids(tr, i=0):
    return [s.id for s in tr.faults[i].steps]


def test_kernels_without_arm64_guest_memfd_refuse_the_slot_in_one_sentence():
    for m in MODEL_IDS:
        if m in WITH_GMEM:
            continue
        tr = run(m, GMEM + "&f=40000000r")
        assert verdicts(tr) == "reg=-EINVAL | not_run", m
        assert [s.id for s in tr.memslot.steps] == ["memslot.flags"], m
        assert "guest_memfd memslots come to arm64 in 6.18" in tr.memslot.steps[0].text


def test_a_guest_memfd_fault_goes_to_gmem_abort_and_maps_a_normal_page():
    for m in WITH_GMEM:
        tr = run(m, GMEM + "&pg=2m&f=40000000r,40000000w")
        assert verdicts(tr) == "reg=ok | map normal RWX 4K | no_fault", m
        ids = _ids(tr)
        assert ids.index("abort.dispatch") < ids.index("gmem.get_pfn") < ids.index("gmem.map")
        assert not [i for i in ids if i.startswith("uma.")], m
        assert "KVM_EXIT_MEMORY_FAULT" in next(s.text for s in tr.faults[0].steps if s.id == "gmem.get_pfn")


def test_without_dic_an_exec_fault_relaxes_the_guest_memfd_page():
    for m in WITH_GMEM:
        tr = run(m, GMEM + "&host=fwb&f=40000000r,40000000x")
        assert verdicts(tr) == "reg=ok | map normal RW- 4K | relax normal RWX 4K", m


def test_guest_memfd_slots_cannot_log_dirty_pages_or_be_read_only():
    for m in WITH_GMEM:
        for flag in ("log", "ro"):
            tr = run(m, f"{GMEM},{flag}&f=40000000r")
            assert tr.memslot.result == "-EINVAL" and tr.memslot.steps[-1].id == "memslot.flags", (m, flag)


def test_mte_refuses_a_guest_memfd_slot_through_the_vma_on_v7_1_and_explicitly_on_v7_3():
    q = GMEM + "&host=fwb,dic,mte&vm=mte&f=40000000r"
    assert run("v7.1", q).memslot.steps[-1].id == "prepare.mte"
    assert run("v7.3", q).memslot.steps[-1].id == "prepare.gmem_mte"
    assert run("v7.1", q).memslot.result == run("v7.3", q).memslot.result == "-EINVAL"


def test_a_guest_memfd_slot_maps_the_guest_memfd_itself():
    p = parse_query("slot=gmem&f=40000000r")
    assert p.errors == ["slot=gmem maps the guest_memfd itself, MAP_SHARED: vma can only be shared or "
                        "shared,maywrite."]
    assert p.scenario.vma == frozenset({"shared", "maywrite"})
    assert len(parse_query(GMEM + "&mem=dev").errors) == 1
    assert len(parse_query(GMEM + "&remap=1").errors) == 1
    assert canonical_query(parse_query("slot=gmem,ro,log&vma=shared").scenario) == "vma=shared&slot=log,ro,gmem"


def test_the_guest_memfd_preset_sets_a_valid_gmem_slot_and_other_presets_clear_it():
    from app.permalink import check_combinations
    from app.sim.presets import PRESETS
    sc = parse_query("slot=log&remap=1&f=40000000r").scenario
    g = PRESETS["gmem"].apply(sc)
    assert g.slot == frozenset({"gmem"}) and not g.remap and check_combinations(g)[1] == []
    assert "gmem" not in PRESETS["vfio-bar"].apply(g).slot
    assert verdicts(run("v7.3", canonical_query(g))) == "reg=ok | map normal RWX 4K"
