"""Means with 95% t-intervals, paired differences, and units read off metric names."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

LEVEL = 0.95


def t_ci(x, level: float = LEVEL) -> tuple[float, float, float, float, int]:
    """(mean, low, high, sd, n) of a t confidence interval for the mean of the finite values
    of `x` (non-numbers, NaN and infinities dropped): cogov's one t-interval.

    With fewer than two values the interval (and sd) are NaN: one run says nothing about noise.
    """
    a = pd.to_numeric(pd.Series(x, dtype=object), errors="coerce").to_numpy(float)
    a = a[np.isfinite(a)]
    n = int(a.size)
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan, 0
    mean = float(a.mean())
    if n < 2:
        return mean, math.nan, math.nan, math.nan, n
    sd = float(a.std(ddof=1))
    from scipy.stats import t as _t

    half = float(_t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half, sd, n


def t_interval(x) -> dict:
    """mean, ci_low, ci_high, sd, n of the finite values of `x` (`t_ci`, 95%)."""
    mean, low, high, sd, n = t_ci(x)
    return {"mean": mean, "ci_low": low, "ci_high": high, "sd": sd, "n": n}


def numeric_metrics(runs: pd.DataFrame, exclude=()) -> list[str]:
    """Summary-metric columns of a runs table, in order (ids, labels and timings excluded)."""
    skip = {"scenario", "replication", "seed", "status", "error", "traceback", "run_id",
            "point", "wall_seconds", "finished", *exclude}
    out = []
    for c in runs.columns:
        if c in skip:
            continue
        col = pd.to_numeric(runs[c], errors="coerce")
        if col.notna().any() or runs[c].isna().all():
            out.append(c)
    return out


def comparison_table(runs: pd.DataFrame, scenarios: list[str],
                     metrics: list[str] | None = None) -> pd.DataFrame:
    """One row per (scenario, metric): mean, CI, sd, n, and the difference to the first scenario
    paired by replication (common random numbers make the pairs comparable) with its CI.

    Only successful runs count; a pair is used when both of its runs succeeded. The first
    scenario's diff columns are empty (it is the reference).
    """
    ok = runs[runs["status"] == "ok"]
    metrics = metrics or numeric_metrics(runs)
    rows = []
    ref = scenarios[0]
    for m in metrics:
        wide = ok.pivot_table(index="replication", columns="scenario", values=m,
                              aggfunc="first", dropna=False) if m in ok else pd.DataFrame()
        for s in scenarios:
            col = wide[s] if s in wide else pd.Series(dtype=float)
            row = {"scenario": s, "metric": m, **t_interval(col)}
            if s == ref:
                row.update(diff_mean=np.nan, diff_ci_low=np.nan, diff_ci_high=np.nan)
            else:
                base = wide[ref] if ref in wide else pd.Series(dtype=float)
                d = pd.to_numeric(col, errors="coerce") - pd.to_numeric(base, errors="coerce")
                ti = t_interval(d)
                row.update(diff_mean=ti["mean"], diff_ci_low=ti["ci_low"],
                           diff_ci_high=ti["ci_high"])
            rows.append(row)
    cols = ["scenario", "metric", "mean", "ci_low", "ci_high", "sd", "n", "diff_mean",
            "diff_ci_low", "diff_ci_high"]
    return pd.DataFrame(rows, columns=cols)


def point_summary(runs: pd.DataFrame, factor_names: list[str], metrics: list[str]) -> pd.DataFrame:
    """Per design point: factor values, runs ok/failed, and mean/CI of each metric."""
    rows = []
    for point, g in runs.groupby("point", sort=True):
        ok = g[g["status"] == "ok"]
        row = {"point": int(point), **{f: g[f].iloc[0] for f in factor_names},
               "runs_ok": len(ok), "runs_failed": len(g) - len(ok)}
        for m in metrics:
            ti = t_interval(ok[m]) if m in ok else t_interval([])
            row.update({f"{m}.mean": ti["mean"], f"{m}.ci_low": ti["ci_low"],
                        f"{m}.ci_high": ti["ci_high"], f"{m}.sd": ti["sd"]})
        rows.append(row)
    return pd.DataFrame(rows)


def unit_of(metric: str) -> str:
    """'%' for shares (`_rate`, `_share`, utilization), 'h' for hours, '/day', or '' (a count)."""
    if metric.endswith("_rate") or "_share" in metric or metric.startswith("utilization."):
        return "%"
    if metric.endswith("_hours") or metric.startswith("staff_hours.") or metric == "grid_hours":
        return "h"
    if metric.endswith("_per_day"):
        return "/day"
    return ""


def fmt(value: float, unit: str, signed: bool = False) -> str:
    """A number in its unit: shares as percentages (points for differences)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    sign = "+" if signed else ""
    if unit == "%":
        return f"{value * 100:{sign}.1f}"
    a = abs(value)
    if value == 0:
        return "0"
    if a >= 1000:
        return f"{value:{sign},.0f}"
    if a >= 10:
        return f"{value:{sign}.1f}"
    if a >= 1:
        return f"{value:{sign}.2f}"
    return f"{value:{sign}.3f}"
