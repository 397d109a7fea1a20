"""Shared fixtures: one built model per scenario for the whole test session (building and compiling once), and one
small sweep (spec and uninterrupted table) that the interruption tests kill, interrupt and resume."""
import os
import subprocess
import sys

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

# 16 points in chunks of 2 (8 Parquet parts), each point a pair of 4-dose IC50 fits: a sweep that runs in seconds
# but long enough to be interrupted at a chosen stage (start-up, pool start, between parts); the shipped sweep
# experiments are exercised in quick mode by tests/test_sweep.py
SMALL_SWEEP = """\
[experiment]
name = "small_sweep"
description = "PDAC + GEM: a small grid to interrupt"
scenario = "pdac_gem"
analysis = "sweep"
seed = 0

[sweep]
design = "grid"
condition = "CAF-EV"
reference = "control"
readout = "ic50_fold"
n_doses = 4
chunk_size = 2
factors = [
  { name = "caf_ratio", low = 0.5, high = 4.0, scale = "log", points = 4 },
  { name = "GW4869", low = 0.0, high = 20.0, scale = "lin", points = 4 },
]

[[conditions]]
name = "control"

[[conditions]]
name = "CAF-EV"
ev_mode = "coculture"
"""
SMALL_SWEEP_POINTS = 16
SMALL_SWEEP_PARTS = 8


def cafev_run(spec, out, *extra: str) -> list[str]:
    """The command line of ``cafev run SPEC -o OUT --quiet EXTRA`` with this interpreter."""
    return [sys.executable, "-m", "sim.cli", "run", str(spec), "--quiet", "-o", str(out), *extra]


@pytest.fixture(scope="session")
def pdac_model():
    import sim

    return sim.build_model("pdac_gem")


@pytest.fixture(scope="session")
def small_sweep(tmp_path_factory):
    """Path of the small sweep spec (written once per session)."""
    path = tmp_path_factory.mktemp("small_sweep") / "small_sweep.toml"
    path.write_text(SMALL_SWEEP)
    return path


@pytest.fixture(scope="session")
def small_sweep_table(small_sweep, tmp_path_factory):
    """The small sweep's table from one uninterrupted run with 2 workers (any worker count gives the same table:
    tests/test_reproducibility.py)."""
    import pandas as pd

    out = tmp_path_factory.mktemp("small_sweep_whole")
    run = subprocess.run(cafev_run(small_sweep, out, "--workers", "2"), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    table = pd.read_parquet(out / "sweep.parquet")
    assert len(table) == SMALL_SWEEP_POINTS and (table["status"] == "ok").all()
    return table
