"""The miRNA module in its titration limit reproduces Levine et al. 2007's closed-form steady state.

Source: Levine E, Zhang Z, Kuhlman T, Hwa T (2007) Quantitative characteristics of gene regulation by small RNA.
PLoS Biol 5(9):e229, eq. (2): with sRNA (here miRNA) m and target s, dm/dt = a_m - b_m m - k m s,
ds/dt = a_s - b_s s - k m s, the steady state is
s = [(a_s - a_m - L) + sqrt((a_s - a_m - L)^2 + 4 a_s L)] / (2 b_s), L = b_m b_s / k (m symmetric).
Our module reduces to it with the Argonaute pool lifted (so many Ago copies and so fast a loading that every strand
is loaded at once: m is the loaded miRNA), k_mirna_off = 0, mirna_recycling = 0, no competing sites and no division
(the sub-model has no population); s is the target's free mRNA (total minus the copies whose site is held).
"""
import math

import pytest

import sim
from sim.engines.ode import OdeEngine

LIFTED_POOL = {"ago_copies": 1e12, "ago_occupancy_rest": 1e-12, "k_ago_loading": 1e4}


def levine(a_own, a_other, b_own, b_other, k):
    lam = b_own * b_other / k
    d = a_own - a_other - lam
    return (d + math.sqrt(d * d + 4 * a_own * lam)) / (2 * b_own)


@pytest.fixture(scope="module")
def titration():
    model = sim.build_model(None, cellular=["miR-20a>PTEN"], modules=(), genes=["PTEN"], name="titration")
    engine = OdeEngine(model, rtol=1e-12, atol=1e-12)
    return model, engine


def _steady(engine, values):
    engine.run(values, 1.0, 2)  # sets the values and resets the state
    engine.rr.steadyState()
    rr = engine.rr
    free_target = rr["[PTEN_mRNA]"] - rr["[miR_20a_PTEN_cx]"]
    return rr["[miR_20a_RISC]"], free_target


@pytest.mark.slow
@pytest.mark.parametrize("ratio", [0.1, 0.5, 0.9, 1.0, 1.1, 2.0, 10.0])
def test_titration_matches_levine_closed_form(titration, ratio):
    model, engine = titration
    d = model.defaults
    a_s = d["k_mrna_deg"] * d["PTEN_mrna_copies"]  # target transcription, copies/cell/h
    a_m = ratio * a_s  # miRNA transcription below, at and above the threshold a_m = a_s
    values = {**LIFTED_POOL, "k_mirna_off": 0.0, "mirna_recycling": 0.0, "mirna_background_sites": 0.0,
              "miR_20a_endogenous": a_m / d["k_mirna_deg"], "k_mirna_on": 0.01}
    m, s = _steady(engine, values)
    b_m, b_s, k = d["k_mirna_deg"], d["k_mrna_deg"], values["k_mirna_on"]
    assert s == pytest.approx(levine(a_s, a_m, b_s, b_m, k), rel=1e-6)
    assert m == pytest.approx(levine(a_m, a_s, b_m, b_s, k), rel=1e-6)


@pytest.mark.slow
def test_recycling_makes_repression_stronger_than_titration(titration):
    """A recycled miRNA (catalytic RISC; Bosia et al. 2013) represses more than the stoichiometric limit."""
    model, engine = titration
    d = model.defaults
    a_s = d["k_mrna_deg"] * d["PTEN_mrna_copies"]
    base = {**LIFTED_POOL, "k_mirna_off": 0.0, "mirna_background_sites": 0.0, "k_mirna_on": 0.01,
            "miR_20a_endogenous": 0.5 * a_s / d["k_mirna_deg"]}
    levels = [_steady(engine, {**base, "mirna_recycling": recycling})[1] for recycling in (0.0, 0.8)]
    assert levels[1] < 0.8 * levels[0]
