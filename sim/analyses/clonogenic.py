"""The ``analysis = "clonogenic"`` experiment: radiation survival curves, their LQ fits and dose-modifying factors.

Every condition is irradiated at every dose per fraction (:mod:`sim.radiation`: after the steady-state and EV
pretreatment phases, each fraction adds its DNA breaks and the cell is followed until they are repaired or lethal),
the surviving fractions are fitted with the linear-quadratic model (:mod:`sim.lq`), and every condition is compared
with the no-EV control by its dose-modifying factor (DMF): the dose giving SF = 0.1 (and SF = 0.5) with the
condition over the dose without (> 1 = radioresistance). An intervention on top of an EV exposure is compared with
that exposure (``fraction_reversed`` of the log DMF) and, run without EVs too, for what it takes back specifically,
as in the dose-response analysis. The spec's table (all optional)::

    [clonogenic]
    doses_gy = [1, 2, 4, 6, 8]       # dose per fraction, Gy (0 is always added: SF = 1)
    fractions = 1                    # n x d Gy, one fraction every interval_h
    interval_h = 24
    follow_up_h = 72                 # after the last fraction: breaks repaired or lethal
    pretreatment_h = 48              # EVs and interventions before the first fraction
    control = "control"              # default: the first condition with no EVs and no intervention
    references = { "CAF-EV + X" = "CAF-EV" }

Writes clonogenic.csv (one row per condition and dose), fits.csv (alpha, beta with SEs, alpha_beta, sf2 per
condition), shifts.csv (dmf at SF 0.1 and 0.5, reversal), clonogenic.png, dmf.png, parameters.csv, model.xml and
metadata.json.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator
from tqdm import tqdm

from sim.analyses.base import Analysis, ExperimentResult, RunOptions, control_and_references
from sim.analyses.dose_response import MIN_SHIFT_TO_REVERSE, default_references, intervention_alone
from sim.budget import budget_part, delivery_notes
from sim.lq import LQFit, dose_at_sf, fit_lq
from sim.plots import plot_clonogenic, plot_dmf_bars
from sim.radiation import DEFAULT_DOSES_GY, FOLLOW_UP_H, drug_problem, run_clonogenic
from sim.results import write_figure, write_metadata, write_table

SF_LEVELS = (0.1, 0.5)  # survival levels of the DMF (issue #16: at SF = 0.1, and also at SF = 0.5)


class ClonogenicSettings(BaseModel):
    """The ``[clonogenic]`` table: the dose series, the fractionation and the references of the DMF table."""

    model_config = ConfigDict(extra="forbid")
    doses_gy: list[float] = Field(default_factory=lambda: list(DEFAULT_DOSES_GY), min_length=2)
    fractions: int = Field(default=1, ge=1, le=60)
    interval_h: float = Field(default=24.0, gt=0, allow_inf_nan=False)
    follow_up_h: float = Field(default=FOLLOW_UP_H, gt=0, allow_inf_nan=False)
    pretreatment_h: float = Field(default=48.0, ge=0, allow_inf_nan=False)
    control: str | None = None
    references: dict[str, str] = Field(default_factory=dict)

    @field_validator("doses_gy")
    @classmethod
    def _doses(cls, v: list[float]) -> list[float]:
        if any(not math.isfinite(d) or d < 0 for d in v):
            raise ValueError(f"every dose must be a finite number >= 0 Gy. Got {v}.")
        if len({d for d in v if d > 0}) < 2:
            raise ValueError(f"an LQ fit needs >= 2 distinct doses > 0 Gy. Got {v}.")
        return v


def lq_fits(table: pd.DataFrame) -> pd.DataFrame:
    """The LQ fit of every condition of a clonogenic table (:func:`sim.lq.fit_lq`), with its budget columns."""
    rows = []
    for name, sub in table.groupby("condition", sort=False):
        fit = fit_lq(sub["dose_gy"], sub["surviving_fraction"], fractions=int(sub["fractions"].iloc[0]))
        rows.append({"condition": name, **fit.as_row(), "fractions": int(sub["fractions"].iloc[0]),
                     **budget_part(sub.iloc[0])})
    return pd.DataFrame(rows)


def dmf_table(fits: pd.DataFrame, control: str, references: dict | None = None,
              alone: dict | None = None) -> pd.DataFrame:
    """Dose-modifying factor of every condition against the control, and the fraction of it an intervention reverses.

    ``dmf_sf0.1`` = D(SF = 0.1; condition)/D(SF = 0.1; control) from the LQ fits (total doses, same fractionation),
    likewise ``dmf_sf0.5``. For a condition with a reference (an intervention on top of an EV exposure),
    ``fraction_reversed`` = log(DMF_ref/DMF_cond)/log(DMF_ref) at SF = 0.1 (0 = none, 1 = back to control) and, with
    the same intervention without EVs (``alone``), ``fraction_reversed_specific`` = 1 - log(DMF_cond/DMF_alone)/
    log(DMF_ref), as :func:`sim.analyses.dose_response.shift_table` does for IC50s; blank below a reference shift
    of ``MIN_SHIFT_TO_REVERSE``.
    """
    table = fits.set_index("condition")
    ctrl = table.loc[control]
    n = int(ctrl["fractions"])

    def dose(row, sf):
        return dose_at_sf(LQFit.from_row(row), sf, fractions=n)

    doses = {name: {sf: dose(r, sf) for sf in SF_LEVELS} for name, r in table.iterrows()}
    rows = []
    for name, r in table.iterrows():
        row = {"condition": name, "alpha": r["alpha"], "beta": r["beta"], "sf2": r["sf2"],
               **{f"dose_sf{sf:g}_gy": doses[name][sf] for sf in SF_LEVELS},
               **{f"dmf_sf{sf:g}": doses[name][sf] / doses[control][sf] for sf in SF_LEVELS},
               "reference": "", "fraction_reversed": math.nan, "alone": "", "fraction_reversed_specific": math.nan,
               "status": r["lq_status"], "note": ""}
        ref = (references or {}).get(name)
        if ref:
            row["reference"] = ref
            shift = math.log(doses[ref][0.1] / doses[control][0.1])
            if abs(shift) >= math.log(MIN_SHIFT_TO_REVERSE):
                row["fraction_reversed"] = math.log(doses[ref][0.1] / doses[name][0.1]) / shift
                solo = (alone or {}).get(name)
                if solo:
                    row["alone"] = solo
                    row["fraction_reversed_specific"] = 1 - math.log(doses[name][0.1] / doses[solo][0.1]) / shift
            elif ref != control:
                row["note"] = (f"the DMF of '{ref}' ({math.exp(shift):.4g}) is below {MIN_SHIFT_TO_REVERSE:g}: too "
                               f"small to say what fraction is reversed")
        rows.append({**row, **budget_part(r)})
    return pd.DataFrame(rows)


class ClonogenicAnalysis(Analysis):
    """Radiation survival curves, LQ fits and DMFs of every condition (see the module docstring)."""

    name = "clonogenic"
    Settings = ClonogenicSettings

    def check(self, spec) -> None:
        settings = spec.clonogenic
        control_and_references("clonogenic", settings.control, settings.references,
                               [c.name for c in spec.conditions])
        problem = drug_problem(spec.conditions)
        if problem:
            raise ValueError(problem)

    def run(self, spec, model, folder: Path, options: RunOptions) -> ExperimentResult:
        """Survival curves, LQ fits, DMF table and plots (``quick``: 3 doses)."""
        settings = spec.clonogenic
        control, refs = default_references(spec.conditions, settings.control)
        refs.update(settings.references)
        added, alone = intervention_alone(spec.conditions)
        conditions = list(spec.conditions) + added
        doses = sorted({d for d in settings.doses_gy if d > 0})
        if options.quick:
            doses = doses[:: max(1, len(doses) // 3)]
        with tqdm(total=len(conditions), desc="conditions", unit="cond", leave=False,
                  disable=options.quiet or not sys.stderr.isatty()) as bar:
            table = run_clonogenic(model, conditions, doses, settings.fractions, settings.interval_h,
                                   settings.follow_up_h, settings.pretreatment_h,
                                   progress=lambda name: (bar.set_postfix_str(name[:30]), bar.update(1)))
        fits = lq_fits(table)
        shifts = dmf_table(fits, control, refs, alone)
        schedule = (f"{settings.fractions} x d Gy every {settings.interval_h:g} h" if settings.fractions > 1
                    else "single acute dose")
        title = f"{spec.experiment.name}: {model.preset.get('title', model.name)} ({schedule})"
        notes = delivery_notes(model, conditions)
        files = [write_table(table, folder / "clonogenic.csv"), write_table(fits, folder / "fits.csv"),
                 write_table(shifts, folder / "shifts.csv"),
                 write_table(model.parameter_table(), folder / "parameters.csv"),
                 model.write_sbml(folder / "model.xml"),
                 write_figure(plot_clonogenic(table, fits, title), folder / "clonogenic.png"),
                 write_figure(plot_dmf_bars(shifts, control, title), folder / "dmf.png"),
                 write_metadata(folder, spec.model_dump(mode="json"), model, spec.experiment.seed,
                                {"quick": options.quick, "doses_gy": doses, "control": control, "references": refs,
                                 "alone": alone, "added_conditions": [c.name for c in added],
                                 "delivery_notes": notes})]
        summary = shifts[["condition", "alpha", "beta", "sf2", "dmf_sf0.1", "dmf_sf0.5", "fraction_reversed",
                          "fraction_reversed_specific", "status"]].copy()
        summary.attrs["footer"] = "\n".join(notes)
        return ExperimentResult(folder, files, table, summary)


ANALYSIS = ClonogenicAnalysis()
