"""Sweep evaluators: picklable callables from factor values to readouts, for :func:`sim.sweep.runner.run_sweep`.

:class:`IC50Shift` runs a dose-response of a scenario under a condition and its reference at each point and reports
the absolute IC50s, their fold and the fit status. A factor is applied to the condition (and the reference) as:
a model parameter (``Condition.parameters``), ``caf_ratio`` or ``ev_dose_ug`` (exposure), or an intervention id
(its dose; only on the condition, not on the reference).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

from sim.catalogue import load_catalogue
from sim.conditions import Condition
from sim.errors import UnknownNameError

EXPOSURE_FACTORS = ("caf_ratio", "ev_dose_ug")


@lru_cache(maxsize=8)
def _model(scenario: str):
    """One built model per scenario and process (building converts Antimony to SBML: not per point)."""
    from sim.build import build_model

    return build_model(scenario)


def ishigami(inputs: dict, a: float = 7.0, b: float = 0.1) -> dict:
    """The Ishigami function (Ishigami & Homma 1990), SALib's test problem for Sobol' indices."""
    x1, x2, x3 = inputs["x1"], inputs["x2"], inputs["x3"]
    return {"y": math.sin(x1) + a * math.sin(x2) ** 2 + b * x3 ** 4 * math.sin(x1)}


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
    """IC50 of ``condition`` and of ``reference`` (Condition keyword dicts) at each point, and their fold."""

    scenario: str
    condition: dict
    reference: dict = field(default_factory=lambda: {"name": "reference"})
    n_doses: int = 8
    pretreatment_h: float = 48.0

    def check(self, factor_names) -> None:
        """Every factor must be a parameter of the model, an exposure setting or an intervention (before work)."""
        model = _model(self.scenario)
        valid = set(model.defaults) | set(EXPOSURE_FACTORS) | set(load_catalogue().interventions)
        for name in factor_names:
            if name not in valid:
                raise UnknownNameError("sweep factor", name, sorted(valid), f"scenario '{self.scenario}'")

    def __call__(self, inputs: dict) -> dict:
        from sim.analyses.dose_response import fit_curves, run_dose_response

        model = _model(self.scenario)
        conds = [apply_factors(self.reference, inputs, False), apply_factors(self.condition, inputs, True)]
        fits = fit_curves(run_dose_response(model, conds, n_doses=self.n_doses,
                                            pretreatment_h=self.pretreatment_h)).set_index("condition")
        ref, cond = (fits.loc[c.name] for c in conds)
        ok = ref["status"] == "ok" and cond["status"] == "ok"
        return {"ic50_reference_uM": ref["ic50_abs"], "ic50_uM": cond["ic50_abs"],
                "ic50_fold": cond["ic50_abs"] / ref["ic50_abs"] if ok else math.nan,
                "fit_status": f"{ref['status']}/{cond['status']}"}


@dataclass
class Endpoint:
    """One simulation per point: ``condition`` (Condition keywords) with the factors as model parameters, run for
    ``end_h`` from the model's initial state; returns the ``readouts`` at the end. The cheapest evaluator: one
    reused compiled model, no protocol phases (what the sweep-throughput benchmark measures)."""

    scenario: str
    condition: dict
    readouts: tuple = ("N_cancer",)
    end_h: float = 72.0

    def __call__(self, inputs: dict) -> dict:
        from sim.engines.ode import engine_for

        model = _model(self.scenario)
        values = Condition(**self.condition).values(model)
        values.update({k: float(v) for k, v in inputs.items()})
        row = engine_for(model).simulate_array(values, self.end_h, 2, list(self.readouts))[-1, 1:]
        return dict(zip(self.readouts, row.tolist()))


@dataclass
class AssayReadout:
    """Through the assay protocol (steady cells, pretreatment, drug phase): ``viability`` at ``dose`` (cells at the
    end over the drug-free cells) or a ``species`` at the end of the drug phase, for ``condition`` with the factors
    applied as in :class:`IC50Shift`."""

    scenario: str
    condition: dict
    readout: str = "viability"
    species: str = "PTEN"
    dose: float = 0.0
    assay_h: float = 72.0
    pretreatment_h: float = 48.0

    def __call__(self, inputs: dict) -> dict:
        from sim.engines.ode import engine_for
        from sim.protocol import AssayProtocol

        model = _model(self.scenario)
        values = apply_factors(self.condition, inputs).values(model)
        protocol = AssayProtocol(engine_for(model), self.pretreatment_h)
        if self.readout == "species":
            end = protocol.endpoint({**values, "drug_ext": float(self.dose)}, self.assay_h, [self.species])
            return {self.species: float(end[0])}
        treated, control = (protocol.endpoint({**values, "drug_ext": d}, self.assay_h, ["N_cancer"])[0]
                            for d in (float(self.dose), 0.0))
        return {"viability": float(treated / control)}
