"""A broken model file is rejected when the catalogue is loaded or the model is built, by the package's own errors,
naming the file and the line to fix (in the module or table itself, not in the assembled Antimony text) and, for a
name, the closest valid one.

Each test copies models/ into tmp_path, breaks one thing by text replacement and computes the expected line from the
copied file's text. One small scenario (nsclc_ddp, one cargo pair) is built where a build is needed.
"""
import re
import shutil

import pytest

import sim
from sim.catalogue import MODELS_DIR, load_catalogue
from sim.errors import InvalidValueError, ModelBuildError, TableError, UnknownNameError

SCENARIO = "nsclc_ddp"  # ev_cargo = ["miR-20a>PTEN"]


@pytest.fixture
def models(tmp_path):
    dst = tmp_path / "models"
    shutil.copytree(MODELS_DIR, dst)
    return dst


def replace(path, old, new):
    """Replace the one occurrence of ``old`` in ``path`` by ``new``; return the 1-based line where ``old`` began."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    line = text[:text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    return line


def build(models, scenario=SCENARIO, **kw):
    return sim.build_model(scenario, catalogue=load_catalogue(models), **kw)


def table_cell(path, key, column, value):
    """Set ``column`` of the row whose first cell is ``key`` to ``value``; return the row's 1-based line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("#"))
    col = lines[header].split("\t").index(column)
    idx = next(i for i, ln in enumerate(lines) if i > header and ln.split("\t")[0] == key)
    cells = lines[idx].split("\t")
    cells[col] = value
    lines[idx] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return idx + 1


def test_unmodified_copy_loads_and_builds(models):
    cat = load_catalogue(models)
    assert cat.root == models and "pdac_gem" in cat.scenarios
    model = build(models)
    assert model.sbml.startswith("<?xml")
    # every line of the assembled text maps back to its file: here a reaction of the copied pi3k_akt.ant
    module = models / "ode" / "pi3k_akt.ant"
    line = module.read_text().splitlines().index("J_pip3_remove: PIP3 -> ; k_pten*PTEN*PIP3;") + 1
    at = model.antimony.split("\n").index("J_pip3_remove: PIP3 -> ; k_pten*PTEN*PIP3;") + 1
    assert (model.origin(at).path, model.origin(at).line) == (module, line)


# -- a. malformed Antimony modules: ModelBuildError naming the .ant file and the line in that file -----------------

def test_antimony_syntax_error_names_the_module_and_its_line(models):
    module = models / "ode" / "pi3k_akt.ant"
    line = replace(module, "J_pip3_remove: PIP3 -> ; k_pten*PTEN*PIP3;", "J_pip3_remove: PIP3 -> ; k_pten*(PTEN*PIP3;")
    with pytest.raises(ModelBuildError) as info:
        build(models)
    msg = str(info.value)
    assert msg.startswith(f"{module}:{line}: Antimony rejected the model for scenario '{SCENARIO}'")
    assert "k_pten*(PTEN*PIP3;" in msg  # quotes the offending line
    assert "line" in msg and "of the assembled model" in msg


def test_antimony_error_reported_at_the_model_end_points_at_the_module(models):
    # '2k_pten' parses as the number 2 with unit k_pten; libSBML complains at the end of the model
    module = models / "ode" / "pi3k_akt.ant"
    line = replace(module, "J_pip3_remove: PIP3 -> ; k_pten*PTEN*PIP3;", "J_pip3_remove: PIP3 -> ; 2k_pten*PTEN*PIP3;")
    with pytest.raises(ModelBuildError, match="Antimony rejected the model") as info:
        build(models)
    assert f"{module}:{line}" in str(info.value)


def test_reaction_using_an_undefined_name_names_module_line_and_closest(models):
    module = models / "ode" / "pi3k_akt.ant"
    line = replace(module, "J_pip3_remove: PIP3 -> ; k_pten*PTEN*PIP3;", "J_pip3_remove: PIP3 -> ; k_ptne*PTEN*PIP3;")
    with pytest.raises(ModelBuildError) as info:
        build(models)
    msg = str(info.value)
    assert msg.startswith(f"{module}:{line}: 'k_ptne' has no row in {models / 'tables' / 'parameters.tsv'}")
    assert "Did you mean 'k_pten'?" in msg


