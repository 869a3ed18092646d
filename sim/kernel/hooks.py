"""`Mechanism`: the few hooks through which a mechanism (sim.mechanisms) joins a case's life.

The lifecycle calls each hook only on the mechanisms that define it (it looks them up once, at
`Lifecycle.plug`): a mechanism that is off costs nothing. Compiled with the kernel as one mypyc
group, a hook is a direct C call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .entities import Case, Task, Unit
    from .lifecycle import Lifecycle


class Mechanism:
    """Base class of a mechanism. `eng` is the lifecycle it is plugged into and `slot` its
    index there (for its own events, `Calendar.sched_hook`). A subclass overrides the hooks it
    needs and lists them in `HOOKS`; `roles_before`/`roles_after` are the task roles whose end
    it handles (before or after the department's staff hours are booked).

    What the registry (`sim.mechanisms.registry`) reads: `NAME` (the registry name), `KEY`
    (the YAML key that switches it on), `SUMMARY` (one line for the README's table), `ORDER`
    (hooks of lower ORDER run first) and `PARAMS` (name -> (type, default, description): the
    parameters under `mechanisms.<NAME>` in a scenario, for mechanisms without a section of
    their own). `wanted(world)` says whether a World switches it on: by default, when the
    scenario's `mechanisms` section names it."""

    NAME: ClassVar[str] = ""
    KEY: ClassVar[str] = ""
    SUMMARY: ClassVar[str] = ""
    ORDER: ClassVar[float] = 100.0
    PARAMS: ClassVar[dict[str, tuple[type, Any, str]]] = {}
    HOOKS: ClassVar[tuple[str, ...]] = ()
    roles_before: ClassVar[tuple[int, ...]] = ()
    roles_after: ClassVar[tuple[int, ...]] = ()

    eng: Lifecycle
    slot: int

    def __init__(self, eng: Lifecycle) -> None:
        self.eng = eng
        self.slot = -1

    @classmethod
    def wanted(cls, world: Any) -> bool:
        """Whether `world` (a compiled World) switches this mechanism on."""
        return cls.NAME in world.scenario.mechanisms

    @classmethod
    def params(cls, world: Any) -> dict[str, Any]:
        """This mechanism's parameters in `world`'s scenario, defaults filled in."""
        given = world.scenario.mechanisms.get(cls.NAME) or {}
        return {k: typ(given.get(k, default)) for k, (typ, default, _) in cls.PARAMS.items()}

    def start(self) -> None:
        """The run begins: schedule fixed events (after the lifecycle's own)."""

    def opened(self, case: Case) -> None:
        """A case was opened (before it is routed)."""

    def arrive(self, case: Case, unit: Unit) -> bool:
        """A case reaches a unit that is not a dispatch desk: True = this mechanism took it."""
        return False

    def extend(self, case: Case, unit: Unit, need: float) -> int:
        """The owner `unit` starts handling `case` (its main task needs `need` hours): add
        tasks; returns how many the case now also waits for."""
        return 0

    def task_done(self, task: Task, unit: Unit) -> None:
        """A task of one of this mechanism's roles ended."""

    def resolved(self, case: Case) -> None:
        """The case closed and its problem is resolved."""

    def fire(self, arg: Any) -> None:
        """One of this mechanism's own events (scheduled with `slot`)."""
