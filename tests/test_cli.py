"""The command line as a user runs it, including the README's main job in quick mode."""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_readme_main_job_quick(tmp_path, capsys):
    readme = (ROOT / "README.md").read_text()
    spec = "experiments/gw4869_reversal.toml"
    assert f"cafev run {spec}" in readme  # the README's main command is the one tested here
    assert main(["run", str(ROOT / spec), "--quick", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "CAF-EV 3:1 + GW4869 5 uM (enriched)" in out and "ic50_fold" in out and "wrote:" in out
    assert "fraction_reversed_specific" in out and "x Chevillet 2014's average" in out  # the enrichment is said
    table = pd.read_csv(tmp_path / "dose_response.csv")
    assert {"condition", "dose_uM", "viability", "gr", "PTEN", "pAKT", "delivered_miR_106b",
            "repression_miR_106b_TP53INP1"} <= set(table.columns)
    # 23 conditions of the spec + 7 interventions run alone without EVs (added for the EV-specific reversal)
    assert table["condition"].nunique() == 30 and len(table) == 30 * (6 + 1)  # quick: 6 doses + drug-free
    shifts = pd.read_csv(tmp_path / "shifts.csv").set_index("condition")
    for regime in ("published", "enriched"):  # the CAF-EV shift the main job is about, in both regimes
        assert shifts.loc[f"CAF-EV 3:1 ({regime})", "ic50_fold"] > shifts.loc[f"CAF-EV 1:1 ({regime})", "ic50_fold"] > 1
    assert shifts.loc["GW4869 20 uM alone", "ic50_fold"] == pytest.approx(1.0, abs=1e-3)  # acts on CAFs only
    fits = pd.read_csv(tmp_path / "fits.csv")
    assert {"condition", "bottom", "top", "ic50", "hill", "ic50_se", "status", "gr50"} <= set(fits.columns)
    meta = json.loads((tmp_path / "metadata.json").read_text())
    assert len(meta["model"]["sha256"]) == 64 and meta["seed"] == 0 and len(meta["doses_uM"]) == 6
    assert meta["versions"]["libroadrunner"] != "not installed"
    assert meta["spec"]["experiment"]["scenario"] == "pdac_gem"
    for png in ("dose_response.png", "ic50_shift.png", "reversal.png"):
        data = (tmp_path / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000, png


def test_timecourse_job_quick(tmp_path, capsys):
    spec = "experiments/pdac_gem_timecourse.toml"
    assert main(["run", str(ROOT / spec), "--quick", "-o", str(tmp_path)]) == 0
    assert "CAF-EV (co-culture)" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "timecourse.csv")
    # quick: 13 points of the drug phase and 6 of the 48-h pretreatment (its last point is the drug phase's first)
    assert table["condition"].nunique() == 5 and len(table) == 5 * (13 + 5) and table["time_h"].min() == -48
    summary = pd.read_csv(tmp_path / "summary.csv").set_index("condition")
    assert summary.loc["no EV", "delivered_miR_3173_5p"] == 0 < summary.loc["CAF-EV (co-culture)", "delivered_miR_3173_5p"]
    assert (tmp_path / "timecourse.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("spec", sorted(p.name for p in (ROOT / "experiments").glob("*_dose_response.toml"))
                         + ["gw4869_coculture_vs_addition.toml"])
def test_every_dose_response_experiment_runs_quick(spec, tmp_path):
    assert main(["run", str(ROOT / "experiments" / spec), "--quick", "-o", str(tmp_path)]) == 0
    shifts = pd.read_csv(tmp_path / "shifts.csv")
    assert (shifts["status"] == "ok").all(), shifts[["condition", "status"]]
    assert (tmp_path / "dose_response.png").exists() and (tmp_path / "ic50_shift.png").exists()


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
