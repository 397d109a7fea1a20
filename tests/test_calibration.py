"""Calibration machinery on closed-form models (no ODE): likelihood, profile intervals, identifiability classes,
flat directions, prediction bands, coverage; and the input checks of the calibrate analysis.

The closed-form model (tests/known_answer_functions.loglogistic_objective) is a log-logistic curve whose IC50 fold
is the product of the estimated parameters, so the answers are known: a single parameter is the fold, two of them
are confounded (their product is the fold), an inert one is flat. The runs on cafev's ODE model are in
tests/test_calibration_model.py.
"""
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from known_answer_functions import loglogistic_objective
from sim.calibration import bands
from sim.calibration import estimate as est
from sim.calibration.directions import confounded_sets, flat_directions
from sim.calibration.problem import FreeParameter, information_criteria, read_data
from sim.errors import SpecError

DOSES = np.logspace(-2, 2, 8)
FOLD = FreeParameter("fold", 0.01, 100.0, "log", "fold")


def synthetic(fold: float, sd: float, seed: int, replicates: int = 3) -> pd.DataFrame:
    """Control (IC50 1 uM) and CAF-EV (IC50 ``fold`` uM), Hill 1, Gaussian noise of SD ``sd``."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, ic50 in (("control", 1.0), ("CAF-EV", fold)):
        for d in np.concatenate([[0.0], DOSES]):
            truth = 1.0 / (1.0 + (d / ic50))
            rows += [{"condition": name, "dose_uM": d, "response": truth + rng.normal(0, sd), "replicate": str(r)}
                     for r in range(replicates)]
    return pd.DataFrame(rows)


def calibrate(objective, n_starts: int = 3, seed: int = 0, level: float = 0.95):
    problem = est.pypesto_problem(objective)
    result = est.profiles(problem, est.multistart(problem, n_starts, seed), objective, level)
    return result, est.profile_table(result, objective, level)


def test_likelihood_closed_forms():
    """Gaussian NLL: n/2 log(2 pi sigma^2) + RSS/(2 sigma^2) with a known SD; n/2 (log(2 pi RSS/n) + 1) with the SD
    profiled out (its MLE sqrt(RSS/n))."""
    data = synthetic(3.0, 0.05, seed=1)
    n = len(data)
    x = [math.log10(3.0)]
    known = loglogistic_objective(data, [FOLD], 0.05)
    truth = known.predictions(x)
    rss = float(((data["response"] - truth) ** 2).sum())
    assert known(x) == pytest.approx(n / 2 * math.log(2 * math.pi * 0.05 ** 2) + rss / (2 * 0.05 ** 2), rel=1e-12)
    estimated = loglogistic_objective(data, [FOLD], "estimate")
    assert estimated(x) == pytest.approx(n / 2 * (math.log(2 * math.pi * rss / n) + 1), rel=1e-12)
    assert estimated.sigma(x) == pytest.approx(math.sqrt(rss / n), rel=1e-12)


def test_information_criteria():
    out = information_criteria(-10.0, 50, 2)
    assert out["aic"] == pytest.approx(2 * 2 - 20) and out["bic"] == pytest.approx(2 * math.log(50) - 20)


def test_profile_interval_of_a_parabola():
    """-2 log ratio = ((x - 1)/0.1)^2: the 95% interval is 1 +/- 0.1 sqrt(chi2_1(0.95)) = 1 +/- 0.196."""
    xs = np.linspace(0.0, 2.0, 2001)
    ratios = np.exp(-0.5 * ((xs - 1) / 0.1) ** 2)
    lo, hi, lo_open, hi_open = est.profile_interval(xs, ratios, 0.95)
    half = 0.1 * math.sqrt(chi2.ppf(0.95, 1))
    assert (lo, hi) == pytest.approx((1 - half, 1 + half), abs=1e-4)
    assert not lo_open and not hi_open
    lo, hi, lo_open, hi_open = est.profile_interval(xs[:1000], ratios[:1000], 0.95)  # cut before the top
    assert hi == pytest.approx(xs[999]) and hi_open and not lo_open


def test_threshold_is_chi2():
    assert est.threshold_ratio(0.95) == pytest.approx(math.exp(-3.841458820694124 / 2), rel=1e-12)


def test_a_bound_of_the_partner_bounds_the_profile():
    """fold = a * b with b at most 10: a cannot fall below 3/10 without b leaving its bounds, so a's profile is
    bounded below (near 0.3) and open above: 'upper_unbounded'."""
    a = FreeParameter("a", 0.01, 100.0, "log")
    b = FreeParameter("b", 0.01, 10.0, "log")
    objective = loglogistic_objective(synthetic(3.0, 0.03, seed=6), [a, b], "estimate")
    _, table = calibrate(objective)
    row = table.set_index("parameter").loc["a"]
    assert row["identifiability"] == "upper_unbounded"
    assert row["lower"] == pytest.approx(0.3, rel=0.15)


def test_single_parameter_is_recovered_with_an_interval():
    data = synthetic(4.0, 0.03, seed=3)
    objective = loglogistic_objective(data, [FOLD], "estimate")
    result, table = calibrate(objective)
    row = table.iloc[0]
    assert row["identifiability"] == "identifiable"
    assert row["lower"] < 4.0 < row["upper"]
    assert row["estimate"] == pytest.approx(4.0, rel=0.1)
    assert 1.02 < row["upper"] / row["lower"] < 1.5  # 3 replicates x 9 doses at SD 0.03 pin the fold to a few %


def test_profile_interval_matches_the_wald_interval_of_a_nearly_linear_problem():
    """With a known SD and a small noise the profile is nearly quadratic, so its interval agrees with the Wald
    interval from the Fisher information (flat_directions' single direction) within 10%."""
    data = synthetic(2.0, 0.02, seed=4)
    objective = loglogistic_objective(data, [FOLD], 0.02)
    result, table = calibrate(objective)
    best = result.optimize_result.list[0].x
    direction = flat_directions(objective, best, 0.02).iloc[0]
    profile_half = (math.log10(table["upper"][0]) - math.log10(table["lower"][0])) / 2
    assert direction["halfwidth"] == pytest.approx(profile_half, rel=0.1)


@pytest.mark.slow
@pytest.mark.parametrize("sd", [0.05, 0.005])
def test_coverage_of_the_profile_interval(sd):
    """The 95% profile-likelihood interval covers the true fold in 88-99 of 100 seeded replicate data sets (for a
    true 95% interval P(<= 88) = 1.1%, P(100) = 0.6%; so an interval that is too narrow or one as wide as the bounds
    both fail), at a noise where steps are coarse and at one where the interval is 0.01 decade wide."""
    covered = 0
    for seed in range(100):
        objective = loglogistic_objective(synthetic(3.0, sd, seed=100 + seed), [FOLD], "estimate")
        _, table = calibrate(objective, n_starts=1, seed=seed)
        assert table["upper"][0] / table["lower"][0] < (1.5 if sd == 0.05 else 1.05)
        covered += bool(table["lower"][0] <= 3.0 <= table["upper"][0])
    assert 88 <= covered <= 99


def test_an_inert_parameter_is_flat():
    inert = FreeParameter("inert", 0.1, 10.0, "log")
    objective = loglogistic_objective(synthetic(3.0, 0.05, seed=5), [FOLD, inert], "estimate", inert=("inert",))
    _, table = calibrate(objective)
    classes = dict(zip(table["parameter"], table["identifiability"]))
    assert classes == {"fold": "identifiable", "inert": "flat"}


def test_a_confounded_pair_is_reported_with_its_product():
    """fold = a * b: each profile is flat (bounds chosen so that the other factor compensates anywhere: a in 0.03-30
    needs b = 3/a in 0.1-100, its bounds) and the Fisher information names the flat direction a/b and the
    determined product a x b, whose estimate and Wald interval hold the true fold 3."""
    a = FreeParameter("a", 0.03, 30.0, "log")
    b = FreeParameter("b", 0.1, 100.0, "log")
    objective = loglogistic_objective(synthetic(3.0, 0.03, seed=6), [a, b], "estimate")
    result, table = calibrate(objective)
    assert set(table["identifiability"]) == {"flat"}
    best = result.optimize_result.list[0].x
    directions = flat_directions(objective, best, objective.sigma(best))
    assert confounded_sets(directions) == [["a", "b"]]
    determined = directions[directions["kind"] == "determined"].iloc[0]
    assert determined["combination"] == "a x b"
    assert determined["lower"] < 3.0 < determined["upper"]
    assert determined["estimate"] == pytest.approx(3.0, rel=0.1)


def test_bands_contain_the_truth_and_the_best_fit():
    data = synthetic(3.0, 0.05, seed=7)
    objective = loglogistic_objective(data, [FOLD], "estimate")
    result, _ = calibrate(objective)
    sets = bands.admissible_sets(result, 0.95)
    curves, ic50s = bands.band_curves(objective, sets, DOSES, "control")
    band, folds = bands.band_table(curves), bands.fold_table(ic50s)
    ev = band[band["condition"] == "CAF-EV"]
    truth = 1.0 / (1.0 + ev["dose_uM"] / 3.0)
    assert (ev["viability_low"] <= truth + 1e-9).all() and (truth <= ev["viability_high"] + 1e-9).all()
    assert (band["viability_low"] <= band["viability"]).all() and (band["viability"] <= band["viability_high"]).all()
    row = folds.set_index("condition").loc["CAF-EV"]
    assert row["ic50_fold_low"] < 3.0 < row["ic50_fold_high"]


def test_crossing_dose_is_exact_for_a_line_in_log_dose():
    doses = np.array([0.1, 1.0, 10.0])
    assert bands.crossing_dose(doses, np.array([0.9, 0.6, 0.2])) == pytest.approx(10 ** 0.25)
    assert math.isnan(bands.crossing_dose(doses, np.array([0.9, 0.8, 0.7])))


@pytest.mark.parametrize("text, message", [
    ("condition,dose,response\ncontrol,0,1\nCAF_EV,1,0.5\n", r":3: condition 'CAF_EV' is not a condition of the "
                                                             r"experiment; did you mean 'CAF-EV'\?"),
    ("condition,dose,response\ncontrol,1,0.5\n", r"no data for condition\(s\) CAF-EV"),
    ("condition,dose,response\ncontrol,1,0.5\nCAF-EV,0,1\n", r"condition 'CAF-EV' has no row with a dose > 0"),
    ("condition,dose,viability\ncontrol,1,0.5\n", r":1: missing column 'response'"),
    ("condition,dose,response\ncontrol,1,half\n", r":2: 'response' must be a number. Got 'half'"),
    ("", r"the file is empty"),
    ("condition,dose,response\n", r"no data rows"),
])
def test_bad_data_files_name_the_line(tmp_path, text, message):
    path = tmp_path / "data.csv"
    path.write_text(text)
    with pytest.raises(SpecError, match=message):
        read_data(path, ["control", "CAF-EV"])
