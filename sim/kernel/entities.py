"""The entities of a case's life: `Problem`, `Case`, `Task` and `Unit`. They hold state and
queue discipline, no domain rule (who handles what, and how well, is decided elsewhere)."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from typing import TYPE_CHECKING, Any, Final

from .heap import EV_FINISH, EV_SHIFT_OFF, EV_SHIFT_ON, Event
from .views import UnitDecisions

if TYPE_CHECKING:
    from .calendar import Calendar

RESOLVING: Final = ("resolved", "settled_by_grid", "settled_on_spot")
OUTCOMES: Final = ("resolved", "closed_unresolved", "settled_by_grid", "settled_on_spot", "open")

# problem states
NO_CASE: Final = 0
OPEN_CASE: Final = 1
RESOLVED: Final = 2

# task kinds
MAIN: Final = 0      # the owner's handling
CO: Final = 1        # a co-handler's share (主协办 / linkage)
DUAL: Final = 2      # the police's share of a dual-dispatched case (双派)
ONSITE: Final = 3    # police on-site action on a non-police matter
VISIT: Final = 4     # a grid worker's follow-up visit
TRIAGE: Final = 5    # a platform desk triages and dispatches (分拨)
TASK_KINDS: Final = ("main", "co", "dual", "onsite", "visit", "triage")


class Problem:
    """The changing state of one problem (问题), one object so that an event about it touches
    one place in memory. Static facts (arisen when, where) are the lifecycle's `p_*` lists."""

    cat: int
    grid: int
    state: int
    case: Case | None
    ncompl: int
    ncit: int
    channel: int
    gaveup: bool

    def __init__(self, cat: int, grid: int) -> None:
        self.cat = cat            # category index
        self.grid = grid
        self.state = NO_CASE      # NO_CASE, OPEN_CASE or RESOLVED
        self.case = None          # the open case, if any
        self.ncompl = 0           # complaints so far
        self.ncit = 0             # ... of them by citizens
        self.channel = -1         # channel of the last citizen complaint
        self.gaveup = False       # the citizen gave up complaining


# Every resolved problem shares this record: nothing happens to a resolved problem any more
# (later contacts and patience events about it are no-ops), so its own record is freed.
RESOLVED_PROBLEM: Final = Problem(-1, -1)
RESOLVED_PROBLEM.state = RESOLVED


class Case:
    """The administrative record (案件) opened from a problem's first complaint.

    Times are hours from the run start; -1 means "not yet".
    """

    id: int
    pid: int
    k: int
    cat: Any
    street: int
    grid: int
    channel: int
    channel_kind: str
    opened: float
    dispatched: float
    started: float
    closed: float
    outcome: str
    unit: Unit | None
    dest: Unit | None
    agency: str
    transfers: int
    pending: int
    joint: str | None
    dual: bool
    prio: int
    visits: int
    repeat: bool
    redispatched: bool
    dissatisfied: bool
    complex: bool
    need: float
    cover: float

    def __init__(self, cid: int, pid: int, k: int, cat: Any, street: int, grid: int,
                 channel: int, channel_kind: str, opened: float) -> None:
        self.id = cid
        self.pid = pid
        self.k = k                    # category index
        self.cat = cat                # the Category
        self.street = street
        self.grid = grid
        self.channel = channel        # channel index of the opening complaint
        self.channel_kind = channel_kind
        self.opened = opened
        self.dispatched = -1.0        # first reached a department's desk
        self.started = -1.0           # handling (or on-site action) started
        self.closed = -1.0
        self.outcome = "open"
        self.unit = None              # the unit that owns (handles) the case
        self.dest = None              # the unit it is on its way to
        self.agency = ""              # set for cases settled by the grid
        self.transfers = 0
        self.pending = 0
        self.joint = None             # "main_co", "linkage" or None
        self.dual = False
        self.prio = 1
        self.visits = 0
        self.repeat = False           # opened by a repeat complaint
        self.redispatched = False
        self.dissatisfied = False
        self.complex = False          # needs the co-handlers' powers (drawn per case)
        self.need = 0.0               # staff hours the problem needs (all parts)
        self.cover = 0.0              # effort-weighted hours given towards that need


