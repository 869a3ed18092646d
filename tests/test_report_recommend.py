"""`cogov recommend`: a small search writes a routing table that imports, the search log, the
evidence (compare format, fresh seeds) and its brief; bad arguments exit 2."""

from __future__ import annotations

import json

import pandas as pd

from sim.cli import main
from sim.report import routing_table as RT
from sim.report.recommend import Move, parse_constraint
from sim.scenario.loader import load_scenario

from .test_report_brief import write_scenarios


def test_recommend_writes_table_evidence_and_brief(tmp_path):
    a, _ = write_scenarios(tmp_path / "sc")
    out = tmp_path / "rec"
    code = main(["recommend", str(a), "--objective", "repeat_complaint_rate",
                 "--constraint", "staff_hours.police<=100000", "--budget", "3",
                 "--replications", "2", "--validation-replications", "2", "--quiet",
                 "--set", "run.horizon_days=20", "--out", str(out)])
    assert code == 0
    for f in ("routing_table.csv", "routing_table.yaml", "current_routing_table.csv",
              "recommended_scenario.yaml", "search_log.csv", "search.json", "brief.html",
              "evidence/comparison.csv", "evidence/manifest.json"):
        assert (out / f).is_file(), f
    log = pd.read_csv(out / "search_log.csv")
    assert 1 <= len(log) <= 4 and log["evaluation"].max() <= 3
    assert bool(log.loc[0, "accepted"])
    # the recommended table is a valid table for the scenario and gives the written scenario
    rec = load_scenario(out / "recommended_scenario.yaml")
    assert RT.table_rows(rec) == [
        {**r, "co_handlers": r["co_handlers"].split(";") if r["co_handlers"] else []}
        for _, r in RT.read_table(out / "routing_table.csv")[0]]
    man = json.loads((out / "evidence" / "manifest.json").read_text(encoding="utf-8"))
    assert [s["name"] for s in man["scenarios"]] == ["current", "recommended"]
    search = json.loads((out / "search.json").read_text(encoding="utf-8"))
    assert search["validation_seeds"] == man["seeds"]
    assert not set(search["search_seeds"]) & set(man["seeds"])  # fresh seeds for the evidence
    html = (out / "brief.html").read_text(encoding="utf-8")
    assert "How the search worked" in html and "data:image/png;base64," in html


def test_moves_change_one_thing():
    rows = [{"code": "a", "main_department": "x", "co_handlers": ["y"], "dispatch_mode": "single",
             "handback": "no", "followup_owner": "", "police_on_site": "yes"},
            {"code": "b", "main_department": "x", "co_handlers": [], "dispatch_mode": "single",
             "handback": "no", "followup_owner": "", "police_on_site": "no"}]
    new = Move("a -> y", "a", "main_department", "y").apply(rows)
    assert new[0]["main_department"] == "y" and new[0]["co_handlers"] == []
    assert new[1] == rows[1] and rows[0]["main_department"] == "x"
    hb = Move("handback", None, "handback", "yes").apply(rows)
    assert hb[0]["handback"] == "yes" and hb[0]["followup_owner"] == "grid"
    assert hb[1]["handback"] == "no"  # the police do not act on site: nothing to hand back
    assert Move("same", "b", "dispatch_mode", "single").apply(rows) is None


def test_constraints_parse():
    c = parse_constraint("staff_hours.police <= 5000")
    assert (c.metric, c.op, c.value) == ("staff_hours.police", "<=", 5000.0)
    assert c.violation(4000) == 0 and c.violation(5100) == 100
    assert parse_constraint("on_time_rate>=90%").value == 0.9


def test_bad_arguments_exit_2(tmp_path, capsys):
    a, _ = write_scenarios(tmp_path / "sc")
    assert main(["recommend", str(a), "--constraint", "police hours < lots", "--out",
                 str(tmp_path / "r")]) == 2
    assert "--constraint" in capsys.readouterr().err
    assert main(["recommend", str(a), "--objective", "happiness", "--budget", "1",
                 "--replications", "1", "--quiet", "--set", "run.horizon_days=10",
                 "--out", str(tmp_path / "r2")]) == 2
    assert "unknown metric 'happiness'" in capsys.readouterr().err
