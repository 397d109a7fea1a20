"""The CAF-EV logical model: documented nodes, conditions mapped by the ODE names, MaBoSS behaviour, and the
agreement with the ODE model (issue #4)."""
import math

import pandas as pd
import pytest

import sim
from sim.boolean_assay import cafev_network, condition_attractors, death_probability, steady_state
from sim.analyses.compare import compare
from sim.boolean.conditions import condition_settings, intervention_nodes, network_path
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
    assert s.fixed["Load_miR_522"] == 0 and s.fixed["Load_Pgp"] == 0 and s.fixed["Cell_miR_21"] == 1  # base miR-21
    # LY294002 20 uM turns off the node holding act_pi3k (PI3K) in 0.95*20/(20+3) of cells (interventions.tsv)
    mix = condition_settings(C(name="l", interventions={"LY294002": 20}), net, "pdac_gem")
    on = [m for m in mix if m.fixed.get("PI3K") == 0][0]
    assert on.weight == pytest.approx(0.95 * 20 / 23) and sum(m.weight for m in mix) == pytest.approx(1.0)
    # GW4869 acts on EV supply: through the ODE's EV dose (the cargo activity), not again as a fixed node
    (gw,) = condition_settings(C(name="g", ev_mode="coculture", interventions={"GW4869": 20}), net, "pdac_gem")
    assert "nSMase2" not in gw.fixed
    # the EV dose: a Load_* input on in the fraction of cells given
    mix = condition_settings(C(name="c", ev_mode="coculture"), net, "pdac_gem", activity={"Load_miR_106b": 0.3})
    assert sorted(round(m.weight, 6) for m in mix) == [0.3, 0.7]
    assert [m.fixed["Load_miR_106b"] for m in mix if m.weight == pytest.approx(0.7)] == [0]
    with pytest.raises(UnknownNameError, match="Did you mean 'ACSL4'"):
        condition_settings(C(name="k", knockouts=["ACSL"]), net, "pdac_gem")
    with pytest.raises(UnknownNameError, match="cargo input"):
        condition_settings(C(name="k"), net, "pdac_gem", activity={"miR_106b": 0.5})


def test_every_intervention_acts_in_both_formalisms():
    """Issue #15 item 3: each row of interventions.tsv has a Boolean counterpart, a node holding its act_* slot (or,
    for an antagonist, the miRNA it names). Their directions are compared with the ODE's in
    test_interventions_move_both_formalisms_the_same_way."""
    net = cafev_network()
    cat = load_catalogue()
    for key, row in cat.interventions.items():
        nodes = intervention_nodes(net, key, "miR-21", f"intervention {key}")
        assert nodes and all(n in net.rules for n in nodes), key
    assert intervention_nodes(net, "GW4869", None, "x") == ["nSMase2"]
    assert set(intervention_nodes(net, "tariquidar", None, "x")) == {"ABCB1", "Pgp_EV"}
    assert intervention_nodes(net, "ferrostatin_1", None, "x") == ["LipidROS"]
    assert intervention_nodes(net, "KU60019", None, "x") == ["ATM"]


def test_an_intervention_is_counted_once():
    """A cancer-cell intervention (the antagomir) acts as a fixed node only; only supply and uptake interventions
    set the EV dose (review of issue #15: the antagomir was in the budget as well)."""
    from sim.boolean_assay import cargo_activity

    ev = C(name="ev", ev_mode="addition", ev_dose_ug=50.0, delivery="enriched")
    anta = C(name="a", ev_mode="addition", ev_dose_ug=50.0, delivery="enriched",
             interventions={"antagomir": {"dose": 50, "mirna": "miR-106b"}})
    gw = C(name="gw", ev_mode="coculture", caf_ratio=3.0, delivery="enriched", interventions={"GW4869": 20})
    co = gw.model_copy(update={"interventions": {}})
    assert cargo_activity("pdac_gem", anta) == cargo_activity("pdac_gem", ev)
    assert cargo_activity("pdac_gem", gw)["Load_miR_106b"] < cargo_activity("pdac_gem", co)["Load_miR_106b"]


def test_drug_free_start_and_attractors():
    net = cafev_network()
    (s,) = condition_settings(C(name="c"), net, "pdac_gem", activity={"Cell_miR_21": 0.0})  # cells without it
    start = steady_state(net, {**s.fixed, "Drug": 0})
    assert start["Death"] == 0 and start["PTEN"] == 1 and start["AKT"] == 1 and start["ACSL4"] == 1
    assert start["GSH"] == start["GPX4"] == start["ABCB1"] == 1 and start["Ferroptosis"] == 0  # issue #15
    control = condition_attractors(net, "pdac_gem", C(name="control"))
    caf = condition_attractors(net, "pdac_gem", C(name="CAF-EV", ev_mode="coculture"))
    assert list(control["outcome"]) == ["death"] and list(caf["outcome"]) == ["survival"]


