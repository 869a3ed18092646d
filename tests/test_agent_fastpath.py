"""The fast path, declared (issue 22): an agent class says which of its decisions the engine
may take without calling it (`Department.priority_varies`, `observes_closures`,
`decides_resolution`; `DispatchPlatform.routes_by_desk_only`). A subclass that overrides such a
method without declaring it fails when the class is defined; one that declares it is asked."""

from __future__ import annotations

import pytest

from sim.agents import DEPARTMENTS, PLATFORMS, Department, DispatchPlatform
from sim.runner import run_scenario
from sim.scenario.loader import load_scenario

from .conftest import SCENARIOS

AFTER = SCENARIOS / "baohe_after.yaml"
TINY = ["district.generate.streets=2", "district.generate.grids_per_street=60",
        "district.generate.population=120000",
        "district.generate.street_names=[Wuhulu, Baogong]",
        "run.horizon_days=12", "run.warmup_days=2"]


@pytest.mark.parametrize("base, method, attr, fix", [
    (Department, "priority", "priority_varies", "True"),
    (Department, "observe_closure", "observes_closures", "True"),
    (Department, "p_true_resolution", "decides_resolution", "True"),
    (DispatchPlatform, "dispatch", "routes_by_desk_only", "False"),
])
def test_an_undeclared_override_fails_when_the_class_is_defined(base, method, attr, fix):
    with pytest.raises(TypeError, match=rf"overrides `{method}`.*Add `{attr} = {fix}`"):
        type("Undeclared", (base,), {method: lambda self, *a: None})
    # declared: the class is defined, and so is a subclass of it that overrides again
    ok = type("Declared", (base,), {method: lambda self, *a: None, attr: fix == "True"})
    type("Again", (ok,), {method: lambda self, *a: None})
    # declaring the opposite of what the override needs is the same mistake
    with pytest.raises(TypeError, match=attr):
        type("Contrary", (base,), {method: lambda self, *a: None, attr: fix != "True"})


@DEPARTMENTS.register
class AskedPriority(Department):
    """Test behaviour: the default priorities, decided task by task (and counted)."""

    name = "test_asked_priority"
    priority_varies = True
    calls = 0

    def priority(self, case, role):
        type(self).calls += 1
        return super().priority(case, role)


@PLATFORMS.register
class AskedDispatch(DispatchPlatform):
    """Test behaviour: the default dispatch, asked for every case (and counted)."""

    name = "test_asked_dispatch"
    routes_by_desk_only = False
    calls = 0

    def dispatch(self, case):
        type(self).calls += 1
        return super().dispatch(case)


def _summary(extra=()):
    return run_scenario(load_scenario(AFTER, [*TINY, *extra]), seed=5).summary


def test_a_declared_override_is_asked_and_the_fast_path_gives_the_same_results():
    """The default classes' fast path (the engine deciding without asking) gives what asking
    the same rule every time gives."""
    base = _summary()
    assert base["cases_closed"] > 0
    AskedPriority.calls = AskedDispatch.calls = 0
    asked = _summary(["agents.department.behaviour=test_asked_priority",
                      "agents.platform.behaviour=test_asked_dispatch"])
    assert AskedPriority.calls > 0 and AskedDispatch.calls > 0
    other = ("wall_seconds", "scenario_sha256")      # the behaviour names differ, not results
    assert {k: v for k, v in asked.items() if k not in other} == \
        {k: v for k, v in base.items() if k not in other}
