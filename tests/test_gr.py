"""GR values and metrics against the reference implementation's published example.

Known answers: datarail/gr_metrics (Hafner et al. 2016 Nat Methods 13:521) toy example, Python outputs
``OUTPUT/python_input1_GRvalues.tsv`` and ``OUTPUT/python_input1_GRmetrics.tsv`` (12 whole curves; provenance in
tests/data/grmetrics/README.md). Old column names: GR_AUC = GR_AOC, EC50 = GEC50, Hill = h_GR.
"""
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.gr import fit_gr, gr_curve, gr_values

DATA = Path(__file__).parent / "data" / "grmetrics"
KEYS = ["cell_line", "perturbation", "replicate", "agent", "time"]


def test_gr_values_match_the_reference():
    d = pd.read_csv(DATA / "python_input1_GRvalues.subset.tsv", sep="\t")
    gr = gr_values(d["cell_count"], d["cell_count__ctrl"], d["cell_count__time0"])
    assert np.max(np.abs(gr - d["GRvalue"])) < 1e-9
    # the reference's doctest (gr50.compute_gr_single): 1710 / 1766 / 492.8 -> 0.965305500206
    assert gr_values([1710], [1766.0], [492.8])[0] == pytest.approx(0.965305500206, abs=1e-12)


def _curves():
    d = pd.read_csv(DATA / "python_input1_GRvalues.subset.tsv", sep="\t")
    ref = pd.read_csv(DATA / "python_input1_GRmetrics.subset.tsv", sep="\t").set_index(KEYS)
    return [(key, sub, ref.loc[key]) for key, sub in d.groupby(KEYS)]


@pytest.mark.parametrize("key, sub, ref", _curves(), ids=lambda v: "-".join(map(str, v)) if isinstance(v, tuple)
                         else None)
def test_gr_metrics_match_the_reference(key, sub, ref):
    fit = fit_gr(sub["concentration"], sub["GRvalue"])
    for ours, theirs in (("gr50", "GR50"), ("grmax", "GRmax"), ("gr_aoc", "GR_AUC"), ("gec50", "EC50"),
                         ("grinf", "GRinf"), ("h_gr", "Hill")):
        value, expected = getattr(fit, ours), float(ref[theirs])
        if math.isinf(expected):
            assert value == expected, ours
        else:
            assert value == pytest.approx(expected, rel=1e-4, abs=1e-7), ours
    assert fit.gr_status == ("flat" if ref["EC50"] == 0 else "sigmoid")
    if fit.gr_status == "sigmoid":
        assert fit.pval_gr == pytest.approx(float(ref["pval"]), rel=1e-3, abs=1e-12)


def test_flat_curve_conventions_and_fitted_line():
    conc = np.logspace(-3, 1, 9)
    fit = fit_gr(conc, 0.9 + 0.01 * np.sin(np.arange(9)))
    assert fit.gr_status == "flat" and fit.gr50 == math.inf and fit.gec50 == 0.0 and fit.h_gr == 0.01
    assert np.allclose(gr_curve(conc, fit), fit.grinf)
    assert fit_gr([1, 2], [0.5, 0.4]).gr_status == "too_few_points"


def test_grinf_of_exactly_one_half_gives_an_infinite_gr50():
    # the reference's inverse has no solution when GRinf = 0.5 (the curve only approaches 0.5): +inf, never 0/0
    conc = np.logspace(-3, 1, 9)
    fit = fit_gr(conc, 0.5 + 0.5 / (1 + (conc / 0.05) ** 1.5))
    assert fit.gr_status == "sigmoid" and fit.grinf == pytest.approx(0.5, abs=1e-3)
    assert fit.gr50 == math.inf or fit.gr50 > conc.max()
