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
    env = {**os.environ, "MPLBACKEND": "Agg"}
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
