"""The CAF-EV logical model: documented nodes, conditions mapped by the ODE names, MaBoSS behaviour, and the
agreement with the ODE model (issue #4)."""
import math

import pandas as pd
import pytest

import sim
from sim.boolean_assay import cafev_network, condition_attractors, death_probability, steady_state
from sim.analyses.compare import compare
from sim.boolean.conditions import condition_settings, network_path
from sim.catalogue import load_catalogue
from sim.cli import main
from sim.errors import UnknownNameError

C = sim.Condition


def test_every_node_is_documented():
    net = cafev_network()
    table = pd.read_csv(network_path().with_name("nodes.tsv"), sep="\t", comment="#")
    assert sorted(table["node"]) == sorted(net.nodes)
    assert table[["meaning", "ode_counterpart", "reference"]].notna().all().all()
    assert set(table.loc[table["kind"] == "input", "node"]) == set(net.inputs)


def test_conditions_use_the_ode_names():
    net = cafev_network()
    (s,) = condition_settings(C(name="c", ev_mode="coculture"), net, "pdac_gem")
    assert s.weight == 1 and s.fixed["CAF"] == 1 and s.fixed["EV_added"] == 0
    assert s.fixed["Load_miR_3173_5p"] == s.fixed["Load_miR_106b"] == s.fixed["Load_miR_21"] == 1
    assert s.fixed["Load_miR_522"] == 0 and s.fixed["Pgp_substrate"] == 0  # gemcitabine is not a P-gp substrate
    # GW4869 20 uM: Emax-Hill effect 0.9*20/(20+3) on the nSMase2 share 0.6 of release (tables)
    mix = condition_settings(C(name="g", ev_mode="coculture", interventions={"GW4869": 20}), net, "pdac_gem")
    on = [m for m in mix if m.fixed["GW4869"] == 1][0]
    assert on.weight == pytest.approx(0.9 * 20 / 23 * 0.6) and sum(m.weight for m in mix) == pytest.approx(1.0)
    with pytest.raises(UnknownNameError, match="Did you mean 'ACSL4'"):
        condition_settings(C(name="k", knockouts=["ACSL"]), net, "pdac_gem")
    with pytest.raises(UnknownNameError, match="intervention with a Boolean input"):
        condition_settings(C(name="k", interventions={"KU60019": 1}), net, "pdac_gem")


def test_drug_free_start_and_attractors():
    net = cafev_network()
    (s,) = condition_settings(C(name="c"), net, "pdac_gem")
    start = steady_state(net, {**s.fixed, "Drug": 0})
    assert start["Death"] == 0 and start["PTEN"] == 1 and start["AKT"] == 0 and start["ACSL4"] == 1
    control = condition_attractors(net, "pdac_gem", C(name="control"))
    caf = condition_attractors(net, "pdac_gem", C(name="CAF-EV", ev_mode="coculture"))
    assert list(control["outcome"]) == ["death"] and list(caf["outcome"]) == ["survival"]


@pytest.mark.slow
def test_maboss_death_probability_is_graded_and_reproducible():
    net = cafev_network()
    ref = death_probability(net, "pdac_gem", C(name="c"), samples=2000, seed=3)
    assert ref == death_probability(net, "pdac_gem", C(name="c"), samples=2000, seed=3)  # same seed, same result
    assert 0.5 < ref < 0.9  # calibrated near the ODE's 50% point at the reference IC50 (DEATH_RATE)
    low = death_probability(net, "pdac_gem", C(name="c"), dose=0.005, samples=2000)
    high = death_probability(net, "pdac_gem", C(name="c"), dose=0.5, samples=2000)
    assert low < ref < high
    ko = death_probability(net, "pdac_gem", C(name="k", knockouts=["ACSL4"]), samples=2000)
    assert ko < ref - 0.1  # one death route closed: less death, as ACSL4 KO raises the ODE IC50


PRESETS = list(load_catalogue().scenarios)
RESULTS = {}


def agreement(scenario):
    if scenario not in RESULTS:
        RESULTS[scenario] = compare(scenario, samples=2000)
    return RESULTS[scenario]


