"""Calibration on cafev's ODE model (ovarian_ptx_pgp: P-gp protein carried by CAF microvesicles): recovery of a
known copies-per-EV from data cafev made, a parameter without effect reported flat, the delivery chain reported
confounded, the shipped implied-enrichment experiment, and the spec's checks before any work."""
import json
import math

import numpy as np
import pandas as pd
import pytest

from sim.build import build_model
from sim.calibration import estimate as est
from sim.calibration.directions import confounded_sets, flat_directions
from sim.calibration.objective import ProtocolObjective
from sim.calibration.problem import free_parameters
from sim.conditions import Condition
from sim.errors import InvalidValueError, SpecError, UnknownNameError
from sim.experiment import run_experiment
from sim.spec import parse_spec

CONDITIONS = [Condition(name="control"), Condition(name="CAF-EV", ev_mode="addition", ev_dose_ug=50)]
DOSES = np.logspace(-4, 0, 6)  # PTX reference IC50 0.002 uM; 5-fold shifted curves cross inside
TRUTH = 129.0  # copies per EV: the preset's enriched regime (about a 5-fold shift)


@pytest.fixture(scope="module")
def model():
    return build_model("ovarian_ptx_pgp")


def data_from_model(model, truth: float, sd: float, seed: int) -> pd.DataFrame:
    """Triplicates at DOSES (and dose 0) of cafev's own viability at ABCB1_per_EV = ``truth``, plus noise."""
    rows = [{"condition": c.name, "dose_uM": d, "response": 0.0, "replicate": str(r)}
            for c in CONDITIONS for d in np.concatenate([[0.0], DOSES]) for r in range(3)]
    data = pd.DataFrame(rows)
    maker = ProtocolObjective(model, CONDITIONS, data, free_parameters(
        model, [{"name": "ABCB1_per_EV", "low": 1, "high": 1e4}]), 72, 48, "estimate")
    clean = maker.predictions([math.log10(truth)])
    data["response"] = clean + np.random.default_rng(seed).normal(0, sd, len(clean))
    return data


@pytest.mark.slow
def test_recovers_copies_per_ev_from_data_cafev_made(model):
    data = data_from_model(model, TRUTH, 0.05, seed=11)
    params = free_parameters(model, [{"name": "ABCB1_per_EV", "low": 1, "high": 1e4, "scale": "log"}])
    objective = ProtocolObjective(model, CONDITIONS, data, params, 72, 48, "estimate")
    problem = est.pypesto_problem(objective)
    result = est.profiles(problem, est.multistart(problem, 2, 0), objective, 0.95)
    row = est.profile_table(result, objective, 0.95).iloc[0]
    assert row["identifiability"] == "identifiable"
    assert row["lower"] < TRUTH < row["upper"]
    assert row["upper"] / row["lower"] < 3  # 36 points at SD 0.05 pin the copies to within a factor of 3
    assert objective.sigma(result.optimize_result.list[0].x) == pytest.approx(0.05, rel=0.35)


@pytest.mark.slow
def test_a_parameter_without_effect_on_the_data_is_flat(model):
    """hypoxia_secretion_gain multiplies CAF secretion under hypoxia; EVs added to normoxic cells without CAFs do
    not feel it, so its profile is flat between its bounds."""
    data = data_from_model(model, TRUTH, 0.05, seed=12)
    params = free_parameters(model, [{"name": "hypoxia_secretion_gain", "low": 0.1, "high": 10, "scale": "log"}])
    objective = ProtocolObjective(model, CONDITIONS, data, params, 72, 48, "estimate")
    problem = est.pypesto_problem(objective)
    result = est.profiles(problem, est.multistart(problem, 1, 0), objective, 0.95)
    assert est.profile_table(result, objective, 0.95)["identifiability"].tolist() == ["flat"]


