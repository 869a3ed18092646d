"""Demand that varies in time, per category: the `Category.demand` profiles `calibrate` writes.

For each category, from the created times of its arrivals (duplicates left out):

- **hour of week** (168 cells, Monday 00:00 first): counts per cell over the exposure hours
  the log spent in that cell (a log need not cover whole weeks). A category's cell weight is
  shrunk toward the pooled weight of all categories, as a Poisson-gamma posterior mean:
  w_kc = (n_kc + A p_c) / (e_kc + A), with n_kc the category's count in cell c, e_kc its
  expected count there at a flat rate, p_c the pooled weight and A = `SHRINK_CASES`
  pseudo-cases per cell. A category with few cases therefore follows the pooled profile; one
  with many (over A per cell) follows its own. When some cell of the week was never observed
  (a log shorter than a week, e.g. LA's 2.6 days), the same is done on the 24 hours of the day
  and repeated on each weekday. When most created times are date-only (no time of day), the
  weekday is used and spread flat over its hours.
- **season**: with a year of log or more (`MIN_DAYS_SEASON`), a day-of-year profile (366
  weights): counts over exposure days in a `DOY_WINDOW`-day moving window, shrunk toward the
  pooled profile; under a year, 12 calendar-month weights only when every month is covered
  for `MIN_DAYS_PER_MONTH` days; else no season ("seasonality not fitted", said in the notes).
- **trend** (relative change per year), only when the log spans at least `MIN_DAYS_TREND`
  days (about two years): a Poisson regression of daily counts on calendar month and a
  log-linear trend, fitted jointly (so a within-year trend does not leak into the season);
  the season is then read off the detrended counts. A category keeps its own trend when it
  has `MIN_CASES_TREND` cases and its estimate is at least 2 standard errors from the pooled
  one, else the pooled trend is used. The trend applies over the fit window
  (`trend_window`); beyond it, flat unless `trend_beyond_max` > 1 (bounded extrapolation).
- **anchor**: per category, the mean of the whole profile over the fit window
  (`anchor_factors`, with the model's own `demand_multipliers`); the calibrated incidence is
  the log's mean rate divided by it, so the simulated arrivals over the window add up to the
  log's count.

Holidays are not modelled (a holiday reads as its weekday).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: prior strength of the pooled profile, in pseudo-cases per cell
SHRINK_CASES = 2.0
MIN_DAYS_SEASON = 365.0   # a year: day-of-year profile
MIN_DAYS_PER_MONTH = 14   # a shorter log gets months only when each has this many days
MIN_DAYS_TREND = 700.0    # about two years
#: width (days) of the moving window the day-of-year counts are smoothed over (two weeks:
#: every weekday twice, so a weekday pattern does not leak into the season)
DOY_WINDOW = 14
MIN_CASES_TREND = 200
#: a fitted trend outside this range (relative change a year) is not a trend but a category
#: that starts or stops within the window (the schema allows -1 < trend <= 10)
TREND_RANGE = (-0.95, 10.0)
#: a log whose created times are mostly date-only cannot give an hour-of-week profile
MAX_DATE_ONLY_SHARE = 0.5


@dataclass
class DemandFit:
    """Profiles per category, the pooled ones and what was (not) estimated."""

    profiles: dict[str, dict] = field(default_factory=dict)     # code -> DemandProfile dict
    pooled_how: np.ndarray | None = None
    pooled_month: np.ndarray | None = None
    pooled_trend: float = 0.0
    pooled_doy: np.ndarray | None = None
    level: str = "none"        # hour_of_week / hour_of_day / day_of_week / none
    season: str = "none"       # day_of_year / month / none
    #: per category, the mean profile factor over the fit window (incidence is divided by it)
    anchor: dict[str, float] = field(default_factory=dict)
    #: per category, the largest profile factor over the fit window (peak sizing)
    peak: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _exposure_how(start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    from .fit import exposure_hours

    return exposure_hours(start, end).ravel()       # 7 x 24 -> 168, Monday 00:00 first


def _exposure_month(start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    days = pd.date_range(start.normalize(), end.normalize(), freq="D")
    out = np.zeros(12)
    np.add.at(out, days.month.to_numpy() - 1, 1.0)
    return out


def _exposure_doy(start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    days = pd.date_range(start.normalize(), end.normalize(), freq="D")
    out = np.zeros(366)
    np.add.at(out, days.dayofyear.to_numpy() - 1, 1.0)
    return out


def _smooth(x: np.ndarray) -> np.ndarray:
    """Circular moving sum over `DOY_WINDOW` days (day 366 next to 1 January)."""
    k = DOY_WINDOW
    ext = np.concatenate([x[-k:], x, x[:k]])
    c = np.concatenate([[0.0], np.cumsum(ext)])
    lo = np.arange(len(x)) + k - k // 2
    return c[lo + k] - c[lo]


def _smooth_doy_rates(counts: np.ndarray, expo: np.ndarray) -> np.ndarray:
    return _rates(_smooth(counts), _smooth(expo))


def _shrunk(counts: np.ndarray, expo: np.ndarray, pooled: np.ndarray) -> np.ndarray:
    """Poisson-gamma posterior mean of relative rates, normalised to mean 1 over the cells."""
    n = counts.sum()
    e = n * expo / expo.sum()
    w = (counts + SHRINK_CASES * pooled) / (e + SHRINK_CASES)
    return w / w.mean()


def _rates(counts: np.ndarray, expo: np.ndarray) -> np.ndarray:
    r = counts / np.maximum(expo, 1e-12)
    return r / r.mean() if r.mean() > 0 else np.ones_like(r)


def _round(w: np.ndarray) -> list[float]:
    return [float(f"{x:.3g}") for x in w]


def _season_trend(days: np.ndarray, day_month: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Joint Poisson regression of daily counts on calendar month (12 levels) and a log-linear
    trend per year: (month weights with mean 1, b, standard error of b). Fitting them jointly
    keeps a within-year trend out of the month weights."""
    from scipy.optimize import minimize

    n_days = len(day_month)
    t = (np.arange(n_days) - n_days / 2.0) / 365.25
    y = np.bincount(days, minlength=n_days)[:n_days].astype(float)
    x_m = np.zeros((n_days, 12))
    x_m[np.arange(n_days), day_month] = 1.0
    seen = x_m.sum(0) > 0

    def nll(p):
        eta = x_m @ p[:12] + p[12] * t
        mu = np.exp(eta)
        return float(np.sum(mu - y * eta)), np.concatenate([x_m.T @ (mu - y),
                                                             [np.sum((mu - y) * t)]])

    p0 = np.concatenate([np.full(12, math.log(max(y.mean(), 1e-9))), [0.0]])
    r = minimize(nll, p0, jac=True, method="L-BFGS-B")
    eta = x_m @ r.x[:12] + r.x[12] * t
    mu = np.exp(eta)
    x = np.column_stack([x_m[:, seen], t])
    info = (x * mu[:, None]).T @ x
    try:
        se = float(math.sqrt(np.linalg.inv(info)[-1, -1]))
    except (np.linalg.LinAlgError, ValueError):
        se = float("inf")
    w = np.exp(r.x[:12] - r.x[:12][seen].mean())
    w[~seen] = 1.0
    return w / w.mean(), float(r.x[12]), se


