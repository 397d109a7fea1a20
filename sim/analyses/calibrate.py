"""The ``analysis = "calibrate"`` experiment: estimate model parameters from measured dose-response data.

The spec names the data, the protocol and the parameters to estimate; its conditions are the data's conditions::

    [calibrate]
    data = "data/zhang2014.csv"   # relative to the spec: condition, dose, response[, replicate] (`cafev fit` format)
    control = "dose0"             # optional: responses are raw counts, divided by each condition's dose-0 mean
    assay_time_h = 72
    pretreatment_h = 48
    noise = "estimate"            # or the response SD (a number)
    parameters = [ { name = "ABCB1_per_EV", low = 1, high = 1e4, scale = "log", unit = "copies/EV" } ]
    n_starts = 10                 # multi-start (seeded by [experiment] seed; --quick: 3, and profile steps doubled)
    level = 0.95                  # profile-likelihood intervals and bands
    reference = "control"         # IC50 folds over this condition (default: the first condition without EVs)
    data_note = "..."             # where the data come from (printed with the result and kept in metadata.json)

The objective runs cafev's own assay protocol (:mod:`sim.calibration.objective`); pyPESTO fits it from seeded
starts and walks the profiles (:mod:`sim.calibration.estimate`); the Fisher information names flat directions
(:mod:`sim.calibration.directions`); the profiles give prediction bands (:mod:`sim.calibration.bands`).

Writes calibration.csv (one row per parameter: estimate, profile-likelihood interval, identifiability), starts.csv,
profiles.csv, directions.csv, fit.csv (data, prediction, residual), bands.csv, folds.csv (IC50 and IC50 fold with
their bands), waterfall.png, profiles.png, fit.png, ic50_fold.png, the PEtab problem (petab/, or why it does not
map) and parameters.csv, model.xml, metadata.json (with NLL, AIC, BIC and the noise SD).
"""
from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from sim.analyses.base import Analysis, ExperimentResult, RunOptions, known_condition, no_condition_key
from sim.budget import CHEVILLET_COPIES_PER_EV
from sim.calibration import bands as band_mod
from sim.calibration import estimate as est
from sim.calibration.directions import confounded_sets, flat_directions
from sim.calibration.objective import ProtocolObjective
from sim.calibration.petab import export_petab
from sim.calibration.plots import plot_fit, plot_folds, plot_profiles, plot_waterfall
from sim.calibration.problem import free_parameters, information_criteria, read_data
from sim.catalogue import model_id
from sim.errors import SimulationError
from sim.results import write_figure, write_metadata, write_table

QUICK_STARTS = 3
BAND_DOSES = 25  # doses of the band curves, log-spaced over the data's dose range


class ParameterEntry(BaseModel):
    """One entry of ``[calibrate] parameters``."""

    model_config = ConfigDict(extra="forbid")
    name: str
    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)
    scale: Literal["log", "lin"] = "log"
    unit: str | None = None


class CalibrateSettings(BaseModel):
    """The ``[calibrate]`` table (``data`` and ``parameters`` are required; see the module docstring)."""

    model_config = ConfigDict(extra="forbid")
    data: str | None = None
    control: str | float | None = None
    assay_time_h: float = Field(default=72.0, gt=0, allow_inf_nan=False)
    pretreatment_h: float = Field(default=48.0, ge=0, allow_inf_nan=False)
    noise: Literal["estimate"] | float = "estimate"
    parameters: list[ParameterEntry] = Field(default_factory=list)
    n_starts: int = Field(default=10, ge=1, le=1000)
    level: float = Field(default=0.95, gt=0.5, lt=1)
    reference: str | None = None
    data_note: str | None = None  # where the data come from, printed with the result (e.g. "synthetic: ...")


def _reference(spec) -> str:
    settings = spec.settings
    if settings.reference:
        return settings.reference
    plain = [c.name for c in spec.conditions if c.ev_mode == "none"]
    return plain[0] if plain else spec.conditions[0].name


def data_path(spec) -> Path:
    """The data file: ``data`` relative to the spec's folder (to the working directory for a spec given as a dict)."""
    path = Path(spec.settings.data)
    source = Path(spec._source)
    return path if path.is_absolute() or not source.is_file() else source.parent / path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rna_per_ev(model) -> set[str]:
    """The ``<cargo>_per_EV`` parameters of RNA cargo (Chevillet 2014 counted miRNA copies; protein cargo such as
    P-gp has no published copies-per-EV range, as :mod:`sim.budget` says in every run)."""
    return {f"{model_id(it.cargo)}_per_EV" for it in model.interactions if it.delivered and it.kind != "protein"}


