"""The ``analysis = "dose_response"`` experiment: curves, fits, the IC50/GR50 shift table and the reversal curves.

Every condition is run at every dose (:mod:`sim.curves`) and fitted; :func:`shift_table` compares every condition
with the no-EV control and each intervention with its EV reference (and with itself without EVs, for the
EV-specific reversal). The spec's table (all optional)::

    [dose_response]
    n_doses = 12                          # log-spaced grid around the drug's reference IC50 (or min_dose/max_dose,
    doses = [0.001, 0.01, 0.1, 1]         #  or explicit doses in uM)
    assay_time_h = 72                     # drug exposure
    pretreatment_h = 48                   # EVs and interventions before the drug
    control = "control"                   # default: the first condition with no EVs and no intervention
    references = { "CAF-EV + X" = "CAF-EV" }   # default: the plain condition with the same EV exposure
    species = ["PTEN", "pAKT"]            # species reported at assay end

Writes dose_response.csv (one row per condition and dose), fits.csv (4PL and GR metrics per condition), shifts.csv
(the shift table; also the summary), dose_response.png, ic50_shift.png and, when an intervention is given at
several doses, reversal.csv/reversal.png; with parameters.csv, model.xml and metadata.json. With an
``[uncertainty]`` table (:mod:`sim.analyses.uncertainty`), the DESIGN.md 2.7 ranges are sampled (Latin hypercube,
in worker processes: ``--workers``, ``--resume`` and ``--scheduler`` apply to it) into a band around every curve
(uncertainty.csv, uncertainty_bands.csv, uncertainty.png) and IC50 fold (``ic50_fold_low``/``ic50_fold_high`` in
shifts.csv).
"""
from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from tqdm import tqdm

from sim.analyses.base import Analysis, ExperimentResult, RunOptions, control_and_references, no_condition_key
from sim.analyses.uncertainty import UncertaintySettings, check_settings, run_uncertainty
from sim.budget import budget_part, delivery_notes
from sim.catalogue import load_catalogue
from sim.conditions import Condition, InterventionDose
from sim.curves import dose_grid, fit_curves, run_dose_response
from sim.errors import InvalidValueError, UnknownNameError
from sim.plots import plot_dose_response, plot_reversal, plot_shift_bars
from sim.results import write_figure, write_metadata, write_table

MIN_SHIFT_TO_REVERSE = 1.02  # below a 2% EV shift (either way), a fraction of it is within the 4PL fits' own error


class DoseResponseSettings(BaseModel):
    """The ``[dose_response]`` table: the dose grid, the assay protocol and the references of the shift table."""

    model_config = ConfigDict(extra="forbid")
    doses: list[float] | None = Field(default=None, min_length=3)
    n_doses: int = Field(default=12, ge=3, le=200)
    min_dose: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    max_dose: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    assay_time_h: float = Field(default=72.0, gt=0, allow_inf_nan=False)
    pretreatment_h: float = Field(default=48.0, ge=0, allow_inf_nan=False)
    control: str | None = None
    references: dict[str, str] = Field(default_factory=dict)
    species: list[str] | None = None

    @field_validator("doses")
    @classmethod
    def _positive_doses(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and any(not math.isfinite(d) or d <= 0 for d in v):
            raise ValueError(f"every dose must be a finite number > 0 uM. Got {v}.")
        return v

    @model_validator(mode="after")
    def _range(self):
        if self.min_dose is not None and self.max_dose is not None and self.min_dose >= self.max_dose:
            raise ValueError(f"min_dose must be below max_dose. Got {self.min_dose:g} >= {self.max_dose:g} uM.")
        return self


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

    ``ic50_fold`` = IC50(condition)/IC50(control) with the absolute IC50 (viability 0.5), and
    ``ic50_fold_fit_se_low``/``ic50_fold_fit_se_high`` = fold x exp(-/+ z SE) with the delta-method SE of the log
    ratio from the two 4PL fits (z for ``level``); ``gr50_fold`` likewise (no SE: the GR fit is the reference
    implementation's, without SEs). That interval is a fit diagnostic of noise-free simulated points (lack of fit
    of the 4PL), not an uncertainty of the biology (DESIGN.md 2.8): the uncertainty band over the parameter ranges
    is ``ic50_fold_low``/``ic50_fold_high`` (:mod:`sim.analyses.uncertainty`). For a condition with a reference
    (an intervention on top of an EV exposure), ``fraction_reversed`` =
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
               "ic50_fold": math.nan, "ic50_fold_fit_se_low": math.nan, "ic50_fold_fit_se_high": math.nan,
               "gr50_uM": f.get("gr50", math.nan), "gr50_fold": math.nan, "reference": "",
               "fraction_reversed": math.nan, "alone": "", "fraction_reversed_specific": math.nan, "note": ""}
        if f["status"] == "ok" and ctrl["status"] == "ok":
            fold = f["ic50_abs"] / ctrl["ic50_abs"]
            se = math.hypot(f["ic50_abs_se"] / f["ic50_abs"], ctrl["ic50_abs_se"] / ctrl["ic50_abs"])
            row.update(ic50_fold=fold, ic50_fold_fit_se_low=fold * math.exp(-z * se) if math.isfinite(se) else math.nan,
                       ic50_fold_fit_se_high=fold * math.exp(z * se) if math.isfinite(se) else math.nan)
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


