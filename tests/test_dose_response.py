"""Dose-response API: the grid, the table, the protocol, the shift table and the errors."""
import math

import numpy as np
import pandas as pd
import pytest

import sim
from sim.curves import dose_grid, fit_curves, run_dose_response
from sim.analyses.dose_response import default_references, reversal_curves, shift_table
from sim.engines import engine_for
from sim.errors import InvalidValueError, UnknownNameError
from sim.protocol import AssayProtocol

C = sim.Condition


def test_dose_grid_spans_the_reference_ic50():
    grid = dose_grid("GEM")  # reference IC50 0.05 uM (drugs.tsv)
    assert len(grid) == 12 and grid[0] == pytest.approx(0.05e-2) and grid[-1] == pytest.approx(0.05 * 10 ** 2.5)
    assert np.allclose(np.diff(np.log10(grid)), np.log10(grid[1] / grid[0]))
    with pytest.raises(InvalidValueError, match="0 < min_dose < max_dose"):
        dose_grid("GEM", 6, 1.0, 0.1)
    with pytest.raises(UnknownNameError, match="Did you mean 'GEM'"):
        dose_grid("GEMM")


def test_untreated_cells_do_not_drift(pdac_model):
    # the protocol starts from the untreated steady state, so nothing changes without drug or EVs while the culture
    # is held sub-confluent (the state the steady state was computed in)
    values = {**C(name="c").values(pdac_model), "hold_population": 1.0}
    run = AssayProtocol(engine_for(pdac_model)).run(values, 72, 5, ["PTEN", "pAKT", "LROS"])
    for col in ("PTEN", "pAKT", "LROS"):
        assert run[col].max() - run[col].min() < 1e-4 * run[col].abs().max(), col


def test_untreated_cells_change_only_as_growth_slows(pdac_model):
    # in the assay the cells grow towards confluence, division slows, and so does dilution: a miRNA then holds its
    # sites a little longer (occupancy ~ k_on R / (k_on R + k_off + k_decay + division rate)). A real, small effect:
    # PTEN, under endogenous miR-21, falls < 1% over 72 h; pAKT and lipid ROS move < 1%.
    run = AssayProtocol(engine_for(pdac_model)).run(C(name="c").values(pdac_model), 72, 5, ["PTEN", "pAKT", "LROS"])
    assert run["PTEN"].iloc[-1] < run["PTEN"].iloc[0]
    for col in ("PTEN", "pAKT", "LROS"):
        assert run[col].max() - run[col].min() < 1e-2 * run[col].abs().max(), col


def test_table_rows_and_normalisation(pdac_model):
    doses = dose_grid("GEM", 5)
    table = run_dose_response(pdac_model, [C(name="control"), C(name="CAF-EV", ev_mode="coculture")], doses=doses)
    assert len(table) == 2 * (5 + 1)
    assert {"condition", "dose_uM", "viability", "gr", "cells_start", "cells_end", "cells_control", "PTEN",
            "pAKT", "pSTAT3", "LROS", "CASP3a"} <= set(table.columns)
    zero = table[table["dose_uM"] == 0]
    assert np.allclose(zero["viability"], 1.0) and np.allclose(zero["gr"], 1.0)
    for _, sub in table.groupby("condition"):
        assert np.all(np.diff(sub.sort_values("dose_uM")["viability"].to_numpy()) < 1e-9)  # monotone in dose
    assert np.allclose(table["cells_start"], pdac_model.defaults["seeding_density"])


def test_conditions_are_checked_before_any_run(pdac_model):
    engine = engine_for(pdac_model)
    runs = engine.runs
    with pytest.raises(InvalidValueError, match="runs the dose grid"):
        run_dose_response(pdac_model, [C(name="a", dose=0.1)])
    with pytest.raises(InvalidValueError, match="repeated: a"):
        run_dose_response(pdac_model, [C(name="a"), C(name="a")])
    with pytest.raises(UnknownNameError, match="Unknown intervention 'GW4896'.*GW4869"):
        run_dose_response(pdac_model, [C(name="a"), C(name="b", interventions={"GW4896": 1})])
    with pytest.raises(InvalidValueError, match="'doses' must be"):
        run_dose_response(pdac_model, [C(name="a")], doses=[0.1, -1, 2])
    assert engine.runs == runs


def _fits(rows):
    cols = ["condition", "ic50_abs", "ic50_abs_se", "ic50_report", "status", "gr50"]
    return pd.DataFrame(rows, columns=cols)


def test_shift_table_folds_cis_and_fraction_reversed():
    fits = _fits([("control", 1.0, 0.05, "1", "ok", 0.8), ("EV", 4.0, 0.2, "4", "ok", 2.4),
                  ("EV + X", 2.0, 0.1, "2", "ok", 1.6), ("EV + Y", math.nan, math.nan, "> 10", "above_range", 9.0)])
    table = shift_table(fits, "control", {"EV + X": "EV", "EV + Y": "EV"}).set_index("condition")
    assert table.loc["EV", "ic50_fold"] == pytest.approx(4.0)
    se = math.hypot(0.2 / 4.0, 0.05 / 1.0)  # delta method on the log ratio
    assert table.loc["EV", "ic50_fold_fit_se_low"] == pytest.approx(4.0 * math.exp(-1.959964 * se), rel=1e-5)
    assert table.loc["EV", "gr50_fold"] == pytest.approx(3.0)
    assert table.loc["EV + X", "fraction_reversed"] == pytest.approx(0.5)  # log(4/2)/log(4/1)
    assert math.isnan(table.loc["EV + Y", "ic50_fold"]) and "> 10" in table.loc["EV + Y", "note"]


