"""The outputs of `validate-against`: figures (arrivals, time of day, time to close,
medians, channels), `report.md`, the CSV tables, `validation.csv` and `validation.json`."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .read import CaseLog  # noqa: E402
from .report import WEEKDAYS, md_table  # noqa: E402
from .validation_metrics import MIN_CLOSED, NOT_COMPARED, Validation  # noqa: E402


def _plot_arrivals(v: Validation, path: Path, n: int = 20) -> None:
    t = v.arrivals.head(n)
    y = np.arange(len(t))
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(t) + 1.2))
    ax.barh(y + 0.2, t["observed_per_day"], 0.4, label="observed", color="black")
    ax.barh(y - 0.2, t["simulated_per_day"], 0.4, label="simulated", color="tab:blue")
    ax.set_yticks(y, t["category"])
    ax.invert_yaxis()
    ax.set_xlabel("cases per day")
    ax.legend()
    ax.set_title("arrival rate by category")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_time(v: Validation, path: Path) -> None:
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.4))
    for ax, t, key, labels in ((a1, v.hour_of_day, "hour", None),
                               (a2, v.day_of_week, "weekday", WEEKDAYS)):
        ax.plot(t[key], t["observed_share"], "o-", color="black", label="observed")
        ax.plot(t[key], t["simulated_share"], "s--", color="tab:blue", label="simulated")
        if labels:
            ax.set_xticks(range(7), labels)
        ax.set_ylabel("share of arrivals")
        ax.legend(fontsize=8)
    a1.set_title("by hour of day")
    a2.set_title("by day of week")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_ttc(v: Validation, path: Path, res: float, n: int = 9) -> None:
    codes = list(v.ttc["category"].head(n))
    cols = min(3, max(1, len(codes)))
    rows = math.ceil(len(codes) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    axes = axes.ravel()
    for ax, code in zip(axes, codes):
        for km, style, label in ((v.kms[code][0], "k-", "observed"),
                                 (v.kms[code][1], "b--", "simulated")):
            if len(km.times):
                ax.step(np.maximum(km.times, res / 2), km.cdf, style, where="post",
                        label=f"{label} (n={km.n})")
        ax.set_xscale("log")
        ax.set_ylim(0, 1)
        ax.set_title(code[:40], fontsize=9)
        ax.set_xlabel("hours to close")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower right")
    for ax in axes[len(codes):]:
        ax.set_visible(False)
    fig.suptitle("time to close: observed vs simulated (Kaplan-Meier)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_medians(v: Validation, path: Path, res: float) -> None:
    t = v.ttc.dropna(subset=["observed_p50", "simulated_p50"])
    fig, ax = plt.subplots(figsize=(5, 5))
    if len(t):
        x = np.maximum(t["observed_p50"], res / 2)
        y = np.maximum(t["simulated_p50"], res / 2)
        ax.scatter(x, y, s=12 + 60 * t["observed_n"] / t["observed_n"].max(),
                   c=np.where(t["median_ok"].eq(True), "tab:blue", "tab:red"))
        lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
        ax.plot([lo, hi], [lo, hi], "k:", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("observed median hours")
    ax.set_ylabel("simulated median hours")
    ax.set_title("median time to close by category\n(red = outside tolerance)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_channels(v: Validation, path: Path) -> None:
    t = v.channels
    x = np.arange(len(t))
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(x - 0.2, t["observed_share"], 0.4, color="black", label="observed")
    ax.bar(x + 0.2, t["simulated_share"], 0.4, color="tab:blue", label="simulated")
    ax.set_xticks(x, t["channel"])
    ax.legend(fontsize=8)
    ax.set_title("channel mix")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_validation_report(v: Validation, out: str | Path, obs_log: CaseLog,
                            scenario_path, scenario, rel_tol: float) -> Path:
    from .report import figure_fonts

    figure_fonts()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    res = obs_log.mapping.timestamps.resolution_hours
    tables = {"arrivals_by_category.csv": v.arrivals, "arrivals_by_hour.csv": v.hour_of_day,
              "arrivals_by_weekday.csv": v.day_of_week, "time_to_close_by_category.csv": v.ttc,
              "channels.csv": v.channels,
              "goodness_of_fit.csv": pd.DataFrame(list(v.gof.items()),
                                                  columns=["measure", "value"])}
    for name, df in tables.items():
        df.to_csv(out / name, index=False)
    write_validation_files(v, out, rel_tol)
    figs = {"arrivals_by_category.png": _plot_arrivals, "arrivals_by_time.png": _plot_time,
            "channels.png": _plot_channels}
    for name, fn in figs.items():
        fn(v, out / name)
    _plot_ttc(v, out / "time_to_close_cdf.png", res)
    _plot_medians(v, out / "time_to_close_medians.png", res)
    g = v.gof
    ttc_cols = ["category", "observed_n", "simulated_n", "observed_p50", "simulated_p50",
                "median_relative_error", "verdict", "ks", "cycle_time_emd_hours",
                "observed_p90", "simulated_p90", "repeat_share_log", "repeat_share_sim"]

    def f(x, fmt):
        return format(x, fmt) if isinstance(x, (int, float)) and np.isfinite(x) \
            else NOT_COMPARED
    lines = [
        f"# Validation: {scenario.name} against {Path(str(obs_log.source)).name}", "",
        f"- scenario: `{scenario_path}` ({g['replications']} replications, "
        f"{scenario.run.horizon_days:g} days each)",
        f"- log: `{obs_log.source}` through mapping `{obs_log.mapping.name}`", "",
        "## Goodness of fit", "",
        f"- total arrival rate: relative error {g['total_rate_relative_error']:+.1%}; "
        f"arrival-weighted mean |relative error| by category "
        f"{g['arrivals_weighted_abs_relative_error']:.1%}; share of categories with |z| > 3: "
        f"{g['arrivals_share_abs_z_over_3']:.1%}",
        f"- arrivals by hour of day: KS {g['hour_of_day_ks']:.3f}, TV {g['hour_of_day_tv']:.3f}; "
        f"by weekday: KS {g['day_of_week_ks']:.3f}, TV {g['day_of_week_tv']:.3f} "
        f"({g['weekdays_compared']} weekdays observed; rates per exposure hour)",
        f"- sample: **{'in sample' if v.in_sample else 'out of sample'}** (fit window "
        f"{v.windows.get('fit_window')}, validation window {v.windows.get('validation_window')})",
        f"- time to close, all cases: KS {f(g['ttc_ks_all'], '.3f')}; median observed "
        f"{f(g['ttc_median_observed'], '.4g')} h vs simulated "
        f"{f(g['ttc_median_simulated'], '.4g')} h",
        f"- per-category median time to close within {rel_tol:.0%} (strict: no interval-"
        f"overlap pass; categories with under {MIN_CLOSED} closed cases on a side are not "
        f"compared): {f(g['share_within_20pct'], '.0%')} of {g['categories_compared']} "
        f"compared; {g['categories_not_compared']} not compared",
        f"- a perfect model on this log (the compared window's own cases resampled "
        f"{g['perfect_model_bootstrap']} times, as many per category as the simulation "
        f"draws): {f(g['perfect_model_share_within'], '.0%')} within (90% range "
        f"{f(g['perfect_model_share_q05'], '.0%')} to {f(g['perfect_model_share_q95'], '.0%')}"
        f"); the model {g['perfect_model_verdict']}",
        f"- chases (催办, complaints while the case is open): log "
        f"{f(g['chase_complaints_observed'], ',.0f')} ({f(g['chase_rate_observed'], '.3f')} per "
        f"case), simulated {f(g['chase_complaints_simulated'], ',.0f')} "
        f"({f(g['chase_rate_simulated'], '.3f')}); re-complaints after closure (重复投诉, within "
        f"{obs_log.mapping.repeat_window_days:g} days): log "
        f"{f(g['recomplaints_after_closure_observed'], ',.0f')} (rate "
        f"{f(g['recomplaint_rate_observed'], '.1%')}), simulated "
        f"{f(g['recomplaints_after_closure_simulated'], ',.0f')} (rate "
        f"{f(g['recomplaint_rate_simulated'], '.1%')})",
        f"- log-distance measures ({g['distance_measures_by']}): cycle-time EMD "
        f"{f(g['cycle_time_emd_hours'], ',.1f')} h, case-arrival EMD "
        f"{f(g['arrival_emd_hours'], ',.1f')} h, circadian EMD "
        f"{f(g['circadian_emd_hours'], '.2f')} h (lower is closer)",
        f"- channel mix: total-variation distance {f(g['channel_tv'], '.3f')}",
        f"- repeat share (same location and category within "
        f"{obs_log.mapping.repeat_window_days:g} days): log {f(g['repeat_rate_observed'], '.1%')}"
        f", simulated {f(g['repeat_rate_simulated'], '.1%')} (a simulated case is located by "
        f"its problem, a logged one by its address)", "",
        "## Notes", "", *([f"- {n}" for n in v.notes] or ["- none"]), "",
        "## Time to close by category (hours; top 20; all in validation.csv)", "",
        md_table(v.ttc[ttc_cols], 20), "",
        "## Arrivals by category (top 20)", "", md_table(v.arrivals, 20), "",
        "## Channel mix", "", md_table(v.channels), "",
        "## Figures", "",
        *[f"![{n[:-4]}]({n})" for n in [*figs, "time_to_close_cdf.png",
                                         "time_to_close_medians.png"]], "",
        "## Tables", "", *[f"- [{n}]({n})" for n in tables], "",
    ]
    index = out / "index.md"
    index.write_text("\n".join(lines), encoding="utf-8")
    return index


def write_validation_files(v: Validation, out: Path, rel_tol: float) -> None:
    """`validation.csv` (one row per category) and `validation.json` (the summary)."""
    import json

    t = v.ttc
    a = v.arrivals.set_index("category")
    rows = pd.DataFrame({
        "category": t["category"], "n_log": t["observed_n"],
        "median_ttc_log": t["observed_p50"], "median_ttc_sim": t["simulated_p50"],
        "rel_error": t["median_relative_error"], "verdict": t["verdict"],
        "n_closed_log": t["observed_closed"], "n_closed_sim": t["simulated_closed"],
        "ks_ttc": t["ks"], "cycle_time_emd_hours": t["cycle_time_emd_hours"],
        "arrivals_per_day_log": t["category"].map(a["observed_per_day"]),
        "arrivals_per_day_sim": t["category"].map(a["simulated_per_day"]),
        "arrivals_rel_error": t["category"].map(a["relative_error"]),
        "arrivals_z": t["category"].map(a["z"]),
        "repeat_share_log": t["repeat_share_log"], "repeat_share_sim": t["repeat_share_sim"],
    })
    rows.to_csv(out / "validation.csv", index=False)
    g = v.gof

    def num(x):
        return float(x) if isinstance(x, (int, float, np.floating)) and np.isfinite(x) \
            else NOT_COMPARED

    summary = {
        "in_sample": bool(v.in_sample), **v.windows,
        "rule": (f"a category's median time to close is within when |sim - log| / log <= "
                 f"{rel_tol:g}; compared only when both sides have {MIN_CLOSED}+ closed "
                 f"cases and a median; no interval-overlap pass"),
        "share_within_20pct": num(g["share_within_20pct"]),
        "categories_compared": g["categories_compared"],
        "categories_not_compared": g["categories_not_compared"],
        "total_rate_relative_error": num(g["total_rate_relative_error"]),
        "arrivals_share_abs_z_over_3": num(g["arrivals_share_abs_z_over_3"]),
        "ttc_ks_all": num(g["ttc_ks_all"]),
        "cycle_time_emd_hours": num(g["cycle_time_emd_hours"]),
        "arrival_emd_hours": num(g["arrival_emd_hours"]),
        "circadian_emd_hours": num(g["circadian_emd_hours"]),
        "hour_of_day_tv": num(g["hour_of_day_tv"]),
        "channel_tv": num(g["channel_tv"]),
        "repeat_share_log": num(g["repeat_rate_observed"]),
        "repeat_share_sim": num(g["repeat_rate_simulated"]),
        "perfect_model_share_within": num(g["perfect_model_share_within"]),
        "perfect_model_share_q05": num(g["perfect_model_share_q05"]),
        "perfect_model_share_q95": num(g["perfect_model_share_q95"]),
        "perfect_model_bootstrap": g["perfect_model_bootstrap"],
        "gap_to_perfect_model_points": num(g["gap_to_perfect_model_points"]),
        "perfect_model_verdict": g["perfect_model_verdict"],
        **{f"{k}_{side}": num(g[f"{k}_{side}"]) for k in
           ("chase_complaints", "chase_rate", "recomplaints_after_closure", "recomplaint_rate")
           for side in ("observed", "simulated")},
        "distance_measures_by": g["distance_measures_by"],
        "replications": g["replications"], "notes": v.notes,
    }
    (out / "validation.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False),
                                         encoding="utf-8")

