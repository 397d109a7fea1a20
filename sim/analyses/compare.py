"""Do the ODE and Boolean models agree? One row per comparison, with the direction in each formalism.

For a scenario preset, four questions are asked of both models (issue #4): CAF-EVs (50 ug/mL) against no EVs;
GW4869 20 uM in 3:1 co-culture against co-culture; the preset's matched intervention (``matched_intervention`` in
scenarios.toml) on CAF-EVs against CAF-EVs; and the cargo target's knockout (``target_knockout``) against no EVs.
The ODE answer is the direction of the IC50 fold (resistance = up); the Boolean answer is the direction of the MaBoSS
death probability at the drug's reference IC50 (resistance = less death). Changes below ``ODE_TOLERANCE`` (fold) or
``BOOLEAN_TOLERANCE`` (probability) count as "none". Disagreements are kept, with the reason the logical model gives.
The ODE's EVs carry the preset's enriched regime: a logical ``Load_*`` input says a cargo is loaded enough to act,
which the published regime (copies per EV inside Chevillet 2014's range) does not promise.
"""
from __future__ import annotations

import math

import pandas as pd

from sim.analyses.boolean import cafev_network, death_probability
from sim.analyses.dose_response import MIN_SHIFT_TO_REVERSE, fit_curves, run_dose_response
from sim.build import build_model
from sim.catalogue import load_catalogue
from sim.conditions import Condition

ODE_TOLERANCE = MIN_SHIFT_TO_REVERSE  # an ODE fold change below 2% counts as none
BOOLEAN_TOLERANCE = 0.02


def comparison_conditions(scenario: str) -> tuple[list[Condition], list[tuple[str, str, str]]]:
    """The conditions and the (label, condition, reference) questions of a preset."""
    preset = load_catalogue().scenario(scenario)
    add = {"ev_mode": "addition", "ev_dose_ug": 50.0, "delivery": "enriched"}
    coculture = {"ev_mode": "coculture", "caf_ratio": 3.0, "delivery": "enriched"}
    conds = [Condition(name="no EV"), Condition(name="CAF-EV", **add),
             Condition(name="co-culture", **coculture),
             Condition(name="co-culture + GW4869 20 uM", interventions={"GW4869": 20}, **coculture)]
    questions = [("CAF-EV vs no EV", "CAF-EV", "no EV"),
                 ("GW4869 in co-culture", "co-culture + GW4869 20 uM", "co-culture")]
    if "matched_intervention" in preset:
        conds.append(Condition(name="CAF-EV + matched", interventions=preset["matched_intervention"], **add))
        questions.append(("matched intervention on CAF-EV", "CAF-EV + matched", "CAF-EV"))
    if "target_knockout" in preset:
        conds.append(Condition(name="target knockout", knockouts=[preset["target_knockout"]]))
        questions.append((f"{preset['target_knockout']} knockout vs no EV", "target knockout", "no EV"))
    return conds, questions


def direction(change: float, tolerance: float) -> str:
    """``resistance`` / ``sensitisation`` / ``none`` (|change| < tolerance) / ``undetermined`` (not finite)."""
    if not math.isfinite(change):
        return "undetermined"
    return "none" if abs(change) < tolerance else ("resistance" if change > 0 else "sensitisation")


def compare(scenario: str, samples: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Agreement table of a preset: one row per question with the ODE fold, the Boolean death probabilities and
    both directions; ``agree`` is True when the directions match."""
    conds, questions = comparison_conditions(scenario)
    model = build_model(scenario)
    fits = fit_curves(run_dose_response(model, conds, n_doses=10)).set_index("condition")
    network = cafev_network()
    death = {c.name: death_probability(network, scenario, c, samples=samples, seed=seed) for c in conds}
    rows = []
    for label, cond, ref in questions:
        ok = fits.loc[cond, "status"] == "ok" and fits.loc[ref, "status"] == "ok"
        fold = fits.loc[cond, "ic50_abs"] / fits.loc[ref, "ic50_abs"] if ok else math.nan
        ode = direction(math.log(fold) if fold > 0 else math.nan, math.log(ODE_TOLERANCE))
        boolean = direction(death[ref] - death[cond], BOOLEAN_TOLERANCE)
        rows.append({"scenario": scenario, "question": label, "condition": cond, "reference": ref,
                     "ode_ic50_fold": fold, "ode_direction": ode, "boolean_death": death[cond],
                     "boolean_death_reference": death[ref], "boolean_direction": boolean, "agree": ode == boolean,
                     "explanation": "" if ode == boolean else explain_disagreement(ode, boolean, death[ref])})
    return pd.DataFrame(rows)


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
