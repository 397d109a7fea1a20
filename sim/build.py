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

from sim.catalogue import Catalogue, load_catalogue, model_id
from sim.errors import ModelBuildError, UnknownNameError

PROCESS_MODULES = ("ev_supply", "medium", "uptake", "pi3k_akt", "stat3", "ferroptosis", "apoptosis",
                   "drug_handling", "population")
_IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
_ANTIMONY_WORDS = {"species", "compartment", "model", "end", "const", "var", "function", "exp", "log", "ln", "pow",
                   "piecewise", "and", "or", "not", "time", "sqrt", "abs", "min", "max"}


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

    @property
    def key(self) -> str:
        return f"{self.cargo}>{self.target}"


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

    @cached_property
    def sbml(self) -> str:
        """SBML Level 3 text of the model (converted by antimony)."""
        import antimony

        antimony.clearPreviousLoads()
        if antimony.loadAntimonyString(self.antimony) < 0:
            raise ModelBuildError(f"Antimony rejected the model for scenario '{self.name}': "
                                  f"{antimony.getLastError().strip()}")
        return antimony.getSBMLString(antimony.getMainModuleName())

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


def _template(cat: Catalogue, name: str) -> Template:
    path = cat.root / "ode" / "templates" / f"{name}.ant"
    lines = path.read_text(encoding="utf-8").splitlines()
    return Template("\n".join(ln for ln in lines if not ln.lstrip().startswith("//")))  # headers document, once


def _interactions(cat: Catalogue, keys: list[str], delivered: bool, where: str) -> list[Interaction]:
    out = []
    for key in keys:
        try:
            rows = cat.cargo_rows(key)
        except UnknownNameError as exc:
            raise UnknownNameError("cargo pair", key, exc.valid, where) from None
        first = rows[0]
        out.append(Interaction(first["cargo"], first["kind"], first["target"], first["effect"], first["resistance"],
                               tuple(dict.fromkeys(r["reference"] for r in rows)), delivered))
    return out


def _check_interaction(cat: Catalogue, it: Interaction, mirna_names: set, where: str) -> None:
    rna_genes = {g for g, r in cat.genes.items() if r["kind"] == "rna"}
    if it.effect == "repress":
        if it.kind != "miRNA":
            raise ModelBuildError(f"{where}: '{it.key}' is a {it.kind} with effect 'repress'; only miRNAs repress "
                                  f"targets in the ODE model (use a sponge row for a ceRNA).")
        if it.target not in rna_genes:
            raise UnknownNameError("target gene", it.target, rna_genes, f"{where} ('{it.key}')")
    elif it.effect == "sponge":
        if it.target not in mirna_names:
            raise ModelBuildError(f"{where}: sponge '{it.key}' soaks up miRNA '{it.target}', which no selected pair "
                                  f"uses; add the miRNA's own target pair (e.g. '{it.target}>GENE').")
    elif it.effect == "activate":
        if it.target not in rna_genes:
            raise UnknownNameError("target gene", it.target, rna_genes, f"{where} ('{it.key}')")
    elif it.effect == "carry":
        if it.target not in rna_genes:
            raise UnknownNameError("target gene", it.target, rna_genes, f"{where} ('{it.key}')")


