"""COMBINE archive export (issue #17, item 1): the archive is valid SED-ML and runs in tellurium without cafev.

Known answer: cafev's own time course of the same experiment. Executed by tellurium (``te.executeCombineArchive``:
its SED-ML interpreter and libroadrunner, no cafev code), the archive's reports must equal cafev's time course to
1e-6 relative (of each readout's largest value, so that readouts at 0 compare too), both phases, every readout.
Both sides run at rtol 1e-10: at cafev's default rtol 1e-6 each side carries its own solver error (measured 7e-7 on
N_cancer between the two, against 1.1e-6 from the rtol 1e-10 answer), and the test is of the archive, not of CVODE.
The conditions cover what the archive must carry: parameters of an intervention and a knockdown, EVs in
co-culture, and repeated dosing (SBML events: EVs added every 24 h across the drug addition, a drug with a 12-h
half-life replenished every 24 h).
"""

import numpy as np
import pytest

from sim.analyses.timecourse import simulate
from sim.cli import main
from sim.engines import engine_for
from sim.engines.base import Tolerances
from sim.errors import InvalidValueError, SpecError
from sim.omex import export_omex
from sim.spec import load_spec

TIGHT = Tolerances(rtol=1e-10, atol=1e-12, max_steps=1_000_000)
READOUTS = ["N_cancer", "PTEN", "pAKT", "EV_med", "drug_medium", "miR_21_delivered"]
SPEC = f"""
[experiment]
name = "omex_check"
description = "archive test"
scenario = "pdac_gem"
analysis = "timecourse"

[timecourse]
end_time_h = 72
points = 13
pretreatment_h = 48
readouts = {READOUTS!r}

[[conditions]]
name = "co-culture + GW4869 + PTEN KD"
dose = 0.05
ev_mode = "coculture"
caf_ratio = 2.0
delivery = "enriched"
interventions = {{ GW4869 = 5 }}
knockdowns = {{ PTEN = 0.5 }}

[[conditions]]
name = "EVs every 24 h, drug t1/2 12 h every 24 h"
dose = 0.05
ev_mode = "addition"
delivery = "enriched"
ev_every_h = 24
drug_half_life_h = 12
drug_every_h = 24
"""


NO_PRETREATMENT = """
[experiment]
name = "omex_no_pretreatment"
scenario = "pdac_gem"
analysis = "timecourse"

[timecourse]
end_time_h = 72
points = 7
readouts = ["N_cancer", "drug_medium", "EV_med"]

[[conditions]]
name = "EV addition, 24-h assay"
dose = 0.1
ev_mode = "addition"
assay_time_h = 24
"""


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("omex")
    spec = folder / "omex_check.toml"
    spec.write_text(SPEC)
    out = folder / "omex_check.omex"
    assert main(["export-omex", str(spec), "-o", str(out), "--rtol", "1e-10"]) == 0
    return spec, out


def test_the_archive_holds_a_valid_sedml_and_its_models(archive):
    import libcombine
    import libsedml

    _, out = archive
    combine = libcombine.CombineArchive()
    assert combine.initializeFromArchive(str(out))
    entries = {combine.getEntry(i).getLocation(): combine.getEntry(i).getFormat() for i in range(combine.getNumEntries())}
    assert entries["simulation.sedml"] == "http://identifiers.org/combine.specifications/sed-ml"
    assert combine.getMasterFile().getLocation() == "simulation.sedml"
    assert {"model.xml", "start/c0_pre.xml", "start/c0.xml", "start/c1_pre.xml", "start/c1.xml"} <= set(entries)
    description = combine.extractEntryToString("metadata.rdf")
    assert "steady" in description and "re-seeded" in description  # what SED-ML cannot express is named
    assert "start/c1_pre.xml (task_c1_pre, -48 h to 0) then start/c1.xml (task_c1, 0 to 72 h)" in description
    doc = libsedml.readSedMLFromString(combine.extractEntryToString("simulation.sedml"))
    assert doc.getLevel() == 1 and doc.getVersion() == 4
    assert doc.getNumErrors(libsedml.LIBSEDML_SEV_ERROR) == 0
    algorithm = doc.getSimulation("sim_c0").getAlgorithm()
    assert algorithm.getKisaoID() == "KISAO:0000019"
    assert {p.getKisaoID(): float(p.getValue()) for p in algorithm.getListOfAlgorithmParameters()}["KISAO:0000209"] \
        == 1e-10
    combine.cleanUp()


