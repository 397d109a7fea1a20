"""The engine compiles once and applies conditions by setting values: runs are independent of run order."""
import numpy as np
import pytest

import sim
from sim.engines import engine_for


def test_one_compiled_instance_per_model(pdac_model):
    e1, e2 = engine_for(pdac_model), engine_for(pdac_model)
    assert e1 is e2 and e1.rr is e2.rr


def test_conditions_do_not_leak_between_runs(pdac_model):
    engine = engine_for(pdac_model)
    a = sim.Condition(name="a", dose=0.05)
    b = sim.Condition(name="b", dose=1.0, ev_mode="coculture", interventions={"GW4869": 10}, knockouts=["PTEN"],
                      parameters={"k_growth": 0.05})
    first = engine.run(a.values(pdac_model), 72, 5)
    engine.run(b.values(pdac_model), 72, 5)
    again = engine.run(a.values(pdac_model), 72, 5)
    np.testing.assert_allclose(first.to_numpy(), again.to_numpy(), rtol=1e-10, atol=1e-12)


def test_knockout_is_a_condition_not_a_model_copy(pdac_model):
    table = sim.simulate(pdac_model, [sim.Condition(name="wt"), sim.Condition(name="PTEN KO", knockouts=["PTEN"])],
                         end_time=72, points=2)
    end = table[table.time_h == 72].set_index("condition")
    assert end.loc["PTEN KO", "PTEN"] < 1e-3 < end.loc["wt", "PTEN"]
    assert end.loc["PTEN KO", "pAKT"] > end.loc["wt", "pAKT"]  # PTEN removes PIP3 (DESIGN.md 2.3)


def test_condition_assay_time(pdac_model):
    table = sim.simulate(pdac_model, [sim.Condition(name="48 h", assay_time_h=48), sim.Condition(name="72 h")],
                         end_time=72, points=3)
    assert table.groupby("condition")["time_h"].max().to_dict() == {"48 h": 48.0, "72 h": 72.0}


@pytest.mark.slow
def test_the_fast_model_equals_the_exported_one(pdac_model):
    # rules of parameters alone are computed once per run (sim.engines.frozen); the exported SBML keeps them as rules.
    # Same values, same start, same tolerances: the same trajectory, also after doses change between runs.
    import roadrunner

    from sim.engines.frozen import split_constant_rules

    engine = engine_for(pdac_model)
    split = split_constant_rules(pdac_model.sbml)
    assert {"eff_GW4869", "act_nsmase2", "k_endocytosis", "k_target_complex_decay"} <= set(split.constant)
    assert "division_rate" not in split.constant and "ago_free_fraction" not in split.constant
    full = roadrunner.RoadRunner(pdac_model.sbml)
    for key in ("relative_tolerance", "absolute_tolerance"):
        full.getIntegrator().setValue(key, engine.rr.getIntegrator().getValue(key))
    for cond in (sim.Condition(name="a", dose=0.05, ev_mode="coculture", interventions={"GW4869": 10}),
                 sim.Condition(name="b", dose=0.2, ev_mode="addition", interventions={"LY294002": 20},
                               parameters={"ev_uptake_fraction_24h": 0.2}),
                 sim.Condition(name="c", dose=0.05, ev_mode="coculture", interventions={"GW4869": 1})):
        values = cond.values(pdac_model)
        fast = engine.simulate_array(values, 72, 5, ["N_cancer", "EV_med", "ACSL4", "miR_106b_RISC"])
        for name in pdac_model.defaults:
            full[name] = values.get(name, pdac_model.defaults[name])
        full.reset()
        ref = np.asarray(full.simulate(0, 72, 5, ["time", "N_cancer", "EV_med", "ACSL4", "miR_106b_RISC"]))
        np.testing.assert_allclose(fast, ref, rtol=1e-6, atol=1e-6)
    assert engine.rr["act_nsmase2"] == pytest.approx(1 - 0.9 * 1 / (1 + 3))  # GW4869 1 uM: Emax-Hill, EC50 3 uM


def test_rules_that_can_change_during_a_run_are_not_frozen():
    # a rule reading a parameter an event sets must stay a rule, or the fast model would keep its first value
    import antimony
    import roadrunner

    from sim.engines.frozen import split_constant_rules

    antimony.clearPreviousLoads()
    antimony.loadAntimonyString("model toy\nspecies S; S = 1;\nJ: S -> ; r*S;\nk = 1; c = 2; r := 2*k; q := 3*c;\n"
                                "at time > 1: k = 10;\nend")
    sbml = antimony.getSBMLString("toy")
    split = split_constant_rules(sbml)
    assert split.constant == ["q"] and split.inputs == {"c": ["q"]}
    fast, full = (np.asarray(roadrunner.RoadRunner(s).simulate(0, 2, 3)) for s in (split.fast_sbml, sbml))
    np.testing.assert_allclose(fast, full, rtol=1e-6, atol=1e-12)  # S falls ~e^-20 after the event in both
    assert roadrunner.RoadRunner(split.fast_sbml)["q"] == 6.0  # a frozen rule keeps its value at the defaults
