"""Benchmark: a reused OdeEngine against a naive loop that rebuilds the model for every simulation.

Both arms run the same simulation of the reference scenario (pdac_gem, CAF co-culture, GEM 0.05 uM, 72 h, 73 points)
on one core, measured in the same run; the script prints simulations per second and the ratio. DESIGN.md 5 sets the
bar at >= 600 simulations/s reused vs ~14/s for a naive `te.loada` per simulation.

Run:  python benchmarks/bench_engine.py [--seconds 10]
"""
from __future__ import annotations

import argparse
import time

import sim
from sim.engines.ode import OdeEngine


def rate(fn, seconds: float) -> tuple[float, int]:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - start), n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0, help="time per arm")
    args = parser.parse_args()
    import roadrunner
    import tellurium as te

    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_FATAL)
    model = sim.build_model("pdac_gem")
    values = sim.Condition(name="bench", dose=0.05, ev_mode="coculture").values(model)
    engine = OdeEngine(model)

    def reused():
        engine.run(values, 72.0, 73, ["N_cancer", "PTEN", "pAKT"])

    def naive_antimony():  # what a first script does: te.loada on the Antimony text for every simulation
        rr = te.loada(model.antimony)
        for k, v in values.items():
            rr[k] = v
        rr.reset()
        rr.simulate(0, 72, 73, ["time", "N_cancer", "PTEN", "pAKT"])

    def naive_sbml():  # compile from SBML each time (skips the Antimony parse)
        rr = roadrunner.RoadRunner(model.sbml)
        for k, v in values.items():
            rr[k] = v
        rr.reset()
        rr.simulate(0, 72, 73, ["time", "N_cancer", "PTEN", "pAKT"])

    r_reused, n1 = rate(reused, args.seconds)
    r_naive, n2 = rate(naive_antimony, args.seconds)
    r_sbml, n3 = rate(naive_sbml, args.seconds)
    print(f"model: {model.name}, {len(engine.species)} species, {len(model.defaults)} parameters")
    print(f"reused engine          {r_reused:8.1f} sims/s  ({n1} runs)")
    print(f"te.loada per sim       {r_naive:8.2f} sims/s  ({n2} runs)   ratio reused/naive = {r_reused / r_naive:.0f}x")
    print(f"RoadRunner(sbml)/sim   {r_sbml:8.2f} sims/s  ({n3} runs)   ratio reused/sbml  = {r_reused / r_sbml:.0f}x")


if __name__ == "__main__":
    main()
