"""Departments (职能部门): street enforcement teams and district pools that handle cases.

A department decides two things about every task that reaches it, and the engine (the queue,
the calendar) does the rest:
- `priority(case, role)`: where the task joins its queue (urgent, normal, or behind its own
  work);
- `effort(case, role)`: how many staff hours it gives the task, relative to what the case
  needs (1 = what the case needs). Effort is chosen against the department's assessment
  (`Incentives`) under its current pressure, so the same assessment acts differently on a
  swamped and an idle department.
What effort buys is `p_true_resolution`: a handling that covers a share `c` of the work the
problem needs resolves it with probability 1 - (1 - p_resolve) ** c (each needed unit of work
an independent try; `p_resolve` is the category's chance at full effort, c = 1).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from .._mesa import mesa
from ..engine import CO, MAIN, Task, Unit
from .fastpath import keeps_rule, require_declared
from .registry import DEPARTMENTS, Params
from .rules import DepartmentRule

__all__ = ["Department", "Task", "Unit", "rule_view", "unit_view"]


def unit_view(name: str, doc: str | None = None) -> property:
    """A read-only attribute of an agent that shows its engine record's (`self.unit`)."""
    return property(lambda self: getattr(self.unit, name), doc=doc)


def rule_view(name: str, doc: str | None = None) -> property:
    """An attribute of an agent that is its compiled rule's (`self.rule`), read and written
    through (a subclass that decides itself may keep using it)."""
    return property(lambda self: getattr(self.rule, name),
                    lambda self, value: setattr(self.rule, name, value), doc=doc)


