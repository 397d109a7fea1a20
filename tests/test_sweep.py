"""Sweep core (issue #5): designs, SALib indices through the sweep path, parallel runs, resume."""
import numpy as np
import pandas as pd
import pytest

import sim
from sim.curves import fit_curves, run_dose_response
from sim.errors import InvalidValueError, UnknownNameError
from sim.sweep.design import Factor, analyse, make_design
from known_answer_functions import ishigami
from sim.sweep.evaluate import IC50Shift
from sim.sweep.runner import run_sweep

PI = np.pi
ISHIGAMI = [Factor("x1", -PI, PI), Factor("x2", -PI, PI), Factor("x3", -PI, PI)]


def test_ishigami_sobol_indices_through_the_sweep_path(tmp_path):
    # Known answer: analytic Sobol' indices of Ishigami (a = 7, b = 0.1) as in SALib's regression tests:
    # S1 = (0.3139, 0.4424, 0), ST = (0.5576, 0.4424, 0.2437) (Saltelli et al. 2010; SALib tests/test_regression)
    points = make_design(ISHIGAMI, "saltelli", 1024, seed=101)
    table = run_sweep(ishigami, points, tmp_path, workers=2, chunk_size=1024)
    assert (table["status"] == "ok").all() and table["point"].tolist() == list(range(len(points)))
    idx = analyse(ISHIGAMI, "saltelli", points, table["y"].to_numpy(), seed=101).set_index("factor")
    assert idx["S1"].to_numpy() == pytest.approx([0.3139, 0.4424, 0.0], abs=0.03)
    assert idx["ST"].to_numpy() == pytest.approx([0.5576, 0.4424, 0.2437], abs=0.03)
    assert (idx["ST_conf"] > 0).all()


def test_designs_are_seeded_and_in_range():
    f = [Factor("k", 0.1, 10, "log"), Factor("c", 0, 2, points=3)]
    for design in ("lhs", "sobol", "morris", "saltelli"):
        a, b = make_design(f, design, 16, seed=3), make_design(f, design, 16, seed=3)
        assert a.equals(b), design
        assert a["k"].between(0.1, 10).all() and a["c"].between(0, 2).all()
    grid = make_design(f, "grid")
    assert len(grid) == 5 * 3 and sorted(set(grid["k"])) == pytest.approx([0.1, 10 ** -0.5, 1, 10 ** 0.5, 10])
    with pytest.raises(InvalidValueError, match="a log range must be > 0"):
        Factor("k", 0, 1, "log")
    with pytest.raises(InvalidValueError, match="low < high"):
        Factor("k", 2, 1)
    with pytest.raises(InvalidValueError, match="Unknown design 'sobl'"):
        make_design(f, "sobl")


def _flaky(inputs):
    if inputs["x"] == 2:
        raise ValueError("CVODE-like failure")
    return {"y": inputs["x"] ** 2}


def test_a_failed_point_is_recorded_and_resume_repeats_nothing(tmp_path):
    points = make_design([Factor("x", 0, 5, points=6)], "grid")
    first = run_sweep(_flaky, points.iloc[:3], tmp_path, chunk_size=2)  # an interrupted run: half the points
    failed = first[first["status"] == "failed"]
    assert failed["x"].tolist() == [2.0] and "CVODE-like failure" in failed["message"].iloc[0]
    with pytest.raises(InvalidValueError, match="resume"):
        run_sweep(_flaky, points, tmp_path)
    resumed = run_sweep(_flaky, points, tmp_path, chunk_size=2, resume=True)
    clean = run_sweep(_flaky, points, tmp_path / "clean", chunk_size=2)
    pd.testing.assert_frame_equal(resumed, clean)
    assert resumed["point"].tolist() == list(range(6))


