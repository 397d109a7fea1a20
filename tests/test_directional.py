"""Directional sanity of the coupled model (DESIGN.md 5, Science; issues #2 and #12), read on the targets of the
pdac_gem cargo after 48 h of EVs and 72 h more (no drug), in the enriched delivery regime (the published one moves
them too, less):

- CAF-EVs in co-culture lower ACSL4 and TP53INP1, the targets of miR-3173-5p [43] and miR-106b [29];
- GW4869 in co-culture reverses part, not all, of it: it blocks only the nSMase2 branch of EV biogenesis while the
  ESCRT and acid-sphingomyelinase branches go on (DESIGN.md 2.1; Richards et al. 2017 Oncogene = [50]);
- GW4869 in EV-addition mode does nothing: the dose is already in the well;
- normal-fibroblast EVs (Chevillet 2014's average cargo) do much less than CAF-EVs.
"""
import pytest

import sim

TARGETS = ("ACSL4", "TP53INP1")
ENRICHED = {"ev_mode": "coculture", "delivery": "enriched"}


@pytest.fixture(scope="module")
def endpoint(pdac_model):
    conds = [sim.Condition(name="none"),
             sim.Condition(name="coculture", **ENRICHED),
             sim.Condition(name="coculture published", ev_mode="coculture", delivery="published"),
             sim.Condition(name="coculture+GW", interventions={"GW4869": 10}, **ENRICHED),
             sim.Condition(name="coculture+GW40", interventions={"GW4869": 40}, **ENRICHED),
             sim.Condition(name="NF coculture", ev_source="NF", **ENRICHED),
             sim.Condition(name="addition", ev_mode="addition", ev_dose_ug=50, delivery="enriched"),
             sim.Condition(name="addition+GW", ev_mode="addition", ev_dose_ug=50, delivery="enriched",
                           interventions={"GW4869": 10})]
    readouts = list(TARGETS) + ["PTEN", "pAKT", "N_cancer", "miR_3173_5p_delivered"]
    table = sim.simulate(pdac_model, conds, end_time=72, points=2, readouts=readouts, pretreatment_h=48)
    return table[table["time_h"] == 72].set_index("condition")


@pytest.mark.parametrize("target", TARGETS)
def test_coculture_lowers_the_cargo_targets_in_both_regimes(endpoint, target):
    assert endpoint.loc["coculture", target] < endpoint.loc["coculture published", target] \
        < endpoint.loc["none", target]


@pytest.mark.parametrize("target", TARGETS)
def test_gw4869_reverses_part_not_all_in_coculture(endpoint, target):
    shift = endpoint.loc["none", target] - endpoint.loc["coculture", target]
    for cond in ("coculture+GW", "coculture+GW40"):
        reversed_fraction = (endpoint.loc[cond, target] - endpoint.loc["coculture", target]) / shift
        assert 0.1 < reversed_fraction < 0.9, (cond, reversed_fraction)
    # saturating: 40 uM takes back more than 10 uM, but not all
    assert endpoint.loc["coculture+GW40", target] > endpoint.loc["coculture+GW", target]


def test_gw4869_does_nothing_in_ev_addition_mode(endpoint):
    assert endpoint.loc["addition", "ACSL4"] < endpoint.loc["none", "ACSL4"]
    for col in ("ACSL4", "PTEN", "pAKT", "N_cancer"):
        assert endpoint.loc["addition+GW", col] == pytest.approx(endpoint.loc["addition", col], rel=1e-9)


@pytest.mark.parametrize("target", TARGETS)
def test_nf_evs_do_much_less_than_caf_evs(endpoint, target):
    caf = endpoint.loc["none", target] - endpoint.loc["coculture", target]
    nf = endpoint.loc["none", target] - endpoint.loc["NF coculture", target]
    assert 0 <= nf < 0.3 * caf


def test_delivery_budget_is_reported(endpoint):
    # copies delivered per cell are explicit readouts (DESIGN.md 2.7); co-culture delivers fewer than EV addition
    assert 0 < endpoint.loc["coculture", "miR_3173_5p_delivered"] < endpoint.loc["addition", "miR_3173_5p_delivered"]
