"""Users' own dose-response measurements: read a plate CSV, normalise it (or not) and fit it with the simulator's
fitter.

The CSV has one row per well or replicate with columns ``dose`` and ``response`` (optional ``condition``, else the
whole file is one condition named after it, and ``replicate``; other columns are kept but not used). What the response is, and so what is fitted, is ``response``
(``cafev fit --response``):

- ``"fraction"`` (the default): viability fractions (1 = drug-free control), fitted as given; or, with a
  ``control``, raw counts divided by it: ``"dose0"`` divides each condition's counts by the mean of its dose-0 rows,
  a number divides every count by it. A response above 2 without a control is refused (it is not a fraction), with
  a message that names ``--response raw`` and ``--control``.
- ``"percent"``: percent of control, divided by 100 for the fit (``data.csv``'s ``normalised_by`` says 100); the fit
  is the fraction fit of the same data.
- ``"raw"``: fitted as given, in its own units, never refused nor rescaled, as drc's ``LL.4`` fits whatever it is
  given. ``bottom``/``top`` are in the data's units, ``ic50`` is drc's ``e`` (the relative EC50, halfway between
  bottom and top), and the absolute IC50 (``ic50_abs``, ``ic50_report``) is the dose where the fitted curve falls
  to half of its own untreated level (the fitted top for a falling curve): what the same data divided by a
  control equal to the fitted top would give at 0.5, since raw units have no level 0.5 of their own.
  ``ic50_level`` in ``fits.csv`` gives the level used, in the fitted units. A ``control`` with ``raw`` is an error
  (dividing by a control is what ``fraction`` does).

The fits (:func:`sim.fit.fit_ll4`, drc's LL.4) are the same as for simulations, so measured and simulated IC50s can
be set side by side.

References
----------
Ritz C, Baty F, Streibig JC, Gerhard D (2015) Dose-response analysis using R. PLoS ONE 10:e0146021.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InvalidValueError, SpecError, closest
from sim.fit import HALF_UNTREATED, fit_ll4
from sim.plots import plot_dose_response
from sim.results import RESULTS_DIR, write_figure, write_table

REQUIRED = ("dose", "response")  # and ``condition``, optional: without it the file is one condition, its stem
COUNT_LIKE = 2.0  # a response above this is not a viability fraction
RESPONSES = ("fraction", "percent", "raw")  # what the response column holds (cafev fit --response)
DEFAULT_RESPONSE = "fraction"


def read_plate_csv(path: str | Path, control: str | float | None = None,
                   response: str = DEFAULT_RESPONSE) -> pd.DataFrame:
    """Read and check a plate CSV; return condition, dose_uM, response (what is fitted), replicate, raw_response
    (as in the file), normalised_by (what it was divided by: 1, 100, the control) and line.

    Parameters
    ----------
    path : path
        The CSV file (comma-separated, header row first).
    control : {"dose0"} or float, optional
        How raw counts are normalised to fractions (see the module docstring); None when they are not.
    response : {"fraction", "percent", "raw"}
        What the response column holds (see the module docstring).

    Raises
    ------
    SpecError
        Missing file or column, a value that is not a number, a negative or non-finite dose, a response that is
        not finite, no rows, a response above 2 read as a fraction without a control, or a ``dose0`` control with
        no dose-0 row; each message names the file and, for a bad value, its line.
    InvalidValueError
        An unknown ``response`` (the valid ones are listed), a bad ``control``, or a control with ``raw`` or
        ``percent`` responses.
    """
    if response not in RESPONSES:
        close = closest(str(response), RESPONSES)
        raise InvalidValueError(f"--response must be one of {', '.join(RESPONSES)}. Got {response!r}."
                                + (f" Did you mean '{close}'?" if close else ""))
    if control is not None and response != "fraction":
        why = ("fits the responses as given, in their own units, while --control divides them by a control to "
               "make viability fractions: use one (--control alone fits fractions of the control)"
               if response == "raw" else "responses are already normalised to their control; drop --control")
        raise InvalidValueError(f"--control cannot be combined with --response {response}: {response} {why}.")
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"Plate file not found: {path}.")
    try:
        return _read(path, control, response)
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8.") from None


def _read(path: Path, control, kind: str) -> pd.DataFrame:
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
                            f"Expected columns {', '.join(REQUIRED)} (optional: condition, replicate).")
        index = {name: header.index(name) for name in REQUIRED}
        cond = header.index("condition") if "condition" in header else None
        rep = header.index("replicate") if "replicate" in header else None
        rows = []
        for line, fields in enumerate(reader, start=2):
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                raise SpecError(f"{path}:{line}: expected {len(header)} fields as in the header, found {len(fields)}.")
            name = fields[cond].strip() if cond is not None else path.stem
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
    table["normalised_by"] = _divisor(table, control, kind, path)
    table["response"] = table["raw_response"] / table["normalised_by"]
    return table[["condition", "dose_uM", "response", "replicate", "raw_response", "normalised_by", "line"]]


def _number(text: str, column: str, path: Path, line: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise SpecError(f"{path}:{line}: '{column}' must be a number. Got {text.strip()!r}.") from None


def _divisor(table: pd.DataFrame, control, response: str, path: Path) -> pd.Series:
    """What each raw response is divided by to give the fitted response (1 for fractions and raw values)."""
    raw = table["raw_response"]
    ones = pd.Series(1.0, index=table.index)
    if response == "raw":
        return ones
    if control is None:
        divisor = 100.0 if response == "percent" else 1.0
        if raw.max() / divisor > COUNT_LIKE:
            line = int(table.loc[raw.idxmax(), "line"])
            shown = f"{raw.max():g}%" if response == "percent" else f"{raw.max():g}"
            what = "a percent of control (above 200%)" if response == "percent" else "a viability fraction"
            raise SpecError(f"{path}:{line}: response {shown} is not {what}, as --response {response}"
                            f"{' (the default)' if response == DEFAULT_RESPONSE else ''} reads it. For raw values "
                            f"(counts, lengths, signal) pass --response raw (fitted as given, in their own units) or "
                            f"--control dose0|COUNT (divided by each condition's dose-0 mean or by a control count, "
                            f"then fitted as fractions)"
                            + ("; for percent of control pass --response percent." if response == "fraction"
                               else " instead of --response percent."))
        if response == "percent" and raw.max() <= COUNT_LIKE:
            line = int(table.loc[raw.idxmax(), "line"])
            raise SpecError(f"{path}:{line}: the largest response is {raw.max():g}, which reads as a viability "
                            f"fraction, not as percent of control (a percent response is ~100 where the drug does "
                            f"nothing); drop --response percent (fractions are the default), or pass --response raw.")
        return ones * divisor
    if isinstance(control, str) and control.strip().lower() == "dose0":
        means = table[table["dose_uM"] == 0].groupby("condition")["raw_response"].mean()
        lacking = sorted(set(table["condition"]) - set(means.index))
        if lacking:
            raise SpecError(f"{path}: --control dose0 needs dose-0 rows in every condition; none for: "
                            f"{', '.join(lacking)}.")
        if (means <= 0).any():
            raise SpecError(f"{path}: the dose-0 mean of {', '.join(means[means <= 0].index)} is not positive.")
        return table["condition"].map(means).astype(float)
    try:
        value = float(control)
    except (TypeError, ValueError):
        raise InvalidValueError(f"--control must be 'dose0' or a positive number (the control count). "
                                f"Got {control!r}.") from None
    if not math.isfinite(value) or value <= 0:
        raise InvalidValueError(f"--control must be 'dose0' or a positive number (the control count). Got {value}.")
    return ones * value


def fit_plate(table: pd.DataFrame, response: str = DEFAULT_RESPONSE) -> pd.DataFrame:
    """Fit every condition of a plate table (drc LL.4); one row per condition, columns of :class:`LL4Fit`, then
    ``response`` (what the file held) and ``ic50_level`` (the fitted response level of ``ic50_abs``: 0.5, or for
    raw responses half of the fitted untreated level, in the data's units)."""
    rows = []
    for name, sub in table.groupby("condition", sort=False):
        fit = fit_ll4(sub["dose_uM"].to_numpy(), sub["response"].to_numpy(),
                      response_at=HALF_UNTREATED if response == "raw" else 0.5)
        untreated = fit.top if fit.hill > 0 else fit.bottom
        level = untreated / 2 if response == "raw" else 0.5
        rows.append({"condition": name, "n_replicates": int(sub["replicate"].nunique()), **fit.as_row(),
                     "response": response, "ic50_level": level})
    fits = pd.DataFrame(rows)
    lead = ["condition", "bottom", "top", "ic50", "hill", "bottom_se", "top_se", "ic50_se", "hill_se", "status"]
    return fits[lead + [c for c in fits.columns if c not in lead]]


Y_LABELS = {"fraction": "relative viability (fraction of drug-free control)",
            "percent": "relative viability (percent of control / 100)",
            "raw": "response (raw units, as in the file)"}


def run_fit(path: str | Path, out_dir: str | Path | None = None, control=None,
            response: str = DEFAULT_RESPONSE) -> tuple[pd.DataFrame, list[Path]]:
    """Read, fit and write ``fits.csv``, ``data.csv`` (the fitted response beside the file's) and
    ``dose_response.png`` to ``out_dir`` (default ``results/fit_<file stem>``).

    ``response`` is what the file's response column holds (``fraction``, ``percent`` or ``raw``; see the module
    docstring); ``control`` normalises raw counts to fractions.
    """
    table = read_plate_csv(path, control, response)
    fits = fit_plate(table, response)
    folder = Path(out_dir) if out_dir else RESULTS_DIR / f"fit_{Path(path).stem}"
    files = [write_table(fits, folder / "fits.csv"), write_table(table.drop(columns="line"), folder / "data.csv")]
    if (table["dose_uM"] > 0).any() and np.isfinite(table["response"]).all():
        title = f"{Path(path).name}: measured" + ("; IC50 = dose at half the fitted untreated level"
                                                  if response == "raw" else "")
        figure = plot_dose_response(table, fits, "", title, response="response",
                                    ylabel=Y_LABELS[response], reference=None if response == "raw" else 0.5)
        files.append(write_figure(figure, folder / "dose_response.png"))
    return fits, files
