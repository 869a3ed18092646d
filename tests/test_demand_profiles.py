"""Demand that varies in time per category (issue 15, part 1): schema, thinning, fitting.

Statistical checks use fixed seeds and binomial/Poisson tolerances of 4 standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.calibrate.demand import SHRINK_CASES, fit_demand
from sim.model import GovernanceModel
from sim.scenario.loader import load_scenario
from sim.scenario.schema import DemandProfile
from sim.world import problems

from .conftest import SCENARIOS

BASE = SCENARIOS / "mechanisms" / "baseline.yaml"
SHORT = ["run.horizon_days=28", "run.warmup_days=0"]


def _arrivals(model):
    e = model.engine
    return (np.asarray(e.p_t0), np.asarray(e.p_cat), list(e.cat_codes))


def test_no_profile_never_touches_the_new_path(monkeypatch):
    """Default scenarios draw exactly as before: the thinning code is not reached, and the
    draws are those of the unchanged path (same seed, same arrays)."""
    s = load_scenario(BASE, SHORT)
    assert all(c.demand is None for c in s.catalogue.values())
    t_a, c_a, _ = _arrivals(GovernanceModel(s, 3))

    def boom(*a, **k):
        raise AssertionError("thinning used without a demand profile")

    monkeypatch.setattr(problems, "_thinned", boom)
    t_b, c_b, _ = _arrivals(GovernanceModel(s, 3))
    assert np.array_equal(t_a, t_b) and np.array_equal(c_a, c_b)


def test_hour_of_week_profile_by_thinning():
    """A category with 64% of its weight between 22:00 and 04:00 gets that share of arrivals;
    the others keep theirs; the category's total follows its incidence."""
    s0 = load_scenario(BASE, SHORT)
    code = max(s0.catalogue, key=lambda k: s0.catalogue[k].incidence_per_1000_per_year
               .get("default", 0.0))
    night = [h for h in range(24) if h >= 22 or h < 4]
    hod = np.array([1.0 if h not in night else 0.0 for h in range(24)])
    # weight w at night, 1 by day: share = 6w / (6w + 18) = 0.64
    w = 0.64 * 18 / (6 * 0.36)
    hod[night] = w
    how = [float(x) for x in np.tile(hod, 7)]
    t_plain, c_plain, codes = _arrivals(GovernanceModel(s0, 4))
    s = load_scenario(BASE, SHORT + [f"catalogue.{code}.demand.hour_of_week={how}"])
    t, c, codes = _arrivals(GovernanceModel(s, 4))
    k = codes.index(code)
    mine = t[c == k]
    share = np.isin(np.floor(mine % 24).astype(int), night).mean()
    n = mine.size
    assert abs(share - 0.64) < 4 * math.sqrt(0.64 * 0.36 / n), (share, n)
    # totals: Poisson count with the same mean as without the profile
    n0 = (c_plain == k).sum()
    assert abs(n - n0) < 4 * math.sqrt(2 * n0), (n, n0)
    others = np.isin(np.floor(t[c != k] % 24).astype(int), night).mean()
    assert others < 0.5          # the other categories are not moved to the night


def test_month_and_trend_profile():
    s = load_scenario(BASE, ["run.horizon_days=365", "run.warmup_days=0",
                             "run.start_date=2024-01-01"])
    code = next(iter(s.catalogue))
    month = [2.0 if m == 6 else 1.0 for m in range(12)]            # July doubled
    s = load_scenario(BASE, ["run.horizon_days=365", "run.warmup_days=0",
                             "run.start_date=2024-01-01",
                             f"catalogue.{code}.demand.month={month}",
                             f"catalogue.{code}.demand.trend_per_year=1.0",
                             f"catalogue.{code}.demand.reference_date=2024-01-01"])
    mult = problems.demand_multipliers(s, list(s.catalogue.values()), 365 * 24.0)
    k = 0
    jul = (31 + 29 + 31 + 30 + 31 + 30) * 24
    jun = jul - 30 * 24
    # July over June: twice the season, times the trend over the month between them
    ratio = mult[k, jul + 12] / mult[k, jun + 12]
    assert ratio == pytest.approx(2.0 * 2.0 ** (30 / 365.25), rel=1e-6)
    assert mult[1:].max() == 1.0 and mult[1:].min() == 1.0   # no profile: factor 1


