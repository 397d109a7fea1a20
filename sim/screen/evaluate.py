"""Screen evaluators: picklable callables from a screen point (perturbation, condition) to readouts, run by
:func:`sim.sweep.runner.run_sweep` (parallel, resumable, Dask-capable, one tidy row per point).

:class:`OdeScreenPoint` runs the perturbed condition's dose-response through the assay protocol (the same path as
the dose-response analysis), or only its IC50 by the adaptive readout (:mod:`sim.ic50`), and returns IC50, GR50, AUC, the viability at the screen's dose, the absolute cell
counts that the ranking and the synergy scores are computed from, and the point's delivery budget at drug addition
(:mod:`sim.budget`). :class:`BooleanScreenPoint` gives the MaBoSS death
probability at the drug's reference IC50 and the phenotype of the asynchronous attractors reached.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from sim.boolean_assay import cafev_network, condition_attractors, death_probability, reference_slope
from sim.budget import budget_columns, budget_part, delivery_budget
from sim.conditions import Condition
from sim.curves import fit_curves, run_dose_response
from sim.engines import Tolerances, engine_for
from sim.errors import InvalidValueError, SimulationError
from sim.ic50 import IC50_METHODS, fallback_note, readout_protocol, try_adaptive
from sim.protocol import AssayProtocol, carried, drug_free, drug_phase
from sim.screen.perturbations import WILD_TYPE, apply, parse
from sim.sweep.evaluate import scenario_model


@dataclass
class OdeScreenPoint:
    """ODE readouts of one perturbation in one named condition.

    Parameters
    ----------
    scenario : str
        Scenario preset.
    conditions : dict
        Condition name -> Condition keywords (without a dose).
    dose : float
        Drug dose (uM) of the ``viability_at_dose`` readout.
    n_doses, assay_h, pretreatment_h
        The dose-response (default grid of the scenario's drug) and its assay protocol.
    tolerances : Tolerances
        The grid path's CVODE tolerances (the adaptive readout loosens them, :func:`sim.ic50.readout_tolerances`).
    ic50_method : {"grid", "adaptive"}
        ``grid``: the dose-response and its fits (IC50, GR50, AUC). ``adaptive``: the IC50 alone, root-found
        (:mod:`sim.ic50`; GR50 and AUC NaN, ``gr_status`` ``not_computed``), falling back to the grid (and saying so
        in ``note``) for a curve the root-finder gives up on. ``ic50_method`` records which gave the IC50.
    """

    scenario: str
    conditions: dict
    dose: float
    n_doses: int = 8
    assay_h: float = 72.0
    pretreatment_h: float = 48.0
    tolerances: Tolerances = Tolerances()
    ic50_method: str = "grid"

    def __post_init__(self):
        if self.ic50_method not in IC50_METHODS:
            raise InvalidValueError(f"'ic50_method' must be one of {', '.join(IC50_METHODS)}. "
                                    f"Got {self.ic50_method!r}.")

    def condition(self, inputs: dict) -> Condition:
        """The perturbed condition of a point."""
        base = self.conditions[inputs["condition"]]
        return Condition(**{**apply(base, parse(inputs["perturbation"])), "name": inputs["perturbation"]})

    def __call__(self, inputs: dict) -> dict:
        model = scenario_model(self.scenario)
        cond = self.condition(inputs)
        note = ""
        try:
            if self.ic50_method == "adaptive":
                readout, ok = try_adaptive(model, cond, self.tolerances, self.assay_h, self.pretreatment_h)
                if ok:
                    return self._adaptive(model, cond, readout)
                note = fallback_note(readout, self.n_doses)
            rows = run_dose_response(model, [cond], n_doses=self.n_doses, assay_h=self.assay_h,
                                     pretreatment_h=self.pretreatment_h, tolerances=self.tolerances)
        except SimulationError as exc:
            if exc.reason != "no_steady_state":
                raise
            return self._not_viable(model, cond, inputs, str(exc))
        fit = fit_curves(rows).iloc[0]
        protocol = AssayProtocol(engine_for(model, tolerances=self.tolerances), self.pretreatment_h)
        cells_at_dose = float(protocol.endpoint({**cond.values(model), "drug_ext": float(self.dose)}, self.assay_h,
                                                ["N_cancer"])[0])
        cells_free = float(rows["cells_control"].iloc[0])
        return {"ic50_uM": float(fit["ic50_abs"]), "gr50_uM": float(fit.get("gr50", math.nan)),
                "auc": float(fit["auc"]), "viability_at_dose": cells_at_dose / cells_free,
                "cells_drug_free": cells_free, "cells_at_dose": cells_at_dose,
                "cells_start": float(rows["cells_start"].iloc[0]), "fit_status": fit["status"],
                "gr_status": fit.get("gr_status", "not_fitted"), "ic50_method": "grid", "note": note,
                **{k: float(v) for k, v in budget_part(fit).items()}}

    def _adaptive(self, model, cond: Condition, readout) -> dict:
        """The point's readouts from an adaptive IC50 (:mod:`sim.ic50`): no GR50 or AUC (no curve was run)."""
        protocol = readout_protocol(model, self.tolerances, self.pretreatment_h)
        values = cond.values(model)
        cells_at_dose = float(protocol.endpoint({**values, "drug_ext": float(self.dose)},
                                                cond.assay_time_h or self.assay_h, ["N_cancer"])[0])
        return {"ic50_uM": readout.ic50_uM, "gr50_uM": math.nan, "auc": math.nan,
                "viability_at_dose": cells_at_dose / readout.cells_control, "cells_drug_free": readout.cells_control,
                "cells_at_dose": cells_at_dose,
                "cells_start": float(values.get("seeding_density", model.defaults["seeding_density"])),
                "fit_status": readout.status, "gr_status": "not_computed", "ic50_method": "adaptive", "note": "",
                **delivery_budget(protocol, values)}


    def _not_viable(self, model, cond: Condition, inputs: dict, reason: str) -> dict:
        """A genotype without an untreated steady state (e.g. GPX4 knockout: lipid ROS rises without bound) cannot
        be a stable cell line. It is read as a perturbation induced in wild-type steady cells at the start of the
        pretreatment: its drug-free and drug-treated cell counts at the end of the assay, no IC50."""
        engine = engine_for(model, tolerances=self.tolerances)
        wild = Condition(**{**self.conditions[inputs["condition"]], "name": "wild type"}).values(model)
        start = AssayProtocol(engine, self.pretreatment_h).steady_cells(wild)
        values = cond.values(model)
        if self.pretreatment_h > 0:
            state = engine.final_state(drug_free(values), self.pretreatment_h, start)
            start = carried(state)
        values = drug_phase(values, self.pretreatment_h)
        cells_free, cells_dose = (float(engine.simulate_array({**values, "drug_ext": d}, self.assay_h, 2,
                                                              ["N_cancer"], start)[-1, 1]) for d in (0.0, self.dose))
        return {"ic50_uM": math.nan, "gr50_uM": math.nan, "auc": math.nan,
                "viability_at_dose": cells_dose / cells_free if cells_free > 0 else math.nan,
                "cells_drug_free": cells_free, "cells_at_dose": cells_dose,
                "cells_start": float(values.get("seeding_density", model.defaults["seeding_density"])),
                "fit_status": "no_steady_state", "gr_status": "not_fitted", "ic50_method": self.ic50_method,
                "note": f"untreated genotype has no steady state ({reason.split('(')[-1].rstrip(').')}); read as "
                        f"induced in wild-type cells at the start of the pretreatment",
                **dict.fromkeys(budget_columns(model), math.nan)}  # no steady cells: no budget to report


@dataclass
class BooleanScreenPoint:
    """Boolean readouts of one perturbation in one named condition: MaBoSS death probability at the drug's
    reference IC50 (``samples`` trajectories, ``seed``; the EV dose from the ODE delivery budget after
    ``pretreatment_h``, death after ``assay_h``), for the wild type also the slope of death against ln dose (the
    reference of the agreement table's equivalent dose fold), and the outcome of the asynchronous attractors reached
    from the drug-on start (``death``, ``survival`` or ``death+survival``)."""

    scenario: str
    conditions: dict
    samples: int = 2000
    seed: int = 0
    assay_h: float = 72.0
    pretreatment_h: float = 48.0

    def __call__(self, inputs: dict) -> dict:
        network = cafev_network()
        base = self.conditions[inputs["condition"]]
        cond = Condition(**{**apply(base, parse(inputs["perturbation"])), "name": inputs["perturbation"]})
        run = {"assay_h": self.assay_h, "samples": self.samples, "seed": self.seed,
               "pretreatment_h": self.pretreatment_h}
        death = death_probability(network, self.scenario, cond, **run)
        slope = (reference_slope(network, self.scenario, cond, **run) if inputs["perturbation"] == WILD_TYPE
                 else math.nan)  # the wild type is the agreement table's reference
        outcomes = sorted(set(condition_attractors(network, self.scenario, cond)["outcome"]))
        return {"death_probability": death, "death_slope": slope, "attractor_outcome": "+".join(outcomes)}
