"""The biology tables are complete: units and sources on every parameter, references on every cargo and
intervention row, the drugs and interventions the issue names; malformed tables fail with file and line."""
import re
import shutil

import pytest

import sim
from sim.catalogue import load_catalogue, MODELS_DIR
from sim.errors import TableError


@pytest.fixture(scope="module")
def cat():
    return load_catalogue()


def test_every_model_parameter_has_value_unit_source_meaning(pdac_model):
    table = pdac_model.parameter_table()
    assert len(table) > 150
    for col in ("unit", "source", "meaning"):
        blank = table[table[col].astype(str).str.strip() == ""]["name"].tolist()
        assert not blank, f"parameters without {col}: {blank}"
    assert table["value"].notna().all()


def test_cargo_table_has_at_least_25_referenced_rows(cat):
    assert len(cat.cargo) >= 25
    for row in cat.cargo:
        assert re.search(r"\[\d+\]", row["reference"]), row


def test_key_cargo_pairs_from_the_seeds(cat):
    pairs = {(r["cargo"], r["target"]): r for r in cat.cargo}
    # Lin et al. (seed 000) Table 1: [43] miR-3173-5p/ACSL4, [42] miR-522/ALOX15, [44] miR-432-5p/CHAC1,
    # [29] miR-106b/TP53INP1, [62] LINC00355 sponges miR-34b-5p.
    assert "[43]" in pairs[("miR-3173-5p", "ACSL4")]["reference"]
    assert "[42]" in pairs[("miR-522", "ALOX15")]["reference"]
    assert "[44]" in pairs[("miR-432-5p", "CHAC1")]["reference"]
    assert "[29]" in pairs[("miR-106b", "TP53INP1")]["reference"]
    assert pairs[("LINC00355", "miR-34b-5p")]["effect"] == "sponge"
    assert pairs[("miR-34c-5p", "NA")]["resistance"] == "-"


def test_drugs_and_interventions_named_by_the_issue(cat):
    assert set(cat.drugs) == {"GEM", "DDP", "PTX", "DTX", "OXA", "DOX", "TAM", "SOR"}  # TAM, SOR: issue #16
    for name in ("GW4869", "manumycin A", "tipifarnib", "imipramine", "KU60019", "RAB27A knockdown",
                 "RAB27B knockdown", "endocytosis inhibitor (dynasore)", "CD63-neutralising antibody", "antagomir",
                 "miRNA sponge", "LY294002", "Stattic", "erastin", "RSL3", "ferrostatin-1"):
        row = cat.intervention(name)
        assert row["reference"] and row["unit"]
    assert cat.drug("PTX")["abcb1"] == 1 and cat.drug("DDP")["abcb1"] == 0  # DESIGN 2.3: DDP is no P-gp substrate
    assert cat.drug("GEM")["ent2"] > 0


def test_ev_scale_defaults_respect_published_values(cat):
    # Chevillet et al. 2014 PNAS: ~0.008 copies of a given miRNA per exosome; Chiu 2016 / Wang 2017: ~1e2 EV/cell/day
    # to ~60 EV/cell/h. Defaults must stay on that scale; scenarios that enrich say so in their source.
    assert 0.001 <= cat.parameters["{cargo}_per_EV"]["value"] <= 0.02
    total = cat.parameters["sec_nsmase2"]["value"] + cat.parameters["sec_escrt"]["value"]
    assert 4 <= total <= 500


def test_scenario_overrides_above_chevillet_say_they_are_enrichment(cat):
    for name, preset in cat.scenarios.items():
        for ov in preset.get("overrides", []):
            if ov["parameter"].endswith("_per_EV") and ov["value"] > 0.02:
                assert "enrich" in ov["source"], (name, ov)


@pytest.fixture
def models_copy(tmp_path):
    dst = tmp_path / "models"
    shutil.copytree(MODELS_DIR, dst)
    return dst


def test_parameter_row_without_unit_is_rejected_with_file_and_line(models_copy):
    path = models_copy / "tables" / "parameters.tsv"
    lines = path.read_text().splitlines()
    idx = next(i for i, ln in enumerate(lines) if ln.startswith("k_pten\t"))
    cells = lines[idx].split("\t")
    cells[2] = ""
    lines[idx] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TableError, match=rf"parameters.tsv:{idx + 1}: the 'unit' cell is empty"):
        load_catalogue(models_copy)


