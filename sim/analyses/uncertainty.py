"""The ``[uncertainty]`` option of a dose-response experiment: the parameter ranges of DESIGN.md 2.7 propagated to
a band around every condition's curve and IC50 fold (DESIGN.md 2.8: predictions carry uncertainty bands propagated
from the parameter ranges; a 4PL standard error on noise-free simulated points is a fit diagnostic, not
uncertainty).

A Latin hypercube (:func:`sim.sweep.design.make_design`, seeded by ``[experiment] seed``) draws ``samples`` points
over the ranges of ``models/tables/parameter_ranges.tsv`` (log10 scale where the table says ``log``); every point runs
every condition's dose-response at the experiment's doses through the sweep runner
(:class:`sim.sweep.evaluate.CurvesAtPoint`, :func:`sim.sweep.runner.run_sweep`), so ``--workers``, ``--resume`` and
``--scheduler`` apply, and a point's result depends only on its values (the same band on any number of workers).
What a condition sets itself (its parameters, the copies per EV of its delivery regime) is held for it. The table::

    [uncertainty]
    samples = 64                 # Latin-hypercube points (>= 10; --quick: 10)
    parameters = ["k_escape"]    # default: every parameter of the model with a range (and its value inside it)
    level = 0.90                 # the band: the 5% and 95% quantiles over the points

Writes ``uncertainty.csv`` (one row per point and condition: the point's values, IC50, IC50 fold, fit status),
``uncertainty_bands.csv`` (one row per condition and dose: the point value and the band of the relative viability)
and ``uncertainty.png`` (each condition's curve in its band), with the sweep's Parquet parts under
``uncertainty/parts``; ``shifts.csv`` gains ``ic50_fold_low``/``ic50_fold_high`` beside ``ic50_fold``.

References
----------
McKay MD, Beckman RJ, Conover WJ (1979) A comparison of three methods for selecting values of input variables in the
analysis of output from a computer code. Technometrics 21:239-245.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from sim.analyses.base import RunOptions
from sim.catalogue import load_catalogue
from sim.errors import SpecError, closest
from sim.plots import condition_colours, plain_log_ticks, pyplot
from sim.results import write_figure, write_table
from sim.sweep.design import Factor, make_design
from sim.sweep.evaluate import CurvesAtPoint
from sim.sweep.faults import failure_counts
from sim.sweep.runner import run_sweep

MIN_SAMPLES = 10  # fewer points cannot place a 5% and a 95% quantile apart from the extremes
QUICK_SAMPLES = MIN_SAMPLES


class UncertaintySettings(BaseModel):
    """The ``[uncertainty]`` table: how many Latin-hypercube points, over which ranges, and the band's level."""

    model_config = ConfigDict(extra="forbid")
    samples: int = Field(default=64, ge=MIN_SAMPLES, le=100_000)
    parameters: list[str] | None = Field(default=None, min_length=1)
    level: float = Field(default=0.90, gt=0, lt=1)
    chunk_size: int = Field(default=4, ge=1, le=100_000)
    retry: bool = False  # run a point whose simulation failed once more with 100x tighter tolerances


def check_settings(settings: UncertaintySettings) -> None:
    """Every name of ``uncertainty.parameters`` has a range in parameter_ranges.tsv (a concrete name of a template
    row counts), checked before any work; ValueError naming the key, with the closest ranged name."""
    cat = load_catalogue()
    names = settings.parameters or []
    if len(set(names)) != len(names):
        raise ValueError(f"uncertainty.parameters: names must be unique. Got {', '.join(names)}.")
    for i, name in enumerate(names):
        if cat.range_row(name) is not None:
            continue
        ranged = sorted(cat.ranges)
        if cat.parameter_row(name) is not None:
            raise ValueError(f"uncertainty.parameters[{i}]: parameter '{name}' has no range in "
                             f"models/tables/parameter_ranges.tsv (DESIGN.md 2.7); those with one: "
                             f"{', '.join(ranged)}.")
        close = closest(name, ranged)
        hint = f" Did you mean '{close}'?" if close else ""
        raise ValueError(f"uncertainty.parameters[{i}]: '{name}' is not a parameter with a range; those with one "
                         f"(models/tables/parameter_ranges.tsv): {', '.join(ranged)}.{hint}")


