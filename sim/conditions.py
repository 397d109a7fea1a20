"""Experimental conditions as named objects: drug and dose, EV exposure, interventions, gene perturbations.

A condition never copies the model: it is turned into parameter values that the engine sets on one compiled
instance (:meth:`Condition.values`). Names are checked against the model and the tables before any run, and
negative doses or times are rejected.
"""
from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.catalogue import Catalogue, load_catalogue
from sim.errors import InvalidValueError, UnknownNameError

class InterventionDose(BaseModel):
    """A dose of one intervention; ``mirna`` names the miRNA an antagomir or sponge is designed against."""

    model_config = ConfigDict(extra="forbid")
    dose: float
    mirna: str | None = None


class Condition(BaseModel):
    """One experimental condition.

    Parameters
    ----------
    name : str
        Label used in tables and plots (e.g. ``"CAF-EV + GW4869 10 uM"``).
    drug : str, optional
        Drug code of models/tables/drugs.tsv (default: the scenario's drug).
    dose : float
        Drug concentration in uM (0 = drug-free).
    ev_mode : {"none", "coculture", "addition"}
        No EVs; CAFs co-cultured with the cancer cells (GW4869 acts on the producers); or a purified EV dose added at
        t = 0 (GW4869 cannot remove EVs already added).
    ev_source : {"CAF", "NF"}
        CAF-EVs or normal-fibroblast EVs (which carry ``nf_ev_copies_per_EV`` of every cargo, Chevillet 2014's average).
    caf_ratio : float
        CAFs per seeded cancer cell in co-culture.
    ev_dose_ug : float
        EV protein per mL in addition mode (ug/mL; converted with ``ev_particles_per_ug``).
    interventions : dict
        Intervention id or name -> dose in its table unit, or ``{"dose": d, "mirna": "miR-21"}`` for an antagomir
        or sponge.
    knockouts : list of str
        Gene or miRNA nodes set to 0 expression.
    knockdowns : dict
        Node -> remaining expression fraction in [0, 1].
    overexpression : dict
        Node -> expression fold >= 1.
    hypoxia : bool
        CAFs under hypoxia.
    delivery : {"published", "enriched"}, optional
        The preset's delivery regime (``[<preset>.delivery]`` of models/scenarios.toml): copies per EV inside the
        published range (the default) or the enrichment the reported effect needs (a calibrated assumption, reported
        as x Chevillet 2014's average).
    chemo_loading : bool, optional
        Chemotherapy-induced cargo loading in the CAFs (default: the scenario preset's ``chemo_loading``, else off).
    assay_time_h : float, optional
        Assay length in h for this condition (default: the analysis's end time).
    drug_every_h : float, optional
        Bring the drug back to its dose every ``drug_every_h`` hours after its addition (a spike, not a wash: the
        EVs and cargo in the medium stay). Changes nothing unless the drug is lost from the medium
        (``drug_half_life_h``).
    drug_half_life_h : float, optional
        Half-life of the drug in the medium, h (default: stable in the well, the assumption of the drugs' reference
        IC50 assays).
    ev_every_h : float, optional
        EV-addition mode: add the EV dose again every ``ev_every_h`` hours of EV exposure (counted from the first
        addition, at the start of the pretreatment), on top of the EVs still in the medium.
    parameters : dict
        Any other model parameter -> value.
    """

    model_config = ConfigDict(extra="forbid")
    name: str
    drug: str | None = None
    dose: float = 0.0
    ev_mode: Literal["none", "coculture", "addition"] = "none"
    ev_source: Literal["CAF", "NF"] = "CAF"
    caf_ratio: float = 1.0
    ev_dose_ug: float = 50.0
    interventions: dict[str, float | InterventionDose] = Field(default_factory=dict)
    knockouts: list[str] = Field(default_factory=list)
    knockdowns: dict[str, float] = Field(default_factory=dict)
    overexpression: dict[str, float] = Field(default_factory=dict)
    hypoxia: bool = False
    delivery: Literal["published", "enriched"] | None = None
    chemo_loading: bool | None = None
    assay_time_h: float | None = None
    drug_every_h: float | None = None
    drug_half_life_h: float | None = None
    ev_every_h: float | None = None
    parameters: dict[str, float] = Field(default_factory=dict)

    def __init__(self, **data):
        try:
            super().__init__(**data)
        except ValidationError as exc:
            label = data.get("name", "?")
            details = [(tuple(e["loc"]), e["type"], e["msg"].removeprefix("Value error, "), e.get("input"))
                       for e in exc.errors()]
            text = "; ".join(f"{'.'.join(str(p) for p in loc) or 'condition'}: {msg}" for loc, _, msg, _ in details)
            error = InvalidValueError(f"Condition '{label}' is not valid: {text}")
            error.details = details  # read by sim.spec to report key paths inside a spec file
            raise error from None

    @field_validator("assay_time_h", "drug_every_h", "drug_half_life_h", "ev_every_h")
    @classmethod
    def _positive_time(cls, v: float | None, info) -> float | None:
        if v is not None and (not math.isfinite(v) or v <= 0):
            raise ValueError(f"The '{info.field_name}' must be a finite number > 0 h. Got {v:g}.")
        return v

    @field_validator("dose", "caf_ratio", "ev_dose_ug")
    @classmethod
    def _non_negative(cls, v: float, info) -> float:
        if not math.isfinite(v) or v < 0:
            unit = {"dose": "uM", "caf_ratio": "CAFs per cancer cell", "ev_dose_ug": "ug/mL"}[info.field_name]
            raise ValueError(f"The '{info.field_name}' must be a finite number >= 0 {unit}. Got {v:g}.")
        return v

    @model_validator(mode="after")
    def _check_doses(self):
        for key, d in self.interventions.items():
            dose = d.dose if isinstance(d, InterventionDose) else d
            if not math.isfinite(dose) or dose < 0:
                try:
                    unit = " " + load_catalogue().intervention(key)["unit"]
                except UnknownNameError:
                    unit = ""
                raise ValueError(f"The 'dose' of intervention '{key}' must be >= 0{unit}. Got {dose:g}.")
        for key, f in self.knockdowns.items():
            if not 0 <= f <= 1:
                raise ValueError(f"The knockdown of '{key}' is the remaining expression fraction and must be in "
                                 f"[0, 1]. Got {f}.")
        for key, f in self.overexpression.items():
            if not math.isfinite(f) or f < 1:
                raise ValueError(f"The overexpression of '{key}' is a fold >= 1. Got {f}.")
        if self.ev_every_h is not None and self.ev_mode != "addition":
            raise ValueError(f"'ev_every_h' repeats an EV addition and needs ev_mode = 'addition'; this condition's "
                             f"ev_mode is '{self.ev_mode}' (in co-culture the CAFs release EVs all along).")
        return self

    def values(self, model, catalogue: Catalogue | None = None) -> dict[str, float]:
        """Return the parameter values this condition sets on ``model`` (a :class:`sim.build.BuiltModel`).

        Raises
        ------
        UnknownNameError
            A drug, intervention, gene, miRNA or parameter the model does not have.
        InvalidValueError
            An intervention that needs a miRNA without one, or a fraction dose above 1.
        """
        cat = catalogue or load_catalogue()
        where = f"condition '{self.name}'"
        out: dict[str, float] = {}
        drug_code = self.drug or model.drug
        if self.dose > 0 or drug_code:  # the scenario's drug is set (at dose 0) so a dose grid can vary drug_ext
            if drug_code is None:
                raise InvalidValueError(f"{where}: a dose was given but no drug; name one of "
                                        f"{', '.join(cat.drugs)}.")
            try:
                d = cat.drug(drug_code)
            except UnknownNameError as exc:
                raise UnknownNameError("drug", drug_code, exc.valid, where) from None
            out.update(drug_ext=self.dose, drug_potency=d["potency_uM"], drug_w_damage=d["w_damage"],
                       drug_w_ros=d["w_ros"], drug_w_cytostatic=d["w_cytostatic"], drug_ent2=d["ent2"],
                       drug_abcb1=d["abcb1"], drug_esr1=d["esr1"], caf_loading_ec50=d["caf_loading_ec50_uM"])
        decay = math.log(2) / self.drug_half_life_h if self.drug_half_life_h else None
        for key, field, value in (("drug_every_h", "drug_every_h", self.drug_every_h),
                                  ("k_drug_decay", "drug_half_life_h", decay),
                                  ("ev_every_h", "ev_every_h", self.ev_every_h)):
            if value is None:
                continue
            if key not in model.defaults:
                raise InvalidValueError(f"{where}: '{field}' needs a model with repeated dosing (parameter '{key}'); "
                                        f"model '{model.name}' has none.")
            if field.startswith("drug") and not drug_code:
                raise InvalidValueError(f"{where}: '{field}' needs a drug; model '{model.name}' has none (a "
                                        f"radiotherapy preset?).")
            out[key] = float(value)
        seeding = self.parameters.get("seeding_density", model.defaults["seeding_density"])
        if self.ev_mode == "coculture":
            out.update(caf_density=self.caf_ratio * seeding, ev_added_ug=0.0)
        elif self.ev_mode == "addition":
            out.update(caf_density=0.0, ev_added_ug=self.ev_dose_ug)
        else:
            out.update(caf_density=0.0, ev_added_ug=0.0)
        if "ev_source_nf" in model.defaults:  # a model without EV cargo has nothing for the source to change
            out["ev_source_nf"] = 0.0 if self.ev_source == "CAF" else 1.0
        out["hypoxia"] = float(self.hypoxia)
        loading = self.chemo_loading if self.chemo_loading is not None else model.preset.get("chemo_loading", False)
        out["chemo_loading_on"] = float(loading)

        if self.delivery is not None:
            regimes = model.preset.get("delivery")
            if not regimes:
                raise InvalidValueError(f"{where}: 'delivery' = '{self.delivery}' needs a scenario preset with a "
                                        f"[<preset>.delivery] table; model '{model.name}' has none (set the copies "
                                        f"per EV as parameters instead).")
            if self.delivery not in regimes:
                raise InvalidValueError(f"{where}: scenario '{model.name}' has no '{self.delivery}' delivery regime "
                                        f"yet; run `python -m sim.calibrate delivery {model.name}` and put its "
                                        f"values in [{model.name}.delivery] of models/scenarios.toml.")
            for c in model.delivered_cargo:
                out[f"{c}_per_EV"] = float(regimes[self.delivery])

        mirna_ids = model.mirnas
        for key, spec in self.interventions.items():
            try:
                row = cat.intervention(key)
            except UnknownNameError as exc:
                raise UnknownNameError("intervention", key, exc.valid, where) from None
            dose, mirna = (spec.dose, spec.mirna) if isinstance(spec, InterventionDose) else (spec, None)
            if row["mechanism"] == "fraction" and dose > 1:
                raise InvalidValueError(f"{where}: the 'dose' of intervention '{row['id']}' is the fraction knocked "
                                        f"down and must be in [0, 1]. Got {dose}.")
            if row["target"].startswith("mirna_"):
                if not mirna:
                    raise InvalidValueError(f"{where}: intervention '{row['id']}' acts on one miRNA; give it as "
                                            f"{{dose = {dose}, mirna = \"...\"}} with one of: "
                                            f"{', '.join(mirna_ids) or '(this model has no miRNA)'}.")
                if mirna not in mirna_ids:
                    raise UnknownNameError("miRNA", mirna, mirna_ids, f"{where} intervention '{row['id']}'")
                out[f"dose_{row['id']}_{mirna_ids[mirna]}"] = dose
            else:
                if mirna:
                    raise InvalidValueError(f"{where}: intervention '{row['id']}' does not take a miRNA.")
                out[f"dose_{row['id']}"] = dose

        nodes = {g: f"expr_{g}" for g in cat.genes if f"expr_{g}" in model.defaults}
        nodes.update({m: f"expr_{i}" for m, i in mirna_ids.items()})
        for gene, factor in ([(g, 0.0) for g in self.knockouts] + list(self.knockdowns.items())
                             + list(self.overexpression.items())):
            if gene not in nodes:
                raise UnknownNameError("gene node", gene, nodes, where)
            out[nodes[gene]] = factor
        for p, v in self.parameters.items():
            if p not in model.defaults:
                raise UnknownNameError("parameter", p, model.defaults, f"{where} parameters")
            if not math.isfinite(v):
                raise InvalidValueError(f"{where}: parameter '{p}' must be finite. Got {v}.")
            out[p] = float(v)
        return out


def condition_list(conditions) -> list[Condition]:
    """One condition or a sequence of them, as a list with unique names (else InvalidValueError)."""
    if isinstance(conditions, Condition):
        conditions = [conditions]
    names = [c.name for c in conditions]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidValueError(f"Condition names must be unique; repeated: {', '.join(dupes)}.")
    return list(conditions)
