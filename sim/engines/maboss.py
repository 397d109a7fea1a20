"""Stochastic continuous-time Boolean simulation with MaBoSS (``cmaboss``, installed from pip).

A :class:`sim.boolean.network.BooleanNetwork` is written as MaBoSS ``.bnd`` text with one up- and one down-rate per
node (default 1/h; inputs frozen), and a ``.cfg`` with initial states, time settings and the seed. The result holds
the probability of each node being on over time and at the end, and the fixed points reached. Rates are how a dose
enters: a drug or inhibitor raises or lowers a node's rate (as in PhysiBoSS-Drugs / PROFILE), which turns a logical
model into graded probability-of-death dose-response curves.

References
----------
Stoll G, Viara E, Barillot E, Calzone L (2012) Continuous time Boolean modeling for biological signaling: application
of Gillespie algorithm. BMC Syst Biol 6:116. Stoll G et al. (2017) MaBoSS 2.0. Bioinformatics 33:2226.
"""
from __future__ import annotations

import math
import os
import re
import tempfile
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.boolean.network import BooleanNetwork
from sim.engines.base import Engine
from sim.errors import InvalidValueError, SimulationError, UnknownNameError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = {"node", "and", "or", "not", "xor"}


def _num(x: float) -> str:
    """A number as MaBoSS reads it: plain decimals (it rejects exponent notation such as 1e-05)."""
    return f"{float(x):.12f}".rstrip("0").rstrip(".") or "0"


def to_bnd(network: BooleanNetwork, rates: dict | None = None) -> str:
    """MaBoSS network text; ``rates`` maps node -> (rate_up, rate_down[, rate_down while the logic is on]) in 1/h
    (default (1, 1, 0): a node follows its logic)."""
    rates = rates or {}
    lines = []
    for n in network.nodes:
        if not _NAME.match(n) or n.lower() in _RESERVED:
            raise InvalidValueError(f"Node name '{n}' is not allowed by MaBoSS (letters, digits, '_'; not a "
                                    f"keyword).")
        if n in network.inputs:
            lines.append(f"Node {n} {{ logic = {n}; rate_up = 0; rate_down = 0; }}")
            continue
        up, down, *on = rates.get(n, (1.0, 1.0))
        down_on = on[0] if on else 0.0  # a third rate: turn-over while the logic is still true (e.g. drug efflux)
        text = [_rate_text(n, r, network) for r in (up, down, down_on)]
        lines.append(f"Node {n} {{ logic = {network.rule_text(n)}; rate_up = @logic ? {text[0]} : 0; "
                     f"rate_down = @logic ? {text[2]} : {text[1]}; }}")
    return "\n".join(lines) + "\n"


_EXPRESSION = re.compile(r"^[A-Za-z0-9_.?:()*+/ -]+$")


def _rate_text(node: str, rate, network: BooleanNetwork) -> str:
    """A rate as MaBoSS text: a number (finite, >= 0), or an expression of node states (``A ? 0.5 : 0.1``, from
    :func:`sim.boolean.rates.maboss_rates`) whose names are nodes of the network."""
    if isinstance(rate, str):
        names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", rate))
        if not _EXPRESSION.match(rate) or not names <= set(network.rules):
            raise InvalidValueError(f"Rate expression of node '{node}' must use numbers, node names, ?, :, "
                                    f"parentheses and + - * /. Got {rate!r}.")
        return f"({rate})"
    if not (np.isfinite(rate) and rate >= 0):  # a negative rate crashes MaBoSS: refuse it here
        raise InvalidValueError(f"Rates of node '{node}' must be finite and >= 0 per h. Got {rate}.")
    return _num(rate)


