"""Is the run in a steady state at its horizon? A trend test on the backlog time series.

A scenario whose backlog still grows (or shrinks) at the horizon has yearly averages that
depend on the run length: a longer run gives a longer mean wait. `run`, `compare` and the brief
say so, naming the department queues that grow.

The test: the daily series after warm-up, its last half (the state "at the horizon"), cut into
`BATCHES` consecutive batches; the least-squares slope of the batch means against time with a
95% t-interval (n - 2 degrees of freedom); a trend must be confirmed, in the same direction, on
the whole window after warm-up tested the same way. A series that levelled off before the horizon
but built up (or drained) materially over the window after warm-up is flagged too, as a
*build-up*: the averages over that window include the transient, so they too depend on the run
length (the warm-up was too short). Every department queue is tested on its own, not only the
district backlog: one saturated department (a police queue that grows for 150 days) can hide
inside a backlog that the other departments keep level. Batch means tame the strong day-to-day
autocorrelation of a queue that a regression on the raw days would ignore (and so call every
wiggle a trend). A series is *trending* when the interval excludes 0 **and** the change it
implies over the tested window is material: at least `MIN_REL` of the series' mean level, at
least `MIN_ABS` cases, and at least `NOISE_SDS` standard deviations of the days around the
fitted line, so a large queue that drifts by a handful of cases, or a slow queue wandering
about its level, is not flagged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BATCHES = 5
MIN_REL = 0.10
MIN_ABS = 5.0
NOISE_SDS = 2.0   # ... and at least this many standard deviations of the day-to-day wander
MIN_DAYS = 20     # fewer days after warm-up than this: no verdict
# A build-up (trend over the whole window after warm-up, level at the horizon) biases the mean
# of that window by about half its change: flag it when that bias is at least MIN_REL of the
# level, i.e. a change of 2 * MIN_REL, tested on twice as many batches of the same length.
BUILDUP_REL = 2 * MIN_REL
# ... and of at least this many cases: a small, slow queue (a district pool with a dozen cases
# waiting and weeks of memory) wanders by ten or fifteen cases over a year without any build-up
# (measured on baohe_after over 900 days: the labour queue wanders between 15 and 24)
BUILDUP_ABS = 20.0


# two-sided 95% quantiles of Student's t by degrees of freedom (a table, so that `cogov run`
# does not import scipy.stats, about a second of start-up, for this one number)
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t975(df: int) -> float:
    """The 0.975 quantile of Student's t with `df` degrees of freedom (3 decimals)."""
    if df < 1:
        return math.inf
    return _T975[df - 1] if df <= len(_T975) else 1.96 + 2.4 / df


@dataclass(frozen=True)
class Trend:
    series: str            # "backlog" or "queue.<dept>"
    slope_per_day: float   # cases per day
    ci_low: float
    ci_high: float
    level: float           # mean of the tested window
    days: float            # length of the tested window
    trending: bool
    phase: str = "horizon"  # "horizon": still trending at the end; "build-up": levelled off
                            # before the end but trended over the whole window after warm-up

    @property
    def growing(self) -> bool:
        return self.trending and self.slope_per_day > 0

    @property
    def change(self) -> float:
        """Change over the tested window implied by the slope (cases)."""
        return self.slope_per_day * self.days


