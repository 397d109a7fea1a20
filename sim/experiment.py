"""Run an experiment spec end to end: build the scenario, check every condition, run its analysis.

What a run writes is the analysis's own (each module of :mod:`sim.analyses` documents its files); every run writes
its tables, plots, parameters.csv, model.xml and metadata.json (spec, model hash, package versions, seed) into
``results/<experiment name>`` or the folder given.
"""
from __future__ import annotations

from pathlib import Path

from sim.analyses import get_analysis, registry
from sim.analyses.base import ExperimentResult, RunOptions
from sim.build import build_model
from sim.errors import InvalidValueError
from sim.results import RESULTS_DIR
from sim.spec import ExperimentSpec, check_conditions, load_spec

__all__ = ["run_experiment", "ExperimentResult", "RunOptions"]


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
        Analyses that run points in worker processes (sweep, screen, a dose-response's [uncertainty]): worker
        processes (default all cores), keep finished points of an interrupted run, no progress bar, run on an
        existing Dask distributed scheduler (``tcp://host:port``). A calibration takes ``workers`` only (pyPESTO's
        process engine; default 1). ``quiet`` also silences other analyses' progress bars.

    Returns
    -------
    ExperimentResult

    Raises
    ------
    SpecError
        A spec that does not validate, or a condition whose names or values the model refuses (before any run).
    InvalidValueError
        ``workers``, ``resume`` or ``scheduler`` given for an analysis that does not run points in workers.
    """
    if not isinstance(spec, ExperimentSpec):
        spec = load_spec(spec)
    analysis = get_analysis(spec.experiment.analysis)
    given = {"workers": workers is not None, "resume": resume, "scheduler": scheduler}
    refused = [option for option, value in given.items() if value and not analysis.takes(option, spec)]
    if refused:
        takers = ", ".join([name for name, a in registry().items() if a.parallel] +
                           [f"{name} with [{a.parallel_with}]" for name, a in registry().items() if a.parallel_with] +
                           [name for name, a in registry().items() if set(refused) <= set(a.run_options)])
        without = f" without [{analysis.parallel_with}]" if analysis.parallel_with else ""
        raise InvalidValueError(f"{', '.join(refused)} apply to analyses that run points in worker processes "
                                f"({takers}); this experiment's analysis is '{analysis.name}'{without}.")
    model = build_model(spec.experiment.scenario)
    check_conditions(spec, model)  # every name of every condition, before any run
    folder = Path(out_dir) if out_dir else RESULTS_DIR / spec.experiment.name
    options = RunOptions(quick=quick, workers=workers, resume=resume, quiet=quiet, scheduler=scheduler)
    return analysis.run(spec, model, folder, options)
