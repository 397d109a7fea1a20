"""The calibration objective: cafev's own assay protocol on one compiled engine, against the data.

For a parameter vector (on the optimiser's scale) every condition is run through :class:`sim.protocol.AssayProtocol`
(steady cells, pretreatment, the drug) at each dose of its data plus the drug-free run, so the fitted model is
exactly the simulated one. The response is relative viability; the data are modelled as

    y_ij = f_i(d_j; theta) + eps_ij,   eps_ij ~ N(0, sigma^2)

with one SD for every point. With a known ``sigma`` the negative log-likelihood is
``n/2 log(2 pi sigma^2) + RSS / (2 sigma^2)``; with ``noise = "estimate"`` sigma is profiled out analytically
(sigma_hat^2 = RSS/n), giving ``n/2 (log(2 pi RSS/n) + 1)`` (Raue et al. 2009; Kreutz et al. 2013), whose
minimiser and profiles in theta are those of the full likelihood.

The objective pickles without its engine and compiles (or finds, in a forked worker) the model again on first use,
so pyPESTO's process engine can run starts and profiles in worker processes.

References
----------
Kreutz C, Raue A, Kaschek D, Timmer J (2013) Profile likelihood in systems biology. FEBS J 280:2564-2571.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.engines import engine_for
from sim.errors import SimulationError
from sim.protocol import AssayProtocol

FAILED_RESIDUAL = 1e3  # a residual per point when the model cannot be simulated at a parameter vector


class DataObjective:
    """Residuals and negative log-likelihood of ``data`` for the estimated ``parameters``, given a model of the
    relative viability (:meth:`viability`, which subclasses provide).

    Parameters
    ----------
    data : pandas.DataFrame
        condition, dose_uM, response (relative viability), as :func:`sim.calibration.problem.read_data` returns.
    parameters : list of FreeParameter
    noise : float or "estimate"
        The response SD, or ``"estimate"`` (profiled out).

    Attributes
    ----------
    evaluations : int
        Objective evaluations so far (this process).
    """

    def __init__(self, data: pd.DataFrame, parameters, noise: float | str):
        self.parameters = list(parameters)
        self.noise = noise
        self.y = data["response"].to_numpy(dtype=float)
        self.doses = {name: np.unique(sub["dose_uM"].to_numpy(dtype=float))
                      for name, sub in data.groupby("condition", sort=False)}
        # data row -> position in the concatenated predictions of viability(x, self.doses)
        offsets, start = {}, 0
        for name, doses in self.doses.items():
            offsets[name] = start
            start += len(doses)
        self.index = np.array([offsets[c] + int(np.searchsorted(self.doses[c], d))
                               for c, d in zip(data["condition"], data["dose_uM"])])
        self.evaluations = 0

    def viability(self, x, doses: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Relative viability of each condition at its ``doses`` (uM) under parameters ``x`` (optimiser scale)."""
        raise NotImplementedError

    @property
    def noise_estimated(self) -> bool:
        return isinstance(self.noise, str)

    def natural(self, x) -> dict[str, float]:
        """Parameter values on their own scale (unit) from the optimiser's ``x``."""
        return {p.name: p.from_scaled(float(v)) for p, v in zip(self.parameters, np.atleast_1d(x))}

    def predictions(self, x) -> np.ndarray:
        """The model's response for every data row (NaN where the model cannot be simulated)."""
        self.evaluations += 1
        try:
            curves = self.viability(x, self.doses)
        except SimulationError:
            return np.full(len(self.y), np.nan)
        return np.concatenate(list(curves.values()))[self.index]

    def residuals(self, x) -> np.ndarray:
        """``(y - f) / sigma`` with a known SD, ``y - f`` with an estimated one; large where simulation fails."""
        r = self.y - self.predictions(x)
        r = np.where(np.isfinite(r), r, FAILED_RESIDUAL)
        return r if self.noise_estimated else r / float(self.noise)

    def nll_from_residuals(self, r: np.ndarray) -> float:
        """Negative log-likelihood (see the module docstring) from :meth:`residuals`."""
        n = len(r)
        if self.noise_estimated:
            rss = max(float(r @ r), 1e-300)
            return 0.5 * n * (math.log(2 * math.pi * rss / n) + 1.0)
        sigma = float(self.noise)
        return 0.5 * n * math.log(2 * math.pi * sigma ** 2) + 0.5 * float(r @ r)

    def __call__(self, x) -> float:
        """The negative log-likelihood at ``x`` (pyPESTO's ``fun``)."""
        return self.nll_from_residuals(self.residuals(x))

    def gradient(self, x, step: float) -> np.ndarray:
        """Central-difference gradient of the NLL at ``x`` (one-sided where a step would leave a bound)."""
        x = np.asarray(x, dtype=float)
        out = np.empty(len(x))
        for k, p in enumerate(self.parameters):
            low, high = p.bounds
            up, down = x.copy(), x.copy()
            up[k], down[k] = min(x[k] + step, high), max(x[k] - step, low)
            out[k] = (self(up) - self(down)) / (up[k] - down[k])
        return out

    def sigma(self, x) -> float:
        """The response SD: the given one, or its maximum-likelihood estimate sqrt(RSS/n) at ``x``."""
        if not self.noise_estimated:
            return float(self.noise)
        r = self.residuals(x)
        return math.sqrt(float(r @ r) / len(r))


class ProtocolObjective(DataObjective):
    """:class:`DataObjective` whose viability is cafev's assay protocol on ``model`` under ``conditions``.

    Parameters
    ----------
    model : BuiltModel
    conditions : list of Condition
        Every condition named in the data.
    data, parameters, noise
        As :class:`DataObjective`.
    assay_h, pretreatment_h : float
        The drug phase (a condition's own ``assay_time_h`` takes precedence) and the EV/intervention pretreatment,
        in h.
    """

    def __init__(self, model, conditions, data: pd.DataFrame, parameters, assay_h: float, pretreatment_h: float,
                 noise: float | str):
        super().__init__(data, parameters, noise)
        self.model = model
        self.conditions = list(conditions)
        self.assay_h, self.pretreatment_h = float(assay_h), float(pretreatment_h)
        self.base_values = {c.name: c.values(model) for c in self.conditions}
        self.hours = {c.name: float(c.assay_time_h or assay_h) for c in self.conditions}  # a condition's own wins
        self._protocol = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_protocol"] = None  # a compiled engine does not travel; engine_for compiles or reuses it
        return state

    @property
    def protocol(self) -> AssayProtocol:
        if self._protocol is None:
            self._protocol = AssayProtocol(engine_for(self.model), self.pretreatment_h)
        return self._protocol

    def viability(self, x, doses: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Relative viability of each condition at its ``doses`` (uM) under parameters ``x`` (optimiser scale)."""
        theta = self.natural(x)
        protocol = self.protocol
        out = {}
        for name, grid in doses.items():
            values = {**self.base_values[name], **theta}
            hours = self.hours[name]
            control = protocol.endpoint({**values, "drug_ext": 0.0}, hours, ["N_cancer"])[0]
            out[name] = np.array([1.0 if d == 0 else
                                  protocol.endpoint({**values, "drug_ext": float(d)}, hours, ["N_cancer"])[0]
                                  / control for d in grid])
        return out

