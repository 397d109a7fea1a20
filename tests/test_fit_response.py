"""``cafev fit --response raw|fraction|percent`` (issue #17, item 4): raw responses are fitted as drc fits them.

Known answers: R drc's printed ``summary(drm(y ~ x, fct = LL.4()))`` in tests/data/drc/expected.toml (sources
there; Ritz et al. 2015 PLoS ONE 10:e0146021), with the bars of test_fit_drc.py (estimates to 4 significant digits,
SEs within 3% and, since the full Hessian is used, to 1e-3).

- ryegrass (Inderjit et al. 2002; root length in cm) with ``--response raw``: drc's b, c, d, e and their SEs as
  printed, in the data's own units.
- A viability-fraction data set: secalonic (Gong et al. 2004; root length in cm, one row per dose) divided by its
  drug-free control (5.5 cm, the dose-0 row), i.e. root length as a fraction of the untreated control. LL.4 least
  squares is equivariant under y -> y / k: drc's fit of y / k is b, c / k, d / k, e, with SE(b), SE(e) unchanged,
  SE(c) / k, SE(d) / k and RSE / k. So drc's printed secalonic output is the known answer of its fraction form.
- ``--response percent`` of the same fractions x 100 gives the fraction fit (divided by 100, said in data.csv).
"""
import math
import tomllib
from pathlib import Path

import pandas as pd
import pytest

import sim.plate
from sim.cli import main
from sim.errors import InvalidValueError, SpecError
from sim.fit import fit_ll4, ll4
from sim.plate import read_plate_csv, run_fit

DRC = Path(__file__).parent / "data" / "drc"
EXPECTED = tomllib.loads((DRC / "expected.toml").read_text())
NAMES = {"b": "hill", "c": "bottom", "d": "top", "e": "ic50"}


def _plate(path: Path, name: str, scale: float = 1.0) -> Path:
    data = pd.read_csv(DRC / f"{name}.csv")
    path.write_text("condition,dose,response\n" + "".join(f"{name},{d!r},{r * scale!r}\n"
                                                         for d, r in zip(data["dose"], data["response"])))
    return path


def _assert_drc(row, exp, k: float = 1.0):
    """Row of fits.csv against drc's printed fit of the response divided by ``k``."""
    for drc, ours in NAMES.items():
        k_of = k if drc in "cd" else 1.0  # c, d scale with the response; b, e do not
        assert row[ours] == pytest.approx(exp[drc] / k_of, rel=1e-4, abs=1e-5 / k), drc
        assert row[f"{ours}_se"] == pytest.approx(exp[f"{drc}_se"] / k_of, rel=1e-3), f"{drc}_se"
    assert row["rse"] == pytest.approx(exp["rse"] / k, rel=1e-5)
    assert row["df"] == exp["df"]


def test_raw_ryegrass_gives_drc_in_its_own_units(tmp_path, capsys, monkeypatch):
    labels = []
    write_figure = sim.plate.write_figure

    def capture(fig, path):  # the figure run_fit writes: its response axis must say raw units
        labels.append(fig.axes[0].get_ylabel())
        return write_figure(fig, path)

    monkeypatch.setattr(sim.plate, "write_figure", capture)
    out = tmp_path / "out"
    assert main(["fit", str(_plate(tmp_path / "ryegrass.csv", "ryegrass")), "--response", "raw", "-o", str(out)]) == 0
    assert "ic50 = drc's e" in capsys.readouterr().out
    exp, row = EXPECTED["ryegrass"], pd.read_csv(out / "fits.csv", dtype={"ic50_report": str}).iloc[0]
    _assert_drc(row, exp)
    b, c, d, e = (exp[p] for p in "bcde")
    # the absolute IC50 of raw data: where the curve falls to half its fitted untreated level d (closed form)
    assert row["ic50_level"] == pytest.approx(d / 2, rel=1e-4) and row["response"] == "raw"
    assert row["ic50_abs"] == pytest.approx(e * ((d - c) / (d / 2 - c) - 1) ** (1 / b), rel=1e-4)
    assert row["status"] == "ok" and row["ic50_report"] == f"{row['ic50_abs']:.4g}"
    data = pd.read_csv(out / "data.csv")
    assert (data["response"] == data["raw_response"]).all() and (data["normalised_by"] == 1).all()  # as given
    assert labels == ["response (raw units, as in the file)"]
    assert (out / "dose_response.png").read_bytes()[:4] == b"\x89PNG"


def test_raw_ic50_is_the_fraction_ic50_against_the_fitted_top():
    # dividing the data by the fitted top and reading 0.5 gives the same dose; the raw SE also carries d's error
    data = pd.read_csv(DRC / "ryegrass.csv")
    raw = fit_ll4(data["dose"], data["response"], response_at="half_untreated")
    scaled = fit_ll4(data["dose"], data["response"] / raw.top)
    assert raw.ic50_abs == pytest.approx(scaled.ic50_abs, rel=1e-7)
    assert raw.ic50_abs_se > scaled.ic50_abs_se > 0
    with pytest.raises(InvalidValueError, match="'response_at' must be a finite number or 'half_untreated'"):
        fit_ll4(data["dose"], data["response"], response_at="half")


@pytest.mark.parametrize("scale, flags", [(1.0, []), (1.0, ["--response", "fraction"]),
                                          (100.0, ["--response", "percent"])])