def test_default_references_pair_interventions_with_their_exposure():
    conds = [C(name="ctrl"), C(name="EV", ev_mode="coculture"), C(name="EV+GW", ev_mode="coculture",
             interventions={"GW4869": 5}), C(name="add", ev_mode="addition"),
             C(name="add+GW", ev_mode="addition", interventions={"GW4869": 5}), C(name="KO", knockouts=["PTEN"])]
    control, refs = default_references(conds)
    assert control == "ctrl" and refs == {"EV+GW": "EV", "add+GW": "add", "KO": "ctrl"}
    with pytest.raises(UnknownNameError, match="Did you mean 'ctrl'"):
        default_references(conds, "ctr")
    with pytest.raises(InvalidValueError, match="No control"):
        default_references([C(name="EV", ev_mode="coculture")])


def test_reversal_curve_from_a_dose_series():
    conds = [C(name="ctrl"), C(name="EV", ev_mode="coculture")] + [
        C(name=f"GW{d}", ev_mode="coculture", interventions={"GW4869": d}) for d in (1, 10)]
    shifts = pd.DataFrame({"condition": ["ctrl", "EV", "GW1", "GW10"], "ic50_fold": [1, 2, 1.8, 1.5],
                           "fraction_reversed": [np.nan, np.nan, 0.15, 0.42], "reference": ["", "", "EV", "EV"]})
    curves = reversal_curves(conds, shifts)
    assert curves["dose"].tolist() == [0, 1, 10] and curves["fraction_reversed"].tolist() == [0, 0.15, 0.42]
    assert set(curves["unit"]) == {"uM"}


def test_fit_curves_one_row_per_condition(pdac_model):
    table = run_dose_response(pdac_model, [C(name="control")], n_doses=8)
    fits = fit_curves(table)
    assert len(fits) == 1 and fits.loc[0, "status"] == "ok"
    assert {"ic50", "ic50_se", "hill", "bottom", "top", "auc", "gr50", "grmax", "gr_aoc"} <= set(fits.columns)
    # the no-EV GEM IC50 is calibrated to the reference 0.05 uM (sim.calibrate); the 8-dose fit lands near it
    assert fits.loc[0, "ic50_abs"] == pytest.approx(0.05, rel=0.06)
    assert 0 < fits.loc[0, "auc"] < 1


def test_gr_is_not_reported_when_the_control_does_not_grow(pdac_model):
    # RSL3 1 uM kills the drug-free cells of its own condition: GR values (normalised by control growth,
    # Hafner 2016) are undefined there, so the GR metrics say so instead of reporting numbers
    table = run_dose_response(pdac_model, [C(name="control"), C(name="RSL3", interventions={"RSL3": 1})],
                              n_doses=6)
    fits = fit_curves(table).set_index("condition")
    assert fits.loc["RSL3", "gr_status"] == "control_not_growing" and math.isnan(fits.loc["RSL3", "gr50"])
    assert fits.loc["control", "gr_status"] == "sigmoid"
    assert fits.loc["RSL3", "status"] == "ok"  # relative viability is still defined


def test_intervention_alone_pairs_each_treatment_with_its_no_ev_twin():
    from sim.analyses.dose_response import intervention_alone

    conds = [C(name="control"), C(name="EV", ev_mode="coculture"),
             C(name="EV + GW", ev_mode="coculture", interventions={"GW4869": 10}),
             C(name="EV + GW 48 h", ev_mode="coculture", interventions={"GW4869": 10}, assay_time_h=48),
             C(name="GW alone", interventions={"GW4869": 10}),
             C(name="EV + anti-106b", ev_mode="addition",
               interventions={"antagomir": {"dose": 50, "mirna": "miR-106b"}}),
             C(name="EV, more copies", ev_mode="addition", parameters={"miR_106b_per_EV": 10.0})]
    added, alone = intervention_alone(conds)
    assert alone["EV + GW"] == "GW alone"  # an existing twin is used
    assert [a.name for a in added] == ["GW4869 10 uM alone (no EVs)", "antagomir (miR-106b) 50 nM alone (no EVs)"]
    assert alone["EV + GW 48 h"] == "GW4869 10 uM alone (no EVs)" and added[0].assay_time_h == 48  # same assay time
    assert added[0].ev_mode == "none" and added[1].interventions == conds[5].interventions
    assert "EV, more copies" not in alone  # copies per EV belong to the exposure: no 'alone' twin


def test_fraction_reversed_specific_is_what_the_intervention_takes_back_beyond_its_effect_without_evs():
    # closed form on made-up IC50s: control 1, EV 4 (shift log 4); the intervention alone halves the IC50 (0.5);
    # with EVs it gives 1.0: it reverses log(4/1)/log 4 = 1 of the shift, but EV + I over I is 2, so it removes only
    # 1 - log 2/log 4 = 0.5 of the EV effect specifically
    fits = pd.DataFrame({"condition": ["control", "EV", "EV + I", "I alone"], "ic50_abs": [1.0, 4.0, 1.0, 0.5],
                         "ic50_abs_se": [0.01] * 4, "ic50_report": ["1", "4", "1", "0.5"], "status": ["ok"] * 4})
    table = shift_table(fits, "control", {"EV + I": "EV"}, alone={"EV + I": "I alone"}).set_index("condition")
    assert table.loc["EV + I", "fraction_reversed"] == pytest.approx(1.0)
    assert table.loc["EV + I", "fraction_reversed_specific"] == pytest.approx(0.5)
    small = fits.assign(ic50_abs=[1.0, 1.01, 1.0, 0.5])  # a 1% shift: no fraction of it is given
    row = shift_table(small, "control", {"EV + I": "EV"}, alone={"EV + I": "I alone"}).set_index("condition")
    row = row.loc["EV + I"]
    assert math.isnan(row["fraction_reversed"]) and "too small" in row["note"]
