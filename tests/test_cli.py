"""The command line as a user runs it, including the README's main job in quick mode."""
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.budget import budget_columns
from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
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
    # the delivery budget is in every table (sim.budget): nothing delivered without EVs, something in co-culture,
    # and no site represses its target beyond the ceiling (mirna_max_repression) or below 1
    model = sim.build_model("pdac_gem")
    columns = budget_columns(model)
    assert {"delivered_miR_3173_5p", "loaded_miR_3173_5p", "repression_miR_3173_5p_ACSL4",
            "ev_internalised_fraction"} <= set(columns)
    for name in ("dose_response.csv", "fits.csv", "shifts.csv"):
        assert set(columns) <= set(pd.read_csv(tmp_path / name).columns), name
    assert shifts.loc["control", "delivered_miR_3173_5p"] == 0
    coculture = [c for c in shifts.index if c.startswith("CAF-EV ")]  # every CAF co-culture, GW4869 included
    assert len(coculture) == 20 and (shifts.loc[coculture, "delivered_miR_3173_5p"] > 0).all()
    repression = shifts[[c for c in columns if c.startswith("repression_")]].to_numpy()  # miRNA sites only here
    assert np.nanmax(repression) <= model.defaults["mirna_max_repression"] * (1 + 1e-6)
    assert np.nanmin(repression) >= 1.0
    assert set(columns) <= set(meta["delivery_budget"]["control"])
    assert any("Chevillet" in line for line in meta["delivery_notes"])


