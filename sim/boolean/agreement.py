"""Whether an ODE answer and a Boolean answer to one question agree: the direction each gives, and why they may not.

The ODE answer is the direction of an IC50 fold (resistance = up); the Boolean answer is the direction of a MaBoSS
death probability (resistance = less death). Changes below ``ODE_TOLERANCE`` (fold) or ``BOOLEAN_TOLERANCE``
(probability) count as "none". Used by the ODE-vs-Boolean comparison of a preset (:mod:`sim.analyses.compare`) and
the agreement table of a knockout screen (:mod:`sim.screen.tables`).
"""
from __future__ import annotations

import math

ODE_TOLERANCE = 1.02  # an ODE IC50 fold change below 2% counts as none (within the 4PL fits' own error: the
#                       dose-response analysis's MIN_SHIFT_TO_REVERSE)
BOOLEAN_TOLERANCE = 0.02


def direction(change: float, tolerance: float) -> str:
    """``resistance`` / ``sensitisation`` / ``none`` (|change| < tolerance) / ``undetermined`` (not finite)."""
    if not math.isfinite(change):
        return "undetermined"
    return "none" if abs(change) < tolerance else ("resistance" if change > 0 else "sensitisation")


def explain_disagreement(ode: str, boolean: str, reference_death: float) -> str:
    """Why the two formalisms can give different directions for one question (a sentence for the table)."""
    if ode == "undetermined":
        return "an ODE IC50 lies outside the tested doses (fit status not ok), so its direction is not determined"
    if boolean == "none" and reference_death < BOOLEAN_TOLERANCE:
        return ("the logical model saturates: another cargo arm (or the EV-borne effect) still blocks every death "
                "route, so removing one arm changes nothing, while in the ODE each arm adds graded resistance")
    if boolean == "none":
        return ("the death route this arm acts on is already fully open in the logical model (e.g. GPX4 is off "
                "under drug because CHAC1 depletes GSH), so the arm has nothing left to change; in the ODE it is "
                "graded")
    if ode == "none":
        return (f"the ODE effect is below {100 * (ODE_TOLERANCE - 1):g}% (one miRNA represses one target at most "
                f"mirna_max_repression-fold, and co-culture delivers far less than 50 ug/mL of EVs); in the logical "
                f"model the same arm is an all-or-none switch of a death route")
    return "opposite directions: check the node rules of this arm in models/boolean/cafev.bnet"
