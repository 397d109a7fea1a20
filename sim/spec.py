"""Experiment specs: TOML files read with the standard library and validated with pydantic.

A spec names a scenario, its conditions and an analysis::

    [experiment]
    name = "pdac_gem_timecourse"
    description = "..."
    scenario = "pdac_gem"
    analysis = "timecourse"
    seed = 0

    [timecourse]
    end_time_h = 72
    points = 73
    readouts = ["PTEN", "pAKT"]          # optional

    [[conditions]]
    name = "control"
    ...                                   # fields of sim.conditions.Condition

or, for ``analysis = "boolean"`` (the logical model, models/boolean/cafev.bnet), a ``[boolean]`` table with
``assay_time_h``, ``dose`` (default: the drug's reference IC50), ``samples`` (MaBoSS trajectories) and ``knockouts``
(rows of the knockout x condition table); or, for ``analysis = "dose_response"``, a ``[dose_response]`` table
(all optional)::

    [dose_response]
    n_doses = 12                          # log-spaced grid around the drug's reference IC50 (or min_dose/max_dose,
    doses = [0.001, 0.01, 0.1, 1]         #  or explicit doses in uM)
    assay_time_h = 72                     # drug exposure
    pretreatment_h = 48                   # EVs and interventions before the drug
    control = "control"                   # default: the first condition with no EVs and no intervention
    references = { "CAF-EV + X" = "CAF-EV" }   # default: the plain condition with the same EV exposure

For ``analysis = "screen"`` (in-silico perturbation screens, :mod:`sim.analyses.screen`), a ``[screen]`` table::

    [screen]
    genes = ["PTEN", "AKT1", "STAT3"]      # default: every gene node of `cell` ("cancer", "CAF" or "all")
    pairwise = true                        # every pair of genes too
    perturbations = [{ kind = "knockout" }, { kind = "knockdown", level = 0.2 }]
    condition = "CAF-EV"                   # the EV condition whose IC50 shift the perturbations should reverse
    reference = "control"                  # the no-EV condition
    dose = 0.05                            # uM, for viability at a dose (default: the drug's reference IC50)

Errors name the file and the key path (e.g. ``conditions[2].dose``) with what was expected and what was found.
"""
from __future__ import annotations

import difflib
import re
import reprlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from sim.textfiles import read_toml
from sim.conditions import Condition
from sim.errors import SpecError
from sim.spec_settings import (BooleanSettings, DoseResponseSettings, ScreenSettings, SweepSettings,
                                TimecourseSettings)


class ExperimentHeader(BaseModel):
    """The ``[experiment]`` table."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    scenario: str
    analysis: Literal["timecourse", "dose_response", "boolean", "sweep", "screen"]
    seed: int = 0

    @field_validator("scenario")
    @classmethod
    def _known_scenario(cls, v: str) -> str:
        from sim.catalogue import load_catalogue
        from sim.errors import UnknownNameError

        try:
            load_catalogue().scenario(v)
        except UnknownNameError as exc:
            raise ValueError(f"{exc} The presets are in models/scenarios.toml.") from None
        return v

    @field_validator("name")
    @classmethod
    def _folder_name(cls, v: str) -> str:
        # the name is the results folder (results/<name>): no path separators and no leading dot, so that '..' or
        # '/tmp/x' cannot write outside results/
        if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,119}", v):
            raise ValueError("must be a folder name under results/: 1-120 letters, digits, '_', '-' or '.', not "
                             "starting with '.' and without '/'")
        return v


def _known_condition(label: str, name: str, names: list[str]) -> None:
    """ValueError (with a did-you-mean) unless ``name`` is one of the spec's condition names."""
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"{label} names condition '{name}', which is not among the conditions "
                         f"({', '.join(names)}).{hint}")


def _condition_pair(table: str, condition: str | None, reference: str | None, names: list[str],
                    reference_required: bool, why: str) -> None:
    """``<table>.condition`` (required) and ``<table>.reference`` (required when ``reference_required``) name
    conditions of the spec and differ from each other; ValueError otherwise."""
    for label, name, required in ((f"{table}.condition", condition, True),
                                  (f"{table}.reference", reference, reference_required)):
        if name is None and required:
            raise ValueError(f"{label} is required: the name of one of the conditions ({', '.join(names)})")
        if name is not None:
            _known_condition(label, name, names)
    if reference is not None and reference == condition:
        raise ValueError(f"{table}.condition and {table}.reference must differ: {why}")


