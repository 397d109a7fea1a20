"""Dose-response curves: every condition run through the assay protocol at every dose of a grid, and their fits.

Each condition is run through the assay protocol (:mod:`sim.protocol`: steady-state cells, EV/intervention
pretreatment, then the drug for the assay time) at every dose of a log-spaced grid plus a drug-free run. Per dose the
table holds the relative viability (cells at assay end over the drug-free cells of the same condition), the cell
counts a GR analysis needs (at drug addition, at the end, drug-free at the end), the GR value (Hafner 2016) and the
key species at assay end. :func:`fit_curves` fits each condition (4PL, :mod:`sim.fit`; GR metrics, :mod:`sim.gr`).
The dose-response analysis (:mod:`sim.analyses.dose_response`), sweeps and screens build on these.

References
----------
Hafner M, Niepel M, Chung M, Sorger PK (2016) Growth rate inhibition metrics correct for confounders in measuring
sensitivity to cancer drugs. Nat Methods 13:521-527.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.budget import budget_part, delivery_budget
from sim.catalogue import load_catalogue
from sim.conditions import Condition, condition_list
from sim.engines import Tolerances, engine_for
from sim.errors import InvalidValueError
from sim.fit import fit_ll4
from sim.gr import GRFit, fit_gr, gr_values
from sim.protocol import AssayProtocol

KEY_SPECIES = ("PTEN", "pAKT", "pSTAT3", "LROS", "CASP3a")
MIN_CONTROL_GROWTH = 1.25  # drug-free cells must grow >= 1.25-fold (a third of a doubling) for GR metrics
DECADES_BELOW, DECADES_ABOVE = 2.0, 2.5  # default grid: reference IC50 x 10^-2 .. 10^2.5 (room for 10-fold shifts)


def dose_grid(drug: str, n: int = 12, low: float | None = None, high: float | None = None) -> np.ndarray:
    """``n`` log-spaced doses (uM) spanning the drug's active range around its reference IC50 (drugs.tsv)."""
    if n < 3:
        raise InvalidValueError(f"A dose-response needs 'n_doses' >= 3. Got {n}.")
    ref = load_catalogue().drug(drug)["ic50_ref_uM"]
    low = ref * 10 ** -DECADES_BELOW if low is None else low
    high = ref * 10 ** DECADES_ABOVE if high is None else high
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
        raise InvalidValueError(f"The dose range must satisfy 0 < min_dose < max_dose. Got {low:g} to {high:g} uM.")
    return np.logspace(math.log10(low), math.log10(high), n)


def _no_dose(conditions) -> list[Condition]:
    conditions = condition_list(conditions)
    for c in conditions:
        if c.dose:
            raise InvalidValueError(f"Condition '{c.name}' sets 'dose' = {c.dose:g}, but a dose-response runs the "
                                    f"dose grid; remove 'dose' (set the grid with doses/min_dose/max_dose).")
    return list(conditions)


