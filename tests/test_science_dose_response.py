"""Directional science tests of the dose-response presets (issue #3), each with its source.

"CAF-EV" is 50 ug/mL of CAF-EVs added before a 48-h pretreatment and 72 h of drug (the seed papers' exosome
protocol, sim.protocol); "co-culture" is a 1:1 CAF co-culture. Shifts are absolute-IC50 fold changes against the
no-EV control of the same preset.
"""
import math

import pytest

import sim
from sim.analyses.dose_response import default_references, fit_curves, run_dose_response, shift_table

C = sim.Condition
ADD = {"ev_mode": "addition", "ev_dose_ug": 50}
CC = {"ev_mode": "coculture"}

# preset -> (matched interventions on top of CAF-EV addition, cargo target knocked out without EVs)
PRESETS = {
    "pdac_gem": ({"anti-miR-3173-5p": {"antagomir": {"dose": 50, "mirna": "miR-3173-5p"}},
                  "anti-miR-106b": {"antagomir": {"dose": 50, "mirna": "miR-106b"}},
                  "LY294002": {"LY294002": 20}, "erastin": {"erastin": 10}, "RSL3": {"RSL3": 1}}, "ACSL4"),
    "gastric_ddp": ({"anti-miR-522": {"antagomir": {"dose": 50, "mirna": "miR-522"}}, "erastin": {"erastin": 10},
                     "RSL3": {"RSL3": 1}}, "ALOX15"),
    "prostate_dtx": ({"anti-miR-432-5p": {"antagomir": {"dose": 50, "mirna": "miR-432-5p"}},
                      "erastin": {"erastin": 10}, "RSL3": {"RSL3": 1}}, "CHAC1"),
    "ovarian_ptx": ({"anti-miR-21": {"antagomir": {"dose": 50, "mirna": "miR-21"}},
                     "anti-miR-296-3p": {"antagomir": {"dose": 50, "mirna": "miR-296-3p"}},
                     "LY294002": {"LY294002": 20}}, "APAF1"),
    "bladder_gem": ({"anti-miR-146a-5p": {"antagomir": {"dose": 50, "mirna": "miR-146a-5p"}},
                     "Stattic": {"Stattic": 10}}, "ARID1A"),
    "bladder_ddp": ({"anti-miR-146a-5p": {"antagomir": {"dose": 50, "mirna": "miR-146a-5p"}},
                     "Stattic": {"Stattic": 10}}, "ARID1A"),
    "nsclc_ddp": ({"anti-miR-20a": {"antagomir": {"dose": 50, "mirna": "miR-20a"}},
                   "LY294002": {"LY294002": 20}}, "PTEN"),
}
RESULTS = {}


def shifts(preset):
    """Shift table of a preset (computed once per test session)."""
    if preset not in RESULTS:
        matched, target = PRESETS.get(preset, ({}, None))
        conds = [C(name="control"), C(name="NF-EV", ev_source="NF", **ADD), C(name="CAF-EV", **ADD),
                 C(name="co-culture", **CC), C(name="co-culture + GW 20", interventions={"GW4869": 20}, **CC),
                 C(name="CAF-EV + GW 20", interventions={"GW4869": 20}, **ADD)]
        conds += [C(name=f"CAF-EV + {k}", interventions=v, **ADD) for k, v in matched.items()]
        if target:
            conds.append(C(name=f"{target} KO", knockouts=[target]))
        model = sim.build_model(preset)
        fits = fit_curves(run_dose_response(model, conds, n_doses=8))
        control, refs = default_references(conds)
        RESULTS[preset] = shift_table(fits, control, refs).set_index("condition")
    return RESULTS[preset]


@pytest.mark.parametrize("preset", list(PRESETS) + ["ovarian_ptx_pgp"])
def test_caf_evs_raise_the_ic50_and_nf_evs_much_less(preset):
    # every seed CAF-EV axis confers resistance (seed 000 Table 1; 003 [66]); NF-EVs lack the enrichment [48][43].
    # Magnitude: DESIGN.md 2.7 / issue #3: default CAF-EV shifts between about 1.5 and 10-fold.
    t = shifts(preset)
    assert (t["status"] == "ok").all(), t[t["status"] != "ok"]
    caf, nf = t.loc["CAF-EV", "ic50_fold"], t.loc["NF-EV", "ic50_fold"]
    assert 1.45 <= caf <= 10.0, caf
    assert t.loc["CAF-EV", "ic50_fold_lower"] > 1.0
    assert math.log(nf) < 0.5 * math.log(caf), (nf, caf)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_gw4869_reverses_part_of_the_shift_in_coculture_and_none_after_addition(preset):
    # GW4869 blocks nSMase2-dependent EV biogenesis in the producer (Trajkovic 2008; Richards 2017 [50]); the
    # ESCRT branch it does not touch keeps part of the supply, and EVs already added cannot be withdrawn.
    t = shifts(preset)
    reversed_cc = t.loc["co-culture + GW 20", "fraction_reversed"]
    assert 0.1 < reversed_cc < 0.9, reversed_cc
    assert t.loc["CAF-EV + GW 20", "fraction_reversed"] == pytest.approx(0.0, abs=1e-3)