def assemble_antimony(cat: Catalogue, interactions: list[Interaction], modules=PROCESS_MODULES,
                      genes: list[str] | None = None) -> tuple[str, dict, dict]:
    """Return (antimony body, generated parameter defaults with docs, miRNA ids) for the given pairs and modules."""
    parts, generated = [], {}
    for module in modules:
        path = cat.root / "ode" / f"{module}.ant"
        if not path.exists():
            valid = [p.stem for p in (cat.root / "ode").glob("*.ant")]
            raise UnknownNameError("model module", module, valid)
        parts.append(path.read_text(encoding="utf-8"))

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

    gene_t = _template(cat, "gene")
    for g, row in gene_rows.items():
        tx = row["tx_input"] or "1"
        for a in activators.get(g, []):
            tx = f"({tx})*(1 + cargo_activation_gain*{a}/(K_cargo_activation + {a}))"
        parts.append(gene_t.substitute(g=g, tx_input=tx))
        for col, suffix, unit in (("mrna_copies", "mrna_copies", "copies/cell"),
                                  ("protein_half_life", "protein_half_life", "h")):
            if row[col] is not None:
                generated[f"{g}_{suffix}"] = (row[col], {"unit": unit, "source": row["source"],
                                                         "meaning": f"{g}: {row['meaning']}"})

    mir_t, bind_t, bg_t = _template(cat, "mirna"), _template(cat, "mirna_binding"), _template(cat, "background_sites")
    for name, m in mirnas.items():
        row = cat.genes.get(name) if cat.genes.get(name, {}).get("kind") == "mirna" else None
        tx = (row["tx_input"] or "1") if row else "1"
        parts.append(mir_t.substitute(m=m, tx_input=tx))
        if row and row["endogenous"] is not None:
            generated[f"{m}_endogenous"] = (row["endogenous"], {"unit": "copies/cell", "source": row["source"],
                                                                "meaning": f"{name}: {row['meaning']}"})
        parts.append(bg_t.substitute(m=m))
        parts.append(bind_t.substitute(m=m, rna=f"{m}_bg", cx=f"{m}_bg_cx"))
        parts.append(bind_t.substitute(m=m, rna=f"sponge_{m}", cx=f"{m}_sponge_cx"))

    nc_t = _template(cat, "noncoding_rna")
    cargo_t, esc_rna, esc_prot = (_template(cat, n) for n in ("cargo_transfer", "escape_rna", "escape_protein"))
    seen_nc, seen_cargo = set(), set()
    for it in interactions:
        c = model_id(it.cargo)
        if it.effect in ("sponge", "activate") and c not in seen_nc:
            seen_nc.add(c)
            parts.append(nc_t.substitute(r=c))
        if it.effect == "repress":
            parts.append(bind_t.substitute(m=c, rna=f"{it.target}_mRNA", cx=f"{c}_{it.target}_cx"))
        elif it.effect == "sponge":
            m = mirnas[it.target]
            parts.append(bind_t.substitute(m=m, rna=c, cx=f"{m}_{c}_cx"))
        if it.delivered and c not in seen_cargo:
            seen_cargo.add(c)
            escape = (esc_prot.substitute(c=c, dest=it.target) if it.effect == "carry"
                      else esc_rna.substitute(c=c, dest=c))
            parts.append(cargo_t.substitute(c=c, escape=escape))
    return "\n".join(parts), generated, mirnas


def _intervention_block(cat: Catalogue, body: str, mirnas: dict, strict: bool = True) -> tuple[str, dict]:
    """Generate dose parameters, effects and activity slots (act_*) from interventions.tsv.

    With ``strict`` (the full module set) every intervention's slot must exist; a sub-model skips the missing ones.
    """
    slots = sorted(set(re.findall(r"\bact_[A-Za-z0-9_]+\b", body)))
    lines, generated, per_slot = ["// interventions (generated from models/tables/interventions.tsv)"], {}, {}
    path = cat.root / "tables" / "interventions.tsv"

    def effect(ident: str, row: dict, suffix: str = "") -> str:
        dose, e = f"dose_{ident}{suffix}", f"eff_{ident}{suffix}"
        doc = {"source": row["reference"], "meaning": f"{row['name']}{' against ' + suffix[1:] if suffix else ''}"}
        generated[dose] = (0.0, {**doc, "unit": row["unit"], "meaning": f"dose of {doc['meaning']}"})
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
    for slot in slots:
        terms = per_slot.get(slot)
        lines.append(f"{slot} := {'*'.join(f'(1 - {e})' for e in terms)};" if terms else f"{slot} := 1;")
    return "\n".join(lines), generated


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
        Unknown scenario, cargo pair, gene or parameter (with the closest valid name).
    ModelBuildError
        A pair the ODE model cannot represent, or a symbol without a value.
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
    body, generated, mirnas = assemble_antimony(cat, interactions, modules, genes)
    block, gen_int = _intervention_block(cat, body, mirnas, strict=set(modules) >= set(PROCESS_MODULES))
    generated.update(gen_int)
    full = body + "\n" + block

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
        raise ModelBuildError(f"The model uses symbols with no row in {cat.root / 'tables' / 'parameters.tsv'}: "
                              f"{', '.join(missing)}. Add a row (name, value, unit, source, meaning) for each.")
    for i, ov in enumerate(preset.get("overrides", [])):
        p = ov["parameter"]
        if p not in defaults:
            raise UnknownNameError("parameter", p, defaults, f"scenario '{scenario}' overrides[{i}]")
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
    return BuiltModel(title, text, defaults, docs, interactions, mirnas, preset.get("drug"), dict(preset))
