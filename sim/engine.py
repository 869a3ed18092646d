"""The engine: the event calendar, the department queues and a case's life from complaint to
closure. This module is compiled with mypyc when cogov is installed (see `setup.py`); the same
source runs as plain Python where no compiler is available (`sim.engine_info`).

Follow one problem through the engine:
1. `sim.world.problems` draws every problem of the run in bulk (Poisson by grid, category and
   land use) and, per problem, when a citizen first reports it and when a patrol detects it.
2. `_contact` turns a report or detection into a `complaint`; the first complaint with no open
   case opens a `Case` (`open_case`), which the routing policy sends to a unit.
3. `_arrive`: the unit owns the case (`_handle`: main task, co-handlers, dual dispatch), acts on
   site (police, non-police list), or passes it on (a transfer).
4. `Unit`s queue and work `Task`s in their shifts; `task_done` closes the case with an outcome,
   or hands it back to the grid (`_visit`) for follow-up.
5. `close` resolves the problem or leaves it open; citizens whose patience runs out
   (`_patience_expired`) complain again: repeat complaints.

Why a calendar of our own: Mesa 3.3's DEVS simulator runs ~360k trivial events/s and holds
callbacks by weak reference; a district-year needs millions of events within seconds. The
calendar is a heap of `Event`s (time, seq, kind, argument) with constant-delay FIFO lanes and
day buckets for far-ahead events, merged with the pre-sorted bulk arrival arrays; `kind` is a
small integer dispatched in `_fire`, so an event costs no Python-level call when compiled.

Everything here is typed for mypyc: the classes are compiled to C structs (attribute access is a
field load). The Mesa model (`sim.model`) and agents (`sim.agents`) wrap these objects.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from typing import Any, Final

from .streams import Sampler, Uniforms

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

# event kinds
EV_CALL: Final = 0         # arg: (callable, argument), a Python callback
EV_FINISH: Final = 1       # the event is the Task that ends
EV_ARRIVE: Final = 2       # arg: Case (its unit-to-be in case.dest)
EV_SUBMIT: Final = 3       # the event is the Task to queue at task.unit
EV_CONTACT: Final = 4      # a citizen reports: ev.pid, ev.ch
EV_PATIENCE: Final = 5     # a citizen's patience runs out: ev.pid
EV_PATROL: Final = 12      # a patrol detects: ev.pid, ev.ch
EV_VISIT: Final = 6        # arg: Case
EV_SHIFT_ON: Final = 8     # arg: Unit
EV_SHIFT_OFF: Final = 9    # arg: Unit
EV_WARM: Final = 10        # arg: None
EV_CAMPAIGN: Final = 11    # arg: (campaign index, starts)
EV_DAY: Final = 13         # midnight: grid workers plan the day


def resolution_probability(p_resolve: float, coverage: float) -> float:
    """Chance that a handling covering `coverage` of the work a problem needs (1 = all of it)
    truly resolves it, when full coverage resolves it with `p_resolve`: each needed unit of
    work an independent try, 1 - (1 - p_resolve) ** coverage."""
    if coverage <= 0.0:
        return 0.0
    return 1.0 - (1.0 - p_resolve) ** coverage


class Event:
    """A calendar entry: at time `t` (hours), do `kind` with `arg`. `seq` breaks ties (the
    order of scheduling); `lane` is the FIFO lane it came through, if any (see `sched_after`).
    A native object rather than a tuple, so the heap compares two unboxed fields."""

    t: float
    seq: int
    kind: int
    arg: Any
    lane: Any
    pid: int
    ch: int

    def __init__(self, t: float, seq: int, kind: int, arg: Any) -> None:
        self.t = t
        self.seq = seq
        self.kind = kind
        self.arg = arg
        self.lane = None
        self.pid = -1    # the problem, for events about one (no argument object needed)
        self.ch = -1     # its channel

    def __repr__(self) -> str:
        return f"Event(t={self.t}, seq={self.seq}, kind={self.kind})"


def _hpush(heap: list[Event], item: Event) -> None:
    """Push onto a 4-ary heap ordered by (t, seq), compared as C doubles and ints when
    compiled. Every entry's seq is unique, so the order of pops is the one total order of
    the keys whatever the heap's shape (4 children a node: half the levels of a binary heap)."""
    heap.append(item)
    pos = len(heap) - 1
    t = item.t
    while pos > 0:
        parent = (pos - 1) >> 2
        p = heap[parent]
        pt = p.t
        if t < pt or (t == pt and item.seq < p.seq):
            heap[pos] = p
            pos = parent
        else:
            break
    heap[pos] = item


def _hpop(heap: list[Event]) -> Event:
    """Pop the smallest (t, seq) of a `_hpush` heap. (Sequence numbers are read only on equal
    times: compiled, every int local costs tagged-integer bookkeeping.)"""
    last = heap.pop()
    if not heap:
        return last
    top = heap[0]
    n = len(heap)
    t = last.t
    pos = 0
    child = 1
    while child < n:
        # the smallest of the (up to 4) children
        best = child
        c = heap[child]
        ct = c.t
        end = child + 4
        if end > n:
            end = n
        for j in range(child + 1, end):
            r = heap[j]
            rt = r.t
            if rt < ct or (rt == ct and r.seq < c.seq):
                c = r
                ct = rt
                best = j
        if ct < t or (ct == t and c.seq < last.seq):
            heap[pos] = c
            pos = best
            child = 4 * pos + 1
        else:
            break
    heap[pos] = last
    return top


# A far event (see `Engine.sched_far`) is packed into one int: problem, kind, channel + 1.
_FAR_CH_BITS: Final = 8
_FAR_CH_MASK: Final = (1 << _FAR_CH_BITS) - 1
_FAR_KIND_BITS: Final = 4
_FAR_KIND_MASK: Final = (1 << _FAR_KIND_BITS) - 1


def _far_pack(kind: int, pid: int, ch: int) -> int:
    return (((pid << _FAR_KIND_BITS) | kind) << _FAR_CH_BITS) | (ch + 1)


class FarBucket:
    """One day's far-ahead events, in scheduling order: times and packed codes."""

    t: list[float]
    code: list[int]

    def __init__(self) -> None:
        self.t = []
        self.code = []


class Problem:
    """The changing state of one problem (问题), one object so that an event about it touches
    one place in memory. Static facts (arisen when, parent) are the engine's `p_*` lists."""

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
_RESOLVED: Final = Problem(-1, -1)
_RESOLVED.state = RESOLVED


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
        self.role = role      # MAIN, CO, DUAL, ONSITE or VISIT
        self.hours = hours    # staff hours it takes
        self.prio = prio      # 0 jumps the queue, 1 normal
        self.queued = 0.0
        self.started = -1.0
        self.unit = unit

    @property
    def role_name(self) -> str:
        return TASK_KINDS[self.role]


