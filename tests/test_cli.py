"""The command line as a user runs it, including the README's main job in quick mode."""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_readme_main_job_quick(tmp_path, capsys):
    readme = (ROOT / "README.md").read_text()
    spec = "experiments/pdac_gem_timecourse.toml"
    assert f"cafev run {spec}" in readme  # the README's main command is the one tested here
    assert main(["run", str(ROOT / spec), "--quick", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "CAF-EV (co-culture)" in out and "wrote:" in out
    table = pd.read_csv(tmp_path / "timecourse.csv")
    assert {"condition", "time_h", "PTEN", "pAKT", "N_cancer"} <= set(table.columns)
    assert table["condition"].nunique() == 5 and len(table) == 5 * 13
    meta = json.loads((tmp_path / "metadata.json").read_text())
    assert len(meta["model"]["sha256"]) == 64 and meta["seed"] == 0
    assert meta["versions"]["libroadrunner"] != "not installed"
    assert meta["spec"]["experiment"]["scenario"] == "pdac_gem"
    png = (tmp_path / "timecourse.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000


def test_every_experiment_file_validates():
    from sim.spec import load_spec

    for path in sorted((ROOT / "experiments").glob("*.toml")):
        load_spec(path)


def test_list_and_export(tmp_path, capsys):
    expected = {"scenarios": "pdac_gem", "interventions": "GW4869", "drugs": "gemcitabine",
                "cargo": "miR-3173-5p", "parameters": "k_endocytosis", "genes": "TP53INP1"}
    for what, shown in expected.items():
        assert main(["list", what]) == 0
        assert shown in capsys.readouterr().out
    out = tmp_path / "m.xml"
    assert main(["export-sbml", "pdac_gem", "-o", str(out)]) == 0
    assert out.read_text().startswith("<?xml") and "sbml" in out.read_text()[:400]


def test_errors_exit_2_with_message(tmp_path, capsys):
    assert main(["export-sbml", "pdac_gen", "-o", str(tmp_path / "x.xml")]) == 2
    err = capsys.readouterr().err
    assert "cafev: error: Unknown scenario 'pdac_gen'. Did you mean 'pdac_gem'?" in err
    bad = tmp_path / "bad.toml"
    bad.write_text('[experiment]\nname = "b"\nscenario = "pdac_gem"\nanalysis = "timecourse"\n'
                   '[[conditions]]\nname = "x"\ndose = -1\n')
    assert main(["run", str(bad), "-o", str(tmp_path / "o")]) == 2
    assert "conditions[0].dose" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing written for a bad spec


def test_console_script_installed():
    result = subprocess.run([sys.executable, "-m", "sim.cli", "list", "scenarios"], capture_output=True, text=True)
    assert result.returncode == 0 and "pdac_gem" in result.stdout
