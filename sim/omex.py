"""COMBINE archives (OMEX) of an experiment: the scenario's SBML and a SED-ML description of its conditions.

``cafev export-omex experiments/pdac_gem_timecourse.toml -o pdac_gem_timecourse.omex`` writes an archive that any
SED-ML tool can run without cafev (tellurium: ``te.executeCombineArchive``). It holds

- ``model.xml``, the scenario's SBML (Level 3 Version 2, as ``cafev export-sbml`` writes it);
- ``simulation.sedml`` (SED-ML Level 1 Version 4): per condition and phase, a model (its start file, below) whose
  changes are the condition's parameter values, a uniform time course with CVODE (KISAO:0000019) at cafev's tolerances
  (KISAO:0000209 relative, KISAO:0000211 absolute, KISAO:0000415 step limit), a task, data generators for time and
  every readout, a report per phase and a plot of the first readout;
- ``metadata.rdf``, the archive's description, which names what SED-ML does not express (below).

What SED-ML cannot express, and how the archive encodes it. cafev runs each condition in three phases
(:mod:`sim.protocol`): the untreated genotype for ``STEADY_STATE_H`` hours with the population held (the
per-condition steady state), a drug-free pretreatment with EVs and interventions, then the drug with the population
re-seeded and the medium carried over. SED-ML L1V4 cannot hand one task's end state to a task with different model
changes: a ``repeatedTask`` applies the same changes before each of its sub-tasks, ``setValue`` reads model values
at their initial state, and tellurium resets the model before each sub-task of a first iteration. So cafev computes
the steady cells and the pretreatment's end state and writes them as the species' initial values of one SBML file
per condition and phase (``start/c<i>_pre.xml``, ``start/c<i>.xml``: model.xml with every species' start value
under the condition, the species' initial assignments removed, since a tool applying the condition's changes need
not re-evaluate them: tellurium does not). Those phases are the archive's tasks.
Repeated dosing needs nothing of this kind: it is SBML events of the model itself.

Only analyses whose output is a time course of conditions are exported (:data:`EXPORTED`); the others say why.

References
----------
Smith LP et al. (2021) SED-ML Level 1 Version 4. J Integr Bioinform 18:20210021.
Bergmann FT et al. (2014) COMBINE archive and OMEX format. BMC Bioinformatics 15:369.
Choi K et al. (2018) Tellurium: an extensible Python-based modeling environment. Biosystems 171:74.
"""
from __future__ import annotations

from pathlib import Path

from sim.analyses.timecourse import default_readouts
from sim.build import build_model
from sim.engines import engine_for
from sim.engines.base import Tolerances
from sim.errors import CafevError, InvalidValueError
from sim.protocol import STEADY_STATE_H, AssayProtocol, drug_free, drug_phase
from sim.spec import ExperimentSpec, check_conditions, load_spec

EXPORTED = {"timecourse": "time courses of its conditions, each phase a task"}
NOT_EXPORTED = ("dose-response fits, sweeps, screens, calibrations and clonogenic assays are analyses of many runs "
                "(fits, root-finding, per-fraction state edits) that SED-ML's tasks and outputs do not describe; "
                "export a time course of the same conditions instead")
SBML_FORMAT = "http://identifiers.org/combine.specifications/sbml.level-3.version-2"
SEDML_FORMAT = "http://identifiers.org/combine.specifications/sed-ml"  # the version is in the document: libcombine
#                                                                        (and so tellurium) knows no L1V4 format URI
OMEX_FORMAT = "http://identifiers.org/combine.specifications/omex"
METADATA_FORMAT = "http://identifiers.org/combine.specifications/omex-metadata"
SBML_NS = "http://www.sbml.org/sbml/level3/version2/core"
KISAO = {"cvode": "KISAO:0000019", "rtol": "KISAO:0000209", "atol": "KISAO:0000211", "max_steps": "KISAO:0000415"}
TIME_SYMBOL = "urn:sedml:symbol:time"


