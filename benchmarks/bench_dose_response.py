"""Benchmark: one 12-dose dose-response curve plus its fit, for one condition, on one core.

Issue #3's bar: <= 20 ms with the reused engine (steady state and pretreatment cached, as in a dose-response run
after its first condition). Baseline measured in the same run: the same 13 simulations (drug-free + 12 doses)
through a plain reset/simulate loop on the same compiled RoadRunner, i.e. the integration cost alone.

Run: ``python benchmarks/bench_dose_response.py``. Not part of the test suite.
"""
from __future__ import annotations

import time

import numpy as np

import sim
from sim.curves import dose_grid, run_dose_response
from sim.engines import engine_for
from sim.fit import fit_ll4
from sim.gr import fit_gr


def best_of(fn, repeats: int = 30) -> float:
    """Median seconds per call over ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main() -> None:
    model = sim.build_model("pdac_gem")
    engine = engine_for(model)
    cond = sim.Condition(name="CAF-EV", ev_mode="coculture")
    doses = dose_grid("GEM", 12)
    values = cond.values(model)

    import roadrunner

    rr = roadrunner.RoadRunner(model.sbml)  # a RoadRunner of its own: the engine owns its one
    for key in ("relative_tolerance", "absolute_tolerance", "maximum_num_steps"):
        rr.getIntegrator().setValue(key, engine.rr.getIntegrator().getValue(key))

    def plain_loop():
        for k, v in values.items():
            rr[k] = v
        for d in np.concatenate([[0.0], doses]):
            rr["drug_ext"] = d
            rr.reset()
            rr.simulate(0.0, 72.0, 2, ["time", "N_cancer"])

    table = run_dose_response(model, [cond], doses=doses)
    curve = best_of(lambda: run_dose_response(model, [cond], doses=doses))
    fit = best_of(lambda: fit_ll4(table["dose_uM"], table["viability"]))
    pos = table[table["dose_uM"] > 0]
    gr = best_of(lambda: fit_gr(pos["dose_uM"], pos["gr"]))
    base = best_of(plain_loop)
    print(f"12-dose curve (13 simulations, protocol, table): {curve * 1e3:7.2f} ms")
    print(f"4PL fit (drc LL.4 + SEs):                         {fit * 1e3:7.2f} ms")
    print(f"curve + 4PL fit:                                  {(curve + fit) * 1e3:7.2f} ms   (bar: <= 20 ms)")
    print(f"GR metrics fit (reference L-BFGS-B):              {gr * 1e3:7.2f} ms")
    print(f"curve + 4PL + GR:                                 {(curve + fit + gr) * 1e3:7.2f} ms")
    print(f"baseline: plain reset/simulate loop, 13 runs:     {base * 1e3:7.2f} ms   "
          f"(curve / baseline = {curve / base:.2f}x)")


if __name__ == "__main__":
    main()
