"""Run a sweep's points in worker processes, chunk by chunk, into Parquet parts that a killed run resumes from.

Each chunk of points is evaluated in one worker process (processes, not threads: libRoadRunner holds the GIL and
threads are slower than one core); the worker builds its model once (``engine_for`` caches it per process). A
finished chunk is written atomically as ``parts/chunk_<first point>.parquet`` as soon as it completes; ``resume``
reads the parts already there and runs only the points missing from them, so nothing is lost or repeated. A point
whose evaluation fails is recorded with ``status = "failed"`` and its message, and never stops the sweep.

A worker process that dies (SIGKILL, ``os._exit``, the OOM killer) breaks the local process pool: a fresh pool is
started and every chunk not yet written runs again, so no point is lost or duplicated. A chunk that was running in
a dying pool more than :data:`MAX_CHUNK_RETRIES` + 1 times is then run point by point in a single-worker pool, each
point written as its own part, so that a point that always kills its worker only loses itself: it is recorded as
a ``failed`` row whose message starts ``WorkerDied``. On a Dask scheduler the scheduler itself re-runs the tasks of
a lost worker (``distributed.scheduler.allowed-failures``); a chunk that still ends in ``KilledWorker`` is run
again one point at a time. ``table.attrs["rerun_chunks"]`` counts the chunks that were run again.
"""
from __future__ import annotations

import importlib.util
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import Interrupted, InvalidValueError, SimulationError
from sim.results import atomic_write
from sim.sweep.faults import RetryTighter, failure_reason

PARTS = "parts"
MAX_CHUNK_RETRIES = 2  # re-runs of a chunk whose worker died, before its points are run one at a time


def evaluate_chunk(evaluate: Callable[[dict], dict], chunk: pd.DataFrame) -> pd.DataFrame:
    """Evaluate each point (row) of ``chunk``; failures become ``status = failed`` rows with the message."""
    rows = []
    factors = [c for c in chunk.columns if c != "point"]
    for record in chunk.to_dict("records"):
        inputs = {k: record[k] for k in factors}
        try:
            out = evaluate(inputs)
            rows.append({**record, **out, "status": "ok", "reason": "", "message": ""})
        except Exception as exc:  # noqa: BLE001 — a failed point is data, never the end of the sweep
            extra = {"retried": True} if getattr(exc, "retried", False) else {}
            rows.append({**record, **extra, "status": "failed", "reason": failure_reason(exc),
                         "message": f"{type(exc).__name__}: {exc}"})
    return pd.DataFrame(rows)


def worker_died(chunk: pd.DataFrame, how: str, times: int | str) -> pd.DataFrame:
    """``failed`` rows for the points of ``chunk`` whose worker process died ``times`` times (``how``: the cause)."""
    message = f"WorkerDied: the worker process running this point died ({how}) {times} times"
    return pd.DataFrame([{**record, "status": "failed", "reason": "worker_died", "message": message}
                         for record in chunk.to_dict("records")])


