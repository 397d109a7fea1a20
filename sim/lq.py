"""Linear-quadratic (LQ) fits of clonogenic survival, isoeffective doses and dose-modifying factors.

For ``n`` fractions of ``d`` Gy with full repair between fractions the LQ model gives the surviving fraction::

    SF = exp(-n * (alpha * d + beta * d**2))

(Hall & Giaccia; Joiner & van der Kogel). SF is the colony count over the cells seeded, divided by the plating
efficiency of the unirradiated control, so SF(0) = 1 and the model has no intercept (Franken et al. 2006).
``fit_lq`` fits ``-ln SF`` by linear least squares in (alpha, beta) with alpha, beta >= 0; ``fit_lq_counts`` fits
the colony counts themselves by Poisson quasi-likelihood with one fitted plating efficiency per experiment (Frome &
Beauchamp 1968), as the R package CFAssay does by default (Braselmann et al. 2015).

The *dose-modifying factor* (DMF) is the ratio of isoeffective doses: the dose that gives a stated survival (say
SF = 0.1) with a modifier over the dose that gives it without, the measure of radiosensitisers and radioprotectors
(Hall & Giaccia; Joiner & van der Kogel). Here the modifier is the CAF-EV exposure, so a DMF above 1 is
radioresistance. A modifier that acts purely on dose (SF_with(D) = SF_without(D / DMF)) scales alpha by 1/DMF
and beta by 1/DMF**2; one that scales alpha and beta alike gives a DMF that depends on the survival level.

References
----------
Hall EJ, Giaccia AJ. Radiobiology for the Radiologist, 8th ed. Wolters Kluwer, 2019.
Joiner MC, van der Kogel AJ (eds). Basic Clinical Radiobiology, 5th ed. CRC Press, 2018.
Franken NAP, Rodermond HM, Stap J, Haveman J, van Bree C (2006) Clonogenic assay of cells in vitro. Nat Protoc
1:2315-2319.
Frome EL, Beauchamp JJ (1968) Maximum likelihood estimation of survival curve parameters. Biometrics 24:595-605.
Braselmann H, Michna A, Hess J, Unger K (2015) CFAssay: statistical analysis of the colony formation assay. Radiat
Oncol 10:223.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from sim.errors import InvalidValueError

SF_MAX = 1.5  # a surviving fraction above this is a normalisation error, not biology


@dataclass(frozen=True)
class LQFit:
    """One LQ fit: alpha (1/Gy), beta (1/Gy^2), their standard errors, alpha/beta (Gy; nan unless beta > 0), SF at
    one 2-Gy fraction, ``status`` ("ok", "too_few_doses", "no_decline", "not_converged") and ``n`` points used."""

    alpha: float = math.nan
    beta: float = math.nan
    alpha_se: float = math.nan
    beta_se: float = math.nan
    alpha_beta: float = math.nan
    sf2: float = math.nan
    status: str = "not_fitted"
    n: int = 0

    def as_row(self) -> dict:
        """The fit as one table row."""
        return {"alpha": self.alpha, "alpha_se": self.alpha_se, "beta": self.beta, "beta_se": self.beta_se,
                "alpha_beta": self.alpha_beta, "sf2": self.sf2, "lq_status": self.status, "lq_n": self.n}

    @classmethod
    def from_row(cls, row) -> "LQFit":
        """The fit back from a row written by :meth:`as_row` (a dict or a pandas Series)."""
        return cls(alpha=float(row["alpha"]), beta=float(row["beta"]), alpha_se=float(row["alpha_se"]),
                   beta_se=float(row["beta_se"]), alpha_beta=float(row["alpha_beta"]), sf2=float(row["sf2"]),
                   status=str(row["lq_status"]), n=int(row["lq_n"]))


def _fractions(fractions) -> int:
    try:
        whole = not isinstance(fractions, bool) and float(fractions).is_integer() and fractions >= 1
    except (TypeError, ValueError):
        whole = False
    if not whole:
        raise InvalidValueError(f"'fractions' must be a whole number >= 1. Got {fractions!r}.")
    return int(fractions)


def _array(name: str, values, size: int | None = None) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    if size is not None and x.size != size:
        raise InvalidValueError(f"'{name}' must have one value per dose ({size}). Got {x.size}.")
    if not np.all(np.isfinite(x)):
        raise InvalidValueError(f"Every '{name}' must be a finite number. Got {x[~np.isfinite(x)][0]}.")
    return x


def _result(coef: np.ndarray, se: np.ndarray, n: int, status: str) -> LQFit:
    alpha, beta = (float(v) for v in coef)
    if status == "ok" and alpha == beta == 0.0:
        status = "no_decline"
    return LQFit(alpha=alpha, beta=beta, alpha_se=float(se[0]), beta_se=float(se[1]),
                 alpha_beta=alpha / beta if beta > 0 else math.nan, sf2=math.exp(-2 * alpha - 4 * beta),
                 status=status, n=n)


def fit_lq(doses_gy, surviving_fraction, fractions=1, weights=None) -> LQFit:
    """Fit the LQ model to surviving fractions by least squares on ``-ln SF`` with alpha, beta >= 0.

    Minimises ``sum w_i * (-ln SF_i - n * (alpha d_i + beta d_i**2))**2`` with ``scipy.optimize.nnls`` (unweighted,
    the textbook form, unless ``weights`` are given, e.g. ``colonies * cells / (cells - colonies)``, CFAssay's
    "franken" weighting).
    Standard errors are ``sqrt(diag(s**2 (X^T W X)^-1))`` with ``s**2`` the weighted residual sum of squares over
    ``n - p`` degrees of freedom, ``p`` the number of coefficients not at their bound. A coefficient held at its
    bound 0 has SE nan and the other's SE is that of the one-coefficient model; with no degrees of freedom left
    both SEs are nan.

    Parameters
    ----------
    doses_gy : array_like
        Dose per fraction (Gy, >= 0). Dose-0 points are the SF = 1 anchor of the normalisation and are not fitted.
    surviving_fraction : array_like
        Surviving fraction at each dose, in (0, 1.5]; replicates are separate points.
    fractions : int
        Number of equal fractions each point received (full repair between them).
    weights : array_like, optional
        Non-negative weight of each point (inverse variance of its ``ln SF`` up to a common factor).

    Returns
    -------
    LQFit
        Never raises for data that cannot be fitted: ``status`` is "too_few_doses" (fewer than 2 distinct nonzero
        doses) or "no_decline" (alpha = beta = 0: survival does not fall with dose).

    Raises
    ------
    InvalidValueError
        Non-finite values, a negative dose, SF outside (0, 1.5], negative weights or lengths that differ.
    """
    from scipy import optimize  # SciPy takes ~0.7 s to load: only when fitting, not for `import sim`
    n_fr = _fractions(fractions)
    d = _array("doses_gy", doses_gy)
    sf = _array("surviving_fraction", surviving_fraction, d.size)
    w = np.ones_like(d) if weights is None else _array("weights", weights, d.size)
    if np.any(d < 0):
        raise InvalidValueError(f"Every 'doses_gy' must be >= 0 Gy. Got {d[d < 0][0]}.")
    bad = (sf <= 0) | (sf > SF_MAX)
    if np.any(bad):
        raise InvalidValueError(f"Every 'surviving_fraction' must be in (0, {SF_MAX}]. Got {sf[bad][0]}.")
    if np.any(w < 0):
        raise InvalidValueError(f"Every weight must be >= 0. Got {w[w < 0][0]}.")
    keep = (d > 0) & (w > 0)
    d, y, sw = d[keep], -np.log(sf[keep]), np.sqrt(w[keep])
    if np.unique(d).size < 2:
        return LQFit(status="too_few_doses", n=int(d.size))
    x = n_fr * np.column_stack([d, d * d]) * sw[:, None]
    coef, _ = optimize.nnls(x, y * sw)
    free = coef > 0
    se = np.full(2, math.nan)
    df = d.size - int(free.sum())
    if free.any() and df > 0:
        s2 = float(np.sum((y * sw - x @ coef) ** 2)) / df
        se[free] = np.sqrt(s2 * np.diag(np.linalg.inv(x[:, free].T @ x[:, free])))
    return _result(coef, se, int(d.size), "ok")


def _poisson_glm(x: np.ndarray, y: np.ndarray, offset: np.ndarray):
    """Poisson log-link fit by iteratively reweighted least squares (R's glm.fit): coefficients, mu, or None."""
    mu = y + 0.1  # R's poisson()$initialize
    eta, dev = np.log(mu), math.inf
    for _ in range(100):
        z, sw = eta - offset + (y - mu) / mu, np.sqrt(mu)
        coef, _, rank, _ = np.linalg.lstsq(x * sw[:, None], z * sw, rcond=None)
        if rank < x.shape[1]:
            return None
        eta = offset + x @ coef
        mu = np.exp(np.minimum(eta, 700.0))
        new = 2.0 * float(np.sum(np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0) - (y - mu)))
        if abs(new - dev) / (abs(new) + 0.1) < 1e-12:
            return coef, mu, new
        dev = new
    return None


