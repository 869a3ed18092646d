"""The default rules, compiled (sim/agents/rules.py, sim/policies/routing_rules.py).

The engine asks each agent's and the routing policy's `decider`: the compiled rule while the
class keeps every default decision, else the object itself. These tests hold the two ways to
the same numbers, and make sure an override (of a decision, or of something a decision uses)
is never silently skipped."""

from __future__ import annotations

import pytest

from sim.agents import (
    CITIZENS,
    DEPARTMENTS,
    GRID_WORKERS,
    PLATFORMS,
    Citizen,
    Department,
    DispatchPlatform,
    GridWorker,
)
from sim.policies.routing import ROUTING, Direct, RoutingPolicy, Sectoral, Territorial
from sim.runner import run_scenario
from sim.scenario.loader import load_scenario

from .conftest import SCENARIOS

AFTER = SCENARIOS / "baohe_after.yaml"
BEFORE = SCENARIOS / "baohe_before.yaml"
TINY = ["district.generate.streets=2", "district.generate.grids_per_street=60",
        "district.generate.population=120000",
        "district.generate.street_names=[Wuhulu, Baogong]",
        "run.horizon_days=20", "run.warmup_days=2"]
OTHER = ("wall_seconds", "scenario_sha256")   # the behaviour names differ, not the results


# ---------------------------------------------------------------- subclasses that ask
@DEPARTMENTS.register
class AskedDepartment(Department):
    """Every default decision, asked through Python methods (and counted)."""

    name = "test_asked_department"
    priority_varies = True
    observes_closures = True
    decides_resolution = True
    calls = 0

    def pressure(self, case):
        type(self).calls += 1
        return super().pressure(case)

    def effort(self, case, role):
        return super().effort(case, role)

    def priority(self, case, role):
        return super().priority(case, role)

    def p_true_resolution(self, case, coverage):
        return super().p_true_resolution(case, coverage)

    def observe_closure(self, case):
        super().observe_closure(case)


@GRID_WORKERS.register
class AskedGridWorker(GridWorker):
    name = "test_asked_grid_worker"
    calls = 0

    def plan_day(self):
        type(self).calls += 1
        super().plan_day()

    def patrols_now(self):
        return super().patrols_now()

    def mediate(self, p_settle):
        return super().mediate(p_settle)

    def visit_done(self):
        super().visit_done()


@CITIZENS.register
class AskedCitizen(Citizen):
    name = "test_asked_citizen"
    calls = 0

    def reports(self, pid, cat):
        return super().reports(pid, cat)

    def observe_closure(self, case):
        type(self).calls += 1
        super().observe_closure(case)

    def after_patience(self, problem, case):
        return super().after_patience(problem, case)


@PLATFORMS.register
class AskedPlatform(DispatchPlatform):
    name = "test_asked_platform"
    routes_by_desk_only = False
    calls = 0

    def dispatch(self, case):
        type(self).calls += 1
        return super().dispatch(case)


class AskedTerritorial(Territorial):
    name = "test_asked_territorial"
    calls = 0

    def route(self, case):
        type(self).calls += 1
        return super().route(case)

    def after_triage(self, case):
        return super().after_triage(case)

    def transfer(self, case, unit):
        return super().transfer(case, unit)


class AskedSectoral(Sectoral):
    name = "test_asked_sectoral"
    calls = 0

    def route(self, case):
        type(self).calls += 1
        return super().route(case)


ASK_AGENTS = ["agents.department.behaviour=test_asked_department",
              "agents.grid_worker.behaviour=test_asked_grid_worker",
              "agents.citizen.behaviour=test_asked_citizen",
              "agents.platform.behaviour=test_asked_platform"]


@pytest.fixture(autouse=True)
def asked_policies():
    """The test routing policies are registered only while this module's tests run (the
    generated scenario reference lists every registered policy)."""
    for cls in (AskedTerritorial, AskedSectoral):
        ROUTING.register(cls)
    yield
    for cls in (AskedTerritorial, AskedSectoral):
        ROUTING.pop(cls.name, None)


def _summary(path, extra=()):
    return run_scenario(load_scenario(path, [*TINY, *extra]), seed=7).summary


def _same(a, b):
    return {k: v for k, v in a.items() if k not in OTHER} == \
        {k: v for k, v in b.items() if k not in OTHER}


def test_the_declarations_follow_the_overrides():
    for cls in (Department, GridWorker, Citizen, DispatchPlatform, Territorial, Sectoral,
                Direct):
        assert cls.compiled_rule is True, cls
    for cls in (AskedDepartment, AskedGridWorker, AskedCitizen, AskedPlatform,
                AskedTerritorial, AskedSectoral):
        assert cls.compiled_rule is False, cls
    # a subclass that overrides nothing the rule decides keeps it
    assert type("Renamed", (Department,), {"name": "x"}).compiled_rule is True
    assert type("Renamed", (Territorial,), {"name": "x"}).compiled_rule is True
    # ... and a subclass of one that asks keeps asking
    assert type("Again", (AskedGridWorker,), {}).compiled_rule is False


@pytest.mark.parametrize("path, policy", [(AFTER, "test_asked_territorial"),
                                          (BEFORE, "test_asked_sectoral")])
def test_asking_the_agents_and_the_policy_gives_what_the_compiled_rules_give(path, policy):
    """Every decision through Python methods that call the default rule = the compiled rule
    called by the engine: the same summary, number for number."""
    base = _summary(path)
    assert base["cases_closed"] > 100
    for cls in (AskedDepartment, AskedGridWorker, AskedCitizen, AskedPlatform,
                AskedTerritorial, AskedSectoral):
        cls.calls = 0
    asked = _summary(path, [*ASK_AGENTS, f"routing.policy={policy}"])
    assert AskedDepartment.calls > 0 and AskedGridWorker.calls > 0
    assert AskedCitizen.calls > 0
    assert (AskedTerritorial.calls if path == AFTER else AskedSectoral.calls) > 0
    if path == AFTER:
        assert AskedPlatform.calls > 0      # the street platforms dispatch after the reform
    assert _same(asked, base)


@DEPARTMENTS.register
class PressureBlind(Department):
    """Sees no pressure: overrides only what `effort` and `priority` use."""

    name = "test_pressure_blind"

    def pressure(self, case):
        return 0.0


def test_an_override_of_what_a_decision_uses_is_honoured():
    """`pressure` is not a decision but both decisions use it: overriding it alone makes the
    engine ask the agent, and the rule uses the override (no pressure, no speed cut)."""
    assert PressureBlind.compiled_rule is False
    base = _summary(AFTER)
    blind = _summary(AFTER, ["agents.department.behaviour=test_pressure_blind"])
    assert blind["effort_mean"] > base["effort_mean"]   # the load and speed cuts are gone
    assert not _same(blind, base)


def test_a_routing_helper_override_alone_is_refused():
    """A policy with a compiled rule that overrides a helper (`pick`) but not the answers
    would have its override ignored: defining it fails, naming the fix."""
    with pytest.raises(TypeError, match="Override route, after_triage and transfer"):
        type("PickyTerritorial", (Territorial,), {"pick": lambda self, case, acc: None})
    # overriding the answers as well is fine (they may use the helper), and so is a policy
    # without a compiled rule
    type("Picky", (Territorial,), {"pick": lambda self, c, a: None,
                                   "route": lambda self, c: None,
                                   "after_triage": lambda self, c: None,
                                   "transfer": lambda self, c, u: None})
    own = type("Own", (RoutingPolicy,), {"route": lambda self, c: None})
    assert own.compiled_rule is False
    type("PickyOwn", (own,), {"pick": lambda self, c, a: None})
