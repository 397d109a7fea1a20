"""SBML-qual export (issue #17, item 2): ``cafev export-sbml --qual [MODEL]``, round-tripped through biodivine-aeon.

Known answers: the original networks as an independent tool reads them (aeon's own .bnet parser,
``BooleanNetwork.from_file``, not cafev's), compared with aeon's reading of the exported SBML-qual: the same
variables, the same regulations with the same signs (aeon infers them from the original functions; the export
writes them from cafev's truth tables), and every update function the same Boolean function (compared as BDDs in one
symbolic context, not as text). Inputs (``A, A``) are exported as constant species without a transition (the
CoLoMoTo convention), so aeon reads them as free inputs: the only regulation that does not survive is an input's
self-loop, which says nothing in either form. Attractors of published networks after the round trip:
PyBoolNet's notes (tests/data/bnet/*_attractors.md; Fauré et al. 2006, the raf example). Validity: libsbml with the
qual package (Chaouiya et al. 2013, BMC Syst Biol 7:135), no error after ``checkConsistency()``.
"""
from pathlib import Path

import biodivine_aeon as ba
import libsbml
import pandas as pd
import pytest

from sim.boolean.conditions import network_path
from sim.boolean.network import parse_bnet
from sim.boolean.qual import check_sbml_qual, regulator_signs, species_ids, to_sbml_qual
from sim.cli import main
from sim.engines.boolean import attractors, load_network, save_network

BNET = Path(__file__).parent / "data" / "bnet"
MODELS = [network_path()] + sorted(BNET.glob("*.bnet"))


def _identity_inputs(net: ba.BooleanNetwork) -> set[str]:
    """Variables whose update function is themselves (``A, A``)."""
    out = set()
    for name in net.variable_names():
        fn = net.get_update_function(name)
        if fn is not None and fn.is_var() and net.get_variable_name(fn.as_var()) == name:
            out.add(name)
    return out


def _regulations(net: ba.BooleanNetwork, skip_self: set[str] = frozenset()) -> set[tuple]:
    name = net.get_variable_name
    return {(name(r["source"]), name(r["target"]), r["sign"]) for r in net.regulations()
            if not (name(r["source"]) == name(r["target"]) and name(r["source"]) in skip_self)}


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_round_trip_through_aeon_keeps_every_function(path, tmp_path):
    out = tmp_path / f"{path.stem}.sbml"
    save_network(load_network(path), out)
    text = out.read_text()
    assert check_sbml_qual(text) == []
    original = ba.BooleanNetwork.from_file(str(path)).infer_valid_graph()  # aeon's parser; signs inferred
    back = ba.BooleanNetwork.from_sbml(text)
    assert sorted(back.variable_names()) == sorted(original.variable_names())
    inputs = _identity_inputs(original)
    assert set(back.input_names()) >= inputs and all(back.get_update_function(n) is None for n in inputs)
    assert _regulations(back) == _regulations(original, skip_self=inputs)
    assert _regulations(back.infer_valid_graph()) == _regulations(back)  # the exported signs are the true ones
    ctx_a, ctx_b = ba.SymbolicContext(original), ba.SymbolicContext(back)
    compared = 0
    for name in original.variable_names():
        if name in inputs:
            continue
        fa = ctx_a.mk_update_function(original.get_update_function(name))
        fb = ctx_a.transfer_from(ctx_b.mk_update_function(back.get_update_function(name)), ctx_b)
        assert fa == fb, name
        compared += 1
    assert compared == len(original.variable_names()) - len(inputs)


@pytest.mark.parametrize("name, published", [
    # PyBoolNet notes: faure_cellcycle_attractors.md (steady state 0000001011 + one asynchronous attractor),
    # raf_attractors.md (steady state 001 + the trap space 11-)
    ("faure_cellcycle", ("2 attractors: 1 fixed, 1 cyclic/complex", "0000001011")),
    ("raf", ("2 attractors: 1 fixed, 1 cyclic/complex", "001")),
])
def test_attractors_of_published_networks_survive_the_round_trip(name, published, tmp_path, capsys):
    sbml = tmp_path / f"{name}.sbml"
    assert main(["export-sbml", "--qual", str(BNET / f"{name}.bnet"), "-o", str(sbml)]) == 0
    capsys.readouterr()
    assert main(["attractors", str(sbml), "-o", str(tmp_path / "att")]) == 0
    assert published[0] in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "att" / "attractors.csv", dtype=str)
    nodes = load_network(BNET / f"{name}.bnet").nodes
    assert "".join(table.loc[0, nodes]) == published[1]  # in the original's node order
    expected = attractors(load_network(BNET / f"{name}.bnet"))[["kind", "size"] + nodes].astype(str)
    assert table[["kind", "size"] + nodes].equals(expected)


def test_shipped_model_attractors_under_a_condition_survive(tmp_path):
    # CAF co-culture with miR-21 cargo and the drug, every other input off: same attractors from the exported file
    assert main(["export-sbml", "--qual", "-o", str(tmp_path / "cafev.sbml")]) == 0
    original = load_network(network_path())
    fixed = {n: 0 for n in original.inputs} | {"CAF": 1, "CAF_source": 1, "Load_miR_21": 1, "Drug": 1}
    again = load_network(tmp_path / "cafev.sbml")
    assert sorted(again.inputs) == sorted(original.inputs) and sorted(again.nodes) == sorted(original.nodes)
    columns = ["kind", "size"] + original.nodes  # aeon reads variables in alphabetical order: compare by name
    table = attractors(again, fixed=fixed)[columns].sort_values(columns).reset_index(drop=True)
    assert table.equals(attractors(original, fixed=fixed)[columns].sort_values(columns).reset_index(drop=True))
    assert len(table) >= 1


