"""The assay protocol every ODE run follows: steady-state cells, then EV pretreatment, then the drug.

Cells in culture sit at their own steady state before anyone treats them, so a run does not start from the
modules' nominal initial values (PTEN would drift from 1 to its steady level during the assay, and the drift
would be read as a drug or EV effect). A condition is simulated in three phases:

1. **Steady cells.** The genotype of the condition (knockouts, knockdowns, overexpression, parameter changes) with
   no drug, no EVs and no intervention is run for ``steady_state_h`` hours and its cell state kept, with the cell
   count held at seeding density (``hold_population``): the cells of a maintained, sub-confluent culture, dividing
   (so per-cell species dilute at the division rate) but never reaching confluence. Conditions sharing a genotype
   share this run.
2. **Pretreatment** (``pretreatment_h`` hours, may be 0). EVs (co-culture or a single added dose) and every
   intervention start, without the drug — the usual CAF-EV protocol (e.g. 48 h of CAF-exosome pretreatment before
   gemcitabine; Richards et al. 2017 Oncogene 36:1770). One run per condition, shared by all drug doses.
3. **Drug phase** (the assay, ``assay_h`` hours). The drug is added; the cancer-cell population is re-seeded at the
   seeding density (as when pretreated cells are plated into the assay) while the cell state and the medium carry
   over. Relative viability compares the end of this phase with the drug-free run of the same condition.

The population species (``N_cancer``, dead-cell counters) are re-seeded at every phase start; exposure species
(EVs and cargo in the medium or endosomes, delivered-copy counters, intracellular drug) start from their initial
values in phase 2 and carry over into phase 3, except the drug in the medium, added fresh at the dose in phase 3;
the cell state carries over from phase 1. Nothing here copies the model: phases differ only in the values set on one
compiled engine. Repeated dosing is the model's own events (``drug_every_h``, ``ev_every_h``: medium.ant,
drug_handling.ant); the protocol only tells the drug phase how many hours of EV exposure lie behind it
(``ev_clock_h``), so repeated EV additions keep their schedule across the drug addition.
"""
from __future__ import annotations

import math
import re
from collections import OrderedDict

import numpy as np
import pandas as pd

from sim.errors import InvalidValueError, SimulationError

POPULATION_SPECIES = ("N_cancer", "N_dead_apoptotic", "N_dead_ferroptotic")
RESTARTED_SPECIES = POPULATION_SPECIES + ("drug_medium", "drug_doses")  # at the drug addition: re-seeded, or the
#                                                                       drug given afresh
EXPOSURE_SPECIES = re.compile(r"^(EV_med|EV_endo|EV_supplied|EV_internalised|EV_doses|drug_medium|drug_in|drug_doses"
                              r"|rad_lethal)$|_(med|endo|delivered)$")  # rad_lethal: a lesion counter, reset per exposure
TREATMENT_VALUES = ("drug_ext", "caf_density", "ev_added_ug", "drug_every_h", "ev_every_h", "k_drug_decay")  # zero
#                                                                          in phase 1; plus every dose_* parameter
STEADY_STATE_H = 2000.0  # > 10 half-lives of the slowest cell species (proteins: median 46 h, up to ~100 h;
#                        Schwanhausser et al. 2011 Nature 473:337)
TINY = 1e-12  # a thousandth of the engine's absolute tolerance (1e-9)
STEADY_TOLERANCE = 1e-4  # relative change over the last 10% of the steady-state run that counts as converged
CACHED_STATES = 256  # steady states and pretreatments kept per engine (a dose grid or a screen reuses few)


def without_treatment(values: dict[str, float]) -> dict[str, float]:
    """``values`` with the drug, the EVs and every intervention dose set to 0 (the untreated genotype)."""
    out = dict(values)
    for name in out:
        if name in TREATMENT_VALUES or name.startswith("dose_"):
            out[name] = 0.0
    return out


def clean_state(state: dict[str, float]) -> dict[str, float]:
    """Zero values below ``TINY``: a caspase at 1e-33 left by the steady state makes CVODE's first step fail
    (|x|^n rate laws), while anything below a thousandth of the absolute tolerance is zero to the solver."""
    return {k: (0.0 if abs(v) < TINY else float(v)) for k, v in state.items()}


def drug_free(values: dict[str, float]) -> dict[str, float]:
    """``values`` with the drug set to 0 (the pretreatment phase; unchanged when the model has no ``drug_ext``), and
    without the drug's schedule and loss, which a drug-free phase does not see (so conditions differing only there
    share their pretreatment)."""
    if "drug_ext" not in values:
        return dict(values)
    return {**values, "drug_ext": 0.0, **{k: 0.0 for k in ("drug_every_h", "k_drug_decay") if k in values}}


def carried(state: dict[str, float]) -> dict[str, float]:
    """The part of a pretreatment's end ``state`` that carries into the drug phase (cleaned): everything but the
    population, re-seeded, and the drug in the medium, added fresh at its dose."""
    return clean_state({k: v for k, v in state.items() if k not in RESTARTED_SPECIES})


