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
from .department import rule_view
from .fastpath import keeps_rule, require_declared
from .registry import PLATFORMS, Params
from .rules import PlatformRule


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
    #: the engine takes this class's dispatch from the compiled default rule (`PlatformRule`,
    #: sim/agents/rules.py); set to False when the class is defined if it overrides `dispatch`
    compiled_rule: ClassVar[bool] = True
    RULE_METHODS: ClassVar[tuple[str, ...]] = ("dispatch",)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        require_declared(cls, {"dispatch": ("routes_by_desk_only", False)})
        cls.compiled_rule = keeps_rule(cls, cls.RULE_METHODS)

    class Params(Params):
        load_balance: bool = Field(True, description="send a split department's case to its "
                                   "street team or its district pool, whichever has the "
                                   "shorter expected wait")

    def __init__(self, model, street: int, params: dict | None = None):
        super().__init__(model)
        self.street = street
        self.params = self.Params(**(params or {}))
        self._triaged = 0    # cases the routing policy triaged for a platform with no desk
        self.desk = None     # the engine's Unit, or None when the platform has no staff
        self._rule: PlatformRule | None = None

    @property
    def rule(self) -> PlatformRule:
        """The default rule's state (compiled; sim/agents/rules.py), made when the model has
        its routing policy: the policy's `after_triage`, and the district pools of the split
        departments when `load_balance`. With no pool to weigh, a desk of a class that
        declares `routes_by_desk_only` routes its cases itself (its `router`)."""
        if self._rule is None:
            e = self.model.engine
            after_triage = self.model.routing.decider.after_triage
            pools = {code: e.units[(code, -1)] for code, lvl in e.dept_level.items()
                     if lvl == "split"} if self.params.load_balance else {}
            self._rule = PlatformRule(after_triage, pools)
            if not pools and self.routes_by_desk_only and self.desk is not None:
                self.desk.router = after_triage
        return self._rule

    @property
    def decider(self):
        """What the engine asks: the compiled rule, or this agent (a subclass's `dispatch`)."""
        return self.rule if self.compiled_rule else self

    handbacks = rule_view("handbacks", "cases handed back to this street's grid")

    def dispatch(self, case):
        """Where a triaged case goes: (unit, delay in hours): the routing policy's pick, or
        the less loaded unit of a split owner (`load_balance`)."""
        return self.rule.dispatch(case)

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
