"""The ``analysis = "combination"`` experiment: a dose matrix of two agents under one condition, scored for synergy.

Each agent is a drug of models/tables/drugs.tsv (the scenario's own, or ``"drug"`` for it; doses in uM) or an
intervention of models/tables/interventions.tsv (doses in its unit, e.g. LY294002 in uM); at most one is a drug (the
model has one drug in the medium). Every dose pair is run through the assay protocol of the dose-response analysis
(:mod:`sim.protocol`: steady cells, ``pretreatment_h`` of EVs and interventions, then the drug for ``assay_time_h``),
and the relative viability of a pair is its cancer cells at the assay end over those of the well with neither agent
(the condition alone), as a dose-response's viability is over its drug-free well. % inhibition = 100 (1 - viability)
is scored with Bliss, HSA, Loewe and ZIP (:mod:`sim.screen.matrix_synergy`, SynergyFinder's conventions; positive
delta = synergy, the score = mean delta over the combination cells). The spec's table::

    [combination]
    condition = "CAF co-culture 3:1"   # the condition the matrix runs under (default: the only one)
    agent1 = "gemcitabine"             # rows (default: the scenario's drug)
    doses1 = [0.01, 0.03, 0.1, 0.3]    # uM; 0 is always added; >= 3 doses > 0 (default: 4 around the reference IC50)
    agent2 = "LY294002"                # columns (required)
    doses2 = [2.5, 5, 10, 20]          # in its unit (default: its working dose x 1/8, 1/4, 1/2, 1)
    assay_time_h = 72
    pretreatment_h = 48

Writes matrix.csv (one row per dose pair: viability, inhibition_pct, expected_<model> and delta_<model> for the four
models, zip_fitted, loewe_fallback), scores.csv (one row per model: score and the most synergistic cell),
synergy.png (the four delta maps), inhibition.png (the observed matrix), parameters.csv, model.xml and metadata.json
(with the single agents' 4PL fits).
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from tqdm import tqdm

from sim.analyses.base import Analysis, ExperimentResult, RunOptions, known_condition, no_condition_key
from sim.budget import delivery_notes
from sim.catalogue import load_catalogue
from sim.conditions import Condition
from sim.engines import engine_for
from sim.errors import InvalidValueError, UnknownNameError
from sim.plots import pyplot
from sim.protocol import AssayProtocol
from sim.results import write_figure, write_metadata, write_table
from sim.screen.matrix_synergy import MIN_NONZERO_DOSES, MODELS, matrix_synergy

LABELS = {"bliss": "Bliss", "hsa": "HSA", "loewe": "Loewe", "zip": "ZIP"}
FALLBACK_NOTE = "* Loewe equation without a solution: SynergyFinder's fallback (the stronger agent at the total dose)"


class CombinationSettings(BaseModel):
    """The ``[combination]`` table: the condition, the two agents with their doses, and the assay protocol."""

    model_config = ConfigDict(extra="forbid")
    condition: str | None = None
    agent1: str | None = None
    doses1: list[float] | None = None
    agent2: str | None = None
    doses2: list[float] | None = None
    assay_time_h: float = Field(default=72.0, gt=0, allow_inf_nan=False)
    pretreatment_h: float = Field(default=48.0, ge=0, allow_inf_nan=False)


@dataclass(frozen=True)
class Agent:
    """One axis of the matrix: a drug (``kind = "drug"``, dose in uM) or an intervention (dose in its unit)."""

    kind: str
    id: str
    name: str
    unit: str
    default_doses: tuple

    def on(self, base: Condition, dose: float) -> Condition:
        """``base`` with this agent at ``dose`` (dose 0: the condition without it)."""
        if self.kind == "drug":
            return base.model_copy(update={"drug": self.id, "dose": float(dose)})
        interventions = {k: v for k, v in base.interventions.items() if k != self.id}
        if dose > 0:
            interventions[self.id] = float(dose)
        return base.model_copy(update={"interventions": interventions})


def resolve_agent(name: str | None, scenario: str, where: str) -> Agent:
    """The agent called ``name`` (a drug code or name, ``"drug"`` or None for the scenario's drug, or an
    intervention id or name).

    Raises
    ------
    UnknownNameError
        Neither a drug nor an intervention (with the closest name).
    InvalidValueError
        An intervention that acts on one named miRNA (an antagomir or sponge), or ``"drug"`` in a drug-free preset.
    """
    cat = load_catalogue()
    if name is None or name == "drug":
        code = cat.scenario(scenario).get("drug")
        if not code:
            raise InvalidValueError(f"{where}: scenario '{scenario}' has no drug (a radiotherapy preset?); name a drug "
                                    f"of drugs.tsv or an intervention.")
        name = code
    for code, row in cat.drugs.items():
        if name.lower() in (code.lower(), row["name"].lower()):
            ref = row["ic50_ref_uM"]
            return Agent("drug", code, row["name"], "uM", tuple(ref * np.geomspace(0.2, 10.0, 4)))
    try:
        row = cat.intervention(name)
    except UnknownNameError:
        valid = ["drug", *cat.drugs, *(r["name"] for r in cat.drugs.values()), *cat.interventions]
        raise UnknownNameError("agent", name, valid, where) from None
    if row["target"].startswith("mirna_"):
        raise InvalidValueError(f"{where}: intervention '{row['id']}' acts on one named miRNA, which a combination "
                                f"agent cannot name; set it in the condition instead.")
    if row["mechanism"] == "fraction":
        doses = (0.2, 0.4, 0.6, 0.8)
    else:
        doses = tuple(float(row["working_dose"]) * np.array([0.125, 0.25, 0.5, 1.0]))
    return Agent("intervention", row["id"], row["name"], row["unit"], doses)


def matrix_doses(agent: Agent, doses: list[float] | None, key: str) -> np.ndarray:
    """The sorted doses of one axis with 0 added (``doses`` or the agent's default).

    Raises
    ------
    InvalidValueError
        A negative or non-finite dose, or fewer than ``MIN_NONZERO_DOSES`` distinct doses > 0.
    """
    given = list(agent.default_doses if doses is None else doses)
    bad = [d for d in given if not math.isfinite(d) or d < 0]
    if bad:
        raise InvalidValueError(f"The '{key}' of agent '{agent.id}' must be >= 0 {agent.unit}. Got {bad[0]:g}.")
    nonzero = sorted({float(d) for d in given if d > 0})
    if agent.unit == "fraction" and nonzero and nonzero[-1] > 1:
        raise InvalidValueError(f"The '{key}' of agent '{agent.id}' are fractions knocked down, <= 1. Got "
                                f"{nonzero[-1]:g}.")
    if len(nonzero) < MIN_NONZERO_DOSES:
        raise InvalidValueError(f"The '{key}' of agent '{agent.id}' need >= {MIN_NONZERO_DOSES} distinct doses > 0 "
                                f"(a 4-parameter fit of the agent alone for Loewe and ZIP). Got {nonzero}.")
    return np.array([0.0, *nonzero])


def run_matrix(model, base: Condition, agent1: Agent, doses1, agent2: Agent, doses2, assay_h: float = 72.0,
               pretreatment_h: float = 48.0, progress=None) -> pd.DataFrame:
    """Cancer cells at the assay end and relative viability of every dose pair, through :class:`AssayProtocol`.

    Returns
    -------
    pandas.DataFrame
        One row per pair (agent 1 slowest): dose1, dose2, cells_end, viability (over the pair (0, 0)).
    """
    engine = engine_for(model)
    cat = load_catalogue()
    pairs = [(d1, d2) for d1 in doses1 for d2 in doses2]
    conditions = [agent2.on(agent1.on(base, d1), d2) for d1, d2 in pairs]
    values = [c.values(model, cat) for c in conditions]  # every name and value checked before any run
    protocol = AssayProtocol(engine, pretreatment_h)
    cells = []
    for cond, vals in zip(conditions, values):
        cells.append(float(protocol.endpoint(vals, assay_h, ["N_cancer"])[0]))
        if progress:
            progress()
    table = pd.DataFrame(pairs, columns=["dose1", "dose2"])
    table["cells_end"] = cells
    table["viability"] = table["cells_end"] / table["cells_end"].iloc[0]
    return table


def _intervention_ids(condition: Condition) -> set[str]:
    """The ids of a condition's interventions (names it does not know are left to the condition's own check)."""
    cat, ids = load_catalogue(), set()
    for key in condition.interventions:
        try:
            ids.add(cat.intervention(key)["id"])
        except UnknownNameError:
            ids.add(key)
    return ids


def _shown(doses) -> list[str]:
    return [f"{d:.3g}" for d in doses]


def plot_matrix(values: dict, doses1, doses2, agent1: Agent, agent2: Agent, title: str, label: str, scores=None,
                diverging: bool = True, marked: dict | None = None, mark_note: str = ""):
    """One heatmap per entry of ``values`` (name -> matrix, agent 1 on rows, bottom up), each cell labelled; the cells
    of ``marked[name]`` (a boolean matrix) get a '*' and ``mark_note`` goes under the figure."""
    plt = pyplot()
    n = len(values)
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.4 * cols, 4.4 * rows), squeeze=False)
    every = np.concatenate([np.ravel(v) for v in values.values()])
    limit = max(float(np.max(np.abs(every))), 1e-9)
    vmin, vmax = (-limit, limit) if diverging else (float(np.min(every)), float(np.max(every)))
    for ax, (name, matrix) in zip(axes.ravel(), values.items()):
        image = ax.imshow(matrix, origin="lower", cmap="RdBu_r" if diverging else "viridis", vmin=vmin, vmax=vmax,
                          aspect="auto")
        for (i, j), v in np.ndenumerate(matrix):
            shade = abs(v) / limit > 0.6 if diverging else (v - vmin) / max(vmax - vmin, 1e-9) < 0.5
            star = "*" if marked and name in marked and marked[name][i, j] else ""
            ax.text(j, i, f"{v:.1f}{star}", ha="center", va="center", fontsize=8, color="white" if shade else "black")
        ax.set_xticks(range(len(doses2)), _shown(doses2))
        ax.set_yticks(range(len(doses1)), _shown(doses1))
        ax.set_xlabel(f"{agent2.name} ({agent2.unit})")
        ax.set_ylabel(f"{agent1.name} ({agent1.unit})")
        head = LABELS.get(name, name)
        ax.set_title(f"{head}: score {scores[name]:+.2f}" if scores else head, fontsize=10)
        fig.colorbar(image, ax=ax, label=label, shrink=0.85)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=10)
    if mark_note and marked and any(np.any(m) for m in marked.values()):
        fig.text(0.5, 0.005, mark_note, ha="center", va="bottom", fontsize=8)
    fig.tight_layout(rect=(0, 0.03 if mark_note else 0, 1, 1))
    return fig


class CombinationAnalysis(Analysis):
    """A two-agent dose matrix under one condition, with Bliss, HSA, Loewe and ZIP synergy (module docstring)."""

    name = "combination"
    Settings = CombinationSettings

    def check(self, spec) -> None:
        s = spec.combination
        names = [c.name for c in spec.conditions]
        if s.condition is not None:
            known_condition("combination.condition", s.condition, names)
        elif len(names) > 1:
            raise ValueError(f"combination.condition is required with several conditions: the one the matrix runs "
                             f"under ({', '.join(names)}).")
        no_condition_key(spec, "assay_time_h", "the matrix runs every pair for combination.assay_time_h; set it "
                                               "there.")
        if s.agent2 is None:
            raise ValueError("combination.agent2 is required: a drug of drugs.tsv or an intervention of "
                             "interventions.tsv (e.g. 'LY294002').")
        try:
            agents = [resolve_agent(a, spec.experiment.scenario, f"combination.agent{k}")
                      for k, a in ((1, s.agent1), (2, s.agent2))]
        except UnknownNameError as exc:  # a ValueError for pydantic, so the spec error names the file
            raise ValueError(str(exc)) from None
        if agents[0].id == agents[1].id:
            raise ValueError(f"combination.agent1 and combination.agent2 are both '{agents[0].id}'; a combination "
                             f"needs two agents.")
        if all(a.kind == "drug" for a in agents):
            raise ValueError(f"combination.agent1 and agent2 are both drugs ({agents[0].id}, {agents[1].id}); the "
                             f"model has one drug in the medium, so at most one agent can be a drug.")
        for k, (agent, doses) in enumerate(zip(agents, (s.doses1, s.doses2)), start=1):
            matrix_doses(agent, doses, f"doses{k}")
        base = self._base(spec)
        for agent in agents:
            if agent.kind == "drug" and base.dose:
                raise ValueError(f"condition '{base.name}' sets dose = {base.dose:g}, but the combination runs the "
                                 f"doses of {agent.id} itself; remove 'dose'.")
            if agent.kind == "intervention" and agent.id in _intervention_ids(base):
                raise ValueError(f"condition '{base.name}' already gives {agent.id}, which the combination doses "
                                 f"itself; remove it from the condition's interventions.")

    @staticmethod
    def _base(spec) -> Condition:
        name = spec.combination.condition or spec.conditions[0].name
        return next(c for c in spec.conditions if c.name == name)

    def run(self, spec, model, folder: Path, options: RunOptions) -> ExperimentResult:
        """The matrix, its synergy, tables and plots (``quick``: 3 doses > 0 per agent)."""
        s = spec.combination
        agent1 = resolve_agent(s.agent1, spec.experiment.scenario, "combination.agent1")
        agent2 = resolve_agent(s.agent2, spec.experiment.scenario, "combination.agent2")
        doses1, doses2 = matrix_doses(agent1, s.doses1, "doses1"), matrix_doses(agent2, s.doses2, "doses2")
        if options.quick:
            doses1, doses2 = (d[[0, 1, (len(d) + 1) // 2, -1]] if len(d) > 4 else d for d in (doses1, doses2))
        base = self._base(spec)
        with tqdm(total=len(doses1) * len(doses2), desc="dose pairs", unit="pair", leave=False,
                  disable=options.quiet or not sys.stderr.isatty()) as bar:
            runs = run_matrix(model, base, agent1, doses1, agent2, doses2, s.assay_time_h, s.pretreatment_h,
                              progress=lambda: bar.update(1))
        viability = runs["viability"].to_numpy().reshape(len(doses1), len(doses2))
        result = matrix_synergy(doses1, doses2, viability, response_kind="viability")
        table = pd.concat([pd.DataFrame({"condition": base.name, "agent1": agent1.id, "unit1": agent1.unit,
                                         "agent2": agent2.id, "unit2": agent2.unit}, index=runs.index),
                           runs, result.table().drop(columns=["dose1", "dose2"])], axis=1)
        scores = result.scores()
        scores.insert(1, "label", [LABELS[m] for m in scores["model"]])
        for k, agent in ((1, agent1), (2, agent2)):
            scores[f"agent{k}"], scores[f"unit{k}"] = agent.id, agent.unit
        scores["condition"] = base.name
        title = f"{spec.experiment.name}\n{agent1.name} x {agent2.name}, {base.name} ({model.name})"
        score_of = dict(zip(scores["model"], scores["score"]))
        notes = delivery_notes(model, [base])
        fallback = int(scores.loc[scores["model"] == "loewe", "loewe_fallback_cells"].iloc[0])
        if fallback:
            notes.append(f"note: Loewe: in {fallback} of {scores['cells'].iloc[0]} combination cells no response "
                         f"that both agents reach alone solves the Loewe equation; SynergyFinder's fallback, the "
                         f"stronger agent at the total dose (doses added across units), is used there "
                         f"(loewe_fallback in matrix.csv).")
        fits = {agent1.id: result.curve1.as_row(), agent2.id: result.curve2.as_row()}
        files = [write_table(table, folder / "matrix.csv"), write_table(scores, folder / "scores.csv"),
                 write_table(model.parameter_table(), folder / "parameters.csv"),
                 model.write_sbml(folder / "model.xml"),
                 write_figure(plot_matrix({m: result.delta[m] for m in MODELS}, doses1, doses2, agent1, agent2,
                                          title, "delta (% inhibition; > 0 synergy)", score_of,
                                          marked={"loewe": result.loewe_fallback}, mark_note=FALLBACK_NOTE),
                              folder / "synergy.png"),
                 write_figure(plot_matrix({"observed % inhibition": result.response}, doses1, doses2, agent1, agent2,
                                          title, "inhibition (%)", diverging=False), folder / "inhibition.png"),
                 write_metadata(folder, spec.model_dump(mode="json"), model, spec.experiment.seed,
                                {"quick": options.quick, "condition": base.name,
                                 "agent1": {"id": agent1.id, "unit": agent1.unit, "doses": doses1.tolist()},
                                 "agent2": {"id": agent2.id, "unit": agent2.unit, "doses": doses2.tolist()},
                                 "single_agent_fits_pct_inhibition": fits, "delivery_notes": notes})]
        summary = scores[["label", "score", "max_delta", "dose1_at_max", "dose2_at_max", "min_delta"]].rename(
            columns={"label": "model", "dose1_at_max": f"{agent1.id}_at_max_{agent1.unit}",
                     "dose2_at_max": f"{agent2.id}_at_max_{agent2.unit}"})
        summary.attrs["footer"] = "\n".join(notes)
        return ExperimentResult(folder, files, table, summary)


ANALYSIS = CombinationAnalysis()
