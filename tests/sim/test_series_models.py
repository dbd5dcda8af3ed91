"""The revisions of the cacheable-PFNMAP series, each checked against its diff: per hunk, the decision
the hunk introduces (the step it changed decides it) and the revision before deciding otherwise; the
Grace Hopper scenarios on every revision; the memslot flag; the hazards each revision carries; and
v10, the revision that was merged, deciding as v6.17 wherever the code is the same."""
import json
import re

import pytest
from hypothesis import given, settings

from app.sim import KERNELS, MODELS, SERIES, series, simulate
from app.sim.sources import _raw, patch, source_for
from tests.conftest import run, verdict, verdicts
from tests.sim.test_events import EVENT_CASES
from tests.sim.test_models import CASES
from tests.strategies import scenarios

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev"                      # nvgrace-gpu usemem
VFIO = "vma=pfnmap,io,shared,maywrite,uc&mt=ngnrne&mem=dev"        # a vfio-pci BAR
COW = "vma=pfnmap,io,maywrite&mt=ngnrne&mem=dev"                   # /dev/mem MAP_PRIVATE of MMIO
MIXED = "vma=mixedmap,io,shared,maywrite&mem=dev"                  # a cacheable VM_MIXEDMAP outside the kernel's map
RAM_NC = "vma=pfnmap,io,shared,maywrite&mt=nc"                     # remap_pfn_range() of kernel RAM, write-combining
REVISIONS = tuple(m for m in SERIES if m not in KERNELS)


def previous(model: str) -> str:
    """The revision before this one in the series; for v1, the kernel it is modelled on."""
    i = SERIES.index(model)
    return SERIES[i - 1] if i else "v6.14"


def ids(tr) -> list[str]:
    return [s.id for _, s in tr.all_steps()]


def said(tr) -> str:
    """verdicts(), each fault with the hazard it met: 'reg=ok | run_error -EINVAL !cow_pfnmap_mmap_lock'."""
    return " | ".join([f"reg={tr.memslot.result}"] + [verdict(f) + (f" !{f.hazard['key']}" if f.hazard else "")
                                                      for f in tr.faults])


