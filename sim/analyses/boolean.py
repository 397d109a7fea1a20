"""Boolean analyses of a scenario: attractors under each condition, MaBoSS death probabilities, dose-response,
knockout x condition outcome tables and the agreement with the ODE model.

Protocol (the logical counterpart of :mod:`sim.protocol`): the cell starts in the drug-free steady state of its
condition (EVs, cargo and interventions already acting), then the drug is switched on. In MaBoSS the drug enters as
the up-rate of ``Drug_in`` (``DRUG_GAIN`` x dose / the drug's reference IC50, per h; down-rate 1/h also
while the drug is present, so the fraction of time the drug is active is graded in dose) and death as slow commitment
rates of ``Apoptosis`` and ``Ferroptosis`` (``DEATH_RATE``), so the probability of ``Death`` after the assay time
is graded in dose. A condition's partial effects are a weighted mixture of settings (:mod:`sim.boolean.conditions`).

As an experiment (``analysis = "boolean"``) its ``[boolean]`` table has ``assay_time_h``, ``dose`` (default: the
drug's reference IC50), ``samples`` (MaBoSS trajectories) and ``knockouts`` (rows of the knockout x condition table);
it writes attractors.csv, outcomes.csv, outcomes_wide.csv, probabilities.csv/png, dose_response.csv/png and
metadata.json.
"""
from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sim.analyses.base import Analysis, ExperimentResult, RunOptions

from sim.boolean.conditions import condition_settings, network_path
from sim.boolean.network import BooleanNetwork, load_bnet
from sim.catalogue import load_catalogue
from sim.curves import dose_grid
from sim.engines import engine_for
from sim.engines.boolean import aeon_network, attractor_table
from sim.errors import SimulationError
from sim.plots import condition_colours, pyplot
from sim.results import write_figure, write_metadata, write_table

DEATH_RATE = 0.035  # 1/h: commitment of an active caspase-9 or lipid-ROS state to death
DRUG_GAIN = 0.35  # Drug_in up-rate per (dose / reference IC50), 1/h. With DEATH_RATE: no-EV death probability ~0.5
# at the reference IC50 after 72 h (the ODE calibration point, drugs.tsv ic50_ref_uM) and near 1 at 100x it
OUTCOME_NODES = ("Death", "Apoptosis", "Ferroptosis", "AKT", "STAT3", "LipidROS", "CASP9")


def cafev_network() -> BooleanNetwork:
    """The CAF-EV logical model (models/boolean/cafev.bnet)."""
    return load_bnet(network_path())


def steady_state(network: BooleanNetwork, fixed: dict, max_steps: int = 500) -> dict:
    """Drug-free starting state: synchronous updates from all-off (inputs as ``fixed``) until nothing changes.

    Raises
    ------
    SimulationError
        The updates cycle instead of settling (no unique drug-free steady state).
    """
    state = np.array([[bool(fixed.get(n, 0)) for n in network.nodes]])
    net = network.fixed(fixed)
    for _ in range(max_steps):
        nxt = net.step_all(state)
        if np.array_equal(nxt, state):
            return {n: int(v) for n, v in zip(network.nodes, state[0])}
        state = nxt
    raise SimulationError(f"The drug-free state of network '{network.name}' under {fixed} does not settle.")


def _rates(network: BooleanNetwork, dose: float, reference_ic50: float) -> dict:
    """MaBoSS node rates of the drug phase (1/h), as engine values (:class:`sim.engines.maboss.MaBoSSEngine`)."""
    # Drug_in on/off balance while the drug is present: P(on) = r / (1 + r)
    rates = {"Drug_in.up": DRUG_GAIN * dose / reference_ic50, "Drug_in.down": 1.0, "Drug_in.down_on": 1.0}
    for node in ("Apoptosis", "Ferroptosis"):
        if node in network.rules:
            rates.update({f"{node}.up": DEATH_RATE, f"{node}.down": 1.0})
    return rates


TIME_WINDOWS = 36  # MaBoSS trajectories: the assay in 36 windows


