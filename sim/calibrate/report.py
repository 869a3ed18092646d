"""The calibration report: CSV tables, observed-vs-fitted figures (PNG) and a markdown index."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .fit import Calibration  # noqa: E402

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def md_table(df: pd.DataFrame, max_rows: int = 30, digits: int = 4) -> str:
    """A GitHub markdown table (no extra dependency)."""
    df = df.head(max_rows)

    def fmt(v):
        if isinstance(v, (float, np.floating)):
            if not np.isfinite(v):
                return ""
            return f"{v:.{digits}g}"
        return str(v).replace("|", "/")

    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    rows = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *rows])


def top_categories(cal: Calibration, n: int) -> list[str]:
    """Category codes by number of arrivals, largest first."""
    return [c.code for c in sorted(cal.categories.values(), key=lambda c: -c.arrivals)][:n]


def _grid(n: int):
    cols = min(3, max(1, n))
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    return fig, axes.ravel()


def plot_ttc_fits(cal: Calibration, path: Path, what: str = "ttc", n: int = 9) -> Path:
    """Kaplan-Meier CDF of the observed durations vs every fitted family, top categories."""
    codes = top_categories(cal, n)
    fig, axes = _grid(len(codes))
    res = cal.log.mapping.timestamps.resolution_hours
    for ax, code in zip(axes, codes):
        f = getattr(cal.categories[code], what)
        km = f.km
        if len(km.times):
            ax.step(np.maximum(km.times, res / 2), km.cdf, where="post", color="black", lw=1.6,
                    label=f"observed (KM, n={f.n})")
            lo = max(res / 2, float(km.times.min()))
            hi = max(float(km.times.max()), lo * 10)
            x = np.logspace(math.log10(lo), math.log10(hi), 200)
            for kind, ff in f.candidates.items():
                star = ff is f.chosen
                ax.plot(x, ff.cdf(x), "-" if star else ":", lw=1.2,
                        label=kind + (" *" if star else ""))
        ax.set_xscale("log")
        ax.set_ylim(0, 1)
        ax.set_title(code[:40], fontsize=9)
        ax.set_xlabel("hours")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6, loc="lower right")
    for ax in axes[len(codes):]:
        ax.set_visible(False)
    fig.suptitle(("handling time" if what == "handling" else "time to close")
                 + ": observed vs fitted (* = chosen)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_time_weights(cal: Calibration, path: Path) -> Path:
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.4))
    a1.bar(cal.hod["hour"], cal.hod["rate_per_hour"], color="tab:blue")
    a1.set_xlabel("hour of day")
    a1.set_ylabel("cases per hour of exposure")
    a1.set_title("arrivals by hour of day")
    a2.bar([WEEKDAYS[i] for i in cal.dow["weekday"]], cal.dow["rate_per_hour"], color="tab:green")
    a2.set_title("arrivals by day of week")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_rates(cal: Calibration, path: Path, n: int = 20) -> Path:
    t = cal.category_table().head(n)
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(t) + 1.2))
    ax.barh(t["category"][::-1], t["rate_per_day"][::-1], xerr=1.96 * t["rate_se_per_day"][::-1],
            color="tab:blue")
    ax.set_xlabel("cases per day (95% Poisson interval)")
    ax.set_title("arrival rate by category")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_channels(cal: Calibration, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(cal.channel_mix["channel"], cal.channel_mix["share"], color="tab:orange")
    ax.set_ylabel("share of cases")
    ax.set_title("channel mix")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def figure_fonts() -> str | None:
    """Set up matplotlib the brief's way (`sim.report.fonts`): Chinese category, department and
    street names render in every calibration figure instead of empty boxes. Returns the CJK
    font's family (None without one: a warning with the install hint, printed once)."""
    from ..report.fonts import use_cjk_font

    return use_cjk_font()


