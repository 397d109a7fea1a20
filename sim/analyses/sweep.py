"""The ``analysis = "sweep"`` of an experiment spec: a design over factors, the IC50 shift at every point, the plots.

Writes ``sweep.parquet`` and ``sweep.csv`` (one row per point: factors, readouts, status, message), the Parquet parts
it was assembled from (``parts/``, what ``--resume`` continues from), ``indices.csv`` for saltelli/morris designs,
``sweep.png`` and ``metadata.json`` (spec, model hash, versions, seed, design). The spec's table::

    [sweep]
    design = "grid"                        # grid, lhs, sobol, saltelli or morris
    n = 64                                 # points of a sampled design (grid: the product of the factors' points)
    condition = "CAF-EV"                   # the condition at every point
    reference = "control"                  # required by the *_fold readouts
    readout = "ic50_fold"                  # ic50_fold, ic50_uM, gr50_fold, gr50_uM, auc, auc_fold, viability, species
    ic50_method = "auto"                   # auto (adaptive for ic50_fold/ic50_uM, else grid), adaptive or grid
    [[sweep.factors]]                      # a model parameter, caf_ratio / ev_dose_ug, or an intervention's dose
    name = "GW4869"
    low = 0
    high = 20
    points = 5                             # grid only; scale = "log" for a log range; unit checked if given
    # also: species, statistic, time_h, dose, assay_time_h, n_doses, pretreatment_h, chunk_size, retry
    # (see SweepSettings)
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.analyses.base import Analysis, ExperimentResult, RunOptions, condition_pair
from sim.budget import delivery_notes
from sim.catalogue import load_catalogue, unit_of
from sim.engines import engine_for
from sim.errors import SpecError
from sim.plots import plain_log_ticks, pyplot
from sim.results import atomic_write, write_figure, write_metadata, write_table
from sim.sweep.design import Factor, analyse, make_design
from sim.ic50 import readout_settings
from sim.sweep.evaluate import AssayReadout, IC50Shift, species_column
from sim.sweep.faults import failure_counts
from sim.sweep.runner import run_sweep

IC50_READOUTS = ("ic50_fold", "ic50_uM")  # what the adaptive readout gives (sim.ic50)
FOLD_CONTOUR = 2.0  # the 2-D heatmap draws the contour where the IC50 shift is 2-fold


EXPOSURE_UNITS = {"caf_ratio": "CAFs per cancer cell", "ev_dose_ug": "ug/mL"}
READOUT_LABELS = {"ic50_fold": "IC50 fold vs reference", "ic50_uM": "IC50 (µM)", "gr50_fold": "GR50 fold vs reference",
                  "gr50_uM": "GR50 (µM)", "auc": "AUC (mean viability over log10 dose, fraction)",
                  "auc_fold": "AUC fold vs reference", "viability": "relative viability (fraction)"}


def factor_unit(name: str, model=None) -> str:
    """The unit of a factor from the exposure settings, the intervention table or the model's parameter table."""
    cat = load_catalogue()
    if name in EXPOSURE_UNITS:
        return EXPOSURE_UNITS[name]
    if name in cat.interventions:
        return cat.interventions[name]["unit"]
    if model is not None and name in model.docs:
        return model.docs[name]["unit"]
    return ""


def factor_label(name: str, model=None) -> str:
    """A factor with its unit for axes (parameter table, intervention table, exposure settings)."""
    unit = factor_unit(name, model)
    return f"{name} ({unit})" if unit else name


def _same_unit(a: str, b: str) -> bool:
    norm = lambda u: "".join(u.replace("µ", "u").replace("μ", "u").split()).lower()  # noqa: E731
    return norm(a) == norm(b)


