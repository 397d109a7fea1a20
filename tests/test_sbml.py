"""SBML export: Level 3, and libsbml's consistency check reports 0 errors for every scenario preset."""
import numpy as np
import pytest

import sim
from sim.catalogue import load_catalogue
from sim.sbml import check_sbml, sbml_level_version


@pytest.mark.parametrize("scenario", sorted(load_catalogue().scenarios))
def test_sbml_validates(scenario):
    model = sim.build_model(scenario)
    assert sbml_level_version(model.sbml)[0] == 3
    assert check_sbml(model.sbml) == []


def test_cargo_rows_become_terms_not_copied_code(pdac_model):
    # Each selected miRNA->target row becomes one site of the loaded miRNA on the target (templates/mirna_site.ant).
    text = pdac_model.antimony
    for m, t in (("miR_3173_5p", "ACSL4"), ("miR_106b", "TP53INP1"), ("miR_21", "PTEN")):
        assert f"J_{m}_{t}_cx_bind: {m}_RISC -> {m}_{t}_cx; k_mirna_on*{m}_RISC*({t}_mRNA - {m}_{t}_cx)" in text
    assert "miR_522" not in text  # not in this scenario
    assert len(pdac_model.model_hash) == 64


@pytest.mark.slow
def test_the_exported_sbml_in_tellurium_gives_cafev_s_time_course(pdac_model, tmp_path):
    # `cafev export-sbml` writes the model with every assignment rule; the engine integrates a faster SBML whose rules
    # of parameters alone are frozen into constants per run (sim.engines.frozen). Run the export in tellurium through
    # the same assay protocol (sim.protocol: 2000-h steady state of the untreated cells, population held; then the
    # condition's values with the drug from t = 0, no pretreatment) and compare with sim.simulate's time course.
    import tellurium as te

    from sim.cli import main
    from sim.engines import engine_for
    from sim.protocol import EXPOSURE_SPECIES, POPULATION_SPECIES, STEADY_STATE_H, TINY, without_treatment

    assert main(["export-sbml", "pdac_gem", "-o", str(tmp_path / "pdac_gem.xml")]) == 0
    r = te.loadSBMLModel((tmp_path / "pdac_gem.xml").read_text())
    conditions = [sim.Condition(name="control"),
                  sim.Condition(name="CAF-EV + GW4869", dose=0.05, ev_mode="coculture", caf_ratio=3.0,
                                interventions={"GW4869": 5.0})]
    table = sim.simulate(pdac_model, conditions, end_time=72, points=25)
    readouts = [c for c in table.columns if c not in ("condition", "drug", "dose_uM", "ev_mode", "time_h")]
    assert {"N_cancer", "PTEN", "CASP3a", "EV_med", "miR_3173_5p_delivered"} <= set(readouts)
    engine = engine_for(pdac_model).rr.getIntegrator()
    same = {k: engine.getValue(k) for k in ("relative_tolerance", "absolute_tolerance")}  # 1e-6, 1e-9

    def tellurium_course(values: dict, tolerances: dict) -> np.ndarray:
        for key, value in tolerances.items():
            r.integrator.setValue(key, value)
        r.integrator.setValue("maximum_num_steps", 10**6)

        def start(settings: dict) -> None:
            r.resetAll()
            for name, value in settings.items():
                r[name] = value
            r.reset()  # initial assignments re-evaluated with the settings

        start({**without_treatment(values), "hold_population": 1.0})
        r.simulate(0, STEADY_STATE_H, 11)
        cells = {s: r[s] for s in r.getFloatingSpeciesIds()
                 if s not in POPULATION_SPECIES and not EXPOSURE_SPECIES.search(s)}
        start(values)
        for name, value in cells.items():
            r[name] = 0.0 if abs(value) < TINY else value
        return np.asarray(r.simulate(0, 72, 25, ["time", *readouts]))

    for cond in conditions:
        mine = table.loc[table["condition"] == cond.name, ["time_h", *readouts]].to_numpy()
        values = cond.values(pdac_model)
        # same CVODE tolerances: the frozen constants are the rules' exact values, so the two integrations do the
        # same arithmetic and agree to round-off
        np.testing.assert_allclose(mine, tellurium_course(values, same), rtol=1e-9, atol=1e-12, err_msg=cond.name)
        # against the exported model integrated 10^4x tighter: cafev's time course is within its tolerance's
        # accumulated error (measured 8e-6 relative, on N_cancer at 72 h)
        tight = tellurium_course(values, {"relative_tolerance": 1e-10, "absolute_tolerance": 1e-13})
        np.testing.assert_allclose(mine, tight, rtol=1e-4, atol=1e-9, err_msg=cond.name)
