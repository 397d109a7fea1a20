"""The logical assay: the Boolean counterpart of :mod:`sim.protocol`, and the readouts built on it.

Protocol: the cell starts in the drug-free steady state of its condition (EVs, cargo and interventions already
acting), then the drug is switched on. In MaBoSS (:class:`sim.engines.maboss.MaBoSSEngine`) the drug enters as the
up-rate of ``Drug_in`` (``DRUG_GAIN`` x dose / the drug's reference IC50, per h; down-rate 1/h also while the drug
is present, so the fraction of time the drug is active is graded in dose) and death as slow commitment rates of
``Apoptosis`` and ``Ferroptosis`` (``DEATH_RATE``), so the probability of ``Death`` after the assay time is graded in
dose. A condition's partial effects are a weighted mixture of settings (:mod:`sim.boolean.conditions`). The
asynchronous attractors reached from the drug-on start (biodivine-aeon) give each condition's possible outcomes.

References
----------
Stoll G et al. (2017) MaBoSS 2.0: an environment for stochastic Boolean modeling. Bioinformatics 33:2226-2228.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.boolean.conditions import condition_settings, network_path
from sim.boolean.network import BooleanNetwork, load_bnet
from sim.catalogue import load_catalogue
from sim.engines import engine_for
from sim.engines.boolean import aeon_network, attractor_table
from sim.errors import SimulationError

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
