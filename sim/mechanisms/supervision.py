"""Supervision (督办): a case still open `after_hours` after it was opened is put under
supervision, and every task it needs from then on jumps the queues (priority 0), like a
petition's. Switched on by `mechanisms: {supervision: {after_hours: ...}}` in a scenario.

The worked example of docs/design.md ("A new mechanism"): one module, one registry name, one
YAML key, one test (tests/test_mechanism_supervision.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..kernel.entities import Case
from ..kernel.heap import EV_HOOK
from ..kernel.hooks import Mechanism

if TYPE_CHECKING:
    from ..engine import Engine


class Supervision(Mechanism):
    """Cases open too long get priority."""

    NAME: ClassVar[str] = "supervision"
    KEY: ClassVar[str] = "mechanisms.supervision"
    SUMMARY: ClassVar[str] = "cases still open after `after_hours` jump the queues from then on"
    ORDER: ClassVar[float] = 60.0
    PARAMS: ClassVar[dict[str, tuple[type, Any, str]]] = {
        "after_hours": (float, 72.0, "hours a case may stay open before supervision")}
    HOOKS: ClassVar[tuple[str, ...]] = ("opened",)

    after: float
    supervised: int

    def __init__(self, eng: Engine, world: Any) -> None:
        super().__init__(eng)
        self.after = float(self.params(world)["after_hours"])
        self.supervised = 0          # cases put under supervision (whole run)

    def opened(self, case: Case) -> None:
        # every case waits the same time: a first-in-first-out lane keeps the heap small
        self.eng.sched_after(self.after, EV_HOOK, case, self.slot)

    def fire(self, arg: Any) -> None:
        case: Case = arg
        if case.closed < 0:          # still open: supervised from now on
            case.prio = 0
            self.supervised += 1