@pytest.mark.parametrize("new, message", [
    # Antimony accepts each of these silently and builds a different model
    ("J_pip3_remove PIP3 -> ; k_pten*PTEN*PIP3;", r"expected a reaction 'J_name: reactants -> products; rate law;'"),
    ("J_pip3_remove: PIP3 -> ; ;", r"reaction 'J_pip3_remove' has no rate law"),
    ("R_pip3_remove: PIP3 -> ; k_pten*PTEN*PIP3;", r"reaction label starting with 'J_'.*found 'R_pip3_remove'"),
    ("J_pip3_make: PIP3 -> ; k_pten*PTEN*PIP3;", r"reaction 'J_pip3_make' is already defined at .*pi3k_akt\.ant:\d+"),
    ("J_pip3_remove: PIP3 -> ; k_pten*PTEN*PIP3;\nPIP3 := 0.5;",
     r"'PIP3' is set by a ':=' rule here and also changed by reaction 'J_pip3_make'"),
])
def test_statements_antimony_would_misread_are_rejected_with_file_and_line(models, new, message):
    module = models / "ode" / "pi3k_akt.ant"
    line = replace(module, "J_pip3_remove: PIP3 -> ; k_pten*PTEN*PIP3;", new)
    if ":=" in new:
        line += 1  # the rule is the added second line
    with pytest.raises(ModelBuildError, match=message) as info:
        build(models)
    assert str(info.value).startswith(f"{module}:{line}: ")


def test_assignment_without_value_names_module_and_line(models):
    module = models / "ode" / "pi3k_akt.ant"
    line = replace(module, "PIP3 = 0.25;", "PIP3 = ;")
    with pytest.raises(ModelBuildError, match=r"'PIP3 =' has nothing on its right-hand side") as info:
        build(models)
    assert str(info.value).startswith(f"{module}:{line}: ")


def test_template_error_names_template_line_and_instance(models):
    template = models / "ode" / "templates" / "gene.ant"
    line = replace(template, "J_${g}_protein_decay: $g -> ; (ln2/${g}_protein_half_life + division_rate)*$g;",
                   "J_${g}_protein_decay: $g -> ; (ln2/${g}_protein_half_life + division_rate*$g;")
    with pytest.raises(ModelBuildError, match="Antimony rejected") as info:
        build(models)
    msg = str(info.value)
    assert msg.startswith(f"{template}:{line} (gene '")
    assert re.search(rf"{re.escape(str(models / 'tables' / 'genes.tsv'))}:\d+\)", msg)


def test_unknown_template_placeholder_names_template_line(models):
    template = models / "ode" / "templates" / "gene.ant"
    line = replace(template, "J_${g}_mrna_decay:", "J_${gene}_mrna_decay:")
    with pytest.raises(ModelBuildError, match=r"unknown placeholder '\$gene' — expected one of \$decay_factor, \$g, "
                                                 r"\$tl_factor, \$tx_input") \
            as info:
        build(models)
    assert str(info.value).startswith(f"{template}:{line}: ")


def test_unknown_name_in_a_gene_tx_input_is_blamed_on_the_genes_row(models):
    genes = models / "tables" / "genes.tsv"
    line = replace(genes, "(socs3_basal + pSTAT3)/", "(socs3_basal + pSTAT33)/")
    with pytest.raises(ModelBuildError) as info:
        build(models)
    msg = str(info.value)
    assert msg.startswith(f"{genes}:{line} (tx_input of gene 'SOCS3'")
    assert "'pSTAT33' has no row" in msg and "Did you mean 'pSTAT3'?" in msg


# -- b. table rows without unit, source or meaning: TableError naming file, line, row and column ------------------

@pytest.mark.parametrize("column", ["unit", "source", "meaning"])
@pytest.mark.parametrize("value, wording", [("", "is empty"), ("NA", "holds the placeholder 'NA'")])
def test_parameter_row_without_documentation(models, column, value, wording):
    path = models / "tables" / "parameters.tsv"
    line = table_cell(path, "k_pten", column, value)
    with pytest.raises(TableError) as info:
        load_catalogue(models)
    assert str(info.value) == (f"{path}:{line}: the '{column}' cell {wording} (parameter 'k_pten'); every parameters "
                               f"row needs a {'real ' if value else ''}{column}.")


@pytest.mark.parametrize("table, key, column, label", [
    ("drugs", "GEM", "unit", "drug 'GEM'"),
    ("drugs", "GEM", "reference", "drug 'GEM'"),
    ("interventions", "GW4869", "unit", "intervention 'GW4869'"),
    ("interventions", "GW4869", "reference", "intervention 'GW4869'"),
    ("genes", "SOCS3", "source", "gene 'SOCS3'"),
    ("genes", "SOCS3", "meaning", "gene 'SOCS3'"),
    ("cargo", "miR-522", "reference", "cargo pair 'miR-522>ALOX15'"),
])
def test_other_table_rows_without_unit_or_source(models, table, key, column, label):
    path = models / "tables" / f"{table}.tsv"
    line = table_cell(path, key, column, "")
    with pytest.raises(TableError, match=rf"^{re.escape(f'{path}:{line}: the {column!r} cell is empty ({label})')}"):
        load_catalogue(models)


