"""Every model against the recorded runs of the real kernel it claims to be (no QEMU needed).

The fixtures are written by `make conformance`. Each recorded case names a permalink; the model
of the case's kernel must give, through that permalink, what the real kernel did: memslot result,
capability 243, and per access the outcome, errno, injected abort, the ESR_EL2 the CPU reported
(every field but the register number) and the leaf KVM wrote (every bit but the output address),
with its mapped size. A difference fails unless app.conformance.KNOWN lists it.
"""
import copy
import json
import re
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


def _lock() -> dict:
    lock = {}
    for line in (ROOT / "conformance" / "packages.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            role, kid, _, pkg, ver, sha = line.split("\t")
            if role == "kernel":
                lock[kid] = (pkg, ver, sha)
    return lock


def test_fixtures_name_the_locked_package_and_the_run():
    lock = _lock()
    for fx in FIXTURES + tuple(conformance.campaigns()):
        k = fx["kernel"]
        if k.get("built"):
            continue            # the patch-v3 kernel: test_the_v3_kernel_is_the_pinned_build
        assert (k["package"], k["package_version"], k["sha256"]) == lock[k["id"]], fx["file"]
        assert k["uname"].startswith(k["version"] + "+"), fx["file"]
        assert k["uname"].endswith("-16k") == (k["granule"] == "16k") == k["id"].endswith("-16k"), fx["file"]
        assert fx["host"]["page_size"] == {"4k": 4096, "16k": 16384}[k["granule"]], fx["file"]
        assert fx["qemu"]["version"] and fx["cpu"] and fx["date"], fx["file"]
        assert set(fx["host"]) >= {"fwb", "dic", "mte"}, fx["file"]


def test_every_case_names_its_permalink_or_why_none():
    for fx in FIXTURES + tuple(conformance.campaigns()):
        for c in fx["cases"]:
            if "query" in c:
                parsed = parse_query(c["query"])
                assert parsed.ok, (fx["file"], c["id"], parsed.errors)
                if "ops" in c:
                    # One item of f per fault the CPU reported and per host event, in order.
                    items = [op.get("event") or op["fault"] for op in c["ops"]]
                    assert c["query"].endswith("f=" + ",".join(items)), (fx["file"], c["id"])
                    n = len(parsed.scenario.faults) + len(parsed.scenario.events)
                    assert n == len(items), (fx["file"], c["id"])
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


def _case(kid: str, cpu: str, cid: str) -> dict:
    fx = next(f for f in FIXTURES if conformance.run_id(f) == f"{kid}-{cpu}")
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


def test_each_instruction_raises_the_syndrome_the_architecture_gives_it():
    """ESR_EL2 as the kvm_guest_fault tracepoint recorded it, against the Arm ARM's ISS encoding for the
    probe's instructions: LDR/STR of an X register have a valid syndrome (ISV=1, SAS=0b11, SF=1, SSE=0,
    AR=0), LDP, LDXR, LDADD and DC ZVA none (ISV=0, so SAS, SSE, SF and AR are 0); WnR is 1 for STR and
    DC ZVA, 0 for LDR, LDP and LDXR, and for LDADD 0 or 1 (its read, or its write after a read-only
    mapping); a fetch is an instruction abort; IL is 1 for all. Each recorded fault is in its case's
    permalink as the fault the CPU reported."""
    checked = 0
    for fx in FIXTURES + tuple(conformance.campaigns()):
        for c in fx["cases"]:
            for op in c.get("ops", ()):
                for esr in (int(e, 16) for e in op.get("esr_el2", ())):
                    where = (fx["file"], c["id"], op["op"], hex(esr))
                    ec, il, isv, wnr = esr >> 26, esr >> 25 & 1, esr >> 24 & 1, esr >> 6 & 1
                    assert il == 1, where
                    if op["op"] == "x":
                        assert ec == 0x20 and esr & 0x1FFFFC0 == 0, where
                        continue
                    assert ec == 0x24 and esr >> 8 & 1 == 0 and esr >> 7 & 1 == 0, where
                    if op["op"] in ("r", "w"):
                        assert isv and esr >> 22 & 3 == 3 and esr >> 15 & 1 and not esr >> 21 & 1, where
                        assert not esr >> 14 & 1 and wnr == (op["op"] == "w"), where
                    else:
                        assert not isv and esr & (0xFF << 14) == 0, where
                        assert wnr == 1 if op["op"] == "zva" else op["op"] == "ldadd" or wnr == 0, where
                    checked += 1
                if op.get("esr_el2") and "query" in c:
                    assert op["fault"] in c["query"], (fx["file"], c["id"], op["fault"])
    assert checked > 1000


def _max_case(kid: str, cid: str) -> tuple[dict, dict]:
    fx = next(f for f in FIXTURES if conformance.run_id(f) == f"{kid}-max")
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
    on_a710 = next(f for f in FIXTURES if conformance.run_id(f) == "7.3.4-cortex-a710")
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
    assert len(rows) == 8 and all(r["status"] == "same" for r in rows), [(r["run"], r["status"]) for r in rows]
    assert all("slot=gmem" in r["permalink"] for r in rows)


def test_7_2_is_compared_with_the_7_3_model_and_says_why():
    runs = [fx for fx in FIXTURES if fx["kernel"]["version"] == "7.2.13"]
    assert runs and all(fx["model"] == "v7.3" and "mmu.c" in fx["model_note"] for fx in runs)
    assert sum(r["status"] == "same" for r in ROWS if r["kernel"] == "7.2.13") >= 300


# ---- 16K pages, IPA sizes, host events and the random campaign --------------------------------

def test_every_kernel_is_recorded_with_both_granules_on_every_cpu_model():
    runs = {conformance.run_id(fx) for fx in FIXTURES}
    for kid in _lock():
        for cpu in ("max", "cortex-a710", "neoverse-n1", "neoverse-n1-nvhe"):
            assert f"{kid}-{cpu}" in runs, f"{kid} on {cpu} is not recorded"
    assert any(k.endswith("-16k") for k in _lock())


def test_16k_hosts_map_16k_pages_and_32m_blocks():
    fx, case = _max_case("7.3.4-16k", "thp-ops")
    first = case["ops"][0]
    assert first["s2"]["level"] == 2 and first["s2"]["size"] == 32 << 20 and "g=16k" in case["query"]
    _, anon = _max_case("7.3.4-16k", "anon-ops")
    assert anon["ops"][0]["s2"]["size"] == 16384
    assert conformance.compare_case(fx, case)["status"] == "same"


def test_a_52_bit_ipa_vm_runs_where_the_host_allows_it_and_is_skipped_elsewhere():
    for fx in FIXTURES:
        case = next(c for c in fx["cases"] if c["id"] == "anon-ipa52")
        if fx["host"]["max_ipa"] >= 52:
            assert "ipa=52" in case["query"] and case["ops"][0]["outcome"] == "map", fx["file"]
            assert conformance.compare_case(fx, case)["status"] == "same", fx["file"]
        else:
            assert "IPA size 52" in case["skipped"], fx["file"]
    assert any(fx["host"]["max_ipa"] >= 52 for fx in FIXTURES)


def test_host_events_are_compared_on_every_model_and_granule():
    """Every event kind is compared on every model a kernel was booted for, with either page size: the
    VMM's result, what KVM unmapped or write-protected at stage 2 inside the probe's slot, whether aging
    found a young leaf, and every fault after it (outcome, ESR, descriptor)."""
    rows = [r for r in ROWS if r.get("events")]
    assert len({r["id"] for r in rows}) >= 20
    assert all(r["status"] in ("same", "not_compared") for r in rows), [r["run"] + " " + r["id"] for r in rows
                                                                       if r["status"] not in ("same", "not_compared")]
    for r in rows:
        if r["status"] == "not_compared":
            assert r["why"].startswith(("needs ", "the kernel does not offer it", "the host does not allow it",
                                        "the VMM hung")), (r["run"], r["id"], r["why"])
    kinds = ("unmap", "replace", "age", "logon", "logoff", "delslot")
    report = conformance.report()
    for m in report["models"]:
        if m["source_read_only"]:
            continue
        for g in m["by_granule"]:
            seen = {k for k in kinds if g["hand"]["events"][k] and g["random"]["events"][k]}
            assert seen == set(kinds), (m["model"], g["granule"], g["hand"]["events"], g["random"]["events"])
    # What the kernels did is in the record: munmap() unmaps at stage 2 and the next access fails.
    fx, unmap = _max_case("7.3.4", "anon-unmap")
    assert unmap["ops"][1]["result"] == "0" and any(k.startswith("unmap ") for k in unmap["ops"][1]["kvm"])
    assert (unmap["ops"][2]["outcome"], unmap["ops"][2]["errno"]) == ("run_error", "-EFAULT")
    assert conformance.compare_case(fx, unmap)["status"] == "same"
    _, devlog = _max_case("7.3.4", "devmem-logon")
    assert devlog["ops"][1]["result"] == "-EINVAL"


def test_a_vma_cut_inside_a_pmd_unmaps_the_neighbours_on_every_kernel():
    """munmap() of page 0 of a VMA of small pages: KVM is told about the whole 2 MiB (32 MiB) first
    (__split_huge_pmd() from __split_vma()), so page 1, mapped before, faults again; the model says so."""
    for fx in FIXTURES:
        case = next(c for c in fx["cases"] if c["id"] == "anon-unmap-next")
        block = {"4k": 0x20_0000, "16k": 0x200_0000}[fx["kernel"]["granule"]]
        assert f"unmap ipa=0x40000000 size={block:#x}" in case["ops"][2]["kvm"], fx["file"]
        assert case["ops"][3]["outcome"] == "map", fx["file"]
        assert conformance.compare_case(fx, case)["status"] == "same", fx["file"]


def test_an_age_is_named_by_what_kvm_was_asked_to_age():
    """DAMON samples an address inside the page and asks KVM about [addr, addr + PAGE_SIZE): two pages
    unless the address is page-aligned; the permalink ages what KVM was asked to age, and the case says
    what the VMM asked for."""
    fx, age = _max_case("7.3.4", "anon-age")
    ev = age["ops"][1]
    assert ev["asked"] == "age:40000000" and ev["event"] in ("age:40000000:2000", "age:40000000") and ev["young"]
    assert ev["event"] in age["query"] and conformance.compare_case(fx, age)["status"] == "same"


def test_ha_is_read_from_the_cpu_and_the_kernel_and_carried_by_every_permalink():
    """ID_AA64MMFR1_EL1.HAFDBS as the probe read it (a vCPU's reset value, the host's sanitised register)
    and CONFIG_ARM64_HW_AFDBM (the boot log's 'Hardware dirty bit management'): every recorded CPU model
    updates the access flag (HAFDBS 2), Debian's kernels set VTCR_EL2.HA, the v3 kernel (allnoconfig)
    does not, so its runs take access-flag faults after aging and their permalinks lack ha."""
    for fx in FIXTURES + tuple(conformance.campaigns()):
        h = fx["host"]
        assert h["hafdbs"] is not None and h["id_aa64mmfr1_el1"], fx["file"]
        assert h["ha"] == (h["hafdbs"] >= 1 and h["hw_afdbm"]), fx["file"]
        assert h["hw_afdbm"] == (not fx["kernel"].get("built")), fx["file"]
        for c in fx["cases"]:
            if "query" in c:
                host = re.search(r"(?:^|&)host=([^&]*)", c["query"])
                features = host.group(1).split(",") if host else ["fwb", "dic"]
                assert ("ha" in features) == h["ha"], (fx["file"], c["id"])
    assert {fx["host"]["hafdbs"] for fx in FIXTURES} == {2}
    for cpu in ("max", "cortex-a710", "neoverse-n1", "neoverse-n1-nvhe"):
        fx = next(f for f in FIXTURES if conformance.run_id(f) == f"6.12.117-v3-{cpu}")
        age = next(c for c in fx["cases"] if c["id"] == "anon-age")
        assert age["ops"][2]["fault"] == "40000000r.af" and age["ops"][2]["outcome"] == "resume", cpu
        assert int(age["ops"][2]["esr_el2"][0], 16) & 0x3F == 0x0B, cpu        # access flag, level 3
        assert conformance.compare_case(fx, age)["status"] == "same", cpu


def _campaign(run: str) -> dict:
    return next(c for c in conformance.campaigns() if conformance.run_id(c) == run)


def test_every_run_has_its_random_campaign_and_every_drawn_case_compares():
    from conformance import campaign
    report = conformance.campaign_report()
    for fx in FIXTURES:
        run = conformance.run_id(fx)
        assert run in report, f"{run} has no random campaign"
        got = report[run]
        want = campaign.N_16K if fx["kernel"]["granule"] == "16k" else campaign.N_4K
        assert got["cases"] == want >= 500, run
        assert got["differs"] == got["bad_permalink"] == got["no_model"] == 0, (run, got["rows"][:3])
        # Host events are drawn and compared in every campaign.
        assert got["with_events"] >= got["compared"] // 4 and all(got["events"].values()), (run, got["events"])
        # Not compared only where the run could not perform the case (no MTE, no vfio, no guest_memfd,
        # an IPA size the host does not allow) or, on the v3 kernel, the VMM hung in an event.
        for why in got["not_compared_why"]:
            assert why.startswith(("needs ", "the kernel does not offer it", "the host does not allow it")) or \
                (why.startswith("the VMM hung") and run.startswith("6.12.117-v3")), (run, why)
    assert sum(c["same"] for c in report.values()) >= 20000


def test_the_campaign_is_the_seeded_generator_s():
    from conformance import campaign
    camp = _campaign("7.3.4-max")
    drawn = campaign.draw("7.3.4", "max", seed=camp["campaign"]["seed"])
    assert [c["id"] for c in camp["cases"]] == [c.id for c in drawn]
    assert [c["title"] for c in camp["cases"]] == [c.title for c in drawn]
    assert campaign.draw("7.3.4", "max", n=5) == campaign.draw("7.3.4", "max", n=5)
    assert campaign.draw("7.3.4", "max", n=5) != campaign.draw("7.3.4", "neoverse-n1", n=5)


def test_a_random_difference_would_be_seen():
    camp = _campaign("7.3.4-max")
    case = next(c for c in camp["cases"] if any(op.get("s2") for op in c.get("ops", ())))
    assert conformance.compare_case(camp, case)["status"] == "same"
    bad = copy.deepcopy(case)
    op = next(o for o in bad["ops"] if o.get("s2"))
    op["s2"]["desc"] = f"{int(op['s2']['desc'], 16) ^ (1 << 7):#018x}"
    assert conformance.compare_case(camp, bad)["status"] == "differs"


def test_the_v3_kernel_is_the_pinned_build():
    """patch-v3 is recorded on a kernel built by conformance/v3/build.sh: its fixtures name the source
    package, the mailed patch, the ported hunk and the configuration by the SHA-256 pinned beside them."""
    v3 = ROOT / "conformance" / "v3"
    pins = dict(line.split("  ") for line in (v3 / "pins.sha256").read_text().splitlines())
    runs = [fx for fx in FIXTURES if fx["kernel"].get("built")]
    assert {fx["cpu"] for fx in runs} == {"max", "cortex-a710", "neoverse-n1", "neoverse-n1-nvhe"}
    for fx in runs:
        b = fx["kernel"]["built"]
        assert fx["model"] == "patch-v3" and fx["kernel"]["id"] == "6.12.117-v3", fx["file"]
        assert b["mail_patch_sha256"] == pins["mail-patch"] == _sha(v3 / "v3-1-1-allow-cacheable-stage2-mapping.patch")
        assert b["port_patch_sha256"] == pins["port-patch"] == _sha(v3 / "port-6.12.117.patch")
        assert b["config_fragment_sha256"] == pins["config"] == _sha(v3 / "config.fragment")
        assert b["source_tarball_sha256"] == (v3 / "source.sha256").read_text().strip()
        assert fx["kernel"]["sha256"] == b["image_sha256"] and fx["kernel"]["uname"].startswith("6.12.117")
        assert "cannot check" in fx["model_note"]


def _sha(path) -> str:
    import hashlib
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_patch_v3_s_own_decisions_are_seen_on_its_kernel():
    """The v3 patch's decisions as the built kernel took them: a private /dev/mem mapping (a COW
    VM_PFNMAP) is refused at fault time with -EINVAL; without FWB, a udmabuf (a VM_PFNMAP of RAM with
    MT_NORMAL pgprot: cacheable_devmem) is refused at fault time with -EINVAL, with FWB mapped Normal."""
    cow = _case("6.12.117-v3", "max", "devmemp-rw")["ops"][0]
    assert (cow["outcome"], cow["errno"]) == ("run_error", "-EINVAL")
    nofwb = _case("6.12.117-v3", "neoverse-n1", "udmabuf-block")["ops"][0]
    assert (nofwb["outcome"], nofwb["errno"]) == ("run_error", "-EINVAL")
    fwb = _case("6.12.117-v3", "cortex-a710", "udmabuf-block")["ops"][0]
    assert fwb["outcome"] == "map" and fwb["s2"]["memtype"] == "normal"
    on_612 = _case("6.12.117", "neoverse-n1", "udmabuf-block")["ops"][0]
    assert on_612["outcome"] == "map"          # 6.12.117 without the patch maps it


def test_the_split_slot_shows_the_pfnmap_block_bound_bug_where_the_source_has_it():
    """A memslot whose first page is a one-page /dev/mem VMA and the rest anonymous memory: 6.16 (v6.14's
    code), 6.17 and 7.1 map a block from the /dev/mem page, so the guest reads hidden host RAM at the
    anonymous VMA's IPAs; 6.12.117 (and the v3 kernel on it), 7.2.13 and 7.3.4 map a page."""
    blocks = {"6.16.12": True, "6.17.13": True, "7.1.3": True, "6.12.117": False, "6.12.117-v3": False,
              "7.2.13": False, "7.3.4": False}
    for kid, block in blocks.items():
        for granule, size in (("", 2 << 20), ("-16k", 32 << 20)):
            if kid.endswith("-v3") and granule:
                continue
            for cpu in ("max", "cortex-a710", "neoverse-n1", "neoverse-n1-nvhe"):
                case = _case(kid + granule, cpu, "split-pfnmap-block")
                first, second, _ = case["ops"]
                assert (first["s2"]["size"] == size) == block, (kid, granule, cpu)
                assert second["marker"] == ("hidden RAM" if block else "own"), (kid, granule, cpu, second)
                # Compared through a whole VM's permalink: memslot 1's first VMA the /dev/mem page at a
                # block-aligned HVA and PA, `v1` the anonymous rest of the 1 GiB memslot.
                page = 0x4000 if granule else 0x1000
                assert "no_permalink" not in case and "&v1=maywrite" in case["query"], (kid, granule, cpu)
                assert case["query"].split("&v1=")[1].split("&")[0].split("@")[1] == f"{(1 << 30) - page:x}"
                fx = next(f for f in FIXTURES if conformance.run_id(f) == f"{kid}{granule}-{cpu}")
                row = conformance.compare_case(fx, case)
                assert row["status"] == "same", (kid, granule, cpu, row.get("diffs"), row.get("why"))


def test_the_dax_experiment_maps_device_dax_memory_as_the_models_say():
    """conformance/bugs.py, suspected bug (a): 6.12.117's THP-adjust gate lacks `device`, so a device-dax
    page (ZONE_DEVICE, outside memblock) under a 2 MiB host PMD is mapped with a 2 MiB Device block from the
    block's head PFN, where v6.14 maps the page; 7.3.4 maps it Normal. The v6.12 and v7.3 models, given the
    same VMA (not PFNMAP), backing (zdev) and host leaf (2 MiB), write the same leaf."""
    runs = {b["kernel"]["id"]: b for b in conformance.bug_runs()}
    assert set(runs) == {"6.12.117", "7.3.4"} and all(b["completed"] for b in runs.values())
    q = "vma=shared,maywrite&mem=zdev&host=fwb,dic,mte,lpa2&pg=2m&gs1=off&f=40001000r"
    for kid, model, memtype in (("6.12.117", "v6.12", "device_nGnRE"), ("7.3.4", "v7.3", "normal")):
        real = runs[kid]["devdax"]["ops"][0]
        assert (real["outcome"], real["s2"]["memtype"], real["s2"]["size"]) == ("map", memtype, 2 << 20), kid
        f = simulate(model, parse_query(q).scenario, trace=False).faults[0]
        assert conformance.desc_attrs(f.s2.pte) == conformance.desc_attrs(int(real["s2"]["desc"], 16)), kid
        assert f.s2.size == 2 << 20, kid
        # The fsdax file on busybox's ext2 is mapped with pages by the host: a 4 KiB leaf on both.
        assert runs[kid]["case"]["ops"][0]["s2"]["size"] == 4096, kid
    assert simulate("v6.14", parse_query(q).scenario, trace=False).faults[0].s2.size == 4096


def test_the_page_gives_the_counts_per_model_and_granule_the_reasons_and_the_qemu_limits():
    from app import create_app
    html = create_app({"TESTING": True}).test_client().get("/conformance/").data.decode()
    rep = conformance.report()
    for m in rep["models"]:
        if m["source_read_only"]:
            continue
        assert f"{m['random']['same']} of {m['random']['compared']} ({m['random']['with_events']} with host events)" \
            in html, m["model"]
        for g in m["by_granule"]:
            assert f"<td>{g['granule']}</td>" in html
            assert f"{g['hand']['same']} of {g['hand']['compared']} ({g['hand']['with_events']} with host events)" \
                in html, (m["model"], g["granule"])
        for why, n in m["not_compared_why"].items():
            assert f"<td>{m['model']}</td><td>{n}</td>" in html, (m["model"], why)
    assert len(rep["qemu_limits"]) >= 5 and all(x.split("(")[0].replace("'", "&#39;")[:40] in html
                                                for x in rep["qemu_limits"])
    assert "not take host events" not in html and "models do not take" not in html


def test_the_case_rules_excuse_only_what_they_name():
    """The probe's shorter slot excuses an event only after an unmap reached the slot's end, and only an
    event whose own range reaches it; an age's young leaf only after a faulting LDADD since the last age."""
    end = conformance.TEST_IPA + conformance.SLOT_SIZE["4k"]
    ops = [{"op": "unmap", "event": "unmap:40000000:200000"}, {"op": "logon", "event": "logon"}]
    assert conformance.probe_slot_ends_sooner(ops, 2, "result: real ok, model -EINVAL", {}, end)
    assert not conformance.probe_slot_ends_sooner(ops, 2, "esr: real 0x1, model None", {}, end)
    inside = [{"op": "unmap", "event": "unmap:40000000:1000"}, {"op": "logon", "event": "logon"}]
    assert not conformance.probe_slot_ends_sooner(inside, 2, "result: real ok, model -EINVAL", {}, end)
    ranged = ops[:1] + [{"op": "unmap", "event": "unmap:40003000"}]
    assert not conformance.probe_slot_ends_sooner(ranged, 2, "unmap: real [], model ['0x40003000+0x1000']", {}, end)
    age = {"op": "age", "event": "age:40000000"}
    young = "young: real True, model False"
    faulted = [age, {"op": "ldadd", "outcome": "run_error"}, age]
    assert conformance.young_from_an_atomics_walk(faulted, 3, young, {"ha": True}, end)
    assert not conformance.young_from_an_atomics_walk(faulted, 3, young, {}, end)
    assert not conformance.young_from_an_atomics_walk([age, {"op": "r", "outcome": "map"}, age], 3, young,
                                                       {"ha": True}, end)


def test_the_ci_check_compares_a_fresh_runs_whole_vm_cases_too(tmp_path):
    """`python -m conformance.check DIR` (what CI runs after recording one kernel) reads the whole-VM
    fixture beside the one-slot one and fails on a difference."""
    import shutil
    import subprocess
    import sys
    src = conformance.fixture_dir()
    for name in ("linux-7.3.4-max.json", "layout-7.3.4-max.json"):
        shutil.copyfile(str(src.joinpath(name)), tmp_path / name)
    run = subprocess.run([sys.executable, "-m", "conformance.check", str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "whole-VM cases, against v7.3: 6 cases the same, 0 different" in run.stdout
    layout = json.loads((tmp_path / "layout-7.3.4-max.json").read_text())
    case = next(c for c in layout["cases"] if c.get("memslots"))
    last = case["memslots"][-1]
    last["result"] = "-EEXIST" if last["result"] != "-EEXIST" else "ok"
    (tmp_path / "layout-7.3.4-max.json").write_text(json.dumps(layout))
    run = subprocess.run([sys.executable, "-m", "conformance.check", str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 1 and "1 failed" in run.stdout, run.stdout
