"""The graded effects of the logical model (issue #15, item 2): MaBoSS rates from the ODE's rate laws and
parameters (sim.boolean.rates, models/boolean/rates.tsv). Known answers are the ODE's own closed forms."""
import csv
import math

import pytest

from sim.boolean.conditions import network_path
from sim.boolean.rates import (DRUG_GAIN, LAWS, LEVELS, READS, RateContext, law_values, maboss_rates)
from sim.boolean_assay import cafev_network, rate_context
from sim.build import build_model
from sim.catalogue import load_catalogue
from sim.errors import InvalidValueError


def table():
    with open(network_path().with_name("rates.tsv"), newline="") as f:
        return {r["node"]: r for r in csv.DictReader((x for x in f if not x.startswith("#")), delimiter="\t")}


def signed(row):
    return {t[1:]: (1 if t[0] == "+" else -1) for t in (row["reads"] or "").split()}


@pytest.fixture(scope="module")
def ctx():
    return rate_context("pdac_gem", load_catalogue().drug("GEM"))


def test_the_table_lists_exactly_what_the_code_reads():
    rows = table()
    assert set(rows) == set(LEVELS) | set(LAWS)

    def closure(node):
        reads = set(signed(rows[node]))
        for r in list(reads):
            if r in LEVELS and r != node:
                reads |= closure(r)
        return reads | ({node} if node in LEVELS else set())

    for node in rows:
        assert closure(node) == set(READS[node]) - ({node} if node not in LEVELS else set()) | (
            {node} if node in LEVELS else set()), node


def test_every_declared_sign_holds(ctx):
    # a drug for which every read matters: a P-gp substrate entering partly by ENT2, with both death channels
    probe = RateContext(ctx.p, {"abcb1": 1, "ent2": 0.8, "esr1": 0.5, "w_damage": 1.0, "w_ros": 0.5}, pgp_ev=1.0)
    for node, row in table().items():
        for read, sign in signed(row).items():
            base = {"Drug_in": 1}  # under the drug, where every death hazard is above the untreated cell's
            on, off = law_values(node, {**base, read: 1}, probe), law_values(node, {**base, read: 0}, probe)
            assert (on - off) * sign > 0, (node, read, on, off)


def test_the_untreated_cell_is_the_odes(ctx):
    """The closed forms against the ODE's own numbers: pSTAT3 at rest is the ODE's untreated steady state
    (pstat3_ref, from `python -m sim.calibrate references`); pAKT without PTEN and the hazards at the extremes follow
    the modules' equations. (pAKT at rest is not the ODE's pakt_ref: the laws' untreated cell has PTEN = 1, the ODE's
    PTEN under endogenous miR-21; the logical model carries that as Cell_miR_21, a mixture of cells.)"""
    p = ctx.p
    assert law_values("STAT3", {}, ctx) == pytest.approx(p["pstat3_ref"], rel=0.01)  # basal pSTAT3, parameters.tsv
    # normalisation (true by construction): the untreated cell has GSH and its P-gp at 1, no drug hazard
    assert law_values("GSH", {}, ctx) == pytest.approx(1.0)
    assert law_values("ABCB1", {}, ctx) == pytest.approx(1.0)
    assert law_values("Ferroptosis", {}, ctx) == 0.0
    assert law_values("Drug_in", {}, ctx) == pytest.approx(DRUG_GAIN)
    # PTEN lost: PIP3 -> 1 and pAKT = k_akt/(k_akt + k_akt_off) (pi3k_akt.ant at steady state)
    assert law_values("AKT", {"PTEN": 0}, ctx) == pytest.approx(p["k_akt"] / (p["k_akt"] + p["k_akt_off"]))
    # GPX4 lost: lipid ROS unbounded, the ferroptosis hazard at its ceiling minus the untreated cell's (lethal
    # without the drug, as the ODE's GPX4 knockout)
    k, n = p["K_lros_death"], p["n_ferro"]
    assert law_values("Ferroptosis", {"GPX4": 0}, ctx) == pytest.approx(p["k_ferroptosis_max"] * (1 - 1 / (k ** n + 1)))
    # Apoptosis: apoptosis_rate at CASP3a = 1 (apoptosis.ant)
    expect = p["k_apoptosis_max"] / (p["K_casp3_death"] ** p["n_apop"] + 1)
    assert law_values("Apoptosis", {}, ctx) == pytest.approx(expect)


def test_ev_borne_pgp_joins_the_pool_and_lowers_the_drug_graded(ctx):
    """Review of issue #15: EV P-gp no longer shuts a substrate out of a cell; it adds pgp_ev to the pool, and the
    intracellular drug follows the ODE's (k_in + k_eff)/(k_in + k_eff x pool) (drug_handling.ant)."""
    p = ctx.p
    ptx = RateContext(p, load_catalogue().drug("PTX"), pgp_ev=4.0)
    assert law_values("ABCB1", {"Pgp_EV": 1}, ptx) == pytest.approx(5.0)
    k_in, k_eff = p["k_drug_influx"], p["k_drug_efflux"]
    expect = DRUG_GAIN * (k_in + k_eff) / (k_in + k_eff * 5.0)
    assert law_values("Drug_in", {"Pgp_EV": 1}, ptx) == pytest.approx(expect) and expect > 0


def test_survival_is_graded_not_all_or_none(ctx):
    """Issue #15: AKT and STAT3 lower caspase-9 activation; neither closes it (the logical model no longer
    saturates), and losing both opens it fully."""
    basal = law_values("CASP9", {}, ctx)
    high = law_values("CASP9", {"PTEN": 0, "SOCS1": 0}, ctx)
    none = law_values("CASP9", {"AKT": 0, "STAT3": 0}, ctx)
    damage = 0.5  # GEM: w_damage 1 at drug_activity 1; TP53INP1 induced as 1 + tp53inp1_damage_gain x damage
    assert 0 < high < basal < none == pytest.approx(ctx.p["k_casp9"] * (1 + ctx.p["tp53inp1_damage_gain"] * damage)
                                                    * damage)


def test_rates_are_maboss_expressions_of_the_moving_nodes(ctx):
    net = cafev_network()
    start = {n: 1 for n in net.nodes}
    start.update(Drug_in=0, Death=0)
    rates = maboss_rates(net, start, ctx, dose_ratio=2.0, moving={"Drug_in", "CASP9", "Ferroptosis", "Death"})
    assert rates["Drug_in.up"] == f"{2 * DRUG_GAIN:g}"
    assert rates["Ferroptosis.up"].startswith("(Drug_in ? ")  # the drug's lipid ROS drive, branched in MaBoSS
    with pytest.raises(InvalidValueError, match="dose ratio"):
        maboss_rates(net, start, ctx, dose_ratio=-1.0)
    with pytest.raises(InvalidValueError, match="ODE parameters"):
        RateContext({"k_pi3k": 1.0}, load_catalogue().drug("GEM"))
