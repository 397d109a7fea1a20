"""``cafev fit``: users' own plate data through the same fitter, and the errors a malformed file gets."""
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.errors import InvalidValueError, SpecError
from sim.plate import read_plate_csv

DRC = Path(__file__).parent / "data" / "drc"


def _ryegrass_plate(path, with_replicate=True):
    data = pd.read_csv(DRC / "ryegrass.csv")
    rows = ["condition,dose,response" + (",replicate" if with_replicate else "")]
    for i, (d, r) in enumerate(zip(data["dose"], data["response"])):
        rows.append(f"ryegrass,{d},{r}" + (f",{i % 3 + 1}" if with_replicate else ""))
    path.write_text("\n".join(rows) + "\n")
    return path


def test_fit_command_reproduces_drc_on_counts(tmp_path, capsys):
    # ryegrass root lengths are raw values: --control dose0 divides by the dose-0 mean, which leaves drc's e
    # (Ritz et al. 2015; tests/data/drc/expected.toml) unchanged and scales c, d by that mean
    plate = _ryegrass_plate(tmp_path / "plate.csv")
    out = tmp_path / "out"
    assert main(["fit", str(plate), "--control", "dose0", "-o", str(out)]) == 0
    assert "ryegrass" in capsys.readouterr().out
    fits = pd.read_csv(out / "fits.csv")
    assert list(fits.columns[:10]) == ["condition", "bottom", "top", "ic50", "hill", "bottom_se", "top_se",
                                       "ic50_se", "hill_se", "status"]
    exp = tomllib.loads((DRC / "expected.toml").read_text())["ryegrass"]
    row = fits.iloc[0]
    control_mean = pd.read_csv(DRC / "ryegrass.csv").query("dose == 0")["response"].mean()
    assert row["ic50"] == pytest.approx(exp["e"], rel=1e-4)
    assert row["hill"] == pytest.approx(exp["b"], rel=1e-4)
    assert row["top"] * control_mean == pytest.approx(exp["d"], rel=1e-4)
    assert row["ic50_se"] == pytest.approx(exp["e_se"], rel=1e-3)
    assert row["status"] == "ok" and row["n_replicates"] == 3
    assert (out / "dose_response.png").read_bytes()[:4] == b"\x89PNG"


def test_fractions_need_no_control(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("condition,dose,response\n" + "".join(f"a,{d},{v}\n" for d, v in
                                                          [(0, 1), (0.1, 0.95), (1, 0.7), (10, 0.3), (100, 0.1)]))
    table = read_plate_csv(path)
    assert table["response"].tolist() == [1, 0.95, 0.7, 0.3, 0.1]
    assert read_plate_csv(path, control="2")["response"].iloc[0] == 0.5


@pytest.mark.parametrize("text, message", [
    ("", r"the file is empty"),
    ("condition,dose,resp\na,1,0.5\n", r":1: missing column 'response' \(found 'resp'\?\)"),
    ("condition,dose,response\na,1,0.5\na,x,0.4\n", r":3: 'dose' must be a number. Got 'x'"),
    ("condition,dose,response\na,-1,0.5\n", r":2: 'dose' must be a finite number >= 0"),
    ("condition,dose,response\na,1,nan\n", r":2: 'response' must be a finite number"),
    ("condition,dose,response\na,1\n", r":2: expected 3 fields as in the header, found 2"),
    ("condition,dose,response\n,1,0.5\n", r":2: 'condition' is empty"),
    ("condition,dose,response\na,1,850\n", r":2: response 850 is not a viability fraction.*--control dose0"),
    ("condition,dose,response\n", r"no data rows"),
])
def test_malformed_files_name_the_line(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(SpecError, match=message):
        read_plate_csv(path)


def test_control_errors(tmp_path, capsys):
    path = tmp_path / "c.csv"
    path.write_text("condition,dose,response\na,1,500\na,2,400\n")
    with pytest.raises(SpecError, match="needs dose-0 rows in every condition; none for: a"):
        read_plate_csv(path, control="dose0")
    with pytest.raises(InvalidValueError, match="--control must be 'dose0' or a positive number"):
        read_plate_csv(path, control="zero")
    assert main(["fit", str(tmp_path / "missing.csv")]) == 2
    assert "Plate file not found" in capsys.readouterr().err


def test_non_utf8_file_is_named(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("condition,dose,response\nµ,1,0.5\n".encode("latin-1"))
    with pytest.raises(SpecError, match="not UTF-8 text"):
        read_plate_csv(path)
