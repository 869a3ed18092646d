"""[agents] Behaviour lives in the agents, and the reform's effect emerges from decisions meeting
queues at realistic load.

The district used is two streets of the Baohe district at full density (120,000 residents a
street, the load a real street platform and street team see), for 100 days. Comparisons are
paired by seed (common random numbers). A difference is accepted when every pair agrees in sign
or the mean paired difference is at least 3 standard errors from zero.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

from sim.agents import (
    CITIZENS,
    DEPARTMENTS,
    Citizen,
    Department,
    DispatchPlatform,
    GridWorker,
)
from sim.policies.assessment import ASSESSMENT, Incentives
from sim.records import citizen_repeats
from sim.runner import run_scenario
from sim.scenario.loader import load_scenario, scenario_to_dict, validate_mapping

from .conftest import ROOT, SCENARIOS, cogov

SMALL = ["district.generate.streets=2", "district.generate.grids_per_street=100",
         "district.generate.population=240000", "district.generate.street_names=[Wuhulu, Baogong]",
         "run.horizon_days=100", "run.warmup_days=20"]
SEEDS = (11, 12, 13, 14)
BEFORE = SCENARIOS / "baohe_before.yaml"
AFTER = SCENARIOS / "baohe_after.yaml"


def summaries(path, extra=(), staff=1.0, seeds=SEEDS):
    d = scenario_to_dict(load_scenario(path, [*SMALL, *extra]))
    if staff != 1.0:
        for dep in d["departments"].values():
            dep["staff"] = int(round(dep["staff"] * staff))
    sc = validate_mapping(d, str(path))
    return [run_scenario(sc, seed=s).summary for s in seeds]


def col(rs, key):
    return np.array([r[key] for r in rs], dtype=float)


def assert_positive(d, what):
    d = np.asarray(d, dtype=float)
    if np.all(d > 0):
        return
    se = d.std(ddof=1) / np.sqrt(len(d))
    assert d.mean() > 3 * se, f"{what}: paired differences {d} are not clearly positive"


# ---------------------------------------------------------------- behaviour lives in agents
@pytest.mark.parametrize("cls, methods", [
    (Department, ["effort", "priority", "p_true_resolution", "observe_closure", "pressure"]),
    (Citizen, ["after_patience", "report_probability", "reports", "observe_closure"]),
    (GridWorker, ["plan_day", "patrols_now", "mediate", "visit_done"]),
    (DispatchPlatform, ["dispatch"]),
])
def test_each_agent_defines_its_decisions(cls, methods):
    for m in methods:
        assert m in cls.__dict__ and callable(getattr(cls, m)), f"{cls.__name__}.{m}"
        assert inspect.getdoc(getattr(cls, m)), f"{cls.__name__}.{m} has no docstring"


@CITIZENS.register
class NeverAgain(Citizen):
    """Test behaviour: citizens never complain twice."""

    name = "test_never_again"

    def after_patience(self, problem, case):
        return -1


@DEPARTMENTS.register
class Diligent(Department):
    """Test behaviour: full effort whatever the assessment."""

    name = "test_diligent"

    def effort(self, case, role):
        return 1.0


def test_subclass_chosen_by_name_changes_behaviour():
    base = summaries(BEFORE, seeds=(11,))[0]
    never = summaries(BEFORE, ["agents.citizen.behaviour=test_never_again"], seeds=(11,))[0]
    assert base["escalations"] > 0 and base["citizen_repeat_rate"] > 0.05
    assert never["escalations"] == 0
    assert never["citizen_repeat_rate"] == 0.0
    # a department subclass: the same problems, different effort -> different outcomes
    dil = summaries(BEFORE, ["agents.department.behaviour=test_diligent"], seeds=(11,))[0]
    assert dil["resolved_share_of_closed"] != base["resolved_share_of_closed"]


def test_unknown_behaviour_and_parameter_are_exit_2():
    p = cogov("validate", BEFORE, "--set", "agents.department.behaviour=nosuch")
    assert p.returncode == 2 and "agents.department.behaviour" in p.stderr
    assert "Traceback" not in p.stderr
    p = cogov("validate", BEFORE, "--set", "agents.department.params.max_sped_cut=0.2")
    assert p.returncode == 2 and "agents.department.params.max_sped_cut" in p.stderr


def test_assessment_policies_set_incentives_not_outcomes():
    fields = set(Incentives.__dataclass_fields__)
    for name, cls in ASSESSMENT.items():
        keys = set(cls().incentives(1.0))
        assert keys <= fields, f"{name} sets {keys - fields}"
        assert not any("resolve" in k or "handling" in k for k in keys)


# ---------------------------------------------------------------- emergence at load
# At the recalibrated load (incidences x 0.85) closure-speed scoring cuts effort less at
# today's staff (0.973 against 0.992 without assessment; 0.994 against 0.998 at 3x staff), so
# the cost in true resolution is small at both: +0.47 +- 0.10 pp at today's staff, +0.11 +-
# 0.08 pp at 3x (8 seeds). Their paired difference has sd ~0.0035 per seed against a mean of
# ~0.0036: four seeds (the former test) cannot show it at 3 standard errors, twelve can.
SEEDS_CAPACITY = tuple(range(11, 23))


@pytest.mark.slow
def test_closure_speed_costs_resolution_only_where_capacity_binds():
    """Closure-speed assessment against no assessment, under baohe_before: the cost in true
    resolution is there at today's staff and shrinks when every department has 3x staff."""
    cost, cut = {}, {}
    for f in (1.0, 3.0):
        cs = summaries(BEFORE, staff=f, seeds=SEEDS_CAPACITY)
        none = summaries(BEFORE, ["assessment.policies=[]"], staff=f, seeds=SEEDS_CAPACITY)
        cost[f] = col(none, "resolved_share_of_closed") - col(cs, "resolved_share_of_closed")
        cut[f] = col(none, "effort_mean") - col(cs, "effort_mean")
    # the decision: pressed departments scored on speed cut effort, more so at today's staff
    assert_positive(cut[1.0] - cut[3.0], "effort cut at today's staff minus at 3x staff")
    # what it costs
    assert_positive(cost[1.0], "cost of closure speed at today's staff")
    assert_positive(cost[1.0] - cost[3.0], "cost at today's staff minus cost at 3x staff")


