"""Grid workers (网格员): split each day between patrol, follow-up visits and mediation.

The engine calls the grid's worker agent:
- `plan_day()` at every midnight: the workers plan the follow-up hours the visits already
  waiting need, plus an allowance (`followup_hours_per_day`) for visits that arrive during
  the day; yesterday's mediation time (casework too) comes out of that allowance first (down
  to `min_allowance_share` of it), and the plan takes at most what `min_patrol_hours` leaves
  of `workday_hours`. Patrol gets the rest, at most `patrol_hours_per_day`. Visits' elapsed
  time and the day's patrol share follow from the plan, so the split moves with the day's
  follow-ups and mediations (`followup_hours_sd`);
- `patrols_now()` when a patrol would detect a problem on a day whose plan cut patrol time
  (`unit.patrol_share` < 1): detections are drawn at the full patrol rate and thinned by the
  share of patrol time the day kept (so a worker buried in follow-ups detects less);
- `mediate(k)` when a patrol finds a problem: settle it on the spot (with the category's
  `p_grid_settle`) if the day has mediation time left, else report it;
- `visit_done()`: a follow-up visit's time is booked.
"""

from __future__ import annotations

from pydantic import Field

from .._mesa import mesa
from ..engine import Unit
from ..streams import Uniforms
from .department import unit_view
from .registry import GRID_WORKERS, Params


@GRID_WORKERS.register
class GridWorker(mesa.Agent):
    """The grid workers of one grid, as one agent with ⌈workers⌉ servers for follow-up visits.

    Behaviour `default`: the day plan described in the module docstring.
    """

    name = "default"

    class Params(Params):
        min_allowance_share: float = Field(0.25, gt=0, le=1, description="share of the "
                                           "follow-up allowance kept for visits arriving "
                                           "during the day, whatever yesterday's mediation "
                                           "took from it")

    def __init__(self, model, unit: Unit, params: dict | None = None):
        super().__init__(model)
        self.unit = unit
        unit.agent = self
        self.params = self.Params(**(params or {}))
        gw = model.scenario.grid_workers
        self.workday = float(gw.workday_hours)
        self.patrol_max = float(gw.patrol_hours_per_day)
        self.min_patrol = min(float(gw.min_patrol_hours), self.patrol_max)
        self.followup_min = float(gw.followup_hours_per_day)
        self.visit_hours = float(gw.visit_hours)
        self.mediation_hours = float(gw.mediation_hours)
        self.patrol_share = 1.0      # today's patrol hours / patrol_hours_per_day
        self.patrol_hours = self.patrol_max
        self.followup_hours = self.followup_min
        self.mediated_today = 0.0    # worker-hours of mediation booked today (tries included)
        self.visit_hours_today = 0.0  # worker-hours of follow-up visits ended today
        self.u: Uniforms | None = None
        self._idle = False           # the last plan was for a day with nothing to follow up
        self._allowance_floor = self.followup_min * self.params.min_allowance_share
        # planned follow-up hours per worker over grid-days after warm-up (followup_hours_sd)
        self.days_n = 0
        self.followup_sum = 0.0
        self.followup_sq = 0.0

    grid = unit_view("grid")
    street = unit_view("street")
    workers = unit_view("workers", "worker-equivalents")
    staff = unit_view("staff", "servers for follow-up visits")
    busy = unit_view("busy")
    visits = unit_view("visits", "follow-up visits made")
    settled = unit_view("settled", "handed-back cases settled")
    queue_length = unit_view("queue_length", "visits waiting")

    def plan_day(self) -> None:
        """Split tomorrow's workday (per worker) between follow-ups, mediation and patrol."""
        u = self.unit
        w = u.workers
        if w <= 0:
            return
        waiting = u.queue_length + u.busy
        mediated = self.mediated_today
        eng = u.eng
        if eng.now >= eng.warmup:    # the day being planned is counted
            self.days_n += 1
        if waiting == 0 and mediated == 0.0:
            if self._idle:       # the same inputs as yesterday: the same plan
                self.visit_hours_today = 0.0
                self._count(self.followup_hours, eng)
                return
            self._idle = True
        else:
            self._idle = False
        # (called for every grid every midnight: comparisons rather than min/max calls)
        visit_hours = self.visit_hours
        fmin = self.followup_min
        backlog = waiting * visit_hours / w   # hours per worker
        mediation = mediated / w
        allowance = fmin - mediation      # casework allowance left after yesterday's mediation
        if allowance < self._allowance_floor:
            allowance = self._allowance_floor
        room = self.workday - self.min_patrol - mediation        # max(allowance, ...)
        if not room > allowance:
            room = allowance
        followup = backlog + allowance                           # min(room, ...)
        if not followup < room:
            followup = room
        self.followup_hours = followup
        self._count(followup, eng)
        u.visit_elapsed = visit_hours * 24.0 / followup * (u.staff / w) \
            if followup > 0 else float("inf")
        used = backlog if backlog < followup else followup       # min(followup, backlog)
        patrol = self.workday - used - mediation                 # max(min_patrol, ...)
        if not patrol > self.min_patrol:
            patrol = self.min_patrol
        patrol_max = self.patrol_max                             # min(patrol_max, ...)
        if patrol < patrol_max:
            self.patrol_hours = patrol
        else:
            self.patrol_hours = patrol = patrol_max
        self.patrol_share = share = patrol / patrol_max if patrol_max > 0 else 0.0
        u.patrol_share = share
        self.mediated_today = 0.0
        self.visit_hours_today = 0.0

    def _count(self, followup: float, eng) -> None:
        if eng.now >= eng.warmup:
            self.followup_sum += followup
            self.followup_sq += followup * followup

    def patrols_now(self) -> bool:
        """Whether a detection drawn at the full patrol rate happens (thinning by today's
        patrol share)."""
        s = self.patrol_share
        if s >= 1.0:
            return True
        assert self.u is not None
        return self.u() < s

    def mediate(self, p_settle: float) -> bool:
        """A patrol found a problem: settle it on the spot if there is time and it works."""
        if p_settle <= 0:
            return False
        w = self.unit.workers
        booked = self.mediated_today + self.mediation_hours
        if w <= 0 or booked / w > self.workday - self.min_patrol:
            return False
        self.mediated_today = booked
        return self.u() < p_settle   # type: ignore[misc]  (set by the model)

    def visit_done(self) -> None:
        """A follow-up visit ended: its time is booked against the day."""
        self.visit_hours_today += self.visit_hours
