"""The ``analysis = "screen"`` of an experiment spec: an in-silico perturbation screen through the sweep engine.

Every perturbation (wild type, each gene, each pair) is run in the EV condition and in the no-EV reference, in the
ODE model (dose-response, viability at the screen's dose, drug-free growth) and, where every perturbed gene has a
Boolean node, in the logical model (MaBoSS death probability, attractor phenotype). Points go through
:func:`sim.sweep.runner.run_sweep`: worker processes or a Dask scheduler, Parquet parts, ``--resume``.

Writes ``screen.parquet``/``screen.csv`` (ODE, one row per perturbation x condition), ``boolean.csv``,
``ranking.csv`` (one row per perturbation, ranked; toxic-alone perturbations flagged), ``pairs.csv`` (Bliss and
HSA excess), ``agreement.csv`` (single knockouts in both conditions, ODE vs Boolean), ``screen_top.png``,
``screen_pairs.png`` (pairwise screens) and ``metadata.json``. The spec's table::

    [screen]
    genes = ["PTEN", "AKT1", "STAT3"]      # default: every gene node of `cell` ("cancer", "CAF" or "all")
    pairwise = true                        # every pair of genes too
    perturbations = [{ kind = "knockout" }, { kind = "knockdown", level = 0.2 }]
    condition = "CAF-EV"                   # the EV condition whose IC50 shift the perturbations should reverse
    reference = "control"                  # the no-EV condition
    dose = 0.05                            # uM, for viability at a dose (default: the drug's reference IC50)
    ic50_method = "adaptive"               # IC50 by root-finding (sim.ic50; no GR50/AUC), or "grid" (the curve)
    # also: n_doses, assay_time_h, pretreatment_h, toxicity_threshold, boolean, boolean_samples, top, chunk_size,
    # retry (see ScreenSettings)
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.analyses.base import Analysis, ExperimentResult, RunOptions, condition_pair, no_condition_key
from sim.boolean_assay import cafev_network
from sim.boolean.conditions import ode_gene_nodes
from sim.budget import delivery_notes
from sim.catalogue import load_catalogue
from sim.errors import InvalidValueError, UnknownNameError
from sim.ic50 import readout_settings
from sim.plots import pyplot
from sim.results import atomic_write, write_figure, write_metadata, write_table
from sim.screen.evaluate import BooleanScreenPoint, OdeScreenPoint
from sim.screen.perturbations import (KINDS, WILD_TYPE, Perturbation, design, gene_aliases, parse, resolve_genes,
                                      screen_genes)
from sim.screen.tables import agreement_table, pair_table, rank_table
from sim.sweep.faults import failure_counts
from sim.sweep.runner import run_sweep


def plot_top(ranking: pd.DataFrame, top: int = 15, title: str | None = None):
    """Bars of the fraction of the EV shift reversed by the top perturbations (toxic-alone ones hatched grey)."""
    plt = pyplot()
    ok = ranking[ranking["status"] == "ok"].dropna(subset=["fraction_reversed"])
    shown = pd.concat([ok[~ok["toxic_alone"]].head(top), ok[ok["toxic_alone"]].head(max(0, top // 3))])
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(shown) + 1.6))
    y = np.arange(len(shown))[::-1]
    colors = ["#bbbbbb" if t else ("#2b8cbe" if f >= 0 else "#e34a33")
              for t, f in zip(shown["toxic_alone"], shown["fraction_reversed"])]
    ax.barh(y, shown["fraction_reversed"], color=colors, hatch=None)
    for yi, (_, r) in zip(y, shown.iterrows()):
        if r["toxic_alone"]:
            ax.text(0, yi, f"  toxic alone ({r['viability_alone']:.2f} of WT growth)", va="center", fontsize=7)
    ax.set_yticks(y, shown["perturbation"], fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.axvline(1, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("fraction of the CAF-EV IC50 shift reversed (1 = wild type without EVs; log scale of IC50)")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_pairs(ranking: pd.DataFrame, pairs: pd.DataFrame, title: str | None = None):
    """Two heatmaps over gene pairs: the fraction of the shift reversed (singles on the diagonal) and the Bliss
    excess on the cells left at the screen's dose."""
    plt = pyplot()
    ok = pairs[pairs["status"] == "ok"]
    singles = list(dict.fromkeys(list(ok["a"]) + list(ok["b"])))
    index = {s: i for i, s in enumerate(singles)}
    effect = np.full((len(singles), len(singles)), np.nan)
    bliss = np.full_like(effect, np.nan)
    reversed_by = ranking.set_index("perturbation")["fraction_reversed"] if len(ranking) else pd.Series(dtype=float)
    toxic_by = ranking.set_index("perturbation")["toxic_alone"] if len(ranking) else pd.Series(dtype=bool)
    toxic = np.zeros(effect.shape, dtype=bool)
    for s in singles:
        effect[index[s], index[s]] = reversed_by.get(s, np.nan)
        toxic[index[s], index[s]] = bool(toxic_by.get(s, False))
    for _, r in ok.iterrows():
        i, j = index[r["a"]], index[r["b"]]
        effect[i, j] = effect[j, i] = reversed_by.get(r["pair"], np.nan)
        toxic[i, j] = toxic[j, i] = bool(toxic_by.get(r["pair"], False))
        bliss[i, j] = bliss[j, i] = r["bliss_excess_viability"]
    fig, axes = plt.subplots(1, 2, figsize=(5.2 + 0.55 * len(singles) * 2, 1.8 + 0.5 * len(singles)))
    lim = np.nanmax(np.abs(bliss)) if np.isfinite(bliss).any() else 1.0
    for ax, values, cmap, label, vrange in (
            (axes[0], effect, "viridis", "fraction of EV shift reversed", (None, None)),
            (axes[1], bliss, "RdBu_r", "Bliss excess (cells left at dose, fraction of WT)", (-lim, lim))):
        mesh = ax.imshow(values, cmap=cmap, vmin=vrange[0], vmax=vrange[1])
        fig.colorbar(mesh, ax=ax, label=label, shrink=0.8)
        ax.set_xticks(range(len(singles)), singles, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(singles)), singles, fontsize=8)
        for i in range(len(singles)):
            for j in range(len(singles)):
                text = f"{values[i, j]:.2f}" if np.isfinite(values[i, j]) else ""
                if values is effect and toxic[i, j]:
                    text = f"{text}†" if text else "toxic†"
                if text:
                    ax.text(j, i, text, ha="center", va="center", fontsize=6, color="black",
                            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "alpha": 0.5, "lw": 0})
    axes[0].set_title("effect (diagonal: single; † toxic without drug)", fontsize=9)
    axes[1].set_title("Bliss excess (> 0: synergy)", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _boolean_points(points: pd.DataFrame) -> pd.DataFrame:
    """The points whose genes all have a Boolean node (others cannot be asked of the logical model)."""
    nodes, network = ode_gene_nodes(), cafev_network()
    has_node = [all(nodes.get(p.gene, p.gene) in network.rules for p in parse(label))
                for label in points["perturbation"]]
    return points[has_node]


class ScreenPerturbation(BaseModel):
    """One ``[[screen.perturbations]]`` entry: applied to every screened gene."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["knockout", "knockdown", "overexpression"] = "knockout"
    level: float | None = Field(default=None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _level(self):
        try:
            Perturbation("GENE", KINDS[self.kind], self.level)
        except InvalidValueError as exc:
            raise ValueError(str(exc).replace("Perturbation of 'GENE'", "").replace("'GENE:", "'")) from None
        return self


class ScreenSettings(BaseModel):
    """The ``[screen]`` table: which genes, which perturbations, single or pairwise, and the readouts."""

    model_config = ConfigDict(extra="forbid")
    genes: list[str] = Field(default_factory=list)
    cell: Literal["cancer", "CAF", "all"] = "cancer"
    pairwise: bool = False
    perturbations: list[ScreenPerturbation] = Field(default_factory=lambda: [ScreenPerturbation()], min_length=1)
    condition: str | None = None
    reference: str | None = None
    dose: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    n_doses: int = Field(default=8, ge=4, le=50)
    assay_time_h: float = Field(default=72.0, gt=0, allow_inf_nan=False)
    pretreatment_h: float = Field(default=48.0, ge=0, allow_inf_nan=False)
    toxicity_threshold: float = Field(default=0.5, gt=0, lt=1)
    boolean: bool = True
    boolean_samples: int = Field(default=2000, ge=100, le=1_000_000)
    top: int = Field(default=15, ge=1, le=500)
    chunk_size: int = Field(default=4, ge=1, le=100_000)
    retry: bool = False  # run a point whose simulation failed once more with 100x tighter tolerances
    ic50_method: Literal["adaptive", "grid"] = "adaptive"  # adaptive: IC50 by root-finding (sim.ic50), no GR50/AUC

    @field_validator("genes")
    @classmethod
    def _known_genes(cls, v: list[str]) -> list[str]:
        try:
            genes = resolve_genes(v, "models/tables/genes.tsv")
        except UnknownNameError as exc:
            raise ValueError(str(exc)) from None
        dupes = sorted({g for g in genes if genes.count(g) > 1})
        if dupes:
            raise ValueError(f"genes must be unique; repeated: {', '.join(dupes)}")
        return genes


class ScreenAnalysis(Analysis):
    """Perturbations ranked by how much of the EV shift they reverse (see the module docstring)."""

    name = "screen"
    Settings = ScreenSettings
    parallel = True

    def check(self, spec) -> None:
        names = [c.name for c in spec.conditions]
        sc = spec.screen
        condition_pair("screen", sc.condition, sc.reference, names, True,
                       "the screen ranks how much of the shift between them each perturbation reverses")
        no_condition_key(spec, "dose", "a screen runs a dose-response (and screen.dose for viability); remove 'dose'.")
        for c in spec.conditions:
            if c.assay_time_h is not None:
                raise ValueError(f"condition '{c.name}' sets assay_time_h, but a screen compares every condition "
                                 f"over one assay; set screen.assay_time_h instead.")
        by_name = {c.name: c for c in spec.conditions}
        drugs = {by_name[n].drug for n in (sc.condition, sc.reference)}
        if len(drugs) > 1:
            raise ValueError(f"screen.condition and screen.reference must use the same drug (the shift is between "
                             f"them). Got {', '.join(sorted(str(d or 'the preset drug') for d in drugs))}.")
        kinds = [(p.kind, p.level) for p in sc.perturbations]
        dupes = sorted({f"{k}{'' if lv is None else f' {lv:g}'}" for k, lv in kinds if kinds.count((k, lv)) > 1})
        if dupes:
            raise ValueError(f"screen.perturbations must be unique; repeated: {', '.join(dupes)}")

    def run(self, spec, model, folder: Path, options: RunOptions) -> ExperimentResult:
        """Every perturbation in both conditions (ODE and, where it has nodes, Boolean), ranked."""
        quick, sc = options.quick, spec.screen
        genes = sc.genes or screen_genes(sc.cell)
        if quick:
            genes = genes[:3]
        kinds = [(KINDS[p.kind], p.level) for p in sc.perturbations]
        conditions = {c.name: c.model_dump(exclude_defaults=True) for c in spec.conditions
                      if c.name in (sc.condition, sc.reference)}
        drug = next(c.drug for c in spec.conditions if c.name == sc.condition) or model.preset["drug"]
        dose = sc.dose or load_catalogue().drug(drug)["ic50_ref_uM"]  # the conditions' drug, not only the preset's
        points = design(genes, kinds, sc.pairwise, (sc.condition, sc.reference))
        run = dict(options.runner_kwargs(), chunk_size=sc.chunk_size, retry=sc.retry)
        ode = OdeScreenPoint(spec.experiment.scenario, conditions, dose, 6 if quick else sc.n_doses, sc.assay_time_h,
                             sc.pretreatment_h, ic50_method=sc.ic50_method)
        raw = run_sweep(ode, points, folder / "ode", desc="screen, ODE", **run)
        files = [folder / "ode", write_table(raw, folder / "screen.csv"),
                 atomic_write(folder / "screen.parquet", lambda p: raw.to_parquet(p, index=False))]
        boolean = pd.DataFrame()
        if sc.boolean:
            bool_points = _boolean_points(points[points["size"] <= (2 if sc.pairwise else 1)])
            samples = 500 if quick else sc.boolean_samples
            boolean = run_sweep(BooleanScreenPoint(spec.experiment.scenario, conditions, samples, spec.experiment.seed,
                                                   sc.assay_time_h, sc.pretreatment_h),
                                bool_points, folder / "boolean", desc="screen, Boolean", **run)
            files += [folder / "boolean", write_table(boolean, folder / "boolean.csv")]
        ranking = rank_table(raw, sc.condition, sc.reference, sc.toxicity_threshold)
        files.append(write_table(ranking, folder / "ranking.csv"))
        title = f"{spec.experiment.name}: {model.preset.get('title', model.name)}"
        files.append(write_figure(plot_top(ranking, sc.top, title), folder / "screen_top.png"))
        if sc.pairwise:
            pairs = pair_table(raw, sc.condition)
            files += [write_table(pairs, folder / "pairs.csv"),
                      write_figure(plot_pairs(ranking, pairs, title), folder / "screen_pairs.png")]
        if sc.boolean and len(boolean):
            agreement = pd.concat([agreement_table(raw, boolean, c) for c in (sc.reference, sc.condition)],
                                  ignore_index=True)
            files.append(write_table(agreement, folder / "agreement.csv"))
        wt = raw[(raw["perturbation"] == WILD_TYPE)].set_index("condition")
        notes = delivery_notes(model, [c for c in spec.conditions if c.name in (sc.condition, sc.reference)])
        files.append(write_metadata(folder, spec.model_dump(mode="json"), model, spec.experiment.seed,
                                    {"quick": quick, "genes": genes, "aliases": gene_aliases(), "drug": drug,
                                     "dose_uM": dose, **readout_settings(ode),
                                     "points": len(points), "wild_type_ic50_uM": wt["ic50_uM"].to_dict(),
                                     "failed_points": int((raw["status"] != "ok").sum()),
                                     "failures_by_reason": failure_counts(raw), "delivery_notes": notes}))
        shown = ["rank", "perturbation", "fraction_reversed", "ic50_fold_vs_wt", "viability_alone", "toxic_alone"]
        summary = ranking[[c for c in shown if c in ranking]].head(sc.top)
        counts = failure_counts(raw)
        footer = list(notes)
        if sc.boolean and len(boolean):
            for cond, rows in agreement.groupby("condition", sort=False):
                asked = rows["agree"].notna()
                footer.append(f"ODE vs Boolean, {cond}: {int(rows.loc[asked, 'agree'].astype(bool).sum())} of "
                              f"{int(asked.sum())} single knockouts agree in direction (agreement.csv)")
        if counts:
            footer.append("failed points by reason: " + ", ".join(f"{k} {v}" for k, v in counts.items())
                          + f" (see {folder / 'screen.csv'})")
        if not math.isfinite(ranking.attrs.get("wt_shift_fold", math.nan)):
            footer.append("the wild-type EV shift could not be fitted; fraction_reversed is undefined")
        summary.attrs["footer"] = "\n".join(footer)
        return ExperimentResult(folder, files, ranking, summary)


ANALYSIS = ScreenAnalysis()
