"""Calibration of model parameters to measured dose-response data (``analysis = "calibrate"``).

The problem (:mod:`sim.calibration.problem`: data matched to conditions, parameters with bounds and scales, the
Gaussian likelihood) is evaluated by running cafev's own assay protocol on one compiled engine
(:mod:`sim.calibration.objective`); pyPESTO does the multi-start optimisation and the profile likelihood
(:mod:`sim.calibration.estimate`); :mod:`sim.calibration.bands` propagates the profiles into prediction bands, and
:mod:`sim.calibration.petab` writes the problem as PEtab where the protocol maps onto it.
"""
