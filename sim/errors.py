"""The package's own exceptions, worded in one voice.

Every message names where the problem is (file, key or argument), what was expected and what was found, and for an
unknown name lists the valid ones and suggests the closest (the convention of xarray's error messages).
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["CafevError", "UnknownNameError", "InvalidValueError", "TableError", "ModelBuildError", "SpecError",
           "SimulationError", "closest"]


class CafevError(Exception):
    """Base class of every error raised on purpose by cafev."""


def closest(name: str, valid: Iterable[str]) -> str | None:
    """Return the valid name closest to ``name`` (case-insensitive), or None if nothing is close."""
    valid = list(valid)
    lowered = {v.lower(): v for v in valid}
    if name.lower() in lowered:
        return lowered[name.lower()]
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


class UnknownNameError(CafevError, KeyError):
    """A name (scenario, parameter, species, drug, intervention, gene, cargo...) that does not exist.

    Parameters
    ----------
    kind : str
        What sort of name it is, e.g. ``"intervention"``.
    name : str
        The name that was given.
    valid : iterable of str
        The valid names; listed (up to 40) and used to suggest the closest.
    where : str, optional
        The file, key or argument the name came from.
    """

    def __init__(self, kind: str, name: str, valid: Iterable[str], where: str | None = None):
        valid = sorted(set(valid))
        self.kind, self.name, self.valid, self.where = kind, name, valid, where
        suggestion = closest(name, valid)
        shown = ", ".join(valid[:40]) + (f", ... ({len(valid)} in all)" if len(valid) > 40 else "")
        msg = f"Unknown {kind} '{name}'"
        if where:
            msg += f" in {where}"
        msg += "."
        if suggestion:
            msg += f" Did you mean '{suggestion}'?"
        msg += f" Valid {kind} names: {shown}."
        self.message = msg
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.message


class InvalidValueError(CafevError, ValueError):
    """A value of the right kind but outside what is allowed (a negative dose, an inverted range...)."""


class TableError(CafevError):
    """A model table (models/tables/*.tsv) or preset file that is malformed; names the file and line."""


class ModelBuildError(CafevError):
    """The model could not be assembled or does not pass the SBML consistency check."""


class SpecError(CafevError):
    """An experiment spec (TOML) that does not validate; names the file and the key path."""

    @classmethod
    def invalid(cls, source: str, problems: Iterable[str]) -> "SpecError":
        """The error for a spec read from ``source``, one problem per line (each starting with its key path)."""
        return cls(f"{source}: the experiment spec is not valid:\n" + "\n".join(f"  {p}" for p in problems))


class SimulationError(CafevError):
    """A simulation that cannot be trusted; ``reason`` says why, in one word a summary can count:
    ``cvode_failure`` (convergence or error-test failures), ``step_limit`` (CVODE's maximum number of steps),
    ``non_finite`` (NaN/inf state), ``negative_state`` (a concentration below zero beyond the tolerance),
    ``no_steady_state`` or ``simulation_error``."""

    def __init__(self, message: str, reason: str = "simulation_error"):
        super().__init__(message)
        self.reason = reason


class Interrupted(CafevError):
    """A run stopped by the user (Ctrl-C); the message says what was kept and how to resume."""


class RuleSyntaxError(CafevError, ValueError):
    """A Boolean rule or network file that cannot be parsed (names the file, line and token)."""
