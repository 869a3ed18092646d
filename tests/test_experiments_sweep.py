"""`cogov sweep`: same results on every backend, failures recorded, resume after SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.errors import UserError
from sim.experiments import DaskBackend, experiment_from_dict, read_runs, read_timeseries, sweep

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
TIMING = ["wall_seconds", "finished"]


def spec(**over) -> dict:
    d = {"name": "t", "scenario": str(MMC),
         "set": {"run.horizon_days": 30, "run.warmup_days": 5,
                 "catalogue.job.incidence_per_1000_per_year.default": 8760,   # 1 case an hour
                 "citizens.repeat": {"p_complain_again": 0.6, "max_repeats": 3},
                 "catalogue.job.p_resolve": 0.7},
         "factors": {"staff": {"path": "departments.desk.staff", "levels": [3, 4]},
                     "handling": {"path": "catalogue.job.handling.mean", "range": [1.5, 2.0]}},
         "design": {"kind": "grid", "steps": 2}, "replications": 2, "seed": 7,
         "outputs": {"metrics": ["repeat_complaint_rate", "mean_wait_hours"],
                     "timeseries": True, "figures": False}}
    d.update(over)
    return d


def write(tmp_path: Path, **over) -> Path:
    f = tmp_path / "exp.yaml"
    f.write_text(yaml.safe_dump(spec(**over)))
    return f


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    cols = [c for c in a.columns if c not in TIMING]
    pd.testing.assert_frame_equal(a[cols].reset_index(drop=True), b[cols].reset_index(drop=True))


def test_same_seeds_same_results_on_every_backend(tmp_path):
    exp = experiment_from_dict(spec())
    serial = sweep(exp, tmp_path / "serial")
    assert serial.count("ok") == 8 and serial.failed == 0
    process = sweep(exp, tmp_path / "process", backend="process", workers=2)
    dask = sweep(exp, tmp_path / "dask", backend=DaskBackend(workers=2, processes=True))
    same(serial.runs, process.runs)
    same(serial.runs, dask.runs)
    ts = [read_timeseries(tmp_path / b).sort_values(["run_id", "day"]) for b in
          ("serial", "process", "dask")]
    same(ts[0], ts[1])
    same(ts[0], ts[2])
    # common random numbers: replication r has one seed at every point
    assert serial.runs.groupby("replication")["seed"].nunique().eq(1).all()
    assert list(serial.runs.columns[:8]) == ["run_id", "point", "replication", "seed", "status",
                                             "error", "staff", "handling"]


def test_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path, capsys):
    # each level is valid alone; horizon 10 with warm-up 20 is not: a run-time failure
    f = write(tmp_path, factors={"horizon": {"path": "run.horizon_days", "levels": [30, 10]},
                                 "warmup": {"path": "run.warmup_days", "levels": [5, 20]}},
              replications=1, outputs={"metrics": ["mean_wait_hours"], "figures": True})
    from sim.cli import main
    rc = main(["sweep", str(f), "--out", str(tmp_path / "o"), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 1
    runs = pd.read_csv(tmp_path / "o" / "runs.csv")
    assert runs["status"].tolist() == ["ok", "ok", "ok", "error"]
    assert "warmup_days must be shorter than horizon_days" in runs["error"].iloc[3]
    assert out.strip().splitlines()[-1].startswith("3 of 4 runs ok, 1 failed")
    assert (tmp_path / "o" / "figures" / "points_mean_wait_hours.png").exists()
    assert (tmp_path / "o" / "figures" / "points_mean_wait_hours.pdf").exists()
    # --resume keeps the recorded failure; --retry-failed runs it again (it fails again)
    assert main(["sweep", str(f), "--out", str(tmp_path / "o"), "--resume", "--quiet"]) == 1
    assert "0 runs to go" not in capsys.readouterr().err
    assert main(["sweep", str(f), "--out", str(tmp_path / "o"), "--resume", "--retry-failed",
                 "--quiet"]) == 1
    assert read_runs(tmp_path / "o")["status"].tolist() == ["ok", "ok", "ok", "error"]


def test_resume_after_sigkill_equals_uninterrupted(tmp_path):
    f = write(tmp_path,
              factors={"staff": {"path": "departments.desk.staff", "levels": [3, 4, 5, 6]},
                       "handling": {"path": "catalogue.job.handling.mean",
                                    "range": [1.5, 2.0]}},
              design={"kind": "grid", "steps": 5}, replications=3)   # 60 runs
    full = sweep(f, tmp_path / "full")
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "sim", "sweep", str(f), "--out", str(out), "--quiet"]
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ledger = out / "ledger.sqlite"
    deadline = time.time() + 120
    n = 0
    while time.time() < deadline and p.poll() is None:
        if ledger.exists():
            try:
                with sqlite3.connect(ledger, timeout=5) as con:
                    n = con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            except sqlite3.OperationalError:
                n = 0
            if n >= 8:
                break
        time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert p.returncode == -signal.SIGKILL, "the sweep finished before it could be killed"
    partial = read_runs(out)
    assert 8 <= len(partial) < 60 and (partial["status"] == "ok").all()
    assert not (out / "runs.csv").exists()
    with pytest.raises(UserError, match="--resume"):
        sweep(f, out)
    resumed = sweep(f, out, resume=True)
    assert len(resumed.runs) == 60 and resumed.runs["run_id"].is_unique
    same(full.runs, resumed.runs)
    same(pd.read_csv(tmp_path / "full" / "runs.csv"), pd.read_csv(out / "runs.csv"))
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "full" / "points.csv"),
                                  pd.read_csv(out / "points.csv"))
    same(read_timeseries(tmp_path / "full"), read_timeseries(out))
    # the runs done before the kill were not run again
    kept = resumed.runs.set_index("run_id").loc[partial["run_id"], "finished"]
    assert kept.tolist() == partial["finished"].tolist()


def test_lost_runs_are_rerun_and_changed_experiments_refused(tmp_path):
    f = write(tmp_path, replications=1)
    sweep(f, tmp_path / "o")
    with sqlite3.connect(tmp_path / "o" / "ledger.sqlite") as con:
        con.execute("UPDATE runs SET status='lost', complaints=NULL WHERE run_id=2")
    res = sweep(f, tmp_path / "o", resume=True)
    assert res.failed == 0 and res.runs.loc[2, "complaints"] > 0
    f.write_text(yaml.safe_dump(spec(replications=1, seed=8)))
    with pytest.raises(UserError, match="different experiment"):
        sweep(f, tmp_path / "o", resume=True)


class _KillsItsWorker:
    """Unpickling this in a worker process ends that process (a stand-in for an OOM kill)."""

    def __reduce__(self):
        return (os._exit, (3,))


def test_a_dead_worker_is_recorded_lost_and_the_pool_recovers():
    from sim.experiments import ProcessBackend, RunTask
    from sim.scenario.loader import load_scenario

    sc = load_scenario(MMC, ["run.horizon_days=3", "run.warmup_days=1"])
    tasks = [RunTask(i, 1, scenario=sc) for i in range(5)]
    tasks[1].scenario = _KillsItsWorker()
    got = {t.run_id: r["status"] for t, r in ProcessBackend(1, max_in_flight=2).run(tasks)}
    assert got[1] == "lost"
    assert got[3] == got[4] == "ok"          # a fresh pool took over
    assert set(got.values()) <= {"ok", "lost"} and len(got) == 5
