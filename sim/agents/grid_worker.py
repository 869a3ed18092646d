"""Grid workers (网格员): patrol their grid, report, mediate, and follow up handed-back cases."""

from __future__ import annotations

from .._mesa import mesa
from ..engine import Unit
from .department import unit_view


class GridWorker(mesa.Agent):
    """The grid workers of one grid, as one agent with ⌈workers⌉ servers for follow-up visits.

    Workers spend `followup_hours_per_day` of each day on follow-ups, so one visit of
    `visit_hours` occupies a worker for `visit_hours * 24 / followup_hours_per_day` hours of
    elapsed time: capacity is limited and visits queue (the engine's `Unit`, `self.unit`).
    Extra forces (四员一律, market-based forces) add fractional worker-equivalents. Patrol
    detection is drawn in bulk (`world.problems`) from the same parameters; settling on the
    spot and follow-up outcomes are the engine's `_contact` and `_visit_done`.
    """

    def __init__(self, model, unit: Unit):
        super().__init__(model)
        self.unit = unit

    grid = unit_view("grid")
    street = unit_view("street")
    workers = unit_view("workers", "worker-equivalents")
    staff = unit_view("staff", "servers for follow-up visits")
    busy = unit_view("busy")
    visits = unit_view("visits", "follow-up visits made")
    settled = unit_view("settled", "handed-back cases settled")
    queue_length = unit_view("queue_length", "visits waiting")