def run_dose_response(model, conditions: Sequence[Condition] | Condition, doses=None, n_doses: int = 12,
                      assay_h: float = 72.0, pretreatment_h: float = 48.0, species: Sequence[str] | None = None,
                      progress=None, tolerances: Tolerances | None = None) -> pd.DataFrame:
    """Simulate every condition at every dose; return one tidy row per (condition, dose).

    Parameters
    ----------
    model : BuiltModel
        From :func:`sim.build.build_model`.
    conditions : Condition or sequence of Condition
        Named conditions without a dose (the grid supplies it); the drug is the scenario's unless a condition
        names its own.
    doses : array_like, optional
        Doses in uM (default :func:`dose_grid` of the scenario's drug with ``n_doses``).
    assay_h, pretreatment_h : float
        Drug exposure and EV/intervention pretreatment in h (a condition's ``assay_time_h`` takes precedence).
    species : sequence of str, optional
        Species reported at assay end (default: those of ``KEY_SPECIES`` the model has).
    progress : callable, optional
        Called with each condition's name as it finishes.
    tolerances : Tolerances, optional
        The ODE engine's tolerances (default: the engine's own; a retry of a failed sweep point tightens them).

    Returns
    -------
    pandas.DataFrame
        condition, drug, dose_uM, viability, cells_start, cells_end, cells_control, gr, the species, then the
        condition's delivery budget at drug addition (:mod:`sim.budget`: ``delivered_*``, ``loaded_*``,
        ``repression_*``, ``ev_internalised_fraction``; the same on every row of a condition).
    """
    conditions = _no_dose(conditions)
    engine = engine_for(model, tolerances=tolerances)
    cat = load_catalogue()
    values = [c.values(model, cat) for c in conditions]  # every name checked before any run
    species = engine.check_selection(list(species) if species else [s for s in KEY_SPECIES if s in engine.species])
    drugs = {c.drug or model.drug for c in conditions}
    if doses is None:
        if len(drugs) != 1 or None in drugs:
            raise InvalidValueError(f"Give 'doses' explicitly when conditions use different drugs ({drugs}).")
        doses = dose_grid(drugs.pop(), n_doses)
    doses = np.asarray(doses, dtype=float)
    if doses.ndim != 1 or doses.size < 3 or not np.all(np.isfinite(doses)) or np.any(doses <= 0):
        raise InvalidValueError(f"'doses' must be >= 3 finite doses > 0 uM. Got {doses.tolist()}.")
    protocol = AssayProtocol(engine, pretreatment_h)
    seeding = model.defaults["seeding_density"]
    selections = ["N_cancer"] + species
    rows = []
    for cond, vals in zip(conditions, values):
        hours = cond.assay_time_h or assay_h
        start = vals.get("seeding_density", seeding)
        control = protocol.endpoint({**vals, "drug_ext": 0.0}, hours, selections)
        budget = delivery_budget(protocol, vals)
        for dose in np.concatenate([[0.0], doses]):
            end = control if dose == 0 else protocol.endpoint({**vals, "drug_ext": float(dose)}, hours, selections)
            rows.append({"condition": cond.name, "drug": cond.drug or model.drug, "dose_uM": float(dose),
                         "viability": end[0] / control[0], "cells_start": start, "cells_end": end[0],
                         "cells_control": control[0], **dict(zip(species, end[1:])), **budget})
        if progress:
            progress(cond.name)
    table = pd.DataFrame(rows)
    table.insert(5, "gr", gr_values(table["cells_end"], table["cells_control"], table["cells_start"]))
    return table


def fit_curves(table: pd.DataFrame, response: str = "viability") -> pd.DataFrame:
    """Fit every condition of a dose-response table: 4PL (sim.fit), GR metrics (sim.gr) and AUC.

    Returns one row per condition: the :class:`sim.fit.LL4Fit` columns, ``auc`` (mean viability over the log10
    dose range, trapezoid rule; 1 = no effect), ``emax`` (viability at the highest dose) and the GR metrics
    (``gr50``, ``grmax``, ``grinf``, ``gec50``, ``h_gr``, ``gr_aoc``, ``gr_status``), then the condition's delivery
    budget columns when the table has them. Never raises for a curve
    that cannot be fitted; ``status`` and ``gr_status`` say why (``control_not_growing``: the condition's
    drug-free cells grew less than ``MIN_CONTROL_GROWTH``-fold, e.g. under a toxic erastin dose, so GR values
    are not defined).
    """
    rows = []
    for name, sub in table.groupby("condition", sort=False):
        sub = sub.sort_values("dose_uM")
        fit = fit_ll4(sub["dose_uM"], sub[response])
        pos = sub[sub["dose_uM"] > 0]
        lx = np.log10(pos["dose_uM"].to_numpy())
        v = pos[response].to_numpy()
        auc = float(np.trapezoid(v, lx) / (lx[-1] - lx[0])) if len(lx) > 1 else math.nan
        row = {"condition": name, **fit.as_row(), "auc": auc, "emax": float(v[-1])}
        budget = budget_part(sub.iloc[0])
        if "gr" in sub:
            growth = float(sub["cells_control"].iloc[0] / sub["cells_start"].iloc[0])
            if growth >= MIN_CONTROL_GROWTH:
                row.update(fit_gr(pos["dose_uM"].to_numpy(), pos["gr"].to_numpy()).as_row())
            else:  # GR normalises by the control's growth; without growth it is not defined (Hafner 2016)
                row.update({k: math.nan for k in GRFit().as_row()}, gr_status="control_not_growing")
        rows.append({**row, **budget})
    return pd.DataFrame(rows)
