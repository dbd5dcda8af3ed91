"""Every model against the recorded runs of the real kernel it claims to be (no QEMU needed).

The fixtures are written by `make conformance`. Each recorded case names a permalink; the model
of the case's kernel must give, through that permalink, what the real kernel did: memslot result,
capability 243, and per access the outcome, errno, injected abort, the ESR_EL2 the CPU reported
(every field but the register number) and the leaf KVM wrote (every bit but the output address),
with its mapped size. A difference fails unless app.conformance.KNOWN lists it.
"""
import copy
import json
from pathlib import Path

import pytest

from app import conformance
from app.permalink import parse_query
from app.sim import MODELS, simulate

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = conformance.fixtures()

# Kernels recorded whose model does not exist yet: listed, with why. When the model arrives,
# test_no_model_list_is_exact fails until the kernel is taken off this list, so its fixtures
# are compared from then on.
NO_MODEL_YET: dict[str, str] = {}

ROWS = [conformance.compare_case(fx, c) for fx in FIXTURES for c in fx["cases"]]
COMPARED = [r for r in ROWS if r["model"] in MODELS and r["status"] != "not_compared"]


def _variant(host: dict) -> str:
    return "fwb+dic" if host["fwb"] and host["dic"] else "fwb" if host["fwb"] else "none"


def test_four_kernels_on_three_host_variants_are_recorded():
    kernels: dict[str, set] = {}
    for fx in FIXTURES:
        kernels.setdefault(fx["kernel"]["version"], set()).add(_variant(fx["host"]))
    complete = [k for k, v in kernels.items() if v == {"fwb+dic", "fwb", "none"}]
    assert len(complete) >= 4, kernels


