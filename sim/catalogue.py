"""Read and check the biology tables in ``models/``: parameters (and their ranges), genes, cargo, drugs,
interventions, scenarios.

Every table is a tab-separated file with ``#`` comment lines and a header row. Reading checks the header, that every
required cell is filled, and that numbers parse; a problem raises :class:`sim.errors.TableError` naming the file and
line. Scenario presets live in ``models/scenarios.toml`` (read and checked by :mod:`sim.scenarios`).
"""
from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sim.errors import TableError, UnknownNameError, closest
from sim.identifiers import ID_COLUMNS, ID_FORMS, check_annotations, molecule_identifiers
from sim.scenarios import check_scenario_pairs, read_scenarios
from sim.textfiles import PLACEHOLDERS, read_utf8

def _models_dir() -> Path:
    """Where the model files are: ``$CAFEV_MODELS`` if set, else the checkout's ``models/`` beside ``sim/`` (a
    source tree or an editable install), else the copy installed with the package (``sim/_models`` of a wheel)."""
    if os.environ.get("CAFEV_MODELS"):
        return Path(os.environ["CAFEV_MODELS"])
    checkout = Path(__file__).resolve().parent.parent / "models"
    if (checkout / "scenarios.toml").is_file() and (checkout / "ode").is_dir():
        return checkout
    return Path(__file__).resolve().parent / "_models"  # installed beside the package (pyproject: sim._models)


MODELS_DIR = _models_dir()

TABLE_COLUMNS = {
    "parameters": ("name", "value", "unit", "source", "meaning"),
    "genes": ("gene", "cell", "kind", "mrna_copies", "protein_half_life", "endogenous", "tx_input", "hgnc", "uniprot",
              "mirbase", "meaning", "source"),
    "cargo": ("cargo", "kind", "mirbase", "hgnc", "uniprot", "target", "effect", "resistance", "cancer", "drug",
              "reference", "note"),
    "drugs": ("drug", "name", "chebi", "potency_uM", "ic50_ref_uM", "unit", "w_damage", "w_ros", "w_cytostatic",
              "ent2", "abcb1", "esr1", "working_max_uM", "caf_loading_ec50_uM", "reference", "note"),
    "interventions": ("id", "name", "target", "mechanism", "ic50", "unit", "hill", "emax", "working_dose",
                      "reference", "note"),
    "parameter_ranges": ("name", "low", "high", "unit", "scale", "source"),
    "species_annotations": ("species", "qualifier", "identifiers", "meaning", "source"),
}
REQUIRED = {
    "parameters": ("name", "value", "unit", "source", "meaning"),
    "genes": ("gene", "cell", "kind", "meaning", "source"),
    "cargo": ("cargo", "kind", "target", "effect", "resistance", "reference"),
    "drugs": ("drug", "name", "chebi", "potency_uM", "ic50_ref_uM", "unit", "w_damage", "w_ros", "w_cytostatic",
              "ent2", "abcb1", "esr1", "working_max_uM", "caf_loading_ec50_uM", "reference"),
    "interventions": ("id", "name", "target", "mechanism", "unit", "hill", "emax", "working_dose", "reference"),
    "parameter_ranges": ("name", "low", "high", "unit", "scale", "source"),
    "species_annotations": ("species", "qualifier", "identifiers", "meaning", "source"),
}
CHOICES = {
    ("genes", "kind"): {"rna", "activity", "mirna"},
    ("genes", "cell"): {"cancer", "CAF"},
    ("cargo", "kind"): {"miRNA", "lncRNA", "circRNA", "protein", "mRNA"},
    ("cargo", "effect"): {"repress", "sponge", "activate", "carry"},
    ("cargo", "resistance"): {"+", "-"},
    ("interventions", "mechanism"): {"inhibit", "fraction"},
    ("parameter_ranges", "scale"): {"lin", "log"},
    ("species_annotations", "qualifier"): {"is", "isVersionOf", "hasVersion", "hasPart", "isPartOf", "isEncodedBy",
                                           "encodes", "isHomologTo", "isDescribedBy", "occursIn", "hasProperty",
                                           "isPropertyOf", "hasTaxon"},  # BioModels qualifiers (bqbiol:)
}
KEY = {"parameters": "name", "genes": "gene", "drugs": "drug", "interventions": "id",  # one row per key
       "parameter_ranges": "name"}
