"""The ``cafev`` command: run experiments, list the catalogue, export SBML.

Usage::

    cafev run experiments/gw4869_reversal.toml | gw4869_reversal [-o DIR] [--quick]
    cafev calibrate experiments/calibrate_ovarian_ptx_pgp.toml | calibrate_ovarian_ptx_pgp [-o DIR] [--workers N]
    cafev fit plate.csv [-o DIR] [--control dose0|COUNT]
    cafev attractors model.bnet|model.sbml [--update async|sync] [--fix NODE=0 ...] [-o DIR]
    cafev compare pdac_gem|all [-o DIR]
    cafev list [scenarios|experiments|interventions|drugs|cargo|parameters|genes]
    cafev export-sbml pdac_gem -o pdac_gem.xml
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import pandas as pd

from sim.analyses.compare import compare
from sim.build import build_model
from sim.catalogue import load_catalogue
from sim.engines.boolean import attractors, load_network, summary_line
from sim.errors import CafevError, Interrupted, InvalidValueError
from sim.experiment import run_experiment
from sim.plate import run_fit
from sim.results import RESULTS_DIR, write_table
from sim.sbml import check_sbml
from sim.spec import load_spec, shipped_experiments
from sim.textfiles import read_toml

LISTS = ("scenarios", "experiments", "interventions", "drugs", "cargo", "parameters", "genes")


def _list(what: str) -> pd.DataFrame:
    cat = load_catalogue()
    if what == "scenarios":
        return pd.DataFrame([{"scenario": k, "drug": v.get("drug", "radiation (Gy)"), "cancer": v["cancer"],
                              "title": v["title"]}
                             for k, v in cat.scenarios.items()])
    if what == "experiments":
        rows = []
        for name, path in shipped_experiments().items():
            header = read_toml(path, CafevError, "Experiment spec").get("experiment", {})
            rows.append({"experiment": name, "analysis": header.get("analysis", ""),
                         "scenario": header.get("scenario", ""), "description": header.get("description", "")})
        return pd.DataFrame(rows)
    if what == "interventions":
        return pd.DataFrame([{"id": k, "target": v["target"], "ic50": v["ic50"], "unit": v["unit"],
                              "working_dose": v["working_dose"], "reference": v["reference"]}
                             for k, v in cat.interventions.items()])
    if what == "drugs":
        return pd.DataFrame([{k: v[k] for k in ("drug", "name", "potency_uM", "ent2", "abcb1", "esr1", "reference")}
                             for v in cat.drugs.values()])
    if what == "cargo":
        return pd.DataFrame([{k: r[k] for k in ("cargo", "kind", "target", "effect", "resistance", "cancer",
                                                "drug", "reference")} for r in cat.cargo])
    if what == "genes":
        return pd.DataFrame([{k: r[k] for k in ("gene", "cell", "kind", "meaning")} for r in cat.genes.values()])
    return pd.DataFrame([{k: r[k] for k in ("name", "value", "unit", "meaning")} for r in cat.parameters.values()])


def _fixes(items: list[str]) -> dict[str, int]:
    fixed = {}
    for item in items:
        node, sep, value = item.partition("=")
        if not sep or value.strip() not in ("0", "1") or not node.strip():
            raise InvalidValueError(f"--fix takes NODE=0 or NODE=1. Got {item!r}.")
        fixed[node.strip()] = int(value)
    return fixed


def _attractors(args) -> None:
    fixed = _fixes(args.fix)
    network = load_network(args.model)
    network.fixed(fixed)  # unknown nodes fail here, before any analysis
    table = attractors(network, args.update, fixed, max_free_inputs=None if args.all_inputs else 10)
    folder = Path(args.out) if args.out else RESULTS_DIR / f"attractors_{Path(args.model).stem}"
    path = write_table(table, folder / "attractors.csv")
    print(summary_line(table))
    print(f"wrote:\n  {path}")


def _compare(args) -> None:
    presets = ([name for name, p in load_catalogue().scenarios.items() if p.get("treatment") != "radiation"]
               if args.scenario == "all" else [args.scenario])  # the logical model carries no radiation
    for name in presets:
        load_catalogue().scenario(name)  # unknown scenario: did-you-mean before any work
    tables = []
    for name in presets:
        table = compare(name)
        tables.append(table)
        shown = table[["question", "ode_ic50_fold", "ode_direction", "boolean_death", "boolean_dose_fold",
                       "boolean_direction", "agree"]]
        if len(presets) > 1:
            print(f"{name}:")
        with pd.option_context("display.width", 200, "display.float_format", "{:.3g}".format):
            print(shown.to_string(index=False))
        for _, row in table[~table["agree"]].iterrows():
            print(f"disagreement ({row['question']}): {row['explanation']}")
    table = pd.concat(tables, ignore_index=True)
    folder = Path(args.out) if args.out else RESULTS_DIR / f"compare_{args.scenario}"
    share = f" ({100 * table['agree'].mean():.0f}%)" if len(presets) > 1 else ""
    print(f"{int(table['agree'].sum())}/{len(table)} agree{share}\nwrote:\n  "
          f"{write_table(table, folder / 'compare.csv')}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cafev`` console command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="cafev", description="Simulate CAF-EV-mediated therapy resistance.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run an experiment spec (TOML)")
    p_run.add_argument("spec", help="an experiment spec (TOML), or the name of a shipped one (cafev list experiments)")
    p_run.add_argument("-o", "--out", help="output folder (default results/<experiment>)")
    p_run.add_argument("--quick", action="store_true", help="fewer output points, for smoke tests")
    p_run.add_argument("--workers", type=int, help="sweeps: worker processes (default: all cores)")
    p_run.add_argument("--resume", action="store_true", help="sweeps: continue an interrupted run")
    p_run.add_argument("--quiet", action="store_true", help="no progress bar")
    p_run.add_argument("--scheduler", help="sweeps: run on a Dask distributed scheduler, e.g. tcp://host:8786")
    p_cal = sub.add_parser("calibrate", help="estimate parameters from dose-response data (an experiment with "
                                             "analysis = 'calibrate')")
    p_cal.add_argument("spec", help="a calibrate experiment (TOML), or the name of a shipped one")
    p_cal.add_argument("-o", "--out", help="output folder (default results/<experiment>)")
    p_cal.add_argument("--quick", action="store_true", help="3 starts at most, for smoke tests")
    p_cal.add_argument("--workers", type=int, help="processes for the multi-start (default 1)")
    p_cal.add_argument("--quiet", action="store_true", help="no progress bars")
    p_fit = sub.add_parser("fit", help="fit measured dose-response data (CSV: condition, dose, response)")
    p_fit.add_argument("data", help="CSV with columns condition, dose, response (optional replicate)")
    p_fit.add_argument("-o", "--out", help="output folder (default results/fit_<file stem>)")
    p_fit.add_argument("--control", help="raw counts: 'dose0' (each condition's dose-0 mean) or a control count")
    p_att = sub.add_parser("attractors", help="attractors of a Boolean network (.bnet or SBML-qual)")
    p_att.add_argument("model", help="a .bnet or .sbml/.xml (SBML-qual) file")
    p_att.add_argument("--update", choices=("async", "sync"), default="async")
    p_att.add_argument("--fix", action="append", default=[], metavar="NODE=0|1", help="hold a node (repeatable)")
    p_att.add_argument("--all-inputs", action="store_true", help="allow more than 10 unfixed inputs (slow)")
    p_att.add_argument("-o", "--out", help="output folder (default results/attractors_<model>)")
    p_cmp = sub.add_parser("compare", help="ODE vs Boolean agreement for a scenario preset (or 'all' presets)")
    p_cmp.add_argument("scenario", help="a scenario preset, or 'all'")
    p_cmp.add_argument("-o", "--out", help="output folder (default results/compare_<scenario>)")
    p_list = sub.add_parser("list", help="list scenarios, shipped experiments, interventions, drugs, cargo, "
                                         "parameters or genes")
    p_list.add_argument("what", nargs="?", choices=LISTS, default="scenarios")
    p_exp = sub.add_parser("export-sbml", help="write a scenario's model as SBML Level 3")
    p_exp.add_argument("scenario")
    p_exp.add_argument("-o", "--out", required=True, help="output .xml file")
    args = parser.parse_args(argv)
    try:
        if args.command in ("run", "calibrate"):
            if args.command == "calibrate":
                spec = load_spec(args.spec)
                if spec.experiment.analysis != "calibrate":
                    raise InvalidValueError(f"{args.spec}: 'cafev calibrate' runs experiments with analysis = "
                                            f"'calibrate'; this one's is '{spec.experiment.analysis}' (use "
                                            f"'cafev run').")
                result = run_experiment(spec, args.out, quick=args.quick, workers=args.workers, quiet=args.quiet)
            else:
                result = run_experiment(args.spec, args.out, quick=args.quick, workers=args.workers,
                                        resume=args.resume, quiet=args.quiet, scheduler=args.scheduler)
            with pd.option_context("display.width", 160, "display.max_columns", 20, "display.float_format",
                                   "{:.4g}".format):
                print(result.summary.to_string(index=False))
            if result.summary.attrs.get("footer"):
                print(result.summary.attrs["footer"])
            print("\nwrote:")
            for f in result.files:
                print(f"  {f}")
        elif args.command == "fit":
            fits, files = run_fit(args.data, args.out, args.control)
            shown = fits[["condition", "ic50", "ic50_se", "hill", "bottom", "top", "ic50_report", "status"]]
            with pd.option_context("display.width", 160, "display.float_format", "{:.4g}".format):
                print(shown.to_string(index=False))
            print("\nwrote:")
            for f in files:
                print(f"  {f}")
        elif args.command == "attractors":
            _attractors(args)
        elif args.command == "compare":
            _compare(args)
        elif args.command == "list":
            with pd.option_context("display.width", 200, "display.max_rows", 500, "display.max_colwidth", 60):
                print(_list(args.what).to_string(index=False))
        elif args.command == "export-sbml":
            model = build_model(args.scenario)
            errors = check_sbml(model.sbml)
            if errors:
                raise CafevError("SBML consistency check failed:\n" + "\n".join(errors))
            print(model.write_sbml(args.out))
    except Interrupted as exc:
        words = ["cafev", *(argv if argv is not None else sys.argv[1:])]
        resume = shlex.join(words + ([] if "--resume" in words else ["--resume"]))
        print(f"cafev: {exc}\n  {resume}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("cafev: interrupted. Files written so far are complete (each is written atomically); run the "
              "command again to produce the rest.", file=sys.stderr)
        return 130
    except CafevError as exc:
        print(f"cafev: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early: not an error of the run
        sys.stderr.close()
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
