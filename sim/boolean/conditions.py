"""cafev conditions and scenario presets on the Boolean network: the same names as the ODE side.

A :class:`sim.conditions.Condition` becomes fixed input nodes of ``models/boolean/cafev.bnet``: the EV exposure
(``CAF``, ``EV_added``, ``CAF_source``, ``Hypoxia``), the preset's cargo (``Load_*`` from its ``ev_cargo`` rows), the
drug (``Drug``, ``Pgp_substrate`` from drugs.tsv) and each intervention. Knockouts and overexpression fix a node to
0/1. Partial effects cannot be written as logic, so a condition is a *mixture* of fixed-node settings: an
intervention at dose d is effective in a fraction e(d) of cells (its Emax-Hill effect, interventions.tsv), a
knockdown to f leaves a fraction f of cells untouched; GW4869 only hits the nSMase2 share of CAF EV release
(sec_nsmase2 / (sec_nsmase2 + sec_escrt + sec_asm), parameters.tsv). Each setting is analysed and the outcomes
are averaged with these weights (Boolean mixtures as in PROFILE/PhysiBoSS-Drugs, Béal et al. 2019; Ponce-de-Leon et al. 2023).
"""
from __future__ import annotations

import itertools
from functools import lru_cache
from dataclasses import dataclass
from pathlib import Path

from sim.catalogue import MODELS_DIR, load_catalogue, model_id
from sim.errors import InvalidValueError, UnknownNameError

NETWORK = "cafev.bnet"
INTERVENTION_INPUTS = {"GW4869": "GW4869", "LY294002": "LY294002", "Stattic": "Stattic", "erastin": "Erastin",
                       "RSL3": "RSL3", "tariquidar": "Pgp_inhibitor", "verapamil": "Pgp_inhibitor"}


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


def condition_settings(condition, network, scenario: str, drug_on: bool = True) -> list[Setting]:
    """The weighted fixed-node settings of ``condition`` in ``scenario`` on ``network``.

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
    for key in preset.get("ev_cargo", []):
        row = cat.cargo_rows(key)[0]
        node = cargo_input(row["cargo"], row["effect"])
        if node not in network.rules:
            raise UnknownNameError("cargo input", node, [n for n in network.inputs if n.startswith("Load_")],
                                   f"scenario '{scenario}' ({key})")
        base[node] = 1
    base["CAF"] = int(condition.ev_mode == "coculture")
    base["EV_added"] = int(condition.ev_mode == "addition")
    base["CAF_source"] = int(condition.ev_source == "CAF")
    base["Hypoxia"] = int(condition.hypoxia)
    drug = cat.drug(condition.drug or preset["drug"])
    base["Drug"] = int(drug_on)
    base["Pgp_substrate"] = int(drug["abcb1"] > 0)

    partial: list[tuple[dict, float]] = []  # (fixed when effective, probability effective)
    secretion = {k: cat.parameters[k]["value"] for k in ("sec_nsmase2", "sec_escrt", "sec_asm")}
    nsmase2_share = secretion["sec_nsmase2"] / sum(secretion.values())
    for key, spec in condition.interventions.items():
        row = cat.intervention(key)
        dose = spec.dose if hasattr(spec, "dose") else float(spec)
        mirna = getattr(spec, "mirna", None)
        if row["id"] == "antagomir":
            node = model_id(mirna or "")
            if node not in network.rules:
                raise UnknownNameError("miRNA node", node, [n for n in network.nodes if n.startswith("miR_")], where)
            partial.append(({node: 0}, _effect(row, dose)))
        elif row["id"] in INTERVENTION_INPUTS:
            share = nsmase2_share if row["id"] == "GW4869" else 1.0
            partial.append(({INTERVENTION_INPUTS[row["id"]]: 1}, _effect(row, dose) * share))
        else:
            raise UnknownNameError("intervention with a Boolean input", row["id"],
                                   list(INTERVENTION_INPUTS) + ["antagomir"], where)
    for gene in condition.knockouts:
        partial.append(({_node(network, gene, where): 0}, 1.0))
    for gene, fraction in condition.knockdowns.items():
        partial.append(({_node(network, gene, where): 0}, 1.0 - fraction))
    for gene in condition.overexpression:
        partial.append(({_node(network, gene, where): 1}, 1.0))
    if condition.parameters:
        raise InvalidValueError(f"{where}: parameter changes ({', '.join(condition.parameters)}) have no Boolean "
                                f"counterpart; express them as knockouts, knockdowns or interventions.")
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
def ode_gene_nodes(root: Path | None = None) -> dict[str, str]:
    """ODE gene/miRNA name (genes.tsv) -> Boolean node, from the ``ode_gene`` column of ``nodes.tsv``."""
    import csv

    with open(network_path(root).with_name("nodes.tsv"), newline="") as f:
        rows = csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t")
        return {r["ode_gene"]: r["node"] for r in rows if r.get("ode_gene") not in (None, "", "-")}


def _node(network, gene: str, where: str) -> str:
    """The Boolean node of ``gene``: its own name or the node ``nodes.tsv`` maps its ODE name to."""
    node = ode_gene_nodes().get(gene, model_id(gene))
    if node not in network.rules:
        raise UnknownNameError("node", gene, [n for n in network.nodes if n not in network.inputs], where)
    return node
