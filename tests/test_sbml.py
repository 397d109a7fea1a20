"""SBML export: Level 3, and libsbml's consistency check reports 0 errors for every scenario preset."""
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
