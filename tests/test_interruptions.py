"""Nothing is lost on interruption (issue #7) and nothing outlives a killed run (issue #13): Ctrl-C leaves a
consistent, resumable folder and says how to resume; SIGKILL of `cafev run --workers 2` at start-up, while its pool
starts and between parts leaves no process of the run alive after a few seconds; killed twice between parts and then
resumed (with 2 worker processes, and with the points run in the sweep's own process), the table equals an
uninterrupted run's row for row.

Every kill first waits for the stage it means to interrupt, read from outside the run: the run is started in its own
session, so its processes (the sweep, its workers and anything they start) are the processes of that session
(/proc/<pid>/stat, field 6), and finished chunks are the Parquet parts in its folder.
"""
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import SMALL_SWEEP_PARTS, SMALL_SWEEP_POINTS, cafev_in_process, cafev_run

from sim.sweep.runner import PARTS

pytestmark = pytest.mark.slow  # each test runs cafev in subprocesses (2 to 3 runs)

ENV = {**os.environ, "MPLBACKEND": "Agg"}
POLL = 0.01  # s between looks at the run
GONE_WITHIN = 5.0  # s: "no process of the run lives more than a few seconds" after the kill


def _parts(out: Path) -> int:
    return len(list((out / PARTS).glob("chunk_*.parquet"))) if (out / PARTS).exists() else 0


def _session(sid: int) -> list[int]:
    """Pids of the live (not zombie) processes of session ``sid``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()  # after "pid (comm)": state ppid pgrp sid
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
            pids.append(int(entry.name))
    return pids


def _as_in_a_terminal() -> None:
    """Ctrl-C at its default, as in a terminal: a run started from a background job or a CI runner inherits SIGINT
    ignored, and Python then never raises KeyboardInterrupt (the run would finish and exit 0)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _workers(run: int) -> list[int]:
    """Pids of the worker processes of ``run``: processes of its session that are forked copies of it (the same
    command line) or multiprocessing's own (a fork server, spawned workers)."""
    def cmdline(pid: int) -> bytes:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return b""

    own = cmdline(run)
    return [pid for pid in _session(run) if pid != run and (cmdline(pid) == own or b"multiprocessing" in cmdline(pid))]


