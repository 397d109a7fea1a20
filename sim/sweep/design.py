"""Sweep designs over named factors, and the SALib sensitivity analyses that go with them.

Factors vary on a linear or log10 scale; every design is drawn in the unit cube (or SALib's sampler on the factor
scale) and mapped to the factor ranges, seeded. Grid: full factorial of each factor's points; ``lhs`` and
``sobol``: scipy.stats.qmc; ``saltelli`` (Sobol' indices) and ``morris`` (elementary effects): SALib.

References
----------
Saltelli A et al. (2010) Variance based sensitivity analysis of model output. Comput Phys Commun 181:259.
Morris MD (1991) Factorial sampling plans for preliminary computational experiments. Technometrics 33:161.
Herman J, Usher W (2017) SALib: an open-source Python library for sensitivity analysis. JOSS 2:97.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.errors import InvalidValueError

DESIGNS = ("grid", "lhs", "sobol", "saltelli", "morris")


@dataclass(frozen=True)
class Factor:
    """One varied input: ``low``..``high`` on a ``lin`` or ``log`` scale; ``points`` for a grid."""

    name: str
    low: float
    high: float
    scale: str = "lin"
    points: int = 5

    def __post_init__(self):
        if self.scale not in ("lin", "log"):
            raise InvalidValueError(f"Factor '{self.name}': 'scale' must be 'lin' or 'log'. Got {self.scale!r}.")
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise InvalidValueError(f"Factor '{self.name}': the range must be finite with low < high. "
                                    f"Got {self.low:g} to {self.high:g}.")
        if self.scale == "log" and self.low <= 0:
            raise InvalidValueError(f"Factor '{self.name}': a log range must be > 0. Got low = {self.low:g}.")
        if self.points < 2:
            raise InvalidValueError(f"Factor '{self.name}': a grid needs >= 2 points. Got {self.points}.")

    def bounds(self) -> tuple[float, float]:
        """Range on the sampling scale (log10 for log factors)."""
        return (math.log10(self.low), math.log10(self.high)) if self.scale == "log" else (self.low, self.high)

    def from_scale(self, x: np.ndarray) -> np.ndarray:
        """Sampling-scale values to factor values."""
        return 10.0 ** x if self.scale == "log" else x


def problem(factors: list[Factor]) -> dict:
    """The SALib problem dict (bounds on the sampling scale)."""
    return {"num_vars": len(factors), "names": [f.name for f in factors], "bounds": [list(f.bounds()) for f in factors]}


def make_design(factors: list[Factor], design: str = "grid", n: int = 64, seed: int = 0) -> pd.DataFrame:
    """Points of a design: one row per point (``point`` id from 0), one column per factor (factor units).

    ``n``: number of points for lhs/sobol, base sample size for saltelli (n * (d + 2) points) and number of
    trajectories for morris (n * (d + 1) points); ignored for grid.
    """
    if design not in DESIGNS:
        raise InvalidValueError(f"Unknown design '{design}'; use one of {', '.join(DESIGNS)}.")
    if not factors:
        raise InvalidValueError("A sweep needs at least one factor.")
    names = [f.name for f in factors]
    if len(set(names)) != len(names):
        raise InvalidValueError(f"Factor names must be unique. Got {', '.join(names)}.")
    if design != "grid" and n < 2:
        raise InvalidValueError(f"The design size 'n' must be >= 2. Got {n}.")
    lows = np.array([f.bounds()[0] for f in factors])
    spans = np.array([f.bounds()[1] for f in factors]) - lows
    if design == "grid":
        axes = [np.linspace(*f.bounds(), f.points) for f in factors]
        scaled = np.array(list(itertools.product(*axes)), dtype=float)
    elif design in ("lhs", "sobol"):
        from scipy.stats import qmc

        sampler = (qmc.LatinHypercube(len(factors), seed=seed) if design == "lhs"
                   else qmc.Sobol(len(factors), scramble=True, seed=seed))
        scaled = lows + spans * sampler.random(n)
    elif design == "saltelli":
        from SALib.sample import sobol

        scaled = sobol.sample(problem(factors), n, calc_second_order=False, seed=seed)
    else:
        from SALib.sample import morris

        scaled = morris.sample(problem(factors), n, seed=seed)
    table = pd.DataFrame({f.name: f.from_scale(scaled[:, i]) for i, f in enumerate(factors)})
    table.insert(0, "point", np.arange(len(table)))
    return table


def _nonzero_seed(seed: int) -> int:
    """A positive seed derived from ``seed``: SALib's ``sobol.analyze`` tests ``if seed:``, so seed 0 (our
    default) would silently fall back to the unseeded global RNG and the bootstrap CIs would change run to run."""
    return int(np.random.SeedSequence(seed).generate_state(1)[0]) or 1


def analyse(factors: list[Factor], design: str, points: pd.DataFrame, y: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """Sensitivity indices of readout ``y`` (one value per point, in point order) for a saltelli or morris design.

    Returns one row per factor: ``S1, S1_conf, ST, ST_conf`` (Sobol') or ``mu, mu_star, mu_star_conf, sigma``
    (Morris), with bootstrap confidence intervals seeded by ``seed``.
    """
    y = np.asarray(y, dtype=float)
    if design == "saltelli":
        from SALib.analyze import sobol

        res = sobol.analyze(problem(factors), y, calc_second_order=False, seed=_nonzero_seed(seed))
        cols = ("S1", "S1_conf", "ST", "ST_conf")
    elif design == "morris":
        from SALib.analyze import morris

        scaled = np.column_stack([np.log10(points[f.name]) if f.scale == "log" else points[f.name] for f in factors])
        res = morris.analyze(problem(factors), scaled, y, seed=seed)
        cols = ("mu", "mu_star", "mu_star_conf", "sigma")
    else:
        raise InvalidValueError(f"Sensitivity indices need a 'saltelli' or 'morris' design. Got {design!r}.")
    return pd.DataFrame({"factor": [f.name for f in factors], **{c: np.asarray(res[c], dtype=float) for c in cols}})
