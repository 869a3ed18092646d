"""Grid workers (网格员): patrol their grid, report, mediate, and follow up handed-back cases."""

from __future__ import annotations

import math

from .department import ServiceUnit


class GridWorker(ServiceUnit):
    """The grid workers of one grid, as one agent with `workers` servers for follow-up visits.

    Workers spend `followup_hours_per_day` of each day on follow-ups, so one visit of
    `visit_hours` occupies a worker for `visit_hours * 24 / followup_hours_per_day` hours of
    elapsed time: capacity is limited and visits queue. Extra forces (四员一律, market-based
    forces) add fractional worker-equivalents. Patrol detection is drawn in bulk by the model
    from the same parameters (see `GovernanceModel._contacts`).
    """

    def __init__(self, model, grid: int, street: int, spec):
        workers = spec.per_grid + spec.extra_forces_per_grid
        servers = max(1, math.ceil(workers)) if workers > 0 else 0
        super().__init__(model, servers)
        self.grid = grid
        self.street = street
        self.workers = workers
        frac = servers / workers if workers > 0 else 1.0
        day_share = spec.followup_hours_per_day / 24.0
        # elapsed hours per visit (inf if no time is set aside for follow-ups)
        self.visit_elapsed = spec.visit_hours / day_share * frac if day_share > 0 else math.inf
        self.visit_hours = spec.visit_hours
        self.visits = 0
        self.settled = 0