def _start(spec: Path, out: Path, *extra: str, workers: int = 2) -> subprocess.Popen:
    return subprocess.Popen(cafev_run(spec, out, "--workers", str(workers), *extra), env=ENV, start_new_session=True,
                            preexec_fn=_as_in_a_terminal, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def _wait(proc: subprocess.Popen, stage: str, reached, timeout: float = 120.0) -> None:
    end = time.time() + timeout
    while not reached():
        assert proc.poll() is None, f"the run ended (exit {proc.returncode}) before {stage}: {proc.stderr.read()}"
        assert time.time() < end, f"{stage} not reached in {timeout:g} s"
        time.sleep(POLL)


def _left_after(sid: int) -> list[int]:
    """The processes of session ``sid`` still alive ``GONE_WITHIN`` s from now (killed, so none is left behind)."""
    end = time.time() + GONE_WITHIN
    while _session(sid) and time.time() < end:
        time.sleep(0.05)
    left = _session(sid)
    for pid in left:  # clean up before the caller fails
        os.kill(pid, signal.SIGKILL)
    return left


def _kill_and_check_nothing_survives(proc: subprocess.Popen, out: Path) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    left = _left_after(proc.pid)  # its workers end with it (PR_SET_PDEATHSIG in sim.sweep.runner)
    assert left == [], f"{len(left)} processes of the killed run were alive {GONE_WITHIN:g} s after the kill"
    for part in (out / PARTS).glob("chunk_*.parquet"):  # atomic writes: every visible part is complete
        assert len(pd.read_parquet(part)) == 2  # chunk_size of the small sweep


def _imports_started(pid: int) -> bool:
    """The run is past exec and importing its libraries (numpy's compiled core is mapped)."""
    try:
        return "numpy" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def test_sigkill_during_start_up_leaves_no_process(small_sweep, tmp_path):
    out = tmp_path / "killed"
    proc = _start(small_sweep, out)
    _wait(proc, "start-up (libraries loading)", lambda: _imports_started(proc.pid))
    assert _session(proc.pid) == [proc.pid], "workers already existed: this is not start-up"
    _kill_and_check_nothing_survives(proc, out)
    assert _parts(out) == 0


def test_sigkill_while_the_pool_starts_leaves_no_process(small_sweep, tmp_path):
    # the most delicate moment: a worker has just been forked and may not yet have asked to die with its parent
    out = tmp_path / "killed"
    proc = _start(small_sweep, out)
    _wait(proc, "the first worker process", lambda: _workers(proc.pid))
    assert _parts(out) == 0, "a part was written already: this is not the pool's start"
    _kill_and_check_nothing_survives(proc, out)
    assert _parts(out) == 0


def test_sigkill_between_parts_leaves_no_process_and_resume_equals_an_uninterrupted_run(small_sweep,
                                                                                        small_sweep_table, tmp_path):
    out = tmp_path / "killed"
    for _ in range(2):  # killed twice while the workers run, each time once a new part has been written
        before = _parts(out)
        proc = _start(small_sweep, out, *(["--resume"] if before else []))
        _wait(proc, "a new part", lambda: _parts(out) > before)
        assert _workers(proc.pid) and _parts(out) < SMALL_SWEEP_PARTS, "the workers were not running: not mid-run"
        _kill_and_check_nothing_survives(proc, out)
    assert 0 < _parts(out) < SMALL_SWEEP_PARTS
    cafev_in_process(small_sweep, out, "--resume")  # the rest, here: what the killed runs left is resumable
    resumed = pd.read_parquet(out / "sweep.parquet")
    pd.testing.assert_frame_equal(resumed, small_sweep_table)
    assert resumed["point"].tolist() == list(range(SMALL_SWEEP_POINTS))  # none lost, none repeated


def test_ctrl_c_leaves_a_resumable_folder_and_prints_how_to_resume(small_sweep, small_sweep_table, tmp_path):
    out = tmp_path / "interrupted"
    proc = _start(small_sweep, out)
    _wait(proc, "the first part", lambda: _parts(out) > 0)
    assert _parts(out) < SMALL_SWEEP_PARTS
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 130, err
    assert "Interrupted (sweep):" in err and "points are finished and kept in" in err and "--resume" in err
    kept = pd.concat([pd.read_parquet(p) for p in (out / PARTS).glob("chunk_*.parquet")])
    assert 0 < len(kept) < SMALL_SWEEP_POINTS and kept["point"].is_unique  # consistent: whole chunks only
    assert f"{len(kept)} of {SMALL_SWEEP_POINTS} points are finished" in err  # the message counts what was kept
    assert not list(out.rglob("*.tmp*"))  # no half-written file left behind
    assert _left_after(proc.pid) == []  # Ctrl-C ends the workers too
    cafev_in_process(small_sweep, out, "--resume")
    pd.testing.assert_frame_equal(pd.read_parquet(out / "sweep.parquet"), small_sweep_table)


def test_resume_after_sigkill_of_a_one_process_run_equals_an_uninterrupted_run(small_sweep, small_sweep_table,
                                                                               tmp_path):
    # --workers 1 runs the points in the sweep's own process: killed twice, each time once a new part is written,
    # then resumed; the table equals the uninterrupted run's
    out = tmp_path / "killed"
    for _ in range(2):
        before = _parts(out)
        proc = _start(small_sweep, out, *(["--resume"] if before else []), workers=1)
        _wait(proc, "a new part", lambda: _parts(out) > before)
        assert _parts(out) < SMALL_SWEEP_PARTS, "the run was not killed before its end"
        _kill_and_check_nothing_survives(proc, out)
    cafev_in_process(small_sweep, out, "--resume")
    resumed = pd.read_parquet(out / "sweep.parquet")
    pd.testing.assert_frame_equal(resumed, small_sweep_table)
    assert resumed["point"].tolist() == list(range(SMALL_SWEEP_POINTS))  # none lost, none repeated