def sampled_ranges(settings: UncertaintySettings, model, source: str = "<spec>") -> tuple[dict, dict]:
    """The ranges sampled on ``model``: those named, or every one the model has whose value lies inside it.

    Returns
    -------
    ranges, left_out : dict, dict
        ``ranges[name]``: the range row with the model's ``value``; ``left_out[name]``: why a ranged parameter of
        the model is not sampled (its scenario sets it outside the range: a named assumption, never overridden).

    Raises
    ------
    SpecError
        A named parameter that the scenario's model lacks (with the closest it has), or whose value the scenario
        sets outside its range.
    """
    have = load_catalogue().model_ranges(model.defaults)
    outside = {n: f"the scenario sets {r['value']:g} {r['unit']}, outside {r['low']:g}-{r['high']:g}"
               for n, r in have.items() if not r["inside"]}
    if settings.parameters is None:
        return {n: r for n, r in have.items() if r["inside"]}, outside
    for i, name in enumerate(settings.parameters):
        key = f"uncertainty.parameters[{i}]"
        if name not in have:
            close = closest(name, have)
            hint = f" Did you mean '{close}'?" if close else ""
            raise SpecError.invalid(source, [f"{key}: scenario '{model.name}' has no parameter '{name}'; its "
                                             f"parameters with a range: {', '.join(have)}.{hint}"])
        if name in outside:
            raise SpecError.invalid(source, [f"{key}: {outside[name]}; a range cannot be sampled around a value "
                                             f"outside it (leave '{name}' out)."])
    return {n: have[n] for n in settings.parameters}, {}


def quantiles(values, level: float) -> tuple[float, float, float]:
    """The ``(1 - level)/2``, 0.5 and ``(1 + level)/2`` quantiles of the finite ``values`` (NaN if none)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return math.nan, math.nan, math.nan
    lo, mid, hi = np.quantile(v, [(1 - level) / 2, 0.5, (1 + level) / 2])
    return float(lo), float(mid), float(hi)


def tidy_samples(table: pd.DataFrame, names: list[str], factors: list[str]) -> pd.DataFrame:
    """One row per point and condition from the sweep's flat columns (``ic50_uM|i``...)."""
    rows = []
    for rec in table.to_dict("records"):
        for i, name in enumerate(names):
            rows.append({"point": rec["point"], **{f: rec[f] for f in factors}, "condition": name,
                         "ic50_uM": rec.get(f"ic50_uM|{i}", math.nan), "ic50_fold": rec.get(f"ic50_fold|{i}", math.nan),
                         "fit_status": rec.get(f"fit_status|{i}", ""), "status": rec["status"],
                         "message": rec["message"]})
    return pd.DataFrame(rows)


def band_table(table: pd.DataFrame, point: pd.DataFrame, names: list[str], doses, level: float) -> pd.DataFrame:
    """One row per condition and dose: the relative viability at the defaults (``point``, the dose-response table)
    and its band over the points that ran (``viability_low``, ``viability_median``, ``viability_high``)."""
    ok = table[table["status"] == "ok"]
    rows = []
    for i, name in enumerate(names):
        curve = point[(point["condition"] == name) & (point["dose_uM"] > 0)].sort_values("dose_uM")
        for j, dose in enumerate(doses):
            col = f"viability|{i}|{j}"
            lo, mid, hi = quantiles(ok[col] if col in ok else [], level)
            rows.append({"condition": name, "dose_uM": float(dose), "viability": float(curve["viability"].iloc[j]),
                         "viability_low": lo, "viability_median": mid, "viability_high": hi, "points": len(ok)})
    return pd.DataFrame(rows)


