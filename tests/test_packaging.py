"""A plain install is whole (issue #13): every model file is package data of the wheel (pyproject's sim._models),
so a user who installs cafev without the checkout gets the same models. ../shared/tools/wheel-check builds and runs
the wheel itself; this test keeps the list of shipped files in step with models/."""
import fnmatch
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_model_file_travels_in_the_wheel():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"]["sim._models"] == "models" and "sim._models" in setuptools["packages"]
    for package, folder in (("sim._models", "models"), ("sim._experiments", "experiments")):
        patterns = setuptools["package-data"][package]
        files = [p.relative_to(ROOT / folder).as_posix() for p in (ROOT / folder).rglob("*") if p.is_file()]
        assert files
        missing = [f for f in files if not any(fnmatch.fnmatch(f, pattern) and f.count("/") == pattern.count("/")
                                               for pattern in patterns)]
        assert missing == [], f"{folder} files the wheel would leave out: {missing}"
    # every package of the source tree is listed (an explicit list must not forget a new subpackage)
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "sim").rglob("__init__.py")}
    assert found <= set(setuptools["packages"]), found - set(setuptools["packages"])


@pytest.mark.slow
def test_the_package_finds_its_models_from_any_directory(tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.chdir(tmp_path)
    out = subprocess.run([sys.executable, "-c", "from sim.catalogue import MODELS_DIR; print(MODELS_DIR)"],
                         capture_output=True, text=True, check=True, env={k: v for k, v in __import__("os").environ.items()
                                                                          if k != "CAFEV_MODELS"})
    assert (Path(out.stdout.strip()) / "tables" / "parameters.tsv").is_file()
