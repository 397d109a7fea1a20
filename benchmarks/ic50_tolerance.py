"""The error budget that chooses the adaptive IC50 readout's tolerances (sim.ic50.LOOSENING).

Run: ``python benchmarks/ic50_tolerance.py [--loosening 1 10 100 1000] [--limit N]``. For every condition of every
shipped experiment that runs a drug through the ODE model (each scenario and condition once; a condition's own dose
removed), the adaptive IC50 (:func:`sim.ic50.condition_ic50`) is read with the grid path's default tolerances
(rtol 1e-6, atol 1e-9) loosened by each factor, and compared with the same readout at rtol 1e-8, atol 1e-11 and a
root located to 1e-9 in ln dose. Prints one line per loosening (largest relative IC50 error, which condition, mean
drug-phase runs, ms per IC50) and, last, one JSON object: ``conditions``, ``errors`` (loosening -> max relative
error), ``budget`` (0.001) and ``chosen`` (the largest loosening within the budget). Not part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import math
import time

import sim
from sim.engines import Tolerances
from sim.ic50 import condition_ic50
from sim.spec import load_spec, shipped_experiments

BUDGET = 1e-3  # the IC50 within 0.1% of the rtol 1e-8 answer (issue #19)
REFERENCE = Tolerances(rtol=1e-8, atol=1e-11)
REFERENCE_XTOL = 1e-9  # the reference root, in ln dose
ODE_DRUG_ANALYSES = ("dose_response", "sweep", "screen", "combination", "timecourse", "calibrate")


def shipped_conditions() -> list[tuple[str, object]]:
    """(scenario, Condition) of every ODE drug experiment, each distinct one once, doses removed."""
    seen, out = set(), []
    for name, path in sorted(shipped_experiments().items()):
        spec = load_spec(path)
        if spec.experiment.analysis not in ODE_DRUG_ANALYSES:
            continue
        scenario = spec.experiment.scenario
        for cond in spec.conditions:
            cond = cond.model_copy(update={"dose": 0.0})
            key = (scenario, json.dumps(cond.model_dump(mode="json", exclude={"name"}), sort_keys=True))
            if key not in seen:
                seen.add(key)
                out.append((scenario, cond.model_copy(update={"name": f"{name}: {cond.name}"})))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loosening", type=float, nargs="+", default=[1.0, 10.0, 100.0, 1000.0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N conditions (a quick look)")
    args = parser.parse_args()
    conditions = shipped_conditions()
    if args.limit:
        conditions = conditions[:args.limit]
    worst = {f: (0.0, "") for f in args.loosening}
    runs = {f: [] for f in args.loosening}
    times = {f: [] for f in args.loosening}
    skipped = []
    failures = {f: [] for f in args.loosening}
    for scenario, cond in conditions:
        model = sim.build_model(scenario)
        if not (model.drug or cond.drug):
            skipped.append(cond.name)
            continue
        ref = condition_ic50(model, cond, REFERENCE, loosening=1.0, xtol=REFERENCE_XTOL)
        if ref.method != "adaptive":
            skipped.append(f"{cond.name} ({ref.note})")
            continue
        for f in args.loosening:
            condition_ic50(model, cond, loosening=f)  # the shared phases, cached: what is timed is the readout
            t = time.perf_counter()
            r = condition_ic50(model, cond, loosening=f)
            times[f].append(time.perf_counter() - t)
            error = abs(r.ic50_uM / ref.ic50_uM - 1) if r.method == "adaptive" else math.inf  # gave up: failed
            if r.note:
                failures[f].append(f"{cond.name} ({r.note})")
            runs[f].append(r.simulations)
            if error > worst[f][0]:
                worst[f] = (error, f"{scenario} / {cond.name}")
    for f in args.loosening:
        n = len(runs[f])
        print(f"loosening {f:g}: max rel error {worst[f][0]:.2e} ({worst[f][1]}); {sum(runs[f]) / n:.1f} runs, "
              f"{1e3 * sum(times[f]) / n:.1f} ms per IC50 over {n} conditions"
              + (f"; gave up for {len(failures[f])}: {failures[f][0]}" if failures[f] else ""))
    if skipped:
        print("skipped: " + "; ".join(skipped))
    within = [f for f in args.loosening if worst[f][0] <= BUDGET]
    print(json.dumps({"conditions": len(runs[args.loosening[0]]), "budget": BUDGET,
                      "errors": {f"{f:g}": worst[f][0] for f in args.loosening},
                      "chosen": max(within) if within else None}))


if __name__ == "__main__":
    main()
