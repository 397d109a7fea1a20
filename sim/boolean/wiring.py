"""One network, two formalisms: the signed interactions of the ODE model against the edges of the logical model.

The ODE side is read from what the ODE is built from (issue #15): the rate laws and assignment rules of the process
modules and the gene template in the built SBML (a symbol Y acts on X with the sign of the partial derivative of X's
rate law (times X's stoichiometry) or rule, found numerically at random positive points and kept only where every point
agrees), the cargo and cellular pairs of cargo.tsv (a miRNA represses its target, a sponge titrates its miRNA, protein
cargo brings its target). The miRNA binding machinery (Ago pool, sites, background sites) is left out of the symbol
graph and read from those pairs instead, since its mass-action steps carry both signs between a miRNA and its target and
link every miRNA to every other through the shared Ago pool. Assignment rules that no node holds are substituted into
the laws that read them, so a saturating law has the sign of the whole; growth dilution (``division_rate``) and the cell
count (``N_cancer``) are not passed (:data:`BARRIERS`). Symbols are grouped into Boolean nodes by the ``ode_symbols``
column of ``models/boolean/nodes.tsv``; an ODE interaction between two nodes is a path from a symbol of one to a symbol
of the other through symbols no node holds, with the product of the signs along it.

The Boolean side is the sign of each literal in a node's rule (cafev.bnet) and the reads of its rate law (rates.tsv).
"""
from __future__ import annotations

import csv
import fnmatch
import math
import random
import zlib
from functools import lru_cache
from pathlib import Path

from sim.boolean.conditions import network_path, node_symbols, node_table
from sim.boolean.network import BooleanNetwork
from sim.catalogue import model_id
from sim.errors import InvalidValueError

# the binding machinery, read from the cargo pairs instead
BINDING_TEMPLATES = ("mirna_site.ant", "mirna_binding.ant", "ago_pool.ant", "background_sites.ant")
BARRIERS = {  # symbols a path does not pass: properties of the population, not interactions inside a cell
    "division_rate": "growth dilutes every per-cell species and is slowed by cytostatic drug action, so any two "
                     "per-cell species would be linked both ways through it",
    "N_cancer": "the cell count scales EV consumption and death counts, so any death route would act on every "
                "count through it",
}
POINTS = 20  # random evaluation points per partial derivative (a sign that changes inside the range is 0)


def _evaluate(node, env: dict) -> float:
    """Value of a libsbml AST with names from ``env`` (the operators SBML rate laws of cafev use). Node kinds are read
    with the node's own predicates, not type numbers: once tellurium has loaded its libraries, a node's type number
    need not match this module's constants."""
    kids = [node.getChild(i) for i in range(node.getNumChildren())]
    if node.isName():
        return env[node.getName()]
    if node.isNumber():
        return node.getValue()
    if node.isConstant() and node.getName() in ("exponentiale", "pi"):
        return math.e if node.getName() == "exponentiale" else math.pi
    vals = [_evaluate(k, env) for k in kids]
    op = str(node.getCharacter()) if node.isOperator() else (node.getName() or "")
    if op == "+":
        return sum(vals)
    if op == "-":
        return -vals[0] if len(vals) == 1 else vals[0] - vals[1]
    if op == "*":
        return math.prod(vals)
    if op == "/":
        return vals[0] / vals[1]
    if op in ("^", "pow", "power"):
        return vals[0] ** vals[1]
    if op == "abs":
        return abs(vals[0])
    if op == "exp":
        return math.exp(vals[0])
    if op == "ln":
        return math.log(vals[0])
    import libsbml

    raise InvalidValueError(f"The wiring check cannot evaluate SBML math {libsbml.formulaToL3String(node)!r}.")


def _sign(math_ast, name: str, names: set, centre: dict, seed: int) -> int:
    """+1 / -1 when d(math)/d(name) has that sign at every one of ``POINTS`` random points near the model's values
    (each value x 0.5 to 1.5; 0.1 to 1 where the value is 0), 0 otherwise (mixed or none). The points are drawn from
    ``seed`` in name order, so the answer does not depend on the process (set order changes with the hash seed)."""
    rng = random.Random(seed)
    order = sorted(names)
    signs = set()
    for _ in range(POINTS):
        env = {n: abs(centre[n]) * rng.uniform(0.5, 1.5) if centre.get(n) else rng.uniform(0.1, 1.0) for n in order}
        h = 1e-6 * env[name]
        up, down = dict(env), dict(env)
        up[name] += h
        down[name] -= h
        d, f = _evaluate(math_ast, up) - _evaluate(math_ast, down), _evaluate(math_ast, env)
        elasticity = d / (2e-6 * abs(f)) if f else d  # relative change per relative change of the name
        signs.add(0 if abs(elasticity) < 1e-6 else (1 if d > 0 else -1))
    return signs.pop() if len(signs) == 1 else 0