@pytest.mark.slow
def test_grid_sweep_equals_point_by_point_dose_responses(tmp_path):
    evaluate = IC50Shift("pdac_gem", {"name": "CAF-EV", "ev_mode": "coculture"}, {"name": "control"}, n_doses=6)
    evaluate.check(["caf_ratio", "GW4869"])
    with pytest.raises(UnknownNameError, match="Did you mean 'caf_ratio'"):
        evaluate.check(["caf_ration"])
    points = make_design([Factor("caf_ratio", 1, 3, points=2), Factor("GW4869", 0, 20, points=2)], "grid")
    table = run_sweep(evaluate, points, tmp_path, workers=2, chunk_size=2)
    model = sim.build_model("pdac_gem")
    for _, row in table.iterrows():
        conds = [sim.Condition(name="control"),
                 sim.Condition(name="CAF-EV", ev_mode="coculture", caf_ratio=row["caf_ratio"],
                               interventions={"GW4869": row["GW4869"]})]
        fits = fit_curves(run_dose_response(model, conds, n_doses=6)).set_index("condition")
        assert row["ic50_fold"] == pytest.approx(fits.loc["CAF-EV", "ic50_abs"] / fits.loc["control", "ic50_abs"],
                                                 rel=1e-9)
        assert row["gr50_fold"] == pytest.approx(fits.loc["CAF-EV", "gr50"] / fits.loc["control", "gr50"], rel=1e-9)
        assert row["auc"] == pytest.approx(fits.loc["CAF-EV", "auc"], rel=1e-12)
        assert row["auc_reference"] == pytest.approx(fits.loc["control", "auc"], rel=1e-12)
    shifts = table.set_index(["caf_ratio", "GW4869"])["ic50_fold"]
    assert shifts[(3.0, 0.0)] > shifts[(1.0, 0.0)] > shifts[(1.0, 20.0)] > 1.0  # more CAFs up, GW4869 down


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["sweep_ev_dose_gw4869.toml", "sweep_copies_per_ev.toml", "sweep_sobol_pdac.toml"])
def test_every_sweep_experiment_runs_quick(spec, tmp_path):
    from pathlib import Path

    from sim.cli import main

    path = Path(__file__).resolve().parents[1] / "experiments" / spec
    assert main(["run", str(path), "--quick", "--quiet", "--workers", "2", "-o", str(tmp_path)]) == 0
    table = pd.read_parquet(tmp_path / "sweep.parquet")
    readout = "PTEN" if "copies" in spec else "ic50_fold"
    assert (table["status"] == "ok").all() and {"point", readout, "status", "message", "seed"} <= set(table)
    assert pd.read_csv(tmp_path / "sweep.csv")["point"].tolist() == table["point"].tolist()
    assert (tmp_path / "sweep.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "metadata.json").exists()
    if "sobol" in spec:
        assert len(pd.read_csv(tmp_path / "indices.csv")) == 10
    if "copies" in spec:  # each point carries its delivery budget (sim.budget), and miR-20a is delivered at each
        from sim.budget import budget_columns

        assert set(budget_columns(sim.build_model("nsclc_ddp"))) <= set(table.columns)
        assert (table["delivered_miR_20a"] > 0).all()
    # the same command again refuses to overwrite, and --resume finishes instantly with the same table
    assert main(["run", str(path), "--quick", "--quiet", "-o", str(tmp_path)]) == 2
    assert main(["run", str(path), "--quick", "--quiet", "--resume", "-o", str(tmp_path)]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "sweep.parquet"), table)


def test_sweep_spec_errors():
    from sim.errors import SpecError
    from sim.spec import parse_spec

    base = {"experiment": {"name": "s", "scenario": "pdac_gem", "analysis": "sweep"},
            "conditions": [{"name": "control"}, {"name": "CAF-EV", "ev_mode": "coculture"}]}
    good = {"condition": "CAF-EV", "reference": "control", "factors": [{"name": "caf_ratio", "low": 1, "high": 3}]}
    assert parse_spec({**base, "sweep": good}).sweep.factors[0].points == 5
    cases = [({**good, "factors": []}, "a sweep needs at least one factor"),
             ({**good, "reference": "contrl"}, r"sweep.reference names condition 'contrl'.*Did you mean 'control'"),
             ({**good, "factors": [{"name": "k", "low": 0, "high": 1, "scale": "log"}]}, "a log range must be > 0"),
             ({**good, "factors": [{"name": "k", "low": 2, "high": 1}]}, "low < high"),
             ({**good, "design": "sobl"}, r"sweep.design: Input should be 'grid'"),
             ({**good, "readout": "gr50_fold", "reference": None}, "sweep.reference is required"),
             ({**good, "reference": "CAF-EV"}, "sweep.condition and sweep.reference must differ"),
             ({**good, "readout": "species", "statistic": "at"}, "sweep.time_h is required"),
             ({**good, "readout": "species", "statistic": "at", "time_h": 100}, "after the end of the assay"),
             ({**good, "readout": "species", "statistic": "mean"}, r"sweep.statistic: Input should be 'end'")]
    for settings, message in cases:
        with pytest.raises(SpecError, match=message):
            parse_spec({**base, "sweep": settings}, "s.toml")


def test_endpoint_evaluator_equals_a_direct_run(tmp_path):
    # the benchmark's evaluator: one simulation per point, the factor set as a parameter
    from sim.engines import engine_for
    from sim.sweep.evaluate import Endpoint

    evaluate = Endpoint("pdac_gem", {"name": "c", "ev_mode": "coculture", "dose": 0.05}, ("N_cancer", "PTEN"))
    points = make_design([Factor("miR_21_per_EV", 0.1, 10, "log", points=3)], "grid")
    table = run_sweep(evaluate, points, tmp_path)
    model = sim.build_model("pdac_gem")
    values = sim.Condition(name="c", ev_mode="coculture", dose=0.05).values(model)
    for _, row in table.iterrows():
        direct = engine_for(model).run({**values, "miR_21_per_EV": row["miR_21_per_EV"]}, 72.0, 2, ["PTEN"])
        assert row["PTEN"] == pytest.approx(direct["PTEN"].iloc[-1], rel=1e-12)


