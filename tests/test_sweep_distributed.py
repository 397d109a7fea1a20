"""Sweeps on a real Dask scheduler with two worker processes on loopback, and resume after SIGKILL (issue #5)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import SMALL_SWEEP_PARTS, SMALL_SWEEP_POINTS, cafev_run

from sim.sweep.design import Factor, make_design
from sim.sweep.evaluate import IC50Shift
from sim.sweep.runner import PARTS, run_sweep

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


def test_resume_after_sigkill_equals_an_uninterrupted_run(small_sweep, small_sweep_table, tmp_path):
    # one process (--workers 1): killed twice, each time once a new part is written, then resumed to the end; the
    # table equals the uninterrupted run's (made with 2 workers: the worker count does not change a table)
    base = cafev_run(small_sweep, tmp_path / "killed", "--workers", "1")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    killed = tmp_path / "killed"
    parts = lambda: len(list((killed / PARTS).glob("chunk_*.parquet")))  # noqa: E731
    for _ in range(2):
        start = parts()
        proc = subprocess.Popen(base + (["--resume"] if start else []), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        end = time.time() + 120
        while parts() <= start:
            assert proc.poll() is None and time.time() < end, "the run ended before a new part was written"
            time.sleep(0.02)
        assert parts() < SMALL_SWEEP_PARTS  # killed before the end
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    for part in (killed / PARTS).glob("chunk_*.parquet"):  # atomic writes: every visible part is complete
        assert len(pd.read_parquet(part)) == 2  # the small sweep's chunk_size
    run = subprocess.run(base + ["--resume"], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    resumed = pd.read_parquet(killed / "sweep.parquet")
    pd.testing.assert_frame_equal(resumed, small_sweep_table)
    assert resumed["point"].tolist() == list(range(SMALL_SWEEP_POINTS))  # none lost, none repeated
