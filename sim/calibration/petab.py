"""Write a calibration problem as PEtab v1 where cafev's assay protocol maps onto it, and say so where it does not.

PEtab v1 (Schmiester et al. 2021) gives each measurement at most two phases: a *preequilibration* (simulate a
condition to steady state) and one *simulation* from t = 0, after which species named in the condition table are
re-initialised and the others keep their preequilibrated values. cafev's protocol (:mod:`sim.protocol`) maps onto
this when there is no pretreatment (``pretreatment_h == 0``), with two changes to the exported SBML that keep the
equations exact:

- **The drug-free twin.** Relative viability is N_cancer at the end of the drug run over N_cancer at the end of the
  drug-free run of the same condition: a ratio of two simulations, which a v1 observable cannot read (an
  observable reads one simulation; dividing by a parameter would estimate the control instead of simulating it).
  The exported model therefore holds a copy of every species, reaction and time-dependent rule with the suffix
  ``__ctrl`` in which the drug concentration is ``drug_ext__ctrl`` = 0; the two copies share every parameter and do
  not interact, so one simulation carries both runs and the observable is ``N_cancer / N_cancer__ctrl``.
- **The exposure gate.** After preequilibration the exposure species (EVs and cargo in the medium and endosomes,
  intracellular drug) must start from their initial values under the treated condition, e.g. an added EV dose of
  ``ev_added_ug * ev_particles_per_ug * ABCB1_per_EV`` cargo copies. A v1 condition table re-initialises a species
  only to a number or to one parameter, not to an expression of estimated parameters, so the exported model
  multiplies every reaction that changes an exposure species by ``petab_exposure_on`` (0 in the preequilibration,
  1 in the simulation). The preequilibration condition is the untreated genotype with ``hold_population`` = 1 (as
  in the protocol's phase 1) plus the treatment parameters the exposure species' initial values read (the EV dose);
  the gated exposure species then sit at exactly those initial values while the cells equilibrate without seeing
  them, and carry them into the simulation. The population species stay at seeding density in the
  preequilibration (``hold_population``), which is the protocol's re-seeding. The drug in the medium
  (``drug_medium``) is the one species each simulation condition re-initialises: to the dose, as the protocol adds it.
- **Repeated dosing** is SBML events (medium.ant, drug_handling.ant), which the twin does not copy: an export whose
  conditions repeat a dose writes only the README; otherwise the events, whose triggers need a dosing interval > 0,
  are left out, which is exact.

With a pretreatment phase (``pretreatment_h > 0``) the protocol needs three phases (steady cells, a fixed-length
drug-free exposure, then the drug with the population re-seeded), which the v1 tables cannot express; the export
then writes only a ``README.txt`` that says so (:data:`PRETREATMENT_REASON`).

References
----------
Schmiester L et al. (2021) PEtab - Interoperable specification of parameter estimation problems in systems biology.
PLoS Comput Biol 17:e1008646.
"""
from __future__ import annotations

import io
import logging
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim.conditions import condition_list
from sim.engines.frozen import math_names
from sim.errors import InvalidValueError, ModelBuildError, UnknownNameError
from sim.protocol import EXPOSURE_SPECIES, TREATMENT_VALUES, without_treatment

DRUG_SPECIES = "drug_medium"  # the drug in the medium: its initial value is the dose, set per simulation condition
DOSING = ("drug_every_h", "ev_every_h")  # repeated dosing: the triggers of the models' only events
TWIN = "__ctrl"  # suffix of the drug-free copy of each species, reaction and time-dependent rule
DRUG = "drug_ext"
GATE = "petab_exposure_on"  # 0 in the preequilibration, 1 in the simulation
HOLD = "hold_population"
OBSERVABLE = "relative_viability"
NOISE_PARAMETER = "sd_relative_viability"
NOISE_BOUNDS = (1e-3, 1.0)  # an estimated SD of a viability fraction, log10 scale
FILES = {"model": "model.xml", "conditions": "conditions.tsv", "measurements": "measurements.tsv",
         "observables": "observables.tsv", "parameters": "parameters.tsv", "yaml": "problem.yaml"}
README = "README.txt"
PRETREATMENT_REASON = (
    "The protocol has a pretreatment phase of {hours:g} h: after the steady cells, EVs and interventions act "
    "without the drug for a fixed time, then the drug is added and the cancer-cell population species are re-seeded "
    "at seeding density while the cell state and the medium carry over. PEtab v1 gives a measurement at most two "
    "phases (a preequilibration to steady state and one simulation from t = 0, with re-initialisation only between "
    "them), so its tables cannot express this third, fixed-length phase or the re-seeding at its end. (Only moving "
    "the phase change into the model itself, as an SBML event at t = {hours:g} h that sets the drug and re-seeds the "
    "population, would; cafev does not write that, and the petab linter could not check it.) Export with "
    "pretreatment_h = 0, or calibrate with cafev's own objective, which runs the protocol as it is.")