def _origin_file(model, sbml_id: str) -> str:
    """The file name of the Antimony line that defines ``sbml_id`` (a reaction label or a ``:=`` rule)."""
    for i, text in enumerate(model.antimony.split("\n"), 1):
        code = text.split("//", 1)[0]
        if code.lstrip().startswith(f"{sbml_id}:") or code.lstrip().startswith(f"{sbml_id} :="):
            origin = model.origin(i)
            return origin.path.name if origin is not None and origin.path is not None else ""
    return ""


def symbol_influences(model, keep: set) -> set[tuple[str, str, int]]:
    """(source symbol, target symbol, sign) of the SBML of ``model``, without the miRNA binding machinery.

    Assignment-rule variables outside ``keep`` (the symbols Boolean nodes hold) are substituted into the laws that
    read them before a derivative is taken, so a saturating law (uptake falling with the EV concentration it
    multiplies) has the sign of the whole law, not of its parts."""
    import libsbml

    doc = libsbml.readSBMLFromString(model.sbml)
    m = doc.getModel()
    rules = {}
    for i in range(m.getNumRules()):  # by index: libsbml lists iterate wrongly once libsedml is loaded
        rule = m.getRule(i)
        if rule.isAssignment():
            rules[rule.getVariable()] = rule.getMath()
    centre = {k: float(v) for k, v in model.defaults.items() if isinstance(v, (int, float))}
    for i in range(m.getNumSpecies()):
        sp = m.getSpecies(i)
        centre.setdefault(sp.getId(), sp.getInitialConcentration() if sp.isSetInitialConcentration()
                          else sp.getInitialAmount() if sp.isSetInitialAmount() else 1.0)

    machinery = {v for v in rules if _origin_file(model, v) in BINDING_TEMPLATES}  # leaves: Ago pool, occupancy

    def inline(math_ast):
        ast = math_ast.deepCopy()
        for _ in range(50):
            inner = [n for n in set(_names(ast)) if n in rules and n not in keep | machinery and n not in BARRIERS]
            if not inner:
                return ast
            for n in inner:
                ast.replaceArgument(n, rules[n])
        raise InvalidValueError("The wiring check found assignment rules that read each other in a cycle.")

    out = set()

    def add(math_ast, targets: list[tuple[str, int]], where: str):
        if _origin_file(model, where) in BINDING_TEMPLATES:
            return
        ast = inline(math_ast)
        names = set(_names(ast))
        for name in sorted(names):
            s = _sign(ast, name, names, centre, zlib.crc32(f"{where}/{name}".encode()))
            if s:
                for target, stoich in targets:
                    if target != name:
                        out.add((name, target, s * stoich))

    for i in range(m.getNumReactions()):
        r = m.getReaction(i)
        if r.getKineticLaw() is None:
            continue
        net: dict[str, float] = {}
        for j in range(r.getNumReactants()):
            ref = r.getReactant(j)
            net[ref.getSpecies()] = net.get(ref.getSpecies(), 0.0) - ref.getStoichiometry()
        for j in range(r.getNumProducts()):
            ref = r.getProduct(j)
            net[ref.getSpecies()] = net.get(ref.getSpecies(), 0.0) + ref.getStoichiometry()
        add(r.getKineticLaw().getMath(), [(s, 1 if v > 0 else -1) for s, v in net.items() if v], r.getId())
    for variable, math_ast in rules.items():
        if variable in keep:
            add(math_ast, [(variable, 1)], variable)
    for i in range(m.getNumInitialAssignments()):  # a dose added at t = 0 (EV_med from ev_added_ug)
        ia = m.getInitialAssignment(i)
        if ia.getSymbol() in keep:
            add(ia.getMath(), [(ia.getSymbol(), 1)], ia.getSymbol())
    return out


def _names(math_ast) -> list[str]:
    found, todo = [], [math_ast]
    while todo:
        node = todo.pop()
        if node.isName():
            found.append(node.getName())
        todo.extend(node.getChild(i) for i in range(node.getNumChildren()))
    return found


def pair_interactions(model, symbols: dict) -> set[tuple[str, str, int]]:
    """Node-level interactions of the cargo and cellular pairs: delivery (EV_in and the Load_* input -> cargo),
    a cellular miRNA's Cell_* input -> the miRNA, and the pair's own effect (repress -1, sponge -1, carry +1)."""
    holder = {s: n for n, syms in symbols.items() for s in syms}
    out = set()
    for it in model.interactions:
        cargo = "Pgp_EV" if it.effect == "carry" else model_id(it.cargo)
        target = holder.get(model_id(it.target), model_id(it.target))
        if it.delivered:
            load = "Load_Pgp" if it.effect == "carry" else f"Load_{model_id(it.cargo)}"
            out |= {(load, cargo, 1), ("CAF_source", cargo, 1)}  # EV_in -> cargo: the escape step, in the SBML
        else:
            out.add((f"Cell_{model_id(it.cargo)}", cargo, 1))
        out.add((cargo, target, 1 if it.effect in ("carry", "activate") else -1))
    return out