@pytest.mark.slow
def test_maboss_death_probability_is_graded_and_reproducible():
    net = cafev_network()
    ref = death_probability(net, "pdac_gem", C(name="c"), samples=2000, seed=3)
    assert ref == death_probability(net, "pdac_gem", C(name="c"), samples=2000, seed=3)  # same seed, same result
    assert 0.2 < ref < 0.8  # graded at the reference IC50 (its calibrated value: test_calibration_regression.py)
    low = death_probability(net, "pdac_gem", C(name="c"), dose=0.005, samples=2000)
    high = death_probability(net, "pdac_gem", C(name="c"), dose=0.5, samples=2000)
    assert low < ref < high
    ko = death_probability(net, "pdac_gem", C(name="k", knockouts=["ACSL4"]), samples=2000)
    assert ko < ref - 0.1  # one death route closed: less death, as ACSL4 KO raises the ODE IC50


PRESETS = [name for name, p in load_catalogue().scenarios.items()  # the logical model carries no radiation
           if p.get("treatment") != "radiation"]
RESULTS = {}


def agreement(scenario):
    if scenario not in RESULTS:
        RESULTS[scenario] = compare(scenario)  # the defaults `cafev compare` uses (4000 trajectories, seed 0)
    return RESULTS[scenario]


@pytest.mark.slow
@pytest.mark.parametrize("scenario", PRESETS)
def test_ode_and_boolean_agree_on_the_headline_and_explain_the_rest(scenario):
    t = agreement(scenario).set_index("question")
    expected = "sensitisation" if scenario == "gastric_oxa_dact3" else "resistance"  # DACT3-AS1 sensitises [68]
    assert t.loc["CAF-EV vs no EV", "agree"] and t.loc["CAF-EV vs no EV", "ode_direction"] == expected
    assert t.loc["matched intervention on CAF-EV", "agree"]
    assert (t.loc[~t["agree"], "explanation"].str.len() > 20).all()  # no disagreement without a reason


@pytest.mark.slow
def test_overall_agreement_and_known_disagreements():
    """Issue #15 item 4: >= 90% of the comparison questions over all presets agree in direction; the one that does
    not is a tolerance edge, pinned here so that the test fails if it stops being one."""
    table = pd.concat([agreement(s) for s in PRESETS])
    assert table["agree"].mean() >= 0.9
    found = {(r["scenario"], r["question"]) for _, r in table[~table["agree"]].iterrows()}
    assert found == {("ovarian_ptx", "GW4869 in co-culture")}  # a new disagreement must be looked at, not hidden
    row = table[(table["scenario"] == "ovarian_ptx") & (table["question"] == "GW4869 in co-culture")].iloc[0]
    # both formalisms sensitise; the ODE's fold is within 2% of 1 and the logical equivalent fold is not
    assert 1 / 1.02 < row["ode_ic50_fold"] < 1 and row["boolean_dose_fold"] < 1 / 1.02
    assert "tolerance edge" in row["explanation"]


@pytest.mark.slow
def test_compare_and_boolean_experiment_from_the_command_line(tmp_path, capsys):
    from pathlib import Path

    assert main(["compare", "nsclc_ddp", "-o", str(tmp_path / "c")]) == 0
    assert "4/4 agree" in capsys.readouterr().out
    spec = Path(__file__).resolve().parents[1] / "experiments" / "boolean_pdac_gem.toml"
    assert main(["run", str(spec), "--quick", "-o", str(tmp_path / "b")]) == 0
    out = tmp_path / "b"
    outcomes = pd.read_csv(out / "outcomes.csv")
    assert set(outcomes["knockout"]) == {"none", "PTEN", "TP53INP1", "ACSL4", "APAF1", "nSMase2"}
    wide = pd.read_csv(out / "outcomes_wide.csv").set_index("knockout")
    assert wide.loc["none", "CAF-EV (co-culture)"] < wide.loc["none", "control"]
    # nSMase2 knocked out in the CAFs: less EV release, less cargo, so less resistance than wild-type co-culture
    assert wide.loc["none", "CAF-EV (co-culture)"] < wide.loc["nSMase2", "CAF-EV (co-culture)"]
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


def test_boolean_answers_are_read_as_an_equivalent_dose_fold():
    """Closed forms of sim.boolean.agreement: ln(fold) = (death_ref - death) / slope, slope per ln dose from half and
    twice the reference dose; the ODE's 2% tolerance applies to that fold."""
    from sim.boolean.agreement import boolean_direction, death_slope

    assert death_slope({0.5: 0.3, 2.0: 0.6}) == pytest.approx(0.3 / math.log(4))
    d, fold = boolean_direction(0.4, 0.5, 0.25)
    assert d == "resistance" and fold == pytest.approx(math.exp(0.4))
    assert boolean_direction(0.499, 0.5, 0.25)[0] == "none"  # ln fold 0.004 < ln 1.02
    assert boolean_direction(0.51, 0.5, 0.25)[0] == "sensitisation"  # ln fold -0.04
    assert boolean_direction(0.9, 0.05, 0.01)[0] == "sensitisation"
    assert math.isnan(boolean_direction(0.9, 0.05, 0.01)[1])  # beyond 10-fold: the direction only
    assert boolean_direction(0.0, 0.01, 0.0) == ("none", pytest.approx(math.nan, nan_ok=True))  # flat: 0.02 rule
