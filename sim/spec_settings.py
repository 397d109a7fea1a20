"""The analysis tables of an experiment spec (``[timecourse]``, ``[dose_response]``, ``[boolean]``, ``[sweep]``,
``[screen]``): each a pydantic model that checks its own keys, types and ranges. Checks across tables (condition
names, units against the model) live in :mod:`sim.spec`.
"""
from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class TimecourseSettings(BaseModel):
    """The ``[timecourse]`` table."""

    model_config = ConfigDict(extra="forbid")
    end_time_h: float = 72.0
    points: int = Field(default=73, ge=2, le=100000)
    readouts: list[str] | None = None
    pretreatment_h: float = Field(default=0.0, ge=0, allow_inf_nan=False)

    @field_validator("end_time_h")
    @classmethod
    def _positive(cls, v: float) -> float:
        if not math.isfinite(v) or v <= 0:
            raise ValueError(f"must be a finite number of hours > 0. Got {v:g}.")
        return v


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


class BooleanSettings(BaseModel):
    """The ``[boolean]`` table: MaBoSS settings and the knockouts of the knockout x condition table."""

    model_config = ConfigDict(extra="forbid")
    assay_time_h: float = Field(default=72.0, gt=0, allow_inf_nan=False)
    dose: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    samples: int = Field(default=4000, ge=100, le=1_000_000)
    knockouts: list[str] = Field(default_factory=list)

    @field_validator("knockouts")
    @classmethod
    def _unique_knockouts(cls, v: list[str]) -> list[str]:
        dupes = sorted({k for k in v if v.count(k) > 1})
        if dupes:
            raise ValueError(f"knockouts must be unique; repeated: {', '.join(dupes)}")
        return v


class SweepFactor(BaseModel):
    """One ``[[sweep.factors]]`` entry: a model parameter, ``caf_ratio``/``ev_dose_ug`` or an intervention id."""

    model_config = ConfigDict(extra="forbid")
    name: str
    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)
    scale: Literal["lin", "log"] = "lin"
    points: int = Field(default=5, ge=2, le=1000)
    unit: str | None = None  # if given, checked against the parameter/intervention table before any run

    @model_validator(mode="after")
    def _range(self):
        if self.low >= self.high:
            raise ValueError(f"the range must have low < high. Got {self.low:g} to {self.high:g}.")
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"a log range must be > 0. Got low = {self.low:g}.")
        return self


class SweepSettings(BaseModel):
    """The ``[sweep]`` table: the design, the factors, and which conditions the IC50 shift compares."""

    model_config = ConfigDict(extra="forbid")
    design: Literal["grid", "lhs", "sobol", "saltelli", "morris"] = "grid"
    n: int = Field(default=64, ge=2, le=1_000_000)
    factors: list[SweepFactor] = Field(default_factory=list)
    condition: str | None = None
    reference: str | None = None
    readout: Literal["ic50_fold", "ic50_uM", "gr50_fold", "gr50_uM", "auc", "auc_fold", "viability",
                     "species"] = "ic50_fold"
    species: str = "PTEN"
    statistic: Literal["end", "max", "at"] = "end"
    time_h: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    dose: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    assay_time_h: float = Field(default=72.0, gt=0, allow_inf_nan=False)
    n_doses: int = Field(default=8, ge=4, le=50)
    pretreatment_h: float = Field(default=48.0, ge=0, allow_inf_nan=False)
    chunk_size: int = Field(default=8, ge=1, le=100_000)
    retry: bool = False  # run a point whose simulation failed once more with 100x tighter tolerances


class ScreenPerturbation(BaseModel):
    """One ``[[screen.perturbations]]`` entry: applied to every screened gene."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["knockout", "knockdown", "overexpression"] = "knockout"
    level: float | None = Field(default=None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _level(self):
        from sim.errors import InvalidValueError
        from sim.screen.perturbations import KINDS, Perturbation

        try:
            Perturbation("GENE", KINDS[self.kind], self.level)
        except InvalidValueError as exc:
            raise ValueError(str(exc).replace("Perturbation of 'GENE'", "").replace("'GENE:", "'")) from None
        return self


class ScreenSettings(BaseModel):
    """The ``[screen]`` table: which genes, which perturbations, single or pairwise, and the readouts."""

    model_config = ConfigDict(extra="forbid")
    genes: list[str] = Field(default_factory=list)
    cell: Literal["cancer", "CAF", "all"] = "cancer"
    pairwise: bool = False
    perturbations: list[ScreenPerturbation] = Field(default_factory=lambda: [ScreenPerturbation()], min_length=1)
    condition: str | None = None
    reference: str | None = None
    dose: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    n_doses: int = Field(default=8, ge=4, le=50)
    assay_time_h: float = Field(default=72.0, gt=0, allow_inf_nan=False)
    pretreatment_h: float = Field(default=48.0, ge=0, allow_inf_nan=False)
    toxicity_threshold: float = Field(default=0.5, gt=0, lt=1)
    boolean: bool = True
    boolean_samples: int = Field(default=2000, ge=100, le=1_000_000)
    top: int = Field(default=15, ge=1, le=500)
    chunk_size: int = Field(default=4, ge=1, le=100_000)
    retry: bool = False  # run a point whose simulation failed once more with 100x tighter tolerances

    @field_validator("genes")
    @classmethod
    def _known_genes(cls, v: list[str]) -> list[str]:
        from sim.errors import UnknownNameError
        from sim.screen.perturbations import resolve_genes

        try:
            genes = resolve_genes(v, "models/tables/genes.tsv")
        except UnknownNameError as exc:
            raise ValueError(str(exc)) from None
        dupes = sorted({g for g in genes if genes.count(g) > 1})
        if dupes:
            raise ValueError(f"genes must be unique; repeated: {', '.join(dupes)}")
        return genes