@dataclass
class PetabExport:
    """What :func:`export_petab` wrote.

    Attributes
    ----------
    files : list of Path
        Files written (the PEtab problem, or the README that explains why there is none).
    mapped : bool
        True when the protocol maps onto PEtab v1 and a linted problem was written.
    reason : str
        Empty when mapped; otherwise what of the protocol PEtab v1 cannot express.
    """

    files: list = field(default_factory=list)
    mapped: bool = False
    reason: str = ""


def _renamed(math, mapping: dict):
    """A copy of ``math`` with every identifier in ``mapping`` replaced."""
    copy = math.deepCopy()
    stack = [copy]
    while stack:
        node = stack.pop()
        if node.isName() and node.getName() in mapping:
            node.setName(mapping[node.getName()])
        stack.extend(node.getChild(i) for i in range(node.getNumChildren()))
    return copy


def _closure(names: set, reads: dict) -> set:
    """``names`` and everything the assignment rules among them read, transitively."""
    out, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in out:
            out.add(name)
            todo.extend(reads.get(name, ()))
    return out


def petab_sbml(sbml: str, treatment: set, dosing: bool = False) -> tuple[str, list[str], str]:
    """The exported model: ``sbml`` with its drug-free twin and the exposure gate (see the module docstring).

    Returns the SBML text, the treatment parameters the exposure species' initial values read (set in the
    preequilibration too), and an empty string, or the reason the gate is not exact for this model. Without
    ``dosing`` (no condition repeats a dose) the repeated-dosing events are left out: their triggers need
    ``drug_every_h`` or ``ev_every_h`` > 0, so they never fire and leaving them out is exact.
    """
    import libsbml

    doc = libsbml.readSBMLFromString(sbml)
    model = doc.getModel()
    if dosing:
        return "", [], "a condition repeats a dose, and repeated dosing is SBML events that the drug-free twin " \
                       "does not copy"
    for i in reversed(range(model.getNumEvents())):
        if math_names(model.getEvent(i).getTrigger().getMath()) & set(DOSING):
            model.removeEvent(i)
    species = [model.getSpecies(i).getId() for i in range(model.getNumSpecies())]
    exposure = {s for s in species if EXPOSURE_SPECIES.search(s)}
    reads = {r.getVariable(): math_names(r.getMath()) for r in model.getListOfRules()}
    initial = {a.getSymbol(): math_names(a.getMath()) for a in model.getListOfInitialAssignments()}
    reactions = list(model.getListOfReactions())

    def changes(r) -> set:
        return {x.getSpecies() for x in list(r.getListOfReactants()) + list(r.getListOfProducts())}

    gated = {r.getId() for r in reactions if changes(r) & exposure}
    restored = sorted(_closure(set().union(*(initial.get(s, set()) for s in exposure)), reads) & treatment - {DRUG})
    # the drug is not in the preequilibration: the simulation condition re-initialises the drug species (DRUG_SPECIES)
    bolus = {s for s in exposure if _closure(initial.get(s, set()), reads) & set(restored)}
    seen = set(restored) | bolus
    for r in reactions:
        hit = sorted(_closure(math_names(r.getKineticLaw().getMath()), reads) & seen)
        if r.getId() not in gated and hit:
            return "", restored, (f"reaction '{r.getId()}' changes no exposure species but reads {', '.join(hit)}, "
                                  f"so the EV dose cannot wait, gated, through the preequilibration")
    for s in species:
        hit = sorted(_closure(initial.get(s, set()), reads) & set(restored))
        if s not in exposure and hit:
            return "", restored, f"the initial value of cell species '{s}' reads treatment parameter(s) " \
                                 f"{', '.join(hit)}"
    if model.getNumEvents() or not {DRUG, HOLD} <= {p.getId() for p in model.getListOfParameters()}:
        return "", restored, f"it has SBML events (the drug-free twin does not copy them) or lacks '{DRUG}'/'{HOLD}'"

    dynamic = set(species) | {"time", DRUG}
    changed = True
    while changed:  # rules that read a species, time or the drug, directly or through such rules, are copied
        changed = False
        for var, names in reads.items():
            if var not in dynamic and names & dynamic:
                dynamic.add(var)
                changed = True
    copied = [v for v in reads if v in dynamic]
    mapping = {n: n + TWIN for n in species + copied + [r.getId() for r in reactions] + [DRUG]}

    def fresh(element):
        found = element.getListOfAllElements()  # by index: after tellurium imports libsedml, iterating it never ends
        for item in [element] + [found.get(i) for i in range(found.getSize())]:
            item.unsetMetaId()
        return element

    for p in (DRUG, GATE):
        param = model.createParameter()
        param.setId(p + TWIN if p == DRUG else p)
        param.setValue(0.0 if p == DRUG else 1.0)
        param.setConstant(True)
    for s in species:
        clone = fresh(model.getSpecies(s).clone())
        clone.setId(mapping[s])
        model.addSpecies(clone)
    for var in copied:
        if model.getParameter(var) is not None:
            clone = fresh(model.getParameter(var).clone())
            clone.setId(mapping[var])
            model.addParameter(clone)
        rule = fresh(model.getRuleByVariable(var).clone())
        rule.setVariable(mapping[var])
        rule.setMath(_renamed(rule.getMath(), mapping))
        model.addRule(rule)
    for a in list(model.getListOfInitialAssignments()):
        if a.getSymbol() in mapping:
            clone = fresh(a.clone())
            clone.setSymbol(mapping[a.getSymbol()])
            clone.setMath(_renamed(a.getMath(), mapping))
            model.addInitialAssignment(clone)
    for r in reactions:
        clone = fresh(r.clone())
        clone.setId(mapping[r.getId()])
        for ref in list(clone.getListOfReactants()) + list(clone.getListOfProducts()) + list(
                clone.getListOfModifiers()):
            ref.setSpecies(mapping[ref.getSpecies()])
        clone.getKineticLaw().setMath(_renamed(clone.getKineticLaw().getMath(), mapping))
        model.addReaction(clone)
    for r in model.getListOfReactions():
        if r.getId().removesuffix(TWIN) in gated:
            law = r.getKineticLaw()
            law.setMath(libsbml.parseL3Formula(f"{GATE} * ({libsbml.formulaToL3String(law.getMath())})"))
    model.setId(model.getId() + "_petab")
    return libsbml.writeSBMLToString(doc), restored, ""


