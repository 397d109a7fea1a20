"""Test functions with known answers, run through the sweep path by the tests (not part of the package).

They live at module level so that worker processes can unpickle them by name.
"""
import math


def ishigami(inputs: dict, a: float = 7.0, b: float = 0.1) -> dict:
    """The Ishigami function (Ishigami & Homma 1990), SALib's test problem for Sobol' indices."""
    x1, x2, x3 = inputs["x1"], inputs["x2"], inputs["x3"]
    return {"y": math.sin(x1) + a * math.sin(x2) ** 2 + b * x3 ** 4 * math.sin(x1)}



def loglogistic_objective(data, parameters, noise, ic50_control=1.0, hill=1.0, inert=()):
    """A calibration objective (:class:`sim.calibration.objective.DataObjective`) with a closed-form model: the
    relative viability of condition ``c`` is the log-logistic ``1 / (1 + (d / IC50_c)^hill)`` with IC50 =
    ``ic50_control`` for ``"control"`` and ``ic50_control`` times the product of the estimated parameters (on their
    own scale) for every other condition; a parameter named in ``inert`` enters nothing. So one parameter is the
    IC50 fold, two multiplied parameters are confounded (only their product is identifiable), an inert one is
    flat."""
    import numpy as np

    from sim.calibration.objective import DataObjective

    class _Closed(DataObjective):
        def viability(self, x, doses):
            theta = self.natural(x)
            fold = float(np.prod([v for k, v in theta.items() if k not in inert]))
            out = {}
            for name, grid in doses.items():
                ic50 = ic50_control * (1.0 if name == "control" else fold)
                out[name] = 1.0 / (1.0 + (np.asarray(grid, dtype=float) / ic50) ** hill)
            return out

    return _Closed(data, parameters, noise)
