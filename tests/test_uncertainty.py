"""The [uncertainty] option of a dose-response (issue #14 item 5; DESIGN.md 2.8): the DESIGN 2.7 ranges propagated
through the sweep runner into a band around each condition's curve and IC50 fold.

Known answers: a parameter that cannot reach a condition (CAF secretion, for EVs added to cells without CAFs; any
EV parameter, for the no-EV control) gives that condition a band of zero width at its point value; a parameter
with a monotone effect and its default inside the range gives a band that holds the point value and widens as the
range widens about the same centre; the band is the same on 1 and 2 worker processes, and a killed run resumes to
it. Bad input fails before any point runs, naming the key.
"""
import math

import numpy as np
import pandas as pd
import pytest

from sim.analyses.uncertainty import MIN_SAMPLES, quantiles
from sim.curves import dose_grid
from sim.errors import InvalidValueError, SpecError
from sim.experiment import run_experiment
from sim.spec import parse_spec
from sim.sweep.design import Factor, make_design
from sim.sweep.evaluate import CurvesAtPoint
from sim.sweep.runner import run_sweep

CONTROL = {"name": "control"}
ADDED = {"name": "CAF-EV", "ev_mode": "addition", "ev_dose_ug": 50.0}
COCULTURE = {"name": "co-culture 3:1", "ev_mode": "coculture", "caf_ratio": 3.0}
DOSES = [0.005, 0.02, 0.05, 0.15, 0.5, 2.0]  # uM gemcitabine around the pdac_gem IC50 (0.047 uM), 4PL needs >= 4


def spec(uncertainty: dict | None = None, conditions=(CONTROL, ADDED, COCULTURE), **dose_response):
    data = {"experiment": {"name": "unc", "scenario": "pdac_gem", "analysis": "dose_response", "seed": 3},
            "dose_response": {"doses": DOSES, **dose_response}, "conditions": [dict(c) for c in conditions]}
    if uncertainty is not None:
        data["uncertainty"] = uncertainty
    return parse_spec(data, "unc.toml")


def test_quantiles_of_a_known_sample():
    # numpy's linear quantiles of 0..100: the 5% and 95% points are 5 and 95; NaNs (failed points) are left out
    values = list(range(101)) + [math.nan]
    assert quantiles(values, 0.90) == pytest.approx((5.0, 50.0, 95.0))
    assert all(math.isnan(v) for v in quantiles([math.nan], 0.9))


@pytest.mark.parametrize("table, message", [
    ({"parameters": ["k_escpe"]}, r"uncertainty.parameters\[0\]: 'k_escpe' is not a parameter with a range; .*"
                                  r"Did you mean 'k_escape'\?"),
    ({"parameters": ["k_pten"]}, r"uncertainty.parameters\[0\]: parameter 'k_pten' has no range in "
                                 r"models/tables/parameter_ranges.tsv"),
    ({"samples": MIN_SAMPLES - 1}, r"uncertainty.samples: Input should be greater than or equal to 10"),
    ({"level": 1.0}, r"uncertainty.level: Input should be less than 1"),
    ({"parameters": ["k_escape", "k_escape"]}, r"uncertainty.parameters: names must be unique"),
    ({"sample": 64}, r"uncertainty.sample: is not a known key"),
])
def test_bad_uncertainty_table_fails_while_the_spec_is_read(table, message):
    with pytest.raises(SpecError, match=message):
        spec(table)


def test_a_ranged_name_the_scenario_lacks_fails_before_any_point(tmp_path):
    # PTN_protein_half_life matches the {gene}_protein_half_life row, but pdac_gem has no gene PTN
    bad = spec({"parameters": ["PTN_protein_half_life"], "samples": 10})
    with pytest.raises(SpecError, match=r"uncertainty.parameters\[0\]: scenario 'pdac_gem' has no parameter "
                                        r"'PTN_protein_half_life'.* Did you mean 'PTEN_protein_half_life'\?"):
        run_experiment(bad, tmp_path, quiet=True)
    assert not (tmp_path / "uncertainty" / "parts").exists()  # no point ran


def test_workers_need_a_parallel_analysis_or_an_uncertainty_table(tmp_path):
    with pytest.raises(InvalidValueError, match=r"workers apply to analyses that run points in worker processes "
                                                r"\(.*dose_response with \[uncertainty\].*\); this experiment's "
                                                r"analysis is 'dose_response' without \[uncertainty\]"):
        run_experiment(spec(), tmp_path, workers=2)


def _band(factor: Factor, condition: dict, n: int = 10, seed: int = 0) -> tuple[np.ndarray, dict]:
    """IC50 folds (vs control) of ``condition`` over an LHS of one factor, and the point value at the defaults."""
    evaluate = CurvesAtPoint("pdac_gem", (CONTROL, condition), tuple(DOSES))
    table = run_sweep(evaluate, make_design([factor], "lhs", n, seed), _band.folder / f"{factor}{condition}{n}",
                      progress=False)
    return table["ic50_fold|1"].to_numpy(float), evaluate({})


def test_a_parameter_that_cannot_reach_a_condition_gives_no_band(tmp_path):
    _band.folder = tmp_path
    # CAF secretion by ASM reaches co-cultured cells only: EVs added to cells without CAFs do not see it
    folds, point = _band(Factor("sec_asm", 1, 50, "log"), ADDED)
    assert np.all(folds == point["ic50_fold|1"])  # exactly: the same runs, bit for bit
    folds, point = _band(Factor("sec_asm", 1, 50, "log"), COCULTURE)
    assert np.ptp(folds) > 1e-3  # ... and moves the co-culture's shift