def _check(model, conditions, data: pd.DataFrame, assay_h, pretreatment_h, parameters, noise) -> None:
    for key, value in (("assay_h", assay_h), ("pretreatment_h", pretreatment_h)):
        if not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0 or (
                key == "assay_h" and value == 0):
            raise InvalidValueError(f"The '{key}' of the PEtab export must be a finite number "
                                    f"{'> 0' if key == 'assay_h' else '>= 0'} h. Got {value!r}.")
    missing = [c for c in ("condition", "dose_uM", "response") if c not in data.columns]
    if missing:
        raise InvalidValueError(f"The data of the PEtab export lack column(s) {', '.join(missing)}; it has: "
                                f"{', '.join(map(str, data.columns))}.")
    names = [c.name for c in conditions]
    for name in data["condition"].unique():
        if name not in names:
            raise UnknownNameError("condition", name, names, "the data of the PEtab export")
    for column in ("dose_uM", "response"):
        bad = data[~pd.to_numeric(data[column], errors="coerce").map(math.isfinite) | (
            pd.to_numeric(data[column], errors="coerce") < 0 if column == "dose_uM" else False)]
        if len(bad):
            raise InvalidValueError(f"The '{column}' of data row {bad.index[0]} of the PEtab export must be a finite "
                                    f"number{' >= 0' if column == 'dose_uM' else ''}. Got {bad[column].iloc[0]!r}.")
    for i, entry in enumerate(parameters):
        if len(entry) != 4:
            raise InvalidValueError(f"parameters[{i}] of the PEtab export must be (name, low, high, scale). "
                                    f"Got {entry!r}.")
        name, low, high, scale = entry
        if name not in model.defaults:
            raise UnknownNameError("parameter", name, model.defaults, f"parameters[{i}] of the PEtab export")
        if scale not in ("log", "lin"):
            raise InvalidValueError(f"The scale of parameter '{name}' must be 'log' (log10) or 'lin'. Got {scale!r}.")
        if not (math.isfinite(low) and math.isfinite(high) and low < high and (scale == "lin" or low > 0)):
            raise InvalidValueError(f"The bounds of parameter '{name}' must be finite with low < high (and low > 0 "
                                    f"on the log scale). Got [{low}, {high}].")
        if not low <= model.defaults[name] <= high:
            raise InvalidValueError(f"The default of parameter '{name}' ({model.defaults[name]:g}) lies outside its "
                                    f"bounds [{low:g}, {high:g}].")
    if not (noise == "estimate" or (isinstance(noise, numbers.Real) and math.isfinite(noise) and noise > 0)):
        raise InvalidValueError(f"The 'noise' of the PEtab export must be a known SD > 0 or 'estimate'. "
                                f"Got {noise!r}.")


