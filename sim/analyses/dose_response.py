"""Dose-response curves of a scenario under named conditions, their fits and the IC50/GR50 shift table.

Each condition is run through the assay protocol (:mod:`sim.protocol`: steady-state cells, EV/intervention
pretreatment, then the drug for the assay time) at every dose of a log-spaced grid plus a drug-free run. Per dose the
table holds the relative viability (cells at assay end over the drug-free cells of the same condition), the cell
counts a GR analysis needs (at drug addition, at the end, drug-free at the end), the GR value (Hafner 2016) and the
key species at assay end. :func:`fit_curves` fits each condition (4PL, :mod:`sim.fit`; GR metrics, :mod:`sim.gr`)
and :func:`shift_table` compares every condition with the no-EV control and each intervention with its EV reference.

References
----------
Hafner M, Niepel M, Chung M, Sorger PK (2016) Growth rate inhibition metrics correct for confounders in measuring
sensitivity to cancer drugs. Nat Methods 13:521-527.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.budget import budget_part, delivery_budget
from sim.catalogue import load_catalogue
from sim.conditions import Condition, InterventionDose, condition_list
from sim.engines.ode import engine_for
from sim.errors import InvalidValueError, UnknownNameError
from sim.fit import fit_ll4
from sim.gr import GRFit, fit_gr, gr_values
from sim.protocol import AssayProtocol

KEY_SPECIES = ("PTEN", "pAKT", "pSTAT3", "LROS", "CASP3a")
MIN_CONTROL_GROWTH = 1.25  # drug-free cells must grow >= 1.25-fold (a third of a doubling) for GR metrics
DECADES_BELOW, DECADES_ABOVE = 2.0, 2.5  # default grid: reference IC50 x 10^-2 .. 10^2.5 (room for 10-fold shifts)
MIN_SHIFT_TO_REVERSE = 1.02  # below a 2% EV shift (either way), a fraction of it is within the 4PL fits' own error


def dose_grid(drug: str, n: int = 12, low: float | None = None, high: float | None = None) -> np.ndarray:
    """``n`` log-spaced doses (uM) spanning the drug's active range around its reference IC50 (drugs.tsv)."""
    if n < 3:
        raise InvalidValueError(f"A dose-response needs 'n_doses' >= 3. Got {n}.")
    ref = load_catalogue().drug(drug)["ic50_ref_uM"]
    low = ref * 10 ** -DECADES_BELOW if low is None else low
    high = ref * 10 ** DECADES_ABOVE if high is None else high
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
        raise InvalidValueError(f"The dose range must satisfy 0 < min_dose < max_dose. Got {low:g} to {high:g} uM.")
    return np.logspace(math.log10(low), math.log10(high), n)


def _check_conditions(conditions) -> list[Condition]:
    conditions = condition_list(conditions)
    for c in conditions:
        if c.dose:
            raise InvalidValueError(f"Condition '{c.name}' sets 'dose' = {c.dose:g}, but a dose-response runs the "
                                    f"dose grid; remove 'dose' (set the grid with doses/min_dose/max_dose).")
    return list(conditions)