def check_factor_units(factors, model, source: str = "<spec>") -> None:
    """Each factor that states a ``unit`` must state the unit its table gives (before any run).

    Raises
    ------
    SpecError
        Naming ``sweep.factors[i].unit``, the unit expected (and the table it comes from) and the unit found.
    """
    for i, f in enumerate(factors):
        if f.unit is None:
            continue
        expected = factor_unit(f.name, model)
        if not _same_unit(f.unit, expected):
            table = ("the exposure settings" if f.name in EXPOSURE_UNITS else
                     "models/tables/interventions.tsv" if expected and f.name not in model.docs else
                     "models/tables/parameters.tsv")
            raise SpecError.invalid(source, [f"sweep.factors[{i}].unit: factor '{f.name}' is in '{expected}' "
                                             f"({table}); found '{f.unit}'. Give the range in '{expected}' and set "
                                             f"unit = '{expected}' (or leave unit out)."])


def readout_label(readout: str) -> str:
    """Axis label of a readout column (dose-response readouts, viability, or a species column)."""
    if readout in READOUT_LABELS:
        return READOUT_LABELS[readout]
    if readout.endswith("_max"):
        species = readout.removesuffix("_max")
        return f"max of {species} in the drug phase ({unit_of(species)})"
    if "_at_" in readout:
        species, _, when = readout.rpartition("_at_")
        return f"{species} {when.removesuffix('h')} h after the drug ({unit_of(species)})"
    return f"{readout} at assay end ({unit_of(readout)})"


def plot_sweep(table: pd.DataFrame, factors: list[Factor], readout: str, design: str, indices=None, title=None,
               model=None):
    """1 factor: readout curve with the no-shift line; 2 factors on a grid: heatmap with the 2-fold contour;
    saltelli: S1/ST bars with CIs; morris: mu* against sigma; otherwise readout against each factor."""
    plt = pyplot()
    ok = table[table["status"] == "ok"]
    label = readout_label(readout)
    if indices is not None and design == "saltelli":
        fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(indices) + 2), 4.2))
        x = np.arange(len(indices))
        ax.bar(x - 0.2, indices["S1"], 0.4, yerr=indices["S1_conf"], capsize=3, label="first order S1")
        ax.bar(x + 0.2, indices["ST"], 0.4, yerr=indices["ST_conf"], capsize=3, label="total ST")
        ax.set_xticks(x, indices["factor"], rotation=30, ha="right")
        ax.set_ylabel(f"Sobol' index of {label} (fraction of variance)")
        ax.legend(frameon=False)
    elif indices is not None and design == "morris":
        fig, ax = plt.subplots(figsize=(6.5, 4.8))
        ax.scatter(indices["mu_star"], indices["sigma"])
        for _, r in indices.iterrows():
            ax.annotate(r["factor"], (r["mu_star"], r["sigma"]), fontsize=8, xytext=(3, 3),
                        textcoords="offset points")
        ax.set_xlabel(f"mu* (mean |elementary effect| on {label})")
        ax.set_ylabel("sigma (spread of elementary effects)")
    elif design == "grid" and len(factors) == 2:
        fx, fy = factors
        grid = ok.pivot_table(index=fy.name, columns=fx.name, values=readout)
        fig, ax = plt.subplots(figsize=(6.8, 5.2))
        mesh = ax.pcolormesh(grid.columns, grid.index, grid.values, shading="nearest", cmap="viridis")
        fig.colorbar(mesh, ax=ax, label=label)
        if readout in ("ic50_fold", "gr50_fold") and np.nanmin(grid.values) < FOLD_CONTOUR < np.nanmax(grid.values):
            cs = ax.contour(grid.columns, grid.index, grid.values, levels=[FOLD_CONTOUR], colors="white")
            ax.clabel(cs, fmt=lambda v: f"{v:g}-fold")
        for axis, f, values in ((ax.xaxis, fx, grid.columns), (ax.yaxis, fy, grid.index)):
            if f.scale == "log":
                (ax.set_xscale if axis is ax.xaxis else ax.set_yscale)("log")
                plain_log_ticks(axis)
            axis.set_ticks(list(values), [f"{v:.3g}" for v in values])  # label the grid's own values
        ax.set_xlabel(factor_label(fx.name, model))
        ax.set_ylabel(factor_label(fy.name, model))
    else:
        fig, axes = plt.subplots(1, len(factors), figsize=(4.4 * len(factors), 3.8), squeeze=False)
        for ax, f in zip(axes[0], factors):
            sub = ok.sort_values(f.name)
            ax.plot(sub[f.name], sub[readout], "o-" if len(factors) == 1 else "o", ms=4)
            if readout.endswith("_fold"):
                ax.axhline(1.0, color="grey", lw=0.8, ls="--")
            if f.scale == "log":
                ax.set_xscale("log")
                plain_log_ticks(ax.xaxis)  # 0.25, 1, 4 rather than overlapping powers of ten
                values = np.unique(sub[f.name])
                if len(values) <= 12:  # a grid: label its own values
                    ax.set_xticks(values, [f"{v:.3g}" for v in values])
            ax.set_xlabel(factor_label(f.name, model))
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


