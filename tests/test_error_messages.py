"""Bad input gets one clear error before any work starts (issue #7), in one voice: the file, the key path, what was
expected, what was found, and a did-you-mean for names. The wording is pinned here so that it does not drift."""
import copy

import pytest

from sim.cli import main
from sim.errors import SpecError
from sim.experiment import run_experiment
from sim.spec import load_spec, parse_spec

SWEEP = {"experiment": {"name": "e", "scenario": "pdac_gem", "analysis": "sweep"},
         "sweep": {"condition": "CAF-EV", "reference": "control",
                   "factors": [{"name": "caf_ratio", "low": 1, "high": 3}]},
         "conditions": [{"name": "control"}, {"name": "CAF-EV", "ev_mode": "coculture"}]}


def _changed(path, value=None, delete=False, base=SWEEP):
    spec = copy.deepcopy(base)
    node = spec
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return spec


# (what, change, the exact line of the message after "e.toml: the experiment spec is not valid:")
SPEC_CASES = [
    ("unknown key", (["experiment", "seeds"], 1), "  experiment.seeds: is not a known key (found 1); did you mean 'seed'?"),
    ("unknown key in a condition", (["conditions", 1, "ev_dose"], 50),
     "  conditions[1].ev_dose: is not a known key (found 50); did you mean 'ev_dose_ug'?"),
    ("wrong type", (["sweep", "n"], "many"),
     "  sweep.n: Input should be a valid integer, unable to parse string as an integer (found 'many')"),
    ("missing required field", (["experiment", "scenario"], None, True), "  experiment.scenario: is required but missing"),
    ("unknown scenario", (["experiment", "scenario"], "pdac_gen"),
     "  experiment.scenario: Unknown scenario 'pdac_gen'. Did you mean 'pdac_gem'? Valid scenario names: "
     "bladder_ddp, bladder_gem, breast_tam, crc_rt, gastric_ddp, gastric_oxa_dact3, hcc_sorafenib, lung_rt, nsclc_ddp, "
     "ovarian_ptx, ovarian_ptx_pgp, pdac_gem, prostate_dtx. The presets are in models/scenarios.toml."),
    ("negative dose", (["conditions", 0, "dose"], -1),
     "  conditions[0].dose: The 'dose' must be a finite number >= 0 uM. Got -1."),
    ("negative intervention dose", (["conditions", 1, "interventions"], {"GW4869": -10}),
     "  conditions[1]: The 'dose' of intervention 'GW4869' must be >= 0 uM. Got -10."),
    ("NaN", (["sweep", "factors", 0, "high"], float("nan")),
     "  sweep.factors[0].high: Input should be a finite number (found nan)"),
    ("inf", (["conditions", 0, "caf_ratio"], float("inf")),
     "  conditions[0].caf_ratio: The 'caf_ratio' must be a finite number >= 0 CAFs per cancer cell. Got inf."),
    ("inverted range", (["sweep", "factors", 0, "low"], 5), "  sweep.factors[0]: the range must have low < high. Got 5 to 3."),
    ("log range including 0", (["sweep", "factors", 0], {"name": "caf_ratio", "low": 0, "high": 3, "scale": "log"}),
     "  sweep.factors[0]: a log range must be > 0. Got low = 0."),
    ("empty grid", (["sweep", "factors", 0, "points"], 1),
     "  sweep.factors[0].points: Input should be greater than or equal to 2 (found 1)"),
    ("no factors", (["sweep", "factors"], []), "  sweep.factors: a sweep needs at least one factor"),
    ("duplicate condition names", (["conditions"], [{"name": "control"}, {"name": "control"}]),
     "  conditions: condition names must be unique; repeated: control (found [{'name': 'control'}, "
     "{'name': 'control'}])"),
    ("unknown condition name", (["sweep", "reference"], "contrl"),
     "  sweep.reference names condition 'contrl', which is not among the conditions (control, CAF-EV). Did you "
     "mean 'control'?"),
    ("results outside results/", (["experiment", "name"], "../elsewhere"),
     "  experiment.name: must be a folder name under results/: 1-120 letters, digits, '_', '-' or '.', not "
     "starting with '.' and without '/' (found '../elsewhere')"),
    ("bad choice", (["conditions", 1, "ev_mode"], "cocultre"),
     "  conditions[1].ev_mode: Input should be 'none', 'coculture' or 'addition' (found 'cocultre')"),
]


@pytest.mark.parametrize("what, change, line", SPEC_CASES, ids=[c[0] for c in SPEC_CASES])
def test_spec_errors_name_the_file_key_expected_and_found(what, change, line):
    with pytest.raises(SpecError) as info:
        parse_spec(_changed(*change), "e.toml")
    assert str(info.value) == "e.toml: the experiment spec is not valid:\n" + line