def _target(kind: str, name: str, attribute: str | None = None) -> str:
    """XPath of an SBML element (``species`` or ``parameter``) by id, or of one of its attributes."""
    path = f"/sbml:sbml/sbml:model/sbml:listOf{kind[0].upper()}{kind[1:]}/sbml:{kind}[@id='{name}']"
    return path + (f"/@{attribute}" if attribute else "")


def _number(value: float) -> str:
    """A float written so that it reads back exactly (17 significant digits at most)."""
    return repr(float(value))


class _SedmlWriter:
    """Builds one SED-ML L1V4 document with libsedml; element ids are made unique and SId-safe."""

    def __init__(self, sbml_parameters: set[str], sbml_species: set[str], tolerances):
        import libsedml

        self.sed = libsedml
        self.doc = libsedml.SedDocument(1, 4)
        self.doc.getNamespaces().add(SBML_NS, "sbml")
        self.parameters, self.species, self.tolerances = sbml_parameters, sbml_species, tolerances

    def model(self, mid: str, name: str, source: str, values: dict[str, float]) -> None:
        """A model read from ``source`` with the condition's parameter ``values`` as changes."""
        model = self.doc.createModel()
        model.setId(mid)
        model.setName(name)
        model.setLanguage("urn:sedml:language:sbml.level-3.version-2")
        model.setSource(source)
        for key, value in sorted(values.items()):
            if key not in self.parameters:
                raise CafevError(f"Parameter '{key}' set by '{name}' is not a parameter of the SBML model (a bug of "
                                 f"sim.omex: every condition value should be one).")
            change = model.createChangeAttribute()
            change.setTarget(_target("parameter", key, "value"))
            change.setNewValue(_number(value))

    def time_course(self, sid: str, hours: float, points: int) -> None:
        sim = self.doc.createUniformTimeCourse()
        sim.setId(sid)
        sim.setInitialTime(0.0)
        sim.setOutputStartTime(0.0)
        sim.setOutputEndTime(float(hours))
        sim.setNumberOfSteps(int(points) - 1)
        algorithm = sim.createAlgorithm()
        algorithm.setKisaoID(KISAO["cvode"])
        algorithm.setName("CVODE")
        for key, value in (("rtol", self.tolerances.rtol), ("atol", self.tolerances.atol),
                           ("max_steps", self.tolerances.max_steps)):
            parameter = algorithm.createAlgorithmParameter()
            parameter.setKisaoID(KISAO[key])
            parameter.setValue(str(int(value)) if key == "max_steps" else _number(value))

    def task(self, tid: str, mid: str, sid: str) -> None:
        task = self.doc.createTask()
        task.setId(tid)
        task.setModelReference(mid)
        task.setSimulationReference(sid)

    def generator(self, did: str, tid: str, readout: str | None, name: str, shift_h: float = 0.0) -> str:
        """A data generator of one readout (None = time, shifted by ``shift_h``) of task ``tid``."""
        gen = self.doc.createDataGenerator()
        gen.setId(did)
        gen.setName(name)
        var = gen.createVariable()
        var.setId(f"{did}_v")
        var.setTaskReference(tid)
        if readout is None:
            var.setSymbol(TIME_SYMBOL)
        else:
            var.setTarget(_target("species" if readout in self.species else "parameter", readout))
        formula = f"{did}_v" if not shift_h else f"{did}_v - {_number(shift_h)}"
        gen.setMath(self.sed.parseL3Formula(formula))
        return did

    def report(self, rid: str, name: str, columns: list[tuple[str, str]]) -> None:
        report = self.doc.createReport()
        report.setId(rid)
        report.setName(name)
        for label, did in columns:
            data = report.createDataSet()
            data.setId(f"{rid}_{did}")
            data.setLabel(label)
            data.setDataReference(did)

    def plot(self, pid: str, name: str, curves: list[tuple[str, str, str]]) -> None:
        plot = self.doc.createPlot2D()
        plot.setId(pid)
        plot.setName(name)
        for i, (label, x, y) in enumerate(curves):
            curve = plot.createCurve()
            curve.setId(f"{pid}_c{i}")
            curve.setName(label)
            curve.setXDataReference(x)
            curve.setYDataReference(y)
            curve.setType(self.sed.SEDML_CURVETYPE_POINTS)

    def text(self) -> str:
        errors = [self.doc.getError(i).getMessage() for i in range(self.doc.getNumErrors())
                  if self.doc.getError(i).getSeverity() >= self.sed.LIBSEDML_SEV_ERROR]
        if errors:
            raise CafevError("The SED-ML document cafev wrote is not valid (a bug of sim.omex):\n" + "\n".join(errors))
        return self.sed.writeSedMLToString(self.doc)


