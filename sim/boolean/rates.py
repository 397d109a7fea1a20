"""Graded effects of the logical model: MaBoSS rates from the ODE's own rate laws and parameters.

The rules of ``models/boolean/cafev.bnet`` say which nodes can act; this module says how strongly, so that one
survival signal or one cargo arm lowers a death rate without closing the route (issue #15: a logical model that is
all-or-none saturates under co-culture). ``models/boolean/rates.tsv`` lists every graded node, what its law reads
(with the sign of each read) and the ODE term it comes from; the laws are written here as the ODE's equations with
each node's Boolean state as its input:

- *levels* (``AKT``, ``STAT3``, ``GSH``, ``ABCB1`` with EV-borne P-gp): the quasi-steady state of a fast ODE
  species given the states of its regulators (pAKT and pSTAT3 relax within ~1 h, k_akt_off = 1/h and
  k_stat3_dephos = 4/h, against 20 h for caspase-9 (k_casp9_off = 0.05/h) and death, so a slower node sees them at
  steady state); 0 when the node is off.
- *rates* (``Drug_in``, ``CASP9``, ``Apoptosis``, ``Ferroptosis``): a node's MaBoSS up-rate (1/h), its ODE
  activation term with the levels put in; its down-rate is the ODE's deactivation rate where there is one.

Levels are relative to the untreated wild-type cell of the same closed form, so an untreated cell has the reference
rates. A death route's rate is the drug's part of its hazard, above the same cell's without the drug (the ODE reads
viability against the same condition's drug-free control). ``Drug_in`` on stands for the drug at half-maximal
activity (drug_activity = 1 in drug_handling.ant), where the drug's channel weights (drugs.tsv) apply.

References
----------
Stoll G et al. (2012) BMC Syst Biol 6:116 (MaBoSS: node rates as expressions of node states).
Béal J et al. (2019) Front Physiol 9:1965 (PROFILE: MaBoSS rates and initial states personalised from data).
"""
from __future__ import annotations

from dataclasses import dataclass

from sim.errors import InvalidValueError

DRUG_GAIN = 0.27  # Drug_in up-rate per (dose / reference IC50), 1/h (down-rate 1/h). The logical model's one scale, a
#                   calibration (DESIGN 2.8) set by hand on gemcitabine: pdac_gem's no-EV cell dies with probability
#                   ~0.5 at the reference IC50 after 72 h (the ODE's calibration point, drugs.tsv ic50_ref_uM);
#                   tests/test_calibration_regression.py checks it
_AKT = ("AKT", "PTEN", "PLAC8", "CLCA4")
READS = {  # the node states each law looks at (through the levels it uses); rates.tsv gives the signs
    "AKT": _AKT,
    "STAT3": ("STAT3", "IL6", "LIF", "SOCS1", "SOCS3", "SOCS6"),
    "GSH": ("GSH", "CHAC1", "STAT3", "IL6", "LIF", "SOCS1", "SOCS3", "SOCS6"),
    "ABCB1": ("ABCB1", *_AKT, "Pgp_EV"),
    "Drug_in": ("SLC29A2", "ABCB1", *_AKT, "Pgp_EV", "ESR1"),
    "CASP9": (*_AKT, "STAT3", "IL6", "LIF", "SOCS1", "SOCS3", "SOCS6"),
    "Apoptosis": (),
    "Ferroptosis": ("Drug_in", "SIRT1", *_AKT, "GPX4", "GSH", "CHAC1", "STAT3", "IL6", "LIF", "SOCS1",
                    "SOCS3", "SOCS6"),
}
PARAMETERS = ("k_pi3k", "w_plac8_pi3k", "w_clca4_pi3k", "k_pten", "k_akt", "k_akt_off", "il6_level", "lif_weight",
              "w_socs1", "K_socs", "k_jak",
              "k_stat3_dephos", "k_gsh_syn", "k_gsh_deg", "k_chac1", "slc7a11_stat3_gain", "abcb1_akt_gain",
              "k_drug_influx", "k_drug_efflux", "tp53inp1_damage_gain", "k_casp9", "k_casp9_off", "w_surv_akt",
              "w_surv_stat3", "K_survival", "n_surv", "k_apoptosis_max", "K_casp3_death", "n_apop", "w_sirt1",
              "akt_lipid_gain", "K_gsh",
              "ros_drug_gain", "k_ferroptosis_max", "K_lros_death", "n_ferro")
