"""Analyses: each kind of experiment is one module here that defines ``ANALYSIS`` (:mod:`sim.analyses.base`).

:func:`registry` finds them, so adding an analysis touches its own module, an experiment and its tests. Modules
without ``ANALYSIS`` (e.g. :mod:`sim.analyses.compare`) are analyses used by commands rather than by specs.
"""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from sim.analyses.base import Analysis
from sim.errors import UnknownNameError

__all__ = ["registry", "get_analysis"]


@lru_cache(maxsize=1)
def registry() -> dict[str, Analysis]:
    """Every analysis of this package, by name (in module order)."""
    found: dict[str, Analysis] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        analysis = getattr(module, "ANALYSIS", None)
        if isinstance(analysis, Analysis):
            if analysis.name in found:
                raise RuntimeError(f"Two analyses are named '{analysis.name}' ({module.__name__} and another).")
            found[analysis.name] = analysis
    return found


def get_analysis(name: str) -> Analysis:
    """The analysis called ``name``; UnknownNameError with a did-you-mean otherwise."""
    analyses = registry()
    if name not in analyses:
        raise UnknownNameError("analysis", name, analyses)
    return analyses[name]
