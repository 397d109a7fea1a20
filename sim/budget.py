"""The delivery budget of a condition: what its EVs put into each cancer cell by the time the drug is added.

For every cargo the scenario's EVs carry (``ev_cargo`` of the preset), at drug addition (the end of the pretreatment,
:mod:`sim.protocol`; a time course may ask for the end of its run instead):

- ``delivered_<cargo>``: copies that reached the cytosol per cell (cumulative, diluted by division);
- ``loaded_<cargo>``: for a miRNA, its Ago-loaded copies per cell (free RISC and held at sites), the copies that can
  act, endogenous and delivered together (the no-EV condition's value is the endogenous part); blank for lncRNA and
  protein cargo;
- ``repression_<cargo>_<target>``: how far this pair lowers its target, as a fold (> 1 repressed, < 1 raised):
  for a miRNA, the fold by which its own site on the target lowers the target's protein at the site's occupancy (the
  other sites held as they are; endogenous copies of that miRNA included, so the no-EV row gives their part; at most
  ``mirna_max_repression``); for a sponge, the fold by which it lowers its miRNA's loaded copies that are free of it;
  for protein cargo (EV-borne P-gp) and activating cargo, the target's level without EVs over its level with them;

and ``ev_internalised_fraction``, the fraction of the EVs put into the medium (the added dose plus all released)
that the cancer cells have taken up by then (48 h of pretreatment by default, where the uptake law's stated
fraction is for 24 h). These are the numbers a reviewer asks of any EV-cargo claim: how many copies, how
many of them in Argonaute, how far the target moved (the project design notes: "the delivery budget is the
crux").

:func:`delivery_notes` words what a run prints about its delivery assumptions: copies per EV above the average of
Chevillet et al. 2014 PNAS (0.00825 copies of a given miRNA per EV; range 0.001-1), with their factor over it, and
what the enriched regime reaches against the fold it was calibrated to.
"""
from __future__ import annotations

import math

from sim.catalogue import model_id
from sim.protocol import drug_phase

CHEVILLET_COPIES_PER_EV = 0.00825  # Chevillet et al. 2014 PNAS: mean copies of a given miRNA per exosome
PUBLISHED_RNA_COPIES = (0.001, 1.0)  # copies of one RNA cargo per EV (Chevillet 2014; the project design, 2.7)
BUDGET_PREFIXES = ("delivered_", "loaded_", "repression_", "ev_internalised_fraction")


def budget_part(row) -> dict:
    """The budget entries of a table row, a Series or a dict (keys starting with :data:`BUDGET_PREFIXES`)."""
    return {k: row[k] for k in row.keys() if k.startswith(BUDGET_PREFIXES)}


def _no_ev(values: dict[str, float]) -> dict[str, float]:
    return {**values, "caf_density": 0.0, "ev_added_ug": 0.0}


def budget_columns(model) -> list[str]:
    """The budget column names of ``model``, in a stable order (empty for a model without EV cargo)."""
    cols = []
    for it in model.interactions:
        if not it.delivered:
            continue
        c = model_id(it.cargo)
        for name in (f"delivered_{c}", f"loaded_{c}"):
            if name not in cols:
                cols.append(name)
        cols.append(f"repression_{c}_{model_id(it.target)}")
    return cols + (["ev_internalised_fraction"] if cols else [])


def _site_repression(model, state: dict[str, float], value, site: str, target: str) -> float:
    """Fold by which ``site`` (a miRNA's site on ``target``) lowers the target's protein at its occupancy, the
    target's other sites held as they are: the steady-state protein with the site empty over that with it as held
    (gene.ant, mirna_site.ant; the division rate of drug-free cells at the state's cell count)."""
    sites = [cx for (_, rna), cx in model.complexes.items() if rna == target]
    mrna = state.get(f"{target}_mRNA", 0.0) + value("site_epsilon")
    ceiling, share = value("mirna_max_repression"), value("mirna_mrna_share")
    decay_gain, translation_gain = ceiling ** share - 1, ceiling ** (share - 1) - 1
    occupancy = {s: state.get(s, 0.0) / mrna for s in sites}
    others = math.prod(1 + decay_gain * o for s, o in occupancy.items() if s != site)
    k = value("k_mrna_deg")
    cells = state.get("N_cancer", value("seeding_density"))
    mu = value("k_growth") * (1 - cells / value("carrying_capacity"))
    theta = occupancy.get(site, 0.0)
    return (k * others * (1 + decay_gain * theta) + mu) / (k * others + mu) / (1 + translation_gain * theta)