def run_dose_response(model, conditions: Sequence[Condition] | Condition, doses=None, n_doses: int = 12,
                      assay_h: float = 72.0, pretreatment_h: float = 48.0, species: Sequence[str] | None = None,
                      progress=None) -> pd.DataFrame:
    """Simulate every condition at every dose; return one tidy row per (condition, dose).

    Parameters
    ----------
    model : BuiltModel
        From :func:`sim.build.build_model`.
    conditions : Condition or sequence of Condition
        Named conditions without a dose (the grid supplies it); the drug is the scenario's unless a condition
        names its own.
    doses : array_like, optional
        Doses in uM (default :func:`dose_grid` of the scenario's drug with ``n_doses``).
    assay_h, pretreatment_h : float
        Drug exposure and EV/intervention pretreatment in h (a condition's ``assay_time_h`` takes precedence).
    species : sequence of str, optional
        Species reported at assay end (default: those of ``KEY_SPECIES`` the model has).
    progress : callable, optional
        Called with each condition's name as it finishes.

    Returns
    -------
    pandas.DataFrame
        condition, drug, dose_uM, viability, cells_start, cells_end, cells_control, gr, the species, then the
        condition's delivery budget at drug addition (:mod:`sim.budget`: ``delivered_*``, ``loaded_*``,
        ``repression_*``, ``ev_internalised_fraction``; the same on every row of a condition).
    """
    conditions = _check_conditions(conditions)
    engine = engine_for(model)
    cat = load_catalogue()
    values = [c.values(model, cat) for c in conditions]  # every name checked before any run
    species = engine.check_selection(list(species) if species else [s for s in KEY_SPECIES if s in engine.species])
    drugs = {c.drug or model.drug for c in conditions}
    if doses is None:
        if len(drugs) != 1 or None in drugs:
            raise InvalidValueError(f"Give 'doses' explicitly when conditions use different drugs ({drugs}).")
        doses = dose_grid(drugs.pop(), n_doses)
    doses = np.asarray(doses, dtype=float)
    if doses.ndim != 1 or doses.size < 3 or not np.all(np.isfinite(doses)) or np.any(doses <= 0):
        raise InvalidValueError(f"'doses' must be >= 3 finite doses > 0 uM. Got {doses.tolist()}.")
    protocol = AssayProtocol(engine, pretreatment_h)
    seeding = model.defaults["seeding_density"]
    selections = ["N_cancer"] + species
    rows = []
    for cond, vals in zip(conditions, values):
        hours = cond.assay_time_h or assay_h
        start = vals.get("seeding_density", seeding)
        control = protocol.endpoint({**vals, "drug_ext": 0.0}, hours, selections)
        budget = delivery_budget(protocol, vals)
        for dose in np.concatenate([[0.0], doses]):
            end = control if dose == 0 else protocol.endpoint({**vals, "drug_ext": float(dose)}, hours, selections)
            rows.append({"condition": cond.name, "drug": cond.drug or model.drug, "dose_uM": float(dose),
                         "viability": end[0] / control[0], "cells_start": start, "cells_end": end[0],
                         "cells_control": control[0], **dict(zip(species, end[1:])), **budget})
        if progress:
            progress(cond.name)
    table = pd.DataFrame(rows)
    table.insert(5, "gr", gr_values(table["cells_end"], table["cells_control"], table["cells_start"]))
    return table


def fit_curves(table: pd.DataFrame, response: str = "viability") -> pd.DataFrame:
    """Fit every condition of a dose-response table: 4PL (sim.fit), GR metrics (sim.gr) and AUC.

    Returns one row per condition: the :class:`sim.fit.LL4Fit` columns, ``auc`` (mean viability over the log10
    dose range, trapezoid rule; 1 = no effect), ``emax`` (viability at the highest dose) and the GR metrics
    (``gr50``, ``grmax``, ``grinf``, ``gec50``, ``h_gr``, ``gr_aoc``, ``gr_status``), then the condition's delivery
    budget columns when the table has them. Never raises for a curve
    that cannot be fitted; ``status`` and ``gr_status`` say why (``control_not_growing``: the condition's
    drug-free cells grew less than ``MIN_CONTROL_GROWTH``-fold, e.g. under a toxic erastin dose, so GR values
    are not defined).
    """
    rows = []
    for name, sub in table.groupby("condition", sort=False):
        sub = sub.sort_values("dose_uM")
        fit = fit_ll4(sub["dose_uM"], sub[response])
        pos = sub[sub["dose_uM"] > 0]
        lx = np.log10(pos["dose_uM"].to_numpy())
        v = pos[response].to_numpy()
        auc = float(np.trapezoid(v, lx) / (lx[-1] - lx[0])) if len(lx) > 1 else math.nan
        row = {"condition": name, **fit.as_row(), "auc": auc, "emax": float(v[-1])}
        budget = budget_part(sub.iloc[0])
        if "gr" in sub:
            growth = float(sub["cells_control"].iloc[0] / sub["cells_start"].iloc[0])
            if growth >= MIN_CONTROL_GROWTH:
                row.update(fit_gr(pos["dose_uM"].to_numpy(), pos["gr"].to_numpy()).as_row())
            else:  # GR normalises by the control's growth; without growth it is not defined (Hafner 2016)
                row.update({k: math.nan for k in GRFit().as_row()}, gr_status="control_not_growing")
        rows.append({**row, **budget})
    return pd.DataFrame(rows)


