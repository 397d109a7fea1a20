"""Multi-start estimation and profile likelihood with pyPESTO, on cafev's protocol objective.

:func:`multistart` fits from seeded uniform start points on the optimiser's scale (L-BFGS-B with central
finite-difference gradients), :func:`profiles` walks each parameter's profile likelihood from the best fit (pyPESTO
re-optimises the other parameters at every step, with L-BFGS-B) until the likelihood ratio falls below
the threshold of the confidence level or a bound is reached, and :func:`profile_table` turns the profiles into
confidence intervals and an identifiability class per parameter (Raue et al. 2009):

- ``identifiable``: the profile crosses the threshold on both sides inside the bounds;
- ``lower_unbounded`` / ``upper_unbounded``: it stays above the threshold down to the lower (up to the upper) bound;
- ``flat``: it stays above the threshold at both bounds, the data do not constrain the parameter on its own.

References
----------
Raue A et al. (2009) Bioinformatics 25:1923-1929 (profile likelihood, identifiability).
Schaelte Y, Froehlich F, Jost PJ et al. (2023) pyPESTO: a modular and scalable tool for parameter estimation for
dynamic models. Bioinformatics 39:btad711.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.calibration.directions import sensitivities

FD_STEP = 1e-2  # central-difference step on the optimiser's scale (0.01 decade = 2.3% for a log parameter): far
#                 above the ODE solver's relative error (1e-6), with a truncation error of order step^2
MAX_EVALUATIONS = 200  # per start
# L-BFGS-B stops when the NLL falls by less than FTOL relative (1e-5 of an NLL of 100, far below the 1.92 of a 95%
# interval) or the projected gradient is below GTOL per unit of the optimiser's scale (along a flat direction that
# leaves at most 0.04 of NLL over 4 decades; a tighter GTOL spent hundreds of evaluations per profile step where the
# NLL curves by ~1e3 per decade^2)
FTOL, GTOL = 1e-7, 1e-2
PROFILE_MAX_STEP = 0.25  # largest profile step on the optimiser's scale (a quarter decade where a profile is flat)
MIN_STEP = 0.005


def threshold_ratio(level: float) -> float:
    """The likelihood ratio below which a value is outside the ``level`` profile-likelihood interval:
    exp(-chi2_1(level)/2), 0.1465 at 95%."""
    from scipy.stats import chi2  # deferred: `import sim.cli` does not load SciPy

    return float(np.exp(-chi2.ppf(level, 1) / 2))


def pypesto_problem(objective):
    """The pyPESTO problem of a :class:`sim.calibration.objective.DataObjective`: its NLL as ``fun`` and its
    central-difference gradient as ``grad`` (computed only when an optimiser asks for it: pyPESTO's ``FD`` wrapper
    evaluated the differences on every call, 4-5 evaluations for each value a gradient-free method asked for);
    bounds and scales from the parameters."""
    import pypesto  # deferred: 2-4 s to import, needed only when a calibration runs

    names = [p.name for p in objective.parameters]
    bounds = np.array([p.bounds for p in objective.parameters], dtype=float)
    fun = pypesto.Objective(fun=objective, grad=lambda x: objective.gradient(x, FD_STEP), x_names=names)
    return pypesto.Problem(fun, lb=bounds[:, 0], ub=bounds[:, 1], x_names=names,
                           x_scales=["log10" if p.scale == "log" else "lin" for p in objective.parameters],
                           copy_objective=False)


def _optimizer():
    import pypesto.optimize

    return pypesto.optimize.ScipyOptimizer(method="L-BFGS-B", options={"maxfun": MAX_EVALUATIONS, "ftol": FTOL,
                                                                        "gtol": GTOL})


def _engine(workers: int):
    import pypesto.engine

    return pypesto.engine.MultiProcessEngine(n_procs=workers) if workers > 1 else pypesto.engine.SingleCoreEngine()


def start_points(problem, n_starts: int, seed: int) -> np.ndarray:
    """``n_starts`` start points drawn uniformly inside the bounds on the optimiser's scale, seeded."""
    rng = np.random.default_rng(seed)
    return problem.lb + rng.random((n_starts, problem.dim)) * (problem.ub - problem.lb)


