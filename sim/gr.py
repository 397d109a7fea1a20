"""Growth-rate inhibition (GR) values and metrics, as the reference implementation computes them.

GR value at concentration c (Hafner et al. 2016, eq. 1)::

    GR(c) = 2 ** (log2(x(c)/x0) / log2(x_ctrl/x0)) - 1

with x0 the cell count at drug addition, x(c) the treated and x_ctrl the untreated count at the end of the assay.
GR = 1: no effect; 0: complete cytostasis; < 0: cell death. GR curves are fitted with the sigmoid::

    GR(c) = GRinf + (1 - GRinf) / (1 + (c / GEC50) ** h_GR)

and GR50 = GEC50 * ((1 - GRinf)/(0.5 - GRinf) - 1) ** (1/h_GR) when GRinf < 0.5 (+inf otherwise; not capped at
the highest dose). As in the reference implementation (datarail/gr_metrics, ``gr50`` Python module; see
:func:`fit_gr` for the details it fixes), the sigmoid is kept only if it beats a flat line in an F-test;
otherwise the curve is flat: GEC50 = 0, h_GR = 0.01, GRinf = the flat level and GR50 = +inf (level > 0.5) or
-inf.

References
----------
Hafner M, Niepel M, Chung M, Sorger PK (2016) Growth rate inhibition metrics correct for confounders in measuring
sensitivity to cancer drugs. Nat Methods 13:521-527. Reference implementation: github.com/datarail/gr_metrics.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from sim.errors import InvalidValueError

ALPHA = 0.05  # F-test threshold of the reference implementation


def gr_values(cells_end, cells_control, cells_start):
    """GR value per row from cell counts (arrays of equal length).

    As the reference implementation (``compute_gr_single``), each count ratio to time zero is floored at 1e-6
    before the log, and GR values are not capped. NaN where the control did not change from time zero.
    """
    x = np.asarray(cells_end, dtype=float)
    xc = np.asarray(cells_control, dtype=float)
    x0 = np.asarray(cells_start, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        log2nn = np.log2(np.maximum(x / x0, 1e-6))
        log2nn_ctrl = np.log2(np.maximum(xc / x0, 1e-6))
        out = 2.0 ** (log2nn / log2nn_ctrl) - 1.0
    return np.where(log2nn_ctrl != 0, out, np.nan)


def _sigmoid(c, grinf, log10_gec50, h):
    return grinf + (1.0 - grinf) / (1.0 + (c / 10.0 ** log10_gec50) ** h)


@dataclass
class GRFit:
    """GR metrics of one curve (reference implementation's names, lower case)."""

    gr50: float = math.nan
    grmax: float = math.nan
    grinf: float = math.nan
    gec50: float = math.nan
    h_gr: float = math.nan
    gr_aoc: float = math.nan
    r2_gr: float = math.nan
    pval_gr: float = math.nan
    gr_status: str = "not_fitted"

    def as_row(self) -> dict:
        """The metrics as one table row."""
        return asdict(self)


def _rss(params, fn, x, y) -> float:
    return float(np.sum((y - fn(x, *params)) ** 2))


def _flat(x, level):
    return np.full_like(x, level, dtype=float)


def fit_gr(conc, gr, alpha: float = ALPHA) -> GRFit:
    """Fit the GR sigmoid to one curve and compute GR50, GRmax, GRinf, GEC50, h_GR and GR_AOC.

    Follows the reference implementation (datarail/gr_metrics ``gr50._metrics``): every row is used (replicates
    included); the sigmoid is fitted by ``scipy.optimize.minimize`` (L-BFGS-B) on the sum of squares from
    GRinf = 0.1, GEC50 = median concentration, h = 2 within GRinf in [-1, 1], GEC50 in [min c/100, max c*100],
    h in [0.1, 5]; a flat line (level in [-1, 1]) is fitted the same way; the sigmoid is kept when the F-test
    with (2, n - 2) degrees of freedom gives p <= ``alpha``. GRmax is the smaller GR of the last two rows by
    concentration; GR_AOC is the trapezoid of 1 - GR over log10 concentration divided by the log10 range.

    Parameters
    ----------
    conc : array_like
        Concentrations > 0 (replicates as separate points).
    gr : array_like
        GR values.
    alpha : float
        F-test threshold for accepting the sigmoid over a flat line.

    Returns
    -------
    GRFit
        ``gr_status`` is ``sigmoid``, ``flat`` (F-test not significant or the fit failed) or ``too_few_points``.
    """
    from scipy import optimize, stats  # SciPy takes ~0.7 s to load: only when fitting, not for `import sim`
    c = np.asarray(conc, dtype=float).ravel()
    g = np.asarray(gr, dtype=float).ravel()
    if c.shape != g.shape:
        raise InvalidValueError(f"'conc' and 'gr' must have the same length. Got {c.size} and {g.size}.")
    keep = np.isfinite(g) & np.isfinite(c) & (c > 0)
    c, g = c[keep], g[keep]
    out = GRFit()
    if np.unique(c).size < 3 or c.size < 4:
        out.gr_status = "too_few_points"
        return out
    order = np.argsort(c, kind="stable")
    c, g = c[order], g[order]
    out.grmax = float(min(g[-2:]))
    log_c = np.log10(c)
    out.gr_aoc = float(np.trapezoid(1.0 - g, log_c) / (log_c.max() - log_c.min()))

    bounds = [(-1.0, 1.0), (math.log10(c.min() / 100.0), math.log10(c.max() * 100.0)), (0.1, 5.0)]
    prior = np.array([0.1, math.log10(np.median(c)), 2.0])
    sig = optimize.minimize(_rss, prior, args=(_sigmoid, c, g), bounds=bounds)
    flat = optimize.minimize(_rss, prior[[0]], args=(_flat, c, g), bounds=bounds[:1])
    n = c.size
    df1, df2 = 2, n - 2  # the reference's degrees of freedom (n - 2, not n - 3)
    rss2, rss1 = float(sig.fun), float(flat.fun)
    f_stat = ((rss1 - rss2) / df1) / (rss2 / df2) if rss2 > 0 else math.inf
    out.pval_gr = float(1.0 - stats.f.cdf(f_stat, df1, df2))
    tss = float(np.sum((g - g.mean()) ** 2))
    if out.pval_gr > alpha or not sig.success:
        level = float(flat.x[0])
        out.gr50 = math.inf if level > 0.5 else -math.inf
        out.grinf, out.gec50, out.h_gr = level, 0.0, 0.01
        out.r2_gr = 1.0 - rss1 / tss if tss > 0 else math.nan
        out.gr_status = "flat"
        return out
    grinf, log10_gec50, h = (float(v) for v in sig.x)
    out.grinf, out.gec50, out.h_gr = grinf, 10.0 ** log10_gec50, h
    if grinf < 0.5:  # the reference's inverse (grinf == 0.5 exactly never reaches 0.5: +inf, not 0/0)
        out.gr50 = float(out.gec50 * ((0.5 - 1.0) / (grinf - 0.5)) ** (1.0 / h))
    else:
        out.gr50 = math.inf
    out.r2_gr = 1.0 - rss2 / tss if tss > 0 else math.nan
    out.gr_status = "sigmoid"
    return out


def gr_curve(conc, fit) -> np.ndarray:
    """The fitted GR sigmoid at ``conc`` for a :class:`GRFit` or a row with its columns."""
    get = fit.get if hasattr(fit, "get") else lambda k, d=None: getattr(fit, k, d)
    grinf, gec50, h = get("grinf"), get("gec50"), get("h_gr")
    c = np.asarray(conc, dtype=float)
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (grinf, gec50, h)) or gec50 <= 0:
        return np.full_like(c, grinf if isinstance(grinf, (int, float)) else np.nan)
    return grinf + (1.0 - grinf) / (1.0 + (c / gec50) ** h)
