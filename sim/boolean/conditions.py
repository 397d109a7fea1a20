"""cafev conditions and scenario presets on the Boolean network: the same names as the ODE side.

A :class:`sim.conditions.Condition` becomes fixed input nodes of ``models/boolean/cafev.bnet``: the EV exposure
(``CAF``, ``EV_added``, ``CAF_source``, ``Hypoxia``), the preset's cargo (``Load_*`` from its ``ev_cargo`` rows) and
cellular miRNAs (``Cell_*`` from its ``cellular`` rows), and the drug (``Drug``; its drugs.tsv properties enter the
rates, :mod:`sim.boolean.rates`). Knockouts and overexpression fix a node to 0/1. Partial effects cannot be
written as logic, so a condition is a *mixture* of fixed-node settings (Boolean mixtures as in PROFILE/PhysiBoSS-Drugs,
Béal et al. 2019; Ponce-de-Leon et al. 2023), each analysed, the outcomes averaged with their weights:

- an intervention at dose d turns off the nodes that hold its ``act_*`` slot (``ode_symbols`` of nodes.tsv; an
  antagomir or a sponge, the miRNA it names) in a fraction e(d) of cells, its Emax-Hill effect (interventions.tsv);
  a knockdown to f leaves a fraction f of cells untouched;
- the EV dose: each ``Load_*`` input (and each cellular miRNA's ``Cell_*``) is on in the fraction of cells
  ``activity`` gives (from the ODE's delivery budget of the same condition, :func:`sim.boolean_assay.cargo_activity`),
  the share of its target the cargo changes there. EV supply and uptake
  (release, branch shares, uptake saturation, escape, titration of target sites) are quantitative questions the logic
  cannot answer, so interventions and knockdowns on the supply and uptake nodes (the ancestors of ``EV_in``) act
  through that activity only, not again as fixed nodes; a full knockout is also fixed (the logic stays true).
"""
from __future__ import annotations

import csv
import itertools
from functools import lru_cache
from dataclasses import dataclass
from pathlib import Path

from sim.catalogue import MODELS_DIR, load_catalogue, model_id
from sim.errors import InvalidValueError, UnknownNameError

NETWORK = "cafev.bnet"
ANTAGONISTS = ("antagomir", "sponge")  # interventions on one named miRNA (the condition names it)


def network_path(root: Path | None = None) -> Path:
    """The CAF-EV network file (``models/boolean/cafev.bnet``)."""
    return Path(root or MODELS_DIR) / "boolean" / NETWORK


def cargo_input(cargo: str, effect: str) -> str:
    """The ``Load_*`` input of a cargo row (P-gp protein -> ``Load_Pgp``)."""
    return "Load_Pgp" if effect == "carry" else f"Load_{model_id(cargo)}"


@dataclass(frozen=True)
class Setting:
    """One fixed-node setting of a condition and its weight in the mixture."""

    fixed: dict
    weight: float


def _effect(row: dict, dose: float) -> float:
    if row["mechanism"] == "fraction":
        return float(dose)
    h = row["hill"]
    return row["emax"] * dose ** h / (dose ** h + row["ic50"] ** h) if dose > 0 else 0.0


def _ancestors(network, node: str) -> set[str]:
    seen, todo = set(), [node]
    while todo:
        for r in network.regulators(todo.pop()):
            if r not in seen:
                seen.add(r)
                todo.append(r)
    return seen


def exposure_nodes(network) -> set[str]:
    """The EV supply and uptake nodes: every ancestor of ``EV_in`` (their graded effects reach the logical model as
    the cargo activity from the ODE delivery budget)."""
    return _ancestors(network, "EV_in") if "EV_in" in network.rules else set()


def cargo_inputs(scenario: str) -> list[str]:
    """The ``Load_*`` inputs of the cargo the scenario's EVs carry."""
    cat = load_catalogue()
    rows = [cat.cargo_rows(key)[0] for key in cat.scenario(scenario).get("ev_cargo", [])]
    return list(dict.fromkeys(cargo_input(row["cargo"], row["effect"]) for row in rows))


def intervention_nodes(network, key: str, mirna: str | None, where: str) -> list[str]:
    """The nodes an intervention turns off: those holding its act_* slot, or the miRNA an antagonist names.

    Raises
    ------
    UnknownNameError
        An intervention whose slot no node holds, or an antagonist of a miRNA without a node.
    """
    row = load_catalogue().intervention(key)
    if row["id"] in ANTAGONISTS:
        node = model_id(mirna or "")
        if node not in network.rules:
            raise UnknownNameError("miRNA node", node, [n for n in network.nodes if n.startswith("miR_")], where)
        return [node]
    nodes = [n for n, symbols in node_symbols().items() if row["target"] in symbols and n in network.rules]
    if not nodes:
        holders = sorted({s for syms in node_symbols().values() for s in syms if s.startswith("act_")})
        raise UnknownNameError("intervention slot held by a Boolean node", row["target"], holders, where)
    return nodes


