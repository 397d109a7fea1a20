"""Four-parameter log-logistic dose-response fits, drc-compatible, with standard errors and trust flags.

The model is drc's ``LL.4`` (Ritz et al. 2015)::

    f(x) = c + (d - c) / (1 + exp(b * (log(x) - log(e))))

with ``b`` the Hill slope (positive for a decreasing curve, drc's sign convention), ``c`` the bottom, ``d`` the top
and ``e`` the inflection point (the *relative* IC50, halfway between bottom and top). Parameters are estimated by
least squares (scipy), standard errors as drc's default: ``sigma^2 * (H/2)^-1`` where ``H`` is the Hessian of the
residual sum of squares at the optimum and ``sigma^2 = RSS/(n - 4)``; 95% confidence intervals are Wald intervals
with the t quantile on ``n - 4`` degrees of freedom (drc's ``confint``).

The *absolute* IC50 — the dose where the fitted curve crosses 0.5, what a viability assay normalised to its
drug-free control calls the IC50 (Sebaugh 2011) — is reported beside ``e`` with a delta-method standard error. A fit
that cannot be trusted is never dropped nor turned into an exception: ``status`` says why, and an IC50 outside the
tested doses is reported as ``"> max"``/``"< min"`` rather than as an extrapolated number. For responses in raw
units (counts, lengths, signal), where 0.5 means nothing, ``response_at="half_untreated"`` reads the absolute IC50
where the fitted curve falls to half of its own untreated level (the curve at dose 0: ``d`` for a decreasing curve),
which is the absolute IC50 of the same data divided by a control equal to the fitted top.

References
----------
Ritz C, Baty F, Streibig JC, Gerhard D (2015) Dose-response analysis using R. PLoS ONE 10:e0146021.
Sebaugh JL (2011) Guidelines for accurate EC50/IC50 estimation. Pharm Stat 10:128-134.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from sim.errors import InvalidValueError

PARAMS = ("hill", "bottom", "top", "ic50")  # drc's b, c, d, e
FLAT_RANGE = 0.05  # a curve whose fitted response changes by less than this over the doses is flat (raw units:
#                    this fraction of the fitted untreated level)
HALF_UNTREATED = "half_untreated"  # response_at for raw units: half of the fitted curve at dose 0


def ll4(dose, hill: float, bottom: float, top: float, ic50: float):
    """drc LL.4 curve at ``dose`` (array); dose 0 gives the top."""
    dose = np.asarray(dose, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        z = np.exp(hill * (np.log(dose) - math.log(ic50)))
    z = np.where(dose <= 0, 0.0 if hill > 0 else np.inf, z)
    return bottom + (top - bottom) / (1.0 + z)


def _residual_jacobian(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Jacobian of f with respect to (b, c, d, log e) at each dose (zero doses use the limit)."""
    b, c, d, loge = theta
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        u = np.where(x > 0, b * (np.log(np.where(x > 0, x, 1.0)) - loge), -np.inf if b > 0 else np.inf)
        s = 1.0 / (1.0 + np.exp(np.clip(u, -700, 700)))  # 1/(1+exp(u))
    ds_du = -s * (1.0 - s)
    logx = np.log(np.where(x > 0, x, 1.0))
    jb = (d - c) * ds_du * np.where(x > 0, logx - loge, 0.0)
    jc = 1.0 - s
    jd = s
    jloge = (d - c) * ds_du * (-b) * (x > 0)
    return np.column_stack([jb, jc, jd, jloge])


def _model(theta, x):
    b, c, d, loge = theta
    return ll4(x, b, c, d, math.exp(min(loge, 700.0)))


