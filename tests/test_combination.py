"""The ``combination`` analysis (issue #17, item 5): a two-agent dose matrix under one condition, scored with Bliss,
HSA, Loewe and ZIP (sim.screen.matrix_synergy; its known answers are in tests/test_matrix_synergy.py).

Spec errors come before any simulation, in the package's voice (DESIGN.md 4: unknown names get the closest valid
one). The run is the shipped experiment in quick mode (3 doses > 0 per agent, 16 runs, about a second); its known
direction is the model's: gemcitabine kills more at higher doses, and LY294002, which lowers PI3K and so the AKT
survival signal that opposes the drug's apoptosis (models/ode/pi3k_akt.ant), adds to the kill at every gemcitabine
dose and potentiates it beyond independent action (Bliss score > 0; DESIGN.md 5: LY294002 takes back CAF-EV
resistance).
"""
import numpy as np
import pandas as pd
import pytest

from sim.analyses.combination import matrix_doses, resolve_agent
from sim.errors import InvalidValueError, SpecError, UnknownNameError
from sim.spec import load_spec, parse_spec

SHIPPED = "combination_pdac_gem_ly294002"


def _spec(**combination) -> dict:
    return {"experiment": {"name": "c", "scenario": "pdac_gem", "analysis": "combination"},
            "combination": {"agent1": "gemcitabine", "doses1": [0.01, 0.03, 0.1], "agent2": "LY294002",
                            "doses2": [2.5, 5, 10], **combination},
            "conditions": [{"name": "CAF-EV", "ev_mode": "coculture", "caf_ratio": 3}]}


@pytest.mark.parametrize("change, message", [
    ({"agent2": "LY29402"}, "Unknown agent 'LY29402' in combination.agent2. Did you mean 'LY294002'? Valid agent "
                            "names: "),
    ({"agent1": "gemcitabin"}, "Did you mean 'gemcitabine'?"),
    ({"doses2": [-1, 5, 10]}, "The 'doses2' of agent 'LY294002' must be >= 0 uM. Got -1."),
    ({"doses1": [0, 0.01, 0.1]}, "The 'doses1' of agent 'GEM' need >= 3 distinct doses > 0 (a 4-parameter fit of "
                                 "the agent alone for Loewe and ZIP). Got [0.01, 0.1]."),
    ({"agent2": None}, "combination.agent2 is required"),
    ({"agent2": "cisplatin"}, "at most one agent can be a drug"),
    ({"agent2": "GEM"}, "are both 'GEM'"),
    ({"agent2": "antagomir"}, "intervention 'antagomir' acts on one named miRNA"),
    ({"condition": "CAF"}, "combination.condition names condition 'CAF', which is not among the conditions "
                           "(CAF-EV). Did you mean 'CAF-EV'?"),
])
def test_a_bad_table_is_a_spec_error_before_any_run(change, message):
    with pytest.raises(SpecError) as err:
        parse_spec(_spec(**change), "bad.toml")
    assert str(err.value).startswith("bad.toml: the experiment spec is not valid:")
    assert message in str(err.value)


def test_a_condition_that_doses_an_agent_itself_is_refused():
    spec = _spec()
    spec["conditions"][0]["interventions"] = {"LY294002": 10}
    with pytest.raises(SpecError, match="condition 'CAF-EV' already gives LY294002"):
        parse_spec(spec, "twice.toml")
    spec = _spec()
    spec["conditions"][0]["dose"] = 0.05
    with pytest.raises(SpecError, match="condition 'CAF-EV' sets dose = 0.05, but the combination runs the doses of "
                                        "GEM itself"):
        parse_spec(spec, "dose.toml")


def test_agents_and_doses_in_python_raise_the_packages_own_errors():
    with pytest.raises(UnknownNameError, match="Unknown agent 'Statik' in here. Did you mean 'Stattic'?"):
        resolve_agent("Statik", "pdac_gem", "here")
    stattic = resolve_agent("Stattic", "pdac_gem", "here")
    assert (stattic.kind, stattic.unit) == ("intervention", "uM")
    assert resolve_agent(None, "pdac_gem", "here").id == resolve_agent("drug", "pdac_gem", "here").id == "GEM"
    # defaults: the working dose x 1/8 .. 1 (interventions.tsv: Stattic 10 uM), with 0 added
    assert matrix_doses(stattic, None, "doses2").tolist() == [0.0, 1.25, 2.5, 5.0, 10.0]
    with pytest.raises(InvalidValueError, match="The 'doses2' of agent 'Stattic' must be >= 0 uM. Got -2."):
        matrix_doses(stattic, [1, -2, 3], "doses2")