def contract(influences, symbols: dict) -> set[tuple[str, str, int]]:
    """Node-level (source, target, sign): paths between two nodes' symbols through symbols no node holds."""
    holder: dict[str, set] = {}
    for n, syms in symbols.items():
        for s in syms:
            holder.setdefault(s, set()).add(n)
    succ: dict[str, list] = {}
    for a, b, s in influences:
        if a not in BARRIERS and b not in BARRIERS:
            succ.setdefault(a, []).append((b, s))
    out = set()
    for node, syms in symbols.items():
        seen, todo = set(), [(s, 1) for s in syms]
        while todo:
            sym, sign = todo.pop()
            for nxt, s in succ.get(sym, ()):
                key = (nxt, sign * s)
                if key in seen:
                    continue
                seen.add(key)
                if nxt in holder:
                    out |= {(node, other, sign * s) for other in holder[nxt] if other != node}
                else:
                    todo.append(key)
    return out


def resolved_symbols(model, patterns: dict) -> dict[str, tuple[str, ...]]:
    """Node -> the SBML ids of ``model`` its ``ode_symbols`` name (shell patterns allowed: ``*_med`` = every
    cargo's copies in the medium)."""
    import libsbml

    m = libsbml.readSBMLFromString(model.sbml).getModel()
    ids = [m.getSpecies(i).getId() for i in range(m.getNumSpecies())]
    ids += [m.getParameter(i).getId() for i in range(m.getNumParameters())]
    ids += [m.getRule(i).getVariable() for i in range(m.getNumRules()) if m.getRule(i).isAssignment()]
    return {n: tuple(i for p in pats for i in (fnmatch.filter(ids, p) if any(c in p for c in "*?[") else [p]))
            for n, pats in patterns.items()}


def ode_interactions(models) -> set[tuple[str, str, int]]:
    """Signed node-level interactions of the ODE, over ``models`` (built models; their union)."""
    out = set()
    for model in models:
        symbols = resolved_symbols(model, node_symbols())
        keep = {s for syms in symbols.values() for s in syms}
        out |= contract(symbol_influences(model, keep), symbols) | pair_interactions(model, symbols)
    return out


def literal_signs(tree, sign: int = 1) -> set[tuple[str, int]]:
    """(variable, sign) of every literal in a rule tree (a negation flips the sign)."""
    kind = tree[0]
    if kind == "var":
        return {(tree[1], sign)}
    if kind == "const":
        return set()
    if kind == "not":
        return literal_signs(tree[1], -sign)
    return set().union(*(literal_signs(t, sign) for t in tree[1]))


@lru_cache(maxsize=2)
def rate_reads(root: Path | None = None) -> tuple[tuple[str, str, int], ...]:
    """(read, node, sign) of rates.tsv's ``reads`` column."""
    path = network_path(root).with_name("rates.tsv")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t"))
    out = []
    for r in rows:
        for token in (r["reads"] or "").split():
            if token[0] not in "+-":
                raise InvalidValueError(f"{path}: reads of '{r['node']}' must be signed node names (+A -B). "
                                        f"Got {token!r}.")
            out.append((token[1:], r["node"], 1 if token[0] == "+" else -1))
    return tuple(out)


def boolean_edges(network: BooleanNetwork) -> set[tuple[str, str, int]]:
    """Signed edges of the logical model: rule literals and rate-law reads."""
    out = {(v, n, s) for n in network.nodes if n not in network.inputs for v, s in literal_signs(network.rules[n])
           if v != n}
    return out | {e for e in rate_reads() if e[0] != e[1]}


def note_for(edge: tuple[str, str, int], notes: dict) -> str | None:
    """The wiring note of ``edge`` (a note's source may be a shell pattern, e.g. ``Load_*``)."""
    source, target, sign = edge
    for (pattern, t, s), why in notes.items():
        if t == target and s == sign and fnmatch.fnmatchcase(source, pattern):
            return why
    return None


def unmatched(ode: set, boolean: set) -> tuple[list, list]:
    """(ODE interactions without a Boolean edge of the same sign, Boolean edges without an ODE interaction of the
    same sign), each a sorted list of (source, target, sign)."""
    return sorted(ode - boolean), sorted(boolean - ode)


def wiring_notes(root: Path | None = None) -> dict[tuple[str, str, int], str]:
    """(source, target, sign) -> the reason in the ``wiring_notes`` column of nodes.tsv (on the target's row)."""
    out = {}
    for row in node_table(root):
        for entry in filter(None, (e.strip() for e in (row.get("wiring_notes") or "").split(" | "))):
            head, _, why = entry.partition(":")
            head = head.strip()
            if head[:1] not in "+-" or not why.strip():
                raise InvalidValueError(f"nodes.tsv wiring_notes of '{row['node']}': expected '+SOURCE: why' or "
                                        f"'-SOURCE: why'. Got {entry!r}.")
            out[(head[1:], row["node"], 1 if head[0] == "+" else -1)] = why.strip()
    return out