class Task(Event):
    """One piece of staff work on a case at one unit (handling, co-handling, a visit ...).
    A task is its own calendar entry (an `Event`) for when it is submitted or ends, so the
    calendar allocates nothing for it."""

    case: Case
    role: int
    hours: float
    prio: int
    queued: float
    started: float
    unit: Unit

    def __init__(self, case: Case, role: int, hours: float, prio: int, seq: int,
                 unit: Unit) -> None:
        super().__init__(0.0, seq, EV_FINISH, None)
        self.case = case
        self.role = role      # MAIN, CO, DUAL, ONSITE, VISIT or TRIAGE
        self.hours = hours    # staff hours it takes
        self.prio = prio      # 0 jumps the queue, 1 normal, 2 after the unit's own work
        self.queued = 0.0
        self.started = -1.0
        self.unit = unit

    @property
    def role_name(self) -> str:
        return TASK_KINDS[self.role]


class Unit:
    """A pool of `staff` servers with a priority-FIFO queue and working hours: one department's
    street team or district pool, the grid workers of one grid, or a dispatch desk. Waiting
    tasks start by priority, then first come first served (one FIFO queue per priority).

    A task's `hours` are working hours: outside the shift, work pauses and resumes at the next
    shift start (`w_start`/`w_end`: every shift in the run; empty for round-the-clock units).
    Keeps the integrals behind utilisation: busy staff-hours on duty and scheduled staff-hours.
    The fields after `busy_area` are what the agent of the unit declared or counts.
    """

    eng: Calendar
    code: str
    street: int
    grid: int
    spec: Any
    staff: int
    busy: int
    q_urgent: deque[Task]
    q_normal: deque[Task]
    q_low: deque[Task]
    agent: Any
    rule: UnitDecisions | None
    fixed_main: float
    fixed_co: float
    prio_main: int
    prio_co: int
    patrol_share: float
    observes: bool
    custom_resolution: bool
    router: Any
    on: bool
    always: bool
    w_start: list[float]
    w_end: list[float]
    shift_i: int
    busy_area: float
    cap_area: float
    last: float
    hours_done: float
    tasks_done: int
    is_police: bool
    response: float
    closed: int
    dissatisfied_ewma: float
    workers: float
    visit_elapsed: float
    visit_hours: float
    visits: int
    settled: int

    def __init__(self, cal: Calendar, code: str, street: int, grid: int, staff: int,
                 windows: list[tuple[float, float]] | None, spec: Any) -> None:
        self.eng = cal
        self.code = code          # department code, "grid", "platform" or "hotline"
        self.street = street      # street index; -1 = district level
        self.grid = grid          # grid index for grid workers, else -1
        self.spec = spec
        self.staff = staff
        self.busy = 0
        self.q_urgent = deque()   # priority 0, first in first out
        self.q_normal = deque()   # priority 1
        self.q_low = deque()      # priority 2: after the unit's own work
        self.agent = None         # who decides: its agent, or the agent's compiled rule
        self.rule = None          # that compiled rule, called directly, or None
        # what the agent declared once (see Department.fixed_effort): -1 = ask per task
        self.fixed_main = -1.0
        self.fixed_co = -1.0
        self.prio_main = -1       # priority of a non-urgent task, or -1 = ask per task
        self.prio_co = -1
        self.patrol_share = 1.0   # grid workers: today's patrol hours / full patrol hours
        self.observes = True      # call agent.observe_closure on each closure
        self.custom_resolution = True   # call agent.p_true_resolution
        # a dispatch desk: where its triaged cases go, when its platform agent declared that
        # (DispatchPlatform.dispatch); None = ask the agent per case
        self.router = None
        self.always = windows is None
        self.on = windows is None
        self.w_start = [w[0] for w in windows] if windows is not None else []
        self.w_end = [w[1] for w in windows] if windows is not None else []
        self.shift_i = 0
        self.busy_area = 0.0   # staff-hours busy
        self.cap_area = 0.0    # staff-hours on duty
        self.last = 0.0
        self.hours_done = 0.0  # staff hours of finished tasks
        self.tasks_done = 0
        self.is_police = False
        self.response = 0.0
        self.closed = 0
        self.dissatisfied_ewma = 0.0   # running share of dissatisfying closures (three rates)
        self.workers = 0.0
        self.visit_elapsed = math.inf
        self.visit_hours = 0.0
        self.visits = 0
        self.settled = 0

    def __repr__(self) -> str:
        if self.grid >= 0:
            return f"Unit(grid {self.grid})"
        return f"Unit({self.code}, street={self.street})"

    def _acc(self, t: float) -> None:
        dt = t - self.last
        if dt > 0:
            if self.on:
                self.busy_area += self.busy * dt
                self.cap_area += self.staff * dt
            self.last = t

    # ------------------------------------------------------------------ its decider
    def effort(self, case: Case, role: int, fixed: float) -> float:
        """The effort for a task of `role`: `fixed` when the agent declared one (>= 0), else
        its compiled rule's (a direct call) or its agent's answer."""
        if fixed >= 0.0:
            return fixed
        rule = self.rule
        if rule is not None:
            return rule.effort(case, role)
        e: float = self.agent.effort(case, role)
        return e

    def priority(self, case: Case, role: int, fixed: int) -> int:
        """The queue priority for a task of `role`: `fixed` when declared (>= 0; an urgent
        case stays urgent), else the compiled rule's or the agent's answer."""
        if fixed >= 0:
            return 0 if case.prio == 0 else fixed
        rule = self.rule
        if rule is not None:
            return rule.priority(case, role)
        p: int = self.agent.priority(case, role)
        return p

    def submit(self, task: Task) -> None:
        """Put a task in the queue, or start it at once if staff are free and on duty."""
        t = self.eng.now
        task.queued = t
        if self.on and self.busy < self.staff:
            self._start(task, t)
        elif task.prio == 0:
            self.q_urgent.append(task)
        elif task.prio == 1:
            self.q_normal.append(task)
        else:
            self.q_low.append(task)

    def _start(self, task: Task, t: float) -> None:
        self._acc(t)
        self.busy += 1
        task.started = t
        end = t + task.hours if self.always else self.work_end(t, task.hours)
        self.eng.sched_task(task, end, EV_FINISH)

    def work_end(self, t: float, hours: float) -> float:
        """When `hours` of work started at `t` end, counting only shift time."""
        starts = self.w_start
        ends = self.w_end
        n = len(starts)
        i = bisect_right(starts, t) - 1
        if i < 0 or t >= ends[i]:
            i += 1
            if i >= n:
                return t + hours
            t = starts[i]
        while True:
            avail = ends[i] - t
            if hours <= avail:
                return t + hours
            hours -= avail
            i += 1
            if i >= n:
                return ends[i - 1] + hours
            t = starts[i]

    def finish(self, task: Task) -> None:
        t = self.eng.now
        self._acc(t)
        self.busy -= 1
        self.hours_done += task.hours
        self.tasks_done += 1
        self._fill(t)
        self.eng.task_done(task, self)

    def _fill(self, t: float) -> None:
        while self.on and self.busy < self.staff:
            if self.q_urgent:
                self._start(self.q_urgent.popleft(), t)
            elif self.q_normal:
                self._start(self.q_normal.popleft(), t)
            elif self.q_low:
                self._start(self.q_low.popleft(), t)
            else:
                break

    def shift_on(self) -> None:
        """A shift starts (each shift event schedules the next)."""
        now = self.eng.now
        self._acc(now)
        self.on = True
        self.eng.sched(self.w_end[self.shift_i], EV_SHIFT_OFF, self)
        self._fill(now)

    def shift_off(self) -> None:
        self._acc(self.eng.now)
        self.on = False
        self.shift_i += 1
        if self.shift_i < len(self.w_start):
            self.eng.sched(self.w_start[self.shift_i], EV_SHIFT_ON, self)

    def add_staff(self, n: int) -> None:
        """Change the staff on duty (campaigns); busy staff finish their task."""
        self._acc(self.eng.now)
        self.staff += n
        self._fill(self.eng.now)

    @property
    def queue_length(self) -> int:
        """Tasks waiting."""
        return len(self.q_urgent) + len(self.q_normal) + len(self.q_low)

    @property
    def queue(self) -> list[Task]:
        """The waiting tasks in the order they will start."""
        return list(self.q_urgent) + list(self.q_normal) + list(self.q_low)
