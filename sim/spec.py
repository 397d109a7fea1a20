"""Experiment specs: TOML files read with the standard library and validated with pydantic.

A spec names a scenario, its conditions and an analysis, and holds that analysis's table of settings::

    [experiment]
    name = "pdac_gem_timecourse"
    description = "..."
    scenario = "pdac_gem"
    analysis = "timecourse"
    seed = 0

    [timecourse]                          # the table named by `analysis`; every key optional
    end_time_h = 72
    points = 73

    [[conditions]]
    name = "control"
    ...                                   # fields of sim.conditions.Condition

The analyses, and so the tables, are those of :func:`sim.analyses.registry` (``timecourse``, ``dose_response``,
``boolean``, ``sweep``, ``screen``; each module documents its table). The spec is a discriminated union with one
model per analysis, chosen by ``analysis``: a table of another analysis is refused, naming it, before any work.

Errors name the file and the key path (e.g. ``conditions[2].dose``) with what was expected and what was found.
"""
from __future__ import annotations

import re
import reprlib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Optional, Union, get_args

from pydantic import (BaseModel, ConfigDict, Discriminator, Field, PrivateAttr, Tag, TypeAdapter, ValidationError,
                      create_model, field_validator, model_validator)

from sim.analyses import get_analysis, registry
from sim.catalogue import load_catalogue
from sim.conditions import Condition
from sim.errors import InvalidValueError, SpecError, UnknownNameError, closest
from sim.textfiles import read_toml


class ExperimentHeader(BaseModel):
    """The ``[experiment]`` table."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    scenario: str
    analysis: str
    seed: int = 0

    @field_validator("analysis", mode="before")
    @classmethod
    def _known_analysis(cls, v):
        if not isinstance(v, str):
            raise ValueError(f"must be the name of an analysis: {', '.join(registry())}.")
        try:
            get_analysis(v)
        except UnknownNameError as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("scenario")
    @classmethod
    def _known_scenario(cls, v: str) -> str:
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


class ExperimentSpec(BaseModel):
    """A whole experiment file: the header, the conditions and (in the model of each analysis, :func:`spec_model`)
    the analysis's table.

    This class is the part every analysis shares; a spec is an instance of the subclass of its analysis
    (``DoseResponseSpec``...). Read one with :func:`parse_spec` or :func:`load_spec`, or validate a dict with
    ``spec_model(name).model_validate``.
    """

    model_config = ConfigDict(extra="forbid")
    experiment: ExperimentHeader
    _source: str = PrivateAttr(default="<dict>")  # the file it was read from, for errors found at run time
    conditions: list[Condition] = Field(min_length=1)

    @property
    def settings(self) -> BaseModel:
        """The analysis's table (e.g. ``spec.settings`` is ``spec.dose_response`` in a dose-response spec)."""
        return getattr(self, self.experiment.analysis)

    @model_validator(mode="after")
    def _analysis_checks(self):
        if self.experiment.analysis in type(self).model_fields:  # the model of one analysis (not the bare header)
            get_analysis(self.experiment.analysis).check(self)
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


def _model_name(analysis: str) -> str:
    return "".join(part.title() for part in analysis.split("_")) + "Spec"


@lru_cache(maxsize=None)
def spec_model(analysis: str) -> type[ExperimentSpec]:
    """The spec model of one analysis: :class:`ExperimentSpec` with that analysis's table (all keys optional) and
    its optional tables (``Analysis.options``, absent = None), named ``<Analysis>Spec`` in this module (so a spec
    pickles, e.g. to a worker process)."""
    found = get_analysis(analysis)
    return create_model(_model_name(analysis), __base__=ExperimentSpec, __module__=__name__,
                        **{analysis: (found.Settings, Field(default_factory=found.Settings))},
                        **{name: (Optional[table], None) for name, table in found.options.items()})


def __getattr__(name: str):
    """``sim.spec.DoseResponseSpec`` and the like: the spec model of each analysis, made on first use."""
    for analysis in registry():
        if _model_name(analysis) == name:
            return spec_model(analysis)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _analysis_of(data) -> str | None:
    """The discriminator: the ``analysis`` a spec (dict or model) names, if it is one of the registry's."""
    if isinstance(data, ExperimentSpec):
        return data.experiment.analysis
    header = data.get("experiment") if isinstance(data, dict) else None
    name = header.get("analysis") if isinstance(header, dict) else None
    return name if isinstance(name, str) and name in registry() else None


@lru_cache(maxsize=1)
def _adapter() -> TypeAdapter:
    """The spec as a discriminated union of :func:`spec_model` over every analysis."""
    members = tuple(Annotated[spec_model(name), Tag(name)] for name in registry())
    return TypeAdapter(Annotated[Union[members], Discriminator(_analysis_of)])


