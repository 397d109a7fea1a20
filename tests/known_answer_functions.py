"""Test functions with known answers, run through the sweep path by the tests (not part of the package).

They live at module level so that worker processes can unpickle them by name.
"""
import math


def ishigami(inputs: dict, a: float = 7.0, b: float = 0.1) -> dict:
    """The Ishigami function (Ishigami & Homma 1990), SALib's test problem for Sobol' indices."""
    x1, x2, x3 = inputs["x1"], inputs["x2"], inputs["x3"]
    return {"y": math.sin(x1) + a * math.sin(x2) ** 2 + b * x3 ** 4 * math.sin(x1)}