def fit_lq_counts(doses_gy, colonies, cells_seeded, experiment=None, fractions=1) -> LQFit:
    """Fit the LQ model to colony counts by Poisson quasi-likelihood, one plating efficiency per experiment.

    The counts are modelled as ``E[colonies] = cells * PE_e * exp(-n (alpha d + beta d**2))`` with a log-link
    Poisson GLM whose intercepts ``ln PE_e`` are fitted (one per ``experiment``; the dose-0 rows are data like the
    others): CFAssay's ``cellsurvLQfit(X, method="ml", PEmethod="fit")``. Standard errors are quasi-Poisson: the
    GLM's ``(X^T W X)^-1`` times the dispersion, Pearson's chi-squared over ``rows - parameters``. alpha, beta >= 0
    are enforced by fitting every combination of them held at 0 and keeping the best feasible fit (exact: the
    likelihood is concave); a coefficient held at 0 has SE nan.

    Parameters
    ----------
    doses_gy, colonies, cells_seeded : array_like
        One row per dish or flask: dose per fraction (Gy, >= 0), colonies counted (>= 0), cells seeded (> 0).
    experiment : array_like, optional
        Label of each row's replicate experiment (its own plating efficiency); one experiment when omitted.
    fractions : int
        Number of equal fractions each row received.

    Returns
    -------
    LQFit
        ``status`` as :func:`fit_lq`, or "not_converged" when the GLM does not converge or is singular.

    Raises
    ------
    InvalidValueError
        Non-finite values, a negative dose or count, cells seeded <= 0 or lengths that differ.
    """
    n_fr = _fractions(fractions)
    d = _array("doses_gy", doses_gy)
    y, cells = _array("colonies", colonies, d.size), _array("cells_seeded", cells_seeded, d.size)
    if np.any(d < 0) or np.any(y < 0) or np.any(cells <= 0):
        raise InvalidValueError("Every dose and colony count must be >= 0 and every 'cells_seeded' > 0. Got "
                                f"min dose {d.min()}, min colonies {y.min()}, min cells {cells.min()}.")
    labels = np.zeros(d.size, dtype=int) if experiment is None else np.asarray(experiment).ravel()
    if labels.size != d.size:
        raise InvalidValueError(f"'experiment' must have one label per dose ({d.size}). Got {labels.size}.")
    if np.unique(d[d > 0]).size < 2:
        return LQFit(status="too_few_doses", n=int(d.size))
    _, exp_index = np.unique(labels, return_inverse=True)
    intercepts = (exp_index[:, None] == np.arange(exp_index.max() + 1)).astype(float)
    shape = -n_fr * np.column_stack([d, d * d])
    best = None
    for free in itertools.product((True, False), repeat=2):
        cols = np.array(free)
        fit = _poisson_glm(np.column_stack([intercepts, shape[:, cols]]), y, np.log(cells))
        if fit is None:
            continue
        coef = np.zeros(2)
        coef[cols] = fit[0][intercepts.shape[1]:]
        if np.all(coef >= 0) and (best is None or fit[2] < best[0] - 1e-9):
            best = (fit[2], coef, cols, fit[1])
    if best is None:
        return LQFit(status="not_converged", n=int(d.size))
    _, coef, cols, mu = best
    x = np.column_stack([intercepts, shape[:, cols]])
    df = d.size - x.shape[1]
    se = np.full(2, math.nan)
    if cols.any() and df > 0:
        dispersion = float(np.sum((y - mu) ** 2 / mu)) / df
        cov = dispersion * np.linalg.inv(x.T @ (x * mu[:, None]))
        se[cols] = np.sqrt(np.diag(cov)[intercepts.shape[1]:])
    return _result(coef, se, int(d.size), "ok")


