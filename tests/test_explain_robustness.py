"""`cogov explain` (Shapley attribution), uncertain scenario fields, `compare --uncertainty`
and the brief's "What drives this result" section."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.errors import UserError
from sim.experiments.explain import (
    diff_leaves,
    explain,
    group_factors,
    interaction_index,
    permutation_orders,
    shapley_exact,
    shapley_sampled,
)
from sim.experiments.robustness import load_ranges, prim_box, resolve, robustness
from sim.scenario.loader import load_scenario, scenario_to_dict, uncertain_fields
from sim.scenario.uncertain import parse

from .conftest import cogov

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"


# ---------------------------------------------------------------------- Shapley on a toy game
def toy_values(k: int, effects, pair_bonus: dict, R: int = 3, noise=None):
    """v(S) = sum of effects[i] for i in S + bonus for each pair fully in S (+ per-replication
    noise common to every coalition, as common random numbers give)."""
    rng = np.random.default_rng(5)
    base = rng.normal(10, 1, R) if noise is None else noise
    vals = {}
    for mask in range(2 ** k):
        v = base.copy()
        for i in range(k):
            if mask >> i & 1:
                v = v + effects[i]
        for (i, j), b in pair_bonus.items():
            if mask >> i & 1 and mask >> j & 1:
                v = v + b
        vals[mask] = v
    return vals


def test_shapley_efficiency_symmetry_null_and_known_values():
    # factor 0 and 1 act identically (symmetric), factor 3 does nothing (null player),
    # factors 1 and 2 interact: the bonus is split equally between them
    effects = [np.array([1.0, 1.2, 0.8]), np.array([1.0, 1.2, 0.8]),
               np.array([-3.0, -2.5, -3.5]), np.zeros(3)]
    vals = toy_values(4, effects, {(0, 2): 0.6, (1, 2): 0.6})
    phi = shapley_exact(vals, 4)
    total = vals[15] - vals[0]
    np.testing.assert_allclose(phi.sum(axis=0), total, rtol=0, atol=1e-12)     # efficiency
    np.testing.assert_allclose(phi[0], phi[1], atol=1e-12)                      # symmetry
    np.testing.assert_allclose(phi[3], 0.0, atol=1e-12)                         # null player
    np.testing.assert_allclose(phi[0], effects[0] + 0.3, atol=1e-12)            # known values
    np.testing.assert_allclose(phi[2], effects[2] + 0.6, atol=1e-12)
    inter = interaction_index(vals, 4)
    np.testing.assert_allclose(inter[(0, 2)], 0.6, atol=1e-12)
    np.testing.assert_allclose(inter[(1, 2)], 0.6, atol=1e-12)
    np.testing.assert_allclose(inter[(0, 1)], 0.0, atol=1e-12)
    np.testing.assert_allclose(inter[(0, 3)], 0.0, atol=1e-12)


def test_permutation_estimator_is_efficient_and_exact_for_additive_games():
    k = 10
    effects = [np.full(2, float(i) - 4.5) for i in range(k)]
    vals = toy_values(k, effects, {(2, 7): 1.0}, R=2)
    orders = permutation_orders(k, 12, seed=3)
    assert len(orders) == 12 and orders[1] == orders[0][::-1]   # antithetic pairs
    phi = shapley_sampled(vals, k, orders)
    np.testing.assert_allclose(phi.sum(axis=0), vals[2 ** k - 1] - vals[0], atol=1e-9)
    others = [i for i in range(k) if i not in (2, 7)]
    np.testing.assert_allclose(phi[others], np.array([effects[i] for i in others]), atol=1e-9)
    np.testing.assert_allclose(phi[2] + phi[7], effects[2] + effects[7] + 1.0, atol=1e-9)


# ---------------------------------------------------------------------- factors of the Baohe pair
def test_default_factors_of_the_reform_and_regrouping():
    a = scenario_to_dict(load_scenario(ROOT / "scenarios" / "baohe_before.yaml"))
    b = scenario_to_dict(load_scenario(ROOT / "scenarios" / "baohe_after.yaml"))
    leaves = diff_leaves(a, b)
    factors, _ = group_factors(leaves)
    names = [f.name for f in factors]
    assert {"routing", "assessment", "main_co", "dispatch", "handback", "linkage",
            "campaigns"} <= set(names)
    assert "name" not in names and "description" not in names
    assert not {"display_name", "display_name_zh", "description_zh"} & set(names)
    # the six levers of the reform and the joint actions (campaigns) of baohe_after (issue 24),
    # nothing else
    assert len(factors) == 7
    factors, notes = group_factors(leaves, ["structure=routing,main_co,linkage",
                                            "nothing=grid_workers"])
    names = [f.name for f in factors]
    assert names[0] == "structure" and "routing" not in names and "main_co" not in names
    assert any("nothing" in n for n in notes)


# ---------------------------------------------------------------------- explain end to end
def pair(tmp_path: Path) -> tuple[Path, Path]:
    a = tmp_path / "a.yaml"
    a.write_text(yaml.safe_dump({
        "extends": str(MMC), "name": "a",
        "catalogue": {"job": {"p_resolve": 0.6,
                              "incidence_per_1000_per_year": {"default": 8760}}},
        "citizens": {"repeat": {"p_complain_again": 0.6, "max_repeats": 3}},
        "departments": {"desk": {"staff": 3}},
        # a repeat window that fits the short run (recomplaint_rate counts closures at least
        # a window before the horizon)
        "run": {"horizon_days": 20, "warmup_days": 2, "repeat_window_days": 5}}))
    b = tmp_path / "b.yaml"
    b.write_text(yaml.safe_dump({
        "extends": "a.yaml", "name": "b", "catalogue": {"job": {"p_resolve": 0.8}},
        "citizens": {"repeat": {"p_complain_again": 0.4}},
        "departments": {"desk": {"staff": 4}}}))
    return a, b


def test_explain_contributions_add_up_and_match_compare(tmp_path):
    a, b = pair(tmp_path)
    res = explain(a, b, tmp_path / "ex", replications=2, backend="serial")
    att = res.attribution
    assert set(att.columns) == {"metric", "factor", "contribution", "ci_low", "ci_high"}
    assert [f.name for f in res.factors] == ["catalogue.p_resolve", "departments", "citizens"]
    for m, g in att.groupby("metric"):
        total = g.loc[g["factor"] == "total", "contribution"].iloc[0]
        parts = g.loc[g["factor"] != "total", "contribution"].sum()
        assert math.isclose(parts, total, rel_tol=1e-9, abs_tol=1e-9), m
    # the total is B - A on the same seeds, as compare computes it
    from sim.experiments import compare
    cmp = compare([a, b], replications=2)
    c = cmp.comparison.set_index(["metric", "scenario"])
    t = att[(att["metric"] == "repeat_complaint_rate") & (att["factor"] == "total")].iloc[0]
    assert math.isclose(t["contribution"], c.loc[("repeat_complaint_rate", "b"), "diff_mean"],
                        abs_tol=1e-12)
    assert (tmp_path / "ex" / "figures" / "waterfall_repeat_complaint_rate.png").exists()
    assert (tmp_path / "ex" / "figures" / "waterfall_repeat_complaint_rate.pdf").exists()
    inter = pd.read_csv(tmp_path / "ex" / "interactions.csv")
    assert len(inter[inter["metric"] == "repeat_complaint_rate"]) == 3
    with pytest.raises(UserError, match="--resume"):
        explain(a, b, tmp_path / "ex", replications=2, backend="serial")
    with pytest.raises(UserError, match="other scenarios"):
        explain(a, b, tmp_path / "ex", replications=3, backend="serial", resume=True)


def test_explain_by_sampled_orders_still_adds_up(tmp_path):
    a, b = pair(tmp_path)
    res = explain(a, b, tmp_path / "perm", replications=1, backend="serial", permutations=2)
    assert res.method == "permutation" and res.interactions.empty
    man = json.loads((tmp_path / "perm" / "manifest.json").read_text())
    assert len(man["orders"]) == 2 and man["orders"][1] == man["orders"][0][::-1]
    att = res.attribution
    for m, g in att.groupby("metric"):
        total = g.loc[g["factor"] == "total", "contribution"].iloc[0]
        assert math.isclose(g.loc[g["factor"] != "total", "contribution"].sum(), total,
                            rel_tol=1e-9, abs_tol=1e-9), m
    assert not (tmp_path / "perm" / "interactions.csv").exists()


def test_explain_resumes_after_sigkill_without_losing_or_doubling_runs(tmp_path):
    a, b = pair(tmp_path)
    full = explain(a, b, tmp_path / "full", replications=3, backend="serial")
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "sim", "explain", str(a), str(b), "--replications", "3",
           "--backend", "serial", "--out", str(out), "--quiet"]
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ledger = out / "ledger.sqlite"
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        if ledger.exists():
            try:
                with sqlite3.connect(ledger, timeout=5) as con:
                    n = con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            except sqlite3.OperationalError:
                n = 0
            if n >= 5:
                break
        time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert p.returncode == -signal.SIGKILL, "explain finished before it could be killed"
    with sqlite3.connect(ledger) as con:
        before = dict(con.execute("SELECT run_id, finished FROM runs").fetchall())
    assert 5 <= len(before) < 24
    assert not (out / "attribution.csv").exists()
    r = cogov("explain", a, b, "--replications", "3", "--backend", "serial", "--out", out,
              "--quiet", "--resume")
    assert r.returncode == 0, r.stderr
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 24 and runs["run_id"].is_unique
    with sqlite3.connect(ledger) as con:
        after = dict(con.execute("SELECT run_id, finished FROM runs").fetchall())
    assert all(after[k] == v for k, v in before.items())      # not run again
    pd.testing.assert_frame_equal(full.attribution.reset_index(drop=True),
                                  pd.read_csv(out / "attribution.csv"), check_exact=False,
                                  rtol=1e-12)


def test_explain_refuses_identical_scenarios(tmp_path):
    a, _ = pair(tmp_path)
    r = cogov("explain", a, a, "--out", tmp_path / "x", "--backend", "serial")
    assert r.returncode == 2 and "nothing to explain" in r.stderr


# ---------------------------------------------------------------------- uncertain fields
def test_uncertain_field_parses_validates_and_round_trips(tmp_path):
    f = tmp_path / "u.yaml"
    f.write_text(yaml.safe_dump({
        "extends": str(MMC),
        "catalogue": {"job": {"p_resolve": {"uncertain": "triangular", "low": 0.6,
                                            "mode": 0.8, "high": 0.95}}},
        "departments": {"desk": {"staff": {"uncertain": "uniform", "low": 8, "high": 12,
                                           "integer": True}}},
        "main_co": {"co_share": {"uncertain": "beta", "alpha": 2, "beta": 6}},
        "run": {"horizon_days": 3, "warmup_days": 1}}))
    sc = load_scenario(f)
    assert sc.catalogue["job"].p_resolve == 0.8                 # triangular: the mode
    assert sc.departments["desk"].staff == 10                    # uniform: the midpoint
    assert sc.main_co.co_share == pytest.approx(0.25)            # beta: the mean
    spec = uncertain_fields(sc)
    assert set(spec) == {"catalogue.job.p_resolve", "departments.desk.staff",
                         "main_co.co_share"}
    r = cogov("run", f, "--out", tmp_path / "o", "--quiet")
    assert r.returncode == 0, r.stderr
    resolved = tmp_path / "o" / "scenario.resolved.yaml"
    data = yaml.safe_load(resolved.read_text())
    assert data["catalogue"]["job"]["p_resolve"] == {"uncertain": "triangular", "low": 0.6,
                                                     "mode": 0.8, "high": 0.95}
    again = load_scenario(resolved)
    assert again == sc.model_copy(update={"run": again.run})
    assert {k: v.as_dict() for k, v in uncertain_fields(again).items()} == \
        {k: v.as_dict() for k, v in spec.items()}
    r2 = cogov("run", resolved, "--out", tmp_path / "o2", "--quiet")
    assert r2.returncode == 0
    assert (tmp_path / "o2" / "scenario.resolved.yaml").read_text() == resolved.read_text()
    s1 = json.loads((tmp_path / "o" / "summary.json").read_text())
    s2 = json.loads((tmp_path / "o2" / "summary.json").read_text())
    assert s1["complaints"] == s2["complaints"]


@pytest.mark.parametrize("value, says", [
    ("{uncertain: gauss, mean: 1}", "not a distribution family"),
    ("{uncertain: uniform, low: 0.9, high: 0.5}", "must be below high"),
    ("{uncertain: triangular, low: 0.5, high: 0.9}", "missing mode"),
    ("{uncertain: normal, mean: 0.8, sd: 0.2}", "high end"),
    ("{uncertain: beta, alpha: 0, beta: 1}", "alpha must be positive"),
    ("{uncertain: uniform, low: 0.5, high: 0.9, point: 1.2}", "outside the distribution"),
    ("{uncertain: uniform, low: 0.5, high: 0.9, spread: 1}", "unknown key"),
])
def test_bad_distributions_exit_2_naming_field_and_fix(value, says):
    r = cogov("validate", MMC, "--set", f"catalogue.job.p_resolve={value}")
    assert r.returncode == 2
    assert "catalogue.job.p_resolve" in r.stderr and says in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_integer_fields_need_integer_draws():
    r = cogov("validate", MMC, "--set",
              "departments.desk.staff={uncertain: uniform, low: 8, high: 11}")
    assert r.returncode == 2 and "integer: true" in r.stderr
    r = cogov("validate", MMC, "--set",              # a point that happens to be whole
              "departments.desk.staff={uncertain: uniform, low: 8, high: 12}")
    assert r.returncode == 2 and "whole-number field" in r.stderr
    spec = parse({"uncertain": "uniform", "low": 8, "high": 11, "integer": True})
    assert spec.value(0.0) == 8 and spec.value(0.999) == 11 and isinstance(spec.value(.5), int)


# ---------------------------------------------------------------------- ranges and robustness
def test_shipped_ranges_file_loads_and_applies_to_the_reform_pair():
    ranges = load_ranges(ROOT / "scenarios" / "assumptions" / "ranges.yaml")
    assert all(why for _, why, _ in ranges.values())
    doc = (ROOT / "docs" / "input-data.md").read_text(encoding="utf-8")
    doc = doc[doc.index("## Ranges of the assumed values"):]
    for pattern, (spec, _, _n) in ranges.items():     # the docs' summary table is current
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{pattern}` |")),
                   None)
        assert row is not None, f"docs/input-data.md lacks {pattern}"
        assert f"| {spec.point:g} |" in row and all(f"{v:g}" in row
                                                    for v in spec.params.values())
    a = scenario_to_dict(load_scenario(ROOT / "scenarios" / "baohe_before.yaml"))
    b = scenario_to_dict(load_scenario(ROOT / "scenarios" / "baohe_after.yaml"))
    pat = "assessment.policies[closure_speed].params.handling"
    assert resolve(a, pat) == ["assessment.policies.0.params.handling"]
    assert resolve(b, pat) == []
    assert resolve(a, "agents.department.params.max_speed_cut") == \
        ["agents.department.params.max_speed_cut"]
    assert resolve(b, "routing[sectoral].params.hotline_accuracy") == []
    assert len(resolve(a, "catalogue.*.p_grid_settle")) == len(a["catalogue"])
    assert resolve(a, "routing[sectoral].params.grid_forward_delay_hours") == \
        ["routing.params.grid_forward_delay_hours"]
    assert resolve(a, "main_co.p_resolve_solo_factor") == ["main_co.p_resolve_solo_factor"]
    for pattern, (spec, _, _neutral) in ranges.items():
        lo, hi = spec.support()
        assert lo <= spec.point <= hi, pattern


def test_every_assumed_effect_has_a_range_with_the_same_neutral_value():
    from sim.assumptions import ASSUMED_EFFECTS

    ranges = load_ranges(ROOT / "scenarios" / "assumptions" / "ranges.yaml")
    plain = {re.sub(r"\[[^\]]*\]", "", k): v for k, v in ranges.items()}
    for e in ASSUMED_EFFECTS:
        assert e.path in plain, f"ranges.yaml has no range for {e.path}"
        spec, _, neutral = plain[e.path]
        assert neutral == pytest.approx(float(e.neutral)), e.path


def test_bad_ranges_file_lists_every_error(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text(yaml.safe_dump({"ranges": {
        "a.b": {"uncertain": "uniform", "low": 1, "high": 0, "why": "x"},
        "c.d": {"uncertain": "uniform", "low": 0, "high": 1}}}))
    with pytest.raises(UserError) as exc:
        load_ranges(f)
    text = "\n".join(exc.value.errors)
    assert "ranges.a.b" in text and "below high" in text and "ranges.c.d" in text \
        and "`why`" in text


def test_ranges_that_would_make_invalid_draws_exit_2_before_any_run(tmp_path):
    a, b = pair(tmp_path)
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump({"ranges": {
        "departments.desk.staff": {"uncertain": "uniform", "low": 2, "high": 5, "why": "x"},
        "catalogue.job.p_resolve": {"uncertain": "uniform", "low": 0.5, "high": 1.2,
                                    "why": "x"}}}))
    r = cogov("compare", a, b, "--uncertainty", "3", "--ranges", f, "--out", tmp_path / "o")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "departments.desk.staff" in r.stderr and "integer: true" in r.stderr
    assert "catalogue.job.p_resolve: its high end 1.2 is not allowed" in r.stderr
    assert not (tmp_path / "o").exists()


def test_prim_finds_the_box_where_the_outcome_concentrates():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (400, 3))
    y = ((X[:, 0] > 0.6) & (X[:, 2] < 0.5)).astype(float)
    low, high, traj = prim_box(X, y)
    assert low[0] == pytest.approx(0.6, abs=0.08) and high[2] == pytest.approx(0.5, abs=0.08)
    assert low[1] <= 0.05 and high[1] >= 0.95      # the irrelevant dimension is not cut
    inside = np.all((X >= low) & (X <= high), axis=1)
    assert y[inside].mean() > 0.85 and y[inside].sum() / y.sum() >= 0.5


@pytest.mark.slow   # a full compare --uncertainty and brief: ~235 s of a busy 2-core host
def test_compare_uncertainty_writes_robustness_and_the_brief_explains(tmp_path):
    a, b = pair(tmp_path)
    rf = tmp_path / "ranges.yaml"
    rf.write_text(yaml.safe_dump({"ranges": {
        "citizens.repeat.p_complain_again": {"uncertain": "uniform", "low": 0.3, "high": 0.8,
                                             "neutral": 0.0, "why": "test"},
        "catalogue.*.handling.mean": {"uncertain": "triangular", "low": 1.5, "mode": 2,
                                      "high": 3, "why": "test"},
        "routing[sectoral].params.hotline_accuracy": {"uncertain": "uniform", "low": 0.5,
                                                      "high": 1, "why": "not used here"}}}))
    out = tmp_path / "cmp"
    r = cogov("compare", a, b, "--replications", "1", "--uncertainty", "6", "--ranges", rf,
              "--workers", "1", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    rob = pd.read_csv(out / "robustness.csv")
    assert list(rob.columns) == ["metric", "scenario", "share_better", "p05", "median", "p95"]
    row = rob[rob["metric"] == "repeat_complaint_rate"].iloc[0]
    assert row["scenario"] == "b" and 0 <= row["share_better"] <= 1
    assert row["p05"] <= row["median"] <= row["p95"]
    assert pd.isna(rob.loc[rob["metric"] == "throughput_per_day", "share_better"]).all()
    draws = pd.read_csv(out / "uncertainty_draws.csv")
    assert len(draws) == 6 and "routing[sectoral].params.hotline_accuracy" not in draws
    # one value of each assumption per sixth of its range (Latin hypercube)
    u = (draws["citizens.repeat.p_complain_again"] - 0.3) / 0.5
    assert sorted((u * 6).astype(int)) == list(range(6))
    sob = pd.read_csv(out / "sensitivity_uncertainty.csv")
    assert sob["S1"].isna().all() and sob["note"].str.contains("not estimated").all()
    st = pd.read_csv(out / "structural.csv")
    assert st.loc[st["metric"] == "repeat_complaint_rate", "structural_share"].notna().all()
    assert "applies to none" in r.stdout
    # attribution beside it, then the brief's section
    ex = explain(a, b, out / "explain", replications=2, backend="serial")
    assert len(ex.attribution)
    from sim.report.brief import build_brief
    page = build_brief(out, tmp_path / "brief.html").read_text()
    assert "What drives this result" in page
    tags = re.findall(r'data-source="(robustness|attribution)" data-scenario="([^"]*)" '
                      r'data-metric="([^"]*)" data-field="([^"]*)" data-value="([^"]*)"', page)
    assert {t[0] for t in tags} == {"robustness", "attribution"}
    att = ex.attribution.set_index(["factor", "metric"])
    rob = rob.set_index(["scenario", "metric"])
    for src, who, metric, fld, value in tags:
        table = rob if src == "robustness" else att
        assert float(value) == pytest.approx(float(table.loc[(who, metric), fld]), rel=1e-9)
    from sim.report.text import HEADLINE
    first = HEADLINE[0]   # the brief shows the waterfall of the headline metrics it leads with
    assert f"drivers_waterfall_{first}" in page
    assert (tmp_path / "brief_figures" / f"drivers_waterfall_{first}.pdf").exists()
    zh = build_brief(out, tmp_path / "brief_zh.html", lang="zh").read_text()
    assert "结果由什么驱动" in zh


def test_uncertainty_needs_assumptions(tmp_path):
    a, b = pair(tmp_path)
    r = cogov("compare", a, b, "--uncertainty", "4", "--ranges", "none", "--out",
              tmp_path / "o", "--quiet")
    assert r.returncode == 2 and "no uncertain field" in r.stderr
    assert not (tmp_path / "o").exists()
    with pytest.raises(UserError, match="two scenarios"):
        robustness([a], draws=2, ranges=None, out=tmp_path / "p")
