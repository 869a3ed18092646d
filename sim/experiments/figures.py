"""Figures of comparisons, sweeps and sensitivity analyses (matplotlib Agg; PNG and PDF)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .stats import t_interval, unit_of  # noqa: E402

LABELS = {"throughput_per_day": "throughput (cases closed per day)",
          "repeat_complaint_rate": "repeat-complaint rate (%)",
          "backlog": "open cases (backlog)", "repeats": "repeat complaints per day"}


def _label(metric: str) -> str:
    if metric in LABELS:
        return LABELS[metric]
    u = unit_of(metric)
    unit = {"%": " (%)", "h": " (hours)", "/day": " (per day)", "": ""}[u]
    name = metric
    for suffix in ("_hours", "_per_day"):
        name = name.removesuffix(suffix)
    return name.replace("_", " ").replace(".", ": ") + unit


def _scale(metric: str) -> float:
    return 100.0 if unit_of(metric) == "%" else 1.0


def save(fig, stem: Path) -> list[Path]:
    """Save `fig` as STEM.png and STEM.pdf and close it."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        p = stem.parent / f"{stem.name}.{ext}"   # not with_suffix: names hold dots
        fig.savefig(p, dpi=150, bbox_inches="tight")
        paths.append(p)
    plt.close(fig)
    return paths


