"""Repeated dosing: the drug replenished every N h, and EV additions repeated every N h of exposure.

Known answers are closed forms and limits of the single-dose protocol (the issue asks for the single dose as a limit):
- a drug that is not lost from the medium is replenished to the value it already has, so replenishing changes nothing;
- a dosing interval longer than the whole exposure gives no second dose: the single-dose run, to the solver's noise;
- a drug with half-life h replenished every N h is ``dose * 2**(-(t mod N)/h)`` in the medium (first-order loss);
- EV additions every N h over P h of pretreatment and T h of assay number ``floor((P + T)/N) + 1``, so the EVs put into
  the medium are that many doses exactly (EV_supplied counts them; no release in addition mode).
Directions: a drug lost from the medium kills fewer cells than a stable one, and replenishing it restores part of
the kill; topping up CAF-EVs delivers more miR-21 and represses PTEN further.
"""
import math

import numpy as np
import pytest

from sim.build import build_model
from sim.conditions import Condition
from sim.engines import engine_for
from sim.errors import InvalidValueError
from sim.protocol import AssayProtocol

DOSE = 0.05  # uM gemcitabine, the no-EV IC50 of pdac_gem
EV_PARTICLES = 50 * 1e9  # 50 ug/mL x ev_particles_per_ug (parameters.tsv)


@pytest.fixture(scope="module")
def run(pdac_model):
    engine = engine_for(pdac_model)

    def _run(pretreatment_h=48.0, hours=72.0, points=2, readouts=("N_cancer",), **condition):
        values = Condition(name="x", dose=DOSE, **condition).values(pdac_model)
        return AssayProtocol(engine, pretreatment_h).run(values, hours, points, list(readouts))
    return _run


def test_replenishing_a_stable_drug_changes_nothing(run, pdac_model):
    readouts = [s for s in engine_for(pdac_model).species]
    once, every = run(readouts=readouts), run(readouts=readouts, drug_every_h=24)
    changed = [s for s in readouts if s != "drug_doses"]
    np.testing.assert_allclose(every[changed].to_numpy(), once[changed].to_numpy(), rtol=1e-5, atol=1e-9)
    assert every["drug_doses"].iloc[-1] == 4  # given at 0, 24, 48 and 72 h, each to the value it already had


@pytest.mark.parametrize("condition, limit", [
    ({"drug_half_life_h": 12, "drug_every_h": 200}, {"drug_half_life_h": 12}),
    ({"ev_mode": "addition", "ev_every_h": 500, "delivery": "enriched"}, {"ev_mode": "addition",
                                                                          "delivery": "enriched"}),
])
def test_an_interval_beyond_the_exposure_is_the_single_dose(run, condition, limit):
    readouts = ["N_cancer", "PTEN", "drug_medium", "EV_med"]
    np.testing.assert_allclose(run(readouts=readouts, points=13, **condition)[readouts].to_numpy(),
                               run(readouts=readouts, points=13, **limit)[readouts].to_numpy(), rtol=1e-9, atol=1e-12)


def test_drug_in_the_medium_follows_first_order_loss_between_doses(run):
    table = run(points=73, readouts=["drug_medium"], drug_half_life_h=12, drug_every_h=24)
    times = np.array([6.0, 18.0, 23.0, 30.0, 42.0, 54.0, 66.0])
    got = table.set_index("time").loc[times, "drug_medium"].to_numpy()
    np.testing.assert_allclose(got, DOSE * 2.0 ** (-(times % 24) / 12), rtol=1e-4)


@pytest.mark.parametrize("pretreatment_h, every_h", [(48, 24), (40, 24), (0, 24), (5, 24), (10, 2.5), (0.3, 0.1)])
def test_ev_additions_follow_their_schedule_across_the_drug_addition(run, pretreatment_h, every_h):
    end = run(pretreatment_h=pretreatment_h, readouts=["EV_supplied", "EV_doses"], ev_mode="addition",
              ev_every_h=every_h).iloc[-1]
    expected = math.floor((pretreatment_h + 72) / every_h + 1e-9) + 1
    assert end["EV_doses"] == expected
    assert end["EV_supplied"] == pytest.approx(expected * EV_PARTICLES, rel=1e-12)


