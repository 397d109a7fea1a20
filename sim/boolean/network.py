"""Boolean networks in BoolNet ``.bnet`` form: parsed into expression trees, never evaluated as Python.

A ``.bnet`` file has one rule per line, ``target, function``, with ``!`` (not), ``&`` (and), ``|`` (or),
parentheses and the constants ``0``/``1``/``true``/``false``; ``#`` starts a comment and an optional first line
``targets, factors`` is a header. A node that no rule defines but that a rule reads is an error; an input is written
``A, A``. Rules are tokenised and parsed by recursive descent into small tuples; :meth:`BooleanNetwork.evaluate`
computes a rule on NumPy arrays of states, so a malformed rule can only ever be a :class:`RuleSyntaxError` naming its
line and token.

References
----------
Müssel C, Hopfensitz M, Kestler HA (2010) BoolNet. Bioinformatics 26:1378 (the .bnet format).
Klarner H, Streck A, Siebert H (2017) PyBoolNet. Bioinformatics 33:770.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.errors import RuleSyntaxError, UnknownNameError
from sim.textfiles import read_utf8

_TOKEN = re.compile(r"(?P<name>[A-Za-z0-9_]+)|(?P<op>[!&|()])")
_SPACE = re.compile(r"\s*")
CONSTANTS = {"0": False, "1": True, "false": False, "true": True, "False": False, "True": True}
MAX_NESTING = 100  # '(' and '!' inside one another; real rules nest a few levels, and the parser is recursive


def _tokens(text: str, where: str) -> list[tuple[str, str, int]]:
    """(kind, value, column) tokens of a rule; an unknown character is a RuleSyntaxError."""
    out, pos = [], 0
    while (pos := _SPACE.match(text, pos).end()) < len(text):  # linear in the length of the rule
        m = _TOKEN.match(text, pos)
        if not m:
            raise RuleSyntaxError(f"{where}: unexpected character {text[pos]!r} at column {pos + 1}; rules use node "
                                  f"names, !, &, |, parentheses, 0 and 1.")
        kind = "name" if m.group("name") else "op"
        out.append((kind, m.group(kind), pos + 1))
        pos = m.end()
    return out


class _Parser:
    """Recursive descent: or := and ('|' and)* ; and := not ('&' not)* ; not := '!' not | atom ;
    atom := name | constant | '(' or ')'."""

    def __init__(self, tokens, where: str):
        self.tokens, self.i, self.where, self.depth = tokens, 0, where, 0

    def _deeper(self, tok):
        """Enter one more '(' or '!' (a RuleSyntaxError past MAX_NESTING, before Python's recursion limit)."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise RuleSyntaxError(f"{self.where}: nesting deeper than {MAX_NESTING} ('(' and '!' inside one "
                                  f"another) at column {tok[2]}; split the rule with intermediate nodes.")

    def _peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _fail(self, expected: str):
        tok = self._peek()
        found = f"'{tok[1]}' at column {tok[2]}" if tok else "the end of the rule"
        raise RuleSyntaxError(f"{self.where}: expected {expected}, found {found}.")

    def parse(self):
        if not self.tokens:
            raise RuleSyntaxError(f"{self.where}: the rule is empty; write e.g. 'A, B & !C' (an input: 'A, A').")
        tree = self._or()
        if self._peek() is not None:
            self._fail("'&', '|' or the end of the rule")
        return tree

    def _or(self):
        terms = [self._and()]
        while (tok := self._peek()) and tok[1] == "|":
            self.i += 1
            terms.append(self._and())
        return terms[0] if len(terms) == 1 else ("or", tuple(terms))

    def _and(self):
        terms = [self._not()]
        while (tok := self._peek()) and tok[1] == "&":
            self.i += 1
            terms.append(self._not())
        return terms[0] if len(terms) == 1 else ("and", tuple(terms))

    def _not(self):
        tok = self._peek()
        if tok and tok[1] == "!":
            self._deeper(tok)
            self.i += 1
            tree = ("not", self._not())
            self.depth -= 1
            return tree
        return self._atom()

    def _atom(self):
        tok = self._peek()
        if tok is None:
            self._fail("a node name, a constant or '('")
        if tok[1] == "(":
            self._deeper(tok)
            self.i += 1
            tree = self._or()
            if not (self._peek() and self._peek()[1] == ")"):
                self._fail("')'")
            self.i += 1
            self.depth -= 1
            return tree
        if tok[0] == "name":
            self.i += 1
            if tok[1] in CONSTANTS:
                return ("const", CONSTANTS[tok[1]])
            return ("var", tok[1])
        self._fail("a node name, a constant or '('")


def _variables(tree) -> set[str]:
    kind = tree[0]
    if kind == "var":
        return {tree[1]}
    if kind == "const":
        return set()
    if kind == "not":
        return _variables(tree[1])
    return set().union(*(_variables(t) for t in tree[1]))


def _to_text(tree, top: bool = True) -> str:
    kind = tree[0]
    if kind == "var":
        return tree[1]
    if kind == "const":
        return "1" if tree[1] else "0"
    if kind == "not":
        inner = _to_text(tree[1], False)
        return f"!{inner}"
    joiner = " & " if kind == "and" else " | "
    text = joiner.join(_to_text(t, False) for t in tree[1])
    return text if top else f"({text})"


@dataclass
class BooleanNetwork:
    """A parsed network: node order, one expression tree per node, where each rule came from.

    Attributes
    ----------
    nodes : list of str
        Node names in file order.
    rules : dict
        Node -> expression tree (nested tuples: ``("var", name)``, ``("const", bool)``, ``("not", t)``,
        ``("and", (t, ...))``, ``("or", (t, ...))``).
    source : dict
        Node -> ``"file:line"``.
    """

    nodes: list
    rules: dict
    source: dict = field(default_factory=dict)
    name: str = "network"

    @property
    def inputs(self) -> list[str]:
        """Nodes whose rule is themselves (``A, A``): held at their initial value."""
        return [n for n in self.nodes if self.rules[n] == ("var", n)]

    def regulators(self, node: str) -> set[str]:
        """Nodes read by ``node``'s rule."""
        return _variables(self.rules[node])

    def rule_text(self, node: str) -> str:
        """The rule of ``node`` as .bnet text."""
        return _to_text(self.rules[node])

    def fixed(self, values: dict[str, int | bool]) -> "BooleanNetwork":
        """A copy with some nodes held constant (knockout 0, overexpression 1); unknown names are errors."""
        for n in values:
            if n not in self.rules:
                raise UnknownNameError("node", n, self.nodes, f"network '{self.name}'")
        rules = dict(self.rules)
        for n, v in values.items():
            if v not in (0, 1, True, False):
                raise RuleSyntaxError(f"Node '{n}' can only be fixed to 0 or 1. Got {v!r}.")
            rules[n] = ("const", bool(v))
        return BooleanNetwork(list(self.nodes), rules, dict(self.source), self.name)

    def reduced(self, keep, values: dict) -> "BooleanNetwork":
        """The sub-network of the nodes in ``keep`` (file order), every other node read by their rules replaced by
        its constant in ``values`` (0 where not given): what a simulation needs when the rest cannot change."""
        keep = [n for n in self.nodes if n in set(keep)]

        def sub(tree):
            kind = tree[0]
            if kind == "var":
                return tree if tree[1] in keep else ("const", bool(values.get(tree[1], 0)))
            if kind == "const":
                return tree
            if kind == "not":
                return ("not", sub(tree[1]))
            return (kind, tuple(sub(t) for t in tree[1]))

        return BooleanNetwork(keep, {n: sub(self.rules[n]) for n in keep}, {n: self.source.get(n, "") for n in keep},
                              self.name)

    def to_bnet(self) -> str:
        """The network as .bnet text (header line, one rule per node)."""
        width = max(len(n) for n in self.nodes)
        return "targets, factors\n" + "".join(f"{n + ',':<{width + 1}} {self.rule_text(n)}\n" for n in self.nodes)

    def evaluate(self, node: str, states: np.ndarray) -> np.ndarray:
        """Next value of ``node`` for each row of ``states`` (bool array, one column per node in order)."""
        index = {n: i for i, n in enumerate(self.nodes)}
        return _eval(self.rules[node], states, index)

    def step_all(self, states: np.ndarray) -> np.ndarray:
        """Synchronous image: every node updated at once (bool array, same shape)."""
        index = {n: i for i, n in enumerate(self.nodes)}
        return np.column_stack([_eval(self.rules[n], states, index) for n in self.nodes])


def _eval(tree, states: np.ndarray, index: dict) -> np.ndarray:
    kind = tree[0]
    if kind == "var":
        return states[:, index[tree[1]]]
    if kind == "const":
        return np.full(states.shape[0], tree[1], dtype=bool)
    if kind == "not":
        return ~_eval(tree[1], states, index)
    parts = [_eval(t, states, index) for t in tree[1]]
    out = parts[0].copy()
    for p in parts[1:]:
        if kind == "and":
            out &= p
        else:
            out |= p
    return out


def parse_bnet(text: str, source: str = "<string>", name: str | None = None) -> BooleanNetwork:
    """Parse .bnet text.

    Raises
    ------
    RuleSyntaxError
        A line without ``target, function``, a bad node name, a malformed rule (the line and token are named), a
        node defined twice or a rule that reads an undefined node.
    """
    nodes, rules, where_of = [], {}, {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source}:{number}"
        if "," not in line:
            raise RuleSyntaxError(f"{where}: expected 'target, function', found {line!r}.")
        target, function = (part.strip() for part in line.split(",", 1))
        if target == "targets" and function == "factors":
            continue
        if not re.fullmatch(r"[A-Za-z0-9_]+", target) or target in CONSTANTS:
            raise RuleSyntaxError(f"{where}: {target!r} is not a node name (letters, digits and '_', as the "
                                  f"attractor engines and MaBoSS accept).")
        if target in rules:
            raise RuleSyntaxError(f"{where}: node '{target}' is defined twice (first at {where_of[target]}).")
        rules[target] = _Parser(_tokens(function, where), where).parse()
        nodes.append(target)
        where_of[target] = where
    if not nodes:
        raise RuleSyntaxError(f"{source}: no rules found; expected lines 'target, function'.")
    for n in nodes:
        missing = sorted(_variables(rules[n]) - set(rules))
        if missing:
            raise UnknownNameError("node", missing[0], nodes, f"{where_of[n]} (rule of '{n}')")
    return BooleanNetwork(nodes, rules, where_of, name or Path(source).stem)


def load_bnet(path: str | Path) -> BooleanNetwork:
    """Read and parse a .bnet file (RuleSyntaxError naming file and line on a malformed rule)."""
    path = Path(path)
    if not path.is_file():
        raise RuleSyntaxError(f"Boolean network file not found: {path}.")
    return parse_bnet(read_utf8(path, RuleSyntaxError, ".bnet files are UTF-8"), str(path), path.stem)
