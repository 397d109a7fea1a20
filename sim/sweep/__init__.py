"""Parameter sweeps: designs (grid, Latin hypercube, Sobol', Saltelli, Morris) and their SALib indices
(:mod:`sim.sweep.design`), picklable evaluators from factor values to readouts (:mod:`sim.sweep.evaluate`), failed
points as data with an optional retry (:mod:`sim.sweep.faults`), and a resumable parallel runner, local or on a Dask
scheduler (:mod:`sim.sweep.runner`). The ``sweep`` analysis of an experiment spec (:mod:`sim.analyses.sweep`) puts
them together.
"""