@pytest.mark.slow
def test_the_delivery_chain_is_reported_confounded(model):
    """Copies per EV and particles per ug enter the delivered copies as a product (DESIGN 2.8): at the truth the
    Fisher information has a flat direction holding both, and determines a power product of the two (not exactly
    their product: the particle count also sets how far per-cell uptake saturates)."""
    data = data_from_model(model, TRUTH, 0.05, seed=13)
    params = free_parameters(model, [{"name": "ABCB1_per_EV", "low": 1, "high": 1e4},
                                     {"name": "ev_particles_per_ug", "low": 1e7, "high": 1e11}])
    objective = ProtocolObjective(model, CONDITIONS, data, params, 72, 48, "estimate")
    x = np.array([math.log10(TRUTH), 9.0])
    directions = flat_directions(objective, x, 0.05)
    assert confounded_sets(directions) == [["ABCB1_per_EV", "ev_particles_per_ug"]]
    determined = directions[directions["kind"] == "determined"].iloc[0]
    exponent = float(determined["combination"].split("^")[1].split(" ")[0])  # "ABCB1_per_EV^0.83 x ev_part..."
    assert 0.5 < exponent < 1.0 and determined["combination"].endswith(" x ev_particles_per_ug")
    assert determined["estimate"] == pytest.approx(TRUTH ** exponent * 1e9, rel=0.05)  # exponent shown to 0.01
    assert determined["lower"] < determined["estimate"] < determined["upper"]
    assert directions.loc[directions["kind"] == "flat", "estimate"].isna().all()


def spec_dict(data_path, **calibrate) -> dict:
    table = {"data": str(data_path), "n_starts": 1, "pretreatment_h": 48,
             "parameters": [{"name": "ABCB1_per_EV", "low": 1, "high": 1e4}], **calibrate}
    return {"experiment": {"name": "cal", "scenario": "ovarian_ptx_pgp", "analysis": "calibrate", "seed": 0},
            "calibrate": table,
            "conditions": [{"name": "control"}, {"name": "CAF-EV", "ev_mode": "addition", "ev_dose_ug": 50}]}


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("condition,dose,response\ncontrol,0,1\ncontrol,0.01,0.2\nCAF-EV,0,1\nCAF-EV,0.01,0.6\n")
    return path


