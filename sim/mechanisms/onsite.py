"""On-site action and handback (双向流转, 案结事未了 -> 案结事了).

The police reach a non-police matter reported on 110 first (`police_on_site` categories) and
act on site (`police_onsite_hours`). Unsettled afterwards (`p_unsettled_after_police`), the case
is either closed unresolved or, with `handback.enabled` (or the category's `handback`), handed
back through the platform to the grid: grid workers visit (follow-up) until they settle it
(`p_grid_settle`), the owner is dispatched again (`handback.p_redispatch`) or the visits run
out (`handback.followup_limit`, every `handback.followup_interval_hours`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..kernel.entities import ONSITE, VISIT, Case, Task, Unit
from ..kernel.heap import EV_HOOK
from ..kernel.hooks import Mechanism
from ..streams import Uniforms

if TYPE_CHECKING:
    from ..engine import Engine
    from ..world.compiled import World


class OnSiteHandback(Mechanism):
    """The police's on-site task, and the grid's follow-up visits after it."""

    NAME: ClassVar[str] = "handback"
    KEY: ClassVar[str] = "handback.enabled (on-site action: catalogue.<k>.police_on_site)"
    SUMMARY: ClassVar[str] = ("police act on site on 110 reports; unsettled cases go back to "
                              "the grid for follow-up visits")
    ORDER: ClassVar[float] = 30.0
    HOOKS: ClassVar[tuple[str, ...]] = ("arrive",)
    roles_before: ClassVar[tuple[int, ...]] = (VISIT,)
    roles_after: ClassVar[tuple[int, ...]] = (ONSITE,)

    police_on_site: list[bool]
    owner: list[str]
    onsite_hours: list[float]
    p_unsettled: list[float]
    handback_on: list[bool]
    p_grid_settle: list[float]
    p_redispatch: float
    limit: int
    interval: float
    u_outcome: Uniforms
    u_followup: Uniforms

    def __init__(self, eng: Engine, world: World) -> None:
        super().__init__(eng)
        hb: Any = world.scenario
        self.police_on_site = list(world.police_on_site)
        self.owner = list(world.owner)
        self.onsite_hours = list(world.onsite_hours)
        self.p_unsettled = list(world.p_unsettled)
        self.handback_on = list(world.handback_on)
        self.p_grid_settle = list(world.p_grid_settle)
        self.p_redispatch = float(hb.handback.p_redispatch)
        self.limit = int(hb.handback.followup_limit)
        self.interval = float(hb.handback.followup_interval_hours)
        self.u_outcome = eng.u_outcome
        self.u_followup = eng.u_followup

    @classmethod
    def wanted(cls, world: Any) -> bool:
        return any(world.police_on_site) or any(world.handback_on)

    def arrive(self, case: Case, unit: Unit) -> bool:
        """The police take a non-police 110 case they reach first: on-site action."""
        k = case.k
        if unit.is_police and case.channel_kind == "police" and self.police_on_site[k] \
                and self.owner[k] != unit.code and case.visits == 0:
            case.unit = unit
            unit.submit(Task(case, ONSITE, self.onsite_hours[k] + unit.response, case.prio,
                             self.eng.next_seq(), unit))
            return True
        return False

    def task_done(self, task: Task, unit: Unit) -> None:
        if task.role == VISIT:
            self.visit_done(task, unit)
            return
        eng = self.eng
        case = task.case
        k = case.k
        if self.u_outcome.next() >= self.p_unsettled[k]:
            eng.close(case, "resolved")
        elif self.handback_on[k]:
            eng.platforms[case.street].handbacks += 1
            eng.ledger.handback(eng.now)
            self.visit(case)
        else:
            eng.close(case, "closed_unresolved")

    def fire(self, arg: Any) -> None:
        self.visit(arg)

    def visit(self, case: Case) -> None:
        """The platform pushes the case to its grid: a grid worker visits (follow-up)."""
        eng = self.eng
        gw = eng.grid_workers[case.grid]
        if gw.staff == 0:
            eng.close(case, "closed_unresolved")
            return
        case.visits += 1
        gw.submit(Task(case, VISIT, gw.visit_elapsed, case.prio, eng.next_seq(), gw))

    def visit_done(self, task: Task, gw: Unit) -> None:
        eng = self.eng
        case = task.case
        led = eng.ledger
        led.grid_time(eng.now, gw.visit_hours)
        eng.grid_agents[case.grid].visit_done()
        gw.visits += 1
        led.followup(eng.now)
        u = self.u_followup
        if u.next() < self.p_grid_settle[case.k]:
            gw.settled += 1
            led.settled(eng.now)
            eng.close(case, "settled_by_grid")
        elif u.next() < self.p_redispatch:
            case.redispatched = True
            eng.handle(case, eng.owner_units[case.k][case.street])
        elif case.visits < self.limit:
            eng.sched_after(self.interval, EV_HOOK, case, self.slot)
        else:
            eng.close(case, "closed_unresolved")