def finished_points(folder: Path) -> pd.DataFrame:
    """The rows already written under ``folder/parts`` (empty table if none)."""
    parts = sorted((Path(folder) / PARTS).glob("chunk_*.parquet"))
    if not parts:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def _describe(code: int) -> str:
    """An exit status as words: ``signal SIGKILL`` or ``exit code 3``."""
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class _RecordingContext:
    """The default multiprocessing context, keeping the worker processes a pool starts so that their exit codes
    can be read once the pool has broken (``BrokenProcessPool`` does not say which worker died, nor how)."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context()
        self.processes: list = []

    def Process(self, *args, **kwargs):  # noqa: N802 — the name ProcessPoolExecutor calls
        process = self._context.Process(*args, **kwargs)
        self.processes.append(process)
        return process

    def __getattr__(self, name: str):
        return getattr(self._context, name)

    def death(self) -> str:
        """How the pool's workers died; call after the pool has shut down (its processes joined). The workers
        still alive when a pool breaks are ended with SIGTERM, so SIGTERM is named only if nothing else is."""
        codes = [p.exitcode for p in self.processes if p.exitcode is not None]
        dead = [c for c in codes if c not in (0, -signal.SIGTERM)] or [c for c in codes if c == -signal.SIGTERM]
        return ", ".join(_describe(c) for c in sorted(set(dead))) or "cause unknown"


def _end_with_parent(sweep: int | None = None) -> None:
    """Worker initializer: the worker is ended (SIGTERM) when the process that started it dies, even by SIGKILL, so
    a killed sweep leaves no worker behind (Linux prctl PR_SET_PDEATHSIG; elsewhere a no-op). The parent is whoever
    forked the worker: the sweep itself under 'fork', the fork server under 'forkserver' (which ends with the sweep).
    A worker whose sweep (pid ``sweep``) died before the request took effect ends itself: between the fork and this
    initializer the parent can already be gone, and then its parent id is the reaper's, which no check against it
    can see."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError, TypeError):
        return
    if os.getppid() != parent or (sweep is not None and not _alive(sweep)):  # died before the request took effect
        os._exit(1)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (a SIGKILLed sweep not yet reaped by its own parent)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


class _stop_on_interrupt:
    """On Ctrl-C, end the pool's workers at once (their unfinished chunks are not written; finished ones are)."""

    def __init__(self, context):
        self.context = context

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if kind is KeyboardInterrupt:
            for process in self.context.processes:
                if process.is_alive():
                    process.kill()
        return False


def _run_in_pools(evaluate: Callable[[dict], dict], chunks: list[pd.DataFrame], workers: int, in_flight: int,
                  keep: Callable[[pd.DataFrame], None]) -> tuple[list[tuple[pd.DataFrame, str, int]], set[int]]:
    """Run ``chunks`` in a pool of ``workers`` processes, calling ``keep`` on each result as it completes.

    At most ``in_flight`` chunks are submitted at a time (``workers`` + 1 keeps every worker busy; ``workers``
    means each one is running, so a death blames only the chunks that could have caused it). When the pool breaks,
    the chunks in flight are blamed, a fresh pool is started, and the chunks not yet kept run again; a chunk blamed
    more than ``MAX_CHUNK_RETRIES + 1`` times is given up.

    Returns
    -------
    given_up : list of (chunk, how its workers died, times)
    rerun : set of int
        First point ids of the chunks run more than once.
    """
    queue, deaths, given_up = deque(chunks), {}, []
    while queue:
        context, lost, broken = _RecordingContext(), [], False
        with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                 initializer=_end_with_parent, initargs=(os.getpid(),)) as pool, \
                _stop_on_interrupt(context):
            running = {}
            while (queue and not broken) or running:
                while queue and not broken and len(running) < in_flight:
                    chunk = queue.popleft()
                    try:
                        running[pool.submit(evaluate_chunk, evaluate, chunk)] = chunk
                    except BrokenProcessPool:  # an idle worker died: this chunk never started
                        queue.appendleft(chunk)
                        broken = True
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    chunk = running.pop(future)
                    if isinstance(future.exception(), BrokenProcessPool):
                        lost.append(chunk)
                        broken = True
                    else:  # a chunk that finished before the pool broke is kept, never re-run
                        keep(future.result())
        how = context.death() if lost else ""
        for chunk in reversed(lost):  # back to the front of the queue, in their order
            first = int(chunk["point"].min())
            deaths[first] = deaths.get(first, 0) + 1
            if deaths[first] > MAX_CHUNK_RETRIES:
                given_up.append((chunk, how, deaths[first]))
            else:
                queue.appendleft(chunk)
    return given_up[::-1], set(deaths)


