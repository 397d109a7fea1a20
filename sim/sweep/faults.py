"""Faults of a sweep point as data: a one-word reason for every failure, and an optional retry with tighter
tolerances.

A point whose evaluation raises is a ``failed`` row (never the end of a sweep); :func:`failure_reason` gives the
word its summary counts by: a :class:`~sim.errors.SimulationError`'s own ``reason`` (``cvode_failure``,
``step_limit``, ``non_finite``, ``negative_state``, ``no_steady_state``), ``invalid_value`` / ``unknown_name`` for
bad input that reached a point, ``worker_died`` for a point whose worker process died, or ``error`` for anything
else. :class:`RetryTighter` wraps an evaluator so that a point whose simulation failed is run once more with 100x
tighter CVODE tolerances and a 100x step limit (a copy of the evaluator with ``tolerances`` scaled, so another
compiled engine: nothing changes the engine other points use); the row records ``retried`` and, when the retry
succeeded, the ``first_failure`` it recovered from.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass, replace

import pandas as pd

from sim.errors import InvalidValueError, SimulationError, UnknownNameError

def failure_reason(exc: BaseException) -> str:
    """The one-word reason of a failed point (see the module docstring)."""
    if isinstance(exc, SimulationError):
        return exc.reason
    if isinstance(exc, UnknownNameError):
        return "unknown_name"
    if isinstance(exc, InvalidValueError):
        return "invalid_value"
    return "error"


def failure_counts(table: pd.DataFrame) -> dict[str, int]:
    """Failed points by reason (``{}`` when every point is ok), most frequent first."""
    if "status" not in table or "reason" not in table:
        return {}
    failed = table.loc[table["status"] != "ok", "reason"].fillna("error")
    return {str(k): int(v) for k, v in failed.value_counts().items()}


@dataclass
class RetryTighter:
    """Run ``evaluate``; if it raises a :class:`SimulationError`, run it once more with tighter tolerances.

    Returns the readouts with ``retried`` (bool) and ``first_failure`` (the first attempt's reason, or ``""``). A
    point that fails again raises the second error with ``retried = True`` set on it. ``evaluate`` is a dataclass
    with a ``tolerances`` field (the ODE evaluators of :mod:`sim.sweep.evaluate` and :mod:`sim.screen.evaluate`): the
    retry runs a copy with ``tolerances.scaled(factor)``. An evaluator without one (a MaBoSS point, a plain
    function) is not retried: the first error is raised, ``retried = False``.
    """

    evaluate: Callable[[dict], dict]
    factor: float = 0.01

    def __call__(self, inputs: dict) -> dict:
        try:
            return {**self.evaluate(inputs), "retried": False, "first_failure": ""}
        except SimulationError as first:
            tighter = self.tighter()
            if tighter is None:  # nothing to tighten (e.g. a MaBoSS point): the same run again would fail again
                first.retried = False
                raise
            try:
                out = tighter(inputs)
            except SimulationError as second:
                second.retried = True
                raise
            return {**out, "retried": True, "first_failure": first.reason}

    def tighter(self) -> Callable[[dict], dict] | None:
        """The evaluator with its tolerances scaled by ``factor``; None when it has no ``tolerances`` field."""
        if is_dataclass(self.evaluate) and any(f.name == "tolerances" for f in fields(self.evaluate)):
            return replace(self.evaluate, tolerances=self.evaluate.tolerances.scaled(self.factor))
        return None
