"""Clonogenic survival after ionising radiation: the assay protocol with radiation fractions instead of a drug.

A condition is run through the first two phases of the assay protocol (:mod:`sim.protocol`: steady cells, then the EV
and intervention pretreatment) and then irradiated: each fraction of ``d`` Gy adds ``dsb_per_gy * d`` double-strand
breaks to the cell at once (a fraction lasts minutes at the 1-6 Gy/min of laboratory irradiators, repair takes hours),
and the cell is followed for ``interval_h`` to the next fraction and ``follow_up_h`` after the last. In
``models/ode/radiation.ant`` the breaks are repaired, or fixed and misrejoined into lethal lesions (``rad_lethal``,
the mean per irradiated cell). A cell forms a colony when it carries no lethal lesion (Poisson: probability
exp(-rad_lethal)), so the surviving fraction normalised to the unirradiated control of the same condition (plating
efficiency, Franken et al. 2006) is ``SF(D) = exp(-rad_lethal(D))``, and an untreated cell's acute-dose curve is the
linear-quadratic one of its ``rad_alpha_ref`` and ``rad_beta_ref`` (radiation.ant's closed form).

The EV exposure and interventions of the condition go on during the follow-up (co-culture CAFs keep secreting).

References
----------
Franken NAP, Rodermond HM, Stap J, Haveman J, van Bree C (2006) Clonogenic assay of cells in vitro. Nat Protoc
1:2315-2319.
Sachs RK, Hahnfeldt P, Brenner DJ (1997) The link between low-LET dose-response relations and the underlying
kinetics of damage production/repair/misrepair. Int J Radiat Biol 72:351-374.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.budget import delivery_budget
from sim.catalogue import load_catalogue
from sim.conditions import Condition, condition_list
from sim.engines import engine_for
from sim.errors import InvalidValueError
from sim.protocol import AssayProtocol, clean_state, drug_phase

FOLLOW_UP_H = 72.0  # > 50 repair half-times (1 h) and the ~1-day caspase lag: every break resolved, death committed
DEFAULT_DOSES_GY = (1.0, 2.0, 4.0, 6.0, 8.0)  # the usual clonogenic dose series (Franken 2006)


def drug_problem(conditions) -> str | None:
    """What is wrong with ``conditions`` for a radiation experiment (a condition that names a drug or dose), or None:
    the spec's check (:mod:`sim.analyses.clonogenic`) and :func:`run_clonogenic` say the same."""
    for c in conditions:
        if c.dose or c.drug:
            return (f"condition '{c.name}' sets a drug ('drug' = {c.drug!r}, 'dose' = {c.dose:g}); a clonogenic "
                    f"experiment irradiates drug-free cells with doses in Gy: remove them.")
    return None


def _check_radiation(model, conditions: list[Condition], fractions: int, interval_h: float,
                     follow_up_h: float) -> None:
    if "dsb_per_gy" not in model.defaults:
        raise InvalidValueError(f"Model '{model.name}' has no radiation module (models/ode/radiation.ant); build it "
                                f"with the full module set.")
    if not (isinstance(fractions, int) and fractions >= 1):
        raise InvalidValueError(f"'fractions' must be a whole number >= 1. Got {fractions!r}.")
    for label, v in (("interval_h", interval_h), ("follow_up_h", follow_up_h)):
        if not (math.isfinite(v) and v > 0):
            raise InvalidValueError(f"'{label}' must be a finite number > 0 h. Got {v}.")
    problem = drug_problem(conditions)
    if problem:
        raise InvalidValueError(problem)