# ---------------------------------------------------------------- compare
def metric_ci_figure(comparison: pd.DataFrame, metric: str, scenarios: list[str],
                     labels: dict[str, str] | None = None):
    """Mean and 95% CI of `metric` per scenario (`labels`: display names)."""
    g = comparison[comparison["metric"] == metric].set_index("scenario").reindex(scenarios)
    k = _scale(metric)
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(scenarios), 3.6))
    x = np.arange(len(scenarios))
    mean = g["mean"].to_numpy(float) * k
    lo = g["ci_low"].to_numpy(float) * k
    hi = g["ci_high"].to_numpy(float) * k
    err = np.vstack([np.nan_to_num(mean - lo), np.nan_to_num(hi - mean)])
    ax.bar(x, mean, color=[f"C{i}" for i in range(len(x))], alpha=0.75, width=0.6)
    ax.errorbar(x, mean, yerr=err, fmt="none", ecolor="black", capsize=5, lw=1.2)
    ax.set_xticks(x, [(labels or {}).get(s, s) for s in scenarios],
                  rotation=15 if len(scenarios) > 3 else 0)
    ax.set_ylabel(_label(metric))
    n = int(g["n"].max()) if len(g) else 0
    ax.set_title(f"{_label(metric)}\nmean and 95% CI over {n} replications", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return fig


def over_time_figure(ts: pd.DataFrame, column: str, scenarios: list[str],
                     warmup_days: float | None = None, labels: dict[str, str] | None = None):
    """Mean of `column` by day per scenario with a 95% band across replications."""
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for i, s in enumerate(scenarios):
        d = ts[ts["scenario"] == s]
        if d.empty or column not in d:
            continue
        g = d.groupby("day")[column]
        stats = g.apply(lambda v: pd.Series(t_interval(v))).unstack()
        ax.plot(stats.index, stats["mean"], color=f"C{i}", label=(labels or {}).get(s, s),
                lw=1.4)
        if stats["ci_low"].notna().any():
            ax.fill_between(stats.index, stats["ci_low"].astype(float),
                            stats["ci_high"].astype(float), color=f"C{i}", alpha=0.2, lw=0)
    if warmup_days:
        ax.axvline(warmup_days, color="grey", ls="--", lw=1)
        ax.text(warmup_days, ax.get_ylim()[1], " end of warm-up", va="top", fontsize=8,
                color="grey")
    ax.set_xlabel("day")
    ax.set_ylabel(_label(column))
    ax.set_title(f"{_label(column)}: mean and 95% band across replications", fontsize=10)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return fig


def compare_figures(result, out: Path, warmup_days: float | None = None) -> list[Path]:
    """The four compare figures (PNG + PDF each); returns the PNG paths."""
    out = Path(out)
    names = result.scenarios
    labels = getattr(result, "labels", None)
    pngs = []
    c = result.comparison
    for metric in ("recomplaint_rate", "chase_rate", "throughput_per_day",
                   "repeat_complaint_rate"):
        # (a run too short for the repeat window has no recomplaint_rate: no figure)
        if metric in set(c["metric"]) and c.loc[c["metric"] == metric, "mean"].notna().any():
            pngs.append(save(metric_ci_figure(result.comparison, metric, names, labels),
                             out / metric)[0])
    for col in ("backlog", "repeats"):
        if not result.timeseries.empty and col in result.timeseries:
            fig = over_time_figure(result.timeseries, col, names, warmup_days, labels)
            pngs.append(save(fig, out / f"{col}_over_time")[0])
    return pngs


# ---------------------------------------------------------------- sweep
def sweep_figures(points: pd.DataFrame, factors: list, metrics: list[str], kind: str,
                  out: Path) -> list[Path]:
    """Grid: metric against the first factor, one line per level of the second. Other designs:
    scatter of each metric against each factor."""
    pngs = []
    names = [f.name for f in factors]
    for m in metrics:
        if f"{m}.mean" not in points or points[f"{m}.mean"].isna().all():
            continue
        if kind == "grid":
            fig = _grid_lines(points, names, m)
        else:
            fig = _scatter(points, names, m)
        pngs.append(save(fig, Path(out) / f"points_{m}")[0])
    return pngs


def _grid_lines(points, names, m):
    k = _scale(m)
    # x: the numeric factor with most values among the first two (else the one with most
    # values); lines: the other one; any further factors are averaged over
    first = names[:2]
    nums = [n for n in first if pd.api.types.is_numeric_dtype(points[n])]
    x_name = max(nums or first, key=lambda n: points[n].nunique())
    hue = next((n for n in first if n != x_name), None)
    others = names[2:]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    agg = points.groupby([x_name] + ([hue] if hue else []), sort=False).agg(
        mean=(f"{m}.mean", "mean"), lo=(f"{m}.ci_low", "mean"), hi=(f"{m}.ci_high", "mean"))
    agg = agg.reset_index()
    xs = list(dict.fromkeys(points[x_name]))
    numeric = all(isinstance(v, (int, float, np.integer, np.floating)) for v in xs)
    groups = agg.groupby(hue, sort=False) if hue else [(None, agg)]
    for i, (level, g) in enumerate(groups):
        xv = g[x_name].to_numpy() if numeric else [xs.index(v) for v in g[x_name]]
        mean = g["mean"].to_numpy(float) * k
        err = np.vstack([np.nan_to_num(mean - g["lo"].to_numpy(float) * k),
                         np.nan_to_num(g["hi"].to_numpy(float) * k - mean)])
        ax.errorbar(xv, mean, yerr=err, marker="o", capsize=3, color=f"C{i}",
                    label=f"{hue} = {level}" if hue else None)
    if not numeric:
        ax.set_xticks(range(len(xs)), [str(v) for v in xs])
    ax.set_xlabel(x_name)
    ax.set_ylabel(_label(m))
    avg = f" (averaged over {', '.join(others)})" if others else ""
    ax.set_title(f"{_label(m)}: mean and 95% CI per design point{avg}", fontsize=10)
    if hue:
        ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def _scatter(points, names, m):
    k = _scale(m)
    n = len(names)
    cols = min(4, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False,
                             sharey=True)
    for ax, name in zip(axes.flat, names):
        x = points[name]
        if not pd.api.types.is_numeric_dtype(x):
            cats = list(dict.fromkeys(x))
            x = x.map(cats.index)
            ax.set_xticks(range(len(cats)), [str(c) for c in cats], fontsize=7)
        ax.scatter(x, points[f"{m}.mean"] * k, s=8, alpha=0.6)
        ax.set_xlabel(name, fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(_label(m), fontsize=8)
    fig.suptitle(f"{_label(m)} at each design point", fontsize=10)
    fig.tight_layout()
    return fig


def sobol_figure(table: pd.DataFrame, metric: str):
    """First-order (S1) and total (ST) Sobol indices with 95% confidence intervals."""
    t = table[table["metric"] == metric].sort_values("ST", ascending=True)
    fig, ax = plt.subplots(figsize=(6.5, 1.2 + 0.42 * len(t)))
    y = np.arange(len(t))
    ax.barh(y - 0.2, t["S1"], height=0.4, xerr=t["S1_conf"], label="first order S1",
            color="C0", capsize=3)
    ax.barh(y + 0.2, t["ST"], height=0.4, xerr=t["ST_conf"], label="total order ST",
            color="C1", capsize=3)
    ax.set_yticks(y, t["factor"])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("Sobol index (share of output variance), 95% CI")
    ax.set_title(f"Sobol indices: {metric}", fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return fig


def morris_figure(table: pd.DataFrame, metric: str):
    """Morris mu* (importance) against sigma (non-linearity / interactions)."""
    t = table[table["metric"] == metric]
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    ax.errorbar(t["mu_star"], t["sigma"], xerr=t["mu_star_conf"], fmt="o", capsize=3)
    for _, r in t.iterrows():
        ax.annotate(r["factor"], (r["mu_star"], r["sigma"]), fontsize=8,
                    xytext=(4, 4), textcoords="offset points")
    lim = float(np.nanmax([t["mu_star"].max(), t["sigma"].max(), 0])) * 1.1 or 1.0
    ax.plot([0, lim], [0, lim], color="grey", ls=":", lw=1)
    ax.set_xlabel("mu* (mean |elementary effect| over the factor's range), 95% CI")
    ax.set_ylabel("sigma (sd of elementary effects)")
    ax.set_title(f"Morris screening: {metric} (effects in its own units; shares as "
                 f"fractions)", fontsize=10)
    ax.grid(alpha=0.3)
    return fig
