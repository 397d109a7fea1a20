"""Read and check the scenario presets of ``models/scenarios.toml``: their keys, overrides, delivery regimes
(``[<preset>.delivery]``: published and enriched copies per EV, the reported fold and what the enriched regime
reaches), inert-arm declarations, and that every cargo pair and drug they name is a row of the tables. A problem
raises :class:`sim.errors.TableError` naming the file, the line and the key."""
from __future__ import annotations

import math
from pathlib import Path

from sim.errors import TableError, closest
from sim.textfiles import PLACEHOLDERS, read_toml, toml_line

TREATMENTS = ("drug", "radiation")  # a preset's treatment: a drug of drugs.tsv (uM), or ionising radiation (Gy)


def read_scenarios(path: Path) -> dict:
    """The presets of ``path`` with ``base`` (the pairs every cell has) as one more entry, each preset checked."""
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
        treatment = preset.get("treatment", "drug")
        if treatment not in TREATMENTS:
            line = toml_line(path, name, "treatment")
            raise TableError(f"{path}:{line or ''}: scenario '{name}' treatment must be one of "
                             f"{', '.join(TREATMENTS)}. Got {treatment!r}.")
        for key in ("title", "cancer", "ev_cargo", "references") + (("drug",) if treatment == "drug" else ()):
            if key not in preset:
                raise TableError(f"{path}: scenario '{name}' lacks the key '{key}'.")
        if treatment == "radiation" and "drug" in preset:
            line = toml_line(path, name, "drug")
            raise TableError(f"{path}:{line or ''}: scenario '{name}' is a radiotherapy preset (treatment = "
                             f"'radiation') and names the drug {preset['drug']!r}; remove 'drug' (its dose is in Gy, "
                             f"given by a clonogenic experiment).")
        check_delivery(path, name, preset.get("delivery"))
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


def check_delivery(path: Path, name: str, delivery) -> None:
    """A preset's ``[<name>.delivery]`` table: ``published`` copies per EV, the ``reported_fold`` with its
    ``reported_source``, and, once ``python -m sim.calibrate delivery`` has found them, ``enriched`` copies per EV,
    ``reachable`` and ``enriched_fold`` (a new preset starts without them). TableError naming the file, line and key
    otherwise."""
    section = f"{name}.delivery"
    line = toml_line(path, section)
    where = f"{path}:{line}" if line else str(path)
    if not isinstance(delivery, dict):
        raise TableError(f"{where}: scenario '{name}' needs a [{section}] table with published (copies per EV), "
                         f"reported_fold and reported_source; enriched, reachable and enriched_fold follow from "
                         f"`python -m sim.calibrate delivery`. Got {delivery!r}.")
    for key in ("published", "reported_fold", "enriched", "enriched_fold"):
        value = delivery.get(key)
        if value is None and key in ("enriched", "enriched_fold"):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            at = toml_line(path, section, key)
            raise TableError(f"{path}:{at or line}: [{section}] '{key}' must be a finite number > 0. Got {value!r}.")
    if "reachable" in delivery and not isinstance(delivery["reachable"], bool):
        raise TableError(f"{where}: [{section}] 'reachable' must be true or false. Got {delivery['reachable']!r}.")
    if not isinstance(delivery.get("reported_source"), str) or not delivery["reported_source"].strip():
        raise TableError(f"{where}: [{section}] 'reported_source' must say where the reported fold comes from.")
    unknown = set(delivery) - {*DELIVERY_REGIMES, "reachable", "reported_fold", "enriched_fold", "reported_source"}
    if unknown:
        raise TableError(f"{where}: [{section}] has unknown keys {', '.join(sorted(unknown))}; expected published, "
                         f"enriched, reachable, reported_fold, enriched_fold, reported_source.")


def check_scenario_pairs(path: Path, scenarios: dict, cargo: list[dict], drugs: dict) -> None:
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
        treated_with_drug = name != "base" and preset.get("treatment", "drug") == "drug"
        if treated_with_drug and str(drug).lower() not in names:  # as Catalogue.drug reads it
            line = toml_line(path, section, "drug")
            where = f"{path}:{line}" if line else str(path)
            suggestion = closest(str(drug), drugs)
            hint = f" Did you mean '{suggestion}'?" if suggestion else ""
            raise TableError(f"{where}: scenario '{name}' names the drug '{drug}', which is no row of "
                             f"{path.parent / 'tables' / 'drugs.tsv'}; expected one of {', '.join(sorted(drugs))}."
                             f"{hint}")
