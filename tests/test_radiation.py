"""Radiotherapy (issue #16): the DNA-break module's closed forms, fractionation, the clonogenic experiment and the
directions of the radiotherapy presets (seed 000 Table 2: CAF-EV cargo raises radioresistance [96][97][98]).

Closed forms: in models/ode/radiation.ant (the LPL scheme, Curtis 1986; Sachs, Hahnfeldt & Brenner 1997) an acute
dose D gives, while pairwise misrejoining uses few breaks, alpha D + beta D^2 lethal lesions per cell with the
resting cell's rad_alpha_ref and rad_beta_ref; fractions a day apart (repair half-time 1 h) are independent, so n x d
Gy give n times the lesions of one d-Gy fraction (SF = exp(-n(alpha d + beta d^2)), Fowler 1989 Br J Radiol 62:679).
"""
import math

import pytest

import sim
from sim.calibrate import radiation_dmf
from sim.errors import InvalidValueError, SpecError
from sim.experiment import run_experiment
from sim.lq import fit_lq
from sim.radiation import RadiationProtocol, run_clonogenic

ADD = {"ev_mode": "addition", "ev_dose_ug": 50.0}


@pytest.fixture(scope="module")
def crc():
    return sim.build_model("crc_rt")


def _rest(model):
    return sim.Condition(name="rest").values(model)


def test_an_untreated_cell_has_the_published_lq_curve(crc):
    alpha, beta = crc.defaults["rad_alpha_ref"], crc.defaults["rad_beta_ref"]
    radiation = RadiationProtocol(crc)
    for dose in (0.5, 1.0, 2.0):  # pairwise misrejoining uses < 1% of the breaks up to 2 Gy
        assert radiation.lethal_lesions(_rest(crc), dose) == pytest.approx(alpha * dose + beta * dose ** 2, rel=1e-2)
    table = run_clonogenic(crc, sim.Condition(name="control"), doses_gy=[0.5, 1, 1.5, 2])
    fit = fit_lq(table["dose_gy"], table["surviving_fraction"])
    assert fit.alpha == pytest.approx(alpha, rel=0.01) and fit.beta == pytest.approx(beta, rel=0.05)


def test_fractions_a_day_apart_are_independent(crc):
    one = RadiationProtocol(crc).lethal_lesions(_rest(crc), 2.0)
    five = RadiationProtocol(crc, fractions=5, interval_h=24).lethal_lesions(_rest(crc), 2.0)
    assert five == pytest.approx(5 * one, rel=1e-3)
    # split dose (Elkind recovery): two 2-Gy fractions 24 h apart kill fewer cells than 4 Gy at once (less beta)
    assert five / 5 * 2 < RadiationProtocol(crc).lethal_lesions(_rest(crc), 4.0)


def test_faster_repair_lowers_alpha_and_beta_and_a_pi3k_block_does_the_opposite(crc):
    """Direction: AKT speeds DSB repair (Toulany 2012), so a CLCA4 knockout (more PI3K/AKT, Chen 2021) fits a lower
    alpha and beta and LY294002 higher ones."""
    fits = {}
    for name, extra in (("rest", {}), ("CLCA4 KO", {"knockouts": ["CLCA4"]}),
                        ("LY", {"interventions": {"LY294002": 20}})):
        t = run_clonogenic(crc, sim.Condition(name=name, **extra), doses_gy=[1, 2, 4])
        fits[name] = fit_lq(t["dose_gy"], t["surviving_fraction"])
    assert fits["CLCA4 KO"].alpha < fits["rest"].alpha < fits["LY"].alpha
    assert fits["CLCA4 KO"].beta < fits["rest"].beta < fits["LY"].beta


@pytest.mark.slow
def test_caf_evs_raise_the_dmf_and_the_knockouts_mimic_the_cargo(crc):
    """Seed 000 Table 2: CAF-EV miR-590-3p [96] and miR-93-5p [97] raise CRC radioresistance; knocking out their
    targets (CLCA4, FOXA1) acts the same way; the enriched regime more than the published one."""
    published = radiation_dmf(crc, delivery="published", **ADD)
    enriched = radiation_dmf(crc, delivery="enriched", **ADD)
    assert 1.005 < published < enriched
    for gene in ("CLCA4", "FOXA1"):
        assert radiation_dmf(crc, knockouts=[gene]) > 1.05


@pytest.mark.slow
def test_lung_rt_antagomir_takes_the_ev_dmf_back_ev_specifically():
    model = sim.build_model("lung_rt")
    ev = radiation_dmf(model, delivery="enriched", **ADD)
    anti = {"antagomir": {"dose": 50, "mirna": "miR-196a-5p"}}
    treated = radiation_dmf(model, delivery="enriched", interventions=anti, **ADD)
    alone = radiation_dmf(model, interventions=anti)
    assert ev > 1.01 and 1 <= treated < ev
    assert 1 - math.log(treated / alone) / math.log(ev) > 0.3  # EV-specific part of the reversal


def test_the_clonogenic_experiment_writes_lq_fits_and_dmfs(tmp_path):
    result = run_experiment("lung_rt_clonogenic", tmp_path / "lung", quick=True, quiet=True)
    fits = (result.folder / "fits.csv").read_text().split("\n")[0]
    for column in ("alpha", "alpha_se", "beta", "beta_se", "alpha_beta", "sf2"):
        assert column in fits.split(",")
    shifts = (result.folder / "shifts.csv").read_text().split("\n")[0].split(",")
    assert "dmf_sf0.1" in shifts and "dmf_sf0.5" in shifts
    assert (result.folder / "clonogenic.png").stat().st_size > 10000 and (result.folder / "dmf.png").exists()
    table = result.table
    assert set(table["fractions"]) == {5} and (table["total_dose_gy"] == 5 * table["dose_gy"]).all()
    control = result.summary.set_index("condition").loc["control"]
    assert control["dmf_sf0.1"] == 1 and control["alpha"] == pytest.approx(0.3, rel=0.02)


def test_bad_radiation_input_fails_before_any_work(crc, tmp_path):
    with pytest.raises(InvalidValueError, match="irradiates drug-free cells"):
        run_clonogenic(crc, sim.Condition(name="x", drug="GEM"), doses_gy=[1, 2])
    with pytest.raises(InvalidValueError, match="doses_gy"):
        run_clonogenic(crc, sim.Condition(name="x"), doses_gy=[-1, 2])
    with pytest.raises(InvalidValueError, match="fractions"):
        run_clonogenic(crc, sim.Condition(name="x"), doses_gy=[1, 2], fractions=0)
    spec = tmp_path / "bad.toml"
    spec.write_text('[experiment]\nname = "b"\nscenario = "crc_rt"\nanalysis = "clonogenic"\n'
                    '[clonogenic]\ndoses_gy = [2]\n[[conditions]]\nname = "control"\n')
    with pytest.raises(SpecError, match="doses_gy"):
        run_experiment(spec, tmp_path / "out")
    spec.write_text('[experiment]\nname = "b"\nscenario = "crc_rt"\nanalysis = "dose_response"\n'
                    '[[conditions]]\nname = "control"\n')
    with pytest.raises((SpecError, InvalidValueError), match="radiotherapy preset"):
        run_experiment(spec, tmp_path / "out2")