def _run_local(evaluate: Callable[[dict], dict], chunks: list[pd.DataFrame], workers: int,
               keep: Callable[[pd.DataFrame], None]) -> int:
    """Run ``chunks`` on ``workers`` local processes, surviving worker deaths; returns the chunks re-run."""
    given_up, rerun = _run_in_pools(evaluate, chunks, workers, workers + 1, keep)
    # one point at a time in one worker, each point its own part: a poisonous point only loses itself
    points = [chunk.iloc[[i]] for chunk, _, _ in given_up for i in range(len(chunk))]
    for point, how, times in _run_in_pools(evaluate, points, 1, 1, keep)[0]:
        keep(worker_died(point, how, times))
    return len(rerun)


def _run_dask(evaluate: Callable[[dict], dict], chunks: list[pd.DataFrame], scheduler: str,
              keep: Callable[[pd.DataFrame], None]) -> int:
    """Run ``chunks`` on a Dask scheduler's workers; returns the chunks re-run.

    The scheduler re-runs the task of a lost worker itself, up to its ``allowed-failures``, then fails it with
    ``KilledWorker`` (the tasks queued on a dying worker count too, not only the one running). A chunk that ends so
    is run again one point at a time, each point its own part; a point that ends so is submitted again up to
    :data:`MAX_CHUNK_RETRIES` times, then becomes a ``WorkerDied`` row.
    """
    from distributed import Client, KilledWorker, as_completed

    with Client(scheduler, timeout="30s") as client:
        futures = client.map(evaluate_chunk, [evaluate] * len(chunks), chunks, pure=False)
        whole = {future.key: chunk for future, chunk in zip(futures, chunks)}
        queue = as_completed(futures)
        waiting: dict[str, deque] = {}  # a killed chunk -> its points not yet submitted
        single = {}  # a point's future key -> (its chunk, the point, submissions before, worker deaths before)

        def submit(chunk: str, point: pd.DataFrame | None = None, before: int = 0, deaths: int = 0) -> None:
            if point is None and not waiting[chunk]:
                return
            point = waiting[chunk].popleft() if point is None else point
            future = client.submit(evaluate_chunk, evaluate, point, pure=False)
            single[future.key] = (chunk, point, before, deaths)
            queue.add(future)

        for future in queue:
            state = single.pop(future.key, None)
            try:
                keep(future.result())
            except KilledWorker as exc:
                died = exc.args[2] + 1 if len(exc.args) > 2 else 1  # args: task, last worker, allowed failures
                if state is None:  # a whole chunk: its points one at a time, so one point's deaths blame few others
                    waiting[future.key] = deque(whole[future.key].iloc[[i]] for i in range(len(whole[future.key])))
                    submit(future.key)
                    continue
                chunk, point, before, deaths = state
                if before < MAX_CHUNK_RETRIES:
                    submit(chunk, point, before + 1, deaths + died)
                    continue
                keep(worker_died(point, "Dask KilledWorker", deaths + died))
            if state is not None:
                submit(state[0])
    return len(waiting)


TAIL = ("retried", "first_failure", "status", "reason", "message")


