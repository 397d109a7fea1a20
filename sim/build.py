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

import re

from sim.annotate import annotate_sbml
from sim.antimony_origins import ANTIMONY_WORDS, IDENTIFIER, Origin, file_origins, lint, missing_symbols
from sim.built_model import BuiltModel, Interaction, delivered_cargo
from sim.catalogue import Catalogue, load_catalogue, model_id
from sim.textfiles import toml_line
from sim.errors import ModelBuildError, UnknownNameError
from sim.templates import load_template, read_module

PROCESS_MODULES = ("ev_supply", "medium", "uptake", "pi3k_akt", "stat3", "ferroptosis", "apoptosis",
                   "radiation", "drug_handling", "population")


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


def _assemble(cat: Catalogue, interactions: list[Interaction], modules=PROCESS_MODULES,
              genes: list[str] | None = None) -> tuple[str, list, dict, dict, dict]:
    """Return the Antimony body of the given pairs and modules, one :class:`Origin` per line of it, the generated
    parameter defaults with their docs, the miRNA ids (name -> id) and the complex species of each loaded miRNA with
    an RNA it holds (``(miRNA id, RNA) -> complex``; a target site's RNA is its gene)."""
    parts, generated = [], {}  # parts: (text, origins)
    for module in modules:
        path = cat.root / "ode" / f"{module}.ant"
        if not path.exists():
            valid = [p.stem for p in (cat.root / "ode").glob("*.ant")]
            raise UnknownNameError("model module", module, valid)
        text = read_module(path, "model module")
        parts.append((text, file_origins(path, text)))

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
    # Complexes of loaded miRNA with an RNA that has one site for it (background sites, sponges): (miRNA id, RNA,
    # complex id, complex decay, note); and sites of miRNAs on target mRNAs: gene -> [(miRNA id, site id, note)].
    bindings, sites = [], {}
    for name, m in mirnas.items():
        bindings.append((m, f"{m}_bg", f"{m}_bg_cx", "k_target_complex_decay",
                         f"miRNA '{name}' on its background sites"))
        bindings.append((m, f"sponge_{m}", f"{m}_sponge_cx", "k_lncrna_deg", f"miRNA '{name}' on a synthetic sponge"))
    for it in interactions:
        c, note = model_id(it.cargo), f"cargo pair '{it.key}', {it.location(cat)}"
        if it.effect == "repress":
            sites.setdefault(it.target, []).append((c, f"{c}_{it.target}_cx", note))
        elif it.effect == "sponge":
            bindings.append((mirnas[it.target], c, f"{mirnas[it.target]}_{c}_cx", "k_lncrna_deg", note))

    def product(gene: str, gain: str, skip: str | None = None) -> str:
        terms = [f"(1 + {gain}*{cx}_occupancy)" for _, cx, _ in sites.get(gene, []) if cx != skip]
        return "*".join(terms) or "1"

    genes_path = cat.root / "tables" / "genes.tsv"
    gene_t = load_template(cat.root, "gene")
    for g, row in gene_rows.items():
        tx = row["tx_input"] or "1"
        for a in activators.get(g, []):
            tx = f"({tx})*(1 + cargo_activation_gain*{a}/(K_cargo_activation + {a}))"
        row_at = f"{genes_path}:{row['_line']}" if "_line" in row else str(genes_path)
        cells = {"tx_input": Origin(genes_path, row.get("_line"), f"tx_input of gene '{g}'")} if row["tx_input"] \
            else None
        parts.append(gene_t.render(f"gene '{g}', {row_at}", cells, g=g, tx_input=tx,
                                   decay_factor=product(g, "mirna_decay_gain"),
                                   tl_factor=product(g, "mirna_translation_gain")))
        for col, suffix, unit in (("mrna_copies", "mrna_copies", "copies/cell"),
                                  ("protein_half_life", "protein_half_life", "h")):
            if row[col] is not None:
                generated[f"{g}_{suffix}"] = (row[col], {"unit": unit, "source": row["source"],
                                                         "meaning": f"{g}: {row['meaning']}"})

    mir_t, bind_t, bg_t = (load_template(cat.root, n) for n in ("mirna", "mirna_binding", "background_sites"))
    if mirnas:
        loaded = " + ".join(f"{m}_RISC" for m in mirnas.values())
        loaded += "".join(f" + {cx}" for _, _, cx, _, _ in bindings)
        loaded += "".join(f" + {cx}" for gene_sites in sites.values() for _, cx, _ in gene_sites)
        endogenous = " + ".join(f"{m}_endogenous" for m in mirnas.values())
        pool = load_template(cat.root, "ago_pool")
        parts.append(pool.render("the Argonaute pool", loaded=loaded, endogenous=endogenous))
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
    for m, rna, cx, decay, note in bindings:
        parts.append(bind_t.render(note, m=m, rna=rna, cx=cx, cx_decay=decay))
    site_t = load_template(cat.root, "mirna_site")
    for gene, gene_sites in sites.items():
        for m, cx, note in gene_sites:
            parts.append(site_t.render(note, m=m, g=gene, cx=cx, others=product(gene, "mirna_decay_gain", cx)))

    nc_t = load_template(cat.root, "noncoding_rna")
    cargo_t, esc_rna, esc_prot = (load_template(cat.root, n)
                                  for n in ("cargo_transfer", "escape_rna", "escape_protein"))
    seen_nc, seen_cargo = set(), set()
    for it in interactions:
        c = model_id(it.cargo)
        note = f"cargo pair '{it.key}', {it.location(cat)}"
        if it.effect in ("sponge", "activate") and c not in seen_nc:
            seen_nc.add(c)
            parts.append(nc_t.render(note, r=c))
        if it.delivered and c not in seen_cargo:
            seen_cargo.add(c)
            escape = (esc_prot.render(note, c=c, dest=it.target) if it.effect == "carry"
                      else esc_rna.render(note, c=c, dest=c))
            parts.append(cargo_t.render(note, c=c, escape=escape))
    complexes = {(m, rna): cx for m, rna, cx, _, _ in bindings}  # (miRNA id, RNA it holds) -> complex species
    complexes.update({(m, gene): cx for gene, gene_sites in sites.items() for m, cx, _ in gene_sites})
    return "\n".join(t for t, _ in parts), [o for _, origins in parts for o in origins], generated, mirnas, complexes


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
                base: bool = True, drop_cargo: list[str] | None = None) -> BuiltModel:
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
    drop_cargo : list of str, optional
        ``'cargo>target'`` pairs of the preset's ``ev_cargo`` to leave out (what each arm contributes:
        tests/test_inert_arms.py); an unknown pair raises UnknownNameError.
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
    for pair in drop_cargo or []:
        if pair not in delivered:
            raise UnknownNameError("delivered cargo pair", pair, delivered, f"scenario '{scenario}' drop_cargo")
        delivered.remove(pair)
    present = list(preset.get("cellular", [])) + list(cellular or [])
    if base and set(modules) >= set(PROCESS_MODULES) and genes is None:
        present = list(cat.base_cellular) + present
    present = [k for k in dict.fromkeys(present) if k not in delivered]  # a delivered pair is also in the cell
    interactions = (_interactions(cat, delivered, True, f"scenario '{scenario}' ev_cargo" if scenario else "ev_cargo")
                    + _interactions(cat, present, False, f"scenario '{scenario}' cellular" if scenario else "cellular"))
    body, body_origins, generated, mirnas, complexes = _assemble(cat, interactions, modules, genes)
    block, gen_int, block_origins = _intervention_block(cat, body, mirnas, strict=set(modules) >= set(PROCESS_MODULES))
    generated.update(gen_int)
    full = body + "\n" + block
    origins = body_origins + block_origins
    lint(full.split("\n"), origins)

    symbols = set(IDENTIFIER.findall(re.sub(r"//[^\n]*", "", full))) - ANTIMONY_WORDS
    defined = set(re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:=", full, flags=re.M))
    defined |= set(re.findall(r"^\s*([JE]_[A-Za-z0-9_]+)\s*:", full, flags=re.M))  # reactions and events
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
        raise ModelBuildError(missing_symbols(full.split("\n"), origins, missing, known,
                                              cat.root / "tables" / "parameters.tsv"))
    presets = cat.root / "scenarios.toml"
    delivery = preset.get("delivery")
    if delivery:  # the published regime is the model's default; a condition may choose "enriched"
        for c in delivered_cargo(interactions):
            defaults[f"{c}_per_EV"] = float(delivery["published"])
            docs[f"{c}_per_EV"] = {"unit": "copies/EV", "source": f"scenario '{scenario}' delivery regime 'published' "
                                   f"({presets}, [{scenario}.delivery])", "meaning": docs[f"{c}_per_EV"]["meaning"]}
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
                       origins if len(origins) == text.count("\n") + 1 else [],
                       complexes)
    # Antimony checks the text now, so a malformed module fails at build, named; MIRIAM and SBO annotations
    model.sbml = annotate_sbml(model.sbml, model, cat)
    return model
