"""Gene perturbations of a knockout screen: what they are, how they are written, and the screen's design.

A perturbation is a knockout (expression 0), a knockdown (a remaining fraction of normal expression) or an
overexpression (a fold) of one gene node of ``models/tables/genes.tsv``, in the cancer cell or in the CAF (the
EV-supply genes SMPD3 = nSMase2, RAB27A and RAB27B are CAF genes). It is written as text so that it can be a column of
a tidy table and a point of a sweep: ``PTEN:KO``, ``PTEN:KD=0.2``, ``STAT3:OE=5``; a pair joins two with `` & ``
(``PTEN:KO & STAT3:KO``), and ``WT`` is the unperturbed wild type. The text is parsed with a regular expression,
never evaluated. A perturbation is applied as a condition of the experiment (``knockouts``, ``knockdowns``,
``overexpression`` of :class:`sim.conditions.Condition`), never as a copied model.

Gene names may also be given by their Boolean node name (``nSMase2`` -> ``SMPD3``, ``AKT`` -> ``AKT1``;
the ``ode_gene`` column of ``models/boolean/nodes.tsv``).
"""
from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

import pandas as pd

from sim.boolean.conditions import ode_gene_nodes
from sim.catalogue import load_catalogue
from sim.errors import InvalidValueError, UnknownNameError

WILD_TYPE = "WT"
KINDS = {"knockout": "KO", "knockdown": "KD", "overexpression": "OE"}
_TOKEN = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*:\s*(KO|KD|OE)\s*(?:=\s*([0-9.eE+\-]+))?\s*$")


@dataclass(frozen=True)
class Perturbation:
    """One gene perturbation: ``kind`` is ``KO``, ``KD`` (``level`` = remaining fraction, 0 < level < 1) or ``OE``
    (``level`` = fold > 1)."""

    gene: str
    kind: str = "KO"
    level: float | None = None

    def __post_init__(self):
        if self.kind not in KINDS.values():
            raise InvalidValueError(f"Perturbation of '{self.gene}': the kind must be KO, KD or OE. Got {self.kind!r}.")
        if self.kind == "KO" and self.level is not None:
            raise InvalidValueError(f"Perturbation '{self.gene}:KO' takes no level (a knockout is expression 0).")
        if self.kind == "KD" and not (self.level is not None and 0 < self.level < 1):
            raise InvalidValueError(f"Perturbation '{self.gene}:KD': the level is the remaining expression fraction, "
                                    f"0 < level < 1 (e.g. {self.gene}:KD=0.2). Got {self.level!r}.")
        if self.kind == "OE" and not (self.level is not None and math.isfinite(self.level) and self.level > 1):
            raise InvalidValueError(f"Perturbation '{self.gene}:OE': the level is the expression fold, > 1 "
                                    f"(e.g. {self.gene}:OE=5). Got {self.level!r}.")

    @property
    def label(self) -> str:
        return f"{self.gene}:{self.kind}" + ("" if self.level is None else f"={self.level:g}")


def parse(text: str) -> tuple[Perturbation, ...]:
    """The perturbations of a label (``WT`` -> none); InvalidValueError for anything else."""
    if text.strip() == WILD_TYPE:
        return ()
    out = []
    for part in text.split("&"):
        match = _TOKEN.match(part)
        if not match:
            raise InvalidValueError(f"Cannot read the perturbation {part.strip()!r} in {text!r}: expected GENE:KO, "
                                    f"GENE:KD=fraction or GENE:OE=fold (pairs joined with ' & '), or 'WT'.")
        gene, kind, level = match.groups()
        try:
            value = None if level is None else float(level)
        except ValueError:
            raise InvalidValueError(f"Cannot read the level {level!r} of {part.strip()!r} as a number.") from None
        out.append(Perturbation(gene, kind, value))
    genes = [p.gene for p in out]
    if len(set(genes)) != len(genes):
        raise InvalidValueError(f"The perturbation {text!r} names gene '{genes[0]}' twice.")
    return tuple(out)


def label(perturbations) -> str:
    """The text of one or more perturbations (``WT`` for none)."""
    return " & ".join(p.label for p in perturbations) or WILD_TYPE


def gene_aliases() -> dict[str, str]:
    """Boolean node name -> ODE gene name (``nSMase2`` -> ``SMPD3``)."""
    return {node: gene for gene, node in ode_gene_nodes().items() if node != gene}


def screen_genes(cell: str = "cancer") -> list[str]:
    """The gene nodes (kind rna or activity) of ``cell`` (``cancer``, ``CAF`` or ``all``), in genes.tsv order."""
    if cell not in ("cancer", "CAF", "all"):
        raise InvalidValueError(f"The screened cell must be 'cancer', 'CAF' or 'all'. Got {cell!r}.")
    rows = load_catalogue().genes.values()
    return [r["gene"] for r in rows if r["kind"] in ("rna", "activity") and cell in ("all", r["cell"])]


def resolve_genes(names, where: str = "screen.genes") -> list[str]:
    """ODE gene names of ``names`` (Boolean aliases resolved); UnknownNameError with a did-you-mean otherwise."""
    genes = load_catalogue().genes
    aliases = gene_aliases()
    out = []
    for name in names:
        gene = aliases.get(name, name)
        if gene not in genes:
            raise UnknownNameError("gene node", name, sorted(set(genes) | set(aliases)), where)
        out.append(gene)
    return out


def apply(condition: dict, perturbations) -> dict:
    """``condition`` (Condition keywords) with the perturbations added to its knockouts, knockdowns and
    overexpression."""
    out = {**condition, "knockouts": list(condition.get("knockouts", [])),
           "knockdowns": dict(condition.get("knockdowns", {})),
           "overexpression": dict(condition.get("overexpression", {}))}
    for p in perturbations:
        if p.kind == "KO":
            out["knockouts"].append(p.gene)
        elif p.kind == "KD":
            out["knockdowns"][p.gene] = p.level
        else:
            out["overexpression"][p.gene] = p.level
    return out


def design(genes, kinds=(("KO", None),), pairwise: bool = False, conditions=("condition",)) -> pd.DataFrame:
    """The screen's points: wild type, every single perturbation and (``pairwise``) every pair of genes, each
    under every condition. One row per point: ``point``, ``perturbation`` (label), ``condition``, ``size`` (0, 1
    or 2 genes).

    ``kinds`` are (kind, level) pairs applied to every gene; pairs combine the same kind on two different genes.
    """
    if not genes:
        raise InvalidValueError("A screen needs at least one gene.")
    if len(set(genes)) != len(genes):
        raise InvalidValueError(f"Screen genes must be unique. Got {', '.join(genes)}.")
    if pairwise and len(genes) < 2:
        raise InvalidValueError("A pairwise screen needs at least two genes.")
    singles = [[Perturbation(g, k, lv)] for k, lv in kinds for g in genes]
    pairs = ([[Perturbation(a, k, lv), Perturbation(b, k, lv)] for k, lv in kinds
              for a, b in itertools.combinations(genes, 2)] if pairwise else [])
    rows = [{"perturbation": label(p), "condition": c, "size": len(p)}
            for p in [[]] + singles + pairs for c in conditions]
    table = pd.DataFrame(rows)
    table.insert(0, "point", range(len(table)))
    return table