class SweepFactor(BaseModel):
    """One ``[[sweep.factors]]`` entry: a model parameter, ``caf_ratio``/``ev_dose_ug`` or an intervention id."""

    model_config = ConfigDict(extra="forbid")
    name: str
    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)
    scale: Literal["lin", "log"] = "lin"
    points: int = Field(default=5, ge=2, le=1000)
    unit: str | None = None  # if given, checked against the parameter/intervention table before any run

    @model_validator(mode="after")
    def _range(self):
        if self.low >= self.high:
            raise ValueError(f"the range must have low < high. Got {self.low:g} to {self.high:g}.")
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"a log range must be > 0. Got low = {self.low:g}.")
        return self


class SweepSettings(BaseModel):
    """The ``[sweep]`` table: the design, the factors, and which conditions the IC50 shift compares."""

    model_config = ConfigDict(extra="forbid")
    design: Literal["grid", "lhs", "sobol", "saltelli", "morris"] = "grid"
    n: int = Field(default=64, ge=2, le=1_000_000)
    factors: list[SweepFactor] = Field(default_factory=list)
    condition: str | None = None
    reference: str | None = None
    readout: Literal["ic50_fold", "ic50_uM", "gr50_fold", "gr50_uM", "auc", "auc_fold", "viability",
                     "species"] = "ic50_fold"
    species: str = "PTEN"
    statistic: Literal["end", "max", "at"] = "end"
    time_h: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    dose: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    assay_time_h: float = Field(default=72.0, gt=0, allow_inf_nan=False)
    n_doses: int = Field(default=8, ge=4, le=50)
    pretreatment_h: float = Field(default=48.0, ge=0, allow_inf_nan=False)
    chunk_size: int = Field(default=8, ge=1, le=100_000)
    retry: bool = False  # run a point whose simulation failed once more with 100x tighter tolerances
    ic50_method: Literal["auto", "adaptive", "grid"] = "auto"  # auto: adaptive for the IC50 readouts (sim.ic50)


def ic50_method(sw: SweepSettings) -> str:
    """The sweep's IC50 readout: ``auto`` is the adaptive one for an IC50 readout, the grid otherwise."""
    if sw.ic50_method == "auto":
        return "adaptive" if sw.readout in IC50_READOUTS else "grid"
    return sw.ic50_method