# Per hunk: (revision, the step whose code the hunk changes, the scenario, what this revision decides, what
# the revision before decides[, the model to compare with when the revision before decided the same]).
HUNKS = [
    # v1: 1/2 the type from the pgprot, the FWB check, prot no longer from `device`; 2/2 DEVICE is Normal-NC
    ("patch-v1", "uma.v1_pgprot", NVG + "&f=40000000r",
     "reg=ok | map normal RWX 4K", "reg=ok | map device_nGnRE RW- 4K !device_type_stale"),
    ("patch-v1", "uma.pfn_fwb", VFIO + "&host=&f=40000000r",
     "reg=ok | run_error -EINVAL !nofwb_device_pfn_refused", "reg=ok | map normal_nc RW- 4K"),
    ("patch-v1", "uma.prot", RAM_NC + "&f=40000000x",
     "reg=ok | run_error -EINVAL !device_exec_refused", "reg=ok | map normal RWX 4K"),
    ("patch-v1", "pgt.set_prot_attr", "vma=pfnmap,io,shared,maywrite&mt=ngnre&mem=dev&f=40000000r",
     "reg=ok | map normal_nc RW- 4K", "reg=ok | map device_nGnRE RW- 4K"),
    # v2: noncacheable from VM_IO and MTE, from pfn_valid(); exec only for Normal; THP and MTE gates; the type
    ("patch-v2", "uma.v2_noncacheable", "vma=pfnmap,io,shared,maywrite&f=40000000x",
     "reg=ok | inject iabt", "reg=ok | map normal RWX 4K"),
    ("patch-v2", "uma.classify", "vma=shared,maywrite&mem=zdev&f=40000000x",
     "reg=ok | map normal RWX 4K", "reg=ok | inject iabt !enoexec_page_ref"),
    ("patch-v2", "uma.noexec", RAM_NC + "&f=40000000x",
     "reg=ok | inject iabt", "reg=ok | run_error -EINVAL !device_exec_refused"),
    ("patch-v2", "uma.thp", "vma=shared,maywrite&mem=zdev&pg=2m&f=40000000r",
     "reg=ok | map normal RWX 2M", "reg=ok | map normal RWX 4K"),
    ("patch-v2", "uma.mte", "vma=shared,maywrite,mteok&mem=zdev&host=fwb,dic,mte&vm=mte&f=40000000r",
     "reg=ok | map normal RWX 4K", "reg=ok | map normal RWX 4K !mte_tags_unsanitised"),
    ("patch-v2", "uma.prot", "vma=pfnmap,io,shared,maywrite&mt=ngnre&mem=dev&f=40000000r",
     "reg=ok | map device_nGnRE RW- 4K", "reg=ok | map normal_nc RW- 4K"),
    ("patch-v2", "uma.pfn_fwb", VFIO + "&host=&f=40000000r",                          # as v1 did
     "reg=ok | run_error -EINVAL !nofwb_device_pfn_refused", "reg=ok | map normal_nc RW- 4K", "v6.14"),
    # v3: cacheable_devmem only for exactly MT_NORMAL; COW refused; device = !cacheable_devmem; FWB only for it
    ("patch-v3", "uma.v3_cow", COW + "&f=40000000r",
     "reg=ok | run_error -EINVAL !cow_pfnmap_mmap_lock", "reg=ok | map device_nGnRE R-- 4K"),
    ("patch-v3", "uma.v3_cow", "vma=pfnmap,io,shared,maywrite&mt=tagged&mem=dev&host=fwb,dic,mte&f=40000000r",
     "reg=ok | map device_nGnRE RW- 4K !device_type_stale", "reg=ok | map normal RWX 4K"),
    ("patch-v3", "uma.classify", NVG + "&f=40000000x",
     "reg=ok | map normal RWX 4K", "reg=ok | inject iabt"),
    ("patch-v3", "uma.v3_fwb", "vma=pfnmap,io,shared,maywrite&host=dic&f=40000000r",
     "reg=ok | run_error -EINVAL", "reg=ok | map normal RWX 4K"),
    # v4: DIC at fault time; the memslot needs the flag, FWB and DIC; the flag itself; capability 240
    ("patch-v4", "uma.v3_fwb_dic", NVG + "&host=fwb&remap=1&f=40000000x",
     "reg=ok | run_error -EINVAL", "reg=ok | map normal RWX 4K !icache_no_linear_alias"),
    ("patch-v4", "prepare.pfnmap_cacheable", NVG + "&f=40000000r",
     "reg=-EINVAL | not_run", "reg=ok | map normal RWX 4K"),
    ("patch-v4", "memslot.flags", NVG + "&slot=cacheable&f=40000000r",
     "reg=ok | map normal RWX 4K", "reg=-EINVAL | not_run"),
    ("patch-v4", "cap.check_extension", "f=40000000r", "cap 240 -> 1", "cap 243 -> 0"),
    # v5: anything but NC/Device is cacheable; the flag only where the host supports it
    ("patch-v5", "uma.v3_cow", "vma=pfnmap,io,shared,maywrite&mt=tagged&mem=dev&host=fwb,dic,mte&slot=cacheable"
                               "&f=40000000r", "reg=ok | map normal RWX 4K",
     "reg=ok | map device_nGnRE RW- 4K !device_type_stale"),
    ("patch-v5", "prepare.pfnmap_cacheable", "vma=pfnmap,io,shared,maywrite&mt=tagged&mem=dev&host=fwb,dic,mte"
                                             "&f=40000000r", "reg=-EINVAL | not_run",
     "reg=ok | map device_nGnRE RW- 4K !device_type_stale"),
    ("patch-v5", "memslot.flags", "slot=cacheable&host=fwb&f=40000000r",
     "reg=-EINVAL | not_run", "reg=ok | map normal RW- 4K"),
    # v7: no flag; is_vma_cacheable for every VMA; FWB+DIC under the lock for every cacheable VMA; cap 243
    ("patch-v7", "prepare.pfnmap_cacheable", NVG + "&f=40000000r",
     "reg=ok | map normal RWX 4K", "reg=-EINVAL | not_run"),
    ("patch-v7", "uma.snapshot", "host=fwb&f=40000000r",
     "reg=ok | run_error -EINVAL !cacheable_ram_refused", "reg=ok | map normal RW- 4K"),
    ("patch-v7", "uma.v7_supports", "host=fwb&f=40000000r",
     "reg=ok | run_error -EINVAL !cacheable_ram_refused", "reg=ok | map normal RW- 4K"),
    ("patch-v7", "uma.classify", "vma=shared,maywrite&mem=zdev&f=40000000r",
     "reg=ok | map normal RWX 4K", "reg=ok | map device_nGnRE RW- 4K !device_type_stale"),
    ("patch-v7", "memslot.flags", NVG + "&slot=cacheable&f=40000000r",
     "reg=-EINVAL | not_run", "reg=ok | map normal RWX 4K"),
    ("patch-v7", "cap.check_extension", "f=40000000r", "cap 243 -> 1", "cap 240 -> 1"),
    # v8: the check inside the VM_PFNMAP/VM_MIXEDMAP branch (-EFAULT); guest RAM never refused; COW after
    # the unlock; the mismatch block (3/6) for what is left non-cacheable
    ("patch-v8", "uma.classify", NVG + "&host=fwb&remap=1&f=40000000r",
     "reg=ok | run_error -EFAULT", "reg=ok | run_error -EINVAL"),
    ("patch-v8", "uma.classify", "host=fwb&f=40000000r",
     "reg=ok | map normal RW- 4K", "reg=ok | run_error -EINVAL !cacheable_ram_refused"),
    ("patch-v8", "uma.classify", COW + "&f=40000000r",
     "reg=ok | run_error -EINVAL", "reg=ok | run_error -EINVAL !cow_pfnmap_mmap_lock"),
    ("patch-v8", "uma.mismatch", MIXED + "&f=40000000r",
     "reg=ok | run_error -EINVAL", "reg=ok | map normal RWX 4K"),
    # v9: VM_MIXEDMAP under the VM_PFNMAP rules; COW refusal for it too
    ("patch-v9", "uma.classify", MIXED + "&f=40000000r",
     "reg=ok | map normal RWX 4K", "reg=ok | run_error -EINVAL"),
    ("patch-v9", "uma.classify", "vma=mixedmap,io,maywrite&mt=ngnre&mem=dev&f=40000000r",
     "reg=ok | run_error -EINVAL", "reg=ok | map device_nGnRE RW- 4K"),
    # v10: no COW refusal
    ("patch-v10", "uma.classify", COW + "&f=40000000r",
     "reg=ok | map device_nGnRE R-- 4K", "reg=ok | run_error -EINVAL"),
    # mainline's block state: every cacheable VM_PFNMAP memslot, and the S1/S2 mismatch at fault time;
    # 2/6 ("Assume non-PFNMAP/MIXEDMAP VMAs can be mapped cacheable") decides as v10 does, not as v6.14
    ("block-pfnmap", "prepare.pfnmap_cacheable", NVG + "&f=40000000r",
     "reg=-EINVAL | not_run", "reg=ok | map normal RWX 4K"),
    ("block-pfnmap", "uma.mismatch", NVG + "&remap=1&f=40000000r",
     "reg=ok | run_error -EINVAL", "reg=ok | map normal RWX 4K"),
    ("block-pfnmap", "uma.snapshot", NVG + "&remap=1&f=40000000x",
     "reg=ok | run_error -EINVAL", "reg=ok | map normal RWX 4K"),
    ("block-pfnmap", "uma.classify", "vma=shared,maywrite&mem=zdev&f=40000000r",
     "reg=ok | map normal RWX 4K", "reg=ok | map device_nGnRE RW- 4K !device_type_stale", "v6.14"),
]

