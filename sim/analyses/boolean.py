"""The ``analysis = "boolean"`` experiment: the logical model (models/boolean/cafev.bnet) under each condition.

Attractors under each condition, MaBoSS death probabilities over time and per dose, and the knockout x condition
outcome table, through the logical assay of :mod:`sim.boolean_assay`. Its ``[boolean]`` table has ``assay_time_h``,
``dose`` (default: the drug's reference IC50), ``samples`` (MaBoSS trajectories) and ``knockouts`` (rows of the
knockout x condition table); it writes attractors.csv, outcomes.csv, outcomes_wide.csv, probabilities.csv/png,
dose_response.csv/png and metadata.json.
"""
from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sim.analyses.base import Analysis, ExperimentResult, RunOptions
from sim.boolean.conditions import condition_settings, network_path
from sim.boolean.rates import DRUG_GAIN
from sim.boolean_assay import (boolean_dose_response, cafev_network, condition_attractors,
                               death_probability, outcome_table)
from sim.curves import dose_grid
from sim.plots import condition_colours, pyplot
from sim.results import write_figure, write_metadata, write_table


def plot_probabilities(trajectories: dict, nodes=("Death", "Apoptosis", "Ferroptosis"), title: str | None = None):
    """Probability of each node being on over the assay, one panel per node, one line per condition."""
    plt = pyplot()
    colours = condition_colours(trajectories)
    fig, axes = plt.subplots(1, len(nodes), figsize=(4.2 * len(nodes) + 2.5, 3.8), squeeze=False)
    styles = ("-", "--", "-.", ":")  # overlapping curves (e.g. all-zero ones) stay visible
    for ax, node in zip(axes[0], nodes):
        for i, (name, traj) in enumerate(trajectories.items()):
            if node in traj:
                ax.plot(traj.index, traj[node], color=colours[name], lw=1.8, ls=styles[i % 4], label=name)
        ax.set_xlabel("time since drug addition (h)")
        ax.set_ylabel(f"P({node} on) (fraction of cells)")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 0.9), fontsize=8, frameon=False)
    return fig


def plot_death_curves(curves: pd.DataFrame, drug: str, title: str | None = None):
    """MaBoSS death probability after the assay against dose (log axis), one line per condition."""
    plt = pyplot()
    colours = condition_colours(curves["condition"])
    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    for i, (name, sub) in enumerate(curves.groupby("condition", sort=False)):
        d50 = sub["death50_uM"].iloc[0]
        label = (f"{name}: < 50% death" if not math.isfinite(d50) else
                 f"{name}: >= 50% death at the lowest dose" if d50 == 0 else f"{name}: 50% death at {d50:.3g} µM")
        ax.plot(sub["dose_uM"], sub["death_probability"], "o", ls=("-", "--", "-.", ":")[i % 4],
                color=colours[name], label=label)
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel(f"{drug} dose (µM)")
    ax.set_ylabel("P(Death) after the assay (fraction of cells)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


class BooleanSettings(BaseModel):
    """The ``[boolean]`` table: MaBoSS settings and the knockouts of the knockout x condition table."""

    model_config = ConfigDict(extra="forbid")
    assay_time_h: float = Field(default=72.0, gt=0, allow_inf_nan=False)
    dose: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    samples: int = Field(default=4000, ge=100, le=1_000_000)
    knockouts: list[str] = Field(default_factory=list)

    @field_validator("knockouts")
    @classmethod
    def _unique_knockouts(cls, v: list[str]) -> list[str]:
        dupes = sorted({k for k in v if v.count(k) > 1})
        if dupes:
            raise ValueError(f"knockouts must be unique; repeated: {', '.join(dupes)}")
        return v


class BooleanAnalysis(Analysis):
    """The logical model under each condition (see the module docstring)."""

    name = "boolean"
    Settings = BooleanSettings

    def run(self, spec, model, folder: Path, options: RunOptions) -> ExperimentResult:
        """Attractors, MaBoSS trajectories, knockout x condition outcomes, death curves and metadata."""
        quick, settings = options.quick, spec.boolean
        network = cafev_network()
        scenario = spec.experiment.scenario
        samples = min(settings.samples, 500) if quick else settings.samples
        for cond in spec.conditions:  # every name checked before any run
            condition_settings(cond, network, scenario)
            for ko in settings.knockouts:
                condition_settings(cond.model_copy(update={"knockouts": [ko]}), network, scenario)
        seed = spec.experiment.seed
        attractor_tables, trajectories, summary = [], {}, []
        for cond in spec.conditions:
            attractor_tables.append(condition_attractors(network, scenario, cond))
            p, traj = death_probability(network, scenario, cond, settings.dose, settings.assay_time_h, samples, seed,
                                        trajectories=True)
            trajectories[cond.name] = traj
            summary.append({"condition": cond.name, "death_probability": p,
                            "attractor_outcome": "/".join(sorted(set(attractor_tables[-1]["outcome"])))})
        outcomes = outcome_table(network, scenario, spec.conditions, settings.knockouts, samples, seed,
                                 settings.assay_time_h)
        wide = outcomes.pivot(index="knockout", columns="condition", values="death_probability")
        wide = wide.reindex(index=["none", *settings.knockouts], columns=[c.name for c in spec.conditions])
        title = f"{spec.experiment.name}: {model.preset.get('title', model.name)} (Boolean, MaBoSS)"
        drug = next((c.drug for c in spec.conditions if c.drug), None) or model.drug
        doses = dose_grid(drug, 5 if quick else 9)
        curves = []
        for cond in spec.conditions:
            probs, d50 = boolean_dose_response(network, scenario, cond, doses, max(200, samples // 4), seed,
                                               settings.assay_time_h)
            curves += [{"condition": cond.name, "dose_uM": d, "death_probability": p, "death50_uM": d50}
                       for d, p in zip(doses, probs)]
        curves = pd.DataFrame(curves)
        probabilities = pd.concat({k: v for k, v in trajectories.items()}, names=["condition"]).reset_index()
        files = [write_table(pd.concat(attractor_tables, ignore_index=True), folder / "attractors.csv"),
                 write_table(outcomes, folder / "outcomes.csv"),
                 write_table(wide.reset_index(), folder / "outcomes_wide.csv"),
                 write_table(probabilities, folder / "probabilities.csv"),
                 write_figure(plot_probabilities(trajectories, title=title), folder / "probabilities.png"),
                 write_table(curves, folder / "dose_response.csv"),
                 write_figure(plot_death_curves(curves, drug, title), folder / "dose_response.png")]
        files.append(write_metadata(folder, spec.model_dump(mode="json"), model, seed,
                                    {"quick": quick, "boolean_network": str(network_path()),
                                     "boolean_network_sha256": hashlib.sha256(network_path().read_bytes()).hexdigest(),
                                     "samples": samples,
                                     "drug_gain_per_h": DRUG_GAIN, "rates": "models/boolean/rates.tsv"}))
        summary = pd.DataFrame(summary)
        return ExperimentResult(folder, files, outcomes, summary)


ANALYSIS = BooleanAnalysis()
