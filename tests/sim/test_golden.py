"""Golden traces: the presets of kernel-behaviour.md §2 on every model, at the level of decisions
(tests/goldens.py). A difference fails with its diff; bless an intended one with `make bless`."""
from dataclasses import replace

import pytest

from app.permalink import parse_query
from app.sim.presets import PRESETS
from tests.goldens import GOLDEN, SCENARIOS, TEXT_SNAPSHOTS, TEXTS, VM_GOLDENS, diff, golden_text, mail_text


@pytest.mark.parametrize("name", sorted(SCENARIOS) + sorted(VM_GOLDENS))
def test_golden_trace(name):
    path = GOLDEN / f"{name}.txt"
    assert path.exists(), f"no golden file for {name}: run `make bless`"
    got = golden_text(name)
    assert got == path.read_text(), f"{name} changed; if intended, `make bless` and say why:\n" + \
        diff(path.read_text(), got, path.name)[:6000]


@pytest.mark.parametrize("name", sorted(TEXT_SNAPSHOTS))
def test_mail_text_snapshot(name):
    path = TEXTS / f"{name}.txt"
    assert path.exists(), f"no text snapshot for {name}: run `make bless`"
    got = mail_text(name)
    assert got == path.read_text(), f"{name} changed; if intended, `make bless` and say why:\n" + \
        diff(path.read_text(), got, path.name)[:6000]


def test_presets_fill_explicit_values():
    sc = PRESETS["hugetlb-2m"].apply(replace(parse_query("").scenario, g="64k"))
    assert sc.pg == "512m" and "hugetlb" in sc.vma