def fit_demand(arrivals: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp,
               trend_beyond_max: float = 1.0) -> DemandFit:
    """Demand profiles of every category of `arrivals` (columns created, category, date_only).

    `trend_beyond_max`: beyond the fit window the trend is flat (1, the default) or
    extrapolated with its factor bounded within this ratio of its value at the window's end."""
    out = DemandFit()
    if arrivals.empty or end <= start:
        return out
    t = arrivals["created"]
    date_only = arrivals["date_only"].astype(bool) if "date_only" in arrivals else \
        pd.Series(False, index=arrivals.index)
    expo = _exposure_how(start, end)
    cats = arrivals["category"].to_numpy()
    codes = list(pd.unique(cats))
    cell = (t.dt.day_of_week * 24 + t.dt.hour).to_numpy()

    # ---- hour of week (or of day, or weekday only)
    if date_only.mean() > MAX_DATE_ONLY_SHARE:
        level = "day_of_week"
        ex = expo.reshape(7, 24).sum(1)
        idx = t.dt.day_of_week.to_numpy()
        use = np.ones(len(t), bool)
        n_cells = 7
    elif (expo < 1.0).any():
        level = "hour_of_day"
        ex = expo.reshape(7, 24).sum(0)
        idx = t.dt.hour.to_numpy()
        use = ~date_only.to_numpy()
        n_cells = 24
    else:
        level = "hour_of_week"
        ex = expo
        idx = cell
        use = ~date_only.to_numpy()
        n_cells = 168
    if ex.min() <= 0:
        out.notes.append("demand profiles: some weekday was never observed: no time-of-week "
                         "profile (arrivals stay flat over the week)")
        level = "none"
    out.level = level
    if level != "none":
        pooled_counts = np.bincount(idx[use], minlength=n_cells).astype(float)
        pooled = _rates(pooled_counts, ex)
        for code in codes:
            m = (cats == code) & use
            w = _shrunk(np.bincount(idx[m], minlength=n_cells).astype(float), ex, pooled)
            if level == "hour_of_day":
                w = np.tile(w, 7)
            elif level == "day_of_week":
                w = np.repeat(w, 24)
            out.profiles[code] = {"hour_of_week": _round(w)}
        out.pooled_how = (np.tile(pooled, 7) if level == "hour_of_day" else
                          np.repeat(pooled, 24) if level == "day_of_week" else pooled)
        out.notes.append(
            f"demand profiles by {level.replace('_', ' ')}, each category shrunk toward the "
            f"pooled profile with {SHRINK_CASES:g} pseudo-cases per cell"
            + (" (the log does not cover every hour of the week)" if level == "hour_of_day"
               else " (most created times are date-only)" if level == "day_of_week" else ""))

    # ---- season and trend
    span_days = (end - start) / pd.Timedelta(days=1)
    month_idx = t.dt.month.to_numpy() - 1
    doy_idx = t.dt.dayofyear.to_numpy() - 1
    mexpo = _exposure_month(start, end)
    dexpo = _exposure_doy(start, end)
    n_days = int(math.ceil(span_days)) + 1
    day = np.clip(((t - start.normalize()) / pd.Timedelta(days=1)).astype(int).to_numpy(),
                  0, n_days - 1)
    b_of = {code: 0.0 for code in codes}
    if span_days >= MIN_DAYS_TREND:
        day_month = (pd.date_range(start.normalize(), periods=n_days, freq="D").month
                     .to_numpy() - 1)
        _, b_pool, _ = _season_trend(day, day_month)
        b_pool = math.log1p(min(max(math.expm1(b_pool), TREND_RANGE[0]), TREND_RANGE[1]))
        out.pooled_trend = math.expm1(b_pool)
        degenerate: list[str] = []
        for code in codes:
            m = cats == code
            b = b_pool
            if m.sum() >= MIN_CASES_TREND:
                _, b_own, se = _season_trend(day[m], day_month)
                if not (np.isfinite(b_own) and np.isfinite(se)
                        and TREND_RANGE[0] <= math.expm1(b_own) <= TREND_RANGE[1]):
                    # a category that starts or stops within the window has no log-linear
                    # trend (the regression runs off to +-infinity): it keeps the pooled one
                    degenerate.append(code)
                elif abs(b_own - b_pool) >= 2 * se:
                    b = b_own
            b_of[code] = b
    # detrended weights of each arrival (1 without a trend): seasonality is read off them
    mid = n_days / 2.0
    wts_all = np.exp(-np.array([b_of[c] for c in cats]) * (day - mid) / 365.25)
    if span_days >= MIN_DAYS_SEASON:
        out.season = "day_of_year"
        pooled_d = _smooth_doy_rates(np.bincount(doy_idx, weights=wts_all, minlength=366),
                                     dexpo)
        out.pooled_doy = pooled_d
        for code in codes:
            m = cats == code
            counts = _smooth(np.bincount(doy_idx[m], weights=wts_all[m], minlength=366))
            w = _shrunk(counts, _smooth(dexpo), pooled_d)
            out.profiles.setdefault(code, {})["day_of_year"] = _round(w)
        out.notes.append(f"yearly seasonality by day of year (the log spans {span_days:,.0f} "
                         f"days): counts over exposure in a {DOY_WINDOW}-day moving window, "
                         f"each category shrunk toward the pooled profile; fixed-date "
                         f"holidays are smoothed over")
    elif (mexpo >= MIN_DAYS_PER_MONTH).all():
        out.season = "month"
        pooled_m = _rates(np.bincount(month_idx, minlength=12).astype(float), mexpo)
        out.pooled_month = pooled_m
        for code in codes:
            m = cats == code
            w = _shrunk(np.bincount(month_idx[m], minlength=12).astype(float), mexpo, pooled_m)
            out.profiles.setdefault(code, {})["month"] = _round(w)
        out.notes.append(f"yearly seasonality by calendar month (the log spans "
                         f"{span_days:,.0f} days and covers every month for "
                         f"{MIN_DAYS_PER_MONTH}+ days)")
    else:
        covered = int((mexpo >= MIN_DAYS_PER_MONTH).sum())
        out.notes.append(f"seasonality not fitted: the log spans {span_days:,.1f} days (a day-"
                         f"of-year profile needs {MIN_DAYS_SEASON:g}) and covers {covered} of "
                         f"12 months for {MIN_DAYS_PER_MONTH}+ days (a month profile needs all "
                         f"12): arrivals carry no yearly season")
    first = start.date().isoformat()
    last = end.date().isoformat()
    if span_days >= MIN_DAYS_TREND:
        for code in codes:
            p = out.profiles.setdefault(code, {})
            p["trend_per_year"] = float(f"{math.expm1(b_of[code]):.3g}")
            p["reference_date"] = first
            p["trend_window"] = [first, last]
            p["trend_beyond_max"] = float(trend_beyond_max)
        if degenerate:
            out.notes.append(f"trend: {len(degenerate)} categories start or stop within the "
                             f"window (no log-linear trend fits them) and keep the pooled "
                             f"trend: {', '.join(degenerate[:8])}")
        beyond = ("flat beyond it" if trend_beyond_max <= 1.0 else
                  f"extrapolated beyond it within a factor {trend_beyond_max:g} of its value "
                  f"at the window's end (--trend-beyond)")
        out.notes.append(f"trend: pooled {out.pooled_trend:+.1%} a year, fitted jointly with "
                         f"the months; a category keeps its own when it has "
                         f"{MIN_CASES_TREND}+ cases and differs by 2+ standard errors; applied "
                         f"over the fit window {first} to {last}, {beyond}")
    else:
        out.notes.append(f"no trend: the log spans {span_days:,.1f} days (needs "
                         f"{MIN_DAYS_TREND:g}); arrivals are flat in the long run")
    out.anchor, out.peak = anchor_factors(out.profiles, start, end, with_peak=True)
    if out.anchor:
        lo, hi = min(out.anchor.values()), max(out.anchor.values())
        out.notes.append(f"incidence anchored on the fit window: each category's rate is "
                         f"divided by the mean of its demand profile over the window "
                         f"({lo:.3g} to {hi:.3g}), so that the simulated arrivals over the "
                         f"window add up to the log's count")
    return out


