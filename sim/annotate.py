"""MIRIAM annotations and SBO terms of a built model's SBML.

Every species gets the BioModels qualifiers and identifiers that ``models/tables/species_annotations.tsv`` gives it,
as identifiers.org URIs (``https://identifiers.org/hgnc:9588``, ``https://identifiers.org/CHEBI:175901``), with the
placeholders of that table filled from the identifier columns of ``genes.tsv``, ``cargo.tsv`` and ``drugs.tsv``; a
species carrying annotations gets a ``metaid`` (``meta_<id>``). Every reaction gets the SBO term of the first rule of
:data:`SBO_RULES` its id matches; a rule with no term says why none fits, and the reaction stays without one.
Annotations change no number: :func:`sim.build.build_model` applies them to the SBML Antimony made, before anything
(the engines, ``cafev export-sbml``, PEtab) reads it.

References
----------
Le Novère N, Finney A, Hucka M et al. (2005) Minimum information requested in the annotation of biochemical models
(MIRIAM). Nat Biotechnol 23:1509-1515.
Juty N, Le Novère N, Laibe C (2012) Identifiers.org and MIRIAM Registry: community resources to provide persistent
identification. Nucleic Acids Res 40:D580-D586.
Courtot M, Juty N, Knüpfer C et al. (2011) Controlled vocabularies and semantics in systems biology. Mol Syst Biol
7:543 (the Systems Biology Ontology, SBO).
"""
from __future__ import annotations

import itertools
import re

from sim.built_model import BuiltModel
from sim.catalogue import Catalogue, model_id
from sim.identifiers import compact_id
from sim.errors import ModelBuildError

IDENTIFIERS_ORG = "https://identifiers.org/"  # + compact identifier: the resolver's URI form for MIRIAM annotations
QUALIFIERS = {"is": "BQB_IS", "isVersionOf": "BQB_IS_VERSION_OF", "hasVersion": "BQB_HAS_VERSION",
              "hasPart": "BQB_HAS_PART", "isPartOf": "BQB_IS_PART_OF", "isEncodedBy": "BQB_IS_ENCODED_BY",
              "encodes": "BQB_ENCODES", "isHomologTo": "BQB_IS_HOMOLOG_TO", "isDescribedBy": "BQB_IS_DESCRIBED_BY",
              "occursIn": "BQB_OCCURS_IN", "hasProperty": "BQB_HAS_PROPERTY", "isPropertyOf": "BQB_IS_PROPERTY_OF",
              "hasTaxon": "BQB_HAS_TAXON"}  # species_annotations.tsv qualifier -> libsbml biology qualifier

