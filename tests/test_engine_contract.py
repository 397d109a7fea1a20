"""The engine contract (issue #13, item 3): one interface for the ODE and MaBoSS engines, selection in one place,
tolerances that belong to one engine."""
import numpy as np
import pytest

from sim.boolean_assay import cafev_network
from sim.boolean.network import parse_bnet
from sim.engines import FORMALISMS, Engine, Tolerances, engine_for
from sim.errors import InvalidValueError, UnknownNameError


def test_every_formalism_implements_the_contract():
    assert set(FORMALISMS) == {"ode", "maboss"}
    for name, cls in FORMALISMS.items():
        assert issubclass(cls, Engine) and cls.formalism == name
        assert not getattr(cls, "__abstractmethods__", None)


def test_the_ode_engine_is_compiled_once_per_model_and_tolerances(pdac_model):
    engine = engine_for(pdac_model)
    assert engine_for(pdac_model) is engine
    tight = engine_for(pdac_model, tolerances=Tolerances().scaled(0.01))
    assert tight is not engine and tight is engine_for(pdac_model, tolerances=Tolerances().scaled(0.01))
    rtol = lambda e: e.rr.getIntegrator().getValue("relative_tolerance")  # noqa: E731
    assert rtol(engine) == pytest.approx(1e-6) and rtol(tight) == pytest.approx(1e-8)  # neither changes the other
    assert tight.rr.getIntegrator().getValue("maximum_num_steps") == 10_000_000


def test_tolerances_scale_and_refuse_nonsense():
    t = Tolerances(1e-6, 1e-9, 1000).scaled(0.1)
    assert (t.rtol, t.atol, t.max_steps) == (pytest.approx(1e-7), pytest.approx(1e-10), 10000)
    with pytest.raises(InvalidValueError, match="rtol"):
        Tolerances(rtol=0)
    with pytest.raises(InvalidValueError, match="factor"):
        Tolerances().scaled(-1)


def test_an_unknown_formalism_suggests_the_closest(pdac_model):
    with pytest.raises(UnknownNameError, match="Did you mean 'maboss'"):
        engine_for(pdac_model, "mabos")


def test_final_state_of_the_contract_matches_the_last_row_of_run(pdac_model):
    engine = engine_for(pdac_model)
    table = engine.run({}, 24.0, 3, ["N_cancer", "PTEN"])
    assert list(table.columns) == ["time", "N_cancer", "PTEN"] and table["time"].tolist() == [0.0, 12.0, 24.0]
    assert engine.final_state({}, 24.0)["N_cancer"] == pytest.approx(table["N_cancer"].iloc[-1], rel=1e-5)  # rtol 1e-6


def test_maboss_engine_follows_a_two_state_markov_chain():
    # A's logic is always true, so it turns on at rate a (up) and off at b (down_on, the down-rate while its logic
    # holds): a two-state Markov chain, P(A on at t) = a/(a+b) (1 - exp(-(a+b) t)) from off
    net = parse_bnet("A, A | !A\nB, A", "<test>", "chain")
    engine = engine_for(net, "maboss", samples=20000, seed=1)
    table = engine.run({"A.up": 0.3, "A.down": 0.0, "A.down_on": 0.1}, 10.0, 3, ["A"])
    assert list(table.columns) == ["time", "A"] and table["time"].tolist() == [0.0, 5.0, 10.0]
    expected = 0.3 / 0.4 * (1 - np.exp(-0.4 * 10.0))
    assert table["A"].iloc[-1] == pytest.approx(expected, abs=0.015)  # 20000 samples: SE ~0.003


def test_maboss_engine_names_a_bad_rate_with_the_closest():
    engine = engine_for(cafev_network(), "maboss", samples=100)
    with pytest.raises(UnknownNameError, match="Did you mean 'Drug_in.up'"):
        engine.run({"Drug_in.upp": 1.0}, 10.0, 3, ["Death"])
    with pytest.raises(UnknownNameError, match="node"):
        engine.check_selection(["Deth"])


@pytest.mark.parametrize("end_time, points", [(24.0, 37), (96.0, 37), (10.0, 7), (0.3, 4), (72.0, 37)])
def test_maboss_engine_returns_the_rows_asked_for_on_an_exact_grid(end_time, points):
    # end_time / (points - 1) that MaBoSS would round up (24 h in 36 windows) used to lose the last window
    table = engine_for(cafev_network(), "maboss", samples=100).run({}, end_time, points, ["Death"])
    assert len(table) == points
    np.testing.assert_allclose(table["time"], np.linspace(0, end_time, points), rtol=0, atol=1e-12)


def test_an_unknown_engine_setting_is_named_with_the_valid_ones(pdac_model):
    with pytest.raises(UnknownNameError, match="Unknown ode engine setting 'rtol'.*Valid .* names: tolerances"):
        engine_for(pdac_model, rtol=1e-8)
