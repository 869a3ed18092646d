"""Every shipped experiment (experiments/*.yaml) loads, and its base scenario (with the
experiment's `set`) gives no load warning: no department whose staff can never clear its
load, which would make every output depend on the run length (issue 26)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.experiments.spec import build_scenario, load_experiment
from sim.scenario.checks import load_warnings

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.yaml"))


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_shipped_experiment_is_valid_at_its_load(path):
    exp = load_experiment(path)
    scenario = build_scenario(exp.base_raw, [], str(path))
    assert load_warnings(scenario) == []
    assert exp.metrics, "an experiment names the outputs it records"
