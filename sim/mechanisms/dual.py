"""Dual dispatch (双派): a case of a dual-dispatched category (`dispatch.modes`,
`dispatch.dual_families`, `dispatch.default_mode`) also goes to the police, who give
`dispatch.police_hours_share` of the owner's hours; the handling is then resolved with
`dispatch.dual_p_resolve_factor`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..kernel.entities import DUAL, Case, Task, Unit
from ..kernel.hooks import Mechanism

if TYPE_CHECKING:
    from ..engine import Engine
    from ..world.compiled import World


class DualDispatch(Mechanism):
    """The police's task beside the owner's."""

    NAME: ClassVar[str] = "dual_dispatch"
    KEY: ClassVar[str] = "dispatch.default_mode / dispatch.dual_families / dispatch.modes"
    SUMMARY: ClassVar[str] = "the police get a task beside the owner's on dual-dispatched cases"
    ORDER: ClassVar[float] = 20.0
    HOOKS: ClassVar[tuple[str, ...]] = ("extend",)

    dual: list[bool]
    co: list[list[str]]
    co_need: list[float]
    police_code: str
    police_share: float

    def __init__(self, eng: Engine, world: World) -> None:
        super().__init__(eng)
        sc: Any = world.scenario
        self.dual = list(world.dual)
        self.co = [list(x) for x in world.co]
        self.co_need = list(world.co_need)
        self.police_code = world.police_code or ""
        self.police_share = float(sc.dispatch.police_hours_share)

    @classmethod
    def wanted(cls, world: Any) -> bool:
        return any(world.dual)

    def extend(self, case: Case, unit: Unit, need: float) -> int:
        k = case.k
        if not self.dual[k] or unit.is_police:
            return 0
        eng = self.eng
        case.dual = True
        police = eng.police_unit(case.street)
        e_p = police.effort(case, DUAL, police.fixed_main)
        if case.complex and case.joint is None and self.police_code in self.co[k]:
            case.cover += need * self.co_need[k] * e_p   # police attend with their powers
        pdual = police.priority(case, DUAL, police.prio_main)
        police.submit(Task(case, DUAL, need * self.police_share * e_p + police.response,
                           pdual, eng.next_seq(), police))
        return 1