# The revisions whose hunks post again, unchanged in what they decide, a hunk of an earlier one: that
# hunk is tested where it came in.
REPOSTS = {"patch-v4": ("patch-v3",), "patch-v5": ("patch-v4", "patch-v3"),
           "patch-v7": ("patch-v5", "patch-v4", "patch-v3"), "patch-v8": ("block-pfnmap", "patch-v7"),
           "patch-v9": ("patch-v8", "block-pfnmap", "patch-v7"),
           "patch-v10": ("patch-v9", "patch-v8", "block-pfnmap", "patch-v7")}
# Steps inside a revision's hunks whose code only a rename touched (v7 1/5, v8 1/6): no decision changes.
RENAMED = {"uma.noexec", "uma.thp", "uma.mte", "uma.prot"}
# Entries of a line table that are helpers the steps call, not steps.
HELPERS = {"mapping_type", "vma_is_cacheable", "pgt.has_fwb", "cap.number", "cap.arch_supports"}
STEP_OF = {"uma.thp": "thp_adjust"}       # the huge-page upgrade records its own step


def _cap(tr) -> str:
    step = next(s for s in tr.capability.steps if s.id == "cap.check_extension")
    return f"cap {dict(step.vars)['cap']} -> {tr.cap_cacheable_pfnmap}"


