"""The analysis registry and the spec as a discriminated union on ``analysis`` (issue #13, item 2)."""
import pytest

from sim.analyses import get_analysis, registry
from sim.analyses.base import Analysis
from sim.errors import InvalidValueError, SpecError, UnknownNameError
from sim.experiment import run_experiment
from sim.spec import parse_spec, spec_model

HEADER = {"name": "r", "scenario": "pdac_gem"}
CONDITIONS = [{"name": "control"}, {"name": "CAF-EV", "ev_mode": "coculture"}]


def _spec(analysis: str, **tables) -> dict:
    return {"experiment": {**HEADER, "analysis": analysis}, "conditions": CONDITIONS, **tables}


def test_the_registry_finds_the_eight_analyses_each_with_its_table():
    found = registry()
    assert sorted(found) == ["boolean", "calibrate", "clonogenic", "combination", "dose_response", "screen", "sweep",
                             "timecourse"]
    for name, analysis in found.items():
        assert isinstance(analysis, Analysis) and analysis.name == name
        assert set(spec_model(name).model_fields) == {"experiment", "conditions", name, *analysis.options}
    assert {n for n, a in found.items() if a.parallel} == {"sweep", "screen"}
    assert {n: a.run_options for n, a in found.items() if a.run_options} == {"calibrate": ("workers",)}
    # the one optional table: a dose-response's [uncertainty], absent unless given, which runs points in workers
    assert {n: set(a.options) for n, a in found.items() if a.options} == {"dose_response": {"uncertainty"}}
    plain = parse_spec(_spec("dose_response"))
    assert plain.uncertainty is None and not found["dose_response"].in_workers(plain)
    assert found["dose_response"].in_workers(parse_spec(_spec("dose_response", uncertainty={"samples": 12})))


def test_an_option_table_belongs_to_its_analysis():
    with pytest.raises(SpecError, match=r"uncertainty: is not a known key"):
        parse_spec(_spec("timecourse", uncertainty={"samples": 12}))


def test_a_spec_is_the_model_of_its_analysis_and_holds_only_its_table():
    spec = parse_spec(_spec("dose_response", dose_response={"n_doses": 5}))
    assert type(spec).__name__ == "DoseResponseSpec" and spec.settings.n_doses == 5
    assert not hasattr(spec, "sweep") and "sweep" not in spec.model_dump()


def test_a_stray_table_of_another_analysis_is_refused_naming_it():
    with pytest.raises(SpecError) as err:
        parse_spec(_spec("dose_response", sweep={"n": 8}), "stray.toml")
    message = str(err.value)
    assert message.startswith("stray.toml: the experiment spec is not valid:")
    assert "sweep: is the table of analysis 'sweep', but this experiment's analysis is 'dose_response'" in message


def test_a_stray_table_is_reported_with_the_specs_other_errors():
    with pytest.raises(SpecError) as err:
        parse_spec(_spec("timecourse", screen={}, timecourse={"points": 1}), "two.toml")
    lines = str(err.value).splitlines()[1:]
    assert len(lines) == 2 and lines[0].strip().startswith("screen: is the table of analysis 'screen'")
    assert lines[1].strip().startswith("timecourse.points:")


def test_an_unknown_analysis_suggests_the_closest_and_lists_them():
    with pytest.raises(SpecError) as err:
        parse_spec(_spec("dose_respons"), "typo.toml")
    assert "experiment.analysis: Unknown analysis 'dose_respons'. Did you mean 'dose_response'?" in str(err.value)
    with pytest.raises(UnknownNameError, match="Did you mean 'screen'"):
        get_analysis("scren")


def test_checks_of_an_analysis_run_while_the_spec_is_validated():
    with pytest.raises(SpecError, match=r"dose_response.control names condition 'contrl'.*Did you mean 'control'"):
        parse_spec(_spec("dose_response", dose_response={"control": "contrl"}), "c.toml")
    with pytest.raises(SpecError, match="sweep.factors: a sweep needs at least one factor"):
        parse_spec(_spec("sweep", sweep={"condition": "CAF-EV"}), "s.toml")


def test_worker_options_for_an_analysis_without_workers_fail_before_any_work(tmp_path):
    spec = parse_spec(_spec("timecourse"))
    with pytest.raises(InvalidValueError, match="workers apply to analyses that run points in worker processes"):
        run_experiment(spec, tmp_path / "out", workers=2)
    assert not (tmp_path / "out").exists()


def test_a_shipped_experiment_runs_by_name_and_a_typo_suggests_the_closest():
    from sim.spec import find_spec, load_spec, shipped_experiments

    shipped = shipped_experiments()
    assert "gw4869_reversal" in shipped and len(shipped) == len(list(shipped.values()))
    assert find_spec("gw4869_reversal") == find_spec("gw4869_reversal.toml") == shipped["gw4869_reversal"]
    assert load_spec("pdac_gem_timecourse").experiment.analysis == "timecourse"
    with pytest.raises(SpecError, match="neither a file nor a shipped experiment. Did you mean 'gw4869_reversal'"):
        find_spec("gw4869_revesal")


def test_cafev_list_experiments_names_every_shipped_one_with_its_analysis(capsys):
    from sim.cli import main
    from sim.spec import load_spec, shipped_experiments

    assert main(["list", "experiments"]) == 0
    out = capsys.readouterr().out
    for name, path in shipped_experiments().items():
        line = next(line for line in out.splitlines() if line.split()[:1] == [name])
        assert load_spec(path).experiment.analysis in line.split()


def test_a_scheduler_without_dask_installed_says_how_to_install_it(tmp_path, monkeypatch):
    import importlib.util

    import pandas as pd

    from sim.sweep.runner import run_sweep

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else real(name, *a))
    with pytest.raises(InvalidValueError, match=r"pip install 'cafev\[dask\]'"):
        run_sweep(lambda p: {}, pd.DataFrame({"point": [0], "x": [1.0]}), tmp_path / "s", scheduler="tcp://x:1")
    assert not (tmp_path / "s").exists()  # before any work


def test_a_spec_pickles_as_the_model_of_its_analysis():
    import pickle

    from sim.spec import load_spec

    spec = load_spec("sweep_ev_dose_gw4869")
    again = pickle.loads(pickle.dumps(spec))  # e.g. sent to a worker process
    assert type(again).__name__ == "SweepSpec" and again == spec


def test_an_analysis_that_is_not_a_string_lists_the_analyses():
    spec = _spec("timecourse")
    spec["experiment"]["analysis"] = 5
    with pytest.raises(SpecError, match="experiment.analysis: must be the name of an analysis: boolean, "
                                        "calibrate, clonogenic, combination, dose_response, screen, sweep, "
                                        "timecourse"):
        parse_spec(spec, "n.toml")


def test_without_a_header_the_tables_errors_are_still_reported():
    with pytest.raises(SpecError) as err:
        parse_spec({"timecourse": {"points": 1}, "conditions": CONDITIONS}, "h.toml")
    lines = [line.strip() for line in str(err.value).splitlines()[1:]]
    assert lines == ["timecourse.points: Input should be greater than or equal to 2 (found 1)",
                     "experiment: is required but missing"]