def _lint(yaml_path: Path) -> list[str]:
    """Messages of petab's linter on the problem at ``yaml_path`` (empty when it passes)."""
    from petab.v1 import Problem, lint_problem

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.WARNING)
    logger = logging.getLogger("petab")  # the linter's modules log below it
    logger.addHandler(handler)
    try:
        failed = lint_problem(Problem.from_yaml(yaml_path))
    except Exception as exc:  # petab raises ValueError, AssertionError, ... on a file it cannot read
        return [f"{type(exc).__name__}: {' '.join(str(exc).split())}"]
    finally:
        logger.removeHandler(handler)
    lines = list(dict.fromkeys(line for line in stream.getvalue().splitlines() if line.strip()))
    return (lines or ["(the linter gave no message)"]) if failed else []


def _tables(model, conditions, data, assay_h, parameters, noise, restored):
    """The condition, measurement, observable and parameter tables (PEtab v1 column names)."""
    from petab.v1 import C

    estimated = [p[0] for p in parameters]
    rows, measurements = [], []
    for i, cond in enumerate(conditions):
        values = cond.values(model)
        pre = {**without_treatment(values), **{p: values.get(p, model.defaults[p]) for p in restored},
               HOLD: 1.0, GATE: 0.0}
        rows.append({C.CONDITION_ID: f"pre_c{i}", C.CONDITION_NAME: f"{cond.name}: steady cells", **pre})
        sub = data[data["condition"] == cond.name]
        for j, dose in enumerate(sorted(sub["dose_uM"].astype(float).unique())):
            sim_id = f"c{i}_d{j}"
            rows.append({C.CONDITION_ID: sim_id, C.CONDITION_NAME: f"{cond.name}, {dose:g} uM",
                         **values, DRUG: dose, HOLD: values.get(HOLD, model.defaults[HOLD]), GATE: 1.0,
                         **({DRUG_SPECIES: dose} if DRUG_SPECIES in model.species() else {})})
            for k, row in sub[sub["dose_uM"].astype(float) == dose].iterrows():
                measurements.append({
                    C.OBSERVABLE_ID: OBSERVABLE, C.PREEQUILIBRATION_CONDITION_ID: f"pre_c{i}",
                    C.SIMULATION_CONDITION_ID: sim_id, C.MEASUREMENT: float(row["response"]),
                    C.TIME: float(cond.assay_time_h or assay_h),
                    C.NOISE_PARAMETERS: NOISE_PARAMETER if noise == "estimate" else float(noise),
                    C.DATASET_ID: f"c{i}", C.REPLICATE_ID: f"r{row.get('replicate', k)}"})
    table = pd.DataFrame(rows).set_index(C.CONDITION_ID)
    for column in table.columns.drop(C.CONDITION_NAME):
        default = 1.0 if column == GATE else 0.0 if column == DRUG_SPECIES else model.defaults[column]
        table[column] = table[column].fillna(default).astype(float)
        if column not in (GATE, HOLD, DRUG_SPECIES) and (table[column] == default).all():
            table = table.drop(columns=column)  # the model's own value everywhere: no column needed
    clash = [p for p in estimated if p in table.columns]
    if clash:
        raise InvalidValueError(f"Parameter(s) {', '.join(clash)} of the PEtab export are estimated but set by a "
                                f"condition (a PEtab parameter is either estimated or set per condition).")
    observables = pd.DataFrame([{C.OBSERVABLE_ID: OBSERVABLE, C.OBSERVABLE_NAME: "relative viability",
                                 C.OBSERVABLE_FORMULA: f"N_cancer / N_cancer{TWIN}", C.OBSERVABLE_TRANSFORMATION: C.LIN,
                                 C.NOISE_FORMULA: f"noiseParameter1_{OBSERVABLE}", C.NOISE_DISTRIBUTION: C.NORMAL}])
    prows = [{C.PARAMETER_ID: name, C.PARAMETER_NAME: name, C.PARAMETER_SCALE: C.LOG10 if scale == "log" else C.LIN,
              C.LOWER_BOUND: float(low), C.UPPER_BOUND: float(high), C.NOMINAL_VALUE: float(model.defaults[name]),
              C.ESTIMATE: 1} for name, low, high, scale in parameters]
    if noise == "estimate":
        prows.append({C.PARAMETER_ID: NOISE_PARAMETER, C.PARAMETER_NAME: "SD of relative viability",
                      C.PARAMETER_SCALE: C.LOG10, C.LOWER_BOUND: NOISE_BOUNDS[0], C.UPPER_BOUND: NOISE_BOUNDS[1],
                      C.NOMINAL_VALUE: 0.05, C.ESTIMATE: 1})
    return (table, pd.DataFrame(measurements), observables.set_index(C.OBSERVABLE_ID),
            pd.DataFrame(prows).set_index(C.PARAMETER_ID))