@pytest.mark.parametrize("hunk", HUNKS, ids=[f"{h[0]}:{h[1]}:{i}" for i, h in enumerate(HUNKS)])
def test_each_hunk_decides_what_the_revision_before_decided_otherwise(hunk):
    model, sid, query, now, before = hunk[:5]
    tr, prev = run(model, query), run(hunk[5] if len(hunk) > 5 else previous(model), query)
    assert STEP_OF.get(sid, sid) in ids(tr), (model, sid)
    show = _cap if sid == "cap.check_extension" else said
    assert (show(tr), show(prev)) == (now, before)
    assert now != before


def test_every_hunk_of_every_revision_is_tested_where_it_came_in():
    tested = {(m, sid) for m, sid, *_ in HUNKS}
    for m in REVISIONS:
        for sid in patch(m)["hunks"]:
            if sid in HELPERS or (sid in RENAMED and (m, sid) not in tested and m not in ("patch-v2",)):
                continue
            assert (m, sid) in tested or any((a, sid) in tested for a in REPOSTS.get(m, ())), (m, sid)


def test_a_rename_decides_nothing_new():
    # v7 1/5 and v8 1/6 rename `device`; the exec refusal on a device PFN is the same on both sides.
    for m in ("patch-v7", "patch-v8", "block-pfnmap"):
        assert said(run(m, VFIO + "&f=40000000x")) == said(run(previous(m), VFIO + "&f=40000000x"))


# ---- the acceptance points ---------------------------------------------------------------

def test_patch_v4_refuses_what_v3_maps_unsafely_without_dic():
    q = NVG + "&host=fwb&f=40000000x"
    v3 = run("patch-v3", q)
    assert v3.faults[0].outcome == "map" and v3.faults[0].hazard["kind"] == "host_oops"
    for flag in ("", "&slot=cacheable"):
        v4 = run("patch-v4", q + flag)
        assert v4.memslot.result == "-EINVAL" and v4.faults[0].outcome == "not_run", flag
        assert not any(f.hazard for f in v4.faults)
    # swapped in after registration, past the memslot check: refused at fault time, before any leaf
    v4 = run("patch-v4", q + "&remap=1")
    assert v4.faults[0].errno == "-EINVAL" and "uma.v3_fwb_dic" in ids(v4) and v4.faults[0].hazard is None


@pytest.mark.parametrize("model", ["patch-v4", "patch-v5"])
def test_the_flag_era_revisions_refuse_a_cacheable_pfnmap_memslot_without_the_flag(model):
    tr = run(model, NVG + "&f=40000000r")
    assert tr.memslot.result == "-EINVAL"
    assert tr.memslot.steps[-1].id == "prepare.pfnmap_cacheable" and tr.memslot.steps[-1].case == "flag_missing"
    assert verdicts(run(model, NVG + "&slot=cacheable&f=40000000r")) == "reg=ok | map normal RWX 4K"
    # a non-cacheable VM_PFNMAP needs no flag
    assert verdicts(run(model, VFIO + "&f=40000000r")) == "reg=ok | map normal_nc RW- 4K"


def test_every_other_model_refuses_the_flag_in_check_memory_region_flags():
    for m in MODELS:
        tr = run(m, "slot=cacheable&f=40000000r")
        if m in ("patch-v4", "patch-v5"):
            assert tr.memslot.result == "ok", m
            continue
        assert tr.memslot.result == "-EINVAL", m
        step = tr.memslot.steps[-1]
        assert (step.id, step.case) == ("memslot.flags", "cacheable_unknown"), m
        assert step.func == "check_memory_region_flags" and step.lines[0] > 0, m


def test_v5_takes_the_flag_only_where_the_host_supports_it_and_v4_everywhere():
    assert run("patch-v4", "slot=cacheable&host=&f=40000000r").memslot.result == "ok"
    tr = run("patch-v5", "slot=cacheable&host=&f=40000000r")
    assert tr.memslot.result == "-EINVAL" and tr.memslot.steps[-1].case == "cacheable_unsupported"


