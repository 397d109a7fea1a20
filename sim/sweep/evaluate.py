"""Sweep evaluators: picklable callables from factor values to readouts, for :func:`sim.sweep.runner.run_sweep`.

:class:`IC50Shift` runs a dose-response of a scenario under a condition and its reference at each point and reports
the absolute IC50s, their fold and the fit status (or, with ``ic50_method = "adaptive"``, root-finds only the IC50s:
:mod:`sim.ic50`). A factor is applied to the condition (and the reference) as:
a model parameter (``Condition.parameters``), ``caf_ratio`` or ``ev_dose_ug`` (exposure), or an intervention id
(its dose; only on the condition, not on the reference). Evaluators that run the assay protocol also return the
condition's delivery budget at drug addition (:mod:`sim.budget`: ``delivered_*``, ``loaded_*``, ``repression_*``,
``ev_internalised_fraction``); :class:`CurvesAtPoint` runs every condition of a dose-response at each point (an
uncertainty sample); :class:`Endpoint`, a single run from the model's initial state with no protocol and so
no moment of drug addition, does not.

Every evaluator carries the ODE ``tolerances`` it runs with (default: the engine's), so that
:class:`sim.sweep.faults.RetryTighter` can run a failed point again as a copy with tighter ones.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

from sim.budget import budget_part, delivery_budget
from sim.build import build_model
from sim.catalogue import load_catalogue
from sim.conditions import Condition
from sim.curves import fit_curves, run_dose_response
from sim.engines import Tolerances, engine_for
from sim.errors import InvalidValueError, UnknownNameError
from sim.ic50 import IC50_METHODS, condition_ic50, readout_tolerances
from sim.protocol import AssayProtocol

EXPOSURE_FACTORS = ("caf_ratio", "ev_dose_ug")


@lru_cache(maxsize=8)
def scenario_model(scenario: str):
    """One built model per scenario and process (building converts Antimony to SBML: not per point)."""
    return build_model(scenario)


def apply_factors(base: dict, inputs: dict, interventions: bool = True) -> Condition:
    """``base`` (Condition keywords) with the factor values applied: exposure settings, intervention doses (only
    when ``interventions``) or model parameters."""
    cond = {**base, "parameters": dict(base.get("parameters", {})),
            "interventions": dict(base.get("interventions", {}))}
    cat = load_catalogue()
    for name, value in inputs.items():
        if name in EXPOSURE_FACTORS:
            cond[name] = float(value)
        elif name in cat.interventions:
            if interventions:
                cond["interventions"][name] = float(value)
        else:
            cond["parameters"][name] = float(value)
    return Condition(**cond)


@dataclass
class IC50Shift:
    """IC50 readouts of ``condition`` at each point, and their folds against ``reference`` (Condition keyword dicts;
    ``reference = None`` runs the condition alone and reports no folds).

    ``ic50_method = "grid"`` runs the ``n_doses`` dose-response of each condition and fits it. Returns ``ic50_uM``
    (where the fitted 4PL crosses 50% viability), ``gr50_uM`` (Hafner 2016; NaN when the drug-free cells do not
    grow), ``auc`` (mean viability over the log10 dose range), their ``*_reference`` values and
    ``ic50_fold``/``gr50_fold``/``auc_fold`` (condition over reference), and ``fit_status`` and ``gr_status``
    (``reference/condition``). The IC50 fold is NaN unless both 4PL fits are ``ok``; the GR50 fold unless both
    GR50s are finite (a flat GR curve has GR50 = ±inf, datarail's convention).

    ``ic50_method = "adaptive"`` reads only the IC50s, by root-finding where the simulated viability crosses 50%
    (:mod:`sim.ic50`; the condition's bracket starts at the reference's IC50) at the readout tolerances, falling
    back to the grid for a curve the root-finder gives up on. Returns ``ic50_reference_uM``, ``ic50_uM``,
    ``ic50_fold``, ``fit_status``, ``ic50_method`` (``reference/condition``: ``adaptive`` or ``grid``) and
    ``ic50_note`` (why a condition fell back), no GR50 or AUC.
    """

    scenario: str
    condition: dict
    reference: dict | None = field(default_factory=lambda: {"name": "reference"})
    n_doses: int = 8
    pretreatment_h: float = 48.0
    tolerances: Tolerances = Tolerances()
    ic50_method: str = "grid"

    def __post_init__(self):
        if self.ic50_method not in IC50_METHODS:
            raise InvalidValueError(f"'ic50_method' must be one of {', '.join(IC50_METHODS)}. "
                                    f"Got {self.ic50_method!r}.")

    def check(self, factor_names) -> None:
        """Every factor must be a parameter of the model, an exposure setting or an intervention (before work)."""
        model = scenario_model(self.scenario)
        valid = set(model.defaults) | set(EXPOSURE_FACTORS) | set(load_catalogue().interventions)
        for name in factor_names:
            if name not in valid:
                raise UnknownNameError("sweep factor", name, sorted(valid), f"scenario '{self.scenario}'")

    def __call__(self, inputs: dict) -> dict:
        model = scenario_model(self.scenario)
        conds = [apply_factors(self.condition, inputs, True)]
        if self.reference is not None:
            conds.insert(0, apply_factors(self.reference, inputs, False))
        if self.ic50_method == "adaptive":
            return self._adaptive(model, conds)
        fits = fit_curves(run_dose_response(model, conds, n_doses=self.n_doses, pretreatment_h=self.pretreatment_h,
                                            tolerances=self.tolerances)).set_index("condition")
        cond = fits.loc[conds[-1].name]
        out = {"ic50_uM": cond["ic50_abs"], "gr50_uM": cond.get("gr50", math.nan), "auc": cond["auc"]}
        budget = {k: float(v) for k, v in budget_part(cond).items()}
        if self.reference is None:
            return {**out, "fit_status": cond["status"], "gr_status": cond.get("gr_status", "not_fitted"), **budget}
        ref = fits.loc[conds[0].name]
        ok = ref["status"] == "ok" and cond["status"] == "ok"
        gr_ok = all(math.isfinite(g) and g > 0 for g in (ref.get("gr50", math.nan), out["gr50_uM"]))
        return {"ic50_reference_uM": ref["ic50_abs"], **{k: v for k, v in out.items() if k == "ic50_uM"},
                "ic50_fold": cond["ic50_abs"] / ref["ic50_abs"] if ok else math.nan,
                "gr50_reference_uM": ref.get("gr50", math.nan), "gr50_uM": out["gr50_uM"],
                "gr50_fold": out["gr50_uM"] / ref["gr50"] if gr_ok else math.nan,
                "auc_reference": ref["auc"], "auc": out["auc"], "auc_fold": out["auc"] / ref["auc"],
                "fit_status": f"{ref['status']}/{cond['status']}",
                "gr_status": f"{ref.get('gr_status', 'not_fitted')}/{cond.get('gr_status', 'not_fitted')}", **budget}

    def _adaptive(self, model, conds) -> dict:
        """The adaptive readout of each condition (reference first, its IC50 the condition's bracket start)."""
        readouts, start = [], None
        for c in conds:
            r = condition_ic50(model, c, self.tolerances, self.n_doses, pretreatment_h=self.pretreatment_h,
                               start_uM=start)
            readouts.append(r)
            start = r.ic50_uM if r.status == "ok" else None
        if len({r.method for r in readouts}) > 1:  # a fold compares like with like: both 4PL IC50s of the grid
            readouts = [r if r.method == "grid" else condition_ic50(
                model, c, self.tolerances, self.n_doses, pretreatment_h=self.pretreatment_h, method="grid")
                for c, r in zip(conds, readouts)]
        cond = readouts[-1]
        protocol = AssayProtocol(engine_for(model, tolerances=readout_tolerances(self.tolerances)),
                                 self.pretreatment_h)  # its pretreatment is cached by the readout
        budget = delivery_budget(protocol, conds[-1].values(model))
        note = "; ".join(f"{c.name}: {r.note}" for c, r in zip(conds, readouts) if r.note)
        joined = {"fit_status": "/".join(r.status for r in readouts),
                  "ic50_method": "/".join(r.method for r in readouts), "ic50_note": note}
        if self.reference is None:
            return {"ic50_uM": cond.ic50_uM, **joined, **budget}
        ref = readouts[0]
        ok = ref.status == "ok" and cond.status == "ok"
        return {"ic50_reference_uM": ref.ic50_uM, "ic50_uM": cond.ic50_uM,
                "ic50_fold": cond.ic50_uM / ref.ic50_uM if ok else math.nan, **joined, **budget}


@dataclass
class Endpoint:
    """One simulation per point: ``condition`` (Condition keywords) with the factors as model parameters, run for
    ``end_h`` from the model's initial state; returns the ``readouts`` at the end. The cheapest evaluator: one
    reused compiled model, no protocol phases (what the sweep-throughput benchmark measures)."""

    scenario: str
    condition: dict
    readouts: tuple = ("N_cancer",)
    end_h: float = 72.0
    tolerances: Tolerances = Tolerances()
    _base: tuple | None = field(default=None, init=False, repr=False, compare=False)  # (key, values)

    def __call__(self, inputs: dict) -> dict:
        model = scenario_model(self.scenario)
        key = (self.scenario, repr(sorted(self.condition.items())))
        if self._base is None or self._base[0] != key:  # the condition's values once per process, not per point
            self._base = (key, Condition(**self.condition).values(model))
        values = {**self._base[1], **{k: float(v) for k, v in inputs.items()}}
        engine = engine_for(model, tolerances=self.tolerances)
        row = engine.simulate_array(values, self.end_h, 2, list(self.readouts))[-1, 1:]
        return dict(zip(self.readouts, row.tolist()))


@dataclass
class CurvesAtPoint:
    """Every condition's dose-response at each point, with the point's values as model parameters: what an
    uncertainty sample (:mod:`sim.analyses.uncertainty`) propagates from the parameter ranges to the curves.

    ``conditions`` are Condition keyword dicts, run at ``doses`` (uM) with the assay protocol. A point's value of a
    parameter that a condition sets itself (its ``parameters``, or the copies per EV of its delivery regime) is not
    applied to that condition: what defines a condition is held, the rest is sampled.

    Returns, for the condition at index ``i``: ``ic50_uM|i`` (absolute IC50, where the 4PL crosses 50%),
    ``fit_status|i``, ``ic50_fold|i`` (over the condition at index ``control``; NaN unless both fits are ``ok``) and
    ``viability|i|j`` at dose ``j``. Flat columns, so a point is one row of a sweep's Parquet parts.
    """

    scenario: str
    conditions: tuple
    doses: tuple
    control: int = 0
    assay_h: float = 72.0
    pretreatment_h: float = 48.0
    tolerances: Tolerances = Tolerances()

    def held(self, model) -> list[set]:
        """Per condition, the names of the parameters it sets itself (never sampled for it)."""
        cat = load_catalogue()
        return [set(Condition(**c).values(model, cat)) for c in self.conditions]

    def __call__(self, inputs: dict) -> dict:
        model = scenario_model(self.scenario)
        conds = []
        for c, held in zip(self.conditions, self.held(model)):
            sampled = {k: float(v) for k, v in inputs.items() if k not in held}
            conds.append(Condition(**{**c, "parameters": {**sampled, **c.get("parameters", {})}}))
        table = run_dose_response(model, conds, doses=list(self.doses), assay_h=self.assay_h,
                                  pretreatment_h=self.pretreatment_h, tolerances=self.tolerances)
        fits = fit_curves(table).set_index("condition")
        ctrl = fits.loc[conds[self.control].name]
        out = {}
        for i, c in enumerate(conds):
            f = fits.loc[c.name]
            ok = f["status"] == "ok" and ctrl["status"] == "ok"
            out[f"ic50_uM|{i}"] = float(f["ic50_abs"])
            out[f"fit_status|{i}"] = str(f["status"])
            out[f"ic50_fold|{i}"] = float(f["ic50_abs"] / ctrl["ic50_abs"]) if ok else math.nan
            curve = table[(table["condition"] == c.name) & (table["dose_uM"] > 0)]["viability"].to_numpy()
            out.update({f"viability|{i}|{j}": float(v) for j, v in enumerate(curve)})
        return out


SPECIES_STATISTICS = ("end", "max", "at")
MAX_GRID_POINTS_PER_H = 4  # "max" reads the drug phase on a 15-min output grid


def species_column(species: str, statistic: str = "end", time_h: float | None = None) -> str:
    """Column name of a species readout: ``PTEN`` (end), ``PTEN_max`` or ``PTEN_at_24h``."""
    if statistic == "max":
        return f"{species}_max"
    if statistic == "at":
        return f"{species}_at_{time_h:g}h"
    return species


@dataclass
class AssayReadout:
    """Through the assay protocol (steady cells, pretreatment, drug phase): ``viability`` at ``dose`` (cells at the
    end over the drug-free cells) or a ``species`` of the drug phase, for ``condition`` with the factors applied as
    in :class:`IC50Shift`.

    A species is read at the end of the drug phase (``statistic = "end"``), at ``time_h`` after the drug
    (``"at"``), or as its maximum over the drug phase on a 15-min output grid (``"max"``).
    """

    scenario: str
    condition: dict
    readout: str = "viability"
    species: str = "PTEN"
    dose: float = 0.0
    assay_h: float = 72.0
    pretreatment_h: float = 48.0
    statistic: str = "end"
    time_h: float | None = None
    tolerances: Tolerances = Tolerances()

    def __post_init__(self):
        if self.statistic not in SPECIES_STATISTICS:
            raise InvalidValueError(f"A species readout's 'statistic' must be one of {', '.join(SPECIES_STATISTICS)}."
                                    f" Got {self.statistic!r}.")
        if self.statistic == "at" and not (self.time_h is not None and math.isfinite(self.time_h)
                                           and self.time_h > 0):
            raise InvalidValueError(f"A species read 'at' a time needs 'time_h' > 0 h. Got {self.time_h!r}.")

    def __call__(self, inputs: dict) -> dict:
        model = scenario_model(self.scenario)
        values = apply_factors(self.condition, inputs).values(model)
        protocol = AssayProtocol(engine_for(model, tolerances=self.tolerances), self.pretreatment_h)
        return {**self._readout(protocol, values), **delivery_budget(protocol, values)}

    def _readout(self, protocol, values: dict) -> dict:
        if self.readout == "species":
            values = {**values, "drug_ext": float(self.dose)}
            column = species_column(self.species, self.statistic, self.time_h)
            if self.statistic == "max":
                points = int(self.assay_h * MAX_GRID_POINTS_PER_H) + 1
                course = protocol.run(values, self.assay_h, points, [self.species])
                return {column: float(course[self.species].max())}
            end_h = self.time_h if self.statistic == "at" else self.assay_h
            return {column: float(protocol.endpoint(values, end_h, [self.species])[0])}
        treated, control = (protocol.endpoint({**values, "drug_ext": d}, self.assay_h, ["N_cancer"])[0]
                            for d in (float(self.dose), 0.0))
        return {"viability": float(treated / control)}
