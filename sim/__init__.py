"""cafev — mechanistic simulator of therapy resistance mediated by CAF-derived extracellular vesicles.

The data flows one way: ``models/`` (Antimony modules and tables) -> :mod:`sim.build` (a model for a scenario) ->
:mod:`sim.engines` (``engine_for``: one compiled libRoadRunner instance per model, conditions set as values; MaBoSS
for the logical model) -> :mod:`sim.analyses` (one module per analysis; labelled tables) -> :mod:`sim.results`
(files with provenance under ``results/``).

Quick use::

    import sim
    model = sim.build_model("pdac_gem")
    table = sim.simulate(model, [sim.Condition(name="CAF-EV", ev_mode="coculture")], end_time=72)
"""
from sim.errors import CafevError
from sim.catalogue import load_catalogue
from sim.conditions import Condition
from sim.build import build_model, BuiltModel
from sim.engines import engine_for
from sim.engines.ode import OdeEngine
from sim.analyses.timecourse import simulate, plot_timecourse

__version__ = "0.1.0"
__all__ = ["CafevError", "load_catalogue", "Condition", "build_model", "BuiltModel", "engine_for", "OdeEngine",
           "simulate", "plot_timecourse", "__version__"]