def dose_at_sf(fit: LQFit, sf: float, fractions=1) -> float:
    """Total dose (Gy) in ``fractions`` equal fractions at which the fitted curve reaches surviving fraction ``sf``.

    The positive root of ``n (alpha d + beta d**2) = -ln sf`` in the cancellation-free form
    ``d = 2E / (alpha + sqrt(alpha**2 + 4 beta E))`` with ``E = -ln(sf) / n``; returns ``n * d``. nan when the fit
    is not "ok".
    """
    n_fr = _fractions(fractions)
    if not (math.isfinite(sf) and 0 < sf <= 1):
        raise InvalidValueError(f"'sf' must be a surviving fraction in (0, 1]. Got {sf!r}.")
    if fit.status != "ok":
        return math.nan
    e = -math.log(sf) / n_fr
    if e == 0:
        return 0.0
    return n_fr * 2.0 * e / (fit.alpha + math.sqrt(fit.alpha ** 2 + 4.0 * fit.beta * e))


def dose_modifying_factor(fit_with: LQFit, fit_without: LQFit, sf: float = 0.1, fractions=1) -> float:
    """Isoeffective-dose ratio ``dose_at_sf(fit_with) / dose_at_sf(fit_without)`` at ``sf`` (> 1: the modifier
    protects, i.e. radioresistance); nan when either fit is not "ok" or ``sf`` is 1."""
    with_, without = dose_at_sf(fit_with, sf, fractions), dose_at_sf(fit_without, sf, fractions)
    return with_ / without if without > 0 else math.nan
