"""Engines: one wrapper per formalism behind one contract (:mod:`sim.engines.base`), chosen in one place.

=========  ==========================================  ==========================================
formalism  engine                                      model
=========  ==========================================  ==========================================
``ode``    :class:`sim.engines.ode.OdeEngine`          a :class:`sim.build.BuiltModel` (libRoadRunner)
``maboss`` :class:`sim.engines.maboss.MaBoSSEngine`    a :class:`sim.boolean.network.BooleanNetwork`
=========  ==========================================  ==========================================

:func:`engine_for` is how every layer above gets an engine. An engine that compiles its model (the ODE) is made once
per process for each model and set of settings and then reused, since compiling costs 7-50x a run (the
``MAX_COMPILED`` most recently used are kept); settings are part of what identifies it, so asking for tighter
tolerances gives another engine and never changes one in use. The
attractor analyses of logical models (biodivine-aeon) are functions of :mod:`sim.engines.boolean`, not simulations.
"""
from __future__ import annotations

from collections import OrderedDict

from sim.engines.base import Engine, Tolerances
from sim.engines.maboss import MaBoSSEngine
from sim.engines.ode import OdeEngine
from sim.errors import UnknownNameError

__all__ = ["Engine", "Tolerances", "FORMALISMS", "engine_for"]

FORMALISMS: dict[str, type[Engine]] = {"ode": OdeEngine, "maboss": MaBoSSEngine}
MAX_COMPILED = 16  # compiled models kept per process (least recently used first out); a scenario's is ~10 MB

_compiled: OrderedDict[tuple, Engine] = OrderedDict()


def engine_for(model, formalism: str = "ode", **settings) -> Engine:
    """The engine of ``model`` in ``formalism`` with ``settings``.

    Parameters
    ----------
    model : BuiltModel or BooleanNetwork
        What the formalism's engine takes (see the module table).
    formalism : {"ode", "maboss"}
    **settings
        The engine's own settings: ``tolerances`` (:class:`Tolerances`) for the ODE; ``samples`` and ``seed`` for
        MaBoSS. A setting left out or given as None takes the engine's default (``defaults``).

    Returns
    -------
    Engine
        For the ODE, the process's compiled engine of this model (keyed by its SBML hash) and these settings.
    """
    if formalism not in FORMALISMS:
        raise UnknownNameError("formalism", formalism, FORMALISMS, "sim.engines.engine_for")
    cls = FORMALISMS[formalism]
    for name in settings:
        if name not in cls.defaults:
            raise UnknownNameError(f"{formalism} engine setting", name, cls.defaults, "sim.engines.engine_for")
    settings = {**cls.defaults, **{k: v for k, v in settings.items() if v is not None}}  # None: the default
    if not cls.compiles:
        return cls(model, **settings)
    key = (formalism, model.model_hash, tuple(sorted(settings.items())))
    engine = _compiled.get(key)
    if engine is None:
        engine = _compiled[key] = cls(model, **settings)
        while len(_compiled) > MAX_COMPILED:
            _compiled.popitem(last=False)
    _compiled.move_to_end(key)
    return engine