def test_band_holds_the_point_value_and_widens_with_the_range(tmp_path):
    _band.folder = tmp_path
    # the repression ceiling (2.7: 1.2-2 fold, default 1.5) raises the EV shift monotonically; ranges about one
    # centre (1.6) on the same unit-cube sample give nested bands
    widths = []
    for half in (0.05, 0.2, 0.4):
        folds, point = _band(Factor("mirna_max_repression", 1.6 - half, 1.6 + half), ADDED, n=12)
        lo, _, hi = quantiles(folds, 0.9)
        widths.append(hi - lo)
    assert widths[0] < widths[1] < widths[2]
    folds, point = _band(Factor("mirna_max_repression", 1.2, 2.0), ADDED, n=12)
    lo, _, hi = quantiles(folds, 0.9)
    assert lo < point["ic50_fold|1"] < hi and hi - lo > 0.1


@pytest.mark.slow
def test_uncertainty_experiment_writes_the_band_reproducibly_on_any_workers(tmp_path):
    settings = {"samples": 10, "parameters": ["sec_asm", "mirna_max_repression", "k_escape"], "level": 0.9}
    one = run_experiment(spec(settings), tmp_path / "w1", workers=1, quiet=True)
    two = run_experiment(spec(settings), tmp_path / "w2", workers=2, quiet=True)
    for name in ("uncertainty.csv", "uncertainty_bands.csv", "shifts.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "w1" / name), pd.read_csv(tmp_path / "w2" / name))
    shifts = pd.read_csv(tmp_path / "w1" / "shifts.csv").set_index("condition")
    columns = list(shifts.columns)
    at = columns.index("ic50_fold")
    assert columns[at:at + 5] == ["ic50_fold", "ic50_fold_low", "ic50_fold_high", "ic50_fold_points",
                                  "ic50_fold_fit_se_low"]
    assert "ic50_fold_lower" not in columns and "ic50_fold_upper" not in columns  # the fit SE says it is one
    assert shifts.loc["control", ["ic50_fold_low", "ic50_fold_high"]].tolist() == [1.0, 1.0]  # no EV reaches it
    assert shifts.loc["CAF-EV", "ic50_fold_low"] < shifts.loc["CAF-EV", "ic50_fold"] < \
        shifts.loc["CAF-EV", "ic50_fold_high"]
    samples = pd.read_csv(tmp_path / "w1" / "uncertainty.csv")
    assert len(samples) == 10 * 3 and set(samples["condition"]) == {"control", "CAF-EV", "co-culture 3:1"}
    lo, _, hi = quantiles(samples.loc[samples["condition"] == "CAF-EV", "ic50_fold"], 0.9)
    assert (shifts.loc["CAF-EV", "ic50_fold_low"], shifts.loc["CAF-EV", "ic50_fold_high"]) == pytest.approx((lo, hi))
    bands = pd.read_csv(tmp_path / "w1" / "uncertainty_bands.csv")
    assert len(bands) == 3 * len(DOSES)
    assert (bands["viability_low"] <= bands["viability_high"]).all()
    import json

    meta = json.loads((tmp_path / "w1" / "metadata.json").read_text())["uncertainty"]
    assert meta["samples"] == 10 and meta["level"] == 0.9 and meta["seed"] == 3
    assert meta["ranges"]["k_escape"]["low"] == pytest.approx(0.00118) and meta["ranges"]["k_escape"]["scale"] == "log"
    assert (tmp_path / "w1" / "uncertainty.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert one.summary["ic50_fold_low"].notna().all()


@pytest.mark.slow
def test_the_held_delivery_regime_and_resume(tmp_path):
    # a delivery regime sets the copies per EV and holds them: sampling only copies per EV leaves that condition's
    # band at its point value, while the condition without a regime moves
    published = {**ADDED, "name": "CAF-EV (published)", "delivery": "published"}
    settings = {"samples": 10, "parameters": ["miR_3173_5p_per_EV", "miR_106b_per_EV", "miR_21_per_EV"]}
    run_experiment(spec(settings, (CONTROL, published, ADDED)), tmp_path, quiet=True)
    shifts = pd.read_csv(tmp_path / "shifts.csv").set_index("condition")
    row = shifts.loc["CAF-EV (published)"]
    assert row["ic50_fold_low"] == row["ic50_fold_high"] == pytest.approx(row["ic50_fold"], rel=1e-12)
    assert shifts.loc["CAF-EV", "ic50_fold_high"] - shifts.loc["CAF-EV", "ic50_fold_low"] > 0.01
    first = pd.read_csv(tmp_path / "uncertainty.csv")
    with pytest.raises(InvalidValueError, match="already holds 10 finished points; resume"):
        run_experiment(spec(settings, (CONTROL, published, ADDED)), tmp_path, quiet=True)
    parts = sorted((tmp_path / "uncertainty" / "parts").glob("chunk_*.parquet"))
    parts[-1].unlink()  # as if killed before the last chunk was written
    run_experiment(spec(settings, (CONTROL, published, ADDED)), tmp_path, resume=True, quiet=True)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "uncertainty.csv"), first)
