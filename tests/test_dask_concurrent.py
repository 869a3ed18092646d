"""Two different sweeps at once on one Dask scheduler never see each other's data (issue 17).

Before the fix `DaskBackend` scattered the base scenario dict with `broadcast=True`, which
stores each top-level key (`run`, `district`, `catalogue`, ...) under its literal name: the
second sweep overwrote the first's data and both printed "all runs ok" with wrong rows."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from .conftest import ROOT

distributed = pytest.importorskip("distributed")

MMC = (ROOT / "scenarios" / "validation" / "mmc.yaml").read_text(encoding="utf-8")

# two experiments on the same base file that differ in every run: arrival rate, handling time
# and the staff levels swept
EXPERIMENTS = {
    "a": """name: a
scenario: mmc.yaml
set:
  run.horizon_days: 40
  run.warmup_days: 5
  catalogue.job.incidence_per_1000_per_year.default: 35040
  catalogue.job.handling.mean: 2.0
factors:
  staff: {path: departments.desk.staff, levels: [9, 10, 12]}
replications: 2
seed: 11
outputs: {figures: false, metrics: [mean_wait_hours]}
""",
    "b": """name: b
scenario: mmc.yaml
set:
  run.horizon_days: 40
  run.warmup_days: 5
  catalogue.job.incidence_per_1000_per_year.default: 17520
  catalogue.job.handling.mean: 1.0
factors:
  staff: {path: departments.desk.staff, levels: [3, 4, 5]}
replications: 2
seed: 11
outputs: {figures: false, metrics: [mean_wait_hours]}
""",
}
DROP = ["wall_seconds", "finished", "traceback"]


def _runs(out) -> pd.DataFrame:
    df = pd.read_csv(out / "runs.csv").drop(columns=DROP, errors="ignore")
    return df.sort_values("run_id").reset_index(drop=True)


@pytest.mark.slow   # two sweeps on one Dask cluster: ~85 s of a busy 2-core host
def test_two_sweeps_at_once_on_one_cluster(tmp_path):
    from sim.experiments.sweep import sweep

    (tmp_path / "mmc.yaml").write_text(MMC, encoding="utf-8")
    paths = {}
    for k, text in EXPERIMENTS.items():
        paths[k] = tmp_path / f"{k}.yaml"
        paths[k].write_text(text, encoding="utf-8")
    ref = {k: _runs(sweep(p, tmp_path / f"ref_{k}", backend="serial").out)
           for k, p in paths.items()}
    # the two experiments really differ: a mix-up could not go unnoticed
    assert not ref["a"]["complaints"].equals(ref["b"]["complaints"])

    # two `cogov sweep` processes started together against one scheduler, as in the issue
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    try:
        procs = {k: subprocess.Popen(
            [sys.executable, "-m", "sim", "sweep", str(p), "--out", str(tmp_path / f"dask_{k}"),
             "--backend", "dask", "--scheduler", cluster.scheduler_address, "--quiet"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL) for k, p in paths.items()}
        for k, proc in procs.items():
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err[-3000:]
            assert "6 of 6 runs ok" in out, out
            got = _runs(tmp_path / f"dask_{k}")
            pd.testing.assert_frame_equal(got, ref[k], check_dtype=False)
    finally:
        for proc in procs.values() if "procs" in locals() else []:
            if proc.poll() is None:
                proc.kill()
        cluster.close()