def test_the_capability_is_240_in_v4_and_v5_and_243_from_v7():
    for m in SERIES:
        tr = run(m, "f=40000000r")
        caps = [dict(s.vars).get("cap") for s in tr.capability.steps if s.id == "cap.check_extension"]
        want = 240 if m in ("patch-v4", "patch-v5") else 243
        assert caps == [want], m
        assert tr.cap_cacheable_pfnmap == (0 if m in ("patch-v1", "patch-v2", "patch-v3", "block-pfnmap") else 1), m
        assert run(m, "host=fwb&f=40000000r").cap_cacheable_pfnmap == 0, m


# The Grace Hopper scenarios of the lesson, on every revision: read, then exec, with and without FWB and DIC.
GRACE = [
    ("fwb,dic", {"patch-v1": "reg=ok | map normal RWX 4K | inject iabt",
                 "patch-v2": "reg=ok | map normal RWX 4K | inject iabt",
                 "patch-v3": "reg=ok | map normal RWX 4K | map normal RWX 4K",
                 "patch-v4": "reg=-EINVAL | not_run | not_run", "patch-v5": "reg=-EINVAL | not_run | not_run",
                 "block-pfnmap": "reg=-EINVAL | not_run | not_run",
                 "*": "reg=ok | map normal RWX 4K | map normal RWX 4K"}),
    ("fwb", {"patch-v1": "reg=ok | map normal RW- 4K | inject iabt",
             "patch-v2": "reg=ok | map normal RW- 4K | inject iabt",
             "patch-v3": "reg=ok | map normal RW- 4K | map normal RWX 4K",
             "*": "reg=-EINVAL | not_run | not_run"}),
    ("dic", {"patch-v1": "reg=ok | run_error -EINVAL | inject iabt",
             "patch-v2": "reg=ok | run_error -EINVAL | inject iabt",
             "patch-v3": "reg=ok | run_error -EINVAL | run_error -EINVAL",
             "*": "reg=-EINVAL | not_run | not_run"}),
]


@pytest.mark.parametrize("host,table", GRACE, ids=[g[0] for g in GRACE])
def test_grace_hopper_gpu_memory_on_every_revision(host, table):
    for m in SERIES:
        assert verdicts(run(m, f"{NVG}&host={host}&f=40000000r,40001000x")) == table.get(m, table["*"]), m


def test_with_the_flag_v4_and_v5_map_grace_hopper_memory_on_fwb_and_dic_hosts_only():
    for m in ("patch-v4", "patch-v5"):
        assert verdicts(run(m, NVG + "&slot=cacheable&f=40000000r,40001000x")) == \
            "reg=ok | map normal RWX 4K | map normal RWX 4K"
        assert run(m, NVG + "&slot=cacheable&host=fwb&f=40000000r").memslot.result == "-EINVAL"


# ---- hazards ---------------------------------------------------------------------------------------

def _hazard(m, q):
    return [f.hazard and f.hazard["key"] for f in run(m, q).faults]


def test_the_i_cache_oops_is_v3s_alone():
    for m in SERIES:
        got = _hazard(m, NVG + "&host=fwb&remap=1&f=40000000x")
        assert got == (["icache_no_linear_alias"] if m == "patch-v3" else [None]), m


def test_the_cow_lock_leak_lasts_from_v3_to_v7():
    for m in SERIES:
        leaks = m in ("patch-v3", "patch-v4", "patch-v5", "patch-v7")
        assert _hazard(m, COW + "&f=40000000r") == (["cow_pfnmap_mmap_lock"] if leaks else [None]), m


def test_v1_and_v2_refuse_every_device_pfn_without_fwb():
    for m in SERIES:
        tr = run(m, VFIO + "&host=dic&f=40000000r")
        regression = m in ("patch-v1", "patch-v2")
        assert (tr.faults[0].errno == "-EINVAL") == regression, m
        assert _hazard(m, VFIO + "&host=dic&f=40000000r") == (["nofwb_device_pfn_refused"] if regression else [None])
        assert (tr.faults[0].hazard or {}).get("kind") in (None, "regression")