def _ev_signature(c: Condition) -> tuple:
    return (c.ev_mode, c.ev_source, c.caf_ratio if c.ev_mode == "coculture" else None,
            c.ev_dose_ug if c.ev_mode == "addition" else None, c.hypoxia, c.chemo_loading, c.drug,
            c.delivery or "published")


def _treatment(c: Condition) -> tuple:
    """What a condition does to the cancer cells besides EVs: interventions, perturbations, parameters, drug."""
    doses = tuple(sorted((k, (v.dose, v.mirna) if isinstance(v, InterventionDose) else (float(v), None))
                         for k, v in c.interventions.items()))
    return (doses, tuple(sorted(c.knockouts)), tuple(sorted(c.knockdowns.items())),
            tuple(sorted(c.overexpression.items())), tuple(sorted(c.parameters.items())), c.drug, c.assay_time_h)


def _alone_name(c: Condition) -> str:
    cat = load_catalogue()
    parts = []
    for key, spec in c.interventions.items():
        dose, mirna = (spec.dose, spec.mirna) if isinstance(spec, InterventionDose) else (spec, None)
        row = cat.intervention(key)
        parts.append(f"{row['id']}{' (' + mirna + ')' if mirna else ''} {dose:g} {row['unit']}")
    parts += [f"{g} KO" for g in c.knockouts] + [f"{g} KD {f:g}" for g, f in c.knockdowns.items()]
    parts += [f"{g} OE {f:g}" for g, f in c.overexpression.items()]
    parts += [f"{p} = {v:g}" for p, v in c.parameters.items()]
    return f"{' + '.join(parts)} alone (no EVs)"


def intervention_alone(conditions: Sequence[Condition]) -> tuple[list[Condition], dict]:
    """For every condition that adds an intervention (or a gene perturbation) to an EV exposure, the same treatment
    (with the same parameters, drug and assay time) without EVs, which tells what the intervention takes back
    specifically from what it does to any cell.

    Returns
    -------
    added, alone : list of Condition, dict
        ``added``: the no-EV conditions missing from ``conditions`` (named ``'<treatment> alone (no EVs)'``);
        ``alone[name]``: the no-EV condition of the same treatment for each EV + intervention condition.
    """
    conditions = list(conditions)
    by_treatment = {_treatment(c): c.name for c in conditions if c.ev_mode == "none"}
    names = {c.name for c in conditions}
    added, alone = [], {}
    for c in conditions:
        if c.ev_mode == "none" or not (c.interventions or c.knockouts or c.knockdowns or c.overexpression):
            continue  # a parameter change alone (e.g. copies per EV) is part of the exposure, not a treatment
        key = _treatment(c)
        if key not in by_treatment:
            name = _alone_name(c)
            while name in names:
                name += "'"
            extra = Condition(name=name, drug=c.drug, interventions=dict(c.interventions),
                              knockouts=list(c.knockouts), knockdowns=dict(c.knockdowns),
                              overexpression=dict(c.overexpression), parameters=dict(c.parameters),
                              assay_time_h=c.assay_time_h)
            added.append(extra)
            names.add(name)
            by_treatment[key] = name
        alone[c.name] = by_treatment[key]
    return added, alone


