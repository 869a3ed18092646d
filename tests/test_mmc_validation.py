"""The model reduced to M/M/c matches queueing theory (Erlang C, Little's law)."""

from __future__ import annotations

import math

import numpy as np

from sim.runner import run_scenario
from sim.scenario.loader import load_scenario

LAM, MEAN_S, C = 4.0, 2.0, 10   # per hour, hours, servers: rho = 0.8


def erlang_c_wait(lam: float, mean_s: float, c: int) -> float:
    """Mean wait in queue (hours) of M/M/c."""
    a = lam * mean_s
    rho = a / c
    top = a ** c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)
    return p_wait * mean_s / (c - a)


def _replications(mmc_path, n=12, days=150):
    scenario = load_scenario(mmc_path, [
        f"catalogue.job.incidence_per_1000_per_year.default={LAM * 8760}",
        f"catalogue.job.handling.mean={MEAN_S}", f"departments.desk.staff={C}",
        f"run.horizon_days={days}", "run.warmup_days=10"])
    return [run_scenario(scenario, seed=1000 + i).summary for i in range(n)]


def test_erlang_c_and_littles_law(mmc_path):
    runs = _replications(mmc_path)
    wq = erlang_c_wait(LAM, MEAN_S, C)
    waits = np.array([r["mean_wait_hours"] for r in runs])
    se = waits.std(ddof=1) / np.sqrt(len(waits))
    # the replications are independent, so their mean is within 3.5 standard errors of the truth
    # (a false alarm about 1 in 2,000 runs); the check has power only if the SE is small
    assert se < 0.1 * wq, (se, wq)
    assert abs(waits.mean() - wq) < 3.5 * se, (waits.mean(), wq, se)
    # the arrival rate and utilisation the scenario promises
    lam_obs = np.mean([r["case_arrival_rate_per_day"] for r in runs]) / 24
    assert abs(lam_obs - LAM) < 4 * np.sqrt(LAM / (140 * 24 * len(runs))), lam_obs
    util = np.mean([r["utilization"]["desk"] for r in runs])
    assert abs(util - LAM * MEAN_S / C) < 0.01
    # Little's law on the outputs: L = lambda * W, per replication; the difference comes only
    # from cases straddling the window ends, so its mean is zero within sampling error
    d = np.array([r["mean_open_cases"] - r["case_arrival_rate_per_day"] / 24
                  * r["mean_time_to_close_hours"] for r in runs])
    L = np.mean([r["mean_open_cases"] for r in runs])
    assert abs(d.mean()) < max(3.5 * d.std(ddof=1) / np.sqrt(len(d)), 0.01 * L), d
    assert abs(d.mean()) < 0.03 * L


def test_mmc_has_no_repeats_transfers_or_patrols(mmc_path):
    s = run_scenario(load_scenario(mmc_path, ["run.horizon_days=20", "run.warmup_days=2"])).summary
    assert s["repeat_complaints"] == 0
    assert s["transfers"] == 0
    assert s["settled_on_spot"] == 0
    assert s["complaints"] == s["cases_opened"]
