"""Synergy over a dose matrix of two agents: Bliss, HSA, Loewe and ZIP, with SynergyFinder's conventions.

The input is a matrix of % inhibition (:func:`inhibition_from_viability` converts a viability) over the doses of
agent 1 (rows) and agent 2 (columns); row 0 and column 0 hold the zero doses, so column 0 is agent 1 alone and row 0
agent 2 alone. Each model gives an expected (non-interaction) response ``y_e``; the delta is observed minus expected,
in % inhibition, so a positive delta is synergy (the sign of :mod:`sim.screen.synergy`'s excesses). As SynergyFinder:

- **HSA** (Gaddum's highest single agent; Berenbaum 1989): ``y_e = max(y1, y2)``, the observed single agents.
- **Bliss** (Bliss 1939): ``y_e = y1 + y2 - y1 y2 / 100``, the observed single agents.
- **Loewe** (Loewe 1953; Berenbaum 1989): ``y_e`` solves ``d1 / D1(y_e) + d2 / D2(y_e) = 1``, with ``D_k(y)`` the dose
  of agent k alone giving y on its 4-parameter log-logistic fit (drc's LL.4, :func:`sim.fit.fit_ll4`). It is solved
  exactly (bracketed on a grid, then Brent's method) over the responses both fitted curves reach, as SynergyFinder
  2's ``CalculateLoewe`` solves it with a Newton iteration (``nleqslv``; SynergyFinder 3 takes the best of 100 grid
  values instead). Where no such y solves it, SynergyFinder's fallback: the larger of the two fitted curves at the
  total dose ``d1 + d2`` (doses added as they are, whatever their units), and ``loewe_fallback`` marks the cell. A
  value above 100 is set to 100.
- **ZIP** (Yadav et al. 2015): the reference is Bliss of the *fitted* single agents; the observed surface is smoothed
  by refitting, at each fixed dose of one agent, the responses along the other agent's doses (its zero dose
  included) with a 4PL whose zero-dose end is fixed at the observed response there, the other three parameters free
  (if that fit fails, the far plateau is fixed at 100 as well); the two directions are averaged, and delta = fitted -
  reference. This follows SynergyFinder 3: it reproduces 3 of the 5 ZIP-fitted values its vignette prints, where
  SynergyFinder 2's ``CalculateZIP`` (doses > 0 only, the bottom fixed at the other agent's *fitted* response, the
  top at 100) reproduces none (tests/data/synergy/README.md). For Bliss-independent agents with 4PL single agents
  every slice is itself such a 4PL and the ZIP delta is 0, whatever the agents' maximal effects; with only 3 doses
  > 0 per agent the refits interpolate and ZIP equals Bliss of the fitted single agents.

Cells with a zero dose (the single agents) have delta 0 and expected = observed in every model. The **synergy
score** of a model is, as SynergyFinder's summary, the mean of its delta over the combination cells only, i.e. the
(n1 - 1) x (n2 - 1) cells with both doses > 0 (no single-agent cell is averaged).

References
----------
Bliss CI (1939) The toxicity of poisons applied jointly. Ann Appl Biol 26:585-615.
Loewe S (1953) The problem of synergism and antagonism of combined drugs. Arzneimittelforschung 3:285-290.
Berenbaum MC (1989) What is synergy? Pharmacol Rev 41:93-141.
Yadav B, Wennerberg K, Aittokallio T, Tang J (2015) Searching for drug synergy in complex dose-response landscapes
using an interaction potency model. Comput Struct Biotechnol J 13:504-513.
Ianevski A, He L, Aittokallio T, Tang J (2017) SynergyFinder: a web application for analyzing drug combination
dose-response matrix data. Bioinformatics 33:2413-2415.
Ianevski A, Giri AK, Aittokallio T (2020) SynergyFinder 2.0: visual analytics of multi-drug combination synergies.
Nucleic Acids Res 48:W488-W493.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.errors import InvalidValueError
from sim.fit import fit_ll4, ll4

MODELS = ("bliss", "hsa", "loewe", "zip")
MIN_NONZERO_DOSES = 3  # a 4PL per agent: its zero dose and >= 3 doses give >= 4 points for 4 parameters
LOEWE_GRID = 400  # responses tried between the curves' common range ends before Brent's method refines a root
EC50_DECADES = 3.0  # a fitted EC50 stays within 3 decades of the tested doses (beyond, the data cannot tell)
SLOPES = (0.05, 100.0)  # the range of 4PL slopes fitted (steeper is a step between two doses)
ZIP_TOP = 100.0  # SynergyFinder 2's Emax: the far plateau of a ZIP slice when its free fit fails


def inhibition_from_viability(viability, scale: float = 1.0) -> np.ndarray:
    """% inhibition from a viability given as a fraction (``scale`` 1) or in % (``scale`` 100): ``100 (1 - v/scale)``
    (SynergyFinder's ``100 - % viability``)."""
    return 100.0 * (1.0 - np.asarray(viability, dtype=float) / scale)


@dataclass(frozen=True)
class Curve:
    """A fitted single-agent 4PL in % inhibition: ``y0`` at dose 0, ``yinf`` at infinite dose, ``ec50`` the dose
    halfway between them and ``slope`` > 0 (drc's LL.4 with b = -slope, c = y0, d = yinf, e = ec50)."""

    y0: float
    yinf: float
    ec50: float
    slope: float
    how: str = "fit_ll4"

    def __call__(self, dose):
        return ll4(dose, -self.slope, self.y0, self.yinf, self.ec50)

    def dose_at(self, y):
        """The dose giving response ``y`` (NaN outside the open range between ``y0`` and ``yinf``)."""
        y = np.asarray(y, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (y - self.y0) / (self.yinf - y)
            return np.where(ratio > 0, self.ec50 * ratio ** (1.0 / self.slope), np.nan)

    def as_row(self) -> dict:
        return {"y0": self.y0, "yinf": self.yinf, "ec50": self.ec50, "slope": self.slope, "fit": self.how}


def _least_squares(x: np.ndarray, y: np.ndarray, fixed: dict) -> Curve | None:
    """A 4PL least-squares fit of ``y`` on doses ``x`` with the parameters in ``fixed`` (``y0``, ``yinf``) held; the
    best of several starts (Levenberg-Marquardt on y0, yinf, log ec50, log slope)."""
    from scipy import optimize  # loaded only when fitting, as sim.fit

    names = [n for n in ("y0", "yinf", "log_ec50", "log_slope") if n not in fixed]
    if len(x) < len(names):
        return None
    pos = x[x > 0]
    lo, hi = float(np.min(y)), float(np.max(y))
    rising = np.polyfit(np.log(pos), y[x > 0], 1)[0] >= 0 if np.ptp(pos) > 0 else True
    guess = {"y0": lo if rising else hi, "yinf": hi if rising else lo}
    lx = np.log(np.where(x > 0, x, 1.0))

    def unpack(t) -> tuple[float, float, float, float]:
        p = {**fixed, **dict(zip(names, t))}
        return p["y0"], p["yinf"], p["log_ec50"], math.exp(min(p["log_slope"], 700.0))

    def sigmoid(t) -> np.ndarray:  # 0 at dose 0, 1 at infinite dose
        _, _, le, h = unpack(t)
        return np.where(x > 0, 1.0 / (1.0 + np.exp(np.clip(h * (le - lx), -700, 700))), 0.0)

    def residual(t) -> np.ndarray:
        y0, yinf, _, _ = unpack(t)
        return y0 + (yinf - y0) * sigmoid(t) - y

    def jacobian(t) -> np.ndarray:  # analytic, per free parameter
        y0, yinf, le, h = unpack(t)
        s = sigmoid(t)
        slope = -(yinf - y0) * s * (1.0 - s) * h
        cols = {"y0": 1.0 - s, "yinf": s, "log_ec50": slope, "log_slope": slope * (le - lx)}
        return np.column_stack([cols[n] for n in names])

    spread = max(float(np.ptp(y)), 1.0)
    bounds = {"y0": (lo - 10 * spread, hi + 10 * spread), "yinf": (lo - 10 * spread, hi + 10 * spread),
              "log_ec50": (math.log(pos.min()) - EC50_DECADES * math.log(10), math.log(pos.max()) + EC50_DECADES *
                           math.log(10)), "log_slope": (math.log(SLOPES[0]), math.log(SLOPES[1]))}
    box = ([bounds[n][0] for n in names], [bounds[n][1] for n in names])
    best, tss = None, float(np.sum((y - y.mean()) ** 2))
    for ec50, slope in itertools.product(np.geomspace(pos.min(), pos.max(), 3), (1.0, 3.0)):
        if best is not None and 2 * best.cost <= 1e-20 * max(tss, 1.0):
            break  # an exact fit (noise-free curves): no other start can do better
        start = {**guess, "log_ec50": math.log(ec50), "log_slope": math.log(slope)}
        t0 = np.clip([start[n] for n in names], box[0], box[1])
        try:
            with np.errstate(all="ignore"):
                res = optimize.least_squares(residual, t0, jac=jacobian, bounds=box, method="trf", x_scale="jac",
                                             xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=400)
        except (ValueError, FloatingPointError, OverflowError):
            continue
        if np.all(np.isfinite(res.x)) and np.isfinite(res.cost) and (best is None or res.cost < best.cost):
            best = res
    if best is None:
        return None
    p = {**fixed, **dict(zip(names, best.x))}
    return Curve(float(p["y0"]), float(p["yinf"]), math.exp(p["log_ec50"]), math.exp(min(p["log_slope"], 700.0)),
                 "least_squares" + (f" ({', '.join(f'{k} = {v:g}' for k, v in fixed.items())} fixed)" if fixed
                                    else ""))


def fit_single_agent(doses, response) -> Curve:
    """The 4PL of one agent alone (doses with their zero; % inhibition), as SynergyFinder's ``FitDoseResponse``
    (drc's LL.4, all four parameters free): :func:`sim.fit.fit_ll4` (drc-compatible), else, with too few points
    for it or no convergence, a plain least-squares fit.

    Raises
    ------
    InvalidValueError
        Neither fit converges.
    """
    x, y = np.asarray(doses, dtype=float), np.asarray(response, dtype=float)
    fit = fit_ll4(x, y, response_at=50.0)
    if fit.status not in ("too_few_points", "not_converged") and all(
            math.isfinite(v) for v in (fit.hill, fit.bottom, fit.top, fit.ic50)):
        rising = fit.hill < 0  # drc's b < 0: from c at dose 0 up to d
        return Curve(fit.bottom if rising else fit.top, fit.top if rising else fit.bottom, fit.ic50, abs(fit.hill))
    curve = _least_squares(x, y, {})
    if curve is None:
        raise InvalidValueError(f"No 4PL fits the single agent's responses {np.round(y, 4).tolist()} at doses "
                                f"{x.tolist()}.")
    return curve


def loewe_expected(d1: float, d2: float, curve1: Curve, curve2: Curve) -> tuple[float, bool]:
    """The Loewe-additive response of doses ``d1``, ``d2`` (both > 0) and whether it is SynergyFinder's fallback.

    Solves ``d1 / D1(y) + d2 / D2(y) = 1`` over the open range of responses both curves reach; the first root from
    the low end (the only one when both curves rise). Without one, the larger of ``curve1(d1 + d2)`` and
    ``curve2(d1 + d2)`` (SynergyFinder's fallback). Capped at 100.
    """
    from scipy.optimize import brentq

    lo = max(min(curve1.y0, curve1.yinf), min(curve2.y0, curve2.yinf))
    hi = min(max(curve1.y0, curve1.yinf), max(curve2.y0, curve2.yinf))

    def excess(y):
        return d1 / curve1.dose_at(y) + d2 / curve2.dose_at(y) - 1.0

    y = None
    if hi > lo:
        grid = lo + (hi - lo) * np.linspace(0.0, 1.0, LOEWE_GRID + 2)[1:-1]
        with np.errstate(all="ignore"):
            values = excess(grid)
        ok = np.isfinite(values)
        signs = np.sign(values)
        for k in range(len(grid) - 1):
            if ok[k] and ok[k + 1] and signs[k] != signs[k + 1]:
                y = float(grid[k]) if values[k] == 0 else float(brentq(excess, grid[k], grid[k + 1], xtol=1e-12,
                                                                       rtol=1e-14, maxiter=500))
                break
    fallback = y is None
    if fallback:
        y = max(float(curve1(d1 + d2)), float(curve2(d1 + d2)))
    return min(y, 100.0), fallback


def _zip_slice(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """One row or column of the ZIP surface: the 4PL refit with its zero-dose end fixed at the observed ``y[0]``."""
    for fixed in ({"y0": float(y[0])}, {"y0": float(y[0]), "yinf": ZIP_TOP}):
        curve = _least_squares(x, y, fixed)
        if curve is not None:
            return curve(x)
    return y.copy()


@dataclass
class MatrixSynergy:
    """Expected responses, deltas and scores of the four models over one dose matrix (:func:`matrix_synergy`).

    Attributes
    ----------
    doses1, doses2 : ndarray
        Doses of agent 1 (rows) and agent 2 (columns), each starting at 0.
    response : ndarray
        Observed % inhibition, shape (n1, n2).
    curve1, curve2 : Curve
        The single agents' 4PL fits.
    expected, delta : dict of ndarray
        Per model (``MODELS``); delta = observed - expected (ZIP: refitted - expected), 0 where a dose is 0.
    zip_fitted : ndarray
        The ZIP-smoothed observed surface.
    loewe_fallback : ndarray of bool
        Cells whose Loewe equation has no solution (SynergyFinder's fallback used).
    """

    doses1: np.ndarray
    doses2: np.ndarray
    response: np.ndarray
    curve1: Curve
    curve2: Curve
    expected: dict = field(default_factory=dict)
    delta: dict = field(default_factory=dict)
    zip_fitted: np.ndarray | None = None
    loewe_fallback: np.ndarray | None = None

    def score(self, model: str) -> float:
        """SynergyFinder's summary: the mean delta over the combination cells (both doses > 0)."""
        return float(np.mean(self.delta[model][1:, 1:]))

    def scores(self) -> pd.DataFrame:
        """One row per model: ``score`` (mean delta over the ``cells`` combination cells, % inhibition), the most
        synergistic cell (``max_delta`` at ``dose1_at_max``, ``dose2_at_max``) and the least (``min_delta``)."""
        rows = []
        for m in MODELS:
            inner = self.delta[m][1:, 1:]
            i, j = np.unravel_index(int(np.argmax(inner)), inner.shape)
            rows.append({"model": m, "score": self.score(m), "cells": int(inner.size), "max_delta": float(inner[i, j]),
                         "dose1_at_max": float(self.doses1[i + 1]), "dose2_at_max": float(self.doses2[j + 1]),
                         "min_delta": float(inner.min()),
                         "loewe_fallback_cells": int(self.loewe_fallback[1:, 1:].sum()) if m == "loewe" else 0})
        return pd.DataFrame(rows)

    def table(self) -> pd.DataFrame:
        """Tidy: one row per dose pair with the response, then ``expected_<model>`` and ``delta_<model>`` for each
        model, ``zip_fitted`` and ``loewe_fallback``."""
        i, j = np.meshgrid(np.arange(len(self.doses1)), np.arange(len(self.doses2)), indexing="ij")
        i, j = i.ravel(), j.ravel()
        out = {"dose1": self.doses1[i], "dose2": self.doses2[j], "inhibition_pct": self.response[i, j]}
        for m in MODELS:
            out[f"expected_{m}"] = self.expected[m][i, j]
            out[f"delta_{m}"] = self.delta[m][i, j]
        out["zip_fitted"] = self.zip_fitted[i, j]
        out["loewe_fallback"] = self.loewe_fallback[i, j]
        return pd.DataFrame(out)


def _check_doses(label: str, doses) -> np.ndarray:
    d = np.asarray(doses, dtype=float)
    if d.ndim != 1 or not np.all(np.isfinite(d)) or np.any(d < 0):
        raise InvalidValueError(f"The '{label}' must be finite doses >= 0. Got {d.tolist()}.")
    if d[0] != 0 or np.any(np.diff(d) <= 0):
        raise InvalidValueError(f"The '{label}' must start at 0 (the single agents) and increase. Got {d.tolist()}.")
    if d.size - 1 < MIN_NONZERO_DOSES:
        raise InvalidValueError(f"The '{label}' need >= {MIN_NONZERO_DOSES} doses > 0 (a 4-parameter fit of the "
                                f"agent alone). Got {d.size - 1}: {d.tolist()}.")
    return d


def matrix_synergy(doses1, doses2, response, response_kind: str = "inhibition") -> MatrixSynergy:
    """Bliss, HSA, Loewe and ZIP over one dose matrix, with SynergyFinder's conventions (module docstring).

    Parameters
    ----------
    doses1, doses2 : array_like
        Increasing doses of agent 1 (rows) and agent 2 (columns), each starting at 0, with >= 3 doses > 0.
    response : array_like
        Shape (len(doses1), len(doses2)): % inhibition, or viability with ``response_kind``.
    response_kind : {"inhibition", "viability", "viability_pct"}
        % inhibition; viability as a fraction of the untreated wells; or viability in %.

    Returns
    -------
    MatrixSynergy

    Raises
    ------
    InvalidValueError
        Negative, unsorted or too few doses, a matrix of another shape or with non-finite values.
    """
    d1, d2 = _check_doses("doses1", doses1), _check_doses("doses2", doses2)
    scales = {"inhibition": None, "viability": 1.0, "viability_pct": 100.0}
    if response_kind not in scales:
        raise InvalidValueError(f"The 'response_kind' must be one of {', '.join(scales)}. Got '{response_kind}'.")
    r = np.asarray(response, dtype=float)
    if r.shape != (d1.size, d2.size) or not np.all(np.isfinite(r)):
        raise InvalidValueError(f"The 'response' must be a finite {d1.size} x {d2.size} matrix (doses1 x doses2). "
                                f"Got shape {r.shape}.")
    if scales[response_kind]:
        r = inhibition_from_viability(r, scales[response_kind])
    c1, c2 = fit_single_agent(d1, r[:, 0]), fit_single_agent(d2, r[0, :])
    y1, y2 = r[:, [0]], r[[0], :]
    expected = {"hsa": np.maximum(y1, y2), "bliss": y1 + y2 - y1 * y2 / 100.0}
    loewe, fallback = r.copy(), np.zeros(r.shape, dtype=bool)
    for i in range(1, d1.size):
        for j in range(1, d2.size):
            loewe[i, j], fallback[i, j] = loewe_expected(d1[i], d2[j], c1, c2)
    expected["loewe"] = loewe
    f1, f2 = c1(d1)[:, None], c2(d2)[None, :]
    expected["zip"] = f1 + f2 - f1 * f2 / 100.0
    along1 = np.column_stack([_zip_slice(d1, r[:, j]) for j in range(d2.size)])  # agent 2 fixed, agent 1 varies
    along2 = np.vstack([_zip_slice(d2, r[i, :]) for i in range(d1.size)])  # agent 1 fixed, agent 2 varies
    fitted = (along1 + along2) / 2.0
    result = MatrixSynergy(d1, d2, r, c1, c2, zip_fitted=fitted, loewe_fallback=fallback)
    for m in MODELS:
        observed = fitted if m == "zip" else r
        exp = expected[m].copy()
        exp[0, :], exp[:, 0] = r[0, :], r[:, 0]  # single agents: delta 0 (SynergyFinder)
        delta = observed - exp
        delta[0, :] = delta[:, 0] = 0.0
        result.expected[m], result.delta[m] = exp, delta
    return result