def _is_plain(c: Condition) -> bool:
    return not (c.interventions or c.knockouts or c.knockdowns or c.overexpression or c.parameters)


def default_references(conditions: Sequence[Condition], control: str | None = None) -> tuple[str, dict]:
    """The no-EV control and, for each perturbed condition, the plain condition with the same EV exposure.

    Returns
    -------
    control, references : str, dict
        ``references[name]`` is the condition an intervention or perturbation is compared with (absent if none).
    """
    by_name = {c.name: c for c in conditions}
    if control is None:
        plain = [c.name for c in conditions if c.ev_mode == "none" and _is_plain(c)]
        if not plain:
            raise InvalidValueError("No control: add a condition with no EVs and no intervention, or name one "
                                    "with 'control'.")
        control = plain[0]
    elif control not in by_name:
        raise UnknownNameError("control condition", control, by_name)
    refs = {}
    for c in conditions:
        if c.name == control or _is_plain(c):
            continue
        match = [o.name for o in conditions if _is_plain(o) and _ev_signature(o) == _ev_signature(c)]
        if match:
            refs[c.name] = match[0]
    return control, refs


def shift_table(fits: pd.DataFrame, control: str, references: dict | None = None,
                level: float = 0.95, alone: dict | None = None) -> pd.DataFrame:
    """IC50 and GR50 fold change of every condition against the control, and the fraction of the shift reversed.

    ``ic50_fold`` = IC50(condition)/IC50(control) with the absolute IC50 (viability 0.5) and a delta-method CI on
    the log ratio; ``gr50_fold`` likewise (no CI: the GR fit is the reference implementation's, without SEs).
    The CI is a fit diagnostic of noise-free simulated points (lack of fit of the 4PL), not an uncertainty of the
    biology. For a condition with a reference (an intervention on top of an EV exposure), ``fraction_reversed`` =
    log(IC50_ref/IC50_cond)/log(IC50_ref/IC50_control): 0 = no reversal, 1 = back to control, > 1 = sensitised
    beyond control. It counts any sensitisation; ``fraction_reversed_specific`` (with ``alone``, the same
    intervention without EVs) counts only what the intervention takes back beyond its effect on cells without EVs:
    1 - log(IC50_cond/IC50_alone)/log(IC50_ref/IC50_control) (0 = a general sensitiser, 1 = it removes the whole EV
    effect, > 1 = it sensitises EV-exposed cells more than unexposed ones, < 0 = the EVs matter more with it).
    Both are left blank when the reference's shift is below ``MIN_SHIFT_TO_REVERSE`` (a fraction of a
    shift of a few percent is noise of the fits), and shifts involving an IC50 outside the doses, with the reason in
    ``note``. Delivery-budget columns of ``fits`` (:mod:`sim.budget`) are carried over.
    """
    from scipy import stats

    fits = fits.set_index("condition")
    if control not in fits.index:
        raise UnknownNameError("control condition", control, list(fits.index))
    z = stats.norm.ppf(0.5 + level / 2)
    ctrl = fits.loc[control]
    rows = []
    for name, f in fits.iterrows():
        row = {"condition": name, "ic50_uM": f["ic50_abs"], "ic50_report": f["ic50_report"], "status": f["status"],
               "ic50_fold": math.nan, "ic50_fold_lower": math.nan, "ic50_fold_upper": math.nan,
               "gr50_uM": f.get("gr50", math.nan), "gr50_fold": math.nan, "reference": "",
               "fraction_reversed": math.nan, "alone": "", "fraction_reversed_specific": math.nan, "note": ""}
        if f["status"] == "ok" and ctrl["status"] == "ok":
            fold = f["ic50_abs"] / ctrl["ic50_abs"]
            se = math.hypot(f["ic50_abs_se"] / f["ic50_abs"], ctrl["ic50_abs_se"] / ctrl["ic50_abs"])
            row.update(ic50_fold=fold, ic50_fold_lower=fold * math.exp(-z * se) if math.isfinite(se) else math.nan,
                       ic50_fold_upper=fold * math.exp(z * se) if math.isfinite(se) else math.nan)
        else:
            row["note"] = f"IC50 {f['ic50_report']} vs control {ctrl['ic50_report']}"
        g, g0 = f.get("gr50", math.nan), ctrl.get("gr50", math.nan)
        if all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in (g, g0)):
            row["gr50_fold"] = g / g0
        ref = (references or {}).get(name)
        if ref:
            r = fits.loc[ref]
            row["reference"] = ref
            if {f["status"], r["status"], ctrl["status"]} == {"ok"}:
                shift = math.log(r["ic50_abs"] / ctrl["ic50_abs"])
                if abs(shift) >= math.log(MIN_SHIFT_TO_REVERSE):
                    row["fraction_reversed"] = math.log(r["ic50_abs"] / f["ic50_abs"]) / shift
                    solo = (alone or {}).get(name)
                    if solo:
                        row["alone"] = solo
                        if fits.loc[solo, "status"] == "ok":
                            row["fraction_reversed_specific"] = \
                                1 - math.log(f["ic50_abs"] / fits.loc[solo, "ic50_abs"]) / shift
                elif ref != control:
                    row["note"] = (f"the shift of '{ref}' ({math.exp(shift):.4g}-fold) is below "
                                   f"{MIN_SHIFT_TO_REVERSE:g}-fold: too small to say what fraction is reversed")
        row.update(budget_part(f))
        rows.append(row)
    return pd.DataFrame(rows)


