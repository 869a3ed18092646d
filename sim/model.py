"""GovernanceModel: builds the district and its agents, owns the event calendar and the streams.

Follow one problem through the model:
1. `_generate_problems` draws every problem of the run in bulk (Poisson by grid, category and
   land use) and, per problem, when a citizen first reports it and when a patrol detects it.
2. `_contact` turns a report or detection into a `complaint`; the first complaint with no open
   case opens a `Case` (`open_case`), which the routing policy sends to a department unit.
3. `_arrive`: the unit owns the case (`_handle`: main task, co-handlers, dual dispatch), acts on
   site (police, non-police list), or passes it on (a transfer).
4. Departments (`agents.department`) queue and work tasks; `task_done` closes the case with an
   outcome, or hands it back to the grid (`_visit`) for follow-up.
5. `close` resolves the problem or leaves it open; citizens whose patience runs out
   (`agents.citizen`) complain again: repeat complaints.

Why a calendar of our own: Mesa 3.3's DEVS simulator runs ~360k trivial events/s and holds
callbacks by weak reference; a district-year needs millions of events within seconds, so the
model keeps a lean heap of (time, seq, bound method, argument) and merges it with the
pre-sorted bulk arrival arrays. `step()` advances one data-collection interval, so the model
still works with Mesa's DataCollector and SolaraViz.
"""

from __future__ import annotations

import gc
import math
from bisect import bisect_right
from collections import deque
from heapq import heappop, heappush
from itertools import count

import mesa
import numpy as np

from .agents import Citizen, Department, DispatchPlatform, GridWorker, Task
from .policies import ROUTING, combine
from .records import Case
from .scenario.schema import LAND_USES, Scenario
from .streams import Sampler, Uniforms, draw, spawn_streams
from .world.district import build_district

RESOLVING = ("resolved", "settled_by_grid", "settled_on_spot")


