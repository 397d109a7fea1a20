"""Faults during runs are recorded, not fatal (issue #7): CVODE failures, step-limit hits, negative states; the
sweep goes on, the summary counts failures by reason, and a retry with tighter tolerances is recorded."""
import json
from dataclasses import dataclass, field
import math

import pandas as pd
import pytest

import sim
from sim.engines import Tolerances, engine_for
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
    points = _points("ev_uptake_fraction_24h", [0.05, 0.15])
    reference = run_sweep(Endpoint("pdac_gem", CONDITION, ("N_cancer",)), points, tmp_path / "ref")
    starved = Endpoint("pdac_gem", CONDITION, ("N_cancer",), tolerances=Tolerances(max_steps=25))  # too few for 72 h
    plain = run_sweep(starved, points, tmp_path / "plain")
    retried = run_sweep(starved, points, tmp_path / "retry", retry=True)  # 100x the step limit on retry
    assert set(plain["reason"]) == {"step_limit"} and (plain["status"] == "failed").all()
    assert (retried["status"] == "ok").all() and retried["retried"].all()
    assert set(retried["first_failure"]) == {"step_limit"}
    pd.testing.assert_series_equal(retried["N_cancer"], reference["N_cancer"], rtol=1e-4)


def test_a_point_that_fails_again_after_the_retry_says_so(tmp_path):
    table = run_sweep(Endpoint("pdac_gem", CONDITION, ("N_cancer",)), _points("k_lros", [1.0, 1e300]),
                      tmp_path, retry=True)
    assert table["retried"].tolist() == [False, True]  # the first point needed no retry
    assert table.loc[1, "status"] == "failed" and table.loc[1, "reason"] == "cvode_failure"


def test_a_retry_tightens_a_copy_and_leaves_the_engine_of_other_points_alone():
    model = sim.build_model("pdac_gem")
    shared = engine_for(model)
    before = shared.rr.getIntegrator().getValue("relative_tolerance")
    evaluate = Endpoint("pdac_gem", CONDITION, ("N_cancer",))
    tighter = RetryTighter(evaluate).tighter()
    assert tighter is not evaluate and tighter.tolerances == Tolerances().scaled(0.01)
    assert evaluate.tolerances == Tolerances()  # the original evaluator is unchanged
    tighter({"k_escape": 0.05})
    assert shared.rr.getIntegrator().getValue("relative_tolerance") == before  # the shared engine untouched
    assert engine_for(model, tolerances=Tolerances().scaled(0.01)).rr.getIntegrator().getValue(
        "relative_tolerance") == pytest.approx(before * 0.01)


@dataclass
class Flaky:
    """Fails with a solver error on its first call, then returns 2x; records the tolerances of each call."""

    tolerances: Tolerances = Tolerances()
    calls: list = field(default_factory=list)

    def __call__(self, inputs):
        self.calls.append(self.tolerances)
        if len(self.calls) == 1:
            raise SimulationError("first attempt", "cvode_failure")
        return {"y": 2 * inputs["x"]}


def test_retry_wrapper_only_retries_simulation_errors_and_with_tighter_tolerances():
    flaky = Flaky()
    assert RetryTighter(flaky)({"x": 1.0}) == {"y": 2.0, "retried": True, "first_failure": "cvode_failure"}
    assert flaky.calls == [Tolerances(), Tolerances().scaled(0.01)]  # the copy shares the list of calls

    def bad_input(inputs):
        raise KeyError("not a solver fault")

    with pytest.raises(KeyError):
        RetryTighter(bad_input)({"x": 1.0})


def test_an_evaluator_without_tolerances_is_not_retried():
    calls = []

    def plain(inputs):
        calls.append(1)
        raise SimulationError("fails", "cvode_failure")

    with pytest.raises(SimulationError) as err:
        RetryTighter(plain)({"x": 1.0})
    assert calls == [1] and err.value.retried is False


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