def timecourse_sedml(spec, model, tolerances: Tolerances | None = None) -> tuple[str, dict[str, str], str]:
    """SED-ML text of a ``timecourse`` experiment on ``model``, the start-state SBML files it reads (location ->
    text) and the archive's description; the states and the archive's CVODE settings use ``tolerances`` (default:
    cafev's, rtol 1e-6 and atol 1e-9)."""
    import libsbml

    settings = spec.timecourse
    engine = engine_for(model, tolerances=tolerances or Tolerances())
    readouts = engine.check_selection(list(settings.readouts or default_readouts(model)))
    sbml = libsbml.readSBMLFromString(model.sbml).getModel()
    parameters = {p.getId() for p in sbml.getListOfParameters()}
    species = {s.getId() for s in sbml.getListOfSpecies()}
    writer = _SedmlWriter(parameters, species, engine.tolerances)
    protocol = AssayProtocol(engine, settings.pretreatment_h)
    pre_h = settings.pretreatment_h
    curves, files, told = [], {}, []
    for i, cond in enumerate(spec.conditions):
        values = cond.values(model)
        hours = cond.assay_time_h or settings.end_time_h
        phases = [("", drug_phase(values, pre_h), protocol.pretreated(values), hours, settings.points, 0.0)]
        if pre_h > 0:
            phases.insert(0, ("_pre", drug_free(values), protocol.steady_cells(values), pre_h,
                              max(2, settings.points // 2), pre_h))
        for suffix, phase_values, start, length, points, shift in phases:
            label = f"{cond.name} ({'pretreatment' if suffix else 'drug phase'})"
            mid, sid, tid = f"model_c{i}{suffix}", f"sim_c{i}{suffix}", f"task_c{i}{suffix}"
            source = f"start/c{i}{suffix}.xml"
            # every species' value at the phase's start (the carried state, the rest from the model under the values):
            # a tool that applies the condition's changes may not re-evaluate initial assignments (tellurium keeps
            # drug_medium = drug_ext at the file's value), so none is left to it
            state = dict(zip(engine.species, engine.simulate_array(phase_values, length, 2, engine.species,
                                                                   start)[0, 1:]))
            files[source] = _with_start(model.sbml, state)
            writer.model(mid, label, source, phase_values)
            writer.time_course(sid, length, points)
            writer.task(tid, mid, sid)
            time_id = writer.generator(f"time_c{i}{suffix}", tid, None, "time since drug addition (h)", shift)
            columns = [("time_h", time_id)] + [
                (r, writer.generator(f"{r}_c{i}{suffix}", tid, r, f"{r}, {label}")) for r in readouts]
            writer.report(f"report_c{i}{suffix}", label, columns)
            curves.append((label, time_id, columns[1][1]))
        told.append(f"'{cond.name}': " + (f"{source.replace('.xml', '_pre.xml')} (task_c{i}_pre, -{pre_h:g} h to 0) "
                                          f"then " if pre_h > 0 else "") + f"{source} (task_c{i}, 0 to {hours:g} h)")
    writer.plot("plot_first_readout", f"{readouts[0]} of every condition", curves)
    return writer.text(), files, _description(spec, model, pre_h, told, engine.tolerances)


def _description(spec, model, pre_h: float, told: list[str], tolerances) -> str:
    """The archive's description: the protocol, what SED-ML cannot express and where each condition's phases are."""
    pretreatment = (f"then {pre_h:g} h of drug-free pretreatment with the condition's EVs and interventions, then the "
                    f"drug phase with the cancer-cell population re-seeded and the medium carried over"
                    if pre_h > 0 else "then the drug phase with the cancer-cell population re-seeded")
    states = "the per-condition steady state" + (" and the pretreatment's end state were" if pre_h > 0 else " was")
    return (f"cafev experiment '{spec.experiment.name}' ({spec.experiment.description}) on scenario '{model.name}'. "
            f"Each condition is run as in cafev's assay protocol (sim.protocol): the untreated cells at their steady "
            f"state ({STEADY_STATE_H:g} h with the population held at seeding density), {pretreatment}. SED-ML L1V4 "
            f"cannot hand one task's end state to a task with different model changes, so {states} computed by "
            f"cafev and written, with every other species' start value under the condition, as the initial values of "
            f"one SBML file per condition and phase (the reactions, parameters and events of model.xml, without its "
            f"species' initial assignments; each condition's parameter values are SED-ML model changes). To run "
            f"another drug dose from a file, change drug_medium's initial value with drug_ext. Phases: "
            f"{'; '.join(told)}. Time is hours since the drug addition. Repeated dosing, "
            f"where a condition asks for it, is SBML events of the model. CVODE at relative tolerance "
            f"{tolerances.rtol:g} and absolute tolerance {tolerances.atol:g}.")


def _with_start(sbml: str, start: dict[str, float]) -> str:
    """``sbml`` with ``start`` (species -> value) as initial concentrations, those species' initial assignments
    removed.

    A start state is a file rather than SED-ML changes on model.xml because a SED-ML tool may recompile the model
    per changed initial value (tellurium/libroadrunner 2.x: ~3 s each, 99 species per phase).
    """
    import libsbml

    doc = libsbml.readSBMLFromString(sbml)
    model = doc.getModel()
    for name, value in start.items():
        model.getSpecies(name).setInitialConcentration(float(value))
        model.removeInitialAssignment(name)  # None when it has none
    return libsbml.writeSBMLToString(doc)


def export_omex(spec, out: str | Path, tolerances: Tolerances | None = None) -> Path:
    """Write the COMBINE archive of an experiment spec (path, shipped name or :class:`sim.spec.ExperimentSpec`),
    simulated at ``tolerances`` (default: cafev's own).

    Raises
    ------
    SpecError
        A spec that does not load or validate, or a condition the model refuses (before any simulation).
    InvalidValueError
        An analysis this export does not describe (:data:`EXPORTED`), or an output path without ``.omex``.
    """
    out = Path(out)
    if out.suffix.lower() != ".omex":
        raise InvalidValueError(f"The archive's file name must end in .omex (a COMBINE archive). Got '{out}'.")
    if not isinstance(spec, ExperimentSpec):
        spec = load_spec(spec)
    analysis = spec.experiment.analysis
    if analysis not in EXPORTED:
        raise InvalidValueError(f"Experiment '{spec.experiment.name}' has analysis '{analysis}'; export-omex writes "
                                f"{', '.join(f'{k} ({v})' for k, v in EXPORTED.items())}. Not exported: "
                                f"{NOT_EXPORTED}.")
    model = build_model(spec.experiment.scenario)
    check_conditions(spec, model)
    sedml, starts, description = timecourse_sedml(spec, model, tolerances)
    return _write_archive(out, {"model.xml": model.sbml, **starts}, sedml, description)


def _write_archive(out: Path, sbml: dict[str, str], sedml: str, description: str) -> Path:
    import libcombine

    archive = libcombine.CombineArchive()
    entries = [(text, location, SBML_FORMAT, False) for location, text in sbml.items()]
    for text, location, fmt, master in entries + [(sedml, "simulation.sedml", SEDML_FORMAT, True)]:
        if not archive.addFileFromString(text, location, fmt, master):
            raise CafevError(f"libcombine could not add {location} to the archive.")
    meta = libcombine.OmexDescription()
    meta.setAbout(".")
    meta.setDescription(description)
    meta.setCreated(libcombine.OmexDescription.getCurrentDateAndTime())
    archive.addMetadata(".", meta)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")  # written whole, then moved: an interrupted export leaves no archive
    if not archive.writeToFile(str(partial)):
        raise CafevError(f"libcombine could not write {partial}.")
    archive.cleanUp()
    partial.replace(out)
    return out