@DEPARTMENTS.register
class Department(mesa.Agent):
    """One department's unit: a street team (派驻/街道执法队伍) or a district-level pool.

    Its staff are `staff` servers with a priority queue who work during their shifts; the queue
    and its bookkeeping are the engine's `Unit` (`self.unit`, compiled), which calls this
    agent's decision methods. `code` is the department's key in the scenario, `street` the
    street index (-1 = district).

    Behaviour `default` (parameters under `agents.department.params`):
    - pressure = expected wait of a new task (queued tasks x mean task hours / staff) over the
      case's time limit;
    - whatever the assessment, a pressed department works faster: effort = 1 - load_cut * p /
      (p + pressure_half) (workers shorten service under load: KC & Terwiesch 2009);
    - assessed on closure speed with weight w: effort falls by a further w * max_speed_cut *
      p / (p + pressure_half) at pressure p (no pressure, no cut), and a task that would wait
      beyond its time limit anyway (p >= 1) waits behind those that can still close on time
      (priority 2: the target protects the cases that still count);
    - assessed on satisfaction at call-backs: effort rises by satisfaction_gain * w * (running
      share of dissatisfied call-backs - (1 - target)) when positive;
    - assessed on counted repeats: effort rises by repeat_gain * w * (running share of its cases
      that are repeats), and repeat cases jump the queue when the policy says so;
    - a co-handler's share of a joint case: when the street does not score co-handling
      (no `street_holds_assessment`), the task waits behind the department's own work and
      gets `co_effort_unassessed`.
    Effort stays within [min_effort, max_effort].
    """

    name = "default"

    #: the fast path, declared (sim/agents/fastpath.py). A subclass that overrides the method
    #: named must set the attribute to True, else defining the class raises `TypeError`:
    #: `priority`: True = the engine asks `priority` for every task; False = the default
    #: rule, whose priority is fixed per role unless the incentives make it vary
    #: (`fixed_priority`)
    priority_varies: ClassVar[bool] = False
    #: `observe_closure`: True = the engine tells the agent of every closure; False = only
    #: when call-backs weigh (`callback_share` > 0)
    observes_closures: ClassVar[bool] = False
    #: `p_true_resolution`: True = the engine asks the agent; False = the category's
    #: `p_resolve` at the handling's coverage (`resolution_probability`)
    decides_resolution: ClassVar[bool] = False
    #: the engine takes this class's decisions from the compiled default rule
    #: (`DepartmentRule`, sim/agents/rules.py); set to False when the class is defined if it
    #: overrides one of `RULE_METHODS` (then the engine asks the agent's own methods)
    compiled_rule: ClassVar[bool] = True
    RULE_METHODS: ClassVar[tuple[str, ...]] = ("effort", "priority", "pressure",
                                               "p_true_resolution", "observe_closure")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.compiled_rule = keeps_rule(cls, cls.RULE_METHODS)
        require_declared(cls, {"priority": ("priority_varies", True),
                               "observe_closure": ("observes_closures", True),
                               "p_true_resolution": ("decides_resolution", True)})

    class Params(Params):
        max_speed_cut: float = Field(0.5, ge=0, le=1, description="share of a case's needed "
                                     "hours a fully speed-assessed department drops at high "
                                     "pressure")
        pressure_half: float = Field(0.5, gt=0, description="pressure (expected wait / time "
                                     "limit) at which half of that cut applies")
        satisfaction_gain: float = Field(2.0, ge=0, description="extra effort per unit of "
                                         "called-back dissatisfaction above target")
        repeat_gain: float = Field(1.0, ge=0, description="extra effort per unit of the running "
                                   "share of repeat cases, when repeats are counted")
        co_effort_unassessed: float = Field(0.6, ge=0, le=1.5, description="effort on a joint "
                                            "case's co-handling share when the street does not "
                                            "score it")
        load_cut: float = Field(0.2, ge=0, le=1, description="share of a case's needed hours "
                                "any department drops at high pressure, whatever it is "
                                "assessed on (workers speed up under load)")
        min_effort: float = Field(0.3, gt=0, le=1, description="lowest effort")
        max_effort: float = Field(1.5, ge=1, description="highest effort")
        memory: float = Field(0.02, gt=0, le=1, description="weight of the newest observation "
                              "in the running shares (dissatisfaction, repeats)")

    def __init__(self, model, unit: Unit, params: dict | None = None, incentives=None):
        super().__init__(model)
        self.unit = unit
        self.params = self.Params(**(params or {}))
        self.incentives = incentives if incentives is not None else model.incentives
        p, inc = self.params, self.incentives
        self._speed = inc.speed > 0
        # the default rule's state and arithmetic (compiled; see sim/agents/rules.py)
        self.rule = DepartmentRule(
            unit, float(unit.eng.warmup), min(1.0, inc.speed) * p.max_speed_cut + p.load_cut,
            self._speed, p.pressure_half, p.co_effort_unassessed, p.min_effort, p.max_effort,
            p.memory, p.satisfaction_gain * inc.satisfaction, 1.0 - inc.satisfaction_target,
            p.repeat_gain * inc.repeats, p.memory * inc.callback_share,
            bool(inc.street_assesses), bool(inc.repeat_priority))
        if not self.compiled_rule:   # a subclass's methods decide; the rule uses its pressure
            self.rule.pressure_of = self.pressure
        #: what the engine asks (its unit's `agent`): the compiled rule, or this agent
        self.decider = self.rule if self.compiled_rule else self
        unit.agent = self.decider
        unit.rule = self.rule if self.compiled_rule else None   # called directly by the kernel
        # declared once to the engine, so it need not ask per task (what a class declares:
        # `priority_varies`, `observes_closures`, `decides_resolution`)
        unit.fixed_main = self.fixed_effort(MAIN)
        unit.fixed_co = self.fixed_effort(CO)
        unit.prio_main = self.fixed_priority(MAIN)
        unit.prio_co = self.fixed_priority(CO)
        unit.observes = self.observes_closures or self.rule.obs_weight > 0
        unit.custom_resolution = self.decides_resolution

    code = unit_view("code")
    street = unit_view("street")
    staff = unit_view("staff", "servers on duty")
    busy = unit_view("busy", "servers busy now")
    is_police = unit_view("is_police")
    closed = unit_view("closed", "cases this unit owned and closed")
    dissatisfied_ewma = unit_view("dissatisfied_ewma", "running share of dissatisfied "
                                  "call-backs")
    queue_length = unit_view("queue_length", "tasks waiting")

    # ------------------------------------------------------------------ decisions
    def fixed_effort(self, role: int) -> float:
        """The effort this department gives every task of `role` whatever the case and its
        load, or -1 when it decides task by task (the engine then calls `effort`). The default
        rule always decides task by task: its effort is recorded per task (`effort_mean`,
        `effort_sd`)."""
        return -1.0

    def pressure(self, case) -> float:
        """Expected wait of a task joining the queue now, over the case's time limit."""
        return self.rule.pressure(case)

    def fixed_priority(self, role: int) -> int:
        """The queue priority of every non-urgent task of `role` (urgent cases stay urgent), or
        -1 when it decides task by task (the engine then calls `priority`): always when the
        class declares `priority_varies`."""
        if self.priority_varies or self.incentives.repeat_priority or self._speed:
            return -1
        return 2 if role == CO and not self.incentives.street_assesses else 1

    def effort(self, case, role: int) -> float:
        """Staff hours given to this task relative to what the case needs (the class
        docstring's rule; tasks handled after warm-up are counted in `effort_mean`)."""
        return self.rule.effort(case, role)

    def priority(self, case, role: int) -> int:
        """0 = jumps the queue, 1 = normal, 2 = after the department's own work."""
        return self.rule.priority(case, role)

    def p_true_resolution(self, case, coverage: float) -> float:
        """Chance that a handling covering `coverage` of the needed work resolves the problem:
        `resolution_probability(p_resolve, coverage)`."""
        return self.rule.p_true_resolution(case, coverage)

    def observe_closure(self, case) -> None:
        """A closure of this unit's case; a share `callback_share` is called back (回访), and
        the department keeps a running share of the dissatisfied among them."""
        self.rule.observe_closure(case)

    # ------------------------------------------------------------------ what it keeps
    repeat_share = rule_view("repeat_share", "running share of its handled cases that are "
                             "repeats")
    effort_n = rule_view("effort_n", "tasks given an effort by the default rule after warm-up")
    effort_sum = rule_view("effort_sum", "... their efforts summed")
    effort_sq = rule_view("effort_sq", "... and their squares summed")

    # ------------------------------------------------------------------ views
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