def test_gw4869_reversal_is_monotone_and_saturates_below_full():
    # Emax-Hill GW4869 action (interventions.tsv: IC50 3 uM, Emax 0.9) on the nSMase2 share (0.6) of secretion
    model = sim.build_model("pdac_gem")
    doses = (1, 5, 10, 20, 40)
    conds = [C(name="control"), C(name="co-culture", **CC)] + [
        C(name=f"GW {d}", interventions={"GW4869": d}, **CC) for d in doses]
    fits = fit_curves(run_dose_response(model, conds, n_doses=8))
    control, refs = default_references(conds)
    frac = shift_table(fits, control, refs).set_index("condition").loc[[f"GW {d}" for d in doses],
                                                                       "fraction_reversed"].to_numpy()
    assert all(b > a for a, b in zip(frac, frac[1:])), frac
    steps = [b - a for a, b in zip(frac[1:], frac[2:])]
    assert steps[-1] < steps[0]  # diminishing returns per dose step
    assert frac[-1] < 0.8


MATCHED = [("pdac_gem", "anti-miR-3173-5p"), ("pdac_gem", "anti-miR-106b"), ("gastric_ddp", "anti-miR-522"),
           ("prostate_dtx", "anti-miR-432-5p"), ("ovarian_ptx", "anti-miR-21"), ("ovarian_ptx", "anti-miR-296-3p"),
           ("bladder_gem", "anti-miR-146a-5p"), ("bladder_ddp", "anti-miR-146a-5p"), ("nsclc_ddp", "anti-miR-20a"),
           # PTEN route -> LY294002 ([48] miR-21, [33] miR-20a, [38] miR-296-3p act through PI3K/AKT)
           ("pdac_gem", "LY294002"), ("nsclc_ddp", "LY294002"), ("ovarian_ptx", "LY294002"),
           # STAT3 route -> Stattic ([59] miR-146a-5p/ARID1A/SOCS1/STAT3)
           ("bladder_gem", "Stattic"), ("bladder_ddp", "Stattic"),
           # ferroptosis route -> erastin or RSL3 ([43] miR-3173-5p/ACSL4, [42] miR-522/ALOX15, [44] miR-432-5p/CHAC1)
           ("pdac_gem", "erastin"), ("gastric_ddp", "erastin"), ("gastric_ddp", "RSL3"), ("prostate_dtx", "erastin"),
           ("prostate_dtx", "RSL3")]


@pytest.mark.parametrize("preset, intervention", MATCHED)
def test_the_matching_intervention_takes_the_shift_back(preset, intervention):
    value = shifts(preset).loc[f"CAF-EV + {intervention}", "fraction_reversed"]
    assert value > 0.05, value


@pytest.mark.parametrize("preset", list(PRESETS))
def test_knocking_out_the_cargo_target_mimics_the_cargo(preset):
    # e.g. ACSL4 knockout raises the GEM IC50 without EVs, as miR-3173-5p does ([43]); each seed axis is a
    # repression of this target that confers resistance
    t = shifts(preset)
    target = PRESETS[preset][1]
    assert t.loc[f"{target} KO", "ic50_fold"] > 1.3


def _ic50_fold(model, drug, cond_kwargs, doses=None):
    from sim.analyses.dose_response import dose_grid

    conds = [C(name="control", drug=drug), C(name="EV", drug=drug, **cond_kwargs)]
    fits = fit_curves(run_dose_response(model, conds, doses=dose_grid(drug, 8))).set_index("condition")
    assert (fits["status"] == "ok").all()
    return fits.loc["EV", "ic50_abs"] / fits.loc["control", "ic50_abs"]


def test_sensitising_cargo_lowers_the_ic50():
    # DACT3-AS1 in CAF-EVs sponges miR-181a-5p, freeing SIRT1 and ferroptosis; its loss causes OXA resistance
    # ([68] Qu 2023). miR-34b-5p represses ABCB1 and lowers resistance ([62] Luo 2021) for a P-gp substrate.
    # (miR-34c-5p [60] has no target named in the seed; not modelled.)
    assert _ic50_fold(sim.build_model("gastric_oxa_dact3"), "OXA", ADD) < 0.95
    model = sim.build_model(None, ev_cargo=["miR-34b-5p>ABCB1"], overrides={"miR_34b_5p_per_EV": 20.0})
    assert _ic50_fold(model, "PTX", ADD) < 0.95


def test_abcb1_route_matters_for_efflux_substrates_not_cisplatin():
    # P-gp effluxes paclitaxel and doxorubicin, not cisplatin (drugs.tsv abcb1; 003 [66] Zhang 2014: P-gp
    # microvesicles raise adriamycin and paclitaxel IC50 about 5-fold)
    model = sim.build_model("ovarian_ptx_pgp")
    ptx, dox, ddp = (_ic50_fold(model, d, ADD) for d in ("PTX", "DOX", "DDP"))
    assert 4.0 < ptx < 6.5, ptx
    assert dox > 2.0, dox
    assert ddp < 1.1, ddp
