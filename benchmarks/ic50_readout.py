"""The adaptive IC50 readout against the grid path: speed at equal accuracy, over points of the shipped sweeps.

Run: ``python benchmarks/ic50_readout.py [--points 200]``. The points are the shipped IC50-fold sweeps' own designs:
every point of ``sweep_ev_dose_gw4869`` (6 CAF ratios x 5 GW4869 doses, enriched co-culture) and the first points
of ``sweep_sobol_pdac`` (Saltelli design over 10 parameters of EV supply, uptake, cargo and miRNA action). At each
point both the reference and the EV condition are read (sim.sweep.evaluate.IC50Shift):

- **grid**: the path sweeps took before issue #19, a 12-dose curve of each condition at rtol 1e-6 and its 4PL fit
  (with the GR fit and AUC it always computed);
- **adaptive**: :mod:`sim.ic50` (bracket on the 12-dose grid, Brent on the logit of viability, the readout
  tolerances of sim.ic50.LOOSENING).

The two are timed alternately point by point (which goes first alternates) in this one process, pinned to one core;
each has its own compiled engine and so its own cached steady states and pretreatments. The reference IC50 of each
condition is independent of both: a 48-dose curve at rtol 1e-8 / atol 1e-11, checked monotone, its crossing of 0.5
bracketed by the grid and refined by Brent on viability - 0.5 at the same tolerances (to 1e-10 in ln dose).

The last line printed is one JSON object: ``points``, ``ic50s`` (2 per point), ``points_per_s_grid``,
``points_per_s_adaptive``, ``speedup_vs_grid``, ``max_rel_error`` (adaptive IC50 vs the reference),
``max_rel_error_grid`` (the 4PL IC50 vs the reference: the fit's misfit), ``max_rel_error_fold`` and
``max_rel_error_fold_grid`` (the same for the IC50 fold) and ``fallbacks`` (readouts that gave up and used the
grid). Target (issue #19): speedup >= 2 with max_rel_error <= 0.5%. Not part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np
from scipy import optimize

from sim.curves import dose_grid
from sim.engines import Tolerances, engine_for
from sim.ic50 import readout_tolerances
from sim.protocol import AssayProtocol
from sim.spec import find_spec, load_spec
from sim.sweep.design import Factor, make_design
from sim.sweep.evaluate import IC50Shift, apply_factors, scenario_model

SWEEPS = ("sweep_ev_dose_gw4869", "sweep_sobol_pdac")
REFERENCE = Tolerances(rtol=1e-8, atol=1e-11)
REFERENCE_DOSES = 48
GRID_DOSES = 12  # the full-curve default (sim.curves.run_dose_response)


def sweep_points(limit: int) -> list[tuple[IC50Shift, IC50Shift, dict]]:
    """(grid evaluator, adaptive evaluator, factor values) of the shipped sweeps' points, ``limit`` in all."""
    out = []
    for name in SWEEPS:
        spec = load_spec(find_spec(name))
        sw = spec.sweep
        by_name = {c.name: c.model_dump(exclude_defaults=True) for c in spec.conditions}
        args = (spec.experiment.scenario, by_name[sw.condition], by_name[sw.reference], GRID_DOSES, sw.pretreatment_h)
        grid, adaptive = IC50Shift(*args, ic50_method="grid"), IC50Shift(*args, ic50_method="adaptive")
        factors = [Factor(f.name, f.low, f.high, f.scale, f.points) for f in sw.factors]
        design = make_design(factors, sw.design, sw.n, spec.experiment.seed)
        for _, row in design.iterrows():
            out.append((grid, adaptive, {f.name: float(row[f.name]) for f in factors}))
    return out[:limit]  # every GW4869 x CAF-ratio point first, then the Saltelli design's first ones


def reference_ic50(evaluate: IC50Shift, inputs: dict, which: str) -> float:
    """The independent reference IC50 (uM) of one condition of a point (see the module docstring)."""
    model = scenario_model(evaluate.scenario)
    cond = (apply_factors(evaluate.reference, inputs, False) if which == "reference"
            else apply_factors(evaluate.condition, inputs, True))
    protocol = AssayProtocol(engine_for(model, tolerances=REFERENCE), evaluate.pretreatment_h)
    values = cond.values(model)
    doses = dose_grid(cond.drug or model.drug, REFERENCE_DOSES)
    control = protocol.endpoint({**values, "drug_ext": 0.0}, 72.0, ["N_cancer"])[0]

    def v(dose: float) -> float:
        return protocol.endpoint({**values, "drug_ext": float(dose)}, 72.0, ["N_cancer"])[0] / control

    curve = np.array([v(d) for d in doses])
    if np.any(np.diff(curve) > 1e-6):
        raise RuntimeError(f"reference curve not monotone for {cond.name} at {inputs}")
    below = np.flatnonzero(curve < 0.5)
    if len(below) == 0 or below[0] == 0:
        return math.nan
    i = below[0]
    root = optimize.brentq(lambda x: v(math.exp(x)) - 0.5, math.log(doses[i - 1]), math.log(doses[i]), xtol=1e-10)
    return math.exp(root)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=200)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    points = sweep_points(args.points)
    for grid, adaptive, inputs in points[:1] + points[-1:]:  # compile every engine before timing
        grid(inputs), adaptive(inputs)
    seconds = {"grid": 0.0, "adaptive": 0.0}
    errors = {"adaptive": [], "grid": [], "fold_adaptive": [], "fold_grid": []}
    fallbacks = 0
    for k, (grid, adaptive, inputs) in enumerate(points):
        order = [("grid", grid), ("adaptive", adaptive)]
        out = {}
        for label, evaluate in (order if k % 2 == 0 else order[::-1]):
            t = time.perf_counter()
            out[label] = evaluate(inputs)
            seconds[label] += time.perf_counter() - t
        ref = {w: reference_ic50(adaptive, inputs, w) for w in ("reference", "condition")}
        fold = ref["condition"] / ref["reference"]
        for label in ("adaptive", "grid"):
            got = {"reference": out[label]["ic50_reference_uM"], "condition": out[label]["ic50_uM"]}
            errors[label] += [abs(got[w] / ref[w] - 1) for w in ref]
            errors[f"fold_{label}"].append(abs(out[label]["ic50_fold"] / fold - 1))
        fallbacks += out["adaptive"]["ic50_method"].count("grid")
        if (k + 1) % 25 == 0:
            print(f"{k + 1} points: grid {seconds['grid']:.1f} s, adaptive {seconds['adaptive']:.1f} s, "
                  f"max error adaptive {np.nanmax(errors['adaptive']):.2e}, grid {np.nanmax(errors['grid']):.2e}",
                  flush=True)
    n = len(points)
    result = {"points": n, "ic50s": 2 * n, "points_per_s_grid": n / seconds["grid"],
              "points_per_s_adaptive": n / seconds["adaptive"], "speedup_vs_grid": seconds["grid"] / seconds["adaptive"],
              "max_rel_error": float(np.max(errors["adaptive"])), "max_rel_error_grid": float(np.max(errors["grid"])),
              "max_rel_error_fold": float(np.max(errors["fold_adaptive"])),
              "max_rel_error_fold_grid": float(np.max(errors["fold_grid"])), "fallbacks": fallbacks,
              "readout_tolerances": readout_tolerances(Tolerances()).__dict__}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
