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

Names are imported on first use, so `cogov` starts fast. See docs/experiments.md and
experiments/example_api.py.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "backends": ["DaskBackend", "ProcessBackend", "RunTask", "SerialBackend", "make_backend",
                 "run_task"],
    "compare": ["CompareResult", "compare"],
    "design": ["Design", "make_design"],
    "explain": ["ExplainResult", "explain"],
    "robustness": ["RobustnessResult", "load_ranges", "robustness"],
    "seeds": ["SeedPlan", "replication_seeds"],
    "sensitivity": ["morris_indices", "sobol_indices"],
    "spec": ["Experiment", "experiment_from_dict", "load_experiment"],
    "stats": ["comparison_table", "point_summary", "t_interval"],
    "store": ["read_runs", "read_timeseries"],
    "sweep": ["SweepResult", "sweep"],
}
_WHERE = {name: mod for mod, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