DOC_COLUMNS = ("unit", "source", "meaning", "reference")  # documentation a placeholder cannot stand in for
_PARAMETER_NAME = re.compile(r"(?:[A-Za-z_]|\{(?:gene|mirna|cargo)\})(?:[A-Za-z0-9_]|\{(?:gene|mirna|cargo)\})*")
NUMERIC = {
    "parameters": ("value",),
    "genes": ("mrna_copies", "protein_half_life", "endogenous"),
    "drugs": ("potency_uM", "ic50_ref_uM", "w_damage", "w_ros", "w_cytostatic", "ent2", "abcb1", "esr1",
              "working_max_uM", "caf_loading_ec50_uM"),
    "interventions": ("ic50", "hill", "emax", "working_dose"),
    "parameter_ranges": ("low", "high"),
}


def model_id(name: str) -> str:
    """Turn a biological name into a model identifier: ``miR-146a-5p`` -> ``miR_146a_5p``."""
    ident = re.sub(r"[^0-9A-Za-z_]", "_", name.strip())
    return ident if not ident[:1].isdigit() else "_" + ident


def _row_label(kind: str, row: dict) -> str:
    """`` (parameter 'k_pten')``: which row a message is about, or '' when its key cell is empty."""
    if kind == "parameter_ranges":
        return f" (range of parameter '{row['name']}')" if row.get("name") else ""
    if kind == "species_annotations":
        return f" (species '{row['species']}')" if row.get("species") else ""
    if kind == "cargo":
        pair = f"{row.get('cargo', '')}>{row.get('target', '')}"
        return f" (cargo pair '{pair}')" if pair != ">" else ""
    key = row.get(KEY[kind], "")
    return f" ({kind.rstrip('s')} '{key}')" if key else ""


