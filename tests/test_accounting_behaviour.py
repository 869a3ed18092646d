"""Issue 23: decisions that vary where they should, and citizens who learn.

At the shipped load (two streets of the shipped district: realistic load per unit), every
department decides effort task by task and responds to its pressure under every assessment
policy, grid workers' day plans move with the day's follow-ups, and residents' chance of a first
report moves with the service they saw (trust), with common random numbers kept. Paired
comparisons share seeds; a direction is accepted when every pair agrees or the mean paired
difference is 3 standard errors from zero (as in tests/test_mechanisms.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.runner import run_scenario
from sim.scenario.loader import load_scenario, scenario_to_dict, validate_mapping

from .conftest import SCENARIOS

REDUCED = ["district.generate.streets=2", "district.generate.grids_per_street=50",
           "district.generate.population=120000",
           "district.generate.street_names=[Wuhulu, Baogong]", "run.horizon_days=60",
           "run.warmup_days=10"]
BEFORE = SCENARIOS / "baohe_before.yaml"
AFTER = SCENARIOS / "baohe_after.yaml"
SEEDS = (11, 12, 13)


def summary(path, extra=(), staff=1.0, seed=11) -> dict:
    d = scenario_to_dict(load_scenario(path, [*REDUCED, *extra]))
    if staff != 1.0:
        for dep in d["departments"].values():
            dep["staff"] = max(1, int(round(dep["staff"] * staff)))
    return run_scenario(validate_mapping(d, str(path)), seed=seed).summary


def assert_positive(d, what):
    d = np.asarray(d, dtype=float)
    if np.all(d > 0):
        return
    se = d.std(ddof=1) / np.sqrt(len(d))
    assert d.mean() > 3 * se, f"{what}: paired differences {d} are not clearly positive"


@pytest.mark.parametrize("path", [BEFORE, AFTER], ids=["before", "after"])
def test_decisions_vary_at_the_shipped_load(path):
    s = summary(path)
    assert s["effort_sd"] > 0 and s["followup_hours_sd"] > 0
    assert 0.3 <= s["effort_mean"] <= 1.5        # within [min_effort, max_effort]


def test_speed_assessed_department_gives_less_effort_when_pressed():
    """closure_speed alone, every department: lower mean effort at 0.6x staff than at 3x."""
    path = SCENARIOS / "mechanisms" / "closure_speed.yaml"
    d = [summary(path, staff=3.0, seed=s)["effort_mean"]
         - summary(path, staff=0.6, seed=s)["effort_mean"] for s in SEEDS[:2]]
    assert_positive(d, "effort at 3x staff minus effort at 0.6x staff")


def test_street_held_assessment_also_cuts_effort_under_pressure():
    """The street scores on-time closure too: its teams' effort falls with pressure."""
    d = [summary(AFTER, staff=3.0, seed=s)["effort_mean"]
         - summary(AFTER, staff=0.6, seed=s)["effort_mean"] for s in SEEDS[:2]]
    assert_positive(d, "street-held: effort at 3x staff minus effort at 0.6x staff")


def test_without_assessment_effort_is_full_when_idle():
    """No assessment and ample staff: nearly every task gets what it needs (only the load
    response acts, and there is almost no load)."""
    s = summary(SCENARIOS / "mechanisms" / "baseline.yaml", staff=3.0)
    assert s["effort_mean"] > 0.99


# ---------------------------------------------------------------- citizens who learn
NO_PATROL_NO_RECURRENCE = ["grid_workers.detection_prob=0",
                           "grid_workers.detection_prob_by_family={}"]


def _no_recurrence(path, extra, better: bool, seed):
    """`path` without patrol detection and recurrences (so that first reports are all the
    citizens' own, of the same problems), and, when `better`, with a service that resolves
    more: every category's chance of truly resolving a problem at full effort 0.15 higher."""
    d = scenario_to_dict(load_scenario(path, [*REDUCED, *NO_PATROL_NO_RECURRENCE, *extra]))
    for cat in d["catalogue"].values():
        cat["recurrence_prob"] = 0.0
        if better:
            cat["p_resolve"] = min(0.99, cat["p_resolve"] + 0.15)
    return run_scenario(validate_mapping(d, str(path)), seed=seed).summary


def test_first_reports_do_not_move_with_the_service_when_trust_is_neutral():
    """Sensitivity 0: a service that resolves more leaves first reports exactly as they were
    (same problems, same pre-drawn uniforms, nobody else reports first)."""
    off = ["agents.citizen.params.trust_sensitivity=0"]
    for seed in SEEDS[:2]:
        worse = _no_recurrence(BEFORE, off, False, seed)
        better = _no_recurrence(BEFORE, off, True, seed)
        assert better["resolved_share_of_closed"] > worse["resolved_share_of_closed"]
        assert better["first_reports"] == worse["first_reports"]


def test_a_service_that_resolves_more_gets_more_first_reports_when_citizens_learn():
    on = ["agents.citizen.params.trust_sensitivity=1.5"]
    d_res, d_first = [], []
    for seed in SEEDS:
        worse = _no_recurrence(BEFORE, on, False, seed)
        better = _no_recurrence(BEFORE, on, True, seed)
        d_res.append(better["resolved_share_of_closed"] - worse["resolved_share_of_closed"])
        d_first.append(better["first_reports"] - worse["first_reports"])
    assert_positive(d_res, "resolved share, better minus worse service")
    assert_positive(d_first, "first reports, better minus worse service")
