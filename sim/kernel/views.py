"""What the kernel sees of agents and policies: Protocol-typed views. The agents' and
policies' classes (sim.agents, sim.policies) satisfy them structurally; the kernel never
imports them. Decisions are made behind these methods; the kernel only acts on the answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .entities import Case, Problem, Unit


class UnitDecisions:
    """A unit's per-task decisions as a compiled class, which the kernel calls directly (a C
    call through a vtable, not a Python method call): the default department rule
    (`sim.agents.rules.DepartmentRule`) is one. A unit whose agent decides in Python has none
    (`Unit.rule` is None) and is asked through `Unit.agent` (a `DepartmentView`)."""

    def effort(self, case: Case, role: int) -> float:
        raise NotImplementedError

    def priority(self, case: Case, role: int) -> int:
        raise NotImplementedError


class RouterDecisions:
    """A routing policy's per-case answers as a compiled class, called directly by the kernel
    (the shipped policies' rules, `sim.policies.routing_rules`, are ones); other policies are
    asked through their `RoutingView`."""

    def route(self, case: Case) -> tuple[Any, float]:
        raise NotImplementedError

    def transfer(self, case: Case, unit: Unit) -> tuple[Any, float]:
        raise NotImplementedError


class DepartmentView(Protocol):
    """A department (`sim.agents.department.Department`): how much effort and which priority
    it gives a task, how likely its handling resolves a problem, what it learns at closure."""

    def effort(self, case: Case, role: int) -> float: ...

    def priority(self, case: Case, role: int) -> int: ...

    def p_true_resolution(self, case: Case, coverage: float) -> float: ...

    def observe_closure(self, case: Case) -> None: ...


class GridWorkerView(Protocol):
    """The grid workers of one grid (`sim.agents.grid_worker.GridWorker`)."""

    mediation_hours: float

    def plan_day(self) -> None: ...

    def patrols_now(self) -> bool: ...

    def mediate(self, p_settle: float) -> bool: ...

    def visit_done(self) -> None: ...


class CitizenView(Protocol):
    """The citizens of one grid (`sim.agents.citizen.Citizen`)."""

    def after_patience(self, problem: Problem, case: Case | None) -> int: ...


class PlatformView(Protocol):
    """A street platform or the district hotline (`sim.agents.platform.DispatchPlatform`)."""

    handbacks: int

    def dispatch(self, case: Case) -> tuple[Unit, float]: ...


class RoutingView(Protocol):
    """A routing policy (`sim.policies.routing`): decisions only, no counters."""

    platform_led: bool

    def route(self, case: Case) -> tuple[Unit, float]: ...

    def transfer(self, case: Case, unit: Unit) -> tuple[Unit, float]: ...


class RoutingContext(Protocol):
    """What a routing policy sees of the engine (`RoutingPolicy(params, model)`): the
    organisation and its random stream, nothing to change."""

    streams: dict
    desks: dict[int, Unit]
    owner_units: list[list[Unit]]
    others: dict[str, list[str]]
    police_code: str | None
    n_streets: int
    cats: list

    def unit(self, code: str, street: int) -> Unit: ...

    def police_unit(self, street: int) -> Unit: ...


class CitizenContext(Protocol):
    """What a citizen agent sees of the engine (`Citizen.setup(engine, u)`)."""

    scenario: object
    channel_codes: list[str]
    channel_kinds: list[str]
    citizen_complaints: list[int]

    def note_escalation(self, channel: int) -> None: ...
