"""Shared fixtures: one built model per scenario for the whole test session (building and compiling once)."""
import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def pdac_model():
    import sim

    return sim.build_model("pdac_gem")