def drug_phase(values: dict[str, float], pretreatment_h: float) -> dict[str, float]:
    """``values`` for the drug phase: with repeated EV additions, the EV exposure behind it (``ev_clock_h``)."""
    if values.get("ev_every_h", 0.0) > 0 and pretreatment_h > 0:
        return {**values, "ev_clock_h": float(pretreatment_h)}
    return values


class _Recent(OrderedDict):
    """A dict that keeps the ``CACHED_STATES`` most recently stored states: a sweep over continuous factors makes a
    new steady state and pretreatment per point, which an unbounded cache would keep for ever."""

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > CACHED_STATES:
            self.popitem(last=False)


def _key(values: dict[str, float]) -> tuple:
    return tuple(sorted(values.items()))


class AssayProtocol:
    """Run conditions of one model through the three phases, caching the shared phases.

    Parameters
    ----------
    engine : OdeEngine
        The compiled model (:func:`sim.engines.engine_for`).
    pretreatment_h : float
        EV/intervention exposure before the drug, in h.
    steady_state_h : float
        Length of the steady-state run.
    """

    def __init__(self, engine, pretreatment_h: float = 0.0, steady_state_h: float = STEADY_STATE_H):
        if not (math.isfinite(pretreatment_h) and pretreatment_h >= 0):
            raise InvalidValueError(f"The 'pretreatment_h' must be a finite number >= 0 h. Got {pretreatment_h}.")
        self.engine = engine
        self.pretreatment_h = float(pretreatment_h)
        self.steady_state_h = float(steady_state_h)
        self._steady = engine.cache.setdefault("steady_cells", _Recent())  # shared by every protocol on this engine
        self._pretreated = engine.cache.setdefault("pretreated", _Recent())
        self.population = [s for s in POPULATION_SPECIES if s in engine.species]

    def steady_cells(self, values: dict[str, float]) -> dict[str, float]:
        """Steady cell state (species other than population and exposure) of the untreated genotype of ``values``.

        Raises
        ------
        SimulationError
            The cell state still changes by more than ``STEADY_TOLERANCE`` (relative) at the end of the run.
        """
        base = without_treatment(values)
        key = (_key(base), self.steady_state_h)
        if key not in self._steady:
            engine = self.engine
            held = {**base, "hold_population": 1.0} if "hold_population" in engine.model.defaults else base
            table = engine.run(held, self.steady_state_h, 11, engine.species)
            cells = [s for s in engine.species if s not in self.population and not EXPOSURE_SPECIES.search(s)]
            last, before = table[cells].iloc[-1].to_numpy(), table[cells].iloc[-2].to_numpy()
            change = np.abs(last - before) / np.maximum(np.abs(last), 1e-3)  # species near 0 judged absolutely
            if np.max(change) > STEADY_TOLERANCE:
                worst = cells[int(np.argmax(change))]
                raise SimulationError(f"The untreated cells of model '{engine.model.name}' did not reach a steady "
                                      f"state in {self.steady_state_h:g} h ('{worst}' still changed by "
                                      f"{np.max(change):.2g} relative over the last {self.steady_state_h / 10:g} h).",
                                      "no_steady_state")
            self._steady[key] = clean_state(dict(zip(cells, last.astype(float))))
        return self._steady[key]

    def pretreated(self, values: dict[str, float]) -> dict[str, float]:
        """Cell state and medium at the end of the pretreatment phase (drug-free) of ``values``."""
        hours = self.pretreatment_h
        phase = drug_free(values)
        key = (_key(phase), hours, self.steady_state_h)
        if key not in self._pretreated:
            start = self.steady_cells(values)
            if hours > 0:
                state = carried(self.engine.final_state(phase, hours, start))
            else:
                state = dict(start)  # the drug phase starts from steady cells and the medium's initial values
            self._pretreated[key] = state
        return self._pretreated[key]

    def run(self, values: dict[str, float], assay_h: float, points: int = 2, selections=None) -> pd.DataFrame:
        """Simulate the drug phase of ``values`` (after steady cells and pretreatment); time 0 = drug added."""
        if not (math.isfinite(assay_h) and assay_h > 0):  # checked before the shared phases run
            raise InvalidValueError(f"The 'end_time' must be a finite number > 0 h. Got {assay_h}.")
        return self.engine.run(drug_phase(values, self.pretreatment_h), assay_h, points, selections,
                               self.pretreated(values))

    def endpoint(self, values: dict[str, float], assay_h: float, selections: list[str]) -> np.ndarray:
        """Values of ``selections`` (checked by the caller) at the end of the drug phase, as an array."""
        if not (math.isfinite(assay_h) and assay_h > 0):
            raise InvalidValueError(f"The 'end_time' must be a finite number > 0 h. Got {assay_h}.")
        return self.engine.simulate_array(drug_phase(values, self.pretreatment_h), assay_h, 2, selections,
                                          self.pretreated(values))[-1, 1:]

    def pretreatment_course(self, values: dict[str, float], points: int, selections) -> pd.DataFrame | None:
        """The pretreatment phase itself as a table with times from ``-pretreatment_h`` to 0 (None when 0 h)."""
        hours = self.pretreatment_h
        if hours <= 0:
            return None
        table = self.engine.run(drug_free(values), hours, points, selections, self.steady_cells(values))
        table["time"] = table["time"] - hours
        return table