@pytest.fixture(scope="module")
def quick_run(pdac_model, tmp_path_factory):
    """The shipped experiment in quick mode, on the session's compiled pdac_gem model (as run_experiment does)."""
    from sim.analyses.base import RunOptions
    from sim.analyses.combination import ANALYSIS
    from sim.spec import check_conditions

    spec, folder = load_spec(SHIPPED), tmp_path_factory.mktemp("combination")
    check_conditions(spec, pdac_model)
    return ANALYSIS.run(spec, pdac_model, folder, RunOptions(quick=True, quiet=True)), folder


def test_the_shipped_matrix_writes_its_tables_and_figures(quick_run):
    result, folder = quick_run
    matrix, scores = pd.read_csv(folder / "matrix.csv"), pd.read_csv(folder / "scores.csv")
    models = ("bliss", "hsa", "loewe", "zip")
    assert list(matrix.columns) == ["condition", "agent1", "unit1", "agent2", "unit2", "dose1", "dose2",
                                    "cells_end", "viability", "inhibition_pct",
                                    *[f"{k}_{m}" for m in models for k in ("expected", "delta")], "zip_fitted",
                                    "loewe_fallback"]
    assert len(matrix) == 16 and matrix[["dose1", "dose2"]].drop_duplicates().shape[0] == 16  # 4 x 4 pairs
    assert set(matrix["agent1"]) == {"GEM"} and set(matrix["agent2"]) == {"LY294002"}
    assert scores["model"].tolist() == list(models) and (scores["cells"] == 9).all()
    for png in ("synergy.png", "inhibition.png"):
        assert (folder / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    # the well with neither agent is the reference: viability 1, inhibition 0 (exactly)
    first = matrix.iloc[0]
    assert (first["dose1"], first["dose2"], first["viability"], first["inhibition_pct"]) == (0, 0, 1.0, 0.0)
    np.testing.assert_allclose(matrix["inhibition_pct"], 100 * (1 - matrix["viability"]), atol=1e-12)
    # the tidy table's Bliss column is Bliss of its own single agents (to rounding)
    one = matrix.pivot(index="dose1", columns="dose2", values="inhibition_pct").to_numpy() / 100
    bliss = 100 * (one[:, [0]] + one[[0], :] - one[:, [0]] * one[[0], :])
    np.testing.assert_allclose(matrix["expected_bliss"].to_numpy().reshape(4, 4)[1:, 1:], bliss[1:, 1:], atol=1e-9)
    # each score is the mean delta over the 9 combination cells (SynergyFinder's summary)
    inner = matrix[(matrix["dose1"] > 0) & (matrix["dose2"] > 0)]
    for m in models:
        assert scores.set_index("model").loc[m, "score"] == pytest.approx(inner[f"delta_{m}"].mean(), abs=1e-12)


def test_ly294002_adds_to_gemcitabine_and_potentiates_it_in_the_model(quick_run):
    """The model's known direction (module docstring): inhibition rises with gemcitabine at every LY294002 dose and
    with LY294002 at every gemcitabine dose, and the Bliss score is positive (> 1 % inhibition, the size of the
    smallest combination-cell delta being ~1.4). Magnitudes are not targets (DESIGN.md 5)."""
    result, folder = quick_run
    inhibition = pd.read_csv(folder / "matrix.csv").pivot(index="dose1", columns="dose2", values="inhibition_pct")
    assert (np.diff(inhibition.to_numpy(), axis=0) > 0).all()  # more gemcitabine, more kill
    assert (np.diff(inhibition.to_numpy(), axis=1) > 0).all()  # more LY294002, more kill
    scores = pd.read_csv(folder / "scores.csv").set_index("model")["score"]
    assert scores["bliss"] > 1.0 and scores["hsa"] > scores["bliss"]