def multistart(problem, n_starts: int, seed: int, workers: int = 1, progress: bool = False):
    """Fit from ``n_starts`` seeded start points; the pyPESTO result, starts sorted by NLL."""
    import pypesto.optimize

    problem.set_x_guesses(start_points(problem, n_starts, seed))
    return pypesto.optimize.minimize(problem, _optimizer(), n_starts=n_starts, engine=_engine(workers),
                                     progress_bar=progress,
                                     options=pypesto.optimize.OptimizeOptions(allow_failed_starts=True))


def start_table(result, objective) -> pd.DataFrame:
    """One row per start: its rank, NLL, the estimates (on their own scale), evaluations and exit message."""
    rows = []
    for rank, start in enumerate(result.optimize_result.list):
        fval = start.fval if start.fval is not None and np.isfinite(start.fval) else np.nan
        x = start.x if start.x is not None else np.full(len(objective.parameters), np.nan)
        rows.append({"rank": rank, "start": start.id, "nll": fval, **objective.natural(x),
                     "evaluations": start.n_fval, "message": str(start.message)[:80]})
    return pd.DataFrame(rows)


def profile_steps(objective, x: np.ndarray, level: float) -> np.ndarray:
    """Each parameter's profile step on the optimiser's scale: a quarter of its Wald half-width at ``x`` (from the
    Fisher information of the data, :func:`sim.calibration.directions.sensitivities`), so an identifiable
    parameter's interval holds about eight profile points; at least ``MIN_STEP`` and at most ``PROFILE_MAX_STEP``
    (decades for a log parameter; those fractions of a quarter of the bounds' width, 4 "decades", for a linear
    one), so a flat parameter is walked to its bounds in steps of a quarter decade."""
    from scipy.stats import chi2  # deferred: `import sim.cli` does not load SciPy

    jac = sensitivities(objective, x)
    fim = jac.T @ jac / objective.sigma(x) ** 2
    cov = np.linalg.inv(fim + 1e-9 * np.eye(len(x)))  # a flat direction gets a variance of ~1e9, not 0 (pinv)
    half = np.sqrt(chi2.ppf(level, 1) * np.clip(np.diag(cov), 0, None))
    unit = np.array([1.0 if p.scale == "log" else (p.bounds[1] - p.bounds[0]) / 4 for p in objective.parameters])
    return np.clip(half / 4, MIN_STEP * unit, PROFILE_MAX_STEP * unit)


def profiles(problem, result, objective, level: float, progress: bool = False, coarse: bool = False):
    """Walk each parameter's profile from the best start; the result gains ``profile_result``.

    Each profile moves in fixed steps (pyPESTO's ``fixed_step``) of :func:`profile_steps`, re-optimising the other
    parameters with L-BFGS-B from the previous step's optimum, until the likelihood ratio falls below half the
    threshold of ``level`` or the bound is reached. (pyPESTO's adaptive steps stayed near 0.02 decade along a
    confounded ridge, where the first guess leaves the ridge, and cost ~15000 evaluations per profile.) The
    profiles run one after the other in this process, each with its own step; ``coarse`` (quick runs) doubles the
    steps."""
    import pypesto.profile

    ratio = threshold_ratio(level)
    steps = profile_steps(objective, np.asarray(result.optimize_result.list[0].x, dtype=float), level)
    steps = 2 * steps if coarse else steps
    for i, step in enumerate(steps):
        options = pypesto.profile.ProfileOptions(  # absolute steps only: pyPESTO would otherwise use 0.25% of
            ratio_min=0.5 * ratio, default_step_size_absolute=float(step),  # the bounds' width when larger
            min_step_size_absolute=float(step), max_step_size_absolute=float(step), default_step_size_relative=0.0,
            min_step_size_relative=0.0, max_step_size_relative=0.0)
        result = pypesto.profile.parameter_profile(problem, result, _optimizer(), profile_index=[i],
                                                   profile_list=None if i == 0 else 0, profile_options=options,
                                                   progress_bar=progress, next_guess_method="fixed_step")
    return result


