"""The package's import structure (issue #13, item 4), read from the source with ``ast`` (nothing is imported).

1. No private name crosses modules: no ``from sim.x import _name``, and no ``module._name`` on an imported sim
   module (dunder names are not private).
2. No ``import sim...`` / ``from sim... import`` inside a function, except those in ``ALLOWED_IN_FUNCTIONS``, each
   with its reason (deferring a heavy dependency, never dodging an import cycle: a cycle is resolved by moving code
   down a layer).
3. Imports go down the layers: a module imports from its own layer or a lower one, never from a higher one.
   ``LAYERS`` lists them lowest first, as the code is (issue #13 suggested errors/textfiles -> tables -> models ->
   engines -> protocol/budget/gr/fit -> boolean, sweep, screen -> analyses -> spec -> experiment -> cli; the code
   differs where noted):

   - base: exceptions, reading text and TOML, writing result files with provenance (``results`` imports nothing
     from sim, and the sweep runner writes its parts with it);
   - numerics: curve fits (4PL, GR, LQ) and the figures that draw them (no model involved, so below the tables);
   - tables: the scenario presets, the catalogue of tables, conditions;
   - models: the ODE model (Antimony origins and templates, the build, SBML) and the Boolean model (sim.boolean:
     .bnet networks, state spaces, conditions as fixed nodes, ODE-vs-Boolean agreement); the Boolean engines use
     sim.boolean, so it sits below the engines;
   - engines: ODE and Boolean engines;
   - assay: the assay protocol, the delivery budget, dose-response curves and the logical assay (all run on an
     engine);
   - sweeps, then screens (a screen runs on the sweep runner);
   - analyses: sim.analyses, and the calibrations (sim.calibrate, sim.calibration) and users' plate fits, which are
     analyses too;
   - spec, then experiment (and the COMBINE-archive export, which builds an experiment's models and states too),
     then the command line.

   The package's ``__init__`` is its facade: it may import from any layer, and no module of sim imports it.

``KNOWN_ELSEWHERE`` would hold a violation kept on purpose, with its reason; it is empty, and an entry that no
longer occurs fails the test so that it is removed.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"

LAYERS = [
    ("base", ["sim.errors", "sim.textfiles", "sim.results"]),
    ("numerics", ["sim.fit", "sim.gr", "sim.lq", "sim.plots"]),
    ("tables", ["sim.scenarios", "sim.identifiers", "sim.catalogue", "sim.conditions"]),
    ("models", ["sim.antimony_origins", "sim.templates", "sim.built_model", "sim.annotate", "sim.build", "sim.sbml",
                "sim.boolean"]),
    ("engines", ["sim.engines"]),
    ("assay", ["sim.protocol", "sim.budget", "sim.curves", "sim.ic50", "sim.radiation", "sim.boolean_assay"]),
    ("sweeps", ["sim.sweep"]),
    ("screens", ["sim.screen"]),
    ("analyses", ["sim.analyses", "sim.calibrate", "sim.plate", "sim.calibration"]),
    ("spec", ["sim.spec"]),
    ("experiment", ["sim.experiment", "sim.omex"]),
    ("command line", ["sim.cli"]),
]
FACADE = "sim"

# (importing module, imported module) -> why the import is inside a function
ALLOWED_IN_FUNCTIONS: dict = {}  # none: third-party imports may be deferred (SciPy, in the fitters), sim ones not

# (kind, importing module, imported module or name): known violations, each with its reason. None remain.
KNOWN_ELSEWHERE: set = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(SIM.rglob("*.py"))}


def layer_of(module: str) -> int | None:
    """Index in LAYERS of the longest entry that is ``module`` or a package holding it."""
    best = None
    for i, (_, names) in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and (best is None or len(name) > best[1]):
                best = (i, len(name))
    return None if best is None else best[0]


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
    base = package[:len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str):
    """(imported module, imported name or None, inside a function, node) for every import of sim in ``module``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))

    def walk(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name == "sim" or alias.name.startswith("sim."):
                        yield alias.name, None, in_function, child
            elif isinstance(child, ast.ImportFrom):
                source = _absolute(module, child)
                if source == "sim" or source.startswith("sim."):
                    for alias in child.names:
                        yield source, alias.name, in_function, child
            yield from walk(child, inside)

    yield from walk(tree, False)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def violations() -> set[tuple[str, str, str]]:
    found = set()
    for module, path in MODULES.items():
        aliases = {}  # local name -> sim module it is bound to
        for source, name, in_function, node in imports(module):
            target = f"{source}.{name}" if name and f"{source}.{name}" in MODULES else source
            if name and _private(name):
                found.add(("private", module, f"{source}.{name}"))
            if in_function and (module, target) not in ALLOWED_IN_FUNCTIONS:
                found.add(("function", module, target))
            if target == FACADE and module != FACADE:
                found.add(("facade", module, FACADE))
            if module != FACADE:
                mine, theirs = layer_of(module), layer_of(target)
                if mine is not None and theirs is not None and theirs > mine:
                    found.add(("upward", module, target))
            if name and target in MODULES and target != source:  # from sim.pkg import module [as alias]
                local = next(a.asname or a.name for a in node.names if a.name == name)
                aliases[local] = target
            elif name is None:
                local = next(a.asname for a in node.names if a.name == source)
                aliases[local or source] = source
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and _private(node.attr):
                owner = aliases.get(ast.unparse(node.value))
                if owner is not None:
                    found.add(("private", module, f"{owner}.{node.attr}"))
    return found


def test_every_module_has_a_layer():
    assert [m for m in MODULES if m != FACADE and layer_of(m) is None] == []


@pytest.mark.parametrize("kind", ["private", "function", "upward", "facade"])
def test_imports_follow_the_rules(kind):
    new = sorted(v for v in violations() - KNOWN_ELSEWHERE if v[0] == kind)
    assert new == [], f"{kind} imports against the rules of this file's docstring:\n" + "\n".join(
        f"  {module} -> {target}" for _, module, target in new)


def test_known_and_allowed_entries_still_occur():
    """An entry whose import is gone is removed from KNOWN_ELSEWHERE or ALLOWED_IN_FUNCTIONS."""
    assert sorted(KNOWN_ELSEWHERE - violations()) == []
    in_functions = set()
    for module in MODULES:
        for source, name, in_function, _ in imports(module):
            if in_function:
                in_functions.add((module, f"{source}.{name}" if name and f"{source}.{name}" in MODULES else source))
    assert sorted(set(ALLOWED_IN_FUNCTIONS) - in_functions) == []


def test_the_checks_see_what_they_look_for(tmp_path, monkeypatch):
    """Each rule fires on a package written to break it, so that a pass is not a blind one."""
    files = {"__init__.py": "", "errors.py": "from sim.engines import ode\n",
             "protocol.py": "from sim.errors import _secret\n", "budget.py": "import sim\n",
             "engines/__init__.py": "",
             "engines/ode.py": "from sim import errors as e\n\n\ndef f():\n    import sim.errors\n\n"
                               "    return e._hidden, sim.errors.__name__\n"}
    for name, text in files.items():
        (tmp_path / "sim" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "sim" / name).write_text(text)
    monkeypatch.setitem(globals(), "SIM", tmp_path / "sim")
    monkeypatch.setitem(globals(), "MODULES", {module_name(p): p for p in sorted((tmp_path / "sim").rglob("*.py"))})
    assert violations() == {("upward", "sim.errors", "sim.engines.ode"),
                            ("private", "sim.protocol", "sim.errors._secret"),
                            ("facade", "sim.budget", "sim"),
                            ("function", "sim.engines.ode", "sim.errors"),
                            ("private", "sim.engines.ode", "sim.errors._hidden")}


def test_one_threshold_for_no_shift_in_comparisons_and_reversal():
    """The ODE-vs-Boolean comparison and the screen's agreement table (sim.boolean.agreement) call a fold below 2% no
    change, the same threshold below which the dose-response analysis reports no fraction reversed."""
    from sim.analyses import compare
    from sim.analyses.dose_response import MIN_SHIFT_TO_REVERSE
    from sim.boolean import agreement

    assert agreement.ODE_TOLERANCE == MIN_SHIFT_TO_REVERSE == 1.02
    assert compare.direction is agreement.direction and compare.explain_disagreement is agreement.explain_disagreement
    assert agreement.direction(0.019, 0.02) == "none" and agreement.direction(-0.03, 0.02) == "sensitisation"


def test_the_command_line_starts_without_scipy():
    """`cafev list` and `--help` do not pay for SciPy (~0.7 s): the fitters and the exhaustive attractor search load
    it when they run, so every sim import can sit at module top."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "import sim.cli, sys; print('scipy' in sys.modules)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