def test_row_with_a_missing_cell_names_line_and_row(models):
    path = models / "tables" / "parameters.tsv"
    lines = path.read_text().splitlines()
    idx = next(i for i, ln in enumerate(lines) if ln.startswith("k_pten\t"))
    lines[idx] = "\t".join(lines[idx].split("\t")[:-1])  # the meaning column dropped, tab and all
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TableError, match=rf"parameters\.tsv:{idx + 1}: expected 5 tab-separated cells .*found 4 "
                                         rf"\(parameter 'k_pten'\)"):
        load_catalogue(models)


def test_duplicate_parameter_row_names_both_lines(models):
    path = models / "tables" / "parameters.tsv"
    first = next(i for i, ln in enumerate(path.read_text().splitlines()) if ln.startswith("k_pten\t")) + 1
    row = path.read_text().splitlines()[first - 1]
    path.write_text(path.read_text() + row + "\n")
    last = len(path.read_text().splitlines())
    with pytest.raises(TableError, match=rf"parameters\.tsv:{last}: parameter 'k_pten' is already defined on line "
                                         rf"{first}"):
        load_catalogue(models)


def test_parameter_name_that_is_no_identifier(models):
    path = models / "tables" / "parameters.tsv"
    line = replace(path, "\nk_pten\t", "\nk-pten\t") + 1  # the match begins with the newline before the row
    with pytest.raises(TableError, match=rf"parameters\.tsv:{line}: 'name' must be a model identifier.*Got 'k-pten'"):
        load_catalogue(models)


def test_choice_cell_suggests_the_closest(models):
    path = models / "tables" / "cargo.tsv"
    line = replace(path, "\t\tALOX15\trepress\t+\tgastric", "\t\tALOX15\trepres\t+\tgastric")  # miR-522's row
    with pytest.raises(TableError, match=rf"cargo\.tsv:{line}: 'effect' must be one of .*\. Got 'repres' \(cargo pair "
                                         rf"'miR-522>ALOX15'\)\. Did you mean 'repress'\?"):
        load_catalogue(models)


# -- c. cargo rows naming an unknown target: named by cargo.tsv file and line when the model is built -------------

def test_cargo_row_with_unknown_target_names_row_and_closest_gene(models):
    cargo, presets = models / "tables" / "cargo.tsv", models / "scenarios.toml"
    line = replace(cargo, "MIMAT0000075\t\t\tPTEN\t", "MIMAT0000075\t\t\tPTNE\t")  # miR-20a's row
    replace(presets, 'ev_cargo = ["miR-20a>PTEN"]', 'ev_cargo = ["miR-20a>PTNE"]')
    cat = load_catalogue(models)  # the pair exists: a literature row may name any gene
    with pytest.raises(UnknownNameError) as info:
        sim.build_model(SCENARIO, catalogue=cat)
    msg = str(info.value)
    assert msg.startswith("Unknown target gene 'PTNE'")
    assert f"{cargo}:{line} (row 'miR-20a>PTNE')" in msg
    assert "Did you mean 'PTEN'?" in msg


def test_cargo_row_without_a_target_names_the_row(models):
    cargo = models / "tables" / "cargo.tsv"
    line = next(i for i, ln in enumerate(cargo.read_text().splitlines()) if ln.startswith("miR-34c-5p\t")) + 1
    with pytest.raises(ModelBuildError, match=rf"^{re.escape(str(cargo))}:{line} \(row 'miR-34c-5p>NA'\): "
                                              r"'miR-34c-5p>NA' names no molecular target"):
        build(models, ev_cargo=["miR-34c-5p>NA"])


# -- d. scenario presets naming an unknown cargo pair, drug or parameter ------------------------------------------

@pytest.mark.parametrize("old, new, key, scenario, suggestion", [
    ('ev_cargo = ["miR-20a>PTEN"]', 'ev_cargo = ["miR-20a>PTNE"]', "ev_cargo", "nsclc_ddp", "miR-20a>PTEN"),
    ('cellular = ["miR-34b-5p>ABCB1"]', 'cellular = ["miR-34b-5p>ABCB"]', "cellular", "bladder_ddp",
     "miR-34b-5p>ABCB1"),
    ('cellular = ["miR-21>PTEN", "miR-21>APAF1"]', 'cellular = ["miR21>PTEN", "miR-21>APAF1"]', "cellular", "base",
     "miR-21>PTEN"),
])
def test_scenario_naming_an_unknown_cargo_pair(models, old, new, key, scenario, suggestion):
    presets = models / "scenarios.toml"
    line = replace(presets, old, new)
    bad = re.search(r'"([^"]+)"', new).group(1)
    with pytest.raises(TableError) as info:
        load_catalogue(models)
    msg = str(info.value)
    assert msg.startswith(f"{presets}:{line}: scenario '{scenario}' {key} names the cargo pair '{bad}', which is no "
                          f"row of {models / 'tables' / 'cargo.tsv'}")
    assert re.search(rf"Did you mean '{re.escape(suggestion)}' \(.*cargo\.tsv:\d+\)\?", msg)


