"""Departments (职能部门): street enforcement teams and district pools that handle cases."""

from __future__ import annotations

from .._mesa import mesa
from ..engine import Task, Unit

__all__ = ["Department", "Task", "Unit", "unit_view"]


def unit_view(name: str, doc: str | None = None) -> property:
    """A read-only attribute of an agent that shows its engine record's (`self.unit`)."""
    return property(lambda self: getattr(self.unit, name), doc=doc)


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

    code = unit_view("code")
    street = unit_view("street")
    staff = unit_view("staff", "servers on duty")
    busy = unit_view("busy", "servers busy now")
    is_police = unit_view("is_police")
    closed = unit_view("closed", "cases this unit owned and closed")
    dissatisfied_ewma = unit_view("dissatisfied_ewma", "running share of dissatisfying closures")
    queue_length = unit_view("queue_length", "tasks waiting")

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
