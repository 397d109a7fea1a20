"""Do the ODE and Boolean models agree? One row per comparison, with the direction in each formalism.

For a scenario preset, four questions are asked of both models (issue #4): CAF-EVs (50 ug/mL) against no EVs;
GW4869 20 uM in 3:1 co-culture against co-culture; the preset's matched intervention (``matched_intervention`` in
scenarios.toml) on CAF-EVs against CAF-EVs; and the cargo target's knockout (``target_knockout``) against no EVs.
The ODE answer is the direction of the IC50 fold (resistance = up); the Boolean answer is the MaBoSS death
probability at the drug's reference IC50 (resistance = less death), read as an equivalent dose fold (the death
difference over the reference's slope of death against ln dose, :mod:`sim.boolean.agreement`), so that both count a
change below ``ODE_TOLERANCE`` (2%) as "none". Disagreements are kept, with the reason. The ODE's EVs carry the
preset's enriched regime, and the logical model is given the same EV dose (the cargo activity from the ODE delivery
budget of each condition, :func:`sim.boolean_assay.cargo_activity`).
"""
from __future__ import annotations

import math

import pandas as pd

from sim.boolean.agreement import (BOOLEAN_TOLERANCE, ODE_TOLERANCE, boolean_direction, direction,
                                   explain_disagreement)
from sim.boolean_assay import cafev_network, death_probability, reference_slope
from sim.build import build_model
from sim.catalogue import load_catalogue
from sim.conditions import Condition
from sim.curves import fit_curves, run_dose_response
from sim.errors import InvalidValueError

__all__ = ["comparison_conditions", "compare", "direction", "explain_disagreement", "ODE_TOLERANCE",
           "BOOLEAN_TOLERANCE"]


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


def compare(scenario: str, samples: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Agreement table of a preset: one row per question with the ODE fold, the Boolean death probabilities and
    both directions; ``agree`` is True when the directions match."""
    if load_catalogue().scenario(scenario).get("treatment") == "radiation":
        raise InvalidValueError(f"Scenario '{scenario}' is a radiotherapy preset: the logical model carries no "
                                f"radiation (its DNA-break repair is ODE-only, models/ode/radiation.ant), so there is "
                                f"nothing to compare; run its clonogenic experiment instead.")
    conds, questions = comparison_conditions(scenario)
    model = build_model(scenario)
    fits = fit_curves(run_dose_response(model, conds, n_doses=10)).set_index("condition")
    network = cafev_network()
    death = {c.name: death_probability(network, scenario, c, samples=samples, seed=seed) for c in conds}
    by_name = {c.name: c for c in conds}
    slope = {ref: reference_slope(network, scenario, by_name[ref], samples=samples, seed=seed)
             for ref in dict.fromkeys(q[2] for q in questions)}
    rows = []
    for label, cond, ref in questions:
        ok = fits.loc[cond, "status"] == "ok" and fits.loc[ref, "status"] == "ok"
        fold = fits.loc[cond, "ic50_abs"] / fits.loc[ref, "ic50_abs"] if ok else math.nan
        ode = direction(math.log(fold) if fold > 0 else math.nan, math.log(ODE_TOLERANCE))
        boolean, equivalent = boolean_direction(death[cond], death[ref], slope[ref])
        rows.append({"scenario": scenario, "question": label, "condition": cond, "reference": ref,
                     "ode_ic50_fold": fold, "ode_direction": ode, "boolean_death": death[cond],
                     "boolean_death_reference": death[ref], "boolean_death_slope": slope[ref],
                     "boolean_dose_fold": equivalent, "boolean_direction": boolean, "agree": ode == boolean,
                     "explanation": "" if ode == boolean else explain_disagreement(ode, boolean, death[ref], fold,
                                                                                   equivalent)})
    return pd.DataFrame(rows)
