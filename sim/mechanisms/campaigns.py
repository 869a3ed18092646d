"""Special campaigns (专项整治, `campaigns`): for `start_day`-`end_day`, the owners of the
campaign's categories in its streets get `extra_staff` more staff on duty, its cases jump the
queues (`priority`) and patrols detect its problems `detection_boost` times as often (the
boost is part of the World's patrol hazards: `World.boosts`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..kernel.entities import Case, Unit
from ..kernel.hooks import Mechanism

if TYPE_CHECKING:
    from ..engine import Engine
    from ..world.compiled import World


class Campaigns(Mechanism):
    """Campaign start and end events, the staff they pool and the priority they give."""

    NAME: ClassVar[str] = "campaigns"
    KEY: ClassVar[str] = "campaigns"
    SUMMARY: ClassVar[str] = ("extra staff, queue priority and stronger patrol detection for "
                              "some categories and streets over some days")
    ORDER: ClassVar[float] = 40.0
    HOOKS: ClassVar[tuple[str, ...]] = ("start", "opened")

    start_h: list[float]
    end_h: list[float]
    extra: list[int]
    priority: list[bool]
    cats: list[list[int]]
    streets: list[list[int]]
    units: list[list[Unit]]
    active: list[bool]
    any_active: bool

    def __init__(self, eng: Engine, world: World) -> None:
        super().__init__(eng)
        cs = world.campaigns
        self.start_h = [c.start for c in cs]
        self.end_h = [min(c.end, world.horizon) for c in cs]
        self.extra = [c.extra_staff for c in cs]
        self.priority = [c.priority for c in cs]
        self.cats = [list(c.cats) for c in cs]
        self.streets = [list(c.streets) for c in cs]
        self.units = []
        for c in cs:
            ks = list(c.cats) or list(range(len(world.cat_codes)))
            owners = sorted({world.owner[k] for k in ks})
            streets = sorted(c.streets) or list(range(world.n_streets))
            units: dict[int, Unit] = {}
            for o in owners:
                for st in streets:
                    u = eng.unit(o, st)
                    units[id(u)] = u
            self.units.append(list(units.values()))
        self.active = [False] * len(cs)
        self.any_active = False

    @classmethod
    def wanted(cls, world: Any) -> bool:
        return bool(world.campaigns)

    def start(self) -> None:
        eng = self.eng
        for i in range(len(self.start_h)):
            eng.sched_hook(self.start_h[i], self.slot, (i, True))
            eng.sched_hook(self.end_h[i], self.slot, (i, False))

    def fire(self, arg: Any) -> None:
        """Campaign `arg[0]` starts (`arg[1]`) or ends: pooled extra staff."""
        i: int = arg[0]
        start: bool = arg[1]
        if self.active[i] == start:
            return
        self.active[i] = start
        self.any_active = any(self.active)
        extra = self.extra[i] * (1 if start else -1)
        for unit in self.units[i]:
            unit.add_staff(extra)

    def opened(self, case: Case) -> None:
        if not self.any_active:
            return
        k = case.k
        for i in range(len(self.active)):
            cats = self.cats[i]
            streets = self.streets[i]
            if self.active[i] and self.priority[i] and (not cats or k in cats) and \
                    (not streets or case.street in streets):
                case.prio = 0
                return
