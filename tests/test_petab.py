"""PEtab export of a calibration problem (issue #14 item 7): what maps is linted and simulates to cafev's own protocol
value, what does not map (a pretreatment phase) says so and writes no problem, and bad input is the package's error.

The agreement test simulates the exported problem with plain libroadrunner by the PEtab v1 semantics (set the
preequilibration condition's values, simulate to steady state, keep the state, set the simulation condition's values,
simulate from t = 0, read the observable at the measurement time) and compares it with
:meth:`sim.protocol.AssayProtocol.endpoint`'s ratio, both at tight tolerances so the comparison measures the mapping,
not the solver (measured: <= 4e-8 relative).
"""
import math

import numpy as np
import pandas as pd
import pytest

from sim.build import build_model
from sim.calibration.petab import (FILES, GATE, OBSERVABLE, PRETREATMENT_REASON, TWIN, export_petab)
from sim.conditions import Condition
from sim.engines import engine_for
from sim.engines.base import Tolerances
from sim.errors import InvalidValueError, ModelBuildError, UnknownNameError
from sim.protocol import AssayProtocol

SCENARIO = "ovarian_ptx_pgp"
ASSAY_H = 72.0
DOSES = (0.0, 0.01, 0.1, 1.0)
TIGHT = Tolerances(1e-10, 1e-14, 1_000_000)
PREEQ_H = 1e5  # "to steady state": 50x the protocol's 2000 h; the gated exposure species do not move
AGREEMENT = 1e-6  # relative, PEtab semantics vs cafev's protocol
ESTIMATED = [("ABCB1_per_EV", 1.0, 1e5, "log"), ("sec_nsmase2", 1.0, 1e3, "log")]


@pytest.fixture(scope="module")
def model():
    return build_model(SCENARIO)


@pytest.fixture(scope="module")
def conditions():
    return [Condition(name="control"), Condition(name="CAF-EV", ev_mode="addition", ev_dose_ug=50),
            Condition(name="co-culture + GW4869 + LY294002", ev_mode="coculture", caf_ratio=2.0,
                      interventions={"GW4869": 5.0, "LY294002": 1.0})]


