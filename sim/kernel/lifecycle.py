"""A case's life, from a citizen's report or a patrol's detection to its closure.

Follow one problem through it:
1. The bulk draw (`sim.world.problems`) gives every problem of the run and, per problem, when a
   citizen first reports it and when a patrol detects it: the calendar's arrivals.
2. `contact` turns a report or detection into a `complaint`; the first complaint with no open
   case opens a `Case` (`open_case`), which the routing policy sends to a unit.
3. `arrive`: a dispatch desk triages it; otherwise a mechanism may take it (on-site action), the
   owner handles it (`handle`: its main task plus what mechanisms add: co-handlers, dual
   dispatch), or the unit passes it on (a transfer).
4. `Unit`s queue and work `Task`s in their shifts; `task_done` books the staff time and closes
   the case with an outcome once no task is pending (or a mechanism takes over: handback).
5. `close` resolves the problem or leaves it open (a patrol may detect it again); citizens whose
   patience runs out (`patience_expired`) complain again: repeat complaints.

The lifecycle knows agents and policies only through `sim.kernel.views` and mechanisms only
through `sim.kernel.hooks`; the numbers it runs on are filled in from the compiled World by
`sim.engine.Engine`.
"""

from __future__ import annotations

from typing import Any, Final

from ..streams import Sampler, Uniforms
from .contacts import EV_CONTACT, EV_PATIENCE, EV_PATROL, Contacts
from .entities import (
    MAIN,
    NO_CASE,
    ONSITE,
    OPEN_CASE,
    RESOLVED,
    RESOLVED_PROBLEM,
    RESOLVING,
    TRIAGE,
    Case,
    Task,
    Unit,
)
from .heap import EV_HOOK, EV_SHIFT_ON, Event
from .hooks import Mechanism
from .ledger import Ledger
from .views import PlatformView, RouterDecisions, RoutingView

# the lifecycle's event kinds (the kernel's own are in `heap`)
EV_ARRIVE: Final = 2       # arg: Case (its unit-to-be in case.dest)
EV_WARM: Final = 10        # arg: None
EV_DAY: Final = 13         # midnight: grid workers plan the day


def resolution_probability(p_resolve: float, coverage: float) -> float:
    """Chance that a handling covering `coverage` of the work a problem needs (1 = all of it)
    truly resolves it, when full coverage resolves it with `p_resolve`: each needed unit of
    work an independent try, 1 - (1 - p_resolve) ** coverage."""
    if coverage <= 0.0:
        return 0.0
    return 1.0 - (1.0 - p_resolve) ** coverage