def death_probability(network, scenario: str, condition, dose: float | None = None, assay_h: float = 72.0,
                      samples: int = 4000, seed: int = 0, trajectories: bool = False):
    """Probability that a cell has died after ``assay_h`` of drug, averaged over the condition's mixture.

    ``dose`` defaults to the drug's reference IC50 (drugs.tsv). With ``trajectories`` returns (probability, table of
    node probabilities over time averaged over the mixture).
    """
    cat = load_catalogue()
    drug = cat.drug(condition.drug or cat.scenario(scenario)["drug"])
    dose = drug["ic50_ref_uM"] if dose is None else dose
    total, traj = 0.0, None
    for setting in condition_settings(condition, network, scenario):
        start = steady_state(network, {**setting.fixed, "Drug": 0})
        start.update(setting.fixed)  # the drug and the fixed nodes from t = 0
        net = network.fixed({k: v for k, v in setting.fixed.items() if k not in network.inputs})
        course = engine_for(net, "maboss", samples=samples, seed=seed).run(
            _rates(network, dose, drug["ic50_ref_uM"]), assay_h, TIME_WINDOWS + 1, None, start)
        total += setting.weight * course["Death"].iloc[-1]
        if trajectories:
            windows = course.iloc[:-1].set_index("time").rename_axis("time_h")
            part = windows[[n for n in OUTCOME_NODES if n in windows]] * setting.weight
            traj = part if traj is None else traj.add(part, fill_value=0.0)
    return (float(total), traj) if trajectories else float(total)


def condition_attractors(network, scenario: str, condition) -> pd.DataFrame:
    """Asynchronous attractors reached from the drug-on start of the condition's main setting (effective
    interventions), with the condition name; ``Death`` = 0 rows are survival attractors."""
    import biodivine_aeon as ba

    settings = condition_settings(condition, network, scenario)
    main = settings[-1]  # the mixture's last setting: every intervention and knockdown effective
    start = steady_state(network, {**main.fixed, "Drug": 0})
    start.update(main.fixed)
    net = network.fixed({k: v for k, v in main.fixed.items()})
    graph = ba.AsynchronousGraph(aeon_network(net))
    reach = ba.Reachability.reach_fwd(graph, graph.mk_subspace({n: bool(v) for n, v in start.items()}))
    patterns = [(a.vertices().cardinality(), dict(a.vertices().enclosing_named_subspace()))
                for a in ba.Attractors.attractors(graph, reach)]
    table = attractor_table(network, patterns, "async")
    table.insert(0, "condition", condition.name)
    table.insert(4, "outcome", np.where(table["Death"] == "1", "death", "survival"))
    return table


def outcome_table(network, scenario: str, conditions, knockouts=(), samples: int = 4000, seed: int = 0,
                  assay_h: float = 72.0) -> pd.DataFrame:
    """Death probability at the reference dose for every condition x knockout (``"none"`` = wild type)."""
    rows = []
    for ko in ("none", *knockouts):
        for cond in conditions:
            c = cond if ko == "none" else cond.model_copy(update={"knockouts": [*cond.knockouts, ko]})
            p = death_probability(network, scenario, c, assay_h=assay_h, samples=samples, seed=seed)
            rows.append({"knockout": ko, "condition": cond.name, "death_probability": p})
    return pd.DataFrame(rows)


def boolean_dose_response(network, scenario: str, condition, doses, samples: int = 2000, seed: int = 0,
                          assay_h: float = 72.0):
    """Death probability at each dose (uM) and the dose where it reaches 0.5 (log-interpolated).

    The 50%-death dose is NaN when death stays below 0.5 at every dose and 0 when it is already >= 0.5 at the
    lowest dose (below the range).
    """
    probs = np.array([death_probability(network, scenario, condition, d, assay_h, samples, seed) for d in doses])
    above = np.nonzero(probs >= 0.5)[0]
    if not len(above):
        return probs, math.nan
    if above[0] == 0:
        return probs, 0.0
    i = above[0]
    lx = np.log10([doses[i - 1], doses[i]])
    frac = (0.5 - probs[i - 1]) / (probs[i] - probs[i - 1])
    return probs, float(10 ** (lx[0] + frac * (lx[1] - lx[0])))


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
                                     "death_rate_per_h": DEATH_RATE}))
        summary = pd.DataFrame(summary)
        return ExperimentResult(folder, files, outcomes, summary)


ANALYSIS = BooleanAnalysis()
