"""Dose-matrix synergy (sim.screen.matrix_synergy): Bliss, HSA, Loewe and ZIP against closed forms and against the
numbers SynergyFinder's vignette prints for its example block (issue #17, item 5).

Closed forms: a sham combination (an agent with itself, y = H(d1 + d2)) is Loewe-additive by definition (Loewe 1953);
a surface y1 + y2 - y1 y2 / 100 is Bliss-independent by definition (Bliss 1939) and, with 4PL single agents, has ZIP
delta 0 (Yadav et al. 2015: delta = 0 for non-interacting agents); HSA is max(y1, y2) (Berenbaum 1989). The published
example is tests/data/synergy/ (README.md there says where every number comes from).
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.errors import InvalidValueError
from sim.screen.matrix_synergy import MODELS, Curve, inhibition_from_viability, loewe_expected, matrix_synergy

DATA = Path(__file__).parent / "data" / "synergy"
D1 = np.array([0, 0.1, 0.3, 1, 3, 10])
D2 = np.array([0, 0.5, 1.5, 5, 15, 50])


def hill(d, emax, ec50, h):
    """% inhibition of a Hill curve from 0 at dose 0 to ``emax``."""
    d = np.asarray(d, float)
    return emax * d ** h / (d ** h + ec50 ** h)


def bliss_surface(emax1=100.0, emax2=100.0):
    y1, y2 = hill(D1, emax1, 1.0, 1.2)[:, None], hill(D2, emax2, 5.0, 0.8)[None, :]
    return y1 + y2 - y1 * y2 / 100.0


def test_a_sham_combination_is_loewe_additive():
    """An agent combined with itself, y(d1, d2) = H(d1 + d2): Loewe delta 0 in every cell (Loewe 1953). Tolerance
    1e-8 % inhibition: the single-agent 4PL fits of noise-free Hill points recover the curve to ~1e-12, and the
    Loewe equation is solved to 1e-12."""
    res = matrix_synergy(D1, D1, hill(D1[:, None] + D1[None, :], 90.0, 1.0, 1.5))
    np.testing.assert_allclose(res.delta["loewe"], 0.0, atol=1e-8)
    assert not res.loewe_fallback.any() and res.score("loewe") == pytest.approx(0.0, abs=1e-8)
    # the same surface is not Bliss-independent: a sham is antagonistic under Bliss (y(2d) < 1 - (1 - y(d))^2)
    assert res.score("bliss") < -1.0


@pytest.mark.parametrize("emax1, emax2", [(100.0, 100.0), (80.0, 60.0)])
def test_a_bliss_independent_surface_has_bliss_delta_zero_and_zip_delta_zero(emax1, emax2):
    """y = y1 + y2 - y1 y2 / 100: Bliss delta exactly 0 (the model's own formula on the observed single agents, so
    rounding only: 1e-12); ZIP delta 0 within 1e-8 (every slice at a fixed dose of one agent is itself a 4PL from
    the observed zero-dose response, refitted exactly; with full and with partial single-agent efficacy)."""
    res = matrix_synergy(D1, D2, bliss_surface(emax1, emax2))
    np.testing.assert_allclose(res.delta["bliss"], 0.0, atol=1e-12)
    np.testing.assert_allclose(res.delta["zip"], 0.0, atol=1e-8)
    np.testing.assert_allclose(res.expected["zip"], bliss_surface(emax1, emax2), atol=1e-8)  # fitted single agents
    assert res.score("hsa") > 1.0  # Bliss-independent agents add up beyond the stronger one


def test_hsa_is_the_stronger_single_agent_and_the_score_averages_the_combination_cells_only():
    """HSA expected = max(y1, y2) per cell (Berenbaum 1989), by hand on a 4 x 4 matrix; the score is the mean over
    the 3 x 3 combination cells (SynergyFinder), not over the single-agent row and column."""
    r = np.array([[0, 10, 20, 40], [15, 30, 35, 60], [25, 30, 50, 55], [50, 70, 75, 95.0]])
    res = matrix_synergy([0, 1, 2, 4], [0, 1, 2, 4], r)
    expected = np.maximum(r[:, [0]], r[[0], :])
    np.testing.assert_array_equal(res.expected["hsa"][1:, 1:], expected[1:, 1:])
    np.testing.assert_array_equal(res.delta["hsa"][1:, 1:], r[1:, 1:] - expected[1:, 1:])
    assert res.delta["hsa"][0].tolist() == [0, 0, 0, 0] and res.delta["hsa"][:, 0].tolist() == [0, 0, 0, 0]
    assert res.score("hsa") == pytest.approx(185 / 9, abs=1e-12)  # (15 + 15 + 20 + 5 + 25 + 15 + 20 + 25 + 45) / 9
    # Bliss by hand, cell (1, 2): 35 - (15 + 20 - 15 * 20 / 100) = 3
    assert res.delta["bliss"][1, 2] == pytest.approx(3.0, abs=1e-12)


def test_loewe_without_a_solution_falls_back_to_the_stronger_curve_at_the_total_dose():
    """SynergyFinder's fallback (CalculateLoewe, synergyfinder 2.x): where no response y solves d1/D1(y) + d2/D2(y)
    = 1 within the range both curves reach, the larger of the two curves at d1 + d2. Agent 1 reaches only 30%, so at
    d2 = 10 x its EC50 (agent 2 alone already gives 91%) no y in (0, 30) solves the equation."""
    weak, strong = Curve(0.0, 30.0, 1.0, 1.0), Curve(0.0, 100.0, 1.0, 1.0)
    y, fallback = loewe_expected(0.1, 10.0, weak, strong)
    assert fallback and y == pytest.approx(100 * 10.1 / 11.1, abs=1e-12)
    # with a common maximum and slope 1 the Loewe isobole is linear: y = 100 s / (1 + s), s = d1/e1 + d2/e2
    y, fallback = loewe_expected(0.3, 2.0, Curve(0.0, 100.0, 1.5, 1.0), Curve(0.0, 100.0, 8.0, 1.0))
    s = 0.3 / 1.5 + 2.0 / 8.0
    assert not fallback and y == pytest.approx(100 * s / (1 + s), abs=1e-9)


def test_synergy_and_antagonism_have_the_sign_of_every_model():
    """A surface 10 points above Bliss independence in every combination cell is synergistic (delta > 0) in all four
    models' scores, and 10 points below is antagonistic; Bliss is exactly +/-10."""
    base = bliss_surface(80.0, 60.0)
    for shift, sign in ((10.0, 1), (-10.0, -1)):
        r = base.copy()
        r[1:, 1:] += shift
        res = matrix_synergy(D1, D2, r)
        assert res.score("bliss") == pytest.approx(shift, abs=1e-12)
        assert all(sign * res.score(m) > 0 for m in MODELS), res.scores()


