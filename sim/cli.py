"""The ``cafev`` command: run experiments, list the catalogue, export SBML.

Usage::

    cafev run experiments/gw4869_reversal.toml | gw4869_reversal [-o DIR] [--quick]
    cafev calibrate experiments/calibrate_ovarian_ptx_pgp.toml | calibrate_ovarian_ptx_pgp [-o DIR] [--workers N]
    cafev fit plate.csv [-o DIR] [--response fraction|percent|raw] [--control dose0|COUNT]
    cafev attractors model.bnet|model.sbml [--update async|sync] [--fix NODE=0 ...] [-o DIR]
    cafev compare pdac_gem|all [-o DIR]
    cafev list [scenarios|experiments|interventions|drugs|cargo|parameters|genes]
    cafev export-sbml pdac_gem -o pdac_gem.xml
    cafev export-sbml --qual [cafev|model.bnet|model.sbml] -o cafev_qual.sbml
    cafev export-omex experiments/pdac_gem_timecourse.toml | pdac_gem_timecourse -o pdac_gem_timecourse.omex [--rtol R]
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import pandas as pd

from sim.analyses.compare import compare
from sim.boolean.conditions import network_path, node_table
from sim.boolean.qual import write_sbml_qual
from sim.build import build_model
from sim.catalogue import load_catalogue
from sim.engines.boolean import attractors, load_network, summary_line
from sim.errors import CafevError, Interrupted, InvalidValueError, closest
from sim.engines.base import Tolerances
from sim.experiment import run_experiment
from sim.omex import export_omex
from sim.plate import DEFAULT_RESPONSE, RESPONSES, run_fit
from sim.results import RESULTS_DIR, write_table
from sim.sbml import check_sbml
from sim.spec import load_spec, shipped_experiments
from sim.textfiles import read_toml

SHIPPED_LOGICAL_MODEL = "cafev"  # `export-sbml --qual` name of models/boolean/cafev.bnet
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


def _export_qual(model: str | None, out: str) -> None:
    """``export-sbml --qual [MODEL]``: the shipped logical model ('cafev', the default; nodes.tsv's meanings go
    into the species' notes) or any .bnet/SBML-qual file, as SBML-qual."""
    if model in (None, SHIPPED_LOGICAL_MODEL):
        network = load_network(network_path())
        notes = {r["node"]: f"{r['kind']}: {r['meaning']} [{r['reference']}]" for r in node_table()}
    else:
        path = Path(model)
        if not path.is_file():
            scenarios = load_catalogue().scenarios
            if model in scenarios:
                raise InvalidValueError(f"--qual exports a logical model, and '{model}' is a scenario preset: the "
                                        f"logical model is one network for every scenario (a scenario only sets "
                                        f"its inputs). Drop --qual for the scenario's ODE model, or give --qual "
                                        f"'{SHIPPED_LOGICAL_MODEL}' (the default) or a .bnet/SBML-qual file.")
            if path.suffix or len(path.parts) > 1:
                raise InvalidValueError(f"--qual: no such file: {path}. --qual takes a .bnet or SBML-qual file, "
                                        f"or '{SHIPPED_LOGICAL_MODEL}' (the shipped logical model, the default).")
            hint = f" Did you mean '{SHIPPED_LOGICAL_MODEL}'?" if closest(model, [SHIPPED_LOGICAL_MODEL]) else ""
            raise InvalidValueError(f"--qual takes '{SHIPPED_LOGICAL_MODEL}' (the shipped logical model, the "
                                    f"default) or a path to a .bnet or SBML-qual file; '{model}' is neither "
                                    f"(no such file).{hint}")
        network, notes = load_network(path), None
    written = write_sbml_qual(network, out, notes)
    rules = len(network.nodes) - len(network.inputs)
    print(f"{network.name}: {len(network.nodes)} nodes ({len(network.inputs)} inputs as constant species, "
          f"{rules} transitions)\n{written}")


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
    p_fit.add_argument("--control", help="raw counts to fractions: 'dose0' (divide by each condition's dose-0 "
                                         "mean) or a control count (divide by it)")
    p_fit.add_argument("--response", choices=RESPONSES, default=DEFAULT_RESPONSE,
                       help="what the response column holds: fraction (default; viability, 1 = control; with "
                            "--control, counts divided by the control), percent (of control; divided by 100), "
                            "raw (fitted as given in its own units, as drc; IC50 = dose at half the fitted "
                            "untreated level)")
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
    p_exp = sub.add_parser("export-sbml", help="write a scenario's ODE model as SBML Level 3, or with --qual the "
                                               "logical model (or any .bnet) as SBML-qual")
    p_exp.add_argument("model", nargs="?", metavar="SCENARIO|MODEL",
                       help="a scenario preset (cafev list scenarios); with --qual: 'cafev', the shipped logical "
                            "model (default), or a .bnet or SBML-qual file")
    p_exp.add_argument("--qual", action="store_true", help="write a logical model as SBML-qual (SBML L3 qual v1)")
    p_exp.add_argument("-o", "--out", required=True, help="output file (.xml or .sbml)")
    p_omex = sub.add_parser("export-omex", help="write a time-course experiment as a COMBINE archive (SBML + "
                                                "SED-ML L1V4) that SED-ML tools run without cafev")
    p_omex.add_argument("spec", help="a timecourse experiment (TOML), or the name of a shipped one")
    p_omex.add_argument("-o", "--out", required=True, help="output .omex file")
    p_omex.add_argument("--rtol", type=float, help="CVODE relative tolerance of the states and the archive "
                                                   "(default cafev's, 1e-6; e.g. 1e-10 to compare tools)")
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
            fits, files = run_fit(args.data, args.out, args.control, args.response)
            shown = fits[["condition", "ic50", "ic50_se", "hill", "bottom", "top", "ic50_report", "status"]]
            with pd.option_context("display.width", 160, "display.float_format", "{:.4g}".format):
                print(shown.to_string(index=False))
            print("\nwrote:")
            for f in files:
                print(f"  {f}")
            if args.response == "raw":
                print("raw responses: bottom and top in the data's units; ic50 = drc's e (halfway between bottom "
                      "and top); ic50_report = the dose at half of the fitted untreated level (ic50_level).")
        elif args.command == "attractors":
            _attractors(args)
        elif args.command == "compare":
            _compare(args)
        elif args.command == "list":
            with pd.option_context("display.width", 200, "display.max_rows", 500, "display.max_colwidth", 60):
                print(_list(args.what).to_string(index=False))
        elif args.command == "export-omex":
            tolerances = Tolerances(rtol=args.rtol) if args.rtol is not None else None
            print(export_omex(args.spec, args.out, tolerances))
        elif args.command == "export-sbml" and args.qual:
            _export_qual(args.model, args.out)
        elif args.command == "export-sbml":
            if args.model is None:
                raise InvalidValueError("export-sbml needs a scenario preset (cafev list scenarios), e.g. "
                                        "'cafev export-sbml pdac_gem -o pdac_gem.xml'; for the logical model add "
                                        "--qual: 'cafev export-sbml --qual -o cafev_qual.sbml'.")
            path = Path(args.model)
            if args.model not in load_catalogue().scenarios and (
                    path.suffix.lower() in (".bnet", ".sbml", ".xml") or path.is_file()):
                raise InvalidValueError(f"'{args.model}' names a file, not a scenario preset: export-sbml without "
                                        f"--qual writes a scenario's ODE model. For a logical model (.bnet or "
                                        f"SBML-qual) add --qual: 'cafev export-sbml --qual {args.model} -o "
                                        f"out.sbml'.")
            model = build_model(args.model)
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