class DoseResponseAnalysis(Analysis):
    """Curves, fits and the shift table of every condition (see the module docstring)."""

    name = "dose_response"
    Settings = DoseResponseSettings
    options = {"uncertainty": UncertaintySettings}
    parallel_with = "uncertainty"  # the [uncertainty] sample runs its points in workers; the curves themselves not

    def check(self, spec) -> None:
        dr = spec.dose_response
        control_and_references("dose_response", dr.control, dr.references, [c.name for c in spec.conditions])
        no_condition_key(spec, "dose", "a dose-response runs the dose grid of [dose_response]; remove 'dose'.")
        preset = load_catalogue().scenario(spec.experiment.scenario)
        if preset.get("treatment") == "radiation" and not any(c.drug for c in spec.conditions):
            raise ValueError(f"scenario '{spec.experiment.scenario}' is a radiotherapy preset (treatment = "
                             f"'radiation'): its dose is in Gy and its readout clonogenic survival; use analysis = "
                             f"'clonogenic', or name a drug in the conditions.")
        if spec.uncertainty is not None:
            check_settings(spec.uncertainty)

    def run(self, spec, model, folder: Path, options: RunOptions) -> ExperimentResult:
        """Curves, fits, shift table and plots (``quick``: 6 doses)."""
        dr, quick = spec.dose_response, options.quick
        control, refs = default_references(spec.conditions, dr.control)  # names checked before any run
        refs.update(dr.references)
        added, alone = intervention_alone(spec.conditions)  # each intervention also without EVs (EV-specific)
        conditions = list(spec.conditions) + added
        drug = next((c.drug for c in spec.conditions if c.drug), None) or model.drug
        doses = dr.doses or dose_grid(drug, 6 if quick else dr.n_doses, dr.min_dose, dr.max_dose)
        if quick and dr.doses:
            doses = dr.doses[:: max(1, len(dr.doses) // 6)]
        with tqdm(total=len(conditions), desc="conditions", unit="cond", leave=False,
                  disable=options.quiet or not sys.stderr.isatty()) as bar:
            table = run_dose_response(model, conditions, doses=doses, assay_h=dr.assay_time_h,
                                      pretreatment_h=dr.pretreatment_h, species=dr.species,
                                      progress=lambda name: (bar.set_postfix_str(name[:30]), bar.update(1)))
        fits = fit_curves(table)
        shifts = shift_table(fits, control, refs, alone=alone)
        title = f"{spec.experiment.name}: {model.preset.get('title', model.name)}"
        extra, uncertainty = [], None
        if spec.uncertainty is not None:  # the parameter ranges' band around every curve and IC50 fold
            shifts, extra, uncertainty = run_uncertainty(spec, model, conditions, control, doses, shifts, table, drug,
                                                         folder, options)
        files = [write_table(table, folder / "dose_response.csv"), write_table(fits, folder / "fits.csv"),
                 write_table(shifts, folder / "shifts.csv"), *extra,
                 write_table(model.parameter_table(), folder / "parameters.csv"),
                 model.write_sbml(folder / "model.xml"),
                 write_figure(plot_dose_response(table, fits, drug, title), folder / "dose_response.png"),
                 write_figure(plot_shift_bars(shifts, control, title), folder / "ic50_shift.png")]
        curves = reversal_curves(conditions, shifts)
        if len(curves):
            files += [write_table(curves, folder / "reversal.csv"),
                      write_figure(plot_reversal(curves, title), folder / "reversal.png")]
        budget = {row["condition"]: budget_part(row) for _, row in shifts.iterrows()}
        notes = delivery_notes(model, conditions)
        files.append(write_metadata(folder, spec.model_dump(mode="json"), model, spec.experiment.seed,
                                    {"quick": quick, "doses_uM": [float(d) for d in doses], "control": control,
                                     "references": refs, "alone": alone, "added_conditions": [c.name for c in added],
                                     "delivery_budget": budget, "delivery_notes": notes,
                                     **({"uncertainty": uncertainty} if uncertainty else {})}))
        band = ["ic50_fold_low", "ic50_fold_high"] if uncertainty else []
        summary = shifts[["condition", "ic50_report", "ic50_fold", *band, "ic50_fold_fit_se_low",
                          "ic50_fold_fit_se_high", "gr50_fold", "fraction_reversed", "fraction_reversed_specific",
                          "status"]].copy()
        summary.attrs["footer"] = "\n".join(notes)
        return ExperimentResult(folder, files, table, summary)


ANALYSIS = DoseResponseAnalysis()
