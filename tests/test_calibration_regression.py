"""Calibration regression tests: the values `python -m sim.calibrate` put into the tables still reproduce the targets
they were calibrated to. They check a calibration, not the biology (the project's design, section 5: "a test that
checks a calibrated value is a calibration regression test and is named so"); the mechanism tests are elsewhere
(test_science_dose_response.py, test_directional.py, test_mirna_ceiling.py, test_delivery.py).

- drug potencies (drugs.tsv potency_uM) put each drug's no-EV 72-h IC50 at its reference IC50 (ic50_ref_uM);
- pakt_ref and pstat3_ref are the untreated cell's own pAKT and pSTAT3;
- each preset's enriched regime ([<preset>.delivery] enriched) gives the IC50 fold recorded beside it
  (``enriched_fold``) after 50 ug/mL of CAF-EVs (48 h + 72 h): its reported fold where reachable (ovarian_ptx_pgp:
  ~5, Zhang 2014), else the 99%-of-plateau fold the site-efficacy ceiling allows; and ``reachable`` says which.
"""
import math

import pytest

import sim
from sim.calibrate import PLATEAU_SHARE, delivery_fold, model_ic50
from sim.catalogue import load_catalogue
from sim.conditions import Condition
from sim.engines.ode import OdeEngine
from sim.protocol import AssayProtocol

CAT = load_catalogue()


@pytest.fixture(scope="module")
def pdac():
    return sim.build_model("pdac_gem")


@pytest.mark.slow
@pytest.mark.parametrize("drug", sorted(CAT.drugs))
def test_calibrated_potency_puts_the_no_ev_ic50_at_the_reference(pdac, drug):
    assert model_ic50(pdac, drug) == pytest.approx(CAT.drugs[drug]["ic50_ref_uM"], rel=5e-3)


@pytest.mark.slow
def test_reference_levels_are_the_untreated_cells_own(pdac):
    cells = AssayProtocol(OdeEngine(pdac)).steady_cells(Condition(name="rest").values(pdac))
    assert cells["pAKT"] == pytest.approx(pdac.defaults["pakt_ref"], rel=1e-3)
    assert cells["pSTAT3"] == pytest.approx(pdac.defaults["pstat3_ref"], rel=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", sorted(CAT.scenarios))
def test_enriched_regime_reproduces_its_calibrated_fold(scenario):
    model = sim.build_model(scenario)
    delivery = model.preset["delivery"]
    fold = delivery_fold(model, delivery["enriched"])
    assert fold == pytest.approx(delivery["enriched_fold"], rel=5e-3)
    reported = delivery["reported_fold"]
    reached = math.log(fold) / math.log(reported)  # share of the reported log-shift
    if delivery["reachable"]:
        assert reached == pytest.approx(1.0, abs=5e-3)
    else:  # short of the reported fold, and no more copies per EV gets much further
        assert reached < 1.0
        more = delivery_fold(model, 10 * delivery["enriched"])
        assert abs(math.log(more)) < abs(math.log(fold)) / PLATEAU_SHARE * 1.01


@pytest.mark.slow
def test_boolean_drug_gain_puts_the_no_ev_death_at_one_half():
    """The logical model's one scale (sim.boolean.rates.DRUG_GAIN) was set so that pdac_gem's no-EV cell dies with
    probability 0.5 at the drug's reference IC50 after 72 h, the ODE's calibration point (drugs.tsv ic50_ref_uM)."""
    from sim.boolean_assay import cafev_network, death_probability

    death = death_probability(cafev_network(), "pdac_gem", Condition(name="no EV"), samples=4000)
    assert death == pytest.approx(0.5, abs=0.02)
