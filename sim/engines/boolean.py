"""The Boolean engine: attractors (biodivine-aeon, asynchronous; exhaustive, synchronous), fixed points, minimal
trap spaces, and reading/writing .bnet and SBML-qual.

Networks are :class:`sim.boolean.network.BooleanNetwork` objects (parsed, never eval-ed); aeon receives their
normalised .bnet text. Results are tidy tables: one row per attractor with ``attractor``, ``kind`` (``fixed``;
``cyclic`` for a synchronous cycle; ``complex`` for an asynchronous attractor of more than one state), ``size``
(number of states) and one column per node holding ``0``/``1`` where the node is constant over the attractor and
``*`` where it takes both values.

References
----------
Beneš N, Brim L, Huvar O, Pastva S, Šafránek D (2023) Boolean network sketches / AEON.py. Bioinformatics 39:btad158.
Trinh VG, Benhamou B, Pastva S, Soliman S (2024) Scalable enumeration of trap spaces in Boolean networks.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.boolean.exhaustive import attractor_states
from sim.boolean.network import BooleanNetwork, load_bnet, parse_bnet
from sim.boolean.qual import QUAL_NS, write_sbml_qual
from sim.errors import InvalidValueError, RuleSyntaxError
from sim.textfiles import read_utf8


def aeon_network(network: BooleanNetwork, fixed: dict | None = None):
    """The network as an aeon BooleanNetwork with ``fixed`` nodes made constant (regulation graph inferred)."""
    import biodivine_aeon as ba

    net = network.fixed(fixed) if fixed else network
    return ba.BooleanNetwork.from_bnet(net.to_bnet(), repair_graph=True).infer_valid_graph()


def _pattern(values: dict, nodes: list[str]) -> list[str]:
    return [("1" if values[n] else "0") if n in values else "*" for n in nodes]


def attractor_table(network: BooleanNetwork, patterns: list[tuple[int, dict]], update: str) -> pd.DataFrame:
    """Tidy attractor table from (size, {node: constant value}) pairs, sorted (fixed points first)."""
    rows = []
    for size, constant in sorted(patterns, key=lambda p: (p[0], _pattern(p[1], network.nodes))):
        kind = "fixed" if size == 1 else ("cyclic" if update == "sync" else "complex")
        rows.append([kind, int(size)] + _pattern(constant, network.nodes))
    table = pd.DataFrame(rows, columns=["kind", "size"] + list(network.nodes))
    table.insert(0, "attractor", range(1, len(table) + 1))
    return table


MAX_FREE_INPUTS = 10  # each free input doubles the attractors (one set per input combination)


def attractors(network: BooleanNetwork, update: str = "async", fixed: dict | None = None,
               method: str = "auto", max_free_inputs: int | None = MAX_FREE_INPUTS) -> pd.DataFrame:
    """All attractors of ``network`` with ``fixed`` nodes held (knockouts, overexpression, inputs).

    Parameters
    ----------
    update : {"async", "sync"}
        Asynchronous (symbolic, biodivine-aeon) or synchronous (exact enumeration, small networks).
    method : {"auto", "aeon", "exhaustive"}
        ``auto``: aeon for async, enumeration for sync; ``exhaustive`` forces enumeration (the independent check).
    max_free_inputs : int or None
        Refuse (before any work) a network with more unfixed inputs than this: every input combination has its own
        attractors, so 2^n analyses. None lifts the limit.
    """
    if update not in ("async", "sync"):
        raise InvalidValueError(f"The 'update' must be 'async' or 'sync'. Got {update!r}.")
    if method not in ("auto", "aeon", "exhaustive"):
        raise InvalidValueError(f"The 'method' must be 'auto', 'aeon' or 'exhaustive'. Got {method!r}.")
    fixed = dict(fixed or {})
    free_inputs = [n for n in network.inputs if n not in fixed]
    if max_free_inputs is not None and len(free_inputs) > max_free_inputs:
        raise InvalidValueError(f"Network '{network.name}' has {len(free_inputs)} unfixed inputs, so 2^"
                                f"{len(free_inputs)} input combinations each with their own attractors (limit "
                                f"{max_free_inputs}). Fix inputs (--fix NODE=0/1), or lift the limit with "
                                f"--all-inputs. Unfixed: {', '.join(free_inputs[:12])}"
                                f"{' ...' if len(free_inputs) > 12 else ''}.")
    if update == "sync" or method == "exhaustive":
        if method == "aeon":
            raise InvalidValueError("aeon has no synchronous update; use method='exhaustive' for update='sync'.")
        found = attractor_states(network, update, fixed)
        patterns = []
        for states in found:
            const = {n: bool(states[0, i]) for i, n in enumerate(network.nodes)
                     if np.all(states[:, i] == states[0, i])}
            patterns.append((len(states), const))
        return attractor_table(network, patterns, update)
    import biodivine_aeon as ba

    graph = ba.AsynchronousGraph(aeon_network(network, fixed))
    patterns = []
    for a in ba.Attractors.attractors(graph):
        vertices = a.vertices()
        patterns.append((vertices.cardinality(), dict(vertices.enclosing_named_subspace())))
    return attractor_table(network, patterns, update)


def fixed_points(network: BooleanNetwork, fixed: dict | None = None) -> pd.DataFrame:
    """Fixed points (aeon), one row per state, columns = nodes (0/1)."""
    import biodivine_aeon as ba

    graph = ba.AsynchronousGraph(aeon_network(network, fixed))
    points = ba.FixedPointsComp.create_from(graph).symbolic_vertices()
    rows = [{n: int(bool(v)) for n, v in s.to_named_dict().items()} for s in points]
    return pd.DataFrame(rows, columns=network.nodes).sort_values(network.nodes).reset_index(drop=True)


def minimal_trap_spaces(network: BooleanNetwork, fixed: dict | None = None) -> pd.DataFrame:
    """Minimal trap spaces (aeon), one row per space, node columns ``0``/``1``/``*`` (free)."""
    import biodivine_aeon as ba

    spaces = ba.TrapSpacesComp.create_from(aeon_network(network, fixed)).minimal_symbolic().spaces()
    rows = [_pattern({k: v for k, v in s.to_named_dict().items() if v is not None}, network.nodes) for s in spaces]
    return pd.DataFrame(sorted(rows), columns=network.nodes)


def summary_line(table: pd.DataFrame) -> str:
    """``N attractors: F fixed, C cyclic/complex``."""
    fixed = int((table["kind"] == "fixed").sum())
    return f"{len(table)} attractors: {fixed} fixed, {len(table) - fixed} cyclic/complex"


def load_network(path: str | Path) -> BooleanNetwork:
    """Read a .bnet file, or an SBML-qual file (.sbml/.xml, through aeon), as a BooleanNetwork."""
    path = Path(path)
    if path.suffix.lower() in (".sbml", ".xml"):
        import biodivine_aeon as ba

        if not path.is_file():
            raise RuleSyntaxError(f"Boolean network file not found: {path}.")
        text = read_utf8(path, RuleSyntaxError, "SBML files are UTF-8")
        if QUAL_NS not in text:
            raise RuleSyntaxError(f"{path}: not an SBML-qual model: the document does not declare the qual package "
                                  f"({QUAL_NS}); an ODE model's SBML has no logical rules to read.")
        try:
            net = ba.BooleanNetwork.from_sbml(text)
        except RuntimeError as exc:
            raise RuleSyntaxError(f"{path}: not a readable SBML-qual model: {str(exc).rstrip('.')}.") from None
        lines = []
        for name in net.variable_names():
            fn = net.get_update_function(name)
            if fn is None:  # no transition: an input, held at its value
                lines.append(f"{name}, {name}")
            else:
                lines.append(f"{name}, {fn}")
        return parse_bnet("\n".join(lines), str(path), path.stem)
    return load_bnet(path)


def save_network(network: BooleanNetwork, path: str | Path) -> Path:
    """Write ``network`` as .bnet or, for a .sbml/.xml name, SBML-qual (:mod:`sim.boolean.qual`: libsbml, checked;
    aeon's own ``to_sbml`` writes species without a compartment, which libsbml's validation rejects)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".sbml", ".xml"):
        write_sbml_qual(network, path)
    else:
        path.write_text(network.to_bnet(), encoding="utf-8")
    return path
