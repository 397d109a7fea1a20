"""Parameter sweeps: designs (grid, Latin hypercube, Sobol', Saltelli, Morris) and a resumable parallel runner.

Work in progress for issue #5: the spec section, the command line, the plots, Dask and the benchmark are not here
yet (see the issue's closing note).
"""
