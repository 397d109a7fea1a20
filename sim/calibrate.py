"""Calibrations that put stated numbers into the tables: model-scale references, drug potencies, delivery regimes.

Each is run by hand (``python -m sim.calibrate references|potencies|delivery``) and prints the values to paste into
``models/tables`` or ``models/scenarios.toml``; tests/test_calibration_regression.py checks that the pasted values
still reproduce their targets. None of them moves a mechanism to reach an effect (the project design notes:
magnitudes are earned by calibrating what the data identify, never tuned into a mechanism):

- ``references``: ``pakt_ref`` and ``pstat3_ref`` normalise the pAKT- and pSTAT3-driven transcription inputs to 1
  at rest; they are the untreated cell's own pAKT and pSTAT3 (a fixed point, found by iteration).
- ``potencies``: in drug_handling.ant the drug acts through ``drug_ext/drug_potency`` only (the drug in the medium,
  ``drug_medium``, is ``drug_ext`` in a single-dose assay), so the no-EV 72-h IC50 scales linearly with the potency
  and one ratio per drug puts it at the drug's reference IC50 (``ic50_ref_uM`` of drugs.tsv).
- ``delivery``: the ``enriched`` regime of each preset (``[<preset>.delivery]``): the copies per EV at which 50 ug/mL
  of CAF-EVs (48 h pretreatment, 72 h drug) shift the IC50 by the preset's ``reported_fold`` (for a radiotherapy
  preset: raise the dose giving 10% clonogenic survival by that factor, the DMF); where the mechanism
  cannot reach that fold at any enrichment (the site-efficacy ceiling bounds every miRNA arm), the fewest copies per
  EV that give 99% of the largest shift (on a log scale), with ``reachable = false``.
"""
from __future__ import annotations

import math
import sys

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from sim.budget import CHEVILLET_COPIES_PER_EV
from sim.build import build_model
from sim.catalogue import load_catalogue
from sim.conditions import Condition
from sim.engines import engine_for
from sim.engines.ode import OdeEngine
from sim.protocol import AssayProtocol
from sim.radiation import RadiationProtocol

CALIBRATION_EXPOSURE = {"ev_mode": "addition", "ev_dose_ug": 50.0}  # the seed papers' exosome protocol
CALIBRATION_PRETREATMENT_H = 48.0
PLATEAU_SHARE = 0.99  # an unreachable fold: the fewest copies per EV giving 99% of the largest log-shift
DMF_SURVIVAL = 0.1  # a radiotherapy preset's fold is its dose-modifying factor at this surviving fraction


def relative_viability(model, drug: str, dose: float, assay_h: float = 72.0, pretreatment_h: float = 0.0,
                       **condition) -> float:
    """Cell count at ``assay_h`` with ``dose`` uM of ``drug`` over the drug-free count of the same condition."""
    protocol = AssayProtocol(engine_for(model), pretreatment_h)
    counts = []
    for d in (0.0, dose):
        vals = Condition(name="calibration", drug=drug, dose=d, **condition).values(model)
        counts.append(protocol.endpoint(vals, assay_h, ["N_cancer"])[0])
    return counts[1] / counts[0]


def model_ic50(model, drug: str, assay_h: float = 72.0, pretreatment_h: float = 0.0, **condition) -> float:
    """Dose (uM) giving 50% relative viability at ``assay_h``, by root-finding on log10 dose."""
    ref = load_catalogue().drug(drug)["ic50_ref_uM"]
    lo, hi = math.log10(ref) - 6, math.log10(ref) + 6
    return 10 ** brentq(lambda lx: relative_viability(model, drug, 10 ** lx, assay_h, pretreatment_h, **condition)
                        - 0.5, lo, hi, xtol=1e-7)


def calibrated_references(scenario: str = "pdac_gem", rounds: int = 8) -> dict[str, float]:
    """``pakt_ref`` and ``pstat3_ref`` equal to the untreated cell's own pAKT and pSTAT3 (fixed-point iteration)."""
    values = {"pakt_ref": 0.2, "pstat3_ref": 0.2}
    for _ in range(rounds):
        model = build_model(scenario, overrides=values)
        # a throwaway engine per iterate, not engine_for's: eight models used once would push the reused ones out
        cells = AssayProtocol(OdeEngine(model)).steady_cells(Condition(name="rest").values(model))
        values = {"pakt_ref": cells["pAKT"], "pstat3_ref": cells["pSTAT3"]}
    return values


def calibrated_potencies(scenario: str = "pdac_gem") -> dict[str, float]:
    """Potency per drug that puts the no-EV model IC50 at the drug's reference IC50."""
    cat = load_catalogue()
    model = build_model(scenario)
    return {code: row["potency_uM"] * row["ic50_ref_uM"] / model_ic50(model, code)
            for code, row in cat.drugs.items()}


