"""Unit checks of the estimators: censored maximum likelihood, Kaplan-Meier, AIC choice,
exposure hours, shift hours, and the shipped mappings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.calibrate.fit import exposure_hours, on_shift_hours_until, repeat_share
from sim.calibrate.mapping import COGOV_CASELOG, cogov_mapping, load_mapping, mapping_from_dict
from sim.calibrate.survival import fit_durations, kaplan_meier
from sim.records import CASE_LOG_COLUMNS
from sim.scenario.schema import Shift

from .conftest import ROOT


def censored_sample(rng, draw, n, censor_mean):
    t = draw(n)
    c = rng.exponential(censor_mean, n)
    return np.minimum(t, c), (t <= c).astype(float), t


def test_censored_lognormal_recovered():
    """About a third censored: the censored MLE finds the true mean, the naive mean of closed
    cases does not."""
    rng = np.random.default_rng(3)
    mu, sigma, n = math.log(20.0), 0.9, 4000
    h, e, _ = censored_sample(rng, lambda k: rng.lognormal(mu, sigma, k), n, 60.0)
    assert 0.2 < 1 - e.mean() < 0.5
    f = fit_durations(h, e, res=1 / 60)
    assert f.chosen.kind == "lognormal"
    true_mean = math.exp(mu + sigma ** 2 / 2)
    se = true_mean * math.sqrt(math.expm1(sigma ** 2)) / math.sqrt(f.n_events)
    assert abs(f.chosen.mean_hours - true_mean) < 4 * se
    assert h[e == 1].mean() < true_mean - 4 * se          # dropping open cases is biased
    assert abs(f.chosen.params["sigma"] - sigma) < 0.05


@pytest.mark.parametrize("kind,draw,true_mean", [
    ("exponential", lambda r, n: r.exponential(5.0, n), 5.0),
    ("gamma", lambda r, n: r.gamma(4.0, 2.0, n), 8.0),
])
def test_aic_picks_the_true_family(kind, draw, true_mean):
    rng = np.random.default_rng(5)
    h = draw(rng, 3000)
    f = fit_durations(h, np.ones_like(h), res=1e-4)
    aics = {k: c.aic for k, c in f.candidates.items()}
    if kind == "exponential":   # nested in gamma (shape 1): either, with cv near 1
        assert f.chosen.kind in ("exponential", "gamma") and abs(f.chosen.cv - 1) < 0.05, aics
    else:
        assert f.chosen.kind == kind, aics
    assert abs(f.chosen.mean_hours / true_mean - 1) < 0.05


def test_zero_inflated_times_fall_back_to_empirical():
    """A fifth of cases closed at once plus a lognormal: no family fits, the empirical one does,
    and instant closures count as interval-censored (no -inf likelihood)."""
    rng = np.random.default_rng(9)
    h = np.concatenate([np.zeros(600), rng.lognormal(3, 1, 2400)])
    f = fit_durations(h, np.ones_like(h), res=1 / 3600)
    assert f.n_instant == 600
    assert all(np.isfinite(c.loglik) for k, c in f.candidates.items() if k != "empirical")
    assert f.chosen.kind == "empirical" and "rejected" in f.note
    assert f.chosen.ks < 0.01
    assert f.chosen.quantile(0.5) == pytest.approx(np.median(h), rel=0.03)
    assert min(f.chosen.to_distribution()["values"]) > 0


def test_implausible_tail_is_not_chosen():
    """A lognormal whose mean lies far beyond every observation is not used."""
    rng = np.random.default_rng(2)
    h = np.concatenate([rng.lognormal(0, 3.5, 300)])
    h = np.minimum(h, 50.0)   # nothing observed beyond 50 h
    f = fit_durations(h, np.ones_like(h), res=1e-3)
    assert f.chosen.mean_hours <= 50.0


def test_kaplan_meier_and_median_interval():
    h = np.array([1, 2, 3, 4, 5, 6], float)
    e = np.array([1, 0, 1, 1, 0, 1], float)
    km = kaplan_meier(h, e)
    # S: 5/6 after 1; at 3: 5/6*3/4; at 4: *2/3; at 6: 0
    assert km.at(1.5) == pytest.approx(1 / 6)
    assert km.at(3) == pytest.approx(1 - 5 / 6 * 3 / 4)
    assert km.at(4.5) == pytest.approx(1 - 5 / 6 * 3 / 4 * 2 / 3)
    assert km.quantile(0.5) == 4.0
    lo, hi = km.median_ci()
    assert lo <= 4.0 and (np.isnan(hi) or hi >= 4.0)


def test_exposure_hours():
    start, end = pd.Timestamp("2024-01-01 10:30"), pd.Timestamp("2024-01-15 02:15")
    e = exposure_hours(start, end)
    assert e.sum() == pytest.approx((end - start) / pd.Timedelta(hours=1))
    assert e[0, 10] == pytest.approx(1.5)     # Monday 10:30-11:00 plus Monday 8th 10:00-11:00


def test_on_shift_hours():
    shift = Shift(start_hour=8, end_hour=18, days=[0, 1, 2, 3, 4])
    s = pd.Series(pd.to_datetime(["2024-01-05 17:00", "2024-01-01 07:00"]))   # Fri, Mon
    e = pd.Series(pd.to_datetime(["2024-01-08 09:30", "2024-01-01 20:00"]))   # Mon, Mon
    work = on_shift_hours_until(e, shift) - on_shift_hours_until(s, shift)
    assert work == pytest.approx([2.5, 10.0])


def test_repeat_share():
    t = pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-20", "2024-01-21", "2024-01-22"])
    cases = pd.DataFrame({"location": ["A", "A", "A", "B", "A"], "category": ["x"] * 5,
                          "created": t})
    share, n, truncated = repeat_share(cases, 7, pd.Timestamp("2024-01-01"))
    # eligible: created on or after Jan 8 (3 cases); repeats among them: Jan 22 at A (Jan 20)
    assert (n, truncated) == (3, False) and share == pytest.approx(1 / 3)


def test_shipped_mappings_load():
    for p in sorted((ROOT / "mappings").glob("*.yaml")):
        m = load_mapping(p)
        assert m.name == p.stem


def test_identity_mapping_file_matches_code():
    data = yaml.safe_load((ROOT / "mappings" / "cogov_caselog.yaml").read_text(encoding="utf-8"))
    assert mapping_from_dict(data) == cogov_mapping()
    assert COGOV_CASELOG["name"] == "cogov_caselog"
    named = set(cogov_mapping().columns.named().values())
    assert named <= set(CASE_LOG_COLUMNS), named - set(CASE_LOG_COLUMNS)
