"""Run an experiment spec end to end: build the scenario, run its analysis, write tables, plots and provenance."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.analyses.timecourse import default_readouts, plot_timecourse, simulate
from sim.build import build_model
from sim.engines.ode import engine_for
from sim.results import RESULTS_DIR, write_figure, write_metadata, write_table
from sim.spec import ExperimentSpec, load_spec


@dataclass
class ExperimentResult:
    """What a run produced: its folder, the files written, the main table and a short summary table."""

    folder: Path
    files: list
    table: pd.DataFrame
    summary: pd.DataFrame


def summarise_timecourse(table: pd.DataFrame, model) -> pd.DataFrame:
    """One row per condition at the last time point: key readouts and the miRNA delivery budget.

    ``max_delivered_copies`` is the largest number of copies of any one cargo that reached the cytosol per cell;
    ``threshold_copies`` is the functional threshold (competing sites per miRNA, mirna_background_sites).
    """
    last = table[table["time_h"] == table["time_h"].max()].set_index("condition")
    cols = [c for c in ("N_cancer", "PTEN", "pAKT", "pSTAT3", "LROS", "CASP3a") if c in last]
    summary = last[cols].copy()
    delivered = [c for c in last.columns if c.endswith("_delivered")]
    if delivered:
        summary["max_delivered_copies"] = last[delivered].max(axis=1)
        summary["threshold_copies"] = model.defaults.get("mirna_background_sites", float("nan"))
    summary.insert(0, "time_h", last["time_h"])
    return summary.reset_index()


def run_experiment(spec: ExperimentSpec | str | Path, out_dir: str | Path | None = None,
                   quick: bool = False) -> ExperimentResult:
    """Run a spec (object or TOML path) and write its results.

    Parameters
    ----------
    spec : ExperimentSpec or path
        The experiment.
    out_dir : path, optional
        Folder to write to (default ``results/<experiment name>``).
    quick : bool
        Fewer output points (13) for tests and smoke runs; same model and conditions.

    Returns
    -------
    ExperimentResult
    """
    if not isinstance(spec, ExperimentSpec):
        spec = load_spec(spec)
    model = build_model(spec.experiment.scenario)
    tc = spec.timecourse
    for cond in spec.conditions:  # every condition checked before any simulation
        cond.values(model)
    engine_for(model).check_selection(tc.readouts or default_readouts(model))
    folder = Path(out_dir) if out_dir else RESULTS_DIR / spec.experiment.name
    points = 13 if quick else tc.points
    table = simulate(model, spec.conditions, end_time=tc.end_time_h, points=points, readouts=tc.readouts,
                     pretreatment_h=tc.pretreatment_h)
    summary = summarise_timecourse(table, model)
    files = [write_table(table, folder / "timecourse.csv"),
             write_table(summary, folder / "summary.csv"),
             write_table(model.parameter_table(), folder / "parameters.csv"),
             model.write_sbml(folder / "model.xml")]
    fig = plot_timecourse(table, title=f"{spec.experiment.name}: {model.preset.get('title', model.name)}")
    files.append(write_figure(fig, folder / "timecourse.png"))
    files.append(write_metadata(folder, spec.model_dump(mode="json"), model, spec.experiment.seed,
                                {"quick": quick}))
    return ExperimentResult(folder, files, table, summary)