def delivery_budget(protocol, values: dict[str, float], at_h: float | None = None) -> dict[str, float]:
    """The budget of one condition (its parameter values), through ``protocol``'s cached phases.

    Parameters
    ----------
    protocol : sim.protocol.AssayProtocol
        The assay protocol (its ``pretreatment_h`` is the time to drug addition).
    values : dict
        The condition's values (:meth:`sim.conditions.Condition.values`).
    at_h : float, optional
        Take the budget ``at_h`` hours after drug addition (the end of a time course) instead of at drug addition.

    Returns
    -------
    dict
        :func:`budget_columns` -> value (NaN where a column does not apply).
    """
    model = protocol.engine.model
    columns = budget_columns(model)
    if not columns:
        return {}

    def state_of(vals: dict[str, float]) -> dict[str, float]:
        start = protocol.pretreated(vals)  # drug_phase: repeated EV additions keep their schedule past the drug
        return protocol.engine.final_state(drug_phase(vals, protocol.pretreatment_h), at_h, start) if at_h else start

    def value(name: str) -> float:
        return values.get(name, model.defaults[name])

    state, reference = state_of(values), None
    out = dict.fromkeys(columns, math.nan)
    for it in model.interactions:
        if not it.delivered:
            continue
        c, key = model_id(it.cargo), f"repression_{model_id(it.cargo)}_{model_id(it.target)}"
        out[f"delivered_{c}"] = float(state.get(f"{c}_delivered", 0.0))
        if c in model.loaded:
            out[f"loaded_{c}"] = float(sum(state.get(s, 0.0) for s in model.loaded[c]))
        if it.effect == "repress":
            out[key] = _site_repression(model, state, value, model.complexes[(c, it.target)], it.target)
        elif it.effect == "sponge":
            m = model.mirnas[it.target]
            loaded = sum(state.get(s, 0.0) for s in model.loaded[m])
            held = state.get(model.complexes[(m, c)], 0.0)
            out[key] = loaded / (loaded - held) if loaded > held else math.nan
        else:  # protein or activating cargo: the target's level against the same condition without EVs
            reference = reference or state_of(_no_ev(values))
            with_ev = state.get(it.target, math.nan)
            out[key] = reference.get(it.target, math.nan) / with_ev if with_ev > 0 else math.nan
    supplied = state.get("EV_supplied", 0.0)
    out["ev_internalised_fraction"] = state.get("EV_internalised", 0.0) / supplied if supplied > 0 else math.nan
    return out


