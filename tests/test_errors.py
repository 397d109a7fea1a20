"""Errors in one voice: the package's own classes, naming what was expected and found, with a did-you-mean.
Bad input fails before any simulation runs."""
import pytest

import sim
from sim.engines import engine_for
from sim.errors import InvalidValueError, SpecError, UnknownNameError
from sim.spec import parse_spec


def test_unknown_scenario_suggests_closest():
    with pytest.raises(UnknownNameError, match=r"Unknown scenario 'pdac_gen'\. Did you mean 'pdac_gem'\?"):
        sim.build_model("pdac_gen")


def test_negative_intervention_dose_wording():
    with pytest.raises(InvalidValueError, match=r"The 'dose' of intervention 'GW4869' must be >= 0 uM\. Got -1\."):
        sim.Condition(name="bad", interventions={"GW4869": -1})


def test_negative_drug_dose_rejected():
    with pytest.raises(InvalidValueError, match=r"The 'dose' must be a finite number >= 0 uM\. Got -0\.5\."):
        sim.Condition(name="bad", dose=-0.5)


def test_negative_assay_time_rejected():
    with pytest.raises(InvalidValueError, match=r"The 'assay_time_h' must be a finite number > 0 h\. Got -1\."):
        sim.Condition(name="bad", assay_time_h=-1)


def test_unknown_intervention_suggests_closest(pdac_model):
    cond = sim.Condition(name="typo", interventions={"GW4896": 10})
    with pytest.raises(UnknownNameError, match=r"Unknown intervention 'GW4896' in condition 'typo'\. "
                                               r"Did you mean 'GW4869'\?"):
        cond.values(pdac_model)


def test_unknown_gene_knockout(pdac_model):
    with pytest.raises(UnknownNameError, match=r"Unknown gene node 'PTNE'.*Did you mean 'PTEN'\?"):
        sim.Condition(name="ko", knockouts=["PTNE"]).values(pdac_model)


def test_unknown_parameter_and_readout(pdac_model):
    with pytest.raises(UnknownNameError, match=r"Unknown parameter 'k_ptne'.*Did you mean 'k_pten'\?"):
        sim.Condition(name="p", parameters={"k_ptne": 1.0}).values(pdac_model)
    with pytest.raises(UnknownNameError, match=r"Unknown species or readout 'pAkt'.*Did you mean 'pAKT'\?"):
        sim.simulate(pdac_model, sim.Condition(name="c"), readouts=["pAkt"])


def test_antagomir_needs_a_mirna_of_the_model(pdac_model):
    with pytest.raises(InvalidValueError, match="acts on one miRNA"):
        sim.Condition(name="a", interventions={"antagomir": 50}).values(pdac_model)
    with pytest.raises(UnknownNameError, match=r"Unknown miRNA 'miR-22'"):
        sim.Condition(name="a", interventions={"antagomir": {"dose": 50, "mirna": "miR-22"}}).values(pdac_model)


def test_negative_time_rejected_before_work(pdac_model):
    engine = engine_for(pdac_model)
    runs = engine.runs
    with pytest.raises(InvalidValueError, match=r"The 'end_time' must be a finite number > 0 h\. Got -5"):
        sim.simulate(pdac_model, sim.Condition(name="c"), end_time=-5)
    assert engine.runs == runs


def test_bad_condition_fails_before_any_run(pdac_model):
    engine = engine_for(pdac_model)
    runs = engine.runs
    good = sim.Condition(name="ok")
    bad = sim.Condition(name="bad", interventions={"nope": 1})
    with pytest.raises(UnknownNameError):
        sim.simulate(pdac_model, [good, bad])
    assert engine.runs == runs


def test_spec_errors_name_key_path():
    spec = {"experiment": {"name": "x", "scenario": "pdac_gem", "analysis": "timecourse"},
            "conditions": [{"name": "a"}, {"name": "b", "dos": 1}]}
    with pytest.raises(SpecError, match=r"spec.toml: the experiment spec is not valid:\n  conditions\[1\]\.dos: "
                                        r"is not a known key"):
        parse_spec(spec, "spec.toml")
    spec["conditions"] = [{"name": "a"}, {"name": "a"}]
    with pytest.raises(SpecError, match="condition names must be unique; repeated: a"):
        parse_spec(spec, "spec.toml")
    del spec["experiment"]["scenario"]
    with pytest.raises(SpecError, match=r"experiment\.scenario: is required but missing"):
        parse_spec(spec, "spec.toml")