# Reaction id (as the Antimony modules and templates name reactions) -> SBO term; the first matching rule wins.
# None: no SBO process fits, the reaction is left without a term (and the rule says why).
SBO_RULES = (
    (r"^J_ev_(supplied|internalised)_count$|_delivered_(count|dilute)$", None,
     "counters of the delivery budget (EVs supplied and taken up, cargo copies delivered): bookkeeping, no process"),
    (r"^J_(pip3_make|akt_activate|stat3_phos)$", 216,
     "phosphorylation: PI3K makes PIP3 from PIP2 (pi3k_akt.ant); AKT and STAT3 are phosphorylated (stat3.ant)"),
    (r"^J_(pip3_remove|akt_deactivate|stat3_dephos)$", 330, "dephosphorylation: PTEN on PIP3; pAKT, pSTAT3 turned off"),
    (r"^J_lros_(make|remove)$", 200, "redox reaction: lipid peroxidation; GPX4 reduces lipid peroxides with GSH"),
    (r"^J_casp3_on$", 178, "cleavage: active caspase-9 cleaves procaspase-3 (apoptosis.ant)"),
    (r"^J_casp(9_on|9_off|3_off)$", None, "apoptosome activation, caspase inactivation: lumped, no SBO process fits"),
    (r"^J_(growth|apoptosis|ferroptosis)$", None, "division and death of cells (population.ant): no SBO process term"),
    (r"^J_dsb_(repair|fix|binary)$", None, "repair, fixation and misrejoining of DNA breaks (radiation.ant): no term"),
    (r"_transcribe$", 183, "transcription: a gene's mRNA (gene.ant), a miRNA's transcript lumped with its processing"),
    (r"_translate$", 184, "translation (gene.ant)"),
    (r"_bind$|_load$|_antagomir(_unloaded)?$", 177,
     "non-covalent binding: loaded miRNA on a target site, background site or sponge; miRNA into Argonaute "
     "(the Ago pool is implicit); miRNA sequestered by an antagomir (the duplex is not tracked)"),
    (r"_unbind$", 180, "dissociation of a miRNA complex"),
    (r"_(release|consumed|internalise|escape|deliver)$|^J_drug_(influx|efflux|loss)$", 185,
     "transport reaction: EVs and cargo released into the medium, taken up, escaping the endosome; drug influx and "
     "efflux"),
    (r"_make$", 393, "production: background sites, synthetic sponges, the lumped miRNAs, GSH synthesis"),
    (r"_(decay|destroy|recycle|lysosome|clear|use)$", 179,
     "degradation: RNAs, proteins, miRNAs, complexes (recycle: the held target decays, the miRNA returns), lysosomal "
     "loss, clearance from the medium, GSH used up"),
)
_PLACEHOLDER = re.compile(r"\{(gene|mirna|rna|cargo)\}")
_MOLECULE = {"miRNA": "mirbase.mature", "lncRNA": "hgnc", "circRNA": "hgnc", "mRNA": "hgnc", "protein": "uniprot"}


def sbo_rule(reaction_id: str) -> tuple[str, int | None, str] | None:
    """The rule of :data:`SBO_RULES` for a reaction id (pattern, SBO term or None, why), or None if no rule matches."""
    return next((rule for rule in SBO_RULES if re.search(rule[0], reaction_id)), None)


def _entities(model: BuiltModel, catalogue: Catalogue) -> dict[str, dict[str, dict[str, tuple]]]:
    """What the placeholders of species_annotations.tsv stand for in this model: entity -> model id -> field ->
    compact identifiers (``{'gene': {'PTEN': {'hgnc': ('hgnc:9588',), 'uniprot': ('uniprot:P60484',)}}}``)."""
    mol = catalogue.molecules

    def ids(name: str, prefix: str) -> tuple:
        return tuple(i for i in [mol.get(name, {}).get(prefix)] if i)

    kinds = {model_id(it.cargo): (it.cargo, it.kind) for it in model.interactions}
    drug = catalogue.drug(model.drug) if model.drug else None  # None: a radiation preset
    return {
        "gene": {model_id(g): {"hgnc": ids(g, "hgnc"), "uniprot": ids(g, "uniprot")}
                 for g, row in catalogue.genes.items() if row["kind"] == "rna"},
        "mirna": {mid: {"mirbase": ids(name, "mirbase.mature")} for name, mid in model.mirnas.items()},
        "rna": {cid: {"hgnc": ids(name, "hgnc")} for cid, (name, kind) in kinds.items()
                if kind in ("lncRNA", "circRNA")},
        "cargo": {cid: {"molecule": ids(kinds[cid][0], _MOLECULE[kinds[cid][1]])
                        or ids(kinds[cid][0], "hgnc")} for cid in model.delivered_cargo},
        "drug": {"": {"chebi": (compact_id("chebi", drug["chebi"]),) if drug else ()}},
    }