DOSE = {"experiment": {"name": "e", "scenario": "pdac_gem", "analysis": "dose_response"}, "conditions": [{"name": "c"}]}


@pytest.mark.parametrize("settings, line", [
    ({"min_dose": 0}, "  dose_response.min_dose: Input should be greater than 0 (found 0)"),
    ({"min_dose": 1, "max_dose": 0.5}, "  dose_response: min_dose must be below max_dose. Got 1 >= 0.5 uM."),
    ({"doses": []}, "  dose_response.doses: List should have at least 3 items after validation, not 0 (found [])"),
], ids=["zero dose", "inverted dose range", "empty dose list"])
def test_dose_range_errors(settings, line):
    with pytest.raises(SpecError) as info:
        parse_spec({**DOSE, "dose_response": settings}, "e.toml")
    assert str(info.value) == "e.toml: the experiment spec is not valid:\n" + line


@pytest.mark.parametrize("condition, line", [
    ({"name": "x", "interventions": {"GW4896": 10}},
     "  conditions[1] ('x'): Unknown intervention 'GW4896' in condition 'x'. Did you mean 'GW4869'?"),
    ({"name": "x", "knockouts": ["PTN"]}, "  conditions[1] ('x'): Unknown gene node 'PTN' in condition 'x'. Did you mean 'PTEN'?"),
    ({"name": "x", "drug": "GEMM"}, "  conditions[1] ('x'): Unknown drug 'GEMM' in condition 'x'. Did you mean 'GEM'?"),
    ({"name": "x", "parameters": {"k_escap": 1.0}},
     "  conditions[1] ('x'): Unknown parameter 'k_escap' in condition 'x' parameters. Did you mean 'k_escape'?"),
], ids=["intervention", "gene node", "drug", "parameter"])
def test_unknown_names_in_conditions_fail_before_any_run(tmp_path, condition, line):
    spec = parse_spec({"experiment": {"name": "e", "scenario": "pdac_gem", "analysis": "timecourse"},
                       "conditions": [{"name": "c"}, condition]}, "e.toml")
    with pytest.raises(SpecError) as info:
        run_experiment(spec, tmp_path / "out")
    assert str(info.value).startswith("e.toml: the experiment spec is not valid:\n" + line)
    assert not (tmp_path / "out").exists()  # nothing was run or written


def test_a_factor_unit_that_does_not_match_the_table(tmp_path):
    spec = parse_spec(_changed(["sweep", "factors"], [{"name": "GW4869", "low": 1, "high": 20, "unit": "nM"}]),
                      "e.toml")
    with pytest.raises(SpecError) as info:
        run_experiment(spec, tmp_path / "out")
    assert str(info.value) == ("e.toml: the experiment spec is not valid:\n  sweep.factors[0].unit: factor 'GW4869' is in 'uM' (models/tables/interventions.tsv); "
                               "found 'nM'. Give the range in 'uM' and set unit = 'uM' (or leave unit out).")
    assert not (tmp_path / "out").exists()


def test_a_screen_gene_that_does_not_exist(tmp_path):
    spec = {"experiment": {"name": "e", "scenario": "pdac_gem", "analysis": "screen"},
            "screen": {"genes": ["STAT33"], "condition": "CAF-EV", "reference": "control"},
            "conditions": [{"name": "control"}, {"name": "CAF-EV", "ev_mode": "coculture"}]}
    with pytest.raises(SpecError, match=r"^e.toml: the experiment spec is not valid:\n  screen.genes: Unknown gene "
                                        r"node 'STAT33' in models/tables/genes.tsv. Did you mean 'STAT3'\?"):
        parse_spec(spec, "e.toml")


def test_the_command_line_says_it_in_one_line_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[experiment]\nname = "e"\nscenario = "pdac_gem"\nanalysis = "timecourse"\n[[conditions]]\n'
                   'name = "c"\ndose = -1\n')
    assert main(["run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == (f"cafev: error: {bad}: the experiment spec is not valid:\n"
                   "  conditions[0].dose: The 'dose' must be a finite number >= 0 uM. Got -1.\n")
    assert main(["run", str(tmp_path / "missing.toml")]) == 2
    assert capsys.readouterr().err == f"cafev: error: Experiment spec '{tmp_path / 'missing.toml'}' does not exist.\n"
    (tmp_path / "broken.toml").write_text("[experiment\nname = 1\n")
    with pytest.raises(SpecError, match=r"broken.toml.*not valid TOML.*line 1"):
        load_spec(tmp_path / "broken.toml")
