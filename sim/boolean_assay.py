"""The logical assay: the Boolean counterpart of :mod:`sim.protocol`, and the readouts built on it.

Protocol: the cell starts in the drug-free steady state of its condition (EVs, cargo and interventions already
acting; the outcome nodes held off: a living cell), then the drug is switched on. In MaBoSS
(:class:`sim.engines.maboss.MaBoSSEngine`) the drug enters as the up-rate of ``Drug_in`` (graded in dose, 1/h), and
caspase-9 activation, apoptotic and ferroptotic commitment at the rates of :mod:`sim.boolean.rates` (the ODE's rate
laws and parameters with node states as inputs), so the probability of ``Death`` after the assay time is graded in
dose and in every survival and cargo arm. The EV dose enters as the fraction of cells in which each delivered cargo
acts, from the ODE delivery budget of the same condition (:func:`cargo_activity`); a condition's partial effects are
a weighted mixture of settings (:mod:`sim.boolean.conditions`). The asynchronous attractors reached from the drug-on
start (biodivine-aeon) give each condition's possible outcomes under the logic alone.

References
----------
Stoll G et al. (2017) MaBoSS 2.0: an environment for stochastic Boolean modeling. Bioinformatics 33:2226-2228.
Béal J et al. (2019) Personalization of logical models with multi-omics data. Front Physiol 9:1965.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd

from sim.boolean.agreement import SLOPE_DOSES, death_slope
from sim.boolean.conditions import (condition_settings, exposure_nodes, intervention_nodes, network_path, node_table,
                                    ode_gene_nodes)
from sim.boolean.network import BooleanNetwork, load_bnet
from sim.boolean.rates import RateContext, descendants, maboss_rates
from sim.budget import delivery_budget
from sim.build import build_model
from sim.catalogue import load_catalogue, model_id
from sim.conditions import Condition
from sim.engines import engine_for
from sim.engines.boolean import aeon_network, attractor_table
from sim.errors import SimulationError
from sim.protocol import AssayProtocol

OUTCOME_NODES = ("Death", "Apoptosis", "Ferroptosis", "AKT", "STAT3", "LipidROS", "CASP9")
TIME_WINDOWS = 36  # MaBoSS trajectories: the assay in 36 windows
PRETREATMENT_H = 48.0  # EVs and interventions before the drug, as the ODE dose-response (sim.curves)


def cafev_network() -> BooleanNetwork:
    """The CAF-EV logical model (models/boolean/cafev.bnet)."""
    return load_bnet(network_path())


def steady_state(network: BooleanNetwork, fixed: dict, max_steps: int = 500) -> dict:
    """Drug-free starting state: synchronous updates from all-off (inputs as ``fixed``, outcome nodes of nodes.tsv
    held off: the cell is alive) until nothing changes.

    Raises
    ------
    SimulationError
        The updates cycle instead of settling (no unique drug-free steady state).
    """
    alive = {r["node"]: 0 for r in node_table() if r["kind"] == "outcome" and r["node"] in network.rules}
    fixed = {**alive, **fixed}
    state = np.array([[bool(fixed.get(n, 0)) for n in network.nodes]])
    net = network.fixed(fixed)
    for _ in range(max_steps):
        nxt = net.step_all(state)
        if np.array_equal(nxt, state):
            return {n: int(v) for n, v in zip(network.nodes, state[0])}
        state = nxt
    raise SimulationError(f"The drug-free state of network '{network.name}' under {fixed} does not settle.")


@lru_cache(maxsize=8)
def _protocol(scenario: str, pretreatment_h: float) -> AssayProtocol:
    return AssayProtocol(engine_for(build_model(scenario), "ode"), pretreatment_h)


def cargo_activity(scenario: str, condition, pretreatment_h: float = PRETREATMENT_H) -> dict[str, float]:
    """Fraction of cells in which each ``Load_*`` and ``Cell_*`` input of ``scenario`` is on: the share of its
    target that the cargo (or the cell's own miRNA) changes in the ODE, as the mean-field reading of an all-or-none
    node (a node on in a fraction f of cells moves its target's mean by f).

    Delivered cargo, from the delivery budget of ``condition`` at drug addition (:func:`sim.budget.delivery_budget`):
    a repressing miRNA with fold R (R0 without EVs: the endogenous part) removes 1 - R0/R of what is left of its
    target; a sponge with fold R frees 1 - 1/R of its miRNA. Protein cargo (EV-borne P-gp) joins a pool rather than
    silencing a target, so it is on in every cell that took up EVs and its amount is a level (:func:`cargo_levels`).
    A cellular miRNA (``cellular`` rows): 1 - T/T_ko of its target T in the untreated cell, T_ko with the miRNA
    knocked out (a property of the cell line, the same in every condition).
    A cargo with several targets takes their mean; a condition without EVs gives 0 to every ``Load_*``. The EV dose
    is the CAFs' and the medium's: the budget runs with the condition's CAF-side gene perturbations (genes.tsv cell
    = CAF) and its interventions on EV supply and uptake (those on the ancestors of ``EV_in``), while the rest act
    in the logical model as fixed nodes, once (an antagomir is not also in the budget; a knockout that leaves the
    ODE's untreated cell without a steady state, GPX4 or SLC7A11, still has an EV dose; a cancer-cell knockout's own
    small effect on the titration of the other arms' sites is left to the ODE).

    Limitation: a cell in which a cargo acts has its target off, not at the ODE's ceiling-bounded level
    (``mirna_max_repression``), so the fraction matches the target's mean but not every effect's: e.g. the quarter of
    untreated cells in which the endogenous miR-21 acts lack PTEN and APAF1 (apoptosis-immune), and the logical
    model's death plateaus near 0.95 at 1000x the IC50 where the ODE kills > 99.9%.
    """
    shares = _cargo_changes(scenario, condition, float(pretreatment_h))
    return {node: float(np.mean([min(max(x, 0.0), 1.0) if math.isfinite(x) else 0.0 for x in v]))
            for node, v in shares.items()}


def cargo_levels(scenario: str, condition, pretreatment_h: float = PRETREATMENT_H) -> dict[str, float]:
    """Graded cargo: ``pgp_ev``, EV-borne P-gp relative to the cell's own in the ODE delivery budget of the same
    condition (1/R - 1, R = ABCB1 without EVs / with them); 0 where the EVs carry none."""
    protocol, values, budget = _exposure_budget(scenario, condition, float(pretreatment_h))
    model = protocol.engine.model
    folds = [budget.get(f"repression_{model_id(it.cargo)}_{model_id(it.target)}", math.nan)
             for it in model.interactions if it.delivered and it.effect == "carry"]
    return {"pgp_ev": float(sum(1 / f - 1 for f in folds if math.isfinite(f) and 0 < f < 1))}


def _cargo_changes(scenario: str, condition, pretreatment_h: float) -> dict[str, list[float]]:
    """``Load_*``/``Cell_*`` input -> the shares of their targets the cargo changes (see :func:`cargo_activity`)."""
    protocol, values, budget = _exposure_budget(scenario, condition, pretreatment_h)
    model = protocol.engine.model
    none = delivery_budget(protocol, {**values, "caf_density": 0.0, "ev_added_ug": 0.0})
    shares: dict[str, list[float]] = {}
    for it in model.interactions:
        if not it.delivered:
            continue
        key = f"repression_{model_id(it.cargo)}_{model_id(it.target)}"
        fold, fold0 = budget.get(key, math.nan), none.get(key, math.nan)
        if it.effect == "repress":
            share = 1 - fold0 / fold if fold0 > 0 and fold > 0 else 0.0
        elif it.effect == "sponge":
            share = 1 - 1 / fold if fold > 0 else 0.0
        else:  # protein cargo: present in every cell that took up EVs; its amount is a level (cargo_levels)
            share = 1.0 if 0 < fold < 1 else 0.0
        node = "Load_Pgp" if it.effect == "carry" else f"Load_{model_id(it.cargo)}"
        shares.setdefault(node, []).append(share)
    for node, share in _cellular_shares(scenario, pretreatment_h).items():
        shares.setdefault(node, []).append(share)
    return shares


def _exposure_budget(scenario: str, condition, pretreatment_h: float):
    """(protocol, values, delivery budget) of what sets ``condition``'s EV dose (:func:`_exposure`)."""
    protocol = _protocol(scenario, pretreatment_h)
    values = _exposure(condition).values(protocol.engine.model)
    return protocol, values, delivery_budget(protocol, values)


def _exposure(condition):
    """``condition`` with only what sets its EV dose: its CAF-side gene perturbations and its interventions on EV
    supply and uptake (whose nodes are ancestors of ``EV_in``)."""
    genes = load_catalogue().genes
    caf = {g for g, row in genes.items() if row.get("cell") == "CAF"}
    gene_of = {node: gene for gene, node in ode_gene_nodes().items()}  # a knockout may name the node (nSMase2)
    network = cafev_network()
    exposure = exposure_nodes(network)
    where = f"condition '{condition.name}'"

    def ode_gene(name: str) -> str | None:
        gene = name if name in genes else gene_of.get(name)
        return gene if gene in caf else None

    interventions = {k: v for k, v in condition.interventions.items()
                     if set(intervention_nodes(network, k, getattr(v, "mirna", None), where)) <= exposure}
    return condition.model_copy(update={
        "interventions": interventions,
        "knockouts": [g for k in condition.knockouts if (g := ode_gene(k))],
        "knockdowns": {g: f for k, f in condition.knockdowns.items() if (g := ode_gene(k))},
        "overexpression": {g: f for k, f in condition.overexpression.items() if (g := ode_gene(k))}})


@lru_cache(maxsize=16)
def _cellular_shares(scenario: str, pretreatment_h: float) -> dict[str, float]:
    """``Cell_<miRNA>`` -> mean over its targets of 1 - T/T_ko in the untreated cell of ``scenario``."""
    protocol = _protocol(scenario, pretreatment_h)
    model = protocol.engine.model
    values = Condition(name="untreated").values(model)
    shares: dict[str, list[float]] = {}
    for it in model.interactions:
        mirna = model_id(it.cargo)
        if it.delivered or it.effect != "repress" or f"expr_{mirna}" not in model.defaults:
            continue
        wt = protocol.pretreated(values)[it.target]
        ko = protocol.pretreated({**values, f"expr_{mirna}": 0.0})[it.target]
        shares.setdefault(f"Cell_{mirna}", []).append(1 - wt / ko if ko > 0 else 0.0)
    return {node: float(np.mean(v)) for node, v in shares.items()}


def rate_context(scenario: str, drug: dict, pgp_ev: float = 0.0) -> RateContext:
    """The rate laws' inputs for ``scenario`` (its ODE parameter values, preset overrides included), ``drug`` and
    the condition's EV-borne P-gp (:func:`cargo_levels`)."""
    return RateContext(_protocol(scenario, PRETREATMENT_H).engine.model.defaults, drug, pgp_ev)


def death_probability(network, scenario: str, condition, dose: float | None = None, assay_h: float = 72.0,
                      samples: int = 4000, seed: int = 0, trajectories: bool = False,
                      activity: dict | None = None, pretreatment_h: float = PRETREATMENT_H):
    """Probability that a cell has died after ``assay_h`` of drug, averaged over the condition's mixture.

    ``dose`` defaults to the drug's reference IC50 (drugs.tsv); ``activity`` (cargo node -> fraction of cells)
    defaults to :func:`cargo_activity` of the condition. With ``trajectories`` returns (probability, table of node
    probabilities over time averaged over the mixture).
    """
    cat = load_catalogue()
    drug = cat.drug(condition.drug or cat.scenario(scenario)["drug"])
    dose = drug["ic50_ref_uM"] if dose is None else dose
    if activity is None:
        activity = cargo_activity(scenario, condition, pretreatment_h)
    context = rate_context(scenario, drug, **cargo_levels(scenario, condition, pretreatment_h))
    total, traj = 0.0, None
    for setting in condition_settings(condition, network, scenario, activity=activity):
        start = steady_state(network, {**setting.fixed, "Drug": 0})
        start.update(setting.fixed)  # the drug and the fixed nodes from t = 0
        fixed = network.fixed({k: v for k, v in setting.fixed.items() if k not in network.inputs})
        net = fixed.reduced(descendants(fixed, ["Drug"]) - set(setting.fixed), start)  # the rest cannot change
        rates = maboss_rates(net, start, context, dose / drug["ic50_ref_uM"], moving=net.nodes)
        course = engine_for(net, "maboss", samples=samples, seed=seed).run(
            rates, assay_h, TIME_WINDOWS + 1, None, {n: start[n] for n in net.nodes})
        for n in OUTCOME_NODES:
            if n not in course:
                course[n] = float(start.get(n, 0))
        total += setting.weight * course["Death"].iloc[-1]
        if trajectories:
            windows = course.iloc[:-1].set_index("time").rename_axis("time_h")
            part = windows[[n for n in OUTCOME_NODES if n in windows]] * setting.weight
            traj = part if traj is None else traj.add(part, fill_value=0.0)
    return (float(total), traj) if trajectories else float(total)


def reference_slope(network, scenario: str, condition, assay_h: float = 72.0, samples: int = 4000, seed: int = 0,
                    pretreatment_h: float = PRETREATMENT_H) -> float:
    """Slope of ``condition``'s death probability against ln dose around the drug's reference IC50, from half and
    twice it (:data:`sim.boolean.agreement.SLOPE_DOSES`): the reference of an equivalent dose fold."""
    cat = load_catalogue()
    ic50 = cat.drug(condition.drug or cat.scenario(scenario)["drug"])["ic50_ref_uM"]
    return death_slope({k: death_probability(network, scenario, condition, k * ic50, assay_h, samples, seed,
                                             pretreatment_h=pretreatment_h) for k in SLOPE_DOSES})


def condition_attractors(network, scenario: str, condition) -> pd.DataFrame:
    """Asynchronous attractors reached from the drug-on start of the condition's main setting (effective
    interventions), with the condition name; ``Death`` = 0 rows are survival attractors."""
    import biodivine_aeon as ba

    settings = condition_settings(condition, network, scenario)
    main = settings[-1]  # the mixture's last setting: every intervention and knockdown effective, every cargo loaded
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
