"""Golden traces: the presets of kernel-behaviour.md §2 on every model, compared byte for byte.

Regenerate with S2VIZ_BLESS=1 only when a behaviour change is intended, and say why in the commit.
"""
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from app.permalink import canonical_url, parse_query
from app.sim import MODELS, simulate
from app.sim.presets import PRESETS
from app.sim.report import trace_json

GOLDEN = Path(__file__).parent / "golden"
FAULTS = "f=40000000r,40000000w,40001000x,40200000w.ptw,90000000r"
EXTRA = {
    "nvgrace-usemem-fwb-only": ("nvgrace-usemem", "host=fwb"),
    "nvgrace-usemem-no-fwb": ("nvgrace-usemem", "host="),
    "nvgrace-usemem-remapped": ("nvgrace-usemem", "host=fwb&remap=1"),
    "anon-dirty-log": ("anon", "slot=log"),
}
SCENARIOS = {p: (p, "") for p in PRESETS} | EXTRA


def golden_doc(name: str) -> str:
    preset, extra = SCENARIOS[name]
    base = parse_query("&".join(x for x in (extra, FAULTS) if x))
    assert base.ok, base.errors
    sc = PRESETS[preset].apply(base.scenario)
    doc = {mid: trace_json(simulate(mid, sc), canonical_url(mid, sc)) for mid in MODELS}
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden_trace(name):
    path = GOLDEN / f"{name}.json"
    got = golden_doc(name)
    if os.environ.get("S2VIZ_BLESS") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(got)
    assert path.exists(), f"no golden file for {name}: run with S2VIZ_BLESS=1"
    assert got == path.read_text(), f"{name} changed; if intended, re-bless and explain why"


def test_presets_fill_explicit_values():
    sc = PRESETS["hugetlb-2m"].apply(replace(parse_query("").scenario, g="64k"))
    assert sc.pg == "512m" and "hugetlb" in sc.vma
