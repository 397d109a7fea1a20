"""Engines: one wrapper per formalism (ODE: libRoadRunner)."""
