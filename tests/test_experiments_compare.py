"""`cogov compare`: outputs, common random numbers, paired differences, the printed table."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.cli import main
from sim.experiments import compare, comparison_table, t_interval

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
SHORT = ["run.horizon_days=30", "run.warmup_days=5",
         "catalogue.job.incidence_per_1000_per_year.default=8760",  # 1 case an hour
         "citizens.repeat.p_complain_again=0.6",
         "citizens.repeat.max_repeats=3", "catalogue.job.p_resolve=0.7"]


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    d = tmp_path_factory.mktemp("cmp")
    lean = d / "lean.yaml"
    lean.write_text(f"extends: {MMC}\nname: lean\ndepartments: {{desk: {{staff: 3}}}}\n")
    return MMC, lean, d


def test_cli_compare_writes_the_documented_directory(two, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")     # wide enough for full scenario names
    mmc, lean, d = two
    out = d / "out"
    argv = ["compare", str(mmc), str(lean), "--replications", "3", "--out", str(out),
            "--seed", "11", "--workers", "1", "--quiet"]
    for s in SHORT:
        argv += ["--set", s]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    for f in ("manifest.json", "runs.csv", "comparison.csv", "timeseries.parquet", "by_grid.csv",
              "by_street.csv", "by_category.csv"):
        assert (out / f).exists(), f
    for stem in ("throughput_per_day", "repeat_complaint_rate", "backlog_over_time",
                 "repeats_over_time"):
        assert (out / "figures" / f"{stem}.png").stat().st_size > 1000
        assert (out / "figures" / f"{stem}.pdf").exists()
    m = json.loads((out / "manifest.json").read_text())
    assert {"kind", "command", "scenarios", "replications", "root_seed", "seeds",
            "cogov_version", "created"} <= set(m)
    assert m["kind"] == "compare" and m["root_seed"] == 11 and len(m["seeds"]) == 3
    assert [s["name"] for s in m["scenarios"]] == ["mmc", "lean"]
    assert set(m["scenarios"][0]) == {"name", "path", "sha256", "overrides"}
    assert m["scenarios"][0]["overrides"] == SHORT

    runs = pd.read_csv(out / "runs.csv")
    assert list(runs.columns[:5]) == ["scenario", "replication", "seed", "status", "error"]
    assert "utilization.desk" in runs and "staff_hours.desk" in runs and "wall_seconds" in runs
    # common random numbers: replication r has the same seed in every scenario
    seeds = runs.pivot(index="replication", columns="scenario", values="seed")
    assert (seeds["mmc"] == seeds["lean"]).all() and seeds["mmc"].tolist() == m["seeds"]

    c = pd.read_csv(out / "comparison.csv")
    assert list(c.columns) == ["scenario", "metric", "mean", "ci_low", "ci_high", "sd", "n",
                               "diff_mean", "diff_ci_low", "diff_ci_high"]
    assert "wall_seconds" not in set(c["metric"])
    # the paired difference and its t-interval, by hand
    x = runs.pivot(index="replication", columns="scenario", values="mean_wait_hours")
    diff = (x["lean"] - x["mmc"]).to_numpy()
    row = c[(c.scenario == "lean") & (c.metric == "mean_wait_hours")].iloc[0]
    half = stats.t.ppf(0.975, 2) * diff.std(ddof=1) / np.sqrt(3)
    assert row["diff_mean"] == pytest.approx(diff.mean())
    assert row["diff_ci_high"] - row["diff_mean"] == pytest.approx(half)
    assert row["diff_mean"] > 0          # 3 staff keep citizens waiting longer than 10
    assert c[c.scenario == "mmc"]["diff_mean"].isna().all()

    ts = pd.read_parquet(out / "timeseries.parquet")
    assert list(ts.columns[:3]) == ["scenario", "replication", "day"]
    assert {"backlog", "repeats", "utilization.desk"} <= set(ts.columns)
    g = pd.read_csv(out / "by_grid.csv")
    assert list(g.columns[:4]) == ["scenario", "grid", "street", "population"]
    assert {"complaints", "repeat_complaints", "repeat_complaint_rate", "backlog_end"} <= set(g)
    assert list(pd.read_csv(out / "by_category.csv").columns[:2]) == ["scenario", "category"]

    assert "mean wait before handling" in printed and "lean - mmc" in printed
    assert f"results in {out}/:" in printed and "comparison.csv" in printed
    assert "figures:" in printed


def test_identical_scenarios_differ_by_exactly_zero(two):
    mmc, _, _ = two
    res = compare([mmc, mmc], replications=2, overrides=SHORT, seed=3)
    d = res.comparison[res.comparison.scenario == res.scenarios[1]]
    # a 30-day run leaves no closure a whole repeat window before the horizon (the
    # right-censored recomplaint_rate is undefined) and the queue has no grid workers (no
    # follow-up plans to spread): undefined there, and only there
    assert set(d.loc[d["diff_mean"].isna(), "metric"]) <= {"recomplaint_rate",
                                                           "followup_hours_sd"}
    assert (d["diff_mean"].dropna() == 0).all()
    assert res.scenarios == ["mmc", "mmc_mmc"]


def test_rerun_is_identical_and_processes_match_serial(two):
    mmc, lean, _ = two
    a = compare([mmc, lean], replications=2, overrides=SHORT, seed=5, workers=1)
    b = compare([mmc, lean], replications=2, overrides=SHORT, seed=5, workers=2)
    drop = ["wall_seconds"]
    pd.testing.assert_frame_equal(a.runs.drop(columns=drop), b.runs.drop(columns=drop))
    pd.testing.assert_frame_equal(a.comparison, b.comparison)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)


def test_comparison_table_skips_failed_pairs():
    runs = pd.DataFrame({"scenario": ["a", "a", "a", "b", "b", "b"],
                         "replication": [0, 1, 2, 0, 1, 2],
                         "status": ["ok", "ok", "ok", "ok", "error", "ok"],
                         "x": [1.0, 2.0, 3.0, 2.0, np.nan, 5.0]})
    c = comparison_table(runs, ["a", "b"], ["x"]).set_index("scenario")
    assert c.loc["a", "n"] == 3 and c.loc["b", "n"] == 2
    assert c.loc["b", "diff_mean"] == pytest.approx(((2 - 1) + (5 - 3)) / 2)
    assert np.isnan(t_interval([1.0])["ci_low"])


def test_bad_scenario_exits_2_listing_every_file(tmp_path):
    p = subprocess.run([sys.executable, "-m", "sim", "compare", str(MMC), "nope.yaml",
                        "--replications", "2", "--out", str(tmp_path / "o"),
                        "--set", "departments.desk.stuff=3"],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2
    assert "departments.desk.stuff: unknown key" in p.stderr
    assert "nope.yaml: file not found" in p.stderr


def test_terminal_table_reads_like_a_planner(two):
    """Human labels with units and direction, grouped, internal counters only with --all, a
    sentence about random variation instead of stars."""
    from sim.experiments.compare import format_table, noise_sentence

    mmc, lean, _ = two
    res = compare([mmc, lean], replications=3, overrides=SHORT, seed=5, workers=1)
    text = format_table(res, columns=200)
    assert "*" not in text
    lines = text.splitlines()
    groups = [x for x in lines if x in ("Demand", "Quality", "Speed", "Workload")]
    assert groups == sorted(groups, key=["Demand", "Quality", "Speed", "Workload"].index)
    # the headline (issue 23: the re-complaint rate after closure leads, chases beside it)
    # comes first, and its rows are not repeated in their groups
    assert lines.index("Headline") < lines.index(groups[0])
    lead = [x.strip() for x in lines[lines.index("Headline") + 1:lines.index(groups[0])]]
    assert lead[0].startswith("re-complaint rate after closure")
    assert lead[1].startswith("chases per case opened")
    assert sum(x.strip().startswith("re-complaint rate after closure") for x in lines) == 1
    row = next(x for x in lines if x.strip().startswith("mean wait before handling"))
    assert " hours " in row and " lower " in row and "±" in row
    assert row.rstrip().endswith(("worse", "within noise"))
    assert "repeat-complaint rate" in text and "repeat_complaint_rate" not in text
    assert "cases opened (incl. warm-up)" not in text and "more rows" in text
    assert "cases opened (incl. warm-up)" in format_table(res, show_all=True, columns=200)
    assert "beyond random variation at 95%" in noise_sentence(res)
    thr = next(x for x in lines if x.strip().startswith("throughput"))
    assert " neither " in thr


@pytest.mark.parametrize("cols", [100])
def test_terminal_table_fits_columns_with_chinese_names(two, tmp_path, cols):
    """`COLUMNS=100 cogov compare ...` prints no line wider than 100 columns (a Chinese
    character takes two), numbers are never split, and a row keeps one precision."""
    from wcwidth import wcswidth

    mmc, lean, _ = two
    zh = tmp_path / "zh.yaml"
    zh.write_text(f"extends: {mmc}\nname: zh\n"
                  "display_name: 改革后的包河区（以块为主，街道平台分拨）\n"
                  "departments: {desk: {staff: 5}}\n", encoding="utf-8")
    env = {**os.environ, "COLUMNS": str(cols), "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "sim", "compare", str(mmc), str(lean), str(zh),
                        "--replications", "2", "--out", str(tmp_path / f"o{cols}"), "--quiet",
                        *[a for s in SHORT for a in ("--set", s)]],
                       capture_output=True, text=True, cwd=ROOT, env=env)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert max(wcswidth(x) for x in lines) <= cols, max(lines, key=wcswidth)
    row = next(x for x in lines if "mean wait before handling" in x)
    nums = re.findall(r"(?<![\d,.])[-+]?\d[\d,]*(?:\.(\d+))? ±", row)
    assert nums and len({len(x) for x in nums}) == 1      # one precision in the row