def read_table(path: Path, kind: str) -> list[dict]:
    """Read one TSV table, check it, and return its rows as dicts with ``_line`` (1-based line in the file).

    A row is rejected (:class:`TableError` naming the file, the line, the row and the column) when it has the wrong
    number of cells, an empty required cell (unit, source, meaning, reference...), a placeholder such as ``NA`` or
    ``TODO`` for its documentation, a number that does not parse, a value outside a column's choices, a parameter
    name that is no model identifier, or the key of an earlier row.
    """
    if not path.exists():
        raise TableError(f"Model table '{path}' is missing; expected a tab-separated file with columns "
                         f"{', '.join(TABLE_COLUMNS[kind])}.")
    lines = read_utf8(path, TableError, "tables are tab-separated UTF-8 text").splitlines()
    body = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")]
    if not body:
        raise TableError(f"{path}: no header row found.")
    header_line, header = body[0]
    columns = [c.strip() for c in header.split("\t")]
    if tuple(columns) != TABLE_COLUMNS[kind]:
        raise TableError(f"{path}:{header_line}: expected the columns {', '.join(TABLE_COLUMNS[kind])} "
                         f"(tab-separated). Got: {', '.join(columns)}.")
    rows, first_line = [], {}
    for lineno, text in body[1:]:
        cells = next(csv.reader([text], delimiter="\t"))
        if len(cells) != len(columns):
            label = _row_label(kind, dict(zip(columns, (c.strip() for c in cells))))
            raise TableError(f"{path}:{lineno}: expected {len(columns)} tab-separated cells ({', '.join(columns)}), "
                             f"found {len(cells)}{label}.")
        row = {c: v.strip() for c, v in zip(columns, cells)}
        label = _row_label(kind, row)
        for col in REQUIRED[kind]:
            if not row[col]:
                raise TableError(f"{path}:{lineno}: the '{col}' cell is empty{label}; every {kind} row needs a "
                                 f"{col}.")
            if col in DOC_COLUMNS and row[col].lower() in PLACEHOLDERS:
                raise TableError(f"{path}:{lineno}: the '{col}' cell holds the placeholder '{row[col]}'{label}; "
                                 f"every {kind} row needs a real {col}.")
        if kind == "parameters" and not _PARAMETER_NAME.fullmatch(row["name"]):
            raise TableError(f"{path}:{lineno}: 'name' must be a model identifier (letters, digits and _, not "
                             f"starting with a digit; templates may hold {{gene}}, {{mirna}} or {{cargo}}). "
                             f"Got '{row['name']}'.")
        for col in NUMERIC.get(kind, ()):
            if row[col]:
                try:
                    value = float(row[col])
                except ValueError:
                    raise TableError(f"{path}:{lineno}: '{col}' must be a number. "
                                     f"Got '{row[col]}'{label}.") from None
                if not math.isfinite(value):
                    raise TableError(f"{path}:{lineno}: '{col}' must be finite. Got '{row[col]}'{label}.")
                row[col] = value
            else:
                row[col] = None
        for col in ID_COLUMNS.get(kind, ()):
            prefix, form, example = ID_FORMS[col]
            if row[col] and not re.fullmatch(form, row[col]):
                raise TableError(f"{path}:{lineno}: '{col}' must be an identifier like {example} (pattern ^{form}$; "
                                 f"identifiers.org prefix {prefix}). Got '{row[col]}'{label}.")
        for (table, col), allowed in CHOICES.items():
            if table == kind and row[col] not in allowed:
                suggestion = closest(row[col], allowed)
                hint = f" Did you mean '{suggestion}'?" if suggestion else ""
                raise TableError(f"{path}:{lineno}: '{col}' must be one of {', '.join(sorted(allowed))}. "
                                 f"Got '{row[col]}'{label}.{hint}")
        if kind in KEY:
            key = row[KEY[kind]]
            if key in first_line:
                raise TableError(f"{path}:{lineno}: {kind.rstrip('s')} '{key}' is already defined on line "
                                 f"{first_line[key]}; expected one row per {KEY[kind]}.")
            first_line[key] = lineno
        row["_line"] = lineno
        rows.append(row)
    return rows


