"""SBML checks with libsbml: the consistency check a model must pass before export.

Unit-consistency checking is switched off because the model states its units in its tables and module headers
rather than as SBML unit definitions; every other libsbml consistency category is checked.
"""
from __future__ import annotations


def check_sbml(sbml: str, units: bool = False) -> list[str]:
    """Return the messages of libsbml's consistency check with severity error or fatal (empty when valid); unit
    consistency only with ``units`` (the ODE model states its units in its tables, not as SBML unit definitions; an
    SBML-qual model is checked in full)."""
    import libsbml

    doc = libsbml.readSBMLFromString(sbml)
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, units)
    doc.checkConsistency()
    out = []
    for i in range(doc.getNumErrors()):
        err = doc.getError(i)
        if err.getSeverity() >= libsbml.LIBSBML_SEV_ERROR:
            out.append(f"line {err.getLine()}: {err.getMessage().strip()}")
    return out


def sbml_level_version(sbml: str) -> tuple[int, int]:
    """Return (level, version) of an SBML document."""
    import libsbml

    doc = libsbml.readSBMLFromString(sbml)
    return doc.getLevel(), doc.getVersion()
