"""The engine contract: what every formalism's simulator offers the layers above it.

An engine wraps one model of one formalism and runs it under many settings without rebuilding it (for the ODE the
compile step costs 7-50x a simulation). Every layer above gets one only from :func:`sim.engines.engine_for`, the
single place where a formalism is chosen and a compiled model reused, and what they share is this interface. The ODE
engine offers more, which the ODE assay protocol (:mod:`sim.protocol`) and the dose-response and sweep loops use:
``simulate_array`` (the same run as a bare array, for thousands of short runs), ``species``, ``model`` and
``cache`` (the protocol's steady states, valid for this compiled model). The shape follows pysb's
``simulator/base.py`` (a ``Simulator`` constructed once per model with its own settings, ``run`` returning a result
keyed by the model's names), reduced to what cafev uses:

- ``run(values, end_time, points, selections, start)``: a table with a ``time`` column (h) and one column per
  selected name; ``values`` are the model's parameters for this run (ODE: parameters of the SBML model; MaBoSS:
  node rates), ``start`` overrides the initial state (ODE: species values; MaBoSS: the probability of each node
  being on);
- ``final_state(values, end_time, start)``: every state variable at ``end_time``;
- ``check_selection(names)``: the names if each can be read from the model, else an UnknownNameError with a
  did-you-mean.

Integration settings (tolerances, samples, seed) belong to one engine, given when it is made; nothing changes the
settings of another engine, so a retry with tighter tolerances asks :func:`sim.engines.engine_for` for an engine with
those tolerances instead of changing every engine of the process.

References
----------
Lopez CF, Muhlich JL, Bachman JA, Sorger PK (2013) Programming biological models in Python using PySB. Mol Syst Biol
9:646.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

import pandas as pd

from sim.errors import InvalidValueError


@dataclass(frozen=True)
class Tolerances:
    """CVODE's relative and absolute tolerances and its step limit per output interval."""

    rtol: float = 1e-6
    atol: float = 1e-9
    max_steps: int = 100_000

    def __post_init__(self):
        if not (0 < self.rtol < 1 and 0 < self.atol < 1 and self.max_steps >= 1):
            raise InvalidValueError(f"Tolerances must be 0 < rtol, atol < 1 and max_steps >= 1. Got rtol={self.rtol}, "
                                    f"atol={self.atol}, max_steps={self.max_steps}.")

    def scaled(self, factor: float) -> "Tolerances":
        """``factor`` x both tolerances and ``1/factor`` x the step limit (a retry of a failed run: factor 0.01)."""
        if not factor > 0:
            raise InvalidValueError(f"The tolerance factor must be > 0. Got {factor}.")
        return replace(self, rtol=self.rtol * factor, atol=self.atol * factor,
                       max_steps=int(round(self.max_steps / factor)))


class Engine(ABC):
    """One model of one formalism, runnable under many settings (see the module docstring)."""

    formalism: ClassVar[str]  # its name in sim.engines.FORMALISMS
    compiles: ClassVar[bool] = False  # True: made once per model and settings, then reused (engine_for)
    defaults: ClassVar[dict] = {}  # every setting the engine takes, with its default (engine_for checks names)

    @abstractmethod
    def check_selection(self, names: Sequence[str]) -> list[str]:
        """``names`` as a list if each is readable from the model; UnknownNameError otherwise."""

    @abstractmethod
    def run(self, values: Mapping[str, float], end_time: float, points: int = 101,
            selections: Sequence[str] | None = None, start: Mapping[str, float] | None = None) -> pd.DataFrame:
        """Simulate from t = 0 to ``end_time`` (h); a table with ``time`` and one column per selected name."""

    def final_state(self, values: Mapping[str, float], end_time: float,
                    start: Mapping[str, float] | None = None) -> dict[str, float]:
        """Every state variable at ``end_time`` of a run with ``values`` (and ``start``)."""
        table = self.run(values, end_time, 2, None, start)
        return {k: float(v) for k, v in table.iloc[-1].drop("time").items()}
