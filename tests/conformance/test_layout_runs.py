"""The whole-VM cases as the real kernels ran them (app/data/conformance/layout-<kernel>-<cpu>.json):
every case of every run compared with the model of its kernel, each memslot's registration included."""
import pytest

from app import conformance
from app.sim import MODELS
from conformance.harness import layout_cases_for

RUNS = conformance.fixtures("layout-")
ROWS = [conformance.compare_case(fx, c) for fx in RUNS for c in fx["cases"]]


def test_every_recorded_run_has_its_whole_vm_cases():
    """Each (kernel, CPU) recorded, with 4K or 16K pages, ran the whole-VM cases too, all of them."""
    runs = {conformance.run_id(fx): fx for fx in RUNS}
    assert {conformance.run_id(fx) for fx in conformance.fixtures()} == set(runs)
    for fx in RUNS:
        assert [c["id"] for c in fx["cases"]] == [c.id for c in layout_cases_for(fx["kernel"]["id"])], fx["file"]
        assert fx["model"] in MODELS, fx["file"]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['run']}-{r['id']}")
def test_a_whole_vm_is_what_the_kernel_did(row):
    if row["status"] == "not_compared":
        assert row["why"].startswith(("needs a host with MTE", "the host has no MTE")), row["why"]
        return
    assert row["status"] == "same", (row["permalink"], row["diffs"])
    assert row["real"]["memslots"] == row["modelled"]["memslots"]


def test_every_memslot_s_registration_is_compared():
    compared = [r for r in ROWS if r["status"] == "same"]
    assert len(compared) >= 4 * len(RUNS)          # every case but the MTE one off `max`
    assert all(len(r["real"]["memslots"]) == 2 for r in compared)
    refused = {r["id"] for r in compared if "-EINVAL" in r["real"]["memslots"]}
    assert {"vm-split-log", "vm-udmabuf-split"} <= refused


def _row(cid: str, run: str) -> dict | None:
    return next((r for r in ROWS if r["id"] == cid and r["run"] == run), None)


def test_the_multi_vma_slot_is_refused_where_the_kernel_walks_its_vmas():
    """A memslot over a cacheable VM_PFNMAP (a udmabuf) and anonymous memory: 6.17 and later refuse it
    without FWB and DIC (slot 2 is then never registered), 6.12, 6.16 and the v3 kernel register it."""
    seen = set()
    for fx in RUNS:
        r = _row("vm-udmabuf-split", conformance.run_id(fx))
        if r is None:
            continue
        host = fx["host"]
        new = tuple(int(x) for x in fx["kernel"]["version"].split(".")[:2]) >= (6, 17) and not fx["kernel"].get("built")
        want = ["-EINVAL", "not_run"] if new and not (host["fwb"] and host["dic"]) else ["ok", "ok"]
        assert r["real"]["memslots"] == want, (r["run"], r["real"]["memslots"])
        seen.add((new, want[0]))
    assert seen == {(True, "-EINVAL"), (True, "ok"), (False, "ok")}
