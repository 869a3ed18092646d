"""Round trip: run a known scenario, calibrate from its own case log, recover its parameters.

Tolerances come from the sample size: a Poisson count n has sd sqrt(n); a mean of n draws with
coefficient of variation cv has standard error mean * cv / sqrt(n). We allow 4 standard errors
(a false alarm about 1 in 16,000 per check; the seeds are fixed, so a run either passes or not).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from sim.calibrate.cli import calibrate_log
from sim.calibrate.fit import fit_log
from sim.calibrate.mapping import cogov_mapping
from sim.calibrate.read import read_log
from sim.runner import run_scenario, write_case_log_parquet
from sim.scenario.loader import load_scenario
from sim.scenario.schema import LAND_USES
from sim.world.district import build_district

from .conftest import ROOT

Z = 4.0
HOD = [0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.2, 1.6, 2.0, 2.0, 1.8,
       1.6, 1.8, 2.0, 1.8, 1.6, 1.4, 1.2, 1.0, 0.8, 0.6, 0.4, 0.3]

BASE = {
    "name": "roundtrip",
    "district": {"name": "rt", "streets": [
        {"name": "S1", "grids": [
            {"name": "G1", "population": 20000},
            {"name": "G2", "population": 30000,
             "land_use": {"residential": 0.5, "commercial": 0.5}}]},
        {"name": "S2", "grids": [{"name": "G3", "population": 50000}]}]},
    "catalogue": {
        "noise": {"name": "Noise", "family": "environment", "owner": "env",
                  "handling": {"kind": "lognormal", "mean": 3.0, "cv": 0.8},
                  "p_resolve": 1.0, "p_report": 1.0, "deadline_hours": 48,
                  "incidence_per_1000_per_year": {"default": 20, "commercial": 60},
                  "channel_weights": {"hotline_12345": 0.7, "app": 0.3}},
        "garbage": {"name": "Garbage", "family": "urban_management", "owner": "um",
                    "handling": {"kind": "gamma", "mean": 1.5, "cv": 0.5},
                    "p_resolve": 1.0, "p_report": 1.0, "deadline_hours": 24,
                    "incidence_per_1000_per_year": {"default": 30}},
    },
    "departments": {
        # office hours and few staff: real queues, so waiting != handling
        "env": {"name": "Env", "level": "district", "staff": 4,
                "shift": {"start_hour": 8, "end_hour": 18, "days": [0, 1, 2, 3, 4]}},
        "um": {"name": "UM", "level": "street", "staff": 1},
        "police": {"name": "Police", "staff": 1, "is_police": True},
    },
    "channels": {"hotline_12345": {"name": "hotline", "kind": "hotline", "propensity": 0.6},
                 "app": {"name": "app", "kind": "app", "propensity": 0.4}},
    "citizens": {"report_delay": {"kind": "fixed", "mean": 1e-6},
                 # impatient citizens complain again while the case waits: repeat rows share
                 # the case_id and must be merged
                 "repeat": {"p_complain_again": 0.5, "max_repeats": 2,
                            "patience": {"kind": "exponential", "mean": 12.0}},
                 "hour_of_day_weights": HOD},
    "grid_workers": {"per_grid": 0},
    "routing": {"policy": "direct"},
    "run": {"horizon_days": 150, "warmup_days": 0, "start_date": "2024-01-01", "seed": 7},
}


def true_rate_per_day(scenario, code: str) -> float:
    pop, _, mix = build_district(scenario.district).arrays()
    inc = scenario.catalogue[code].incidence_per_1000_per_year
    vec = np.array([inc.get(u, inc.get("default", 0.0)) for u in LAND_USES])
    return float(np.sum(pop / 1000.0 * (mix @ vec))) / 365.0


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory):
    d = tmp_path_factory.mktemp("roundtrip")
    base = d / "base.yaml"
    base.write_text(yaml.safe_dump(BASE), encoding="utf-8")
    scenario = load_scenario(base)
    res = run_scenario(scenario)
    log = d / "cases.csv"
    res.cases.to_csv(log, index=False)
    write_case_log_parquet(res, d / "cases.parquet")
    out = d / "calibrated.yaml"
    cal, path, _ = calibrate_log(log, ROOT / "mappings" / "cogov_caselog.yaml", base, out,
                                 d / "report")
    return {"dir": d, "scenario": scenario, "cases": res.cases, "cal": cal, "out": out}


def test_parquet_log_reads_as_the_csv(roundtrip):
    """cogov's default case log (cases.parquet) reads through the own-log mapping exactly as
    cases.csv does."""
    d = roundtrip["dir"]
    mapping = cogov_mapping()
    a = read_log(d / "cases.csv", mapping)
    b = read_log(d / "cases.parquet", mapping)
    pd.testing.assert_frame_equal(a.cases, b.cases)
    assert a.quality.rows_used == b.quality.rows_used
    assert a.quality.bad_timestamps == b.quality.bad_timestamps


def test_repeat_rows_are_merged(roundtrip):
    cases = roundtrip["cases"]
    cal = roundtrip["cal"]
    assert cases["is_repeat"].sum() > 0, "the test needs repeat complaints"
    assert cal.log.quality.attached_complaints == int(cases["case_id"].duplicated().sum())
    assert cal.log.quality.rows_used == cases["case_id"].nunique()


def test_arrival_rates_recovered(roundtrip):
    cal, scenario = roundtrip["cal"], roundtrip["scenario"]
    for code in ("noise", "garbage"):
        truth = true_rate_per_day(scenario, code)
        c = cal.categories[code]
        days = cal.span_hours / 24.0
        se = math.sqrt(truth * days) / days
        assert abs(c.rate_per_day - truth) < Z * se, (code, c.rate_per_day, truth, se)


def test_calibrated_incidence_keeps_land_use_pattern(roundtrip):
    cal_s = load_scenario(roundtrip["out"])
    base = roundtrip["scenario"]
    for code in ("noise", "garbage"):
        truth = true_rate_per_day(base, code)
        got = true_rate_per_day(cal_s, code)
        n = truth * roundtrip["cal"].span_hours / 24.0
        assert abs(got / truth - 1) < Z / math.sqrt(n), (code, got, truth)
    inc = cal_s.catalogue["noise"].incidence_per_1000_per_year
    assert inc["commercial"] / inc["default"] == pytest.approx(3.0, rel=1e-4)


def test_handling_recovered(roundtrip):
    cal, scenario = roundtrip["cal"], roundtrip["scenario"]
    for code in ("noise", "garbage"):
        truth = scenario.catalogue[code].handling
        c = cal.categories[code]
        assert c.handling_from == "started"
        fit = c.handling.chosen
        n = c.handling.n_events
        se_mean = truth.mean * truth.cv / math.sqrt(n)
        assert abs(fit.mean_hours - truth.mean) < Z * se_mean, (code, fit.mean_hours, se_mean)
        # the cv of n draws: its sd is about cv * sqrt((1 + 2 cv^2) / (2 n)) (lognormal-ish,
        # generous for gamma)
        se_cv = truth.cv * math.sqrt((1 + 2 * truth.cv ** 2) / (2 * n))
        assert abs(fit.cv - truth.cv) < Z * se_cv, (code, fit.cv, truth.cv, se_cv)
        # waiting is real (office hours, few staff): time to close is longer than handling
        assert c.ttc.km.quantile(0.5) > c.handling.km.quantile(0.5)


def test_family_and_deadline_and_channels(roundtrip):
    cal, out = roundtrip["cal"], load_scenario(roundtrip["out"])
    assert cal.categories["noise"].handling.chosen.kind in ("lognormal", "gamma", "empirical")
    assert out.catalogue["noise"].deadline_hours == pytest.approx(48.0, abs=1e-3)
    assert out.catalogue["garbage"].deadline_hours == pytest.approx(24.0, abs=1e-3)
    noise = cal.categories["noise"]
    share = noise.channel_shares["hotline_12345"]
    se = math.sqrt(0.7 * 0.3 / noise.arrivals)
    assert abs(share - 0.7) < Z * se
    # departments are kept from the base (handling is staff time, queues are real)
    assert out.departments["env"].staff == 4 and not out.departments["env"].shift.always


def test_hour_of_day_pattern_recovered(roundtrip):
    """Counts by hour against the true weights: chi-square below its 99.99% quantile."""
    cal = roundtrip["cal"]
    counts = cal.hod["count"].to_numpy()
    w = np.asarray(HOD) / sum(HOD)
    expected = counts.sum() * w
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert chi2 < stats.chi2.ppf(0.9999, 23), chi2
    out = load_scenario(roundtrip["out"])
    got = np.asarray(out.citizens.hour_of_day_weights)
    assert np.corrcoef(got, HOD)[0, 1] > 0.95


def test_calibrated_scenario_reproduces_its_log(roundtrip):
    """Re-simulate the calibrated scenario: its log gives back the same rates and handling."""
    out = load_scenario(roundtrip["out"])
    assert out.routing.policy == "direct" and out.citizens.repeat.p_complain_again == 0
    res = run_scenario(out, seed=99)
    end = pd.Timestamp(out.run.start_date) + pd.Timedelta(days=out.run.horizon_days)
    again = fit_log(read_log(res.cases.astype(str), cogov_mapping(), extracted_at=end), base=out)
    cal = roundtrip["cal"]
    for code in ("noise", "garbage"):
        a, b = cal.categories[code], again.categories[code]
        se = math.sqrt(a.arrivals + b.arrivals) / (cal.span_hours / 24.0)
        assert abs(a.rate_per_day - b.rate_per_day) < Z * se
        fa, fb = a.handling.chosen, b.handling.chosen
        se_m = fa.mean_hours * fa.cv * math.sqrt(1 / a.handling.n_events
                                                  + 1 / b.handling.n_events)
        assert abs(fa.mean_hours - fb.mean_hours) < Z * se_m


def test_report_written(roundtrip):
    rep = roundtrip["dir"] / "report"
    for name in ("index.md", "categories.csv", "fits_time_to_close.csv", "fits_handling.csv",
                 "data_quality.csv", "fit_time_to_close.png", "fit_handling.png",
                 "arrivals_time.png", "departments.csv"):
        assert (rep / name).exists(), name
    text = (rep / "index.md").read_text(encoding="utf-8")
    assert "noise" in text and "Data quality" in text
    fits = pd.read_csv(rep / "fits_handling.csv")
    assert {"aic_exponential", "aic_lognormal", "aic_gamma", "chosen"} <= set(fits.columns)
