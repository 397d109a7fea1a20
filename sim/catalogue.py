"""Read and check the biology tables in ``models/``: parameters, genes, cargo, drugs, interventions, scenarios.

Every table is a tab-separated file with ``#`` comment lines and a header row. Reading checks the header, that every
required cell is filled, and that numbers parse; a problem raises :class:`sim.errors.TableError` naming the file and
line. Scenario presets live in ``models/scenarios.toml``.
"""
from __future__ import annotations

import csv
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sim.errors import TableError, UnknownNameError, closest

MODELS_DIR = Path(os.environ.get("CAFEV_MODELS", Path(__file__).resolve().parent.parent / "models"))

TABLE_COLUMNS = {
    "parameters": ("name", "value", "unit", "source", "meaning"),
    "genes": ("gene", "cell", "kind", "mrna_copies", "protein_half_life", "endogenous", "tx_input", "meaning",
              "source"),
    "cargo": ("cargo", "kind", "target", "effect", "resistance", "cancer", "drug", "reference", "note"),
    "drugs": ("drug", "name", "potency_uM", "ic50_ref_uM", "unit", "w_damage", "w_ros", "w_cytostatic", "ent2",
              "abcb1", "working_max_uM", "caf_loading_ec50_uM", "reference", "note"),
    "interventions": ("id", "name", "target", "mechanism", "ic50", "unit", "hill", "emax", "working_dose",
                      "reference", "note"),
}
REQUIRED = {
    "parameters": ("name", "value", "unit", "source", "meaning"),
    "genes": ("gene", "cell", "kind", "meaning", "source"),
    "cargo": ("cargo", "kind", "target", "effect", "resistance", "reference"),
    "drugs": ("drug", "name", "potency_uM", "ic50_ref_uM", "unit", "w_damage", "w_ros", "w_cytostatic", "ent2",
              "abcb1", "working_max_uM", "caf_loading_ec50_uM", "reference"),
    "interventions": ("id", "name", "target", "mechanism", "unit", "hill", "emax", "working_dose", "reference"),
}
CHOICES = {
    ("genes", "kind"): {"rna", "activity", "mirna"},
    ("genes", "cell"): {"cancer", "CAF"},
    ("cargo", "kind"): {"miRNA", "lncRNA", "circRNA", "protein", "mRNA"},
    ("cargo", "effect"): {"repress", "sponge", "activate", "carry"},
    ("cargo", "resistance"): {"+", "-"},
    ("interventions", "mechanism"): {"inhibit", "fraction"},
}
KEY = {"parameters": "name", "genes": "gene", "drugs": "drug", "interventions": "id"}  # one row per key
DOC_COLUMNS = ("unit", "source", "meaning", "reference")  # documentation a placeholder cannot stand in for
PLACEHOLDERS = {"na", "n/a", "nan", "none", "null", "-", "--", "?", "??", "todo", "tbd", "tba", "unknown", "xxx"}
_PARAMETER_NAME = re.compile(r"(?:[A-Za-z_]|\{(?:gene|mirna|cargo)\})(?:[A-Za-z0-9_]|\{(?:gene|mirna|cargo)\})*")
NUMERIC = {
    "parameters": ("value",),
    "genes": ("mrna_copies", "protein_half_life", "endogenous"),
    "drugs": ("potency_uM", "ic50_ref_uM", "w_damage", "w_ros", "w_cytostatic", "ent2", "abcb1", "working_max_uM",
              "caf_loading_ec50_uM"),
    "interventions": ("ic50", "hill", "emax", "working_dose"),
}


def model_id(name: str) -> str:
    """Turn a biological name into a model identifier: ``miR-146a-5p`` -> ``miR_146a_5p``."""
    ident = re.sub(r"[^0-9A-Za-z_]", "_", name.strip())
    return ident if not ident[:1].isdigit() else "_" + ident


def _row_label(kind: str, row: dict) -> str:
    """`` (parameter 'k_pten')``: which row a message is about, or '' when its key cell is empty."""
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
    """

    parameters: dict
    genes: dict
    cargo: list
    drugs: dict
    interventions: dict
    scenarios: dict
    root: Path = field(default=MODELS_DIR)
    base_cellular: list = field(default_factory=list)

    def parameter_row(self, name: str) -> dict | None:
        """Return the documentation row for a concrete model parameter (template rows resolved), or None."""
        if name in self.parameters:
            return self.parameters[name]
        for template, row in self.parameters.items():
            if "{" not in template:
                continue
            pattern = "^" + re.sub(r"\\\{(gene|mirna|cargo)\\\}", r"(?P<\1>[A-Za-z0-9_]+)", re.escape(template)) + "$"
            if re.match(pattern, name):
                return row
        return None

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


def read_utf8(path: Path, error: type[Exception], hint: str, prefix: str = "") -> str:
    """The text of a UTF-8 file; bytes that are not UTF-8 raise ``error`` naming the file, the byte and its offset,
    then ``hint`` (what the file should be)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: {prefix}not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                    f"{hint}.") from None


