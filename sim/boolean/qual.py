"""SBML-qual (SBML Level 3 Qualitative Models, version 1) export of Boolean networks, written with libsbml.

One ``qualitativeSpecies`` per node (``maxLevel`` 1, in one compartment), one ``transition`` per node that has a
rule, in the form of the CoLoMoTo tools (bioLQM/GINsim, Naldi et al. 2018):

- an **input** (``A, A``: held at the value an experiment gives it) is a species with ``constant="true"`` and no
  transition; readers such as biodivine-aeon read it back as a free input, the same ``A, A``;
- a **constant rule** (``A, 1``, a constitutive gene) is a transition without inputs whose default term is the
  constant (the node can still be knocked out by a condition, which a constant species could not say);
- any other rule is a transition whose ``input`` elements are the rule's regulators, each with its ``sign``
  (``positive``/``negative``/``dual`` from the function's truth table; ``unknown`` for a regulator the function does
  not depend on) and ``transitionEffect="none"``, one ``output`` (``assignmentLevel``), a default term 0 and one
  function term of level 1 whose MathML is the rule (``X == 1`` for a literal; constants folded away first).

**Identifiers.** A species id must be an SBML SId (``[A-Za-z_][A-Za-z0-9_]*``, SBML L3V1 core, section 3.1.7); a
.bnet node name is ``[A-Za-z0-9_]+``, so only a name that starts with a digit differs: it becomes ``_`` + name (more
``_`` if that is taken), and every species keeps the node name as its ``name``. The shipped model's names are all
SIds already, so its ids are its node names. Transition ids are ``tr_<id>`` (a longer prefix if a node id starts
with ``tr_``), inputs ``tr_<id>_in_<regulator id>``, outputs ``tr_<id>_out``, the compartment ``cell``.

What SBML-qual cannot carry: ``rates.tsv`` (the MaBoSS rates of graded nodes) and the conditions of an experiment;
``nodes.tsv``'s meaning of each node goes into the species' notes when given.

References
----------
Chaouiya C, Bérenguier D, Keating SM, Naldi A, van Iersel MP, Rodriguez N, Dräger A, Büchel F, Cokelaer T,
Kowal B, Wicks B, Gonçalves E, Dorier J, Page M, Monteiro PT, von Kamp A, Xenarios I, de Jong H, Hucka M, Klamt S,
Thieffry D, Le Novère N, Saez-Rodriguez J, Helikar T (2013) SBML qualitative models: a model representation format
and infrastructure to foster interactions between qualitative modelling formalisms and tools. BMC Syst Biol 7:135.
Naldi A, Hernandez C, Levy N, Stoll G, Monteiro PT, Chaouiya C, Helikar T, Zinovyev A, Calzone L, Cohen-Boulakia
S, Thieffry D, Paulevé L (2018) The CoLoMoTo interactive notebook. Front Physiol 9:680 (bioLQM's SBML-qual export).
"""
from __future__ import annotations

import itertools
import re
from html import escape
from pathlib import Path

import numpy as np

from sim.boolean.network import BooleanNetwork
from sim.errors import ModelBuildError
from sim.sbml import check_sbml

QUAL_NS = "http://www.sbml.org/sbml/level3/version1/qual/version1"
SID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_SIGN_REGULATORS = 20  # signs from a truth table of 2^k rows; a rule reading more gets sign "unknown"


def species_ids(nodes) -> dict[str, str]:
    """Node name -> SBML species id (unchanged where the name is an SId, else ``_`` + name, unique)."""
    ids, used = {}, set(n for n in nodes if SID.fullmatch(n))
    for n in nodes:
        if SID.fullmatch(n):
            ids[n] = n
            continue
        candidate = "_" + n
        while candidate in used:
            candidate = "_" + candidate
        ids[n] = candidate
        used.add(candidate)
    return ids


def _fold(tree):
    """The tree with constants folded away: a constant, or a tree without any constant inside."""
    kind = tree[0]
    if kind in ("var", "const"):
        return tree
    if kind == "not":
        inner = _fold(tree[1])
        return ("const", not inner[1]) if inner[0] == "const" else ("not", inner)
    absorbing = kind == "or"  # True absorbs an 'or', False an 'and'
    parts = []
    for t in (_fold(t) for t in tree[1]):
        if t[0] == "const":
            if t[1] == absorbing:
                return ("const", absorbing)
            continue  # the neutral constant
        parts.append(t)
    if not parts:
        return ("const", not absorbing)
    return parts[0] if len(parts) == 1 else (kind, tuple(parts))


def _variables(tree) -> list[str]:
    """Variables of a tree in first-read order."""
    if tree[0] == "var":
        return [tree[1]]
    if tree[0] == "const":
        return []
    children = [tree[1]] if tree[0] == "not" else tree[1]
    return list(dict.fromkeys(v for t in children for v in _variables(t)))


def regulator_signs(network: BooleanNetwork, node: str) -> dict[str, str]:
    """Sign of each regulator of ``node``'s rule from its truth table: ``positive`` (the function never falls when
    the regulator rises), ``negative``, ``dual`` (both), ``unknown`` (no effect, or more than
    :data:`MAX_SIGN_REGULATORS` regulators)."""
    tree = _fold(network.rules[node])
    regs = _variables(tree)
    if not regs or len(regs) > MAX_SIGN_REGULATORS:
        return {r: "unknown" for r in regs}
    columns = regs if node in regs else regs + [node]
    sub = BooleanNetwork(columns, {**{c: ("var", c) for c in columns}, node: tree}, name=network.name)
    states = np.array(list(itertools.product((False, True), repeat=len(regs))), dtype=bool)
    if node not in regs:
        states = np.column_stack([states, np.zeros(len(states), dtype=bool)])
    values = sub.evaluate(node, states)
    signs = {}
    for i, r in enumerate(regs):
        low, high = ~states[:, i], states[:, i]
        f0, f1 = values[low], values[high]  # rows pair up: the same other regulators, r = 0 then r = 1
        rises, falls = bool(np.any(f1 & ~f0)), bool(np.any(f0 & ~f1))
        signs[r] = "dual" if rises and falls else "positive" if rises else "negative" if falls else "unknown"
    return signs


