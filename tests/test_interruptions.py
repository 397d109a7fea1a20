"""Nothing is lost on interruption (issue #7): Ctrl-C leaves a consistent, resumable folder and says how to resume;
SIGKILL at random moments, several times, then --resume gives the uninterrupted table row for row."""
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.sweep.runner import PARTS

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "experiments" / "sweep_ev_dose_gw4869.toml"  # 30 points, each a pair of dose-response fits
ENV = {**os.environ, "MPLBACKEND": "Agg"}


def _command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "sim.cli", "run", str(SPEC), "--quiet", "--workers", "2", "-o", str(out), *extra]


def _parts(out: Path) -> int:
    return len(list((out / PARTS).glob("chunk_*.parquet"))) if (out / PARTS).exists() else 0


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("whole")
    assert subprocess.run(_command(out), env=ENV, capture_output=True).returncode == 0
    return pd.read_parquet(out / "sweep.parquet")


def _wait_for_a_part(proc, out: Path, before: int, timeout: float = 120.0) -> None:
    end = time.time() + timeout
    while time.time() < end and proc.poll() is None and _parts(out) <= before:
        time.sleep(0.05)


def test_ctrl_c_leaves_a_resumable_folder_and_prints_how_to_resume(tmp_path, uninterrupted):
    out = tmp_path / "interrupted"
    proc = subprocess.Popen(_command(out), env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_a_part(proc, out, 0)
    assert proc.poll() is None, "the sweep finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Interrupted (sweep):" in err and "points are finished and kept in" in err and "--resume" in err
    kept = pd.concat([pd.read_parquet(p) for p in (out / PARTS).glob("chunk_*.parquet")])
    assert 0 < len(kept) < len(uninterrupted) and kept["point"].is_unique  # consistent: whole chunks only
    assert not list(out.rglob("*.tmp*"))  # no half-written file left behind
    assert subprocess.run(_command(out, "--resume"), env=ENV, capture_output=True).returncode == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "sweep.parquet"), uninterrupted)


def _processes_writing_to(out: Path) -> list[int]:
    """Pids of live processes whose command line names ``out`` (the sweep and its workers)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next((ln for ln in (entry / "status").read_text().splitlines() if ln.startswith("State:")), "")
        except (OSError, ValueError):
            continue
        if str(out) in cmd and "Z" not in state.split()[1:2]:
            pids.append(int(entry.name))
    return pids


def test_sigkill_at_random_moments_then_resume_equals_an_uninterrupted_run(tmp_path, uninterrupted):
    out = tmp_path / "killed"
    rng = random.Random(20261123)  # the moments are random but the test is repeatable
    for kill in range(3):
        before = _parts(out)
        proc = subprocess.Popen(_command(out, *(["--resume"] if _parts(out) else [])), env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if kill == 0:  # once at a random moment of start-up or of the first chunk
            time.sleep(rng.uniform(1.0, 4.0))
        else:  # and twice once a part has been written, at a random moment after it: workers are running
            _wait_for_a_part(proc, out, before)
            time.sleep(rng.uniform(0.0, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for part in (out / PARTS).glob("chunk_*.parquet"):  # atomic writes: every visible part is complete
            assert len(pd.read_parquet(part)) > 0
        end = time.time() + 10  # its workers end with it (PR_SET_PDEATHSIG), none is left behind
        while _processes_writing_to(out) and time.time() < end:
            time.sleep(0.1)
        assert _processes_writing_to(out) == [], "worker processes outlived the killed sweep"
    assert _parts(out) > 0  # the kills did interrupt a sweep that had written something
    assert subprocess.run(_command(out, "--resume"), env=ENV, capture_output=True).returncode == 0
    resumed = pd.read_parquet(out / "sweep.parquet")
    pd.testing.assert_frame_equal(resumed, uninterrupted)
    assert resumed["point"].is_unique and len(resumed) == 30