def test_schema_rejects_bad_profiles():
    with pytest.raises(ValueError):
        DemandProfile(hour_of_week=[1.0] * 24)
    with pytest.raises(ValueError):
        DemandProfile(month=[1.0] * 11)
    with pytest.raises(ValueError):
        DemandProfile(trend_per_year=-1.5)


def _synthetic(seed=0, weeks=8):
    """Two categories over whole weeks: `noise` mostly at night, `litter` by day, and a
    small `rare` one at night."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01")   # a Monday
    rows = []
    for code, n, night_share in (("noise", 3000, 0.64), ("litter", 3000, 0.1), ("rare", 30, 0.9)):
        night = rng.random(n) < night_share
        day = rng.integers(0, 7 * weeks, n)
        hour = np.where(night, rng.choice([22, 23, 0, 1, 2, 3], n), rng.integers(4, 22, n))
        t = start + pd.to_timedelta(day * 24 + hour, unit="h") + pd.to_timedelta(
            rng.random(n) * 3600, unit="s")
        rows.append(pd.DataFrame({"created": t, "category": code}))
    df = pd.concat(rows, ignore_index=True)
    return df, start, start + pd.Timedelta(weeks=weeks) - pd.Timedelta(seconds=1)


def test_fit_hour_of_week_with_shrinkage():
    df, start, end = _synthetic()
    fit = fit_demand(df, start, end)
    assert fit.level == "hour_of_week"
    night = [h for h in range(24) if h >= 22 or h < 4]

    def night_share(code):
        w = np.asarray(fit.profiles[code]["hour_of_week"]).reshape(7, 24).sum(0)
        return w[night].sum() / w.sum()

    assert abs(night_share("noise") - 0.64) < 0.04
    assert abs(night_share("litter") - 0.10) < 0.05   # shrinkage pulls it toward the pooled 0.37
    # 30 cases over 168 cells: mostly the pooled profile, not its own 90%
    pooled = fit.pooled_how.reshape(7, 24).sum(0)
    pooled_share = pooled[night].sum() / pooled.sum()
    rare = night_share("rare")
    assert abs(rare - pooled_share) < abs(0.9 - pooled_share) / 2, (rare, pooled_share)
    assert SHRINK_CASES > 0 and "month" not in fit.profiles["noise"]   # 8 weeks: no season


def test_fit_hour_of_day_when_the_week_is_not_covered():
    df, start, _ = _synthetic(weeks=1)
    end = start + pd.Timedelta(days=3)
    df = df[df["created"] < end]
    fit = fit_demand(df, start, end)
    assert fit.level == "hour_of_day"
    w = np.asarray(fit.profiles["noise"]["hour_of_week"]).reshape(7, 24)
    assert np.allclose(w, w[0])           # one day profile, repeated


def test_fit_season_and_trend_over_two_years():
    rng = np.random.default_rng(2)
    start = pd.Timestamp("2022-01-01")
    days = np.arange(730)
    date = start + pd.to_timedelta(days, unit="D")
    rate = 20.0 * np.where(date.month == 7, 2.0, 1.0) * 1.3 ** ((days - 365) / 365.25)
    n = rng.poisson(rate)
    t = np.repeat(date.to_numpy(), n) + pd.to_timedelta(
        rng.random(n.sum()) * 86400, unit="s").to_numpy()
    df = pd.DataFrame({"created": t, "category": "x"})
    fit = fit_demand(df, start, start + pd.Timedelta(days=730) - pd.Timedelta(seconds=1))
    p = fit.profiles["x"]
    # two years: seasonality by day of year (smoothed over 14 days, so compare mid-July with
    # days well away from July)
    d = np.asarray(p["day_of_year"])
    assert d[188:200].mean() / d[np.r_[0:160, 230:365]].mean() == pytest.approx(2.0, rel=0.1)
    assert p["trend_per_year"] == pytest.approx(0.3, abs=0.05)
