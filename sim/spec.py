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

Errors name the file and the key path (e.g. ``conditions[2].dose``) with what was expected and what was found.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sim.catalogue import read_toml
from sim.conditions import Condition
from sim.errors import SpecError


class ExperimentHeader(BaseModel):
    """The ``[experiment]`` table."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    scenario: str
    analysis: Literal["timecourse"]
    seed: int = 0


class TimecourseSettings(BaseModel):
    """The ``[timecourse]`` table."""

    model_config = ConfigDict(extra="forbid")
    end_time_h: float = 72.0
    points: int = Field(default=73, ge=2, le=100000)
    readouts: list[str] | None = None

    @field_validator("end_time_h")
    @classmethod
    def _positive(cls, v: float) -> float:
        if not math.isfinite(v) or v <= 0:
            raise ValueError(f"must be a finite number of hours > 0. Got {v:g}.")
        return v


class ExperimentSpec(BaseModel):
    """A whole experiment file."""

    model_config = ConfigDict(extra="forbid")
    experiment: ExperimentHeader
    timecourse: TimecourseSettings = Field(default_factory=TimecourseSettings)
    conditions: list[Condition] = Field(min_length=1)

    @field_validator("conditions")
    @classmethod
    def _unique_names(cls, v: list[Condition]) -> list[Condition]:
        names = [c.name for c in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"condition names must be unique; repeated: {', '.join(dupes)}")
        return v


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_spec(data: dict, source: str = "<dict>") -> ExperimentSpec:
    """Validate a spec given as a dict; ``source`` names it in errors."""
    try:
        return ExperimentSpec.model_validate(data)
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
            shown = "" if kind == "missing" or isinstance(found, dict) or msg.endswith(".") else f" (found {found!r})"
            lines.append(f"  {_key_path(loc)}: {msg}{shown}")
        raise SpecError(f"{source}: the experiment spec is not valid:\n" + "\n".join(lines)) from None


def load_spec(path: str | Path) -> ExperimentSpec:
    """Read and validate a TOML experiment spec.

    Raises
    ------
    SpecError
        Missing file, invalid TOML, or a key that does not validate.
    """
    return parse_spec(read_toml(path, SpecError, "Experiment spec"), str(path))