def species_terms(model: BuiltModel, catalogue: Catalogue, species: list[str]) -> dict[str, dict[str, tuple]]:
    """The annotations of each species: species id -> qualifier -> compact identifiers (in table order, each once).

    A row whose species pattern names no species of the model, or whose placeholders have no identifier in the
    tables, adds nothing; a species no row reaches gets no entry.
    """
    entities, present, out = _entities(model, catalogue), set(species), {}
    for row in catalogue.annotations:
        names = _PLACEHOLDER.findall(row["species"])
        for combo in itertools.product(*(entities[n].items() for n in names)):
            sid, bound = row["species"], {"drug": entities["drug"][""]}
            for name, (mid, fields) in zip(names, combo):
                sid, bound[name] = sid.replace(f"{{{name}}}", mid, 1), fields
            if sid not in present:
                continue
            found = []
            for token in row["tokens"]:
                if token.startswith("{"):
                    entity, _, field = token.strip("{}").partition(".")
                    found += bound[entity][field]
                else:
                    found.append(token)
            if found:
                terms = out.setdefault(sid, {})
                terms[row["qualifier"]] = tuple(dict.fromkeys(terms.get(row["qualifier"], ()) + tuple(found)))
    return out


def _done(code: int, what: str) -> None:
    import libsbml

    if code != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise ModelBuildError(f"libsbml could not {what}: {libsbml.OperationReturnValue_toString(code)}.")


def annotate_sbml(sbml: str, model: BuiltModel, catalogue: Catalogue) -> str:
    """Return ``sbml`` with MIRIAM annotations on its species and SBO terms on its reactions.

    Parameters
    ----------
    sbml : str
        The SBML text of ``model`` (as Antimony converts it).
    model : BuiltModel
        The model it was made from: its miRNAs, cargo pairs and drug choose what the placeholders stand for.
    catalogue : Catalogue
        The tables the model was built from (identifier columns and ``species_annotations.tsv``).

    Returns
    -------
    str
        SBML text with the same ids, math and values, plus ``metaid``s, annotations and ``sboTerm``s.
    """
    import libsbml

    doc = libsbml.readSBMLFromString(sbml)
    m = doc.getModel()
    terms = species_terms(model, catalogue, [s.getId() for s in m.getListOfSpecies()])
    for s in m.getListOfSpecies():
        if s.getId() not in terms:
            continue
        if not s.isSetMetaId():
            _done(s.setMetaId(f"meta_{s.getId()}"), f"give species '{s.getId()}' a metaid")
        for qualifier, identifiers in terms[s.getId()].items():
            cv = libsbml.CVTerm(libsbml.BIOLOGICAL_QUALIFIER)
            cv.setBiologicalQualifierType(getattr(libsbml, QUALIFIERS[qualifier]))
            for ident in identifiers:
                _done(cv.addResource(IDENTIFIERS_ORG + ident), f"add {ident} to species '{s.getId()}'")
            _done(s.addCVTerm(cv), f"annotate species '{s.getId()}' ({qualifier})")
    for r in m.getListOfReactions():
        rule = sbo_rule(r.getId())
        if rule is not None and rule[1] is not None:
            _done(r.setSBOTerm(rule[1]), f"give reaction '{r.getId()}' the SBO term {rule[1]}")
    return libsbml.writeSBMLToString(doc)


def read_annotations(sbml: str) -> tuple[dict[str, dict[str, tuple]], dict[str, str]]:
    """The annotations of an SBML text: (species id -> qualifier -> URIs, reaction id -> SBO term id or '')."""
    import libsbml

    names = {getattr(libsbml, q): name for name, q in QUALIFIERS.items()}
    m = libsbml.readSBMLFromString(sbml).getModel()
    species = {}
    for s in m.getListOfSpecies():
        cvs = [s.getCVTerm(i) for i in range(s.getNumCVTerms())]
        species[s.getId()] = {names[cv.getBiologicalQualifierType()]: tuple(cv.getResourceURI(j)
                                                                           for j in range(cv.getNumResources()))
                              for cv in cvs if cv.getQualifierType() == libsbml.BIOLOGICAL_QUALIFIER}
    return species, {r.getId(): r.getSBOTermID() for r in m.getListOfReactions()}