class RadiationProtocol:
    """Irradiate conditions of one model after the steady-state and pretreatment phases.

    Parameters
    ----------
    model : BuiltModel
        A model with the radiation module (every full model has it).
    pretreatment_h : float
        EV/intervention exposure before the first fraction, in h.
    fractions : int
        Number of fractions of the dose per fraction.
    interval_h : float
        Time between fractions (24 h: one fraction a day, the clinical schedule).
    follow_up_h : float
        Time after the last fraction over which lethal lesions and death are counted.
    """

    def __init__(self, model, pretreatment_h: float = 48.0, fractions: int = 1, interval_h: float = 24.0,
                 follow_up_h: float = FOLLOW_UP_H):
        self.model = model
        self.engine = engine_for(model)
        self.assay = AssayProtocol(self.engine, pretreatment_h)
        self.fractions, self.interval_h, self.follow_up_h = fractions, float(interval_h), float(follow_up_h)

    def lethal_lesions(self, values: dict[str, float], dose_gy: float) -> float:
        """Mean lethal lesions per cell after ``fractions`` x ``dose_gy`` Gy (0 at 0 Gy)."""
        if not (math.isfinite(dose_gy) and dose_gy >= 0):
            raise InvalidValueError(f"A radiation dose must be a finite number >= 0 Gy. Got {dose_gy}.")
        per_gy = values.get("dsb_per_gy", self.model.defaults["dsb_per_gy"])
        if dose_gy == 0:
            return 0.0
        state = {**self.assay.pretreated(values), "rad_lethal": 0.0}
        elapsed = self.assay.pretreatment_h  # EV exposure behind each fraction (repeated EV additions keep time)
        for k in range(self.fractions):
            state["DSB"] = state.get("DSB", 0.0) + per_gy * dose_gy
            hours = self.interval_h if k < self.fractions - 1 else self.follow_up_h
            state = clean_state(self.engine.final_state(drug_phase(values, elapsed), hours, state))
            elapsed += hours
        return state["rad_lethal"]

    def surviving_fraction(self, values: dict[str, float], dose_gy: float) -> float:
        """Clonogenic surviving fraction after ``fractions`` x ``dose_gy`` Gy, over the unirradiated control."""
        return math.exp(-self.lethal_lesions(values, dose_gy))

    def dose_at(self, values: dict[str, float], sf: float, high: float = 60.0) -> float:
        """Dose per fraction (Gy) at which the surviving fraction falls to ``sf`` (root of the simulated curve)."""
        from scipy.optimize import brentq  # here: the command line starts without scipy

        if not 0 < sf < 1:
            raise InvalidValueError(f"A surviving fraction to reach must be in (0, 1). Got {sf}.")
        return brentq(lambda d: math.log(self.surviving_fraction(values, d)) - math.log(sf), 1e-6, high,
                      xtol=1e-6)


def run_clonogenic(model, conditions: Sequence[Condition] | Condition, doses_gy=DEFAULT_DOSES_GY,
                   fractions: int = 1, interval_h: float = 24.0, follow_up_h: float = FOLLOW_UP_H,
                   pretreatment_h: float = 48.0, progress=None) -> pd.DataFrame:
    """Clonogenic survival of every condition at every dose per fraction; one tidy row per (condition, dose).

    Returns
    -------
    pandas.DataFrame
        condition, dose_gy (per fraction), fractions, total_dose_gy, surviving_fraction, lethal_lesions (mean per
        cell), then the condition's delivery budget at the first fraction (:mod:`sim.budget`). Dose 0 (SF = 1 by
        definition) is always included.
    """
    conditions = condition_list(conditions)
    _check_radiation(model, conditions, fractions, interval_h, follow_up_h)
    doses = np.asarray(doses_gy, dtype=float)
    if doses.ndim != 1 or doses.size < 2 or not np.all(np.isfinite(doses)) or np.any(doses < 0):
        raise InvalidValueError(f"'doses_gy' must be >= 2 finite doses >= 0 Gy. Got {doses.tolist()}.")
    doses = np.unique(np.concatenate([[0.0], doses]))
    cat = load_catalogue()
    values = [c.values(model, cat) for c in conditions]  # every name checked before any run
    radiation = RadiationProtocol(model, pretreatment_h, fractions, interval_h, follow_up_h)
    rows = []
    for cond, vals in zip(conditions, values):
        budget = delivery_budget(radiation.assay, vals)
        for d in doses:
            lethal = radiation.lethal_lesions(vals, float(d))
            rows.append({"condition": cond.name, "dose_gy": float(d), "fractions": fractions,
                         "total_dose_gy": float(d) * fractions, "surviving_fraction": math.exp(-lethal),
                         "lethal_lesions": lethal, **budget})
        if progress:
            progress(cond.name)
    return pd.DataFrame(rows)
