"""Each pattern claim of docs/ODD.md (section 1.2) as a test, at reduced scale.

The district is two streets of the shipped one (realistic load per unit), 70 days; comparisons
are paired by seed (common random numbers). A direction is accepted when every pair agrees or
the mean paired difference is at least 3 standard errors from zero in the expected direction.
The test names carry the pattern numbers of the ODD table.
"""

from __future__ import annotations

import math

import numpy as np

from sim.records import case_table, complaint_kinds, complaint_table
from sim.runner import run_scenario
from sim.scenario.loader import load_scenario, scenario_to_dict, validate_mapping

from .conftest import SCENARIOS

REDUCED = ["district.generate.streets=2", "district.generate.grids_per_street=25",
           "district.generate.population=60000",
           "district.generate.street_names=[Wuhulu, Baogong]", "run.horizon_days=70",
           "run.warmup_days=10"]
SEEDS = (11, 12, 13)
MECH = SCENARIOS / "mechanisms"
_cache: dict = {}


def runs(path, extra=(), staff=1.0, p_resolve_plus=0.0, keep=False, seeds=SEEDS):
    """Summaries (and, with `keep`, the results) of `path` over `seeds`, cached by seed."""
    key = (str(path), tuple(extra), staff, p_resolve_plus, keep)
    missing = [s for s in seeds if (key, s) not in _cache]
    if missing:
        d = scenario_to_dict(load_scenario(path, [*REDUCED, *extra]))
        for dep in d["departments"].values():
            dep["staff"] = max(1, int(round(dep["staff"] * staff)))
        if p_resolve_plus:
            for cat in d["catalogue"].values():
                cat["p_resolve"] = min(0.99, cat["p_resolve"] + p_resolve_plus)
        sc = validate_mapping(d, str(path))
        for s in missing:
            res = run_scenario(sc, seed=s)
            _cache[key, s] = res if keep else res.summary
    return [_cache[key, s] for s in seeds]


def col(rs, key):
    """The values of `key` over runs; a dotted key reads inside a mapping (`staff_hours.police`)."""
    out = []
    for r in rs:
        v = r
        for part in key.split("."):
            v = v[part]
        out.append(v)
    return np.array(out, dtype=float)


def _direction_holds(a, b, key, sign) -> bool:
    """The acceptance rule of `assert_direction`, as a truth value."""
    d = col(b, key) - col(a, key)
    if np.all(np.sign(d) == sign):
        return True
    return bool(sign * d.mean() > 3 * d.std(ddof=1) / np.sqrt(len(d)))


def assert_direction(a, b, key, sign):
    """col(b) - col(a) has the sign `sign` (paired by seed)."""
    d = col(b, key) - col(a, key)
    if np.all(np.sign(d) == sign):
        return
    se = d.std(ddof=1) / np.sqrt(len(d))
    assert sign * d.mean() > 3 * se, f"{key}: differences {d} (expected sign {sign})"


# ---------------------------------------------------------------- P1, P2: queueing theory
LAM, MEAN_S = 4.0, 2.0


def _mmc(c, days=60, seeds=range(6)):
    sc = load_scenario(SCENARIOS / "validation" / "mmc.yaml", [
        f"catalogue.job.incidence_per_1000_per_year.default={LAM * 8760}",
        f"catalogue.job.handling.mean={MEAN_S}", f"departments.desk.staff={c}",
        f"run.horizon_days={days}", "run.warmup_days=5"])
    return [run_scenario(sc, seed=500 + i).summary for i in seeds]


def erlang_c_wait(lam, mean_s, c):
    a = lam * mean_s
    top = a ** c / math.factorial(c) / (1 - a / c)
    return top / (sum(a ** k / math.factorial(k) for k in range(c)) + top) * mean_s / (c - a)


def test_p1_erlang_c_and_littles_law():
    rs = _mmc(10)
    w = col(rs, "mean_wait_hours")
    wq = erlang_c_wait(LAM, MEAN_S, 10)
    se = w.std(ddof=1) / np.sqrt(len(w))
    assert se < 0.25 * wq and abs(w.mean() - wq) < 3.5 * se, (w.mean(), wq, se)
    d = np.array([r["mean_open_cases"] - r["case_arrival_rate_per_day"] / 24
                  * r["mean_time_to_close_hours"] for r in rs])
    assert abs(d.mean()) < 0.03 * col(rs, "mean_open_cases").mean()


def test_p2_more_staff_shortens_waits_sharply_near_saturation():
    w = {c: col(_mmc(c, seeds=range(2)), "mean_wait_hours").mean() for c in (9, 10, 12)}
    assert w[9] - w[10] > w[10] - w[12] > 0, w


# ---------------------------------------------------------------- P3: fixing problems
def test_p3_fixing_problems_lowers_recomplaints_not_only_chases():
    base = runs(MECH / "baseline.yaml")
    fixed = runs(MECH / "baseline.yaml", p_resolve_plus=0.15)
    assert_direction(base, fixed, "resolved_share_of_closed", +1)
    assert_direction(base, fixed, "recomplaint_rate", -1)
    assert_direction(base, fixed, "citizen_repeat_rate", -1)


# ---------------------------------------------------------------- P4: bouncing
def test_p4_sectoral_routing_bounces_and_slows():
    sect = runs(MECH / "sectoral.yaml")
    terr = runs(MECH / "territorial.yaml")
    assert_direction(terr, sect, "transfers", +1)
    assert_direction(terr, sect, "median_time_to_close_hours", +1)
    assert_direction(terr, sect, "chase_rate", +1)