def condition_settings(condition, network, scenario: str, drug_on: bool = True,
                       activity: dict | None = None) -> list[Setting]:
    """The weighted fixed-node settings of ``condition`` in ``scenario`` on ``network``.

    ``activity`` maps a ``Load_*`` or ``Cell_*`` input to the fraction of cells in which it is on (default: 1 for
    every cargo the preset loads and every cellular miRNA it holds, the all-or-none logical model).

    Raises
    ------
    UnknownNameError
        An intervention, gene or scenario without a Boolean counterpart (with the valid names).
    """
    cat = load_catalogue()
    preset = cat.scenario(scenario)
    where = f"condition '{condition.name}' (Boolean network '{network.name}')"
    base = {n: 0 for n in network.inputs}
    base["IL6"] = 1
    for load in cargo_inputs(scenario):
        if load not in network.rules:
            raise UnknownNameError("cargo input", load, [n for n in network.inputs if n.startswith("Load_")],
                                   f"scenario '{scenario}'")
        base[load] = 1
    for key in [*cat.base_cellular, *preset.get("cellular", [])]:
        row = cat.cargo_rows(key)[0]
        if f"Cell_{model_id(row['cargo'])}" in network.inputs:
            base[f"Cell_{model_id(row['cargo'])}"] = 1
    base["CAF"] = int(condition.ev_mode == "coculture")
    base["EV_added"] = int(condition.ev_mode == "addition")
    base["CAF_source"] = int(condition.ev_source == "CAF")
    base["Hypoxia"] = int(condition.hypoxia)
    cat.drug(condition.drug or preset["drug"])  # an unknown drug fails here, with the valid names
    base["Drug"] = int(drug_on)

    exposure = exposure_nodes(network)
    partial: list[tuple[dict, float]] = []  # (fixed when effective, probability effective)
    for node, p in (activity or {}).items():
        if node not in network.inputs or not node.startswith(("Load_", "Cell_")):
            raise UnknownNameError("cargo input", node, [n for n in network.inputs if n.startswith(("Load_", "Cell_"))],
                                   where)
        if base.get(node) and p < 1:
            partial.append(({node: 0}, 1.0 - min(max(float(p), 0.0), 1.0)))
    for key, spec in condition.interventions.items():
        row = cat.intervention(key)
        dose = spec.dose if hasattr(spec, "dose") else float(spec)
        nodes = intervention_nodes(network, key, getattr(spec, "mirna", None), where)
        acting = [n for n in nodes if n not in exposure]
        if acting:
            partial.append((dict.fromkeys(acting, 0), _effect(row, dose)))
    for gene in condition.knockouts:
        partial.append(({_node(network, gene, where): 0}, 1.0))
    for gene, fraction in condition.knockdowns.items():
        node = _node(network, gene, where)
        if node not in exposure:
            partial.append(({node: 0}, 1.0 - fraction))
    for gene in condition.overexpression:
        partial.append(({_node(network, gene, where): 1}, 1.0))
    if condition.parameters:
        raise InvalidValueError(f"{where}: parameter changes ({', '.join(condition.parameters)}) have no Boolean "
                                f"counterpart; express them as knockouts, knockdowns or interventions.")
    schedule = [k for k in ("drug_every_h", "drug_half_life_h", "ev_every_h") if getattr(condition, k) is not None]
    if schedule:
        raise InvalidValueError(f"{where}: repeated dosing ({', '.join(schedule)}) has no Boolean counterpart: the "
                                f"logical model has a drug and EVs present or absent, not their time course; run "
                                f"this condition in the ODE model.")
    settings = []
    for flags in itertools.product((False, True), repeat=len(partial)):
        weight, fixed = 1.0, dict(base)
        for on, (nodes, p) in zip(flags, partial):
            weight *= p if on else 1.0 - p
            if on:
                fixed.update(nodes)
        if weight > 0:
            settings.append(Setting(fixed, weight))
    return settings


@lru_cache(maxsize=4)
def node_table(root: Path | None = None) -> tuple[dict, ...]:
    """The rows of ``models/boolean/nodes.tsv`` (comment lines skipped)."""
    with open(network_path(root).with_name("nodes.tsv"), newline="", encoding="utf-8") as f:
        return tuple(csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t"))


def ode_gene_nodes(root: Path | None = None) -> dict[str, str]:
    """ODE gene/miRNA name (genes.tsv) -> Boolean node, from the ``ode_gene`` column of ``nodes.tsv``."""
    return {r["ode_gene"]: r["node"] for r in node_table(root)
            if r.get("ode_gene") not in (None, "", "-")}


def node_symbols(root: Path | None = None) -> dict[str, tuple[str, ...]]:
    """Node -> the ODE (SBML) symbols it stands for (``ode_symbols`` of nodes.tsv)."""
    return {r["node"]: tuple(s for s in (r.get("ode_symbols") or "").split() if s != "-") for r in node_table(root)}


def _node(network, gene: str, where: str) -> str:
    """The Boolean node of ``gene``: its own name or the node ``nodes.tsv`` maps its ODE name to."""
    node = ode_gene_nodes().get(gene, model_id(gene))
    if node not in network.rules:
        raise UnknownNameError("node", gene, [n for n in network.nodes if n not in network.inputs], where)
    return node