@dataclass
class MaBoSSResult:
    """Node probabilities over time (``trajectories``: index time in h, one column per node; each row averages the
    window [t, t + time_tick)), at the end (``final``), the probability of each network state at the end
    (``final_states``: label = the active nodes joined by ' -- ', '<nil>' = none) and the fixed points reached
    (``fixed_points``: probability, active nodes)."""

    trajectories: pd.DataFrame
    final: pd.Series
    final_states: pd.Series
    fixed_points: pd.DataFrame


def simulate(network: BooleanNetwork, initial: dict, rates: dict | None = None, max_time: float = 72.0,
             time_tick: float = 1.0, samples: int = 5000, seed: int = 0) -> MaBoSSResult:
    """Run MaBoSS on ``network`` from ``initial`` (node -> 0, 1 or a probability of being on).

    Nodes missing from ``initial`` start at 0. Same seed -> identical result.

    Raises
    ------
    InvalidValueError
        An unknown node, a probability outside [0, 1], non-positive times or sample count.
    SimulationError
        MaBoSS rejected the model.
    """
    import cmaboss

    for n, p in initial.items():
        if n not in network.rules:
            raise InvalidValueError(f"Initial state names unknown node '{n}'.")
        if not 0 <= float(p) <= 1:
            raise InvalidValueError(f"Initial probability of '{n}' must be in [0, 1]. Got {p}.")
    if not (max_time > 0 and time_tick > 0 and samples >= 1):
        raise InvalidValueError(f"max_time, time_tick must be > 0 and samples >= 1. Got {max_time}, {time_tick}, "
                                f"{samples}.")
    istates = []
    for n in network.nodes:
        p = float(initial.get(n, 0.0))
        istates.append(f"{n}.istate = {int(p)};" if p in (0.0, 1.0)
                       else f"[{n}].istate = {_num(p)}[1], {_num(1 - p)}[0];")
    cfg = "\n".join(istates) + (f"\ntime_tick = {_num(time_tick)};\nmax_time = {_num(max_time)};"
                                f"\nsample_count = {int(samples)};"
                                f"\ndiscrete_time = 0;\nuse_physrandgen = 0;\nseed_pseudorandom = {int(seed)};"
                                f"\nthread_count = 1;\n")
    bnd = to_bnd(network, rates)  # bad names or rates fail here, as InvalidValueError
    fd, path = tempfile.mkstemp(suffix=".cfg")  # a config file, not a string: cmaboss aborts on bad config strings
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(cfg)
        try:
            sim = cmaboss.MaBoSSSim(network_str=bnd, config=path)
            result = sim.run()
        except Exception as exc:  # cmaboss.BNException
            raise SimulationError(f"MaBoSS rejected network '{network.name}': {exc}") from None
    finally:
        os.unlink(path)
    probs, times, labels = result.get_nodes_probtraj()[:3]
    traj = pd.DataFrame(np.asarray(probs), index=pd.Index(np.asarray(times), name="time_h"), columns=labels)
    traj = traj.reindex(columns=network.nodes, fill_value=0.0)
    last = sim.run(only_last_state=True)
    final_probs, _, final_labels = last.get_last_nodes_probtraj()[:3]
    final = pd.Series(np.asarray(final_probs)[0], index=final_labels).reindex(network.nodes, fill_value=0.0)
    state_probs, _, state_labels = last.get_last_probtraj()[:3]
    states = pd.Series(np.asarray(state_probs)[0], index=state_labels).sort_index()
    fps = pd.DataFrame([{"probability": p, "state": s} for p, s in result.get_fp_table().values()],
                       columns=["probability", "state"])
    return MaBoSSResult(traj, final, states, fps)


RATE_KINDS = ("up", "down", "down_on")  # value names "<node>.up", "<node>.down", "<node>.down_on" (1/h)
MAX_NODES = 64  # the node count cmaboss is built for


