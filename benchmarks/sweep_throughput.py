"""Sweep throughput against a hand-written reused-RoadRunner loop and a naive te.loada loop; workers; memory.

Run: ``python benchmarks/sweep_throughput.py [--points N] [--memory-points M]``. The last line printed is one JSON
object with sims_per_s, ratio_vs_reused_loop, ratio_vs_naive_loop, speedup_2_workers, peak_rss_mb_start,
peak_rss_mb_end. Baselines are measured in the same run, on the same model (pdac_gem, CAF co-culture, GEM 0.05 uM,
72 h) and tolerances. Not part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

import numpy as np

import sim
from sim.engines import engine_for
from sim.sweep.design import Factor, make_design
from sim.sweep.evaluate import Endpoint
from sim.sweep.runner import run_sweep

CONDITION = {"name": "CAF-EV", "ev_mode": "coculture", "dose": 0.05}
REPEATS = 2
MEMORY_END_H = 24.0  # memory runs simulate 24 h per point: growth follows the number of runs, and 10^5 runs of 72 h
# would take the benchmark past five minutes
FACTORS = [Factor("ev_uptake_fraction_24h", 0.01, 0.3, "log"), Factor("miR_21_per_EV", 0.1, 10, "log")]


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
    parser.add_argument("--points", type=int, default=2500)
    parser.add_argument("--memory-points", type=int, default=100000)
    parser.add_argument("--memory-part", choices=("sweep", "engine", "table"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_part:
        return memory_part(args.memory_part, args.memory_points)
    model = sim.build_model("pdac_gem")
    engine = engine_for(model)
    points = make_design(FACTORS, "lhs", args.points, seed=0)
    Endpoint("pdac_gem", CONDITION)(points.iloc[0, 1:].to_dict())  # compile once

    # hand-written loop over one reused RoadRunner of the exported SBML (what a user writes), same values and
    # tolerances; it and the one-worker sweep are timed alternately, best of REPEATS each, so that a slow moment of the
    # machine does not decide the ratio. The engine computes the rules of parameters alone once per run
    # (sim.engines.frozen), which the hand loop's RoadRunner evaluates at every step: part of the ratio is that.
    import roadrunner

    rr, base = roadrunner.RoadRunner(model.sbml), sim.Condition(**CONDITION).values(model)
    for key in ("relative_tolerance", "absolute_tolerance", "maximum_num_steps"):  # the engine's own settings
        rr.getIntegrator().setValue(key, engine.rr.getIntegrator().getValue(key))

    def reused_loop() -> float:
        t = time.perf_counter()
        for k_endo, mir in zip(points["ev_uptake_fraction_24h"], points["miR_21_per_EV"]):
            for k, v in base.items():
                rr[k] = v
            rr["ev_uptake_fraction_24h"], rr["miR_21_per_EV"] = k_endo, mir
            rr.reset()
            rr.simulate(0.0, 72.0, 2, ["time", "N_cancer"])
        return time.perf_counter() - t

    loop_times, sweep_times = [], []
    for _ in range(REPEATS):
        loop_times.append(reused_loop())
        sweep_times.append(timed_sweep(points, 1))
    reused, one = len(points) / min(loop_times), len(points) / min(sweep_times)

    # naive: te.loada per simulation (a few, it is slow)
    import tellurium as te

    naive_n = 10
    t = time.perf_counter()
    for _ in range(naive_n):
        r = te.loada(model.antimony)
        r.simulate(0, 72, 2)
    naive = naive_n / (time.perf_counter() - t)

    two = len(points) / timed_sweep(points, 2)

    # memory over long runs, each in its own process so that one cannot hide another's growth: the sweep path
    # (engine + tables + Parquet), the engine alone (reused RoadRunner loop) and the table path alone (no
    # simulation). The first two run side by side on the two cores.
    parts = {name: subprocess.Popen([sys.executable, __file__, "--memory-part", name, "--memory-points",
                                     str(args.memory_points)], stdout=subprocess.PIPE, text=True)
             for name in ("sweep", "engine")}
    memory = {name: json.loads(proc.communicate()[0].strip().splitlines()[-1]) for name, proc in parts.items()}
    memory["table"] = json.loads(subprocess.run([sys.executable, __file__, "--memory-part", "table",
                                                 "--memory-points", str(args.memory_points)], capture_output=True,
                                                text=True, check=True).stdout.strip().splitlines()[-1])
    start, end = memory["sweep"]["start"], memory["sweep"]["end"]
    print(f"sweep path, 1 worker: {one:8.1f} sims/s")
    print(f"sweep path, 2 workers:{two:8.1f} sims/s  (speedup {two / one:.2f}x)")
    print(f"reused RoadRunner loop:{reused:7.1f} sims/s  (sweep/loop = {one / reused:.2f}x)")
    print(f"naive te.loada loop:  {naive:8.2f} sims/s  (sweep/naive = {one / naive:.0f}x)")
    for name, m in memory.items():
        print(f"RSS over {args.memory_points} points, {name:6s}: {m['start']:.0f} MiB after 500, {m['end']:.0f} MiB "
              f"at the end (+{m['end'] - m['start']:.0f} MiB)")
    print(json.dumps({"sims_per_s": round(one, 1), "ratio_vs_reused_loop": round(one / reused, 3),
                      "ratio_vs_naive_loop": round(one / naive, 1), "speedup_2_workers": round(two / one, 2),
                      "peak_rss_mb_start": round(start, 1), "peak_rss_mb_end": round(end, 1),
                      "rss_growth_mb": {k: round(m["end"] - m["start"], 1) for k, m in memory.items()},
                      "points": args.points, "memory_points": args.memory_points}))


def _noop(inputs: dict) -> dict:
    return {"N_cancer": inputs["ev_uptake_fraction_24h"] * 1e6}


def memory_part(part: str, n: int) -> None:
    """One memory measurement in this (fresh) process; prints {"start": MiB after 500 points, "end": MiB}."""
    points = make_design(FACTORS, "lhs", n, seed=1)
    if part == "engine":
        model = sim.build_model("pdac_gem")
        engine, base = engine_for(model), sim.Condition(**CONDITION).values(model)
        start = None
        for i, (k_endo, mir) in enumerate(zip(points["ev_uptake_fraction_24h"], points["miR_21_per_EV"])):
            values = {**base, "ev_uptake_fraction_24h": k_endo, "miR_21_per_EV": mir}
            engine.simulate_array(values, MEMORY_END_H, 2, ["N_cancer"])
            if i == 499:
                start = rss_mb()
        print(json.dumps({"start": start, "end": rss_mb()}))
        return
    evaluate = Endpoint("pdac_gem", CONDITION, end_h=MEMORY_END_H) if part == "sweep" else _noop
    with tempfile.TemporaryDirectory() as folder:
        run_sweep(evaluate, points.iloc[:500], folder, chunk_size=500, progress=False)
        start = rss_mb()
        run_sweep(evaluate, points, folder, chunk_size=2000, resume=True, progress=False)
        print(json.dumps({"start": start, "end": rss_mb()}))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