def test_assay_readouts_equal_the_protocol_run(tmp_path):
    # viability and species readouts go through the same assay protocol as the dose-response analysis
    from sim.engines import engine_for
    from sim.protocol import AssayProtocol
    from sim.sweep.evaluate import AssayReadout

    cond = {"name": "CAF-EV", "ev_mode": "addition"}
    points = make_design([Factor("miR_20a_per_EV", 0.1, 10, "log", points=3)], "grid")
    pten = run_sweep(AssayReadout("nsclc_ddp", cond, "species", "PTEN"), points, tmp_path / "p")
    viab = run_sweep(AssayReadout("nsclc_ddp", cond, "viability", dose=10.0), points, tmp_path / "v")
    model = sim.build_model("nsclc_ddp")
    protocol = AssayProtocol(engine_for(model), 48.0)
    for (_, p_row), (_, v_row) in zip(pten.iterrows(), viab.iterrows()):
        values = sim.Condition(**cond, parameters={"miR_20a_per_EV": p_row["miR_20a_per_EV"]}).values(model)
        assert p_row["PTEN"] == pytest.approx(protocol.endpoint(values, 72.0, ["PTEN"])[0], rel=1e-12)
        n_drug = protocol.endpoint({**values, "drug_ext": 10.0}, 72.0, ["N_cancer"])[0]
        n_free = protocol.endpoint({**values, "drug_ext": 0.0}, 72.0, ["N_cancer"])[0]
        assert v_row["viability"] == pytest.approx(n_drug / n_free, rel=1e-12)
    assert pten["PTEN"].is_monotonic_decreasing  # more miR-20a per EV, less PTEN ([33])


def test_species_max_and_at_time_readouts_equal_the_protocol_course(tmp_path):
    # "max" is the maximum over the drug phase on the 15-min grid; "at" reads the species t h after the drug
    from sim.engines import engine_for
    from sim.protocol import AssayProtocol
    from sim.sweep.evaluate import AssayReadout

    cond = {"name": "CAF-EV", "ev_mode": "addition"}
    points = make_design([Factor("ev_dose_ug", 5, 50, "log", points=2)], "grid")
    peak = run_sweep(AssayReadout("pdac_gem", cond, "species", "CASP3a", dose=0.1, statistic="max"), points,
                     tmp_path / "m")
    at24 = run_sweep(AssayReadout("pdac_gem", cond, "species", "CASP3a", dose=0.1, statistic="at", time_h=24.0),
                     points, tmp_path / "a")
    model = sim.build_model("pdac_gem")
    protocol = AssayProtocol(engine_for(model), 48.0)
    for (_, m_row), (_, a_row) in zip(peak.iterrows(), at24.iterrows()):
        values = {**sim.Condition(**cond, ev_dose_ug=m_row["ev_dose_ug"]).values(model), "drug_ext": 0.1}
        course = protocol.run(values, 72.0, 289, ["CASP3a"])
        assert m_row["CASP3a_max"] == pytest.approx(course["CASP3a"].max(), rel=1e-9)
        assert a_row["CASP3a_at_24h"] == pytest.approx(course.loc[course["time"] == 24.0, "CASP3a"].iloc[0], rel=1e-6)
    assert (peak["CASP3a_max"] >= at24["CASP3a_at_24h"]).all()
    with pytest.raises(InvalidValueError, match="needs 'time_h' > 0"):
        AssayReadout("pdac_gem", cond, "species", "CASP3a", statistic="at")


@pytest.mark.slow
def test_factor_units_are_checked_against_the_tables_before_any_run(tmp_path):
    from sim.errors import SpecError
    from sim.experiment import run_experiment
    from sim.spec import parse_spec

    def spec(unit, name="GW4869"):
        return parse_spec({"experiment": {"name": "u", "scenario": "pdac_gem", "analysis": "sweep"},
                           "sweep": {"condition": "CAF-EV", "reference": "control",
                                     "factors": [{"name": name, "low": 1, "high": 3, "unit": unit}]},
                           "conditions": [{"name": "control"}, {"name": "CAF-EV", "ev_mode": "coculture"}]})

    with pytest.raises(SpecError, match=r"sweep.factors\[0\].unit: factor 'GW4869' is in 'uM' "
                                        r"\(models/tables/interventions.tsv\); found 'nM'"):
        run_experiment(spec("nM"), tmp_path / "a")
    with pytest.raises(SpecError, match=r"factor 'k_escape' is in '1/h' \(models/tables/parameters.tsv\); "
                                        r"found 'h'"):
        run_experiment(spec("h", "k_escape"), tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # nothing was run or written
    from sim.analyses.sweep import check_factor_units

    check_factor_units(spec("µM").sweep.factors, sim.build_model("pdac_gem"))  # µ and u are the same unit