@pytest.fixture(scope="module")
def data(conditions):
    rows = [{"condition": c.name, "dose_uM": d, "response": 1.0 / (1.0 + 10 * d), "replicate": str(r)}
            for c in conditions for d in DOSES for r in (1, 2)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def exported(model, conditions, data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("petab")
    return folder, export_petab(model, conditions, data, ASSAY_H, 0.0, ESTIMATED, "estimate", folder)


@pytest.mark.slow
def test_mapped_problem_lints_loads_and_holds_every_data_row(exported, data):
    import petab.v1 as pv

    folder, out = exported
    assert out.mapped and out.reason == ""
    assert {p.name for p in out.files} == set(FILES.values()) | {"README.txt"}
    problem = pv.Problem.from_yaml(folder / FILES["yaml"])
    assert not pv.lint_problem(problem)
    m = problem.measurement_df
    assert len(m) == len(data)
    assert set(m[pv.C.OBSERVABLE_ID]) == {OBSERVABLE}
    assert (m[pv.C.TIME] == ASSAY_H).all()
    assert (m[pv.C.PREEQUILIBRATION_CONDITION_ID].str.startswith("pre_")).all()
    assert sorted(m[pv.C.MEASUREMENT]) == sorted(data["response"])
    c = problem.condition_df
    assert set(m[pv.C.SIMULATION_CONDITION_ID]) | set(m[pv.C.PREEQUILIBRATION_CONDITION_ID]) == set(c.index)
    for _, row in m.iterrows():  # each data row's dose is its simulation condition's drug concentration
        assert c.loc[row[pv.C.SIMULATION_CONDITION_ID], "drug_ext"] in DOSES
        assert c.loc[row[pv.C.PREEQUILIBRATION_CONDITION_ID], "drug_ext"] == 0
        assert c.loc[row[pv.C.PREEQUILIBRATION_CONDITION_ID], "hold_population"] == 1
        assert c.loc[row[pv.C.PREEQUILIBRATION_CONDITION_ID], GATE] == 0
    assert set(problem.parameter_df.index) == {"ABCB1_per_EV", "sec_nsmase2", "sd_relative_viability"}
    assert problem.observable_df.loc[OBSERVABLE, pv.C.OBSERVABLE_FORMULA] == f"N_cancer / N_cancer{TWIN}"


def petab_observable(problem, rr, measurement, parameters: dict) -> float:
    """The observable of one measurement row simulated with plain roadrunner by the PEtab v1 semantics."""
    conds = problem.condition_df.drop(columns="conditionName")
    for name, value in parameters.items():
        rr[name] = value
    for column in conds.columns:
        rr[column] = float(conds.loc[measurement.preequilibrationConditionId, column])
    rr.reset()  # the model's initial values (initial assignments) under the preequilibration condition
    rr.simulate(0.0, PREEQ_H, 2)
    state = np.array(rr.model.getFloatingSpeciesConcentrations())
    rates = np.abs(rr.model.getFloatingSpeciesConcentrationRates()) / np.maximum(np.abs(state), 1e-3)
    assert rates.max() < 1e-9  # at steady state
    species = set(rr.model.getFloatingSpeciesIds())
    for column in conds.columns:  # parameters first; species keep their preequilibrated values ...
        if column not in species:
            rr[column] = float(conds.loc[measurement.simulationConditionId, column])
    rr.model.setFloatingSpeciesConcentrations(state)
    for column in species & set(conds.columns):  # ... except those the condition re-initialises (the drug, drug_medium)
        rr[column] = float(conds.loc[measurement.simulationConditionId, column])
    rr.getIntegrator().restart(0.0)
    out = rr.simulate(0.0, float(measurement.time), 2, ["time", "N_cancer", f"N_cancer{TWIN}"])
    return float(out[-1, 1] / out[-1, 2])


@pytest.mark.slow
@pytest.mark.parametrize("moved", [{}, {"ABCB1_per_EV": 2000.0, "sec_nsmase2": 100.0}])  # nominal, and moved (the
def test_mapped_problem_simulates_to_the_protocol_value(model, conditions, exported, moved):  # EV dose's copies too
    import petab.v1 as pv
    import roadrunner

    folder, _ = exported
    problem = pv.Problem.from_yaml(folder / FILES["yaml"])
    rr = roadrunner.RoadRunner(str(folder / FILES["model"]))
    integrator = rr.getIntegrator()
    for key, value in (("relative_tolerance", TIGHT.rtol), ("absolute_tolerance", TIGHT.atol),
                       ("maximum_num_steps", TIGHT.max_steps)):
        integrator.setValue(key, value)
    nominal = problem.parameter_df["nominalValue"].to_dict()
    parameters = {name: moved.get(name, nominal[name]) for name, *_ in ESTIMATED}
    protocol = AssayProtocol(engine_for(model, tolerances=TIGHT), pretreatment_h=0.0)
    m = problem.measurement_df
    picked = m[m[pv.C.SIMULATION_CONDITION_ID].isin(["c0_d1", "c1_d1", "c1_d2", "c2_d1"])].drop_duplicates(
        pv.C.SIMULATION_CONDITION_ID)
    assert len(picked) == 4
    for _, row in picked.iterrows():
        condition = conditions[int(row.datasetId[1:])]
        dose = float(problem.condition_df.loc[row.simulationConditionId, "drug_ext"])
        values = {**condition.values(model), **parameters}
        ours = (protocol.endpoint({**values, "drug_ext": dose}, ASSAY_H, ["N_cancer"])[0]
                / protocol.endpoint({**values, "drug_ext": 0.0}, ASSAY_H, ["N_cancer"])[0])
        theirs = petab_observable(problem, rr, row, parameters)
        assert 0 < ours < 1
        assert theirs == pytest.approx(ours, rel=AGREEMENT), row.simulationConditionId


@pytest.mark.slow
def test_pretreatment_does_not_map_and_writes_no_problem(model, conditions, data, tmp_path):
    (tmp_path / FILES["yaml"]).write_text("stale")  # a previous export's problem must not survive
    out = export_petab(model, conditions, data, ASSAY_H, 48.0, [("ABCB1_per_EV", 1.0, 1e5, "log")], 0.05, tmp_path)
    assert not out.mapped
    assert out.reason == PRETREATMENT_REASON.format(hours=48.0)
    assert "pretreatment phase of 48 h" in out.reason and "PEtab v1" in out.reason
    assert [p.name for p in out.files] == ["README.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.txt"]
    assert out.reason in (tmp_path / "README.txt").read_text()


@pytest.mark.slow
def test_bad_input_is_the_packages_error(model, conditions, data, tmp_path):
    with pytest.raises(UnknownNameError, match=r"Unknown parameter 'ABCB1_per_EVs' in parameters\[0\] of the PEtab "
                                                 r"export\. Did you mean 'ABCB1_per_EV'\?"):
        export_petab(model, conditions, data, ASSAY_H, 0.0, [("ABCB1_per_EVs", 1.0, 1e5, "log")], 0.05, tmp_path)
    with pytest.raises(InvalidValueError, match="The scale of parameter 'ABCB1_per_EV' must be 'log'"):
        export_petab(model, conditions, data, ASSAY_H, 0.0, [("ABCB1_per_EV", 1.0, 1e5, "ln")], 0.05, tmp_path)
    with pytest.raises(InvalidValueError, match="must be a known SD > 0 or 'estimate'"):
        export_petab(model, conditions, data, ASSAY_H, 0.0, [], -1.0, tmp_path)
    with pytest.raises(UnknownNameError, match="Unknown condition 'CAF EV' in the data of the PEtab export"):
        export_petab(model, conditions, data.replace("CAF-EV", "CAF EV"), ASSAY_H, 0.0, [], 0.05, tmp_path)
    with pytest.raises(InvalidValueError, match="'dose_uM' of data row 3 of the PEtab export must be a finite"):
        export_petab(model, conditions, data.assign(dose_uM=data["dose_uM"].where(data.index != 3, math.nan)),
                     ASSAY_H, 0.0, [], 0.05, tmp_path)
    assert not any(tmp_path.iterdir())  # nothing written before the input is checked


@pytest.mark.slow
def test_a_lint_failure_is_the_packages_error_and_leaves_no_problem(model, conditions, data, tmp_path, monkeypatch):
    monkeypatch.setattr("sim.calibration.petab.OBSERVABLE", "1_not_an_id")  # a bug the linter must catch
    with pytest.raises(ModelBuildError, match=r"fails petab's linter(.|\n)*1_not_an_id"):
        export_petab(model, conditions, data, ASSAY_H, 0.0, ESTIMATED, 0.05, tmp_path)
    assert not any(tmp_path.iterdir())
