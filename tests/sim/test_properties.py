"""Properties over random valid scenarios."""
from hypothesis import given, settings

from app.permalink import canonical_query, parse_query
from app.present.report import trace_json
from app.sim import MODELS, simulate
from tests.strategies import scenarios

OUTCOMES = {"map", "relax", "run_error", "inject", "exit_mmio", "exit_nisv", "resume", "no_fault", "not_run"}


@given(scenarios())
def test_canonical_form_is_a_fixed_point(sc):
    q = canonical_query(sc)
    parsed = parse_query(q)
    assert parsed.ok, parsed.errors
    assert parsed.scenario == sc
    assert canonical_query(parsed.scenario) == q


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_random_valid_scenarios_never_raise_and_each_fault_has_one_outcome(sc):
    for mid in MODELS:
        tr = simulate(mid, sc)
        assert len(tr.faults) == len(sc.faults)
        for f in tr.faults:
            assert f.outcome in OUTCOMES
            assert (f.errno is not None) == (f.outcome == "run_error")
            assert (f.inject is not None) == (f.outcome == "inject")
            assert (f.s2 is not None) == (f.outcome in ("map", "relax"))
            if tr.memslot.result != "ok":
                assert f.outcome == "not_run"
        trace_json(tr, "/x/")


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_simulation_is_deterministic(sc):
    for mid in MODELS:
        assert simulate(mid, sc) == simulate(mid, sc)


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_outcomes_do_not_depend_on_tracing(sc):
    for mid in MODELS:
        a, b = simulate(mid, sc), simulate(mid, sc, trace=False)
        assert [(f.outcome, f.errno, f.inject, f.s2) for f in a.faults] == \
            [(f.outcome, f.errno, f.inject, f.s2) for f in b.faults]


@settings(max_examples=60, deadline=None)
@given(scenarios(max_faults=8))
def test_every_phase_stays_well_under_its_step_cap(sc):
    from app.sim.trace import MAX_STEPS_PER_PHASE
    for mid in MODELS:
        tr = simulate(mid, sc)
        for phase in [tr.memslot.steps, tr.capability.steps, *(f.steps for f in tr.faults),
                      *(e.steps for e in tr.events)]:
            assert len(phase) < MAX_STEPS_PER_PHASE // 2