def copies_note(model, values: dict[str, float], label: str = "") -> str | None:
    """One line naming the copies per EV of ``values`` that lie above Chevillet 2014's average, with their factor
    over it: outside the published range ("an assumption, not a measurement"), or inside it but above the average
    ("the top of the published range" for 1 copy per EV). None when every RNA cargo is at or below the average.
    Protein cargo has no published range and is always named.
    """
    above, protein = [], []
    for it in model.interactions:
        if not it.delivered:
            continue
        c = model_id(it.cargo)
        copies = values.get(f"{c}_per_EV", model.defaults.get(f"{c}_per_EV"))
        if values.get("ev_source_nf", 0.0) == 1.0:  # normal-fibroblast EVs carry their own copies
            copies = values.get("nf_ev_copies_per_EV", model.defaults.get("nf_ev_copies_per_EV"))
        if copies is None:
            continue
        entry = (it.cargo, copies)
        if it.kind == "protein":
            if entry not in protein:
                protein.append(entry)
        elif copies > CHEVILLET_COPIES_PER_EV * (1 + 1e-9) and entry not in above:
            above.append(entry)
    low, high = PUBLISHED_RNA_COPIES
    by_copies: dict[float, list[str]] = {}
    for name, copies in above:
        by_copies.setdefault(copies, []).append(name)
    parts = []
    for copies, names in by_copies.items():
        where = ("outside the published range" if not low <= copies <= high else
                 "the top of the published range" if copies == high else "inside the published range")
        unit = "copy/EV" if copies == 1 else "copies/EV"
        parts.append(f"{', '.join(names)} at {copies:.3g} {unit} ({copies / CHEVILLET_COPIES_PER_EV:,.0f}x "
                     f"Chevillet 2014's average; {where})")
    parts += [f"{name} (protein) at {copies:.3g} copies/EV (no published range)" for name, copies in protein]
    if not parts:
        return None
    outside = any(not low <= copies <= high for copies in by_copies) or protein
    tail = (f"; published range for RNA cargo {low:g}-{high:g} copies/EV: an assumption, not a measurement"
            if outside else "")
    return f"{label + ': ' if label else ''}{'; '.join(parts)}{tail}"


def regime_note(model) -> str | None:
    """What the preset's enriched regime reaches against the fold it was calibrated to (None without a regime)."""
    regime = model.preset.get("delivery")
    if not regime or "reachable" not in regime:
        return None
    reported, fold = regime["reported_fold"], regime.get("enriched_fold")
    reached = f"{fold:.3g}-fold" if fold else "its plateau"
    if regime["reachable"]:
        return (f"the enriched regime is calibrated to the reported {reported:g}-fold ({regime['reported_source']}); "
                f"it reaches {reached} after 50 ug/mL of CAF-EVs")
    return (f"the enriched regime cannot reach the reported {reported:g}-fold at any copies per EV: it reaches "
            f"{reached} after 50 ug/mL of CAF-EVs, within 1% of the most the mechanism allows (one miRNA "
            f"represses one target at most mirna_max_repression = {model.defaults.get('mirna_max_repression', 0):g}"
            f"-fold)")


def delivery_notes(model, conditions, factors=()) -> list[str]:
    """The lines a run prints about its delivery assumptions: one per distinct set of copies per EV above Chevillet
    2014's average among the conditions with EVs (:func:`copies_note`), naming the conditions that use it; one on what
    the enriched regime reaches when a condition uses it (:func:`regime_note`); and one per ``*_per_EV`` sweep factor
    (objects with ``name``, ``low``, ``high``) that leaves the published range."""
    lines: dict[str, list[str]] = {}
    enriched = False
    for cond in conditions:
        if cond.ev_mode == "none":
            continue
        enriched |= cond.delivery == "enriched"
        line = copies_note(model, cond.values(model))
        if line:
            lines.setdefault(line, []).append(cond.name)

    def who(names: list[str]) -> str:
        return ", ".join(names) if len(names) <= 2 else f"{len(names)} conditions ({names[0]}, {names[1]}, ...)"

    notes = [f"note: {who(names)}: {line}" for line, names in lines.items()]
    if enriched and regime_note(model):
        notes.append(f"note: {regime_note(model)}")
    low, high = PUBLISHED_RNA_COPIES
    for f in factors:
        if f.name.endswith("_per_EV") and (f.low < low or f.high > high):
            notes.append(f"note: factor {f.name} spans {f.low:g}-{f.high:g} copies/EV "
                         f"({f.low / CHEVILLET_COPIES_PER_EV:,.3g}-{f.high / CHEVILLET_COPIES_PER_EV:,.0f}x Chevillet "
                         f"2014's average); published range for RNA cargo {low:g}-{high:g} copies/EV")
    return notes
