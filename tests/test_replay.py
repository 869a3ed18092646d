"""`cogov replay` (issue 15, part 4): the model driven by a log's actual complaints."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import yaml

from sim.calibrate.mapping import mapping_from_dict
from sim.calibrate.replay import replay

from .conftest import cogov

SCENARIO = {
    "name": "replay_base",
    "district": {"name": "d", "streets": [
        {"name": "North", "grids": [{"name": "N1", "population": 1000},
                                    {"name": "N2", "population": 3000}]},
        {"name": "South", "grids": [{"name": "S1", "population": 2000}]}]},
    "catalogue": {
        "noise": {"name": "Noise", "family": "environment", "owner": "env",
                  "handling": {"kind": "exponential", "mean": 2.0}, "p_resolve": 1.0,
                  "incidence_per_1000_per_year": {"default": 500}},
        "litter": {"name": "Litter", "family": "urban_management", "owner": "env",
                   "handling": {"kind": "exponential", "mean": 1.0}, "p_resolve": 1.0,
                   "incidence_per_1000_per_year": {"default": 500}}},
    "departments": {"env": {"name": "Env", "staff": 3},
                    "police": {"name": "Police", "staff": 1, "is_police": True}},
    "channels": {"hotline_12345": {"name": "hotline", "kind": "hotline", "propensity": 0.5},
                 "app": {"name": "app", "kind": "app", "propensity": 0.5}},
    "citizens": {"repeat": {"p_complain_again": 0.0}},
    "routing": {"policy": "direct"},
    "run": {"horizon_days": 10, "warmup_days": 0},
}

MAPPING = {"name": "toy", "columns": {"id": "id", "created": "created", "category": "type",
                                      "channel": "via",
                                      "location": {"address": "addr", "street": "street"}},
           "channels": {"map": {"phone": "hotline_12345", "web": "app"}},
           "categories": {"codes": {"Noise": "noise", "Litter": "litter", "Potholes": "pot"},
                          "min_cases": 1}}


def toy_log(path, n=120, potholes=0):
    rng = np.random.default_rng(1)
    t0 = pd.Timestamp("2024-05-06 00:00")
    rows = []
    for i in range(n):
        t = t0 + pd.Timedelta(minutes=int(rng.integers(0, 5 * 24 * 60)))
        rows.append({"id": f"r{i}", "created": t.isoformat(),
                     "type": "Noise" if i % 3 else "Litter",
                     "via": "phone" if i % 2 else "web",
                     "addr": f"{i % 15} Main St", "street": "North" if (i % 15) % 4 else "South"})
    for j in range(potholes):
        rows.append({"id": f"p{j}", "created": (t0 + pd.Timedelta(hours=j)).isoformat(),
                     "type": "Potholes", "via": "phone", "addr": "x", "street": "North"})
    pd.DataFrame(rows).to_csv(path, index=False)
    return pd.DataFrame(rows)


def test_replay_uses_the_logged_complaints(tmp_path):
    sc = tmp_path / "s.yaml"
    sc.write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    log = toy_log(tmp_path / "log.csv")
    res, counts, notes = replay(tmp_path / "log.csv", mapping_from_dict(MAPPING), "m",
                               sc, tmp_path / "out", seed=3, follow_up_days=5, fmt="csv")
    cases = pd.read_csv(tmp_path / "out" / "cases.csv")
    first = cases[cases["is_repeat"] == 0]
    assert len(first) == len(log) == counts["replayed"]
    # times (to the second), categories and channels are the log's
    got = sorted(zip(pd.to_datetime(first["requested_datetime"]), first["service_code"],
                     first["channel"]))
    want = sorted(zip(pd.to_datetime(log["created"]),
                      log["type"].map({"Noise": "noise", "Litter": "litter"}),
                      log["via"].map({"phone": "hotline_12345", "web": "app"})))
    assert got == want
    # located: each address always in one grid, inside its logged street
    order = log.assign(created=pd.to_datetime(log["created"])).sort_values(
        "created", kind="stable").reset_index(drop=True)
    placed = first.assign(addr=first["problem_id"].map(dict(enumerate(order["addr"]))))
    assert placed.groupby("addr")["grid"].nunique().max() == 1
    street = dict(zip(log["addr"], log["street"]))
    assert (placed["street"] == placed["addr"].map(street)).all()
    assert counts["by street name"] == len(log)
    assert set(first["street"]) <= {"North", "South"}
    info = json.loads((tmp_path / "out" / "replay_input.json").read_text(encoding="utf-8"))
    assert info["counts"]["replayed"] == len(log) and info["start_date"] == "2024-05-06"


def test_two_scenarios_on_the_same_demand(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    b = tmp_path / "b.yaml"
    slow = {**SCENARIO, "name": "slow", "departments": {
        **SCENARIO["departments"], "env": {"name": "Env", "staff": 1}}}
    b.write_text(yaml.safe_dump(slow), encoding="utf-8")
    toy_log(tmp_path / "log.csv")
    m = mapping_from_dict(MAPPING)
    ra, _, _ = replay(tmp_path / "log.csv", m, "m", a, tmp_path / "oa", seed=1, follow_up_days=5,
                       fmt="csv")
    rb, _, _ = replay(tmp_path / "log.csv", m, "m", b, tmp_path / "ob", seed=1, follow_up_days=5,
                       fmt="csv")
    ca = pd.read_csv(tmp_path / "oa" / "cases.csv")
    cb = pd.read_csv(tmp_path / "ob" / "cases.csv")
    cols = ["requested_datetime", "service_code", "channel", "grid"]
    assert ca[ca.is_repeat == 0][cols].equals(cb[cb.is_repeat == 0][cols])   # same demand
    assert rb.summary["median_time_to_close_hours"] > ra.summary["median_time_to_close_hours"]


def test_replay_unknown_categories(tmp_path):
    sc = tmp_path / "s.yaml"
    sc.write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    toy_log(tmp_path / "log.csv", n=60, potholes=20)
    mp = tmp_path / "m.yaml"
    mp.write_text(yaml.safe_dump(MAPPING), encoding="utf-8")
    p = cogov("replay", tmp_path / "log.csv", "--mapping", mp, "--scenario", sc, "--out",
              tmp_path / "o", "--quiet")
    assert p.returncode == 2 and "pot x20" in p.stderr and "--allow-drop" in p.stderr
    p = cogov("replay", tmp_path / "log.csv", "--mapping", mp, "--scenario", sc, "--out",
              tmp_path / "o", "--quiet", "--allow-drop", "--follow-up-days", "3")
    assert p.returncode == 0, p.stderr
    assert "replayed 60 of 80" in p.stdout
