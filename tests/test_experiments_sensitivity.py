"""Sensitivity analysis: SALib plumbing on a known function, and Sobol/Morris sweeps end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiments import experiment_from_dict, make_design, sobol_indices, sweep
from sim.experiments.sensitivity import morris_indices

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"


def spec(design: dict) -> dict:
    return {"name": "sa", "scenario": str(MMC),
            "set": {"run.horizon_days": 20, "run.warmup_days": 2,
                    "catalogue.job.incidence_per_1000_per_year.default": 8760},  # 1 an hour
            "factors": {"staff": {"path": "departments.desk.staff", "range": [3, 5],
                                  "integer": True},
                        "handling": {"path": "catalogue.job.handling.mean",
                                     "range": [1.6, 2.2]},
                        "unused": {"path": "citizens.repeat.switch_channel_prob",
                                   "range": [0.0, 1.0]}},
            "design": design, "replications": 1, "seed": 3,
            "outputs": {"metrics": ["mean_wait_hours", "utilization.desk"]}}


def fake_runs(design, y) -> pd.DataFrame:
    return pd.DataFrame({"point": np.arange(len(design)), "status": "ok", "y": y})


def test_sobol_indices_of_a_known_function():
    d = make_design(experiment_from_dict(spec({"kind": "sobol", "samples": 256})))
    x = d.points
    y = 4 * x["handling"].to_numpy() + 0.0 * x["unused"].to_numpy()
    s1, _, notes = sobol_indices(d, fake_runs(d, y), ["y"], seed=1)
    s1 = s1.set_index("factor")
    assert not notes
    assert s1.loc["handling", "S1"] == pytest.approx(1.0, abs=0.05)
    assert s1.loc["handling", "ST"] == pytest.approx(1.0, abs=0.05)
    assert abs(s1.loc["unused", "ST"]) < 0.02 and s1.loc["unused", "ST_conf"] >= 0


def test_morris_indices_of_a_known_function():
    d = make_design(experiment_from_dict(spec({"kind": "morris", "trajectories": 20})))
    y = d.points["handling"].to_numpy() ** 2
    mo, _ = morris_indices(d, fake_runs(d, y), ["y"], num_levels=4, seed=1)
    mo = mo.set_index("factor")
    assert mo.loc["handling", "mu_star"] > 0.5 and mo.loc["unused", "mu_star"] == 0


def test_missing_points_are_skipped_with_a_note():
    d = make_design(experiment_from_dict(spec({"kind": "sobol", "samples": 8})))
    y = np.ones(len(d))
    y[3] = np.nan
    s1, _, notes = sobol_indices(d, fake_runs(d, y), ["y"])
    assert s1.empty and "no successful run" in notes[0]


def test_sobol_sweep_writes_indices_and_figures(tmp_path):
    res = sweep(experiment_from_dict(spec({"kind": "sobol", "samples": 16})), tmp_path)
    assert res.count("ok") == 16 * 5
    t = pd.read_csv(tmp_path / "sensitivity_sobol.csv")
    assert list(t.columns) == ["metric", "factor", "S1", "S1_conf", "ST", "ST_conf"]
    assert set(t["metric"]) == {"mean_wait_hours", "utilization.desk"}
    u = t[t.metric == "utilization.desk"].set_index("factor")
    assert u.loc["unused", "ST"] < u.loc["handling", "ST"]
    for m in ("mean_wait_hours", "utilization.desk"):
        assert (tmp_path / "figures" / f"sobol_{m}.png").exists()
        assert (tmp_path / "figures" / f"sobol_{m}.pdf").exists()


def test_morris_sweep_writes_indices(tmp_path):
    d = spec({"kind": "morris", "trajectories": 4})
    d["outputs"]["figures"] = False
    res = sweep(experiment_from_dict(d), tmp_path)
    assert res.count("ok") == 4 * 4
    t = pd.read_csv(tmp_path / "sensitivity_morris.csv")
    assert list(t.columns) == ["metric", "factor", "mu", "mu_star", "mu_star_conf", "sigma"]
    assert not (tmp_path / "figures").exists()
