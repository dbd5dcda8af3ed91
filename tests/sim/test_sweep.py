"""The sweep gives the engine's own outcomes, for every class it merges."""
from hypothesis import given, settings

from app.sim import KERNELS
from app.sim.sweep import _class_key, outcome_class, outcomes, space, sweep
from tests.strategies import scenarios


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_scenarios_in_one_outcome_class_have_the_same_outcomes(sc):
    rep = outcome_class(sc)
    assert _class_key(rep) == _class_key(sc)
    for mid in KERNELS:
        assert outcomes(mid, sc) == outcomes(mid, rep)


def test_sweep_matches_the_engine_on_a_slice_of_the_space():
    scs = list(space())[::97]
    result = sweep(scenarios=scs)
    assert len(result) == len(scs) * len(KERNELS)
    for (mid, sc), got in result.items():
        assert got == outcomes(mid, sc)


def test_the_default_space_is_large_enough_for_the_benchmark():
    assert len(list(space())) * len(KERNELS) >= 100_000