@dataclass(frozen=True)
class Catalogue:
    """All biology tables of ``models/``, checked, indexed by name.

    Attributes
    ----------
    parameters : dict
        name -> row (value, unit, source, meaning); names with ``{gene}``, ``{mirna}``, ``{cargo}`` are templates.
    genes, drugs, interventions : dict
        key -> row.
    cargo : list of dict
        One row per cargo -> target pair.
    scenarios : dict
        Preset name -> preset dict from ``scenarios.toml``.
    base_cellular : list of str
        Cargo pairs present in every cancer cell whatever the scenario (``[base] cellular`` of ``scenarios.toml``,
        e.g. the endogenous oncomiR miR-21 on PTEN), so all presets share one untreated cell.
    root : Path
        The models folder the catalogue was read from.
    ranges : dict
        Parameter name (or template) -> row of ``parameter_ranges.tsv`` (low, high, unit, scale, source): the ranges
        of DESIGN.md 2.7, checked against ``parameters`` (:func:`check_ranges`).
    molecules : dict
        Gene, miRNA or cargo name -> {identifiers.org prefix: compact identifier} from the identifier columns of
        ``genes.tsv`` and ``cargo.tsv`` (:func:`molecule_identifiers`).
    annotations : list of dict
        Rows of ``species_annotations.tsv`` (species pattern, qualifier, identifiers as a tuple of tokens, meaning,
        source), checked by :func:`check_annotations`; :mod:`sim.annotate` applies them.
    """

    parameters: dict
    genes: dict
    cargo: list
    drugs: dict
    interventions: dict
    scenarios: dict
    root: Path = field(default=MODELS_DIR)
    base_cellular: list = field(default_factory=list)
    ranges: dict = field(default_factory=dict)
    molecules: dict = field(default_factory=dict)
    annotations: list = field(default_factory=list)

    def parameter_row(self, name: str) -> dict | None:
        """Return the documentation row for a concrete model parameter (template rows resolved), or None."""
        found = self._matching(self.parameters, name)
        return found[1] if found else None

    def _matching(self, table: dict, name: str) -> tuple[str, dict] | None:
        if name in table:
            return name, table[name]
        for template, row in table.items():
            if "{" in template and re.match(_template_pattern(template), name):
                return template, row
        return None

    def range_row(self, name: str) -> dict | None:
        """The range (``parameter_ranges.tsv``) of a concrete model parameter (template rows resolved), or None."""
        found = self._matching(self.ranges, name)
        return found[1] if found else None

    def model_ranges(self, defaults: dict) -> dict[str, dict]:
        """The ranges of a built model's parameters: name -> range row with ``value`` (the model's value) and
        ``inside`` (low <= value <= high; a scenario override may lie outside), in the model's order."""
        out = {}
        for name, value in defaults.items():
            row = self.range_row(name)
            if row is not None:
                out[name] = {**row, "value": float(value), "inside": row["low"] <= value <= row["high"]}
        return out

    def drug(self, name: str) -> dict:
        """Return the drug row for a code such as ``GEM`` (case-insensitive)."""
        for code, row in self.drugs.items():
            if code.lower() == name.lower() or row["name"].lower() == name.lower():
                return row
        raise UnknownNameError("drug", name, self.drugs)

    def intervention(self, name: str) -> dict:
        """Return the intervention row for an id or name such as ``GW4869`` or ``ferrostatin-1``."""
        for ident, row in self.interventions.items():
            if name.lower() in (ident.lower(), row["name"].lower()):
                return row
        raise UnknownNameError("intervention", name, self.interventions)

    def scenario(self, name: str) -> dict:
        """Return a scenario preset by name."""
        if name not in self.scenarios:
            raise UnknownNameError("scenario", name, self.scenarios)
        return self.scenarios[name]

    def cargo_rows(self, key: str) -> list[dict]:
        """Return the cargo rows for a ``'cargo>target'`` key (several rows when several papers report it)."""
        if ">" not in key:
            raise UnknownNameError("cargo pair", key, {f"{r['cargo']}>{r['target']}" for r in self.cargo})
        cargo, target = (p.strip() for p in key.split(">", 1))
        rows = [r for r in self.cargo if r["cargo"] == cargo and r["target"] == target]
        if not rows:
            raise UnknownNameError("cargo pair", key, {f"{r['cargo']}>{r['target']}" for r in self.cargo})
        return rows


def _template_pattern(template: str) -> str:
    """A regular expression matching the concrete names of a template such as ``{gene}_protein_half_life``."""
    return "^" + re.sub(r"\\\{(gene|mirna|cargo)\\\}", r"(?P<\1>[A-Za-z0-9_]+)", re.escape(template)) + "$"


def check_ranges(path: Path, ranges: list[dict], parameters: dict) -> None:
    """Each range names a parameter of ``parameters.tsv`` (did-you-mean otherwise), states its unit, has
    low < high (> 0 on a log scale), and holds the parameter's default: low <= default <= high.

    Raises
    ------
    TableError
        Naming the file, the line and the row. A default outside its range is reported, never moved: the range or
        the default is wrong in its source, and the fix belongs there.
    """
    for row in ranges:
        where = f"{path}:{row['_line']}: range of parameter '{row['name']}'"
        if row["name"] not in parameters:
            close = closest(row["name"], parameters)
            hint = f" Did you mean '{close}'?" if close else ""
            raise TableError(f"{where}: no such parameter in parameters.tsv.{hint}")
        param = parameters[row["name"]]
        if row["unit"] != param["unit"]:
            raise TableError(f"{where}: the unit must be the parameter's own, '{param['unit']}' (parameters.tsv). "
                             f"Got '{row['unit']}'.")
        if not row["low"] < row["high"]:
            raise TableError(f"{where}: low must be below high. Got {row['low']:g} to {row['high']:g}.")
        if row["scale"] == "log" and row["low"] <= 0:
            raise TableError(f"{where}: a log range must be > 0. Got low = {row['low']:g}.")
        if not row["low"] <= param["value"] <= row["high"]:
            raise TableError(f"{where}: the default {param['value']:g} {param['unit']} (parameters.tsv line "
                             f"{param['_line']}) lies outside {row['low']:g}-{row['high']:g}; check both against "
                             f"their sources (a default is never moved to fit a range).")