class MaBoSSEngine(Engine):
    """A Boolean network under MaBoSS, behind the engine contract (:mod:`sim.engines.base`).

    ``values`` of a run are node rates named ``<node>.up``, ``<node>.down`` and ``<node>.down_on`` (1/h; see
    :func:`to_bnd`; a node not named keeps (1, 1, 0)); ``start`` is the probability of each node being on at t = 0
    (nodes not named start off). A run of ``points`` rows has ``points - 1`` windows of ``end_time / (points - 1)``
    h, each row the mean probability of each node over its window [t, t + window), and a last row at ``end_time``
    with the probabilities at that instant. A network of more than MaBoSS's 64 nodes runs with its inputs folded in
    at their start values (exact: MaBoSS holds inputs frozen).

    Parameters
    ----------
    network : BooleanNetwork
    samples : int
        Trajectories per run.
    seed : int
        MaBoSS's pseudo-random seed: same seed, same result.
    """

    formalism = "maboss"
    compiles = False  # MaBoSS reads the network text at every run; there is nothing to keep
    defaults = {"samples": 5000, "seed": 0}

    def __init__(self, network: BooleanNetwork, samples: int = 5000, seed: int = 0):
        self.network, self.samples, self.seed = network, int(samples), int(seed)

    def check_selection(self, names) -> list[str]:
        for n in names:
            if n not in self.network.rules:
                raise UnknownNameError("node", n, self.network.nodes, f"network '{self.network.name}'")
        return list(names)

    def rates(self, values) -> dict[str, tuple]:
        """``values`` as the (up, down, down_on) rates :func:`to_bnd` takes; UnknownNameError for a bad name."""
        rates: dict[str, list] = {}
        for key, rate in values.items():
            node, _, kind = key.rpartition(".")
            if node not in self.network.rules or kind not in RATE_KINDS:
                valid = [f"{n}.{k}" for n in self.network.nodes for k in RATE_KINDS]
                raise UnknownNameError("node rate", key, valid, f"network '{self.network.name}'")
            rates.setdefault(node, [1.0, 1.0, 0.0])[RATE_KINDS.index(kind)] = (
                rate if isinstance(rate, str) else float(rate))
        return {n: tuple(r) for n, r in rates.items()}

    def run(self, values, end_time: float, points: int = 37, selections=None, start=None) -> pd.DataFrame:
        if points < 2:
            raise InvalidValueError(f"The number of time 'points' must be >= 2. Got {points}.")
        selections = self.check_selection(selections or self.network.nodes)
        # MaBoSS reads the tick with 12 decimals (_num); rounded down, it yields at least points - 1 whole windows
        tick = math.floor(end_time / (points - 1) * 1e12) / 1e12
        start = dict(start or {})
        network, held = self.network, {}
        if len(network.nodes) > MAX_NODES:  # inputs are frozen at their start value: fold them in, exactly
            held = {n: float(start.get(n, 0)) for n in network.inputs}
            if any(v not in (0.0, 1.0) for v in held.values()):
                raise InvalidValueError(f"Network '{network.name}' has {len(network.nodes)} nodes, more than "
                                        f"MaBoSS's {MAX_NODES}; its inputs can be folded in only with start values "
                                        f"0 or 1.")
            network = network.reduced([n for n in network.nodes if n not in held], held)
            start = {n: v for n, v in start.items() if n not in held}
        result = simulate(network, start, self.rates(values), max_time=end_time, time_tick=tick,
                          samples=self.samples, seed=self.seed)
        for n, v in held.items():
            result.trajectories[n] = v
            result.final[n] = v
        windows = result.trajectories[selections]
        if len(windows) < points - 1:
            raise SimulationError(f"MaBoSS returned {len(windows)} time windows of network '{self.network.name}' "
                                  f"for {points - 1} asked ({end_time:g} h in ticks of {tick:g} h).")
        table = pd.concat([windows.iloc[:points - 1], result.final[selections].to_frame(float(end_time)).T])
        table.index = np.linspace(0.0, float(end_time), points)  # the windows' starts, exactly
        return table.rename_axis("time").reset_index()
