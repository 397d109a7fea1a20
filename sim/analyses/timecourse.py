"""Time courses of a scenario under named conditions, as one tidy table, and their plot.

The table has one row per (condition, time) with the condition's name, its settings in named columns, and one
column per readout. Readout units: N_cancer cells/mL; PTEN, GSH, LROS relative (1 = basal, unrepressed for PTEN);
pAKT, CASP3a fractions; pSTAT3 relative to total STAT3; <miRNA>_RISC Ago-loaded free copies/cell; *_delivered
copies/cell that reached the cytosol (cumulative, diluted by division); EV_med EV/mL; EV_internalised cumulative EVs
taken up by the cancer cells per mL of medium.

As an experiment (``analysis = "timecourse"``) its table is (all optional)::

    [timecourse]
    end_time_h = 72                       # h after the drug
    points = 73
    readouts = ["PTEN", "pAKT"]           # default: :func:`default_readouts`
    pretreatment_h = 0                    # EVs and interventions before the drug, shown at negative times

and it writes timecourse.csv, summary.csv (each condition at its last time point, with its delivery budget),
timecourse.png, parameters.csv, model.xml and metadata.json.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sim.analyses.base import Analysis, ExperimentResult, RunOptions
from sim.budget import delivery_budget, delivery_notes
from sim.catalogue import load_catalogue, model_id, unit_of
from sim.conditions import Condition, condition_list
from sim.engines import engine_for
from sim.errors import InvalidValueError, UnknownNameError
from sim.plots import pyplot
from sim.protocol import AssayProtocol
from sim.results import write_figure, write_metadata, write_table

CORE_READOUTS = ("N_cancer", "PTEN", "pAKT", "pSTAT3", "LROS", "GSH", "CASP3a", "drug_in", "EV_med",
                 "EV_internalised")



def default_readouts(model) -> list[str]:
    """Core readouts plus, per miRNA, its Ago-loaded free copies and, per delivered cargo, the copies delivered per
    cell."""
    extra = [f"{m}_RISC" for m in model.mirnas.values()]
    extra += [f"{model_id(it.cargo)}_delivered" for it in model.interactions if it.delivered]
    return list(CORE_READOUTS) + list(dict.fromkeys(extra))


def simulate(model, conditions: Sequence[Condition] | Condition, end_time: float = 72.0, points: int = 73,
             readouts: Sequence[str] | None = None, pretreatment_h: float = 0.0, engine=None) -> pd.DataFrame:
    """Simulate ``model`` under each condition through the assay protocol and return one tidy table.

    Cells start at their untreated steady state (:mod:`sim.protocol`); with ``pretreatment_h`` > 0 the EV and
    intervention pretreatment is included at negative times (from ``-pretreatment_h`` to 0) and the drug is added
    at time 0, when the population is re-seeded.

    Parameters
    ----------
    model : BuiltModel
        From :func:`sim.build.build_model`.
    conditions : Condition or sequence of Condition
        Named conditions; names must be unique.
    end_time : float
        Assay time in h (> 0); a condition's own ``assay_time_h`` takes precedence.
    points : int
        Output time points per condition.
    readouts : sequence of str, optional
        Species or parameters to report (default :func:`default_readouts`).
    pretreatment_h : float
        EV/intervention exposure before the drug, in h.
    engine : OdeEngine, optional
        The compiled model to run (default :func:`sim.engines.engine_for`, cafev's tolerances).

    Returns
    -------
    pandas.DataFrame
        Columns: condition, drug, dose_uM, ev_mode, time_h, then one column per readout.
    """
    conditions = condition_list(conditions)
    cat = load_catalogue()
    engine = engine or engine_for(model)
    readouts = engine.check_selection(list(readouts or default_readouts(model)))
    values = [c.values(model, cat) for c in conditions]  # validate everything before any run
    protocol = AssayProtocol(engine, pretreatment_h)
    frames = []
    for cond, vals in zip(conditions, values):
        df = protocol.run(vals, cond.assay_time_h or end_time, points, readouts)
        before = protocol.pretreatment_course(vals, max(2, points // 2), readouts)
        if before is not None:
            df = pd.concat([before.iloc[:-1], df], ignore_index=True)
        df = df.rename(columns={"time": "time_h"})
        df.insert(0, "condition", cond.name)
        df.insert(1, "drug", cond.drug or model.drug or "")
        df.insert(2, "dose_uM", cond.dose)
        df.insert(3, "ev_mode", cond.ev_mode)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def plot_timecourse(table: pd.DataFrame, readouts: Sequence[str] | None = None, ax=None, title: str | None = None):
    """Plot readouts against time, one line per condition, with units on the axes.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`simulate`.
    readouts : sequence of str, optional
        Columns to plot (default: all readout columns).
    ax : matplotlib Axes, optional
        Draw a single readout on this axis; otherwise a new figure with one panel per readout is made.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = pyplot()
    fixed = {"condition", "drug", "dose_uM", "ev_mode", "time_h"}
    readouts = list(readouts or [c for c in table.columns if c not in fixed])
    missing = [r for r in readouts if r not in table.columns]
    if missing:
        raise UnknownNameError("readout", missing[0], [c for c in table.columns if c not in fixed])
    conditions = list(dict.fromkeys(table["condition"]))
    colours = {c: plt.cm.tab10(i % 10) for i, c in enumerate(conditions)}
    styles = {c: ("-", "--", "-.", ":")[i % 4] for i, c in enumerate(conditions)}  # overlapping lines stay visible
    if ax is not None:
        if len(readouts) != 1:
            raise InvalidValueError(f"With 'ax' given, plot exactly one readout. Got {len(readouts)}.")
        axes, fig = [ax], ax.figure
    else:
        ncol = min(3, len(readouts))
        nrow = -(-len(readouts) // ncol)
        fig, grid = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), squeeze=False)
        axes = list(grid.ravel())
        for extra in axes[len(readouts):]:
            extra.set_visible(False)
    for a, r in zip(axes, readouts):
        for c in conditions:
            sub = table[table["condition"] == c]
            a.plot(sub["time_h"], sub[r], label=c, color=colours[c], ls=styles[c], lw=1.8,
                   zorder=len(conditions) - conditions.index(c))
        positive = table[r][table[r] > 0]
        if unit_of(r).startswith(("EV", "copies")) and len(positive) and positive.max() / positive.min() > 1e3:
            a.set_yscale("log")  # EV and copy numbers span decades between co-culture and EV addition
            a.set_ylim(bottom=positive.max() * 1e-5)
        a.set_xlabel("time since drug addition (h)")
        if table["time_h"].min() < 0:
            a.axvline(0, color="grey", lw=0.8, ls=":")
        a.set_ylabel(f"{r} ({unit_of(r)})")
        a.grid(alpha=0.3)
    axes[0].legend(fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


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


class TimecourseSettings(BaseModel):
    """The ``[timecourse]`` table."""

    model_config = ConfigDict(extra="forbid")
    end_time_h: float = 72.0
    points: int = Field(default=73, ge=2, le=100000)
    readouts: list[str] | None = None
    pretreatment_h: float = Field(default=0.0, ge=0, allow_inf_nan=False)

    @field_validator("end_time_h")
    @classmethod
    def _positive(cls, v: float) -> float:
        if not math.isfinite(v) or v <= 0:
            raise ValueError(f"must be a finite number of hours > 0. Got {v:g}.")
        return v


class TimecourseAnalysis(Analysis):
    """Time courses of every condition (see the module docstring)."""

    name = "timecourse"
    Settings = TimecourseSettings

    def run(self, spec, model, folder: Path, options: RunOptions) -> ExperimentResult:
        """The time courses, their summary and plot (``quick``: 13 points)."""
        tc = spec.timecourse
        engine = engine_for(model)
        engine.check_selection(tc.readouts or default_readouts(model))  # did-you-mean before any run
        table = simulate(model, spec.conditions, end_time=tc.end_time_h, points=13 if options.quick else tc.points,
                         readouts=tc.readouts, pretreatment_h=tc.pretreatment_h)
        protocol = AssayProtocol(engine, tc.pretreatment_h)
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
                                    {"quick": options.quick, "delivery_budget": budget,
                                     "delivery_notes": summary.attrs["footer"].splitlines()}))
        return ExperimentResult(folder, files, table, summary)


ANALYSIS = TimecourseAnalysis()
