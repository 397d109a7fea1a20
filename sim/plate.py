"""Users' own dose-response measurements: read a plate CSV, normalise it and fit it with the simulator's fitter.

The CSV has one row per well or replicate with columns ``condition``, ``dose`` and ``response`` (optional
``replicate``; other columns are kept but not used). A response is a viability fraction, or a raw count when a
``control`` is given: ``"dose0"`` divides each condition's counts by the mean of its dose-0 rows, a number divides
every count by it. The fits (:func:`sim.fit.fit_ll4`, drc's LL.4) are the same as for simulations, so measured and
simulated IC50s can be set side by side.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InvalidValueError, SpecError, closest
from sim.fit import fit_ll4
from sim.plots import plot_dose_response
from sim.results import RESULTS_DIR, write_figure, write_table

REQUIRED = ("condition", "dose", "response")
COUNT_LIKE = 2.0  # a response above this is not a viability fraction


def read_plate_csv(path: str | Path, control: str | float | None = None) -> pd.DataFrame:
    """Read and check a plate CSV; return condition, dose_uM, response (normalised), replicate, raw_response.

    Parameters
    ----------
    path : path
        The CSV file (comma-separated, header row first).
    control : {"dose0"} or float, optional
        How raw counts are normalised (see the module docstring); None when responses are fractions.

    Raises
    ------
    SpecError
        Missing file or column, a value that is not a number, a negative or non-finite dose, a response that is
        not finite, no rows, counts without a control, or a ``dose0`` control with no dose-0 row; each message
        names the file and, for a bad value, its line.
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"Plate file not found: {path}.")
    try:
        return _read(path, control)
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8.") from None


def _read(path: Path, control) -> pd.DataFrame:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise SpecError(f"{path}: the file is empty; expected a header row with columns "
                            f"{', '.join(REQUIRED)}.") from None
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            hints = [f"'{m}' (found '{c}'?)" if (c := closest(m, header)) else f"'{m}'" for m in missing]
            raise SpecError(f"{path}:1: missing column {', '.join(hints)}; the header has: {', '.join(header)}. "
                            f"Expected columns {', '.join(REQUIRED)} (optional: replicate).")
        index = {name: header.index(name) for name in REQUIRED}
        rep = header.index("replicate") if "replicate" in header else None
        rows = []
        for line, fields in enumerate(reader, start=2):
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                raise SpecError(f"{path}:{line}: expected {len(header)} fields as in the header, found {len(fields)}.")
            name = fields[index["condition"]].strip()
            if not name:
                raise SpecError(f"{path}:{line}: 'condition' is empty.")
            dose = _number(fields[index["dose"]], "dose", path, line)
            response = _number(fields[index["response"]], "response", path, line)
            if not math.isfinite(dose) or dose < 0:
                raise SpecError(f"{path}:{line}: 'dose' must be a finite number >= 0. Got {fields[index['dose']]!r}.")
            if not math.isfinite(response):
                raise SpecError(f"{path}:{line}: 'response' must be a finite number. "
                                f"Got {fields[index['response']]!r}.")
            rows.append({"condition": name, "dose_uM": dose, "raw_response": response,
                         "replicate": fields[rep].strip() if rep is not None else "1", "line": line})
    if not rows:
        raise SpecError(f"{path}: no data rows after the header.")
    table = pd.DataFrame(rows)
    table["response"] = _normalise(table, control, path)
    return table[["condition", "dose_uM", "response", "replicate", "raw_response", "line"]]


def _number(text: str, column: str, path: Path, line: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise SpecError(f"{path}:{line}: '{column}' must be a number. Got {text.strip()!r}.") from None


def _normalise(table: pd.DataFrame, control, path: Path) -> pd.Series:
    raw = table["raw_response"]
    if control is None:
        if raw.max() > COUNT_LIKE:
            line = int(table.loc[raw.idxmax(), "line"])
            raise SpecError(f"{path}:{line}: response {raw.max():g} is not a viability fraction; for raw counts "
                            f"pass --control dose0 (divide by each condition's dose-0 mean) or --control <count>.")
        return raw
    if isinstance(control, str) and control.strip().lower() == "dose0":
        means = table[table["dose_uM"] == 0].groupby("condition")["raw_response"].mean()
        lacking = sorted(set(table["condition"]) - set(means.index))
        if lacking:
            raise SpecError(f"{path}: --control dose0 needs dose-0 rows in every condition; none for: "
                            f"{', '.join(lacking)}.")
        if (means <= 0).any():
            raise SpecError(f"{path}: the dose-0 mean of {', '.join(means[means <= 0].index)} is not positive.")
        return raw / table["condition"].map(means)
    try:
        value = float(control)
    except (TypeError, ValueError):
        raise InvalidValueError(f"--control must be 'dose0' or a positive number (the control count). "
                                f"Got {control!r}.") from None
    if not math.isfinite(value) or value <= 0:
        raise InvalidValueError(f"--control must be 'dose0' or a positive number (the control count). Got {value}.")
    return raw / value


def fit_plate(table: pd.DataFrame) -> pd.DataFrame:
    """Fit every condition of a plate table (drc LL.4); one row per condition, columns of :class:`LL4Fit`."""
    rows = []
    for name, sub in table.groupby("condition", sort=False):
        fit = fit_ll4(sub["dose_uM"].to_numpy(), sub["response"].to_numpy())
        rows.append({"condition": name, "n_replicates": int(sub["replicate"].nunique()), **fit.as_row()})
    fits = pd.DataFrame(rows)
    lead = ["condition", "bottom", "top", "ic50", "hill", "bottom_se", "top_se", "ic50_se", "hill_se", "status"]
    return fits[lead + [c for c in fits.columns if c not in lead]]


def run_fit(path: str | Path, out_dir: str | Path | None = None, control=None) -> tuple[pd.DataFrame, list[Path]]:
    """Read, fit and write ``fits.csv``, ``data.csv`` (normalised) and ``dose_response.png`` to ``out_dir``.

    ``out_dir`` defaults to ``results/fit_<file stem>``.
    """
    table = read_plate_csv(path, control)
    fits = fit_plate(table)
    folder = Path(out_dir) if out_dir else RESULTS_DIR / f"fit_{Path(path).stem}"
    files = [write_table(fits, folder / "fits.csv"), write_table(table.drop(columns="line"), folder / "data.csv")]
    if (table["dose_uM"] > 0).any() and np.isfinite(table["response"]).all():
        files.append(write_figure(plot_dose_response(table, fits, "", f"{Path(path).name}: measured",
                                                     response="response"), folder / "dose_response.png"))
    return fits, files
