"""The engine compiles once and applies conditions by setting values: runs are independent of run order."""
import numpy as np

import sim
from sim.engines.ode import engine_for


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
