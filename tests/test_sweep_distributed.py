"""Sweeps on a real Dask scheduler with two worker processes on loopback (issue #5); resume after SIGKILL of a run
with one process is in tests/test_interruptions.py."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.sweep.design import Factor, make_design
from sim.sweep.evaluate import IC50Shift
from sim.sweep.runner import run_sweep

pytestmark = pytest.mark.slow  # a Dask scheduler and two workers as subprocesses

BIN = Path(sys.executable).parent


def _wait_for(path: Path, seconds: float = 60) -> None:
    end = time.time() + seconds
    while not path.exists():
        if time.time() > end:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.2)


@pytest.fixture
def cluster(tmp_path):
    """`dask scheduler` and two `dask worker` processes, as a user would start them."""
    file = tmp_path / "scheduler.json"
    # the workers import the sim these tests import (a git worktree's, not an editable install's other checkout)
    import sim

    here = str(Path(sim.__file__).resolve().parent.parent)
    path = os.pathsep.join([here] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": path}
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(file)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        _wait_for(file)
        for _ in range(2):
            procs.append(subprocess.Popen([str(BIN / "dask"), "worker", "--scheduler-file", str(file),
                                           "--nworkers", "1", "--nthreads", "1", "--no-dashboard"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        address = json.loads(file.read_text())["address"]
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


def test_distributed_run_gives_the_local_table(cluster, tmp_path):
    evaluate = IC50Shift("pdac_gem", {"name": "CAF-EV", "ev_mode": "coculture"}, {"name": "control"}, n_doses=6)
    points = make_design([Factor("caf_ratio", 0.5, 2, "log", points=3), Factor("GW4869", 0, 20, points=2)], "grid")
    remote = run_sweep(evaluate, points, tmp_path / "remote", chunk_size=2, scheduler=cluster)
    local = run_sweep(evaluate, points, tmp_path / "local", chunk_size=2, workers=1)
    pd.testing.assert_frame_equal(remote, local)


def test_uncertainty_band_on_a_dask_scheduler_is_the_local_one(cluster, tmp_path):
    # a dose-response's [uncertainty] sample runs on the sweep runner, so --scheduler applies to it unchanged
    from sim.experiment import run_experiment
    from sim.spec import parse_spec

    spec = parse_spec({"experiment": {"name": "u", "scenario": "pdac_gem", "analysis": "dose_response"},
                       "dose_response": {"doses": [0.005, 0.02, 0.05, 0.15, 0.5, 2.0]},
                       "uncertainty": {"samples": 10, "parameters": ["k_escape", "mirna_max_repression"]},
                       "conditions": [{"name": "control"}, {"name": "CAF-EV", "ev_mode": "addition"}]})
    run_experiment(spec, tmp_path / "remote", scheduler=cluster, quiet=True)
    run_experiment(spec, tmp_path / "local", workers=1, quiet=True)
    for name in ("uncertainty.csv", "shifts.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "remote" / name), pd.read_csv(tmp_path / "local" / name))
