"""A calibration problem: measured dose-response data matched to an experiment's conditions, and the parameters
to estimate with their bounds and scales.

The data are the ``cafev fit`` format (:func:`sim.plate.read_plate_csv`: condition, dose, response[, replicate]);
every condition named in the data must be a condition of the spec, and every condition of the spec must have data
(a condition without data would be simulated for nothing, one without a definition cannot be simulated). Each
estimated parameter is a model parameter (``models/tables/parameters.tsv``, template rows resolved) that no
condition sets itself (the drug, the EV exposure and intervention doses are the conditions' own), with bounds on a
``log`` (log10) or ``lin`` scale; the optimiser works on that scale.

References
----------
Raue A, Kreutz C, Maiwald T et al. (2009) Structural and practical identifiability analysis of partially observed
dynamical models by exploiting the profile likelihood. Bioinformatics 25:1923-1929.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import SpecError, UnknownNameError, closest
from sim.plate import read_plate_csv
from sim.protocol import TREATMENT_VALUES

SCALES = ("log", "lin")
NOT_ESTIMABLE = (*TREATMENT_VALUES, "hold_population", "ln2")  # set by the conditions or the protocol, or a constant


@dataclass(frozen=True)
class FreeParameter:
    """One estimated parameter: a model parameter between ``low`` and ``high`` (its unit), searched on ``scale``."""

    name: str
    low: float
    high: float
    scale: str = "log"
    unit: str = ""
    default: float = math.nan  # the model's value (parameters.tsv or the preset), for the report

    @property
    def bounds(self) -> tuple[float, float]:
        """The bounds on the optimiser's scale."""
        return self.to_scaled(self.low), self.to_scaled(self.high)

    def to_scaled(self, value: float) -> float:
        return math.log10(value) if self.scale == "log" else float(value)

    def from_scaled(self, x: float) -> float:
        return 10.0 ** x if self.scale == "log" else float(x)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name


def free_parameters(model, entries, where: str = "calibrate.parameters") -> list[FreeParameter]:
    """Check the ``[calibrate] parameters`` entries against the model and its parameter table.

    Parameters
    ----------
    model : BuiltModel
    entries : sequence of mapping or object
        Each with ``name``, ``low``, ``high``, optional ``scale`` ("log" or "lin") and ``unit`` (checked against
        the table's unit when given).

    Raises
    ------
    UnknownNameError
        A name the model does not have (with the closest).
    SpecError
        A parameter the conditions set, a repeated name, bounds out of order or not positive on a log scale, or a
        unit that differs from the table's.
    """
    out, seen = [], set()
    for i, entry in enumerate(entries):
        get = entry.get if isinstance(entry, dict) else lambda k, d=None, e=entry: getattr(e, k, d)
        name, low, high = get("name"), float(get("low")), float(get("high"))
        scale, unit = get("scale", "log") or "log", get("unit")
        here = f"{where}[{i}]"
        if name not in model.defaults:
            raise UnknownNameError("parameter", name, sorted(model.defaults), where=f"{here}.name")
        if name in NOT_ESTIMABLE or name.startswith("dose_"):
            raise SpecError(f"{here}.name: '{name}' is set by each condition (drug, EV exposure, intervention "
                            f"doses) or by the protocol, so it cannot be estimated; estimate a model parameter.")
        if name in seen:
            raise SpecError(f"{here}.name: '{name}' is listed twice; each parameter is estimated once.")
        seen.add(name)
        if scale not in SCALES:
            raise SpecError(f"{here}.scale: must be one of {', '.join(SCALES)}. Got {scale!r}.")
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise SpecError(f"{here}: 'low' must be below 'high' (finite numbers). Got {low:g} and {high:g}.")
        if scale == "log" and low <= 0:
            raise SpecError(f"{here}.low: a log-scale parameter needs 'low' > 0. Got {low:g}.")
        table_unit = model.docs.get(name, {}).get("unit", "")
        if unit is not None and unit != table_unit:
            raise SpecError(f"{here}.unit: '{name}' is in {table_unit!r} (models/tables/parameters.tsv). "
                            f"Got {unit!r}; give its bounds in {table_unit!r}.")
        out.append(FreeParameter(name, low, high, scale, table_unit, float(model.defaults[name])))
    if not out:
        raise SpecError(f"{where}: give at least one parameter to estimate.")
    return out


def read_data(path: str | Path, condition_names: list[str], control=None) -> pd.DataFrame:
    """Read the data CSV and match its conditions with the spec's; the table of :func:`sim.plate.read_plate_csv`.

    Raises
    ------
    SpecError
        A bad file (the plate reader names the line), a data condition the spec does not define (naming its first
        line, with the closest condition), a spec condition without data, or a condition without a dose > 0.
    """
    path = Path(path)
    data = read_plate_csv(path, control)
    unknown = [c for c in dict.fromkeys(data["condition"]) if c not in condition_names]
    if unknown:
        lines = []
        for name in unknown:
            line = int(data.loc[data["condition"] == name, "line"].iloc[0])
            close = closest(name, condition_names)
            lines.append(f"{path}:{line}: condition '{name}' is not a condition of the experiment"
                         + (f"; did you mean '{close}'?" if close else "."))
        raise SpecError("\n".join(lines) + f"\nThe experiment's conditions: {', '.join(condition_names)}.")
    lacking = [c for c in condition_names if c not in set(data["condition"])]
    if lacking:
        raise SpecError(f"{path}: no data for condition(s) {', '.join(lacking)} of the experiment; add their rows "
                        f"or remove the condition(s) from the spec.")
    for name, sub in data.groupby("condition", sort=False):
        if not (sub["dose_uM"] > 0).any():
            raise SpecError(f"{path}: condition '{name}' has no row with a dose > 0; a calibration needs the drug's "
                            f"effect.")
    return data.reset_index(drop=True)


def information_criteria(nll: float, n_data: int, n_estimated: int) -> dict[str, float]:
    """AIC = 2k + 2 NLL and BIC = k ln n + 2 NLL (Akaike 1974; Schwarz 1978), k counting the noise SD if
    estimated."""
    return {"nll": float(nll), "aic": float(2 * n_estimated + 2 * nll),
            "bic": float(n_estimated * np.log(n_data) + 2 * nll), "n_data": int(n_data),
            "n_estimated": int(n_estimated)}
