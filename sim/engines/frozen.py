"""Constant assignment rules, computed once per run instead of at every step of the solver.

An SBML assignment rule is re-evaluated whenever the right-hand side of the ODEs is, thousands of times per run. Most
of cafev's rules depend on parameters only (an intervention's Emax-Hill effect of its dose, an activity slot, the
uptake clearance derived from the stated internalised fraction, the ceiling's decay and translation factors), so
their value is the same at every step of a run. :func:`split_constant_rules` finds them (transitively: a rule of
parameters and other constant rules is constant; one that reads a species, time or a non-constant rule is not) and
returns two SBML documents:

- the *fast* model, the same model with those rules replaced by plain parameters, which the engine integrates;
- the *rules* model, the constant rules alone with the parameters they read, which a second, small RoadRunner
  evaluates when one of those parameters changes (:class:`ConstantRules`).

Both come from the model's own SBML; nothing is parsed or evaluated outside libsbml and libroadrunner. The model a
user exports (``BuiltModel.sbml``) keeps every rule; the fast model gives the same trajectories to the solver's
tolerance (tests/test_engine.py), and holds each frozen rule's value at the model's own parameter values. A rule
stays a rule when it reads a species, time, another such rule, a parameter set by an event or by an initial
assignment, or when it sets a compartment or a species.
"""
from __future__ import annotations

from dataclasses import dataclass, field


def math_names(math) -> set[str]:
    """Identifiers an SBML math AST reads (``time`` as ``"time"``)."""
    import libsbml

    out, stack = set(), [math]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        if node.getType() == libsbml.AST_NAME_TIME:
            out.add("time")
        elif node.isName():
            out.add(node.getName())
        stack.extend(node.getChild(i) for i in range(node.getNumChildren()))
    return out


@dataclass
class SplitModel:
    """The result of :func:`split_constant_rules`."""

    fast_sbml: str
    rules_sbml: str | None
    constant: list  # rule variables frozen into parameters, in the model's rule order
    inputs: dict = field(default_factory=dict)  # parameter -> the constant rules that read it (directly or not)
    rules_rr: object = field(default=None, repr=False)  # a RoadRunner of rules_sbml (compiled once, reused)


def split_constant_rules(sbml: str) -> SplitModel:
    """Split ``sbml`` into a fast model (constant rules as parameters) and a model of the constant rules alone."""
    import libsbml

    doc = libsbml.readSBMLFromString(sbml)
    model = doc.getModel()
    parameters = {model.getParameter(i).getId() for i in range(model.getNumParameters())}
    dynamic = {model.getSpecies(i).getId() for i in range(model.getNumSpecies())} | {"time"}
    rules = [model.getRule(i) for i in range(model.getNumRules())]
    reads = {r.getVariable(): math_names(r.getMath()) for r in rules if r.isAssignment()}
    dynamic |= {r.getVariable() for r in rules if not r.isAssignment()}  # rate or algebraic rules change in time
    dynamic |= {v for v in reads if v not in parameters}  # a rule on a compartment or species stays a rule
    for i in range(model.getNumEvents()):  # what an event sets changes during a run
        event = model.getEvent(i)
        dynamic |= {event.getEventAssignment(j).getVariable() for j in range(event.getNumEventAssignments())}
    # a parameter given by an initial assignment is not re-evaluated when its inputs change between runs
    dynamic |= {model.getInitialAssignment(i).getSymbol() for i in range(model.getNumInitialAssignments())
                if model.getInitialAssignment(i).getSymbol() in parameters}
    changed = True
    while changed:
        changed = False
        for var, names in reads.items():
            if var not in dynamic and names & dynamic:
                dynamic.add(var)
                changed = True
    constant = [var for var in reads if var not in dynamic]
    if not constant:
        return SplitModel(sbml, None, [])
    depends: dict[str, set] = {}
    for var in constant:  # the parameters each constant rule reads, through other constant rules
        seen, todo = set(), [var]
        while todo:
            for name in reads[todo.pop()]:
                if name in reads and name not in seen:
                    seen.add(name)
                    todo.append(name)
                elif name in parameters and name not in reads:
                    depends.setdefault(name, set()).add(var)
    rules_doc = libsbml.readSBMLFromString(sbml)  # the constant rules alone
    rules_model = rules_doc.getModel()
    species = {rules_model.getSpecies(i).getId() for i in range(rules_model.getNumSpecies())}
    for i in reversed(range(rules_model.getNumInitialAssignments())):
        if rules_model.getInitialAssignment(i).getSymbol() in species:
            rules_model.removeInitialAssignment(i)
    for count, remove in ((rules_model.getNumReactions, rules_model.removeReaction),
                          (rules_model.getNumSpecies, rules_model.removeSpecies),
                          (rules_model.getNumEvents, rules_model.removeEvent)):
        while count():
            remove(0)
    for i in reversed(range(rules_model.getNumRules())):
        var = rules_model.getRule(i).getVariable()
        if var not in constant:
            rules_model.removeRule(i)
            if rules_model.getParameter(var) is not None:  # no longer set by a rule: needs a value of its own
                rules_model.getParameter(var).setValue(0.0)
    writer = libsbml.SBMLWriter()
    rules_sbml = writer.writeSBMLToString(rules_doc)
    import roadrunner

    defaults = roadrunner.RoadRunner(rules_sbml)  # the rules' values at the model's own parameter values
    for var in constant:  # in the fast model a constant rule becomes a parameter the engine sets
        model.removeRuleByVariable(var)
        model.getParameter(var).setConstant(True)
        model.getParameter(var).setValue(float(defaults[var]))
    return SplitModel(writer.writeSBMLToString(doc), rules_sbml, constant,
                      {name: sorted(rules) for name, rules in depends.items()}, defaults)


class ConstantRules:
    """The constant rules of a model on a small RoadRunner of their own: set the parameters they read, read the
    rules' values. ``values(changed)`` returns the rules to set on the fast model after ``changed`` parameters."""

    def __init__(self, split: SplitModel):
        self.split = split
        self.rr = split.rules_rr

    def set(self, name: str, value: float) -> None:
        if name in self.split.inputs:
            self.rr[name] = value

    def values(self, changed=None) -> dict[str, float]:
        """Current values of the constant rules that read any of ``changed`` (all of them when None)."""
        if self.rr is None:
            return {}
        if changed is None:
            names = self.split.constant
        else:
            names = sorted({rule for name in changed for rule in self.split.inputs.get(name, ())})
        return {name: self.rr[name] for name in names}
