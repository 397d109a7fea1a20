"""Benchmark: the calibration objective and a whole 2-parameter calibration with profiles.

Issue #14's bars: one objective evaluation for 3 conditions x 10 doses <= 150 ms on one core; a 2-parameter
calibration with profiles <= 5 min on 2 cores. Baseline measured in the same run: the same 3 x (10 doses + the
drug-free run) endpoints through the assay protocol in a plain loop, at a fresh parameter value each time (so
neither run reuses a cached steady state or pretreatment), i.e. what the objective costs beyond the simulations.

Run: ``python benchmarks/calibration_speed.py [--workers 2] [--skip-calibration]``; the last line is JSON. Not part
of the test suite.
"""
from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import pandas as pd

from sim.build import build_model
from sim.calibration import estimate as est
from sim.calibration.objective import ProtocolObjective
from sim.calibration.problem import free_parameters
from sim.conditions import Condition
from sim.engines import engine_for
from sim.protocol import AssayProtocol

CONDITIONS = [Condition(name="control"), Condition(name="CAF-EV 10", ev_mode="addition", ev_dose_ug=10),
              Condition(name="CAF-EV 50", ev_mode="addition", ev_dose_ug=50)]
DOSES = np.logspace(-4, 0, 10)


def data_table() -> pd.DataFrame:
    return pd.DataFrame([{"condition": c.name, "dose_uM": d, "response": 0.5, "replicate": "1"}
                         for c in CONDITIONS for d in DOSES])


def objective_ms(model, repeats: int = 20) -> tuple[float, float]:
    """Median ms of one objective evaluation and of the plain protocol loop, alternating, each at a new value."""
    params = free_parameters(model, [{"name": "ABCB1_per_EV", "low": 1, "high": 1e4}])
    objective = ProtocolObjective(model, CONDITIONS, data_table(), params, 72, 48, 0.05)
    protocol = AssayProtocol(engine_for(model), 48)
    values = [c.values(model) for c in CONDITIONS]

    def plain(copies: float) -> None:
        for v in values:
            v = {**v, "ABCB1_per_EV": copies}
            protocol.endpoint({**v, "drug_ext": 0.0}, 72, ["N_cancer"])
            for d in DOSES:
                protocol.endpoint({**v, "drug_ext": float(d)}, 72, ["N_cancer"])

    objective([2.0])
    ours, base = [], []
    for i in range(repeats):
        x = 1.0 + 2.0 * i / repeats  # a new value each call: no cached pretreatment
        t = time.perf_counter()
        objective([x])
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        plain(10 ** (x + 0.01))
        base.append(time.perf_counter() - t)
    return 1e3 * float(np.median(ours)), 1e3 * float(np.median(base))


def calibration_s(model, workers: int) -> tuple[float, pd.DataFrame]:
    """Seconds for 10 starts and both profiles of ABCB1_per_EV and ev_particles_per_ug (a confounded pair, the
    costliest kind: both profiles walk to their bounds) on data cafev made at 129 copies per EV."""
    params = free_parameters(model, [{"name": "ABCB1_per_EV", "low": 1, "high": 1e4},
                                     {"name": "ev_particles_per_ug", "low": 1e7, "high": 1e11}])
    data = data_table()
    maker = ProtocolObjective(model, CONDITIONS, data, params, 72, 48, "estimate")
    data["response"] = maker.predictions([math.log10(129), 9.0]) + np.random.default_rng(0).normal(0, 0.05, len(data))
    objective = ProtocolObjective(model, CONDITIONS, data, params, 72, 48, "estimate")
    objective.protocol
    t = time.perf_counter()
    problem = est.pypesto_problem(objective)
    result = est.profiles(problem, est.multistart(problem, 10, 0, workers, True), objective, 0.95, True)
    return time.perf_counter() - t, est.profile_table(result, objective, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-calibration", action="store_true")
    args = parser.parse_args()
    model = build_model("ovarian_ptx_pgp")
    ours, base = objective_ms(model)
    print(f"objective, 3 conditions x 10 doses: {ours:.1f} ms (bar 150 ms); plain protocol loop {base:.1f} ms; "
          f"ratio {ours / base:.3f}")
    out = {"objective_ms": round(ours, 2), "plain_loop_ms": round(base, 2), "ratio_to_plain": round(ours / base, 3)}
    if not args.skip_calibration:
        seconds, table = calibration_s(model, args.workers)
        print(table[["parameter", "estimate", "lower", "upper", "identifiability"]].to_string(index=False))
        print(f"2-parameter calibration, 10 starts + profiles, {args.workers} workers: {seconds:.0f} s (bar 300 s)")
        out.update(calibration_s=round(seconds, 1), workers=args.workers)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