def write_calibration_report(cal: Calibration, out: str | Path, scenario_path: str | Path,
                             notes: list[str] = ()) -> Path:
    """Write tables, figures and index.md into `out`; returns the index path."""
    figure_fonts()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    q = cal.log.quality
    dq = pd.DataFrame(q.rows(), columns=["item", "count", "what was done"])
    tables = {
        "data_quality.csv": dq,
        "categories.csv": cal.category_table(),
        "fits_time_to_close.csv": cal.fit_table("ttc"),
        "departments.csv": cal.department_table(),
        "channels.csv": cal.channel_mix,
        "channels_raw.csv": cal.channel_raw,
        "hour_of_day.csv": cal.hod,
        "day_of_week.csv": cal.dow,
        "shares.csv": pd.DataFrame(list(cal.shares.items()), columns=["measure", "value"]),
    }
    started = any(c.handling_from == "started" for c in cal.categories.values())
    if started:
        tables["fits_handling.csv"] = cal.fit_table("handling")
    for name, df in tables.items():
        df.to_csv(out / name, index=False)
    figs = [plot_ttc_fits(cal, out / "fit_time_to_close.png"),
            plot_time_weights(cal, out / "arrivals_time.png"),
            plot_rates(cal, out / "arrivals_rate.png"),
            plot_channels(cal, out / "channels.png")]
    if started:
        figs.append(plot_ttc_fits(cal, out / "fit_handling.png", what="handling"))

    cat = cal.category_table()[["category", "department", "arrivals", "rate_per_day",
                                "ttc_km_median_hours", "ttc_km_p90_hours", "handling_kind",
                                "handling_mean_hours", "handling_median_hours",
                                "on_time_share"]]
    shares = cal.shares
    lines = [
        f"# Calibration report: {cal.log.mapping.name}", "",
        f"- log: `{cal.log.source}`", f"- {cal.quality_line()}",
        f"- export time (censoring): {cal.log.extracted_at}",
        f"- calibrated scenario: `{scenario_path}`", "",
        "## Headline", "",
        f"- cases per day: {shares['cases_per_day']:.4g} "
        f"(sampling fraction {cal.log.mapping.sampling_fraction:g})",
        f"- time to close, all cases: median {cal.ttc_all.km.quantile(0.5):.4g} h, "
        f"p90 {cal.ttc_all.km.quantile(0.9):.4g} h (Kaplan-Meier, open cases censored)",
        f"- closed by the due date: {_pct(shares['on_time'])} of "
        f"{int(shares['on_time_judged_cases']):,} judged cases",
        f"- duplicates {_pct(shares['duplicate'])}, transferred {_pct(shares['transferred'])}, "
        f"cancelled {_pct(shares['cancelled'])}, open at export {_pct(shares['open_at_export'])}",
        f"- repeat rate (same location and category within "
        f"{shares['repeat_window_days']:g} days): {_pct(shares['repeat'])} of "
        f"{int(shares['repeat_eligible_cases']):,} cases", "",
        "## Notes", "", *([f"- {n}" for n in (list(cal.notes) + list(notes))] or ["- none"]), "",
        "## Data quality", "", md_table(dq, 50), "",
        "## Categories (top 30 by arrivals)", "", md_table(cat, 30), "",
        "## Departments", "", md_table(cal.department_table(), 30), "",
        "Implied load = arrivals per hour x mean handling hours (Erlangs); when handling is the "
        "time to close this is an upper bound on staff busy (waiting counted as work). "
        "`staff_no_queue` = load + 3 sqrt(load) + 1.", "",
        "## Channel mix", "", md_table(cal.channel_mix), "",
        "## Figures", "", *[f"![{p.stem}]({p.name})" for p in figs], "",
        "## Tables", "", *[f"- [{n}]({n})" for n in tables], "",
    ]
    index = out / "index.md"
    index.write_text("\n".join(lines), encoding="utf-8")
    return index


def _pct(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.1%}"