def _start_values(x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Starting points: drc-like self-start (plateaus from the data, e from the midpoint, b from a logit line)."""
    lo, hi = float(np.min(y)), float(np.max(y))
    span = max(hi - lo, 1e-6)
    c0, d0 = lo - 0.01 * span, hi + 0.01 * span
    pos = x > 0
    xs, ys = x[pos], y[pos]
    p = np.clip((ys - c0) / (d0 - c0), 1e-3, 1 - 1e-3)
    logit = np.log((1 - p) / p)  # = b*(log x - log e)
    if len(np.unique(xs)) >= 2:
        slope, intercept = np.polyfit(np.log(xs), logit, 1)
        b0 = slope if abs(slope) > 1e-3 else 1.0
        loge0 = -intercept / b0
    else:
        b0, loge0 = 1.0, float(np.log(np.median(xs)))
    lx = np.log(xs)
    loge0 = float(np.clip(loge0, lx.min() - 2, lx.max() + 2))
    starts = [np.array([b0, c0, d0, loge0])]
    varies = np.ptp(ys) > 0 and np.ptp(lx) > 0
    sign = -1.0 if varies and np.corrcoef(lx, ys)[0, 1] > 0 else 1.0  # increasing curves have b < 0 in drc
    for b in (0.5, 1.0, 2.0, 4.0):
        starts.append(np.array([sign * b, c0, d0, float(np.median(lx))]))
    return starts


@dataclass
class LL4Fit:
    """Result of one 4PL fit; parameters in drc's meaning (``hill`` = b, ``bottom`` = c, ``top`` = d, ``ic50`` = e).

    ``ic50_abs`` is the dose where the fitted curve equals ``response_at`` (0.5, or for raw units half of the
    curve's untreated level); ``ic50_report`` is its value as text, or ``"> max_dose"``/``"< min_dose"`` when the
    curve does not cross inside the tested doses.
    """

    hill: float = math.nan
    bottom: float = math.nan
    top: float = math.nan
    ic50: float = math.nan
    hill_se: float = math.nan
    bottom_se: float = math.nan
    top_se: float = math.nan
    ic50_se: float = math.nan
    hill_lower: float = math.nan
    hill_upper: float = math.nan
    bottom_lower: float = math.nan
    bottom_upper: float = math.nan
    top_lower: float = math.nan
    top_upper: float = math.nan
    ic50_lower: float = math.nan
    ic50_upper: float = math.nan
    ic50_abs: float = math.nan
    ic50_abs_se: float = math.nan
    ic50_abs_lower: float = math.nan
    ic50_abs_upper: float = math.nan
    ic50_report: str = ""
    rse: float = math.nan
    df: int = 0
    n: int = 0
    min_dose: float = math.nan
    max_dose: float = math.nan
    status: str = "not_fitted"
    reason: str = ""
    covariance: np.ndarray | None = field(default=None, repr=False)

    def as_row(self) -> dict:
        """The fit as one table row (no covariance)."""
        row = asdict(self)
        row.pop("covariance")
        return row

    def predict(self, dose):
        """Fitted response at ``dose``."""
        return ll4(dose, self.hill, self.bottom, self.top, self.ic50)


def fit_ll4(dose, response, response_at: float | str = 0.5, level: float = 0.95) -> LL4Fit:
    """Fit drc's LL.4 to one curve and judge whether its IC50 can be trusted.

    Parameters
    ----------
    dose, response : array_like
        Doses (>= 0; 0 = control) and responses (e.g. viability fraction); replicates are separate points.
    response_at : float or "half_untreated"
        Response level of the absolute IC50: 0.5 for a viability fraction; ``"half_untreated"`` for raw units, half
        of the fitted curve at dose 0 (``d`` when the curve decreases, ``c`` when it rises), a level that moves with
        the fit (its standard error includes that).
    level : float
        Confidence level of the intervals.

    Returns
    -------
    LL4Fit
        Never raises for a bad curve: ``status`` is ``ok``, ``above_range``/``below_range`` (no crossing of
        ``response_at`` within the doses), ``flat``, ``not_converged`` or ``too_few_points`` with ``reason``.

    Raises
    ------
    InvalidValueError
        Non-finite or negative doses, or dose/response of different lengths (bad input, not a bad curve).
    """
    from scipy import optimize  # SciPy takes ~0.7 s to load: only when fitting, not for `import sim`
    x = np.asarray(dose, dtype=float).ravel()
    y = np.asarray(response, dtype=float).ravel()
    if x.shape != y.shape:
        raise InvalidValueError(f"'dose' and 'response' must have the same length. Got {x.size} and {y.size}.")
    if response_at != HALF_UNTREATED and not (isinstance(response_at, (int, float)) and math.isfinite(response_at)):
        raise InvalidValueError(f"'response_at' must be a finite number or {HALF_UNTREATED!r}. Got {response_at!r}.")
    keep = np.isfinite(y)
    if not np.all(np.isfinite(x)) or np.any(x < 0):
        raise InvalidValueError("Every 'dose' must be a finite number >= 0.")
    x, y = x[keep], y[keep]
    out = LL4Fit(n=int(x.size), df=int(x.size) - 4)
    positive = x[x > 0]
    if positive.size:
        out.min_dose, out.max_dose = float(positive.min()), float(positive.max())
    if x.size < 5 or np.unique(positive).size < 3:
        out.status, out.reason = "too_few_points", (f"{x.size} points at {np.unique(positive).size} nonzero doses; "
                                                   "a 4-parameter fit needs >= 5 points and >= 3 doses")
        return out
    best = None
    tss = float(np.sum((y - y.mean()) ** 2))
    for i, start in enumerate(_start_values(x, y)):
        if i and best is not None and best.success and 2 * best.cost < 1e-3 * tss:
            break  # the self-start fits to R^2 > 0.999 (simulated curves): the other starts cannot do better
        try:
            res = optimize.least_squares(lambda t: _model(t, x) - y, start, jac=lambda t: _residual_jacobian(t, x),
                                method="lm", xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=4000)
        except (ValueError, FloatingPointError, OverflowError):
            continue
        if np.all(np.isfinite(res.x)) and (best is None or res.cost < best.cost):
            best = res
    if best is None or not best.success:
        out.status, out.reason = "not_converged", "least squares did not converge from any starting point"
        return out
    b, c, d, loge = best.x
    out.hill, out.bottom, out.top, out.ic50 = float(b), float(c), float(d), float(math.exp(loge))
    rss = float(2 * best.cost)
    out.rse = math.sqrt(rss / out.df) if out.df > 0 else math.nan
    _covariance(out, best.x, x, y, rss)
    _judge(out, x, response_at, level)
    return out


def _covariance(out: LL4Fit, theta: np.ndarray, x: np.ndarray, y: np.ndarray, rss: float) -> None:
    """drc's vcov: sigma^2 (H/2)^-1 with H the full Hessian of RSS (Gauss-Newton term + residual curvature)."""
    if out.df <= 0:
        return
    jac = _residual_jacobian(theta, x)
    r = _model(theta, x) - y
    half_h = jac.T @ jac
    step = 1e-5 * np.maximum(np.abs(theta), 1.0)
    for k in range(4):  # second derivatives of f by central differences of the analytic Jacobian
        tp, tm = theta.copy(), theta.copy()
        tp[k] += step[k]
        tm[k] -= step[k]
        d2 = (_residual_jacobian(tp, x) - _residual_jacobian(tm, x)) / (2 * step[k])
        half_h[k] += r @ d2
    half_h = (half_h + half_h.T) / 2
    try:
        cov_log = np.linalg.inv(half_h) * rss / out.df
    except np.linalg.LinAlgError:
        return
    e = out.ic50
    to_e = np.diag([1.0, 1.0, 1.0, e])  # d e / d log e = e (exact at the optimum, where the gradient vanishes)
    cov = to_e @ cov_log @ to_e
    if np.any(np.diag(cov) < 0) or not np.all(np.isfinite(cov)):
        return
    out.covariance = cov
    out.hill_se, out.bottom_se, out.top_se, out.ic50_se = (float(v) for v in np.sqrt(np.diag(cov)))


def _judge(out: LL4Fit, x: np.ndarray, response_at: float | str, level: float) -> None:
    """Set the absolute IC50, the CIs, ``status`` and ``reason``."""
    from scipy import stats  # loaded only when fitting (see fit_ll4)
    tq = stats.t.ppf(0.5 + level / 2, out.df) if out.df > 0 else math.nan
    if out.covariance is not None:  # Wald intervals on n - 4 df, as drc's confint
        for p in PARAMS:
            est, se = getattr(out, p), getattr(out, f"{p}_se")
            setattr(out, f"{p}_lower", est - tq * se)
            setattr(out, f"{p}_upper", est + tq * se)
    lo_dose, hi_dose = out.min_dose, out.max_dose
    theta = np.array([out.hill, out.bottom, out.top, out.ic50])
    level_of, response_at = response_at, _level(theta, response_at)  # the rule, and its value at this fit
    flat = FLAT_RANGE * (abs(2 * response_at) if level_of == HALF_UNTREATED else 1.0)
    fitted = out.predict(np.array([lo_dose, hi_dose]))
    if abs(fitted[0] - fitted[1]) < flat:
        out.status, out.reason = "flat", (f"the fitted response changes by {abs(fitted[0] - fitted[1]):.3g} "
                                          f"(< {flat:.3g}) over {lo_dose:g}-{hi_dose:g}")
        out.ic50_report = f"> {hi_dose:g}" if min(fitted) > response_at else f"< {lo_dose:g}"
        return
    low, high = sorted((out.bottom, out.top))
    if not (low < response_at < high):
        crosses_never_above = min(fitted) > response_at
        out.status = "above_range" if crosses_never_above else "below_range"
        out.reason = f"the fitted curve ({low:.3g} to {high:.3g}) never reaches {response_at:g}"
        out.ic50_report = f"> {hi_dose:g}" if crosses_never_above else f"< {lo_dose:g}"
        return
    x50 = _x_at(theta, level_of)
    out.ic50_abs = float(x50)
    if out.covariance is not None:
        grad = np.zeros(4)
        for k in range(4):
            h = 1e-6 * max(abs(theta[k]), 1e-6)
            tp, tm = theta.copy(), theta.copy()
            tp[k] += h
            tm[k] -= h
            grad[k] = (_x_at(tp, level_of) - _x_at(tm, level_of)) / (2 * h)
        se = float(math.sqrt(max(grad @ out.covariance @ grad, 0.0)))
        out.ic50_abs_se = se
        out.ic50_abs_lower, out.ic50_abs_upper = x50 - tq * se, x50 + tq * se
    if x50 > hi_dose:
        out.status, out.reason, out.ic50_report = "above_range", f"IC50 {x50:.3g} lies above the highest dose", \
            f"> {hi_dose:g}"
    elif x50 < lo_dose:
        out.status, out.reason, out.ic50_report = "below_range", f"IC50 {x50:.3g} lies below the lowest dose", \
            f"< {lo_dose:g}"
    else:
        out.status, out.ic50_report = "ok", f"{x50:.4g}"


def _level(theta: np.ndarray, response_at) -> float:
    """The response level of the absolute IC50 at parameters ``theta`` (b, c, d, e)."""
    if response_at == HALF_UNTREATED:
        b, c, d, _ = theta
        return (d if b > 0 else c) / 2.0
    return float(response_at)


def _x_at(theta: np.ndarray, response_at) -> float:
    b, c, d, e = theta
    return e * ((d - c) / (_level(theta, response_at) - c) - 1.0) ** (1.0 / b)


class LL4:
    """drc's LL.4 as an estimator: settings in the constructor, work in :meth:`fit`, results as attributes.

    Parameters
    ----------
    response_at : float or "half_untreated"
        Response level of the absolute IC50 (0.5 for viability fractions; see :func:`fit_ll4`).
    level : float
        Confidence level of the intervals.

    Attributes (after ``fit``)
    --------------------------
    hill_, bottom_, top_, ic50_ : float
        drc's b, c, d, e; ``*_se_`` their standard errors; ``ic50_abs_`` the absolute IC50.
    status_, reason_ : str
        Whether the IC50 can be trusted, and why not.
    result_ : LL4Fit
        Everything, with :meth:`LL4Fit.as_row` for a table row.

    Examples
    --------
    >>> LL4().fit([0, 0.01, 0.1, 1, 10], [1.0, 0.98, 0.7, 0.2, 0.05]).ic50_  # doctest: +SKIP
    """

    def __init__(self, response_at: float | str = 0.5, level: float = 0.95):
        self.response_at = response_at
        self.level = level

    def fit(self, dose, response) -> "LL4":
        """Fit one curve; return self."""
        self.result_ = fit_ll4(dose, response, self.response_at, self.level)
        for name, value in self.result_.as_row().items():
            setattr(self, f"{name}_", value)
        return self

    def predict(self, dose):
        """Fitted response at ``dose``."""
        return self.result_.predict(dose)