_REFERENCE = {"AKT": 1, "PTEN": 1, "STAT3": 1, "IL6": 1, "LIF": 1, "SOCS1": 1, "SOCS3": 1, "SOCS6": 1, "GSH": 1,
              "CHAC1": 1, "ABCB1": 1, "SLC29A2": 1, "SIRT1": 1, "GPX4": 1, "Drug_in": 0,
              "Pgp_EV": 0, "PLAC8": 1, "CLCA4": 1, "ESR1": 1}  # the untreated cell


@dataclass(frozen=True)
class RateContext:
    """What the laws need besides node states: the ODE parameter values (``p``, e.g. a built model's defaults), the
    drug's row of drugs.tsv (channel weights ``w_damage``/``w_ros``, ``ent2``, ``abcb1``) and, for a condition whose
    EVs carry P-gp, the EV-borne P-gp relative to the cell's own (``pgp_ev``, from the ODE delivery budget)."""

    p: dict
    drug: dict
    pgp_ev: float = 0.0

    def __post_init__(self):
        missing = [k for k in PARAMETERS if k not in self.p]
        if missing:
            raise InvalidValueError(f"The rates of the logical model need ODE parameters {missing} "
                                    f"(models/tables/parameters.tsv); they are missing from the values given.")


def akt_level(s: dict, c: RateContext) -> float:
    """pAKT (fraction) at steady state: PIP3 = a/(a + k_pten PTEN) with a = k_pi3k x the PLAC8 and CLCA4 brakes
    (1 + w)/(1 + w X), pAKT = k_akt PIP3/(k_akt PIP3 + k_akt_off) (pi3k_akt.ant); 0 when AKT is off (PI3K
    inhibited, AKT1 knocked out)."""
    p = c.p
    if not s["AKT"]:
        return 0.0
    brake = 1.0
    for node, w in (("PLAC8", p["w_plac8_pi3k"]), ("CLCA4", p["w_clca4_pi3k"])):
        brake *= (1 + w) / (1 + w * s[node])
    a = p["k_pi3k"] * brake
    pip3 = a / (a + p["k_pten"] * s["PTEN"])
    return p["k_akt"] * pip3 / (p["k_akt"] * pip3 + p["k_akt_off"])


def stat3_level(s: dict, c: RateContext) -> float:
    """pSTAT3 (fraction of STAT3) at steady state: a/(a + k_stat3_dephos) with a = k_jak (il6_level IL6 +
    lif_weight LIF)/(1 + (w_socs1 SOCS1 + SOCS3 + SOCS6)/K_socs) (stat3.ant); 0 when STAT3 is off."""
    p = c.p
    if not s["STAT3"]:
        return 0.0
    brake = 1 + (p["w_socs1"] * s["SOCS1"] + s["SOCS3"] + s["SOCS6"]) / p["K_socs"]
    a = p["k_jak"] * (p["il6_level"] * s["IL6"] + p["lif_weight"] * s["LIF"]) / brake
    return a / (a + p["k_stat3_dephos"])


def gsh_level(s: dict, c: RateContext) -> float:
    """GSH (1 = untreated) at steady state: k_gsh_syn SLC7A11/(k_gsh_deg + k_chac1 CHAC1), SLC7A11 induced by
    pSTAT3 as (1 + g pSTAT3)/(1 + g pSTAT3_ref) (ferroptosis.ant, genes.tsv); 0 when GSH is off (no xc-)."""
    p = c.p
    if not s["GSH"]:
        return 0.0
    g = p["slc7a11_stat3_gain"]
    slc = (1 + g * stat3_level(s, c)) / (1 + g * stat3_level(_REFERENCE, c))
    made = p["k_gsh_syn"] * slc / (p["k_gsh_deg"] + p["k_chac1"] * s["CHAC1"])
    return made / (p["k_gsh_syn"] / (p["k_gsh_deg"] + p["k_chac1"]))


