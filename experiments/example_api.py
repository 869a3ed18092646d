"""Worked example of the experiments API: copy this file and change it.

It does in Python what `cogov compare` and `cogov sweep` do on the command line, and then
analyses the results with plain pandas:

1. compare baohe_before and baohe_after with common random numbers (paired differences);
2. define a small sweep in code (no YAML file), look at its design, run it on local processes;
3. read the run ledger and fit a simple model of the output.

Run from the repository root (under a minute on 2 cores):

    python experiments/example_api.py --out results/example
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments import compare, experiment_from_dict, make_design, read_runs, sweep

ROOT = Path(__file__).resolve().parents[1]

# A tenth of Baohe (one full-size street, district pools cut to a tenth), 90 days: ~1 s per run.
SMALL = {
    "district.generate.streets": 1,
    "district.generate.population": 120000,
    "departments.environment.staff": 3,
    "departments.health.staff": 1,
    "departments.labour.staff": 1,
    "departments.housing.staff": 2,
    "departments.water.staff": 1,
    "run.horizon_days": 90,
    "run.warmup_days": 20,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="results/example", help="output directory")
    ap.add_argument("--workers", type=int, default=2, help="local processes")
    args = ap.parse_args()
    out = Path(args.out)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)

    # ------------------------------------------------------------ 1. compare two scenarios
    # `overrides` are the same `--set path=value` strings the CLI takes.
    res = compare([ROOT / "scenarios/baohe_before.yaml", ROOT / "scenarios/baohe_after.yaml"],
                  replications=4, seed=2019, workers=args.workers, out=out / "compare",
                  overrides=[f"{k}={v}" for k, v in SMALL.items()])
    key = res.comparison[res.comparison["metric"].isin(
        ["repeat_complaint_rate", "throughput_per_day", "mean_time_to_close_hours"])]
    print("compare: mean, 95% CI and the paired difference after - before")
    print(key.round(4).to_string(index=False))
    # every run, with its seed: replication r used the same seed in both scenarios
    print(res.runs[["scenario", "replication", "seed", "repeat_complaint_rate"]])

    # ------------------------------------------------------------ 2. a sweep defined in code
    # The same keys as an experiments/*.yaml file; `base_dir` resolves the scenario path.
    exp = experiment_from_dict({
        "name": "patience_x_triage",
        "scenario": "../scenarios/baohe_after.yaml",
        "set": SMALL,
        "factors": {
            "patience_hours": {"path": "citizens.repeat.patience.mean", "range": [24, 168]},
            "triage_accuracy": {"path": "routing.params.triage_accuracy",
                                "levels": [0.85, 0.95, 1.0]},
        },
        "design": {"kind": "grid", "steps": 3},
        "replications": 2,
        "seed": 2019,
        "outputs": {"metrics": ["repeat_complaint_rate", "throughput_per_day"],
                    "timeseries": True},
    }, base_dir=ROOT / "experiments", source="example_api.py")
    print(make_design(exp).points)                  # 9 design points
    s = sweep(exp, out / "sweep", backend="process", workers=args.workers, resume=True)
    print(f"sweep: {s.count('ok')} of {s.total} runs ok")
    print(s.points.filter(regex=r"^(patience|triage|repeat_complaint_rate\.)").round(4))

    # ------------------------------------------------------------ 3. your own analysis
    # The ledger is SQLite; read_runs gives one row per run (works while a sweep is running).
    runs = read_runs(out / "sweep").query("status == 'ok'")
    X = np.column_stack([np.ones(len(runs)), runs["patience_hours"], runs["triage_accuracy"]])
    beta, *_ = np.linalg.lstsq(X, runs["repeat_complaint_rate"].to_numpy(), rcond=None)
    print(f"repeat-complaint rate ~ {beta[0]:.3f} {beta[1]:+.5f} x patience_hours "
          f"{beta[2]:+.3f} x triage_accuracy (least squares over {len(runs)} runs)")
    print(f"figures: {out}/compare/figures and {out}/sweep/figures")


if __name__ == "__main__":   # needed: worker processes import this file under `spawn`
    main()