def reversal_curves(conditions: Sequence[Condition], shifts: pd.DataFrame) -> pd.DataFrame:
    """Dose-reversal curves: for every intervention given alone at >= 2 doses on top of the same EV reference,
    the fraction of the EV shift reversed (all of it, and the EV-specific part) and the IC50 fold against dose
    (dose 0 = the reference itself).

    Returns
    -------
    pandas.DataFrame
        intervention, reference, unit, dose, fraction_reversed, fraction_reversed_specific, ic50_fold (empty when no
        intervention qualifies).
    """
    cat = load_catalogue()
    table = shifts.set_index("condition")
    points: dict[tuple, list] = {}
    for c in conditions:
        ref = table.loc[c.name, "reference"] if c.name in table.index else ""
        if len(c.interventions) != 1 or not ref or c.knockouts or c.knockdowns or c.overexpression:
            continue
        (key, spec), = c.interventions.items()
        ident = cat.intervention(key)["id"]
        dose = spec.dose if hasattr(spec, "dose") else spec
        mirna = getattr(spec, "mirna", None)
        label = f"{ident} ({mirna})" if mirna else ident
        specific = table.loc[c.name, "fraction_reversed_specific"] if "fraction_reversed_specific" in table \
            else math.nan
        points.setdefault((label, ref, cat.intervention(key)["unit"]), []).append(
            (float(dose), table.loc[c.name, "fraction_reversed"], specific, table.loc[c.name, "ic50_fold"]))
    rows = []
    for (label, ref, unit), pts in points.items():
        if len({p[0] for p in pts}) < 2:
            continue
        defined = any(math.isfinite(p[1]) for p in pts)  # else the reference's shift is too small to reverse
        rows.append({"intervention": label, "reference": ref, "unit": unit, "dose": 0.0,
                     "fraction_reversed": 0.0 if defined else math.nan,
                     "fraction_reversed_specific": 0.0 if defined else math.nan,
                     "ic50_fold": table.loc[ref, "ic50_fold"]})
        rows += [{"intervention": label, "reference": ref, "unit": unit, "dose": d, "fraction_reversed": f,
                  "fraction_reversed_specific": s, "ic50_fold": fold} for d, f, s, fold in sorted(pts)]
    return pd.DataFrame(rows, columns=["intervention", "reference", "unit", "dose", "fraction_reversed",
                                       "fraction_reversed_specific", "ic50_fold"])
