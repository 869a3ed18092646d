"""Experiment files: validation (every error named), factor resolution, designs, seeds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.errors import UserError
from sim.experiments import (
    experiment_from_dict,
    load_experiment,
    make_design,
    replication_seeds,
)
from sim.experiments.seeds import SeedPlan
from sim.experiments.spec import set_value

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"


def spec(**over) -> dict:
    d = {"name": "t", "scenario": str(MMC),
         "set": {"run.horizon_days": 30, "run.warmup_days": 5},
         "factors": {"staff": {"path": "departments.desk.staff", "levels": [9, 10, 12]},
                     "handling": {"path": "catalogue.job.handling.mean", "range": [1.5, 2.2]}},
         "design": {"kind": "grid", "steps": 3}, "replications": 2, "seed": 7}
    d.update(over)
    return d


def errors_of(data: dict) -> list[str]:
    with pytest.raises(UserError) as exc:
        experiment_from_dict(data, source="exp.yaml")
    return exc.value.errors


def test_grid_design_and_overrides():
    exp = experiment_from_dict(spec())
    d = make_design(exp)
    assert len(d) == 9
    assert d.points["staff"].tolist() == [9, 9, 9, 10, 10, 10, 12, 12, 12]
    assert d.points["handling"].tolist()[:3] == pytest.approx([1.5, 1.85, 2.2])
    assert exp.overrides(d.values(4)) == [("departments.desk.staff", 10),
                                          ("catalogue.job.handling.mean", pytest.approx(1.85))]


@pytest.mark.parametrize("design,n", [({"kind": "lhs", "samples": 7}, 7),
                                      ({"kind": "sobol", "samples": 8}, 8 * (2 + 2)),
                                      ({"kind": "sobol", "samples": 8, "second_order": True},
                                       8 * (2 * 2 + 2)),
                                      ({"kind": "morris", "trajectories": 5}, 5 * 3)])
def test_sampled_designs_are_deterministic(design, n):
    exp = experiment_from_dict(spec(design=design))
    a, b = make_design(exp), make_design(exp)
    assert len(a) == n
    assert np.array_equal(a.X, b.X) and a.sha256() == b.sha256()
    assert set(a.points["staff"]) <= {9, 10, 12}
    assert a.points["handling"].between(1.5, 2.2).all()


def test_integer_range_covers_every_whole_number():
    exp = experiment_from_dict(spec(
        factors={"staff": {"path": "departments.desk.staff", "range": [9, 11], "integer": True}},
        design={"kind": "lhs", "samples": 30}))
    assert set(make_design(exp).points["staff"]) == {9, 10, 11}


def test_wildcards_and_scale():
    exp = experiment_from_dict(spec(factors={
        "work": {"path": "catalogue.*.incidence_per_1000_per_year.*", "levels": [0.5, 1.0],
                 "scale": True},
        "staff": {"paths": ["departments.*.staff"], "levels": [0.5, 1.5], "scale": True}}))
    f = {x.name: x for x in exp.factors}
    assert f["work"].paths == ["catalogue.job.incidence_per_1000_per_year.default"]
    assert f["work"].overrides(0.5) == [("catalogue.job.incidence_per_1000_per_year.default",
                                         17520.0)]
    assert f["staff"].overrides(1.5) == [("departments.desk.staff", 15)]   # whole people


def test_structured_levels_need_labels_and_apply_whole_sections():
    errs = errors_of(spec(factors={"r": {"path": "routing", "levels": [{"policy": "direct"}]}}))
    assert any("factors.r" in e and "labels" in e for e in errs)
    exp = experiment_from_dict(spec(factors={"r": {"path": "routing", "levels": {
        "direct": {"policy": "direct"}, "sectoral": {"policy": "sectoral"}}}}))
    assert make_design(exp).points["r"].tolist() == ["direct", "sectoral"]


def test_set_value_keeps_values_exact():
    data: dict = {}
    for v in (1e-05, 1e20, "yes", "a: b", [1, {"x": 2.5}], True, None, ""):
        set_value(data, "a.b", v)
        assert data["a"]["b"] == v


def test_every_error_is_listed_with_file_and_field():
    errs = errors_of(spec(
        replications=0, typo_key=1,
        factors={"staff": {"path": "departments.desk.staf", "levels": [9]},
                 "bad": {"path": "departments.desk.staff", "levels": [-1]},
                 "both": {"path": "run.seed", "levels": [1], "range": [0, 1]}},
        design={"kind": "sobol", "samples": 10},
        outputs={"metrics": ["throughput_perday"]}))
    text = "\n".join(errs)
    assert all(e.startswith("exp.yaml: ") for e in errs)
    assert "replications" in text and "typo_key: unknown key" in text
    assert "factors.both" in text and "design.samples" in text
    # the design error stops before the scenario checks; fix it and the rest appear
    errs = errors_of(spec(
        factors={"staff": {"path": "departments.desk.staf", "levels": [9]},
                 "bad": {"path": "departments.desk.staff", "levels": [-1]}},
        outputs={"metrics": ["throughput_perday"]}))
    text = "\n".join(errs)
    assert "factors.staff: at 9: departments.desk.staf: unknown key" in text
    assert "factors.bad: at -1: departments.desk.staff" in text
    assert "outputs.metrics.0: unknown metric 'throughput_perday'" in text
    assert "did you mean 'throughput_per_day'" in text


def test_missing_scenario_and_bad_set():
    errs = errors_of(spec(scenario="nope.yaml"))
    assert "scenario: file not found" in errs[0]
    errs = errors_of(spec(set={"run.horizon_days": 2, "run.warmup_days": 5}))
    assert any("warmup_days must be shorter" in e for e in errs)


def test_cli_validation_error_exits_2(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(spec(factors={"staff": {"path": "departments.desk.stuff",
                                                        "levels": [9, 10]}})))
    p = subprocess.run([sys.executable, "-m", "sim", "sweep", str(f), "--out",
                        str(tmp_path / "o")], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2
    assert f"{f}: factors.staff: at 9: departments.desk.stuff: unknown key" in p.stderr
    assert not (tmp_path / "o").exists()


def test_shipped_experiments_are_valid():
    for f in sorted((ROOT / "experiments").glob("*.yaml")):
        exp = load_experiment(f)
        assert len(make_design(exp)) > 0, f


def test_seeds_common_random_numbers():
    s = replication_seeds(42, 4)
    assert s == replication_seeds(42, 4) and len(set(s)) == 4
    assert replication_seeds(42, 2) == s[:2]        # adding replications keeps the first ones
    crn = SeedPlan(42, 4)
    assert [crn.seed(0, r) for r in range(4)] == [crn.seed(9, r) for r in range(4)] == s
    ind = SeedPlan(42, 4, common=False)
    assert ind.seed(0, 1) != ind.seed(1, 1) and ind.seed(3, 2) == SeedPlan(42, 4, False).seed(3, 2)
