"""Data sets implied by a reported effect size, for calibrating to a seed's fold when its raw data are not at hand.

A seed reports "CAF-EVs raise the IC50 about 5-fold" (Zhang 2014, 003 [66]), not the plate. The data set that
statement implies, under stated assumptions, is: the untreated cells' own dose-response (the model's no-EV curve at
its published defaults, whose IC50 is the drug's reference IC50 of drugs.tsv) and the EV-exposed cells' curve with
the same shape and the IC50 multiplied by the fold, ``v_EV(d) = v_control(d / fold)``; both measured at ``doses``
in ``replicates`` wells with Gaussian noise of SD ``sd`` (default 0.05 viability: the order of the well-to-well
spread of MTT/CCK-8 triplicates, an assumption (M)). Calibrating to it answers "what must the EVs carry to give the
reported fold", with an interval that reflects the assumed noise and design, stated in the output.

``python -m sim.calibration.reported SCENARIO FOLD OUT.csv [--seed N]`` writes such a file.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from sim.build import build_model
from sim.conditions import Condition
from sim.curves import dose_grid
from sim.engines import engine_for
from sim.errors import InvalidValueError
from sim.protocol import AssayProtocol

ASSUMED_SD = 0.05  # viability units; well-to-well spread of a triplicate MTT/CCK-8 read (M)


def reported_fold_data(scenario: str, fold: float, doses=None, replicates: int = 3, sd: float = ASSUMED_SD,
                       seed: int = 0, control: str = "control", exposed: str = "CAF-EV", assay_h: float = 72.0,
                       pretreatment_h: float = 48.0) -> pd.DataFrame:
    """The data set a reported IC50 fold implies (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        condition, dose, response, replicate (the ``cafev fit`` / ``[calibrate] data`` format), doses in uM,
        dose 0 included (response 1 plus noise).
    """
    if not (np.isfinite(fold) and fold > 0):
        raise InvalidValueError(f"The reported 'fold' must be a number > 0. Got {fold}.")
    if replicates < 1 or not (np.isfinite(sd) and sd >= 0):
        raise InvalidValueError(f"'replicates' must be >= 1 and 'sd' >= 0. Got {replicates} and {sd}.")
    model = build_model(scenario)
    doses = dose_grid(model.drug, 8) if doses is None else np.asarray(doses, dtype=float)
    protocol = AssayProtocol(engine_for(model), pretreatment_h)
    values = Condition(name=control).values(model)
    drug_free = protocol.endpoint({**values, "drug_ext": 0.0}, assay_h, ["N_cancer"])[0]

    def viability(d: float) -> float:
        return 1.0 if d == 0 else protocol.endpoint({**values, "drug_ext": d}, assay_h, ["N_cancer"])[0] / drug_free

    rng = np.random.default_rng(seed)
    rows = []
    for name, shift in ((control, 1.0), (exposed, fold)):
        for d in np.concatenate([[0.0], doses]):
            truth = viability(d / shift)
            rows += [{"condition": name, "dose": float(d), "response": round(float(truth + rng.normal(0, sd)), 5),
                      "replicate": r + 1} for r in range(replicates)]
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.calibration.reported", description=__doc__.split("\n")[0])
    parser.add_argument("scenario")
    parser.add_argument("fold", type=float)
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sd", type=float, default=ASSUMED_SD)
    parser.add_argument("--replicates", type=int, default=3)
    args = parser.parse_args(argv)
    table = reported_fold_data(args.scenario, args.fold, replicates=args.replicates, sd=args.sd, seed=args.seed)
    table.to_csv(args.out, index=False)
    print(f"wrote {args.out}: {len(table)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