@dataclass(frozen=True)
class Interval:
    """A profile-likelihood interval on the parameter's own scale, and whether each end is a bound."""

    lower: float
    upper: float
    lower_open: bool
    upper_open: bool

    @property
    def identifiability(self) -> str:
        if self.lower_open and self.upper_open:
            return "flat"
        if self.lower_open:
            return "lower_unbounded"
        if self.upper_open:
            return "upper_unbounded"
        return "identifiable"


def profile_interval(xs: np.ndarray, ratios: np.ndarray, level: float) -> tuple[float, float, bool, bool]:
    """The ``level`` interval of one profile on the optimiser's scale (as pyPESTO's ``calculate_approximate_ci``,
    but interpolating log ratio = -(NLL - best NLL) linearly, which is exact for a straight and nearly so for a
    quadratic profile), and whether it runs to the first/last point of the profile."""
    order = np.argsort(xs)
    xs = np.asarray(xs)[order]
    ratios = np.log(np.clip(np.asarray(ratios)[order], 1e-300, None))
    r = np.log(threshold_ratio(level))
    inside = np.flatnonzero(ratios >= r)
    lo_i, hi_i = inside[0], inside[-1]
    lower = xs[lo_i] if lo_i == 0 else float(np.interp(r, ratios[[lo_i - 1, lo_i]], xs[[lo_i - 1, lo_i]]))
    upper = xs[hi_i] if hi_i == len(xs) - 1 else float(np.interp(r, ratios[[hi_i + 1, hi_i]],
                                                                 xs[[hi_i + 1, hi_i]]))
    return float(lower), float(upper), bool(lo_i == 0), bool(hi_i == len(xs) - 1)


def better_than_best(result) -> float:
    """How far (NLL) a profile point fell below the multi-start optimum: > 0 means the starts missed the optimum
    and every interval is measured from the wrong height (run more starts)."""
    best = result.optimize_result.list[0].fval
    fvals = [np.min(p.fval_path) for p in result.profile_result.list[0] if p is not None]
    return float(max(0.0, best - min(fvals))) if fvals else 0.0


def profile_paths(result, objective) -> pd.DataFrame:
    """Every profile point: profiled parameter, its value and every parameter's (own scale), NLL, ratio."""
    rows = []
    for i, path in enumerate(result.profile_result.list[0]):
        if path is None:
            continue
        profiled = objective.parameters[i].name
        for k in range(path.x_path.shape[1]):
            rows.append({"profiled": profiled, "value": objective.parameters[i].from_scaled(path.x_path[i, k]),
                         "nll": float(path.fval_path[k]), "ratio": float(path.ratio_path[k]),
                         **objective.natural(path.x_path[:, k])})
    return pd.DataFrame(rows)


def profile_table(result, objective, level: float) -> pd.DataFrame:
    """calibration.csv: parameter, unit, estimate, lower, upper (profile-likelihood ``level`` interval, on the
    parameter's own scale), identifiability, the bounds searched and the model's default value."""
    best = result.optimize_result.list[0].x
    estimate = objective.natural(best)
    rows = []
    for i, p in enumerate(objective.parameters):
        path = result.profile_result.list[0][i]
        lo, hi, lo_open, hi_open = profile_interval(path.x_path[i], path.ratio_path, level)
        # a profile that stopped short of a bound without crossing (max steps) is open there too
        interval = Interval(p.from_scaled(lo), p.from_scaled(hi), lo_open, hi_open)
        rows.append({"parameter": p.name, "unit": p.unit, "estimate": estimate[p.name], "lower": interval.lower,
                     "upper": interval.upper, "identifiability": interval.identifiability,
                     "lower_is_bound": lo_open, "upper_is_bound": hi_open, "scale": p.scale,
                     "bound_low": p.low, "bound_high": p.high, "default": p.default,
                     "profile_points": int(path.x_path.shape[1])})
    return pd.DataFrame(rows)
