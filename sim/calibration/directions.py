"""Flat directions: which combinations of the estimated parameters the data determine, and which they do not.

Copies per EV, secretion, the CAF ratio, uptake and escape enter a shift through their product, so data can pin the
product and none of its factors. At the best fit the Fisher information of the data on the optimiser's scale
(log10 for log parameters) is ``F = J^T J / sigma^2``, with ``J`` the sensitivities of the predicted responses
(central differences). Each eigenvector ``v`` of ``F`` with eigenvalue ``lambda`` is a direction the data constrain
to +/- sqrt(chi2_1(level) / lambda) (the Wald half-width). A direction is **flat** when that half-width exceeds half
the extent of the search box along ``v``: the data leave it to the bounds. A flat direction with two or more
parameters in it names a confounded set; the directions orthogonal to it are what the data determine, reported as
the power products ``prod_i theta_i^(v_i / max|v|)`` (for log-scale parameters) with their Wald intervals. The
profiles (:mod:`sim.calibration.estimate`) give the intervals of single parameters; this local analysis says which
combination a flat profile hides (Raue et al. 2009; Gutenkunst et al. 2007).

References
----------
Gutenkunst RN, Waterfall JJ, Casey FP et al. (2007) Universally sloppy parameter sensitivities in systems biology
models. PLoS Comput Biol 3:e189.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

JACOBIAN_STEP = 1e-2  # on the optimiser's scale (0.01 decade = 2.3% for a log parameter)
MEMBER = 0.2  # a parameter takes part in a direction when its component is at least this (unit vector)


def sensitivities(objective, x: np.ndarray, step: float = JACOBIAN_STEP) -> np.ndarray:
    """d(predicted response)/d(x_k) for every data row (rows) and parameter (columns), central differences; a
    step that would leave a bound is taken one-sided."""
    x = np.asarray(x, dtype=float)
    lows = np.array([p.bounds[0] for p in objective.parameters])
    highs = np.array([p.bounds[1] for p in objective.parameters])
    columns = []
    for k in range(len(x)):
        up, down = x.copy(), x.copy()
        up[k] = min(x[k] + step, highs[k])
        down[k] = max(x[k] - step, lows[k])
        columns.append((objective.predictions(up) - objective.predictions(down)) / (up[k] - down[k]))
    return np.column_stack(columns)


def _box_extent(v: np.ndarray, widths: np.ndarray) -> float:
    """Length of the longest segment along unit vector ``v`` that fits in a box of ``widths``."""
    parts = np.abs(v) > 1e-9
    return float(np.min(widths[parts] / np.abs(v[parts])))


def _combination(names: list[str], scales: list[str], v: np.ndarray) -> tuple[str, np.ndarray]:
    """The power product (log parameters) or weighted sum (linear ones) that eigenvector ``v`` measures."""
    w = v / v[np.argmax(np.abs(v))]
    terms = []
    for name, scale, e in zip(names, scales, w):
        if abs(e) < MEMBER:
            continue
        if scale == "log":
            terms.append(name if abs(e - 1) < 0.005 else f"{name}^{e:.2f}")
        else:
            terms.append(f"{e:.2f}*{name}" if abs(e - 1) >= 0.005 else name)
    joiner = " x " if all(s == "log" for s in scales) else " + "
    return joiner.join(terms), w


def flat_directions(objective, x: np.ndarray, sigma: float, level: float = 0.95) -> pd.DataFrame:
    """One row per eigen-direction of the Fisher information at ``x`` (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        kind (``flat`` or ``determined``), combination (the parameters as a power product or sum), parameters
        (those taking part), eigenvalue, halfwidth (Wald, on the optimiser's scale: decades for log parameters),
        box_extent, estimate (the combination's value at ``x``: the product for log parameters), lower, upper
        (Wald; NaN for a flat direction, whose value the data do not give).
    """
    from scipy.stats import chi2  # deferred: `import sim.cli` does not load SciPy

    params = objective.parameters
    names = [p.name for p in params]
    scales = [p.scale for p in params]
    widths = np.array([p.bounds[1] - p.bounds[0] for p in params])
    jac = sensitivities(objective, x)
    fim = jac.T @ jac / sigma ** 2
    values, vectors = np.linalg.eigh(fim)
    q = chi2.ppf(level, 1)
    rows = []
    for lam, v in zip(values, vectors.T):
        halfwidth = float(np.sqrt(q / lam)) if lam > 0 else np.inf
        extent = _box_extent(v, widths)
        text, w = _combination(names, scales, v)
        w = np.where(np.abs(w) >= MEMBER, w, 0.0)  # the combination printed is the one computed
        centre = float(w @ np.asarray(x))  # on the optimiser's scale: log10 of the product for log parameters
        span = halfwidth / float(np.max(np.abs(v)))  # the half-width of the combination w.x (w = v / max|v|)
        members = [n for n, e in zip(names, w) if abs(e) >= MEMBER]
        log = all(s == "log" for s in scales)
        flat = halfwidth > 0.5 * extent
        value = [centre, centre - span, centre + span]
        value = [math.nan] * 3 if flat else [10 ** v for v in value] if log else value  # a flat one has none
        rows.append({"kind": "flat" if flat else "determined", "combination": text,
                     "parameters": ", ".join(members), "eigenvalue": float(lam), "halfwidth": halfwidth,
                     "box_extent": extent, "estimate": value[0], "lower": value[1], "upper": value[2]})
    return pd.DataFrame(rows)


def confounded_sets(directions: pd.DataFrame) -> list[list[str]]:
    """The parameter sets of flat directions with two or more members (confounded parameters)."""
    return [row.parameters.split(", ") for row in directions.itertuples()
            if row.kind == "flat" and "," in row.parameters]