def test_viability_converts_to_inhibition():
    assert inhibition_from_viability([1.0, 0.25]).tolist() == [0.0, 75.0]
    assert inhibition_from_viability([100.0, 28.695145], scale=100).tolist() == pytest.approx([0.0, 71.304855])
    r = bliss_surface()
    by_viability = matrix_synergy(D1, D2, 1 - r / 100, response_kind="viability")
    np.testing.assert_allclose(by_viability.delta["bliss"], 0.0, atol=1e-12)


@pytest.mark.parametrize("doses1, message", [
    ([0, -1, 1, 2], r"The 'doses1' must be finite doses >= 0. Got \[0.0, -1.0, 1.0, 2.0\]."),
    ([0, 1, 2], r"The 'doses1' need >= 3 doses > 0 \(a 4-parameter fit of the agent alone\). Got 2"),
    ([1, 2, 3, 4], r"The 'doses1' must start at 0 \(the single agents\) and increase."),
])
def test_bad_doses_are_refused_in_the_packages_voice(doses1, message):
    with pytest.raises(InvalidValueError, match=message):
        matrix_synergy(doses1, [0, 1, 2, 3], np.zeros((len(doses1), 4)))


def _mathews():
    data = pd.read_csv(DATA / "mathews_block1.csv")
    m = data.pivot(index="conc1", columns="conc2", values="response")
    return matrix_synergy(m.index.to_numpy(), m.columns.to_numpy(), m.to_numpy(), response_kind="viability_pct")


def test_hsa_bliss_and_loewe_match_the_synergyfinder_vignette():
    """SynergyFinder 3 vignette (Bioconductor, 'User tutorial of the SynergyFinder Plus'), mathews_screening_data
    block 1 (ispinesib x ibrutinib, % viability), str(res$synergy_scores): the five cells at ispinesib 2500 nM.
    Tolerance: half a unit of the last printed digit (0.005 for two decimals, 0.05 for one) + 0.005 for the random
    noise the vignette adds to every response before scoring (ReshapeData(noise = TRUE, seed = 1)). Loewe: the four
    cells where the Loewe equation has no solution and both implementations use the fallback (ibrutinib's fitted
    top, 62.3); the fifth cell differs by design (README.md of tests/data/synergy)."""
    res = _mathews()
    printed = pd.read_csv(DATA / "synergyfinder_vignette_printed.csv")
    i = list(res.doses1).index(2500)
    js = [list(res.doses2).index(c) for c in printed["conc2"]]
    two_decimals = 0.005 + 0.005
    one_decimal = 0.05 + 0.005
    np.testing.assert_allclose(res.response[i, js], printed["response"], atol=one_decimal)
    for model, name in (("hsa", "HSA"), ("bliss", "Bliss")):
        np.testing.assert_allclose(res.expected[model][i, js], printed[f"{name}_ref"], atol=one_decimal)
        np.testing.assert_allclose(res.delta[model][i, js], printed[f"{name}_synergy"], atol=two_decimals)
    fallback = printed["Loewe_ref"] > 0  # the four cells printed 62.3
    assert fallback.sum() == 4 and res.loewe_fallback[i, np.array(js)[fallback]].all()
    np.testing.assert_allclose(res.expected["loewe"][i, np.array(js)[fallback]], printed["Loewe_ref"][fallback],
                               atol=one_decimal)
    np.testing.assert_allclose(res.delta["loewe"][i, np.array(js)[fallback]], printed["Loewe_synergy"][fallback],
                               atol=one_decimal)
    # the single-agent fit behind those cells: ibrutinib's drc LL.4 plateaus as the vignette's Loewe_ref shows them
    assert (res.curve2.y0, res.curve2.yinf) == pytest.approx((-14.9, 62.3), abs=0.06)
    # ZIP's smoothed surface (ZIP_fit): the three cells at ibrutinib 50, 12.5 and 0.78 nM; the other two come from a
    # different drc optimum of the step-like ispinesib row (README.md of tests/data/synergy)
    agree = printed["conc2"].isin([50, 12.5, 0.7812]).to_numpy()
    np.testing.assert_allclose(res.zip_fitted[i, np.array(js)[agree]], printed["ZIP_fit"][agree], atol=one_decimal)