def _implied(table: pd.DataFrame, model) -> pd.DataFrame:
    """Copies per EV of RNA cargo also as multiples of Chevillet 2014's average (0.00825 copies of a miRNA per
    exosome); NaN for other parameters, protein cargo included."""
    rna = table["parameter"].isin(_rna_per_ev(model))
    for col in ("estimate", "lower", "upper"):
        table[f"{col}_x_chevillet"] = np.where(rna, table[col] / CHEVILLET_COPIES_PER_EV, np.nan)
    return table


def _interval_words(row, level: float) -> str:
    """The interval of one row of calibration.csv, saying which end is a bound the data did not reach."""
    low = f"{row.lower:.4g}" + (" (its bound: not reached)" if row.lower_is_bound else "")
    high = f"{row.upper:.4g}" + (" (its bound: not reached)" if row.upper_is_bound else "")
    return f"{level:.0%} interval {low} to {high}"


def _footer(table, directions, criteria, sigma, folds, reference, level, petab, note, missed, rna) -> str:
    lines = [f"NLL {criteria['nll']:.3f}, AIC {criteria['aic']:.2f}, BIC {criteria['bic']:.2f} "
             f"({criteria['n_data']} points, {criteria['n_estimated']} estimated); response SD {sigma:.3g}"]
    if note:
        lines.append(f"data: {note}")
    if missed > 1e-6:
        lines.append(f"warning: a profile found a fit {missed:.3g} NLL below the best start; the intervals are "
                     f"measured from the starts' optimum: run with more starts (n_starts)")
    for names in confounded_sets(directions):
        lines.append(f"confounded: {', '.join(names)} (a flat direction: the data do not pin them one by one)")
    for row in directions[directions["kind"] == "determined"].itertuples():
        if "," in row.parameters:
            lines.append(f"determined: {row.combination} = {row.estimate:.4g} ({level:.0%} Wald: "
                         f"{row.lower:.4g}-{row.upper:.4g})")
    for row in folds.itertuples():
        if row.condition != reference:
            lines.append(f"IC50 fold {row.condition} / {reference}: {row.ic50_fold:.3g} "
                         f"(band {row.ic50_fold_low:.3g}-{row.ic50_fold_high:.3g})")
    for row in table.itertuples():
        if row.identifiability == "flat":
            lines.append(f"{row.parameter}: not determined by the data (flat between its bounds {row.bound_low:g} "
                         f"and {row.bound_high:g}); its estimate {row.estimate:.4g} is one point of a ridge")
            continue
        words = _interval_words(row, level)
        if row.parameter in rna:
            lines.append(f"{row.parameter}: {row.estimate:.4g} copies/EV = {row.estimate_x_chevillet:.3g}x "
                         f"Chevillet 2014's miRNA average ({words})")
        elif row.parameter.endswith("_per_EV"):
            lines.append(f"{row.parameter}: {row.estimate:.4g} copies/EV ({words}); protein cargo: no published "
                         f"copies-per-EV range to compare with")
    first = petab.reason.split(": ")[0]  # the reason's first clause; petab/README.txt has all of it
    lines.append("PEtab: written (petab/problem.yaml, linted)" if petab.mapped else
                 f"PEtab: not written ({first}; petab/README.txt says why)")
    return "\n".join(lines)


