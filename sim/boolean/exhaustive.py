"""Exact attractors by exhaustive state-transition graphs, for small networks.

Every state of the free nodes is enumerated (nodes fixed by a knockout are held at their value), the synchronous or
asynchronous state-transition graph is built as a sparse matrix, and the attractors are its terminal strongly
connected components (scipy.sparse.csgraph). This is the synchronous engine of cafev and the independent check of
the symbolic asynchronous engine (biodivine-aeon) on published networks. Cost grows as 2^n: up to
``MAX_FREE_NODES`` free nodes.

References
----------
Garg A, Di Cara A, Xenarios I, Mendoza L, De Micheli G (2008) Synchronous versus asynchronous modeling of gene
regulatory networks. Bioinformatics 24:1917-1925 (attractors as terminal SCCs of the state-transition graph).
"""
from __future__ import annotations

import numpy as np

from sim.errors import InvalidValueError

MAX_FREE_NODES = 22


def _state_space(network, fixed: dict) -> tuple[np.ndarray, list[int]]:
    """All states (bool matrix, one column per node) with ``fixed`` nodes held; and the free node indices."""
    nodes = network.nodes
    free = [i for i, n in enumerate(nodes) if n not in fixed]
    if len(free) > MAX_FREE_NODES:
        raise InvalidValueError(f"Exhaustive analysis of '{network.name}' would enumerate 2^{len(free)} states; it "
                                f"is limited to {MAX_FREE_NODES} free nodes. Fix inputs or use the asynchronous "
                                f"symbolic engine (biodivine-aeon).")
    codes = np.arange(2 ** len(free), dtype=np.int64)
    states = np.zeros((codes.size, len(nodes)), dtype=bool)
    for bit, i in enumerate(free):
        states[:, i] = (codes >> bit) & 1
    for n, v in fixed.items():
        states[:, nodes.index(n)] = bool(v)
    return states, free


def _codes(states: np.ndarray, free: list[int]) -> np.ndarray:
    out = np.zeros(states.shape[0], dtype=np.int64)
    for bit, i in enumerate(free):
        out |= states[:, i].astype(np.int64) << bit
    return out


def _terminal_components(n_states: int, src: np.ndarray, dst: np.ndarray) -> list[np.ndarray]:
    from scipy.sparse import coo_matrix  # SciPy loads only when an exhaustive search runs (`import sim` stays fast)
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(src.size, dtype=np.int8), (src, dst)), shape=(n_states, n_states)).tocsr()
    _, labels = connected_components(graph, directed=True, connection="strong")
    leaves = labels[src] != labels[dst]
    not_terminal = np.zeros(labels.max() + 1, dtype=bool)
    not_terminal[labels[src[leaves]]] = True
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(labels.max() + 2))
    return [order[bounds[c]:bounds[c + 1]] for c in range(labels.max() + 1) if not not_terminal[c]]


def attractor_states(network, update: str = "async", fixed: dict | None = None) -> list[np.ndarray]:
    """Attractors as bool state matrices (rows = states, columns = ``network.nodes``), sorted canonically.

    Parameters
    ----------
    network : BooleanNetwork
    update : {"async", "sync"}
        Asynchronous (one node changes per transition; general asynchronous semantics) or synchronous.
    fixed : dict, optional
        Node -> 0/1 held for the whole analysis (knockout / overexpression / input value).
    """
    if update not in ("async", "sync"):
        raise InvalidValueError(f"The 'update' must be 'async' or 'sync'. Got {update!r}.")
    fixed = dict(fixed or {})
    net = network.fixed(fixed) if fixed else network
    states, free = _state_space(net, fixed)
    image = net.step_all(states)
    codes = np.arange(states.shape[0], dtype=np.int64)
    if update == "sync":
        src, dst = codes, _codes(image, free)
    else:
        srcs, dsts = [codes], [codes]  # self-loops keep fixed points terminal components of size 1
        for bit, i in enumerate(free):
            moves = image[:, i] != states[:, i]
            srcs.append(codes[moves])
            dsts.append(codes[moves] ^ (np.int64(1) << bit))
        src, dst = np.concatenate(srcs), np.concatenate(dsts)
    components = _terminal_components(states.shape[0], src, dst)
    found = [states[np.sort(c)] for c in components]
    return sorted(found, key=lambda s: (len(s), s[0].tobytes()))


def sync_cycle_order(network, states: np.ndarray) -> np.ndarray:
    """The states of a synchronous cycle in the order the dynamics visits them (starting at the first row)."""
    index = {s.tobytes(): k for k, s in enumerate(states)}
    order, current = [], states[0]
    for _ in range(len(states)):
        order.append(index[current.tobytes()])
        current = network.step_all(current[None, :])[0]
    return states[order]