def anchor_factors(profiles: dict[str, dict], start: pd.Timestamp, end: pd.Timestamp,
                   with_peak: bool = False):
    """Per category, the mean over the fit window [start, end] of the factor its demand
    profile applies in the model (`world.problems.demand_multipliers`, the very code the model
    runs): dividing the category's mean rate by it makes the integral of the simulated rate
    over the window equal the log's count, whatever the trend and season do (anchoring the
    trend at the window's middle inflates a growing log's arrivals: convexity). With
    `with_peak`: (mean factors, peak factors over the window)."""
    from types import SimpleNamespace

    from ..scenario.schema import DemandProfile
    from ..world.problems import demand_multipliers

    if not profiles:
        return ({}, {}) if with_peak else {}
    codes = list(profiles)
    cats = [SimpleNamespace(demand=DemandProfile(**profiles[c])) for c in codes]
    day0 = start.normalize()
    hours = (end - day0) / pd.Timedelta(hours=1)
    sc = SimpleNamespace(run=SimpleNamespace(start_date=day0.date()))
    mult = demand_multipliers(sc, cats, max(hours, 1.0))
    h0 = int((start - day0) / pd.Timedelta(hours=1))
    win = mult[:, h0:max(h0 + 1, int(math.ceil(hours)))]
    mean = {c: float(win[k].mean()) for k, c in enumerate(codes)}
    if with_peak:
        return mean, {c: float(win[k].max()) for k, c in enumerate(codes)}
    return mean
