"""Grid workers (网格员): patrol their grid, report, mediate, and follow up handed-back cases."""

from __future__ import annotations

import mesa

from ..engine import Unit


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

    grid = property(lambda self: self.unit.grid)
    street = property(lambda self: self.unit.street)
    workers = property(lambda self: self.unit.workers, doc="worker-equivalents")
    staff = property(lambda self: self.unit.staff, doc="servers for follow-up visits")
    busy = property(lambda self: self.unit.busy)
    visits = property(lambda self: self.unit.visits, doc="follow-up visits made")
    settled = property(lambda self: self.unit.settled, doc="handed-back cases settled")

    @property
    def queue_length(self) -> int:
        return self.unit.queue_length