# ---------------------------------------------------------------- P5, P6: police
def test_p5_p6_police_hours_on_nonpolice_matters_and_police_workload_fall():
    before = runs(SCENARIOS / "baohe_before.yaml")
    after = runs(SCENARIOS / "baohe_after.yaml")
    assert col(before, "police_nonpolice_hours").min() > 0
    assert col(before, "police_nonpolice_share").min() > 0
    # P6: the police's workload falls. The fall is the police's share of the market matters
    # they were dual-dispatched to before (mall consumer complaints, 商场消费投诉, are on the
    # report's non-police list), measured at this scale as police hours by role (3 seeds):
    # dual 937 h -> 0, own cases 2,348 -> 2,567 h, co-handling 0 -> 124 h, on-site actions
    # on the non-police list 229 -> 233 h.
    assert_direction(before, after, "staff_hours.police", -1)
    # ... but not on the non-police list: 110 calls about these matters reach the police
    # station in both scenarios and it acts on site; handback at the report's volume (only the
    # two kinds it names) is too small to remove the re-complaints that bring them back
    # (docs/ODD.md P6). Should the reform take them off the police, this fails and the
    # claim must change back.
    assert not _direction_holds(before, after, "police_nonpolice_hours", -1), \
        col(after, "police_nonpolice_hours") - col(before, "police_nonpolice_hours")


# ---------------------------------------------------------------- P7, P8: assessment
def test_p7_closure_speed_cuts_effort_and_true_resolution():
    base = runs(MECH / "baseline.yaml", staff=0.5)
    speed = runs(MECH / "closure_speed.yaml", staff=0.5)
    assert_direction(base, speed, "effort_mean", -1)
    assert_direction(base, speed, "resolved_share_of_closed", -1)


# The re-complaint rate answers to true resolution through few events (about 3.5% of closed
# cases at this scale), so its paired difference is noisy: sd 0.0044 per seed against an effect
# of about -0.006 (three_rates' +3.6 pp resolved share times the re-complaint chance of an
# unresolved closure, about 0.15). Three seeds give a standard error of 0.0025, i.e. less than
# 3 of them; ten give 0.0014 (measured: -0.0059 +- 0.0014, 4.2 standard errors).
SEEDS_RECOMPLAINT = tuple(range(11, 21))


def test_p8_three_rates_resolves_more_and_cuts_recomplaints():
    base = runs(MECH / "baseline.yaml")
    three = runs(MECH / "three_rates.yaml")
    assert_direction(base, three, "effort_mean", +1)
    assert_direction(base, three, "resolved_share_of_closed", +1)
    assert_direction(base, three, "dissatisfaction_rate", -1)
    assert_direction(runs(MECH / "baseline.yaml", seeds=SEEDS_RECOMPLAINT),
                     runs(MECH / "three_rates.yaml", seeds=SEEDS_RECOMPLAINT),
                     "recomplaint_rate", -1)


# ---------------------------------------------------------------- P9, P10: shapes
def test_p9_time_to_close_is_right_skewed():
    for r in runs(SCENARIOS / "baohe_after.yaml"):
        assert r["mean_time_to_close_hours"] > r["median_time_to_close_hours"]
        assert r["p90_time_to_close_hours"] > 2 * r["median_time_to_close_hours"]


def test_p10_complaints_concentrate_in_some_grids():
    for res in runs(SCENARIOS / "baohe_after.yaml", keep=True):
        c = np.sort(res.by_grid()["complaints"].to_numpy(float))[::-1]
        top = c[: max(1, len(c) // 10)].sum() / c.sum()
        assert top > 0.12, top       # the top tenth of grids: more than its tenth


# ---------------------------------------------------------------- P11: handback
def test_p11_handback_settles_and_cuts_recomplaints():
    terr = runs(MECH / "territorial.yaml")
    hb = runs(MECH / "handback.yaml")
    assert col(hb, "settled_by_grid").min() > 0 and col(hb, "handbacks").min() > 0
    assert_direction(terr, hb, "recomplaint_rate", -1)


# ---------------------------------------------------------------- P12: repeats as counted
def test_p12_citizen_complaints_are_first_reports_chases_or_recomplaints():
    for res in runs(SCENARIOS / "baohe_after.yaml", keep=True):
        m = res.model
        comp, cases = complaint_table(m), case_table(m)
        kinds = complaint_kinds(cases, comp, m.scenario.run.repeat_window_days * 24.0)
        total = sum(kinds[k].astype(int) for k in ("first", "chase", "recomplaint", "later"))
        assert (total == 1).all()                  # every complaint is exactly one kind
        s = res.summary
        post = comp["citizen"] & (comp["t"] >= m.warmup)
        assert s["first_reports"] + s["chase_complaints"] + s["recomplaints_after_closure"] \
            + int((kinds["later"] & post).sum()) == s["citizen_complaints"]


# ---------------------------------------------------------------- P13: citizens who learn
def test_p13_a_better_service_gets_more_first_reports():
    off = ["agents.citizen.params.trust_sensitivity=0"]
    gain_on = col(runs(SCENARIOS / "baohe_after.yaml"), "first_reports") \
        - col(runs(SCENARIOS / "baohe_before.yaml"), "first_reports")
    gain_off = col(runs(SCENARIOS / "baohe_after.yaml", off), "first_reports") \
        - col(runs(SCENARIOS / "baohe_before.yaml", off), "first_reports")
    d = gain_on - gain_off
    assert np.all(d > 0) or d.mean() > 3 * d.std(ddof=1) / np.sqrt(len(d)), d