def _model_in(annotation):
    """The pydantic model inside a field's annotation (``X``, ``X | None``, ``list[X]``), or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _known_keys(loc: tuple, tag: str | None) -> list[str]:
    """The keys allowed where ``loc`` (a key path) ends: the fields of the model the path leads to."""
    model = spec_model(tag) if tag else ExperimentSpec
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model is not None else None
        model = _model_in(field.annotation) if field is not None else None
    return list(model.model_fields) if model is not None else []


def _problems(exc: ValidationError, tag: str | None) -> list[str]:
    """One line per error of ``exc``: the key path, what is wrong and what was found."""
    flat = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        if tag is not None and loc[:1] == (tag,):  # the union member's tag, not a key of the file
            loc = loc[1:]
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
        close = closest(str(loc[-1]), _known_keys(loc, tag)) if kind == "extra_forbidden" and loc else None
        hint = f"; did you mean '{close}'?" if close else ""
        lines.append(f"{path}: {msg}{shown}{hint}" if path else f"{msg}{shown}")
    return lines


def parse_spec(data: dict, source: str = "<dict>") -> ExperimentSpec:
    """Validate a spec given as a dict; ``source`` names it in errors.

    The spec's model is the one of its ``analysis``; a table of another analysis is an error naming it, as is an
    unknown analysis (with the closest name).
    """
    if not isinstance(data, dict):
        raise SpecError.invalid(source, [f"a spec is a table of tables. Got {type(data).__name__}."])
    analysis = _analysis_of(data)
    tables = registry()
    stray = [name for name in tables if name in data and name != analysis] if analysis else []
    problems = [f"{name}: is the table of analysis '{name}', but this experiment's analysis is "
                f"'{analysis}'; remove [{name}] (or set analysis = '{name}')." for name in stray]
    data = {k: v for k, v in data.items() if k not in stray}
    spec = None
    try:
        if analysis is None:  # no or an unknown analysis: the header's own errors say which, and its close names
            for name in (n for n in tables if n in data):  # and each table present is checked on its own
                try:
                    tables[name].Settings.model_validate(data[name])
                except ValidationError as exc:
                    problems += [f"{name}.{line}" if not line.startswith(" ") else line
                                 for line in _problems(exc, None)]
            ExperimentSpec.model_validate({k: v for k, v in data.items() if k not in tables})
        else:
            spec = _adapter().validate_python(data)
    except ValidationError as exc:
        problems += _problems(exc, analysis)
    if problems or spec is None:
        raise SpecError.invalid(source, problems or ["experiment.analysis: is required but missing"])
    spec._source = source
    return spec


def check_conditions(spec: ExperimentSpec, model) -> None:
    """Every condition's names (interventions, drug, genes, parameters) and values against the built model, before
    any run; a bad one is a SpecError naming the file and ``conditions[i]``."""
    for i, cond in enumerate(spec.conditions):
        try:
            cond.values(model)
        except (UnknownNameError, InvalidValueError) as exc:
            raise SpecError.invalid(spec._source, [f"conditions[{i}] ('{cond.name}'): {exc}"]) from None


def _experiments_dir() -> Path:
    """The shipped experiments: the checkout's ``experiments/`` beside ``sim/`` (a source tree or an editable
    install), else the copy installed with the package (``sim/_experiments`` of a wheel)."""
    package = Path(__file__).resolve().parent
    checkout = package.parent / "experiments"
    return checkout if checkout.is_dir() else package / "_experiments"


def shipped_experiments() -> dict[str, Path]:
    """The experiments that come with cafev, by name (the file stem): what ``cafev run NAME`` runs."""
    return {p.stem: p for p in sorted(_experiments_dir().glob("*.toml"))}


def find_spec(name: str | Path) -> Path:
    """An experiment spec by path, or by the name of a shipped experiment (``gw4869_reversal`` or
    ``gw4869_reversal.toml``); a path that exists wins.

    Raises
    ------
    SpecError
        Neither a file nor a shipped experiment; names the closest shipped one.
    """
    path = Path(name)
    if path.is_file() or len(path.parts) > 1:  # a path is read as given (a missing one says so)
        return path
    shipped = shipped_experiments()
    stem = path.name.removesuffix(".toml")
    if stem in shipped:
        return shipped[stem]
    close = closest(stem, shipped)
    hint = f" Did you mean '{close}'?" if close else ""
    raise SpecError(f"Experiment spec '{name}' is neither a file nor a shipped experiment.{hint} Shipped: "
                    f"{', '.join(shipped) or 'none'} (cafev list experiments).")


def load_spec(path: str | Path) -> ExperimentSpec:
    """Read and validate a TOML experiment spec, given by path or as the name of a shipped experiment.

    Raises
    ------
    SpecError
        Missing file, invalid TOML, or a key that does not validate.
    """
    path = find_spec(path)
    return parse_spec(read_toml(path, SpecError, "Experiment spec"), str(path))
