"""Whether an ODE answer and a Boolean answer to one question agree: the direction each gives, and why they may not.

The ODE answer is the direction of an IC50 fold (resistance = up); the Boolean answer is the direction of a MaBoSS
death probability at the reference dose (resistance = less death), put in the same unit: the *equivalent dose fold*,
the factor by which the reference condition's dose would have to move to change its death probability as much
(the death difference over the local slope of death against ln dose, from the reference condition at half and twice
the dose). Both then count a change below ``ODE_TOLERANCE`` (2% in dose) as "none", so neither formalism is judged on
a finer or coarser scale than the other. Where the reference's death does not move with dose (slope <= 0: all
cells die or none do), the death difference itself is read against ``BOOLEAN_TOLERANCE`` (probability). Used by the
ODE-vs-Boolean comparison of a preset (:mod:`sim.analyses.compare`) and the agreement table of a knockout screen
(:mod:`sim.screen.tables`). MaBoSS's sampling error of one death probability (SD ~0.008 at 4,000 trajectories) is
wider than the 2% line, but two conditions run with the same seed share their random numbers, so the error of a
difference is far smaller (~0.0006 measured on the presets); the comparisons rely on that.
"""
from __future__ import annotations

import math

ODE_TOLERANCE = 1.02  # an ODE IC50 fold change below 2% counts as none (within the 4PL fits' own error: the
#                       dose-response analysis's MIN_SHIFT_TO_REVERSE)
BOOLEAN_TOLERANCE = 0.02  # death probability, where the reference's death has no slope in dose
SLOPE_DOSES = (0.5, 2.0)  # the reference's death at these multiples of its dose gives the local slope
MAX_EQUIVALENT_FOLD = 2.0  # the span the slope is measured over; beyond it the fold is NaN, the direction stands


def death_slope(death: dict) -> float:
    """Slope of death probability against ln dose from ``{multiple of the dose: death}`` at :data:`SLOPE_DOSES`."""
    low, high = SLOPE_DOSES
    return (death[high] - death[low]) / math.log(high / low)


def boolean_direction(death: float, death_reference: float, slope: float) -> tuple[str, float]:
    """(direction, equivalent dose fold) of a Boolean answer: resistance when the condition's death is lower. The
    fold is a local reading: beyond ``MAX_EQUIVALENT_FOLD`` either way it is NaN and only the direction stands."""
    change = death_reference - death
    if not (math.isfinite(slope) and slope > 0):
        return direction(change, BOOLEAN_TOLERANCE), math.nan
    log_fold = change / slope
    fold = math.exp(log_fold) if abs(log_fold) <= math.log(MAX_EQUIVALENT_FOLD) else math.nan
    return direction(log_fold, math.log(ODE_TOLERANCE)), fold


def direction(change: float, tolerance: float) -> str:
    """``resistance`` / ``sensitisation`` / ``none`` (|change| < tolerance) / ``undetermined`` (not finite)."""
    if not math.isfinite(change):
        return "undetermined"
    return "none" if abs(change) < tolerance else ("resistance" if change > 0 else "sensitisation")


def explain_disagreement(ode: str, boolean: str, reference_death: float, ode_fold: float = math.nan,
                         boolean_fold: float = math.nan) -> str:
    """Why the two formalisms can give different directions for one question (a sentence for the table)."""
    if ode == "undetermined":
        return "an ODE IC50 lies outside the tested doses (fit status not ok), so its direction is not determined"
    same_side = (math.isfinite(ode_fold) and math.isfinite(boolean_fold) and ode_fold != 1 and boolean_fold != 1
                 and (ode_fold > 1) == (boolean_fold > 1))
    if same_side and "none" in (ode, boolean):
        return (f"a tolerance edge: both formalisms move the same way (ODE IC50 fold {ode_fold:.3f}, logical "
                f"equivalent dose fold {boolean_fold:.3f}) but only one crosses the {100 * (ODE_TOLERANCE - 1):g}% "
                f"line; the logical model's cargo effects run larger than the ODE's, because a cell in which a cargo "
                f"acts has its target off rather than at the ODE's ceiling-bounded level")
    if boolean == "none" and reference_death < BOOLEAN_TOLERANCE:
        return ("the logical model saturates: no cell dies at the reference dose in the reference condition, so "
                "a further arm changes nothing, while in the ODE each arm adds graded resistance")
    if boolean == "none":
        return ("the arm does not reach the logical model's death rates (no rule or rate law of rates.tsv reads "
                "it), while in the ODE it is graded")
    return "opposite directions: check the node rules and rates of this arm (models/boolean/cafev.bnet, rates.tsv)"