def test_platform_queue_builds_when_triage_staff_is_cut():
    ample = run_scenario(load_scenario(AFTER, [*SMALL, "platform.triage_staff=4"]), seed=11)
    thin = run_scenario(load_scenario(AFTER, [*SMALL, "platform.triage_staff=2",
                                              "platform.triage_hours.mean=0.3"]), seed=11)
    assert thin.summary["platform_wait_hours"] > 10 * ample.summary["platform_wait_hours"]
    ts_a, ts_t = ample.timeseries, thin.timeseries
    # ample staff: the platform queue stays short; thin staff: it grows through the run
    assert ts_a["platform_queue"].max() < 50
    q = ts_t["platform_queue"].to_numpy()
    n = len(q)
    assert q[-n // 4:].mean() > 2 * q[n // 4: n // 2].mean() > 0


def test_patrol_detections_fall_as_followup_load_rises():
    """Handback sends unsettled police matters to grid follow-up; when visits take longer, the
    grid workers' day plan leaves less patrol time and they detect fewer problems.

    Measured on scenarios/mechanisms/handback.yaml (every unsettled item of the non-police list
    handed back: about 550 handbacks in 80 days on these two streets). The shipped
    `baohe_after` hands back only the two kinds the reform report names (a handful in 80 days,
    to match its 1,260 cases since 2019), too few follow-ups for their length to move patrol
    time beyond noise (measured there: +161, +40, -33 detections)."""
    def detections(extra, seed):
        res = run_scenario(load_scenario(SCENARIOS / "mechanisms" / "handback.yaml",
                                         [*SMALL, *extra]), seed=seed)
        m = res.model
        cit = np.asarray(m.c_citizen)
        rep = np.asarray(m.c_repeat)
        t = np.asarray(m.c_t)
        share = res.timeseries["patrol_share"].mean()
        return int((~cit & ~rep & (t >= m.warmup)).sum()), share
    d = []
    for seed in SEEDS[:3]:
        light, s_light = detections(["grid_workers.visit_hours=0.5"], seed)
        heavy, s_heavy = detections(["grid_workers.visit_hours=3",
                                     "handback.followup_limit=6"], seed)
        assert s_heavy < s_light
        d.append(light - heavy)
    assert_positive(d, "first patrol detections, light minus heavy follow-up load")


def test_joint_handling_is_drawn_per_case():
    def joint(p):
        d = scenario_to_dict(load_scenario(AFTER, SMALL))
        for cat in d["catalogue"].values():
            if cat.get("co_handlers"):
                cat["p_complex"] = p
        return run_scenario(validate_mapping(d, "x"), seed=11).summary["joint_cases"]
    j0, j35, j70 = joint(0.0), joint(0.35), joint(0.7)
    assert j0 == 0
    # joint cases scale with the complex share (binomial: ratio 2 within a few percent)
    assert 1.8 < j70 / j35 < 2.2, (j35, j70)


def test_citizens_escalate_after_repeated_failures():
    base = summaries(BEFORE, seeds=(11,))[0]
    off = summaries(BEFORE, ["citizens.escalation.p_escalate=0"], seeds=(11,))[0]
    assert base["escalations"] > 0
    assert 0 < base["escalations_to_petition"] < base["escalations"]
    assert off["escalations"] == 0 and off["escalations_to_petition"] == 0
    # escalation never makes a case more likely to vanish: petitions jump the queue
    assert base["citizen_repeat_rate"] <= off["citizen_repeat_rate"] + 0.02


# The thin platform's queue grows for as long as the run lasts (the claim is about a year). At
# 100 days its median time to close (25.6 h) is still just under before's (26.1 h, set by the
# 24-hour paper forwarding of grid reports); at 160 days it is 49-55 h.
STRESS_RUN = ("run.horizon_days=160",)


@pytest.mark.slow
def test_stress_pair_reform_fails_for_the_stated_reason():
    """scenarios/stress/thin_platform_*: the reform does worse on median time to close and the
    citizen repeat rate because its platforms are too thin; with the same platforms staffed for
    the load, the same reform does better."""
    before = summaries(SCENARIOS / "stress" / "thin_platform_before.yaml", STRESS_RUN,
                       seeds=SEEDS[:3])
    after = summaries(SCENARIOS / "stress" / "thin_platform_after.yaml", STRESS_RUN,
                      seeds=SEEDS[:3])
    fixed = summaries(SCENARIOS / "stress" / "thin_platform_after.yaml",
                      [*STRESS_RUN, "platform.triage_staff=4"], seeds=SEEDS[:3])
    for key in ("median_time_to_close_hours", "citizen_repeat_rate"):
        assert_positive(col(after, key) - col(before, key), f"{key}: thin after - before")
        assert_positive(col(before, key) - col(fixed, key), f"{key}: before - staffed after")
    # the stated reason: cases wait at the platform (more than a day on average)
    assert col(after, "platform_wait_hours").min() > 24
    assert col(fixed, "platform_wait_hours").max() < 1


# ---------------------------------------------------------------- definitions
def test_citizen_repeat_uses_the_window_and_ignores_patrol():
    comp = pd.DataFrame({
        "t": [0.0, 10.0, 24.0 * 40, 24.0 * 41, 5.0, 6.0],
        "pid": [1, 1, 1, 1, 2, 2],
        "citizen": [True, True, True, False, False, True],
    })
    rep = citizen_repeats(comp, window_hours=24.0 * 30)
    # 2nd complaint within 30 days: repeat; 3rd 40 days later: not; patrol: never;
    # problem 2's citizen complaint after only a patrol report: not a repeat
    assert rep.tolist() == [False, True, False, False, False, False]


def test_neutral_scenarios_follow_the_assumption_table():
    import subprocess
    import sys
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_neutral_scenarios.py"),
                        "--check"], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    from sim.assumptions import ASSUMED_EFFECTS
    doc = (ROOT / "docs" / "input-data.md").read_text(encoding="utf-8")
    for eff in ASSUMED_EFFECTS:
        assert f"`{eff.path}`" in doc, f"docs/input-data.md does not list {eff.path}"