def abcb1_level(s: dict, c: RateContext) -> float:
    """The P-gp pool (1 = the untreated cell's own): the cell's own, induced by pAKT as (1 + g pAKT)/(1 + g
    pAKT_ref) (genes.tsv; 0 when ABCB1 is off: knocked out, inhibited, or repressed by miR-34b-5p), plus EV-borne P-gp
    (``pgp_ev``) while Pgp_EV is on (escape_protein.ant: it joins the same pool; P-gp inhibitors turn both off)."""
    g = c.p["abcb1_akt_gain"]
    own = (1 + g * akt_level(s, c)) / (1 + g * akt_level(_REFERENCE, c)) if s["ABCB1"] else 0.0
    return own + (c.pgp_ev if s["Pgp_EV"] else 0.0)


def _hill(x: float, k: float, n: float) -> float:
    return 1.0 if x == float("inf") else x ** n / (k ** n + x ** n)


def drug_in_rates(s: dict, c: RateContext) -> tuple[float, float, float]:
    """Drug_in: up = DRUG_GAIN x (dose/IC50, applied by the assay) x the steady intracellular drug relative to the
    untreated cell, (1 - ent2 + ent2 SLC29A2) (k_in + k_eff a)/(k_in + k_eff a ABCB1) with a = 1 for a P-gp
    substrate, times the drug's action through ERalpha, 1 - esr1 + esr1 ESR1 (drug_handling.ant drug_activity:
    Drug_in on stands for the drug at an active level); down 1/h, also while the drug is present."""
    p, d = c.p, c.drug
    sub = float(d["abcb1"] > 0)
    influx = (1 - d["ent2"] + d["ent2"] * s["SLC29A2"]) * (1 - d["esr1"] + d["esr1"] * s["ESR1"])
    k_in, k_eff = p["k_drug_influx"], p["k_drug_efflux"] * sub
    efflux = (k_in + k_eff) / (k_in + k_eff * abcb1_level(s, c))
    return DRUG_GAIN * influx * efflux, 1.0, 1.0


def casp9_rates(s: dict, c: RateContext) -> tuple[float, float, float]:
    """CASP9: up = k_casp9 x TP53INP1 x damage / (1 + (S/K_survival)^n_surv), S = w_surv_akt pAKT + w_surv_stat3
    pSTAT3, damage = w_damage x 1/2 (apoptosis.ant at drug_activity = 1) and TP53INP1 induced by it as
    1 + tp53inp1_damage_gain x damage (genes.tsv tx_input); down k_casp9_off."""
    p = c.p
    damage = c.drug["w_damage"] * 0.5
    survival = p["w_surv_akt"] * akt_level(s, c) + p["w_surv_stat3"] * stat3_level(s, c)
    up = (p["k_casp9"] * (1 + p["tp53inp1_damage_gain"] * damage) * damage
          / (1 + (survival / p["K_survival"]) ** p["n_surv"]))
    return up, p["k_casp9_off"], p["k_casp9_off"]


def apoptosis_rates(s: dict, c: RateContext) -> tuple[float, float, float]:
    """Apoptosis: up = apoptosis_rate at full caspase-3 (k_apoptosis_max / (K_casp3_death^n_apop + 1),
    apoptosis.ant); down 1/h."""
    p = c.p
    return p["k_apoptosis_max"] * _hill(1.0, p["K_casp3_death"], p["n_apop"]), 1.0, 0.0


def lipid_ros(s: dict, c: RateContext) -> float:
    """Lipid ROS (1 = untreated) at steady state, production over GPX4 removal (ferroptosis.ant): ACSL4 x ALOX15
    (the LipidROS rule) x (1 - w_sirt1 + w_sirt1 SIRT1) / (1 + akt_lipid_gain pAKT) x (1 + drive Drug_in) over
    GPX4 GSH/(K_gsh + GSH), drive = w_ros ros_drug_gain / 2; infinite without GPX4 or GSH."""
    p = c.p
    removal = s["GPX4"] * (lambda g: g / (p["K_gsh"] + g))(gsh_level(s, c))
    if removal == 0:
        return float("inf")
    drive = c.drug["w_ros"] * p["ros_drug_gain"] * 0.5

    def made(state):
        return ((1 - p["w_sirt1"] + p["w_sirt1"] * state["SIRT1"]) / (1 + p["akt_lipid_gain"] * akt_level(state, c))
                * (1 + drive * state["Drug_in"]))

    ref_removal = 1 / (p["K_gsh"] + 1)
    return made(s) / removal / (made(_REFERENCE) / ref_removal)


