"""Run a sweep's points in worker processes, chunk by chunk, into Parquet parts that a killed run resumes from.

Each chunk of points is evaluated in one worker process (processes, not threads: libRoadRunner holds the GIL and
threads are slower than one core); the worker builds its model once (``engine_for`` caches it per process). A
finished chunk is written atomically as ``parts/chunk_<first point>.parquet``; ``resume`` reads the parts already
there and runs only the points missing from them, so nothing is lost or repeated. A point whose evaluation fails is
recorded with ``status = "failed"`` and its message, and never stops the sweep.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InvalidValueError, SimulationError
from sim.results import atomic_write

PARTS = "parts"


def evaluate_chunk(evaluate: Callable[[dict], dict], chunk: pd.DataFrame) -> pd.DataFrame:
    """Evaluate each point (row) of ``chunk``; failures become ``status = failed`` rows with the message."""
    rows = []
    factors = [c for c in chunk.columns if c != "point"]
    for record in chunk.to_dict("records"):
        inputs = {k: record[k] for k in factors}
        try:
            out = evaluate(inputs)
            rows.append({**record, **out, "status": "ok", "message": ""})
        except Exception as exc:  # noqa: BLE001 — a failed point is data, never the end of the sweep
            rows.append({**record, "status": "failed", "message": f"{type(exc).__name__}: {exc}"})
    return pd.DataFrame(rows)


def finished_points(folder: Path) -> pd.DataFrame:
    """The rows already written under ``folder/parts`` (empty table if none)."""
    parts = sorted((Path(folder) / PARTS).glob("chunk_*.parquet"))
    if not parts:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def run_sweep(evaluate: Callable[[dict], dict], points: pd.DataFrame, folder: str | Path, workers: int = 1,
              chunk_size: int = 16, resume: bool = False, progress: bool | None = None,
              scheduler: str | None = None) -> pd.DataFrame:
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
    resume : bool
        Keep the parts already in ``folder`` and run only the missing points; without it an existing folder with
        parts is an error (nothing is overwritten silently).
    progress : bool, optional
        A tqdm bar (default: when stderr is a terminal).
    scheduler : str, optional
        Address of a running Dask distributed scheduler (``tcp://host:port``): chunks run on its workers instead of
        local processes; results are written here as they arrive, so resume works the same way.
    """
    folder = Path(folder)
    if workers < 1 or chunk_size < 1:
        raise InvalidValueError(f"'workers' and 'chunk_size' must be >= 1. Got {workers}, {chunk_size}.")
    done = finished_points(folder)
    if len(done) and not resume:
        raise InvalidValueError(f"{folder} already holds {len(done)} finished points; resume with resume=True "
                                f"(--resume) or choose another folder.")
    todo = points[~points["point"].isin(done["point"])] if len(done) else points
    chunks = [todo.iloc[i:i + chunk_size] for i in range(0, len(todo), chunk_size)]
    (folder / PARTS).mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    bar = tqdm(total=len(points), initial=len(points) - len(todo), unit="pt", desc="sweep",
               disable=not (sys.stderr.isatty() if progress is None else progress))

    def keep(chunk_rows: pd.DataFrame) -> None:
        first = int(chunk_rows["point"].min())
        atomic_write(folder / PARTS / f"chunk_{first:09d}.parquet", lambda p: chunk_rows.to_parquet(p, index=False))
        bar.update(len(chunk_rows))

    try:
        if scheduler:
            from distributed import Client, as_completed

            with Client(scheduler, timeout="30s") as client:
                futures = client.map(evaluate_chunk, [evaluate] * len(chunks), chunks, pure=False)
                for future in as_completed(futures):
                    keep(future.result())
        elif workers == 1:
            for chunk in chunks:
                keep(evaluate_chunk(evaluate, chunk))
        else:
            with ProcessPoolExecutor(max_workers=min(workers, os.cpu_count() or 1)) as pool:
                for result in pool.map(evaluate_chunk, [evaluate] * len(chunks), chunks):
                    keep(result)
    except OSError as exc:  # a scheduler that cannot be reached
        raise SimulationError(f"Cannot run the sweep on Dask scheduler {scheduler!r}: {exc}. Finished chunks are "
                              f"kept in {folder / PARTS}; run again with --resume.") from None
    finally:
        bar.close()
    table = finished_points(folder).sort_values("point", kind="stable").reset_index(drop=True)
    missing = np.setdiff1d(points["point"], table["point"])
    if len(missing):
        raise InvalidValueError(f"{len(missing)} points have no result in {folder} (first: {missing[0]}).")
    return table