def _math(tree, ids: dict):
    """libsbml ASTNode of a folded rule: ``id == 1`` per literal, and/or/not as MathML."""
    import libsbml

    kind = tree[0]
    if kind == "var":
        eq = libsbml.ASTNode(libsbml.AST_RELATIONAL_EQ)
        name = libsbml.ASTNode(libsbml.AST_NAME)
        name.setName(ids[tree[1]])
        one = libsbml.ASTNode(libsbml.AST_INTEGER)
        one.setValue(1)
        eq.addChild(name)
        eq.addChild(one)
        return eq
    if kind == "not":
        node = libsbml.ASTNode(libsbml.AST_LOGICAL_NOT)
        node.addChild(_math(tree[1], ids))
        return node
    node = libsbml.ASTNode(libsbml.AST_LOGICAL_AND if kind == "and" else libsbml.AST_LOGICAL_OR)
    for t in tree[1]:
        node.addChild(_math(t, ids))
    return node


def _check(status: int, what: str) -> None:
    import libsbml

    if status != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise ModelBuildError(f"SBML-qual export: libsbml refused {what} "
                              f"({libsbml.OperationReturnValue_toString(status)}).")


def to_sbml_qual(network: BooleanNetwork, notes: dict[str, str] | None = None, model_id: str | None = None) -> str:
    """The network as an SBML L3V1 qual document (text).

    Parameters
    ----------
    network : BooleanNetwork
        Any parsed network (.bnet or SBML-qual).
    notes : dict, optional
        Node -> a line of text (e.g. nodes.tsv's meaning), written as the species' notes.
    model_id : str, optional
        The model's id (default: the network's name made an SId).

    Raises
    ------
    ModelBuildError
        libsbml refused an element (should not happen for a parsed network).
    """
    import libsbml

    ns = libsbml.SBMLNamespaces(3, 1, "qual", 1)
    doc = libsbml.SBMLDocument(ns)
    doc.setPackageRequired("qual", True)
    model = doc.createModel()
    mid = model_id or re.sub(r"\W", "_", network.name)
    _check(model.setId(mid if SID.fullmatch(mid) else f"_{mid}"), f"the model id {mid!r}")
    model.setName(network.name)
    ids = species_ids(network.nodes)
    taken = set(ids.values())
    compartment = "cell"
    while compartment in taken:
        compartment = "_" + compartment
    comp = model.createCompartment()
    _check(comp.setId(compartment), "the compartment")
    comp.setConstant(True)
    prefix = "tr_"
    while any(i.startswith(prefix) for i in ids.values()):
        prefix = "_" + prefix
    qual = model.getPlugin("qual")
    inputs = set(network.inputs)
    for n in network.nodes:
        sp = qual.createQualitativeSpecies()
        _check(sp.setId(ids[n]), f"the species id {ids[n]!r}")
        sp.setName(n)
        sp.setCompartment(compartment)
        sp.setMaxLevel(1)
        sp.setConstant(n in inputs)
        if notes and notes.get(n):
            _check(sp.setNotes(f'<body xmlns="http://www.w3.org/1999/xhtml"><p>{escape(notes[n])}</p></body>'),
                   f"the notes of {n!r}")
    for n in network.nodes:
        if n in inputs:
            continue
        tr = qual.createTransition()
        tid = prefix + ids[n]
        _check(tr.setId(tid), f"the transition id {tid!r}")
        tree = _fold(network.rules[n])
        for reg, sign in regulator_signs(network, n).items():
            inp = tr.createInput()
            inp.setId(f"{tid}_in_{ids[reg]}")
            inp.setQualitativeSpecies(ids[reg])
            inp.setTransitionEffect(libsbml.INPUT_TRANSITION_EFFECT_NONE)
            inp.setSign(getattr(libsbml, f"INPUT_SIGN_{sign.upper()}"))
        out = tr.createOutput()
        out.setId(f"{tid}_out")
        out.setQualitativeSpecies(ids[n])
        out.setTransitionEffect(libsbml.OUTPUT_TRANSITION_EFFECT_ASSIGNMENT_LEVEL)
        default = tr.createDefaultTerm()
        if tree[0] == "const":
            default.setResultLevel(int(tree[1]))
            continue
        default.setResultLevel(0)
        term = tr.createFunctionTerm()
        term.setResultLevel(1)
        _check(term.setMath(_math(tree, ids)), f"the rule of {n!r}")
    return libsbml.writeSBMLToString(doc)


def check_sbml_qual(text: str) -> list[str]:
    """libsbml's errors (and fatal errors) on reading ``text`` and after its full consistency check, one line each."""
    return check_sbml(text, units=True)


def write_sbml_qual(network: BooleanNetwork, path: str | Path, notes: dict[str, str] | None = None) -> Path:
    """Write ``network`` as SBML-qual to ``path`` after libsbml's consistency check.

    Raises
    ------
    ModelBuildError
        The document fails libsbml's check (the errors are listed).
    """
    text = to_sbml_qual(network, notes)
    problems = check_sbml_qual(text)
    if problems:
        raise ModelBuildError("SBML-qual consistency check failed:\n" + "\n".join(problems[:20]))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
