"""Sweep throughput against a hand-written reused-RoadRunner loop and a naive te.loada loop; workers; memory.

Run: ``python benchmarks/sweep_throughput.py [--points N] [--memory-points M]``. The last line printed is one JSON
object with sims_per_s, ratio_vs_reused_loop, ratio_vs_naive_loop, speedup_2_workers, peak_rss_mb_start,
peak_rss_mb_end. Baselines are measured in the same run, on the same model (pdac_gem, CAF co-culture, GEM 0.05 uM,
72 h) and tolerances. Not part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np

import sim
from sim.engines.ode import engine_for
from sim.sweep.design import Factor, make_design
from sim.sweep.evaluate import Endpoint
from sim.sweep.runner import run_sweep

CONDITION = {"name": "CAF-EV", "ev_mode": "coculture", "dose": 0.05}
FACTORS = [Factor("k_endocytosis", 1e-8, 1e-6, "log"), Factor("miR_21_per_EV", 0.1, 10, "log")]


def rss_mb() -> float:
    """Resident memory of this process (VmRSS), MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def timed_sweep(points, workers: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        t = time.perf_counter()
        run_sweep(Endpoint("pdac_gem", CONDITION), points, folder, workers=workers, chunk_size=max(1, len(points) // 16),
                  progress=False)
        return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=4000)
    parser.add_argument("--memory-points", type=int, default=100000)
    args = parser.parse_args()
    model = sim.build_model("pdac_gem")
    engine = engine_for(model)
    points = make_design(FACTORS, "lhs", args.points, seed=0)
    Endpoint("pdac_gem", CONDITION)(points.iloc[0, 1:].to_dict())  # compile once

    # hand-written loop over one reused RoadRunner, same values and tolerances
    rr, base = engine.rr, sim.Condition(**CONDITION).values(model)
    t = time.perf_counter()
    for _, row in points.iterrows():
        for k, v in base.items():
            rr[k] = v
        rr["k_endocytosis"], rr["miR_21_per_EV"] = row["k_endocytosis"], row["miR_21_per_EV"]
        rr.reset()
        rr.simulate(0.0, 72.0, 2, ["time", "N_cancer"])
    reused = len(points) / (time.perf_counter() - t)

    # naive: te.loada per simulation (a few, it is slow)
    import tellurium as te

    naive_n = 10
    t = time.perf_counter()
    for _ in range(naive_n):
        r = te.loada(model.antimony)
        r.simulate(0, 72, 2)
    naive = naive_n / (time.perf_counter() - t)

    one = len(points) / timed_sweep(points, 1)
    two = len(points) / timed_sweep(points, 2)

    # memory over a long in-process sweep: RSS after the first part and at the end
    mem_points = make_design(FACTORS, "lhs", args.memory_points, seed=1)
    evaluate = Endpoint("pdac_gem", CONDITION)
    with tempfile.TemporaryDirectory() as folder:
        run_sweep(evaluate, mem_points.iloc[:500], folder, chunk_size=500, progress=False)
        start = rss_mb()
        run_sweep(evaluate, mem_points, folder, chunk_size=2000, resume=True, progress=False)
        end = rss_mb()
    print(f"sweep path, 1 worker: {one:8.1f} sims/s")
    print(f"sweep path, 2 workers:{two:8.1f} sims/s  (speedup {two / one:.2f}x)")
    print(f"reused RoadRunner loop:{reused:7.1f} sims/s  (sweep/loop = {one / reused:.2f}x)")
    print(f"naive te.loada loop:  {naive:8.2f} sims/s  (sweep/naive = {one / naive:.0f}x)")
    print(f"RSS over {args.memory_points} points: {start:.0f} MiB after 500, {end:.0f} MiB at the end")
    print(json.dumps({"sims_per_s": round(one, 1), "ratio_vs_reused_loop": round(one / reused, 3),
                      "ratio_vs_naive_loop": round(one / naive, 1), "speedup_2_workers": round(two / one, 2),
                      "peak_rss_mb_start": round(start, 1), "peak_rss_mb_end": round(end, 1),
                      "points": args.points, "memory_points": args.memory_points}))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