class SweepAnalysis(Analysis):
    """A design over factors, a readout at every point (see the module docstring)."""

    name = "sweep"
    Settings = SweepSettings
    parallel = True

    def check(self, spec) -> None:
        names = [c.name for c in spec.conditions]
        sw = spec.sweep
        if not sw.factors:
            raise ValueError("sweep.factors: a sweep needs at least one factor")
        factor_names = [f.name for f in sw.factors]
        if len(set(factor_names)) != len(factor_names):
            raise ValueError(f"sweep.factors: names must be unique. Got {', '.join(factor_names)}")
        condition_pair("sweep", sw.condition, sw.reference, names, sw.readout.endswith("_fold"),
                       "the fold is one against the other")
        if sw.ic50_method == "adaptive" and sw.readout not in IC50_READOUTS:
            raise ValueError(f"sweep.ic50_method = 'adaptive' reads IC50s only, but readout = '{sw.readout}' needs "
                             f"the dose-response curve; use ic50_method = 'grid' (or 'auto') or an IC50 readout "
                             f"({', '.join(IC50_READOUTS)})")
        if sw.readout == "species" and sw.statistic == "at":
            if sw.time_h is None:
                raise ValueError("sweep.time_h is required with statistic = 'at': the hour after the drug at which "
                                 "the species is read")
            if sw.time_h > sw.assay_time_h:
                raise ValueError(f"sweep.time_h ({sw.time_h:g} h) is after the end of the assay "
                                 f"(assay_time_h = {sw.assay_time_h:g} h)")

    def run(self, spec, model, folder: Path, options: RunOptions) -> ExperimentResult:
        """The design's points in worker processes (resumable), the table, the indices and the plot."""
        quick, sw = options.quick, spec.sweep
        by_name = {c.name: c for c in spec.conditions}
        factors = [Factor(f.name, f.low, f.high, f.scale, 2 if quick else f.points) for f in sw.factors]
        condition = by_name[sw.condition].model_dump(exclude_defaults=True)
        checker = IC50Shift(spec.experiment.scenario, condition)
        checker.check([f.name for f in factors])  # every factor name and stated unit checked before any run
        check_factor_units(sw.factors, model, spec._source)
        reference = by_name[sw.reference].model_dump(exclude_defaults=True) if sw.reference else None
        if sw.readout in READOUT_LABELS and sw.readout != "viability":
            evaluate = IC50Shift(spec.experiment.scenario, condition, reference, 6 if quick else sw.n_doses,
                                 sw.pretreatment_h, ic50_method=ic50_method(sw))
        else:
            if sw.readout == "species":
                engine_for(model).check_selection([sw.species])  # did-you-mean before any run
            evaluate = AssayReadout(spec.experiment.scenario, condition, sw.readout, sw.species, sw.dose,
                                    sw.assay_time_h, sw.pretreatment_h, sw.statistic, sw.time_h)
        readout = species_column(sw.species, sw.statistic, sw.time_h) if sw.readout == "species" else sw.readout
        n = (8 if sw.design in ("lhs", "sobol") else 4) if quick else sw.n
        points = make_design(factors, sw.design, n, spec.experiment.seed)
        table = run_sweep(evaluate, points, folder, chunk_size=sw.chunk_size, retry=sw.retry,
                          **options.runner_kwargs())
        table.insert(table.columns.get_loc("status"), "seed", spec.experiment.seed)
        files = [folder / "parts", write_table(table, folder / "sweep.csv"),
                 atomic_write(folder / "sweep.parquet", lambda p: table.to_parquet(p, index=False))]
        indices = None
        if sw.design in ("saltelli", "morris"):
            y = table[readout].to_numpy(dtype=float)
            if np.all(np.isfinite(y)):
                indices = analyse(factors, sw.design, points, y, spec.experiment.seed)
                files.append(write_table(indices, folder / "indices.csv"))
        title = f"{spec.experiment.name}: {model.preset.get('title', model.name)}"
        files.append(write_figure(plot_sweep(table, factors, readout, sw.design, indices, title, model),
                                  folder / "sweep.png"))
        files.append(write_metadata(folder, spec.model_dump(mode="json"), model, spec.experiment.seed,
                                    {"quick": quick, "design": sw.design, "points": len(points),
                                     **readout_settings(evaluate),
                                     "failures_by_reason": failure_counts(table),
                                     "factors": [f.__dict__ for f in factors],
                                     "delivery_notes": delivery_notes(model, [by_name[n] for n in (sw.condition,
                                                                      sw.reference) if n], sw.factors)}))
        failed = table["status"] != "ok"
        counts = failure_counts(table)
        summary = pd.DataFrame([{"points": len(table), "failed": int(failed.sum()),
                                 "failures_by_reason": ", ".join(f"{k} {v}" for k, v in counts.items()) or "none",
                                 "retried": int(table["retried"].sum()) if "retried" in table else 0,
                                 f"{readout}_min": table[readout].min() if readout in table else np.nan,
                                 f"{readout}_max": table[readout].max() if readout in table else np.nan}])
        if indices is not None:
            summary = indices
        notes = delivery_notes(model, [by_name[n] for n in (sw.condition, sw.reference) if n], sw.factors)
        summary.attrs["footer"] = "\n".join(notes)
        return ExperimentResult(folder, files, table, summary)


ANALYSIS = SweepAnalysis()
