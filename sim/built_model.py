"""The result of a build: the interactions a scenario selects (:class:`Interaction`) and the model itself
(:class:`BuiltModel`: Antimony text, parameter defaults with their documentation, SBML, hash and line origins).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from sim.antimony_origins import ANTIMONY_WORDS, Origin
from sim.catalogue import Catalogue, model_id
from sim.errors import ModelBuildError


@dataclass(frozen=True)
class Interaction:
    """One cargo -> target pair as the model uses it (duplicate rows from several papers merged)."""

    cargo: str
    kind: str
    target: str
    effect: str
    resistance: str
    references: tuple
    delivered: bool  # True: carried by EVs; False: present in the receiving cell
    lines: tuple = ()  # lines of models/tables/cargo.tsv the pair comes from

    @property
    def key(self) -> str:
        return f"{self.cargo}>{self.target}"

    def location(self, cat: Catalogue) -> str:
        """``.../cargo.tsv:12``: the first cargo row of this pair."""
        path = cat.root / "tables" / "cargo.tsv"
        return f"{path}:{self.lines[0]}" if self.lines else str(path)

    def where(self, cat: Catalogue) -> str:
        """``.../cargo.tsv:12 (row 'miR-21>PTEN')``: the cargo rows of this pair."""
        more = f", also line{'s' if len(self.lines) > 2 else ''} {', '.join(map(str, self.lines[1:]))}" \
            if len(self.lines) > 1 else ""
        return f"{self.location(cat)} (row '{self.key}'{more})"


def delivered_cargo(interactions) -> list[str]:
    """Model ids of the cargo the EVs carry (each once, in the order of the pairs)."""
    return list(dict.fromkeys(model_id(it.cargo) for it in interactions if it.delivered))


@dataclass
class BuiltModel:
    """A model assembled for one scenario: Antimony text, SBML, parameter defaults and their documentation.

    Attributes
    ----------
    name : str
        Scenario name (or ``"custom"``).
    antimony : str
        The full Antimony text.
    defaults : dict
        Parameter name -> default value (scenario overrides applied).
    docs : dict
        Parameter name -> dict(unit, source, meaning).
    interactions : list of Interaction
        The cargo/cellular pairs in the model.
    mirnas : dict
        miRNA name -> model id.
    drug : str or None
        The scenario's drug code.
    preset : dict
        The scenario preset (scenarios.toml), including its ``delivery`` regimes.
    complexes : dict
        ``(miRNA id, RNA) -> complex``: each species holding a loaded miRNA on an RNA (a target site's RNA is its
        gene; background sites, sponges and lncRNAs by their species).
    """

    name: str
    antimony: str
    defaults: dict
    docs: dict
    interactions: list
    mirnas: dict
    drug: str | None = None
    preset: dict = field(default_factory=dict)
    origins: list = field(default_factory=list, repr=False, compare=False)  # one Origin per line of ``antimony``
    complexes: dict = field(default_factory=dict)  # (miRNA id, RNA it holds) -> complex species

    @property
    def loaded(self) -> dict:
        """miRNA id -> the species that hold its Ago-loaded copies: its free RISC and its complexes."""
        return {m: (f"{m}_RISC", *(cx for (held_by, _), cx in self.complexes.items() if held_by == m))
                for m in self.mirnas.values()}

    @property
    def delivered_cargo(self) -> list[str]:
        """Model ids of the cargo the EVs carry (each once, in the order of the pairs)."""
        return delivered_cargo(self.interactions)

    @cached_property
    def sbml(self) -> str:
        """SBML Level 3 text of the model (converted by antimony).

        Raises
        ------
        ModelBuildError
            Antimony rejects the text; the message names the module (or template, or table row) and the line in it.
        """
        import antimony

        antimony.clearPreviousLoads()
        if antimony.loadAntimonyString(self.antimony) < 0:
            raise ModelBuildError(self._antimony_error(antimony.getLastError().strip()))
        return antimony.getSBMLString(antimony.getMainModuleName())

    def origin(self, line: int) -> Origin | None:
        """The file and line that line ``line`` (1-based) of :attr:`antimony` was made from, or None."""
        return self.origins[line - 1] if 0 < line <= len(self.origins) else None

    def _definitions(self, name: str, most: int = 4) -> list[Origin]:
        """Where ``name`` is declared, given a value or a rule, or labels a reaction (module and template lines);
        failing that, where it is used."""
        n = re.escape(name)
        return (self._lines_matching(re.compile(rf"(?:^|;)\s*{n}\s*(?::|=)|^\s*species\b[^;]*\b{n}\b"), most)
                or self._lines_matching(re.compile(rf"(?<![A-Za-z_]){n}(?![A-Za-z0-9_])"), most))

    def _lines_matching(self, pattern: re.Pattern, most: int) -> list[Origin]:
        found = []
        for i, text in enumerate(self.antimony.split("\n"), 1):
            origin = self.origin(i)
            if origin is not None and origin.path is not None and pattern.search(text.split("//", 1)[0]):
                found.append(origin)
                if len(found) == most:
                    break
        return found

    def _antimony_error(self, message: str) -> str:
        """Antimony's message with its line (of the assembled text) mapped back to the module file and line."""
        head = f"Antimony rejected the model for scenario '{self.name}'"
        m = re.match(r"Error in model string, line (\d+):\s*", message)
        detail = message[m.end():] if m else message
        line = int(m.group(1)) if m else None
        origin = self.origin(line) if line else None
        detail = detail.strip()
        detail += "" if detail.endswith((".", "!", "?")) else "."
        if origin is not None and origin.path is not None:
            text = self.antimony.split("\n")[line - 1].strip()
            return f"{origin}: {head}: {detail} The line reads: {text!r} (line {line} of the assembled model)."
        # Reported at the end of the model (an SBML consistency error): point at the names the message quotes.
        names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", re.sub(r"//[^\n]*", "", self.antimony))) - ANTIMONY_WORDS
        places = [(n, o) for n in dict.fromkeys(re.findall(r"'([A-Za-z_][A-Za-z0-9_]*)'", detail))
                  if n in names and (o := self._definitions(n))]
        at = f" (line {line} of the assembled model)" if line else ""
        if not places:
            return f"{head}{at}: {detail}"
        defined = "; ".join(f"'{n}' at {', '.join(map(str, o))}" for n, o in places)
        return f"{places[0][1][-1]}: {head}{at}: {detail}\nWhere the names it quotes are defined or used: {defined}."

    @cached_property
    def model_hash(self) -> str:
        """SHA-256 of the SBML text: identifies the exact model in results metadata."""
        return hashlib.sha256(self.sbml.encode()).hexdigest()

    def parameter_table(self) -> pd.DataFrame:
        """Every parameter with its default value, unit, source and meaning (one row per parameter)."""
        rows = [{"name": n, "value": v, **self.docs[n]} for n, v in sorted(self.defaults.items())]
        return pd.DataFrame(rows, columns=["name", "value", "unit", "source", "meaning"])

    def species(self) -> list[str]:
        """Names of the model's species (state variables)."""
        return sorted({s.strip() for line in re.findall(r"^species ([^;]+);", self.antimony, flags=re.M)
                       for s in line.split(",")})

    def write_sbml(self, path: str | Path) -> Path:
        """Write the SBML to ``path`` and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.sbml, encoding="utf-8")
        return path
