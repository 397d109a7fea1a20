"""The adaptive IC50 readout: the dose where a condition's simulated viability crosses 0.5, found by root-finding.

A sweep point, a screen point or any question that needs only an IC50 (or a fold of two) does not need the whole
dose-response curve. :func:`adaptive_ic50` runs the condition through the assay protocol (:mod:`sim.protocol`; the
steady cells and the pretreatment are computed once and cached, every dose reuses them) and:

1. runs the drug-free control (relative viability is cells at assay end over the drug-free cells);
2. **brackets** the crossing on the dose grid of the full curve (:func:`sim.curves.dose_grid`): it starts at the grid
   dose nearest ``start_uM`` (the drug's reference IC50 of drugs.tsv, or a neighbouring condition's IC50) and steps
   to the neighbouring grid doses, up while viability is above 0.5, down while below, until it changes side;
3. **root-finds** viability = 0.5 inside the bracket on ln dose with Brent's method (SciPy's ``brentq``) applied
   to the logit of viability, which is linear in ln dose for a log-logistic curve with bottom 0 and top 1
   (logit v = -h (ln d - ln IC50)), so the inverse interpolation converges in a few steps; the root is located to
   ``XTOL_LN_DOSE`` (0.001% of the dose).

It gives up, and says why, when the curve never crosses 0.5 within the grid (``above_range``/``below_range``) or
when the viabilities it sees are not monotone in dose (``not_monotone``: a rise of more than ``MONOTONE_SLACK`` with
dose); :func:`condition_ic50` then falls back to the full grid and its 4PL fit (:mod:`sim.fit`), and records that
it did. The IC50 is the model's own crossing, not a fitted curve's: on a simulated curve the two differ by the 4PL's
misfit (``benchmarks/ic50_readout.py`` measures both against a 48-dose reference).

The drug phase runs with :func:`readout_tolerances`, CVODE tolerances loosened by ``LOOSENING`` from the grid
path's, a factor chosen by the error budget that ``benchmarks/ic50_tolerance.py`` measures (the IC50 within 0.1%
of the rtol 1e-8 answer over every preset and condition of the shipped experiments).

References
----------
Brent RP (1973) Algorithms for Minimization without Derivatives, ch. 4. Prentice-Hall.
Hafner M, Niepel M, Chung M, Sorger PK (2016) Growth rate inhibition metrics correct for confounders in measuring
sensitivity to cancer drugs. Nat Methods 13:521-527 (why an IC50 is read at relative viability 0.5).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from sim.catalogue import load_catalogue
from sim.conditions import Condition
from sim.curves import dose_grid, fit_curves, run_dose_response
from sim.engines import Tolerances, engine_for
from sim.errors import InvalidValueError, SimulationError
from sim.protocol import AssayProtocol

IC50_METHODS = ("adaptive", "grid")
XTOL_LN_DOSE = 1e-5  # Brent stops when the root's bracket is narrower than 1e-5 in ln dose: 0.001% of the IC50
MONOTONE_SLACK = 1e-3  # a viability that rises by more than this with dose is a non-monotone curve (not noise)
GRID_POINTS = 12  # the bracket steps along the default 12-dose grid of the full curve (0.41 decade apart)
LOOSENING = 10.0  # readout tolerances = grid tolerances x 10 (rtol 1e-5, atol 1e-8). Measured over the 171 distinct
# conditions of the shipped ODE drug experiments (benchmarks/ic50_tolerance.py, 2026-11-28): largest IC50 error
# against rtol 1e-8 4.0e-4 at x10, 2.4e-3 at x100 (over the 1e-3 budget), readouts giving up at x1000
LOGIT_CLIP = 1e-12


def readout_tolerances(tolerances: Tolerances, loosening: float = LOOSENING) -> Tolerances:
    """The tolerances of the adaptive readout's runs: ``tolerances`` with rtol and atol x ``loosening`` (the step
    limit kept). A retry with tighter tolerances scales the grid tolerances, and with them these."""
    if not (math.isfinite(loosening) and loosening >= 1):
        raise InvalidValueError(f"The tolerance loosening must be a finite number >= 1. Got {loosening}.")
    def times(x: float) -> float:  # 1e-06 x 10 is 1e-05, not 9.999999999999999e-06 in metadata.json
        return min(float(f"{x * loosening:.12g}"), 0.1)
    return replace(tolerances, rtol=times(tolerances.rtol), atol=times(tolerances.atol))


@dataclass(frozen=True)
class IC50Readout:
    """One condition's IC50 (uM) and how it was obtained.

    ``status`` is ``ok`` when the crossing was found (adaptive) or the 4PL fit's status (grid); ``method`` is
    ``adaptive`` or ``grid``; ``note`` says why the grid was used; ``simulations`` counts the drug-phase runs
    (the control included); ``cells_control`` is the drug-free cell count at assay end.
    """

    ic50_uM: float
    status: str
    method: str
    simulations: int
    cells_control: float
    note: str = ""


def readout_settings(evaluate) -> dict:
    """What metadata.json records of an evaluator's IC50 readout: its method and both sets of tolerances (an
    evaluator without ``ic50_method``, e.g. a species readout, records its tolerances only)."""
    tolerances = getattr(evaluate, "tolerances", None)
    out = {"tolerances": asdict(tolerances)} if tolerances is not None else {}
    method = getattr(evaluate, "ic50_method", None)
    if method is not None:
        out["ic50_method"] = method
        if method == "adaptive":
            out["ic50_readout"] = {"tolerances": asdict(readout_tolerances(tolerances)), "loosening": LOOSENING,
                                   "xtol_ln_dose": XTOL_LN_DOSE, "bracket_grid_points": GRID_POINTS}
    return out


def _logit(v: float) -> float:
    v = min(max(v, LOGIT_CLIP), 1.0 - LOGIT_CLIP)
    return math.log(v / (1.0 - v))


def adaptive_ic50(protocol: AssayProtocol, values: dict[str, float], assay_h: float, doses,
                  start_uM: float | None = None, xtol: float = XTOL_LN_DOSE) -> tuple[IC50Readout, bool]:
    """Root-find the dose where viability crosses 0.5 (see the module docstring).

    Parameters
    ----------
    protocol : AssayProtocol
        The assay protocol on the engine that runs the drug phase.
    values : dict
        The condition's values (:meth:`sim.conditions.Condition.values`); their ``drug_ext`` is replaced.
    assay_h : float
        Drug exposure (h).
    doses : array_like
        The grid the bracket steps along (uM, increasing; at least 2 doses).
    start_uM : float, optional
        Where the bracket starts (default: the grid's geometric middle).
    xtol : float
        Width in ln dose below which the root is accepted.

    Returns
    -------
    (IC50Readout, bool)
        The readout, and whether it succeeded; on failure ``status`` is ``above_range``, ``below_range``,
        ``not_monotone`` or ``control_without_cells`` and ``ic50_uM`` is NaN.
    """
    from scipy import optimize  # loaded only when an IC50 is read (see sim.fit)

    grid = np.asarray(doses, dtype=float)
    if grid.ndim != 1 or grid.size < 2 or np.any(np.diff(grid) <= 0) or not np.all(grid > 0):
        raise InvalidValueError(f"The bracket grid must hold >= 2 increasing doses > 0 uM. Got {grid.tolist()}.")
    control = float(protocol.endpoint({**values, "drug_ext": 0.0}, assay_h, ["N_cancer"])[0])
    seen: dict[float, float] = {}  # dose -> viability

    def viability(dose: float) -> float:
        if dose not in seen:
            seen[dose] = float(protocol.endpoint({**values, "drug_ext": float(dose)}, assay_h, ["N_cancer"])[0]) / control
        return seen[dose]

    def result(ic50: float, status: str, ok: bool) -> tuple[IC50Readout, bool]:
        return IC50Readout(ic50, status, "adaptive", len(seen) + 1, control), ok

    if not control > 0:
        return result(math.nan, "control_without_cells", False)
    start = math.sqrt(grid[0] * grid[-1]) if start_uM is None or not start_uM > 0 else start_uM
    j = int(np.argmin(np.abs(np.log(grid) - math.log(start))))
    above = viability(grid[j]) > 0.5
    step = 1 if above else -1
    while True:
        k = j + step
        if not 0 <= k < grid.size:
            return result(math.nan, "above_range" if above else "below_range", False)
        if step * (viability(grid[k]) - viability(grid[j])) > MONOTONE_SLACK:
            return result(math.nan, "not_monotone", False)
        if (viability(grid[k]) > 0.5) != above:
            break
        j = k
    low, high = sorted((float(grid[j]), float(grid[k])))
    ends = {math.log(low): low, math.log(high): high}  # Brent starts at the ends, already run: exp(log(d)) may
    # differ from d in the last bit, and a miss in `seen` would run them again
    root = optimize.brentq(lambda x: _logit(viability(ends.get(x, math.exp(x)))), math.log(low), math.log(high),
                           xtol=xtol)
    ordered = [seen[d] for d in sorted(seen)]
    if np.any(np.diff(ordered) > MONOTONE_SLACK):
        return result(math.nan, "not_monotone", False)
    return result(float(math.exp(root)), "ok", True)


def readout_protocol(model, tolerances: Tolerances, pretreatment_h: float,
                     loosening: float = LOOSENING) -> AssayProtocol:
    """The assay protocol the adaptive readout runs on (the engine at the readout tolerances; its shared phases,
    cached, are the ones a delivery budget or another dose of the same condition reuses)."""
    return AssayProtocol(engine_for(model, tolerances=readout_tolerances(tolerances, loosening)), pretreatment_h)


def try_adaptive(model, condition: Condition, tolerances: Tolerances = Tolerances(), assay_h: float = 72.0,
                 pretreatment_h: float = 48.0, start_uM: float | None = None, loosening: float = LOOSENING,
                 xtol: float = XTOL_LN_DOSE) -> tuple[IC50Readout, bool]:
    """:func:`adaptive_ic50` of one condition (parameters as :func:`condition_ic50`), bracketed on the drug's
    12-dose grid from ``start_uM`` or the drug's reference IC50 (drugs.tsv); no fall-back. A simulation that fails
    at the readout tolerances (e.g. a steady state that CVODE's looser steps leave short of the convergence test)
    is a readout that gave up (``simulation_failed (<reason>)``), for the grid at its own tolerances to decide."""
    drug = condition.drug or model.drug
    protocol = readout_protocol(model, tolerances, pretreatment_h, loosening)
    start = start_uM if start_uM is not None else load_catalogue().drug(drug)["ic50_ref_uM"]
    try:
        return adaptive_ic50(protocol, condition.values(model), condition.assay_time_h or assay_h,
                             dose_grid(drug, GRID_POINTS), start, xtol)
    except SimulationError as exc:  # at the readout tolerances; the grid's own (tighter) ones decide
        return IC50Readout(math.nan, f"simulation_failed ({exc.reason})", "adaptive", 0, math.nan), False


def fallback_note(readout: IC50Readout, n_doses: int) -> str:
    """What a readout that fell back to the grid records."""
    return f"adaptive readout gave up ({readout.status}); IC50 from the {n_doses}-dose grid and its 4PL fit"


def condition_ic50(model, condition: Condition, tolerances: Tolerances = Tolerances(), n_doses: int = 8,
                   assay_h: float = 72.0, pretreatment_h: float = 48.0, start_uM: float | None = None,
                   method: str = "adaptive", loosening: float = LOOSENING, xtol: float = XTOL_LN_DOSE) -> IC50Readout:
    """The IC50 of one condition: adaptive (:func:`adaptive_ic50`) with a fall-back to the grid, or the grid.

    Parameters
    ----------
    model : BuiltModel
    condition : Condition
        Without a dose (the readout chooses the doses).
    tolerances : Tolerances
        The grid path's tolerances; the adaptive runs use :func:`readout_tolerances` of them.
    n_doses : int
        Doses of the grid path (and of a fall-back).
    assay_h, pretreatment_h : float
        The assay protocol (a condition's ``assay_time_h`` takes precedence).
    start_uM : float, optional
        Where the bracket starts (default: the drug's reference IC50, drugs.tsv).
    method : {"adaptive", "grid"}
    loosening, xtol : float
        The adaptive runs' tolerances are ``readout_tolerances(tolerances, loosening)``; the root's width in ln dose.
    """
    if method not in IC50_METHODS:
        raise InvalidValueError(f"'ic50_method' must be one of {', '.join(IC50_METHODS)}. Got {method!r}.")
    note = ""
    if method == "adaptive":
        readout, ok = try_adaptive(model, condition, tolerances, assay_h, pretreatment_h, start_uM, loosening, xtol)
        if ok:
            return readout
        note = fallback_note(readout, n_doses)
    table = run_dose_response(model, [condition], n_doses=n_doses, assay_h=assay_h, pretreatment_h=pretreatment_h,
                              tolerances=tolerances)
    fit = fit_curves(table).iloc[0]
    return IC50Readout(float(fit["ic50_abs"]), str(fit["status"]), "grid", n_doses + 1,
                       float(table["cells_control"].iloc[0]), note)