@pytest.mark.slow
@pytest.mark.parametrize("scenario", PRESETS)
def test_ode_and_boolean_agree_on_the_headline_and_explain_the_rest(scenario):
    t = agreement(scenario).set_index("question")
    if scenario != "gastric_oxa_dact3":  # resistance presets: both formalisms see CAF-EV resistance
        assert t.loc["CAF-EV vs no EV", "agree"] and t.loc["CAF-EV vs no EV", "ode_direction"] == "resistance"
        gw = t.loc["GW4869 in co-culture"]
        # GW4869 reverses in both wherever the ODE's 3:1 co-culture moves the IC50 by more than its tolerance; where
        # it does not (one single-target miRNA under the repression ceiling), the disagreement says so
        assert gw["agree"] or (gw["ode_direction"] == "none" and "below 2%" in gw["explanation"])
    assert (t.loc[~t["agree"], "explanation"].str.len() > 20).all()  # no disagreement without a reason


@pytest.mark.slow
def test_overall_agreement_and_known_disagreements():
    table = pd.concat([agreement(s) for s in PRESETS])
    assert table["agree"].mean() > 0.7
    known = {("pdac_gem", "matched intervention on CAF-EV"), ("ovarian_ptx", "matched intervention on CAF-EV"),
             ("gastric_oxa_dact3", "CAF-EV vs no EV"), ("gastric_oxa_dact3", "matched intervention on CAF-EV"),
             ("gastric_oxa_dact3", "SIRT1 knockout vs no EV")}
    # GW4869 in 3:1 co-culture: the ODE effect is below its 2% tolerance in the single-target miRNA presets (issue #12:
    # one miRNA represses one target at most 1.5-fold, and co-culture delivers ~150x less than 50 ug/mL of EVs)
    known |= {(s, "GW4869 in co-culture") for s in ("prostate_dtx", "ovarian_ptx", "bladder_gem", "bladder_ddp",
                                                     "nsclc_ddp")}
    found = {(r["scenario"], r["question"]) for _, r in table[~table["agree"]].iterrows()}
    assert found == known  # a new disagreement must be looked at and explained, not hidden


@pytest.mark.slow
def test_compare_and_boolean_experiment_from_the_command_line(tmp_path, capsys):
    from pathlib import Path

    assert main(["compare", "nsclc_ddp", "-o", str(tmp_path / "c")]) == 0
    assert "3/4 agree" in capsys.readouterr().out  # GW4869 in co-culture: below the ODE's tolerance (see above)
    spec = Path(__file__).resolve().parents[1] / "experiments" / "boolean_pdac_gem.toml"
    assert main(["run", str(spec), "--quick", "-o", str(tmp_path / "b")]) == 0
    out = tmp_path / "b"
    outcomes = pd.read_csv(out / "outcomes.csv")
    assert set(outcomes["knockout"]) == {"none", "PTEN", "TP53INP1", "ACSL4", "APAF1", "nSMase2"}
    wide = pd.read_csv(out / "outcomes_wide.csv").set_index("knockout")
    assert wide.loc["none", "CAF-EV (co-culture)"] < wide.loc["none", "control"]
    assert math.isclose(wide.loc["nSMase2", "CAF-EV (co-culture)"], wide.loc["nSMase2", "control"], abs_tol=0.05)
    attractors = pd.read_csv(out / "attractors.csv")
    assert {"condition", "attractor", "kind", "size", "outcome", "Death"} <= set(attractors.columns)
    assert (out / "probabilities.png").read_bytes()[:4] == b"\x89PNG" and (out / "metadata.json").exists()


@pytest.mark.slow
def test_boolean_dose_response_uses_the_assay_time():
    from sim.boolean_assay import boolean_dose_response

    net = cafev_network()
    short, _ = boolean_dose_response(net, "pdac_gem", C(name="c"), [0.05], samples=1000, assay_h=24)
    long, _ = boolean_dose_response(net, "pdac_gem", C(name="c"), [0.05], samples=1000, assay_h=72)
    assert short[0] < long[0] - 0.15  # less time to die
    _, d50 = boolean_dose_response(net, "pdac_gem", C(name="c"), [5.0, 50.0], samples=500)
    assert d50 == 0.0  # already >= 50% at the lowest dose: below the range, not "never"