@pytest.mark.slow
def test_timecourse_job_quick(tmp_path, capsys):
    spec = "experiments/pdac_gem_timecourse.toml"
    assert main(["run", str(ROOT / spec), "--quick", "-o", str(tmp_path)]) == 0
    assert "CAF-EV (co-culture)" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "timecourse.csv")
    # quick: 13 points of the drug phase and 6 of the 48-h pretreatment (its last point is the drug phase's first)
    assert table["condition"].nunique() == 5 and len(table) == 5 * (13 + 5) and table["time_h"].min() == -48
    summary = pd.read_csv(tmp_path / "summary.csv").set_index("condition")
    assert summary.loc["no EV", "delivered_miR_3173_5p"] == 0 < summary.loc["CAF-EV (co-culture)", "delivered_miR_3173_5p"]
    assert set(budget_columns(sim.build_model("pdac_gem"))) <= set(summary.columns)  # the delivery budget
    assert summary.loc["EV addition 50 ug/mL", "delivered_miR_3173_5p"] > 0
    assert (tmp_path / "timecourse.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
@pytest.mark.parametrize("spec", sorted(p.name for p in (ROOT / "experiments").glob("*_dose_response.toml"))
                         + ["gw4869_coculture_vs_addition.toml"])
def test_every_dose_response_experiment_runs_quick(spec, tmp_path):
    assert main(["run", str(ROOT / "experiments" / spec), "--quick", "-o", str(tmp_path)]) == 0
    shifts = pd.read_csv(tmp_path / "shifts.csv").set_index("condition")
    assert (shifts["status"] == "ok").all(), shifts["status"]
    meta = json.loads((tmp_path / "metadata.json").read_text())
    # quick: 6 doses log-spaced from the lowest to the highest (a geometric grid: one ratio between neighbours)
    doses = np.asarray(meta["doses_uM"])
    assert len(doses) == 6 and np.allclose(doses[1:] / doses[:-1], (doses[-1] / doses[0]) ** (1 / 5), rtol=1e-12)
    table = pd.read_csv(tmp_path / "dose_response.csv")
    assert sorted(table["dose_uM"].unique()) == pytest.approx([0.0, *doses], rel=1e-12)  # and the drug-free point
    # relative viability is the cell count over the same condition's drug-free count (1 at dose 0), and GR is
    # Hafner et al. 2016 (Nat Methods 13:521), eq. 1: 2^(log2(x(c)/x0) / log2(x_ctrl/x0)) - 1
    drug_free = table[table["dose_uM"] == 0].set_index("condition")["cells_end"]
    np.testing.assert_allclose(table["cells_control"], table["condition"].map(drug_free), rtol=1e-12)
    np.testing.assert_allclose(table["viability"], table["cells_end"] / table["cells_control"], rtol=1e-12)
    assert (table.loc[table["dose_uM"] == 0, ["viability", "gr"]] == 1.0).all().all()
    x0, x, ctrl = table["cells_start"], table["cells_end"], table["cells_control"]
    np.testing.assert_allclose(table["gr"], 2 ** (np.log2(x / x0) / np.log2(ctrl / x0)) - 1, rtol=1e-9, atol=1e-12)
    # IC50 fold = IC50(condition) / IC50(control), inside its 4PL fit-SE interval (a fit diagnostic)
    control = meta["control"]
    np.testing.assert_allclose(shifts["ic50_fold"], shifts["ic50_uM"] / shifts.loc[control, "ic50_uM"], rtol=1e-12)
    assert shifts.loc[control, "ic50_fold"] == 1.0
    assert (shifts["ic50_fold_fit_se_low"] <= shifts["ic50_fold"]).all()
    assert (shifts["ic50_fold"] <= shifts["ic50_fold_fit_se_high"]).all()
    for png in ("dose_response.png", "ic50_shift.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png


def test_every_experiment_file_validates_to_what_it_says():
    # the validated spec holds what the TOML file says (read here with the standard library's parser): the name
    # (= the file's stem), the one analysis table, each scalar setting and each condition's scalar settings
    import tomllib

    from sim.analyses import get_analysis
    from sim.spec import load_spec

    files = sorted((ROOT / "experiments").glob("*.toml"))
    assert len(files) >= 20
    for path in files:
        raw, spec = tomllib.loads(path.read_text()), load_spec(path)
        analysis = raw["experiment"]["analysis"]
        assert spec.experiment.name == raw["experiment"]["name"] == path.stem, path.name
        assert spec.experiment.analysis == analysis and spec.experiment.scenario == raw["experiment"]["scenario"]
        options = set(get_analysis(analysis).options)  # optional tables of the analysis, e.g. [uncertainty]
        assert set(raw) - options == {"experiment", analysis, "conditions"}, path.name  # no stray table
        for table in [analysis] + sorted(options & set(raw)):
            settings = getattr(spec, table)
            for key, value in raw[table].items():
                if not isinstance(value, (dict, list)) or all(not isinstance(v, (dict, list)) for v in value):
                    assert getattr(settings, key) == value, (path.name, key)
        assert [c.name for c in spec.conditions] == [c["name"] for c in raw["conditions"]], path.name
        for cond, given in zip(spec.conditions, raw["conditions"]):
            for key, value in given.items():
                if not isinstance(value, (dict, list)):
                    assert getattr(cond, key) == value, (path.name, cond.name, key)


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


@pytest.mark.slow
def test_the_installed_console_script_runs(tmp_path):
    # the `cafev` command that `pip install` writes next to the interpreter (pyproject [project.scripts]), run as a
    # user runs it, from another directory
    import shutil
    import tomllib

    script = Path(sys.executable).parent / "cafev"
    script = str(script) if script.exists() else shutil.which("cafev")
    assert script, "the cafev console script is not installed: pip install -e '.[test]' (README)"
    run = lambda *args: subprocess.run([script, *args], capture_output=True, text=True, cwd=tmp_path)  # noqa: E731
    listed = run("list", "scenarios")
    assert listed.returncode == 0, listed.stderr
    shown = {line.split()[0] for line in listed.stdout.splitlines()[1:] if line.strip()}
    presets = tomllib.loads((ROOT / "models" / "scenarios.toml").read_text())
    assert shown == set(presets) - {"base"}  # every preset of models/scenarios.toml, nothing else
    parameters = run("list", "parameters")
    ln2 = next(line.split() for line in parameters.stdout.splitlines() if line.split()[:1] == ["ln2"])
    assert float(ln2[1]) == pytest.approx(math.log(2), rel=1e-6)  # printed to 7 significant digits
    # `cafev fit` on exact 4-parameter log-logistic data (R drc's LL.4: c + (d - c) / (1 + (x/e)^b)) returns its
    # parameters, and the absolute IC50 (response 0.5) is e * ((d - c)/(0.5 - c) - 1)^(1/b)
    b, c, d, e = 1.5, 0.1, 1.0, 2.5
    doses = [0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
    rows = "".join(f"toy,{x!r},{c + (d - c) / (1 + (x / e) ** b)!r}\n" for x in doses)
    (tmp_path / "curve.csv").write_text("condition,dose,response\n" + rows)
    fitted = run("fit", "curve.csv", "-o", "fit")
    assert fitted.returncode == 0, fitted.stderr
    header, values = (line.split() for line in fitted.stdout.splitlines()[:2])
    printed = dict(zip(header, values))
    assert printed["condition"] == "toy" and printed["status"] == "ok"
    assert float(printed["ic50"]) == pytest.approx(e, rel=1e-3)  # printed to 4 significant digits
    assert float(printed["hill"]) == pytest.approx(b, rel=1e-3)
    fits = pd.read_csv(tmp_path / "fit" / "fits.csv").set_index("condition")
    assert fits.loc["toy", ["ic50", "hill", "bottom", "top"]].tolist() == pytest.approx([e, b, c, d], rel=1e-6)
    assert fits.loc["toy", "ic50_abs"] == pytest.approx(e * ((d - c) / (0.5 - c) - 1) ** (1 / b), rel=1e-6)
