"""From a screen's raw rows (one per perturbation x condition) to the tables a user reads: the ranking, the pair
synergy table and the ODE-vs-Boolean agreement of single knockouts.

Ranking (one row per perturbation): how much of the EV shift it reverses, on a log scale as in the dose-response
analysis: ``fraction_reversed = log(IC50_wt,EV / IC50_x,EV) / log(IC50_wt,EV / IC50_wt,ref)`` (1 = back to the
wild type without EVs, > 1 = sensitised beyond it). A perturbation that leaves fewer than ``toxicity_threshold`` of
the wild type's drug-free cells in the EV condition is flagged ``toxic_alone``: it kills without the drug and is
listed after the others, unranked, so that it is not mistaken for a sensitiser.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.boolean.agreement import ODE_TOLERANCE, boolean_direction, direction, explain_disagreement
from sim.errors import SimulationError
from sim.screen.perturbations import WILD_TYPE, parse
from sim.screen.synergy import (bliss_excess, bliss_excess_ic50, drug_perturbation_bliss, hsa_excess,
                                hsa_excess_ic50)



def _by(table: pd.DataFrame, condition: str) -> pd.DataFrame:
    sub = table[(table["condition"] == condition) & (table["status"] == "ok")]
    return sub.set_index("perturbation")


def _wild_type(sub: pd.DataFrame, condition: str, raw: pd.DataFrame | None = None) -> pd.Series:
    if WILD_TYPE not in sub.index:
        why = ""
        if raw is not None:
            rows = raw[(raw["perturbation"] == WILD_TYPE) & (raw["condition"] == condition)]
            why = f": {rows['message'].iloc[0]}" if len(rows) and "message" in rows else ""
        raise SimulationError(f"The wild type failed in condition '{condition}'{why}. Every score of the screen is "
                              f"relative to it, so no ranking was made; the raw rows are in screen.csv.")
    return sub.loc[WILD_TYPE]


def _ratio(a, b) -> float:
    """a / b when both are finite and positive, else NaN (a flat GR curve has GR50 = +-inf)."""
    return a / b if all(math.isfinite(v) and v > 0 for v in (a, b)) else math.nan


def _fit_ok(status) -> bool:
    return status == "ok"


def _note(x: pd.Series, wt: pd.Series) -> str:
    note = x.get("note", "") or ""
    if not note and x["fit_status"] != "ok":
        note = f"IC50 not determined ({x['fit_status']}: outside the tested doses or no fit), so not ranked"
    elif not note and wt["fit_status"] != "ok":
        note = f"the wild type's IC50 is not determined ({wt['fit_status']}), so no fold or fraction"
    return note


RANK_COLUMNS = ["perturbation", "size", "status", "ic50_uM", "ic50_fold_vs_wt", "fraction_reversed",
                "ic50_fold_vs_wt_reference", "gr50_fold_vs_wt", "viability_at_dose", "viability_at_dose_wt",
                "viability_alone", "toxic_alone", "drug_bliss_excess", "fit_status", "note"]


def rank_table(raw: pd.DataFrame, condition: str, reference: str, toxicity_threshold: float = 0.5) -> pd.DataFrame:
    """One row per perturbation, ranked by the fraction of the ``condition``-vs-``reference`` wild-type IC50 shift it
    reverses; toxic-alone perturbations last and unranked. Failed points are listed with their message."""
    cond, ref = _by(raw, condition), _by(raw, reference)
    wt, wt_ref = _wild_type(cond, condition, raw), _wild_type(ref, reference, raw)
    shift = math.log(wt["ic50_uM"] / wt_ref["ic50_uM"]) if _fit_ok(wt["fit_status"]) and _fit_ok(
        wt_ref["fit_status"]) else math.nan
    rows = []
    for label in dict.fromkeys(raw["perturbation"]):
        if label == WILD_TYPE:
            continue
        if label not in cond.index:
            failed = raw[(raw["perturbation"] == label) & (raw["condition"] == condition)]
            rows.append({"perturbation": label, "size": len(parse(label)), "status": "failed",
                         "note": failed["message"].iloc[0] if len(failed) else "no row"})
            continue
        x = cond.loc[label]
        fit_ok = _fit_ok(x["fit_status"]) and _fit_ok(wt["fit_status"])
        fold = x["ic50_uM"] / wt["ic50_uM"] if fit_ok else math.nan
        x_ref = ref.loc[label] if label in ref.index else None
        fold_ref = (x_ref["ic50_uM"] / wt_ref["ic50_uM"] if x_ref is not None and _fit_ok(x_ref["fit_status"])
                    and _fit_ok(wt_ref["fit_status"]) else math.nan)
        alone = x["cells_drug_free"] / wt["cells_drug_free"]
        rows.append({
            "perturbation": label, "size": len(parse(label)), "status": "ok",
            "ic50_uM": x["ic50_uM"], "ic50_fold_vs_wt": fold,
            "fraction_reversed": math.log(wt["ic50_uM"] / x["ic50_uM"]) / shift if fit_ok and shift else math.nan,
            "ic50_fold_vs_wt_reference": fold_ref,
            "gr50_fold_vs_wt": _ratio(x["gr50_uM"], wt["gr50_uM"]),
            "viability_at_dose": x["viability_at_dose"], "viability_at_dose_wt": wt["viability_at_dose"],
            "viability_alone": alone, "toxic_alone": bool(alone < toxicity_threshold),
            "drug_bliss_excess": float(drug_perturbation_bliss(wt["cells_drug_free"], wt["cells_at_dose"],
                                                               x["cells_drug_free"], x["cells_at_dose"])),
            "fit_status": x["fit_status"], "note": _note(x, wt)})
    table = pd.DataFrame(rows).reindex(columns=RANK_COLUMNS)  # every column, even if every point failed
    table["toxic_alone"] = table["toxic_alone"].astype("boolean").fillna(False).astype(bool)
    order = table["toxic_alone"].astype(int) * 2 + (table["status"] != "ok").astype(int) * 4
    table = table.assign(_order=order, _key=-table["fraction_reversed"].astype(float).fillna(-np.inf)).sort_values(["_order", "_key"], kind="stable").drop(columns=["_order",
                                                                                                         "_key"])
    ranked = (~table["toxic_alone"]) & (table["status"] == "ok") & table["fraction_reversed"].notna()
    table.insert(0, "rank", pd.array([pd.NA] * len(table), dtype="Int64"))
    table.loc[ranked, "rank"] = np.arange(1, int(ranked.sum()) + 1)
    table.attrs.update(wt_ic50_condition=wt["ic50_uM"], wt_ic50_reference=wt_ref["ic50_uM"],
                       wt_shift_fold=math.exp(shift) if math.isfinite(shift) else math.nan)
    return table.reset_index(drop=True)


def pair_table(raw: pd.DataFrame, condition: str) -> pd.DataFrame:
    """Bliss and HSA excess of every pair in ``condition``: on the cells left at the screen's dose (relative to the
    wild type at that dose) and on the IC50 folds vs the wild type. Positive excess = synergy (see
    :mod:`sim.screen.synergy`). Bliss and HSA only: a knockout has no dose axis, so there are no single-agent
    dose-response curves for Loewe or ZIP; for those, dose two agents in a matrix (analysis ``combination``,
    :mod:`sim.screen.matrix_synergy`)."""
    cond = _by(raw, condition)
    wt = _wild_type(cond, condition, raw)
    rows = []
    for label in dict.fromkeys(raw.loc[raw["size"] == 2, "perturbation"]):
        a, b = (p.label for p in parse(label))
        if not {a, b, label} <= set(cond.index):
            rows.append({"pair": label, "a": a, "b": b, "status": "failed"})
            continue
        f = {k: cond.loc[k, "cells_at_dose"] / wt["cells_at_dose"] for k in (a, b, label)}
        fold = {k: cond.loc[k, "ic50_uM"] / wt["ic50_uM"]
                if cond.loc[k, "fit_status"] == "ok" and wt["fit_status"] == "ok" else math.nan for k in (a, b, label)}
        rows.append({"pair": label, "a": a, "b": b, "status": "ok",
                     "cells_at_dose_a": f[a], "cells_at_dose_b": f[b], "cells_at_dose_ab": f[label],
                     "bliss_excess_viability": float(bliss_excess(f[a], f[b], f[label])),
                     "hsa_excess_viability": float(hsa_excess(f[a], f[b], f[label])),
                     "ic50_fold_a": fold[a], "ic50_fold_b": fold[b], "ic50_fold_ab": fold[label],
                     "bliss_excess_log10_ic50": float(bliss_excess_ic50(fold[a], fold[b], fold[label])),
                     "hsa_excess_log10_ic50": float(hsa_excess_ic50(fold[a], fold[b], fold[label]))})
    return pd.DataFrame(rows)


def agreement_table(raw: pd.DataFrame, boolean: pd.DataFrame, condition: str) -> pd.DataFrame:
    """Single knockouts in ``condition``: the ODE direction (IC50 fold vs wild type; the cells left at the dose for
    a genotype with no steady state) and the Boolean direction (MaBoSS death probability vs wild type, as an
    equivalent dose fold: :func:`sim.boolean.agreement.boolean_direction`), and whether they agree. A gene without
    a Boolean node is listed with ``boolean_direction = "no Boolean node"``."""
    cond = _by(raw, condition)
    wt = _wild_type(cond, condition, raw)
    bool_cond = _by(boolean, condition) if len(boolean) else pd.DataFrame()
    bool_all = boolean[boolean["condition"] == condition].set_index("perturbation") if len(boolean) else None
    rows = []
    for label in dict.fromkeys(raw.loc[raw["size"] == 1, "perturbation"]):
        (p,) = parse(label)
        if p.kind != "KO" or label not in cond.index:
            continue
        x = cond.loc[label]
        if x["fit_status"] == "ok" and wt["fit_status"] == "ok":
            fold, basis = x["ic50_uM"] / wt["ic50_uM"], "IC50 fold"
        else:
            fold, basis = x["cells_at_dose"] / wt["cells_at_dose"], "cells at dose"
        ode = direction(math.log(fold) if fold > 0 else math.nan, math.log(ODE_TOLERANCE))
        row = {"condition": condition, "perturbation": label, "ode_basis": basis, "ode_fold": fold,
               "ode_direction": ode}
        if label in bool_cond.index and WILD_TYPE in bool_cond.index:
            death, death_wt = bool_cond.loc[label, "death_probability"], bool_cond.loc[WILD_TYPE, "death_probability"]
            boolean_dir, equivalent = boolean_direction(death, death_wt, bool_cond.loc[WILD_TYPE].get("death_slope",
                                                                                                     math.nan))
            row.update(boolean_death=death, boolean_death_wt=death_wt, boolean_dose_fold=equivalent,
                       boolean_direction=boolean_dir,
                       boolean_attractors=bool_cond.loc[label, "attractor_outcome"], agree=ode == boolean_dir,
                       explanation="" if ode == boolean_dir else explain_disagreement(ode, boolean_dir, death_wt, fold,
                                                                                            equivalent))
        elif bool_all is not None and label in bool_all.index and WILD_TYPE in bool_all.index:
            failed = label if label not in bool_cond.index else WILD_TYPE  # a Boolean point that failed
            row.update(boolean_death=math.nan, boolean_death_wt=math.nan, boolean_direction="failed",
                       boolean_attractors="", agree=pd.NA,
                       explanation=f"the Boolean run of {failed} failed: {bool_all.loc[failed, 'message']}")
        else:
            row.update(boolean_death=math.nan, boolean_death_wt=math.nan, boolean_direction="no Boolean node",
                       boolean_attractors="", agree=pd.NA,
                       explanation="the logical model has no node for this gene (models/boolean/nodes.tsv)")
        rows.append(row)
    return pd.DataFrame(rows)
