"""GovernanceModel: the Mesa model of one scenario and one seed.

It builds the district (`world.district`), draws every problem of the run in bulk
(`world.problems`), creates the Mesa agents (`agents`: departments, grid workers, citizens,
street dispatch platforms), wires in the routing and assessment policies (`policies`), and runs
the compiled event engine (`engine`), where a case goes from complaint to closure. `step()`
advances one data-collection interval and records a row of the time series
(`model.datacollector`, a `sim.series.SeriesCollector`: Mesa's DataCollector interface for
model values), so the model works with SolaraViz; the engine's state (problem table,
complaint log, cases, counters) reads as attributes of the model (`model.cases`, `model.now`,
...).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._mesa import mesa
from .agents import REGISTRIES
from .engine import NO_CASE, OPEN_CASE, RESOLVED, Engine
from .gcpause import paused_gc
from .mechanisms.registry import wanted
from .policies import ROUTING, combine
from .scenario.schema import Scenario
from .series import SeriesCollector
from .streams import spawn_streams
from .world import problems
from .world.compiled import compile_world

#: an arrivals source: called with the engine (its World in `engine.world`), it fills the
#: engine's problem table (`add_problems`) and its first contacts (`set_arrivals`); it returns
#: each problem's reporting uniform when citizens decide at their first report (the bulk
#: draw), or None when the reports are given (a replayed case log)
Arrivals = Callable[[Engine], "np.ndarray | None"]


class GovernanceModel(mesa.Model):
    """The case-lifecycle model of one scenario and one seed. Time is in hours from
    `run.start_date` 00:00. `arrivals` fills in the problems of the run (default: the bulk
    draw, `sim.world.problems.generate`; `cogov replay` gives a case log's)."""

    NO_CASE, OPEN_CASE, RESOLVED = NO_CASE, OPEN_CASE, RESOLVED   # problem states

    def __init__(self, scenario: Scenario, seed: int | None = None,
                 arrivals: Arrivals | None = None):
        seed = scenario.run.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        self.scenario = s = scenario
        self.seed = seed
        a = s.agents
        cit_cls = REGISTRIES["citizen"].lookup(a.citizen.behaviour)
        self.world = w = compile_world(s, citizen_class=cit_cls)
        # what assessment rewards (the incentives every department sees)
        self.incentives = combine(s.assessment.policies)
        self.engine = e = Engine(w, seed, spawn_streams(seed), self.incentives)

        # Mesa agents, each of the class its scenario names (`agents.<kind>.behaviour`); the
        # engine calls their decision methods
        dept_cls = REGISTRIES["department"].lookup(a.department.behaviour)
        grid_cls = REGISTRIES["grid_worker"].lookup(a.grid_worker.behaviour)
        plat_cls = REGISTRIES["platform"].lookup(a.platform.behaviour)
        self.departments = [dept_cls(self, u, a.department.params) for u in e.units.values()]
        self.grid_agents = [grid_cls(self, u, a.grid_worker.params) for u in e.grid_workers]
        u_grid = e.u_grid
        for g in self.grid_agents:
            g.u = u_grid
        self.citizens = [cit_cls(self, g.index, g.population, a.citizen.params)
                         for g in w.layout.grids]
        for c in self.citizens:
            c.setup(e, e.u_citizen)
        self.platforms = {st: plat_cls(self, st, a.platform.params)
                          for st in range(-1, e.n_streets)}
        for st, desk in e.desks.items():
            self.platforms[st].desk = desk
            desk.agent = self.platforms[st]

        # policies, mechanisms, the problems of the run, fixed events
        self.routing = ROUTING.lookup(s.routing.policy)(s.routing.params, e)
        # the engine asks each agent's `decider`: its compiled default rule, or the agent
        # itself when its class overrides a decision (sim/agents/rules.py)
        e.attach(self.routing.decider, {st: p.decider for st, p in self.platforms.items()},
                 [c.decider for c in self.citizens], [g.decider for g in self.grid_agents],
                 wanted(w))
        with paused_gc():   # a million new objects without cycles: no collections meanwhile
            u_rep = (arrivals or problems.generate)(e)
        # citizens who learn: reports are drawn as candidates up to the highest probability
        # trust can give (World.p_candidate), and each citizen decides at the moment of
        # reporting (nothing is wired when they do not learn, or the reports are given)
        cit_cls.wire_learning(e, self.citizens, np.asarray(w.p_report),
                              np.asarray(w.p_candidate), u_rep)
        e.start()
        self._setup_collector()

    # ------------------------------------------------------------------ running
    def run_until(self, t_end: float) -> None:
        """Process every event up to and including time `t_end` (hours)."""
        self.engine.run_until(t_end)

    def step(self) -> None:
        """Advance one data-collection interval and collect the time series."""
        e = self.engine
        t_next = min(e.horizon, e.now + self.scenario.run.collect_interval_hours)
        e.run_until(t_next)
        self._collect()
        if e.now >= e.horizon:
            self.running = False

    def run(self, progress=None) -> None:
        """Run to the horizon; `progress(fraction)` is called after every interval.

        The cyclic garbage collector is paused meanwhile: the run allocates millions of
        short-lived objects without reference cycles, and full collections over the growing
        case table would make the cost superlinear in the district's size.
        """
        e = self.engine
        with paused_gc():
            while self.running and e.now < e.horizon:
                self.step()
                if progress:
                    progress(e.now / e.horizon)
            self.finish()

    def finish(self) -> None:
        """Close the books at the horizon (integrals up to the end)."""
        self.engine.finish()

    def schedule(self, t: float, fn, arg=None) -> None:
        """Call `fn(arg)` at time `t` (hours): a hook for extensions and experiments."""
        self.engine.schedule(t, fn, arg)

    # ------------------------------------------------------------------ world lookups
    def unit(self, code: str, street: int):
        """The engine's unit of department `code` serving `street`."""
        return self.engine.unit(code, street)

    def platform(self, street: int):
        return self.platforms[street]

    # ------------------------------------------------------------------ data collection
    def _setup_collector(self) -> None:
        self._prev = {"complaints": 0, "repeats": 0, "opened": 0, "closed": 0}
        codes = list(self.scenario.departments)
        index = {code: i for i, code in enumerate(codes)}
        # per unit, in the units' order: its department's column and its integrals so far
        self._units = list(self.units.values())
        self._unit_dept = [index[u.code] for u in self._units]
        self._prev_util = [(0.0, 0.0)] * len(self._units)
        self._dept_keys = [(f"utilization.{c}", f"queue.{c}") for c in codes]
        names = ["time_hours", "complaints", "repeats", "opened", "closed", "backlog",
                 "open_followups", "platform_queue", "patrol_share"]
        for util, queue in self._dept_keys:
            names += [util, queue]
        self.datacollector = SeriesCollector(names)

    def _collect(self) -> None:
        e = self.engine
        for u in e.all_units():
            u._acc(e.now)
        prev = self._prev
        n_c = len(self.c_t)
        n_rep = sum(self.c_repeat[prev["complaints"]:n_c]) + prev["repeats"]
        n_open = len(self.cases)
        n_closed = n_open - self.n_open
        grids = self.grid_workers
        row = {"time_hours": self.now,
               "complaints": n_c - prev["complaints"],
               "repeats": n_rep - prev["repeats"],
               "opened": n_open - prev["opened"],
               "closed": n_closed - prev["closed"],
               "backlog": self.n_open,
               "open_followups": sum(g.queue_length + g.busy for g in grids),
               "platform_queue": sum(d.queue_length for d in e.desks.values()),
               "patrol_share": (sum(g.patrol_share for g in grids) / len(grids)
                                if grids else 0.0)}
        self._prev = {"complaints": n_c, "repeats": n_rep, "opened": n_open, "closed": n_closed}
        n = len(self._dept_keys)
        busy = [0.0] * n
        cap = [0.0] * n
        queue = [0] * n
        prev_util = self._prev_util
        for i, (u, d) in enumerate(zip(self._units, self._unit_dept)):
            b0, c0 = prev_util[i]
            b, c = u.busy_area, u.cap_area
            busy[d] = busy[d] + b - b0
            cap[d] = cap[d] + c - c0
            queue[d] += u.queue_length
            prev_util[i] = (b, c)
        for d, (util, q) in enumerate(self._dept_keys):
            row[util] = busy[d] / cap[d] if cap[d] > 0 else 0.0
            row[q] = queue[d]
        self.datacollector.record(row)


# The engine's state and the ledger's counts that the output code (sim.records, sim.metrics)
# reads, as read-only properties of the model: declared here, nothing forwarded implicitly.
ENGINE_STATE = ("now", "horizon", "events", "layout", "streams", "n_streets", "cats",
                "cat_codes", "channel_codes", "channel_kinds", "deadline", "units",
                "grid_workers", "desks", "owner_units", "others", "police_code", "seconded",
                "dept_level", "cases", "problems", "p_cat", "p_grid", "p_t0",
                "citizen_complaints", "c_t", "c_pid", "c_case", "c_channel", "c_repeat",
                "c_citizen")
LEDGER_COUNTS = ("warmup", "transfers", "handbacks", "grid_followups", "settled_by_grid",
                 "police_nonpolice_hours", "dept_hours", "grid_hours", "problems_resolved",
                 "escalations", "escalations_petition", "platform_wait_sum", "platform_wait_n",
                 "wait_sum", "wait_n", "joint_cases", "n_open", "open_area", "open_area_warm")


def _engine_property(name: str) -> property:
    return property(lambda self: getattr(self.engine, name),
                    doc=f"The engine's `{name}` (read-only).")


def _ledger_property(name: str) -> property:
    return property(lambda self: getattr(self.engine.ledger, name),
                    doc=f"The ledger's `{name}` (`sim.kernel.ledger.Ledger`, read-only).")


for _name in ENGINE_STATE:
    setattr(GovernanceModel, _name, _engine_property(_name))
for _name in LEDGER_COUNTS:
    setattr(GovernanceModel, _name, _ledger_property(_name))
GovernanceModel._warm_snapshot = property(   # type: ignore[attr-defined]
    lambda self: self.engine.ledger.warm_snapshot,
    doc="Units' (busy, capacity) integrals at the end of warm-up, by id(unit).")
