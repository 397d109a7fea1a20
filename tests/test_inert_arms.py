"""No inert arms (issue #12, item 5): removing any ev_cargo row of any preset changes its EV-induced IC50 shift by >=
1% (or, where the whole shift is under 4%, by a quarter of it), or the preset says why not (``inert`` in
models/scenarios.toml), in both delivery regimes. Removing a row also removes the pair from the receiving cell (an
endogenous miRNA then no longer represses that target either), so the change is measured on the EV shift,
IC50(EV)/IC50(no EV), with and without the row, not on the IC50 with EVs. A declared-inert row must really be inert
in some regime, so the declarations cannot go stale. IC50s by root-finding (sim.calibrate.model_ic50), 50 ug/mL of
CAF-EVs, 48 h pretreatment, 72 h drug; for a radiotherapy preset the shift is the dose-modifying factor at SF = 0.1
(sim.calibrate.radiation_dmf).
"""
import math

import pytest

import sim
from sim.calibrate import model_ic50, radiation_dmf
from sim.catalogue import load_catalogue

pytestmark = pytest.mark.slow  # two models (with and without the row) and four root-found IC50s per cargo row

CAT = load_catalogue()
MIN_CHANGE = 0.01
MIN_SHARE = 0.25  # of a shift too small for MIN_CHANGE to tell an arm from none
ADD = {"ev_mode": "addition", "ev_dose_ug": 50.0}


def _shift(model, regime: str) -> float:
    if model.preset.get("treatment") == "radiation":  # a radiotherapy preset's shift is its DMF at SF = 0.1
        return radiation_dmf(model, delivery=regime, **ADD)
    with_ev = model_ic50(model, model.drug, pretreatment_h=48, delivery=regime, **ADD)
    return with_ev / model_ic50(model, model.drug, pretreatment_h=48)


def _change(scenario: str, pair: str, regime: str) -> float:
    full, without = sim.build_model(scenario), sim.build_model(scenario, drop_cargo=[pair])
    return abs(math.log(_shift(full, regime) / _shift(without, regime)))


@pytest.mark.parametrize("scenario, pair", [(name, pair) for name, preset in CAT.scenarios.items()
                                            for pair in preset["ev_cargo"]])
def test_every_cargo_row_moves_the_ev_shift_or_the_preset_says_why(scenario, pair):
    declared = CAT.scenarios[scenario].get("inert", {})
    changes = {regime: _change(scenario, pair, regime) for regime in ("published", "enriched")}
    if pair in declared:
        assert min(changes.values()) < math.log(1 + MIN_CHANGE), (scenario, pair, changes)  # not stale
        assert len(declared[pair]) > 40  # a reason, not a flag
    else:  # a shift itself under 4% (the radiotherapy presets' DMFs): the row must carry a quarter of it
        floor = {r: min(math.log(1 + MIN_CHANGE), MIN_SHARE * abs(math.log(_shift(sim.build_model(scenario), r))))
                 for r in changes}
        assert all(c >= floor[r] for r, c in changes.items()), (scenario, pair, changes, floor)