class Calibrate(Analysis):
    name = "calibrate"
    Settings = CalibrateSettings
    run_options = ("workers",)  # pyPESTO's process engine runs the starts in workers; no resume or scheduler

    def check(self, spec) -> None:
        settings, names = spec.settings, [c.name for c in spec.conditions]
        if not settings.data:
            raise ValueError("calibrate.data is required: the measured dose-response CSV (condition, dose, response"
                             "[, replicate]), relative to the spec")
        if not settings.parameters:
            raise ValueError("calibrate.parameters is required: at least one { name, low, high } to estimate")
        if not isinstance(settings.noise, str) and not (math.isfinite(settings.noise) and settings.noise > 0):
            raise ValueError(f"calibrate.noise must be 'estimate' or an SD > 0. Got {settings.noise!r}.")
        if settings.reference is not None:
            known_condition("calibrate.reference", settings.reference, names)
        no_condition_key(spec, "dose", "the data give the doses; remove 'dose'")

    def run(self, spec, model, folder: Path, options: RunOptions) -> ExperimentResult:
        settings = spec.settings
        path = data_path(spec)
        data = read_data(path, [c.name for c in spec.conditions], settings.control)  # before any simulation
        parameters = free_parameters(model, [p.model_dump() for p in settings.parameters])
        conditions = list(spec.conditions)
        objective = ProtocolObjective(model, conditions, data, parameters, settings.assay_time_h,
                                      settings.pretreatment_h, settings.noise)
        reference, level = _reference(spec), settings.level
        n_starts = min(settings.n_starts, QUICK_STARTS) if options.quick else settings.n_starts
        workers = options.workers or 1
        progress = not options.quiet
        objective.protocol  # compile once here, so that forked workers find the compiled engine
        problem = est.pypesto_problem(objective)
        result = est.multistart(problem, n_starts, spec.experiment.seed, workers, progress)
        starts = est.start_table(result, objective)
        if not np.isfinite(starts["nll"].iloc[0]):
            raise est_failed(starts)
        result = est.profiles(problem, result, objective, level, progress, coarse=options.quick)
        best = np.asarray(result.optimize_result.list[0].x, dtype=float)
        table = _implied(est.profile_table(result, objective, level), model)
        missed = est.better_than_best(result)
        paths = est.profile_paths(result, objective)
        sigma = objective.sigma(best)
        directions = flat_directions(objective, best, sigma, level)
        predicted = objective.predictions(best)
        fit = data.drop(columns="line").assign(predicted=predicted, residual=data["response"] - predicted)
        positive = data.loc[data["dose_uM"] > 0, "dose_uM"]
        doses = np.logspace(math.log10(positive.min()), math.log10(positive.max()), BAND_DOSES)
        sets = band_mod.admissible_sets(result, level)
        curves, ic50s = band_mod.band_curves(objective, sets, doses, reference)
        band, folds = band_mod.band_table(curves), band_mod.fold_table(ic50s)
        n_estimated = len(parameters) + (1 if objective.noise_estimated else 0)
        criteria = information_criteria(float(result.optimize_result.list[0].fval), len(data), n_estimated)
        petab = export_petab(model, conditions, data, settings.assay_time_h, settings.pretreatment_h,
                             [(p.name, p.low, p.high, p.scale) for p in parameters], settings.noise,
                             folder / "petab")
        title = f"{spec.experiment.name}: {model.preset.get('title', model.name)}"
        drug = next((c.drug for c in conditions if c.drug), None) or model.drug or ""
        files = [write_table(table, folder / "calibration.csv"), write_table(starts, folder / "starts.csv"),
                 write_table(paths, folder / "profiles.csv"), write_table(directions, folder / "directions.csv"),
                 write_table(fit, folder / "fit.csv"), write_table(band, folder / "bands.csv"),
                 write_table(folds, folder / "folds.csv"),
                 write_table(model.parameter_table(), folder / "parameters.csv"),
                 model.write_sbml(folder / "model.xml"),
                 write_figure(plot_waterfall(starts, title), folder / "waterfall.png"),
                 write_figure(plot_profiles(paths, table, level, title), folder / "profiles.png"),
                 write_figure(plot_fit(fit, predicted, band, drug, title), folder / "fit.png"),
                 write_figure(plot_folds(folds, reference, level, title), folder / "ic50_fold.png"),
                 *petab.files]
        files.append(write_metadata(folder, spec.model_dump(mode="json"), model, spec.experiment.seed, {
            "calibration": {**criteria, "sigma": sigma, "noise": settings.noise, "level": level,
                            "n_starts": n_starts, "workers": workers, "data_file": str(path),
                            "data_sha256": _sha256(path), "reference": reference,
                            "starts_at_best": int((starts["nll"] - starts["nll"].min() < 0.1).sum()),
                            "data_note": settings.data_note, "profile_below_best_nll": missed,
                            "held": {k: v for k, v in model.defaults.items()
                                     if k in ("ev_particles_per_ug", "ev_uptake_fraction_24h", "k_escape",
                                              "k_lysosome", "sec_nsmase2", "sec_escrt", "sec_asm")
                                     and k not in {p.name for p in parameters}},
                            "petab": {"mapped": petab.mapped, "reason": petab.reason},
                            "band": "confidence band of the mean curve, profile-wise (inner approximation): "
                                    "envelope over the best fit and the profile points inside the "
                                    f"{level:.0%} region ({len(sets)} parameter sets), without the noise SD"}}))
        summary = table[["parameter", "unit", "estimate", "lower", "upper", "identifiability"]].copy()
        summary.attrs["footer"] = _footer(table, directions, criteria, sigma, folds, reference, level, petab,
                                          settings.data_note, missed, _rna_per_ev(model))
        return ExperimentResult(folder, files, table, summary)


def est_failed(starts: pd.DataFrame) -> SimulationError:
    """The error when no start could be evaluated."""
    return SimulationError(f"No start of the calibration reached a finite likelihood ({len(starts)} starts; "
                           f"first message: {starts['message'].iloc[0]}).", "calibration_failed")


ANALYSIS = Calibrate()
