"""Synergy of two perturbations (or of a drug and a perturbation): Bliss independence and highest single agent.

Effects are fractions of cells left relative to a common reference (``f = cells / cells_reference``). Under Bliss
independence two agents acting on independent mechanisms leave ``f_a * f_b`` (Bliss 1939); the highest single agent
(HSA, Gaddum's non-interaction) expects ``min(f_a, f_b)``. The excess is expected minus observed, so a positive
excess means the pair leaves fewer cells than expected: synergy. On IC50s the same two ideas act on fold changes
against the unperturbed cells: independence multiplies the folds (adds their logs), HSA takes the stronger single
fold; the excess is in log10 units, positive when the pair lowers the IC50 more than expected. Over a dose matrix
of two agents (with Loewe and ZIP, which need single-agent dose-response curves) see :mod:`sim.screen.matrix_synergy`.

References
----------
Bliss CI (1939) The toxicity of poisons applied jointly. Ann Appl Biol 26:585.
Berenbaum MC (1989) What is synergy? Pharmacol Rev 41:93.
Ianevski A et al. (2017) SynergyFinder: a web application for analyzing drug combination dose-response matrix data.
Bioinformatics 33:2413 (Bliss and HSA excess as reported there).
"""
from __future__ import annotations

import numpy as np


def bliss_excess(f_a, f_b, f_ab):
    """Bliss excess ``f_a * f_b - f_ab`` of fractions of cells left (each relative to the same reference)."""
    return np.asarray(f_a, float) * np.asarray(f_b, float) - np.asarray(f_ab, float)


def hsa_excess(f_a, f_b, f_ab):
    """HSA excess ``min(f_a, f_b) - f_ab`` of fractions of cells left."""
    return np.minimum(np.asarray(f_a, float), np.asarray(f_b, float)) - np.asarray(f_ab, float)


def bliss_excess_ic50(fold_a, fold_b, fold_ab):
    """Bliss-type excess on IC50 folds vs the unperturbed cells: ``log10(fold_a) + log10(fold_b) - log10(fold_ab)``."""
    return np.log10(np.asarray(fold_a, float)) + np.log10(np.asarray(fold_b, float)) - np.log10(
        np.asarray(fold_ab, float))


def hsa_excess_ic50(fold_a, fold_b, fold_ab):
    """HSA excess on IC50 folds: ``log10(min(fold_a, fold_b)) - log10(fold_ab)``."""
    return np.log10(np.minimum(np.asarray(fold_a, float), np.asarray(fold_b, float))) - np.log10(
        np.asarray(fold_ab, float))


def drug_perturbation_bliss(cells_wt_free, cells_wt_dose, cells_x_free, cells_x_dose):
    """Bliss excess of the drug (at the dose) and a perturbation, both relative to unperturbed drug-free cells:
    ``f_drug = wt_dose / wt_free``, ``f_x = x_free / wt_free``, ``f_both = x_dose / wt_free``."""
    wt_free = np.asarray(cells_wt_free, float)
    return bliss_excess(np.asarray(cells_wt_dose, float) / wt_free, np.asarray(cells_x_free, float) / wt_free,
                        np.asarray(cells_x_dose, float) / wt_free)