def test_shipped_export_is_valid_and_documented(tmp_path, capsys):
    out = tmp_path / "cafev.sbml"
    assert main(["export-sbml", "--qual", "cafev", "-o", str(out)]) == 0
    assert "cafev: 88 nodes (25 inputs as constant species, 63 transitions)" in capsys.readouterr().out
    doc = libsbml.readSBMLFromFile(str(out))
    doc.checkConsistency()
    assert [doc.getError(i).getMessage() for i in range(doc.getNumErrors())
            if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR] == []
    qual = doc.getModel().getPlugin("qual")
    caf = qual.getQualitativeSpecies("CAF")
    assert caf.getConstant() and caf.getMaxLevel() == 1 and "co-culture" in caf.getNotesString()
    assert qual.getTransition("tr_CAF") is None  # an input: held at the value the experiment sets
    nsmase = qual.getTransition("tr_nSMase2")  # constitutive (nSMase2, 1): a transition with a default term 1
    assert nsmase.getNumInputs() == 0 and nsmase.getDefaultTerm().getResultLevel() == 1
    pten = qual.getTransition("tr_PTEN")  # PTEN, !miR_21 & !miR_20a & !miR_296_3p & !miR_22
    assert {pten.getInput(i).getQualitativeSpecies(): pten.getInput(i).getSign()
            for i in range(pten.getNumInputs())} == {m: libsbml.INPUT_SIGN_NEGATIVE
                                                     for m in ("miR_21", "miR_20a", "miR_296_3p", "miR_22")}


def test_names_that_are_not_sbml_ids_and_constants():
    net = parse_bnet("4EBP1, 4EBP1\n_4EBP1, 4EBP1\ntr_x, 4EBP1 & !B | 1 & tr_x\nB, tr_x | 4EBP1 & 0\n"
                     "C, (tr_x & !B) | (!tr_x & B)\nK, B | !B & 1 | 1\n")
    ids = species_ids(net.nodes)
    assert ids["4EBP1"] == "__4EBP1" and ids["_4EBP1"] == "_4EBP1" and ids["tr_x"] == "tr_x"
    assert regulator_signs(net, "C") == {"tr_x": "dual", "B": "dual"}
    assert regulator_signs(net, "B") == {"tr_x": "positive"}  # '4EBP1 & 0' folded away
    text = to_sbml_qual(net)
    assert check_sbml_qual(text) == []
    doc = libsbml.readSBMLFromString(text)  # kept: the plugin dies with its document
    model = doc.getModel().getPlugin("qual")
    assert model.getQualitativeSpecies("__4EBP1").getName() == "4EBP1"
    assert model.getTransition("_tr_tr_x") is not None  # the prefix grows past a node id starting with tr_
    k = model.getTransition("_tr_K")
    assert k.getNumInputs() == 0 and k.getDefaultTerm().getResultLevel() == 1  # K, B | !B & 1 | 1 is constant 1
    back = ba.BooleanNetwork.from_sbml(text)  # aeon names variables by the species' name: the .bnet names return
    assert sorted(back.variable_names()) == sorted(net.nodes)


@pytest.mark.parametrize("argv, message", [
    (["--qual", "pdac_gem"], "--qual exports a logical model, and 'pdac_gem' is a scenario preset"),
    (["--qual", "cafv"], "--qual takes 'cafev' (the shipped logical model, the default) or a path to a .bnet or "
                         "SBML-qual file; 'cafv' is neither (no such file). Did you mean 'cafev'?"),
    (["--qual", "missing.bnet"], "--qual: no such file: missing.bnet"),
    ([], "export-sbml needs a scenario preset (cafev list scenarios)"),
    (["pdac_gen"], "Unknown scenario 'pdac_gen'. Did you mean 'pdac_gem'?"),
    ([str(BNET / "raf.bnet")], "raf.bnet' names a file, not a scenario preset: export-sbml without --qual writes "
                               "a scenario's ODE model. For a logical model (.bnet or SBML-qual) add --qual"),
])
def test_cli_errors(argv, message, tmp_path, capsys):
    assert main(["export-sbml", *argv, "-o", str(tmp_path / "x.sbml")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.sbml").exists()


def test_cli_errors_in_the_network_file(tmp_path, capsys):
    bad = tmp_path / "bad.bnet"
    bad.write_text("A, B\nB, A &\n")
    assert main(["export-sbml", "--qual", str(bad), "-o", str(tmp_path / "x.sbml")]) == 2
    assert f"{bad}:2: expected a node name, a constant or '(', found the end of the rule." in capsys.readouterr().err
    ode = tmp_path / "ode.xml"
    ode.write_text('<?xml version="1.0"?><sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" '
                   'version="2"><model id="m"/></sbml>')
    assert main(["export-sbml", "--qual", str(ode), "-o", str(tmp_path / "x.sbml")]) == 2
    assert "not an SBML-qual model: the document does not declare the qual package" in capsys.readouterr().err