def test_a_drug_lost_from_the_medium_kills_fewer_cells_and_replenishing_restores_part(run):
    stable = run()["N_cancer"].iloc[-1]
    lost = run(drug_half_life_h=12)["N_cancer"].iloc[-1]
    replenished = run(drug_half_life_h=12, drug_every_h=24)["N_cancer"].iloc[-1]
    assert stable < replenished < lost


def test_every_added_dose_carries_the_same_cargo_per_ev(run, pdac_model):
    # addition mode: no release, and cargo leaves the medium with its EVs (same clearance and uptake rate laws), so
    # cargo copies / EVs in the medium stay the copies per EV of the enriched regime through every re-addition
    copies = float(pdac_model.preset["delivery"]["enriched"])
    table = run(points=61, readouts=["miR_21_med", "EV_med"], ev_mode="addition", delivery="enriched", ev_every_h=24)
    np.testing.assert_allclose(table["miR_21_med"] / table["EV_med"], copies, rtol=1e-6)


def test_the_delivery_budget_at_the_end_follows_the_schedule(run, pdac_model):
    from sim.budget import delivery_budget

    engine = engine_for(pdac_model)
    values = Condition(name="x", dose=DOSE, ev_mode="addition", delivery="enriched", ev_every_h=20).values(pdac_model)
    budget = delivery_budget(AssayProtocol(engine, 48.0), values, at_h=72.0)
    end = run(readouts=["miR_21_delivered"], ev_mode="addition", delivery="enriched", ev_every_h=20).iloc[-1]
    assert budget["delivered_miR_21"] == pytest.approx(end["miR_21_delivered"], rel=1e-9)


def test_the_logical_model_refuses_a_schedule_it_cannot_represent():
    from sim.boolean.conditions import condition_settings, network_path
    from sim.engines.boolean import load_network

    with pytest.raises(InvalidValueError, match=r"repeated dosing \(ev_every_h\) has no Boolean counterpart"):
        condition_settings(Condition(name="x", ev_mode="addition", ev_every_h=24), load_network(network_path()),
                           "pdac_gem")


def test_topping_up_caf_evs_delivers_more_cargo_and_represses_further(run):
    readouts = ["miR_21_delivered", "PTEN"]
    once = run(readouts=readouts, ev_mode="addition", delivery="enriched").iloc[-1]
    again = run(readouts=readouts, ev_mode="addition", delivery="enriched", ev_every_h=24).iloc[-1]
    assert again["miR_21_delivered"] > 1.5 * once["miR_21_delivered"]  # 5 doses acting instead of 1, most late
    assert again["PTEN"] < once["PTEN"]


@pytest.mark.parametrize("condition, message", [
    ({"ev_mode": "coculture", "ev_every_h": 24}, "needs ev_mode = 'addition'"),
    ({"drug_every_h": 0}, "'drug_every_h' must be a finite number > 0 h"),
    ({"drug_half_life_h": -3}, "'drug_half_life_h' must be a finite number > 0 h"),
    ({"ev_mode": "addition", "ev_every_h": float("inf")}, "'ev_every_h' must be a finite number > 0 h"),
])
def test_bad_schedules_are_refused_before_any_run(condition, message):
    with pytest.raises(InvalidValueError, match=message):
        Condition(name="bad", **condition)


def test_a_drug_schedule_needs_a_drug():
    model = build_model("crc_rt")  # radiotherapy preset: no drug
    with pytest.raises(InvalidValueError, match="'drug_every_h' needs a drug"):
        Condition(name="rt", drug_every_h=24).values(model)


@pytest.mark.slow
def test_the_shipped_experiment_runs_and_shows_the_schedule(tmp_path):
    import pandas as pd

    from sim.cli import main

    assert main(["run", "pdac_gem_repeated_dosing", "--quick", "--quiet", "-o", str(tmp_path)]) == 0
    summary = pd.read_csv(tmp_path / "summary.csv").set_index("condition")
    assert summary.loc["EV addition every 24 h", "delivered_miR_21"] > 2 * summary.loc["EV addition once",
                                                                                        "delivered_miR_21"]
    assert summary.loc["drug t1/2 12 h, every 24 h", "N_cancer"] < summary.loc["drug t1/2 12 h, once", "N_cancer"]
    table = pd.read_csv(tmp_path / "timecourse.csv")
    once = table[table["condition"] == "drug t1/2 12 h, once"].set_index("time_h")["drug_medium"]
    assert once.loc[72.0] == pytest.approx(0.05 * 2 ** (-72 / 12), rel=1e-4)  # first-order loss, no dose after 0
