"""Joint handling of complex cases: main/co-handling (主协办, `main_co`) and linkage (联动,
`linkage`). A complex case needs the co-handlers' powers: each co-handler gets a task (its
share of the main handler's hours, after a coordination delay) that covers its part of the
work; a complex case handled alone is resolved less often (`main_co.p_resolve_solo_factor`).
Main/co-handling needs a platform-led routing policy; when both are on, it is used."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..kernel.entities import CO, Case, Task, Unit
from ..kernel.heap import EV_SUBMIT
from ..kernel.hooks import Mechanism
from ..streams import Sampler

if TYPE_CHECKING:
    from ..engine import Engine
    from ..world.compiled import World


class JointHandling(Mechanism):
    """Co-handlers' tasks for complex cases of categories with co-handlers."""

    HOOKS: ClassVar[tuple[str, ...]] = ("extend",)

    joint_possible: list[bool]
    co: list[list[str]]
    co_need: list[float]
    share: float

    def __init__(self, eng: Engine, world: World) -> None:
        super().__init__(eng)
        self.joint_possible = list(world.joint_possible)
        self.co = [list(x) for x in world.co]
        self.co_need = list(world.co_need)
        self.share = 0.0

    def delay(self) -> float:
        """Hours before the co-handlers' tasks reach their queues."""
        return 0.0

    def extend(self, case: Case, unit: Unit, need: float) -> int:
        k = case.k
        if not case.complex or not self.joint_possible[k]:
            return 0
        eng = self.eng
        case.joint = self.NAME
        delay = self.delay()
        share = self.share
        eng.ledger.joint(eng.now)
        co_need_share = self.co_need[k]
        co_need = need * co_need_share
        pending = 0
        for co in self.co[k]:
            co_unit = eng.unit(co, case.street)
            if co_unit.staff == 0:
                continue
            e_co = co_unit.effort(case, CO, co_unit.fixed_co)
            case.cover += co_need * e_co * min(1.0, share / co_need_share) \
                if co_need_share > 0 else 0.0
            pending += 1
            pco = co_unit.priority(case, CO, co_unit.prio_co)
            task = Task(case, CO, need * share * e_co + co_unit.response, pco, eng.next_seq(),
                        co_unit)
            eng.sched_task(task, eng.now + delay, EV_SUBMIT)
        return pending


class MainCoHandling(JointHandling):
    """主协办: the street platform names a main handler and co-handlers, who join after a
    drawn coordination delay (`main_co.coordination_delay`) with `main_co.co_share` of the
    hours."""

    NAME: ClassVar[str] = "main_co"
    ORDER: ClassVar[float] = 10.0
    KEY: ClassVar[str] = "main_co.enabled"
    SUMMARY: ClassVar[str] = ("co-handlers join complex cases after a coordination delay "
                              "(needs a platform-led routing policy)")

    coordination: Sampler

    def __init__(self, eng: Engine, world: World) -> None:
        super().__init__(eng, world)
        self.share = float(world.scenario.main_co.co_share)   # type: ignore[attr-defined]
        self.coordination = eng.coordination

    def delay(self) -> float:
        return self.coordination.next()

    @classmethod
    def wanted(cls, world: Any) -> bool:
        return world.main_co_on


class Linkage(JointHandling):
    """联动: routine linkage, co-handlers join after a fixed `linkage.delay_hours` with
    `linkage.co_share` of the hours."""

    NAME: ClassVar[str] = "linkage"
    ORDER: ClassVar[float] = 11.0
    KEY: ClassVar[str] = "linkage.enabled"
    SUMMARY: ClassVar[str] = "co-handlers join complex cases after a fixed delay"

    fixed_delay: float

    def __init__(self, eng: Engine, world: World) -> None:
        super().__init__(eng, world)
        lk: Any = world.scenario
        self.share = float(lk.linkage.co_share)
        self.fixed_delay = float(lk.linkage.delay_hours)

    def delay(self) -> float:
        return self.fixed_delay

    @classmethod
    def wanted(cls, world: Any) -> bool:
        return world.linkage_on and not world.main_co_on