@pytest.mark.parametrize("change, error, message", [
    ({"parameters": [{"name": "ABCB1_per_EVs", "low": 1, "high": 10}]}, UnknownNameError,
     r"calibrate.parameters\[0\].name.*Did you mean 'ABCB1_per_EV'"),
    ({"parameters": [{"name": "ABCB1_per_EV", "low": 1, "high": 10, "unit": "copies"}]}, SpecError,
     r"'ABCB1_per_EV' is in 'copies/EV' \(models/tables/parameters.tsv\). Got 'copies'"),
    ({"parameters": [{"name": "ev_added_ug", "low": 1, "high": 10}]}, SpecError, r"is set by each condition"),
    ({"parameters": [{"name": "ABCB1_per_EV", "low": 0, "high": 10}]}, SpecError, r"log-scale parameter needs"),
])
def test_bad_parameters_fail_before_any_simulation(tmp_path, data_file, change, error, message):
    spec = parse_spec(spec_dict(data_file, **change), "cal.toml")
    with pytest.raises(error, match=message):
        run_experiment(spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("change, message", [
    ({"data": None}, r"calibrate.data is required"),
    ({"parameters": []}, r"calibrate.parameters is required"),
    ({"noise": -1.0}, r"calibrate.noise must be 'estimate' or an SD > 0"),
    ({"reference": "contrl"}, r"calibrate.reference names condition 'contrl'.*Did you mean 'control'"),
    ({"starts": 3}, r"calibrate.starts: is not a known key \(found 3\); did you mean 'n_starts'\?"),
    ({"parameters": [{"name": "ABCB1_per_EV", "lower": 1, "high": 10}]},
     r"calibrate.parameters\[0\].lower: is not a known key \(found 1\); did you mean 'low'\?"),
])
def test_bad_calibrate_tables_are_spec_errors(data_file, change, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(spec_dict(data_file, **change), "cal.toml")


def test_workers_are_taken_resume_is_not(data_file, tmp_path):
    spec = parse_spec(spec_dict(data_file), "cal.toml")
    with pytest.raises(InvalidValueError, match="resume apply to analyses"):
        run_experiment(spec, tmp_path / "out", resume=True)


@pytest.mark.slow
def test_shipped_implied_enrichment_experiment(tmp_path):
    """The shipped calibration (quick: 3 starts) writes every table and figure; the copies per EV that Zhang 2014's
    5-fold implies lie inside a finite interval and are reported against Chevillet 2014's average; with its 48-h
    pretreatment the PEtab export says why it does not map."""
    out = tmp_path / "cal"
    result = run_experiment("calibrate_ovarian_ptx_pgp", out, quick=True, quiet=True)
    table = pd.read_csv(out / "calibration.csv")
    assert list(table.columns[:6]) == ["parameter", "unit", "estimate", "lower", "upper", "identifiability"]
    row = table.iloc[0]
    assert row["parameter"] == "ABCB1_per_EV" and row["identifiability"] == "identifiable"
    assert row["lower"] < row["estimate"] < row["upper"]
    assert math.isnan(row["estimate_x_chevillet"])  # P-gp is a protein: no Chevillet multiple (miRNA copies)
    for name in ("starts.csv", "profiles.csv", "directions.csv", "fit.csv", "bands.csv", "folds.csv",
                 "waterfall.png", "profiles.png", "fit.png", "ic50_fold.png", "petab/README.txt", "metadata.json"):
        assert (out / name).is_file(), name
    meta = json.loads((out / "metadata.json").read_text())["calibration"]
    assert meta["n_starts"] == 3 and not meta["petab"]["mapped"] and "pretreatment" in meta["petab"]["reason"]
    assert meta["aic"] == pytest.approx(2 * 2 + 2 * meta["nll"])  # ABCB1_per_EV and the noise SD
    folds = pd.read_csv(out / "folds.csv").set_index("condition")
    mv = folds.loc["P-gp MV"]  # the data's 5-fold shift: the whole band lies above 1 and has a width
    assert 1 < mv["ic50_fold_low"] < mv["ic50_fold_high"] and mv["sets_no_ic50"] == 0
    footer = result.summary.attrs["footer"]
    assert "protein cargo: no published copies-per-EV range" in footer and "Chevillet" not in footer
    assert "data: implied by" in footer  # the spec's data_note: these data are synthetic


@pytest.mark.slow
def test_shipped_confounded_experiment_reports_its_flat_direction(tmp_path, capsys):
    """`cafev calibrate calibrate_delivery_confounded --quick`: neither link of the delivery chain is identifiable,
    the run names them confounded and prints the combination the data determine."""
    from sim.cli import main

    assert main(["calibrate", "calibrate_delivery_confounded", "--quick", "--quiet", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "confounded: ABCB1_per_EV, ev_particles_per_ug" in out
    assert "determined: ABCB1_per_EV^" in out and " x ev_particles_per_ug = " in out
    table = pd.read_csv(tmp_path / "calibration.csv").set_index("parameter")
    assert table.loc["ABCB1_per_EV", "identifiability"] != "identifiable"
    assert table.loc["ev_particles_per_ug", "identifiability"] != "identifiable"
    directions = pd.read_csv(tmp_path / "directions.csv")
    assert (directions["kind"] == "flat").sum() == 1


def test_calibrate_command_refuses_other_analyses(capsys):
    from sim.cli import main

    assert main(["calibrate", "pdac_gem_timecourse"]) == 2
    assert "'cafev calibrate' runs experiments with analysis = 'calibrate'" in capsys.readouterr().err
