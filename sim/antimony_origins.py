"""Where each line of an assembled Antimony model comes from, and the checks that use it to name the file and line
to fix: a statement Antimony would silently misread (:func:`lint`), or a name with no value (:func:`missing_symbols`).

:mod:`sim.build` gives every line of the text it assembles an :class:`Origin` (:func:`file_origins` for a module read
from a file), then runs both checks; :data:`IDENTIFIER` and :data:`ANTIMONY_WORDS` tell the names of a model from the
words of the language.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sim.errors import ModelBuildError, closest

IDENTIFIER = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")  # a name in Antimony text
ANTIMONY_WORDS = {"species", "compartment", "model", "end", "const", "var", "function", "exp", "log", "ln", "pow",
                  "piecewise", "and", "or", "not", "time", "sqrt", "abs", "min", "max", "floor",
                  "at", "t0", "true", "false"}  # at ... t0=true: an event (its label is defined by build's E_ rule)


@dataclass(frozen=True)
class Origin:
    """Where one line of the assembled Antimony text comes from, so that an error names the file and line to fix.

    Attributes
    ----------
    path : Path or None
        The module, template or table the line was made from (None: text sim.build writes itself).
    line : int or None
        1-based line in ``path``.
    note : str
        What the line was made for, e.g. ``"gene 'PTEN', .../genes.tsv:7"`` for a template line.
    cells : tuple
        ``(identifiers, Origin)`` of table cells substituted into the line (a gene's ``tx_input``), so a bad name in
        such a cell is blamed on the table row rather than the template.
    """

    path: Path | None = None
    line: int | None = None
    note: str = ""
    cells: tuple = ()

    def __str__(self) -> str:
        if self.path is None:
            where = "sim.build (generated text)"
        else:
            where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where} ({self.note})" if self.note else where


def file_origins(path: Path, text: str) -> list[Origin]:
    """One :class:`Origin` per line of ``text``, read from ``path`` (lines numbered from 1)."""
    return [Origin(path, i) for i in range(1, text.count("\n") + 2)]


_REACTION = re.compile(r"^\s*(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*:(?!=)[^;]*?(?:->|=>)[^;]*;(?P<rate>[^;]*)")
_ASSIGNMENT = re.compile(r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>:=|=)\s*(?P<rhs>.*?)\s*$")


def lint(lines: list[str], origins: list) -> None:
    """Reject what Antimony would accept silently and get wrong: a reaction without its 'J_...:' label (Antimony
    reads ``J1 A -> B`` as stoichiometry J1), without a rate law, or defined twice (the last silently wins); an
    assignment with nothing on its right-hand side; a ':=' rule defined twice. Names the file and line."""
    reactions, rules, changed = {}, {}, {}
    for text, origin in zip(lines, origins):
        code = text.split("//", 1)[0]
        if not code.strip():
            continue
        if "->" in code or "=>" in code:
            m = _REACTION.match(code)
            if not m:
                raise ModelBuildError(f"{origin}: expected a reaction 'J_name: reactants -> products; rate law;', "
                                      f"found {code.strip()!r}.")
            label = m.group("label")
            if not label.startswith("J_"):
                raise ModelBuildError(f"{origin}: expected a reaction label starting with 'J_' (sim.build tells "
                                      f"reactions from parameters by it), found '{label}'.")
            if not m.group("rate").strip():
                raise ModelBuildError(f"{origin}: reaction '{label}' has no rate law; expected "
                                      f"'{label}: reactants -> products; rate law;'.")
            if label in reactions:
                raise ModelBuildError(f"{origin}: reaction '{label}' is already defined at {reactions[label]}; "
                                      f"expected one definition (Antimony would silently keep the last).")
            reactions[label] = origin
            sides = code[code.index(":", m.end("label")) + 1:code.index(";")]
            # $X is a boundary species, which may have rules
            for species in IDENTIFIER.findall(re.sub(r"->|=>|\$[A-Za-z0-9_]*", " ", sides)):
                changed.setdefault(species, (label, origin))
            continue
        for statement in code.split(";"):
            m = _ASSIGNMENT.match(statement)
            if not m:
                continue
            name, op = m.group("name"), m.group("op")
            if not m.group("rhs"):
                raise ModelBuildError(f"{origin}: '{name} {op}' has nothing on its right-hand side; expected an "
                                      f"expression, found {statement.strip()!r}.")
            if op == ":=":
                if name in rules:
                    raise ModelBuildError(f"{origin}: '{name}' is already defined by a ':=' rule at {rules[name]}; "
                                          f"expected one definition (Antimony would silently keep the last).")
                rules[name] = origin
    for name, origin in rules.items():
        if name in changed:
            label, at = changed[name]
            raise ModelBuildError(f"{origin}: '{name}' is set by a ':=' rule here and also changed by reaction "
                                  f"'{label}' at {at}; expected one or the other (SBML forbids both).")


def _first_use(lines: list[str], origins: list, symbol: str) -> Origin:
    """Where ``symbol`` is first used; a name that came from a table cell (a gene's tx_input) is blamed on the row."""
    for text, origin in zip(lines, origins):
        if symbol in IDENTIFIER.findall(text.split("//", 1)[0]):
            for names, cell in origin.cells:
                if symbol in names:
                    used = f", used in {origin.path.name}:{origin.line}" if origin.path is not None else ""
                    return Origin(cell.path, cell.line, f"{cell.note}{used}")
            return origin
    return Origin()


def missing_symbols(lines: list[str], origins: list, missing: list[str], known: set, params: Path) -> str:
    """The error message for the ``missing`` symbols of ``lines`` (one :class:`Origin` per line in ``origins``):
    one line per symbol, '<file>:<line>: 'k_x' has no row in <params> ... Did you mean 'k_y'?', naming where the
    symbol is first used and suggesting the closest of the ``known`` names."""
    out = []
    for symbol in missing:
        suggestion = closest(symbol, known - {symbol})
        hint = f" Did you mean '{suggestion}'?" if suggestion else ""
        out.append(f"{_first_use(lines, origins, symbol)}: '{symbol}' has no row in {params} and no definition in "
                   f"the model; expected a parameter row (name, value, unit, source, meaning) or a species, ':=' rule "
                   f"or reaction of that name.{hint}")
    return "\n".join(out)