def test_scenario_naming_an_unknown_drug(models):
    presets = models / "scenarios.toml"
    text = presets.read_text()
    start = text.index("[nsclc_ddp]")
    line = text[:text.index('drug = "DDP"', start)].count("\n") + 1
    presets.write_text(text[:start] + text[start:].replace('drug = "DDP"', 'drug = "DPP"', 1))
    with pytest.raises(TableError, match=rf"scenarios\.toml:{line}: scenario 'nsclc_ddp' names the drug 'DPP'.*"
                                         rf"Did you mean 'DDP'\?"):
        load_catalogue(models)


def test_scenario_override_without_unit_and_with_unknown_parameter(models):
    presets = models / "scenarios.toml"
    text = presets.read_text()
    start = text.index("[nsclc_ddp]")
    anchor = text.index("ev_cargo = ", start)
    override = '  { parameter = "k_escape", value = 0.05, unit = "1/h", source = "test" },'
    line = text[:anchor].count("\n") + 2
    text = text[:anchor] + "overrides = [\n" + override + "\n]\n" + text[anchor:]
    presets.write_text(text.replace(override, override.replace('unit = "1/h"', 'unit = ""')))
    with pytest.raises(TableError, match=rf"scenarios\.toml:{line}: scenario 'nsclc_ddp' overrides\[0\] needs a unit"):
        load_catalogue(models)
    presets.write_text(text.replace(override, override.replace('"k_escape"', '"k_escap"')))
    with pytest.raises(UnknownNameError, match=rf"Unknown parameter 'k_escap' in "
                                               rf"{re.escape(str(presets))}:{line} \(scenario 'nsclc_ddp' overrides"
                                               rf"\[0\]\)\. Did you mean 'k_escape'\?"):
        build(models)


def test_delivery_regimes_are_checked_with_file_line_and_key(models):
    presets = models / "scenarios.toml"
    text = presets.read_text()
    start = text.index("[nsclc_ddp.delivery]")
    old = next(ln for ln in text[start:].splitlines() if ln.startswith("published = "))
    line = text[:text.index(old, start)].count("\n") + 1
    presets.write_text(text[:start] + text[start:].replace(old, "published = -1.0", 1))
    with pytest.raises(TableError, match=rf"scenarios\.toml:{line}: \[nsclc_ddp\.delivery\] 'published' must be a "
                                         rf"finite number > 0\. Got -1\.0\."):
        load_catalogue(models)
    presets.write_text(text[:start] + text[start:].replace(old, old + "\nenrichd = 3.0", 1))
    with pytest.raises(TableError, match=r"\[nsclc_ddp\.delivery\] has unknown keys enrichd; expected published, "
                                         r"enriched, reachable, reported_fold, enriched_fold, reported_source\."):
        load_catalogue(models)
    # a new preset starts with published copies and the reported fold; the enriched regime comes from calibration
    bare = "\n".join(ln for ln in text[start:].splitlines()[:8] if not ln.startswith(("enriched", "reachable")))
    presets.write_text(text[:start] + text[start:].replace("\n".join(text[start:].splitlines()[:8]), bare, 1))
    model = build(models)
    with pytest.raises(InvalidValueError, match=r"scenario 'nsclc_ddp' has no 'enriched' delivery regime yet; "
                                                     r"run `python -m sim\.calibrate delivery nsclc_ddp`"):
        sim.Condition(name="e", delivery="enriched").values(model)


def test_a_regime_needs_a_preset_and_drop_cargo_names_a_delivered_pair():
    custom = sim.build_model(None, ev_cargo=["miR-20a>PTEN"])
    with pytest.raises(InvalidValueError, match=r"condition 'e': 'delivery' = 'enriched' needs a scenario preset "
                                                     r"with a \[<preset>\.delivery\] table; model 'custom' has none"):
        sim.Condition(name="e", delivery="enriched").values(custom)
    with pytest.raises(UnknownNameError, match=r"Unknown delivered cargo pair 'miR-20a>PTNE' in scenario 'nsclc_ddp' "
                                               r"drop_cargo\. Did you mean 'miR-20a>PTEN'\?"):
        sim.build_model("nsclc_ddp", drop_cargo=["miR-20a>PTNE"])
