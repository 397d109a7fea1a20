"""Run an experiment spec end to end: build the scenario, run its analysis, write tables, plots and provenance.

``analysis = "boolean"`` writes attractors.csv, outcomes.csv, probabilities.png (sim.analyses.boolean);
``analysis = "timecourse"`` writes timecourse.csv/summary.csv/timecourse.png; ``analysis = "dose_response"`` writes
dose_response.csv (one row per condition and dose), fits.csv (4PL and GR metrics per condition), shifts.csv (the
IC50/GR50 shift table; also the summary), dose_response.png, ic50_shift.png and, when an intervention is given at
several doses, reversal.csv/reversal.png. Every run also writes parameters.csv, model.xml and metadata.json.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.analyses.timecourse import default_readouts, plot_timecourse, simulate
from sim.budget import budget_part, delivery_budget, delivery_notes
from sim.build import build_model
from sim.engines.ode import engine_for
from sim.protocol import AssayProtocol
from sim.results import RESULTS_DIR, write_figure, write_metadata, write_table
from sim.spec import ExperimentSpec, check_conditions, load_spec


@dataclass
class ExperimentResult:
    """What a run produced: its folder, the files written, the main table and a short summary table."""

    folder: Path
    files: list
    table: pd.DataFrame
    summary: pd.DataFrame


def summarise_timecourse(table: pd.DataFrame, budget: dict | None = None) -> pd.DataFrame:
    """One row per condition at the last time point: key readouts, then the condition's delivery budget there
    (``budget``: condition -> :func:`sim.budget.delivery_budget`; per cargo, copies delivered per cell, Ago-loaded
    copies and the target's repression)."""
    last = table.groupby("condition", sort=False).tail(1).set_index("condition")  # each condition's own end
    cols = [c for c in ("N_cancer", "PTEN", "pAKT", "pSTAT3", "LROS", "CASP3a") if c in last]
    summary = last[cols].copy()
    summary.insert(0, "time_h", last["time_h"])
    summary = summary.reset_index()
    if budget:
        extra = pd.DataFrame([{"condition": name, **values} for name, values in budget.items()])
        summary = summary.merge(extra, on="condition", how="left")
    return summary


def run_experiment(spec: ExperimentSpec | str | Path, out_dir: str | Path | None = None,
                   quick: bool = False, workers: int | None = None, resume: bool = False,
                   quiet: bool = False, scheduler: str | None = None) -> ExperimentResult:
    """Run a spec (object or TOML path) and write its results.

    Parameters
    ----------
    spec : ExperimentSpec or path
        The experiment.
    out_dir : path, optional
        Folder to write to (default ``results/<experiment name>``).
    quick : bool
        Fewer output points, doses or design points for tests and smoke runs; same model and conditions.
    workers, resume, quiet, scheduler
        Sweeps and screens only: worker processes (default all cores), keep finished points of an interrupted run, no progress
        bar, run on an existing Dask distributed scheduler (``tcp://host:port``).

    Returns
    -------
    ExperimentResult
    """
    if not isinstance(spec, ExperimentSpec):
        spec = load_spec(spec)
    model = build_model(spec.experiment.scenario)
    check_conditions(spec, model)  # every name of every condition, before any run
    folder = Path(out_dir) if out_dir else RESULTS_DIR / spec.experiment.name
    if spec.experiment.analysis == "dose_response":
        return _run_dose_response(spec, model, folder, quick)
    if spec.experiment.analysis == "sweep":
        from sim.analyses.sweep import run_sweep_experiment

        return ExperimentResult(*run_sweep_experiment(spec, model, folder, quick, workers, resume, quiet, scheduler))
    if spec.experiment.analysis == "screen":
        from sim.analyses.screen import run_screen_experiment

        return ExperimentResult(*run_screen_experiment(spec, model, folder, quick, workers, resume, quiet, scheduler))
    if spec.experiment.analysis == "boolean":
        from sim.analyses.boolean import run_boolean_experiment

        return ExperimentResult(*run_boolean_experiment(spec, model, folder, quick))
    tc = spec.timecourse
    for cond in spec.conditions:  # every condition checked before any simulation
        cond.values(model)
    engine_for(model).check_selection(tc.readouts or default_readouts(model))
    points = 13 if quick else tc.points
    table = simulate(model, spec.conditions, end_time=tc.end_time_h, points=points, readouts=tc.readouts,
                     pretreatment_h=tc.pretreatment_h)
    protocol = AssayProtocol(engine_for(model), tc.pretreatment_h)
    budget = {cond.name: delivery_budget(protocol, cond.values(model), at_h=cond.assay_time_h or tc.end_time_h)
              for cond in spec.conditions}  # at each condition's last time point, as the summary's other columns
    summary = summarise_timecourse(table, budget)
    summary.attrs["footer"] = "\n".join(delivery_notes(model, spec.conditions))
    files = [write_table(table, folder / "timecourse.csv"),
             write_table(summary, folder / "summary.csv"),
             write_table(model.parameter_table(), folder / "parameters.csv"),
             model.write_sbml(folder / "model.xml")]
    fig = plot_timecourse(table, title=f"{spec.experiment.name}: {model.preset.get('title', model.name)}")
    files.append(write_figure(fig, folder / "timecourse.png"))
    files.append(write_metadata(folder, spec.model_dump(mode="json"), model, spec.experiment.seed,
                                {"quick": quick, "delivery_budget": budget,
                                 "delivery_notes": summary.attrs["footer"].splitlines()}))
    return ExperimentResult(folder, files, table, summary)


def _run_dose_response(spec: ExperimentSpec, model, folder: Path, quick: bool) -> ExperimentResult:
    """The dose-response analysis of a spec: curves, fits, shift table, plots (``quick``: 6 doses)."""
    from sim.analyses.dose_response import (default_references, dose_grid, fit_curves, intervention_alone,
                                            reversal_curves, run_dose_response, shift_table)
    from sim.plots import plot_dose_response, plot_reversal, plot_shift_bars

    dr = spec.dose_response
    control, refs = default_references(spec.conditions, dr.control)  # names checked before any run
    refs.update(dr.references)
    for cond in spec.conditions:  # every name of every condition, before any run
        cond.values(model)
    added, alone = intervention_alone(spec.conditions)  # each intervention also without EVs (EV-specific reversal)
    conditions = list(spec.conditions) + added
    drug = next((c.drug for c in spec.conditions if c.drug), None) or model.drug
    doses = dr.doses or dose_grid(drug, 6 if quick else dr.n_doses, dr.min_dose, dr.max_dose)
    if quick and dr.doses:
        doses = dr.doses[:: max(1, len(dr.doses) // 6)]
    progress = _progress(len(conditions))
    table = run_dose_response(model, conditions, doses=doses, assay_h=dr.assay_time_h,
                              pretreatment_h=dr.pretreatment_h, species=dr.species, progress=progress.update)
    progress.close()
    fits = fit_curves(table)
    shifts = shift_table(fits, control, refs, alone=alone)
    title = f"{spec.experiment.name}: {model.preset.get('title', model.name)}"
    files = [write_table(table, folder / "dose_response.csv"), write_table(fits, folder / "fits.csv"),
             write_table(shifts, folder / "shifts.csv"),
             write_table(model.parameter_table(), folder / "parameters.csv"), model.write_sbml(folder / "model.xml"),
             write_figure(plot_dose_response(table, fits, drug, title), folder / "dose_response.png"),
             write_figure(plot_shift_bars(shifts, control, title), folder / "ic50_shift.png")]
    curves = reversal_curves(conditions, shifts)
    if len(curves):
        files += [write_table(curves, folder / "reversal.csv"),
                  write_figure(plot_reversal(curves, title), folder / "reversal.png")]
    budget = {row["condition"]: budget_part(row) for _, row in shifts.iterrows()}
    notes = delivery_notes(model, conditions)
    files.append(write_metadata(folder, spec.model_dump(mode="json"), model, spec.experiment.seed,
                                {"quick": quick, "doses_uM": [float(d) for d in doses], "control": control,
                                 "references": refs, "alone": alone, "added_conditions": [c.name for c in added],
                                 "delivery_budget": budget, "delivery_notes": notes}))
    summary = shifts[["condition", "ic50_report", "ic50_fold", "ic50_fold_lower", "ic50_fold_upper", "gr50_fold",
                      "fraction_reversed", "fraction_reversed_specific", "status"]].copy()
    summary.attrs["footer"] = "\n".join(notes)
    return ExperimentResult(folder, files, table, summary)


class _progress:
    """A tqdm bar over conditions on a terminal, silent otherwise."""

    def __init__(self, total: int):
        import sys

        from tqdm import tqdm

        self.bar = tqdm(total=total, desc="conditions", unit="cond", disable=not sys.stderr.isatty(), leave=False)

    def update(self, name: str) -> None:
        self.bar.set_postfix_str(name[:30])
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
