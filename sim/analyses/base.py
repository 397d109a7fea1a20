"""The analysis contract: what one kind of experiment (``[experiment] analysis = "..."``) provides.

An analysis is one module of :mod:`sim.analyses` that defines ``ANALYSIS``, an instance of a subclass of
:class:`Analysis` with

- ``name``: the value of ``analysis`` in a spec, and the name of the spec's table of settings (``[<name>]``);
- ``Settings``: the pydantic model of that table (every key optional, with its default);
- ``options`` (optional): further tables the analysis accepts, by name, each absent by default (``None``), e.g. a
  dose-response's ``[uncertainty]``;
- ``check(spec)``: checks across the table and the conditions (condition names, settings a condition must not
  set), raising ValueError; run while the spec is validated, so a bad spec fails before any work;
- ``run(spec, model, folder, options)``: the runs, tables, plots and provenance; returns an
  :class:`ExperimentResult`.

:func:`sim.analyses.registry` finds every such module; the spec (:mod:`sim.spec`) is the union of one model per
analysis, discriminated by ``analysis``, and :func:`sim.experiment.run_experiment` calls the analysis's ``run``.
Adding an analysis is adding its module, an experiment and its tests (the design of pysb's ``export`` formats).
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pandas as pd
from pydantic import BaseModel

from sim.errors import closest


@dataclass(frozen=True)
class RunOptions:
    """How to run, not what: ``quick`` (fewer points, doses or design points for smoke runs; same model and
    conditions) and, for analyses that run points in worker processes (``parallel``), ``workers``, ``resume`` (keep
    the finished points of an interrupted run), ``quiet`` (no progress bar) and ``scheduler`` (a Dask distributed
    scheduler address)."""

    quick: bool = False
    workers: int | None = None
    resume: bool = False
    quiet: bool = False
    scheduler: str | None = None

    def runner_kwargs(self) -> dict:
        """These options as :func:`sim.sweep.runner.run_sweep` takes them (workers default: every core)."""
        return {"workers": self.workers or os.cpu_count() or 1, "resume": self.resume,
                "progress": False if self.quiet else None, "scheduler": self.scheduler}


@dataclass
class ExperimentResult:
    """What a run produced: its folder, the files written, the main table and a short summary table (its
    ``attrs["footer"]``, if any, is printed under it)."""

    folder: Path
    files: list
    table: pd.DataFrame
    summary: pd.DataFrame


class Analysis(ABC):
    """One kind of experiment (see the module docstring)."""

    name: ClassVar[str]
    Settings: ClassVar[type[BaseModel]]
    parallel: ClassVar[bool] = False  # runs points in worker processes: takes workers, resume, scheduler
    options: ClassVar[dict[str, type[BaseModel]]] = {}  # optional tables besides [<name>], e.g. [uncertainty]
    parallel_with: ClassVar[str | None] = None  # the option whose table, when given, runs points in workers
    run_options: ClassVar[tuple[str, ...]] = ()  # run options taken without workers of the sweep runner (e.g.
    #                                              calibrate's --workers for pyPESTO's process engine)

    def in_workers(self, spec) -> bool:
        """Whether ``spec`` runs points in worker processes: always for a ``parallel`` analysis, else only when
        the spec has the ``parallel_with`` table (a dose-response's ``[uncertainty]`` sample)."""
        return self.parallel or (self.parallel_with is not None
                                 and getattr(spec, self.parallel_with, None) is not None)

    def takes(self, option: str, spec) -> bool:
        """Whether the run option ``workers``, ``resume`` or ``scheduler`` applies to ``spec``."""
        return self.in_workers(spec) or option in self.run_options

    def check(self, spec) -> None:
        """Checks across the analysis's table and the spec's conditions; ValueError naming the keys."""

    @abstractmethod
    def run(self, spec, model, folder: Path, options: RunOptions) -> ExperimentResult:
        """Run ``spec`` on the built ``model`` and write its results to ``folder``."""


def known_condition(label: str, name: str, names: list[str]) -> None:
    """ValueError (with a did-you-mean) unless ``name`` is one of the spec's condition names."""
    if name not in names:
        close = closest(name, names)
        hint = f" Did you mean '{close}'?" if close else ""
        raise ValueError(f"{label} names condition '{name}', which is not among the conditions "
                         f"({', '.join(names)}).{hint}")


def control_and_references(table: str, control: str | None, references: dict[str, str], names: list[str]) -> None:
    """``<table>.control`` and both sides of ``<table>.references`` name conditions of the spec; ValueError (with a
    did-you-mean) otherwise."""
    for label, name in [(f"{table}.control", control)] + [
            (f"{table}.references['{k}']", n) for k, n in references.items()] + [
            (f"{table}.references key", k) for k in references]:
        if name is not None:
            known_condition(label, name, names)


def condition_pair(table: str, condition: str | None, reference: str | None, names: list[str],
                   reference_required: bool, why: str) -> None:
    """``<table>.condition`` (required) and ``<table>.reference`` (required when ``reference_required``) name
    conditions of the spec and differ from each other; ValueError otherwise."""
    for label, name, required in ((f"{table}.condition", condition, True),
                                  (f"{table}.reference", reference, reference_required)):
        if name is None and required:
            raise ValueError(f"{label} is required: the name of one of the conditions ({', '.join(names)})")
        if name is not None:
            known_condition(label, name, names)
    if reference is not None and reference == condition:
        raise ValueError(f"{table}.condition and {table}.reference must differ: {why}")


def no_condition_key(spec, key: str, why: str) -> None:
    """ValueError if a condition of ``spec`` sets ``key`` (truthy), which the analysis sets itself: ``why``."""
    for c in spec.conditions:
        value = getattr(c, key)
        if value:
            shown = f" = {value:g}" if isinstance(value, float) else ""
            raise ValueError(f"condition '{c.name}' sets {key}{shown}, but {why}")