def plot_bands(bands: pd.DataFrame, drug: str, level: float, title: str | None = None):
    """Each condition's viability curve at the defaults (line) in its band over the parameter ranges (shaded), one
    panel per condition, the control's curve in grey on every panel."""
    plt = pyplot()
    names = list(dict.fromkeys(bands["condition"]))
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.9 * rows), squeeze=False, sharex=True, sharey=True)
    colours = condition_colours(names)
    control = bands[bands["condition"] == names[0]]
    for ax, name in zip(axes.flat, names):
        sub = bands[bands["condition"] == name]
        if name != names[0]:
            ax.plot(control["dose_uM"], control["viability"], color="grey", lw=0.8, ls="--", label=names[0])
        ax.fill_between(sub["dose_uM"], sub["viability_low"], sub["viability_high"], color=colours[name], alpha=0.3,
                        lw=0, label=f"{level:.0%} band")
        ax.plot(sub["dose_uM"], sub["viability"], color=colours[name], lw=1.5, label="defaults")
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis)
        ax.set_title(name, fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel(f"{drug} dose (µM)")
    for ax in axes[:, 0]:
        ax.set_ylabel("relative viability (fraction)")
    axes.flat[0].legend(fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def run_uncertainty(spec, model, conditions, control: str, doses, shifts: pd.DataFrame, point: pd.DataFrame,
                    drug: str, folder: Path, options: RunOptions) -> tuple[pd.DataFrame, list, dict]:
    """The Latin-hypercube sample of ``spec.uncertainty`` over the dose-response's ``conditions`` at ``doses``.

    Parameters
    ----------
    spec, model : the dose-response experiment and its built model.
    conditions : list of Condition
        Every condition run (with those the analysis added); ``control`` names the no-EV control.
    doses : array_like
        The doses (uM) of the run at the defaults.
    shifts, point : DataFrame
        The shift table and the dose-response table at the defaults.
    drug : str
        The drug (axis label).
    folder : Path
        The experiment's folder (the points' Parquet parts go to ``folder/uncertainty/parts``).
    options : RunOptions
        ``quick`` (:data:`QUICK_SAMPLES` points), workers, resume, scheduler.

    Returns
    -------
    shifts, files, metadata : DataFrame, list, dict
        ``shifts`` with ``ic50_fold_low``/``ic50_fold_high`` after ``ic50_fold`` (``attrs["band_label"]`` for the
        plot), the files written, and what metadata.json records (ranges, samples, level, what was held).
    """
    settings = spec.uncertainty
    ranges, left_out = sampled_ranges(settings, model, spec._source)
    factors = [Factor(n, r["low"], r["high"], r["scale"]) for n, r in ranges.items()]
    names = [c.name for c in conditions]
    evaluate = CurvesAtPoint(spec.experiment.scenario, tuple(c.model_dump(exclude_defaults=True) for c in conditions),
                             tuple(float(d) for d in doses), names.index(control), spec.dose_response.assay_time_h,
                             spec.dose_response.pretreatment_h)
    held = {c.name: sorted(h & set(ranges)) for c, h in zip(conditions, evaluate.held(model)) if h & set(ranges)}
    n = QUICK_SAMPLES if options.quick else settings.samples
    points = make_design(factors, "lhs", n, spec.experiment.seed)
    table = run_sweep(evaluate, points, folder / "uncertainty", chunk_size=settings.chunk_size, retry=settings.retry,
                      desc="uncertainty", **options.runner_kwargs())
    samples = tidy_samples(table, names, list(ranges))
    bands = band_table(table, point, names, doses, settings.level)
    shifts = shifts.copy()
    fold_band = {name: quantiles(sub.loc[sub["status"] == "ok", "ic50_fold"], settings.level)
                 for name, sub in samples.groupby("condition", sort=False)}
    at = shifts.columns.get_loc("ic50_fold") + 1
    shifts.insert(at, "ic50_fold_low", shifts["condition"].map(lambda c: fold_band[c][0]))
    shifts.insert(at + 1, "ic50_fold_high", shifts["condition"].map(lambda c: fold_band[c][2]))
    counted = samples[(samples["status"] == "ok") & np.isfinite(samples["ic50_fold"].astype(float))]
    shifts.insert(at + 2, "ic50_fold_points", shifts["condition"].map(counted.groupby("condition").size())
                  .fillna(0).astype(int))
    pct = f"{(1 - settings.level) / 2:.0%}-{(1 + settings.level) / 2:.0%}"
    shifts.attrs["band_label"] = f"{pct} band over {len(points)} LHS points of the DESIGN 2.7 ranges"
    title = f"{spec.experiment.name}: {pct} band over {len(factors)} parameter ranges ({len(points)} points)"
    files = [folder / "uncertainty" / "parts", write_table(samples, folder / "uncertainty.csv"),
             write_table(bands, folder / "uncertainty_bands.csv"),
             write_figure(plot_bands(bands, drug, settings.level, title), folder / "uncertainty.png")]
    meta = {"samples": len(points), "design": "lhs", "seed": spec.experiment.seed, "level": settings.level,
            "ranges": {n: {k: r[k] for k in ("low", "high", "unit", "scale", "value", "source")}
                       for n, r in ranges.items()},
            "left_out": left_out, "held_by_condition": held, "failures_by_reason": failure_counts(table)}
    return shifts, files, meta
