"""Same spec + same seed => identical tables (issue #7): byte-identical CSV and Parquet, including LHS and Saltelli
designs, MaBoSS runs and screens, whatever the number of workers; metadata equal but for its timestamp; the seed is
recorded in every result."""
import json
from pathlib import Path

import pytest

from sim.cli import main

pytestmark = pytest.mark.slow  # every test runs an experiment twice

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"


def _run(spec: Path, out: Path, *extra: str) -> Path:
    assert main(["run", str(spec), "--quick", "--quiet", "-o", str(out), *extra]) == 0
    return out


def _tables(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.suffix in (".csv", ".parquet")}


def _metadata(folder: Path) -> dict:
    meta = json.loads((folder / "metadata.json").read_text())
    meta.pop("created")
    return meta


def _lhs_spec(tmp_path: Path, design: str) -> Path:
    text = (EXPERIMENTS / "sweep_copies_per_ev.toml").read_text()
    factor = '{ name = "miR_20a_per_EV", low = 0.001, high = 1000.0, scale = "log", points = 13 }'
    assert factor in text  # a second factor is added after it: a sampled design of two inputs
    text = text.replace('design = "grid"', f'design = "{design}"\nn = 8').replace(
        factor, factor + ',\n  { name = "k_escape", low = 0.02, high = 0.1, scale = "log" }')
    path = tmp_path / f"sweep_{design}.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("design", ["lhs", "saltelli"])
def test_a_sampled_sweep_is_byte_identical_across_runs_and_worker_counts(tmp_path, design):
    spec = _lhs_spec(tmp_path, design)
    one = _run(spec, tmp_path / "one", "--workers", "1")
    two = _run(spec, tmp_path / "two", "--workers", "2")
    first, second = _tables(one), _tables(two)
    assert {"sweep.csv", "sweep.parquet"} <= set(first)
    assert {k: v for k, v in first.items() if not k.startswith("parts/")} == {
        k: v for k, v in second.items() if not k.startswith("parts/")}
    if design == "saltelli":
        assert first["indices.csv"] == second["indices.csv"]  # SALib's bootstrap CIs are seeded too
    assert _metadata(one) == _metadata(two) and _metadata(one)["seed"] == 0


def test_changing_the_seed_changes_a_sampled_design(tmp_path):
    spec = _lhs_spec(tmp_path, "lhs")
    seeded = tmp_path / "seed7.toml"
    seeded.write_text(spec.read_text().replace("seed = 0", "seed = 7"))
    a, b = _run(spec, tmp_path / "a"), _run(seeded, tmp_path / "b")
    assert _tables(a)["sweep.csv"] != _tables(b)["sweep.csv"]
    assert json.loads((b / "metadata.json").read_text())["seed"] == 7


def test_boolean_maboss_runs_are_byte_identical(tmp_path):
    # boolean_pdac_gem.toml cut to 3 of its conditions (a plain one, co-culture, and a GW4869 mixture of cells) and
    # 2 of its knockouts: every MaBoSS run of the analysis, in half the time (the whole experiment runs in quick mode
    # in tests/test_boolean_cafev.py)
    text = (EXPERIMENTS / "boolean_pdac_gem.toml").read_text()
    knockouts = 'knockouts = ["PTEN", "TP53INP1", "ACSL4", "APAF1", "nSMase2"]'
    assert knockouts in text
    text = text.replace(knockouts, 'knockouts = ["ACSL4", "nSMase2"]')
    kept = [block for block in text.split("[[conditions]]")[1:]
            if any(f'name = "{n}"' in block for n in ("control", "CAF-EV (co-culture)", "CAF-EV + GW4869 5 uM"))]
    assert len(kept) == 3
    spec = tmp_path / "boolean.toml"
    spec.write_text(text.split("[[conditions]]")[0] + "".join("[[conditions]]" + block for block in kept))
    first, second = _tables(_run(spec, tmp_path / "a")), _tables(_run(spec, tmp_path / "b"))
    assert {"outcomes.csv", "probabilities.csv", "dose_response.csv", "attractors.csv"} <= set(first)
    assert first == second


def test_screens_are_byte_identical(tmp_path):
    spec = EXPERIMENTS / "screen_caf_side.toml"
    a = _run(spec, tmp_path / "a", "--workers", "2")
    b = _run(spec, tmp_path / "b", "--workers", "1")
    first, second = _tables(a), _tables(b)
    shown = {k: v for k, v in first.items() if "/" not in k}  # the assembled tables (parts are chunked per run)
    assert {"ranking.csv", "screen.csv", "screen.parquet", "boolean.csv"} <= set(shown)
    assert shown == {k: v for k, v in second.items() if "/" not in k}
    assert _metadata(a) == _metadata(b)