def read_toml(path: Path, error: type[Exception], what: str) -> dict:
    """Read a TOML file with the standard library; a missing file or bad TOML raises ``error`` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} '{path}' does not exist.")
    try:
        text = read_utf8(path, error, "TOML files are UTF-8", "not valid TOML: ")
    except OSError as exc:
        raise error(f"{what} '{path}' cannot be read: {exc.strerror or exc}.") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}.") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise error(f"{path}: not valid TOML: arrays or inline tables nested too deeply.") from None


def _read_scenarios(path: Path) -> dict:
    data = read_toml(path, TableError, "Scenario presets file")
    base = data.pop("base", {})
    if not isinstance(base.get("cellular", []), list):
        raise TableError(f"{path}: [base] cellular must be a list of 'cargo>target' pairs.")
    data["base"] = base  # split off by load_catalogue
    for name, preset in data.items():
        if name == "base":
            continue
        if not isinstance(preset, dict):
            raise TableError(f"{path}: '{name}' must be a scenario table ([{name}] with title, cancer, drug, ev_cargo, "
                             f"references). Got {preset!r}.")
        for key in ("title", "cancer", "drug", "ev_cargo", "references"):
            if key not in preset:
                raise TableError(f"{path}: scenario '{name}' lacks the key '{key}'.")
        _check_delivery(path, name, preset.get("delivery"))
        inert = preset.get("inert", {})
        if not isinstance(inert, dict) or not all(isinstance(v, str) and v.strip() for v in inert.values()):
            line = toml_line(path, name, "inert")
            raise TableError(f"{path}:{line or ''}: scenario '{name}' inert must map 'cargo>target' pairs of its "
                             f"ev_cargo to the reason they do not move the IC50. Got {inert!r}.")
        stray = [pair for pair in inert if pair not in preset.get("ev_cargo", [])]
        if stray:
            line = toml_line(path, name, "inert")
            raise TableError(f"{path}:{line or ''}: scenario '{name}' declares {', '.join(stray)} inert, which "
                             f"is not among its ev_cargo ({', '.join(preset.get('ev_cargo', []))}).")
        for i, override in enumerate(preset.get("overrides", [])):
            line = toml_line(path, name, "overrides", override.get("parameter")) if isinstance(override, dict) \
                else toml_line(path, name, "overrides")
            where = f"{path}:{line}" if line else str(path)
            if not isinstance(override, dict):
                raise TableError(f"{where}: scenario '{name}' overrides[{i}] must be a table "
                                 f"{{ parameter, value, unit, source }}. Got {override!r}.")
            for key in ("parameter", "value", "unit", "source"):
                if key not in override:
                    raise TableError(f"{path}: scenario '{name}' overrides[{i}] lacks '{key}'.")
            for key in ("parameter", "unit", "source"):
                if not isinstance(override[key], str) or not override[key].strip() \
                        or override[key].strip().lower() in PLACEHOLDERS:
                    raise TableError(f"{where}: scenario '{name}' overrides[{i}] needs a {key}; expected a "
                                     f"non-empty string, found {override[key]!r}.")
            value = override["value"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise TableError(f"{where}: scenario '{name}' overrides[{i}] ('{override['parameter']}') 'value' must "
                                 f"be a finite number. Got {value!r}.")
    return data


DELIVERY_REGIMES = ("published", "enriched")


def _check_delivery(path: Path, name: str, delivery) -> None:
    """A preset's ``[<name>.delivery]`` table: positive copies per EV for both regimes, ``reachable``, the reported
    fold with its source and the fold the enriched regime reaches (TableError naming the file, line and key
    otherwise)."""
    section = f"{name}.delivery"
    line = toml_line(path, section)
    where = f"{path}:{line}" if line else str(path)
    if not isinstance(delivery, dict):
        raise TableError(f"{where}: scenario '{name}' needs a [{section}] table with published, enriched (copies per "
                         f"EV), reachable, reported_fold and reported_source. Got {delivery!r}.")
    for key in (*DELIVERY_REGIMES, "reported_fold", "enriched_fold"):
        value = delivery.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            at = toml_line(path, section, key)
            raise TableError(f"{path}:{at or line}: [{section}] '{key}' must be a finite number > 0. Got {value!r}.")
    if not isinstance(delivery.get("reachable"), bool):
        raise TableError(f"{where}: [{section}] 'reachable' must be true or false. Got {delivery.get('reachable')!r}.")
    if not isinstance(delivery.get("reported_source"), str) or not delivery["reported_source"].strip():
        raise TableError(f"{where}: [{section}] 'reported_source' must say where the reported fold comes from.")
    unknown = set(delivery) - {*DELIVERY_REGIMES, "reachable", "reported_fold", "enriched_fold", "reported_source"}
    if unknown:
        raise TableError(f"{where}: [{section}] has unknown keys {', '.join(sorted(unknown))}; expected published, "
                         f"enriched, reachable, reported_fold, enriched_fold, reported_source.")


def toml_line(path: Path, section: str, key: str | None = None, value: str | None = None) -> int | None:
    """1-based line in a TOML file of ``[section]``, of its ``key = ...`` line, or of the line of that key's (possibly
    multi-line) array holding the string ``value``; the closest of these found, None when the section is not found (a
    message then names the file and key only)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    header = re.compile(r"^\s*\[\s*(?:" + re.escape(section) + r'|"' + re.escape(section) + r'")\s*\]')
    start = next((i for i, ln in enumerate(lines) if header.match(ln)), None)
    if start is None:
        return None
    found = start
    if key is not None:
        key_re = re.compile(r"^\s*(?:" + re.escape(key) + r'|"' + re.escape(key) + r'")\s*=')
        for i in range(start + 1, len(lines)):
            if re.match(r"^\s*\[", lines[i]):
                break
            if key_re.match(lines[i]):
                found = i
                break
        if value is not None and found != start:
            quoted = (f'"{value}"', f"'{value}'")
            for i in range(found, len(lines)):
                if i > found and (re.match(r"^\s*\[", lines[i]) or re.match(r"^\s*[\w\"-]+\s*=", lines[i])):
                    break
                if any(q in lines[i] for q in quoted):
                    found = i
                    break
    return found + 1