def trend(day: np.ndarray, y: np.ndarray, name: str = "backlog", batches: int = BATCHES,
          min_rel: float = MIN_REL, min_abs: float = MIN_ABS) -> Trend | None:
    """The batch-means trend of `y` (by `day`), or None when there are too few days."""
    day = np.asarray(day, float)
    y = np.asarray(y, float)
    ok = np.isfinite(day) & np.isfinite(y)
    day, y = day[ok], y[ok]
    if day.size < MIN_DAYS:
        return None
    order = np.argsort(day, kind="stable")
    day, y = day[order], y[order]
    nb = min(batches, day.size // 2)
    idx = np.array_split(np.arange(day.size), nb)
    t = np.array([day[i].mean() for i in idx])
    m = np.array([y[i].mean() for i in idx])
    tc = t - t.mean()
    sxx = float((tc ** 2).sum())
    if sxx <= 0:
        return None
    slope = float((tc * (m - m.mean())).sum() / sxx)
    resid = m - m.mean() - slope * tc
    se = math.sqrt(float((resid ** 2).sum()) / (nb - 2) / sxx) if nb > 2 else math.inf
    half = t975(nb - 2) * se if nb > 2 else math.inf
    lo, hi = slope - half, slope + half
    span = float(day[-1] - day[0]) or 1.0
    level = float(y.mean())
    noise = float(np.std(resid))   # wander of the batch means around the line
    material = abs(slope) * span >= max(min_rel * abs(level), min_abs, NOISE_SDS * noise)
    return Trend(name, slope, lo, hi, level, span, bool((lo > 0 or hi < 0) and material))


def steady_state(ts, warmup_days: float) -> list[Trend]:
    """Trends of the backlog and of every `queue.<dept>` column at the horizon: the last half
    of the days after warm-up; a series flat there but trending over the whole window after
    warm-up is returned as trending with phase "build-up". `ts` (a `sim.table.Table` or a
    pandas DataFrame) may hold several replications
    (rows with the same `day` are averaged first)."""
    if ts is None or not len(ts) or "day" not in ts or "backlog" not in ts:
        return []
    cols = ["backlog", *[c for c in ts.columns if str(c).startswith("queue.")]]
    days, inv = np.unique(np.asarray(ts["day"], float), return_inverse=True)
    n = np.bincount(inv, minlength=days.size)
    means = {c: np.bincount(inv, weights=np.asarray(ts[c], float), minlength=days.size) / n
             for c in cols}
    keep = days >= warmup_days
    days = days[keep]
    means = {c: v[keep] for c, v in means.items()}
    if days.size < 2 * MIN_DAYS:
        return []
    last = days >= days[0] + (days[-1] - days[0]) / 2
    out = []
    for c in cols:
        tr = trend(days[last], means[c][last], c)
        if tr is None:
            continue
        whole = trend(days, means[c], c)
        if tr.trending:   # confirmed on the whole window after warm-up, in the same direction
            same = whole is not None and whole.trending and \
                (whole.slope_per_day > 0) == (tr.slope_per_day > 0)
            if not same:
                tr = Trend(tr.series, tr.slope_per_day, tr.ci_low, tr.ci_high, tr.level,
                           tr.days, False)
        build = trend(days, means[c], c, 2 * BATCHES, BUILDUP_REL, BUILDUP_ABS)
        if not tr.trending and build is not None and build.trending:
            whole = build
            tr = Trend(whole.series, whole.slope_per_day, whole.ci_low, whole.ci_high,
                       whole.level, whole.days, True, "build-up")
        out.append(tr)
    return out


def _dept(series: str) -> str:
    return series.partition(".")[2]


def _q(t: Trend, labels: dict, zh: bool) -> str:
    name = labels.get(_dept(t.series), _dept(t.series))
    return (f"{name}（每天 {t.slope_per_day:+,.1f} 件）" if zh
            else f"{name} ({t.slope_per_day:+,.1f}/day)")


def warning(trends: list[Trend], name: str = "", lang: str = "en",
            dept_labels: dict | None = None) -> str | None:
    """One sentence when the backlog or a department queue is still trending at the horizon,
    or built up over the window after warm-up; else None."""
    moving = [t for t in trends if t.trending]
    if not moving:
        return None
    labels = dept_labels or {}
    back = next((t for t in moving if t.series == "backlog"), None)
    queues = sorted((t for t in moving if t.series != "backlog"),
                    key=lambda t: -abs(t.slope_per_day))
    grow = [t for t in queues if t.slope_per_day > 0]
    zh = lang == "zh"
    who = f"{name}: " if name and not zh else (f"{name}：" if name else "")
    if back is not None and back.phase == "horizon":
        if zh:
            way = "仍在增长" if back.slope_per_day > 0 else "仍在下降"
            q = "、".join(_q(t, labels, zh) for t in grow[:5])
            text = (f"{who}期末积压{way}（最后 {back.days:.0f} 天每天 {back.slope_per_day:+,.1f} "
                    f"件，95% 置信区间 {back.ci_low:+,.1f} 至 {back.ci_high:+,.1f}），尚未达到"
                    f"稳态：年均指标取决于运行时长")
            return text + (f"；增长的部门队列：{q}。" if q else "。")
        way = "growing" if back.slope_per_day > 0 else "falling"
        q = ", ".join(_q(t, labels, zh) for t in grow[:5])
        text = (f"{who}the backlog is still {way} at the horizon ({back.slope_per_day:+,.1f} "
                f"cases/day over the last {back.days:.0f} days, 95% CI {back.ci_low:+,.1f} to "
                f"{back.ci_high:+,.1f}): not in a steady state, so averages depend on the run "
                f"length")
        return text + (f"; growing queues: {q}." if q else ".")
    still = [t for t in queues if t.phase == "horizon"]
    built = [t for t in queues if t.phase == "build-up"]
    if back is not None:
        built = [back, *built]
    parts = []
    if zh:
        if still:
            parts.append("期末仍在变化的部门队列："
                         + "、".join(_q(t, labels, zh) for t in still[:5]))
        if built:
            parts.append("预热期后仍在积累（期末已趋平）：" + "、".join(
                "积压" if t.series == "backlog" else _q(t, labels, zh) for t in built[:5]))
        return (f"{who}尚未达到稳态：{'；'.join(parts)}。年均指标包含这段变化，取决于运行时长"
                f"（延长 run.warmup_days 或增加该部门人员）。")
    if still:
        parts.append("department queues still trending at the horizon: "
                     + ", ".join(_q(t, labels, zh) for t in still[:5]))
    if built:
        parts.append("still building up after warm-up (levelled off by the horizon): " + ", ".join(
            (f"the backlog ({t.slope_per_day:+,.1f}/day)" if t.series == "backlog"
             else _q(t, labels, zh)) for t in built[:5]))
    return (f"{who}not in a steady state: {'; '.join(parts)}; the averages include this "
            f"change and depend on the run length (lengthen run.warmup_days or add staff to "
            f"that department).")
