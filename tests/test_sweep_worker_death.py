"""A worker process that dies mid-sweep (issue #5): its chunk is re-run elsewhere, no point is lost or duplicated,
and a point that kills every worker it runs on only loses itself (a ``WorkerDied`` row)."""
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from sim.sweep.design import Factor, make_design
from sim.sweep.runner import MAX_CHUNK_RETRIES, PARTS, run_sweep

POINTS = make_design([Factor("x", 0, 19, points=20)], "grid")  # x = 0, 1, ..., 19


def double(inputs):
    return {"y": inputs["x"] * 2}


@dataclass(frozen=True)
class KillOnce:
    """SIGKILLs its own worker process at point ``x == at`` the first time (a marker file says it happened)."""

    marker: Path
    at: float = 7.0

    def __call__(self, inputs):
        if inputs["x"] == self.at and not self.marker.exists():
            self.marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return double(inputs)


@dataclass(frozen=True)
class Poison:
    """Ends its worker process (``os._exit(3)``) at point ``x == at`` every time; other points take ``delay`` s."""

    at: float = 7.0
    delay: float = 0.0

    def __call__(self, inputs):
        if inputs["x"] == self.at:
            os._exit(3)
        time.sleep(self.delay)
        return double(inputs)


def _parts_are_disjoint(folder):
    ids = [i for part in (folder / PARTS).glob("chunk_*.parquet") for i in pd.read_parquet(part)["point"]]
    assert len(ids) == len(set(ids)) == len(POINTS)


def test_a_killed_worker_s_chunk_is_rerun_and_the_table_equals_an_uninterrupted_run(tmp_path):
    killed = run_sweep(KillOnce(tmp_path / "killed.marker"), POINTS, tmp_path / "killed", workers=2, chunk_size=3)
    clean = run_sweep(double, POINTS, tmp_path / "clean", workers=1, chunk_size=3)
    assert (tmp_path / "killed.marker").exists()  # the worker really was killed
    pd.testing.assert_frame_equal(killed, clean)
    assert killed["point"].tolist() == list(range(len(POINTS))) and (killed["status"] == "ok").all()
    assert killed.attrs["rerun_chunks"] >= 1 and clean.attrs["rerun_chunks"] == 0
    _parts_are_disjoint(tmp_path / "killed")


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.1], ids=["alone", "beside-a-running-chunk"])
def test_a_point_that_always_kills_its_worker_only_loses_itself(tmp_path, delay):
    # with a delay the chunk beside the poisonous one is still running when the pool breaks, so it is blamed too
    table = run_sweep(Poison(at=7.0, delay=delay), POINTS, tmp_path, workers=2, chunk_size=4)
    assert table["point"].tolist() == list(range(len(POINTS)))
    failed = table[table["status"] == "failed"]
    assert failed["x"].tolist() == [7.0]
    message = failed["message"].iloc[0]
    assert message.startswith("WorkerDied") and "exit code 3" in message
    assert f"{MAX_CHUNK_RETRIES + 1} times" in message
    ok = table[table["status"] == "ok"]
    assert len(ok) == len(POINTS) - 1 and (ok["y"] == ok["x"] * 2).all()
    assert table.attrs["rerun_chunks"] >= 1
    _parts_are_disjoint(tmp_path)


@pytest.mark.slow
def test_dask_killed_worker_loses_only_the_poisonous_point(tmp_path):
    import dask
    from distributed import LocalCluster

    # no re-runs by the scheduler (default 3): the first death is a KilledWorker, which keeps the test short, and
    # it fails the tasks queued on the dying worker too, so innocent points are blamed and must be retried
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        table = run_sweep(Poison(at=7.0), POINTS, tmp_path, chunk_size=4, scheduler=cluster.scheduler_address)
    failed = table[table["status"] == "failed"]
    assert failed["x"].tolist() == [7.0] and failed["message"].iloc[0].startswith("WorkerDied")
    assert (table["status"] == "ok").sum() == len(POINTS) - 1 and table.attrs["rerun_chunks"] >= 1
    _parts_are_disjoint(tmp_path)


def _double(x):
    return 2 * x


@pytest.mark.slow
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_the_end_with_parent_initializer_works_with_every_start_method(method):
    # the initializer ties a worker to whoever forked it (the sweep, or the fork server), never to a pid it was given:
    # under 'forkserver' or 'spawn' (Python 3.14's default on Linux is forkserver) the workers still run
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from sim.sweep.runner import _end_with_parent

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method), initializer=_end_with_parent) as pool:
        assert list(pool.map(_double, range(4))) == [0, 2, 4, 6]