class ExperimentSpec(BaseModel):
    """A whole experiment file."""

    model_config = ConfigDict(extra="forbid")
    experiment: ExperimentHeader
    timecourse: TimecourseSettings = Field(default_factory=TimecourseSettings)
    dose_response: DoseResponseSettings = Field(default_factory=DoseResponseSettings)
    boolean: BooleanSettings = Field(default_factory=BooleanSettings)
    sweep: SweepSettings = Field(default_factory=SweepSettings)
    screen: ScreenSettings = Field(default_factory=ScreenSettings)
    _source: str = PrivateAttr(default="<dict>")  # the file it was read from, for errors found at run time
    conditions: list[Condition] = Field(min_length=1)

    @model_validator(mode="after")
    def _sweep_names(self):
        if self.experiment.analysis != "sweep":
            return self
        names = [c.name for c in self.conditions]
        sw = self.sweep
        if not sw.factors:
            raise ValueError("sweep.factors: a sweep needs at least one factor")
        factor_names = [f.name for f in sw.factors]
        if len(set(factor_names)) != len(factor_names):
            raise ValueError(f"sweep.factors: names must be unique. Got {', '.join(factor_names)}")
        _condition_pair("sweep", sw.condition, sw.reference, names, sw.readout.endswith("_fold"),
                        "the fold is one against the other")
        if sw.readout == "species" and sw.statistic == "at":
            if sw.time_h is None:
                raise ValueError("sweep.time_h is required with statistic = 'at': the hour after the drug at which "
                                 "the species is read")
            if sw.time_h > sw.assay_time_h:
                raise ValueError(f"sweep.time_h ({sw.time_h:g} h) is after the end of the assay "
                                 f"(assay_time_h = {sw.assay_time_h:g} h)")
        return self

    @model_validator(mode="after")
    def _screen_names(self):
        if self.experiment.analysis != "screen":
            return self
        names = [c.name for c in self.conditions]
        _condition_pair("screen", self.screen.condition, self.screen.reference, names, True,
                        "the screen ranks how much of the shift between them each perturbation reverses")
        for c in self.conditions:
            if c.dose:
                raise ValueError(f"condition '{c.name}' sets dose = {c.dose:g}, but a screen runs a dose-response "
                                 f"(and screen.dose for viability); remove 'dose'.")
            if c.assay_time_h is not None:
                raise ValueError(f"condition '{c.name}' sets assay_time_h, but a screen compares every condition "
                                 f"over one assay; set screen.assay_time_h instead.")
        by_name = {c.name: c for c in self.conditions}
        drugs = {by_name[n].drug for n in (self.screen.condition, self.screen.reference)}
        if len(drugs) > 1:
            raise ValueError(f"screen.condition and screen.reference must use the same drug (the shift is between "
                             f"them). Got {', '.join(sorted(str(d or 'the preset drug') for d in drugs))}.")
        kinds = [(p.kind, p.level) for p in self.screen.perturbations]
        dupes = sorted({f"{k}{'' if lv is None else f' {lv:g}'}" for k, lv in kinds if kinds.count((k, lv)) > 1})
        if dupes:
            raise ValueError(f"screen.perturbations must be unique; repeated: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _dose_response_names(self):
        if self.experiment.analysis != "dose_response":
            return self
        names = [c.name for c in self.conditions]
        dr = self.dose_response
        for label, name in [("dose_response.control", dr.control)] + [
                (f"dose_response.references['{k}']", n) for k, n in dr.references.items()] + [
                ("dose_response.references key", k) for k in dr.references]:
            if name is not None:
                _known_condition(label, name, names)
        for c in self.conditions:
            if c.dose:
                raise ValueError(f"condition '{c.name}' sets dose = {c.dose:g}, but a dose-response runs the dose "
                                 f"grid of [dose_response]; remove 'dose'.")
        return self

    @field_validator("conditions", mode="before")
    @classmethod
    def _string_keys(cls, v):
        # a Condition is built through its own __init__(**data), where a key that is not a string is a TypeError
        for i, c in enumerate(v if isinstance(v, list) else []):
            bad = [k for k in c if not isinstance(k, str)] if isinstance(c, dict) else []
            if bad:
                raise ValueError(f"Keys should be strings. Got {_shown(bad[0])} in conditions[{i}].")
        return v

    @field_validator("conditions")
    @classmethod
    def _unique_names(cls, v: list[Condition]) -> list[Condition]:
        names = [c.name for c in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"condition names must be unique; repeated: {', '.join(dupes)}")
        return v


_SHORT = reprlib.Repr()


def _shown(value) -> str:
    """repr() of a value found in a spec; a shortened one where repr() would recurse too deeply (nested lists)."""
    try:
        return repr(value)
    except RecursionError:
        return _SHORT.repr(value)


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_spec(data: dict, source: str = "<dict>") -> ExperimentSpec:
    """Validate a spec given as a dict; ``source`` names it in errors."""
    try:
        spec = ExperimentSpec.model_validate(data)
        spec._source = source
        return spec
    except ValidationError as exc:
        flat = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
            inner = getattr(err.get("ctx", {}).get("error"), "details", None)  # a Condition's own errors
            if inner:
                flat += [(loc + sub_loc, kind, msg, found) for sub_loc, kind, msg, found in inner]
            else:
                flat.append((loc, err["type"], err["msg"].removeprefix("Value error, "), err.get("input")))
        lines = []
        for loc, kind, msg, found in flat:
            if kind == "extra_forbidden":
                msg = "is not a known key"
            elif kind == "missing":
                msg = "is required but missing"
            hide = kind == "missing" or isinstance(found, dict) or msg.endswith(".")
            shown = "" if hide else f" (found {_shown(found)})"
            path = _key_path(loc)  # empty for a check across keys, whose message names its keys itself
            lines.append(f"  {path}: {msg}{shown}" if path else f"  {msg}{shown}")
        raise SpecError(f"{source}: the experiment spec is not valid:\n" + "\n".join(lines)) from None


def check_conditions(spec: ExperimentSpec, model) -> None:
    """Every condition's names (interventions, drug, genes, parameters) and values against the built model, before
    any run; a bad one is a SpecError naming the file and ``conditions[i]``."""
    from sim.errors import InvalidValueError, UnknownNameError

    for i, cond in enumerate(spec.conditions):
        try:
            cond.values(model)
        except (UnknownNameError, InvalidValueError) as exc:
            raise SpecError(f"{spec._source}: the experiment spec is not valid:\n  conditions[{i}] "
                            f"('{cond.name}'): {exc}") from None


def load_spec(path: str | Path) -> ExperimentSpec:
    """Read and validate a TOML experiment spec.

    Raises
    ------
    SpecError
        Missing file, invalid TOML, or a key that does not validate.
    """
    return parse_spec(read_toml(path, SpecError, "Experiment spec"), str(path))