def ferroptosis_rates(s: dict, c: RateContext) -> tuple[float, float, float]:
    """Ferroptosis: up = k_ferroptosis_max (hill(L) - hill(L0)), the drug's part of the ferroptosis hazard
    (hill(L) = L^n_ferro/(K_lros_death^n_ferro + L^n_ferro), ferroptosis.ant), L0 the same cell's lipid ROS without
    the drug, or the untreated cell's (1) where that is lower: the ODE reads viability against the same condition's
    drug-free control, and a genotype lethal without the drug (GPX4 or GSH lost: L0 infinite) stays lethal; 0 where
    lipid ROS is at or below L0; down 1/h."""
    p = c.p
    k, n = p["K_lros_death"], p["n_ferro"]
    baseline = min(_hill(lipid_ros({**s, "Drug_in": 0}, c), k, n), _hill(1.0, k, n))
    excess = _hill(lipid_ros(s, c), k, n) - baseline
    return p["k_ferroptosis_max"] * max(excess, 0.0), 1.0, 0.0


LEVELS = {"AKT": akt_level, "STAT3": stat3_level, "GSH": gsh_level, "ABCB1": abcb1_level}
LAWS = {"Drug_in": drug_in_rates, "CASP9": casp9_rates, "Apoptosis": apoptosis_rates,
        "Ferroptosis": ferroptosis_rates}


def _num(x: float) -> str:
    return f"{float(x):.12f}".rstrip("0").rstrip(".") or "0"


def _ternary(law, state: dict, free: list[str], c: RateContext, which: int) -> str:
    """MaBoSS expression of one of a law's rates, branching on the ``free`` nodes (those that can change during
    the run) and with ``state`` for the others."""
    if not free:
        return _num(law(state, c)[which])
    node, rest = free[0], free[1:]
    on = _ternary(law, {**state, node: 1}, rest, c, which)
    off = _ternary(law, {**state, node: 0}, rest, c, which)
    return on if on == off else f"({node} ? {on} : {off})"


def descendants(network, sources) -> set[str]:
    """Nodes a change of ``sources`` can reach, through the rules and the laws' reads."""
    readers: dict[str, set] = {n: set() for n in network.nodes}
    for n in network.nodes:
        for r in network.regulators(n):
            readers[r].add(n)
    for n, reads in READS.items():
        for r in reads:
            readers.setdefault(r, set()).add(n)
    seen, todo = set(sources), list(sources)
    while todo:
        for m in readers.get(todo.pop(), ()):
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen


def maboss_rates(network, start: dict, c: RateContext, dose_ratio: float, moving=None) -> dict[str, object]:
    """Engine values (``<node>.up``, ``.down``, ``.down_on``) of the drug phase: each law as a MaBoSS expression of
    the nodes that can change once the drug is on (``moving``; default the descendants of ``Drug``), the others at
    their value in ``start``; ``Drug_in``'s up-rate scaled by ``dose_ratio`` (dose / the drug's reference IC50)."""
    if not dose_ratio >= 0:
        raise InvalidValueError(f"The dose ratio must be >= 0. Got {dose_ratio}.")
    moving = descendants(network, ["Drug"]) if moving is None else set(moving)
    values: dict[str, object] = {}
    for node, law in LAWS.items():
        if node not in network.rules:
            continue
        free = [r for r in READS[node] if r in moving]
        state = {r: int(start.get(r, 0)) for r in READS[node]}
        for which, kind in enumerate(("up", "down", "down_on")):
            values[f"{node}.{kind}"] = _ternary(law, state, free, c, which)
    if "Drug_in.up" in values:
        up = values["Drug_in.up"]
        values["Drug_in.up"] = (_num(dose_ratio * float(up)) if not up.startswith("(")
                                else f"{_num(dose_ratio)} * {up}")
    return values


def law_values(node: str, states: dict, c: RateContext) -> float:
    """A level (LEVELS) or up-rate (LAWS) of ``node`` for ``states`` (unset reads at the untreated cell's)."""
    s = {**_REFERENCE, **states}
    if node in LEVELS:
        return LEVELS[node](s, c)
    return LAWS[node](s, c)[0]


__all__ = ["DRUG_GAIN", "RateContext", "LEVELS", "LAWS", "READS", "maboss_rates", "law_values", "descendants"]
