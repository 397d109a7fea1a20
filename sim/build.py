"""Assemble the ODE model of a scenario from the Antimony modules and the cargo rows it selects.

A scenario names EV cargo pairs (``'miR-21>PTEN'``: delivered by CAF-EVs) and cellular pairs (interactions present in
the receiving cell, e.g. ``'miR-34b-5p>ABCB1'``). Each pair becomes terms of the templates in
``models/ode/templates`` — a miRNA row becomes its stoichiometric binding to the target mRNA, a sponge row a binding
of the sponge to the miRNA, an activating row a term of the target's transcription input, a protein row a delivery
into the receiver's protein — so no per-miRNA Antimony is written by hand. Parameter values come from
``models/tables`` and the scenario's documented overrides.

References
----------
Levine E, Zhang Z, Kuhlman T, Hwa T (2007) Quantitative characteristics of gene regulation by small RNA.
PLoS Biol 5:e229 (the titration limit of templates/mirna_binding.ant).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from string import Template

import pandas as pd

from sim.catalogue import Catalogue, load_catalogue, model_id, read_utf8, toml_line
from sim.errors import ModelBuildError, UnknownNameError, closest

PROCESS_MODULES = ("ev_supply", "medium", "uptake", "pi3k_akt", "stat3", "ferroptosis", "apoptosis",
                   "drug_handling", "population")
_IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
_ANTIMONY_WORDS = {"species", "compartment", "model", "end", "const", "var", "function", "exp", "log", "ln", "pow",
                   "piecewise", "and", "or", "not", "time", "sqrt", "abs", "min", "max"}


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


def _file_origins(path: Path, text: str) -> list[Origin]:
    return [Origin(path, i) for i in range(1, text.count("\n") + 2)]


def _read_module(path: Path, what: str) -> str:
    try:
        return read_utf8(path, ModelBuildError, "Antimony modules are UTF-8 text")
    except FileNotFoundError:
        raise ModelBuildError(f"{path}: the {what} file is missing.") from None


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
        names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", re.sub(r"//[^\n]*", "", self.antimony))) - _ANTIMONY_WORDS
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


@dataclass(frozen=True)
class _Template:
    """An Antimony template of models/ode/templates without its comment lines (the headers document, once)."""

    path: Path
    lines: tuple  # (line number in the file, text)

    def render(self, note: str = "", cells: dict | None = None, **values) -> tuple[str, list]:
        """Substitute ``values`` line by line; return (text, one :class:`Origin` per line).

        A value may be a block ``(text, origins)`` standing alone on its line (``$escape``); ``cells`` maps a
        placeholder to the table cell its value came from.
        """
        strings = {k: v for k, v in values.items() if isinstance(v, str)}
        out, origins = [], []
        for lineno, text in self.lines:
            alone = text.strip()
            block = values.get(alone[1:].strip("{}")) if alone.startswith("$") else None
            if isinstance(block, tuple):
                out.append(block[0])
                origins.extend(block[1])
                continue
            try:
                rendered = Template(text).substitute(strings)
            except KeyError as exc:
                raise ModelBuildError(f"{self.path}:{lineno}: unknown placeholder '${exc.args[0]}' — expected one of "
                                      f"{', '.join('$' + k for k in sorted(values))}.") from None
            except ValueError as exc:
                col = re.search(r"col (\d+)", str(exc))
                at = f" at column {col.group(1)}" if col else ""
                raise ModelBuildError(f"{self.path}:{lineno}: malformed placeholder{at} — expected $name or "
                                      f"${{name}} ($$ for a literal $).") from None
            used = tuple((frozenset(_IDENT.findall(strings[k])), o) for k, o in (cells or {}).items()
                         if k in strings and re.search(r"\$(?:" + k + r"\b|\{" + k + r"\})", text))
            out.append(rendered)
            origins.extend([Origin(self.path, lineno, note, used)] * (rendered.count("\n") + 1))
        return "\n".join(out), origins


def _template(cat: Catalogue, name: str) -> _Template:
    path = cat.root / "ode" / "templates" / f"{name}.ant"
    lines = _read_module(path, "template").splitlines()
    return _Template(path, tuple((i, ln) for i, ln in enumerate(lines, 1) if not ln.lstrip().startswith("//")))


def _interactions(cat: Catalogue, keys: list[str], delivered: bool, where: str) -> list[Interaction]:
    out = []
    for key in keys:
        try:
            rows = cat.cargo_rows(key)
        except UnknownNameError as exc:
            raise UnknownNameError("cargo pair", key, exc.valid, where) from None
        first = rows[0]
        out.append(Interaction(first["cargo"], first["kind"], first["target"], first["effect"], first["resistance"],
                               tuple(dict.fromkeys(r["reference"] for r in rows)), delivered,
                               tuple(r["_line"] for r in rows if "_line" in r)))
    return out


def _check_interaction(cat: Catalogue, it: Interaction, mirna_names: set, where: str) -> None:
    """A selected pair the ODE model cannot represent raises, naming the cargo.tsv row (file and line)."""
    rna_genes = {g for g, r in cat.genes.items() if r["kind"] == "rna"}
    row = it.where(cat)
    if it.effect in ("repress", "activate", "carry") and it.target == "NA":
        raise ModelBuildError(f"{row}: '{it.key}' names no molecular target (NA), selected in the {where}; the ODE "
                              f"model can only use rows whose target is a gene of "
                              f"{cat.root / 'tables' / 'genes.tsv'}.")
    if it.effect == "repress":
        if it.kind != "miRNA":
            raise ModelBuildError(f"{row}: '{it.key}' is a {it.kind} with effect 'repress'; only miRNAs repress "
                                  f"targets in the ODE model (use a sponge row for a ceRNA).")
        if it.target not in rna_genes:
            raise UnknownNameError("target gene", it.target, rna_genes, f"{row}, selected in the {where}")
    elif it.effect == "sponge":
        if it.target not in mirna_names:
            raise ModelBuildError(f"{row}: sponge '{it.key}' soaks up miRNA '{it.target}', which no selected pair "
                                  f"uses; add the miRNA's own target pair (e.g. '{it.target}>GENE').")
    elif it.effect in ("activate", "carry"):
        if it.target not in rna_genes:
            raise UnknownNameError("target gene", it.target, rna_genes, f"{row}, selected in the {where}")


def assemble_antimony(cat: Catalogue, interactions: list[Interaction], modules=PROCESS_MODULES,
                      genes: list[str] | None = None) -> tuple[str, dict, dict]:
    """Return (antimony body, generated parameter defaults with docs, miRNA ids) for the given pairs and modules."""
    body, _, generated, mirnas = _assemble(cat, interactions, modules, genes)
    return body, generated, mirnas


def _assemble(cat: Catalogue, interactions: list[Interaction], modules=PROCESS_MODULES,
              genes: list[str] | None = None) -> tuple[str, list, dict, dict]:
    """:func:`assemble_antimony`, also returning one :class:`Origin` per line of the body."""
    parts, generated = [], {}  # parts: (text, origins)
    for module in modules:
        path = cat.root / "ode" / f"{module}.ant"
        if not path.exists():
            valid = [p.stem for p in (cat.root / "ode").glob("*.ant")]
            raise UnknownNameError("model module", module, valid)
        text = _read_module(path, "model module")
        parts.append((text, _file_origins(path, text)))

    mirnas = {}
    for it in interactions:
        if it.kind == "miRNA":
            mirnas[it.cargo] = model_id(it.cargo)
        if it.effect == "sponge":
            mirnas[it.target] = model_id(it.target)
    for it in interactions:
        _check_interaction(cat, it, set(mirnas), "scenario")

    gene_rows = {g: r for g, r in cat.genes.items() if r["kind"] == "rna" and (genes is None or g in genes)}
    activators = {}
    for it in interactions:
        if it.effect == "activate":
            activators.setdefault(it.target, []).append(model_id(it.cargo))

    genes_path = cat.root / "tables" / "genes.tsv"
    gene_t = _template(cat, "gene")
    for g, row in gene_rows.items():
        tx = row["tx_input"] or "1"
        for a in activators.get(g, []):
            tx = f"({tx})*(1 + cargo_activation_gain*{a}/(K_cargo_activation + {a}))"
        row_at = f"{genes_path}:{row['_line']}" if "_line" in row else str(genes_path)
        cells = {"tx_input": Origin(genes_path, row.get("_line"), f"tx_input of gene '{g}'")} if row["tx_input"] \
            else None
        parts.append(gene_t.render(f"gene '{g}', {row_at}", cells, g=g, tx_input=tx))
        for col, suffix, unit in (("mrna_copies", "mrna_copies", "copies/cell"),
                                  ("protein_half_life", "protein_half_life", "h")):
            if row[col] is not None:
                generated[f"{g}_{suffix}"] = (row[col], {"unit": unit, "source": row["source"],
                                                         "meaning": f"{g}: {row['meaning']}"})

    mir_t, bind_t, bg_t = _template(cat, "mirna"), _template(cat, "mirna_binding"), _template(cat, "background_sites")
    for name, m in mirnas.items():
        row = cat.genes.get(name) if cat.genes.get(name, {}).get("kind") == "mirna" else None
        tx = (row["tx_input"] or "1") if row else "1"
        note = f"miRNA '{name}'" + (f", {genes_path}:{row['_line']}" if row and "_line" in row else "")
        cells = ({"tx_input": Origin(genes_path, row.get("_line"), f"tx_input of miRNA '{name}'")}
                 if row and row["tx_input"] else None)
        parts.append(mir_t.render(note, cells, m=m, tx_input=tx))
        if row and row["endogenous"] is not None:
            generated[f"{m}_endogenous"] = (row["endogenous"], {"unit": "copies/cell", "source": row["source"],
                                                                "meaning": f"{name}: {row['meaning']}"})
        parts.append(bg_t.render(f"miRNA '{name}'", m=m))
        parts.append(bind_t.render(f"miRNA '{name}' on its background sites", m=m, rna=f"{m}_bg", cx=f"{m}_bg_cx"))
        parts.append(bind_t.render(f"miRNA '{name}' on a synthetic sponge", m=m, rna=f"sponge_{m}",
                                   cx=f"{m}_sponge_cx"))

    nc_t = _template(cat, "noncoding_rna")
    cargo_t, esc_rna, esc_prot = (_template(cat, n) for n in ("cargo_transfer", "escape_rna", "escape_protein"))
    seen_nc, seen_cargo = set(), set()
    for it in interactions:
        c = model_id(it.cargo)
        note = f"cargo pair '{it.key}', {it.location(cat)}"
        if it.effect in ("sponge", "activate") and c not in seen_nc:
            seen_nc.add(c)
            parts.append(nc_t.render(note, r=c))
        if it.effect == "repress":
            parts.append(bind_t.render(note, m=c, rna=f"{it.target}_mRNA", cx=f"{c}_{it.target}_cx"))
        elif it.effect == "sponge":
            m = mirnas[it.target]
            parts.append(bind_t.render(note, m=m, rna=c, cx=f"{m}_{c}_cx"))
        if it.delivered and c not in seen_cargo:
            seen_cargo.add(c)
            escape = (esc_prot.render(note, c=c, dest=it.target) if it.effect == "carry"
                      else esc_rna.render(note, c=c, dest=c))
            parts.append(cargo_t.render(note, c=c, escape=escape))
    return "\n".join(t for t, _ in parts), [o for _, origins in parts for o in origins], generated, mirnas


def _intervention_block(cat: Catalogue, body: str, mirnas: dict, strict: bool = True) -> tuple[str, dict, list]:
    """Generate dose parameters, effects and activity slots (act_*) from interventions.tsv.

    With ``strict`` (the full module set) every intervention's slot must exist; a sub-model skips the missing ones.
    Returns (text, generated parameter defaults with docs, one :class:`Origin` per line).
    """
    slots = sorted(set(re.findall(r"\bact_[A-Za-z0-9_]+\b", body)))
    lines, generated, per_slot = ["// interventions (generated from models/tables/interventions.tsv)"], {}, {}
    path = cat.root / "tables" / "interventions.tsv"
    origins = [Origin(path, None, "generated")]

    def effect(ident: str, row: dict, suffix: str = "") -> str:
        dose, e = f"dose_{ident}{suffix}", f"eff_{ident}{suffix}"
        doc = {"source": row["reference"], "meaning": f"{row['name']}{' against ' + suffix[1:] if suffix else ''}"}
        generated[dose] = (0.0, {**doc, "unit": row["unit"], "meaning": f"dose of {doc['meaning']}"})
        origins.append(Origin(path, row.get("_line"), f"intervention '{ident}'"))
        if row["mechanism"] == "fraction":
            lines.append(f"{e} := {dose};")
        else:
            for p, unit in (("ic50", row["unit"]), ("hill", "dimensionless"), ("emax", "fraction")):
                generated.setdefault(f"{p}_{ident}", (row[p], {**doc, "unit": unit,
                                                               "meaning": f"{p} of {row['name']}"}))
            lines.append(f"{e} := emax_{ident}*{dose}^hill_{ident}/({dose}^hill_{ident} + ic50_{ident}^hill_{ident});")
        return e

    per_mirna = {}
    for ident, row in cat.interventions.items():
        target = row["target"]
        if target in ("mirna_antagomir", "mirna_sponge"):
            kind = target.split("_", 1)[1]
            for m in mirnas.values():
                per_mirna.setdefault(f"e_{kind}_{m}", []).append(effect(ident, row, "_" + m))
            continue
        if target not in slots:
            if not strict:
                continue
            raise UnknownNameError("activity slot", target, slots, f"{path}:{row['_line']} (intervention '{ident}')")
        per_slot.setdefault(target, []).append(effect(ident, row))
    for m in mirnas.values():
        for kind in ("antagomir", "sponge"):
            terms = per_mirna.get(f"e_{kind}_{m}")
            lines.append(f"e_{kind}_{m} := 1 - {'*'.join(f'(1 - {e})' for e in terms)};" if terms
                         else f"e_{kind}_{m} := 0;")
            origins.append(Origin(path, None, f"generated: {kind} effect on '{m}'"))
    for slot in slots:
        terms = per_slot.get(slot)
        lines.append(f"{slot} := {'*'.join(f'(1 - {e})' for e in terms)};" if terms else f"{slot} := 1;")
        origins.append(Origin(path, None, f"generated: activity slot '{slot}'"))
    return "\n".join(lines), generated, origins


def build_model(scenario: str | None = "pdac_gem", *, ev_cargo: list[str] | None = None,
                cellular: list[str] | None = None, modules=PROCESS_MODULES, genes: list[str] | None = None,
                overrides: dict | None = None, catalogue: Catalogue | None = None, name: str | None = None,
                base: bool = True) -> BuiltModel:
    """Build the model of a scenario preset, or of an explicit set of cargo pairs.

    Parameters
    ----------
    scenario : str or None
        A preset from ``models/scenarios.toml`` (``cafev list scenarios``). None builds from ``ev_cargo`` alone.
    ev_cargo, cellular : list of str, optional
        ``'cargo>target'`` keys of models/tables/cargo.tsv delivered by EVs / present in the receiver; added to the
        preset's own.
    modules : sequence of str
        Process modules (``models/ode/*.ant``) to include; a subset builds a sub-model (used by the titration test).
    genes : list of str, optional
        Restrict the gene nodes instantiated (default: all rna genes of genes.tsv).
    overrides : dict, optional
        Parameter name -> value, applied after the preset's overrides (documented as "user override").
    catalogue : Catalogue, optional
        Tables to use (default: the project's ``models/``).
    base : bool
        Include the pairs every cancer cell has (``[base] cellular`` of scenarios.toml, e.g. endogenous miR-21 on
        PTEN). Only with the full module set and all genes; sub-models (``modules``/``genes``) never get them.

    Returns
    -------
    BuiltModel

    Raises
    ------
    UnknownNameError
        Unknown scenario, cargo pair, gene or parameter (with the closest valid name; a cargo row's unknown target
        names the cargo.tsv line).
    ModelBuildError
        A pair the ODE model cannot represent, a symbol without a value, a malformed module or template (a statement
        Antimony rejects, or one it would silently misread: a reaction without its ``J_...:`` label or rate law, a
        reaction or ``:=`` rule defined twice, an assignment with no value). The message begins with the file and line
        to fix: the module, template or table row the line came from, not the line of the assembled text. The text
        is converted to SBML here, so every such error surfaces at build.
    """
    cat = catalogue or load_catalogue()
    preset = cat.scenario(scenario) if scenario else {}
    delivered = list(dict.fromkeys(list(preset.get("ev_cargo", [])) + list(ev_cargo or [])))
    present = list(preset.get("cellular", [])) + list(cellular or [])
    if base and set(modules) >= set(PROCESS_MODULES) and genes is None:
        present = list(cat.base_cellular) + present
    present = [k for k in dict.fromkeys(present) if k not in delivered]  # a delivered pair is also in the cell
    interactions = (_interactions(cat, delivered, True, f"scenario '{scenario}' ev_cargo" if scenario else "ev_cargo")
                    + _interactions(cat, present, False, f"scenario '{scenario}' cellular" if scenario else "cellular"))
    body, body_origins, generated, mirnas = _assemble(cat, interactions, modules, genes)
    block, gen_int, block_origins = _intervention_block(cat, body, mirnas, strict=set(modules) >= set(PROCESS_MODULES))
    generated.update(gen_int)
    full = body + "\n" + block
    origins = body_origins + block_origins
    _lint(full.split("\n"), origins)

    symbols = set(_IDENT.findall(re.sub(r"//[^\n]*", "", full))) - _ANTIMONY_WORDS
    defined = set(re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:=", full, flags=re.M))
    defined |= set(re.findall(r"^\s*(J_[A-Za-z0-9_]+)\s*:", full, flags=re.M))
    for line in re.findall(r"^species ([^;]+);", full, flags=re.M):
        defined |= {s.strip() for s in line.split(",")}
    needed = sorted(symbols - defined)
    defaults, docs, missing = {}, {}, []
    for p in needed:
        if p in generated:
            defaults[p], docs[p] = generated[p][0], generated[p][1]
            continue
        row = cat.parameter_row(p)
        if row is None:
            missing.append(p)
            continue
        defaults[p] = row["value"]
        docs[p] = {"unit": row["unit"], "source": row["source"], "meaning": row["meaning"]}
    if missing:
        known = defined | set(defaults) | {n for n in cat.parameters if "{" not in n}
        raise ModelBuildError(_missing_symbols(full.split("\n"), origins, missing, known,
                                               cat.root / "tables" / "parameters.tsv"))
    presets = cat.root / "scenarios.toml"
    for i, ov in enumerate(preset.get("overrides", [])):
        p = ov["parameter"]
        if p not in defaults:
            line = toml_line(presets, scenario, "overrides", p)
            raise UnknownNameError("parameter", p, defaults,
                                   f"{presets}{':' + str(line) if line else ''} (scenario '{scenario}' overrides[{i}])")
        defaults[p] = float(ov["value"])
        docs[p] = {"unit": ov["unit"], "source": f"scenario '{scenario}': {ov['source']}",
                   "meaning": docs[p]["meaning"]}
    for p, v in (overrides or {}).items():
        if p not in defaults:
            raise UnknownNameError("parameter", p, defaults, "overrides")
        defaults[p] = float(v)
        docs[p] = {**docs[p], "source": "user override"}
    title = name or scenario or "custom"
    values = "\n".join(f"{p} = {defaults[p]!r};" for p in sorted(defaults))
    text = (f"// cafev model '{title}' assembled by sim.build from models/ode (see each module's header)\n"
            f"model cafev_{model_id(title)}()\n{full}\n\n// parameter values (models/tables, scenario overrides)\n"
            f"{values}\nend\n")
    params_path, generated_text = cat.root / "tables" / "parameters.tsv", Origin()
    value_origins = []
    for p in sorted(defaults):
        row = None if p in generated else cat.parameter_row(p)
        value_origins.append(Origin(params_path, row.get("_line"), f"value of '{p}'") if row is not None
                             else Origin(note=f"value of '{p}'"))
    origins = ([generated_text, generated_text] + origins + [generated_text, generated_text]
               + (value_origins or [generated_text]) + [generated_text, generated_text])
    model = BuiltModel(title, text, defaults, docs, interactions, mirnas, preset.get("drug"), dict(preset),
                       origins if len(origins) == text.count("\n") + 1 else [])
    model.sbml  # noqa: B018 -- Antimony checks the text now, so a malformed module fails at build, named
    return model


_REACTION = re.compile(r"^\s*(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*:(?!=)[^;]*?(?:->|=>)[^;]*;(?P<rate>[^;]*)")
_ASSIGNMENT = re.compile(r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>:=|=)\s*(?P<rhs>.*?)\s*$")


def _lint(lines: list[str], origins: list) -> None:
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
            for species in _IDENT.findall(re.sub(r"->|=>|\$[A-Za-z0-9_]*", " ", sides)):  # $X: boundary, may have rules
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
        if symbol in _IDENT.findall(text.split("//", 1)[0]):
            for names, cell in origin.cells:
                if symbol in names:
                    used = f", used in {origin.path.name}:{origin.line}" if origin.path is not None else ""
                    return Origin(cell.path, cell.line, f"{cell.note}{used}")
            return origin
    return Origin()


def _missing_symbols(lines: list[str], origins: list, missing: list[str], known: set, params: Path) -> str:
    """One line per symbol without a value: '<file>:<line>: 'k_x' has no row in parameters.tsv ... Did you mean?'"""
    out = []
    for symbol in missing:
        suggestion = closest(symbol, known - {symbol})
        hint = f" Did you mean '{suggestion}'?" if suggestion else ""
        out.append(f"{_first_use(lines, origins, symbol)}: '{symbol}' has no row in {params} and no definition in "
                   f"the model; expected a parameter row (name, value, unit, source, meaning) or a species, ':=' rule "
                   f"or reaction of that name.{hint}")
    return "\n".join(out)
