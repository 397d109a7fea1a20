"""Argonaute-limited, bounded repression (issue #12, item 1): only loaded miRNA binds, one pool of Ago is shared by
endogenous and delivered miRNAs, and one miRNA represses one target at most ``mirna_max_repression``-fold.

Closed forms (templates/ago_pool.ant, mirna_site.ant, gene.ant): with no division, a target whose site is fully held
decays mirna_max_repression^a times faster and is translated at mirna_max_repression^(a-1) (a = mirna_mrna_share,
Guo et al. 2010), so its mRNA falls F^a-fold and its protein F-fold; two independent sites fully held give F^2
(Grimson et al. 2007: sites for different miRNAs act independently). The ceiling itself is DESIGN 2.7's 1.2-2-fold
(Baek et al. 2008; Selbach et al. 2008).
"""
import numpy as np
import pytest

import sim
from sim.catalogue import load_catalogue, model_id
from sim.engines import engine_for
from sim.engines.ode import OdeEngine
from sim.protocol import AssayProtocol

LIFTED_POOL = {"ago_copies": 1e14, "ago_occupancy_rest": 1e-14, "k_ago_loading": 1e4}
SATURATING = 1e9  # loaded copies per cell: occupancy 1 - 2e-6 at k_mirna_on 1e-4


def _steady_protein(engine, values):
    engine.run(values, 1.0, 2)
    engine.rr.steadyState()
    return engine.rr["[PTEN]"], engine.rr["[PTEN_mRNA]"]


@pytest.fixture(scope="module")
def one_site():
    model = sim.build_model(None, cellular=["miR-20a>PTEN"], modules=(), genes=["PTEN"], name="one_site")
    return model, OdeEngine(model, rtol=1e-10, atol=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("ceiling", [1.2, 1.5, 2.0])
def test_a_saturating_mirna_lowers_its_target_to_the_ceiling_and_no_further(one_site, ceiling):
    model, engine = one_site
    a = model.defaults["mirna_mrna_share"]
    base = {**LIFTED_POOL, "mirna_max_repression": ceiling, "mirna_background_sites": 0.0}
    protein, mrna = _steady_protein(engine, {**base, "miR_20a_endogenous": SATURATING})
    assert protein == pytest.approx(1 / ceiling, rel=1e-4)
    assert mrna == pytest.approx(model.defaults["PTEN_mrna_copies"] / ceiling ** a, rel=1e-4)
    tenfold, _ = _steady_protein(engine, {**base, "miR_20a_endogenous": 10 * SATURATING})
    assert tenfold == pytest.approx(protein, rel=1e-5)  # ten times more miRNA: no further repression


@pytest.mark.slow
def test_two_independent_sites_multiply():
    model = sim.build_model(None, cellular=["miR-20a>PTEN", "miR-92a>PTEN"], modules=(), genes=["PTEN"],
                            name="two_sites")
    engine = OdeEngine(model, rtol=1e-10, atol=1e-10)
    f = model.defaults["mirna_max_repression"]
    base = {**LIFTED_POOL, "mirna_background_sites": 0.0}
    both, _ = _steady_protein(engine, {**base, "miR_20a_endogenous": SATURATING, "miR_92a_endogenous": SATURATING})
    one, _ = _steady_protein(engine, {**base, "miR_20a_endogenous": SATURATING, "miR_92a_endogenous": 0.0})
    assert both == pytest.approx(f ** -2, rel=1e-4)
    assert one == pytest.approx(1 / f, rel=1e-4)


def test_the_ago_pool_bounds_loading_and_delivered_mirna_displaces_endogenous(pdac_model):
    # Khan et al. 2009 Nat Biotechnol: transfected small RNAs compete with endogenous miRNAs for the machinery and
    # derepress their targets. 1000 copies per EV at 200 ug/mL floods the cell with miR-3173-5p/-106b/-21.
    engine = engine_for(pdac_model)
    protocol = AssayProtocol(engine, 0.0)
    cargo = pdac_model.delivered_cargo
    values = sim.Condition(name="flood", ev_mode="addition", ev_dose_ug=200,
                           parameters={f"{c}_per_EV": 1000.0 for c in cargo}).values(pdac_model)
    rest = protocol.steady_cells(values)
    course = protocol.run(values, 120, 121, ["mirnome_RISC", "ago_free_fraction"] + list(pdac_model.loaded["miR_21"]))
    loaded_before = rest["mirnome_RISC"]
    assert (course["ago_free_fraction"] >= -1e-9).all()  # never more loaded than the cell has Ago
    assert course["ago_free_fraction"].min() < 0.1 * course["ago_free_fraction"].iloc[0]  # the pool fills up
    assert course["mirnome_RISC"].min() < 0.8 * loaded_before  # endogenous miRNAs are displaced


@pytest.mark.slow
@pytest.mark.parametrize("scenario", list(load_catalogue().scenarios))
def test_no_ev_cargo_target_falls_below_the_ceiling_of_its_no_ev_level(scenario):
    """Issue #12: in every preset, up to 200 ug/mL of EVs for 120 h, in both delivery regimes and at 100x the
    enriched copies per EV, no target of an EV-delivered miRNA falls below 1/ceiling of its level without EVs."""
    model = sim.build_model(scenario)
    engine = engine_for(model)
    protocol = AssayProtocol(engine, 0.0)
    ceiling = model.defaults["mirna_max_repression"]
    targets = [it.target for it in model.interactions if it.delivered and it.effect == "repress"]
    if not targets:
        pytest.skip(f"{scenario} delivers no repressing miRNA")
    none = sim.Condition(name="none").values(model)
    reference = protocol.run(none, 120, 121, targets)
    flood = {f"{c}_per_EV": 100 * model.preset["delivery"]["enriched"] for c in model.delivered_cargo}
    worst = np.inf
    for dose in (50, 200):
        for extra in ({"delivery": "published"}, {"delivery": "enriched"}, {"parameters": flood}):
            cond = sim.Condition(name="ev", ev_mode="addition", ev_dose_ug=dose, **extra)
            course = protocol.run(cond.values(model), 120, 121, targets)
            for target in targets:
                ratio = (course[target] / reference[target]).min()
                worst = min(worst, ratio)
                assert ratio >= (1 - 1e-6) / ceiling, (scenario, dose, extra, target, ratio)
    assert worst < 1.0  # the EVs do repress something


def test_the_budget_names_loaded_copies_per_mirna(pdac_model):
    assert set(pdac_model.loaded) == {model_id(m) for m in ("miR-3173-5p", "miR-106b", "miR-21")}
    for species in pdac_model.loaded.values():
        assert all(s in pdac_model.species() for s in species)