class Lifecycle(Contacts):
    """A case from contact to close, on the calendar. Time is in hours from the run start."""

    # the organisation
    units: dict[tuple[str, int], Unit]
    dept_level: dict[str, str]
    owner_units: list[list[Unit]]
    desks: dict[int, Unit]
    police_code: str | None
    # channels
    channel_kinds: list[str]
    # per category
    cats: list[Any]
    owner: list[str]
    co: list[list[str]]
    p_resolve0: list[float]
    p_complex: list[float]
    co_need: list[float]
    nonpolice: list[bool]
    late_after: list[float]
    solo_factor: float
    dual_factor: float
    # random streams used on the hot path (sim.streams Sampler / Uniforms)
    handling: list[Sampler]
    u_outcome: Uniforms
    u_complex: Uniforms
    triage_time: Sampler
    hotline_time: Sampler
    # agents and policies, through their views (set by `plug`)
    platforms: dict[int, PlatformView]
    _plan_day: list[Any]
    _route: Any
    _transfer: Any
    _router: RouterDecisions | None   # a compiled routing rule, called directly, or None
    # citizens who learn (Citizen.observe_closure, by grid), or None (nothing called)
    citizen_observe: Any
    # mechanisms, by hook (set by `plug`)
    mechanisms: list[Mechanism]
    _on_start: list[Mechanism]
    _on_opened: list[Mechanism]
    _on_arrive: list[Mechanism]
    _on_extend: list[Mechanism]
    _on_resolved: list[Mechanism]
    _before: list[Mechanism | None]
    _after: list[Mechanism | None]
    cases: list[Case]

    def __init__(self, horizon: float, ledger: Ledger) -> None:
        super().__init__(horizon, ledger)
        self.mechanisms = []
        self._on_start = []
        self._on_opened = []
        self._on_arrive = []
        self._on_extend = []
        self._on_resolved = []
        self._before = [None] * 6
        self._after = [None] * 6
        self.cases = []
        self.platforms = {}
        self._plan_day = []
        self._route = None
        self._transfer = None
        self._router = None
        self.citizen_observe = None

    # ------------------------------------------------------------------ wiring
    def plug(self, routing: RoutingView, platforms: dict[int, Any], citizens: list[Any],
             grid_agents: list[Any], mechanisms: list[Mechanism]) -> None:
        """Wire in the routing policy, the agents and the mechanisms (in hook order)."""
        self.platforms = platforms
        self.grid_agents = grid_agents
        # the methods called for (almost) every event, bound once: no lookup per call
        self._plan_day = [g.plan_day for g in grid_agents]
        self._mediate = [g.mediate for g in grid_agents]
        self._after_patience = [c.after_patience for c in citizens]
        self._route = routing.route
        self._transfer = routing.transfer
        self._router = routing if isinstance(routing, RouterDecisions) else None
        self.mechanisms = list(mechanisms)
        for i, m in enumerate(self.mechanisms):
            m.slot = i
            hooks = type(m).HOOKS
            if "start" in hooks:
                self._on_start.append(m)
            if "opened" in hooks:
                self._on_opened.append(m)
            if "arrive" in hooks:
                self._on_arrive.append(m)
            if "extend" in hooks:
                self._on_extend.append(m)
            if "resolved" in hooks:
                self._on_resolved.append(m)
            for r in type(m).roles_before:
                self._before[r] = m
            for r in type(m).roles_after:
                self._after[r] = m

    # ------------------------------------------------------------------ events
    def on_event(self, ev: Event) -> None:
        kind = ev.kind
        if kind == EV_ARRIVE:
            case: Case = ev.arg
            dest = case.dest
            assert dest is not None
            self.arrive(case, dest)
        elif kind == EV_HOOK:
            self.mechanisms[ev.pid].fire(ev.arg)
        elif kind == EV_DAY:
            for plan_day in self._plan_day:   # midnight: every grid worker plans the day
                plan_day()
        elif kind == EV_WARM:
            self.ledger.warm(self.now, self.all_units())
        else:
            raise ValueError(f"no handler for event kind {kind}")

    def on_item(self, kind: int, pid: int, ch: int) -> None:
        if kind == EV_PATIENCE:
            self.patience_expired(pid)
        else:   # EV_CONTACT, EV_PATROL
            self.contact(pid, ch, kind == EV_CONTACT)

    def on_arrival(self, pid: int, ch: int, flag: bool) -> None:
        self.contact(pid, ch, flag)

    def start(self) -> None:
        """Schedule the fixed events: shifts, end of warm-up, midnights, then the mechanisms'."""
        for unit in self.units.values():
            if unit.w_start:
                self.sched(unit.w_start[0], EV_SHIFT_ON, unit)
        self.sched(self.ledger.warmup, EV_WARM, None)
        day = 24.0
        while day < self.horizon:
            self.sched(day, EV_DAY, None)
            day += 24.0
        for m in self._on_start:
            m.start()

    def finish(self) -> None:
        """Close the books at the horizon (integrals up to the end)."""
        self.run_until(self.horizon)
        led = self.ledger
        led.open_change(self.now, 0)
        for u in self.all_units():
            u._acc(self.horizon)
        if led.warm_snapshot is None:
            led.warm(self.now, self.all_units())

    # ------------------------------------------------------------------ lookups
    def unit(self, code: str, street: int) -> Unit:
        return self.units[(code, street if self.dept_level[code] != "district" else -1)]

    def police_unit(self, street: int) -> Unit:
        code = self.police_code
        assert code is not None
        return self.unit(code, street)

    def all_units(self) -> list[Unit]:
        return list(self.units.values()) + self.grid_workers + list(self.desks.values())

    # ------------------------------------------------------------------ cases
    def open_case(self, pid: int, ch: int, route: bool = True) -> Case:
        """The platform opens a case for problem `pid` and routes it (unless `route` is
        False: the grid worker settles it on the spot)."""
        pr = self.problem(pid)
        k = pr.cat
        grid = pr.grid
        t = self.now
        case = Case(len(self.cases), pid, k, self.cats[k], self.grid_street[grid], grid, ch,
                    self.channel_kinds[ch], t)
        case.repeat = pr.ncompl > 1
        if ch == self.petition_channel:
            case.prio = 0     # petitions (信访) are supervised: they jump every queue
        for m in self._on_opened:
            m.opened(case)
        self.cases.append(case)
        pr.case = case
        pr.state = OPEN_CASE
        self.ledger.open_change(t, 1)
        if not route:
            return case
        router = self._router
        if router is not None:
            dest, delay = router.route(case)
        else:
            dest, delay = self._route(case)
        self.send(case, dest, delay)
        return case

    def send(self, case: Case, dest: Unit, delay: float) -> None:
        if delay > 0:
            case.dest = dest
            self.sched_after(delay, EV_ARRIVE, case)
        else:
            self.arrive(case, dest)

    def arrive(self, case: Case, unit: Unit) -> None:
        """The case reaches a unit's desk."""
        if unit.code == "platform" or unit.code == "hotline":
            # a dispatch desk: triage takes staff time in its queue (分拨)
            case.dest = unit
            hours = self.triage_time.next() if unit.code == "platform" else self.hotline_time.next()
            unit.submit(Task(case, TRIAGE, hours, case.prio, self.next_seq(), unit))
            return
        if case.dispatched < 0:
            case.dispatched = self.now
        for m in self._on_arrive:
            if m.arrive(case, unit):
                return
        if unit.code == self.owner[case.k]:
            self.handle(case, unit)
        else:
            case.transfers += 1
            self.ledger.transfer(self.now)
            router = self._router
            if router is not None:
                nxt, delay = router.transfer(case, unit)
            else:
                nxt, delay = self._transfer(case, unit)
            self.send(case, nxt, delay)

    def handle(self, case: Case, unit: Unit) -> None:
        """The owner handles the case: its main task, and what mechanisms add (co-handlers,
        dual dispatch).

        Each department decides the priority and the effort of its task (`Department.priority`
        and `.effort`); `case.need` is the work the problem needs (the owner's drawn handling
        hours, plus `co_need_share` of them per co-handler for a complex case) and
        `case.cover` the effort-weighted part of it that the tasks give."""
        k = case.k
        case.unit = unit
        need = self.handling[k].next()
        if case.need == 0.0:   # first handling: is the case complex (needs co-handlers)?
            pc = self.p_complex[k]
            case.complex = pc > 0 and self.u_complex.next() < pc
        e = unit.effort(case, MAIN, unit.fixed_main)
        case.need = need
        case.cover = need * e
        prio = unit.priority(case, MAIN, unit.prio_main)
        pending = 1
        if case.complex:
            case.need += need * self.co_need[k] * len(self.co[k])
        for m in self._on_extend:
            pending += m.extend(case, unit, need)
        case.pending += pending
        unit.submit(Task(case, MAIN, need * e + unit.response, prio, self.next_seq(), unit))

    def task_done(self, task: Task, unit: Unit) -> None:
        """A unit finished a task: book staff time, then move the case on."""
        case = task.case
        kind = task.role
        before = self._before[kind]
        if before is not None:
            before.task_done(task, unit)
            return
        led = self.ledger
        if kind == TRIAGE:
            led.platform_wait(self.now, self.now - task.queued)
            router = unit.router
            if router is not None:
                dest, delay = router(case)
            else:
                dest, delay = self.platforms[unit.street].dispatch(case)
            case.dest = None
            self.send(case, dest, delay)
            return
        led.staff_time(self.now, unit.code, task.hours, unit.is_police and self.nonpolice[case.k])
        if kind == MAIN or kind == ONSITE:
            if case.started < 0:
                case.started = task.started
            led.owner_wait(task.started, task.started - task.queued)
        after = self._after[kind]
        if after is not None:
            after.task_done(task, unit)
            return
        case.pending -= 1
        if case.pending > 0:
            return
        self.close(case, "resolved" if self.u_outcome.next() < self.p_resolve(case)
                   else "closed_unresolved")

    def p_resolve(self, case: Case) -> float:
        """Chance that this handling truly resolves the problem: the owner's
        `p_true_resolution` of the share of the needed work the tasks covered (see
        docs/ODD.md, submodels), times the assumed extra factors (neutral 1)."""
        unit = case.unit
        assert unit is not None
        cov = case.cover / case.need if case.need > 0 else 1.0
        if unit.custom_resolution:
            p: float = unit.agent.p_true_resolution(case, cov)
        else:
            p = resolution_probability(self.p_resolve0[case.k], cov)
        if case.complex and case.joint is None:
            p *= self.solo_factor
        if case.dual:
            p *= self.dual_factor
        return p

    def close(self, case: Case, outcome: str) -> None:
        """Close the case; resolve its problem or leave it for the citizen's patience."""
        t = self.now
        case.closed = t
        case.outcome = outcome
        led = self.ledger
        led.open_change(t, -1)
        pid = case.pid
        k = case.k
        pr = self.problem(pid)
        pr.case = None
        resolved = outcome in RESOLVING
        if resolved:
            pr.state = RESOLVED
            self.problems[pid] = RESOLVED_PROBLEM   # its record is no longer needed: free it
            led.resolved(t)
            for m in self._on_resolved:
                m.resolved(case)
        else:
            pr.state = NO_CASE
            # the grid may detect it again on patrol (a fresh detection time)
            hz = self.hazard[k]
            if hz > 0 and self.patrol_channel >= 0:
                t_pat = t + self.u_redetect.exp(1.0 / (hz * self.detection_boost(k, case.grid, t)))
                if t_pat < self.horizon:
                    self.sched_far(t_pat, EV_PATROL, pid, self.patrol_channel)
        late = t - case.opened > self.late_after[k]
        case.dissatisfied = (not resolved) or late
        unit = case.unit
        if unit is not None:
            unit.closed += 1
            if unit.observes:
                unit.agent.observe_closure(case)
        if self.citizen_observe is not None:   # the grid's residents see how it ended
            self.citizen_observe[case.grid](case)

