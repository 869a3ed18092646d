"""Departments (职能部门): street enforcement teams and district pools that handle cases."""

from __future__ import annotations

import mesa

from ..engine import Task, Unit

__all__ = ["Department", "Task", "Unit"]


class Department(mesa.Agent):
    """One department's unit: a street team (派驻/街道执法队伍) or a district-level pool.

    Its staff are `staff` servers with a priority-FIFO queue who work during their shifts; the
    queue and its bookkeeping are the engine's `Unit` (`self.unit`, compiled), which this agent
    wraps: `code` is the department's key in the scenario, `street` the street index (-1 =
    district). Each finished task goes back to the engine (`Engine.task_done`).
    """

    def __init__(self, model, unit: Unit):
        super().__init__(model)
        self.unit = unit

    code = property(lambda self: self.unit.code)
    street = property(lambda self: self.unit.street)
    staff = property(lambda self: self.unit.staff, doc="servers on duty")
    busy = property(lambda self: self.unit.busy, doc="servers busy now")
    is_police = property(lambda self: self.unit.is_police)
    closed = property(lambda self: self.unit.closed, doc="cases this unit owned and closed")
    dissatisfied_ewma = property(lambda self: self.unit.dissatisfied_ewma,
                                 doc="running share of dissatisfying closures")

    @property
    def queue_length(self) -> int:
        """Tasks waiting."""
        return self.unit.queue_length

    @property
    def utilization(self) -> float:
        """Busy staff-hours / staff-hours on duty, so far."""
        u = self.unit
        return u.busy_area / u.cap_area if u.cap_area > 0 else 0.0

    def add_staff(self, n: int) -> None:
        """Change the staff on duty; busy staff finish their task."""
        self.unit.add_staff(n)

    def __repr__(self):
        return f"Department({self.code}, street={self.street})"