def _check_scenario_pairs(path: Path, scenarios: dict, cargo: list[dict], drugs: dict) -> None:
    """Every 'cargo>target' pair a preset (or [base]) names must be a row of cargo.tsv, and its drug a drugs.tsv
    code; else TableError naming scenarios.toml, the line, the preset key and the closest valid name."""
    pairs = sorted({f"{r['cargo']}>{r['target']}" for r in cargo})
    cargo_path = path.parent / "tables" / "cargo.tsv"
    for name, preset in scenarios.items():
        section = "base" if name == "base" else name
        for key in ("ev_cargo", "cellular"):
            value = preset.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                line = toml_line(path, section, key)
                where = f"{path}:{line}" if line else str(path)
                raise TableError(f"{where}: scenario '{name}' {key} must be a list of 'cargo>target' strings. "
                                 f"Got {value!r}.")
            for pair in value:
                if ">" in pair and ">".join(part.strip() for part in pair.split(">", 1)) in pairs:
                    continue  # as Catalogue.cargo_rows reads it
                line = toml_line(path, section, key, pair)
                where = f"{path}:{line}" if line else str(path)
                suggestion = closest(pair, pairs)
                at = next((r["_line"] for r in cargo if f"{r['cargo']}>{r['target']}" == suggestion and "_line" in r),
                          None)
                hint = (f" Did you mean '{suggestion}'"
                        f"{f' ({cargo_path}:{at})' if at else ''}?") if suggestion else ""
                raise TableError(f"{where}: scenario '{name}' {key} names the cargo pair '{pair}', which is no row "
                                 f"of {cargo_path}; expected 'cargo>target' of one of its "
                                 f"rows.{hint}")
        drug = preset.get("drug")
        names = {code.lower() for code in drugs} | {row["name"].lower() for row in drugs.values()}
        if name != "base" and str(drug).lower() not in names:  # as Catalogue.drug reads it
            line = toml_line(path, section, "drug")
            where = f"{path}:{line}" if line else str(path)
            suggestion = closest(str(drug), drugs)
            hint = f" Did you mean '{suggestion}'?" if suggestion else ""
            raise TableError(f"{where}: scenario '{name}' names the drug '{drug}', which is no row of "
                             f"{path.parent / 'tables' / 'drugs.tsv'}; expected one of {', '.join(sorted(drugs))}."
                             f"{hint}")


@lru_cache(maxsize=4)
def load_catalogue(root: str | Path | None = None) -> Catalogue:
    """Read and check every table under ``root`` (default: the project's ``models/``).

    Raises
    ------
    TableError
        If a table is missing, malformed, or has an empty required cell, or a scenario preset names a cargo pair or
        drug that no table has (naming file and line).
    """
    root = Path(root) if root else MODELS_DIR
    tables = root / "tables"
    params = {r["name"]: r for r in read_table(tables / "parameters.tsv", "parameters")}
    genes = {r["gene"]: r for r in read_table(tables / "genes.tsv", "genes")}
    cargo = read_table(tables / "cargo.tsv", "cargo")
    drugs = {r["drug"]: r for r in read_table(tables / "drugs.tsv", "drugs")}
    interventions = {r["id"]: r for r in read_table(tables / "interventions.tsv", "interventions")}
    for ident, row in interventions.items():
        if row["mechanism"] == "inhibit" and row["ic50"] is None:
            raise TableError(f"{tables / 'interventions.tsv'}:{row['_line']}: intervention '{ident}' uses "
                             f"mechanism 'inhibit' and so needs an ic50.")
    scenarios = _read_scenarios(root / "scenarios.toml")
    _check_scenario_pairs(root / "scenarios.toml", scenarios, cargo, drugs)
    base = scenarios.pop("base")
    return Catalogue(params, genes, cargo, drugs, interventions, scenarios, root, list(base.get("cellular", [])))