def _tidy(table: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """Columns in one order whatever chunk came first: the design, the readouts, then the fault columns."""
    if table.empty:
        return table
    if "retried" in table:
        table["retried"] = table["retried"].astype("boolean").fillna(False).astype(bool)
        table["first_failure"] = table["first_failure"].fillna("") if "first_failure" in table else ""
    front = [c for c in points.columns if c in table]
    tail = [c for c in TAIL if c in table]
    return table[front + [c for c in table.columns if c not in front and c not in tail] + tail]


def run_sweep(evaluate: Callable[[dict], dict], points: pd.DataFrame, folder: str | Path, workers: int = 1,
              chunk_size: int = 16, resume: bool = False, progress: bool | None = None,
              scheduler: str | None = None, retry: bool = False, desc: str = "sweep") -> pd.DataFrame:
    """Evaluate every point and return one tidy row per point (inputs, readouts, status, message), by point id.

    Parameters
    ----------
    evaluate : callable
        Picklable callable: factor values (dict) -> readouts (dict).
    points : DataFrame
        A design (:func:`sim.sweep.design.make_design`) with a ``point`` column.
    folder : path
        Where the Parquet parts go.
    workers : int
        Worker processes (1: run in this process).
    chunk_size : int
        Points per chunk (one task for a worker, one Parquet part).
    resume : bool
        Keep the parts already in ``folder`` and run only the missing points; without it an existing folder with
        parts is an error (nothing is overwritten silently).
    progress : bool, optional
        A tqdm bar (default: when stderr is a terminal).
    scheduler : str, optional
        Address of a running Dask distributed scheduler (``tcp://host:port``): chunks run on its workers instead of
        local processes; results are written here as they arrive, so resume works the same way.
    desc : str
        Label of the progress bar (and of the interruption message).
    retry : bool
        Run a point whose simulation failed once more with tighter tolerances (:class:`RetryTighter`); the rows
        get ``retried`` and ``first_failure``.

    Returns
    -------
    DataFrame
        One row per point, sorted by point id, with ``status`` (``ok``/``failed``), ``reason`` (one word, see
        :func:`sim.sweep.faults.failure_reason`) and ``message``; ``attrs["rerun_chunks"]`` is the number of chunks
        run again after a worker process died (0 when none did).
    """
    folder = Path(folder)
    if retry:
        evaluate = RetryTighter(evaluate)
    if workers < 1 or chunk_size < 1:
        raise InvalidValueError(f"'workers' and 'chunk_size' must be >= 1. Got {workers}, {chunk_size}.")
    if scheduler and importlib.util.find_spec("distributed") is None:  # an optional part: fail before any work
        raise InvalidValueError(f"Running on a Dask scheduler ({scheduler!r}) needs Dask distributed, an optional "
                                f"part of cafev: pip install 'cafev[dask]'.")
    done = finished_points(folder)
    if len(done) and not resume:
        raise InvalidValueError(f"{folder} already holds {len(done)} finished points; resume with resume=True "
                                f"(--resume) or choose another folder.")
    todo = points[~points["point"].isin(done["point"])] if len(done) else points
    chunks = [todo.iloc[i:i + chunk_size] for i in range(0, len(todo), chunk_size)]
    (folder / PARTS).mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    bar = tqdm(total=len(points), initial=len(points) - len(todo), unit="pt", desc=desc,
               disable=not (sys.stderr.isatty() if progress is None else progress))

    def keep(chunk_rows: pd.DataFrame) -> None:
        first = int(chunk_rows["point"].min())
        atomic_write(folder / PARTS / f"chunk_{first:09d}.parquet", lambda p: chunk_rows.to_parquet(p, index=False))
        bar.update(len(chunk_rows))

    rerun = 0
    try:
        if scheduler:
            rerun = _run_dask(evaluate, chunks, scheduler, keep)
        elif workers == 1:
            for chunk in chunks:
                keep(evaluate_chunk(evaluate, chunk))
        else:
            rerun = _run_local(evaluate, chunks, min(workers, os.cpu_count() or 1), keep)
    except KeyboardInterrupt:
        bar.close()
        kept = len(finished_points(folder))
        raise Interrupted(f"Interrupted ({desc}): {kept} of {len(points)} points are finished and kept in "
                          f"{folder / PARTS}; run the same command again with --resume (resume=True) to finish the "
                          f"rest.") from None
    except OSError as exc:  # a scheduler that cannot be reached
        if not scheduler:
            raise
        raise SimulationError(f"Cannot run the sweep on Dask scheduler {scheduler!r}: {exc}. Finished chunks are "
                              f"kept in {folder / PARTS}; run again with --resume.") from None
    finally:
        bar.close()
    table = _tidy(finished_points(folder).sort_values("point", kind="stable").reset_index(drop=True), points)
    missing = np.setdiff1d(points["point"], table["point"])
    if len(missing):
        raise InvalidValueError(f"{len(missing)} points have no result in {folder} (first: {missing[0]}).")
    table.attrs["rerun_chunks"] = rerun
    return table
