"""Faults during runs are recorded, not fatal (issue #7): CVODE failures, step-limit hits, negative states; the
sweep goes on, the summary counts failures by reason, and a retry with tighter tolerances is recorded."""
import json
import math

import pandas as pd
import pytest

import sim
from sim.engines.ode import engine_for, tighter_tolerances
from sim.errors import SimulationError
from sim.sweep.design import Factor, make_design
from sim.sweep.evaluate import Endpoint
from sim.sweep.faults import RetryTighter, failure_counts
from sim.sweep.runner import run_sweep

CONDITION = {"name": "c", "ev_mode": "coculture", "dose": 0.05}


def _points(name, values):
    return pd.DataFrame({"point": range(len(values)), name: values})


def test_solver_faults_become_rows_with_a_reason_and_the_sweep_goes_on(tmp_path):
    # k_lros = 1e300: CVODE's corrector cannot converge (CV_CONV_FAILURE); k_escape = -1: a negative rate drives the
    # delivered miRNA to -5e28 (negative_state). Both are points of a sweep whose other points succeed.
    evaluate = Endpoint("pdac_gem", CONDITION, ("N_cancer",))
    table = run_sweep(evaluate, _points("k_lros", [1.0, 1e300, 2.0]), tmp_path / "a")
    assert table["status"].tolist() == ["ok", "failed", "ok"]
    assert table.loc[1, "reason"] == "cvode_failure" and "CV_CONV_FAILURE" in table.loc[1, "message"]
    negative = run_sweep(evaluate, _points("k_escape", [0.05, -1.0]), tmp_path / "b")
    assert negative["reason"].tolist() == ["", "negative_state"]
    assert "_delivered' = -" in negative.loc[1, "message"] and math.isnan(negative.loc[1, "N_cancer"])
    assert failure_counts(pd.concat([table, negative])) == {"cvode_failure": 1, "negative_state": 1}
    assert list(table.columns) == ["point", "k_lros", "N_cancer", "status", "reason", "message"]


def test_step_limit_hit_is_recovered_by_a_retry_with_tighter_tolerances(tmp_path):
    engine = engine_for(sim.build_model("pdac_gem"))
    integrator = engine.rr.getIntegrator()
    saved = integrator.getValue("maximum_num_steps")
    evaluate = Endpoint("pdac_gem", CONDITION, ("N_cancer",))
    points = _points("ev_uptake_fraction_24h", [0.05, 0.15])
    reference = run_sweep(evaluate, points, tmp_path / "ref")
    try:
        integrator.setValue("maximum_num_steps", 25)  # too few for 72 h: CV_TOO_MUCH_WORK
        plain = run_sweep(evaluate, points, tmp_path / "plain")
        retried = run_sweep(evaluate, points, tmp_path / "retry", retry=True)  # 100x the step limit on retry
        assert integrator.getValue("maximum_num_steps") == 25  # restored after the retry
    finally:
        integrator.setValue("maximum_num_steps", saved)
    assert set(plain["reason"]) == {"step_limit"} and (plain["status"] == "failed").all()
    assert (retried["status"] == "ok").all() and retried["retried"].all()
    assert set(retried["first_failure"]) == {"step_limit"}
    pd.testing.assert_series_equal(retried["N_cancer"], reference["N_cancer"], rtol=1e-4)


def test_a_point_that_fails_again_after_the_retry_says_so(tmp_path):
    table = run_sweep(Endpoint("pdac_gem", CONDITION, ("N_cancer",)), _points("k_lros", [1.0, 1e300]),
                      tmp_path, retry=True)
    assert table["retried"].tolist() == [False, True]  # the first point needed no retry
    assert table.loc[1, "status"] == "failed" and table.loc[1, "reason"] == "cvode_failure"


def test_tighter_tolerances_are_restored_even_when_the_block_raises():
    engine = engine_for(sim.build_model("pdac_gem"))
    integrator = engine.rr.getIntegrator()
    before = integrator.getValue("relative_tolerance")
    with pytest.raises(SimulationError):
        with tighter_tolerances(0.01):
            assert integrator.getValue("relative_tolerance") == pytest.approx(before * 0.01)
            raise SimulationError("boom", "cvode_failure")
    assert integrator.getValue("relative_tolerance") == before


def test_retry_wrapper_only_retries_simulation_errors():
    calls = []

    def flaky(inputs):
        calls.append(inputs["x"])
        if len(calls) == 1:
            raise SimulationError("first attempt", "cvode_failure")
        return {"y": 2 * inputs["x"]}

    assert RetryTighter(flaky)({"x": 1.0}) == {"y": 2.0, "retried": True, "first_failure": "cvode_failure"}

    def bad_input(inputs):
        raise KeyError("not a solver fault")

    with pytest.raises(KeyError):
        RetryTighter(bad_input)({"x": 1.0})


@pytest.mark.slow
def test_sweep_experiment_summary_counts_failures_by_reason(tmp_path):
    from sim.experiment import run_experiment
    from sim.spec import parse_spec

    spec = parse_spec({"experiment": {"name": "faults", "scenario": "pdac_gem", "analysis": "sweep"},
                       "sweep": {"condition": "CAF-EV", "readout": "species", "species": "PTEN", "design": "grid",
                                 "factors": [{"name": "k_escape", "low": -1.0, "high": 0.05, "points": 3}]},
                       "conditions": [{"name": "CAF-EV", "ev_mode": "coculture"}]})
    result = run_experiment(spec, tmp_path, workers=1, quiet=True)
    table = pd.read_parquet(tmp_path / "sweep.parquet")
    assert table["status"].tolist() == ["failed", "failed", "ok"]  # k_escape -1, -0.475: negative; 0.05: ok
    assert result.summary.loc[0, "failures_by_reason"] == "negative_state 2"
    assert json.loads((tmp_path / "metadata.json").read_text())["failures_by_reason"] == {"negative_state": 2}