@lru_cache(maxsize=4)
def load_catalogue(root: str | Path | None = None) -> Catalogue:
    """Read and check every table under ``root`` (default: the project's ``models/``).

    Raises
    ------
    TableError
        If a table is missing, malformed, or has an empty required cell, an identifier is malformed, missing where
        required, or names two molecules, a range does not hold its parameter's default, or a scenario preset names a
        cargo pair or drug that no table has (naming file and line).
    """
    root = Path(root) if root else MODELS_DIR
    tables = root / "tables"
    params = {r["name"]: r for r in read_table(tables / "parameters.tsv", "parameters")}
    genes = {r["gene"]: r for r in read_table(tables / "genes.tsv", "genes")}
    for name, row in genes.items():
        for col in ("mirbase",) if row["kind"] == "mirna" else ("hgnc", "uniprot"):
            if not row[col]:
                raise TableError(f"{tables / 'genes.tsv'}:{row['_line']}: the '{col}' cell is empty (gene '{name}'); "
                                 f"every {row['kind']} row needs its {col} identifier (MIRIAM annotations).")
    cargo = read_table(tables / "cargo.tsv", "cargo")
    molecules = molecule_identifiers(tables, genes, cargo)
    drugs = {r["drug"]: r for r in read_table(tables / "drugs.tsv", "drugs")}
    by_chebi = {}
    for code, row in drugs.items():
        other = by_chebi.setdefault(row["chebi"], code)
        if other != code:
            raise TableError(f"{tables / 'drugs.tsv'}:{row['_line']}: chebi '{row['chebi']}' of drug '{code}' already "
                             f"names drug '{other}'; expected each identifier to name one drug.")
    annotations = read_table(tables / "species_annotations.tsv", "species_annotations")
    check_annotations(tables / "species_annotations.tsv", annotations)
    interventions = {r["id"]: r for r in read_table(tables / "interventions.tsv", "interventions")}
    for ident, row in interventions.items():
        if row["mechanism"] == "inhibit" and row["ic50"] is None:
            raise TableError(f"{tables / 'interventions.tsv'}:{row['_line']}: intervention '{ident}' uses "
                             f"mechanism 'inhibit' and so needs an ic50.")
    ranges = read_table(tables / "parameter_ranges.tsv", "parameter_ranges")
    check_ranges(tables / "parameter_ranges.tsv", ranges, params)
    scenarios = read_scenarios(root / "scenarios.toml")
    check_scenario_pairs(root / "scenarios.toml", scenarios, cargo, drugs)
    base = scenarios.pop("base")
    return Catalogue(params, genes, cargo, drugs, interventions, scenarios, root, list(base.get("cellular", [])),
                     {r["name"]: r for r in ranges}, molecules, annotations)


# units of the readouts a time course or a sweep reports (axis labels): species of the core modules
UNITS = {"N_cancer": "cells/mL", "PTEN": "relative", "pAKT": "fraction", "pSTAT3": "relative", "LROS": "relative",
         "GSH": "relative", "CASP3a": "fraction", "drug_in": "uM", "drug_medium": "uM", "EV_med": "EV/mL",
         "EV_internalised": "EV/mL", "EV_supplied": "EV/mL", "EV_doses": "additions", "drug_doses": "doses"}


def unit_of(readout: str) -> str:
    """Unit label of a readout for axes: a gene's protein is relative to the unrepressed cell; RNAs, loaded miRNA
    and delivered cargo are copies per cell."""
    if readout in UNITS:
        return UNITS[readout]
    gene = load_catalogue().genes.get(readout)
    if gene is not None and gene["kind"] == "rna":
        return "relative"
    return "copies/mL" if readout.endswith("_med") else "copies/cell"  # cargo in the medium, else in the cell