def test_cargo_row_with_unknown_target_is_rejected_at_build(models_copy):
    path = models_copy / "tables" / "cargo.tsv"
    path.write_text(path.read_text() + "miR-999\tmiRNA\t\t\t\tNOTAGENE\trepress\t+\tPDAC\tGEM\t[1]\ttest row\n")
    cat = load_catalogue(models_copy)
    with pytest.raises(sim.CafevError, match="Unknown target gene 'NOTAGENE'"):
        sim.build_model(None, ev_cargo=["miR-999>NOTAGENE"], catalogue=cat)


def test_bad_number_in_drug_table_names_line(models_copy):
    path = models_copy / "tables" / "drugs.tsv"
    text = re.sub(r"^(GEM\tgemcitabine\tCHEBI:\d+\t)[^\t]+", r"\1fast", path.read_text(), flags=re.M)
    path.write_text(text)
    with pytest.raises(TableError, match=r"drugs.tsv:\d+: 'potency_uM' must be a number. Got 'fast'"):
        load_catalogue(models_copy)


def test_parameter_ranges_hold_every_default_and_name_real_parameters(cat, pdac_model):
    # DESIGN 2.7 ranges (parameter_ranges.tsv): each names a parameter of parameters.tsv in its own unit, and the
    # table's default lies inside it; templates cover every instance in a scenario's model.
    assert {"k_escape", "ev_uptake_fraction_24h", "{cargo}_per_EV", "mirna_max_repression"} <= set(cat.ranges)
    for name, row in cat.ranges.items():
        param = cat.parameters[name]
        assert row["unit"] == param["unit"] and row["source"]
        assert row["low"] <= param["value"] <= row["high"], name
    ranges = cat.model_ranges(pdac_model.defaults)
    assert ranges["k_escape"]["low"] == pytest.approx(0.00118) and ranges["k_escape"]["scale"] == "log"
    assert ranges["PTEN_protein_half_life"]["high"] == 100 and ranges["PTEN_protein_half_life"]["value"] == 30
    assert ranges["miR_3173_5p_per_EV"]["inside"]  # the published regime, 1 copy per EV, is the range's top
    assert "k_pten" not in ranges  # a model-scale parameter has no range of 2.7


def _edit_range(models_copy, name: str, column: int, value: str) -> int:
    path = models_copy / "tables" / "parameter_ranges.tsv"
    lines = path.read_text().splitlines()
    idx = next(i for i, ln in enumerate(lines) if ln.startswith(name + "\t"))
    cells = lines[idx].split("\t")
    cells[column] = value
    lines[idx] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return idx + 1


def test_range_that_excludes_the_default_is_reported_not_moved(models_copy):
    line = _edit_range(models_copy, "k_escape", 2, "0.04")  # high below the default 0.05
    with pytest.raises(TableError, match=rf"parameter_ranges.tsv:{line}: range of parameter 'k_escape': the default "
                                         r"0.05 1/h \(parameters.tsv line \d+\) lies outside 0.00118-0.04"):
        load_catalogue(models_copy)


def test_range_of_unknown_parameter_suggests_the_closest(models_copy):
    line = _edit_range(models_copy, "k_escape", 0, "k_escpe")
    with pytest.raises(TableError, match=rf"parameter_ranges.tsv:{line}: .*'k_escpe': no such parameter in "
                                         r"parameters.tsv. Did you mean 'k_escape'\?"):
        load_catalogue(models_copy)


def test_range_in_another_unit_or_scale_is_rejected(models_copy):
    _edit_range(models_copy, "k_escape", 3, "1/min")
    with pytest.raises(TableError, match=r"the unit must be the parameter's own, '1/h'"):
        load_catalogue(models_copy)
    _edit_range(models_copy, "k_escape", 3, "1/h")
    _edit_range(models_copy, "k_escape", 4, "logit")
    load_catalogue.cache_clear()
    with pytest.raises(TableError, match=r"'scale' must be one of lin, log. Got 'logit'"):
        load_catalogue(models_copy)