class Unit:
    """A pool of `staff` servers with a priority-FIFO queue and working hours: one department's
    street team or district pool, or the grid workers of one grid. Waiting tasks start by
    priority, then first come first served (two FIFO queues).

    A task's `hours` are working hours: outside the shift, work pauses and resumes at the next
    shift start (`w_start`/`w_end`: every shift in the run; empty for round-the-clock units).
    Keeps the integrals behind utilisation: busy staff-hours on duty and scheduled staff-hours.
    """

    eng: Engine
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

    def __init__(self, eng: Engine, code: str, street: int, grid: int, staff: int,
                 windows: list[tuple[float, float]] | None, spec: Any) -> None:
        self.eng = eng
        self.code = code          # department code, or "grid"
        self.street = street      # street index; -1 = district level
        self.grid = grid          # grid index for grid workers, else -1
        self.spec = spec
        self.staff = staff
        self.busy = 0
        self.q_urgent = deque()   # priority 0, first in first out
        self.q_normal = deque()   # priority 1
        self.q_low = deque()      # priority 2: after the unit's own work
        self.agent = None         # the Mesa agent whose decisions this unit follows
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


class Engine:
    """The case-lifecycle engine of one scenario and one seed. Time is in hours from
    `run.start_date` 00:00. Built by `sim.model.GovernanceModel`, which owns the Mesa side."""

    scenario: Any
    seed: int
    streams: dict[str, Any]
    layout: Any
    now: float
    horizon: float
    warmup: float
    events: int
    _heap: list[Event]
    _far_days: dict[int, FarBucket]
    _far_t: list[float]
    _far_code: list[int]
    _far_i: int
    _far_day: int
    _lanes: dict[float, Any]
    _seq: int
    _a_t: list[float]
    _a_pid: list[int]
    _a_ch: list[int]
    _a_cit: list[bool]
    _a_i: int
    n_streets: int
    cat_codes: list[str]
    cats: list[Any]
    cat_index: dict[str, int]
    channel_codes: list[str]
    channel_kinds: list[str]
    citizen_channels: list[int]
    patrol_channel: int
    units: dict[tuple[str, int], Unit]
    dept_level: dict[str, str]
    owner_units: list[list[Unit]]
    others: dict[str, list[str]]
    police_code: str | None
    platforms: dict[int, Any]
    grid_street: list[int]
    grid_workers: list[Unit]
    citizen_complaints: list[int]
    effects: Any
    routing: Any
    main_co_on: bool
    joint_possible: list[bool]
    dual: list[bool]
    deadline: list[float]
    handback_on: list[bool]
    # per category, copied from the scenario for the hot path
    _p_rep: list[float]
    _cdf_rows: list[list[float]]
    _hazard: list[float]
    _owner: list[str]
    _co: list[list[str]]
    _has_co: list[bool]
    _p_resolve0: list[float]
    _nonpolice: list[bool]
    _police_on_site: list[bool]
    _onsite_hours: list[float]
    _p_unsettled: list[float]
    _p_grid_settle: list[float]
    _recur_prob: list[float]
    _recur_mean_h: list[float]
    _late_after: list[float]
    # scenario constants
    incentives: Any
    _p_complex: list[float]
    _co_need: list[float]
    _solo_factor: float
    _dual_factor: float
    _police_share: float
    _main_co_share: float
    _linkage_share: float
    _linkage_delay: float
    _max_repeats: int
    _hb_p_redispatch: float
    _hb_limit: int
    _hb_interval: float
    _visit_cost: float
    _boosts: list[tuple[float, float, list[int], list[int], float]]
    # random streams used on the hot path
    handling: list[Sampler]
    u_outcome: Uniforms
    u_patience: Uniforms
    u_followup: Uniforms
    u_recur: Uniforms
    patience: Sampler
    report_delay: Sampler
    u_redetect: Uniforms
    coordination: Sampler
    u_complex: Uniforms
    u_citizen: Uniforms
    u_grid: Uniforms
    triage_time: Sampler
    hotline_time: Sampler
    # agents whose decision methods the engine calls (set by the model)
    citizen_agents: list[Any]
    grid_agents: list[Any]
    desks: dict[int, Unit]
    # their decision methods called per event, looked up once (by grid)
    _plan_day: list[Any]
    _mediate: list[Any]
    _after_patience: list[Any]
    _route: Any
    _transfer: Any
    # citizens who learn (Citizen.reports, Citizen.observe_closure, by grid), or None when
    # their trust sensitivity is neutral (then nothing is called: results as without them)
    report_decision: Any
    citizen_observe: Any
    petition_channel: int
    # problem table (one entry per problem)
    problems: list[Problem | None]
    p_cat: list[int]
    p_grid: list[int]
    p_t0: list[float]
    p_parent: list[int]
    # complaint log (columns) and cases
    c_t: list[float]
    c_pid: list[int]
    c_case: list[int]
    c_channel: list[int]
    c_repeat: list[bool]
    c_citizen: list[bool]
    cases: list[Case]
    # counters
    n_open: int
    open_area: float
    open_area_warm: float
    _open_last: float
    wait_sum: float
    wait_n: int
    transfers: int
    handbacks: int
    grid_followups: int
    settled_by_grid: int
    police_nonpolice_hours: float
    dept_hours: dict[str, float]
    grid_hours: float
    problems_resolved: int
    escalations: int
    escalations_petition: int
    platform_wait_sum: float
    platform_wait_n: int
    joint_cases: int
    seconded: dict[str, int]
    campaign_active: list[bool]
    _any_campaign: bool
    _warm_snapshot: dict[int, tuple[float, float]] | None

    def __init__(self, scenario: Any, seed: int, streams: dict[str, Any], layout: Any,
                 windows: dict[str, list[tuple[float, float]] | None], incentives: Any) -> None:
        s = scenario
        self.incentives = incentives
        self.scenario = s
        self.seed = seed
        self.streams = streams
        self.layout = layout
        self.now = 0.0
        self.horizon = s.run.horizon_days * 24.0
        self.warmup = s.run.warmup_days * 24.0
        self.events = 0            # events processed (arrivals + calendar entries)
        self._heap = []            # near-term events: (time, seq, kind, argument)
        self._far_days = {}        # far-ahead events by day (see sched_far)
        self._far_t = []           # the current day's far events, sorted by time: times
        self._far_code = []        # ... and their packed (problem, kind, channel) codes
        self._far_i = 0            # next of them
        self._far_day = -1         # the day _far_t holds
        self._lanes = {}           # constant-delay FIFO lanes (see sched_after)
        self._seq = 0
        self._a_t = []
        self._a_pid = []
        self._a_ch = []
        self._a_cit = []
        self._a_i = 0
        self.n_streets = len(layout.streets)

        # catalogue, channels
        self.cat_codes = [str(c) for c in s.catalogue]
        self.cats = [s.catalogue[c] for c in self.cat_codes]
        self.cat_index = {c: i for i, c in enumerate(self.cat_codes)}
        self.channel_codes = [str(c) for c in s.channels]
        self.channel_kinds = [str(s.channels[c].kind) for c in self.channel_codes]
        self.citizen_channels = [i for i, kd in enumerate(self.channel_kinds) if kd != "patrol"]
        patrol = [i for i, kd in enumerate(self.channel_kinds) if kd == "patrol"]
        self.patrol_channel = patrol[0] if patrol else -1
        petition = [i for i, kd in enumerate(self.channel_kinds) if kd == "petition"]
        self.petition_channel = petition[0] if petition else -1
        if len(self.channel_codes) > _FAR_CH_MASK - 1:   # see _far_pack
            raise ValueError(f"at most {_FAR_CH_MASK - 1} channels are supported")

        # units: department teams (per street or one district pool), grid workers
        self.units = {}
        self.dept_level = {}
        self.seconded = {}
        street_assesses = bool(incentives.street_assesses)
        for code, spec in s.departments.items():
            staff = int(spec.staff)
            level = str(spec.level)
            per_street = 0
            if level == "district" and street_assesses and spec.seconded_share > 0:
                # 区属、街管、街用: the seconded share of the pool moves to street teams
                per_street = int(round(staff * float(spec.seconded_share) / self.n_streets))
                if per_street > 0:
                    staff = max(0, staff - per_street * self.n_streets)
                    level = "split" if staff > 0 else "street"
                    self.seconded[str(code)] = per_street * self.n_streets
            self.dept_level[code] = level
            if level == "street" or level == "split":
                for st in range(self.n_streets):
                    self._add_unit(code, st, per_street if per_street > 0 else staff,
                                   windows[code], spec)
            if level != "street":
                self._add_unit(code, -1, staff, windows[code], spec)
        self.owner_units = []
        for k in self.cat_codes:
            cat = s.catalogue[k]
            owner = str(cat.owner)
            tier3 = int(cat.tier) == 3 and self.dept_level[owner] == "split"
            self.owner_units.append([self.units[(owner, -1)] if tier3 else self.unit(owner, st)
                                     for st in range(self.n_streets)])
        staffed = [str(c) for c, d in s.departments.items() if d.staff > 0]
        self.others = {c: [o for o in staffed if o != c] or [c] for c in s.departments}
        police = [str(c) for c, d in s.departments.items() if d.is_police]
        self.police_code = police[0] if police else None
        self.platforms = {}
        self.grid_street = [int(g.street) for g in layout.grids]
        gw = s.grid_workers
        workers = float(gw.per_grid + gw.extra_forces_per_grid)
        servers = max(1, math.ceil(workers)) if workers > 0 else 0
        frac = servers / workers if workers > 0 else 1.0
        day_share = gw.followup_hours_per_day / 24.0
        self.grid_workers = []
        for g in layout.grids:
            u = Unit(self, "grid", int(g.street), int(g.index), servers, None, gw)
            u.workers = workers
            # elapsed hours per visit (inf if no time is set aside for follow-ups)
            u.visit_elapsed = gw.visit_hours / day_share * frac if day_share > 0 else math.inf
            u.visit_hours = float(gw.visit_hours)
            self.grid_workers.append(u)
        self.citizen_complaints = [0] * len(self.grid_workers)
        # dispatch desks: street platforms (分中心) and the district 12345 operators
        pf = s.platform
        self.desks = {}
        for st in range(self.n_streets):
            if pf.triage_staff > 0:
                self.desks[st] = Unit(self, "platform", st, -1, int(pf.triage_staff), None, pf)
        if pf.hotline_staff > 0:
            self.desks[-1] = Unit(self, "hotline", -1, -1, int(pf.hotline_staff), None, pf)
        self.citizen_agents = []
        self.grid_agents = []
        self._plan_day = []
        self._mediate = []
        self._after_patience = []
        self._route = None
        self._transfer = None
        self.report_decision = None
        self.citizen_observe = None

        # per category
        cats = self.cats
        self._owner = [str(c.owner) for c in cats]
        self._co = [[str(x) for x in c.co_handlers] for c in cats]
        self._has_co = [bool(c.co_handlers) for c in cats]
        self._p_resolve0 = [float(c.p_resolve) for c in cats]
        self._p_complex = [float(c.p_complex) if c.co_handlers else 0.0 for c in cats]
        self._nonpolice = [c.family == "non_police" for c in cats]
        self._police_on_site = [bool(c.police_on_site) for c in cats]
        self._onsite_hours = [float(c.police_onsite_hours) for c in cats]
        self._p_unsettled = [float(c.p_unsettled_after_police) for c in cats]
        self._p_grid_settle = [float(c.p_grid_settle) for c in cats]
        self._recur_prob = [float(c.recurrence_prob) for c in cats]
        self._recur_mean_h = [float(c.recurrence_mean_days) * 24.0 for c in cats]
        extra = float(s.citizens.satisfaction_extra_hours)
        self._late_after = [float(c.deadline_hours) + extra for c in cats]
        self.deadline = [float(c.deadline_hours) for c in cats]

        rep = s.citizens.repeat
        self._max_repeats = int(rep.max_repeats)
        hb = s.handback
        self._hb_p_redispatch = float(hb.p_redispatch)
        self._hb_limit = int(hb.followup_limit)
        self._hb_interval = float(hb.followup_interval_hours)
        self._visit_cost = float(gw.visit_hours)
        self._solo_factor = float(s.main_co.p_resolve_solo_factor)
        self._dual_factor = float(s.dispatch.dual_p_resolve_factor)
        self._police_share = float(s.dispatch.police_hours_share)
        self._main_co_share = float(s.main_co.co_share)
        self._co_need = [float(c.co_need_share) for c in cats]
        self._linkage_share = float(s.linkage.co_share)
        self._linkage_delay = float(s.linkage.delay_hours)

        # random streams used on the hot path
        rs = streams
        self.handling = [Sampler(c.handling, rs["handling"]) for c in cats]
        self.u_outcome = Uniforms(rs["outcome"])
        self.u_patience = Uniforms(rs["patience"])
        self.u_followup = Uniforms(rs["followup"])
        self.u_recur = Uniforms(rs["recurrence"])
        self.patience = Sampler(rep.patience, rs["patience"])
        self.report_delay = Sampler(s.citizens.report_delay, rs["report_delay"])
        self.u_redetect = Uniforms(rs["redetect"])
        self.coordination = Sampler(s.main_co.coordination_delay, rs["coordination"])
        self.u_complex = Uniforms(rs["complexity"])
        self.u_citizen = Uniforms(rs["citizen"])
        self.u_grid = Uniforms(rs["grid"])
        self.triage_time = Sampler(pf.triage_hours, rs["triage"])
        self.hotline_time = Sampler(pf.hotline_hours, rs["triage"])

        # problem table, complaint log, cases
        self.problems = []
        self.p_cat = []
        self.p_grid = []
        self.p_t0 = []
        self.p_parent = []
        self.c_t = []
        self.c_pid = []
        self.c_case = []
        self.c_channel = []
        self.c_repeat = []
        self.c_citizen = []
        self.cases = []

        # counters
        self.n_open = 0
        self.open_area = 0.0        # integral of open cases over time, from 0
        self.open_area_warm = 0.0   # ... up to the end of warm-up
        self._open_last = 0.0
        self.wait_sum = 0.0
        self.wait_n = 0
        self.transfers = 0
        self.handbacks = 0
        self.grid_followups = 0
        self.settled_by_grid = 0
        self.police_nonpolice_hours = 0.0
        self.dept_hours = {str(c): 0.0 for c in s.departments}
        self.grid_hours = 0.0
        self.problems_resolved = 0
        self.escalations = 0
        self.escalations_petition = 0
        self.platform_wait_sum = 0.0
        self.platform_wait_n = 0
        self.joint_cases = 0
        self.campaign_active = [False] * len(s.campaigns)
        self._any_campaign = False
        self._warm_snapshot = None

        # campaigns' patrol detection boosts: (start h, end h, categories, streets, factor)
        names = {str(x.name): int(x.index) for x in layout.streets}
        self._boosts = []
        for c in s.campaigns:
            if c.detection_boost != 1.0:
                self._boosts.append((
                    c.start_day * 24.0, c.end_day * 24.0,
                    [self.cat_index[x] for x in c.categories], [names[x] for x in c.streets],
                    float(c.detection_boost)))
        # filled in by `attach`
        self.effects = None
        self.routing = None
        self.main_co_on = False
        self.joint_possible = []
        self.dual = []
        self.handback_on = []
        self._p_rep = []
        self._cdf_rows = []
        self._hazard = []

    def _add_unit(self, code: str, street: int, staff: int, windows: Any, spec: Any) -> None:
        u = Unit(self, code, street, -1, staff, windows, spec)
        u.is_police = bool(spec.is_police)
        u.response = float(spec.response_hours)
        self.units[(code, street)] = u

    def attach(self, effects: Any, routing: Any, platforms: dict[int, Any],
               p_rep: list[float], cdf_rows: list[list[float]], hazard: list[float],
               citizen_agents: list[Any], grid_agents: list[Any]) -> None:
        """Wire in the policies, the agents (Mesa) and per-category rates."""
        s = self.scenario
        self.effects = effects
        self.routing = routing
        self.platforms = platforms
        self.citizen_agents = citizen_agents
        self.grid_agents = grid_agents
        # the methods called for (almost) every event, bound once: no lookup per call
        self._plan_day = [g.plan_day for g in grid_agents]
        self._mediate = [g.mediate for g in grid_agents]
        self._after_patience = [c.after_patience for c in citizen_agents]
        self._route = routing.route
        self._transfer = routing.transfer
        self._p_rep = p_rep
        self._cdf_rows = cdf_rows
        self._hazard = hazard
        self.main_co_on = bool(s.main_co.enabled and routing.platform_led)
        joint = self.main_co_on or bool(s.linkage.enabled)
        self.joint_possible = [bool(c.co_handlers) and joint for c in self.cats]
        d = s.dispatch
        self.dual = []
        for code, cat in zip(self.cat_codes, self.cats):
            default = "dual" if (cat.family in d.dual_families or d.default_mode == "dual") \
                else "single"
            self.dual.append(d.modes.get(code, default) == "dual"
                             and self.police_code is not None and cat.owner != self.police_code)
        self.handback_on = [bool(s.handback.enabled if c.handback is None else c.handback)
                            for c in self.cats]

    def set_arrivals(self, times: list[float], pids: list[int], chans: list[int],
                     cits: list[bool]) -> None:
        """The first contacts of the bulk-drawn problems, sorted by time."""
        self._a_t = times
        self._a_pid = pids
        self._a_ch = chans
        self._a_cit = cits
        self._a_i = 0

    # ------------------------------------------------------------------ calendar
    def next_seq(self) -> int:
        s = self._seq
        self._seq = s + 1
        return s

    def sched(self, t: float, kind: int, arg: Any) -> None:
        """An event of `kind` at time `t` (hours). Ties run in scheduling order."""
        s = self._seq
        self._seq = s + 1
        self._push(Event(t, s, kind, arg))

    def _push(self, ev: Event) -> None:
        _hpush(self._heap, ev)

    def sched_task(self, task: Task, t: float, kind: int) -> None:
        """The task itself as the calendar entry: at `t`, `kind` (EV_SUBMIT or EV_FINISH)."""
        task.t = t
        task.kind = kind
        task.seq = self.next_seq()
        _hpush(self._heap, task)

    def schedule(self, t: float, fn: Any, arg: Any = None) -> None:
        """Call the Python callable `fn(arg)` at time `t` (hours)."""
        self.sched(t, EV_CALL, (fn, arg))

    def sched_after(self, delay: float, kind: int, arg: Any) -> None:
        """An event after a constant `delay` (hours), through a first-in-first-out lane.

        Events scheduled with the same delay fall due in the order they were scheduled, so
        each lane is a queue and only its head sits in the heap: the heap stays small.
        """
        lane = self._lanes.get(delay)
        if lane is None:
            lane = deque()
            self._lanes[delay] = lane
        ev = Event(self.now + delay, -1, kind, arg)
        ev.lane = lane
        lane.append(ev)
        if len(lane) == 1:
            ev.seq = self.next_seq()
            _hpush(self._heap, ev)

    def sched_far(self, t: float, kind: int, pid: int, ch: int) -> None:
        """Like `sched`, for events typically days ahead that often turn out to be no-ops
        (citizens' patience, recurrences, patrol re-detections), all about one problem `pid`.
        They go into a bucket per day (a calendar queue) as two numbers, the time and a packed
        code (`_far_pack`), not as objects: scheduling is two appends; when the run reaches a
        day, its bucket is sorted once by time (stably, so ties keep scheduling order) and read
        in order. Events for the current day go to the near-term heap."""
        s = self._seq
        self._seq = s + 1
        day = int(t // 24.0)
        if day <= self._far_day:
            ev = Event(t, s, kind, None)
            ev.pid = pid
            ev.ch = ch
            _hpush(self._heap, ev)
            return
        bucket = self._far_days.get(day)
        if bucket is None:
            bucket = FarBucket()
            self._far_days[day] = bucket
        bucket.t.append(t)
        bucket.code.append(_far_pack(kind, pid, ch))

    def _next_far_day(self) -> None:
        """Move on to the next day's bucket of far events."""
        day = self._far_day + 1
        self._far_day = day
        bucket = self._far_days.pop(day, None)
        if bucket is None:
            self._far_t = []
            self._far_code = []
        else:
            ts = bucket.t
            codes = bucket.code
            order = sorted(range(len(ts)), key=ts.__getitem__)   # stable
            self._far_t = [ts[j] for j in order]
            self._far_code = [codes[j] for j in order]
        self._far_i = 0

    def _fire_far(self, code: int) -> None:
        self._problem_event((code >> _FAR_CH_BITS) & _FAR_KIND_MASK,
                            code >> (_FAR_CH_BITS + _FAR_KIND_BITS), (code & _FAR_CH_MASK) - 1)

    def _problem_event(self, kind: int, pid: int, ch: int) -> None:
        """A far event about problem `pid` (from a day bucket, or from the heap when it was
        scheduled for the current day)."""
        if kind == EV_PATIENCE:
            self._patience_expired(pid)
        else:   # EV_CONTACT, EV_PATROL
            self._contact(pid, ch, kind == EV_CONTACT)

    def _fire(self, ev: Event) -> None:
        kind = ev.kind
        arg = ev.arg
        if kind == EV_FINISH:
            assert isinstance(ev, Task)
            ev.unit.finish(ev)
        elif kind == EV_ARRIVE:
            case: Case = arg
            dest = case.dest
            assert dest is not None
            self._arrive(case, dest)
        elif kind == EV_PATIENCE or kind == EV_CONTACT or kind == EV_PATROL:
            self._problem_event(kind, ev.pid, ev.ch)
        elif kind == EV_SUBMIT:
            assert isinstance(ev, Task)
            ev.unit.submit(ev)
        elif kind == EV_VISIT:
            self._visit(arg)
        elif kind == EV_SHIFT_ON:
            u: Unit = arg
            u.shift_on()
        elif kind == EV_SHIFT_OFF:
            u2: Unit = arg
            u2.shift_off()
        elif kind == EV_WARM:
            self._warm()
        elif kind == EV_CAMPAIGN:
            self._campaign(arg[0], arg[1])
        elif kind == EV_DAY:
            self._new_day()
        else:
            arg[0](arg[1])

    def run_until(self, t_end: float) -> None:
        """Process every event up to and including time `t_end` (hours), merging the bulk
        arrival arrays, the near-term heap (with its lanes) and the far heap in time order."""
        heap = self._heap
        at = self._a_t
        ap = self._a_pid
        ac = self._a_ch
        az = self._a_cit
        i = self._a_i
        n = len(at)
        i0 = i
        inf = math.inf
        popped = 0
        # the next arrival's and the next far event's times change only when this loop takes
        # one (a day's far events are fixed once its bucket is read): kept as C doubles
        ta = at[i] if i < n else inf
        far_t = self._far_t
        far_code = self._far_code
        fi = self._far_i
        nf = len(far_t)
        if fi < nf:
            tf = far_t[fi]
            next_day = False
        else:   # the day's far events are done: the next day starts at tf
            tf = (self._far_day + 1) * 24.0
            next_day = True
        while True:
            th = heap[0].t if heap else inf
            if next_day and tf <= th and tf <= ta:
                if tf > t_end:
                    break
                self._next_far_day()
                far_t = self._far_t
                far_code = self._far_code
                fi = self._far_i
                nf = len(far_t)
                if fi < nf:
                    tf = far_t[fi]
                    next_day = False
                else:
                    tf = (self._far_day + 1) * 24.0
                    next_day = True
            elif ta <= th and ta <= tf:
                if ta > t_end:
                    break
                self.now = ta
                self._contact(ap[i], ac[i], az[i])
                i += 1
                ta = at[i] if i < n else inf
            elif tf < th:
                if tf > t_end:
                    break
                self._far_i = fi + 1
                self.now = tf
                self._fire_far(far_code[fi])
                popped += 1
                fi += 1
                if fi < nf:
                    tf = far_t[fi]
                else:
                    tf = (self._far_day + 1) * 24.0
                    next_day = True
            else:
                if th > t_end:
                    break
                ev = _hpop(heap)
                self.now = ev.t
                lane = ev.lane
                if lane is not None:   # the next in its lane takes its place in the heap
                    lane.popleft()
                    if lane:
                        nxt: Event = lane[0]
                        nxt.seq = self.next_seq()
                        _hpush(heap, nxt)
                self._fire(ev)
                popped += 1
        self._a_i = i
        self.events += (i - i0) + popped
        if t_end > self.now:
            self.now = t_end

    # ------------------------------------------------------------------ world lookups
    def unit(self, code: str, street: int) -> Unit:
        return self.units[(code, street if self.dept_level[code] != "district" else -1)]

    def police_unit(self, street: int) -> Unit:
        code = self.police_code
        assert code is not None
        return self.unit(code, street)

    def platform(self, street: int) -> Any:
        return self.platforms[street]

    def all_units(self) -> list[Unit]:
        return list(self.units.values()) + self.grid_workers + list(self.desks.values())

    # ------------------------------------------------------------------ problems and contacts
    def add_problems(self, grid: list[int], cat: list[int], t0: list[float],
                     parent: int) -> None:
        n = len(t0)
        self.p_grid.extend(grid)
        self.p_cat.extend(cat)
        self.p_t0.extend(t0)
        self.p_parent.extend([parent] * n)
        self.problems.extend([None] * n)   # a record only once something happens to it

    def _problem(self, pid: int) -> Problem:
        """Problem `pid`'s record, made when first needed (most problems are touched only
        within days of arising, so records made in time order stay close in memory)."""
        pr = self.problems[pid]
        if pr is None:
            pr = Problem(self.p_cat[pid], self.p_grid[pid])
            self.problems[pid] = pr
        return pr

    def _recur(self, pid: int) -> None:
        """A resolved problem comes back: a new problem in the same grid and category, with
        the same reporting and detection rules as the bulk draw (scalar draws)."""
        k = self.p_cat[pid]
        u = self.u_recur
        t0 = self.now + u.exp(self._recur_mean_h[k])
        if t0 >= self.horizon:
            return
        new = len(self.problems)
        grid = self.p_grid[pid]
        self.add_problems([grid], [k], [t0], pid)
        if u.next() < self._p_rep[k]:
            t_cit = t0 + self.report_delay.next()
            if t_cit < self.horizon:
                ch = min(bisect_right(self._cdf_rows[k], u.next()), len(self.channel_codes) - 1)
                self.sched_far(t_cit, EV_CONTACT, new, ch)
        hz = self._hazard[k] * self._boost(k, grid, t0)
        if hz > 0 and self.patrol_channel >= 0:
            t_pat = t0 + u.exp(1.0 / hz)
            if t_pat < self.horizon:
                self.sched_far(t_pat, EV_PATROL, new, self.patrol_channel)

    def _boost(self, k: int, grid: int, t0: float) -> float:
        """Campaigns' multiplier on the patrol detection hazard of one problem."""
        f = 1.0
        for start, end, cats, streets, factor in self._boosts:
            if start <= t0 < end and (not cats or k in cats) and \
                    (not streets or self.grid_street[grid] in streets):
                f *= factor
        return f

    def _contact(self, pid: int, ch: int, citizen: bool) -> None:
        """A citizen reports, or a patrol detects, problem `pid`."""
        pr = self._problem(pid)
        state = pr.state
        if state == RESOLVED:
            return
        # citizens who learn decide now whether to report (their pre-drawn uniform against
        # a probability that moves with what they saw of their grid's service)
        if citizen and self.report_decision is not None \
                and not self.report_decision[pr.grid](pid, pr.cat):
            return
        if not citizen:
            grid = pr.grid
            # the day plan cut patrol time (GridWorker.plan_day): ask whether this one happens
            if self.grid_workers[grid].patrol_share < 1.0 \
                    and not self.grid_agents[grid].patrols_now():
                # the day's patrol time was cut: this detection does not happen; the next
                # chance comes at the full patrol rate (thinning)
                k = pr.cat
                hz = self._hazard[k] * self._boost(k, pr.grid, self.now)
                t_pat = self.now + self.u_redetect.exp(1.0 / hz)
                if t_pat < self.horizon:
                    self.sched_far(t_pat, EV_PATROL, pid, ch)
                return
            if state == OPEN_CASE:
                return  # the grid worker sees it is already being handled
            p_settle = self._p_grid_settle[pr.cat]
            if p_settle > 0.0 and self._mediate[grid](p_settle):
                self._settle_on_spot(pid, ch)
                return
        self.complaint(pid, ch, citizen)

    def complaint(self, pid: int, ch: int, citizen: bool = True, route: bool = True) -> Case:
        """Record one complaint about problem `pid`; open (and route) a case if none is open."""
        t = self.now
        pr = self._problem(pid)
        n_before = pr.ncompl
        pr.ncompl = n_before + 1
        case = pr.case
        if case is None:
            case = self.open_case(pid, ch, route)
        self.c_t.append(t)
        self.c_pid.append(pid)
        self.c_case.append(case.id)
        self.c_channel.append(ch)
        self.c_repeat.append(n_before > 0)
        self.c_citizen.append(citizen)
        if citizen:
            pr.channel = ch
            pr.ncit += 1
            if n_before < self._max_repeats:  # repeats so far, this one included, stay capped
                self.sched_far(t + self.patience.next(), EV_PATIENCE, pid, -1)
        return case

    def _patience_expired(self, pid: int) -> None:
        """A citizen's patience has run out on problem `pid`: complain again, maybe elsewhere,
        or give up (the behaviour of `agents.Citizen`)."""
        pr = self._problem(pid)
        if pr.state == RESOLVED or pr.gaveup:
            return
        channel = self._after_patience[pr.grid](pr, pr.case)
        if channel < 0:
            pr.gaveup = True
            return
        self.citizen_complaints[pr.grid] += 1
        self.complaint(pid, channel, True)

    def note_escalation(self, channel: int) -> None:
        """A citizen went one rung up the ladder (counted after warm-up)."""
        if self.now >= self.warmup:
            self.escalations += 1
            if channel == self.petition_channel:
                self.escalations_petition += 1

    def _settle_on_spot(self, pid: int, ch: int) -> None:
        """A grid worker mediates a minor matter on the spot: opened and closed at once."""
        case = self.complaint(pid, ch, False, False)
        case.dispatched = self.now
        case.started = self.now
        case.agency = "grid"
        if self.now >= self.warmup:
            self.grid_hours += self.grid_agents[case.grid].mediation_hours
        self.close(case, "settled_on_spot")

    # ------------------------------------------------------------------ cases
    def open_case(self, pid: int, ch: int, route: bool = True) -> Case:
        """The platform opens a case for problem `pid` and routes it (unless `route` is
        False: the grid worker settles it on the spot)."""
        pr = self._problem(pid)
        k = pr.cat
        grid = pr.grid
        t = self.now
        case = Case(len(self.cases), pid, k, self.cats[k], self.grid_street[grid], grid, ch,
                    self.channel_kinds[ch], t)
        case.repeat = pr.ncompl > 1
        if ch == self.petition_channel:
            case.prio = 0     # petitions (信访) are supervised: they jump every queue
        if self._any_campaign and self._campaign_priority(k, case.street):
            case.prio = 0
        self.cases.append(case)
        pr.case = case
        pr.state = OPEN_CASE
        self.open_area += self.n_open * (t - self._open_last)
        self._open_last = t
        self.n_open += 1
        if not route:
            return case
        dest, delay = self._route(case)
        self._send(case, dest, delay)
        return case

    def _campaign_priority(self, k: int, street: int) -> bool:
        s = self.scenario
        for i, c in enumerate(s.campaigns):
            if self.campaign_active[i] and c.priority and \
                    (not c.categories or self.cat_codes[k] in c.categories) and \
                    (not c.streets or self.layout.streets[street].name in c.streets):
                return True
        return False

    def _send(self, case: Case, dest: Unit, delay: float) -> None:
        if delay > 0:
            case.dest = dest
            self.sched_after(delay, EV_ARRIVE, case)
        else:
            self._arrive(case, dest)

    def _arrive(self, case: Case, unit: Unit) -> None:
        """The case reaches a unit's desk."""
        if unit.code == "platform" or unit.code == "hotline":
            # a dispatch desk: triage takes staff time in its queue (分拨)
            case.dest = unit
            hours = self.triage_time.next() if unit.code == "platform" else self.hotline_time.next()
            unit.submit(Task(case, TRIAGE, hours, case.prio, self.next_seq(), unit))
            return
        if case.dispatched < 0:
            case.dispatched = self.now
        k = case.k
        if unit.is_police and case.channel_kind == "police" and self._police_on_site[k] \
                and self._owner[k] != unit.code and case.visits == 0:
            case.unit = unit
            unit.submit(Task(case, ONSITE, self._onsite_hours[k] + unit.response, case.prio,
                             self.next_seq(), unit))
        elif unit.code == self._owner[k]:
            self._handle(case, unit)
        else:
            case.transfers += 1
            if self.now >= self.warmup:
                self.transfers += 1
            nxt, delay = self._transfer(case, unit)
            self._send(case, nxt, delay)

    def _handle(self, case: Case, unit: Unit) -> None:
        """The owner handles the case: its main task, co-handlers' tasks, dual dispatch.

        Each department decides the priority and the effort of its task (`Department.priority`
        and `.effort`); `case.need` is the work the problem needs (the owner's drawn handling
        hours, plus `main_co.co_share` of them per co-handler for a complex case) and
        `case.cover` the effort-weighted part of it that the tasks give."""
        k = case.k
        case.unit = unit
        dept = unit.agent
        need = self.handling[k].next()
        if case.need == 0.0:   # first handling: is the case complex (needs co-handlers)?
            pc = self._p_complex[k]
            case.complex = pc > 0 and self.u_complex.next() < pc
        e = unit.fixed_main if unit.fixed_main >= 0.0 else dept.effort(case, MAIN)
        case.need = need
        case.cover = need * e
        prio = dept.priority(case, MAIN) if unit.prio_main < 0 else \
            (0 if case.prio == 0 else unit.prio_main)
        pending = 1
        if case.complex:
            co_need_share = self._co_need[k]
            co_need = need * co_need_share
            case.need += co_need * len(self._co[k])
            joint = self.joint_possible[k]
            if joint:
                if self.main_co_on:
                    case.joint = "main_co"
                    delay = self.coordination.next()
                    share = self._main_co_share
                else:
                    case.joint = "linkage"
                    delay = self._linkage_delay
                    share = self._linkage_share
                if self.now >= self.warmup:
                    self.joint_cases += 1
                for co in self._co[k]:
                    co_unit = self.unit(co, case.street)
                    if co_unit.staff == 0:
                        continue
                    co_dept = co_unit.agent
                    e_co = co_unit.fixed_co if co_unit.fixed_co >= 0.0 \
                        else co_dept.effort(case, CO)
                    case.cover += co_need * e_co * min(1.0, share / co_need_share) \
                        if co_need_share > 0 else 0.0
                    pending += 1
                    pco = co_dept.priority(case, CO) if co_unit.prio_co < 0 else \
                        (0 if case.prio == 0 else co_unit.prio_co)
                    task = Task(case, CO, need * share * e_co + co_unit.response, pco,
                                self.next_seq(), co_unit)
                    self.sched_task(task, self.now + delay, EV_SUBMIT)
        if self.dual[k] and not unit.is_police:
            case.dual = True
            pending += 1
            police = self.police_unit(case.street)
            pdept = police.agent
            e_p = police.fixed_main if police.fixed_main >= 0.0 else pdept.effort(case, DUAL)
            if case.complex and case.joint is None and self.police_code in self._co[k]:
                case.cover += need * self._co_need[k] * e_p   # police attend with their powers
            pdual = pdept.priority(case, DUAL) if police.prio_main < 0 else \
                (0 if case.prio == 0 else police.prio_main)
            police.submit(Task(case, DUAL, need * self._police_share * e_p + police.response,
                               pdual, self.next_seq(), police))
        case.pending += pending
        unit.submit(Task(case, MAIN, need * e + unit.response, prio, self.next_seq(), unit))

    def task_done(self, task: Task, unit: Unit) -> None:
        """A unit finished a task: account staff time, then move the case on."""
        case = task.case
        kind = task.role
        post = self.now >= self.warmup
        if kind == VISIT:
            if post:
                self.grid_hours += unit.visit_hours
            self.grid_agents[case.grid].visit_done()
            self._visit_done(case, unit)
            return
        if kind == TRIAGE:
            if post:
                self.platform_wait_sum += self.now - task.queued
                self.platform_wait_n += 1
            router = unit.router
            if router is not None:
                dest, delay = router(case)
            else:
                dest, delay = self.platforms[unit.street].dispatch(case)
            case.dest = None
            self._send(case, dest, delay)
            return
        k = case.k
        if post:
            self.dept_hours[unit.code] += task.hours
            if unit.is_police and self._nonpolice[k]:
                self.police_nonpolice_hours += task.hours
        if kind == MAIN or kind == ONSITE:
            if case.started < 0:
                case.started = task.started
            if task.started >= self.warmup:
                self.wait_sum += task.started - task.queued
                self.wait_n += 1
        if kind == ONSITE:
            if self.u_outcome.next() >= self._p_unsettled[k]:
                self.close(case, "resolved")
            elif self.handback_on[k]:
                self.platforms[case.street].handbacks += 1
                if post:
                    self.handbacks += 1
                self._visit(case)
            else:
                self.close(case, "closed_unresolved")
            return
        case.pending -= 1
        if case.pending > 0:
            return
        self.close(case, "resolved" if self.u_outcome.next() < self._p_resolve(case)
                   else "closed_unresolved")

    def _p_resolve(self, case: Case) -> float:
        """Chance that this handling truly resolves the problem: the owner's
        `p_true_resolution` of the share of the needed work the tasks covered (see
        docs/ODD.md, submodels), times the assumed extra factors (neutral 1)."""
        unit = case.unit
        assert unit is not None
        cov = case.cover / case.need if case.need > 0 else 1.0
        if unit.custom_resolution:
            p: float = unit.agent.p_true_resolution(case, cov)
        else:
            p = resolution_probability(self._p_resolve0[case.k], cov)
        if case.complex and case.joint is None:
            p *= self._solo_factor
        if case.dual:
            p *= self._dual_factor
        return p

    # ------------------------------------------------------------------ handback (双向流转)
    def _visit(self, case: Case) -> None:
        """The platform pushes the case to its grid: a grid worker visits (follow-up)."""
        gw = self.grid_workers[case.grid]
        if gw.staff == 0:
            self.close(case, "closed_unresolved")
            return
        case.visits += 1
        gw.submit(Task(case, VISIT, gw.visit_elapsed, case.prio, self.next_seq(), gw))

    def _visit_done(self, case: Case, gw: Unit) -> None:
        gw.visits += 1
        post = self.now >= self.warmup
        if post:
            self.grid_followups += 1
        u = self.u_followup
        if u.next() < self._p_grid_settle[case.k]:
            gw.settled += 1
            if post:
                self.settled_by_grid += 1
            self.close(case, "settled_by_grid")
        elif u.next() < self._hb_p_redispatch:
            case.redispatched = True
            self._handle(case, self.owner_units[case.k][case.street])
        elif case.visits < self._hb_limit:
            self.sched_after(self._hb_interval, EV_VISIT, case)
        else:
            self.close(case, "closed_unresolved")

    # ------------------------------------------------------------------ closure
    def close(self, case: Case, outcome: str) -> None:
        """Close the case; resolve its problem or leave it for the citizen's patience."""
        t = self.now
        case.closed = t
        case.outcome = outcome
        self.open_area += self.n_open * (t - self._open_last)
        self._open_last = t
        self.n_open -= 1
        pid = case.pid
        k = case.k
        pr = self._problem(pid)
        pr.case = None
        resolved = outcome in RESOLVING
        if resolved:
            pr.state = RESOLVED
            self.problems[pid] = _RESOLVED   # its record is no longer needed: free it
            if t >= self.warmup:
                self.problems_resolved += 1
            rp = self._recur_prob[k]
            if rp > 0 and self.u_recur.next() < rp:
                self._recur(pid)
        else:
            pr.state = NO_CASE
            # the grid may detect it again on patrol (a fresh detection time)
            hz = self._hazard[k]
            if hz > 0 and self.patrol_channel >= 0:
                t_pat = t + self.u_redetect.exp(1.0 / (hz * self._boost(k, case.grid, t)))
                if t_pat < self.horizon:
                    self.sched_far(t_pat, EV_PATROL, pid, self.patrol_channel)
        late = t - case.opened > self._late_after[k]
        case.dissatisfied = (not resolved) or late
        unit = case.unit
        if unit is not None:
            unit.closed += 1
            if unit.observes:
                unit.agent.observe_closure(case)
        if self.citizen_observe is not None:   # the grid's residents see how it ended
            self.citizen_observe[case.grid](case)

    def open_change(self, delta: int) -> None:
        """Keep the integral of open cases over time (for `mean_open_cases`)."""
        t = self.now
        self.open_area += self.n_open * (t - self._open_last)
        self._open_last = t
        self.n_open += delta

    # ------------------------------------------------------------------ fixed events
    def schedule_fixed_events(self) -> None:
        s = self.scenario
        for unit in self.units.values():
            if unit.w_start:
                self.sched(unit.w_start[0], EV_SHIFT_ON, unit)
        self.sched(self.warmup, EV_WARM, None)
        day = 24.0
        while day < self.horizon:
            self.sched(day, EV_DAY, None)
            day += 24.0
        for i, c in enumerate(s.campaigns):
            self.sched(c.start_day * 24.0, EV_CAMPAIGN, (i, True))
            self.sched(min(c.end_day * 24.0, self.horizon), EV_CAMPAIGN, (i, False))

    def _new_day(self) -> None:
        """Midnight: every grid worker plans the day (patrol, follow-ups, mediation)."""
        for plan_day in self._plan_day:
            plan_day()

    def _campaign_units(self, i: int) -> list[Unit]:
        s = self.scenario
        c = s.campaigns[i]
        codes = c.categories or self.cat_codes
        owners = sorted({str(s.catalogue[k].owner) for k in codes})
        streets = [int(st.index) for st in self.layout.streets
                   if not c.streets or st.name in c.streets]
        units: dict[int, Unit] = {}
        for o in owners:
            for st in streets:
                u = self.unit(o, st)
                units[id(u)] = u
        return list(units.values())

    def _campaign(self, i: int, start: bool) -> None:
        """A special campaign (专项整治) starts or ends: pooled extra staff and priority."""
        if self.campaign_active[i] == start:
            return
        self.campaign_active[i] = start
        self._any_campaign = any(self.campaign_active)
        extra = int(self.scenario.campaigns[i].extra_staff) * (1 if start else -1)
        for unit in self._campaign_units(i):
            unit.add_staff(extra)

    def _warm(self) -> None:
        """End of warm-up: snapshot the integrals so summaries count only what follows."""
        snap: dict[int, tuple[float, float]] = {}
        for u in self.all_units():
            u._acc(self.now)
            snap[id(u)] = (u.busy_area, u.cap_area)
        self._warm_snapshot = snap
        self.open_change(0)
        self.open_area_warm = self.open_area

    def finish(self) -> None:
        """Close the books at the horizon (integrals up to the end)."""
        self.run_until(self.horizon)
        self.open_change(0)
        for u in self.all_units():
            u._acc(self.horizon)
        if self._warm_snapshot is None:
            self._warm()

    # ------------------------------------------------------------------ records
    def agency_names(self) -> list[str]:
        """Who can own a case: the departments, then the grid; "" = nobody yet."""
        names = list(self.dept_hours)
        return names + [x for x in ("grid", "") if x not in names]

    def case_columns(self, start: int = 0, stop: int = -1) -> dict[str, list[Any]]:
        """Cases `start` to `stop` (case ids; -1: to the end) as columns, one pass over them
        (see `sim.records`, which reads the table in slices so that these lists stay small).
        `outcome` and `agency` are codes: indices into `OUTCOMES` and into `agency_names()`."""
        outcome_code = {o: i for i, o in enumerate(OUTCOMES)}
        agency_code = {a: i for i, a in enumerate(self.agency_names())}
        cases = self.cases
        if stop < 0 or stop > len(cases):
            stop = len(cases)
        ids: list[int] = []
        pids: list[int] = []
        ks: list[int] = []
        streets: list[int] = []
        grids: list[int] = []
        opened: list[float] = []
        dispatched: list[float] = []
        started: list[float] = []
        closed: list[float] = []
        outcome: list[int] = []
        agency: list[int] = []
        transfers: list[int] = []
        dissatisfied: list[bool] = []
        for i in range(start, stop):
            c = cases[i]
            ids.append(c.id)
            pids.append(c.pid)
            ks.append(c.k)
            streets.append(c.street)
            grids.append(c.grid)
            opened.append(c.opened)
            dispatched.append(c.dispatched)
            started.append(c.started)
            closed.append(c.closed)
            outcome.append(outcome_code[c.outcome])
            u = c.unit
            agency.append(agency_code[u.code if u is not None else c.agency])
            transfers.append(c.transfers)
            dissatisfied.append(c.dissatisfied)
        return {"case_id": ids, "problem_id": pids, "k": ks, "street": streets, "grid": grids,
                "opened": opened, "dispatched": dispatched, "started": started,
                "closed": closed, "outcome": outcome, "agency": agency,
                "transfers": transfers, "dissatisfied": dissatisfied}