def test_v1_cannot_execute_kernel_memory_mapped_write_combining():
    assert _hazard("patch-v1", RAM_NC + "&f=40000000x") == ["device_exec_refused"]
    assert _hazard("patch-v2", RAM_NC + "&f=40000000x") == [None]


def test_v1_and_v2_skip_the_mte_check_for_memory_they_map_normal():
    q = "host=fwb,dic,mte&vm=mte&remap=1&" + NVG + "&f=40000000r"
    for m in SERIES:
        got = _hazard(m, q)
        assert got == (["mte_tags_unsanitised"] if m in ("patch-v1", "patch-v2") else [None]), m


def test_v7_refuses_every_guest_ram_fault_without_fwb_or_dic():
    for host in ("fwb", "dic", ""):
        tr = run("patch-v7", f"host={host}&f=40000000r")
        assert tr.faults[0].errno == "-EINVAL" and tr.faults[0].hazard["key"] == "cacheable_ram_refused", host
        assert run("patch-v8", f"host={host}&f=40000000r").faults[0].outcome == "map", host


# ---- v10 is what was merged ------------------------------------------------------------------------

def _decisions(tr) -> tuple:
    """What a trace decides: the memslot, the capability, every fault's outcome and leaf, every event."""
    return (tr.memslot.result, tr.cap_cacheable_pfnmap,
            tuple((f.outcome, f.errno, f.inject, f.s2 and f.s2.pte, f.effective and f.effective["type"])
                  for f in tr.faults),
            tuple((e.result, e.changes) for e in tr.events))


def test_v10_decides_as_v6_17_on_every_scenario_of_the_model_suite():
    from app.permalink import parse_query
    for _, query, _ in CASES + EVENT_CASES:
        sc = parse_query(query).scenario
        assert _decisions(simulate("patch-v10", sc)) == _decisions(simulate("v6.17", sc)), query
    for _, query, *_ in HUNKS:
        sc = parse_query(query).scenario
        assert _decisions(simulate("patch-v10", sc)) == _decisions(simulate("v6.17", sc)), query


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_v10_decides_as_v6_17_on_generated_scenarios(sc):
    assert _decisions(simulate("patch-v10", sc, trace=False)) == _decisions(simulate("v6.17", sc, trace=False))


# ---- provenance ------------------------------------------------------------------------------------

def test_every_revision_names_its_mail_base_and_hunks():
    data = _raw()
    for m in REVISIONS:
        p = patch(m)
        assert p["lore"].startswith("https://lore.kernel.org/r/") and p["base"] == "v6.14", m
        assert p["posted_over"].startswith(("next-", "kvmarm")), m
        assert set(p["hunks"]) == set(data["models"][m]) == set(p["mails"]), m
        cover = series.revision(m).mail.message_id if m != "block-pfnmap" else "20250705071717.5062-1-ankita@nvidia.com"
        prefix = cover.split("-")[0] + "-"                # the series' own mails: <stamp>.<pid>-<n>-ankita@...
        for link in [p["lore"], *p["mails"].values()]:
            assert re.fullmatch(r"https://lore\.kernel\.org/r/" + re.escape(prefix) + r"[1-7]-ankita@nvidia\.com",
                                link), (m, link)
        assert "v6.14" in data["provenance"][m]["note"], m


def test_a_revision_cites_its_own_lines_inside_its_hunks_and_v6_14s_elsewhere():
    for m in REVISIONS:
        for _, step in run(m, NVG + "&slot=cacheable&f=40000000r,40001000x").all_steps():
            if not step.lines[0]:
                continue
            if step.id in patch(m)["hunks"]:
                assert step.lines == tuple(_raw()["models"][m][step.id]["lines"]), (m, step.id)
            else:
                assert step.lines == source_for("v6.14", step.id).lines, (m, step.id)


def test_the_series_lists_every_revision_model_once_in_the_order_posted():
    assert tuple(r.model for r in series.REVISIONS) == SERIES
    assert set(SERIES) - set(KERNELS) == set(REVISIONS) and set(REVISIONS) | set(KERNELS) == set(MODELS)
    for a, b in zip(SERIES, SERIES[1:], strict=False):
        step = series.between(a, b)
        assert step and step.change and step.review, (a, b)
        for mail in step.review:
            assert mail.who and mail.date and "@" in mail.message_id and mail.says, (a, b)
    assert json.dumps([r.mail.message_id for r in series.REVISIONS])