def test_fixtures_name_the_locked_package_and_the_run():
    lock = {}
    for line in (ROOT / "conformance" / "packages.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            role, kver, _, pkg, ver, sha = line.split("\t")
            if role == "kernel":
                lock[kver] = (pkg, ver, sha)
    for fx in FIXTURES:
        k = fx["kernel"]
        assert (k["package"], k["package_version"], k["sha256"]) == lock[k["version"]], fx["file"]
        assert k["uname"].startswith(k["version"] + "+"), fx["file"]
        assert fx["qemu"]["version"] and fx["cpu"] and fx["date"], fx["file"]
        assert set(fx["host"]) >= {"fwb", "dic", "mte"}, fx["file"]


def test_every_case_names_its_permalink_or_why_none():
    for fx in FIXTURES:
        for c in fx["cases"]:
            if "query" in c:
                parsed = parse_query(c["query"])
                assert parsed.ok, (fx["file"], c["id"], parsed.errors)
                assert len(parsed.scenario.faults) == len(c.get("ops", parsed.scenario.faults)), (fx["file"], c["id"])
                assert "ops" in c or c.get("skipped"), (fx["file"], c["id"])
            else:
                assert c.get("no_permalink") or c.get("skipped") or c.get("error"), (fx["file"], c["id"])


def test_no_case_failed_to_run():
    errors = [(fx["file"], c["id"], c["error"]) for fx in FIXTURES for c in fx["cases"] if c.get("error")]
    assert not errors


@pytest.mark.parametrize("row", COMPARED, ids=lambda r: f"{r['kernel']}-{r['cpu']}-{r['id']}")
def test_model_gives_what_the_real_kernel_did(row):
    assert row["status"] in ("same", "known"), (
        f"{row['model']} differs from Linux {row['kernel']} on {row['cpu']} for {row['id']}:\n  "
        + "\n  ".join(f"access {d['access']}: {d['what']}" if d["access"] else d["what"] for d in row["diffs"])
        + f"\n  permalink: {row['permalink']}")


def test_known_differences_are_still_differences():
    seen = {(r["kernel"], r["id"], d["access"]) for r in ROWS for d in r.get("diffs", ())}
    stale = [k for k in conformance.KNOWN if k not in seen]
    assert not stale, f"listed as known but no longer different: {stale}"
    for reason, source in conformance.KNOWN.values():
        assert reason and "\n" not in reason and ":" in source


def test_no_model_list_is_exact():
    waiting = {k["kernel"] for k in conformance.report()["no_model_yet"]}
    assert waiting == set(NO_MODEL_YET), (
        f"kernels recorded without a model: {sorted(waiting)}; listed: {sorted(NO_MODEL_YET)}")


def test_every_model_is_checked_or_said_to_be_source_read_only():
    checked = {r["model"] for r in COMPARED}
    for mid in MODELS:
        assert (mid in checked) != (mid in conformance.SOURCE_READ_ONLY), mid


def _case(kver: str, cpu: str, cid: str) -> dict:
    fx = next(f for f in FIXTURES if f["kernel"]["version"] == kver and f["cpu"] == cpu)
    return next(c for c in fx["cases"] if c["id"] == cid)


@pytest.mark.parametrize("kver,model", [("6.17.13", "v6.17"), ("7.1.3", "v7.1")])
def test_udmabuf_overmapping_is_real_and_modelled(kver, model):
    case = _case(kver, "max", "udmabuf-block")
    first, *rest = case["ops"]
    # The real kernel: one 2 MiB map call at the PA of the first page, pages after it not the buffer's.
    assert first["map_call"]["size"] == 2 << 20 and first["s2"]["level"] == 3
    assert first["marker"] == "own" and {op["marker"] for op in rest} == {"foreign"}
    assert {op["outcome"] for op in rest} == {"no_fault"}
    # The model: the same mapping, and the trace says which host pages are not the buffer's.
    tr = simulate(model, parse_query(case["query"]).scenario)
    step = next(s for s in tr.faults[0].steps if s.id == "get_vma_page_shift")
    assert dict(step.vars)["overmapped"] == 511
    assert "not a buffer page" in step.text and "Use stage-1 leaf size for VM_PFNMAP" in step.text


@pytest.mark.parametrize("kver", ["6.12.117", "7.2.13", "7.3.4"])
def test_kernels_with_the_fix_map_udmabuf_page_by_page(kver):
    case = _case(kver, "max", "udmabuf-block")
    assert all(op["map_call"]["size"] == 4096 and op["marker"] == "own" for op in case["ops"]), \
        json.dumps(case["ops"], indent=1)


def test_each_permalink_fault_is_the_fault_the_cpu_reported():
    """The fault kind and modifiers each case's permalink declares, against ESR_EL2 as recorded by
    the kvm_guest_fault tracepoint: EC (data or instruction abort), WnR, ISV and CM."""
    checked = 0
    for fx in FIXTURES:
        for c in fx["cases"]:
            for op in c.get("ops", ()):
                if not op.get("esr_el2"):
                    continue
                esr = int(op["esr_el2"][0], 16)
                kind, _, mods = op["fault"][8:].partition(".")
                iabt = esr >> 26 in (0x20, 0x21)
                assert (kind == "x") == iabt, (fx["file"], c["id"], op)
                if not iabt:
                    assert bool(esr >> 6 & 1) == (kind == "w" or mods == "cm"), (fx["file"], c["id"], op)
                    assert bool(esr >> 24 & 1) == (mods == ""), (fx["file"], c["id"], op)
                    assert bool(esr >> 8 & 1) == (mods == "cm"), (fx["file"], c["id"], op)
                checked += 1
    assert checked > 100


def _max_case(kver: str, cid: str) -> tuple[dict, dict]:
    fx = next(f for f in FIXTURES if f["kernel"]["version"] == kver and f["cpu"] == "max")
    return fx, next(c for c in fx["cases"] if c["id"] == cid)


def test_lpa2_hosts_write_no_shareability_and_the_comparison_sees_it():
    """On `max` the kernels run stage 2 with LPA2 descriptors (no SH bits): the recorded host says so,
    the case's permalink carries it, and without it the model's leaves differ in bits [9:8]."""
    fx, case = _max_case("7.3.4", "anon-ops")
    assert fx["host"]["lpa2"] and "lpa2" in case["query"]
    leaves = [int(op["s2"]["desc"], 16) for op in case["ops"] if op.get("s2")]
    assert leaves and all((d >> 8) & 3 == 0 for d in leaves)
    assert conformance.compare_case(fx, case)["status"] == "same"
    without = dict(case, query=case["query"].replace(",lpa2", ""))
    diffs = conformance.compare_case(fx, without)["diffs"]
    assert diffs and all(d["what"].startswith("attrs:") for d in diffs), diffs
    on_a710 = next(f for f in FIXTURES if f["kernel"]["version"] == "7.3.4" and f["cpu"] == "cortex-a710")
    a710 = next(c for c in on_a710["cases"] if c["id"] == "anon-ops")
    assert not on_a710["host"]["lpa2"] and all((int(op["s2"]["desc"], 16) >> 8) & 3 == 3
                                                  for op in a710["ops"] if op.get("s2"))


def test_every_esr_field_but_the_register_is_compared():
    fx, case = _max_case("7.3.4", "anon-ops")
    assert conformance.compare_case(fx, case)["status"] == "same"
    for bit, compared in ((16, False), (17, False), (6, True), (24, True), (22, True), (15, True), (14, True),
                          (21, True), (8, True), (7, True), (0, True), (26, True), (25, True)):
        mutated = copy.deepcopy(case)
        op = mutated["ops"][0]
        op["esr_el2"] = [f"{int(op['esr_el2'][0], 16) ^ (1 << bit):#010x}"]
        row = conformance.compare_case(fx, mutated)
        assert (row["status"] == "differs") == compared, (bit, row.get("diffs"))


def test_every_descriptor_bit_but_the_output_address_is_compared():
    fx, case = _max_case("7.3.4", "anon-ops")
    for bit, compared in ((12, False), (30, False), (47, False), (0, True), (1, True), (4, True), (6, True),
                          (10, True), (11, True), (51, True), (53, True), (55, True), (63, True)):
        mutated = copy.deepcopy(case)
        s2 = mutated["ops"][0]["s2"]
        s2["desc"] = f"{int(s2['desc'], 16) ^ (1 << bit):#018x}"
        row = conformance.compare_case(fx, mutated)
        assert (row["status"] == "differs") == compared, (bit, row.get("diffs"))


@pytest.mark.parametrize("kver", ["7.1.3", "7.2.13", "7.3.4"])
def test_guest_memfd_is_compared_where_the_kernel_offers_it(kver):
    rows = [r for r in ROWS if r["kernel"] == kver and r["id"] == "gmem-ops"]
    assert len(rows) == 4 and all(r["status"] == "same" for r in rows), [(r["cpu"], r["status"]) for r in rows]
    assert all("slot=gmem" in r["permalink"] for r in rows)


def test_7_2_is_compared_with_the_7_3_model_and_says_why():
    runs = [fx for fx in FIXTURES if fx["kernel"]["version"] == "7.2.13"]
    assert runs and all(fx["model"] == "v7.3" and "mmu.c" in fx["model_note"] for fx in runs)
    assert sum(r["status"] == "same" for r in ROWS if r["kernel"] == "7.2.13") >= 160
