"""Prediction bands from the profiles: each condition's curve and IC50 fold over the parameter sets the data allow.

Every point of every profile whose likelihood ratio is above the threshold of the confidence level is a parameter
set inside the profile-likelihood confidence region; simulating the conditions at each of them (and at the best fit)
and taking the envelope gives a profile-wise confidence band of the mean curve (Simpson & Maclaren 2023): an inner
approximation (a subset of the confidence region, so at most as wide as the band the prediction profile likelihood
of Kreutz et al. 2012 would give by re-optimising for every predicted value), without the measurement noise (data
points may lie outside it). The IC50 of a curve is where the simulated viability crosses 0.5, interpolated linearly in log10 dose between
the two grid doses around the crossing (NaN when the curve does not cross inside the grid); the fold is the IC50
over the reference condition's IC50 from the same parameter set.

References
----------
Kreutz C, Raue A, Timmer J (2012) Likelihood based observability analysis and confidence intervals for predictions
of dynamic models. BMC Syst Biol 6:120.
Simpson MJ, Maclaren OJ (2023) Profile-wise analysis: a profile likelihood-based workflow for identifiability
analysis, estimation, and prediction with mechanistic mathematical models. PLoS Comput Biol 19:e1011515.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.calibration.estimate import threshold_ratio

MAX_BAND_SETS = 24  # parameter sets simulated for the band (spread evenly over the profiles' admissible points)


def admissible_sets(result, level: float, most: int = MAX_BAND_SETS) -> np.ndarray:
    """Parameter vectors (optimiser's scale) of the best fit and of the profile points inside the ``level`` region,
    at most ``most``: the best fit first, then each profile's two outermost admissible points (the most extreme sets),
    then others evenly spaced along the profiles."""
    best = np.asarray(result.optimize_result.list[0].x, dtype=float)
    r = threshold_ratio(level)
    ends, inner = [], []
    for i, path in enumerate(result.profile_result.list[0]):
        if path is None:
            continue
        inside = [k for k in np.argsort(path.x_path[i]) if path.ratio_path[k] >= r]  # along the profiled one
        if inside:
            ends += [path.x_path[:, inside[0]], path.x_path[:, inside[-1]]]
            inner += [path.x_path[:, k] for k in inside[1:-1]]
    room = max(most - 1 - len(ends), 0)
    if len(inner) > room:
        inner = [inner[int(i)] for i in np.linspace(0, len(inner) - 1, room)] if room else []
    return np.array([best, *ends, *inner])


def crossing_dose(doses: np.ndarray, viability: np.ndarray, at: float = 0.5) -> float:
    """The dose where ``viability`` first falls to ``at``, linear in log10 dose between grid points; NaN if never."""
    below = np.flatnonzero(viability <= at)
    if len(below) == 0 or below[0] == 0:
        return math.nan
    i = below[0]
    lx = np.log10(doses[[i - 1, i]])
    v = viability[[i - 1, i]]
    return float(10 ** np.interp(at, v[::-1], lx[::-1]))


def band_curves(objective, sets: np.ndarray, doses: np.ndarray, reference: str) -> tuple[pd.DataFrame,
                                                                                          pd.DataFrame]:
    """Simulate every condition at ``doses`` (uM) for each parameter set.

    Returns
    -------
    curves, ic50s : pandas.DataFrame
        ``curves``: set, condition, dose_uM, viability (one row per set, condition and dose); ``ic50s``: set,
        condition, ic50 (uM), ic50_fold (over ``reference`` in the same set).
    """
    grid = {name: doses for name in objective.doses}
    curve_rows, ic50_rows = [], []
    for k, x in enumerate(sets):
        curves = objective.viability(x, grid)
        ic50 = {name: crossing_dose(doses, v) for name, v in curves.items()}
        for name, v in curves.items():
            curve_rows += [{"set": k, "condition": name, "dose_uM": float(d), "viability": float(y)}
                           for d, y in zip(doses, v)]
            ic50_rows.append({"set": k, "condition": name, "ic50": ic50[name],
                              "ic50_fold": ic50[name] / ic50[reference]})
    return pd.DataFrame(curve_rows), pd.DataFrame(ic50_rows)


def band_table(curves: pd.DataFrame) -> pd.DataFrame:
    """Per condition and dose: the best fit's viability (set 0) and the band (lowest and highest over the sets)."""
    g = curves.groupby(["condition", "dose_uM"], sort=False)["viability"]
    out = g.agg(viability_low="min", viability_high="max").reset_index()
    best = curves[curves["set"] == 0].set_index(["condition", "dose_uM"])["viability"]
    out.insert(2, "viability", [best[(c, d)] for c, d in zip(out["condition"], out["dose_uM"])])
    return out


def fold_table(ic50s: pd.DataFrame) -> pd.DataFrame:
    """Per condition: IC50 and IC50 fold of the best fit (set 0) with their band over the sets; ``sets_no_ic50``
    counts the sets whose curve (or the reference's) does not cross 0.5 inside the doses, left out of the band."""
    rows = []
    for name, sub in ic50s.groupby("condition", sort=False):
        best = sub[sub["set"] == 0].iloc[0]
        rows.append({"condition": name, "ic50": best["ic50"], "ic50_low": sub["ic50"].min(),
                     "ic50_high": sub["ic50"].max(), "ic50_fold": best["ic50_fold"],
                     "ic50_fold_low": sub["ic50_fold"].min(), "ic50_fold_high": sub["ic50_fold"].max(),
                     "sets": int(len(sub)), "sets_no_ic50": int(sub["ic50_fold"].isna().sum())})
    return pd.DataFrame(rows)