def export_petab(model, conditions, data: pd.DataFrame, assay_h: float, pretreatment_h: float, parameters,
                 noise, folder) -> PetabExport:
    """Write the calibration problem as PEtab v1 in ``folder``, linted, or a README saying why it cannot be.

    Parameters
    ----------
    model : BuiltModel
        The scenario's model (:func:`sim.build.build_model`).
    conditions : list of Condition
        The conditions the data name (``data["condition"]``).
    data : pandas.DataFrame
        Columns ``condition``, ``dose_uM``, ``response`` (relative viability, a fraction) and optionally
        ``replicate`` (as :func:`sim.plate.read_plate_csv` gives).
    assay_h, pretreatment_h : float
        The protocol's drug phase and pretreatment (h); a condition's ``assay_time_h`` overrides ``assay_h``.
    parameters : list of (name, low, high, scale)
        Model parameters to estimate, with bounds and scale ``"log"`` (log10) or ``"lin"``.
    noise : float or "estimate"
        The known SD of a response, or ``"estimate"`` for an estimated SD (``sd_relative_viability``).
    folder : str or Path
        Where to write ``problem.yaml`` and its files, or ``README.txt`` when the protocol does not map.

    Returns
    -------
    PetabExport

    Raises
    ------
    UnknownNameError
        A parameter the model does not have, or a data condition not among ``conditions``.
    InvalidValueError
        Bad bounds, scale, noise, times or data values, or an estimated parameter a condition also sets.
    ModelBuildError
        The written problem fails petab's linter (a bug in this export; the files are removed).
    """
    conditions = condition_list(conditions)
    _check(model, conditions, data, assay_h, pretreatment_h, parameters, noise)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in list(FILES.values()) + [README]:  # a previous export's files would be read as this one's
        (folder / name).unlink(missing_ok=True)
    treatment = {p for p in model.defaults if p in TREATMENT_VALUES or p.startswith("dose_")}
    dosing = any(c.drug_every_h or c.ev_every_h or set(c.parameters) & set(DOSING) for c in conditions)
    sbml, restored, reason = petab_sbml(model.sbml, treatment, dosing or any(p[0] in DOSING for p in parameters))
    if pretreatment_h > 0:
        reason = PRETREATMENT_REASON.format(hours=pretreatment_h)
    elif reason:
        reason = f"The protocol does not map onto PEtab v1 for model '{model.name}': {reason}."
    if reason:
        readme = folder / README
        readme.write_text(f"No PEtab problem was written for model '{model.name}'.\n\n{reason}\n", encoding="utf-8")
        return PetabExport([readme], False, reason)

    from petab.v1 import (create_problem_yaml, write_condition_df, write_measurement_df, write_observable_df,
                          write_parameter_df)

    conds, measurements, observables, params = _tables(model, conditions, data, assay_h, parameters, noise, restored)
    paths = {k: folder / v for k, v in FILES.items()}
    paths["model"].write_text(sbml, encoding="utf-8")
    write_condition_df(conds, paths["conditions"])
    write_measurement_df(measurements, paths["measurements"])
    write_observable_df(observables, paths["observables"])
    write_parameter_df(params, paths["parameters"])
    create_problem_yaml(paths["model"], paths["conditions"], paths["measurements"], paths["parameters"],
                        paths["observables"], paths["yaml"])
    problems = _lint(paths["yaml"])
    if problems:
        for path in paths.values():
            path.unlink(missing_ok=True)
        raise ModelBuildError(f"The PEtab problem of model '{model.name}' written to {folder} fails petab's "
                              f"linter (a bug in sim.calibration.petab; the files were removed):\n"
                              + "\n".join(f"  {line}" for line in problems))
    readme = folder / README
    readme.write_text(f"PEtab v1 problem of model '{model.name}' ({FILES['yaml']}); see the docstring of "
                      f"sim.calibration.petab for how the protocol maps: the model holds a drug-free twin of every "
                      f"species ('{TWIN}'), the observable is N_cancer / N_cancer{TWIN}, and reactions that change "
                      f"exposure species are gated by '{GATE}' (0 in the preequilibration).\n", encoding="utf-8")
    return PetabExport(list(paths.values()) + [readme], True, "")