class GovernanceModel(mesa.Model):
    """The case-lifecycle model of one scenario and one seed. Time is in hours from
    `run.start_date` 00:00."""

    NO_CASE, OPEN_CASE, RESOLVED = 0, 1, 2

    def __init__(self, scenario: Scenario, seed: int | None = None):
        seed = scenario.run.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        self.scenario = s = scenario
        self.seed = seed
        self.streams = spawn_streams(seed)
        self.now = 0.0
        self.horizon = s.run.horizon_days * 24.0
        self.warmup = s.run.warmup_days * 24.0
        self._heap: list = []      # near-term events: (time, seq, bound method, argument)
        self._far: list = []       # far-ahead events, same layout
        self._lanes: dict = {}     # constant-delay FIFO lanes (see schedule_after)
        self._seq = count()
        self.events = 0            # events processed (arrivals + calendar entries)
        self.layout = build_district(s.district)
        self.n_streets = len(self.layout.streets)

        # catalogue, channels
        self.cat_codes = list(s.catalogue)
        self.cats = [s.catalogue[c] for c in self.cat_codes]
        self.cat_index = {c: i for i, c in enumerate(self.cat_codes)}
        self.channel_codes = list(s.channels)
        self.channel_kinds = [s.channels[c].kind for c in self.channel_codes]
        self.citizen_channels = [i for i, k in enumerate(self.channel_kinds) if k != "patrol"]
        patrol = [i for i, k in enumerate(self.channel_kinds) if k == "patrol"]
        self.patrol_channel = patrol[0] if patrol else -1

        # agents: departments, platforms, grid workers, citizens
        self.units: dict[tuple[str, int], Department] = {}
        self.windows = {code: self._shift_windows(spec.shift)
                        for code, spec in s.departments.items()}
        for code, spec in s.departments.items():
            for st in (range(self.n_streets) if spec.level == "street" else [-1]):
                self.units[(code, st)] = Department(self, code, spec, st, self.windows[code])
        self.dept_level = {c: d.level for c, d in s.departments.items()}
        self.owner_units = [[self.unit(s.catalogue[k].owner, st) for st in range(self.n_streets)]
                            for k in s.catalogue]
        staffed = [c for c, d in s.departments.items() if d.staff > 0]
        self.others = {c: [o for o in staffed if o != c] or [c] for c in s.departments}
        police = [c for c, d in s.departments.items() if d.is_police]
        self.police_code = police[0] if police else None
        self.platforms = {st: DispatchPlatform(self, st) for st in range(-1, self.n_streets)}
        grids = self.layout.grids
        self.grid_street = [g.street for g in grids]
        self.grid_workers = [GridWorker(self, g.index, g.street, s.grid_workers) for g in grids]
        self.citizens = [Citizen(self, g.index, g.population) for g in grids]

        # policies and mechanisms
        self.effects = combine(s.assessment.policies)
        self.routing = ROUTING.lookup(s.routing.policy)(s.routing.params, self)
        self.main_co_on = s.main_co.enabled and self.routing.platform_led
        joint = self.main_co_on or s.linkage.enabled
        self.joint_possible = [bool(c.co_handlers) and joint for c in self.cats]
        d = s.dispatch
        self.dual = [d.modes.get(code, "dual" if (cat.family in d.dual_families
                                                   or d.default_mode == "dual") else "single")
                     == "dual" and self.police_code is not None and cat.owner != self.police_code
                     for code, cat in zip(self.cat_codes, self.cats)]
        self.deadline = [c.deadline_hours for c in self.cats]
        self.handback_on = [s.handback.enabled if c.handback is None else c.handback
                            for c in self.cats]

        # per category, for the scalar (recurrence) path
        self._p_rep = [c.p_report * s.citizens.report_propensity for c in self.cats]
        self._cdf_rows = self._channel_cdf().tolist()
        self._hazard = self._patrol_hazard().tolist()

        # random streams used on the hot path
        st = self.streams
        self.handling = [Sampler(c.handling, st["handling"]) for c in self.cats]
        self.u_outcome = Uniforms(st["outcome"])
        self.u_patience = Uniforms(st["patience"])
        self.u_followup = Uniforms(st["followup"])
        self.u_recur = Uniforms(st["recurrence"])
        self.patience = Sampler(s.citizens.repeat.patience, st["patience"])
        self.report_delay = Sampler(s.citizens.report_delay, st["report_delay"])
        self.u_redetect = Uniforms(st["redetect"])
        self.coordination = Sampler(s.main_co.coordination_delay, st["coordination"])

        # problem table (one entry per problem; lists are fast to index one at a time)
        self.p_cat: list[int] = []
        self.p_grid: list[int] = []
        self.p_t0: list[float] = []
        self.p_state: list[int] = []
        self.p_case: list[Case | None] = []
        self.p_ncompl: list[int] = []
        self.p_channel: list[int] = []
        self.p_gaveup: list[bool] = []
        self.p_parent: list[int] = []

        # complaint log (columns) and cases
        self.c_t: list[float] = []
        self.c_pid: list[int] = []
        self.c_case: list[int] = []
        self.c_channel: list[int] = []
        self.c_repeat: list[bool] = []
        self.c_citizen: list[bool] = []
        self.cases: list[Case] = []

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
        self.dept_hours = {c: 0.0 for c in s.departments}
        self.grid_hours = 0.0
        self.problems_resolved = 0
        self.campaign_active = [False] * len(s.campaigns)
        self._any_campaign = False
        self._warm_snapshot: dict | None = None

        self._generate_problems()
        self._schedule_fixed_events()
        self._setup_collector()

    # ------------------------------------------------------------------ calendar
    def schedule(self, t: float, fn, arg=None) -> None:
        """Call `fn(arg)` at time `t` (hours). Ties run in scheduling order."""
        heappush(self._heap, (t, next(self._seq), fn, arg))

    def schedule_after(self, delay: float, fn, arg=None) -> None:
        """Call `fn(arg)` after a constant `delay` (hours), through a first-in-first-out lane.

        Events scheduled with the same delay fall due in the order they were scheduled, so
        each lane is a queue and only its head sits in the heap: the heap stays small.
        """
        lane = self._lanes.get(delay)
        if lane is None:
            lane = self._lanes[delay] = deque()
        t = self.now + delay
        lane.append((t, fn, arg))
        if len(lane) == 1:
            heappush(self._heap, (t, next(self._seq), self._lane_next, lane))

    def _lane_next(self, lane) -> None:
        _, fn, arg = lane.popleft()
        if lane:
            heappush(self._heap, (lane[0][0], next(self._seq), self._lane_next, lane))
        fn(arg)

    def schedule_far(self, t: float, fn, arg=None) -> None:
        """Like `schedule`, for events typically days ahead that often turn out to be no-ops
        (citizens' patience, recurrences, patrol re-detections): a second heap keeps them out
        of the way of the near-term events."""
        heappush(self._far, (t, next(self._seq), fn, arg))

    def run_until(self, t_end: float) -> None:
        """Process every event up to and including time `t_end` (hours), merging the bulk
        arrival arrays, the near-term heap (with its lanes) and the far heap in time order."""
        heap, far = self._heap, self._far
        at, ap, ac, az = self._a_t, self._a_pid, self._a_ch, self._a_cit
        i, n = self._a_i, len(at)
        i0 = i
        contact = self._contact
        inf = math.inf
        popped = 0
        while True:
            th = heap[0][0] if heap else inf
            tf = far[0][0] if far else inf
            ta = at[i] if i < n else inf
            if ta <= th and ta <= tf:
                if ta > t_end:
                    break
                self.now = ta
                contact(ap[i], ac[i], az[i])
                i += 1
            elif tf < th:
                if tf > t_end:
                    break
                t, _, fn, arg = heappop(far)
                self.now = t
                fn(arg)
                popped += 1
            else:
                if th > t_end:
                    break
                t, _, fn, arg = heappop(heap)
                self.now = t
                fn(arg)
                popped += 1
        self._a_i = i
        self.events += (i - i0) + popped
        self.now = max(self.now, t_end)

    def step(self) -> None:
        """Advance one data-collection interval and collect the time series."""
        t_next = min(self.horizon, self.now + self.scenario.run.collect_interval_hours)
        self.run_until(t_next)
        self._collect()
        if self.now >= self.horizon:
            self.running = False

    def run(self, progress=None) -> None:
        """Run to the horizon; `progress(fraction)` is called after every interval.

        The cyclic garbage collector is paused meanwhile: the run allocates millions of
        short-lived objects without reference cycles, and full collections over the growing
        case table would make the cost superlinear in the district's size.
        """
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            while self.running and self.now < self.horizon:
                self.step()
                if progress:
                    progress(self.now / self.horizon)
            self.finish()
        finally:
            if was_enabled:
                gc.enable()

    # ------------------------------------------------------------------ world lookups
    def unit(self, code: str, street: int) -> Department:
        return self.units[(code, street if self.dept_level[code] == "street" else -1)]

    def police_unit(self, street: int) -> Department:
        return self.unit(self.police_code, street)

    def platform(self, street: int) -> DispatchPlatform:
        return self.platforms[street]

    # ------------------------------------------------------------------ problems and contacts
    def _generate_problems(self) -> None:
        """Draw every problem of the run, and its first citizen report and patrol detection."""
        s = self.scenario
        pop, street_of, mix = self.layout.arrays()
        inc = np.array([[c.incidence_per_1000_per_year.get(
            u, c.incidence_per_1000_per_year.get("default", 0.0)) for u in LAND_USES]
            for c in self.cats])
        lam = (pop[:, None] / 1000.0) * (mix @ inc.T) * (s.run.horizon_days / 365.0)
        gen = self.streams["arrivals"]
        counts = gen.poisson(lam).ravel()
        n_cat = len(self.cats)
        idx = np.repeat(np.arange(counts.size), counts)
        grid, cat = idx // n_cat, idx % n_cat
        t0 = self._arrival_times(gen, idx.size)
        order = np.argsort(t0, kind="stable")
        grid, cat, t0 = grid[order], cat[order], t0[order]
        self._add_problems(grid, cat, t0, parent=-1)
        t_cit, ch, t_pat = self._contacts(grid, cat, t0, self.streams["reporting"],
                                          self.streams["patrol"], self.streams["channel"])
        pid = np.arange(t0.size)
        cit_ok = t_cit < self.horizon
        pat_ok = t_pat < self.horizon
        times = np.concatenate([t_cit[cit_ok], t_pat[pat_ok]])
        pids = np.concatenate([pid[cit_ok], pid[pat_ok]])
        chans = np.concatenate([ch[cit_ok], np.full(int(pat_ok.sum()), self.patrol_channel)])
        cits = np.concatenate([np.ones(int(cit_ok.sum()), bool), np.zeros(int(pat_ok.sum()), bool)])
        o = np.lexsort((pids, times))
        self._a_t = times[o].tolist()
        self._a_pid = pids[o].tolist()
        self._a_ch = chans[o].tolist()
        self._a_cit = cits[o].tolist()
        self._a_i = 0

    def _arrival_times(self, gen, n: int) -> np.ndarray:
        """Problem arrival times (hours): uniform, or by hour-of-day and weekday weights."""
        c = self.scenario.citizens
        if c.hour_of_day_weights is None and c.day_of_week_weights is None:
            return gen.uniform(0.0, self.horizon, n)
        hod = np.asarray(c.hour_of_day_weights or [1.0] * 24, dtype=float)
        dow = np.asarray(c.day_of_week_weights or [1.0] * 7, dtype=float)
        n_hours = int(math.ceil(self.horizon))
        h = np.arange(n_hours)
        wd0 = self.scenario.run.start_date.weekday()
        w = hod[h % 24] * dow[(wd0 + h // 24) % 7]
        last = self.horizon - (n_hours - 1)   # length of a partial last hour
        w[-1] *= last
        slot = np.searchsorted(np.cumsum(w) / w.sum(), gen.random(n), side="right")
        width = np.where(slot == n_hours - 1, last, 1.0)
        return slot + gen.random(n) * width

    def _contacts(self, grid, cat, t0, g_rep, g_pat, g_ch):
        """Per problem: first citizen report time, its channel, and patrol detection time."""
        s = self.scenario
        n = t0.size
        p_rep = np.array([c.p_report for c in self.cats]) * s.citizens.report_propensity
        reports = g_rep.random(n) < p_rep[cat]
        t_cit = np.where(reports, t0 + draw(s.citizens.report_delay, g_rep, n), np.inf)
        # channel by category weights (inverse CDF)
        cum = self._channel_cdf()
        ch = (g_ch.random(n)[:, None] > cum[cat]).sum(axis=1)
        ch = np.minimum(ch, len(self.channel_codes) - 1)
        # patrol: hazard per hour of detecting a present problem
        hz = self._patrol_hazard()[cat]
        for c in s.campaigns:
            if c.detection_boost == 1.0:
                continue
            hit = (t0 >= c.start_day * 24) & (t0 < c.end_day * 24)
            if c.categories:
                hit &= np.isin(cat, [self.cat_index[k] for k in c.categories])
            if c.streets:
                names = {st.name: st.index for st in self.layout.streets}
                hit &= np.isin(np.asarray(self.grid_street)[grid], [names[x] for x in c.streets])
            hz = np.where(hit, hz * c.detection_boost, hz)
        with np.errstate(divide="ignore"):
            wait = np.where(hz > 0, g_pat.exponential(1.0, n) / np.where(hz > 0, hz, 1.0), np.inf)
        t_pat = t0 + wait if self.patrol_channel >= 0 else np.full(n, np.inf)
        return t_cit, ch, t_pat

    def _channel_cdf(self) -> np.ndarray:
        if not hasattr(self, "_cdf"):
            s = self.scenario
            rows = []
            for c in self.cats:
                w = np.array([(c.channel_weights or {}).get(code, 0.0) if c.channel_weights
                              else s.channels[code].propensity for code in self.channel_codes])
                w[[k == "patrol" for k in self.channel_kinds]] = 0.0
                if w.sum() <= 0:
                    w[self.citizen_channels] = 1.0
                rows.append(np.cumsum(w / w.sum()))
            self._cdf = np.array(rows)
            self._cdf[:, -1] = 1.0
        return self._cdf

    def _patrol_hazard(self) -> np.ndarray:
        gw = self.scenario.grid_workers
        # hazard of detection per hour: -ln(1 - p) per full patrol, times patrols per hour
        patrols_per_hour = (gw.per_grid + gw.extra_forces_per_grid) * gw.patrol_hours_per_day \
            / gw.full_patrol_hours / 24.0
        p = np.array([gw.detection_prob_by_family.get(c.family, gw.detection_prob)
                      for c in self.cats])
        return -np.log1p(-np.minimum(p, 1 - 1e-12)) * patrols_per_hour

    def _add_problems(self, grid, cat, t0, parent: int) -> None:
        n = len(t0)
        tolist = (lambda x: x.tolist()) if isinstance(t0, np.ndarray) else list
        self.p_grid.extend(tolist(grid))
        self.p_cat.extend(tolist(cat))
        self.p_t0.extend(tolist(t0))
        self.p_state.extend([self.NO_CASE] * n)
        self.p_case.extend([None] * n)
        self.p_ncompl.extend([0] * n)
        self.p_channel.extend([-1] * n)
        self.p_gaveup.extend([False] * n)
        self.p_parent.extend([parent] * n)

    def _recur(self, pid: int) -> None:
        """A resolved problem comes back: a new problem in the same grid and category, with
        the same reporting and detection rules as `_contacts` (scalar draws)."""
        k = self.p_cat[pid]
        u = self.u_recur
        t0 = self.now + u.exp(self.cats[k].recurrence_mean_days * 24.0)
        if t0 >= self.horizon:
            return
        new = len(self.p_cat)
        grid = self.p_grid[pid]
        self._add_problems([grid], [k], [t0], parent=pid)
        if u() < self._p_rep[k]:
            t_cit = t0 + self.report_delay()
            if t_cit < self.horizon:
                ch = min(bisect_right(self._cdf_rows[k], u()), len(self.channel_codes) - 1)
                self.schedule_far(t_cit, self._contact_ev, (new, ch, True))
        hz = self._hazard[k] * self._boost(k, grid, t0)
        if hz > 0 and self.patrol_channel >= 0:
            t_pat = t0 + u.exp(1.0 / hz)
            if t_pat < self.horizon:
                self.schedule_far(t_pat, self._contact_ev, (new, self.patrol_channel, False))

    def _boost(self, k: int, grid: int, t0: float) -> float:
        """Campaigns' multiplier on the patrol detection hazard of one problem."""
        f = 1.0
        for c in self.scenario.campaigns:
            if c.detection_boost != 1.0 and c.start_day * 24 <= t0 < c.end_day * 24 and \
                    (not c.categories or self.cat_codes[k] in c.categories) and \
                    (not c.streets or self.layout.streets[self.grid_street[grid]].name
                     in c.streets):
                f *= c.detection_boost
        return f

    def _contact_ev(self, arg) -> None:
        self._contact(*arg)

    def _contact(self, pid: int, ch: int, citizen: bool) -> None:
        """A citizen reports, or a patrol detects, problem `pid`."""
        state = self.p_state[pid]
        if state == self.RESOLVED:
            return
        if not citizen:
            if state == self.OPEN_CASE:
                return  # the grid worker sees it is already being handled
            cat = self.cats[self.p_cat[pid]]
            if cat.p_grid_settle > 0 and self.u_followup() < cat.p_grid_settle:
                self._settle_on_spot(pid, ch)
                return
        self.complaint(pid, ch, citizen)

    def complaint(self, pid: int, ch: int, citizen: bool = True, route: bool = True) -> Case:
        """Record one complaint about problem `pid`; open (and route) a case if none is open."""
        t = self.now
        n_before = self.p_ncompl[pid]
        self.p_ncompl[pid] = n_before + 1
        case = self.p_case[pid]
        if case is None:
            case = self.open_case(pid, ch, route)
        self.c_t.append(t)
        self.c_pid.append(pid)
        self.c_case.append(case.id)
        self.c_channel.append(ch)
        self.c_repeat.append(n_before > 0)
        self.c_citizen.append(citizen)
        if citizen:
            self.p_channel[pid] = ch
            rep = self.scenario.citizens.repeat
            if n_before < rep.max_repeats:  # repeats so far, this one included, stay capped
                self.schedule_far(t + self.patience(),
                                  self.citizens[self.p_grid[pid]].patience_expired,
                              pid)
        return case

    def _settle_on_spot(self, pid: int, ch: int) -> None:
        """A grid worker mediates a minor matter on the spot: opened and closed at once."""
        case = self.complaint(pid, ch, citizen=False, route=False)
        case.dispatched = case.started = self.now
        case.agency = "grid"
        hours = self.scenario.grid_workers.visit_hours
        if self.now >= self.warmup:
            self.grid_hours += hours
        self.close(case, "settled_on_spot")

    # ------------------------------------------------------------------ cases
    def open_case(self, pid: int, ch: int, route: bool = True) -> Case:
        """The platform opens a case for problem `pid` and routes it (unless `route` is
        False: the grid worker settles it on the spot)."""
        k = self.p_cat[pid]
        grid = self.p_grid[pid]
        case = Case(len(self.cases), pid, k, self.cats[k], self.grid_street[grid], grid, ch,
                    self.channel_kinds[ch], self.now)
        case.repeat = self.p_ncompl[pid] > 1
        eff = self.effects
        if case.repeat and eff.repeat_priority:
            case.prio = 0
        if self._any_campaign:
            for i, c in enumerate(self.scenario.campaigns):
                if self.campaign_active[i] and c.priority and \
                        (not c.categories or self.cat_codes[k] in c.categories) and \
                        (not c.streets or self.layout.streets[case.street].name in c.streets):
                    case.prio = 0
        self.cases.append(case)
        self.p_case[pid] = case
        self.p_state[pid] = self.OPEN_CASE
        t = self.now
        self.open_area += self.n_open * (t - self._open_last)  # inline _open_change(+1)
        self._open_last = t
        self.n_open += 1
        if not route:
            return case
        unit, delay = self.routing.route(case)
        if delay > 0:
            self.schedule_after(delay, self._arrive_ev, (case, unit))
        else:
            self._arrive(case, unit)
        return case

    def _arrive_ev(self, arg) -> None:
        self._arrive(*arg)

    def _arrive(self, case: Case, unit: Department) -> None:
        """The case reaches a department unit's desk."""
        if case.dispatched < 0:
            case.dispatched = self.now
        cat = case.cat
        if unit.is_police and case.channel_kind == "police" and cat.police_on_site \
                and cat.owner != unit.code and case.visits == 0:
            case.unit = unit
            unit.submit(Task(case, "onsite", cat.police_onsite_hours + unit.response,
                             case.prio, next(self._seq)))
        elif unit.code == cat.owner:
            self._handle(case, unit)
        else:
            case.transfers += 1
            if self.now >= self.warmup:
                self.transfers += 1
            nxt, delay = self.routing.transfer(case, unit)
            if delay > 0:
                self.schedule_after(delay, self._arrive_ev, (case, nxt))
            else:
                self._arrive(case, nxt)

    def _handle(self, case: Case, unit: Department) -> None:
        """The owner handles the case: its main task, co-handlers' tasks, dual dispatch."""
        s = self.scenario
        eff = self.effects
        cat = case.cat
        case.unit = unit
        hours = self.handling[case.k]() * eff.handling_factor
        if case.repeat:
            hours *= eff.repeat_handling_factor
        pending = 1
        if self.joint_possible[case.k]:
            if self.main_co_on:
                case.joint = "main_co"
                delay = self.coordination() * eff.coordination_factor
                share = s.main_co.co_share
            else:
                case.joint = "linkage"
                delay = s.linkage.delay_hours * eff.coordination_factor
                share = s.linkage.co_share
            for co in cat.co_handlers:
                co_unit = self.unit(co, case.street)
                if co_unit.staff == 0:
                    continue
                pending += 1
                task = Task(case, "co", hours * share + co_unit.response, case.prio,
                            next(self._seq))
                self.schedule(self.now + delay, co_unit.submit, task)
        if self.dual[case.k] and not unit.is_police:
            case.dual = True
            pending += 1
            police = self.police_unit(case.street)
            police.submit(Task(case, "dual", hours * s.dispatch.police_hours_share
                               + police.response, case.prio, next(self._seq)))
        case.pending += pending
        unit.submit(Task(case, "main", hours + unit.response, case.prio, next(self._seq)))

    def task_done(self, task: Task, unit) -> None:
        """A unit finished a task: account staff time, then move the case on."""
        case = task.case
        kind = task.kind
        post = self.now >= self.warmup
        if kind == "visit":
            if post:
                self.grid_hours += unit.visit_hours
            self._visit_done(case, unit)
            return
        if post:
            self.dept_hours[unit.code] += task.hours
            if unit.is_police and case.cat.family == "non_police":
                self.police_nonpolice_hours += task.hours
        if kind == "main" or kind == "onsite":
            if case.started < 0:
                case.started = task.started
            if task.started >= self.warmup:
                self.wait_sum += task.started - task.queued
                self.wait_n += 1
        if kind == "onsite":
            if self.u_outcome() >= case.cat.p_unsettled_after_police:
                self.close(case, "resolved")
            elif self.handback_on[case.k]:
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
        self.close(case, "resolved" if self.u_outcome() < self._p_resolve(case)
                   else "closed_unresolved")

    def _p_resolve(self, case: Case) -> float:
        """Chance that this handling truly resolves the problem (see docs/ODD.md, submodels)."""
        eff = self.effects
        cat = case.cat
        p = cat.p_resolve + eff.p_resolve_delta
        if case.repeat:
            p += eff.repeat_p_resolve_delta
        if cat.co_handlers:
            if case.joint == "main_co":
                p += eff.co_p_resolve_delta
            elif case.joint is None:
                p *= self.scenario.main_co.p_resolve_solo_factor
        if case.dual:
            p *= self.scenario.dispatch.dual_p_resolve_factor
        if eff.feedback_gain and case.unit is not None:
            excess = case.unit.dissatisfied_ewma - (1.0 - eff.satisfaction_target)
            if excess > 0:
                p += eff.feedback_gain * excess
        return p

    # ------------------------------------------------------------------ handback (双向流转)
    def _visit(self, case: Case) -> None:
        """The platform pushes the case to its grid: a grid worker visits (follow-up)."""
        gw = self.grid_workers[case.grid]
        if gw.staff == 0:
            self.close(case, "closed_unresolved")
            return
        case.visits += 1
        gw.submit(Task(case, "visit", gw.visit_elapsed, case.prio, next(self._seq)))

    def _visit_done(self, case: Case, gw: GridWorker) -> None:
        hb = self.scenario.handback
        gw.visits += 1
        if self.now >= self.warmup:
            self.grid_followups += 1
        u = self.u_followup
        if u() < case.cat.p_grid_settle:
            gw.settled += 1
            if self.now >= self.warmup:
                self.settled_by_grid += 1
            self.close(case, "settled_by_grid")
        elif u() < hb.p_redispatch:
            case.redispatched = True
            owner = self.unit(case.cat.owner, case.street)
            self._handle(case, owner)
        elif case.visits < hb.followup_limit:
            self.schedule_after(hb.followup_interval_hours, self._visit, case)
        else:
            self.close(case, "closed_unresolved")

    # ------------------------------------------------------------------ closure
    def close(self, case: Case, outcome: str) -> None:
        """Close the case; resolve its problem or leave it for the citizen's patience."""
        t = self.now
        case.closed = t
        case.outcome = outcome
        self.open_area += self.n_open * (t - self._open_last)  # inline _open_change(-1)
        self._open_last = t
        self.n_open -= 1
        pid = case.pid
        self.p_case[pid] = None
        resolved = outcome in RESOLVING
        if resolved:
            self.p_state[pid] = self.RESOLVED
            if t >= self.warmup:
                self.problems_resolved += 1
            if case.cat.recurrence_prob > 0 and self.u_recur() < case.cat.recurrence_prob:
                self._recur(pid)
        else:
            self.p_state[pid] = self.NO_CASE
            # the grid may detect it again on patrol (a fresh detection time)
            hz = self._hazard[case.k]
            if hz > 0 and self.patrol_channel >= 0:
                t_pat = t + self.u_redetect.exp(1.0 / (hz * self._boost(case.k, case.grid, t)))
                if t_pat < self.horizon:
                    self.schedule_far(t_pat, self._contact_ev, (pid, self.patrol_channel, False))
        late = t - case.opened > case.cat.deadline_hours + \
            self.scenario.citizens.satisfaction_extra_hours
        case.dissatisfied = (not resolved) or late
        unit = case.unit
        if unit is not None:
            unit.closed += 1
            unit.dissatisfied_ewma += self.effects.feedback_memory * (
                case.dissatisfied - unit.dissatisfied_ewma)

    def _open_change(self, delta: int) -> None:
        """Keep the integral of open cases over time (for `mean_open_cases`)."""
        t = self.now
        self.open_area += self.n_open * (t - self._open_last)
        self._open_last = t
        self.n_open += delta

    # ------------------------------------------------------------------ fixed events
    def _shift_windows(self, sh) -> list[tuple[float, float]] | None:
        """Every working window (start, end) in hours over the run; None = round the clock."""
        if sh.always:
            return None
        wd0 = self.scenario.run.start_date.weekday()
        days = int(math.ceil(self.scenario.run.horizon_days)) + 8
        return [(d * 24.0 + sh.start_hour, d * 24.0 + sh.end_hour) for d in range(days)
                if (wd0 + d) % 7 in sh.days]

    def _schedule_fixed_events(self) -> None:
        s = self.scenario
        for unit in self.units.values():
            if unit.w_start:
                self.schedule(unit.w_start[0], unit.shift_on, 0)
        self.schedule(self.warmup, self._warm)
        for i, c in enumerate(s.campaigns):
            self.schedule(c.start_day * 24.0, self._campaign, (i, True))
            self.schedule(min(c.end_day * 24.0, self.horizon), self._campaign, (i, False))

    def _campaign_units(self, i: int) -> list[Department]:
        c = self.scenario.campaigns[i]
        codes = c.categories or self.cat_codes
        owners = sorted({self.scenario.catalogue[k].owner for k in codes})
        streets = [st.index for st in self.layout.streets if not c.streets or st.name in c.streets]
        units = {id(u): u for o in owners for st in streets for u in [self.unit(o, st)]}
        return list(units.values())

    def _campaign(self, arg) -> None:
        """A special campaign (专项整治) starts or ends: pooled extra staff and priority."""
        i, start = arg
        if self.campaign_active[i] == start:
            return
        self.campaign_active[i] = start
        self._any_campaign = any(self.campaign_active)
        extra = self.scenario.campaigns[i].extra_staff * (1 if start else -1)
        for unit in self._campaign_units(i):
            unit.add_staff(extra)

    def _warm(self, _=None) -> None:
        """End of warm-up: snapshot the integrals so summaries count only what follows."""
        for u in self.all_units():
            u._acc(self.now)
        self._warm_snapshot = {id(u): (u.busy_area, u.cap_area) for u in self.all_units()}
        self._open_change(0)
        self.open_area_warm = self.open_area

    def all_units(self):
        yield from self.units.values()
        yield from self.grid_workers

    # ------------------------------------------------------------------ data collection
    def _setup_collector(self) -> None:
        self._prev = {"complaints": 0, "repeats": 0, "opened": 0, "closed": 0}
        self._prev_util = {id(u): (0.0, 0.0) for u in self.units.values()}
        self._n_repeats = 0
        self._n_closed = 0
        self._row: dict = {}
        reporters = {k: (lambda m, k=k: m._row[k]) for k in
                     ("time_hours", "complaints", "repeats", "opened", "closed", "backlog",
                      "open_followups")}
        for code in self.scenario.departments:
            reporters[f"utilization.{code}"] = (lambda m, k=f"utilization.{code}": m._row[k])
            reporters[f"queue.{code}"] = (lambda m, k=f"queue.{code}": m._row[k])
        self.datacollector = mesa.DataCollector(model_reporters=reporters)

    def _collect(self) -> None:
        for u in self.all_units():
            u._acc(self.now)
        n_c = len(self.c_t)
        n_rep = sum(self.c_repeat[self._prev["complaints"]:n_c]) + self._prev["repeats"]
        n_open = len(self.cases)
        n_closed = n_open - self.n_open
        row = {"time_hours": self.now,
               "complaints": n_c - self._prev["complaints"],
               "repeats": n_rep - self._prev["repeats"],
               "opened": n_open - self._prev["opened"],
               "closed": n_closed - self._prev["closed"],
               "backlog": self.n_open,
               "open_followups": sum(len(g.queue) + g.busy for g in self.grid_workers)}
        self._prev = {"complaints": n_c, "repeats": n_rep, "opened": n_open, "closed": n_closed}
        busy: dict[str, float] = {}
        cap: dict[str, float] = {}
        queue: dict[str, int] = {}
        for u in self.units.values():
            b0, c0 = self._prev_util[id(u)]
            busy[u.code] = busy.get(u.code, 0.0) + u.busy_area - b0
            cap[u.code] = cap.get(u.code, 0.0) + u.cap_area - c0
            queue[u.code] = queue.get(u.code, 0) + len(u.queue)
            self._prev_util[id(u)] = (u.busy_area, u.cap_area)
        for code in self.scenario.departments:
            row[f"utilization.{code}"] = busy[code] / cap[code] if cap[code] > 0 else 0.0
            row[f"queue.{code}"] = queue[code]
        self._row = row
        self.datacollector.collect(self)

    def finish(self) -> None:
        """Close the books at the horizon (integrals up to the end)."""
        self.run_until(self.horizon)
        self._open_change(0)
        for u in self.all_units():
            u._acc(self.horizon)
        if self._warm_snapshot is None:
            self._warm()