@pytest.mark.slow
def test_tellurium_runs_the_archive_to_cafevs_own_time_course(archive, pdac_model):
    import tellurium as te

    spec_path, out = archive
    results = te.executeCombineArchive(str(out), createOutputs=False)
    generated = next(iter(results.values()))["dataGenerators"]
    spec = load_spec(spec_path)
    engine = engine_for(pdac_model, tolerances=TIGHT)
    ours = simulate(pdac_model, spec.conditions, 72, 13, READOUTS, 48, engine=engine)
    for i, cond in enumerate(spec.conditions):
        table = ours[ours["condition"] == cond.name]
        for suffix, part in (("_pre", table[table["time_h"] < 0]), ("", table[table["time_h"] >= 0])):
            times = np.ravel(generated[f"time_c{i}{suffix}"])[:len(part)]  # the pretreatment's t = 0 is the drug's
            np.testing.assert_allclose(times, part["time_h"], atol=1e-9)
            for r in READOUTS:
                theirs = np.ravel(generated[f"{r}_c{i}{suffix}"])[:len(part)]
                scale = max(np.abs(part[r]).max(), 1e-30)
                assert np.max(np.abs(theirs - part[r].to_numpy())) / scale < 1e-6, (cond.name, suffix, r)


@pytest.mark.slow
def test_without_pretreatment_one_task_per_condition_at_its_own_assay_time(tmp_path, pdac_model):
    import libcombine
    import libsbml
    import tellurium as te

    path = tmp_path / "omex_no_pretreatment.toml"
    path.write_text(NO_PRETREATMENT)
    out = export_omex(path, tmp_path / "x.omex", TIGHT)
    combine = libcombine.CombineArchive()
    assert combine.initializeFromArchive(str(out))
    locations = {combine.getEntry(i).getLocation() for i in range(combine.getNumEntries())}
    assert "start/c0.xml" in locations and "start/c0_pre.xml" not in locations
    description = combine.extractEntryToString("metadata.rdf")
    assert "start/c0.xml (task_c0, 0 to 24 h)" in description and "drug-free pretreatment" not in description
    start = libsbml.readSBMLFromString(combine.extractEntryToString("start/c0.xml")).getModel()
    assert start.getSpecies("drug_medium").getInitialConcentration() == 0.1  # the condition's dose, in the file
    assert start.getNumInitialAssignments() == sum(  # only parameters' assignments are left to the tool
        start.getParameter(start.getInitialAssignment(i).getSymbol()) is not None
        for i in range(start.getNumInitialAssignments()))
    combine.cleanUp()
    generated = next(iter(te.executeCombineArchive(str(out), createOutputs=False).values()))["dataGenerators"]
    spec = load_spec(path)
    ours = simulate(pdac_model, spec.conditions, 72, 7, ["N_cancer", "drug_medium", "EV_med"], 0.0,
                    engine=engine_for(pdac_model, tolerances=TIGHT))
    np.testing.assert_allclose(np.ravel(generated["time_c0"]), ours["time_h"], atol=1e-9)
    for r in ("N_cancer", "drug_medium", "EV_med"):
        np.testing.assert_allclose(np.ravel(generated[f"{r}_c0"]), ours[r], rtol=1e-6, atol=1e-6 * ours[r].abs().max())


def test_what_the_archive_cannot_describe_is_refused_before_any_work(tmp_path):
    with pytest.raises(InvalidValueError, match="analysis 'dose_response'.*export-omex writes timecourse"):
        export_omex("pdac_gem_dose_response", tmp_path / "x.omex")
    with pytest.raises(InvalidValueError, match=r"must end in \.omex"):
        export_omex("pdac_gem_timecourse", tmp_path / "x.zip")
    with pytest.raises(SpecError, match="Did you mean 'pdac_gem_timecourse'"):
        export_omex("pdac_gem_timecours", tmp_path / "x.omex")
    assert not list(tmp_path.iterdir())


def test_the_command_reports_errors_in_cafevs_voice(tmp_path, capsys):
    assert main(["export-omex", "pdac_gem_dose_response", "-o", str(tmp_path / "x.omex")]) == 2
    assert "cafev: error: Experiment 'pdac_gem_dose_response' has analysis 'dose_response'" in capsys.readouterr().err
