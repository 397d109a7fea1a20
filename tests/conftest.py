"""Shared fixtures: one built model per scenario for the whole test session (building and compiling once), one small
sweep (spec and uninterrupted table) that the interruption tests kill, interrupt and resume, and the grouping of test
files on the two test processes."""
import os
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


# The suite runs on 2 processes (pyproject addopts: -n 2 --dist loadgroup). Compiling a preset's model costs 3-4 s and
# each process keeps its compiled engines, so the files that run every preset share one process (each preset is
# compiled once in the run, not once per process); every other file is a group of its own, so its module fixtures and
# caches are built once, as in a serial run. A long test of that group that needs one preset only runs beside it, so
# that the two processes finish together (measured: 207 s and 201 s of tests).
EVERY_PRESET = {"test_boolean_cafev.py", "test_calibration_regression.py", "test_cli.py", "test_delivery.py",
                "test_inert_arms.py", "test_mirna_ceiling.py", "test_sbml.py", "test_science_dose_response.py"}
BESIDE = {"test_compare_and_boolean_experiment_from_the_command_line"}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        name = item.path.name
        test = getattr(item, "originalname", item.name)
        group = test if test in BESIDE else "every_preset" if name in EVERY_PRESET else name
        item.add_marker(pytest.mark.xdist_group(group))


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


def cafev_in_process(spec, out, *extra: str) -> None:
    """``cafev run SPEC -o OUT --quiet --workers 1 EXTRA`` in this process (its compiled models are reused: no
    start-up, no compiling), asserting exit status 0."""
    from sim.cli import main

    assert main(["run", str(spec), "--quiet", "-o", str(out), "--workers", "1", *extra]) == 0


@pytest.fixture(scope="session")
def small_sweep_table(small_sweep, tmp_path_factory):
    """The small sweep's table from one uninterrupted run, in this process (any worker count gives the same table:
    tests/test_reproducibility.py)."""
    import pandas as pd

    out = tmp_path_factory.mktemp("small_sweep_whole")
    cafev_in_process(small_sweep, out)
    table = pd.read_parquet(out / "sweep.parquet")
    assert len(table) == SMALL_SWEEP_POINTS and (table["status"] == "ok").all()
    return table
