"""Dose-response experiment specs: what is valid, and the wording of what is not (before any work)."""
import pytest

from sim.errors import SpecError
from sim.spec import parse_spec

BASE = {"experiment": {"name": "d", "scenario": "pdac_gem", "analysis": "dose_response"},
        "conditions": [{"name": "control"}, {"name": "CAF-EV", "ev_mode": "coculture"}]}


def spec(**dose_response):
    return {**BASE, "dose_response": dose_response}


def test_valid_spec_defaults():
    s = parse_spec(spec())
    assert s.dose_response.n_doses == 12 and s.dose_response.pretreatment_h == 48
    assert s.dose_response.assay_time_h == 72 and s.dose_response.control is None


@pytest.mark.parametrize("settings, message", [
    ({"control": "contrl"}, r"dose_response.control names condition 'contrl'.*Did you mean 'control'\?"),
    ({"references": {"CAF-EV": "CAFEV"}}, r"names condition 'CAFEV'.*Did you mean 'CAF-EV'\?"),
    ({"n_doses": 2}, r"dose_response.n_doses: Input should be greater than or equal to 3"),
    ({"min_dose": 1.0, "max_dose": 0.1}, r"min_dose must be below max_dose. Got 1 >= 0.1 uM"),
    ({"min_dose": 0.0}, r"dose_response.min_dose: Input should be greater than 0"),
    ({"doses": [0.1, -1, 1]}, r"every dose must be a finite number > 0 uM"),
    ({"pretreatment_h": -1}, r"dose_response.pretreatment_h: Input should be greater than or equal to 0"),
    ({"n_dose": 8}, r"dose_response.n_dose: is not a known key"),
])
def test_invalid_settings_are_named(settings, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(spec(**settings), "x.toml")


def test_a_condition_with_its_own_dose_is_rejected():
    bad = {**BASE, "conditions": [{"name": "control", "dose": 0.1}]}
    with pytest.raises(SpecError, match=r"condition 'control' sets dose = 0.1, but a dose-response runs the dose "
                                        r"grid"):
        parse_spec(bad, "x.toml")


def test_boolean_settings_reject_duplicate_knockouts():
    bad = {"experiment": {"name": "b", "scenario": "pdac_gem", "analysis": "boolean"},
           "boolean": {"knockouts": ["PTEN", "PTEN"]}, "conditions": [{"name": "control"}]}
    with pytest.raises(SpecError, match=r"boolean.knockouts: knockouts must be unique; repeated: PTEN"):
        parse_spec(bad, "b.toml")
