"""Determinism, conservation and the case log's shape."""

from __future__ import annotations

import json

import pandas as pd

from sim.records import CASE_LOG_COLUMNS
from sim.runner import run_scenario, write_outputs
from sim.scenario.loader import load_scenario

from .conftest import cogov

SMALL = ["run.horizon_days=40", "run.warmup_days=5",
         "catalogue.job.incidence_per_1000_per_year.default=20000",
         "citizens.repeat.p_complain_again=0.8", "citizens.repeat.max_repeats=3",
         "citizens.repeat.patience.mean=3", "catalogue.job.p_resolve=0.6"]


def _summary(path):
    s = json.loads((path / "summary.json").read_text())
    s.pop("wall_seconds")
    return s


def test_same_seed_same_bytes_different_seed_differs(mmc_path, tmp_path):
    args = [f"--set={x}" for x in SMALL]
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        cogov("run", mmc_path, "--out", tmp_path / name, "--seed", seed, "--quiet", *args,
              check=True)
    assert _summary(tmp_path / "a") == _summary(tmp_path / "b")
    for f in ("cases.parquet", "timeseries.parquet", "scenario.resolved.yaml",
              "summary_by_street.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    a, c = (tmp_path / x / "cases.parquet" for x in "ac")
    assert a.read_bytes() != c.read_bytes()
    assert _summary(tmp_path / "a")["seed"] == 7


def test_resolved_scenario_reruns_exactly(mmc_path, tmp_path):
    cogov("run", mmc_path, "--out", tmp_path / "a", "--seed", "3", "--quiet",
          *[f"--set={x}" for x in SMALL], check=True)
    cogov("run", tmp_path / "a" / "scenario.resolved.yaml", "--out", tmp_path / "b", "--quiet",
          check=True)
    a, b = (tmp_path / x / "cases.parquet" for x in "ab")
    assert a.read_bytes() == b.read_bytes()


def test_conservation_and_repeat_definition(mmc_path, tmp_path):
    res = run_scenario(load_scenario(mmc_path, SMALL), seed=11)
    s = res.summary
    assert s["repeat_complaints"] > 0  # the scenario does produce repeats
    assert s["cases_opened_total"] == s["cases_closed_total"] + s["backlog_end"]
    log = res.cases
    assert list(log.columns) == CASE_LOG_COLUMNS
    # every complaint belongs to exactly one problem, and each case to one problem
    assert log["problem_id"].notna().all()
    assert log.groupby("case_id")["problem_id"].nunique().max() == 1
    # a complaint is a repeat exactly when its problem already had one
    first = ~log["problem_id"].duplicated()
    assert (log["is_repeat"] == (~first).astype(int)).all()
    # statuses agree with closure times
    assert ((log["status"] == "closed") == (log["closed_at"] != "")).all()
    write_outputs(res, tmp_path / "csv", fmt="csv")
    back = pd.read_csv(tmp_path / "csv" / "cases.csv", keep_default_na=False)
    assert len(back) == len(log)
    ts = pd.read_csv(tmp_path / "csv" / "timeseries.csv")
    assert ts["opened"].sum() == s["cases_opened_total"]
    assert ts["complaints"].sum() == len(log)
    assert {"backlog", "utilization.desk", "closed", "repeats"} <= set(ts.columns)
    # the Parquet case log holds the same rows, typed: text as categories, times as timestamps
    write_outputs(res, tmp_path / "pq")
    pq = pd.read_parquet(tmp_path / "pq" / "cases.parquet")
    assert list(pq.columns) == CASE_LOG_COLUMNS and len(pq) == len(log)
    assert str(pq["service_code"].dtype) == "category"
    assert pd.api.types.is_datetime64_any_dtype(pq["closed_at"])
    iso = pq["closed_at"].dt.strftime("%Y-%m-%dT%H:%M:%S").fillna("")
    assert (iso.to_numpy() == back["closed_at"].to_numpy()).all()
    for col in ("service_request_id", "case_id", "problem_id", "is_repeat"):
        assert (pq[col].to_numpy() == back[col].to_numpy()).all(), col
    for col in ("status", "agency_responsible", "channel", "grid", "outcome"):
        assert (pq[col].astype(str).to_numpy() == back[col].astype(str).to_numpy()).all(), col
    tq = pd.read_parquet(tmp_path / "pq" / "timeseries.parquet")
    pd.testing.assert_frame_equal(tq, ts, check_dtype=False)


def test_repeats_fall_when_problems_are_fixed(mmc_path):
    worse = run_scenario(load_scenario(mmc_path, SMALL + ["catalogue.job.p_resolve=0.3"]), seed=5)
    better = run_scenario(load_scenario(mmc_path, SMALL + ["catalogue.job.p_resolve=0.95"]),
                          seed=5)
    assert better.summary["repeat_complaint_rate"] < worse.summary["repeat_complaint_rate"]


def test_resolved_yaml_text_is_pyyaml_safe_dump():
    """dump_yaml uses libyaml's emitter when present: the text must equal PyYAML's own."""
    import glob

    import yaml

    from sim.scenario.loader import dump_yaml, scenario_to_dict

    from .conftest import ROOT
    for f in sorted(glob.glob(str(ROOT / "scenarios" / "mechanisms" / "*.yaml")))[:4]:
        d = scenario_to_dict(load_scenario(f))
        assert dump_yaml(d) == yaml.safe_dump(d, allow_unicode=True, sort_keys=False,
                                              width=100), f
