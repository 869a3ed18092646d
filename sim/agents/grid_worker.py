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

from typing import ClassVar

from pydantic import Field

from .._mesa import mesa
from ..engine import Unit
from .department import rule_view, unit_view
from .fastpath import keeps_rule
from .registry import GRID_WORKERS, Params
from .rules import GridWorkerRule


@GRID_WORKERS.register
class GridWorker(mesa.Agent):
    """The grid workers of one grid, as one agent with ⌈workers⌉ servers for follow-up visits.

    Behaviour `default`: the day plan described in the module docstring.
    """

    name = "default"

    #: the engine takes this class's decisions from the compiled default rule
    #: (`GridWorkerRule`, sim/agents/rules.py); set to False when the class is defined if it
    #: overrides one of `RULE_METHODS` (then the engine asks the agent's own methods)
    compiled_rule: ClassVar[bool] = True
    RULE_METHODS: ClassVar[tuple[str, ...]] = ("plan_day", "patrols_now", "mediate",
                                               "visit_done")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.compiled_rule = keeps_rule(cls, cls.RULE_METHODS)

    class Params(Params):
        min_allowance_share: float = Field(0.25, gt=0, le=1, description="share of the "
                                           "follow-up allowance kept for visits arriving "
                                           "during the day, whatever yesterday's mediation "
                                           "took from it")

    def __init__(self, model, unit: Unit, params: dict | None = None):
        super().__init__(model)
        self.unit = unit
        self.params = self.Params(**(params or {}))
        gw = model.scenario.grid_workers
        patrol_max = float(gw.patrol_hours_per_day)
        followup_min = float(gw.followup_hours_per_day)
        # the default rule's state and arithmetic (compiled; see sim/agents/rules.py)
        self.rule = GridWorkerRule(
            unit, float(unit.eng.warmup), float(gw.workday_hours), patrol_max,
            min(float(gw.min_patrol_hours), patrol_max), followup_min, float(gw.visit_hours),
            float(gw.mediation_hours), followup_min * self.params.min_allowance_share)
        #: what the engine asks: the compiled rule, or this agent (a subclass's methods)
        self.decider = self.rule if self.compiled_rule else self
        unit.agent = self.decider

    # what the default rule keeps (read and written through to `self.rule`)
    workday = rule_view("workday", "hours per worker per day")
    patrol_max = rule_view("patrol_max", "patrol hours per worker per day, at most")
    min_patrol = rule_view("min_patrol", "patrol hours per worker per day, at least")
    followup_min = rule_view("followup_min", "follow-up allowance, hours per worker per day")
    visit_hours = rule_view("visit_hours", "worker-hours per follow-up visit")
    mediation_hours = rule_view("mediation_hours", "worker-hours per mediation on the spot")
    patrol_share = rule_view("patrol_share", "today's patrol hours / patrol_hours_per_day")
    patrol_hours = rule_view("patrol_hours", "today's patrol hours per worker")
    followup_hours = rule_view("followup_hours", "today's planned follow-up hours per worker")
    mediated_today = rule_view("mediated_today", "worker-hours of mediation booked today")
    visit_hours_today = rule_view("visit_hours_today", "worker-hours of visits ended today")
    days_n = rule_view("days_n", "grid-days planned after warm-up")
    followup_sum = rule_view("followup_sum", "planned follow-up hours, summed over them")
    followup_sq = rule_view("followup_sq", "... and their squares")
    u = rule_view("u", "the grid workers' random numbers (set by the model)")

    grid = unit_view("grid")
    street = unit_view("street")
    workers = unit_view("workers", "worker-equivalents")
    staff = unit_view("staff", "servers for follow-up visits")
    busy = unit_view("busy")
    visits = unit_view("visits", "follow-up visits made")
    settled = unit_view("settled", "handed-back cases settled")
    queue_length = unit_view("queue_length", "visits waiting")

    def plan_day(self) -> None:
        """Split tomorrow's workday (per worker) between follow-ups, mediation and patrol (the
        module docstring's plan; planned follow-up hours after warm-up are counted in
        `followup_hours_sd`)."""
        self.rule.plan_day()

    def patrols_now(self) -> bool:
        """Whether a detection drawn at the full patrol rate happens (thinning by today's
        patrol share)."""
        return self.rule.patrols_now()

    def mediate(self, p_settle: float) -> bool:
        """A patrol found a problem: settle it on the spot if there is time and it works."""
        return self.rule.mediate(p_settle)

    def visit_done(self) -> None:
        """A follow-up visit ended: its time is booked against the day."""
        self.rule.visit_done()
