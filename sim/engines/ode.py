"""The ODE engine: one compiled libRoadRunner instance per model, conditions applied by setting values.

Compiling SBML to machine code is the expensive step (rebuilding a RoadRunner costs 7-50x a simulation), so an
:class:`OdeEngine` compiles once and then, for every run, restores the parameters the previous run changed, sets the
new ones and resets the state (initial assignments are re-evaluated with the new values). Assignment rules that read
parameters only are computed once per run on a small RoadRunner of their own and set as parameters of the integrated
model, rather than at every step (:mod:`sim.engines.frozen`).

References
----------
Welsh C et al. (2023) libRoadRunner 2.0: a high performance SBML simulation and analysis library. Bioinformatics 39.
"""
from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd

from sim.engines.base import Engine, Tolerances
from sim.engines.frozen import ConstantRules, split_constant_rules
from sim.errors import InvalidValueError, SimulationError, UnknownNameError

NEGATIVE_TOLERANCE = 1e-3  # a species ending below -1e-3 x max(1, |its start value|) is a failed run, not noise


class OdeEngine(Engine):
    """Simulate a :class:`sim.build.BuiltModel` under many conditions with one compiled instance.

    Parameters
    ----------
    model : BuiltModel
        The model to compile.
    tolerances : Tolerances
        CVODE's tolerances and step limit for every run of this engine (default rtol 1e-6, atol 1e-9).
    rtol, atol : float, optional
        Shorthand for ``Tolerances(rtol, atol)``.

    Use :func:`sim.engines.engine_for` to share one engine per model and tolerances within a process.
    """

    formalism = "ode"
    compiles = True
    defaults = {"tolerances": Tolerances()}

    def __init__(self, model, tolerances: Tolerances | None = None, *, rtol: float | None = None,
                 atol: float | None = None):
        import roadrunner

        # SUNDIALS prints its own "[ERROR] ... cvHandleFailure" lines to stderr on a CVODE failure, which
        # libroadrunner's logger level does not reach; the failure is already in the RuntimeError we record as the
        # point's reason, so its logger is sent to /dev/null (read when the integrator's context is created; a
        # user's own setting wins).
        os.environ.setdefault("SUNLOGGER_ERROR_FILENAME", os.devnull)
        roadrunner.Logger.setLevel(roadrunner.Logger.LOG_FATAL)
        self.model = model
        split = split_constant_rules(model.sbml)  # rules of parameters alone: computed per run, not per step
        self.rr = roadrunner.RoadRunner(split.fast_sbml)
        self._constants = ConstantRules(split)
        for name, value in self._constants.values().items():  # exact: the SBML text holds them to 15 digits only,
            self.rr[name] = value  # and a value restored later must equal the one a run started with
        tolerances = tolerances or Tolerances()
        if rtol is not None or atol is not None:
            tolerances = Tolerances(rtol or tolerances.rtol, atol or tolerances.atol, tolerances.max_steps)
        self.tolerances = tolerances
        integrator = self.rr.getIntegrator()
        integrator.setValue("relative_tolerance", tolerances.rtol)
        integrator.setValue("absolute_tolerance", tolerances.atol)
        integrator.setValue("maximum_num_steps", tolerances.max_steps)
        self.species = list(self.rr.model.getFloatingSpeciesIds())
        self.parameters = set(self.rr.model.getGlobalParameterIds())
        self._changed: dict[str, float] = {}
        self.runs = 0
        self.cache: dict[str, dict] = {}  # shared phases of sim.protocol, valid for this compiled model

    def check_selection(self, names) -> list[str]:
        """Return ``names`` if each is a species or parameter of the model, else raise UnknownNameError."""
        valid = set(self.species) | self.parameters
        for n in names:
            if n not in valid:
                raise UnknownNameError("species or readout", n, valid, f"model '{self.model.name}'")
        return list(names)

    def run(self, values: dict[str, float], end_time: float, points: int = 101,
            selections: list[str] | None = None, start: dict[str, float] | None = None) -> pd.DataFrame:
        """Simulate from t = 0 to ``end_time`` (h) with ``values`` set; return a table with a ``time`` column.

        ``start`` overrides the initial value of some species (e.g. a pre-equilibrated cell state, see
        :mod:`sim.protocol`); the others start from their model initial values under ``values``.

        Raises
        ------
        InvalidValueError
            A negative or non-finite end time, or fewer than 2 points.
        UnknownNameError
            A value for a name that is not a settable parameter.
        SimulationError
            CVODE failure or non-finite output.
        """
        selections = self.check_selection(selections or self.species)
        data = self.simulate_array(values, end_time, points, selections, start)
        return pd.DataFrame(data, columns=["time"] + selections)

    def simulate_array(self, values: dict[str, float], end_time: float, points: int, selections: list[str],
                       start: dict[str, float] | None = None) -> np.ndarray:
        """As :meth:`run` but returns the raw array (time + ``selections``, already checked) without a table.

        The fast path for many short runs (a dose grid); same checks on the values and the output.
        """
        if not (math.isfinite(end_time) and end_time > 0):
            raise InvalidValueError(f"The 'end_time' must be a finite number > 0 h. Got {end_time}.")
        if points < 2:
            raise InvalidValueError(f"The number of time 'points' must be >= 2. Got {points}.")
        defaults = self.model.defaults
        for name in values:
            if name not in defaults:
                raise UnknownNameError("parameter", name, defaults, f"model '{self.model.name}'")
        rr, constants, touched = self.rr, self._constants, []
        for name in list(self._changed):
            if name not in values:
                rr[name] = defaults[name]
                constants.set(name, defaults[name])
                touched.append(name)
                del self._changed[name]
        changed = self._changed
        for name, v in values.items():
            if changed.get(name) != v:  # the engine owns its RoadRunner: a value set last run is still set
                rr[name] = v
                constants.set(name, v)
                touched.append(name)
                changed[name] = v
        if touched:
            for name, v in constants.values(touched).items():
                rr[name] = v
        rr.reset()
        if start:
            self._set_species(start)
        before = rr.model.getFloatingSpeciesConcentrations()
        try:
            out = rr.simulate(0.0, float(end_time), int(points), ["time"] + list(selections))
        except RuntimeError as exc:
            reason = "step_limit" if "CV_TOO_MUCH_WORK" in str(exc) else "cvode_failure"
            raise SimulationError(f"CVODE failed for model '{self.model.name}' ({reason}): {exc}", reason) from None
        data = np.asarray(out)
        after = rr.model.getFloatingSpeciesConcentrations()
        if not (np.isfinite(data).all() and np.isfinite(after).all()):
            raise SimulationError(f"The simulation of model '{self.model.name}' returned non-finite values.",
                                  "non_finite")
        negative = after < -NEGATIVE_TOLERANCE * np.maximum(1.0, np.abs(before))
        if negative.any():
            worst = int(np.argmin(after / np.maximum(1.0, np.abs(before))))
            raise SimulationError(f"The simulation of model '{self.model.name}' ended with '{self.species[worst]}' = "
                                  f"{after[worst]:.3g}, below zero beyond the tolerance ({NEGATIVE_TOLERANCE:g} of "
                                  f"its start value {before[worst]:.3g}, or of 1).", "negative_state")
        self.runs += 1
        return data

    def _set_species(self, start: dict[str, float]) -> None:
        model = self.rr.model
        state = np.array(model.getFloatingSpeciesConcentrations(), dtype=float)
        index = self._species_index
        for name, v in start.items():
            state[index[name]] = v
        model.setFloatingSpeciesConcentrations(state)
        self.rr.getIntegrator().restart(0.0)  # CVODE must re-read the state it integrates from

    @property
    def _species_index(self) -> dict[str, int]:
        if not hasattr(self, "_index"):
            self._index = {s: i for i, s in enumerate(self.species)}
        return self._index

    def final_state(self, values: dict[str, float], end_time: float,
                    start: dict[str, float] | None = None) -> dict[str, float]:
        """Every species' value at ``end_time`` (h) of a run with ``values`` (and ``start``) set."""
        table = self.run(values, end_time, 2, self.species, start)
        return dict(zip(self.species, table.iloc[-1, 1:].to_numpy(dtype=float)))
