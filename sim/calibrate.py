"""Calibrate each drug's potency so the model's drug-free-EV 72-h IC50 equals the drug's reference IC50.

In drug_handling.ant the drug acts through ``drug_ext/drug_potency`` only, so the model IC50 scales linearly with
the potency: one root-find per drug gives the factor. The reference IC50s are the ``ic50_ref_uM`` column of
models/tables/drugs.tsv (DESIGN.md 2.7). Run ``python -m sim.calibrate`` to print the potencies to put in the table.
"""
from __future__ import annotations

import math

from scipy.optimize import brentq

from sim.build import build_model
from sim.catalogue import load_catalogue
from sim.conditions import Condition
from sim.engines.ode import engine_for
from sim.protocol import AssayProtocol


def relative_viability(model, drug: str, dose: float, assay_h: float = 72.0, **condition) -> float:
    """Cell count at ``assay_h`` with ``dose`` uM of ``drug`` over the drug-free count of the same condition."""
    protocol = AssayProtocol(engine_for(model))  # steady-state cells, no pretreatment (no EVs here)
    counts = []
    for d in (0.0, dose):
        vals = Condition(name="calibration", drug=drug, dose=d, **condition).values(model)
        counts.append(protocol.run(vals, assay_h, 2, ["N_cancer"])["N_cancer"].iloc[-1])
    return counts[1] / counts[0]


def model_ic50(model, drug: str, assay_h: float = 72.0, **condition) -> float:
    """Dose (uM) giving 50% relative viability at ``assay_h``, by root-finding on log10 dose."""
    ref = load_catalogue().drug(drug)["ic50_ref_uM"]
    lo, hi = math.log10(ref) - 6, math.log10(ref) + 6
    return 10 ** brentq(lambda lx: relative_viability(model, drug, 10 ** lx, assay_h, **condition) - 0.5, lo, hi,
                        xtol=1e-6)


def calibrated_potencies(scenario: str = "pdac_gem") -> dict[str, float]:
    """Potency per drug that puts the no-EV model IC50 at the drug's reference IC50."""
    cat = load_catalogue()
    model = build_model(scenario)
    return {code: row["potency_uM"] * row["ic50_ref_uM"] / model_ic50(model, code)
            for code, row in cat.drugs.items()}


if __name__ == "__main__":
    for code, potency in calibrated_potencies().items():
        print(f"{code}\t{potency:.4g}")