def test_viability_fractions_and_percent_match_drc(scale, flags, tmp_path):
    control = 5.5  # secalonic's dose-0 root length (cm): the data as fractions of the untreated control
    plate = _plate(tmp_path / "secalonic.csv", "secalonic", scale / control)
    assert main(["fit", str(plate), *flags, "-o", str(tmp_path / "out")]) == 0
    row = pd.read_csv(tmp_path / "out" / "fits.csv").iloc[0]
    _assert_drc(row, EXPECTED["secalonic"], k=control)
    assert row["ic50_level"] == 0.5 and row["response"] == ("percent" if scale == 100 else "fraction")
    data = pd.read_csv(tmp_path / "out" / "data.csv")
    assert (data["normalised_by"] == scale).all()  # percent: divided by 100, and data.csv says so
    assert data["response"].iloc[0] == pytest.approx(1.0)


def test_percent_is_fraction_times_100(tmp_path):
    fraction = run_fit(_plate(tmp_path / "f.csv", "secalonic", 1 / 5.5), tmp_path / "f")[0]
    percent = run_fit(_plate(tmp_path / "p.csv", "secalonic", 100 / 5.5), tmp_path / "p", response="percent")[0]
    numbers = fraction.select_dtypes("number").columns
    pd.testing.assert_frame_equal(percent[numbers], fraction[numbers], rtol=1e-8)
    assert percent["status"].tolist() == fraction["status"].tolist() == ["ok"]


def test_raw_units_are_never_refused_nor_judged_flat_on_an_absolute_scale(tmp_path):
    # counts in the tens of thousands, and a growth rate of a few hundredths: both fitted as given
    dose = [0, 0, 0.01, 0.03, 0.1, 0.3, 1, 3, 10]
    for top, bottom in ((52000.0, 3000.0), (0.03, 0.004)):
        path = tmp_path / f"r{top:g}.csv"
        path.write_text("condition,dose,response\n" + "".join(
            f"a,{d},{float(ll4(d, 1.2, bottom, top, 0.2))!r}\n" for d in dose))
        fits, _ = run_fit(path, tmp_path / f"o{top:g}", response="raw")
        row = fits.iloc[0]
        assert (row["top"], row["bottom"], row["ic50"]) == pytest.approx((top, bottom, 0.2), rel=1e-6)
        assert row["status"] == "ok"  # a range of 0.026 is 87% of this curve's top: not flat
        assert row["ic50_abs"] == pytest.approx(0.2 * ((top - bottom) / (top / 2 - bottom) - 1) ** (1 / 1.2))


def test_count_like_responses_without_response_say_what_to_pass(tmp_path, capsys):
    plate = _plate(tmp_path / "ryegrass.csv", "ryegrass")
    assert main(["fit", str(plate), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert (f"{plate}:8: response 8.35556 is not a viability fraction, as --response fraction (the default) reads "
            f"it. For raw values (counts, lengths, signal) pass --response raw") in err
    assert "--control dose0|COUNT" in err and "--response percent" in err
    assert not (tmp_path / "o").exists()
    percent = tmp_path / "p.csv"
    percent.write_text("condition,dose,response\na,0,100\na,1,850\n")
    with pytest.raises(SpecError, match=r":3: response 850% is not a percent of control \(above 200%\)"):
        read_plate_csv(percent, response="percent")


def test_response_and_control_errors(tmp_path, capsys):
    plate = _plate(tmp_path / "ryegrass.csv", "ryegrass")
    with pytest.raises(SystemExit):  # argparse: exit status 2 with the choices
        main(["fit", str(plate), "--response", "rawr"])
    assert "invalid choice: 'rawr' (choose from 'fraction', 'percent', 'raw')" in capsys.readouterr().err
    with pytest.raises(InvalidValueError, match=r"--response must be one of fraction, percent, raw. Got 'Raw'. "
                                                r"Did you mean 'raw'\?"):
        read_plate_csv(plate, response="Raw")
    assert main(["fit", str(plate), "--response", "raw", "--control", "dose0"]) == 2
    assert ("--control cannot be combined with --response raw: raw fits the responses as given, in their own units"
            in capsys.readouterr().err)
    with pytest.raises(InvalidValueError, match="--response percent: percent responses are already normalised"):
        read_plate_csv(plate, control="dose0", response="percent")
    counts = read_plate_csv(plate, control="dose0")  # the default fraction with --control: counts / dose-0 mean
    mean = pd.read_csv(DRC / "ryegrass.csv").query("dose == 0")["response"].mean()
    assert counts["normalised_by"].tolist() == pytest.approx([mean] * len(counts))
    assert math.isclose(counts["response"].iloc[0], 7.58 / mean)


def test_percent_refuses_fractions_and_a_file_without_conditions_is_one_condition(tmp_path):
    # fractions given as percent would be fitted as a curve at ~1% of control: refused, naming the way out
    path = tmp_path / "fractions.csv"
    path.write_text("condition,dose,response\na,0,1.0\na,1,0.6\na,10,0.2\n")
    with pytest.raises(SpecError, match=r"fractions.csv:2: the largest response is 1, which reads as a viability "
                                        r"fraction, not as percent"):
        read_plate_csv(path, response="percent")
    # drc's own example has no condition column: the file is one condition, named after it (ryegrass, drc's b and e)
    table = read_plate_csv(DRC / "ryegrass.csv", response="raw")
    assert set(table["condition"]) == {"ryegrass"}