def delivery_fold(model, copies_per_ev: float) -> float:
    """IC50 fold of 50 ug/mL of CAF-EVs carrying ``copies_per_ev`` of every cargo of ``model`` (48 h + 72 h); for a
    radiotherapy preset (``treatment = "radiation"``), the dose-modifying factor at SF = 0.1 (48 h, then one acute
    dose: :func:`radiation_dmf`)."""
    copies = {f"{c}_per_EV": float(copies_per_ev) for c in model.delivered_cargo}
    if model.preset.get("treatment") == "radiation":
        return radiation_dmf(model, parameters=copies, **CALIBRATION_EXPOSURE)
    drug = model.drug
    with_ev = model_ic50(model, drug, pretreatment_h=CALIBRATION_PRETREATMENT_H, parameters=copies,
                         **CALIBRATION_EXPOSURE)
    without = model_ic50(model, drug, pretreatment_h=CALIBRATION_PRETREATMENT_H)
    return with_ev / without


def radiation_dmf(model, sf: float = DMF_SURVIVAL, **condition) -> float:
    """Dose-modifying factor of a condition: the acute dose (Gy) giving clonogenic survival ``sf`` with the
    condition (48 h of pretreatment, :mod:`sim.radiation`) over the dose without EVs or interventions."""
    radiation = RadiationProtocol(model, CALIBRATION_PRETREATMENT_H)
    with_ev = radiation.dose_at(Condition(name="calibration", **condition).values(model), sf)
    return with_ev / radiation.dose_at(Condition(name="calibration").values(model), sf)


def calibrated_delivery(scenario: str, low: float = 1e-3, high: float = 1e5) -> dict:
    """The ``enriched`` regime of a preset: copies per EV reaching its ``reported_fold``, or 99% of the largest shift.

    Returns
    -------
    dict
        ``enriched`` (copies per EV), ``reachable``, ``fold`` (reached there), ``x_chevillet`` (enrichment over
        Chevillet 2014's average), ``peak_fold`` and ``peak_copies`` (the largest shift over ``low``..``high``).
    """
    model = build_model(scenario)
    target = float(model.preset["delivery"]["reported_fold"])
    sign = 1.0 if target >= 1 else -1.0  # a sensitising preset's effect is a fold below 1
    grid = np.logspace(math.log10(low), math.log10(high), 17)
    effect = [sign * math.log(delivery_fold(model, c)) for c in grid]
    best = int(np.argmax(effect))
    lo_i, hi_i = max(best - 1, 0), min(best + 1, len(grid) - 1)
    peak = minimize_scalar(lambda lc: -sign * math.log(delivery_fold(model, 10 ** lc)),
                           bounds=(math.log10(grid[lo_i]), math.log10(grid[hi_i])), method="bounded",
                           options={"xatol": 1e-3})
    peak_copies, peak_effect = 10 ** peak.x, -peak.fun
    reachable = peak_effect >= sign * math.log(target)
    goal = sign * math.log(target) if reachable else PLATEAU_SHARE * peak_effect
    copies = 10 ** brentq(lambda lc: sign * math.log(delivery_fold(model, 10 ** lc)) - goal,
                          math.log10(low), math.log10(peak_copies), xtol=1e-4)
    return {"scenario": scenario, "enriched": copies, "reachable": reachable, "fold": delivery_fold(model, copies),
            "x_chevillet": copies / CHEVILLET_COPIES_PER_EV, "reported_fold": target,
            "peak_fold": math.exp(sign * peak_effect), "peak_copies": peak_copies}


def main(argv: list[str]) -> int:
    what = argv[0] if argv else ""
    if what == "references":
        for name, value in calibrated_references().items():
            print(f"{name}\t{value:.4g}")
    elif what == "potencies":
        for code, potency in calibrated_potencies().items():
            print(f"{code}\t{potency:.4g}")
    elif what == "delivery":
        names = argv[1:] or list(load_catalogue().scenarios)
        for name in names:
            r = calibrated_delivery(name)
            print(f"{name}\tenriched = {r['enriched']:.3g}\treachable = {str(r['reachable']).lower()}\t"
                  f"enriched_fold = {r['fold']:.4g}\t(reported {r['reported_fold']:g})\t"
                  f"{r['x_chevillet']:.3g}x Chevillet\tpeak {r['peak_fold']:.4g} at {r['peak_copies']:.3g} copies/EV",
                  flush=True)
    else:
        print("usage: python -m sim.calibrate references|potencies|delivery [preset ...]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
