"""Experiments: replications with confidence intervals, comparisons, sweeps, sensitivity.

The Python API (everything returns pandas DataFrames or dataclasses of them):

    from sim.experiments import compare, sweep, load_experiment, make_design, read_runs

    res = compare(["scenarios/baohe_before.yaml", "scenarios/baohe_after.yaml"],
                  replications=5, out="results/baohe", workers=2)
    res.comparison          # scenario, metric, mean, ci_low, ci_high, sd, n, diff_*
    res.runs                # one row per run

    exp = load_experiment("experiments/staffing.yaml")
    make_design(exp).points  # the design points
    s = sweep(exp, "results/staffing", backend="process", workers=4)
    s.points, s.sobol, s.morris, read_runs("results/staffing")

See docs/experiments.md and experiments/example_api.py.
"""

from .backends import DaskBackend, ProcessBackend, RunTask, SerialBackend, make_backend, run_task
from .compare import CompareResult, compare
from .design import Design, make_design
from .seeds import SeedPlan, replication_seeds
from .sensitivity import morris_indices, sobol_indices
from .spec import Experiment, experiment_from_dict, load_experiment
from .stats import comparison_table, point_summary, t_interval
from .store import read_runs, read_timeseries
from .sweep import SweepResult, sweep

__all__ = [
    "CompareResult", "DaskBackend", "Design", "Experiment", "ProcessBackend", "RunTask",
    "SeedPlan", "SerialBackend", "SweepResult", "compare", "comparison_table",
    "experiment_from_dict", "load_experiment", "make_backend", "make_design", "morris_indices",
    "point_summary", "read_runs", "read_timeseries", "replication_seeds", "run_task",
    "sobol_indices", "sweep", "t_interval",
]
