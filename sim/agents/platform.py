"""The street sub-center platform (大共治分中心) and the district 12345 desk: triage, dispatch.

Each platform has a triage desk (`desk`, the engine's `Unit`, with `platform.triage_staff`, or
`platform.hotline_staff` for the 12345 desk): cases queue there and take staff time, so an
understaffed desk is a bottleneck. When a case's triage is done the engine asks
`dispatch(case)` where it goes: the routing policy's pick of the owner (with its accuracy);
where the owner has both a street team and a district pool (a `split` department, when the
street holds assessment), the platform sends the case to whichever of the two has the shorter
expected wait (`load_balance`).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from .._mesa import mesa
from .fastpath import require_declared
from .registry import PLATFORMS, Params


def _backlog(unit) -> float:
    """Tasks waiting or in hand per staff member (how soon a new task would start)."""
    return (unit.queue_length + unit.busy) / unit.staff if unit.staff > 0 else float("inf")


@PLATFORMS.register
class DispatchPlatform(mesa.Agent):
    """One street's platform (`street` = -1: the district 12345 operators).

    Behaviour `default`: dispatch to the department the routing policy picks; with
    `load_balance` (where the schema allows: a split department's street team and district
    pool both handle the case), to the one of the two whose queue clears sooner (tasks
    waiting and in hand per staff member).
    """

    name = "default"

    #: the fast path, declared (sim/agents/fastpath.py): True = a triaged case goes where the
    #: routing policy sends it (unless `load_balance` has split departments to weigh), so the
    #: engine routes the desk's cases itself without calling `dispatch`. A subclass that
    #: overrides `dispatch` must set it to False (else defining the class raises `TypeError`)
    routes_by_desk_only: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        require_declared(cls, {"dispatch": ("routes_by_desk_only", False)})

    class Params(Params):
        load_balance: bool = Field(True, description="send a split department's case to its "
                                   "street team or its district pool, whichever has the "
                                   "shorter expected wait")

    def __init__(self, model, street: int, params: dict | None = None):
        super().__init__(model)
        self.street = street
        self.params = self.Params(**(params or {}))
        self._triaged = 0    # cases the routing policy triaged for a platform with no desk
        self.handbacks = 0
        self.desk = None     # the engine's Unit, or None when the platform has no staff
        self._pools: dict | None = None   # split departments' district pools (load_balance)

    def dispatch(self, case):
        """Where a triaged case goes: (unit, delay in hours): the routing policy's pick, or
        the less loaded unit of a split owner (`load_balance`)."""
        after_triage = self.model.routing.after_triage
        if self._pools is None:
            e = self.model.engine
            self._pools = {code: e.units[(code, -1)] for code, lvl in e.dept_level.items()
                           if lvl == "split"} if self.params.load_balance else {}
        if self._pools:
            unit, delay = after_triage(case)
            pool = self._pools.get(unit.code)
            if pool is not None and unit is not pool and pool.staff > 0 and \
                    _backlog(pool) < _backlog(unit):
                return pool, delay
            return unit, delay
        if self.routes_by_desk_only and self.desk is not None:
            # declared once to the engine (the desk's `router`), so that it need not ask
            # per case (a class that declares `routes_by_desk_only = False` is always asked)
            self.desk.router = after_triage
        return after_triage(case)

    @property
    def triaged(self) -> int:
        """Cases triaged: the desk's finished triage tasks (each is dispatched), or those the
        routing policy dispatched directly for a platform with no desk."""
        return self._triaged + (self.desk.tasks_done if self.desk is not None else 0)

    @triaged.setter
    def triaged(self, n: int) -> None:
        self._triaged = n - (self.desk.tasks_done if self.desk is not None else 0)

    @property
    def queue_length(self) -> int:
        return self.desk.queue_length if self.desk is not None else 0
